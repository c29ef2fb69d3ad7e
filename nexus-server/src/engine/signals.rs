//! Signals as jobs: whoever decides (the scheduler's strategies, or an outside webhook)
//! enqueues a `signal` job; the scheduler fans it out. Through the queue, a signal
//! survives a crash of the instance that decided it, and its unique key makes a repeated
//! delivery a no-op.

use nexus_core::fanout::Signal;
use nexus_core::ports::accounts::{BotFilter, StrategyMarket};
use nexus_core::ports::jobs::{JobKind, NewJob};
use nexus_core::{Interval, SignalId, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The namespace of Nexus's name-based signal ids (UUIDv5).
const SIGNAL_NAMESPACE: Uuid = Uuid::from_u128(0x6e65_7875_735f_7369_676e_616c_735f_7631);

/// The strategy name of bots that follow an outside signal source.
pub const WEBHOOK_STRATEGY: &str = "webhook";

/// A `signal` job's payload: one decision and the bots it goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalJob {
    /// The decision. Its `regime` is filled in by the scheduler when the decider did not
    /// know it (webhooks).
    pub signal: Signal,
    /// The strategy whose bots receive it.
    pub strategy: String,
    /// Only bots with exactly these parameters (`None`: any).
    pub strategy_config: Option<String>,
    /// Only bots on this candle interval (`None`: any).
    pub interval: Option<Interval>,
    /// Why, for people (`breakout`, `trailing_stop`, `webhook`).
    pub reason: String,
}

impl SignalJob {
    /// The bots it goes to.
    #[must_use]
    pub fn filter(&self) -> BotFilter<'_> {
        BotFilter {
            exchange: self.signal.exchange,
            symbol: self.signal.symbol,
            strategy: &self.strategy,
            interval: self.interval,
            strategy_config: self.strategy_config.as_deref(),
        }
    }

    /// The job: unique per signal id, so a signal decided twice (a new leader re-reading
    /// the same candle, a webhook delivered twice) is fanned out once.
    ///
    /// # Errors
    /// The payload does not serialise (it always does).
    pub fn new_job(&self) -> Result<NewJob, serde_json::Error> {
        Ok(NewJob {
            kind: JobKind::Signal,
            payload: serde_json::to_string(self)?,
            unique_key: Some(format!("signal:{}", self.signal.id)),
            // Ahead of trade jobs: a signal's orders cannot start before it is planned.
            priority: 20,
            run_at: None,
            max_attempts: 5,
        })
    }
}

/// The id of a strategy's signal on the candle opened at `candle`: the same market and
/// candle always give the same id, so a signal decided again is recognised.
#[must_use]
pub fn strategy_signal_id(market: &StrategyMarket, candle: Timestamp, kind: &str) -> SignalId {
    let name = format!(
        "strategy|{}|{}|{}|{}|{}|{}|{kind}",
        market.exchange,
        market.symbol,
        market.interval.as_str(),
        market.strategy,
        market.strategy_config,
        candle.timestamp_millis(),
    );
    SignalId::new(Uuid::new_v5(&SIGNAL_NAMESPACE, name.as_bytes()))
}

/// The id of an outside signal from `source` with the sender's idempotency key.
#[must_use]
pub fn webhook_signal_id(source: &str, idempotency_key: &str) -> SignalId {
    let name = format!("webhook|{source}|{idempotency_key}");
    SignalId::new(Uuid::new_v5(&SIGNAL_NAMESPACE, name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_ids_follow_their_inputs() {
        let market = StrategyMarket {
            exchange: nexus_core::ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: Interval::D1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
        };
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let id = strategy_signal_id(&market, t, "entry");
        assert_eq!(id, strategy_signal_id(&market, t, "entry"));
        assert_ne!(id, strategy_signal_id(&market, t, "exit"));
        let later = t + chrono::Duration::days(1);
        assert_ne!(id, strategy_signal_id(&market, later, "entry"));
        let other = StrategyMarket {
            strategy_config: "{\"entry_period\":55}".into(),
            ..market.clone()
        };
        assert_ne!(id, strategy_signal_id(&other, t, "entry"));
        assert_eq!(webhook_signal_id("tv", "k1"), webhook_signal_id("tv", "k1"));
        assert_ne!(webhook_signal_id("tv", "k1"), webhook_signal_id("tv", "k2"));
        assert_ne!(
            webhook_signal_id("tv", "k1"),
            webhook_signal_id("tv2", "k1")
        );
    }
}
