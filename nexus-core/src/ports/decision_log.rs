//! Where gate decisions go: every decision, allowed or blocked, is recorded so it can be
//! audited and shown to users. The store implements this; [`MemoryDecisionLog`] serves
//! embedding and tests.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::error::DecisionLogError;
use crate::instrument::{ExchangeId, Symbol};
use crate::regime::gate::{GateAction, GateDecision};

/// A sink for gate decisions.
#[async_trait]
pub trait DecisionLog: Send + Sync {
    /// Records one decision.
    ///
    /// # Errors
    /// [`DecisionLogError`] when it could not be recorded.
    async fn record(&self, decision: &GateDecision) -> Result<(), DecisionLogError>;

    /// The most recent decisions, newest first.
    ///
    /// # Errors
    /// [`DecisionLogError`] when they could not be read.
    async fn recent_decisions(&self, limit: u32) -> Result<Vec<GateDecision>, DecisionLogError>;

    /// The newest decision on `action` in the market (`exchange`, `symbol`), if there is
    /// one: the market's current regime and why, as its users are shown it.
    ///
    /// # Errors
    /// [`DecisionLogError`] when it could not be read.
    async fn market_decision(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
        action: GateAction,
    ) -> Result<Option<GateDecision>, DecisionLogError>;
}

/// A [`DecisionLog`] that keeps decisions in memory.
#[derive(Debug, Default)]
pub struct MemoryDecisionLog {
    decisions: Mutex<Vec<GateDecision>>,
}

impl MemoryDecisionLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every decision recorded so far, oldest first.
    #[must_use]
    pub fn decisions(&self) -> Vec<GateDecision> {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl DecisionLog for MemoryDecisionLog {
    async fn record(&self, decision: &GateDecision) -> Result<(), DecisionLogError> {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(decision.clone());
        Ok(())
    }

    async fn recent_decisions(&self, limit: u32) -> Result<Vec<GateDecision>, DecisionLogError> {
        let decisions = self
            .decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(decisions
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn market_decision(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
        action: GateAction,
    ) -> Result<Option<GateDecision>, DecisionLogError> {
        let decisions = self
            .decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(decisions
            .iter()
            .rev()
            .find(|d| {
                d.inputs.exchange == exchange
                    && d.inputs.symbol == symbol
                    && d.inputs.action == action
            })
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::regime::Regime;
    use crate::regime::gate::{AdvisorInput, GateInputs, GatePolicy, Gatekeeper};
    use crate::test_support::block_on;

    fn decision(exchange: ExchangeId, symbol: &str, action: GateAction, age: u64) -> GateDecision {
        let inputs = GateInputs {
            exchange,
            symbol: symbol.parse().unwrap(),
            action,
            regime: Some(Regime::Bull),
            confidence: Some(0.7),
            data_age_ms: Some(age),
            advisor: AdvisorInput::NotAsked,
        };
        Gatekeeper::new(GatePolicy::default()).decide(inputs, DateTime::UNIX_EPOCH)
    }

    #[test]
    fn the_log_answers_newest_first_and_per_market_and_action() {
        use GateAction::{Add, Entry};
        let log = MemoryDecisionLog::new();
        let decisions = [
            decision(ExchangeId::Binance, "BTC/USDT", Entry, 1),
            decision(ExchangeId::Binance, "BTC/USDT", Add, 2),
            decision(ExchangeId::Kraken, "BTC/USDT", Entry, 3),
            decision(ExchangeId::Binance, "ETH/USDT", Entry, 4),
            decision(ExchangeId::Binance, "BTC/USDT", Entry, 5),
        ];
        for d in &decisions {
            block_on(log.record(d)).unwrap();
        }
        let recent = block_on(log.recent_decisions(2)).unwrap();
        assert_eq!(recent, [decisions[4].clone(), decisions[3].clone()]);
        assert_eq!(block_on(log.recent_decisions(10)).unwrap().len(), 5);
        let latest = |exchange, symbol: &str, action| {
            block_on(log.market_decision(exchange, symbol.parse().unwrap(), action))
                .unwrap()
                .map(|d| d.inputs.data_age_ms)
        };
        assert_eq!(
            latest(ExchangeId::Binance, "BTC/USDT", Entry),
            Some(Some(5))
        );
        assert_eq!(latest(ExchangeId::Binance, "BTC/USDT", Add), Some(Some(2)));
        assert_eq!(latest(ExchangeId::Kraken, "BTC/USDT", Entry), Some(Some(3)));
        assert_eq!(
            latest(ExchangeId::Binance, "ETH/USDT", Entry),
            Some(Some(4))
        );
        assert_eq!(latest(ExchangeId::Kraken, "ETH/USDT", Entry), None);
    }
}
