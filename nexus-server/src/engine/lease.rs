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

#[cfg(test)]
mod tests {
    use nexus_core::ports::jobs::{JobKind, NewJob};
    use nexus_store::SqliteStore;
    use nexus_store::vault::{Keyring, MasterKey};

    use super::*;

    #[tokio::test]
    async fn a_renewed_lease_keeps_the_job_until_the_renewal_stops() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        let keys = Keyring::new(MasterKey::generate(), Vec::new());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url, keys).await.unwrap());
        let job = NewJob {
            kind: JobKind::TradeExecution,
            payload: "{}".into(),
            unique_key: None,
            priority: 0,
            run_at: None,
            max_attempts: 3,
        };
        store.enqueue(&job, Utc::now()).await.unwrap();
        let kinds = [JobKind::TradeExecution];
        let lease = Duration::from_millis(1_000);
        let claimed = store
            .claim(&kinds, "a", lease, 1, Utc::now())
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        let renewing = tokio::spawn(renew(
            Arc::clone(&store),
            claimed[0].id,
            "a".into(),
            lease,
            Duration::from_millis(100),
            "test",
        ));
        // Well past the first lease: still held.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(
            store
                .claim(&kinds, "b", lease, 1, Utc::now())
                .await
                .unwrap()
                .is_empty(),
            "a renewed lease is not taken over"
        );
        renewing.abort();
        // Once renewals stop, the lease runs out and another worker takes the job.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let taken = store
            .claim(&kinds, "b", lease, 1, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            taken.iter().map(|j| j.id).collect::<Vec<_>>(),
            [claimed[0].id]
        );
    }
}
