//! Alerts beyond email: users' webhooks ([`webhook`]: which URLs are accepted, and the
//! signed, retried delivery through the job queue) and the daily summary ([`summary`]).

pub mod summary;
pub mod webhook;

pub use webhook::{UrlError, WebhookPolicy};
