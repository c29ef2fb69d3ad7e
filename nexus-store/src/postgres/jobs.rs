//! The job queue on PostgreSQL: claims with `FOR UPDATE SKIP LOCKED`, so any number of
//! workers on any number of server instances claim disjoint jobs without waiting on each
//! other.

use std::time::Duration;

use async_trait::async_trait;
use nexus_core::ports::jobs::{
    FailOutcome, Job, JobId, JobKind, JobQueue, NewJob, QueueDepth, RetryPolicy,
};
use nexus_core::{StoreError, Timestamp};

use super::PostgresStore;
use crate::chrono_duration;
use crate::codec;
use crate::common::queue_depths;
use crate::error::classify;

macro_rules! job_columns {
    () => {
        "id, kind, payload, unique_key, priority, state, attempts, max_attempts, last_error"
    };
}

/// How often a claim sweeps expired leases back into the queue, at most (per instance).
const SWEEP_EVERY_MS: i64 = 1_000;

fn kind_names(kinds: &[JobKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

fn attempts(n: u32) -> i32 {
    i32::try_from(n.max(1)).unwrap_or(i32::MAX)
}

/// Inserts `job` through `db` (the pool, or a transaction it belongs to).
pub(super) async fn insert<'e>(
    db: impl sqlx::PgExecutor<'e>,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, unique_key, priority, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (unique_key) DO NOTHING
         RETURNING id",
    )
    .bind(job.kind.as_str())
    .bind(&job.payload)
    .bind(job.unique_key.as_deref())
    .bind(job.priority)
    .bind(attempts(job.max_attempts))
    .bind(job.run_at.unwrap_or(now))
    .bind(now)
    .fetch_optional(db)
    .await
    .map_err(classify)?;
    Ok(id.map(JobId))
}

impl PostgresStore {
    /// A failed attempt, its payload replaced by `rest` when given.
    async fn fail_leaving(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        rest: Option<&str>,
        retry: RetryPolicy,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let held: Option<(i32, i32)> = sqlx::query_as(
            "SELECT attempts, max_attempts FROM jobs
             WHERE id = $1 AND locked_by = $2 AND state = 'running' FOR UPDATE",
        )
        .bind(id.0)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some((attempts, max_attempts)) = held else {
            return Ok(FailOutcome::LeaseLost);
        };
        let outcome = if attempts >= max_attempts {
            sqlx::query(
                "UPDATE jobs SET state = 'dead', locked_by = NULL, lease_expires_at = NULL,
                     last_error = $1, finished_at = $2, updated_at = $2,
                     payload = COALESCE($4, payload) WHERE id = $3",
            )
            .bind(error)
            .bind(now)
            .bind(id.0)
            .bind(rest)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            FailOutcome::DeadLettered
        } else {
            let attempt = u32::try_from(attempts).unwrap_or(u32::MAX);
            let at = now + chrono_duration(retry.delay(id, attempt));
            sqlx::query(
                "UPDATE jobs SET state = 'queued', locked_by = NULL, lease_expires_at = NULL,
                     last_error = $1, run_at = $2, updated_at = $3,
                     payload = COALESCE($5, payload) WHERE id = $4",
            )
            .bind(error)
            .bind(at)
            .bind(now)
            .bind(id.0)
            .bind(rest)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            FailOutcome::Retry { at }
        };
        tx.commit().await.map_err(classify)?;
        Ok(outcome)
    }
}

#[async_trait]
impl JobQueue for PostgresStore {
    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> Result<Option<JobId>, StoreError> {
        insert(&self.pool, job, now).await
    }

    async fn enqueue_batch(&self, jobs: &[NewJob], now: Timestamp) -> Result<u64, StoreError> {
        // One statement for the whole batch: arrays unnested into rows.
        let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
        let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
        let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.unique_key.as_deref()).collect();
        let priorities: Vec<i16> = jobs.iter().map(|j| j.priority).collect();
        let max_attempts: Vec<i32> = jobs.iter().map(|j| attempts(j.max_attempts)).collect();
        let run_at: Vec<Timestamp> = jobs.iter().map(|j| j.run_at.unwrap_or(now)).collect();
        let done = sqlx::query(
            "INSERT INTO jobs (kind, payload, unique_key, priority, max_attempts, run_at, created_at, updated_at)
             SELECT kind, payload, unique_key, priority, max_attempts, run_at, $7, $7
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int2[], $5::int4[], $6::timestamptz[])
                 AS t(kind, payload, unique_key, priority, max_attempts, run_at)
             ON CONFLICT (unique_key) DO NOTHING",
        )
        .bind(kinds)
        .bind(payloads)
        .bind(keys)
        .bind(priorities)
        .bind(max_attempts)
        .bind(run_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }

    async fn claim(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease: Duration,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<Job>, StoreError> {
        let kinds = kind_names(kinds);
        // Expired leases first: back in the queue, or dead after the last attempt. Both
        // touch only running jobs past their lease (a partial index), usually none. Every
        // kind at once, at most once a second per instance: enough for leases of seconds,
        // and it spares the other claims a round trip (a third of a busy worker's
        // statements).
        let at = now.timestamp_millis();
        let last = self.swept.load(std::sync::atomic::Ordering::Relaxed);
        if at < last || at.saturating_sub(last) >= SWEEP_EVERY_MS {
            self.swept.store(at, std::sync::atomic::Ordering::Relaxed);
            sqlx::query(
                "UPDATE jobs SET
                     state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                     last_error = CASE WHEN attempts >= max_attempts
                         THEN 'the worker stopped (lease expired) on the last attempt' ELSE last_error END,
                     finished_at = CASE WHEN attempts >= max_attempts THEN $1 END,
                     locked_by = NULL, lease_expires_at = NULL, updated_at = $1
                 WHERE id IN (
                     SELECT id FROM jobs
                     WHERE state = 'running' AND lease_expires_at < $1
                     FOR UPDATE SKIP LOCKED)",
            )
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        }
        // One kind (what every worker claims): `kind = $4` lets the index `jobs_due` hand
        // over the first jobs in claim order; `= ANY` would read every queued job of the
        // kinds and sort them.
        macro_rules! claim_sql {
            ($kind:literal) => {
                concat!(
                    "WITH due AS (
                         SELECT id FROM jobs
                         WHERE state = 'queued' AND run_at <= $3 AND ",
                    $kind,
                    "
                         ORDER BY priority DESC, run_at, id
                         LIMIT $5
                         FOR UPDATE SKIP LOCKED)
                     UPDATE jobs SET state = 'running', locked_by = $1, lease_expires_at = $2,
                         attempts = jobs.attempts + 1, updated_at = $3
                     FROM due WHERE jobs.id = due.id
                     RETURNING jobs.id, jobs.kind, jobs.payload, jobs.unique_key, jobs.priority,
                         jobs.state, jobs.attempts, jobs.max_attempts, jobs.last_error"
                )
            };
        }
        let (sql, one) = if let [kind] = kinds.as_slice() {
            (claim_sql!("kind = $4"), Some(*kind))
        } else {
            (claim_sql!("kind = ANY($6)"), None)
        };
        let rows = sqlx::query(sql)
            .bind(worker)
            .bind(now + chrono_duration(lease))
            .bind(now)
            .bind(one)
            .bind(i64::from(limit))
            .bind(&kinds)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        let mut jobs = rows.iter().map(codec::job).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (std::cmp::Reverse(j.priority), j.id));
        Ok(jobs)
    }

    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2
             WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(now + chrono_duration(lease))
        .bind(now)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete(
        &self,
        ids: &[JobId],
        worker: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_by = NULL, lease_expires_at = NULL,
                 finished_at = $1, updated_at = $1
             WHERE id = ANY($2) AND locked_by = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(ids)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry: RetryPolicy,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError> {
        self.fail_leaving(id, worker, error, None, retry, now).await
    }

    async fn fail_with_rest(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        rest: &str,
        retry: RetryPolicy,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError> {
        self.fail_leaving(id, worker, error, Some(rest), retry, now)
            .await
    }

    async fn depth(&self) -> Result<Vec<QueueDepth>, StoreError> {
        let rows: Vec<(String, String, i64, Option<Timestamp>)> = sqlx::query_as(
            // Finished jobs are history (kept for days): not counted. One count per state,
            // so each reads its own partial index rather than the whole retained queue.
            "SELECT kind, 'queued', COUNT(*), MIN(run_at) FROM jobs WHERE state = 'queued' GROUP BY kind
             UNION ALL
             SELECT kind, 'running', COUNT(*), NULL FROM jobs WHERE state = 'running' GROUP BY kind
             UNION ALL
             SELECT kind, 'dead', COUNT(*), NULL FROM jobs WHERE state = 'dead' GROUP BY kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        queue_depths(rows)
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::job).collect()
    }
}
