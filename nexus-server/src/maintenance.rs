//! Upkeep: every hour each instance forgets the outside signals' signatures that expired
//! (a cheap indexed delete, so the table holds about an hour of them); and one `cleanup`
//! job per day through the job queue (its unique key makes sure several instances enqueue
//! it once), run by whichever instance claims it. The same way, it enqueues the day's
//! `daily_summary` job ([`crate::alerts::summary`]), which the engine's summary worker runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::ports::jobs::{JobKind, NewJob, RetryPolicy};
use nexus_store::{Retention, Store};

/// How often an instance looks for upkeep to do.
const PERIOD: Duration = Duration::from_secs(3600);
/// How long a cleanup may hold its job.
const LEASE: Duration = Duration::from_secs(600);

/// Forgets expired signatures, enqueues today's cleanup and runs any due cleanup job,
/// every hour, until the task is dropped.
pub fn spawn(store: Arc<dyn Store>, worker: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        loop {
            tick.tick().await;
            if let Err(err) = run_once(store.as_ref(), &worker).await {
                tracing::warn!(error = %err, "upkeep failed; trying again in an hour");
            }
        }
    })
}

/// Forgets expired signatures, enqueues today's cleanup job (once per day across
/// instances) and runs due ones; returns how many cleanup jobs ran.
///
/// # Errors
/// A store error.
pub async fn run_once(store: &dyn Store, worker: &str) -> Result<u64, nexus_core::StoreError> {
    let now = Utc::now();
    let forgotten = store.forget_signatures(now).await?;
    tracing::debug!(forgotten, "expired signal signatures forgotten");
    let job =
        NewJob::new(JobKind::Cleanup, "{}").unique(format!("cleanup:{}", now.format("%Y-%m-%d")));
    store.enqueue(&job, now).await?;
    crate::alerts::summary::enqueue(store, now).await?;
    let mut ran = 0;
    for job in store
        .claim(&[JobKind::Cleanup], worker, LEASE, 1, now)
        .await?
    {
        match store.cleanup(Utc::now(), Retention::default()).await {
            Ok(report) => {
                tracing::info!(?report, "cleanup done");
                store.complete(&[job.id], worker, Utc::now()).await?;
                ran += 1;
            }
            Err(err) => {
                store
                    .fail(
                        job.id,
                        worker,
                        &err.to_string(),
                        RetryPolicy::default(),
                        Utc::now(),
                    )
                    .await?;
            }
        }
    }
    Ok(ran)
}
