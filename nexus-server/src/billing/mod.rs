//! Billing through Stripe (issue 17): plans follow subscriptions through every event
//! Stripe sends, in any order and any number of times (the rules are the core's,
//! [`nexus_core::billing`]; the store applies them in one transaction per change).
//!
//! - [`settings`]: `NEXUS_STRIPE_*` and `NEXUS_BILLING_*`; without a secret key billing is
//!   off.
//! - [`stripe`]: a small client for the six calls Nexus makes (customers, Checkout and
//!   portal sessions, subscriptions, invoices) with its own serde types that read only the
//!   fields Nexus uses, pinned to one API version. Not the async-stripe crates: a pinned
//!   API version we control, no second HTTP/TLS stack, no 240k-line generated crate, and
//!   tests against Stripe's documented objects (`test_data/stripe/README.md`).
//! - [`webhook`]: the `Stripe-Signature` check on the raw body and the event envelope.
//! - [`service`]: Checkout, portal, invoices, webhook processing and `nexus billing sync`.
//! - [`jobs`]: the emails and grace-period checks a change leaves on the queue.

pub mod jobs;
pub mod service;
pub mod settings;
pub mod stripe;
pub mod webhook;

pub use service::{Billing, BillingError, Delivery, SyncReport, WebhookError};
pub use settings::BillingSettings;
