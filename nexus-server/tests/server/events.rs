//! `GET /api/v1/events` end to end: a real instance (API, scheduler, workers, Paper venue)
//! over each database streams a user's bots, orders, fills and positions, and the regime
//! of their markets, to that user only; a stream resumes after its `Last-Event-ID`, gets a
//! `reset` when it cannot, ends when its session does. On PostgreSQL, two instances of one
//! deployment stream the same events under the same ids, so a client resumes on either.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, GatePolicy, Gatekeeper};
use nexus_core::{ExchangeId, Interval, UserId};
use nexus_server::api::events::StreamTiming;
use nexus_server::config::Config;
use nexus_server::events::Happening;
use nexus_server::instance::launch;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::engine::{World, signal, start_with, webhook_bot};
use crate::support::{Backend, Http, Outbox, TestDb, on_each, signed_in};

/// How long a test waits for an event that should come.
const WITHIN: Duration = Duration::from_secs(20);

/// One SSE message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Message {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

impl Message {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// A client's open stream, read message by message.
pub(crate) struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Opens the stream of the session `token` on `base`, after `last` when given.
    pub(crate) async fn open(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        last: Option<&str>,
    ) -> Self {
        let response = request(http, base, token, last).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        let mut stream = Self {
            response,
            buffer: String::new(),
        };
        let first = stream.message().await.expect("the first message");
        assert_eq!(
            first.data, "",
            "the stream opens with its retry delay: {first:?}"
        );
        stream
    }

    /// The next message that is not only a comment, `None` when the stream ended; fails
    /// after [`WITHIN`].
    async fn message(&mut self) -> Option<Message> {
        tokio::time::timeout(WITHIN, self.read())
            .await
            .expect("a message within the time allowed")
    }

    /// The next message, or `None` if none comes within `wait`.
    async fn quiet_for(&mut self, wait: Duration) -> Option<Message> {
        tokio::time::timeout(wait, self.read()).await.ok().flatten()
    }

    async fn read(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message::default();
                let mut fields = 0;
                for line in frame.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => message.id = Some(value.to_owned()),
                        "event" => message.event = Some(value.to_owned()),
                        "data" => {
                            if !message.data.is_empty() {
                                message.data.push('\n');
                            }
                            message.data.push_str(value);
                        }
                        "retry" => assert!(value.parse::<u64>().is_ok(), "{line}"),
                        // A comment (the keep-alive).
                        "" => continue,
                        other => panic!("an unknown field {other:?} in {frame:?}"),
                    }
                    fields += 1;
                }
                if fields > 0 {
                    return Some(message);
                }
                continue;
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event of `kind`, skipping others; fails naming what it saw.
    pub(crate) async fn next_of(&mut self, kind: &str) -> Message {
        let mut seen = Vec::new();
        loop {
            let message = self
                .message()
                .await
                .unwrap_or_else(|| panic!("the stream ended before a {kind} event: {seen:?}"));
            if message.event.as_deref() == Some(kind) {
                return message;
            }
            seen.push(message.event);
        }
    }
}

async fn request(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    last: Option<&str>,
) -> reqwest::Response {
    let mut req = http.get(format!("{base}/api/v1/events")).bearer_auth(token);
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last);
    }
    req.send().await.unwrap()
}

/// An instance whose streams check their session every 300 ms and send a keep-alive
/// every 500 ms.
async fn start(backend: Backend) -> World {
    start_with(backend, |config| {
        config.event_timing = StreamTiming {
            session_check: Duration::from_millis(300),
            keep_alive: Duration::from_millis(500),
        };
    })
    .await
}

async fn on_both<F, Fut>(name: &str, test: F)
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

#[tokio::test]
async fn a_user_streams_their_own_bots_orders_fills_and_positions() {
    on_both("events: a user's own", |w| async move {
        let ada = w.user("ada@example.com").await;
        let bob = w.user("bob@example.com").await;
        let mut ada_stream = Stream::open(&w.http, w.url(), &ada, None).await;
        let mut bob_stream = Stream::open(&w.http, w.url(), &bob, None).await;

        let (status, bot) = w.post("/api/v1/bots", &webhook_bot(), Some(&ada)).await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");
        let created = ada_stream.next_of("bot").await;
        let event = created.json();
        assert_eq!(event["type"], "bot");
        assert_eq!(event["bot"]["change"], "created");
        assert_eq!(event["bot_id"], bot["id"]);
        assert_eq!(event["bot"]["bot"]["id"], bot["id"]);
        assert_eq!(event["exchange"], "paper");
        assert_eq!(event["symbol"], "BTC/USDT");
        assert!(created.id.is_some(), "every event has an id");

        // A signal: the order filled, its fill, the position it opened.
        w.regime_classified().await;
        let (status, body) = w
            .post("/api/v1/signals", &signal("entry", "events-1"), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let order = ada_stream.next_of("order").await.json();
        assert_eq!(order["bot_id"], bot["id"]);
        assert_eq!(order["order"]["side"], "buy");
        assert_eq!(order["order"]["state"], "filled");
        let fill = ada_stream.next_of("fill").await.json();
        assert_eq!(fill["fill"]["order_id"], order["order"]["id"]);
        assert_eq!(fill["fill"]["quantity"], order["order"]["filled_quantity"]);
        let position = ada_stream.next_of("position").await;
        let opened = position.json();
        assert_eq!(opened["position"]["open"], true);
        // What was bought, less a fee taken in it.
        let number = |v: &Value| {
            v.as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        };
        let fee_in_base = fill["fill"]["fee_asset"] == "BTC";
        let held = number(&order["order"]["filled_quantity"])
            - if fee_in_base {
                number(&fill["fill"]["fee"])
            } else {
                rust_decimal::Decimal::ZERO
            };
        assert_eq!(number(&opened["position"]["quantity"]), held);
        // What the stream said is what the API reads.
        let positions = w
            .get(
                &format!("/api/v1/bots/{}/positions", bot["id"].as_str().unwrap()),
                &ada,
            )
            .await;
        assert_eq!(positions[0]["quantity"], opened["position"]["quantity"]);

        // Bob saw none of it: his first event is his own bot.
        let (status, bobs) = w.post("/api/v1/bots", &webhook_bot(), Some(&bob)).await;
        assert_eq!(status, StatusCode::CREATED);
        let first = bob_stream.message().await.unwrap().json();
        assert_eq!(first["bot_id"], bobs["id"], "only his own events: {first}");

        // Away, then back after the last event seen: what was missed comes first.
        let last = position.id.clone().unwrap();
        drop(ada_stream);
        let (status, _) = w
            .api
            .client
            .patch(
                w.api
                    .url(&format!("/api/v1/bots/{}", bot["id"].as_str().unwrap())),
            )
            .bearer_auth(&ada)
            .json(&json!({"paused": true}))
            .send()
            .await
            .map(|r| (r.status(), ()))
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let mut resumed = Stream::open(&w.http, w.url(), &ada, Some(&last)).await;
        let missed = resumed.message().await.unwrap().json();
        assert_eq!(missed["bot"]["change"], "updated");
        assert_eq!(missed["bot"]["bot"]["paused"], true);
        assert!(
            resumed
                .quiet_for(Duration::from_millis(300))
                .await
                .is_none(),
            "nothing else was missed"
        );

        // An id the server no longer holds (or never gave): a reset, then live events.
        let mut lost = Stream::open(&w.http, w.url(), &ada, Some("gone-1")).await;
        let reset = lost.message().await.unwrap();
        assert_eq!(reset.event.as_deref(), Some("reset"));
        assert!(
            reset.id.is_some(),
            "a reset carries the newest id to resume from"
        );
        assert!(
            reset.json()["detail"]
                .as_str()
                .unwrap()
                .contains("no longer held")
        );

        // Deleting the bot: every open stream of Ada's hears it.
        let (status, _) = w
            .api
            .delete(
                &format!("/api/v1/bots/{}", bot["id"].as_str().unwrap()),
                &ada,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for stream in [&mut resumed, &mut lost] {
            let deleted = stream.next_of("bot").await.json();
            assert_eq!(deleted["bot"]["change"], "deleted");
            assert_eq!(deleted["bot"]["bot"], Value::Null);
        }

        // Signing out ends her streams; a new one is refused.
        let (status, _) = w.post("/api/v1/auth/logout", &json!({}), Some(&ada)).await;
        assert!(status.is_success(), "{status}");
        assert!(resumed.message().await.is_none(), "the stream ended");
        let refused = request(&w.http, w.url(), &ada, None).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        w
    })
    .await;
}

#[tokio::test]
async fn a_regime_change_reaches_the_users_following_its_market_only() {
    on_both("events: regimes", |w| async move {
        let ada = w.user("ada@example.com").await;
        let bob = w.user("bob@example.com").await;
        let (status, _) = w.post("/api/v1/bots", &webhook_bot(), Some(&ada)).await;
        assert_eq!(status, StatusCode::CREATED);
        let mut ada_stream = Stream::open(&w.http, w.url(), &ada, None).await;
        let mut bob_stream = Stream::open(&w.http, w.url(), &bob, None).await;
        let events = Arc::clone(&w.instance.as_ref().unwrap().state.events);
        let regime = |symbol: &str| {
            let inputs = GateInputs {
                exchange: ExchangeId::Paper,
                symbol: symbol.parse().unwrap(),
                action: GateAction::Entry,
                regime: Some(Regime::Bear),
                confidence: Some(0.8),
                data_age_ms: Some(0),
                advisor: AdvisorInput::NotAsked,
            };
            Happening::Regime {
                decision: Gatekeeper::new(GatePolicy::default()).decide(inputs, chrono::Utc::now()),
                interval: Interval::D1,
                previous: Some(Regime::Bull),
                confidence: Some(0.8),
            }
        };
        events
            .publish(&[regime("ETH/USDT"), regime("BTC/USDT")])
            .await;
        let change = ada_stream.message().await.unwrap();
        assert_eq!(change.event.as_deref(), Some("regime"));
        let change = change.json();
        assert_eq!(
            change["symbol"], "BTC/USDT",
            "not ETH/USDT, which she does not follow"
        );
        assert_eq!(change["regime"]["regime"], "bear");
        assert_eq!(change["regime"]["previous"], "bull");
        assert_eq!(change["regime"]["interval"], "1d");
        assert_eq!(change["regime"]["entries_allowed"], false);
        assert!(
            bob_stream
                .quiet_for(Duration::from_millis(500))
                .await
                .is_none(),
            "Bob has no bots"
        );
        // Bob's new bot on the market: his stream follows it from then on.
        let (status, _) = w.post("/api/v1/bots", &webhook_bot(), Some(&bob)).await;
        assert_eq!(status, StatusCode::CREATED);
        bob_stream.next_of("bot").await;
        events.publish(&[regime("BTC/USDT")]).await;
        assert_eq!(
            bob_stream.next_of("regime").await.json()["symbol"],
            "BTC/USDT"
        );
        w
    })
    .await;
}

#[tokio::test]
async fn streams_are_refused_without_a_session_and_beyond_the_limit() {
    on_both("events: refusals", |w| async move {
        let (status, body) = w.api.get("/api/v1/events", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "unauthorized", "{body}");
        let ada = w.user("ada@example.com").await;
        let mut open = Vec::new();
        for _ in 0..nexus_server::api::events::MAX_STREAMS_PER_USER {
            open.push(Stream::open(&w.http, w.url(), &ada, None).await);
        }
        let refused = request(&w.http, w.url(), &ada, None).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "too_many_streams");
        assert!(
            w.api.metric("nexus_event_streams ").await
                >= nexus_server::api::events::MAX_STREAMS_PER_USER as f64
        );
        // One closed makes room for one more (once the server notices: at the latest when
        // its next keep-alive finds the connection gone).
        drop(open.pop());
        let started = std::time::Instant::now();
        let mut reopened = None;
        for _ in 0..100 {
            let response = request(&w.http, w.url(), &ada, None).await;
            if response.status() == StatusCode::OK {
                reopened = Some(response);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(reopened.is_some(), "a stream closed frees its place");
        eprintln!(
            "events: a closed stream's place was free after {:?}",
            started.elapsed()
        );
        w
    })
    .await;
}

/// Two instances of one deployment (API only) over one PostgreSQL schema.
#[tokio::test]
async fn every_instance_streams_the_same_events_under_the_same_ids() {
    let Some(url) = crate::support::postgres("events across instances") else {
        return;
    };
    let db = TestDb::open(Backend::Postgres(url)).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let mut instances = Vec::new();
    for _ in 0..2 {
        let config = Config::from_lookup(|var| {
            Ok(match var {
                "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
                "NEXUS_ENGINE" => Some("off".to_owned()),
                _ => None,
            })
        })
        .unwrap();
        let store = db.another_store().await;
        instances.push(launch(&config, store, outbox.sender(), None).await.unwrap());
    }
    let (one, two) = (
        Http::new(instances[0].url.clone()),
        Http::new(instances[1].url.clone()),
    );
    let user = UserId::new(uuid::Uuid::new_v4());
    let token = signed_in(
        &db.store,
        user,
        "ada@example.com",
        nexus_core::ports::accounts::Role::User,
    )
    .await;
    // The stream on the first; the changes through the second.
    let mut on_one = Stream::open(&one.client, &one.base, &token, None).await;
    let mut ids = Vec::new();
    let mut bot_id = String::new();
    for name in ["first", "second", "third"] {
        let mut bot = webhook_bot();
        bot["name"] = json!(name);
        let (status, body) = two.post("/api/v1/bots", &bot, Some(&token)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        bot_id = body["id"].as_str().unwrap().to_owned();
        let event = on_one.next_of("bot").await;
        assert_eq!(event.json()["bot"]["bot"]["name"], name, "in order");
        ids.push(event.id.unwrap());
    }
    // Resumed on the second after the first event: the same events, the same ids.
    let mut on_two = Stream::open(&two.client, &two.base, &token, Some(&ids[0])).await;
    for (id, name) in ids[1..].iter().zip(["second", "third"]) {
        let event = on_two.message().await.unwrap();
        assert_eq!(event.id.as_deref(), Some(id.as_str()));
        assert_eq!(event.json()["bot"]["bot"]["name"], name);
    }

    // The instances lose their connections to the others for a moment: their streams
    // reset (events may have been missed), and go on once the relay is back.
    let (server, schema) = db.postgres_schema().unwrap();
    let admin = sqlx::PgPool::connect(server).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1",
    )
    .bind(format!("LISTEN \"nexus_events__{schema}\""))
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(cut.len(), 2, "one listening connection per instance");
    for stream in [&mut on_one, &mut on_two] {
        assert_eq!(stream.next_of("reset").await.json()["type"], "reset");
    }
    let mut back = false;
    for n in 0..20 {
        let renamed = two
            .client
            .patch(two.url(&format!("/api/v1/bots/{bot_id}")))
            .bearer_auth(&token)
            .json(&json!({"name": format!("after the cut {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(renamed.status(), StatusCode::OK);
        if let Some(event) = on_one.quiet_for(Duration::from_secs(1)).await {
            assert_eq!(event.event.as_deref(), Some("bot"));
            back = true;
            break;
        }
    }
    assert!(back, "events flow again after the relay reconnects");
    admin.close().await;
    drop((on_one, on_two));
    for instance in instances {
        instance.stop().await.unwrap();
    }
}
