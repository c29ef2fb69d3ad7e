//! Accounts end to end: the real server on port 0 over a fresh SQLite file and, when
//! `NEXUS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema; emails read from the
//! development outbox.

use std::sync::Arc;

use chrono::{Duration, Utc};
use nexus_core::ports::sessions::TokenPurpose;
use nexus_exchanges::mock::binance::BinanceMock;
use nexus_server::api::{self, ApiState, AuthSettings};
use nexus_server::auth::tokens;
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    BINANCE_KEY, BINANCE_SECRET, Backend, Http, Outbox, Served, TestDb, code, on_each,
};

/// The API server over a test database, with a local Binance to check keys against.
/// Fields drop in order: the server stops before its database is removed.
struct Running {
    served: Served,
    url: String,
    http: reqwest::Client,
    api: Http,
    binance: Arc<BinanceMock>,
    outbox: Outbox,
    store: Arc<dyn Store>,
    _db: TestDb,
}

async fn start(backend: Backend) -> Running {
    start_with(backend, |state| state).await
}

async fn start_with(backend: Backend, configure: impl FnOnce(ApiState) -> ApiState) -> Running {
    let db = TestDb::open(backend).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let (binance, venues) = crate::support::local_venues().await;
    let store = Arc::clone(&db.store);
    let sender = outbox.sender();
    let served = Served::start(|url| {
        configure(
            ApiState::new(store, sender, AuthSettings::new(url)).with_venues(Arc::new(venues)),
        )
    })
    .await;
    let api = Http::new(served.url.clone());
    Running {
        url: served.url.clone(),
        http: api.client.clone(),
        api,
        served,
        binance,
        outbox,
        store: Arc::clone(&db.store),
        _db: db,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.api.post(path, &body, token).await
    }

    async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.api.delete(path, token).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.api.get(path, Some(token)).await
    }

    /// The token in the newest email to `to` whose subject contains `subject`.
    fn token_from_email(&self, to: &str, subject: &str) -> String {
        self.outbox.token(to, subject)
    }

    fn emails_to(&self, to: &str) -> usize {
        self.outbox.to(to).len()
    }
}

async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Running) -> Fut,
    Fut: std::future::Future<Output = Running>,
{
    on_each(name, start, test).await;
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
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = s.token_from_email(email, "Confirm");
    let (status, _) = s
        .post(
            "/api/v1/auth/verify",
            json!({"token": token, "password": password}),
            None,
        )
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
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("inbox"),
            "{body}"
        );
        assert_eq!(s.emails_to("alice@example.com"), 1);

        // The same answer for a taken address; its (unverified) owner gets a new link.
        let (status, again) = s
            .post(
                "/api/v1/auth/signup",
                signup("ALICE@example.com", "another one"),
                None,
            )
            .await;
        assert_eq!((status, &again), (StatusCode::ACCEPTED, &body));
        assert_eq!(s.emails_to("alice@example.com"), 2);
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
        let (status, body) = s
            .post("/api/v1/auth/verify", json!({"token": token}), None)
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "password_required"),
            "the verifier sets the password"
        );
        assert!(body["message"].as_str().unwrap().starts_with("password:"));
        let verify = json!({"token": token, "password": "correct horse"});
        let (status, _) = s.post("/api/v1/auth/verify", verify.clone(), None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = s.post("/api/v1/auth/verify", verify, None).await;
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
                started_at: created,
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
        let (status, _) = s
            .post(
                "/api/v1/auth/signup",
                json!({"email": "dave@example.com", "password": "dave's password"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (user, _) = s
            .store
            .user_by_email("dave@example.com")
            .await
            .unwrap()
            .unwrap();
        let id = user.id;
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

            // The free plan: 3 running bots on 3 pairs; the paused one does not count.
            for symbol in ["ETH/USDT", "SOL/USDT", "BTC/USDT"] {
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
                answer["message"].as_str().unwrap().contains("3 running bots"),
                "says which limit: {answer}"
            );
            // Resuming the paused one would make four running.
            let resp = s
                .http
                .patch(format!("{}{path}", s.url))
                .bearer_auth(&alice)
                .json(&json!({"paused": false}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN);
            let answer: Value = resp.json().await.unwrap();
            assert_eq!(code(&answer), "plan_limit");
            assert_eq!(s.get(&path, &alice).await.1["paused"], true, "unchanged");
            let (status, page) = s.get("/api/v1/bots?limit=3", &alice).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(page["items"].as_array().unwrap().len(), 3);
            let after = page["next_after"].as_str().unwrap();
            let (_, rest) = s
                .get(&format!("/api/v1/bots?limit=3&after={after}"), &alice)
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
    s.served.stop();
    assert_eq!(
        login.await.unwrap().unwrap(),
        StatusCode::OK,
        "finished, not cut off"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let after = s.http.get(format!("{}/healthz", s.url)).send().await;
    assert!(after.is_err(), "no new requests after the shutdown");
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
}

/// A sign-in's `Set-Cookie` values by cookie name.
fn set_cookies(resp: &reqwest::Response) -> std::collections::HashMap<String, String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter_map(|c| Some((c.split('=').next()?.to_owned(), c)))
        .collect()
}

/// The `name=value` part of a `Set-Cookie` value.
fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_wrong_passwords_do_not_lock_the_owner_out() {
    on_both(
        "a_strangers_wrong_passwords_do_not_lock_the_owner_out",
        |s| async move {
            let password = "ivy's password";
            verified_user(&s, "ivy@example.com", password).await;
            let login = |body: Value, cookie: Option<String>| {
                let mut req = s
                    .http
                    .post(format!("{}/api/v1/auth/login", s.url))
                    .json(&body);
                if let Some(cookie) = cookie {
                    req = req.header("cookie", cookie);
                }
                async move { req.send().await.unwrap() }
            };
            let right = json!({"email": "ivy@example.com", "password": password});
            let wrong = json!({"email": "IVY@example.com", "password": "not her password"});
            // Ivy's browser signs in and is remembered.
            let resp = login(right.clone(), None).await;
            assert_eq!(resp.status(), StatusCode::OK);
            let cookies = set_cookies(&resp);
            let device = cookies["nexus_device"].clone();
            assert!(
                device.contains("HttpOnly") && device.contains("Path=/api/v1/auth"),
                "{device}"
            );
            let device = cookie_pair(&device).to_owned();

            // A stranger spends the account's budget for unknown clients.
            for _ in 0..5 {
                assert_eq!(
                    login(wrong.clone(), None).await.status(),
                    StatusCode::UNAUTHORIZED
                );
            }
            let resp = login(right.clone(), None).await;
            assert_eq!(
                resp.status(),
                StatusCode::TOO_MANY_REQUESTS,
                "strangers wait, even with the password"
            );
            assert!(resp.headers().contains_key("retry-after"));
            // A forged device cookie buys nothing.
            let forged = device.replace("nexus_device=", "nexus_device=0");
            assert_eq!(
                login(right.clone(), Some(forged)).await.status(),
                StatusCode::TOO_MANY_REQUESTS
            );
            // Ivy's own browser is not locked out.
            let resp = login(right.clone(), Some(device.clone())).await;
            assert_eq!(resp.status(), StatusCode::OK);
            // Her success cleared the strangers' count.
            assert_eq!(login(right, None).await.status(), StatusCode::OK);
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_forget_reset_and_sign_in_again_is_not_rate_limited() {
    on_both(
        "sign_in_forget_reset_and_sign_in_again_is_not_rate_limited",
        |s| async move {
            verified_user(&s, "jo@example.com", "jo's first password").await;
            for round in 0..3 {
                let (status, _) = s
                    .post(
                        "/api/v1/auth/password/forgot",
                        json!({"email": "jo@example.com"}),
                        None,
                    )
                    .await;
                assert_eq!(status, StatusCode::ACCEPTED, "round {round}");
                let token = s.token_from_email("jo@example.com", "Reset");
                let password = format!("jo's password number {round}");
                let (status, body) = s
                    .post(
                        "/api/v1/auth/password/reset",
                        json!({"token": token, "password": password}),
                        None,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                let (status, body) = s
                    .post(
                        "/api/v1/auth/login",
                        json!({"email": "jo@example.com", "password": password}),
                        None,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "round {round}: {body}");
            }
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_links_die_together_and_are_checked_before_any_hashing() {
    on_both(
        "reset_links_die_together_and_are_checked_before_any_hashing",
        |s| async move {
            verified_user(&s, "kim@example.com", "kim's password").await;
            let forgot = json!({"email": "kim@example.com"});
            s.post("/api/v1/auth/password/forgot", forgot.clone(), None)
                .await;
            let first = s.token_from_email("kim@example.com", "Reset");
            s.post("/api/v1/auth/password/forgot", forgot, None).await;
            let second = s.token_from_email("kim@example.com", "Reset");
            assert_ne!(first, second);
            let reset = |token: &str| json!({"token": token, "password": "kim's new password"});
            let (status, _) = s
                .post("/api/v1/auth/password/reset", reset(&second), None)
                .await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = s
                .post("/api/v1/auth/password/reset", reset(&first), None)
                .await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_token"),
                "the older link died when the newer was used"
            );
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_hashing_slot_is_taken_requests_are_told_to_come_back() {
    let slots = Arc::new(nexus_server::auth::hashing::HashingSlots::new(
        1,
        std::time::Duration::from_millis(20),
    ));
    let shared = Arc::clone(&slots);
    let s = start_with(Backend::Sqlite, move |mut state| {
        state.hashing = shared;
        state
    })
    .await;
    verified_user(&s, "lou@example.com", "lou's password").await;
    s.post(
        "/api/v1/auth/password/forgot",
        json!({"email": "lou@example.com"}),
        None,
    )
    .await;
    let token = s.token_from_email("lou@example.com", "Reset");
    let held = slots.slot().await.unwrap();

    let (status, body) = s
        .post(
            "/api/v1/auth/password/reset",
            json!({"token": "made-up", "password": "a new password"}),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token"),
        "a made-up token is refused before any hashing"
    );
    let reset = json!({"token": token, "password": "a new password"});
    let resp = s
        .http
        .post(format!("{}/api/v1/auth/password/reset", s.url))
        .json(&reset)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "busy");
    let (status, body) = s
        .post(
            "/api/v1/auth/login",
            json!({"email": "lou@example.com", "password": "lou's password"}),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "busy")
    );

    drop(held);
    let (status, _) = s.post("/api/v1/auth/password/reset", reset, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the token was not used up by the busy attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_chosen_before_the_address_was_proved_does_not_survive() {
    on_both(
        "a_password_chosen_before_the_address_was_proved_does_not_survive",
        |s| async move {
            // Mallory signs up with Nina's address; Nina gets the link and follows it.
            let (status, _) = s
                .post(
                    "/api/v1/auth/signup",
                    json!({"email": "nina@example.com", "password": "mallory's password"}),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
            let token = s.token_from_email("nina@example.com", "Confirm");
            let (status, _) = s
                .post(
                    "/api/v1/auth/verify",
                    json!({"token": token, "password": "nina's own password"}),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let login = |password: &str| json!({"email": "nina@example.com", "password": password});
            let (status, _) = s
                .post("/api/v1/auth/login", login("mallory's password"), None)
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "Mallory's password is gone"
            );
            let (status, _) = s
                .post("/api/v1/auth/login", login("nina's own password"), None)
                .await;
            assert_eq!(status, StatusCode::OK);

            // Signing up again with a verified address: the same answer, and Nina is told.
            let (status, body) = s
                .post(
                    "/api/v1/auth/signup",
                    json!({"email": "nina@example.com", "password": "another password"}),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            let last = s.outbox.to("nina@example.com").pop().unwrap();
            assert!(
                last["subject"]
                    .as_str()
                    .unwrap()
                    .contains("tried to sign up"),
                "{last}"
            );
            let (status, _) = s
                .post("/api/v1/auth/login", login("another password"), None)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "nothing changed");
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_stop_at_the_sign_ins_absolute_lifetime_and_logout_clears_cookies() {
    on_both(
        "refreshes_stop_at_the_sign_ins_absolute_lifetime_and_logout_clears_cookies",
        |s| async move {
            let token = verified_user(&s, "olaf@example.com", "olaf's password").await;
            let (user, _) = s
                .store
                .user_by_email("olaf@example.com")
                .await
                .unwrap()
                .unwrap();
            // A sign-in 29 days and 23 hours old, refreshed until now.
            let session = |started: chrono::DateTime<Utc>| {
                let (token, hash) = tokens::generate();
                let new = nexus_core::ports::sessions::NewSession {
                    id: nexus_core::ports::sessions::SessionId(uuid::Uuid::new_v4()),
                    user: user.id,
                    token: hash,
                    created_at: Utc::now(),
                    started_at: started,
                    expires_at: Utc::now() + Duration::hours(2),
                    user_agent: None,
                    ip: None,
                };
                (token, new)
            };
            let started = Utc::now() - Duration::days(30) + Duration::hours(1);
            let (old, new) = session(started);
            s.store.create_session(&new).await.unwrap();
            let (status, body) = s.post("/api/v1/auth/refresh", json!({}), Some(&old)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let expires: chrono::DateTime<Utc> =
                body["expires_at"].as_str().unwrap().parse().unwrap();
            assert!(
                expires <= started + Duration::days(30),
                "an hour left, not seven days: {expires}"
            );
            // Past the 30 days a refresh is refused.
            let (old, new) = session(Utc::now() - Duration::days(30) - Duration::minutes(1));
            s.store.create_session(&new).await.unwrap();
            let (status, body) = s.post("/api/v1/auth/refresh", json!({}), Some(&old)).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::UNAUTHORIZED, "unauthorized")
            );
            assert!(
                body["message"].as_str().unwrap().contains("30-day"),
                "{body}"
            );

            // Sign-out removes the cookies at the path they were set with.
            let resp = s
                .http
                .post(format!("{}/api/v1/auth/logout", s.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::NO_CONTENT);
            let cookies = set_cookies(&resp);
            for name in ["nexus_session", "nexus_csrf"] {
                let cookie = &cookies[name];
                assert!(cookie.starts_with(&format!("{name}=;")), "{cookie}");
                assert!(
                    cookie.contains("Path=/") && cookie.contains("Max-Age=0"),
                    "{cookie}"
                );
            }
            s
        },
    )
    .await;
}
