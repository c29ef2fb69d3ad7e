//! Panic isolation. The engine's long-running tasks (the [`scheduler`](super::scheduler),
//! the [`dispatch`](super::dispatch)er's fan-out, the trade [`worker`](super::worker)s) run
//! each market's and each bot's work under [`catch`] or [`catch_async`]: a panic there is
//! caught, logged with the market or bot, counted in `nexus_task_panics_total{task}`, and a
//! bot whose own work panicked is [`pause`]d with the reason, so it is not retried forever.
//! Everything else goes on.
//!
//! The work is run as if unwind-safe ([`AssertUnwindSafe`]): whatever it was changing when
//! it panicked is thrown away or rebuilt by the caller (a market's strategy is forgotten, a
//! page's plans are planned again one bot at a time), never used half-changed.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::Utc;
use futures_util::FutureExt;
use nexus_core::BotId;
use nexus_core::ports::accounts::BotRecord;
use nexus_store::Store;

use crate::metrics::Metrics;

/// The longest reason a bot is paused with (a panic's message can be long).
const MAX_REASON_CHARS: usize = 500;

/// Which long-running task caught a panic: the `task` label of `nexus_task_panics_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// The scheduler: a market's strategy or classification, or a whole round.
    Scheduler,
    /// The fan-out of a signal: one bot's planning, or a whole signal.
    Fanout,
    /// A trade worker: one bot's order, or a whole batch.
    Worker,
}

impl Task {
    /// The label value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduler => "scheduler",
            Self::Fanout => "fanout",
            Self::Worker => "worker",
        }
    }
}

/// A caught panic: its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("panicked: {0}")]
pub struct Panicked(pub String);

impl Panicked {
    /// The panic of `payload` (what `catch_unwind` or a panicked task's `JoinError` holds).
    #[must_use]
    pub fn from_payload(payload: &(dyn Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Self(message)
    }
}

/// Runs `work`, catching a panic.
///
/// # Errors
/// [`Panicked`] with the panic's message.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, Panicked> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| Panicked::from_payload(&*payload))
}

/// Awaits `work`, catching a panic in any of its polls.
///
/// # Errors
/// [`Panicked`] with the panic's message.
pub async fn catch_async<F: Future>(work: F) -> Result<F::Output, Panicked> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|payload| Panicked::from_payload(&*payload))
}

/// The reason a bot is paused with after `what` panicked: `internal_error: {what}
/// panicked: {message}`, at most 500 characters.
#[must_use]
pub fn reason(what: &str, panic: &Panicked) -> String {
    format!("internal_error: {what} {panic}")
        .chars()
        .take(MAX_REASON_CHARS)
        .collect()
}

/// After `what` (one bot's work) panicked in `task`: logs it with the bot, counts it, and
/// pauses the bot with the reason, so its work is not retried until its owner resumes it.
/// A pause that cannot be recorded is logged; the caller goes on either way.
pub async fn pause(
    store: &dyn Store,
    metrics: Option<&Metrics>,
    events: Option<&crate::events::Events>,
    task: Task,
    bot: BotId,
    what: &str,
    panic: &Panicked,
) {
    tracing::error!(task = task.as_str(), %bot, what, %panic, "a bot's work panicked; pausing the bot");
    if let Some(metrics) = metrics {
        metrics.panicked(task.as_str());
    }
    let reason = reason(what, panic);
    let now = Utc::now();
    match store.pause_bot(bot, &reason, now).await {
        Ok(true) => {
            if let Some(record) = alert_paused(store, bot, &reason, now).await
                && let Some(events) = events
            {
                events
                    .publish(&[crate::events::Happening::Bot {
                        change: crate::events::BotChange::Paused,
                        bot: record,
                        at: now,
                    }])
                    .await;
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(%bot, error = %e, "the bot whose work panicked could not be paused");
        }
    }
}

/// Tells the owner of a bot the system paused (an `errors` alert), as their preferences
/// say; the bot as paused, when it could be read. A failure is logged: the pause stands
/// either way.
async fn alert_paused(
    store: &dyn Store,
    bot: BotId,
    reason: &str,
    now: nexus_core::Timestamp,
) -> Option<BotRecord> {
    let record = match store.bot(bot).await {
        Ok(Some(record)) => record,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(%bot, error = %e, "the paused bot's owner could not be alerted");
            return None;
        }
    };
    let alerts = super::alerts::TradeAlerts {
        alerts: vec![super::alerts::TradeAlert::bot_paused(&record, reason, now)],
    };
    let enqueued = match alerts.new_job() {
        Ok(job) => store
            .enqueue(&job, now)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = enqueued {
        tracing::warn!(%bot, error = %e, "the paused bot's owner could not be alerted");
    }
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_caught_with_their_message() {
        assert_eq!(catch(|| 7), Ok(7));
        assert_eq!(
            catch(|| panic!("static text")),
            Err::<(), _>(Panicked("static text".into()))
        );
        let n = 3;
        assert_eq!(
            catch(|| panic!("formatted {n}")),
            Err::<(), _>(Panicked("formatted 3".into()))
        );
        assert_eq!(
            catch(|| std::panic::panic_any(42_u8)),
            Err::<(), _>(Panicked("a panic without a message".into()))
        );
    }

    #[tokio::test]
    async fn a_panicking_future_is_caught_at_its_await() {
        let work = async {
            tokio::task::yield_now().await;
            let zero = std::hint::black_box(0_u32);
            10 / zero
        };
        let caught = catch_async(work).await.unwrap_err();
        assert!(caught.0.contains("divide by zero"), "{caught}");
        assert_eq!(catch_async(async { 1 }).await, Ok(1));
    }

    #[test]
    fn reasons_name_the_work_and_are_bounded() {
        let panic = Panicked("attempt to multiply with overflow".into());
        assert_eq!(
            reason("planning", &panic),
            "internal_error: planning panicked: attempt to multiply with overflow"
        );
        let long = Panicked("x".repeat(2_000));
        assert_eq!(reason("planning", &long).chars().count(), 500);
    }
}
