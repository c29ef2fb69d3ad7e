//! The engine end to end: a real instance (API, elected scheduler, workers, Paper venue)
//! on a fresh SQLite file and, when `NEXUS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
//! schema. Users sign up through the API, create Paper bots, and one signal becomes one
//! order each, after one market-data call.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use nexus_core::regime::gate::GateAction;
use nexus_server::api::signature::sign;
use nexus_server::config::Config;
use nexus_server::instance::{Instance, launch};
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Backend, Http, Outbox, TestDb, on_each};

const SOURCE_SECRET: &str = "tv-secret-0123456789";

/// A running instance over a test database. Fields drop in order: the instance's handle
/// before the database is removed.
pub(crate) struct World {
    pub(crate) instance: Option<Instance>,
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    outbox: Outbox,
    pub(crate) api: Http,
    pub(crate) http: reqwest::Client,
    _db: TestDb,
}

pub(crate) async fn start(backend: Backend) -> World {
    start_with(backend, |_| {}).await
}

/// [`start`], with `adjust` changing the configuration first.
pub(crate) async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> World {
    let db = TestDb::open(backend).await;
    // The longest TTL and a feed that stays still after its warm-up: whatever the test's
    // pace, the market-data call it makes is the only one.
    let mut config = Config::from_lookup(|var| {
        Ok(match var {
            "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
            "NEXUS_MARKET_TTL_SECS" => Some("30".to_owned()),
            "NEXUS_PAPER_CANDLE_SECS" => Some("3600".to_owned()),
            "NEXUS_SIGNAL_SOURCES" => Some(format!("tv={SOURCE_SECRET}")),
            _ => None,
        })
    })
    .unwrap();
    adjust(&mut config);
    let outbox = Outbox::new(&db.path().join("outbox"));
    let instance = launch(&config, Arc::clone(&db.store), outbox.sender(), None)
        .await
        .unwrap();
    let api = Http::new(instance.url.clone());
    World {
        instance: Some(instance),
        config,
        store: Arc::clone(&db.store),
        outbox,
        http: api.client.clone(),
        api,
        _db: db,
    }
}

/// Runs `test` on an instance over each database, and stops the instance gracefully when
/// the test passed (a failed test's instance dies with its runtime).
pub(crate) async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(World) -> Fut + Copy,
    Fut: std::future::Future<Output = World>,
{
    on_each(name, start, move |w| async move {
        let mut w = test(w).await;
        w.instance.take().unwrap().stop().await.unwrap();
        w
    })
    .await;
}

impl World {
    pub(crate) fn url(&self) -> &str {
        &self.instance.as_ref().unwrap().url
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        self.api.post(path, body, token).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.api.get(path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    fn emails_to(&self, to: &str) -> Vec<Value> {
        self.outbox.to(to)
    }

    /// Signs up, verifies (the link from the outbox) and signs in.
    pub(crate) async fn user(&self, email: &str) -> String {
        let password = "correct horse battery";
        let (status, _) = self
            .post(
                "/api/v1/auth/signup",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let token = self.outbox.token_when_sent(email, "Confirm").await;
        let (status, _) = self
            .post(
                "/api/v1/auth/verify",
                &json!({"token": token, "password": password}),
                None,
            )
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
        self.api.metric(line_start).await
    }

    /// Polls `what` until it holds.
    async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        crate::support::eventually(what, check).await;
    }

    /// Waits until the scheduler has classified the bots' market.
    pub(crate) async fn regime_classified(&self) {
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
            self.outbox.sender(),
            None,
        )
        .await
        .unwrap();
        // A new instance binds a new port.
        self.api = Http::new(instance.url.clone());
        self.instance = Some(instance);
    }
}

/// A Paper bot following the `tv` source, whose entries any regime allows (so a test does
/// not depend on where the replayed market stands).
pub(crate) fn webhook_bot() -> Value {
    json!({
        "exchange": "paper", "symbol": "BTC/USDT", "interval": "1d",
        "strategy": "webhook", "strategy_config": {"source": "tv"},
        "gate": {"entry_regimes": ["bull", "sideways", "bear", "volatile"]}
    })
}

/// A `tv` signal for BTC/USDT on Paper, proved by its token.
pub(crate) fn signal(action: &str, key: &str) -> Value {
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
    assert_eq!(
        w.metric("nexus_scheduler_leader").await,
        1.0,
        "this instance leads"
    );
    let updated = w
        .metric("nexus_market_data_last_update_timestamp_seconds{exchange=\"paper\"}")
        .await;
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 120.0..=now + 1.0).contains(&updated),
        "{updated} vs {now}"
    );
    assert_eq!(
        w.metric("nexus_market_data_last_update_timestamp_seconds{exchange=\"kraken\"}")
            .await,
        0.0,
        "never asked"
    );

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
    // Both orders' latency from the signal was measured.
    assert_eq!(w.metric("nexus_signal_to_order_seconds_count").await, 2.0);
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
async fn restart_between_entry_and_exit(mut w: World) -> World {
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
        .update_paper(std::slice::from_ref(&account), &[], &[], &mut |book| {
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
async fn out_of_sync_positions(w: World) -> World {
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
async fn positions_out_of_sync_are_flagged_not_dropped() {
    on_both(
        "positions_out_of_sync_are_flagged_not_dropped",
        out_of_sync_positions,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_position_survives_a_restart() {
    on_both(
        "a_paper_position_survives_a_restart",
        restart_between_entry_and_exit,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signal_one_market_data_call_one_order_per_user() {
    on_both(
        "one_signal_one_market_data_call_one_order_per_user",
        one_signal_trades_for_every_user,
    )
    .await;
}

/// A scheduler's world without the HTTP server: a SQLite store and a Paper venue listing
/// BTC/USDT with a quiet daily history (a spike 45 days ago) and a last price of 115.
struct Market {
    _db: TestDb,
    store: Arc<dyn Store>,
    paper: Arc<nexus_exchanges::PaperVenue>,
    venues: Arc<nexus_exchanges::Venues>,
    hub: Arc<nexus_exchanges::MarketDataHub>,
    metrics: Arc<nexus_server::metrics::Metrics>,
    btc: nexus_core::Symbol,
    t0: chrono::DateTime<chrono::Utc>,
}

impl Market {
    async fn new() -> Self {
        Self::with_ledger(Arc::new(nexus_exchanges::MemoryLedger::default())).await
    }

    /// The market, its Paper venue keeping its accounts in `ledger`.
    async fn with_ledger(ledger: Arc<dyn nexus_core::ports::paper::PaperLedger>) -> Self {
        use nexus_core::{ExchangeId, Instrument, InstrumentFilters, Price, Quantity};
        use nexus_exchanges::{HubConfig, MarketDataHub, PaperConfig, PaperVenue, Venues};

        let db = TestDb::open(Backend::Sqlite).await;
        let store = Arc::clone(&db.store);
        let btc: nexus_core::Symbol = "BTC/USDT".parse().unwrap();
        let paper = PaperVenue::with_ledger(
            PaperConfig {
                opening_balance: Some((btc.quote(), "1000".parse().unwrap())),
                ..PaperConfig::default()
            },
            ledger,
        );
        paper.list(
            Instrument::new(
                ExchangeId::Paper,
                btc,
                InstrumentFilters {
                    tick_size: "0.01".parse::<Price>().unwrap(),
                    step_size: "0.0001".parse::<Quantity>().unwrap(),
                    min_qty: "0.0001".parse::<Quantity>().unwrap(),
                    max_qty: None,
                    min_notional: "5".parse().unwrap(),
                },
            )
            .unwrap(),
        );
        let venues = Arc::new(Venues::new(Default::default(), None, Arc::clone(&paper)).unwrap());
        let hub = Arc::new(
            MarketDataHub::new(
                HubConfig::default(),
                [venues.market_data(ExchangeId::Paper)],
            )
            .unwrap(),
        );
        let market = Self {
            _db: db,
            store,
            paper,
            venues,
            hub,
            metrics: Arc::default(),
            btc,
            t0: chrono::Utc::now() - chrono::Duration::days(200),
        };
        for day in 0..150 {
            let close = if (105..110).contains(&day) { 200 } else { 100 };
            market.close(day, close);
        }
        market
    }

    /// Day `day`'s candle closes at `close`, which is the price now.
    fn close(&self, day: i64, close: i64) {
        use nexus_core::{Candle, Interval, Price, Quantity, Ticker};
        use rust_decimal::Decimal;

        let p = |v: i64| Price::new(Decimal::from(v)).unwrap();
        let candle = Candle::new(
            self.t0 + chrono::Duration::days(day),
            p(close),
            p(close + 1),
            p(close - 1),
            p(close),
            Quantity::new(Decimal::ONE).unwrap(),
        )
        .unwrap();
        self.paper.push_candle(self.btc, Interval::D1, candle);
        let last = p(close);
        self.paper
            .set_ticker(Ticker::new(self.btc, last, last, last, chrono::Utc::now()).unwrap());
    }

    fn dispatcher(&self) -> nexus_server::engine::Dispatcher {
        nexus_server::engine::Dispatcher::new(
            Arc::clone(&self.store),
            Arc::clone(&self.hub),
            Arc::clone(&self.venues),
            nexus_core::fanout::BatchSize::DEFAULT,
            Arc::clone(&self.metrics),
        )
    }

    fn scheduler(
        &self,
        dispatcher: nexus_server::engine::Dispatcher,
    ) -> nexus_server::engine::Scheduler {
        nexus_server::engine::Scheduler::new(
            Arc::clone(&self.store),
            Arc::clone(&self.hub),
            Arc::clone(&self.venues),
            Arc::new(dispatcher),
            Arc::clone(&self.metrics),
            nexus_server::engine::SchedulerConfig::default(),
            "test".into(),
        )
    }

    /// Bot `100 + n` of user `n + 1` on the daily BTC/USDT Paper market, entering in any
    /// regime.
    async fn bot(&self, n: u128, strategy: &str, strategy_config: &str) -> nexus_core::BotId {
        use nexus_core::ports::accounts::{BotRecord, Role};
        use nexus_core::regime::Regime;
        use nexus_core::{BotId, ExchangeId, Interval, UserId};

        let user = UserId::new(uuid::Uuid::from_u128(n + 1));
        self.store
            .create_user(
                user,
                &format!("u{n}@x.io"),
                None,
                Role::User,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let mut config = nexus_core::fanout::BotConfig::default();
        config.gate.entry_regimes = Regime::ALL.to_vec();
        let bot = BotRecord {
            id: BotId::new(uuid::Uuid::from_u128(100 + n)),
            user,
            name: format!("bot {n}"),
            exchange: ExchangeId::Paper,
            symbol: self.btc,
            interval: Interval::D1,
            strategy: strategy.into(),
            strategy_config: strategy_config.into(),
            config,
            credential: None,
            paused: false,
            paused_reason: None,
        };
        self.store
            .create_bot(&bot, chrono::Utc::now())
            .await
            .unwrap();
        bot.id
    }

    /// The trade jobs enqueued so far, claimed.
    async fn trade_jobs(&self) -> Vec<nexus_server::engine::worker::TradeJob> {
        let claimed = self
            .store
            .claim(
                &[nexus_core::ports::jobs::JobKind::TradeExecution],
                "test",
                Duration::from_secs(30),
                10,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        claimed
            .iter()
            .map(|job| serde_json::from_str(&job.payload).unwrap())
            .collect()
    }
}

/// A Paper ledger that counts its reads of accounts and takes a moment over each, as a
/// database does, so that reads waiting meanwhile can go together.
#[derive(Default)]
struct CountingLedger {
    inner: nexus_exchanges::MemoryLedger,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl nexus_core::ports::paper::PaperLedger for CountingLedger {
    async fn paper_accounts(
        &self,
        accounts: &[String],
    ) -> Result<
        std::collections::HashMap<String, nexus_core::ports::paper::PaperAccount>,
        nexus_core::StoreError,
    > {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.inner.paper_accounts(accounts).await
    }

    async fn paper_orders(
        &self,
        keys: &[nexus_core::ports::paper::PaperOrderKey],
    ) -> Result<
        std::collections::HashMap<nexus_core::ports::paper::PaperOrderKey, nexus_core::OrderReport>,
        nexus_core::StoreError,
    > {
        self.inner.paper_orders(keys).await
    }

    async fn update_paper(
        &self,
        accounts: &[String],
        orders: &[nexus_core::ports::paper::PaperOrderKey],
        placing: &[nexus_core::ports::paper::PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut nexus_core::ports::paper::PaperBook) + Send),
    ) -> Result<(), nexus_core::StoreError> {
        self.inner
            .update_paper(accounts, orders, placing, apply)
            .await
    }
}

/// The fan-out sizes each bot by its account's balances: for Paper, whose ledger reads the
/// accounts waiting together, a page's reads are all sent at once (64 at a time, a page
/// of 1,000 bots took about 18 reads one after another, half the fan-out's time at
/// 100,000 bots).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_paper_bots_reads_its_accounts_together() {
    use nexus_core::fanout::Signal;
    use nexus_core::regime::gate::{AdvisorInput, GateAction};
    use nexus_server::engine::signals::SignalJob;

    let ledger = Arc::new(CountingLedger::default());
    let m = Market::with_ledger(Arc::clone(&ledger) as _).await;
    for n in 0..300 {
        m.bot(n, "webhook", "{}").await;
    }
    let job = SignalJob {
        signal: Signal {
            id: nexus_core::SignalId::new(uuid::Uuid::from_u128(7)),
            exchange: nexus_core::ExchangeId::Paper,
            symbol: m.btc,
            kind: GateAction::Entry,
            at: chrono::Utc::now(),
            atr: None,
            regime: Some(nexus_core::regime::Regime::ALL[0]),
            advisor: AdvisorInput::default(),
        },
        strategy: "webhook".into(),
        strategy_config: None,
        interval: None,
        reason: "webhook".into(),
    };
    let report = m
        .dispatcher()
        .dispatch(&job, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (report.bots, report.planned),
        (300, 300),
        "every bot sized and planned: {report:?}"
    );
    let reads = ledger.reads.load(std::sync::atomic::Ordering::SeqCst);
    // The first read goes alone; the 299 sent meanwhile wait for it and go together.
    assert!(reads <= 3, "{reads} reads for 300 accounts");
}

/// The scheduler's own decisions, step by step: a strategy runs once for every bot of its
/// market, a history only warms it up, and a new breakout candle becomes one signal whose
/// plans are enqueued for each bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakout_is_decided_once_and_planned_for_every_bot() {
    use nexus_core::ExchangeId;
    use nexus_core::Interval;
    use nexus_server::engine::scheduler::Leading;

    let m = Market::new().await;
    let scheduler = m.scheduler(m.dispatcher());
    // The third bot runs other parameters: a market of its own.
    for (n, config) in [
        (0, r#"{"entry_period":5}"#),
        (1, r#"{"entry_period":5}"#),
        (2, r#"{"entry_period":50}"#),
    ] {
        m.bot(n, "trend_breakout", config).await;
    }
    let (store, btc) = (&m.store, m.btc);

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
    m.close(150, 140);
    let round = scheduler.round(&mut state).await.unwrap();
    assert_eq!(round.decided, 1, "one signal for the market of two bots");
    assert_eq!(round.dispatched, 1);
    let queued = m.trade_jobs().await;
    assert_eq!(queued.len(), 1, "one job for the batch");
    assert_eq!(
        queued[0].plans.len(),
        2,
        "one planned order per bot of that market"
    );
    let later = scheduler.round(&mut state).await.unwrap();
    assert_eq!(later.decided, 0, "the same candle never signals twice");
    // The signal's gate decision and the series' classification are both on record.
    assert!(store.recent_decisions(10).await.unwrap().len() >= 2);
}

/// An advisor that blocks every entry, counting the questions.
struct Blocking(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl nexus_server::engine::advice::MarketAdvisor for Blocking {
    async fn advise(
        &self,
        request: &nexus_server::engine::advice::AdviceRequest<'_>,
    ) -> nexus_core::regime::gate::AdvisorInput {
        assert!(
            !request.candles.is_empty(),
            "asked with the market's candles"
        );
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        nexus_core::regime::gate::AdvisorInput::Opinion {
            opinion: nexus_core::regime::advisor::AdvisorOpinion {
                verdict: nexus_core::regime::advisor::AdvisorVerdict::Block,
                reason: "LLM advisor (stub m): a crash in progress".into(),
            },
        }
    }
}

/// The advisor is asked once for the market's entry, whatever the bots; its block reaches
/// the recorded gate decision and each following bot's skip, and a bot that ignores the
/// advisor trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisor_is_asked_once_per_market_and_its_block_reaches_every_bot() {
    use nexus_core::ports::activity::Page;
    use nexus_core::regime::gate::{AdvisorUse, GateReason};

    let m = Market::new().await;
    let advisor = Arc::new(Blocking(std::sync::atomic::AtomicU32::new(0)));
    let scheduler = m.scheduler(m.dispatcher()).with_advisor(Some(
        Arc::clone(&advisor) as Arc<dyn nexus_server::engine::advice::MarketAdvisor>
    ));
    let following = m.bot(0, "trend_breakout", r#"{"entry_period":5}"#).await;
    let also_following = m.bot(1, "trend_breakout", r#"{"entry_period":5}"#).await;
    let ignoring = m.bot(2, "trend_breakout", r#"{"entry_period":5}"#).await;
    let mut record = m.store.bot(ignoring).await.unwrap().unwrap();
    record.config.gate.advisor = AdvisorUse::Ignore;
    assert!(
        m.store
            .update_bot(&record, chrono::Utc::now())
            .await
            .unwrap()
    );

    let mut state = nexus_server::engine::scheduler::Leading::default();
    scheduler.round(&mut state).await.unwrap();
    assert_eq!(
        advisor.0.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "warm-up asks nothing"
    );
    m.close(150, 140);
    let round = scheduler.round(&mut state).await.unwrap();
    assert_eq!(round.decided, 1);
    assert_eq!(
        advisor.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "once for three bots"
    );
    let queued = m.trade_jobs().await;
    let planned: Vec<_> = queued
        .iter()
        .flat_map(|j| j.plans.iter().map(|p| p.bot))
        .collect();
    assert_eq!(
        planned,
        [ignoring],
        "only the bot that ignores the advisor trades"
    );
    for bot in [following, also_following] {
        let skips = m
            .store
            .bot_skips(
                bot,
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert_eq!(
            skips[0].1.detail,
            "the advisor blocked the Entry: LLM advisor (stub m): a crash in progress"
        );
    }
    let decisions = m.store.recent_decisions(10).await.unwrap();
    assert!(
        decisions.iter().any(|d| !d.allowed
            && d.reasons.iter().any(
                |r| matches!(r, GateReason::AdvisorBlocked { reason } if reason.contains("crash"))
            )),
        "the scheduler's decision names the advisor: {decisions:?}"
    );
}

/// A strategy whose code has a bug: it panics on a close of 140.
struct Fragile;

impl nexus_core::strategy::Strategy for Fragile {
    fn name(&self) -> &'static str {
        "fragile"
    }

    fn on_candle(
        &mut self,
        candle: &nexus_core::Candle,
    ) -> Option<nexus_core::strategy::StrategySignal> {
        if candle.close() == "140".parse().unwrap() {
            panic!("a bug in the fragile strategy");
        }
        None
    }
}

/// Plans as the engine does, but panics for bot 100, as a bug in one bot's planning would.
fn fails_for_bot_100(
    signal: &nexus_core::fanout::Signal,
    snapshot: &nexus_core::MarketSnapshot,
    subscriptions: &[nexus_core::fanout::Subscription<'_>],
    out: &mut nexus_core::fanout::FanOut,
) {
    let bot_100 = nexus_core::BotId::new(uuid::Uuid::from_u128(100));
    assert!(
        subscriptions.iter().all(|s| s.bot != bot_100),
        "a bug in bot 100's planning"
    );
    nexus_core::fanout::plan_into(signal, snapshot, subscriptions, out);
}

/// One bot's planning and one market's strategy panic in the same round: each is caught,
/// counted, and pauses only its own bots with the reason; the other bot of the signal
/// still gets its order, and the next rounds go on without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_pauses_only_the_bots_whose_work_panicked() {
    use nexus_core::ports::accounts::StrategyMarket;
    use nexus_core::ports::activity::Page;
    use nexus_core::strategy::Strategy;
    use nexus_server::engine::scheduler::Leading;

    let m = Market::new().await;
    let events = nexus_server::events::Events::local(100);
    let scheduler = m
        .scheduler(
            m.dispatcher()
                .with_planner(fails_for_bot_100)
                .with_events(Arc::clone(&events)),
        )
        .with_strategy(
            "fragile",
            Arc::new(|_: &StrategyMarket| Some(Box::new(Fragile) as Box<dyn Strategy + Sync>)),
        )
        .with_events(Arc::clone(&events));
    let mut live = events.hub().subscribe(None).live;
    let broken_planning = m.bot(0, "trend_breakout", r#"{"entry_period":5}"#).await;
    let healthy = m.bot(1, "trend_breakout", r#"{"entry_period":5}"#).await;
    let broken_strategy = m.bot(2, "fragile", "{}").await;

    let mut state = Leading::default();
    let warm = scheduler.round(&mut state).await.unwrap();
    assert_eq!(warm.decided, 0, "history only warms the strategies up");
    m.close(150, 140);
    let round = scheduler.round(&mut state).await.unwrap();
    assert_eq!(
        (round.decided, round.dispatched),
        (1, 1),
        "the breakout's signal is decided and fanned out despite both panics"
    );

    let jobs = m.trade_jobs().await;
    let planned: Vec<_> = jobs.iter().flat_map(|j| &j.plans).map(|p| p.bot).collect();
    assert_eq!(planned, [healthy], "the healthy bot gets its order");

    let bot = |id| {
        let store = Arc::clone(&m.store);
        async move { store.bot(id).await.unwrap().unwrap() }
    };
    let paused = bot(broken_planning).await;
    let reason = paused.paused_reason.clone().unwrap_or_default();
    assert!(paused.paused, "{paused:?}");
    assert!(
        reason.starts_with("internal_error: planning signal ")
            && reason.ends_with(" panicked: a bug in bot 100's planning"),
        "{reason}"
    );
    let paused = bot(broken_strategy).await;
    assert!(paused.paused);
    assert_eq!(
        paused.paused_reason.as_deref().unwrap_or_default(),
        "internal_error: the strategy fragile panicked: a bug in the fragile strategy"
    );
    let running = bot(healthy).await;
    assert_eq!((running.paused, running.paused_reason), (false, None));
    // Their owners' event streams were told, each of their own bot.
    let mut told = std::collections::BTreeSet::new();
    let mut regimes = Vec::new();
    while let Ok(nexus_server::events::Item::Event(event)) = live.try_recv() {
        let data: Value = serde_json::from_str(&event.data).unwrap();
        if data["type"] == "regime" {
            regimes.push(data.clone());
        }
        if data["type"] == "bot" && data["bot"]["change"] == "paused" {
            assert!(
                data["bot"]["bot"]["paused_reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("internal_error: ")
            );
            told.insert(data["bot_id"].as_str().unwrap().to_owned());
        }
    }
    let expected: std::collections::BTreeSet<String> = [broken_planning, broken_strategy]
        .iter()
        .map(|b| b.as_uuid().to_string())
        .collect();
    assert_eq!(told, expected);
    // The first classification of the market is a change from unknown, told once to
    // whoever follows it; later rounds within the regime interval tell nothing.
    assert_eq!(regimes.len(), 1, "{regimes:?}");
    assert_eq!(
        (&regimes[0]["exchange"], &regimes[0]["symbol"]),
        (&Value::from("paper"), &Value::from("BTC/USDT"))
    );
    assert!(regimes[0]["regime"]["regime"].is_string());
    assert_eq!(regimes[0]["regime"]["previous"], Value::Null);
    // The bot whose planning panicked is told why it got no order.
    let skips = m
        .store
        .bot_skips(
            broken_planning,
            Page {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(skips.len(), 1);
    assert_eq!(skips[0].1.reason, "internal_error");

    let metrics = m.metrics.render(None).await;
    for task in ["fanout", "scheduler"] {
        let line = format!("nexus_task_panics_total{{task=\"{task}\"}} 1");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }

    // The paused bots' work is not retried: the next candle panics nowhere.
    m.close(151, 141);
    let next = scheduler.round(&mut state).await.unwrap();
    assert_eq!(next.dispatched, next.decided);
    let metrics = m.metrics.render(None).await;
    assert!(
        metrics.contains("nexus_task_panics_total{task=\"fanout\"} 1")
            && metrics.contains("nexus_task_panics_total{task=\"scheduler\"} 1"),
        "{metrics}"
    );
}

/// `nexus serve --demo`: an admin on the pro plan with two Paper bots, a fresh password
/// at every start, and the bots created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_account_signs_in_with_the_printed_password() {
    use nexus_core::ports::accounts::Role;
    use nexus_server::commands::demo::{DEMO_EMAIL, create};

    let db = TestDb::open(Backend::Sqlite).await;
    let store = Arc::clone(&db.store);
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

/// Servers of one deployment, API only (engine off), each on its own connection to one
/// database: a signature accepted by one is refused by the others.
struct Deployment {
    instances: Vec<Instance>,
    http: reqwest::Client,
    db: TestDb,
}

impl Deployment {
    /// `legacy[i]`: whether instance `i` still accepts body-only signatures.
    async fn start(backend: Backend, legacy: &[bool]) -> Self {
        let db = TestDb::open(backend).await;
        let outbox = Outbox::new(&db.path().join("outbox"));
        let mut instances = Vec::new();
        for &legacy in legacy {
            let store = db.another_store().await;
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
            instances.push(launch(&config, store, outbox.sender(), None).await.unwrap());
        }
        Self {
            instances,
            http: Http::new("").client,
            db,
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
        drop(self.db);
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
async fn signatures_are_fresh_and_used_once_across_servers(backend: Backend) {
    // Two servers refusing body-only signatures, a third still accepting them.
    let d = Deployment::start(backend, &[false, false, true]).await;
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
    signatures_are_fresh_and_used_once_across_servers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_fresh_and_used_once_across_servers_on_postgres() {
    if let Some(url) = crate::support::postgres("signatures_are_fresh_and_used_once_across_servers")
    {
        signatures_are_fresh_and_used_once_across_servers(Backend::Postgres(url)).await;
    }
}

/// The hourly upkeep forgets the signatures that expired, and only those.
#[tokio::test]
async fn the_upkeep_forgets_expired_signatures() {
    use nexus_core::ports::signatures::SignatureDigest;
    let db = TestDb::open(Backend::Sqlite).await;
    let store = Arc::clone(&db.store);
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
