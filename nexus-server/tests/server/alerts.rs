//! Alert preferences end to end, on SQLite and (when `NEXUS_TEST_POSTGRES_URL` is set)
//! PostgreSQL: the API's defaults and checks, alerts sent only as the preferences say
//! (fills, gate blocks, errors), the signed webhook retried after a 500, and the daily
//! summary enqueued once per day by several instances.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use nexus_core::fanout::{BotConfig, ExecutionPlan};
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState};
use nexus_core::ports::alerts::{AlertPreferences, EmailAlerts};
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::ports::jobs::JobKind;
use nexus_core::regime::gate::GateAction;
use nexus_core::{
    BotId, ClientOrderId, ExchangeId, Interval, KeyPermissions, OrderIntent, OrderType, Price,
    Quantity, Secret, Side, SignalId, UserId,
};
use nexus_server::config::Config;
use nexus_server::engine::alerts::{AlertSinks, run_alerts};
use nexus_server::engine::worker::{Attempt, Executed, TradeExecutor};
use nexus_server::instance::{Instance, launch};
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::{Backend, Http, Outbox, TestDb, eventually, on_each};

const SOURCE_SECRET: &str = "tv-secret-0123456789";

struct World {
    instance: Option<Instance>,
    store: Arc<dyn Store>,
    outbox: Outbox,
    api: Http,
    _db: TestDb,
}

async fn start(backend: Backend, open: bool) -> World {
    let db = TestDb::open(backend).await;
    let config = Config::from_lookup(|var| {
        Ok(match var {
            "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
            "NEXUS_PUBLIC_URL" => Some("https://nexus.test".to_owned()),
            "NEXUS_MARKET_TTL_SECS" => Some("30".to_owned()),
            "NEXUS_PAPER_CANDLE_SECS" => Some("3600".to_owned()),
            "NEXUS_SIGNAL_SOURCES" => Some(format!("tv={SOURCE_SECRET}")),
            "NEXUS_ALERT_WEBHOOK_ALLOW_HTTP" | "NEXUS_ALERT_WEBHOOK_ALLOW_PRIVATE" if open => {
                Some("1".to_owned())
            }
            _ => None,
        })
    })
    .unwrap();
    let outbox = Outbox::new(&db.path().join("outbox"));
    let instance = launch(&config, Arc::clone(&db.store), outbox.sender(), None)
        .await
        .unwrap();
    World {
        api: Http::new(instance.url.clone()),
        instance: Some(instance),
        store: Arc::clone(&db.store),
        outbox,
        _db: db,
    }
}

async fn on_both<F, Fut>(name: &str, open: bool, test: F)
where
    F: Fn(World) -> Fut + Copy,
    Fut: std::future::Future<Output = World>,
{
    on_each(
        name,
        move |backend| start(backend, open),
        move |w| async move {
            let mut w = test(w).await;
            w.instance.take().unwrap().stop().await.unwrap();
            w
        },
    )
    .await;
}

impl World {
    async fn user(&self, email: &str) -> String {
        let password = "correct horse battery";
        let (status, _) = self
            .api
            .post(
                "/api/v1/auth/signup",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let token = self.outbox.token_when_sent(email, "Confirm").await;
        let (status, _) = self
            .api
            .post(
                "/api/v1/auth/verify",
                &json!({"token": token, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = self
            .api
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        body["token"].as_str().unwrap().to_owned()
    }

    async fn put(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .api
            .client
            .put(self.api.url("/api/v1/me/alerts"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    fn subjects(&self, to: &str) -> Vec<String> {
        self.outbox
            .to(to)
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_have_defaults_checks_and_a_secret_shown_once() {
    on_both("preferences_have_defaults_checks_and_a_secret_shown_once", false, |w| async move {
        let token = w.user("prefs@example.com").await;
        let (status, body) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"email": {"fills": true, "gate_blocks": false, "errors": true, "daily_summary": false},
                   "webhook": {"url": null, "events": ["fills", "errors"]}})
        );
        assert_eq!(w.api.get("/api/v1/me/alerts", None).await.0, StatusCode::UNAUTHORIZED);

        let refused = [
            (json!({"webhook": {"events": ["fills", "trades"]}}), "invalid_field", "webhook.events[1]: "),
            (json!({"webhook": {"url": "http://hooks.example.com/x"}}), "invalid_field", "webhook.url: must be an https:// URL"),
            (json!({"webhook": {"url": "not a url"}}), "invalid_field", "webhook.url: not a valid URL"),
            (json!({"webhook": {"url": "https://127.0.0.1/x"}}), "webhook_url_forbidden", "webhook.url: 127.0.0.1 is a private"),
            (json!({"webhook": {"url": "https://10.0.0.7/x"}}), "webhook_url_forbidden", "webhook.url: 10.0.0.7"),
            (json!({"webhook": {"url": "https://[::1]:8443/x"}}), "webhook_url_forbidden", "webhook.url: ::1"),
            (json!({"webhook": {"url": "https://169.254.169.254/"}}), "webhook_url_forbidden", "webhook.url: 169.254.169.254"),
            (json!({"webhook": {"url": "https://localhost/x"}}), "webhook_url_forbidden", "webhook.url: "),
        ];
        for (body, code, message) in refused {
            let (status, answer) = w.put(&token, &body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(answer["code"], code, "{body}: {answer}");
            assert!(answer["message"].as_str().unwrap().starts_with(message), "{body}: {answer}");
        }
        let (status, _) = w.put(&token, &json!({"email": {"fills": "yes"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Nothing refused was stored.
        let (_, body) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(body["webhook"]["url"], Value::Null);

        // A public address: accepted, its secret answered once.
        let url = "https://93.184.215.14/nexus-hook";
        let (status, set) = w
            .put(&token, &json!({"email": {"daily_summary": true}, "webhook": {"url": url, "events": ["errors"]}}))
            .await;
        assert_eq!(status, StatusCode::OK, "{set}");
        let secret = set["webhook"]["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_") && secret.len() >= 49, "{secret}");
        assert_eq!(set["email"]["daily_summary"], true);
        assert_eq!(set["email"]["fills"], true, "left out, unchanged");
        let (_, got) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(got["webhook"]["url"], url);
        assert_eq!(got["webhook"]["events"], json!(["errors"]));
        assert!(got["webhook"].get("secret").is_none(), "never shown again: {got}");
        // The same URL again keeps the secret, unshown; it is stored sealed.
        let (_, again) = w.put(&token, &json!({"webhook": {"url": url}})).await;
        assert!(again["webhook"].get("secret").is_none(), "{again}");
        let user = w.store.user_by_email("prefs@example.com").await.unwrap().unwrap().0.id;
        let target = w.store.webhook_target(user).await.unwrap().unwrap();
        assert_eq!(target.secret.expose(), secret);
        // Removed.
        let (_, gone) = w.put(&token, &json!({"webhook": {"url": null}})).await;
        assert_eq!(gone["webhook"]["url"], Value::Null);
        assert!(w.store.webhook_target(user).await.unwrap().is_none());
        w
    })
    .await;
}

/// What the local webhook receiver got: headers and body of each request.
#[derive(Default)]
struct Received {
    requests: Vec<(Vec<(String, String)>, String)>,
}

/// A webhook receiver on loopback answering 500 to its first request and 200 after.
async fn receiver() -> (String, Arc<Mutex<Received>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Received::default()));
    let shared = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_owned();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break (
                                head,
                                String::from_utf8_lossy(&buf[end + 4..end + 4 + length])
                                    .to_string(),
                            );
                        }
                    }
                };
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let first = {
                    let mut r = shared.lock().unwrap();
                    r.requests.push((headers, body));
                    r.requests.len() == 1
                };
                let status = if first {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, received)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_and_gate_blocks_follow_preferences_and_the_webhook_is_signed_and_retried() {
    on_both(
        "fills_and_gate_blocks_follow_preferences",
        true,
        |w| async move {
            let (hook, received) = receiver().await;
            let alice = w.user("alice@example.com").await;
            let bob = w.user("bob@example.com").await;
            // Alice: fills by email (the default) and fills to her webhook.
            let (status, set) = w
                .put(
                    &alice,
                    &json!({"webhook": {"url": hook, "events": ["fills"]}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{set}");
            let secret = set["webhook"]["secret"].as_str().unwrap().to_owned();
            // Bob: no fills, but gate blocks, by email.
            let (status, _) = w
                .put(
                    &bob,
                    &json!({"email": {"fills": false, "gate_blocks": true}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let bot = |regimes: Value| {
                json!({
                    "exchange": "paper", "symbol": "BTC/USDT", "interval": "1d",
                    "strategy": "webhook", "strategy_config": {"source": "tv"},
                    "gate": {"entry_regimes": regimes}
                })
            };
            let open = json!(["bull", "sideways", "bear", "volatile"]);
            for token in [&alice, &bob] {
                let (status, body) = w
                    .api
                    .post("/api/v1/bots", &bot(open.clone()), Some(token))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                // A second bot whose gate blocks every entry.
                let (status, body) = w
                    .api
                    .post("/api/v1/bots", &bot(json!([])), Some(token))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
            let store = Arc::clone(&w.store);
            eventually("the market's regime", || {
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
            let signal = json!({"source": "tv", "token": SOURCE_SECRET, "action": "entry",
            "exchange": "paper", "symbol": "BTC/USDT", "idempotency_key": "alerts-1"});
            let (status, body) = w.api.post("/api/v1/signals", &signal, None).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");

            eventually("alice's fill email", || async {
                w.subjects("alice@example.com")
                    .iter()
                    .any(|s| s.starts_with("Nexus: Bought"))
            })
            .await;
            eventually("bob's gate-block email", || async {
                w.subjects("bob@example.com")
                    .iter()
                    .any(|s| s.starts_with("Nexus: the gate blocked an entry"))
            })
            .await;
            // The webhook: refused once (500), delivered on the retry, signed with the secret.
            eventually("the webhook's retry", || async {
                received.lock().unwrap().requests.len() >= 2
            })
            .await;
            // Every alert job is done before anything is judged missing.
            let store = Arc::clone(&w.store);
            eventually("the alert jobs to finish", || {
                let store = Arc::clone(&store);
                async move {
                    store.depth().await.unwrap().iter().all(|d| {
                        !matches!(d.kind, JobKind::TradeAlert | JobKind::AlertWebhook)
                            || d.count == 0
                    })
                }
            })
            .await;
            let alice_mail = w.outbox.to("alice@example.com");
            let fill = alice_mail
                .iter()
                .find(|m| m["subject"].as_str().unwrap().starts_with("Nexus: Bought"))
                .unwrap();
            assert_eq!(fill["template"], "trade_alert");
            assert!(
                fill["text"]
                    .as_str()
                    .unwrap()
                    .contains("https://nexus.test/app/settings/alerts")
            );
            assert!(
                fill["text"]
                    .as_str()
                    .unwrap()
                    .contains("fill alerts are on")
            );
            assert!(
                !w.subjects("alice@example.com")
                    .iter()
                    .any(|s| s.contains("gate blocked")),
                "gate blocks are off by default"
            );
            assert!(
                !w.subjects("bob@example.com")
                    .iter()
                    .any(|s| s.starts_with("Nexus: Bought")),
                "bob turned fills off"
            );
            let gate = w
                .outbox
                .to("bob@example.com")
                .into_iter()
                .find(|m| m["template"] == "gate_block_alert")
                .unwrap();
            assert!(
                gate["text"]
                    .as_str()
                    .unwrap()
                    .contains("gate-block alerts are on")
            );

            let requests = &received.lock().unwrap().requests;
            assert_eq!(
                requests.len(),
                2,
                "one alert, delivered once after one failure"
            );
            let (first, second) = (&requests[0], &requests[1]);
            assert_eq!(first.1, second.1, "the retry posts the same body");
            let body: Value = serde_json::from_str(&second.1).unwrap();
            assert_eq!(body["type"], "fills");
            assert_eq!(body["data"]["state"], "filled");
            assert_eq!(body["data"]["side"], "buy");
            let signature = header(&second.0, "x-nexus-signature");
            let (t, v1) = signature.split_once(',').unwrap();
            let t = t.strip_prefix("t=").unwrap();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(format!("{t}.{}", second.1).as_bytes());
            let expected: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                v1.strip_prefix("v1=").unwrap(),
                expected,
                "verifies with the secret"
            );
            assert!((Utc::now().timestamp() - t.parse::<i64>().unwrap()).abs() < 120);
            assert_eq!(header(&second.0, "x-nexus-event"), "fills");
            w
        },
    )
    .await;
}

/// An order the venue refuses alerts its owner when error alerts are on, and only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_orders_alert_only_owners_who_want_errors() {
    on_each(
        "refused_orders_alert_only_owners_who_want_errors",
        |backend| async move { TestDb::open(backend).await },
        |db| async move {
            let store = Arc::clone(&db.store);
            let (_binance, venues) = crate::support::local_venues().await;
            let executor = Arc::new(TradeExecutor::new(Arc::clone(&store), Arc::new(venues)));
            let mut plans = Vec::new();
            for (n, (email, errors)) in [("on@example.com", true), ("off@example.com", false)]
                .into_iter()
                .enumerate()
            {
                let user = UserId::new(Uuid::new_v4());
                store
                    .create_user(user, email, None, Role::User, Utc::now())
                    .await
                    .unwrap();
                let prefs = AlertPreferences {
                    email: EmailAlerts {
                        errors,
                        ..EmailAlerts::default()
                    },
                    ..AlertPreferences::default()
                };
                store
                    .set_alert_preferences(user, &prefs, Utc::now())
                    .await
                    .unwrap();
                let creds = ApiCredentials {
                    api_key: crate::support::BINANCE_KEY.into(),
                    secret: Secret::new(crate::support::BINANCE_SECRET),
                    passphrase: None,
                };
                let trade = KeyPermissions {
                    read: true,
                    trade: true,
                    withdraw: false,
                };
                let key = store
                    .add_credentials(user, ExchangeId::Binance, "k", &creds, trade, Utc::now())
                    .await
                    .unwrap();
                let bot = BotId::new(Uuid::new_v4());
                store
                    .create_bot(
                        &BotRecord {
                            id: bot,
                            user,
                            name: format!("b{n}"),
                            exchange: ExchangeId::Binance,
                            symbol: "BTC/USDT".parse().unwrap(),
                            interval: Interval::H1,
                            strategy: "trend_breakout".into(),
                            strategy_config: "{}".into(),
                            config: BotConfig::default(),
                            credential: Some(key.id),
                            paused: false,
                            paused_reason: None,
                        },
                        Utc::now(),
                    )
                    .await
                    .unwrap();
                let signal = SignalId::new(Uuid::new_v4());
                plans.push(ExecutionPlan {
                    signal,
                    user,
                    bot,
                    exchange: ExchangeId::Binance,
                    action: GateAction::Entry,
                    intent: OrderIntent::market(
                        "BTC/USDT".parse().unwrap(),
                        Side::Buy,
                        Quantity::from_str("0.01").unwrap(),
                    )
                    .unwrap(),
                    client_order_id: ClientOrderId::derive(signal, bot, 0),
                    level: 0,
                    reference_price: Price::from_str("60000").unwrap(),
                    dust: Quantity::ZERO,
                    shortfall: Quantity::ZERO,
                });
            }
            // Nothing deposited: the venue refuses both orders for the balance.
            for (_, outcome) in executor.run_plans(plans, Attempt::First).await {
                assert!(matches!(outcome, Ok(Executed::Refused(_))), "{outcome:?}");
            }
            let outbox = Outbox::new(&db.path().join("outbox"));
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn(run_alerts(
                Arc::clone(&store),
                AlertSinks {
                    email: Some(outbox.sender()),
                    public_url: "https://nexus.test".into(),
                },
                "alerts".into(),
                stopped,
            ));
            eventually("the error alert", || async {
                !outbox.to("on@example.com").is_empty()
            })
            .await;
            let store2 = Arc::clone(&store);
            eventually("the alert job to finish", || {
                let store = Arc::clone(&store2);
                async move {
                    store
                        .depth()
                        .await
                        .unwrap()
                        .iter()
                        .all(|d| d.kind != JobKind::TradeAlert || d.count == 0)
                }
            })
            .await;
            stop.send(true).unwrap();
            worker.await.unwrap();
            let mail = outbox.to("on@example.com");
            assert_eq!(mail.len(), 1);
            assert_eq!(mail[0]["template"], "order_error_alert");
            assert_eq!(
                mail[0]["subject"],
                "Nexus: your BTC/USDT buy order was rejected"
            );
            assert!(
                mail[0]["text"]
                    .as_str()
                    .unwrap()
                    .contains("error alerts are on")
            );
            assert!(outbox.to("off@example.com").is_empty(), "errors turned off");
            db
        },
    )
    .await;
}

/// Two instances' upkeep race to enqueue the day's summary: one job; one email per user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_summary_is_enqueued_once_and_emails_each_user_once() {
    on_each(
        "the_daily_summary_is_enqueued_once_and_emails_each_user_once",
        |backend| async move { TestDb::open(backend).await },
        |db| async move {
            let store = Arc::clone(&db.store);
            let user = UserId::new(Uuid::new_v4());
            store
                .create_user(user, "daily@example.com", None, Role::User, Utc::now())
                .await
                .unwrap();
            let quiet = UserId::new(Uuid::new_v4());
            store
                .create_user(quiet, "quiet@example.com", None, Role::User, Utc::now())
                .await
                .unwrap();
            let prefs = AlertPreferences {
                email: EmailAlerts {
                    daily_summary: true,
                    ..EmailAlerts::default()
                },
                ..AlertPreferences::default()
            };
            store
                .set_alert_preferences(user, &prefs, Utc::now())
                .await
                .unwrap();
            let bot = BotId::new(Uuid::new_v4());
            store
                .create_bot(
                    &BotRecord {
                        id: bot,
                        user,
                        name: "Trend <BTC>".into(),
                        exchange: ExchangeId::Paper,
                        symbol: "BTC/USDT".parse().unwrap(),
                        interval: Interval::H1,
                        strategy: "trend_breakout".into(),
                        strategy_config: "{}".into(),
                        config: BotConfig::default(),
                        credential: None,
                        paused: false,
                        paused_reason: None,
                    },
                    Utc::now(),
                )
                .await
                .unwrap();
            let now = Utc::now();
            let yesterday = now - chrono::Duration::days(1);
            let order = OrderRecord {
                id: Uuid::new_v4(),
                bot,
                user,
                signal: SignalId::new(Uuid::new_v4()),
                client_order_id: ClientOrderId::new("daily-1").unwrap(),
                exchange: ExchangeId::Paper,
                symbol: "BTC/USDT".parse().unwrap(),
                side: Side::Buy,
                order_type: OrderType::Market,
                quantity: "0.01".parse().unwrap(),
                limit_price: None,
                level: 0,
                state: OrderState::Filled,
                venue_order_id: None,
                filled_quantity: "0.01".parse().unwrap(),
                average_price: None,
                error: None,
                created_at: yesterday,
                updated_at: yesterday,
            };
            store.record_order(&order).await.unwrap();
            store
                .record_fill(&FillRecord {
                    order: order.id,
                    venue_trade_id: "T1".into(),
                    quantity: "0.01".parse().unwrap(),
                    price: "60000".parse().unwrap(),
                    fee: "0.6".parse().unwrap(),
                    fee_asset: Some("USDT".parse().unwrap()),
                    filled_at: yesterday,
                })
                .await
                .unwrap();

            // Two instances (each its own store handle) enqueue at once, twice each.
            let (a, b) = (db.another_store().await, db.another_store().await);
            let race = |s: Arc<dyn Store>| async move {
                nexus_server::alerts::summary::enqueue(s.as_ref(), now)
                    .await
                    .unwrap()
            };
            let (x, y) = tokio::join!(race(Arc::clone(&a)), race(Arc::clone(&b)));
            assert_eq!(u8::from(x) + u8::from(y), 1, "one of them enqueued it");
            assert!(
                !race(a).await && !race(b).await,
                "and nobody again that day"
            );
            nexus_server::maintenance::run_once(store.as_ref(), "upkeep")
                .await
                .unwrap();

            let outbox = Outbox::new(&db.path().join("outbox"));
            let sender = outbox.sender();
            let lease = Duration::from_secs(60);
            let mut ran = 0;
            for _ in 0..3 {
                let jobs = store
                    .claim(&[JobKind::DailySummary], "w", lease, 10, Utc::now())
                    .await
                    .unwrap();
                for job in &jobs {
                    nexus_server::alerts::summary::run_job(
                        store.as_ref(),
                        sender.as_ref(),
                        "https://nexus.test",
                        job,
                    )
                    .await
                    .unwrap();
                    store.complete(&[job.id], "w", Utc::now()).await.unwrap();
                    ran += 1;
                }
            }
            assert_eq!(
                ran, 2,
                "the day's job, then one job for the one user who wants it"
            );
            assert!(outbox.to("quiet@example.com").is_empty());
            let mail = outbox.to("daily@example.com");
            assert_eq!(mail.len(), 1);
            assert_eq!(mail[0]["template"], "daily_summary");
            let text = mail[0]["text"].as_str().unwrap();
            for part in [
                "Trend <BTC> (BTC/USDT paper)",
                "Orders: 1 (0 refused or failed)",
                "Fills: 1 (bought 600 USDT, sold 0 USDT, fees 0.6 USDT)",
                "Cash P&L: -600.6 USDT",
                "https://nexus.test/app/settings/alerts",
            ] {
                assert!(text.contains(part), "{part}: {text}");
            }
            assert!(
                mail[0]["html"]
                    .as_str()
                    .unwrap()
                    .contains("Trend &lt;BTC&gt;")
            );
            db
        },
    )
    .await;
}
