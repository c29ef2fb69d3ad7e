//! Every email is a job: [`QueuedSender`] logs it and queues it in one transaction (an
//! HTTP request never waits on the provider), and [`EmailDelivery`] sends the queued ones
//! through the transport (Resend, or the outbox or the log), retrying on the configured
//! schedule with the same idempotency key, and recording each state in the email log.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::emails::{EmailAttempt, EmailState, QueuedEmail};
use nexus_core::ports::jobs::{Job, JobKind, NewJob};
use nexus_store::Store;
use serde::{Deserialize, Serialize};

use super::{Email, EmailError, EmailSender};
use crate::job_runner::{JobError, JobHandler, JobRunner};
use crate::metrics::Metrics;

/// Templates sent to an address the user has just typed (signing up, resetting a
/// password): they go out even to a suppressed address, so a user can recover it.
const SECURITY_TEMPLATES: [&str; 2] = ["verification", "password_reset"];

/// How long a claimed email job is held.
const LEASE: Duration = Duration::from_secs(60);

/// An `email` job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    /// The log row (also the idempotency key's number).
    pub log: i64,
    /// The message.
    pub email: Email,
    /// Attempts made before this one.
    #[serde(default)]
    pub attempt: u32,
}

/// Queues emails: what the API and the engine hold as their [`EmailSender`].
pub struct QueuedSender {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl QueuedSender {
    /// Queues into `store`, counting in `metrics`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self { store, metrics }
    }
}

#[async_trait]
impl EmailSender for QueuedSender {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let fail = |reason: String| EmailError {
            to: email.to.clone(),
            reason,
        };
        let json = serde_json::to_string(email).map_err(|e| fail(e.to_string()))?;
        let queued = QueuedEmail {
            to: &email.to,
            template: &email.template,
            subject: &email.subject,
            email_json: &json,
            // The job's own attempts cover a worker lost mid-send; retries of a failed
            // send are jobs of their own, on the configured schedule.
            max_attempts: 3,
        };
        self.store
            .queue_email(&queued, Utc::now())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.metrics.email(&email.template, EmailState::Queued);
        Ok(())
    }
}

/// Why a transport could not hand a message over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What went wrong (the provider's own message when it gave one).
    pub message: String,
    /// Whether trying again may succeed (a timeout, a 5xx, a 429), or not (a 422).
    pub retryable: bool,
    /// How long the provider asked to wait.
    pub retry_after: Option<Duration>,
}

/// Hands messages over: Resend, or the development outbox, or the log.
#[async_trait]
pub trait EmailTransport: Send + Sync {
    /// Hands `email` over with `idempotency_key` (the same on every retry of one
    /// message); the provider's message id when it gives one.
    ///
    /// # Errors
    /// [`TransportError`].
    async fn deliver(
        &self,
        email: &Email,
        idempotency_key: &str,
    ) -> Result<Option<String>, TransportError>;
}

/// Any [`EmailSender`] (the outbox, the log) as a transport.
pub struct SenderTransport(pub Arc<dyn EmailSender>);

#[async_trait]
impl EmailTransport for SenderTransport {
    async fn deliver(&self, email: &Email, _key: &str) -> Result<Option<String>, TransportError> {
        self.0
            .send(email)
            .await
            .map(|()| None)
            .map_err(|e| TransportError {
                message: e.to_string(),
                retryable: true,
                retry_after: None,
            })
    }
}

/// The transport `settings` choose: Resend when its key is set, else `fallback` (the
/// development outbox, or the log), so nothing leaves a development machine or a test.
///
/// # Errors
/// [`super::resend::ResendError`] when the Resend client cannot be built.
pub fn transport(
    settings: &super::settings::EmailSettings,
    fallback: Arc<dyn EmailSender>,
) -> Result<Arc<dyn EmailTransport>, super::resend::ResendError> {
    match &settings.resend {
        Some(resend) => {
            let client = super::resend::ResendClient::new(&resend.api_base, resend.key.clone())?;
            tracing::info!(api = %resend.api_base, from = %settings.from, "emails go out through Resend");
            Ok(Arc::new(ResendTransport {
                client,
                from: settings.from.clone(),
            }))
        }
        None => Ok(Arc::new(SenderTransport(fallback))),
    }
}

/// Resend as a transport.
pub struct ResendTransport {
    client: super::resend::ResendClient,
    from: String,
}

#[async_trait]
impl EmailTransport for ResendTransport {
    async fn deliver(&self, email: &Email, key: &str) -> Result<Option<String>, TransportError> {
        let outgoing = super::resend::OutgoingEmail {
            from: self.from.clone(),
            to: email.to.clone(),
            subject: email.subject.clone(),
            html: email.html.clone(),
            text: email.text.clone(),
            tags: vec![("template".to_owned(), email.template.clone())],
        };
        self.client
            .send(&outgoing, key)
            .await
            .map(Some)
            .map_err(|e| TransportError {
                retryable: e.is_retryable(),
                retry_after: e.retry_after(),
                message: e.to_string(),
            })
    }
}

/// Sends queued emails.
pub struct EmailDelivery {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Where messages go.
    pub transport: Arc<dyn EmailTransport>,
    /// The settings (allow-list, retry delays).
    pub settings: super::settings::EmailSettings,
    /// Counts each state.
    pub metrics: Arc<Metrics>,
}

/// What one job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent.
    Sent,
    /// Another attempt is queued.
    Retrying,
    /// Given up.
    Failed,
    /// Not sent: suppressed or not allowed.
    Suppressed,
}

impl EmailDelivery {
    /// Sends one job's message and records what happened; `Err` only when the job cannot
    /// be read or the store failed (the job is then retried as it is).
    ///
    /// # Errors
    /// [`JobError`]: an unreadable payload, or the store failing.
    pub async fn process(&self, job: &Job) -> Result<Outcome, JobError> {
        let queued: EmailJob = serde_json::from_str(&job.payload)?;
        let email = &queued.email;
        let now = Utc::now();
        let record = |attempt: EmailAttempt, state: EmailState| async move {
            self.store
                .record_attempt(queued.log, &attempt, Utc::now())
                .await?;
            self.metrics.email(&email.template, state);
            Ok::<(), JobError>(())
        };
        if !self.settings.allows(&email.to) {
            record(
                EmailAttempt::Suppressed(
                    "the recipient's domain is not in NEXUS_EMAIL_ALLOW".to_owned(),
                ),
                EmailState::Suppressed,
            )
            .await?;
            tracing::info!(log = queued.log, template = %email.template, "email suppressed: not in NEXUS_EMAIL_ALLOW");
            return Ok(Outcome::Suppressed);
        }
        if !SECURITY_TEMPLATES.contains(&email.template.as_str())
            && let Some(reason) = self.store.suppression(&email.to).await?
        {
            record(
                EmailAttempt::Suppressed(format!("the address is suppressed ({reason})")),
                EmailState::Suppressed,
            )
            .await?;
            return Ok(Outcome::Suppressed);
        }
        let key = format!("nexus-email-{}", queued.log);
        match self.transport.deliver(email, &key).await {
            Ok(provider_id) => {
                record(EmailAttempt::Sent(provider_id), EmailState::Sent).await?;
                Ok(Outcome::Sent)
            }
            Err(e)
                if e.retryable && (queued.attempt as usize) < self.settings.retry_delays.len() =>
            {
                let scheduled = self.settings.retry_delays[queued.attempt as usize];
                let delay = e.retry_after.unwrap_or(scheduled);
                let retry = EmailJob {
                    attempt: queued.attempt + 1,
                    ..queued.clone()
                };
                let payload = serde_json::to_string(&retry)?;
                let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                let job = NewJob {
                    run_at: Some(at),
                    ..NewJob::new(JobKind::Email, payload)
                        .unique(format!("email-retry:{}:{}", queued.log, retry.attempt))
                };
                // Queued before this job completes: a crash in between sends again with
                // the same idempotency key, which the provider answers once.
                self.store.enqueue(&job, now).await?;
                tracing::warn!(log = queued.log, attempt = retry.attempt, error = %e, retry_in_secs = delay.as_secs(), "email not sent; retrying");
                record(EmailAttempt::Retrying(e.message), EmailState::Retrying).await?;
                Ok(Outcome::Retrying)
            }
            Err(e) => {
                tracing::error!(log = queued.log, template = %email.template, error = %e, "email failed");
                record(EmailAttempt::Failed(e.message), EmailState::Failed).await?;
                Ok(Outcome::Failed)
            }
        }
    }
    /// Claims and sends email jobs until the task is aborted (a job cut short is claimed
    /// again when its lease ends, and sent with the same idempotency key).
    pub async fn run(self, worker: String) {
        let runner = JobRunner {
            kind: JobKind::Email,
            worker,
            lease: LEASE,
            batch: 16,
            idle: Duration::from_millis(250),
            retry: nexus_core::ports::jobs::RetryPolicy::default(),
        };
        runner.run(Arc::clone(&self.store), &self, None).await;
    }
}

#[async_trait]
impl JobHandler for EmailDelivery {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        self.process(job).await.map(|_| ())
    }
}
