//! The advisor's records: every call to a language model (provider, model, market, prompt
//! hash, request and answer, tokens, cost, latency, outcome), whose answered verdicts are
//! also the cache per market and candle, the day's spend, and what replays read.

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::Timestamp;
use crate::error::StoreError;
use crate::instrument::{ExchangeId, Symbol};
use crate::market::Interval;
use crate::regime::advisor::AdvisorVerdict;
use crate::regime::gate::GateAction;

/// What one verdict is about: a market's decision at one candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerdictKey {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The candle interval.
    pub interval: Interval,
    /// The open time of the candle the decision was made on.
    pub candle: Timestamp,
    /// Entry or add.
    pub action: GateAction,
}

/// One call to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmCall {
    /// Its id (0 before it is stored).
    pub id: i64,
    /// When it was made.
    pub at: Timestamp,
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// What it was asked about.
    pub key: VerdictKey,
    /// SHA-256 of the prompt (hex).
    pub prompt_hash: String,
    /// The request as sent (JSON, without the key).
    pub request: String,
    /// The answer as received, when there was one.
    pub response: Option<String>,
    /// Input tokens, from the provider's `usage`.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// What it cost in USD (`None`: a model without a price).
    pub cost_usd: Option<Decimal>,
    /// How long it took.
    pub latency_ms: u64,
    /// `answered`, or why not (`timeout`, `rate_limited`, `overloaded`, `server_error`,
    /// `rejected`, `unreadable`, `refused`, `transport`).
    pub outcome: String,
    /// The verdict, when answered.
    pub verdict: Option<AdvisorVerdict>,
    /// Its reason (or the error).
    pub reason: Option<String>,
}

/// One provider's and model's calls over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmUsage {
    /// The provider.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Calls made.
    pub calls: u64,
    /// Calls without an answer.
    pub failures: u64,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Cost in USD (calls without a price count 0).
    pub cost_usd: Decimal,
}

/// The advisor's records.
#[async_trait]
pub trait AdvisorStore: Send + Sync {
    /// Records `call`; returns its id. An answered call is also the cached verdict of its
    /// key (the first answered one is kept).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn record_llm_call(&self, call: &LlmCall) -> Result<i64, StoreError>;

    /// The first answered call about `key`: its verdict is reused, by any instance.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn cached_verdict(&self, key: &VerdictKey) -> Result<Option<LlmCall>, StoreError>;

    /// What calls made since `since` cost, in USD.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn llm_spend(&self, since: Timestamp) -> Result<Decimal, StoreError>;

    /// Calls made in `[from, to)`: all of them, oldest first (for usage and exports).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn llm_calls_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<LlmCall>, StoreError>;

    /// Calls newest first, a page at a time (`before`: the last id of the previous page).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn llm_calls(&self, before: Option<i64>, limit: u32) -> Result<Vec<LlmCall>, StoreError>;
}

/// Usage per provider and model of `calls`.
#[must_use]
pub fn usage(calls: &[LlmCall]) -> Vec<LlmUsage> {
    let mut out: Vec<LlmUsage> = Vec::new();
    for call in calls {
        let row = match out
            .iter_mut()
            .position(|u| u.provider == call.provider && u.model == call.model)
        {
            Some(at) => &mut out[at],
            None => {
                out.push(LlmUsage {
                    provider: call.provider.clone(),
                    model: call.model.clone(),
                    calls: 0,
                    failures: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost_usd: Decimal::ZERO,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        row.calls += 1;
        row.failures += u64::from(call.outcome != "answered");
        row.tokens_in += call.tokens_in;
        row.tokens_out += call.tokens_out;
        row.cost_usd += call.cost_usd.unwrap_or_default();
    }
    out
}
