//! Billing on PostgreSQL. Each change runs in one transaction that first locks the
//! user's row (`FOR UPDATE`): changes for one user, from any instance, take turns.

use async_trait::async_trait;
use nexus_core::billing::limits::{Pair, PlanLimit, check};
use nexus_core::billing::{Change, Notice, Plans, Subscription, entitlement};
use nexus_core::ports::accounts::BotRecord;
use nexus_core::ports::billing::{
    BillingApplied, BillingCustomer, BillingEvent, BillingEventRecord, BillingRules, BillingStore,
    EventOutcome, WithinPlan,
};
use nexus_core::{BotId, StoreError, Timestamp, UserId};
use sqlx::{Postgres, Transaction};

use super::bots::{insert_bot, update_bot_row};
use super::{PostgresStore, jobs};
use crate::billing::{Decision, RunningBot, decide};
use crate::codec;
use crate::error::classify;

macro_rules! subscription_columns {
    () => {
        "plan_id, status, effective_plan, stripe_subscription_id, stripe_price_id, trial_end,
    current_period_end, cancel_at_period_end, first_failed_at, grace_until, event_created"
    };
}

macro_rules! event_columns {
    () => {
        "id, type, created, received_at, outcome, user_id, subscription_id, detail"
    };
}

/// Holds `user` until the transaction ends: billing changes and bot limits for one user
/// take turns, from any instance.
async fn lock_user(tx: &mut Transaction<'_, Postgres>, user: UserId) -> Result<(), StoreError> {
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(user.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    Ok(())
}

async fn stored(
    tx: &mut Transaction<'_, Postgres>,
    user: UserId,
) -> Result<Option<(Subscription, String)>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        subscription_columns!(),
        " FROM subscriptions WHERE user_id = $1"
    ))
    .bind(user.as_uuid())
    .fetch_optional(&mut **tx)
    .await
    .map_err(classify)?;
    row.as_ref().map(codec::subscription).transpose()
}

/// `user`'s running bots, oldest first, leaving out `except`.
async fn running(
    tx: &mut Transaction<'_, Postgres>,
    user: UserId,
    except: Option<BotId>,
) -> Result<Vec<RunningBot>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, exchange, symbol FROM bots
         WHERE user_id = $1 AND paused = FALSE AND ($2::uuid IS NULL OR id <> $2) ORDER BY created_at, id",
    )
    .bind(user.as_uuid())
    .bind(except.map(|b| *b.as_uuid()))
    .fetch_all(&mut **tx)
    .await
    .map_err(classify)?;
    rows.iter().map(codec::running_bot).collect()
}

/// Writes what `decision` says for `user`.
async fn write(
    tx: &mut Transaction<'_, Postgres>,
    user: UserId,
    decision: &Decision,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(sub) = &decision.subscription {
        sqlx::query(
            "INSERT INTO subscriptions (user_id, plan_id, status, effective_plan,
                 stripe_subscription_id, stripe_price_id, trial_end, current_period_end,
                 cancel_at_period_end, first_failed_at, grace_until, event_created, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (user_id) DO UPDATE SET plan_id = $2, status = $3, effective_plan = $4,
                 stripe_subscription_id = $5, stripe_price_id = $6, trial_end = $7,
                 current_period_end = $8, cancel_at_period_end = $9, first_failed_at = $10,
                 grace_until = $11, event_created = $12, updated_at = $13",
        )
        .bind(user.as_uuid())
        .bind(&sub.plan)
        .bind(sub.status.as_str())
        .bind(&decision.effective)
        .bind(sub.stripe_subscription.as_deref())
        .bind(sub.stripe_price.as_deref())
        .bind(sub.trial_end)
        .bind(sub.current_period_end)
        .bind(sub.cancel_at_period_end)
        .bind(sub.first_failed_at)
        .bind(sub.grace_until)
        .bind(sub.stamp)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    } else if decision.applied.plan_after != decision.applied.plan_before {
        sqlx::query(
            "UPDATE subscriptions SET effective_plan = $1, updated_at = $2 WHERE user_id = $3",
        )
        .bind(&decision.effective)
        .bind(now)
        .bind(user.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    }
    for bot in &decision.applied.paused {
        sqlx::query(
            "UPDATE bots SET paused = TRUE, paused_reason = 'plan_limit', updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(bot.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    }
    if decision.trial_used {
        sqlx::query(
            "UPDATE billing_customers SET trial_used_at = COALESCE(trial_used_at, $1) WHERE user_id = $2",
        )
        .bind(now)
        .bind(user.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(classify)?;
    }
    for job in &decision.jobs {
        jobs::insert(&mut **tx, job, now).await?;
    }
    Ok(())
}

/// Records `event`'s outcome (a failure never overwrites a success).
async fn record(
    tx: &mut Transaction<'_, Postgres>,
    event: &BillingEvent,
    outcome: EventOutcome,
    about: (Option<UserId>, Option<&str>),
    detail: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO billing_events (id, type, created, received_at, outcome, user_id,
             subscription_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET received_at = $4, outcome = $5, user_id = $6,
             subscription_id = $7, detail = $8
         WHERE billing_events.outcome = 'failed'",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(event.created)
    .bind(now)
    .bind(outcome.as_str())
    .bind(about.0.map(|u| *u.as_uuid()))
    .bind(about.1)
    .bind(detail)
    .execute(&mut **tx)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

/// Whether `event` was processed already (a failed one was not).
async fn processed(
    tx: &mut Transaction<'_, Postgres>,
    event: &BillingEvent,
) -> Result<bool, StoreError> {
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM billing_events WHERE id = $1")
            .bind(&event.id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(classify)?;
    Ok(outcome.is_some_and(|o| o != EventOutcome::Failed.as_str()))
}

/// Whether `bot`, running, fits its owner's plan beside their other running bots.
async fn fits(
    tx: &mut Transaction<'_, Postgres>,
    bot: &BotRecord,
    plans: &Plans,
    now: Timestamp,
) -> Result<Result<(), PlanLimit>, StoreError> {
    lock_user(tx, bot.user).await?;
    let sub = stored(tx, bot.user).await?;
    let plan = plans.get(entitlement(sub.as_ref().map(|(s, _)| s), now));
    let others: Vec<Pair> = running(tx, bot.user, Some(bot.id))
        .await?
        .into_iter()
        .map(|b| b.pair)
        .collect();
    Ok(check(plan, &others, (bot.exchange, bot.symbol)))
}

#[async_trait]
impl BillingStore for PostgresStore {
    async fn billing_customer(&self, user: UserId) -> Result<Option<BillingCustomer>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, stripe_customer_id, trial_used_at FROM billing_customers
             WHERE user_id = $1",
        )
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::billing_customer).transpose()
    }

    async fn billing_customer_by_stripe(
        &self,
        customer: &str,
    ) -> Result<Option<BillingCustomer>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, stripe_customer_id, trial_used_at FROM billing_customers
             WHERE stripe_customer_id = $1",
        )
        .bind(customer)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::billing_customer).transpose()
    }

    async fn save_billing_customer(
        &self,
        user: UserId,
        customer: &str,
        now: Timestamp,
    ) -> Result<BillingCustomer, StoreError> {
        let row = sqlx::query(
            "INSERT INTO billing_customers (user_id, stripe_customer_id, created_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET user_id = billing_customers.user_id
             RETURNING user_id, stripe_customer_id, trial_used_at",
        )
        .bind(user.as_uuid())
        .bind(customer)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        codec::billing_customer(&row)
    }

    async fn billing_customers(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<BillingCustomer>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, stripe_customer_id, trial_used_at FROM billing_customers
             WHERE $1::uuid IS NULL OR user_id > $1 ORDER BY user_id LIMIT $2",
        )
        .bind(after.map(|a| *a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::billing_customer).collect()
    }

    async fn subscription(
        &self,
        user: UserId,
    ) -> Result<Option<(Subscription, String)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM subscriptions WHERE user_id = $1"
        ))
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::subscription).transpose()
    }

    async fn billing_event(&self, id: &str) -> Result<Option<BillingEventRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM billing_events WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::billing_event).transpose()
    }

    async fn apply_billing(
        &self,
        event: Option<&BillingEvent>,
        user: UserId,
        change: Change,
        notice: Option<Notice>,
        rules: &BillingRules<'_>,
        now: Timestamp,
    ) -> Result<Option<BillingApplied>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        lock_user(&mut tx, user).await?;
        if let Some(event) = event
            && processed(&mut tx, event).await?
        {
            return Ok(None);
        }
        let subscription = change.subscription().map(str::to_owned);
        let sub = stored(&mut tx, user).await?;
        let bots = running(&mut tx, user, None).await?;
        let decision = decide(user, sub.as_ref(), Some(change), notice, &bots, rules, now)?;
        write(&mut tx, user, &decision, now).await?;
        if let Some(event) = event {
            let (outcome, detail) = &decision.outcome;
            let about = (Some(user), subscription.as_deref());
            record(&mut tx, event, *outcome, about, detail.as_deref(), now).await?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(Some(decision.applied))
    }

    async fn record_billing_event(
        &self,
        event: &BillingEvent,
        outcome: EventOutcome,
        user: Option<UserId>,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let new = record(&mut tx, event, outcome, (user, None), detail, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(new)
    }

    async fn reconcile_plan(
        &self,
        user: UserId,
        rules: &BillingRules<'_>,
        now: Timestamp,
    ) -> Result<BillingApplied, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        lock_user(&mut tx, user).await?;
        let sub = stored(&mut tx, user).await?;
        let bots = running(&mut tx, user, None).await?;
        let decision = decide(user, sub.as_ref(), None, None, &bots, rules, now)?;
        write(&mut tx, user, &decision, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(decision.applied)
    }

    async fn billing_events(
        &self,
        before: Option<(Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<BillingEventRecord>, StoreError> {
        let (at, id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM billing_events
             WHERE $1::timestamptz IS NULL OR received_at < $1 OR (received_at = $1 AND id < $2)
             ORDER BY received_at DESC, id DESC LIMIT $3"
        ))
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::billing_event).collect()
    }

    async fn create_bot_within_plan(
        &self,
        bot: &BotRecord,
        plans: &Plans,
        now: Timestamp,
    ) -> Result<WithinPlan<()>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        if !bot.paused
            && let Err(limit) = fits(&mut tx, bot, plans, now).await?
        {
            return Ok(Err(limit));
        }
        insert_bot(&mut *tx, bot, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(Ok(()))
    }

    async fn update_bot_within_plan(
        &self,
        bot: &BotRecord,
        plans: &Plans,
        now: Timestamp,
    ) -> Result<WithinPlan<bool>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let before: Option<(bool, String, String)> = sqlx::query_as(
            "SELECT paused, exchange, symbol FROM bots WHERE id = $1 AND user_id = $2",
        )
        .bind(bot.id.as_uuid())
        .bind(bot.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some((was_paused, exchange, symbol)) = before else {
            return Ok(Ok(false));
        };
        let moved = exchange != bot.exchange.as_str() || symbol != bot.symbol.to_string();
        if !bot.paused
            && (was_paused || moved)
            && let Err(limit) = fits(&mut tx, bot, plans, now).await?
        {
            return Ok(Err(limit));
        }
        let saved = update_bot_row(&mut *tx, bot, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(Ok(saved))
    }
}
