//! Accounts end to end: the real server on port 0 over a fresh SQLite file and, when
//! `NEXUS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema; emails read from the
//! development outbox.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, Utc};
use nexus_core::ports::sessions::TokenPurpose;
use nexus_exchanges::mock::binance::BinanceMock;
use nexus_exchanges::{BinanceConfig, PaperConfig, PaperVenue, Venues, VenuesConfig};
use nexus_server::api::{self, ApiState, AuthSettings};
use nexus_server::auth::tokens;
use nexus_server::email::Outbox;
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};
use reqwest::StatusCode;

const BINANCE_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
use serde_json::{Value, json};

struct Running {
    url: String,
    binance: Arc<BinanceMock>,
    outbox: PathBuf,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    cleanup: Option<(String, String)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

enum Backend {
    Sqlite,
    Postgres(String),
}

async fn start(backend: Backend) -> Running {
    start_with(backend, |state| state).await
}

async fn start_with(backend: Backend, configure: impl FnOnce(ApiState) -> ApiState) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    let (store, cleanup): (Arc<dyn Store>, _) = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
            (Arc::new(SqliteStore::open(&url, keys).await.unwrap()), None)
        }
        Backend::Postgres(url) => {
            let schema = format!("accounts_{}", uuid::Uuid::new_v4().simple());
            let store = PostgresStore::open_in_schema(&url, &schema, keys)
                .await
                .unwrap();
            (Arc::new(store), Some((url, schema)))
        }
    };
    let outbox = dir.path().join("outbox");
    let acceptor = nexus_server::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = poem::listener::Acceptor::local_addr(&acceptor)[0]
        .as_socket_addr()
        .copied()
        .unwrap();
    // Keys are checked against a local Binance.
    let (binance, binance_url) = BinanceMock::start(BINANCE_KEY, BINANCE_SECRET).await;
    let venues = Venues::new(
        VenuesConfig {
            binance: BinanceConfig {
                base_url: binance_url,
                ..BinanceConfig::default()
            },
            ..VenuesConfig::default()
        },
        None,
        PaperVenue::new(PaperConfig::default()),
    )
    .unwrap();
    let state = Arc::new(configure(
        ApiState::new(
            Arc::clone(&store),
            Arc::new(Outbox::new(&outbox)),
            AuthSettings::new(format!("http://{addr}")),
        )
        .with_venues(Arc::new(venues)),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(nexus_server::server::run(acceptor, state, async move {
        let _ = stopped.await;
    }));
    Running {
        url: format!("http://{addr}"),
        binance,
        outbox,
        store,
        http: {
            nexus_exchanges::http::install_tls_provider();
            reqwest::Client::new()
        },
        _dir: dir,
        stop: Some(stop),
        cleanup,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .delete(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The token in the newest email to `to` whose subject contains `subject`.
    fn token_from_email(&self, to: &str, subject: &str) -> String {
        let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files.iter().rev() {
            let email: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
            if email["to"] == to && email["subject"].as_str().unwrap().contains(subject) {
                for key in ["text", "html"] {
                    assert!(email[key].as_str().unwrap().contains("?token="), "{key}");
                }
                let text = email["text"].as_str().unwrap();
                let start = text.find("?token=").unwrap() + "?token=".len();
                return text[start..].split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("no email to {to} about {subject}");
    }

    fn emails_to(&self, to: &str) -> usize {
        std::fs::read_dir(&self.outbox)
            .map(|d| {
                d.filter(|e| {
                    let path = e.as_ref().unwrap().path();
                    let email: Value =
                        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
                    email["to"] == to
                })
                .count()
            })
            .unwrap_or(0)
    }

    async fn finish(mut self) {
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

async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Running) -> Fut,
    Fut: std::future::Future<Output = Running>,
{
    test(start(Backend::Sqlite).await).await.finish().await;
    match std::env::var("NEXUS_TEST_POSTGRES_URL") {
        Ok(url) => {
            test(start(Backend::Postgres(url)).await)
                .await
                .finish()
                .await
        }
        Err(_) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped {name} on PostgreSQL: NEXUS_TEST_POSTGRES_URL is unset"
            );
        }
    }
}

fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
}

/// Signs up and verifies `email`; returns a session token.
async fn verified_user(s: &Running, email: &str, password: &str) -> String {
    let (status, _) = s
        .post(
            "/api/v1/auth/signup",
            json!({"email": email, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = s.token_from_email(email, "Confirm");
    let (status, _) = s
        .post("/api/v1/auth/verify", json!({"token": token}), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .post(
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_verify_and_sign_in() {
    on_both("sign_up_verify_and_sign_in", |s| async move {
        let signup = |email: &str, password: &str| json!({"email": email, "password": password});
        let (status, body) = s
            .post(
                "/api/v1/auth/signup",
                signup("alice@example.com", "correct horse"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["email"], "alice@example.com");
        assert_eq!(body["email_verified"], false);
        assert_eq!(body["role"], "user");

        let (status, body) = s
            .post(
                "/api/v1/auth/signup",
                signup("ALICE@example.com", "another one"),
                None,
            )
            .await;
        assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "email_taken"));
        let (status, body) = s
            .post(
                "/api/v1/auth/signup",
                signup("bob@example.com", "short"),
                None,
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
        );
        assert!(
            body["message"].as_str().unwrap().starts_with("password:"),
            "names the field"
        );
        let (status, body) = s
            .post(
                "/api/v1/auth/signup",
                signup("not-an-email", "long enough"),
                None,
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email")
        );

        // Signing in before verifying is refused.
        let login = json!({"email": "alice@example.com", "password": "correct horse"});
        let (status, body) = s.post("/api/v1/auth/login", login.clone(), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "email_not_verified")
        );

        let token = s.token_from_email("alice@example.com", "Confirm");
        let (status, _) = s
            .post("/api/v1/auth/verify", json!({"token": token}), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s
            .post("/api/v1/auth/verify", json!({"token": token}), None)
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_token"),
            "works once"
        );

        let wrong = json!({"email": "alice@example.com", "password": "wrong horse"});
        let (status, body) = s.post("/api/v1/auth/login", wrong, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
        let nobody = json!({"email": "nobody@example.com", "password": "wrong horse"});
        let (status, body2) = s.post("/api/v1/auth/login", nobody, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body2["message"], body["message"],
            "no hint which one was wrong"
        );

        let (status, session) = s.post("/api/v1/auth/login", login, None).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let token = session["token"].as_str().unwrap();
        let expires: chrono::DateTime<Utc> =
            session["expires_at"].as_str().unwrap().parse().unwrap();
        let days = (expires - Utc::now()).num_hours();
        assert!((167..=168).contains(&days), "7 days, got {days} h");

        let (status, me) = s.get("/api/v1/me", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["email"], "alice@example.com");
        assert_eq!(me["email_verified"], true);

        let audit = s.store.recent(50, None).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|r| r.event.action.as_str()).collect();
        for expected in ["sign_up", "email_verified", "sign_in_failed", "sign_in"] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_rotate_end_and_cannot_be_forged() {
    on_both("sessions_rotate_end_and_cannot_be_forged", |s| async move {
        let first = verified_user(&s, "carol@example.com", "carol's password").await;
        let (status, body) = s.get("/api/v1/me", "forged-token").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );

        let (status, refreshed) = s
            .post("/api/v1/auth/refresh", json!({}), Some(&first))
            .await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        let second = refreshed["token"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        assert_eq!(
            s.get("/api/v1/me", &first).await.0,
            StatusCode::UNAUTHORIZED,
            "rotated out"
        );
        let (status, _) = s
            .post("/api/v1/auth/refresh", json!({}), Some(&first))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a token refreshes once");
        assert_eq!(s.get("/api/v1/me", &second).await.0, StatusCode::OK);

        let (status, _) = s
            .post("/api/v1/auth/logout", json!({}), Some(&second))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            s.get("/api/v1/me", &second).await.0,
            StatusCode::UNAUTHORIZED
        );

        // A session past its 7 days.
        let me_id = s
            .store
            .user_by_email("carol@example.com")
            .await
            .unwrap()
            .unwrap()
            .0
            .id;
        let (token, hash) = tokens::generate();
        let created = Utc::now() - Duration::days(8);
        s.store
            .create_session(&nexus_core::ports::sessions::NewSession {
                id: nexus_core::ports::sessions::SessionId(uuid::Uuid::new_v4()),
                user: me_id,
                token: hash,
                created_at: created,
                expires_at: created + Duration::days(7),
                user_agent: None,
                ip: None,
            })
            .await
            .unwrap();
        let (status, body) = s.get("/api/v1/me", &token).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "expired"
        );
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    on_both("expired_tokens_are_refused", |s| async move {
        let (status, user) = s
            .post(
                "/api/v1/auth/signup",
                json!({"email": "dave@example.com", "password": "dave's password"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let id = nexus_core::UserId::new(user["id"].as_str().unwrap().parse().unwrap());
        // A verification link issued 25 hours ago, valid 24.
        let (token, hash) = tokens::generate();
        let issued = Utc::now() - Duration::hours(25);
        s.store
            .create_token(
                &hash,
                id,
                TokenPurpose::VerifyEmail,
                issued,
                issued + Duration::hours(24),
            )
            .await
            .unwrap();
        let (status, body) = s
            .post("/api/v1/auth/verify", json!({"token": token}), None)
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_token")
        );
        // A reset link an hour and a minute old.
        let (token, hash) = tokens::generate();
        let issued = Utc::now() - Duration::minutes(61);
        s.store
            .create_token(
                &hash,
                id,
                TokenPurpose::ResetPassword,
                issued,
                issued + Duration::hours(1),
            )
            .await
            .unwrap();
        let reset = json!({"token": token, "password": "a new password"});
        let (status, body) = s.post("/api/v1/auth/password/reset", reset, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_token")
        );
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_works_once_and_signs_everyone_out() {
    on_both(
        "a_password_reset_works_once_and_signs_everyone_out",
        |s| async move {
            let session = verified_user(&s, "erin@example.com", "erin's old password").await;
            let (status, known) = s
                .post(
                    "/api/v1/auth/password/forgot",
                    json!({"email": "erin@example.com"}),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
            let (status, unknown) = s
                .post(
                    "/api/v1/auth/password/forgot",
                    json!({"email": "nobody@example.com"}),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
            assert_eq!(
                known, unknown,
                "the same answer whether or not the account exists"
            );
            assert_eq!(s.emails_to("nobody@example.com"), 0);

            let token = s.token_from_email("erin@example.com", "Reset");
            let (status, body) = s
                .post(
                    "/api/v1/auth/password/reset",
                    json!({"token": token, "password": "short"}),
                    None,
                )
                .await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
            );
            let reset = json!({"token": token, "password": "erin's new password"});
            let (status, _) = s
                .post("/api/v1/auth/password/reset", reset.clone(), None)
                .await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = s.post("/api/v1/auth/password/reset", reset, None).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_token"),
                "once"
            );

            assert_eq!(
                s.get("/api/v1/me", &session).await.0,
                StatusCode::UNAUTHORIZED,
                "signed out"
            );
            let old = json!({"email": "erin@example.com", "password": "erin's old password"});
            assert_eq!(
                s.post("/api/v1/auth/login", old, None).await.0,
                StatusCode::UNAUTHORIZED
            );
            let new = json!({"email": "erin@example.com", "password": "erin's new password"});
            assert_eq!(
                s.post("/api/v1/auth/login", new, None).await.0,
                StatusCode::OK
            );
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_use_the_cookie_with_a_csrf_header() {
    let s = start(Backend::Sqlite).await;
    verified_user(&s, "frank@example.com", "frank's password").await;
    let resp = s
        .http
        .post(format!("{}/api/v1/auth/login", s.url))
        .json(&json!({"email": "frank@example.com", "password": "frank's password"}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body: Value = resp.json().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("nexus_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("nexus_csrf="))
        .unwrap();
    assert!(!csrf.contains("HttpOnly"), "scripts read it");
    let pair = |c: &str| c.split(';').next().unwrap().to_owned();
    let cookie_header = format!("{}; {}", pair(session), pair(csrf));

    let me = s
        .http
        .get(format!("{}/api/v1/me", s.url))
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "reads need no CSRF header");

    let forged = s
        .http
        .post(format!("{}/api/v1/auth/logout", s.url))
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "a cross-site form cannot sign out"
    );
    let out = s
        .http
        .post(format!("{}/api/v1/auth/logout", s.url))
        .header("cookie", &cookie_header)
        .header("x-csrf-token", body["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_floods_get_json_errors() {
    let s = start(Backend::Sqlite).await;
    let resp = s
        .http
        .post(format!("{}/api/v1/auth/login", s.url))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "bad_request");

    let (status, body) = s
        .post(
            "/api/v1/auth/login",
            json!({"email": "x@example.com"}),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "a missing field"
    );

    let huge = "x".repeat(api::MAX_BODY_BYTES + 1);
    let (status, body) = s
        .post(
            "/api/v1/auth/signup",
            json!({"email": "big@example.com", "password": huge}),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Five tries per account per 15 minutes; the sixth waits.
    let wrong = json!({"email": "target@example.com", "password": "guess guess"});
    for _ in 0..5 {
        assert_eq!(
            s.post("/api/v1/auth/login", wrong.clone(), None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let resp = s
        .http
        .post(format!("{}/api/v1/auth/login", s.url))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "rate_limited");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_keys_are_checked_stored_masked_and_private() {
    on_both("exchange_keys_are_checked_stored_masked_and_private", |s| async move {
        let alice = verified_user(&s, "gina@example.com", "gina's password").await;
        let bob = verified_user(&s, "hank@example.com", "hank's password").await;
        let key = |secret: &str| json!({"exchange": "binance", "key": BINANCE_KEY, "secret": secret, "label": "main"});

        let (status, body) = s.post("/api/v1/exchange-keys", key("wrong-secret"), Some(&alice)).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_exchange_key"));
        assert!(body["message"].as_str().unwrap().contains("Signature for this request is not valid"), "the venue's reason: {body}");

        s.binance.set_key_permissions(false, false);
        let (status, body) = s.post("/api/v1/exchange-keys", key(BINANCE_SECRET), Some(&alice)).await;
        assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "key_cannot_trade"));

        s.binance.set_key_permissions(true, true);
        let (status, added) = s.post("/api/v1/exchange-keys", key(BINANCE_SECRET), Some(&alice)).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["masked_key"], "vmPU…Eh8A");
        assert_eq!(added["permissions"]["withdraw"], true);
        assert_eq!(added["warnings"].as_array().unwrap().len(), 1, "withdrawal is a risk");
        let text = added.to_string();
        assert!(!text.contains(BINANCE_SECRET) && !text.contains(BINANCE_KEY), "never the secret or whole key");

        let (status, paper) = s
            .post("/api/v1/exchange-keys", json!({"exchange": "paper", "key": "paper", "secret": "x"}), Some(&alice))
            .await;
        assert_eq!(status, StatusCode::CREATED, "Paper keys need no check: {paper}");

        let (status, list) = s.get("/api/v1/exchange-keys", &alice).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(BINANCE_SECRET));
        let (_, theirs) = s.get("/api/v1/exchange-keys", &bob).await;
        assert_eq!(theirs.as_array().unwrap().len(), 0, "another user's keys are invisible");

        let id = added["id"].as_str().unwrap();
        // A Binance bot trades with the user's Binance key.
        let bot = json!({"exchange": "binance", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
        let (status, created) = s.post("/api/v1/bots", bot, Some(&alice)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["exchange_key_id"], id);
        let theirs = json!({"exchange": "binance", "symbol": "BTC/USDT", "strategy": "trend_breakout", "exchange_key_id": id});
        let (status, _) = s.post("/api/v1/bots", theirs, Some(&bob)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another user's key cannot be used");

        let (status, body) = s.delete(&format!("/api/v1/exchange-keys/{id}"), &bob).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"), "another user's key is not found");
        let (status, _) = s.delete(&format!("/api/v1/exchange-keys/{id}"), &alice).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, list) = s.get("/api/v1/exchange-keys", &alice).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (status, _) = s.get("/api/v1/exchange-keys", "forged").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let audit = s.store.recent(100, None).await.unwrap();
        assert!(audit.iter().any(|r| r.event.action.as_str() == "key_added"));
        assert!(audit.iter().any(|r| r.event.action.as_str() == "key_removed"));
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_are_validated_limited_by_plan_and_private() {
    on_both(
        "bots_are_validated_limited_by_plan_and_private",
        |s| async move {
            let alice = verified_user(&s, "iris@example.com", "iris's password").await;
            let bob = verified_user(&s, "jack@example.com", "jack's password").await;

            // The minimal bot: defaults for everything else.
            let minimal =
                json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
            let (status, bot) = s.post("/api/v1/bots", minimal.clone(), Some(&alice)).await;
            assert_eq!(status, StatusCode::CREATED, "{bot}");
            assert_eq!(bot["name"], "trend_breakout BTC/USDT");
            assert_eq!(bot["interval"], "1h");
            assert_eq!(bot["sizing"]["method"]["type"], "percent_of_equity");
            assert_eq!(bot["strategy_config"]["entry_period"], 20);
            assert_eq!(bot["paused"], false);
            assert!(bot["exchange_key_id"].is_null(), "Paper needs no key");
            let id = bot["id"].as_str().unwrap().to_owned();

            // Bad values answer 422 naming the field.
            let bad = |field: &str, value: Value| {
                let mut body = minimal.clone();
                body[field] = value;
                body
            };
            for (body, field) in [
                (bad("symbol", json!("BTCUSDT")), "symbol:"),
                (bad("strategy", json!("martingale")), "strategy:"),
                (bad("interval", json!("2h")), "interval:"),
                (
                    bad(
                        "sizing",
                        json!({"method": {"type": "percent_of_equity", "percent": "ten"}}),
                    ),
                    "sizing.method",
                ),
                (
                    bad("sizing", json!({"method": {"type": "guess"}})),
                    "sizing.method",
                ),
                (
                    bad("strategy_config", json!({"entry_period": 0})),
                    "strategy_config.entry_period",
                ),
                (
                    bad("gate", json!({"entry_regimes": ["moon"]})),
                    "gate.entry_regimes",
                ),
            ] {
                let (status, answer) = s.post("/api/v1/bots", body, Some(&alice)).await;
                assert_eq!(
                    (status, code(&answer)),
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
                    "{answer}"
                );
                assert!(
                    answer["message"].as_str().unwrap().starts_with(field),
                    "{field}: {answer}"
                );
            }
            // Values outside their documented ranges: the whole message is stable.
            let risk = |pct: &str, k: &str| {
                json!({"method": {"type": "risk", "risk_percent": pct, "stop": {"atr_multiple": k}}})
            };
            for (body, message) in [
                (
                    bad("sizing", risk("150", "2")),
                    "sizing.method.risk_percent: must be above 0 and at most 100, got 150",
                ),
                (
                    bad("sizing", risk("1", "79228162514264337593543950335")),
                    "sizing.method.stop.atr_multiple: must be above 0 and at most 100 ATRs, got 79228162514264337593543950335",
                ),
                (
                    bad(
                        "sizing",
                        json!({"method": {"type": "fixed_quote", "amount": "100"}, "fee_reserve_pct": 50}),
                    ),
                    "sizing.fee_reserve_pct: must be at least 0 and at most 10, got 50",
                ),
                (
                    bad("gate", json!({"max_data_age_secs": 0})),
                    "gate.max_data_age_secs: must be between 1 and 86400 (one day), got 0",
                ),
                (
                    bad(
                        "pyramid",
                        json!({"max_adds": 1, "cooldown_secs": 18446744073709551615u64,
                               "levels": [{"trigger": {"percent": 5}, "size_multiplier": 1}]}),
                    ),
                    "pyramid: cooldown_secs (18446744073709551615) must be at most 31536000 (365 days)",
                ),
                (
                    bad(
                        "pyramid",
                        json!({"max_adds": 1,
                               "levels": [{"trigger": {"percent": 1000.5}, "size_multiplier": 1}]}),
                    ),
                    "pyramid: level 1: trigger must be above -100 and at most 1000 percent",
                ),
            ] {
                let (status, answer) = s.post("/api/v1/bots", body, Some(&alice)).await;
                assert_eq!(
                    (status, code(&answer), answer["message"].as_str()),
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        Some(message)
                    ),
                    "{answer}"
                );
            }

            // A real exchange needs the user's key for it.
            let binance =
                json!({"exchange": "binance", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
            let (status, answer) = s.post("/api/v1/bots", binance.clone(), Some(&alice)).await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::UNPROCESSABLE_ENTITY, "exchange_key_required")
            );

            // Another user's bot does not exist for Bob.
            let path = format!("/api/v1/bots/{id}");
            assert_eq!(s.get(&path, &bob).await.0, StatusCode::NOT_FOUND);
            let resp = s
                .http
                .patch(format!("{}{path}", s.url))
                .bearer_auth(&bob)
                .json(&json!({"paused": true}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
            assert_eq!(s.delete(&path, &bob).await.0, StatusCode::NOT_FOUND);

            let resp = s
                .http
                .patch(format!("{}{path}", s.url))
                .bearer_auth(&alice)
                .json(&json!({"paused": true, "name": "first"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let (_, fetched) = s.get(&path, &alice).await;
            assert_eq!(
                (fetched["paused"].as_bool(), fetched["name"].as_str()),
                (Some(true), Some("first"))
            );
            assert!(fetched["paused_reason"].is_null(), "paused by its owner");
            // A change is checked against the ranges too, and changes nothing when refused.
            let resp = s
                .http
                .patch(format!("{}{path}", s.url))
                .bearer_auth(&alice)
                .json(&json!({"name": "second", "sizing": risk("0", "2")}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let answer: Value = resp.json().await.unwrap();
            assert_eq!(
                answer["message"],
                "sizing.method.risk_percent: must be above 0 and at most 100, got 0"
            );
            assert_eq!(s.get(&path, &alice).await.1["name"], "first");

            // The free plan: 3 bots on 3 pairs.
            for symbol in ["ETH/USDT", "SOL/USDT"] {
                let mut body = minimal.clone();
                body["symbol"] = json!(symbol);
                assert_eq!(
                    s.post("/api/v1/bots", body, Some(&alice)).await.0,
                    StatusCode::CREATED
                );
            }
            let (status, answer) = s.post("/api/v1/bots", minimal.clone(), Some(&alice)).await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::FORBIDDEN, "plan_limit")
            );
            assert!(
                answer["message"].as_str().unwrap().contains("3 bots"),
                "says which limit: {answer}"
            );
            let (status, page) = s.get("/api/v1/bots?limit=2", &alice).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(page["items"].as_array().unwrap().len(), 2);
            let after = page["next_after"].as_str().unwrap();
            let (_, rest) = s
                .get(&format!("/api/v1/bots?limit=2&after={after}"), &alice)
                .await;
            assert_eq!(rest["items"].as_array().unwrap().len(), 1);
            assert!(rest["next_after"].is_null());

            // On pro, more bots; a fourth pair is still within its 20.
            let me = s.get("/api/v1/me", &alice).await.1;
            let alice_id = nexus_core::UserId::new(me["id"].as_str().unwrap().parse().unwrap());
            s.store
                .set_user_plan(alice_id, "pro", Utc::now())
                .await
                .unwrap();
            let mut fourth = minimal.clone();
            fourth["symbol"] = json!("ADA/USDT");
            assert_eq!(
                s.post("/api/v1/bots", fourth, Some(&alice)).await.0,
                StatusCode::CREATED
            );

            assert_eq!(s.delete(&path, &alice).await.0, StatusCode::NO_CONTENT);
            assert_eq!(s.get(&path, &alice).await.0, StatusCode::NOT_FOUND);
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_are_for_admins() {
    on_both("admin_endpoints_are_for_admins", |s| async move {
        let admin = verified_user(&s, "kate@example.com", "kate's password").await;
        let user = verified_user(&s, "liam@example.com", "liam's password").await;
        let id_of =
            |me: Value| nexus_core::UserId::new(me["id"].as_str().unwrap().parse().unwrap());
        let admin_id = id_of(s.get("/api/v1/me", &admin).await.1);
        let user_id = id_of(s.get("/api/v1/me", &user).await.1);
        s.store
            .set_role(
                admin_id,
                nexus_core::ports::accounts::Role::Admin,
                Utc::now(),
            )
            .await
            .unwrap();

        for path in [
            "/api/v1/admin/users",
            "/api/v1/admin/audit",
            "/api/v1/admin/gate-decisions",
        ] {
            let (status, body) = s.get(path, &user).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{path}"
            );
            assert_eq!(s.get(path, &admin).await.0, StatusCode::OK, "{path}");
        }
        let (_, users) = s.get("/api/v1/admin/users?limit=1", &admin).await;
        assert_eq!(users["items"].as_array().unwrap().len(), 1);
        assert!(users["next_after"].is_string());

        let role = |r: &str| json!({"role": r});
        let path = format!("/api/v1/admin/users/{user_id}/role");
        let resp = s
            .http
            .patch(format!("{}{path}", s.url))
            .bearer_auth(&user)
            .json(&role("admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "users cannot promote themselves"
        );
        let resp = s
            .http
            .patch(format!("{}{path}", s.url))
            .bearer_auth(&admin)
            .json(&role("admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(s.get("/api/v1/me", &user).await.1["role"], "admin");
        let own = format!("{}/api/v1/admin/users/{admin_id}/role", s.url);
        let resp = s
            .http
            .patch(own)
            .bearer_auth(&admin)
            .json(&role("user"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let (_, audit) = s.get("/api/v1/admin/audit?limit=200", &admin).await;
        let actions: Vec<&str> = audit
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"role_changed"), "{actions:?}");
        assert!(actions.contains(&"sign_in"));
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bots_orders_fills_skips_and_positions_are_its_owners_to_read() {
    use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState, SkipRecord};
    use nexus_core::{
        BotId, ClientOrderId, ExchangeId, OrderType, Position, Quantity, Side, SignalId,
    };
    on_both(
        "a_bots_orders_fills_skips_and_positions_are_its_owners_to_read",
        |s| async move {
            let alice = verified_user(&s, "mia@example.com", "mia's password").await;
            let bob = verified_user(&s, "ned@example.com", "ned's password").await;
            let body =
                json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
            let (_, bot) = s.post("/api/v1/bots", body, Some(&alice)).await;
            let bot_id = BotId::new(bot["id"].as_str().unwrap().parse().unwrap());
            let me = s.get("/api/v1/me", &alice).await.1;
            let user = nexus_core::UserId::new(me["id"].as_str().unwrap().parse().unwrap());
            let now = Utc::now();
            for n in 0..3u32 {
                let order = OrderRecord {
                    id: uuid::Uuid::new_v4(),
                    bot: bot_id,
                    user,
                    signal: SignalId::new(uuid::Uuid::new_v4()),
                    client_order_id: ClientOrderId::new(&format!("mia-{n}")).unwrap(),
                    exchange: ExchangeId::Paper,
                    symbol: "BTC/USDT".parse().unwrap(),
                    side: Side::Buy,
                    order_type: OrderType::Market,
                    quantity: "0.01".parse().unwrap(),
                    limit_price: None,
                    level: n,
                    state: OrderState::Filled,
                    venue_order_id: Some(format!("P-{n}")),
                    filled_quantity: "0.01".parse().unwrap(),
                    average_price: Some("60000".parse().unwrap()),
                    error: None,
                    created_at: now + Duration::seconds(i64::from(n)),
                    updated_at: now,
                };
                s.store.record_order(&order).await.unwrap();
                let fill = FillRecord {
                    order: order.id,
                    venue_trade_id: format!("T-{n}"),
                    quantity: "0.01".parse().unwrap(),
                    price: "60000".parse().unwrap(),
                    fee: "0.00001".parse().unwrap(),
                    fee_asset: Some("BTC".parse().unwrap()),
                    filled_at: now,
                };
                s.store.record_fill(&fill).await.unwrap();
            }
            let skip = SkipRecord {
                bot: bot_id,
                signal: SignalId::new(uuid::Uuid::new_v4()),
                reason: "insufficient_balance".into(),
                detail: "needs 600 USDT, has 10".into(),
                at: now,
            };
            s.store.record_skip(&skip).await.unwrap();
            let q = |t: &str| t.parse::<Quantity>().unwrap();
            let position = Position::open(
                "BTC/USDT".parse().unwrap(),
                q("0.03"),
                "60000".parse().unwrap(),
                now,
            )
            .unwrap();
            s.store.save_position(bot_id, &position, now).await.unwrap();

            let base = format!("/api/v1/bots/{}", bot["id"].as_str().unwrap());
            let (status, orders) = s.get(&format!("{base}/orders?limit=2"), &alice).await;
            assert_eq!(status, StatusCode::OK, "{orders}");
            let orders = orders.as_array().unwrap();
            assert_eq!(orders.len(), 2);
            assert_eq!(orders[0]["level"], 2, "newest first");
            assert_eq!(orders[0]["quantity"], "0.01", "money as strings");
            let before = orders[1]["id"].as_str().unwrap();
            let (_, older) = s
                .get(&format!("{base}/orders?limit=2&before={before}"), &alice)
                .await;
            assert_eq!(older.as_array().unwrap().len(), 1);
            let (_, fills) = s.get(&format!("{base}/fills"), &alice).await;
            assert_eq!(fills.as_array().unwrap().len(), 3);
            let (_, skips) = s.get(&format!("{base}/skips"), &alice).await;
            assert_eq!(skips[0]["reason"], "insufficient_balance");
            let (_, positions) = s.get(&format!("{base}/positions"), &alice).await;
            assert_eq!(positions[0]["quantity"], "0.03");
            assert!(positions[0]["closed_at"].is_null());

            for what in ["orders", "fills", "skips", "positions"] {
                let (status, body) = s.get(&format!("{base}/{what}"), &bob).await;
                assert_eq!(
                    (status, code(&body)),
                    (StatusCode::NOT_FOUND, "not_found"),
                    "{what}"
                );
            }
            let (status, _) = s.get(&format!("{base}/orders?limit=0"), &alice).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_cannot_pass_the_plan_together() {
    let s = start(Backend::Sqlite).await;
    let token = verified_user(&s, "olga@example.com", "olga's password").await;
    let body = json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url, token, body) = (s.http.clone(), s.url.clone(), token.clone(), body.clone());
        tasks.spawn(async move {
            http.post(format!("{url}/api/v1/bots"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut created = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        created, 3,
        "the free plan's 3 bots, however many arrive at once"
    );
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let mut s = start(Backend::Sqlite).await;
    verified_user(&s, "pia@example.com", "pia's password").await;
    // A sign-in spends a while in argon2: it is in flight when the shutdown comes.
    let login = {
        let (http, url) = (s.http.clone(), s.url.clone());
        tokio::spawn(async move {
            http.post(format!("{url}/api/v1/auth/login"))
                .json(&json!({"email": "pia@example.com", "password": "pia's password"}))
                .send()
                .await
                .map(|r| r.status())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let _ = s.stop.take().unwrap().send(());
    assert_eq!(
        login.await.unwrap().unwrap(),
        StatusCode::OK,
        "finished, not cut off"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let after = s.http.get(format!("{}/healthz", s.url)).send().await;
    assert!(after.is_err(), "no new requests after the shutdown");
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let s = start_with(Backend::Sqlite, |state| {
        state.with_trusted_proxies(
            nexus_server::api::client_ip::TrustedProxies::parse("127.0.0.1").unwrap(),
        )
    })
    .await;
    let attempt = |client: &'static str, n: u32| {
        let (http, url) = (s.http.clone(), s.url.clone());
        async move {
            http.post(format!("{url}/api/v1/auth/signup"))
                .header("x-forwarded-for", format!("203.0.113.50, {client}"))
                .json(&json!({"email": format!("not-an-email-{n}"), "password": "long enough"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for n in 0..20 {
        assert_eq!(
            attempt("198.51.100.1", n).await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        attempt("198.51.100.1", 20).await,
        StatusCode::TOO_MANY_REQUESTS,
        "that client's 20 a minute are spent"
    );
    assert_eq!(
        attempt("198.51.100.2", 21).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another client behind the same proxy is not"
    );
    s.finish().await;
}
