//! Billing: plans and their limits, and how a user's plan follows their Stripe
//! subscription through every event, in any order and any number of times.
//!
//! Everything here is a pure function of its arguments (the time included), so the
//! stores apply it inside their transactions and the tests replay it in any order:
//!
//! - [`Plans`]: the configured plans (`free`, `pro`, `enterprise`) and their limits;
//! - [`Subscription`] and [`entitlement`]: which plan a stored subscription gives now
//!   (`trialing` and `active` give the subscribed plan, `past_due` keeps it until the
//!   grace period ends, everything else is `free`);
//! - [`Change`] and [`apply`]: a Stripe event's effect on the stored subscription, never
//!   going back in time;
//! - [`limits`]: whether one more running bot fits a plan, and which bots a smaller plan
//!   pauses (newest first);
//! - [`BillingJob`]: the emails and the grace-period check that a change leaves behind.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use nexus_core::billing::{Change, Snapshot, SubscriptionStatus, apply, entitlement};
//!
//! let t = |s| Utc.timestamp_opt(s, 0).unwrap();
//! let trialing = Snapshot {
//!     subscription: "sub_1".into(),
//!     plan: "pro".into(),
//!     price: Some("price_pro".into()),
//!     status: SubscriptionStatus::Trialing,
//!     trial_end: Some(t(700)),
//!     current_period_end: Some(t(700)),
//!     cancel_at_period_end: false,
//! };
//! let grace = std::time::Duration::from_secs(3 * 86_400);
//! let applied = apply(None, Change::snapshot(trialing, t(1)), grace).unwrap();
//! assert_eq!(entitlement(Some(&applied), t(2)), Some("pro"));
//! ```

mod jobs;
pub mod limits;
mod plans;
mod subscription;

pub use jobs::{BillingJob, Notice};
pub use plans::{DEFAULT_PLANS, Plan, Plans, PlansError};
pub use subscription::{
    Change, Snapshot, Stale, Subscription, SubscriptionStatus, UnknownStatus, apply, entitlement,
    starts_failure,
};
