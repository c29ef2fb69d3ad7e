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
