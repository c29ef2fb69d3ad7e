//! What the scheduler asks before an entry or an add goes out: one opinion per market and
//! decision (never per user or bot), carried by the signal to every bot's gate. The LLM
//! advisor ([`crate::advisor`]) is one; tests use others.

use async_trait::async_trait;
use nexus_core::Candle;
use nexus_core::Timestamp;
use nexus_core::ports::advisor::VerdictKey;
use nexus_core::regime::Classification;
use nexus_core::regime::gate::AdvisorInput;

/// The question about one market's decision.
#[derive(Debug, Clone, Copy)]
pub struct AdviceRequest<'a> {
    /// The market, the candle and the action.
    pub key: VerdictKey,
    /// The market's recent candles, oldest first.
    pub candles: &'a [Candle],
    /// The rules' view of the regime.
    pub classification: Option<Classification>,
    /// Now.
    pub now: Timestamp,
}

/// A second opinion on a market's entry or add; it may only block.
#[async_trait]
pub trait MarketAdvisor: Send + Sync {
    /// The opinion on `request`: an opinion, or an error the gate treats as no opinion
    /// (noted in its reasons).
    async fn advise(&self, request: &AdviceRequest<'_>) -> AdvisorInput;
}
