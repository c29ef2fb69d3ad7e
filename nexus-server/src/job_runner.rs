//! The loop of the job kinds that run one job at a time (emails, billing, webhook alerts,
//! daily summaries): claim a batch, run each, complete it or fail it into its retry
//! policy, and sleep a moment when there is nothing to do.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::jobs::{Job, JobKind, RetryPolicy};
use nexus_store::Store;
use tokio::sync::watch;

/// Why a job's work failed: the job is failed into its runner's retry policy, this as its
/// recorded error.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload is not this kind's.
    #[error("unreadable job payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] nexus_core::StoreError),
    /// The work itself failed (an email not handed over, a webhook not delivered).
    #[error(transparent)]
    Work(Box<dyn std::error::Error + Send + Sync>),
}

impl JobError {
    /// The work's own error.
    pub fn work(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Work(Box::new(error))
    }
}

/// Does one job's work.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Runs `job`.
    ///
    /// # Errors
    /// [`JobError`]; the job is failed into the runner's retry policy.
    async fn handle(&self, job: &Job) -> Result<(), JobError>;
}

/// How a kind of job is claimed and retried.
#[derive(Debug, Clone)]
pub struct JobRunner {
    /// The kind.
    pub kind: JobKind,
    /// This worker's name in the queue.
    pub worker: String,
    /// How long a claimed job is held.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u32,
    /// The pause when nothing is due.
    pub idle: Duration,
    /// When a failed job runs again.
    pub retry: RetryPolicy,
}

impl JobRunner {
    /// Runs `kind` jobs with `handler` until `stop` says so (`None`: until the task is
    /// aborted; a job cut short is claimed again when its lease ends).
    pub async fn run(
        self,
        store: Arc<dyn Store>,
        handler: &dyn JobHandler,
        stop: Option<watch::Receiver<bool>>,
    ) {
        let kind = self.kind;
        loop {
            if stop.as_ref().is_some_and(|s| *s.borrow()) {
                return;
            }
            let jobs = match store
                .claim(&[kind], &self.worker, self.lease, self.batch, Utc::now())
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(%kind, error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            if jobs.is_empty() {
                tokio::time::sleep(self.idle).await;
                continue;
            }
            for job in jobs {
                let recorded = match handler.handle(&job).await {
                    Ok(()) => store
                        .complete(&[job.id], &self.worker, Utc::now())
                        .await
                        .map(|_| ()),
                    Err(error) => {
                        let error = error.to_string();
                        tracing::warn!(%kind, job = job.id.0, %error, "a job failed; it is retried");
                        store
                            .fail(job.id, &self.worker, &error, self.retry, Utc::now())
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(e) = recorded {
                    tracing::warn!(%kind, error = %e, "recording a job's outcome failed");
                }
            }
        }
    }
}
