//! The job queue on SQLite. SQLite has no `SKIP LOCKED`; claims run in `BEGIN IMMEDIATE`
//! transactions, which take the database's single write lock up front, so two workers can
//! never select the same job (the single-process equivalent).

use std::time::Duration;

use async_trait::async_trait;
use nexus_core::ports::jobs::{
    FailOutcome, Job, JobId, JobKind, JobQueue, NewJob, QueueDepth, RetryPolicy,
};
use nexus_core::{StoreError, Timestamp};
use sqlx::{Sqlite, Transaction};

use super::{SqliteStore, ms};
use crate::chrono_duration;
use crate::codec;
use crate::common::queue_depths;
use crate::error::classify;

macro_rules! job_columns {
    () => {
        "id, kind, payload, unique_key, priority, state, attempts, max_attempts, last_error"
    };
}

fn kinds_json(kinds: &[JobKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

fn ids_json(ids: &[JobId]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, unique_key, priority, max_attempts, run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (unique_key) DO NOTHING
         RETURNING id",
    )
    .bind(job.kind.as_str())
    .bind(&job.payload)
    .bind(job.unique_key.as_deref())
    .bind(i64::from(job.priority))
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(ms(job.run_at.unwrap_or(now)))
    .bind(ms(now))
    .bind(ms(now))
    .fetch_optional(&mut **tx)
    .await
    .map_err(classify)?;
    Ok(id.map(JobId))
}

impl SqliteStore {
    pub(super) async fn immediate(&self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)
    }

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
        let mut tx = self.immediate().await?;
        let held: Option<(i64, i64)> = sqlx::query_as(
            "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND locked_by = ? AND state = 'running'",
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
                     last_error = ?1, finished_at = ?2, updated_at = ?2,
                     payload = COALESCE(?4, payload) WHERE id = ?3",
            )
            .bind(error)
            .bind(ms(now))
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
                     last_error = ?1, run_at = ?2, updated_at = ?3,
                     payload = COALESCE(?5, payload) WHERE id = ?4",
            )
            .bind(error)
            .bind(ms(at))
            .bind(ms(now))
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
impl JobQueue for SqliteStore {
    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> Result<Option<JobId>, StoreError> {
        let mut tx = self.immediate().await?;
        let id = insert(&mut tx, job, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(id)
    }

    async fn enqueue_batch(&self, jobs: &[NewJob], now: Timestamp) -> Result<u64, StoreError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        // One statement for the whole batch: the jobs go in as one JSON array, each row read
        // once (see `insert_orders!`: a row here holds a payload of up to ~95 KB).
        let rows: Vec<serde_json::Value> = jobs
            .iter()
            .map(|job| {
                serde_json::json!({
                    "kind": job.kind.as_str(), "payload": job.payload,
                    "unique_key": job.unique_key, "priority": job.priority,
                    "max_attempts": job.max_attempts.max(1),
                    "run_at": ms(job.run_at.unwrap_or(now)),
                })
            })
            .collect();
        let done = sqlx::query(
            "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?1))
             INSERT INTO jobs (kind, payload, unique_key, priority, max_attempts, run_at, created_at, updated_at)
             SELECT v ->> 'kind', v ->> 'payload', v ->> 'unique_key',
                 v ->> 'priority', v ->> 'max_attempts', v ->> 'run_at', ?2, ?2
             FROM r WHERE true
             ON CONFLICT (unique_key) DO NOTHING",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(ms(now))
        .execute(&self.writer)
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
        let kinds = kinds_json(kinds);
        let mut tx = self.immediate().await?;
        // Expired leases first: back in the queue, or dead after the last attempt (a job
        // whose worker died on its last attempt is not run again).
        sqlx::query(
            "UPDATE jobs SET
                 state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                 last_error = CASE WHEN attempts >= max_attempts
                     THEN 'the worker stopped (lease expired) on the last attempt' ELSE last_error END,
                 finished_at = CASE WHEN attempts >= max_attempts THEN ?1 END,
                 locked_by = NULL, lease_expires_at = NULL, updated_at = ?1
             WHERE state = 'running' AND lease_expires_at < ?1
               AND kind IN (SELECT value FROM json_each(?2))",
        )
        .bind(ms(now))
        .bind(&kinds)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        // Then only queued jobs, so the partial index `jobs_due` serves the scan.
        let rows = sqlx::query(concat!(
            "UPDATE jobs SET state = 'running', locked_by = ?1, lease_expires_at = ?2,
                 attempts = attempts + 1, updated_at = ?3
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE state = 'queued' AND run_at <= ?3
                   AND kind IN (SELECT value FROM json_each(?4))
                 ORDER BY priority DESC, run_at, id
                 LIMIT ?5)
             RETURNING ",
            job_columns!()
        ))
        .bind(worker)
        .bind(ms(now + chrono_duration(lease)))
        .bind(ms(now))
        .bind(&kinds)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
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
            "UPDATE jobs SET lease_expires_at = ?, updated_at = ?
             WHERE id = ? AND locked_by = ? AND state = 'running'",
        )
        .bind(ms(now + chrono_duration(lease)))
        .bind(ms(now))
        .bind(id.0)
        .bind(worker)
        .execute(&self.writer)
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
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_by = NULL, lease_expires_at = NULL,
                 finished_at = ?1, updated_at = ?1
             WHERE id IN (SELECT value FROM json_each(?2)) AND locked_by = ?3 AND state = 'running'",
        )
        .bind(ms(now))
        .bind(ids_json(ids))
        .bind(worker)
        .execute(&self.writer)
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
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
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
        let rows = rows
            .into_iter()
            .map(|(kind, state, count, due)| {
                Ok((kind, state, count, due.map(super::from_ms).transpose()?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        queue_depths(rows)
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC, id DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::job).collect()
    }
}
