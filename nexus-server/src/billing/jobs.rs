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
use crate::job_runner::{JobError, JobHandler, JobRunner};

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
    /// Where users are told live of the bots a smaller plan paused (`None`: not told).
    pub events: Option<Arc<crate::events::Events>>,
}

#[async_trait::async_trait]
impl JobHandler for BillingJobs {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let payload: BillingJob = serde_json::from_str(&job.payload)?;
        match payload {
            BillingJob::Notify { user, notice } => {
                let Some(user) = self.store.user(user).await? else {
                    return Ok(()); // The account is gone: nobody to tell.
                };
                let message = email::billing_notice(&user.email, &self.public_url, &notice);
                self.email.send(&message).await.map_err(JobError::work)
            }
            BillingJob::CheckGrace { user, .. } => {
                let rules = BillingRules {
                    plans: &self.plans,
                    grace: self.grace,
                };
                let applied = self.store.reconcile_plan(user, &rules, Utc::now()).await?;
                if applied.plan_before != applied.plan_after {
                    tracing::info!(%user, from = %applied.plan_before, to = %applied.plan_after, paused = applied.paused.len(), "grace period ended");
                }
                if let Some(events) = &self.events
                    && !applied.paused.is_empty()
                {
                    events
                        .publish_paused(self.store.as_ref(), &applied.paused, Utc::now())
                        .await;
                }
                Ok(())
            }
        }
    }
}

impl BillingJobs {
    /// Claims and runs billing jobs until the task is aborted (a job cut short is claimed
    /// again when its lease ends).
    pub async fn run_until(self, worker: String) {
        let runner = JobRunner {
            kind: JobKind::Billing,
            worker,
            lease: LEASE,
            batch: 32,
            idle: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        };
        runner.run(Arc::clone(&self.store), &self, None).await;
    }
}
