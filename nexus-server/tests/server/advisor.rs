//! The LLM advisor against local OpenAI and Anthropic servers answering their documented
//! JSON, over the real store (SQLite, and PostgreSQL when set): one call per market and
//! candle whatever the bots or instances, the fallback on failures, the budget, the records
//! and their costs, and a block reaching the gate's decision.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use nexus_core::ports::advisor::{VerdictKey, usage};
use nexus_core::regime::Regime;
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_core::regime::gate::{
    AdvisorInput, AdvisorUse, GateAction, GateInputs, GatePolicy, GateReason, Gatekeeper,
};
use nexus_core::{ExchangeId, Interval, Secret};
use nexus_server::advisor::anthropic::AnthropicClient;
use nexus_server::advisor::openai::OpenAiClient;
use nexus_server::advisor::prices::PriceTable;
use nexus_server::advisor::prompt::MarketBrief;
use nexus_server::advisor::provider::LlmProvider;
use nexus_server::advisor::service::LlmAdvisor;
use nexus_server::metrics::Metrics;
use nexus_store::Store;
use rust_decimal::Decimal;

use crate::support::llm::{Flavor, LlmMock, Scripted};
use crate::support::{Backend, TestDb, on_each};

const OPENAI_KEY: &str = "sk-test-advisor-openai-key";
const ANTHROPIC_KEY: &str = "sk-ant-test-advisor-key";

struct World {
    openai: Arc<LlmMock>,
    anthropic: Arc<LlmMock>,
    metrics: Arc<Metrics>,
    db: TestDb,
}

async fn world(backend: Backend) -> World {
    World {
        openai: LlmMock::start(Flavor::OpenAi, OPENAI_KEY).await,
        anthropic: LlmMock::start(Flavor::Anthropic, ANTHROPIC_KEY).await,
        metrics: Arc::new(Metrics::default()),
        db: TestDb::open(backend).await,
    }
}

impl World {
    /// An advisor over `store` asking OpenAI, then (when `fallback`) Anthropic.
    fn advisor(&self, store: Arc<dyn Store>, fallback: bool, budget: &str) -> LlmAdvisor {
        let timeout = Duration::from_secs(5);
        let mut providers: Vec<Arc<dyn LlmProvider>> = vec![Arc::new(
            OpenAiClient::new(
                &self.openai.base(),
                Secret::new(OPENAI_KEY),
                "gpt-5.6-luna",
                timeout,
            )
            .unwrap(),
        )];
        if fallback {
            providers.push(Arc::new(
                AnthropicClient::new(
                    &self.anthropic.base(),
                    Secret::new(ANTHROPIC_KEY),
                    "claude-haiku-4-5",
                    timeout,
                )
                .unwrap(),
            ));
        }
        LlmAdvisor::new(
            providers,
            store,
            PriceTable::default(),
            budget.parse().unwrap(),
            timeout,
            Arc::clone(&self.metrics),
        )
    }
}

fn key(candle: i64) -> VerdictKey {
    VerdictKey {
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        interval: Interval::H4,
        candle: Utc
            .timestamp_opt(1_767_225_600 + candle * 14_400, 0)
            .single()
            .unwrap(),
        action: GateAction::Entry,
    }
}

fn brief(key: VerdictKey) -> MarketBrief {
    MarketBrief::new(
        key.exchange,
        key.symbol,
        key.interval,
        key.action,
        &[],
        None,
    )
}

async fn ask(advisor: &LlmAdvisor, candle: i64) -> AdvisorInput {
    let key = key(candle);
    advisor.opinion(&brief(key), key, Utc::now()).await
}

fn gate(advisor: AdvisorInput, policy: GatePolicy) -> nexus_core::regime::gate::GateDecision {
    Gatekeeper::new(policy).decide(
        GateInputs {
            exchange: ExchangeId::Binance,
            symbol: "BTC/USDT".parse().unwrap(),
            action: GateAction::Entry,
            regime: Some(Regime::Bull),
            confidence: None,
            data_age_ms: Some(1_000),
            advisor,
        },
        Utc::now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_block_is_asked_once_per_market_and_candle_and_reaches_the_gate() {
    on_each("advisor block", world, |w| async move {
        let advisor = w.advisor(Arc::clone(&w.db.store), false, "5");
        w.openai.script(Scripted::verdict(
            "block",
            0.8,
            "volume is falling into resistance",
        ));
        let opinion = ask(&advisor, 1).await;
        let AdvisorInput::Opinion { opinion: said } = &opinion else {
            panic!("{opinion:?}");
        };
        assert_eq!(said.verdict, AdvisorVerdict::Block);
        assert!(
            said.reason.starts_with("LLM advisor (openai "),
            "{}",
            said.reason
        );
        assert!(said.reason.contains("volume is falling into resistance"));
        // A second bot, and a second instance on the same database: nobody asks again.
        assert_eq!(ask(&advisor, 1).await, opinion);
        let other = w.advisor(w.db.another_store().await, false, "5");
        assert_eq!(ask(&other, 1).await, opinion);
        assert_eq!(w.openai.requests().len(), 1);

        let decision = gate(opinion.clone(), GatePolicy::default());
        assert!(!decision.allowed);
        assert!(decision.reasons.iter().any(
            |r| matches!(r, GateReason::AdvisorBlocked { reason } if reason.contains("resistance"))
        ));
        let ignoring = GatePolicy {
            advisor: AdvisorUse::Ignore,
            ..GatePolicy::default()
        };
        assert!(gate(opinion, ignoring).allowed, "a bot may opt out");

        let calls = w.db.store.llm_calls(None, 10).await.unwrap();
        assert_eq!(calls.len(), 1);
        let call = &calls[0];
        assert_eq!(
            (call.outcome.as_str(), call.verdict),
            ("answered", Some(AdvisorVerdict::Block))
        );
        assert!(
            call.tokens_in > 0 && call.cost_usd.is_some_and(|c| c > Decimal::ZERO),
            "{call:?}"
        );
        assert!(
            !call.request.contains(OPENAI_KEY),
            "the key is never recorded"
        );
        assert_eq!(call.prompt_hash.len(), 64);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_fall_back_to_the_other_provider_and_every_call_is_recorded() {
    on_each("advisor fallback", world, |w| async move {
        let advisor = w.advisor(Arc::clone(&w.db.store), true, "5");
        w.openai.script(Scripted::status(500, crate::support::llm::files::OPENAI_SERVER));
        w.anthropic.script(Scripted::verdict("allow", 0.6, "trend intact"));
        let first = ask(&advisor, 2).await;
        assert!(matches!(&first, AdvisorInput::Opinion { opinion } if opinion.reason.contains("anthropic")), "{first:?}");
        // A 429 with Retry-After: OpenAI rests, so the next question goes to Anthropic only.
        w.openai.script(Scripted::status_retry_after(429, crate::support::llm::files::OPENAI_RATE_LIMIT, "60"));
        w.anthropic.script(Scripted::verdict("block", 0.9, "funding spike"));
        assert!(matches!(ask(&advisor, 3).await, AdvisorInput::Opinion { opinion } if opinion.verdict == AdvisorVerdict::Block));
        w.anthropic.script(Scripted::verdict("allow", 0.5, "fine"));
        ask(&advisor, 4).await;
        assert_eq!(w.openai.requests().len(), 2, "resting after its Retry-After");
        assert_eq!(w.anthropic.requests().len(), 3);

        let calls = w.db.store.llm_calls_between(Utc::now() - chrono::Duration::hours(1), Utc::now() + chrono::Duration::hours(1)).await.unwrap();
        let outcomes: Vec<(&str, &str)> = calls.iter().map(|c| (c.provider.as_str(), c.outcome.as_str())).collect();
        assert_eq!(
            outcomes,
            [("openai", "server_error"), ("anthropic", "answered"), ("openai", "rate_limited"), ("anthropic", "answered"), ("anthropic", "answered")]
        );
        let by_provider = usage(&calls);
        let anthropic = by_provider.iter().find(|u| u.provider == "anthropic").unwrap();
        assert_eq!((anthropic.calls, anthropic.failures), (3, 0));
        assert!(anthropic.cost_usd > Decimal::ZERO);
        let openai = by_provider.iter().find(|u| u.provider == "openai").unwrap();
        assert_eq!((openai.calls, openai.failures), (2, 2));
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreadable_answer_is_no_opinion_and_the_budget_stops_calls() {
    on_each("advisor budget", world, |w| async move {
        let advisor = w.advisor(Arc::clone(&w.db.store), false, "0.0000001");
        w.openai.script(Scripted::Content("I think you should buy".to_owned()));
        let unreadable = ask(&advisor, 5).await;
        assert!(matches!(&unreadable, AdvisorInput::Error { .. }), "{unreadable:?}");
        let decision = gate(unreadable, GatePolicy::default());
        assert!(decision.allowed, "no opinion");
        assert!(decision.reasons.iter().any(|r| matches!(r, GateReason::AdvisorUnavailable { blocked: false, .. })));
        let recorded = &w.db.store.llm_calls(None, 1).await.unwrap()[0];
        assert_eq!(recorded.outcome, "unreadable");
        assert!(recorded.cost_usd.is_some_and(|c| c > Decimal::ZERO), "its tokens were paid for");

        // That call spent the day's budget: nothing more is asked, and the decision says so.
        let spent = ask(&advisor, 6).await;
        let AdvisorInput::Error { error } = &spent else {
            panic!("{spent:?}");
        };
        assert!(error.to_string().contains("daily LLM budget"), "{error}");
        assert_eq!(w.openai.requests().len(), 1);
        let rendered = w.metrics.render(Some(&w.db.store)).await;
        assert!(rendered.contains("nexus_llm_calls_total{provider=\"openai\",model=\"gpt-5.6-luna\",outcome=\"unreadable\"} 1"), "{rendered}");
        assert!(!rendered.contains(OPENAI_KEY));
        // The budget and the day's spending, read from the store: what the alert compares.
        let gauge = |name: &str| -> f64 {
            rendered
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in {rendered}"))
                .parse()
                .unwrap()
        };
        assert_eq!(gauge("nexus_llm_budget_usd"), 0.0000001);
        let cost = recorded.cost_usd.unwrap();
        assert_eq!(gauge("nexus_llm_spent_today_usd"), rust_decimal::prelude::ToPrimitive::to_f64(&cost).unwrap());
        assert!(gauge("nexus_llm_spent_today_usd") >= gauge("nexus_llm_budget_usd"), "spent: the alert's condition holds");
        w
    })
    .await;
}
