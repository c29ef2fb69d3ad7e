//! The daily summary: one email per UTC day to every user who wants it, with the day's
//! orders, fills, cash result and skips per bot.
//!
//! Every instance's upkeep ([`crate::maintenance`]) enqueues the `daily_summary` job of
//! the day that just ended, unique per date (`daily-summary:<date>`): however many
//! instances share the database, one job exists per day. Whichever instance claims it
//! pages through the users who want the summary and enqueues one job per user, unique per
//! date and user, so a retried or replayed fan-out never emails anyone twice; each of
//! those sends one email.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Utc};
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_core::{StoreError, Timestamp, UserId};
use nexus_store::Store;

use crate::job_runner::{JobError, JobHandler, JobRunner};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::email::{EmailSender, alert_templates};

/// Users read per page.
const PAGE: u32 = 500;
/// How long a summary job may hold its claim.
const LEASE: Duration = Duration::from_secs(120);

/// A `daily_summary` job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SummaryJob {
    /// Enqueue one job per user who wants the summary of `date`.
    Day {
        /// The UTC day summarised.
        date: NaiveDate,
    },
    /// Email `user` the summary of `date`.
    User {
        /// The UTC day summarised.
        date: NaiveDate,
        /// Whom.
        user: UserId,
    },
}

impl SummaryJob {
    /// The job, unique per day (and user).
    ///
    /// # Errors
    /// The payload does not serialise (it always does).
    pub fn new_job(&self) -> Result<NewJob, serde_json::Error> {
        let key = match self {
            Self::Day { date } => format!("daily-summary:{date}"),
            Self::User { date, user } => format!("daily-summary:{date}:{user}"),
        };
        Ok(NewJob::new(JobKind::DailySummary, serde_json::to_string(self)?).unique(key))
    }
}

/// The UTC day whose summary is due at `now`: the one that just ended.
#[must_use]
pub fn due_day(now: Timestamp) -> NaiveDate {
    now.date_naive().pred_opt().unwrap_or(now.date_naive())
}

/// Enqueues the summary of the day that ended before `now`; `true` when this call
/// enqueued it (`false`: another instance, or an earlier upkeep, did).
///
/// # Errors
/// [`StoreError`].
pub async fn enqueue(store: &dyn Store, now: Timestamp) -> Result<bool, StoreError> {
    let job = SummaryJob::Day { date: due_day(now) }
        .new_job()
        .map_err(|e| StoreError::Corrupt {
            message: e.to_string(),
        })?;
    Ok(store.enqueue(&job, now).await?.is_some())
}

/// Why a summary job failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The email was not handed over.
    #[error("{0}")]
    Email(#[from] crate::email::EmailError),
    /// Not a summary job.
    #[error("not a summary job: {0}")]
    Payload(#[from] serde_json::Error),
}

/// Runs one `daily_summary` job.
///
/// # Errors
/// [`SummaryError`].
pub async fn run_job(
    store: &dyn Store,
    email: &dyn EmailSender,
    public_url: &str,
    job: &Job,
) -> Result<(), SummaryError> {
    match serde_json::from_str::<SummaryJob>(&job.payload)? {
        SummaryJob::Day { date } => {
            let mut after = None;
            loop {
                let page = store.summary_recipients(after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.user);
                let jobs = page
                    .iter()
                    .map(|r| SummaryJob::User { date, user: r.user }.new_job())
                    .collect::<Result<Vec<_>, _>>()?;
                store.enqueue_batch(&jobs, Utc::now()).await?;
                if page.len() < PAGE as usize {
                    break;
                }
            }
            Ok(())
        }
        SummaryJob::User { date, user } => {
            // Preferences may have changed since the day's job was fanned out.
            if !store.alert_preferences(user).await?.email.daily_summary {
                return Ok(());
            }
            let Some(record) = store.user(user).await? else {
                return Ok(());
            };
            let from = date.and_time(NaiveTime::MIN).and_utc();
            let to = from + chrono::Duration::days(1);
            let days = store.day_activity(user, from, to).await?;
            email
                .send(&alert_templates::daily_summary(
                    &record.email,
                    public_url,
                    date,
                    &days,
                ))
                .await?;
            Ok(())
        }
    }
}

/// Runs summary jobs.
struct Summaries {
    store: Arc<dyn Store>,
    email: Arc<dyn EmailSender>,
    public_url: String,
}

#[async_trait::async_trait]
impl JobHandler for Summaries {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        run_job(
            self.store.as_ref(),
            self.email.as_ref(),
            &self.public_url,
            job,
        )
        .await
        .map_err(JobError::work)
    }
}

/// Claims and runs summary jobs until `stop` says so.
pub async fn run(
    store: Arc<dyn Store>,
    email: Arc<dyn EmailSender>,
    public_url: String,
    worker: String,
    stop: watch::Receiver<bool>,
) {
    let runner = JobRunner {
        kind: JobKind::DailySummary,
        worker,
        lease: LEASE,
        batch: 32,
        idle: Duration::from_millis(500),
        retry: RetryPolicy::default(),
    };
    let handler = Summaries {
        store: Arc::clone(&store),
        email,
        public_url,
    };
    runner.run(store, &handler, Some(stop)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_day_is_the_utc_day_that_ended() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            due_day(at("2026-02-05T00:10:00Z")).to_string(),
            "2026-02-04"
        );
        assert_eq!(
            due_day(at("2026-02-05T23:59:59Z")).to_string(),
            "2026-02-04"
        );
        let key = |date: &str| {
            SummaryJob::Day {
                date: date.parse().unwrap(),
            }
            .new_job()
            .unwrap()
            .unique_key
        };
        assert_eq!(
            key("2026-02-04").as_deref(),
            Some("daily-summary:2026-02-04")
        );
    }
}
