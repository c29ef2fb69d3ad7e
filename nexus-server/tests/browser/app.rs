//! The server under test: the whole product as `nexus serve` runs it (API, pages, engine on
//! the Paper venue, the email queue), in this process on port 0 over a fresh SQLite file,
//! its emails written to the development outbox.

use std::sync::Arc;

use nexus_core::UserId;
use nexus_core::ports::accounts::Role;
use nexus_server::config::Config;
use nexus_server::instance::{Instance, launch};
use nexus_store::Store;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, COOKIE};
use serde_json::{Value, json};

use crate::support::{Backend, Outbox, TestDb};

/// The session cookie (the API's own).
pub const SESSION_COOKIE: &str = "nexus_session";
/// The outside signal source the server accepts, and its secret.
pub const SIGNAL_SOURCE: &str = "browser";
const SIGNAL_SECRET: &str = "a secret only the test knows";

/// The theme cookie the "Dark mode" button sets.
pub const THEME_COOKIE: &str = "nexus_theme";

pub struct App {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub outbox: Outbox,
    pub store: Arc<dyn Store>,
    http: reqwest::Client,
    instance: Option<Instance>,
    _db: TestDb,
}

impl App {
    pub async fn start() -> Self {
        let db = TestDb::open(Backend::Sqlite).await;
        // The Paper market moves once an hour: pages stay as they were while a test looks.
        let config = Config::from_lookup(|var| {
            Ok(match var {
                "NEXUS_BIND" => Some("127.0.0.1:0".to_owned()),
                "NEXUS_MARKET_TTL_SECS" => Some("30".to_owned()),
                "NEXUS_PAPER_CANDLE_SECS" => Some("3600".to_owned()),
                "NEXUS_SIGNAL_SOURCES" => Some(format!("{SIGNAL_SOURCE}={SIGNAL_SECRET}")),
                _ => None,
            })
        })
        .unwrap();
        let outbox = Outbox::new(&db.path().join("outbox"));
        let instance = launch(&config, Arc::clone(&db.store), outbox.sender(), None)
            .await
            .unwrap();
        nexus_exchanges::http::install_tls_provider();
        Self {
            url: instance.url.clone(),
            outbox,
            store: Arc::clone(&db.store),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            instance: Some(instance),
            _db: db,
        }
    }

    /// The full URL of `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A user with a session, made in the store (for tests whose subject is not signing
    /// up): the session token, the value of the session cookie.
    pub async fn user(&self, email: &str, role: Role) -> String {
        crate::support::signed_in(&self.store, UserId::new(uuid::Uuid::new_v4()), email, role).await
    }

    /// What `GET path` answers a browser (HTML wanted) with the session `token`.
    pub async fn status(&self, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = self.http.get(self.at(path)).header(ACCEPT, "text/html");
        if let Some(token) = token {
            request = request.header(COOKIE, format!("{SESSION_COOKIE}={token}"));
        }
        request.send().await.unwrap().status()
    }

    /// Pushes the outside signal `action` (`entry`, `exit`) for Paper BTC/USDT, as a
    /// strategy service would.
    pub async fn signal(&self, action: &str, key: &str) {
        let answer = self
            .http
            .post(self.at("/api/v1/signals"))
            .json(
                &json!({"source": SIGNAL_SOURCE, "token": SIGNAL_SECRET, "action": action,
                "exchange": "paper", "symbol": "BTC/USDT", "idempotency_key": key}),
            )
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            answer.text().await.unwrap()
        );
    }

    /// A Paper bot of the user of session `token`, made through the API: its id.
    pub async fn paper_bot(&self, token: &str) -> String {
        let answer = self
            .http
            .post(self.at("/api/v1/bots"))
            .bearer_auth(token)
            .json(&json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"}))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Stops the server gracefully (a failed test's server dies with its runtime).
    pub async fn stop(mut self) {
        if let Some(instance) = self.instance.take() {
            instance.stop().await.unwrap();
        }
    }
}
