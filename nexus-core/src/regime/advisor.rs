//! The advisor port: a second opinion (an LLM, a risk desk, a kill switch) that can make
//! the gate stricter, never looser.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::classifier::Classification;
use super::gate::GateAction;
use crate::instrument::{ExchangeId, Symbol};

/// What the advisor is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvisorQuestion {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// What a strategy wants to do.
    pub action: GateAction,
    /// The classifier's view, if it has one.
    pub classification: Option<Classification>,
}

/// Whether the advisor would let the action through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisorVerdict {
    /// No objection (this can never override a block by the rules).
    Allow,
    /// Block the action.
    Block,
}

/// An advisor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisorOpinion {
    /// Allow or block.
    pub verdict: AdvisorVerdict,
    /// Why, in the advisor's words.
    pub reason: String,
}

/// The advisor could not answer. The gate treats this as no opinion and notes it.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdvisorError {
    /// No answer in time (the caller owns the clock and the timeout).
    #[error("the advisor did not answer within {after_ms} ms")]
    Timeout {
        /// How long the caller waited.
        after_ms: u64,
    },
    /// The advisor failed or answered something unusable.
    #[error("the advisor failed: {message}")]
    Failed {
        /// What went wrong.
        message: String,
    },
}

/// A source of second opinions for the gate. Implementations do I/O (an LLM call), so the
/// caller asks with a timeout and hands the result to
/// [`Gatekeeper::decide`](super::gate::Gatekeeper::decide).
#[async_trait]
pub trait RegimeAdvisor: Send + Sync {
    /// The advisor's opinion on `question`.
    ///
    /// # Errors
    /// [`AdvisorError`] when it cannot answer.
    async fn opinion(&self, question: &AdvisorQuestion) -> Result<AdvisorOpinion, AdvisorError>;
}
