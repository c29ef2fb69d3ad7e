//! Retries with exponential backoff and full jitter.
//!
//! Only failures that left nothing changed at the venue are retried for every request
//! (refused connections, rate limits, a clock or nonce the venue refused); failures whose
//! outcome is unknown (a timeout or a 5xx after the request was sent) are retried only for
//! reads. An order in that state is reported as [`ExchangeError::OutcomeUnknown`] so the
//! caller looks it up by client order id instead of placing it twice.

use std::future::Future;
use std::time::Duration;

use nexus_core::ExchangeError;
use rand::Rng;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry; doubled for each one after.
    pub base: Duration,
    /// The longest backoff (a venue's `Retry-After` may ask for longer).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first): a uniformly random duration
    /// in `[0, min(cap, base × 2^retry)]` ("full jitter", so clients that failed together do
    /// not retry together), but never shorter than what the venue asked for.
    #[must_use]
    pub fn backoff(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(30)))
            .min(self.cap);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(rng.random_range(0..=millis));
        jitter.max(retry_after.unwrap_or_default())
    }
}

/// How one attempt failed, as far as retrying is concerned.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The venue did not act on the request (connection refused, rate limited, stale
    /// timestamp or nonce): any request may be sent again.
    NotApplied(ExchangeError),
    /// The request may or may not have taken effect (timeout, 5xx after sending).
    Unknown(ExchangeError),
    /// Retrying will not help (rejected, auth, decode).
    Final(ExchangeError),
}

impl Failure {
    pub(crate) fn into_error(self) -> ExchangeError {
        match self {
            Self::NotApplied(e) | Self::Unknown(e) | Self::Final(e) => e,
        }
    }
}

/// Whether a request changes state at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// A read: sending it twice is harmless.
    Read,
    /// Places or cancels an order: sending it twice after an unknown outcome could double
    /// it, so that outcome is reported instead of retried.
    Write,
}

/// An answer to an order request that could not be read: the venue acted, but on what is
/// unknown, so the order must be looked up rather than placed (or cancelled) again.
pub(crate) fn unreadable_write(error: ExchangeError) -> ExchangeError {
    match error {
        ExchangeError::Decode { exchange, message } => ExchangeError::OutcomeUnknown {
            exchange,
            message: format!(
                "the venue accepted the request but its answer could not be read: {message}"
            ),
        },
        other => other,
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's attempts are spent.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    effect: Effect,
    mut attempt: F,
) -> Result<T, ExchangeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut retry = 0;
    loop {
        let failure = match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let last = retry + 1 >= policy.max_attempts;
        let error = match failure {
            Failure::Final(e) => return Err(e),
            Failure::Unknown(e) if effect == Effect::Write => {
                return Err(ExchangeError::OutcomeUnknown {
                    exchange: e.exchange(),
                    message: e.to_string(),
                });
            }
            Failure::NotApplied(e) | Failure::Unknown(e) => e,
        };
        if last {
            return Err(error);
        }
        let wait = policy.backoff(retry, error.retry_after(), &mut rand::rng());
        tracing::debug!(exchange = %error.exchange(), retry, ?wait, %error, "retrying");
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use nexus_core::ExchangeId;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn transient() -> ExchangeError {
        ExchangeError::Transient {
            exchange: ExchangeId::Binance,
            message: "timed out".into(),
            source: None,
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_cap_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..8 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry)).min(policy.cap);
            let waits: Vec<_> = (0..500)
                .map(|_| policy.backoff(retry, None, &mut rng))
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "retry {retry}");
            // Full jitter spreads over the whole range, not just near the ceiling.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "retry {retry}");
            assert!(waits.iter().any(|w| *w > ceiling * 3 / 4), "retry {retry}");
        }
        let asked = Duration::from_secs(30);
        assert_eq!(policy.backoff(0, Some(asked), &mut rng), asked);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_retry_unknown_outcomes_and_writes_report_them() {
        let policy = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let read = run(&policy, Effect::Read, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Failure::Unknown(transient()))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(read.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let write: Result<(), _> = run(&policy, Effect::Write, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Unknown(transient()))
        })
        .await;
        assert!(matches!(write, Err(ExchangeError::OutcomeUnknown { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "never sent twice");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_are_retried_until_attempts_run_out_and_final_errors_never() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let limited: Result<(), _> = run(&policy, Effect::Write, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::NotApplied(ExchangeError::RateLimited {
                exchange: ExchangeId::Kraken,
                retry_after: Some(Duration::from_secs(3)),
            }))
        })
        .await;
        assert!(matches!(limited, Err(ExchangeError::RateLimited { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let rejected: Result<(), _> = run(&policy, Effect::Read, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Final(ExchangeError::Auth {
                exchange: ExchangeId::Kraken,
                message: "EAPI:Invalid key".into(),
            }))
        })
        .await;
        assert!(matches!(rejected, Err(ExchangeError::Auth { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
