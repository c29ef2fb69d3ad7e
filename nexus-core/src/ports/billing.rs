//! Billing's storage: Stripe customers, the subscription each user holds, every Stripe
//! event with its outcome, and the plan limits on bots, each change in one transaction
//! so that several instances on one database agree.

use std::time::Duration;

use async_trait::async_trait;

use crate::Timestamp;
use crate::billing::limits::PlanLimit;
use crate::billing::{Change, Notice, Plans, Stale, Subscription};
use crate::error::StoreError;
use crate::ids::{BotId, UserId};
use crate::ports::accounts::BotRecord;

/// A user's Stripe customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingCustomer {
    /// The user.
    pub user: UserId,
    /// Stripe's customer id (`cus_…`).
    pub customer: String,
    /// When a subscription with a trial was first stored (a trial is given once).
    pub trial_used_at: Option<Timestamp>,
}

/// A Stripe event as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingEvent {
    /// Stripe's event id (`evt_…`): each is processed once.
    pub id: String,
    /// Its type (`invoice.paid`, …).
    pub kind: String,
    /// When Stripe created it.
    pub created: Timestamp,
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// It changed the stored subscription.
    Applied,
    /// A type Nexus does not act on, or about nothing Nexus holds.
    Ignored,
    /// Older than what is stored: answered, nothing changed.
    Stale,
    /// Processing failed; Stripe delivers it again.
    Failed,
}

impl EventOutcome {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Ignored => "ignored",
            Self::Stale => "stale",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Applied, Self::Ignored, Self::Stale, Self::Failed]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// A received event and its outcome, for the admins' list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingEventRecord {
    /// The event.
    pub event: BillingEvent,
    /// When it was (last) received.
    pub received_at: Timestamp,
    /// What became of it.
    pub outcome: EventOutcome,
    /// The user it was about, when known.
    pub user: Option<UserId>,
    /// The subscription it was about, when known.
    pub subscription: Option<String>,
    /// Why it was stale, ignored or failed.
    pub detail: Option<String>,
}

/// The rules a change is applied under.
#[derive(Debug, Clone, Copy)]
pub struct BillingRules<'a> {
    /// The plans' limits.
    pub plans: &'a Plans,
    /// How long `past_due` keeps the plan after the first failed payment.
    pub grace: Duration,
}

/// What one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingApplied {
    /// Why it changed nothing, when it did not.
    pub stale: Option<Stale>,
    /// The plan in force before (`free` without a subscription).
    pub plan_before: String,
    /// The plan in force after.
    pub plan_after: String,
    /// Bots paused to fit the plan after, newest first.
    pub paused: Vec<BotId>,
}

/// A bot could not be saved: it does not fit its owner's plan.
pub type WithinPlan<T> = Result<T, PlanLimit>;

/// Billing's storage.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// `user`'s Stripe customer.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn billing_customer(&self, user: UserId) -> Result<Option<BillingCustomer>, StoreError>;

    /// The user whose Stripe customer is `customer`.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn billing_customer_by_stripe(
        &self,
        customer: &str,
    ) -> Result<Option<BillingCustomer>, StoreError>;

    /// Records `customer` as `user`'s, unless one is recorded already; returns the one
    /// on record (the first, when two requests race).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn save_billing_customer(
        &self,
        user: UserId,
        customer: &str,
        now: Timestamp,
    ) -> Result<BillingCustomer, StoreError>;

    /// Customers a page at a time, by user id (for `nexus billing sync`).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn billing_customers(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<BillingCustomer>, StoreError>;

    /// `user`'s stored subscription and the plan last enforced for them.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn subscription(
        &self,
        user: UserId,
    ) -> Result<Option<(Subscription, String)>, StoreError>;

    /// An event on record.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn billing_event(&self, id: &str) -> Result<Option<BillingEventRecord>, StoreError>;

    /// In one transaction: records `event` (`None`: a sync), applies `change` to `user`'s
    /// subscription ([`crate::billing::apply`]), pauses the running bots beyond the plan
    /// now in force (newest first, reason `plan_limit`), enqueues the emails (and
    /// `notice`, when the change applied) and the grace-period check. `None` when the
    /// event was already processed (only a failed one is processed again).
    ///
    /// # Errors
    /// [`StoreError`]; nothing is written then.
    async fn apply_billing(
        &self,
        event: Option<&BillingEvent>,
        user: UserId,
        change: Change,
        notice: Option<Notice>,
        rules: &BillingRules<'_>,
        now: Timestamp,
    ) -> Result<Option<BillingApplied>, StoreError>;

    /// Records an event that changes no subscription (`Ignored`, `Stale`) or whose
    /// processing failed (`Failed`); `false` when it was on record already (a `Failed`
    /// overwrites an earlier failure, never a success).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_billing_event(
        &self,
        event: &BillingEvent,
        outcome: EventOutcome,
        user: Option<UserId>,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Re-evaluates `user`'s plan at `now` (a grace period ends without any event): the
    /// same pausing and emails as [`BillingStore::apply_billing`] when it changed.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn reconcile_plan(
        &self,
        user: UserId,
        rules: &BillingRules<'_>,
        now: Timestamp,
    ) -> Result<BillingApplied, StoreError>;

    /// Received events, newest first, a page at a time (`before`: the last
    /// `(received_at, id)` of the previous page).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn billing_events(
        &self,
        before: Option<(Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<BillingEventRecord>, StoreError>;

    /// Stores a new bot if, running, it fits its owner's plan at `now` (a paused bot
    /// always does): counted and written in one transaction that holds the owner, so
    /// creations racing on several instances cannot all pass.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn create_bot_within_plan(
        &self,
        bot: &BotRecord,
        plans: &Plans,
        now: Timestamp,
    ) -> Result<WithinPlan<()>, StoreError>;

    /// Saves changes to a bot, checking the plan when they make it run or move it to
    /// another pair (as [`BillingStore::create_bot_within_plan`]); `Ok(false)` when the
    /// owner has no such bot.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn update_bot_within_plan(
        &self,
        bot: &BotRecord,
        plans: &Plans,
        now: Timestamp,
    ) -> Result<WithinPlan<bool>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_back_from_their_stored_names() {
        let all = [
            EventOutcome::Applied,
            EventOutcome::Ignored,
            EventOutcome::Stale,
            EventOutcome::Failed,
        ];
        let names: Vec<&str> = all.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, ["applied", "ignored", "stale", "failed"]);
        for outcome in all {
            assert_eq!(EventOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(EventOutcome::parse("Applied"), None);
    }
}
