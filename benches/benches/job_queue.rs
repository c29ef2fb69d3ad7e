//! Job queue throughput: jobs enqueued per second in batches, and jobs claimed and
//! completed per second by 4 concurrent workers. PostgreSQL when `NEXUS_TEST_POSTGRES_URL`
//! is set (in a throwaway schema), and a SQLite file always.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::ports::jobs::{JobId, JobKind, NewJob};
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};

const BATCH: usize = 250;
const DRAIN: usize = 5_000;
const WORKERS: usize = 4;
const CLAIM: u32 = 50;

fn jobs(n: usize) -> Vec<NewJob> {
    (0..n)
        .map(|i| NewJob::new(JobKind::TradeExecution, format!("{{\"plan\":{i}}}")))
        .collect()
}

/// Enqueues `n` jobs, then times 4 workers claiming (50 at a time) and completing them.
async fn drain(store: &Arc<dyn Store>, n: usize) -> Duration {
    for chunk in jobs(n).chunks(BATCH) {
        store
            .enqueue_batch(chunk, Utc::now())
            .await
            .expect("enqueue");
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let name = format!("bench-{w}");
            loop {
                let now = Utc::now();
                let claimed = store
                    .claim(
                        &[JobKind::TradeExecution],
                        &name,
                        Duration::from_secs(60),
                        CLAIM,
                        now,
                    )
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    break;
                }
                let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
                store.complete(&ids, &name, now).await.expect("complete");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("worker");
    }
    start.elapsed()
}

/// Vacuums the queue (PostgreSQL) between timed drains, outside the timing, as
/// autovacuum would: `jobs` asks for it after 1 % of its rows change (migration 0001), but
/// this machine's PostgreSQL runs with autovacuum off, so without it every drain would
/// start on the dead rows of all the drains before it.
async fn vacuum(pool: Option<&sqlx::PgPool>) {
    if let Some(pool) = pool {
        sqlx::query("VACUUM jobs")
            .execute(pool)
            .await
            .expect("vacuum");
    }
}

fn bench_store(
    c: &mut Criterion,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    pool: Option<sqlx::PgPool>,
) {
    let mut group = c.benchmark_group(format!("job_queue/{name}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(DRAIN as u64));
    group.bench_function(BenchmarkId::new("claim_complete_4_workers", DRAIN), |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += drain(&store, DRAIN).await;
                    vacuum(pool.as_ref()).await;
                }
                total
            })
        });
    });
    // Then enqueueing (which leaves its jobs queued: nothing drains them).
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(BenchmarkId::new("enqueue_batch", BATCH), |b| {
        let batch = jobs(BATCH);
        b.to_async(runtime).iter(|| {
            let store = store.clone();
            let batch = batch.clone();
            async move {
                store
                    .enqueue_batch(&batch, Utc::now())
                    .await
                    .expect("enqueue")
            }
        });
    });
    group.finish();
}

fn job_queue(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keys = || Keyring::new(MasterKey::generate(), Vec::new());

    if let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") {
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let postgres = runtime
            .block_on(PostgresStore::open_in_schema(&url, &schema, keys()))
            .expect("postgres");
        let pool = postgres.pool().clone();
        bench_store(c, "postgres", &runtime, Arc::new(postgres), Some(pool));
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            let sql = format!("DROP SCHEMA {schema} CASCADE");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("drop schema");
        });
    } else {
        eprintln!("job_queue/postgres skipped: NEXUS_TEST_POSTGRES_URL is unset");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(
        runtime
            .block_on(SqliteStore::open(&url, keys()))
            .expect("sqlite"),
    );
    bench_store(c, "sqlite", &runtime, store, None);
}

criterion_group!(benches, job_queue);
criterion_main!(benches);
