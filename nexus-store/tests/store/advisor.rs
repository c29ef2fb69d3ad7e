//! The advisor's records: calls with their costs, the first answer of a market and candle
//! as the cache, the day's spend, and the admins' pages.

use nexus_core::ports::advisor::{LlmCall, VerdictKey, usage};
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_core::regime::gate::GateAction;
use nexus_core::{ExchangeId, Interval};
use rust_decimal::Decimal;

use crate::{Db, both, keys, t};

fn key(candle: i64) -> VerdictKey {
    VerdictKey {
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        interval: Interval::H4,
        candle: t(candle),
        action: GateAction::Entry,
    }
}

fn call(
    at: i64,
    provider: &str,
    outcome: &str,
    verdict: Option<AdvisorVerdict>,
    cost: &str,
) -> LlmCall {
    LlmCall {
        id: 0,
        at: t(at),
        provider: provider.into(),
        model: format!("{provider}-small"),
        key: key(100),
        prompt_hash: "ab".repeat(32),
        request: r#"{"messages":[]}"#.into(),
        response: verdict.map(|_| r#"{"verdict":"block"}"#.into()),
        tokens_in: 1_234,
        tokens_out: 56,
        cost_usd: (!cost.is_empty()).then(|| cost.parse().unwrap()),
        latency_ms: 420,
        outcome: outcome.into(),
        verdict,
        reason: Some("falling volume".into()),
    }
}

both!(
    calls_are_recorded_and_the_first_answer_is_the_cache,
    |db: Db| async move {
        let store = db.open(keys()).await;
        assert_eq!(store.cached_verdict(&key(100)).await.unwrap(), None);
        let failed = store
            .record_llm_call(&call(10, "openai", "rate_limited", None, ""))
            .await
            .unwrap();
        assert_eq!(
            store.cached_verdict(&key(100)).await.unwrap(),
            None,
            "a failure is no answer"
        );
        let first = store
            .record_llm_call(&call(
                11,
                "anthropic",
                "answered",
                Some(AdvisorVerdict::Block),
                "0.0003",
            ))
            .await
            .unwrap();
        store
            .record_llm_call(&call(
                12,
                "openai",
                "answered",
                Some(AdvisorVerdict::Allow),
                "0.000219",
            ))
            .await
            .unwrap();
        let cached = store.cached_verdict(&key(100)).await.unwrap().unwrap();
        assert_eq!(
            (cached.id, cached.verdict),
            (first, Some(AdvisorVerdict::Block))
        );
        assert_eq!(
            cached,
            LlmCall {
                id: first,
                ..call(
                    11,
                    "anthropic",
                    "answered",
                    Some(AdvisorVerdict::Block),
                    "0.0003"
                )
            }
        );
        assert_eq!(
            store.cached_verdict(&key(101)).await.unwrap(),
            None,
            "another candle"
        );

        assert_eq!(
            store.llm_spend(t(0)).await.unwrap(),
            "0.000519".parse::<Decimal>().unwrap()
        );
        assert_eq!(
            store.llm_spend(t(12)).await.unwrap(),
            "0.000219".parse::<Decimal>().unwrap()
        );
        let all = store.llm_calls_between(t(0), t(100)).await.unwrap();
        assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>()[0], failed);
        let by_provider = usage(&all);
        let openai = by_provider.iter().find(|u| u.provider == "openai").unwrap();
        assert_eq!(
            (
                openai.calls,
                openai.failures,
                openai.tokens_in,
                openai.tokens_out
            ),
            (2, 1, 2_468, 112)
        );
        assert_eq!(openai.cost_usd, "0.000219".parse::<Decimal>().unwrap());
        let page = store.llm_calls(None, 2).await.unwrap();
        assert_eq!(page.len(), 2);
        let rest = store.llm_calls(Some(page[1].id), 2).await.unwrap();
        assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), vec![failed]);
    }
);
