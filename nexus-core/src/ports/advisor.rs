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

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn call(
        provider: &str,
        model: &str,
        outcome: &str,
        tokens: (u64, u64),
        cost: Option<&str>,
    ) -> LlmCall {
        LlmCall {
            id: 0,
            at: DateTime::UNIX_EPOCH,
            provider: provider.to_owned(),
            model: model.to_owned(),
            key: VerdictKey {
                exchange: ExchangeId::Binance,
                symbol: "BTC/USDT".parse().unwrap(),
                interval: Interval::D1,
                candle: DateTime::UNIX_EPOCH,
                action: GateAction::Entry,
            },
            prompt_hash: String::new(),
            request: String::new(),
            response: None,
            tokens_in: tokens.0,
            tokens_out: tokens.1,
            cost_usd: cost.map(|c| c.parse().unwrap()),
            latency_ms: 0,
            outcome: outcome.to_owned(),
            verdict: None,
            reason: None,
        }
    }

    #[test]
    fn usage_adds_up_per_provider_and_model_in_order_of_first_use() {
        let calls = [
            call(
                "openai",
                "gpt-5-mini",
                "answered",
                (1_000, 50),
                Some("0.0012"),
            ),
            call("anthropic", "claude-haiku-4-5", "timeout", (0, 0), None),
            call(
                "openai",
                "gpt-5-mini",
                "answered",
                (2_000, 70),
                Some("0.0021"),
            ),
            call("openai", "gpt-5", "rate_limited", (10, 0), Some("0.0001")),
            call(
                "anthropic",
                "claude-haiku-4-5",
                "answered",
                (900, 40),
                Some("0.001"),
            ),
        ];
        let usage = usage(&calls);
        let rows: Vec<_> = usage
            .iter()
            .map(|u| {
                let name = format!("{}/{}", u.provider, u.model);
                (
                    name,
                    u.calls,
                    u.failures,
                    u.tokens_in,
                    u.tokens_out,
                    u.cost_usd.to_string(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "openai/gpt-5-mini".to_owned(),
                    2,
                    0,
                    3_000,
                    120,
                    "0.0033".to_owned()
                ),
                (
                    "anthropic/claude-haiku-4-5".to_owned(),
                    2,
                    1,
                    900,
                    40,
                    "0.001".to_owned()
                ),
                ("openai/gpt-5".to_owned(), 1, 1, 10, 0, "0.0001".to_owned()),
            ]
        );
        assert!(super::usage(&[]).is_empty());
    }
}
