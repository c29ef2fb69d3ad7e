//! Runs `billing` jobs: emails about a plan (through the configured sender) and the
//! check that ends a grace period. A job is completed only once its work is done, so a
//! crash sends an email again rather than never.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::billing::{BillingJob, Plans};
use nexus_core::ports::billing::BillingRules;
use nexus_core::ports::jobs::{Job, JobKind, RetryPolicy};
use nexus_store::Store;

use crate::email::{self, EmailSender};

/// How long a claimed billing job is held.
const LEASE: Duration = Duration::from_secs(120);

/// What billing jobs need.
pub struct BillingJobs {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Where emails go.
    pub email: Arc<dyn EmailSender>,
    /// Links in emails start with it.
    pub public_url: String,
    /// The plans' limits.
    pub plans: Plans,
    /// How long `past_due` keeps a plan.
    pub grace: Duration,
}

impl BillingJobs {
    /// Does one job's work.
    async fn run(&self, job: &Job) -> Result<(), String> {
        let payload: BillingJob = serde_json::from_str(&job.payload)
            .map_err(|e| format!("unreadable billing job: {e}"))?;
        match payload {
            BillingJob::Notify { user, notice } => {
                let Some(user) = self.store.user(user).await.map_err(|e| e.to_string())? else {
                    return Ok(()); // The account is gone: nobody to tell.
                };
                let message = email::billing_notice(&user.email, &self.public_url, &notice);
                self.email.send(&message).await.map_err(|e| e.to_string())
            }
            BillingJob::CheckGrace { user, .. } => {
                let rules = BillingRules {
                    plans: &self.plans,
                    grace: self.grace,
                };
                let applied = self
                    .store
                    .reconcile_plan(user, &rules, Utc::now())
                    .await
                    .map_err(|e| e.to_string())?;
                if applied.plan_before != applied.plan_after {
                    tracing::info!(%user, from = %applied.plan_before, to = %applied.plan_after, paused = applied.paused.len(), "grace period ended");
                }
                Ok(())
            }
        }
    }

    /// Claims and runs billing jobs until the task is aborted (a job cut short is claimed
    /// again when its lease ends).
    pub async fn run_until(self, worker: String) {
        loop {
            let jobs = match self
                .store
                .claim(&[JobKind::Billing], &worker, LEASE, 32, Utc::now())
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming billing jobs failed");
                    Vec::new()
                }
            };
            if jobs.is_empty() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            for job in jobs {
                let now = Utc::now();
                let outcome = match self.run(&job).await {
                    Ok(()) => self
                        .store
                        .complete(&[job.id], &worker, now)
                        .await
                        .map(|_| ()),
                    Err(error) => {
                        tracing::warn!(job = job.id.0, %error, "billing job failed; it is retried");
                        self.store
                            .fail(job.id, &worker, &error, RetryPolicy::default(), now)
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "recording a billing job's outcome failed");
                }
            }
        }
    }
}
