//! The job queue: leases, retries, dead letters, idempotent enqueueing.

use std::collections::HashSet;
use std::time::Duration;

use nexus_core::ports::jobs::{FailOutcome, JobId, JobKind, JobState, NewJob, RetryPolicy};

use crate::{Db, both, keys, t};

const LEASE: Duration = Duration::from_secs(30);
const ALL: &[JobKind] = &JobKind::ALL;

both!(claims_by_priority_and_completes, |db: Db| async move {
    let store = db.open(keys()).await;
    let low = store
        .enqueue(&NewJob::new(JobKind::Email, "{\"n\":1}"), t(0))
        .await
        .unwrap()
        .unwrap();
    let high = NewJob {
        priority: 5,
        ..NewJob::new(JobKind::TradeExecution, "{\"n\":2}")
    };
    let high = store.enqueue(&high, t(0)).await.unwrap().unwrap();
    let other = store
        .enqueue(&NewJob::new(JobKind::Cleanup, "{}"), t(0))
        .await
        .unwrap()
        .unwrap();

    let claimed = store
        .claim(
            &[JobKind::Email, JobKind::TradeExecution],
            "w1",
            LEASE,
            10,
            t(1),
        )
        .await
        .unwrap();
    let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(
        ids,
        [high, low],
        "highest priority first, other kinds untouched"
    );
    assert_eq!(claimed[0].payload, "{\"n\":2}");
    assert_eq!(
        (claimed[0].attempts, claimed[0].state),
        (1, JobState::Running)
    );

    assert_eq!(
        store.complete(&ids, "w2", t(2)).await.unwrap(),
        0,
        "another worker cannot complete them"
    );
    assert_eq!(store.complete(&ids, "w1", t(2)).await.unwrap(), 2);
    assert_eq!(
        store.complete(&ids, "w1", t(2)).await.unwrap(),
        0,
        "completing twice does nothing"
    );
    let depth = store.depth().await.unwrap();
    let count = |kind, state| {
        depth
            .iter()
            .find(|d| d.kind == kind && d.state == state)
            .map_or(0, |d| d.count)
    };
    assert_eq!(
        count(JobKind::Email, JobState::Done),
        0,
        "done jobs are not counted"
    );
    assert_eq!(count(JobKind::TradeExecution, JobState::Done), 0);
    assert_eq!(count(JobKind::Cleanup, JobState::Queued), 1);
    let due = |kind, state| {
        depth
            .iter()
            .find(|d| d.kind == kind && d.state == state)
            .and_then(|d| d.oldest_due)
    };
    assert_eq!(
        due(JobKind::Cleanup, JobState::Queued),
        Some(t(0)),
        "the oldest queued job's due time"
    );
    assert_eq!(due(JobKind::Email, JobState::Running), None);
    let cleanup = store
        .claim(&[JobKind::Cleanup], "w1", LEASE, 10, t(3))
        .await
        .unwrap();
    assert_eq!(cleanup[0].id, other);
});

both!(unique_keys_queue_a_job_once, |db: Db| async move {
    let store = db.open(keys()).await;
    let job = NewJob::new(JobKind::TradeExecution, "{}").unique("order-abc");
    assert!(store.enqueue(&job, t(0)).await.unwrap().is_some());
    assert_eq!(store.enqueue(&job, t(1)).await.unwrap(), None);
    let batch: Vec<NewJob> = (0..5)
        .map(|i| NewJob::new(JobKind::TradeExecution, "{}").unique(format!("order-{}", i % 3)))
        .chain([job.clone(), NewJob::new(JobKind::Email, "{}")])
        .collect();
    // order-0, order-1, order-2 and the keyless email are new; repeats and order-abc are not.
    assert_eq!(store.enqueue_batch(&batch, t(2)).await.unwrap(), 4);
    let all = store.claim(ALL, "w", LEASE, 100, t(3)).await.unwrap();
    assert_eq!(all.len(), 5);
});

both!(delayed_jobs_wait_for_their_time, |db: Db| async move {
    let store = db.open(keys()).await;
    let later = NewJob {
        run_at: Some(t(60)),
        ..NewJob::new(JobKind::RegimeCheck, "{}")
    };
    store.enqueue(&later, t(0)).await.unwrap();
    assert!(
        store
            .claim(ALL, "w", LEASE, 10, t(59))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.claim(ALL, "w", LEASE, 10, t(60)).await.unwrap().len(),
        1
    );
});

both!(two_workers_never_hold_the_same_job, |db: Db| async move {
    let store = db.open(keys()).await;
    let jobs: Vec<NewJob> = (0..400)
        .map(|i| NewJob::new(JobKind::TradeAlert, format!("{{\"n\":{i}}}")))
        .collect();
    assert_eq!(store.enqueue_batch(&jobs, t(0)).await.unwrap(), 400);
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let batch = store.claim(ALL, &name, LEASE, 7, t(1)).await.unwrap();
                if batch.is_empty() {
                    break mine;
                }
                let ids: Vec<JobId> = batch.iter().map(|j| j.id).collect();
                assert_eq!(
                    store.complete(&ids, &name, t(2)).await.unwrap(),
                    ids.len() as u64
                );
                mine.extend(ids);
            }
        }));
    }
    let mut seen = HashSet::new();
    for worker in workers {
        for id in worker.await.unwrap() {
            assert!(seen.insert(id), "job {id:?} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 400, "every job was claimed once");
});

both!(
    a_dead_workers_job_comes_back_after_its_lease,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let id = store
            .enqueue(&NewJob::new(JobKind::TradeExecution, "{}"), t(0))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.claim(ALL, "dies", LEASE, 1, t(0)).await.unwrap()[0].id,
            id
        );
        assert!(
            store
                .claim(ALL, "other", LEASE, 1, t(29))
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        assert!(
            store.heartbeat(id, "dies", LEASE, t(20)).await.unwrap(),
            "a heartbeat extends the lease to 50 s"
        );
        assert!(
            store
                .claim(ALL, "other", LEASE, 1, t(49))
                .await
                .unwrap()
                .is_empty()
        );
        let again = store.claim(ALL, "other", LEASE, 1, t(51)).await.unwrap();
        assert_eq!(
            (again[0].id, again[0].attempts),
            (id, 2),
            "run again, as a second attempt"
        );
        assert!(
            !store.heartbeat(id, "dies", LEASE, t(52)).await.unwrap(),
            "the dead worker lost it"
        );
        assert_eq!(store.complete(&[id], "dies", t(52)).await.unwrap(), 0);
        assert_eq!(
            store
                .fail(id, "dies", "late", RetryPolicy::default(), t(52))
                .await
                .unwrap(),
            FailOutcome::LeaseLost
        );
        assert_eq!(store.complete(&[id], "other", t(53)).await.unwrap(), 1);
    }
);

both!(
    retries_back_off_and_the_third_failure_dead_letters,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let id = store
            .enqueue(&NewJob::new(JobKind::Email, "{}"), t(0))
            .await
            .unwrap()
            .unwrap();
        let policy = RetryPolicy::default();
        let mut now = t(0);
        let mut delays = Vec::new();
        for attempt in 1..=3u32 {
            let job = store.claim(ALL, "w", LEASE, 1, now).await.unwrap();
            assert_eq!((job[0].id, job[0].attempts), (id, attempt));
            match store
                .fail(id, "w", &format!("smtp said no ({attempt})"), policy, now)
                .await
                .unwrap()
            {
                FailOutcome::Retry { at } => {
                    assert!(attempt < 3);
                    assert_eq!(
                        at,
                        now + chrono::Duration::from_std(policy.delay(id, attempt)).unwrap()
                    );
                    let just_before = at - chrono::Duration::milliseconds(1);
                    assert!(
                        store
                            .claim(ALL, "w", LEASE, 1, just_before)
                            .await
                            .unwrap()
                            .is_empty(),
                        "backing off"
                    );
                    delays.push(at - now);
                    now = at;
                }
                FailOutcome::DeadLettered => assert_eq!(attempt, 3),
                FailOutcome::LeaseLost => panic!("the worker held the job"),
            }
        }
        assert!(delays[1] > delays[0], "backoff grows: {delays:?}");
        assert!(
            store
                .claim(ALL, "w", LEASE, 1, t(10_000))
                .await
                .unwrap()
                .is_empty(),
            "dead jobs never run"
        );
        let dead = store.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].state, dead[0].last_error.as_deref()),
            (JobState::Dead, Some("smtp said no (3)"))
        );
    }
);

both!(
    a_job_whose_worker_died_on_its_last_attempt_is_dead_lettered,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let job = NewJob {
            max_attempts: 1,
            ..NewJob::new(JobKind::TradeExecution, "{}")
        };
        store.enqueue(&job, t(0)).await.unwrap();
        assert_eq!(
            store
                .claim(ALL, "dies", LEASE, 1, t(0))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .claim(ALL, "other", LEASE, 1, t(31))
                .await
                .unwrap()
                .is_empty()
        );
        let dead = store.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("lease expired")
        );
    }
);

both!(
    a_job_failed_with_a_rest_retries_and_dead_letters_only_the_rest,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let job = NewJob {
            max_attempts: 2,
            ..NewJob::new(JobKind::TradeExecution, "[1,2,3]").unique("batch-1")
        };
        let id = store.enqueue(&job, t(0)).await.unwrap().unwrap();
        store.claim(ALL, "w", LEASE, 1, t(0)).await.unwrap();
        let policy = RetryPolicy::default();
        let FailOutcome::Retry { at } = store
            .fail_with_rest(id, "w", "2 and 3 failed", "[2,3]", policy, t(1))
            .await
            .unwrap()
        else {
            panic!("the first of two attempts is retried");
        };
        let again = store.claim(ALL, "w", LEASE, 1, at).await.unwrap();
        assert_eq!(
            (again[0].id, again[0].attempts, again[0].payload.as_str()),
            (id, 2, "[2,3]"),
            "the same job, its attempts carried on, holding only the rest"
        );
        assert_eq!(
            store
                .fail_with_rest(id, "other", "not mine", "[]", policy, at)
                .await
                .unwrap(),
            FailOutcome::LeaseLost,
            "only the holder may fail it"
        );
        assert_eq!(
            store
                .fail_with_rest(id, "w", "3 failed", "[3]", policy, at)
                .await
                .unwrap(),
            FailOutcome::DeadLettered
        );
        let dead = store.dead_letters(10).await.unwrap();
        assert_eq!(
            (dead[0].payload.as_str(), dead[0].last_error.as_deref()),
            ("[3]", Some("3 failed"))
        );
        assert_eq!(
            store.enqueue(&job, t(2)).await.unwrap(),
            None,
            "its unique key still holds"
        );
    }
);

both!(
    expired_leases_of_every_kind_come_back_whoever_claims,
    |db: Db| async move {
        // A claim of one kind sweeps every kind's expired leases: the trade workers, which
        // claim often, must not leave the job runner's kinds stuck behind a sweep they
        // made a moment before (PostgreSQL sweeps at most once a second).
        let store = db.open(keys()).await;
        let email = store
            .enqueue(&NewJob::new(JobKind::Email, "{}"), t(0))
            .await
            .unwrap()
            .unwrap();
        let claimed = store.claim(&[JobKind::Email], "dies", LEASE, 1, t(0)).await;
        assert_eq!(claimed.unwrap()[0].id, email);
        assert!(
            store
                .claim(&[JobKind::TradeExecution], "trader", LEASE, 1, t(31))
                .await
                .unwrap()
                .is_empty()
        );
        let soon = t(31) + chrono::Duration::milliseconds(300);
        let again = store
            .claim(&[JobKind::Email], "runner", LEASE, 1, soon)
            .await
            .unwrap();
        assert_eq!(
            again.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(),
            [(email, 2)],
            "swept back by the trade claim, claimed again"
        );
    }
);
