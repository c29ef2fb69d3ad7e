//! The LLM advisor as the scheduler asks it: the cached verdict of a market and candle if
//! one exists (any instance's), else the primary provider and, when it fails, the
//! fallback; within the day's budget; every call recorded with its tokens and cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nexus_core::Timestamp;
use nexus_core::ports::advisor::{LlmCall, VerdictKey};
use nexus_core::regime::advisor::{AdvisorError, AdvisorOpinion, AdvisorVerdict};
use nexus_core::regime::gate::AdvisorInput;
use nexus_store::Store;
use rust_decimal::Decimal;

use super::anthropic::AnthropicClient;
use super::openai::OpenAiClient;
use super::prices::PriceTable;
use super::prompt::MarketBrief;
use super::provider::{LlmProvider, ProviderFailure, ProviderSetupError, TokenUsage};
use super::settings::{LlmSettings, ProviderKind};
use crate::engine::advice::{AdviceRequest, MarketAdvisor};
use crate::metrics::Metrics;

/// Consecutive failures after which a provider rests.
const FAILURES_BEFORE_REST: u32 = 3;
/// How long a provider that keeps failing rests.
const REST: Duration = Duration::from_secs(300);

/// A provider's recent failures.
#[derive(Debug, Default, Clone, Copy)]
struct Health {
    failures: u32,
    resting_until: Option<Instant>,
}

/// The LLM advisor.
pub struct LlmAdvisor {
    providers: Vec<Arc<dyn LlmProvider>>,
    store: Arc<dyn Store>,
    prices: PriceTable,
    budget: Decimal,
    timeout: Duration,
    metrics: Arc<Metrics>,
    health: Mutex<HashMap<&'static str, Health>>,
}

impl std::fmt::Debug for LlmAdvisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmAdvisor")
            .field("providers", &self.providers)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// The start of `now`'s UTC day.
fn day_start(now: Timestamp) -> Timestamp {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| DateTime::from_naive_utc_and_offset(d, Utc))
}

impl LlmAdvisor {
    /// An advisor asking `providers` in order (the primary, then the fallback), spending
    /// at most `budget` USD a UTC day at `prices`, waiting `timeout` for each.
    #[must_use]
    pub fn new(
        providers: Vec<Arc<dyn LlmProvider>>,
        store: Arc<dyn Store>,
        prices: PriceTable,
        budget: Decimal,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        for provider in &providers {
            metrics.llm_model(provider.name(), provider.model());
        }
        metrics.llm_budget(budget);
        Self {
            providers,
            store,
            prices,
            budget,
            timeout,
            metrics,
            health: Mutex::new(HashMap::new()),
        }
    }

    /// The advisor `settings` describe, or `None` when it is off.
    ///
    /// # Errors
    /// [`ProviderSetupError`] when a client cannot be built (a bad base URL).
    pub fn from_settings(
        settings: &LlmSettings,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Option<Self>, ProviderSetupError> {
        let Some(primary) = settings.provider else {
            return Ok(None);
        };
        let mut providers: Vec<Arc<dyn LlmProvider>> = Vec::new();
        for kind in std::iter::once(primary).chain(settings.fallback) {
            // `LlmSettings::read` refuses a provider without its settings.
            let Some(p) = settings.provider_settings(kind) else {
                continue;
            };
            let key = p.api_key.clone();
            providers.push(match kind {
                ProviderKind::OpenAi => Arc::new(OpenAiClient::new(
                    &p.base_url,
                    key,
                    &p.model,
                    settings.timeout,
                )?),
                ProviderKind::Anthropic => Arc::new(AnthropicClient::new(
                    &p.base_url,
                    key,
                    &p.model,
                    settings.timeout,
                )?),
            });
        }
        Ok(Some(Self::new(
            providers,
            store,
            settings.prices.clone(),
            settings.daily_budget_usd,
            settings.timeout,
            metrics,
        )))
    }

    fn health(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Health>> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes `provider`'s failure: it rests for its `Retry-After`, or after
    /// [`FAILURES_BEFORE_REST`] failures in a row.
    fn failed(&self, provider: &'static str, failure: &ProviderFailure) {
        let mut health = self.health();
        let entry = health.entry(provider).or_default();
        entry.failures += 1;
        let rest = failure
            .retry_after()
            .or((entry.failures >= FAILURES_BEFORE_REST).then_some(REST));
        entry.resting_until = rest.map(|r| Instant::now() + r);
    }

    fn answered(&self, provider: &'static str) {
        self.health().insert(provider, Health::default());
    }

    fn resting(&self, provider: &'static str) -> Option<Duration> {
        let until = self.health().get(provider).and_then(|h| h.resting_until)?;
        until.checked_duration_since(Instant::now())
    }

    /// Records one call and counts it.
    async fn record(&self, call: &LlmCall) {
        self.metrics.llm_call(
            &call.provider,
            &call.model,
            &call.outcome,
            TokenUsage {
                input: call.tokens_in,
                output: call.tokens_out,
            },
            call.cost_usd,
        );
        if let Err(e) = self.store.record_llm_call(call).await {
            tracing::error!(error = %e, provider = %call.provider, "an LLM call could not be recorded");
        }
    }

    /// The opinion on `key` about `brief` at `now`.
    pub async fn opinion(
        &self,
        brief: &MarketBrief,
        key: VerdictKey,
        now: Timestamp,
    ) -> AdvisorInput {
        let failed = |message: String| AdvisorInput::Error {
            error: AdvisorError::Failed { message },
        };
        match self.store.cached_verdict(&key).await {
            Ok(Some(call)) => {
                if let Some(verdict) = call.verdict {
                    return opinion(&call.provider, &call.model, verdict, call.reason.as_deref());
                }
            }
            Ok(None) => {}
            Err(e) => return failed(format!("the advisor's records are unavailable: {e}")),
        }
        let spent = match self.store.llm_spend(day_start(now)).await {
            Ok(spent) => spent,
            Err(e) => return failed(format!("the advisor's records are unavailable: {e}")),
        };
        if spent >= self.budget {
            return failed(format!(
                "the daily LLM budget of ${} is spent (${spent} today): no provider is asked until 00:00 UTC",
                self.budget
            ));
        }
        let prompt = brief.prompt();
        let mut notes = Vec::new();
        for provider in &self.providers {
            let name = provider.name();
            if let Some(rest) = self.resting(name) {
                notes.push(format!(
                    "{name} skipped: resting {} s after failures",
                    rest.as_secs()
                ));
                continue;
            }
            let started = Instant::now();
            let asked = tokio::time::timeout(self.timeout, provider.ask(&prompt))
                .await
                .unwrap_or(Err(ProviderFailure::Timeout {
                    after: self.timeout,
                }));
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let base = LlmCall {
                id: 0,
                at: Utc::now(),
                provider: name.to_owned(),
                model: provider.model().to_owned(),
                key,
                prompt_hash: prompt.hash.clone(),
                request: provider.request_json(&prompt),
                response: None,
                tokens_in: 0,
                tokens_out: 0,
                cost_usd: None,
                latency_ms,
                outcome: String::new(),
                verdict: None,
                reason: None,
            };
            match asked {
                Ok(answer) => {
                    let reason = format!("{} (confidence {})", answer.reason, answer.confidence);
                    let call = LlmCall {
                        model: answer.model.clone(),
                        request: answer.request_json.clone(),
                        response: Some(answer.response_json.clone()),
                        tokens_in: answer.usage.input,
                        tokens_out: answer.usage.output,
                        // Priced as the model answered; failing that, as the model asked
                        // (an answer may name a version the table does not list).
                        cost_usd: self
                            .prices
                            .cost(&answer.model, answer.usage)
                            .or_else(|| self.prices.cost(provider.model(), answer.usage)),
                        outcome: "answered".to_owned(),
                        verdict: Some(answer.verdict),
                        reason: Some(reason.clone()),
                        ..base
                    };
                    self.record(&call).await;
                    self.answered(name);
                    return opinion(name, &call.model, answer.verdict, Some(&reason));
                }
                Err(failure) => {
                    let usage = failure.usage().unwrap_or_default();
                    let response = match &failure {
                        ProviderFailure::Unreadable { response_json, .. }
                        | ProviderFailure::Refused { response_json, .. } => {
                            Some(response_json.clone())
                        }
                        _ => None,
                    };
                    let call = LlmCall {
                        response,
                        tokens_in: usage.input,
                        tokens_out: usage.output,
                        cost_usd: self.prices.cost(&base.model, usage),
                        outcome: failure.kind().to_owned(),
                        reason: Some(failure.to_string()),
                        ..base
                    };
                    self.record(&call).await;
                    self.failed(name, &failure);
                    tracing::warn!(provider = name, error = %failure, "the advisor's provider failed");
                    notes.push(format!("{name}: {failure}"));
                    if !failure.falls_back() {
                        break;
                    }
                }
            }
        }
        failed(if notes.is_empty() {
            "no provider could be asked".to_owned()
        } else {
            notes.join("; ")
        })
    }
}

/// An opinion naming its source.
fn opinion(
    provider: &str,
    model: &str,
    verdict: AdvisorVerdict,
    reason: Option<&str>,
) -> AdvisorInput {
    AdvisorInput::Opinion {
        opinion: AdvisorOpinion {
            verdict,
            reason: format!(
                "LLM advisor ({provider} {model}): {}",
                reason.unwrap_or("no reason given")
            ),
        },
    }
}

#[async_trait]
impl MarketAdvisor for LlmAdvisor {
    async fn advise(&self, request: &AdviceRequest<'_>) -> AdvisorInput {
        let key = request.key;
        let brief = MarketBrief::new(
            key.exchange,
            key.symbol,
            key.interval,
            key.action,
            request.candles,
            request.classification,
        );
        self.opinion(&brief, key, request.now).await
    }
}
