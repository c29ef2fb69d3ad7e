//! What a billing change leaves behind on the job queue: emails to the user, and the
//! check that ends a grace period (Stripe sends no event when it ends).

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::ids::UserId;
use crate::ports::jobs::{JobKind, NewJob};

/// Something to tell a user about their plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The trial ends soon (Stripe's `trial_will_end`, three days before).
    TrialEnding {
        /// The plan on trial.
        plan: String,
        /// When the trial ends.
        trial_end: Timestamp,
    },
    /// A payment failed: the plan stays until the grace period ends.
    PaymentFailed {
        /// The plan at stake.
        plan: String,
        /// When the plan ends unless a payment succeeds.
        grace_until: Timestamp,
    },
    /// The plan in force changed (`free` when a subscription ended).
    PlanChanged {
        /// The plan before.
        from: String,
        /// The plan now.
        to: String,
    },
    /// Bots beyond a smaller plan's limits were paused.
    BotsPaused {
        /// The plan now.
        plan: String,
        /// The bots' names, newest first.
        bots: Vec<String>,
    },
}

/// A `billing` job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BillingJob {
    /// Email `user` about `notice`.
    Notify {
        /// The user.
        user: UserId,
        /// What to tell them.
        notice: Notice,
    },
    /// Re-evaluate `user`'s plan when their grace period ends.
    CheckGrace {
        /// The user.
        user: UserId,
        /// The end of the grace period (the job runs then).
        at: Timestamp,
    },
}

impl BillingJob {
    /// The job to enqueue with `payload` (this, as JSON): a grace check runs at its
    /// time, once per user and deadline.
    #[must_use]
    pub fn new_job(&self, payload: String) -> NewJob {
        let job = NewJob::new(JobKind::Billing, payload);
        match self {
            Self::Notify { .. } => job,
            Self::CheckGrace { user, at } => NewJob {
                run_at: Some(*at),
                ..job.unique(format!("billing-grace:{user}:{}", at.timestamp_millis()))
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_grace_check_waits_for_its_deadline_once_per_user_and_deadline() {
        let user = UserId::new(Uuid::from_u128(7));
        let at = Utc.timestamp_opt(1_770_768_000, 0).unwrap();
        let check = BillingJob::CheckGrace { user, at }.new_job("{}".to_owned());
        assert_eq!(check.kind, JobKind::Billing);
        assert_eq!(check.payload, "{}");
        assert_eq!(check.run_at, Some(at), "not before the grace ends");
        assert_eq!(
            check.unique_key,
            Some(format!("billing-grace:{user}:1770768000000"))
        );
        // An email goes now, and two of them are two emails.
        let notify = BillingJob::Notify {
            user,
            notice: Notice::PlanChanged {
                from: "pro".to_owned(),
                to: "free".to_owned(),
            },
        }
        .new_job("{}".to_owned());
        assert_eq!((notify.run_at, notify.unique_key), (None, None));
    }
}
