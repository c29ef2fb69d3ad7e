//! The email log and the suppression list: one row per message through its states, queued
//! together with the job that sends it, so an email is never lost nor forgotten.

use async_trait::async_trait;

use crate::Timestamp;
use crate::error::StoreError;

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailState {
    /// Waiting for its first attempt.
    Queued,
    /// Handed to the provider (or the outbox, or the log).
    Sent,
    /// An attempt failed; another is scheduled.
    Retrying,
    /// Given up: a refusal that retrying will not change, or the retries ran out.
    Failed,
    /// Not sent: the address is on the suppression list or outside `NEXUS_EMAIL_ALLOW`.
    Suppressed,
    /// The provider reported a bounce.
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl EmailState {
    /// Every state.
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Sent,
        Self::Retrying,
        Self::Failed,
        Self::Suppressed,
        Self::Bounced,
        Self::Complained,
    ];

    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One message as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRecord {
    /// Its id (also its idempotency key with the provider).
    pub id: i64,
    /// The recipient.
    pub to: String,
    /// Its template.
    pub template: String,
    /// Its subject.
    pub subject: String,
    /// Where it is.
    pub state: EmailState,
    /// Attempts made.
    pub attempts: u32,
    /// The provider's message id, once sent.
    pub provider_id: Option<String>,
    /// The last error (or why it was suppressed or bounced).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was handed over.
    pub sent_at: Option<Timestamp>,
    /// When the provider reported it delivered.
    pub delivered_at: Option<Timestamp>,
}

/// A message to queue: its log row and the job that sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail<'a> {
    /// The recipient.
    pub to: &'a str,
    /// Its template.
    pub template: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// The message as JSON: the job's payload is `{"log": <id>, "email": <this>}`.
    pub email_json: &'a str,
    /// Attempts the job may make.
    pub max_attempts: u32,
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailAttempt {
    /// Handed over; the provider's id when it gave one.
    Sent(Option<String>),
    /// Failed; tried again later.
    Retrying(String),
    /// Failed for good.
    Failed(String),
    /// Not sent, and why.
    Suppressed(String),
}

/// What the provider reported after a message was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryReport {
    /// Delivered to the recipient's server.
    Delivered,
    /// Bounced; a permanent bounce suppresses the address.
    Bounced {
        /// Hard (the address does not exist) rather than soft (a full mailbox).
        permanent: bool,
    },
    /// Marked as spam: the address is suppressed.
    Complained,
    /// The provider could not send it after accepting it (Resend's `email.failed`).
    Failed,
    /// The provider did not send it: the address is on its own suppression list
    /// (Resend's `email.suppressed`).
    Suppressed,
}

/// The admins' filter of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailFilter {
    /// Only this state.
    pub state: Option<EmailState>,
    /// Only this recipient (case-insensitive).
    pub to: Option<String>,
    /// Only ids below this (the previous page's last).
    pub before: Option<i64>,
}

/// The email log and the suppression list.
#[async_trait]
pub trait EmailStore: Send + Sync {
    /// Logs `email` as queued and enqueues the job that sends it, in one transaction;
    /// returns the log id.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn queue_email(&self, email: &QueuedEmail<'_>, now: Timestamp)
    -> Result<i64, StoreError>;

    /// Records an attempt of message `id` (`Suppressed` counts no attempt).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_attempt(
        &self,
        id: i64,
        attempt: &EmailAttempt,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records what the provider reported about its message `provider_id`, and
    /// suppresses the address after a permanent bounce or a complaint; the message, or
    /// `None` when it is not in the log.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_delivery(
        &self,
        provider_id: &str,
        report: DeliveryReport,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<EmailRecord>, StoreError>;

    /// Why `address` is suppressed (`bounced`, `complained`), if it is.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn suppression(&self, address: &str) -> Result<Option<String>, StoreError>;

    /// The log, newest first, as `filter` says.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn emails(
        &self,
        filter: &EmailFilter,
        limit: u32,
    ) -> Result<Vec<EmailRecord>, StoreError>;

    /// One message.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn email(&self, id: i64) -> Result<Option<EmailRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_from_their_stored_names() {
        let names: Vec<&str> = EmailState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "queued",
                "sent",
                "retrying",
                "failed",
                "suppressed",
                "bounced",
                "complained"
            ]
        );
        for state in EmailState::ALL {
            assert_eq!(EmailState::parse(state.as_str()), Some(state));
        }
        assert_eq!(EmailState::parse("delivered"), None);
    }
}
