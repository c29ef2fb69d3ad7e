//! Billing's decisions, shared by both backends: given what a transaction read (the
//! stored subscription, the plan last enforced, the running bots), what it must write.
//! The rules themselves are the core's ([`nexus_core::billing`]).

use nexus_core::billing::limits::{Pair, over_limit};
use nexus_core::billing::{
    BillingJob, Change, Notice, Stale, Subscription, SubscriptionStatus, apply, entitlement,
    starts_failure,
};
use nexus_core::ports::billing::{BillingApplied, BillingRules, EventOutcome};
use nexus_core::ports::jobs::NewJob;
use nexus_core::{BotId, StoreError, Timestamp, UserId};

use crate::error::corrupt;

/// A running bot of the user, oldest first.
pub(crate) struct RunningBot {
    pub(crate) id: BotId,
    pub(crate) name: String,
    pub(crate) pair: Pair,
}

/// What one billing transaction writes.
pub(crate) struct Decision {
    /// The subscription to store (`None`: unchanged).
    pub(crate) subscription: Option<Subscription>,
    /// The plan in force now.
    pub(crate) effective: String,
    /// Jobs to enqueue: emails and the grace-period check.
    pub(crate) jobs: Vec<NewJob>,
    /// Whether a trial is now used.
    pub(crate) trial_used: bool,
    /// The event's outcome and why.
    pub(crate) outcome: (EventOutcome, Option<String>),
    /// What the caller is told (its `paused` are the bots to pause).
    pub(crate) applied: BillingApplied,
}

/// Decides a billing transaction for `user`: `change` (none: re-evaluate at `now`)
/// over `stored`, the plan last `enforced`, and the `running` bots (oldest first).
pub(crate) fn decide(
    user: UserId,
    stored: Option<&(Subscription, String)>,
    change: Option<Change>,
    notice: Option<Notice>,
    running: &[RunningBot],
    rules: &BillingRules<'_>,
    now: Timestamp,
) -> Result<Decision, StoreError> {
    let (sub, enforced) = match stored {
        Some((sub, enforced)) => (Some(sub), enforced.as_str()),
        None => (None, "free"),
    };
    let (next, stale) = match change.map(|c| apply(sub, c, rules.grace)) {
        Some(Ok(next)) => (Some(next), None),
        Some(Err(stale)) => (None, Some(stale)),
        None => (None, None),
    };
    let current = next.as_ref().or(sub);
    let plan_after = rules.plans.get(entitlement(current, now));
    let plan_before = rules.plans.get(Some(enforced)).name.clone();
    let mut jobs = Vec::new();
    let mut notify = |notice: Notice| -> Result<(), StoreError> {
        jobs.push(job(&BillingJob::Notify { user, notice })?);
        Ok(())
    };
    let mut paused = Vec::new();
    if plan_after.name != plan_before {
        let bots: Vec<(usize, Pair)> = running.iter().map(|b| b.pair).enumerate().collect();
        let over = over_limit(plan_after, &bots);
        notify(Notice::PlanChanged {
            from: plan_before.clone(),
            to: plan_after.name.clone(),
        })?;
        if !over.is_empty() {
            notify(Notice::BotsPaused {
                plan: plan_after.name.clone(),
                bots: over.iter().map(|i| running[*i].name.clone()).collect(),
            })?;
        }
        paused = over.iter().map(|i| running[*i].id).collect();
    }
    if let Some(next) = &next {
        if let Some(grace_until) = starts_failure(sub, next) {
            notify(Notice::PaymentFailed {
                plan: next.plan.clone(),
                grace_until,
            })?;
        }
        if let Some(notice) = notice {
            notify(notice)?;
        }
        if next.status == SubscriptionStatus::PastDue
            && let Some(at) = next.grace_until.filter(|until| *until > now)
        {
            jobs.push(job(&BillingJob::CheckGrace { user, at })?);
        }
    }
    let outcome = match stale {
        None => (EventOutcome::Applied, None),
        // Its subscription's own event comes first in time but not always in delivery:
        // failing makes Stripe deliver this one again later.
        Some(Stale::Unknown) => (EventOutcome::Failed, Some(Stale::Unknown.to_string())),
        Some(other) => (EventOutcome::Stale, Some(other.to_string())),
    };
    Ok(Decision {
        trial_used: next.as_ref().is_some_and(|n| n.trial_end.is_some()),
        subscription: next,
        effective: plan_after.name.clone(),
        jobs,
        outcome,
        applied: BillingApplied {
            stale,
            plan_before,
            plan_after: plan_after.name.clone(),
            paused,
        },
    })
}

fn job(payload: &BillingJob) -> Result<NewJob, StoreError> {
    let text = serde_json::to_string(payload).map_err(|e| corrupt("billing job", e))?;
    Ok(payload.new_job(text))
}
