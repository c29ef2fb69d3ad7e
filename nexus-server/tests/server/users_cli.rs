//! `nexus users list|set-role|set-plan` against a real SQLite file and, when
//! `NEXUS_TEST_POSTGRES_URL` is set, PostgreSQL: the binary as an operator runs it.

use std::process::Command;
use std::sync::Arc;

use chrono::Utc;
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::{BotId, ExchangeId, Interval, UserId};
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};

use crate::support::{NEXUS, Schema};

/// Runs `nexus users …` on the database `url`: success, stdout, stderr.
async fn nexus(
    args: &[&str],
    url: &str,
    key: &str,
    data: &std::path::Path,
) -> (bool, String, String) {
    let mut cmd = Command::new(NEXUS);
    cmd.arg("users")
        .args(args)
        .env("NEXUS_DATA_DIR", data)
        .env("NEXUS_DATABASE_URL", url)
        .env("NEXUS_MASTER_KEY", key)
        .env("NEXUS_LOG", "warn")
        .env_remove("NEXUS_MASTER_KEY_PREVIOUS")
        .env_remove("NEXUS_PLANS");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn user_with_bots(store: &Arc<dyn Store>, email: &str, bots: usize) -> UserId {
    let now = Utc::now();
    let user = UserId::new(uuid::Uuid::new_v4());
    store
        .create_user(user, email, None, Role::User, now)
        .await
        .unwrap();
    for n in 0..bots {
        let bot = BotRecord {
            id: BotId::new(uuid::Uuid::new_v4()),
            user,
            name: format!("bot {n}"),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: Interval::H1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
            config: BotConfig::default(),
            credential: None,
            paused: false,
            paused_reason: None,
        };
        store
            .create_bot(&bot, now + chrono::Duration::seconds(n as i64))
            .await
            .unwrap();
    }
    user
}

async fn operator_commands(store: Arc<dyn Store>, url: &str, key: &str) {
    let data = tempfile::tempdir().unwrap();
    let ann = user_with_bots(&store, "ann@example.com", 4).await;
    user_with_bots(&store, "bob@example.com", 0).await;
    let run = |args: &'static [&'static str]| nexus(args, url, key, data.path());

    let (ok, out, err) = run(&["list"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("ann@example.com") && out.contains("bob@example.com"),
        "{out}"
    );
    assert!(out.ends_with("2 users\n"), "{out}");

    let (ok, out, err) = run(&["set-role", "ann@example.com", "admin"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "nexus users set-role: ann@example.com is now admin (was user)\n"
    );
    assert_eq!(store.user(ann).await.unwrap().unwrap().role, Role::Admin);
    let (ok, _, err) = run(&["set-role", "nobody@example.com", "admin"]).await;
    assert!(!ok);
    assert!(
        err.contains("no account has the address nobody@example.com"),
        "{err}"
    );

    let (ok, _, err) = run(&["set-plan", "bob@example.com", "gold"]).await;
    assert!(!ok);
    assert!(err.contains("the plans are free, pro, enterprise"), "{err}");
    let (ok, out, err) = run(&["set-plan", "ann@example.com", "enterprise"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "nexus users set-plan: ann@example.com is on enterprise (was free)\n"
    );
    let (ok, out, _) = run(&["list"]).await;
    assert!(ok);
    let line = out
        .lines()
        .find(|l| l.starts_with("ann@example.com"))
        .unwrap();
    assert!(
        line.contains("admin") && line.contains("enterprise"),
        "{line}"
    );
    // Down to free (3 bots): the newest of her 4 running bots is paused.
    let (ok, out, err) = run(&["set-plan", "ann@example.com", "free"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "nexus users set-plan: ann@example.com is on free (was enterprise), 1 bot paused to fit it\n"
    );
    let bots = store.user_bots(ann, None, 10).await.unwrap();
    let paused: Vec<&str> = bots
        .iter()
        .filter(|b| b.paused)
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(paused, ["bot 3"], "the newest is paused");

    let audit = store.recent(50, None).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|r| r.event.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "role_changed").count(),
        1,
        "{actions:?}"
    );
    assert_eq!(actions.iter().filter(|a| **a == "plan_changed").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_list_users_make_admins_and_give_plans_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let key = MasterKey::generate();
    let text = key.to_base64().to_string();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&url, Keyring::new(key, Vec::new()))
            .await
            .unwrap(),
    );
    operator_commands(store, &url, &text).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_list_users_make_admins_and_give_plans_on_postgres() {
    let Some(url) = crate::support::postgres("operators_list_users_make_admins_and_give_plans")
    else {
        return;
    };
    let schema = Schema::empty(&url);
    let key = MasterKey::generate();
    let text = key.to_base64().to_string();
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::open(&schema.url(), Keyring::new(key, Vec::new()))
            .await
            .unwrap(),
    );
    operator_commands(store, &schema.url(), &text).await;
}
