//! The dashboard and bot pages end to end, as a browser without scripts uses them: a real
//! instance (API, engine with the simulated Paper market) over a fresh SQLite file and,
//! when `NEXUS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema. Pages are read with
//! the session cookie; forms are posted with the CSRF cookie repeated in `_csrf`.

use std::sync::Arc;

use nexus_core::UserId;
use nexus_core::ports::accounts::Role;
use nexus_server::config::Config;
use nexus_server::instance::{Instance, launch};
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Backend, Http, Outbox, TestDb, on_each, signed_in};

/// The CSRF token the tests' browser holds (any value works: the form repeats the cookie).
const CSRF: &str = "test-csrf-token-0123456789";

struct World {
    instance: Option<Instance>,
    store: Arc<dyn Store>,
    api: Http,
    _db: TestDb,
}

async fn start(backend: Backend) -> World {
    let db = TestDb::open(backend).await;
    // A feed that stays still after its warm-up: the bots do not trade under the test.
    let config = Config::from_lookup(|var| {
        Ok(match var {
            "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
            "NEXUS_PAPER_CANDLE_SECS" => Some("3600".to_owned()),
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
        _db: db,
    }
}

/// A browser signed in as one user.
struct Browser {
    api: Http,
    token: String,
    user: UserId,
    /// The flash cookie the last answer set, sent with the next request as a browser does.
    flash: std::sync::Mutex<Option<String>>,
}

/// A page's answer: status, `Location`, body.
struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl Browser {
    async fn new(w: &World, email: &str) -> Self {
        let user = UserId::new(Uuid::new_v4());
        let token = signed_in(&w.store, user, email, Role::User).await;
        Self {
            api: w.api.clone(),
            token,
            user,
            flash: std::sync::Mutex::new(None),
        }
    }

    fn cookies(&self) -> String {
        let mut cookies = format!("nexus_session={}; nexus_csrf={CSRF}", self.token);
        if let Some(flash) = self.flash.lock().unwrap().take() {
            cookies.push_str(&format!("; nexus_flash={flash}"));
        }
        cookies
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req
            .header("cookie", self.cookies())
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        for cookie in resp.headers().get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            if let Some(value) = cookie.strip_prefix("nexus_flash=") {
                let value = value.split(';').next().unwrap_or_default();
                *self.flash.lock().unwrap() = Some(value.to_owned()).filter(|v| !v.is_empty());
            }
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status,
            location,
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.api.client.get(self.api.url(path))).await
    }

    /// A page that must answer 200.
    async fn page(&self, path: &str) -> String {
        let answer = self.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "GET {path}: {}", answer.body);
        answer.body
    }

    /// Posts `fields` with the CSRF token, as the page's form does.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", CSRF)];
        form.extend_from_slice(fields);
        self.send(self.api.client.post(self.api.url(path)).form(&form))
            .await
    }

    /// Posts with htmx's header, as pausing with scripts on does.
    async fn post_htmx(&self, path: &str) -> Answer {
        self.send(
            self.api
                .client
                .post(self.api.url(path))
                .header("hx-request", "true")
                .header("x-csrf-token", CSRF)
                .form(&[("back", "/app/bots")]),
        )
        .await
    }

    async fn bots(&self, store: &Arc<dyn Store>) -> Vec<nexus_core::ports::accounts::BotRecord> {
        store.user_bots(self.user, None, 100).await.unwrap()
    }
}

/// The new-bot form's fields for a Paper bot, with `changes`.
fn bot_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "My paper bot"),
        ("exchange", "paper"),
        ("symbol", "BTC/USDT"),
        ("strategy", "trend_breakout"),
        ("interval", "1h"),
        ("exchange_key_id", ""),
        ("strategy_config", ""),
        (
            "sizing",
            "{\"method\": {\"type\": \"percent_of_equity\", \"percent\": 5}}",
        ),
        ("pyramid", ""),
        ("gate", ""),
    ];
    for (name, value) in changes {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

/// The error paragraph under field `name`.
fn field_error<'b>(body: &'b str, name: &str) -> Option<&'b str> {
    let start = body.find(&format!("id=\"f-{name}-error\">"))?;
    let text = &body[start..];
    let text = &text[text.find('>')? + 1..];
    Some(&text[..text.find("</p>")?])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_are_created_seen_paused_edited_and_deleted_through_the_pages() {
    on_each("web bot pages", start, |w| async move {
        let alice = Browser::new(&w, "alice@example.com").await;

        // A new user's dashboard points at the first bot.
        let dashboard = alice.page("/app").await;
        assert!(dashboard.contains("<h1>Dashboard</h1>"), "{dashboard}");
        assert!(dashboard.contains("Create your first bot"));
        assert!(dashboard.contains("href=\"/app/bots/new\""));
        // Its live part refreshes on the user's event stream, and every 30 s for prices.
        assert!(dashboard.contains("hx-trigger=\"nexus:changed, every 30s\""));
        assert!(dashboard.contains("data-events=\"/api/v1/events\""));

        // The form offers every option, with the API's defaults.
        let form = alice.page("/app/bots/new").await;
        for label in [
            ">Name</label>",
            ">Exchange</label>",
            ">Symbol</label>",
            ">Strategy</label>",
            ">Interval</label>",
            ">Exchange key</label>",
            ">Start paused</label>",
            "<summary>Advanced options</summary>",
            ">Strategy parameters (JSON)</label>",
            ">Sizing (JSON)</label>",
            ">Pyramiding (JSON)</label>",
            ">Gate policy (JSON)</label>",
            "Create bot",
            "Newest key for the exchange",
            "value=\"BTC/USDT\"",
            "<option value=\"1h\" selected>",
            "entry_period&#34;: 20",
        ] {
            assert!(form.contains(label), "the form lacks {label}: {form}");
        }

        // Bad JSON is shown beside its field without calling the API.
        let bad_json = alice
            .post("/app/bots/new", &bot_form(&[("sizing", "{\"method\": ")]))
            .await;
        assert_eq!(bad_json.status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = field_error(&bad_json.body, "sizing").expect("an error beside Sizing");
        assert!(error.starts_with("Not valid JSON"), "{error}");
        assert!(bad_json.body.contains("<details class=\"more\" open>"));
        assert!(bad_json.body.contains("aria-invalid=\"true\""));
        assert!(
            bad_json.body.contains("value=\"My paper bot\""),
            "what was typed is kept"
        );
        // The API's own errors land beside the field they name.
        let bad_symbol = alice
            .post("/app/bots/new", &bot_form(&[("symbol", "BTCUSDT")]))
            .await;
        assert_eq!(bad_symbol.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            field_error(&bad_symbol.body, "symbol").is_some(),
            "{}",
            bad_symbol.body
        );
        let out_of_range = alice
            .post(
                "/app/bots/new",
                &bot_form(&[(
                    "sizing",
                    "{\"method\": {\"type\": \"percent_of_equity\", \"percent\": 150}}",
                )]),
            )
            .await;
        assert_eq!(out_of_range.status, StatusCode::UNPROCESSABLE_ENTITY);
        let error = field_error(&out_of_range.body, "sizing").expect("beside Sizing");
        assert!(error.contains("percent"), "{error}");
        let no_key = alice
            .post("/app/bots/new", &bot_form(&[("exchange", "binance")]))
            .await;
        assert_eq!(no_key.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            field_error(&no_key.body, "exchange_key_id")
                .is_some_and(|e| e.contains("Binance") || e.contains("binance")),
            "{}",
            no_key.body
        );
        assert!(alice.bots(&w.store).await.is_empty(), "nothing was created");

        // A good form creates the bot and goes to its page.
        let created = alice.post("/app/bots/new", &bot_form(&[])).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let bots = alice.bots(&w.store).await;
        assert_eq!(bots.len(), 1);
        let bot = &bots[0];
        let id = bot.id.as_uuid().to_string();
        assert_eq!(created.location, format!("/app/bots/{id}"));
        assert_eq!(bot.name, "My paper bot");
        assert!(!bot.paused);
        assert_eq!(
            bot.config.sizing.method,
            nexus_core::sizing::SizingMethod::PercentOfEquity {
                percent: nexus_core::Percent::from_bps(500)
            }
        );

        let page = alice.page(&format!("/app/bots/{id}")).await;
        assert!(page.contains("<h1>My paper bot</h1>"), "{page}");
        for section in [
            ">Price chart</h2>",
            ">Positions</h2>",
            ">Orders</h2>",
            ">Fills</h2>",
            ">Skips</h2>",
            "Running",
            "Pause",
            "Edit",
            &format!("href=\"/app/bots/{id}/delete\""),
        ] {
            assert!(page.contains(section), "the bot page lacks {section}");
        }
        assert!(
            page.contains("<svg class=\"chart\""),
            "the engine's warm-up candles are drawn: {page}"
        );

        // It shows on the list and on the dashboard, whose live part is its own fragment.
        let list = alice.page("/app/bots").await;
        assert!(list.contains(&format!("<a href=\"/app/bots/{id}\">My paper bot</a>")));
        assert!(list.contains("Paper") && list.contains("BTC/USDT") && list.contains("1 hour"));
        assert!(list.contains("New bot"));
        let dashboard = alice.page("/app").await;
        for part in [
            "Equity",
            "Today&#39;s P&#38;L",
            "Open positions",
            ">Markets</h2>",
            ">Recent orders</h2>",
            ">Recent skips</h2>",
            ">Your bots</h2>",
            "My paper bot",
            "10,000.00 USDT",
        ] {
            assert!(
                dashboard.contains(part),
                "the dashboard lacks {part}: {dashboard}"
            );
        }
        let live = alice.page("/app/dashboard/live").await;
        assert!(live.starts_with("<div id=\"dashboard-live\""), "{live}");
        assert!(!live.contains("<html"), "a fragment, not a page");
        // The market's regime, once the engine classified it, with the gate's reasons.
        crate::support::eventually("the regime on the dashboard", || async {
            alice
                .page("/app/dashboard/live")
                .await
                .contains("New entries")
        })
        .await;

        // Pause without scripts: back to the page, paused.
        let paused = alice
            .post(
                &format!("/app/bots/{id}/pause"),
                &[("back", &format!("/app/bots/{id}"))],
            )
            .await;
        assert_eq!(paused.status, StatusCode::SEE_OTHER);
        assert_eq!(paused.location, format!("/app/bots/{id}"));
        assert!(alice.bots(&w.store).await[0].paused);
        let page = alice.page(&format!("/app/bots/{id}")).await;
        assert!(
            page.contains("Bot paused.") && page.contains("Resume"),
            "{page}"
        );
        // Resume with htmx: the state control comes back alone.
        let resumed = alice.post_htmx(&format!("/app/bots/{id}/resume")).await;
        assert_eq!(resumed.status, StatusCode::OK);
        assert!(
            resumed.body.contains(&format!("id=\"state-{id}\""))
                && resumed.body.contains("Running"),
            "{}",
            resumed.body
        );
        assert!(!resumed.body.contains("<html"));
        assert!(!alice.bots(&w.store).await[0].paused);
        // A form without the CSRF token changes nothing.
        let forged = alice
            .send(
                alice
                    .api
                    .client
                    .post(alice.api.url(&format!("/app/bots/{id}/pause")))
                    .form(&[("back", "/app/bots")]),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(!alice.bots(&w.store).await[0].paused);

        // Edit: the form holds the bot as it is; a bad value is shown beside its field.
        let edit = alice.page(&format!("/app/bots/{id}/edit")).await;
        assert!(edit.contains("value=\"My paper bot\"") && edit.contains("Save changes"));
        assert!(
            edit.contains("percent&#34;: &#34;5&#34;"),
            "the sizing JSON: {edit}"
        );
        let bad = alice
            .post(
                &format!("/app/bots/{id}/edit"),
                &bot_form(&[("gate", "{\"max_data_age_secs\": 0}")]),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&bad.body, "gate").is_some(), "{}", bad.body);
        let saved = alice
            .post(
                &format!("/app/bots/{id}/edit"),
                &bot_form(&[
                    ("name", "Renamed"),
                    ("symbol", "ETH/USDT"),
                    ("interval", "4h"),
                ]),
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(saved.location, format!("/app/bots/{id}"));
        let bot = alice.bots(&w.store).await.remove(0);
        assert_eq!(
            (
                bot.name.as_str(),
                bot.symbol.to_string().as_str(),
                bot.interval.as_str()
            ),
            ("Renamed", "ETH/USDT", "4h")
        );
        assert!(
            alice
                .page(&format!("/app/bots/{id}"))
                .await
                .contains("Bot saved.")
        );

        // Delete: a confirmation page without scripts, then the bot is gone.
        let confirm = alice.page(&format!("/app/bots/{id}/delete")).await;
        assert!(confirm.contains("Delete Renamed?"), "{confirm}");
        assert!(confirm.contains(&format!("action=\"/app/bots/{id}/delete\"")));
        let deleted = alice.post(&format!("/app/bots/{id}/delete"), &[]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        assert_eq!(deleted.location, "/app/bots");
        assert!(alice.bots(&w.store).await.is_empty());
        assert!(alice.page("/app/bots").await.contains("Bot deleted."));

        let mut w = w;
        w.instance.take().unwrap().stop().await.unwrap();
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_bot_is_not_found_and_plan_limits_show_above_the_form() {
    on_each("web bot pages' owners and limits", start, |w| async move {
        let alice = Browser::new(&w, "alice@example.com").await;
        let bob = Browser::new(&w, "bob@example.com").await;
        let (status, body) = bob
            .api
            .post(
                "/api/v1/bots",
                &json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout", "name": "Bob's"}),
                Some(&bob.token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();

        for path in [
            format!("/app/bots/{id}"),
            format!("/app/bots/{id}/edit"),
            format!("/app/bots/{id}/delete"),
            "/app/bots/not-a-uuid".to_owned(),
            format!("/app/bots/{}", Uuid::new_v4()),
        ] {
            let answer = alice.get(&path).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "GET {path}");
            assert!(answer.body.contains("Page not found"), "{}", answer.body);
            assert!(!answer.body.contains("Bob&#39;s"));
        }
        for path in [
            format!("/app/bots/{id}/pause"),
            format!("/app/bots/{id}/delete"),
            format!("/app/bots/{id}/edit"),
        ] {
            let answer = alice.post(&path, &bot_form(&[])).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "POST {path}");
        }
        let bobs = bob.bots(&w.store).await;
        assert_eq!(bobs.len(), 1, "still there");
        assert!(!bobs[0].paused && bobs[0].name == "Bob's", "unchanged");
        assert!(!alice.page("/app/bots").await.contains("Bob&#39;s"));
        assert!(!alice.page("/app").await.contains("Bob&#39;s"));

        // Visitors are sent to sign in first, and come back.
        let visitor = w
            .api
            .client
            .get(w.api.url("/app/bots"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(visitor.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            visitor.headers()["location"].to_str().unwrap(),
            "/login?next=%2Fapp%2Fbots"
        );

        // A dashboard left polling after its session ended goes to sign in, then back to
        // the dashboard rather than to its fragment.
        let polled = w
            .api
            .client
            .get(w.api.url("/app/dashboard/live"))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(polled.headers()["hx-redirect"], "/login?next=%2Fapp");

        // The free plan's three bots: the fourth is refused above the form.
        for n in 0..3 {
            let name = format!("Bot {n}");
            let created = alice
                .post("/app/bots/new", &bot_form(&[("name", &name)]))
                .await;
            assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        }
        let refused = alice
            .post("/app/bots/new", &bot_form(&[("name", "One too many")]))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("class=\"alert danger\""),
            "{}",
            refused.body
        );
        assert_eq!(alice.bots(&w.store).await.len(), 3);

        let mut w = w;
        w.instance.take().unwrap().stop().await.unwrap();
        w
    })
    .await;
}
