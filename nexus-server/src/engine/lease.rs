//! Keeping a claimed job's lease while its work runs, so that leases can be short: a job
//! cut short by a crash is soon claimed again, and one that runs long is not.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::ports::jobs::JobId;
use nexus_store::Store;

/// Renews `worker`'s lease of `lease` on `job` now and every `every` until aborted (its
/// work ended) or the lease is found lost. `what` names the work in the logs.
pub(super) async fn renew(
    store: Arc<dyn Store>,
    job: JobId,
    worker: String,
    lease: Duration,
    every: Duration,
    what: &'static str,
) {
    // The first tick is immediate: a job claimed with others may have waited for their
    // work, its lease running.
    let mut beats = tokio::time::interval(every);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        beats.tick().await;
        match store.heartbeat(job, &worker, lease, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => {
                // Another worker may run it too: safe (orders are recorded and looked up
                // before they are placed), only wasted work.
                tracing::warn!(job = job.0, what, "a job's lease was lost while it ran");
                return;
            }
            Err(e) => {
                tracing::warn!(job = job.0, what, error = %e, "renewing a job's lease failed")
            }
        }
    }
}
