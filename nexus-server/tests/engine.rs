//! The engine end to end: a real instance (API, elected scheduler, workers, Paper venue)
//! on a fresh SQLite file and, when `NEXUS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
//! schema. Users sign up through the API, create Paper bots, and one signal becomes one
//! order each, after one market-data call.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use nexus_core::regime::gate::GateAction;
use nexus_server::api::signature::sign;
use nexus_server::config::Config;
use nexus_server::email::Outbox;
use nexus_server::instance::{Instance, launch};
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

const SOURCE_SECRET: &str = "tv-secret-0123456789";

struct World {
    instance: Option<Instance>,
    config: Config,
    store: Arc<dyn Store>,
    outbox: PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    cleanup: Option<(String, String)>,
}

async fn start(postgres: Option<String>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    let (store, cleanup): (Arc<dyn Store>, _) = match postgres {
        None => {
            let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
            (Arc::new(SqliteStore::open(&url, keys).await.unwrap()), None)
        }
        Some(url) => {
            let schema = format!("engine_{}", uuid::Uuid::new_v4().simple());
            let store = PostgresStore::open_in_schema(&url, &schema, keys)
                .await
                .unwrap();
            (Arc::new(store), Some((url, schema)))
        }
    };
    // The longest TTL and a feed that stays still after its warm-up: whatever the test's
    // pace, the market-data call it makes is the only one.
    let config = Config::from_lookup(|var| {
        Ok(match var {
            "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
            "NEXUS_MARKET_TTL_SECS" => Some("30".to_owned()),
            "NEXUS_PAPER_CANDLE_SECS" => Some("3600".to_owned()),
            "NEXUS_SIGNAL_SOURCES" => Some(format!("tv={SOURCE_SECRET}")),
            _ => None,
        })
    })
    .unwrap();
    let outbox = dir.path().join("outbox");
    let instance = launch(
        &config,
        Arc::clone(&store),
        Arc::new(Outbox::new(&outbox)),
        None,
    )
    .await
    .unwrap();
    nexus_exchanges::http::install_tls_provider();
    World {
        instance: Some(instance),
        config,
        store,
        outbox,
        http: reqwest::Client::new(),
        _dir: dir,
        cleanup,
    }
}

impl World {
    fn url(&self) -> &str {
        &self.instance.as_ref().unwrap().url
    }

    async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url())).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    fn emails_to(&self, to: &str) -> Vec<Value> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        dir.map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.unwrap().path()).unwrap()))
            .map(Result::unwrap)
            .filter(|email| email["to"] == to)
            .collect()
    }

    /// Signs up, verifies (the link from the outbox) and signs in.
    async fn user(&self, email: &str) -> String {
        let password = "correct horse battery";
        let (status, _) = self
            .post(
                "/api/v1/auth/signup",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let mail = self.emails_to(email).pop().unwrap();
        let text = mail["text"].as_str().unwrap();
        let token = text[text.find("?token=").unwrap() + 7..]
            .split_whitespace()
            .next()
            .unwrap();
        let (status, _) = self
            .post("/api/v1/auth/verify", &json!({"token": token}), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        body["token"].as_str().unwrap().to_owned()
    }

    async fn metric(&self, line_start: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    }

    /// Polls `what` until it holds, for up to 20 s.
    async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Waits until the scheduler has classified the bots' market.
    async fn regime_classified(&self) {
        let store = Arc::clone(&self.store);
        self.eventually("the market's regime", || {
            let store = Arc::clone(&store);
            async move {
                store
                    .recent_decisions(10)
                    .await
                    .unwrap()
                    .iter()
                    .any(|d| d.regime.is_some())
            }
        })
        .await;
    }

    /// Stops the instance and starts a new one on the same store: a restart.
    async fn restart(&mut self) {
        self.instance.take().unwrap().stop().await.unwrap();
        let instance = launch(
            &self.config,
            Arc::clone(&self.store),
            Arc::new(Outbox::new(&self.outbox)),
            None,
        )
        .await
        .unwrap();
        self.instance = Some(instance);
    }

    async fn finish(mut self) {
        self.instance.take().unwrap().stop().await.unwrap();
        if let Some((url, schema)) = self.cleanup.take() {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// A Paper bot following the `tv` source, whose entries any regime allows (so a test does
/// not depend on where the replayed market stands).
fn webhook_bot() -> Value {
    json!({
        "exchange": "paper", "symbol": "BTC/USDT", "interval": "1d",
        "strategy": "webhook", "strategy_config": {"source": "tv"},
        "gate": {"entry_regimes": ["bull", "sideways", "bear", "volatile"]}
    })
}

/// A `tv` signal for BTC/USDT on Paper, proved by its token.
fn signal(action: &str, key: &str) -> Value {
    json!({"source": "tv", "token": SOURCE_SECRET, "action": action,
        "exchange": "paper", "symbol": "BTC/USDT", "idempotency_key": key})
}

/// `body`'s `X-Nexus-Signature` with the `tv` source's secret, signed now.
fn signed(body: &str) -> String {
    sign(
        SOURCE_SECRET,
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    )
}

/// The body-only signature of earlier releases (`NEXUS_SIGNALS_LEGACY_SIGNATURE=1`).
fn legacy_signed(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SOURCE_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn one_signal_trades_for_every_user(w: World) -> World {
    let alice = w.user("alice@example.com").await;
    let bob = w.user("bob@example.com").await;
    // Both follow the same outside source; any regime allows their entries, so the test
    // does not depend on where the replayed market stands.
    let bot = webhook_bot();
    let (status, a) = w.post("/api/v1/bots", &bot, Some(&alice)).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (status, b) = w.post("/api/v1/bots", &bot, Some(&bob)).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let bots = [
        (alice.clone(), a["id"].as_str().unwrap().to_owned()),
        (bob.clone(), b["id"].as_str().unwrap().to_owned()),
    ];

    // The scheduler classifies the bots' market and records the gate's decision.
    w.regime_classified().await;

    // Wrong credentials are refused before anything is queued.
    let entry = json!({"source": "tv", "token": SOURCE_SECRET, "action": "entry",
        "exchange": "paper", "symbol": "BTC/USDT", "idempotency_key": "alert-1"});
    let mut wrong = entry.clone();
    wrong["token"] = json!("not the secret");
    let (status, body) = w.post("/api/v1/signals", &wrong, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_signal_credentials");
    let mut unknown = entry.clone();
    unknown["source"] = json!("nobody");
    assert_eq!(
        w.post("/api/v1/signals", &unknown, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, first) = w.post("/api/v1/signals", &entry, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["duplicate"], false);
    let (status, again) = w.post("/api/v1/signals", &entry, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["duplicate"], true, "a repeated delivery is ignored");
    assert_eq!(again["signal_id"], first["signal_id"]);

    for (token, id) in &bots {
        let path = format!("/api/v1/bots/{id}/positions");
        w.eventually("each bot's position", || async {
            w.get(&path, token).await.as_array().unwrap().len() == 1
        })
        .await;
        let orders = w.get(&format!("/api/v1/bots/{id}/orders"), token).await;
        let orders = orders.as_array().unwrap();
        assert_eq!(orders.len(), 1, "one order per bot: {orders:?}");
        assert_eq!(orders[0]["state"], "filled");
        assert_eq!(orders[0]["side"], "buy");
        assert_eq!(orders[0]["signal_id"], first["signal_id"]);
        let fills = w.get(&format!("/api/v1/bots/{id}/fills"), token).await;
        assert_eq!(fills.as_array().unwrap().len(), 1);
        let positions = w.get(&format!("/api/v1/bots/{id}/positions"), token).await;
        assert_eq!(positions[0]["closed_at"], Value::Null);
        // The buy's fee is taken in BTC: the position holds a little less than was bought.
        let dec = |v: &Value| {
            v.as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        };
        let (held, bought) = (
            dec(&positions[0]["quantity"]),
            dec(&orders[0]["filled_quantity"]),
        );
        assert!(
            held > rust_decimal::Decimal::ZERO && held < bought,
            "{held} of {bought}"
        );
    }
    // One market-data call served the signal, both bots and the scheduler.
    assert_eq!(
        w.metric("nexus_market_data_upstream_calls_total{exchange=\"paper\"}")
            .await,
        1.0
    );
    assert_eq!(
        w.metric("nexus_orders_total{exchange=\"paper\",status=\"filled\"}")
            .await,
        2.0
    );
    assert_eq!(
        w.metric("nexus_signals_total{strategy=\"webhook\"}").await,
        1.0
    );
    assert_eq!(
        w.metric("nexus_plans_total{outcome=\"planned\"}").await,
        2.0
    );
    // The signal's own gate decision, recorded before it was acted on.
    let decisions = w.store.recent_decisions(50).await.unwrap();
    assert!(
        decisions
            .iter()
            .any(|d| d.inputs.action == GateAction::Entry && d.allowed),
        "{decisions:?}"
    );
    // Each owner is told about the trade.
    for to in ["alice@example.com", "bob@example.com"] {
        let mail = to;
        w.eventually("the trade alert", || async {
            w.emails_to(mail)
                .iter()
                .any(|m| m["subject"].as_str().unwrap().starts_with("Nexus: Bought"))
        })
        .await;
    }

    // An exit signed with the source's HMAC instead of a token closes both positions.
    let exit = json!({"source": "tv", "action": "exit", "exchange": "paper",
        "symbol": "BTC/USDT", "idempotency_key": "alert-2"})
    .to_string();
    let send = |signature: String| {
        w.http
            .post(format!("{}/api/v1/signals", w.url()))
            .header("content-type", "application/json")
            .header("x-nexus-signature", signature)
            .body(exit.clone())
            .send()
    };
    let refused = send(signed("another body")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let accepted = send(signed(&exit)).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    for (token, id) in &bots {
        let path = format!("/api/v1/bots/{id}/positions");
        w.eventually("the position to close", || async {
            w.get(&path, token).await[0]["closed_at"] != Value::Null
        })
        .await;
        let orders = w.get(&format!("/api/v1/bots/{id}/orders"), token).await;
        assert_eq!(orders.as_array().unwrap().len(), 2);
        assert_eq!(orders[0]["side"], "sell");
    }
    w
}

/// A Paper bot buys, the server restarts, and the exit sells what was bought: the Paper
/// account lives in the store, not in the memory of the process that bought.
async fn a_paper_position_survives_a_restart(mut w: World) -> World {
    let carol = w.user("carol@example.com").await;
    let bot = webhook_bot();
    let (status, created) = w.post("/api/v1/bots", &bot, Some(&carol)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    w.regime_classified().await;
    let (status, _) = w
        .post("/api/v1/signals", &signal("entry", "r-1"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let positions = format!("/api/v1/bots/{id}/positions");
    w.eventually("the entry's position", || async {
        w.get(&positions, &carol).await.as_array().unwrap().len() == 1
    })
    .await;
    let held = w.get(&positions, &carol).await[0]["quantity"].clone();

    w.restart().await;
    // Sessions live in the store too: carol's token still works on the new process.
    let (status, _) = w
        .post("/api/v1/signals", &signal("exit", "r-2"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    w.eventually("the exit to close the position", || async {
        w.get(&positions, &carol).await[0]["closed_at"] != Value::Null
    })
    .await;
    let orders = w.get(&format!("/api/v1/bots/{id}/orders"), &carol).await;
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_eq!(
        (orders[0]["side"].as_str(), orders[0]["state"].as_str()),
        (Some("sell"), Some("filled"))
    );
    let dec = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    let (sold, held) = (dec(&orders[0]["filled_quantity"]), dec(&held));
    // Everything held is sold but what is below the step (the dust).
    assert!(
        sold <= held && held - sold < rust_decimal::Decimal::new(1, 5),
        "sold {sold} of {held}"
    );
    let skips = w.get(&format!("/api/v1/bots/{id}/skips"), &carol).await;
    assert!(skips.as_array().unwrap().is_empty(), "{skips}");
    assert!(
        w.store
            .out_of_sync(nexus_core::ports::activity::Page {
                before: None,
                limit: 10
            })
            .await
            .unwrap()
            .is_empty()
    );
    w
}

/// Sets what the Paper account of `email` holds of `asset`, behind the bot's back (as a
/// user selling on their exchange account by hand would).
async fn set_paper_balance(w: &World, email: &str, asset: &str, amount: &str) {
    let (user, _) = w.store.user_by_email(email).await.unwrap().unwrap();
    let account = nexus_exchanges::paper::account_name(user.id);
    let (asset, amount) = (
        nexus_core::Asset::new(asset).unwrap(),
        amount.parse::<rust_decimal::Decimal>().unwrap(),
    );
    w.store
        .update_paper(std::slice::from_ref(&account), &[], &mut |book| {
            book.accounts
                .get_mut(&account)
                .unwrap()
                .balances
                .insert(asset, amount);
        })
        .await
        .unwrap();
}

/// Two bots whose positions the Paper account no longer fully holds: one account holds
/// half (half is sold), the other nothing (skipped as out of sync). Neither is taken for
/// dust: both are recorded for admins and their owners are emailed.
async fn positions_out_of_sync_are_flagged_not_dropped(w: World) -> World {
    let dave = w.user("dave@example.com").await;
    let erin = w.user("erin@example.com").await;
    let bot = webhook_bot();
    let mut bots = Vec::new();
    for token in [&dave, &erin] {
        let (status, created) = w.post("/api/v1/bots", &bot, Some(token)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        bots.push(created["id"].as_str().unwrap().to_owned());
    }
    w.regime_classified().await;
    let (status, _) = w
        .post("/api/v1/signals", &signal("entry", "s-1"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let dec = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap()
    };
    let mut held = Vec::new();
    for (token, id) in [&dave, &erin].into_iter().zip(&bots) {
        let path = format!("/api/v1/bots/{id}/positions");
        w.eventually("the entry's position", || async {
            w.get(&path, token).await.as_array().unwrap().len() == 1
        })
        .await;
        held.push(dec(&w.get(&path, token).await[0]["quantity"]));
    }
    let half = (held[0] / rust_decimal::Decimal::TWO).round_dp(5);
    set_paper_balance(&w, "dave@example.com", "BTC", &half.to_string()).await;
    set_paper_balance(&w, "erin@example.com", "BTC", "0").await;

    let (status, exit) = w
        .post("/api/v1/signals", &signal("exit", "s-2"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for (token, id) in [&dave, &erin].into_iter().zip(&bots) {
        let path = format!("/api/v1/bots/{id}/positions");
        w.eventually("the position to close", || async {
            w.get(&path, token).await[0]["closed_at"] != Value::Null
        })
        .await;
    }
    // Dave's account held half: half was sold.
    let orders = w
        .get(&format!("/api/v1/bots/{}/orders", bots[0]), &dave)
        .await;
    assert_eq!(orders[0]["side"], "sell");
    assert_eq!(dec(&orders[0]["filled_quantity"]), half);
    // Erin's held nothing: no order, a skip of its own.
    let orders = w
        .get(&format!("/api/v1/bots/{}/orders", bots[1]), &erin)
        .await;
    assert_eq!(orders.as_array().unwrap().len(), 1, "only the entry");
    let skips = w
        .get(&format!("/api/v1/bots/{}/skips", bots[1]), &erin)
        .await;
    assert_eq!(skips[0]["reason"], "out_of_sync", "{skips}");
    assert!(
        skips[0]["detail"].as_str().unwrap().contains("out of sync"),
        "{skips}"
    );

    // Admins see both, with what was expected, held and sold.
    let (admin, _) = w
        .store
        .user_by_email("dave@example.com")
        .await
        .unwrap()
        .unwrap();
    w.store
        .set_role(
            admin.id,
            nexus_core::ports::accounts::Role::Admin,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let flagged = w.get("/api/v1/admin/out-of-sync", &dave).await;
    let flagged = flagged.as_array().unwrap();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    for entry in flagged {
        assert_eq!(entry["signal_id"], exit["signal_id"]);
        let sold = dec(&entry["sold"]);
        if entry["bot_id"] == bots[0].as_str() {
            assert_eq!((dec(&entry["expected"]), sold), (held[0], half));
            assert_eq!(dec(&entry["available"]), half);
        } else {
            assert_eq!(
                (dec(&entry["expected"]), sold),
                (held[1], rust_decimal::Decimal::ZERO)
            );
            assert_eq!(dec(&entry["available"]), rust_decimal::Decimal::ZERO);
        }
    }
    // Each owner is told.
    for to in ["dave@example.com", "erin@example.com"] {
        w.eventually("the out-of-sync alert", || async {
            w.emails_to(to)
                .iter()
                .any(|m| m["subject"].as_str().unwrap().contains("out of sync"))
        })
        .await;
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_out_of_sync_are_flagged_not_dropped_on_sqlite() {
    let w = start(None).await;
    positions_out_of_sync_are_flagged_not_dropped(w)
        .await
        .finish()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_out_of_sync_are_flagged_not_dropped_on_postgres() {
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        eprintln!("skipped: NEXUS_TEST_POSTGRES_URL is unset");
        return;
    };
    let w = start(Some(url)).await;
    positions_out_of_sync_are_flagged_not_dropped(w)
        .await
        .finish()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_position_survives_a_restart_on_sqlite() {
    let w = start(None).await;
    a_paper_position_survives_a_restart(w).await.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_position_survives_a_restart_on_postgres() {
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        eprintln!("skipped: NEXUS_TEST_POSTGRES_URL is unset");
        return;
    };
    let w = start(Some(url)).await;
    a_paper_position_survives_a_restart(w).await.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signal_one_market_data_call_one_order_per_user_on_sqlite() {
    let w = start(None).await;
    one_signal_trades_for_every_user(w).await.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signal_one_market_data_call_one_order_per_user_on_postgres() {
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped the PostgreSQL end-to-end test: NEXUS_TEST_POSTGRES_URL is unset"
        );
        return;
    };
    let w = start(Some(url)).await;
    one_signal_trades_for_every_user(w).await.finish().await;
}

/// The scheduler's own decisions, step by step: a strategy runs once for every bot of its
/// market, a history only warms it up, and a new breakout candle becomes one signal whose
/// plans are enqueued for each bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakout_is_decided_once_and_planned_for_every_bot() {
    use chrono::Utc;
    use nexus_core::fanout::{BatchSize, BotConfig};
    use nexus_core::ports::accounts::{BotRecord, Role};
    use nexus_core::ports::jobs::JobKind;
    use nexus_core::regime::Regime;
    use nexus_core::{
        BotId, Candle, ExchangeId, Instrument, InstrumentFilters, Interval, Price, Quantity,
        Ticker, UserId,
    };
    use nexus_exchanges::{HubConfig, MarketDataHub, PaperConfig, PaperVenue, Venues};
    use nexus_server::engine::scheduler::Leading;
    use nexus_server::engine::{Dispatcher, Scheduler, SchedulerConfig};
    use rust_decimal::Decimal;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url, keys).await.unwrap());
    let btc: nexus_core::Symbol = "BTC/USDT".parse().unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let paper = PaperVenue::new(PaperConfig {
        opening_balance: Some((btc.quote(), Quantity::new(d("1000")).unwrap())),
        ..PaperConfig::default()
    });
    paper.list(
        Instrument::new(
            ExchangeId::Paper,
            btc,
            InstrumentFilters {
                tick_size: Price::new(d("0.01")).unwrap(),
                step_size: Quantity::new(d("0.0001")).unwrap(),
                min_qty: Quantity::new(d("0.0001")).unwrap(),
                max_qty: None,
                min_notional: "5".parse().unwrap(),
            },
        )
        .unwrap(),
    );
    let t0 = Utc::now() - chrono::Duration::days(200);
    let candle = |day: i64, close: i64| {
        let p = |v: i64| Price::new(Decimal::from(v)).unwrap();
        Candle::new(
            t0 + chrono::Duration::days(day),
            p(close),
            p(close + 1),
            p(close - 1),
            p(close),
            Quantity::new(Decimal::ONE).unwrap(),
        )
        .unwrap()
    };
    // A quiet history, long enough for the regime classifier, with a spike 45 days ago.
    for day in 0..150 {
        let close = if (105..110).contains(&day) { 200 } else { 100 };
        paper.push_candle(btc, Interval::D1, candle(day, close));
    }
    let ticker = |last: &str| {
        let p = |s: &str| Price::new(d(s)).unwrap();
        Ticker::new(btc, p(last), p(last), p(last), Utc::now()).unwrap()
    };
    paper.set_ticker(ticker("115"));

    let metrics = Arc::new(nexus_server::metrics::Metrics::default());
    let venues = Arc::new(Venues::new(Default::default(), None, Arc::clone(&paper)).unwrap());
    let hub = Arc::new(
        MarketDataHub::new(
            HubConfig::default(),
            [venues.market_data(ExchangeId::Paper)],
        )
        .unwrap(),
    );
    let dispatcher = Arc::new(Dispatcher::new(
        Arc::clone(&store),
        Arc::clone(&hub),
        Arc::clone(&venues),
        BatchSize::DEFAULT,
        Arc::clone(&metrics),
    ));
    let scheduler = Scheduler::new(
        Arc::clone(&store),
        Arc::clone(&hub),
        Arc::clone(&venues),
        dispatcher,
        Arc::clone(&metrics),
        SchedulerConfig::default(),
        "test".into(),
    );
    let mut bots = Vec::new();
    for n in 0..3u128 {
        let user = UserId::new(uuid::Uuid::from_u128(n + 1));
        store
            .create_user(user, &format!("u{n}@x.io"), None, Role::User, Utc::now())
            .await
            .unwrap();
        let mut config = BotConfig::default();
        config.gate.entry_regimes = vec![
            Regime::Bull,
            Regime::Sideways,
            Regime::Bear,
            Regime::Volatile,
        ];
        let bot = BotRecord {
            id: BotId::new(uuid::Uuid::from_u128(100 + n)),
            user,
            name: format!("bot {n}"),
            exchange: ExchangeId::Paper,
            symbol: btc,
            interval: Interval::D1,
            strategy: "trend_breakout".into(),
            // The third bot runs other parameters: a market of its own.
            strategy_config: if n == 2 {
                r#"{"entry_period":50}"#.into()
            } else {
                r#"{"entry_period":5}"#.into()
            },
            config,
            credential: None,
            paused: false,
        };
        store.create_bot(&bot, Utc::now()).await.unwrap();
        bots.push(bot.id);
    }

    let mut state = Leading::default();
    let first = scheduler.round(&mut state).await.unwrap();
    assert_eq!(
        first.classified, 1,
        "one series, classified once for both markets"
    );
    assert!(state.classified(ExchangeId::Paper, btc, Interval::D1));
    assert_eq!(first.decided, 0, "history only warms the strategies up");
    let again = scheduler.round(&mut state).await.unwrap();
    assert_eq!((again.decided, again.classified), (0, 0), "nothing new");

    // A close far above the last five days' highs: a breakout for `entry_period: 5`, not
    // for 50 (the spike is within its channel).
    paper.push_candle(btc, Interval::D1, candle(150, 140));
    paper.set_ticker(ticker("140"));
    let round = scheduler.round(&mut state).await.unwrap();
    assert_eq!(round.decided, 1, "one signal for the market of two bots");
    assert_eq!(round.dispatched, 1);
    let queued = store
        .claim(
            &[JobKind::TradeExecution],
            "test",
            std::time::Duration::from_secs(30),
            10,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "one job for the batch");
    let batch: nexus_server::engine::worker::TradeJob =
        serde_json::from_str(&queued[0].payload).unwrap();
    assert_eq!(
        batch.plans.len(),
        2,
        "one planned order per bot of that market"
    );
    let later = scheduler.round(&mut state).await.unwrap();
    assert_eq!(later.decided, 0, "the same candle never signals twice");
    // The signal's gate decision and the series' classification are both on record.
    assert!(store.recent_decisions(10).await.unwrap().len() >= 2);
}

/// `nexus serve --demo`: an admin on the pro plan with two Paper bots, a fresh password
/// at every start, and the bots created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_account_signs_in_with_the_printed_password() {
    use nexus_core::ports::accounts::Role;
    use nexus_server::commands::demo::{DEMO_EMAIL, create};

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url, keys).await.unwrap());
    let password = |text: &str| {
        let line = text.lines().find(|l| l.contains("Sign in:")).unwrap();
        line.rsplit(" / ").next().unwrap().trim().to_owned()
    };
    let first = password(
        &create(store.as_ref(), "http://127.0.0.1:8080")
            .await
            .unwrap(),
    );
    let second = password(
        &create(store.as_ref(), "http://127.0.0.1:8080")
            .await
            .unwrap(),
    );
    assert_ne!(first, second, "a new password at every start");
    let (user, hash) = store.user_by_email(DEMO_EMAIL).await.unwrap().unwrap();
    let hash = hash.unwrap();
    let verify =
        |p: String| nexus_server::auth::passwords::verify(nexus_core::Secret::new(p), hash.clone());
    assert!(verify(second).await, "the printed password signs in");
    assert!(!verify(first).await, "the previous one no longer does");
    assert_eq!(user.role, Role::Admin);
    assert!(user.email_verified_at.is_some());
    assert_eq!(
        store.user_plan(user.id).await.unwrap().as_deref(),
        Some("pro")
    );
    let bots = store.user_bots(user.id, None, 10).await.unwrap();
    assert_eq!(bots.len(), 2, "created once, not at every start");
    assert!(
        bots.iter()
            .all(|b| b.exchange == nexus_core::ExchangeId::Paper)
    );
}

/// `nexus loadtest` in process, small: every bot gets one order per signal, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_tool_measures_a_small_run() {
    use nexus_server::commands::loadtest::{Args, measure};

    let args = Args {
        users: 3,
        bots_per_user: 2,
        symbols: 2,
        duration: 1,
        target: None,
        outbox: None,
        source: None,
        concurrency: 4,
        readers: 1,
        json: true,
    };
    let report = measure(&args).await.unwrap();
    assert_eq!((report.users, report.bots), (3, 6));
    assert!(report.signals >= 2, "one per symbol and round: {report:?}");
    // Each round's signals reach every bot once (three per symbol).
    assert_eq!(report.orders, report.signals * 3, "{report:?}");
    assert_eq!(
        (report.errors, report.duplicate_orders),
        (0, 0),
        "{report:?}"
    );
    assert!(
        report.signal_to_order_ms.p50 > 0.0 && report.api_requests > 0,
        "{report:?}"
    );
}

/// Servers of one deployment, API only (engine off), each on its own connection to one
/// database: a signature accepted by one is refused by the others.
struct Deployment {
    instances: Vec<Instance>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    cleanup: Option<(String, String)>,
}

impl Deployment {
    /// `legacy[i]`: whether instance `i` still accepts body-only signatures.
    async fn start(postgres: Option<String>, legacy: &[bool]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let schema = format!("signing_{}", uuid::Uuid::new_v4().simple());
        let mut instances = Vec::new();
        for &legacy in legacy {
            let keys = Keyring::new(MasterKey::generate(), Vec::new());
            let store: Arc<dyn Store> = match &postgres {
                None => {
                    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
                    Arc::new(SqliteStore::open(&url, keys).await.unwrap())
                }
                Some(url) => Arc::new(
                    PostgresStore::open_in_schema(url, &schema, keys)
                        .await
                        .unwrap(),
                ),
            };
            let config = Config::from_lookup(|var| {
                Ok(match var {
                    "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
                    "NEXUS_ENGINE" => Some("off".to_owned()),
                    "NEXUS_SIGNAL_SOURCES" => Some(format!("tv={SOURCE_SECRET}")),
                    "NEXUS_SIGNALS_LEGACY_SIGNATURE" => Some(u8::from(legacy).to_string()),
                    _ => None,
                })
            })
            .unwrap();
            let outbox = dir.path().join("outbox");
            instances.push(
                launch(&config, store, Arc::new(Outbox::new(&outbox)), None)
                    .await
                    .unwrap(),
            );
        }
        Self {
            instances,
            http: reqwest::Client::new(),
            _dir: dir,
            cleanup: postgres.map(|url| (url, schema)),
        }
    }

    /// Posts `body` signed with `signature` to instance `i`.
    async fn send(&self, i: usize, body: &str, signature: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/signals", self.instances[i].url))
            .header("content-type", "application/json")
            .header("x-nexus-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()["cache-control"],
            "no-store",
            "every API answer"
        );
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    async fn finish(mut self) {
        for instance in self.instances.drain(..) {
            instance.stop().await.unwrap();
        }
        if let Some((url, schema)) = self.cleanup.take() {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

fn signal_body(action: &str, key: &str) -> String {
    json!({"source": "tv", "action": action, "exchange": "paper", "symbol": "BTC/USDT",
        "idempotency_key": key})
    .to_string()
}

/// A signed signal is accepted once, by whichever server gets it first, within 5 minutes of
/// its timestamp either way; a replay, a stale or future timestamp, a changed body or time,
/// a garbled header and (unless turned on) the body-only signature are refused, each with
/// its own code.
async fn signatures_are_fresh_and_used_once_across_servers(postgres: Option<String>) {
    // Two servers refusing body-only signatures, a third still accepting them.
    let d = Deployment::start(postgres, &[false, false, true]).await;
    let code = |answer: &(StatusCode, Value)| answer.1["code"].as_str().unwrap_or("").to_owned();
    let now = chrono::Utc::now().timestamp();
    let body = signal_body("entry", "signed-1");
    let header = sign(SOURCE_SECRET, now, body.as_bytes());

    let (status, first) = d.send(0, &body, &header).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["duplicate"], false);
    // The same request again, to either server: a replay.
    for i in [1, 0, 2] {
        let replay = d.send(i, &body, &header).await;
        assert_eq!(replay.0, StatusCode::CONFLICT, "server {i}: {}", replay.1);
        assert_eq!(code(&replay), "signature_replayed");
    }
    // A retry signed anew is accepted, and its idempotency key marks it a duplicate.
    let retry = d
        .send(1, &body, &sign(SOURCE_SECRET, now + 1, body.as_bytes()))
        .await;
    assert_eq!(retry.0, StatusCode::ACCEPTED, "{}", retry.1);
    assert_eq!(retry.1["duplicate"], true);
    assert_eq!(retry.1["signal_id"], first["signal_id"]);

    // Up to 5 minutes either way (a little less, for the test's own pace), and no more.
    for (offset, key) in [(-290, "early"), (290, "late")] {
        let body = signal_body("entry", key);
        let answer = d
            .send(
                0,
                &body,
                &sign(SOURCE_SECRET, now + offset, body.as_bytes()),
            )
            .await;
        assert_eq!(answer.0, StatusCode::ACCEPTED, "{offset}: {}", answer.1);
    }
    for (offset, side) in [(-400, "behind"), (400, "ahead of")] {
        let body = signal_body("entry", "out-of-time");
        let answer = d
            .send(
                1,
                &body,
                &sign(SOURCE_SECRET, now + offset, body.as_bytes()),
            )
            .await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&answer), "signature_expired");
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains(side), "{message}");
    }

    // Tampering: another body, another time, another secret.
    let fresh = signal_body("entry", "tampered");
    let header = sign(SOURCE_SECRET, now, fresh.as_bytes());
    let other_body = fresh.replace("entry", "exit");
    let other_time = header.replace(&format!("t={now}"), &format!("t={}", now - 1));
    let other_secret = sign("another-secret-0123456789", now, fresh.as_bytes());
    for (body, header) in [
        (&other_body, &header),
        (&fresh, &other_time),
        (&fresh, &other_secret),
    ] {
        let answer = d.send(0, body, header).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(code(&answer), "invalid_signal_credentials");
    }
    // An unknown source gets the same answer as a wrong signature.
    let nobody = fresh.replace("\"tv\"", "\"nobody\"");
    let answer = d
        .send(0, &nobody, &sign(SOURCE_SECRET, now, nobody.as_bytes()))
        .await;
    assert_eq!(code(&answer), "invalid_signal_credentials");

    // A garbled header says what is wrong.
    let mac = header.split_once("v1=").unwrap().1;
    for (garbled, says) in [
        (format!("t=soon,v1={mac}"), "t is not a whole number"),
        (format!("t={now}"), "v1 (the HMAC) is missing"),
        (format!("t={now},v1={mac},v2={mac}"), "unknown part \"v2\""),
        (format!("t={now},v1=0"), "v1 is not 64 hex digits"),
    ] {
        let answer = d.send(0, &fresh, &garbled).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&answer), "signature_malformed");
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }

    // The body-only signature of earlier releases: only where it is turned on, and then
    // without replay protection (the idempotency key still keeps it from trading twice).
    let old = signal_body("exit", "legacy-1");
    for i in [0, 1] {
        let answer = d.send(i, &old, &legacy_signed(&old)).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&answer), "legacy_signature_disabled");
    }
    let answer = d.send(2, &old, &legacy_signed(&old)).await;
    assert_eq!(answer.0, StatusCode::ACCEPTED, "{}", answer.1);
    let again = d.send(2, &old, &legacy_signed(&old)).await;
    assert_eq!(
        (again.0, &again.1["duplicate"]),
        (StatusCode::ACCEPTED, &json!(true))
    );
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_fresh_and_used_once_across_servers_on_sqlite() {
    signatures_are_fresh_and_used_once_across_servers(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_fresh_and_used_once_across_servers_on_postgres() {
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        eprintln!("skipped: NEXUS_TEST_POSTGRES_URL is unset");
        return;
    };
    signatures_are_fresh_and_used_once_across_servers(Some(url)).await;
}

/// The hourly upkeep forgets the signatures that expired, and only those.
#[tokio::test]
async fn the_upkeep_forgets_expired_signatures() {
    use nexus_core::ports::signatures::SignatureDigest;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url, keys).await.unwrap());
    let now = chrono::Utc::now();
    let (expired, live) = (SignatureDigest([1; 32]), SignatureDigest([2; 32]));
    assert!(
        store
            .first_sighting(&expired, now - chrono::Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .first_sighting(&live, now + chrono::Duration::seconds(300))
            .await
            .unwrap()
    );
    nexus_server::maintenance::run_once(store.as_ref(), "test")
        .await
        .unwrap();
    assert!(
        store.first_sighting(&expired, now).await.unwrap(),
        "forgotten"
    );
    assert!(
        !store.first_sighting(&live, now).await.unwrap(),
        "still seen"
    );
}
