//! Electing one scheduler per deployment.

use crate::{Db, both, keys};

both!(
    one_instance_leads_and_another_takes_over_when_it_steps_down,
    |db: Db| async move {
        // Two instances of the deployment, each with its own pool.
        let first = db.open(keys()).await;
        let second = match &db {
            // One SQLite file has one instance: a second scheduler of it is refused.
            Db::Sqlite(_) => std::sync::Arc::clone(&first),
            Db::Postgres { .. } => db.open(keys()).await,
        };
        let mut lease = first
            .try_lead("scheduler")
            .await
            .unwrap()
            .expect("nobody leads yet");
        assert!(lease.check().await);
        assert!(
            second.try_lead("scheduler").await.unwrap().is_none(),
            "one leader at a time"
        );
        assert!(
            second.try_lead("another-task").await.unwrap().is_some() || first.backend() == "sqlite",
            "leases are per task"
        );
        drop(lease);
        // The lock goes with the connection; the server notices the close shortly.
        let mut next = None;
        for _ in 0..50 {
            next = second.try_lead("scheduler").await.unwrap();
            if next.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut next = next.expect("the other instance takes over");
        assert!(next.check().await);
    }
);
