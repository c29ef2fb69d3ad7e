//! Audit log, gate decisions, cleanup and nonces.

use nexus_core::ports::audit::{AuditAction, AuditEvent};
use nexus_core::ports::jobs::{JobKind, NewJob};
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, Gatekeeper};
use nexus_core::{ExchangeId, UserId};
use nexus_store::Retention;
use uuid::Uuid;

use crate::{Db, both, keys, t};

fn event(action: AuditAction, secs: i64) -> AuditEvent {
    AuditEvent {
        actor: Some(UserId::new(Uuid::from_u128(7))),
        action,
        subject: Some("someone@example.com".into()),
        details: "{\"ip\":\"127.0.0.1\"}".into(),
        at: t(secs),
    }
}

both!(
    the_audit_log_appends_and_lists_newest_first,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let first = store
            .append(&event(AuditAction::SignInFailed, 0))
            .await
            .unwrap();
        let second = store.append(&event(AuditAction::SignIn, 1)).await.unwrap();
        assert!(second > first);
        let recent = store.recent(10, None).await.unwrap();
        assert_eq!(
            recent.iter().map(|r| r.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(recent[1].event, event(AuditAction::SignInFailed, 0));
        assert_eq!(
            store.recent(10, Some(second)).await.unwrap().len(),
            1,
            "paging backwards"
        );
    }
);

both!(gate_decisions_are_recorded_whole, |db: Db| async move {
    let store = db.open(keys()).await;
    let inputs = GateInputs {
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        action: GateAction::Entry,
        regime: Some(Regime::Bear),
        confidence: Some(0.8),
        data_age_ms: Some(1_000),
        advisor: AdvisorInput::NotAsked,
    };
    let blocked = Gatekeeper::default()
        .decide_and_record(inputs.clone(), t(0), store.as_ref())
        .await
        .unwrap();
    let allowed = Gatekeeper::default()
        .decide_and_record(
            GateInputs {
                action: GateAction::Exit,
                ..inputs
            },
            t(1),
            store.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.recent_decisions(10).await.unwrap(),
        [allowed, blocked]
    );
});

both!(
    a_markets_newest_decision_on_an_action_is_found,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let btc: nexus_core::Symbol = "BTC/USDT".parse().unwrap();
        let inputs = |exchange, symbol, action, regime| GateInputs {
            exchange,
            symbol,
            action,
            regime,
            confidence: Some(0.7),
            data_age_ms: Some(1_000),
            advisor: AdvisorInput::NotAsked,
        };
        let gate = Gatekeeper::default();
        let older = gate
            .decide_and_record(
                inputs(
                    ExchangeId::Paper,
                    btc,
                    GateAction::Entry,
                    Some(Regime::Bear),
                ),
                t(0),
                store.as_ref(),
            )
            .await
            .unwrap();
        let newest = gate
            .decide_and_record(
                inputs(
                    ExchangeId::Paper,
                    btc,
                    GateAction::Entry,
                    Some(Regime::Bull),
                ),
                t(10),
                store.as_ref(),
            )
            .await
            .unwrap();
        // Newer, but another action, venue or pair.
        for (exchange, symbol, action) in [
            (ExchangeId::Paper, btc, GateAction::Exit),
            (ExchangeId::Binance, btc, GateAction::Entry),
            (
                ExchangeId::Paper,
                "ETH/USDT".parse().unwrap(),
                GateAction::Entry,
            ),
        ] {
            gate.decide_and_record(
                inputs(exchange, symbol, action, Some(Regime::Sideways)),
                t(20),
                store.as_ref(),
            )
            .await
            .unwrap();
        }
        let found = store
            .market_decision(ExchangeId::Paper, btc, GateAction::Entry)
            .await
            .unwrap();
        assert_eq!(found, Some(newest));
        assert_ne!(found, Some(older));
        assert_eq!(
            store
                .market_decision(ExchangeId::Kraken, btc, GateAction::Entry)
                .await
                .unwrap(),
            None
        );
    }
);

both!(
    cleanup_keeps_seven_days_and_bounds_decisions,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let day = 24 * 3600;
        for (n, at) in [(0, 0), (1, 6 * day)] {
            let id = store
                .enqueue(&NewJob::new(JobKind::Cleanup, format!("{n}")), t(at))
                .await
                .unwrap()
                .unwrap();
            store
                .claim(
                    &[JobKind::Cleanup],
                    "w",
                    std::time::Duration::from_secs(60),
                    1,
                    t(at),
                )
                .await
                .unwrap();
            assert_eq!(store.complete(&[id], "w", t(at)).await.unwrap(), 1);
        }
        let inputs = GateInputs {
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            action: GateAction::Entry,
            regime: None,
            confidence: None,
            data_age_ms: None,
            advisor: AdvisorInput::NotAsked,
        };
        for at in [0, 6 * day, 6 * day + 1, 6 * day + 2] {
            Gatekeeper::default()
                .decide_and_record(inputs.clone(), t(at), store.as_ref())
                .await
                .unwrap();
        }
        let now = t(8 * day);
        let retention = Retention {
            max_decisions: 2,
            ..Retention::default()
        };
        let report = store.cleanup(now, retention).await.unwrap();
        assert_eq!((report.jobs, report.decisions), (1, 2), "{report:?}");
        let kept: Vec<_> = store
            .recent_decisions(10)
            .await
            .unwrap()
            .iter()
            .map(|d| d.at)
            .collect();
        assert_eq!(
            kept,
            [t(6 * day + 2), t(6 * day + 1)],
            "the newest two within 7 days"
        );
        assert_eq!(store.cleanup(now, retention).await.unwrap().decisions, 0);
    }
);

both!(
    nonces_rise_per_key_across_stores_sharing_the_database,
    |db: Db| async move {
        // Two handles on one database stand for two processes using the same key.
        let a = db.open(keys()).await;
        let b = db.open(keys()).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40u64 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            // A clock that stands still (or runs backwards) must not repeat a nonce.
            tasks.spawn(async move { store.next_nonce("key-1", 1_000 - i).await.unwrap() });
        }
        let mut seen = Vec::new();
        while let Some(n) = tasks.join_next().await {
            seen.push(n.unwrap());
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 40, "no nonce handed out twice");
        assert!(seen[0] >= 961);
        // A clock ahead of the counter moves it forward; other keys are independent.
        assert_eq!(a.next_nonce("key-1", 5_000_000).await.unwrap(), 5_000_000);
        assert_eq!(b.next_nonce("key-1", 0).await.unwrap(), 5_000_001);
        assert_eq!(a.next_nonce("key-2", 7).await.unwrap(), 7);
    }
);
