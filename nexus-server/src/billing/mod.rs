//! Billing through Stripe (issue 17). [`stripe`] is a small client for the six calls Nexus
//! makes (customers, Checkout and portal sessions, subscriptions, invoices) with its own
//! serde types that read only the fields Nexus uses, pinned to one API version; [`webhook`]
//! checks a webhook's `Stripe-Signature` on the raw body and reads the event envelope. Both
//! follow the documented objects in `test_data/stripe/` (see its README for why this is not
//! the async-stripe crate: a pinned API version we control, no second HTTP/TLS stack, no
//! 240k-line generated crate, and tests against Stripe's documented dahlia objects).

pub mod stripe;
pub mod webhook;
