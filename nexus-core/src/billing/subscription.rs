//! A user's subscription as stored, the plan it gives at a moment, and how each Stripe
//! event changes it without ever going back in time.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A Stripe subscription's status (Stripe's own words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// In its free trial: the plan is given.
    Trialing,
    /// Paid: the plan is given.
    Active,
    /// A renewal failed and Stripe is retrying: the plan is kept until the grace ends.
    PastDue,
    /// Ended (terminal for that subscription).
    Canceled,
    /// Retries ran out and the subscription stays open unpaid.
    Unpaid,
    /// Its first payment has not succeeded yet.
    Incomplete,
    /// Its first payment never succeeded (terminal for that subscription).
    IncompleteExpired,
    /// A trial ended without a payment method.
    Paused,
}

impl SubscriptionStatus {
    /// Every status.
    pub const ALL: [Self; 8] = [
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Unpaid,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Paused,
    ];

    /// Stripe's (and the store's) name: `past_due`, …
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Paused => "paused",
        }
    }

    /// Whether the subscription is over for good: Stripe never revives it, so no later
    /// snapshot of it is believed over this one.
    #[must_use]
    pub const fn is_ended(self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name Stripe does not document (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown subscription status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for SubscriptionStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A user's subscription as stored: what Stripe last said, and the failed-payment streak
/// that bounds the grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The plan subscribed to (`pro`, `enterprise`; `free` when nothing is).
    pub plan: String,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Stripe's subscription id (`None`: a plan set by an admin).
    pub stripe_subscription: Option<String>,
    /// The Stripe price subscribed to.
    pub stripe_price: Option<String>,
    /// When the trial ends (or ended).
    pub trial_end: Option<Timestamp>,
    /// When the current period ends (the next renewal).
    pub current_period_end: Option<Timestamp>,
    /// Whether it ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
    /// When the first payment of the current failed streak failed.
    pub first_failed_at: Option<Timestamp>,
    /// Until when a `past_due` subscription keeps its plan.
    pub grace_until: Option<Timestamp>,
    /// When Stripe created the newest event whose status was applied (`None`: never
    /// from an event); older events never overwrite what it brought.
    pub stamp: Option<Timestamp>,
}

impl Subscription {
    /// A plan an admin gives: active, without Stripe.
    #[must_use]
    pub fn admin(plan: &str) -> Self {
        Self {
            plan: plan.to_owned(),
            status: SubscriptionStatus::Active,
            stripe_subscription: None,
            stripe_price: None,
            trial_end: None,
            current_period_end: None,
            cancel_at_period_end: false,
            first_failed_at: None,
            grace_until: None,
            stamp: None,
        }
    }
}

/// The plan `subscription` gives at `now`; `None` is the free plan.
///
/// `trialing` and `active` give the subscribed plan; `past_due` keeps it until
/// `grace_until` (exclusive); every other status gives nothing. Computed from the time,
/// so a grace-period check that runs late never grants more than is due.
#[must_use]
pub fn entitlement(subscription: Option<&Subscription>, now: Timestamp) -> Option<&str> {
    let sub = subscription?;
    match sub.status {
        SubscriptionStatus::Trialing | SubscriptionStatus::Active => Some(&sub.plan),
        SubscriptionStatus::PastDue => sub
            .grace_until
            .filter(|until| now < *until)
            .map(|_| sub.plan.as_str()),
        _ => None,
    }
}

/// A complete subscription object from Stripe, read into Nexus' terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Stripe's subscription id.
    pub subscription: String,
    /// The plan its price stands for.
    pub plan: String,
    /// Its price.
    pub price: Option<String>,
    /// Its status.
    pub status: SubscriptionStatus,
    /// When its trial ends.
    pub trial_end: Option<Timestamp>,
    /// When its current period ends.
    pub current_period_end: Option<Timestamp>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
}

/// What one Stripe event (or a re-read) says about a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The whole object (`customer.subscription.*`, or read back after a checkout).
    Snapshot {
        /// The object.
        snapshot: Snapshot,
        /// When Stripe created the event (or when it was read).
        at: Timestamp,
        /// Read straight from Stripe's API (`nexus billing sync`): believed over anything
        /// stored.
        authoritative: bool,
    },
    /// `invoice.payment_failed`.
    PaymentFailed {
        /// The invoice's subscription.
        subscription: String,
        /// When Stripe created the event.
        at: Timestamp,
    },
    /// `invoice.paid`.
    Paid {
        /// The invoice's subscription.
        subscription: String,
        /// When Stripe created the event.
        at: Timestamp,
    },
    /// An operator gives the user `plan` (`nexus users set-plan`): active, without Stripe.
    /// It replaces whatever is stored; a later event of a Stripe subscription replaces it
    /// in turn.
    Grant {
        /// The plan given.
        plan: String,
        /// When.
        at: Timestamp,
    },
}

impl Change {
    /// A snapshot carried by an event created `at`.
    #[must_use]
    pub const fn snapshot(snapshot: Snapshot, at: Timestamp) -> Self {
        Self::Snapshot {
            snapshot,
            at,
            authoritative: false,
        }
    }

    /// A snapshot read from Stripe's API `at` (believed over what is stored).
    #[must_use]
    pub const fn sync(snapshot: Snapshot, at: Timestamp) -> Self {
        Self::Snapshot {
            snapshot,
            at,
            authoritative: true,
        }
    }

    /// The Stripe subscription it is about (`None` for a grant).
    #[must_use]
    pub fn subscription(&self) -> Option<&str> {
        match self {
            Self::Snapshot { snapshot, .. } => Some(&snapshot.subscription),
            Self::PaymentFailed { subscription, .. } | Self::Paid { subscription, .. } => {
                Some(subscription)
            }
            Self::Grant { .. } => None,
        }
    }
}

/// Why a change was not applied: it would take the stored state back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// Created before what is stored.
    #[error("older than the stored state")]
    Older,
    /// The stored subscription has ended, and Stripe never revives one.
    #[error("the subscription has ended")]
    Ended,
    /// About an ended subscription while another one is current.
    #[error("about another subscription than the current one")]
    OtherSubscription,
    /// An invoice of a subscription not stored (yet): its own snapshot will follow.
    #[error("about a subscription not stored yet")]
    Unknown,
}

/// `stored` after `change`, or why the change is stale.
///
/// - A snapshot replaces the stored state when it is at least as new as the stored stamp
///   (Stripe's `created` has second precision: events of the same second apply in
///   arrival order), unless the stored subscription has ended, or the snapshot is the end
///   of another subscription than the current one. A sync snapshot always applies.
/// - `past_due` starts a failed streak at the first failure seen (the failed invoice's
///   event, or the snapshot's), and `grace_until` is that plus `grace`; a later failure
///   never extends it, and an earlier one seen late moves it back.
/// - `invoice.paid` ends the streak and turns `past_due`/`unpaid` (and a `trialing` whose
///   trial is over) to `active`; `invoice.payment_failed` turns `active`/`trialing` to
///   `past_due`. Both move the stamp: a snapshot older than a payment is stale (its
///   period end comes again with the next renewal, or from `nexus billing sync`).
///
/// # Errors
/// [`Stale`], saying why nothing changes.
pub fn apply(
    stored: Option<&Subscription>,
    change: Change,
    grace: Duration,
) -> Result<Subscription, Stale> {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let deadline = |first: Timestamp| first.checked_add_signed(grace);
    let subject = change.subscription().map(str::to_owned);
    let same = |sub: &Subscription| subject.is_some() && sub.stripe_subscription == subject;
    match change {
        Change::Grant { plan, at } => Ok(Subscription {
            stamp: Some(at),
            ..Subscription::admin(&plan)
        }),
        Change::Snapshot {
            snapshot,
            at,
            authoritative,
        } => {
            let current = stored.filter(|s| same(s));
            if !authoritative {
                if let Some(sub) = current {
                    if sub.stamp.is_some_and(|stamp| at < stamp) {
                        return Err(Stale::Older);
                    }
                    if sub.status.is_ended() && !snapshot.status.is_ended() {
                        return Err(Stale::Ended);
                    }
                } else if let Some(other) = stored
                    && other.stripe_subscription.is_some()
                    && !other.status.is_ended()
                    && snapshot.status.is_ended()
                {
                    return Err(Stale::OtherSubscription);
                }
            }
            let first_failed_at = (snapshot.status == SubscriptionStatus::PastDue).then(|| {
                current
                    .and_then(|s| s.first_failed_at)
                    .map_or(at, |first| first.min(at))
            });
            Ok(Subscription {
                plan: snapshot.plan,
                status: snapshot.status,
                stripe_subscription: Some(snapshot.subscription),
                stripe_price: snapshot.price,
                trial_end: snapshot.trial_end,
                current_period_end: snapshot.current_period_end,
                cancel_at_period_end: snapshot.cancel_at_period_end,
                first_failed_at,
                grace_until: first_failed_at.and_then(deadline),
                stamp: Some(current.and_then(|s| s.stamp).map_or(at, |s| s.max(at))),
            })
        }
        Change::PaymentFailed { at, .. } => {
            let sub = invoice_subject(stored, same)?;
            let mut next = sub.clone();
            if sub.stamp.is_none_or(|stamp| at >= stamp) {
                if matches!(
                    sub.status,
                    SubscriptionStatus::Active | SubscriptionStatus::Trialing
                ) {
                    next.status = SubscriptionStatus::PastDue;
                }
                next.first_failed_at.get_or_insert(at);
                next.stamp = Some(at);
            } else if sub.status == SubscriptionStatus::PastDue
                && sub.first_failed_at.is_none_or(|first| at < first)
            {
                // The failure that began the streak, seen after the snapshot it caused.
                next.first_failed_at = Some(at);
            } else {
                return Err(Stale::Older);
            }
            next.grace_until = next.first_failed_at.and_then(deadline);
            Ok(next)
        }
        Change::Paid { at, .. } => {
            let sub = invoice_subject(stored, same)?;
            if sub.stamp.is_some_and(|stamp| at < stamp) {
                return Err(Stale::Older);
            }
            let mut next = sub.clone();
            next.first_failed_at = None;
            next.grace_until = None;
            next.stamp = Some(at);
            let trial_over = sub.trial_end.is_none_or(|end| end <= at);
            if matches!(
                sub.status,
                SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid
            ) || (sub.status == SubscriptionStatus::Trialing && trial_over)
            {
                next.status = SubscriptionStatus::Active;
            }
            Ok(next)
        }
    }
}

/// The stored subscription an invoice event is about.
fn invoice_subject(
    stored: Option<&Subscription>,
    same: impl Fn(&Subscription) -> bool,
) -> Result<&Subscription, Stale> {
    match stored {
        Some(sub) if same(sub) && sub.status.is_ended() => Err(Stale::Ended),
        Some(sub) if same(sub) => Ok(sub),
        Some(sub) if sub.stripe_subscription.is_some() => Err(Stale::OtherSubscription),
        _ => Err(Stale::Unknown),
    }
}

/// The grace deadline to tell the user about when `after` begins a failed-payment streak
/// that `before` did not have (one email per streak, not per retry).
#[must_use]
pub fn starts_failure(before: Option<&Subscription>, after: &Subscription) -> Option<Timestamp> {
    let began = before.is_none_or(|b| {
        b.first_failed_at.is_none() || b.stripe_subscription != after.stripe_subscription
    });
    if began && after.first_failed_at.is_some() {
        after.grace_until
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
