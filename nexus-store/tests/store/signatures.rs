//! Signed outside signals seen lately: recorded once across instances, forgotten after
//! they expire.

use std::sync::Arc;

use nexus_core::ports::signatures::SignatureDigest;

use crate::{Db, both, keys, t};

both!(
    a_signature_is_new_once_across_instances_until_forgotten,
    |db: Db| async move {
        // Two stores on one database: two server instances.
        let first = db.open(keys()).await;
        let second = db.open(keys()).await;
        let a = SignatureDigest([1; 32]);
        let b = SignatureDigest([2; 32]);
        assert!(first.first_sighting(&a, t(300)).await.unwrap());
        assert!(!first.first_sighting(&a, t(300)).await.unwrap());
        assert!(
            !second.first_sighting(&a, t(900)).await.unwrap(),
            "another instance sees the record"
        );
        assert!(second.first_sighting(&b, t(600)).await.unwrap());

        // Nothing has expired yet; then only `a` has (its first expiry is kept).
        assert_eq!(first.forget_signatures(t(299)).await.unwrap(), 0);
        assert_eq!(first.forget_signatures(t(301)).await.unwrap(), 1);
        assert!(!second.first_sighting(&b, t(600)).await.unwrap());
        assert!(
            second.first_sighting(&a, t(1200)).await.unwrap(),
            "a forgotten signature is new again"
        );
        assert_eq!(first.forget_signatures(t(10_000)).await.unwrap(), 2);
    }
);

both!(
    of_racing_deliveries_exactly_one_is_first,
    |db: Db| async move {
        let stores = [db.open(keys()).await, db.open(keys()).await];
        let digest = SignatureDigest([9; 32]);
        let attempts: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&stores[i % 2]);
                tokio::spawn(async move { store.first_sighting(&digest, t(300)).await.unwrap() })
            })
            .collect();
        let mut firsts = 0;
        for attempt in attempts {
            firsts += usize::from(attempt.await.unwrap());
        }
        assert_eq!(firsts, 1);
    }
);
