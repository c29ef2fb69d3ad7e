//! The billing decoders, for both databases' rows.

use nexus_core::billing::Subscription;
use nexus_core::ports::billing::{BillingCustomer, BillingEvent, BillingEventRecord, EventOutcome};
use nexus_core::{BotId, StoreError, UserId};

use super::{Columns, TableRow};
use crate::billing::RunningBot;

/// `subscriptions`' columns: the subscription, and the plan last enforced.
pub(crate) fn subscription(row: &impl Columns) -> Result<(Subscription, String), StoreError> {
    let r = TableRow::new(row, "subscriptions");
    Ok((
        Subscription {
            plan: r.string("plan_id")?,
            status: r.parse("status")?,
            stripe_subscription: r.opt_string("stripe_subscription_id")?,
            stripe_price: r.opt_string("stripe_price_id")?,
            trial_end: r.opt_time("trial_end")?,
            current_period_end: r.opt_time("current_period_end")?,
            cancel_at_period_end: r.flag("cancel_at_period_end")?,
            first_failed_at: r.opt_time("first_failed_at")?,
            grace_until: r.opt_time("grace_until")?,
            stamp: r.opt_time("event_created")?,
        },
        r.string("effective_plan")?,
    ))
}

/// `billing_customers`' `user_id, stripe_customer_id, trial_used_at`.
pub(crate) fn billing_customer(row: &impl Columns) -> Result<BillingCustomer, StoreError> {
    let r = TableRow::new(row, "billing_customers");
    Ok(BillingCustomer {
        user: UserId::new(r.uuid("user_id")?),
        customer: r.string("stripe_customer_id")?,
        trial_used_at: r.opt_time("trial_used_at")?,
    })
}

/// A row of `billing_events`.
pub(crate) fn billing_event(row: &impl Columns) -> Result<BillingEventRecord, StoreError> {
    let r = TableRow::new(row, "billing_events");
    let outcome = r.text("outcome")?;
    Ok(BillingEventRecord {
        event: BillingEvent {
            id: r.string("id")?,
            kind: r.string("type")?,
            created: r.time("created")?,
        },
        received_at: r.time("received_at")?,
        outcome: EventOutcome::parse(outcome).ok_or_else(|| StoreError::Corrupt {
            message: format!("billing_events.outcome: {outcome:?} is not an outcome"),
        })?,
        user: r.opt_uuid("user_id")?.map(UserId::new),
        subscription: r.opt_string("subscription_id")?,
        detail: r.opt_string("detail")?,
    })
}

/// A running bot's `id, name, exchange, symbol`.
pub(crate) fn running_bot(row: &impl Columns) -> Result<RunningBot, StoreError> {
    let r = TableRow::new(row, "bots");
    Ok(RunningBot {
        id: BotId::new(r.uuid("id")?),
        name: r.string("name")?,
        pair: (r.parse("exchange")?, r.parse("symbol")?),
    })
}
