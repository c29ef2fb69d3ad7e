//! The job queue port: durable background work (order execution, alerts, emails, regime
//! checks, cleanup) shared by every server instance.
//!
//! Time comes in as `now`, so leases, delays and backoff are testable without sleeping
//! and a store never reads a clock of its own.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::{StoreError, UnknownName};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Fan one signal out to every subscribed bot.
    Signal,
    /// Place one planned order.
    TradeExecution,
    /// Tell a user about a trade.
    TradeAlert,
    /// Send an email.
    Email,
    /// Classify a market's regime.
    RegimeCheck,
    /// Trim history tables.
    Cleanup,
    /// A billing email or grace-period check ([`crate::billing::BillingJob`]).
    Billing,
    /// Email the day's summary to every user who wants it (one job per UTC day).
    DailySummary,
    /// Post one alert to a user's webhook.
    AlertWebhook,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [Self; 9] = [
        Self::Signal,
        Self::TradeExecution,
        Self::TradeAlert,
        Self::Email,
        Self::RegimeCheck,
        Self::Cleanup,
        Self::Billing,
        Self::DailySummary,
        Self::AlertWebhook,
    ];

    /// The stored name (`trade_execution`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::TradeExecution => "trade_execution",
            Self::TradeAlert => "trade_alert",
            Self::Email => "email",
            Self::RegimeCheck => "regime_check",
            Self::Cleanup => "cleanup",
            Self::Billing => "billing",
            Self::DailySummary => "daily_summary",
            Self::AlertWebhook => "alert_webhook",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "job kind",
                name: s.to_owned(),
                expected: "signal, trade_execution, trade_alert, email, regime_check, cleanup, \
                           billing, daily_summary or alert_webhook",
            })
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at` and a worker.
    Queued,
    /// Held by a worker until its lease expires.
    Running,
    /// Completed.
    Done,
    /// Failed its last attempt; kept with the last error.
    Dead,
}

impl JobState {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
}

impl FromStr for JobState {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Queued, Self::Running, Self::Done, Self::Dead]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "job state",
                name: s.to_owned(),
                expected: "queued, running, done or dead",
            })
    }
}

/// A job's id in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// What it does.
    pub kind: JobKind,
    /// Its input, as JSON text.
    pub payload: String,
    /// A key that makes enqueueing idempotent: a second job with the same key is not
    /// queued (for a trade, the client order id).
    pub unique_key: Option<String>,
    /// Higher runs first.
    pub priority: i16,
    /// Not before this time (`None`: now).
    pub run_at: Option<Timestamp>,
    /// Attempts before the job is dead-lettered.
    pub max_attempts: u32,
}

impl NewJob {
    /// A job with priority 0, no delay, no unique key and 3 attempts.
    #[must_use]
    pub fn new(kind: JobKind, payload: impl Into<String>) -> Self {
        Self {
            kind,
            payload: payload.into(),
            unique_key: None,
            priority: 0,
            run_at: None,
            max_attempts: RetryPolicy::DEFAULT_ATTEMPTS,
        }
    }

    /// With a unique key.
    #[must_use]
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Its input.
    pub payload: String,
    /// Its unique key.
    pub unique_key: Option<String>,
    /// Its priority.
    pub priority: i16,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// Its state.
    pub state: JobState,
}

/// What happened to a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FailOutcome {
    /// Queued again to run at `at`.
    Retry {
        /// When it runs again.
        at: Timestamp,
    },
    /// That was its last attempt.
    DeadLettered,
    /// The worker no longer held the job (its lease expired and another took it).
    LeaseLost,
}

/// Exponential backoff with jitter between attempts.
///
/// The delay before attempt `n + 1` is drawn from `[base·2^(n−1) / 2, base·2^(n−1)]`
/// ("equal jitter"), capped at `max`. The draw is a hash of the job id and attempt, not a
/// random number: spread like one across jobs, reproducible for one job.
///
/// ```
/// use nexus_core::ports::jobs::{JobId, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default();
/// let first = policy.delay(JobId(7), 1);
/// assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
/// assert!(policy.delay(JobId(7), 3) >= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// The first delay's upper bound.
    pub base: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl RetryPolicy {
    /// Attempts per job unless it says otherwise.
    pub const DEFAULT_ATTEMPTS: u32 = 3;

    /// The delay after failed attempt `attempt` (1-based).
    #[must_use]
    pub fn delay(&self, job: JobId, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.max);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let half = ceiling_ms / 2;
        // SplitMix64 of (id, attempt): a well-spread, reproducible draw.
        let mut z = (job.0 as u64) ^ (u64::from(attempt) << 48) ^ 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Duration::from_millis(half + z % (ceiling_ms - half + 1))
    }

    /// The same policy, never retrying sooner than `wait` (a venue's `Retry-After`):
    /// every delay is at least half its ceiling, so the ceiling starts at twice `wait`.
    #[must_use]
    pub fn at_least(self, wait: Duration) -> Self {
        let floor = wait.saturating_mul(2);
        Self {
            base: self.base.max(floor),
            max: self.max.max(floor),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// A count of jobs of one kind in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// The kind.
    pub kind: JobKind,
    /// The state.
    pub state: JobState,
    /// How many.
    pub count: u64,
    /// For queued jobs: the earliest time one of them is due (its `run_at`); a job due
    /// later than now is not late.
    pub oldest_due: Option<Timestamp>,
}

/// A durable queue of jobs with leases, retries and dead letters.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues one job; `None` when its unique key is already taken.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn enqueue(&self, job: &NewJob, now: Timestamp) -> Result<Option<JobId>, StoreError>;

    /// Enqueues many jobs in one round trip; returns how many were new (duplicates by
    /// unique key are skipped).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn enqueue_batch(&self, jobs: &[NewJob], now: Timestamp) -> Result<u64, StoreError>;

    /// Claims up to `limit` due jobs of `kinds` (highest priority, then oldest first) for
    /// `worker`, leased until `now + lease`. Jobs whose lease expired are due again; one
    /// whose lease expired on its last attempt is dead-lettered instead.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn claim(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease: Duration,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<Job>, StoreError>;

    /// Extends `worker`'s lease on a job; `false` when the worker no longer holds it.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Marks jobs held by `worker` done; returns how many it still held.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn complete(
        &self,
        ids: &[JobId],
        worker: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Records a failed attempt: retried after the policy's backoff, or dead-lettered with
    /// `error` after its last attempt.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry: RetryPolicy,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError>;

    /// Records a failed attempt of a job of which only `rest` is left to do: as
    /// [`fail`](Self::fail), with the payload replaced by `rest`, so that the retry (or the
    /// dead letter) holds only what is left. The attempt count carries on.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn fail_with_rest(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        rest: &str,
        retry: RetryPolicy,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError>;

    /// Jobs per kind and state, for those queued, running or dead; `done` jobs are not
    /// counted (they are history, and there are many).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn depth(&self) -> Result<Vec<QueueDepth>, StoreError>;

    /// The most recent dead-lettered jobs.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn dead_letters(&self, limit: u32) -> Result<Vec<Job>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_its_jitter_band_and_is_capped() {
        let policy = RetryPolicy::default();
        for id in 0..200 {
            for attempt in 1..=12u32 {
                let ceiling = Duration::from_secs(1 << (attempt - 1)).min(policy.max);
                let delay = policy.delay(JobId(id), attempt);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{id}/{attempt}: {delay:?}"
                );
            }
        }
        // Jitter spreads jobs that failed together.
        let delays: std::collections::HashSet<_> =
            (0..100).map(|id| policy.delay(JobId(id), 4)).collect();
        assert!(delays.len() > 50);
        assert_eq!(policy.delay(JobId(9), 2), policy.delay(JobId(9), 2));
    }

    #[test]
    fn the_draw_is_splitmix64_of_the_job_and_attempt_as_documented() {
        // Worked out apart from this code, by a script following the documented steps
        // (SplitMix64's finaliser over id ^ attempt << 48 ^ its gamma).
        let policy = RetryPolicy::default();
        let cases = [
            (0, 1, 904),
            (7, 1, 542),
            (7, 3, 2_225),
            (12_345, 5, 13_823),
            (1 << 62, 12, 290_305),
        ];
        for (id, attempt, ms) in cases {
            assert_eq!(
                policy.delay(JobId(id), attempt),
                Duration::from_millis(ms),
                "{id}/{attempt}"
            );
        }
        // Both ends of the band can be drawn: with a 2 ms ceiling, 1 and 2 ms.
        let tiny = RetryPolicy {
            base: Duration::from_millis(2),
            max: Duration::from_secs(1),
        };
        let drawn: std::collections::BTreeSet<_> = (0..64)
            .map(|id| tiny.delay(JobId(id), 1).as_millis())
            .collect();
        assert_eq!(drawn.into_iter().collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn a_retry_after_is_never_cut_short() {
        let wait = Duration::from_secs(40);
        let policy = RetryPolicy::default().at_least(wait);
        for id in 0..200 {
            for attempt in 1..=8u32 {
                assert!(policy.delay(JobId(id), attempt) >= wait, "{id}/{attempt}");
            }
        }
        // A short wait changes nothing.
        assert_eq!(
            RetryPolicy::default().at_least(Duration::from_millis(100)),
            RetryPolicy::default()
        );
    }

    #[test]
    fn kinds_and_states_have_stable_names() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>(), Ok(kind));
        }
        assert_eq!(JobKind::TradeExecution.to_string(), "trade_execution");
        assert_eq!("dead".parse::<JobState>(), Ok(JobState::Dead));
        assert_eq!(
            "gone".parse::<JobState>().unwrap_err().to_string(),
            r#"unknown job state "gone": expected queued, running, done or dead"#
        );
        let err = "mail".parse::<JobKind>().unwrap_err();
        assert_eq!((err.kind, err.name.as_str()), ("job kind", "mail"));
        for kind in JobKind::ALL {
            assert!(err.expected.contains(kind.as_str()), "{kind} is listed");
        }
    }
}
