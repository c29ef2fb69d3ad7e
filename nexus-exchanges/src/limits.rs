//! Rate limits: venue-wide budgets that keep all users of one process inside the venue's
//! IP-level allowance, per-account limiters that keep each user inside their own order
//! limits, and the ban gate that stops every call to a venue that banned our IP.
//!
//! Binance counts *request weight per minute* ([`WeightBudget`], corrected from the
//! `X-MBX-USED-WEIGHT-1M` header the venue returns); Kraken a *decaying call counter*
//! ([`DecayingCounter`]); Coinbase *requests per second* (a `governor` GCRA limiter,
//! [`PerSecond`]). Waiting uses tokio's clock, so tests run on paused time.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use nexus_core::{ExchangeError, ExchangeId};
use tokio::time::Instant;

/// Binance-style request weight per fixed one-minute window.
#[derive(Debug)]
pub struct WeightBudget {
    limit: u32,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

const MINUTE: Duration = Duration::from_secs(60);

impl WeightBudget {
    /// A budget of `limit` weight per minute.
    #[must_use]
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            state: Mutex::new(Window {
                started: Instant::now(),
                used: 0,
            }),
        }
    }

    /// Waits until `weight` fits in the current window, then spends it.
    pub async fn acquire(&self, weight: u32) {
        let weight = weight.min(self.limit);
        loop {
            let wait = {
                let mut w = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                if now >= w.started + MINUTE {
                    w.started = now;
                    w.used = 0;
                }
                if w.used.saturating_add(weight) <= self.limit {
                    w.used += weight;
                    return;
                }
                w.started + MINUTE - now
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Corrects the count from the venue's own figure (`X-MBX-USED-WEIGHT-1M`): other
    /// processes behind the same IP spend the same budget.
    pub fn observe_used(&self, used: u32) {
        let mut w = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        w.used = w.used.max(used);
    }

    /// The weight spent in the current window.
    #[must_use]
    pub fn used(&self) -> u32 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .used
    }
}

/// Kraken-style counter: each call adds its cost, the counter decays at a steady rate, and
/// a call that would take it past the maximum waits until enough has decayed.
#[derive(Debug)]
pub struct DecayingCounter {
    max: f64,
    decay_per_sec: f64,
    state: Mutex<Level>,
}

#[derive(Debug)]
struct Level {
    value: f64,
    at: Instant,
}

impl DecayingCounter {
    /// A counter that allows `max` and decays by `decay_per_sec` each second.
    #[must_use]
    pub fn new(max: u32, decay_per_sec: f64) -> Self {
        Self {
            max: f64::from(max.max(1)),
            decay_per_sec: decay_per_sec.max(0.01),
            state: Mutex::new(Level {
                value: 0.0,
                at: Instant::now(),
            }),
        }
    }

    fn decayed(&self, level: &mut Level, now: Instant) {
        let elapsed = now.saturating_duration_since(level.at).as_secs_f64();
        level.value = (level.value - elapsed * self.decay_per_sec).max(0.0);
        level.at = now;
    }

    /// Waits until `cost` fits under the maximum, then adds it.
    pub async fn acquire(&self, cost: u32) {
        let cost = f64::from(cost).min(self.max);
        loop {
            let wait = {
                let mut level = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                self.decayed(&mut level, Instant::now());
                let over = level.value + cost - self.max;
                if over <= 0.0 {
                    level.value += cost;
                    return;
                }
                Duration::from_secs_f64(over / self.decay_per_sec)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The venue said we are over its limit: assume the counter is full.
    pub fn saturate(&self) {
        let mut level = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        level.value = self.max;
        level.at = Instant::now();
    }

    /// The current level.
    #[must_use]
    pub fn level(&self) -> f64 {
        let mut level = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.decayed(&mut level, Instant::now());
        level.value
    }
}

/// A plain requests-per-second limit (Coinbase), smoothed by `governor`'s GCRA.
#[derive(Debug)]
pub struct PerSecond(DefaultDirectRateLimiter);

impl PerSecond {
    /// At most `per_second` requests each second (a burst of that size allowed).
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        Self(DefaultDirectRateLimiter::direct(Quota::per_second(
            NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
        )))
    }

    /// Waits for a slot.
    pub async fn acquire(&self) {
        self.0.until_ready().await;
    }
}

/// One limiter per account, keyed by an account fingerprint: each user is held to their
/// own order limits without slowing the others.
#[derive(Debug)]
pub struct PerAccount(DefaultKeyedRateLimiter<String>);

impl PerAccount {
    /// At most `count` requests per `period` per account, in bursts of up to `count`.
    #[must_use]
    pub fn new(count: u32, period: Duration) -> Self {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / count.get())
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Self(DefaultKeyedRateLimiter::keyed(quota))
    }

    /// Waits for a slot for `account`.
    pub async fn acquire(&self, account: &str) {
        self.0.until_key_ready(&account.to_owned()).await;
    }
}

/// Per-account decaying counters (Kraken counts private calls per API key).
#[derive(Debug)]
pub struct PerAccountCounter {
    max: u32,
    decay_per_sec: f64,
    counters: Mutex<HashMap<String, Arc<DecayingCounter>>>,
}

impl PerAccountCounter {
    /// Counters allowing `max`, decaying by `decay_per_sec`.
    #[must_use]
    pub fn new(max: u32, decay_per_sec: f64) -> Self {
        Self {
            max,
            decay_per_sec,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// The counter of `account`.
    #[must_use]
    pub fn of(&self, account: &str) -> Arc<DecayingCounter> {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            counters
                .entry(account.to_owned())
                .or_insert_with(|| Arc::new(DecayingCounter::new(self.max, self.decay_per_sec))),
        )
    }
}

/// Stops every call to a venue while it bans our IP (Binance answers 418 with how long).
#[derive(Debug)]
pub struct BanGate {
    exchange: ExchangeId,
    until: Mutex<Option<Instant>>,
}

impl BanGate {
    /// An open gate for `exchange`.
    #[must_use]
    pub fn new(exchange: ExchangeId) -> Self {
        Self {
            exchange,
            until: Mutex::new(None),
        }
    }

    /// Refuses the call while a ban lasts, saying how long is left.
    ///
    /// # Errors
    /// [`ExchangeError::Banned`] with the time left on the ban.
    pub fn check(&self) -> Result<(), ExchangeError> {
        let until = *self.until.lock().unwrap_or_else(PoisonError::into_inner);
        match until {
            Some(until) if until > Instant::now() => Err(ExchangeError::Banned {
                exchange: self.exchange,
                retry_after: Some(until - Instant::now()),
            }),
            _ => Ok(()),
        }
    }

    /// Closes the gate for `duration` (or keeps a longer ban already in force).
    pub fn ban(&self, duration: Duration) {
        let mut until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        let new = Instant::now() + duration;
        if until.is_none_or(|u| u < new) {
            *until = Some(new);
        }
        tracing::warn!(exchange = %self.exchange, ?duration, "venue banned this IP; calls stopped until the ban ends");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn weight_waits_for_the_next_minute_and_takes_the_venues_count() {
        let budget = WeightBudget::new(100);
        let start = Instant::now();
        budget.acquire(60).await;
        budget.acquire(40).await;
        assert_eq!(Instant::now(), start, "within budget: no wait");
        budget.acquire(1).await;
        assert!(
            Instant::now() >= start + MINUTE,
            "over budget: waited for the next window"
        );
        assert_eq!(budget.used(), 1);
        // Another process behind our IP used 99: the next 2 must wait.
        budget.observe_used(99);
        let before = Instant::now();
        budget.acquire(2).await;
        assert!(Instant::now() >= before + MINUTE - Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_counter_decays_and_waits_only_as_long_as_needed() {
        let counter = DecayingCounter::new(15, 0.5);
        let start = Instant::now();
        for _ in 0..15 {
            counter.acquire(1).await;
        }
        assert_eq!(Instant::now(), start);
        counter.acquire(2).await;
        let waited = Instant::now() - start;
        // Two units over the maximum decay in four seconds.
        assert!(
            (Duration::from_millis(3990)..=Duration::from_millis(4100)).contains(&waited),
            "{waited:?}"
        );
        counter.saturate();
        assert!((counter.level() - 15.0).abs() < 1e-9);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!((counter.level() - 10.0).abs() < 1e-6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_ban_stops_calls_until_it_ends() {
        let gate = BanGate::new(ExchangeId::Binance);
        gate.check().unwrap();
        gate.ban(Duration::from_secs(120));
        gate.ban(Duration::from_secs(10));
        match gate.check() {
            Err(ExchangeError::Banned {
                retry_after: Some(left),
                ..
            }) => assert_eq!(left, Duration::from_secs(120), "the longer ban stays"),
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_secs(121)).await;
        gate.check().unwrap();
    }

    #[tokio::test]
    async fn accounts_have_their_own_limits() {
        let limiter = PerAccount::new(2, Duration::from_secs(3600));
        limiter.acquire("alice").await;
        limiter.acquire("alice").await;
        // Alice's third call would wait an hour; Bob is not held up by her.
        assert!(limiter.0.check_key(&"alice".to_owned()).is_err());
        limiter.acquire("bob").await;
        let counters = PerAccountCounter::new(3, 1.0);
        assert!(Arc::ptr_eq(&counters.of("k"), &counters.of("k")));
        assert!(!Arc::ptr_eq(&counters.of("k"), &counters.of("other")));
    }
}
