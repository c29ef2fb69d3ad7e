//! Audit log, gate decisions, the key vault and cleanup.

use nexus_core::ports::accounts::Role;
use nexus_core::ports::audit::{AuditAction, AuditEvent};
use nexus_core::ports::credentials::{ApiCredentials, CredentialId};
use nexus_core::ports::jobs::{JobKind, NewJob};
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, Gatekeeper};
use nexus_core::{ExchangeId, KeyPermissions, Secret, StoreError, UserId};
use nexus_store::Retention;
use nexus_store::vault::{Keyring, MasterKey};
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

fn creds() -> ApiCredentials {
    ApiCredentials {
        api_key: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A".into(),
        secret: Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"),
        passphrase: Some(Secret::new("pass phrase")),
    }
}

async fn user(store: &dyn nexus_store::Store, n: u128) -> UserId {
    let id = UserId::new(Uuid::from_u128(n));
    store
        .create_user(id, &format!("user{n}@example.com"), None, Role::User, t(0))
        .await
        .unwrap();
    id
}

both!(
    credentials_are_encrypted_per_user_and_never_listed,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let (alice, bob) = (user(store.as_ref(), 1).await, user(store.as_ref(), 2).await);
        let perms = KeyPermissions {
            read: true,
            trade: true,
            withdraw: false,
        };
        let info = store
            .add_credentials(alice, ExchangeId::Binance, "main", &creds(), perms, t(0))
            .await
            .unwrap();
        assert_eq!(
            (
                info.masked_key.as_str(),
                info.permissions,
                info.label.as_str()
            ),
            ("vmPU…Eh8A", perms, "main")
        );
        let listed = store.list_credentials(alice).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0], info);
        assert!(!format!("{listed:?}").contains("NhqPtmd"));
        assert_eq!(
            store.credentials(alice, info.id).await.unwrap(),
            Some(creds())
        );
        assert_eq!(
            store.credentials(bob, info.id).await.unwrap(),
            None,
            "another user cannot read them"
        );
        assert!(store.list_credentials(bob).await.unwrap().is_empty());
        assert!(!store.delete_credentials(bob, info.id).await.unwrap());
        assert!(store.delete_credentials(alice, info.id).await.unwrap());
        assert_eq!(store.credentials(alice, info.id).await.unwrap(), None);
    }
);

both!(
    rotation_re_encrypts_gradually_and_both_keys_read_meanwhile,
    |db: Db| async move {
        let old = MasterKey::generate();
        let old_text = old.to_base64();
        let store = db.open(Keyring::new(old, Vec::new())).await;
        let alice = user(store.as_ref(), 1).await;
        let perms = KeyPermissions::default();
        let mut ids: Vec<CredentialId> = Vec::new();
        for label in ["a", "b", "c"] {
            ids.push(
                store
                    .add_credentials(alice, ExchangeId::Kraken, label, &creds(), perms, t(0))
                    .await
                    .unwrap()
                    .id,
            );
        }
        drop(store);

        let new = MasterKey::generate();
        let new_text = new.to_base64();
        let previous = MasterKey::from_base64(&old_text, "old").unwrap();
        let rotating = db.open(Keyring::new(new, vec![previous])).await;
        assert_eq!(rotating.stale_credentials().await.unwrap(), 3);
        assert_eq!(
            rotating.credentials(alice, ids[0]).await.unwrap(),
            Some(creds()),
            "old rows still read"
        );
        assert_eq!(rotating.rotate_keys(2, t(1)).await.unwrap(), 2);
        assert_eq!(rotating.stale_credentials().await.unwrap(), 1);
        for id in &ids {
            assert_eq!(
                rotating.credentials(alice, *id).await.unwrap(),
                Some(creds()),
                "mixed keys read"
            );
        }
        assert_eq!(rotating.rotate_keys(2, t(2)).await.unwrap(), 1);
        assert_eq!(rotating.rotate_keys(2, t(3)).await.unwrap(), 0, "done");
        drop(rotating);

        let only_new = db
            .open(Keyring::new(
                MasterKey::from_base64(&new_text, "new").unwrap(),
                Vec::new(),
            ))
            .await;
        for id in &ids {
            assert_eq!(
                only_new.credentials(alice, *id).await.unwrap(),
                Some(creds())
            );
        }
        // Without the key they were sealed under, rows are a typed error, not a panic.
        let stranger = db.open(keys()).await;
        match stranger.credentials(alice, ids[0]).await {
            Err(StoreError::Corrupt { message }) => {
                assert!(message.contains("no master key with id"), "{message}")
            }
            other => panic!("expected a corrupt-data error, got {other:?}"),
        }
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
