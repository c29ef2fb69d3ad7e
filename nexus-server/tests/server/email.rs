//! Email end to end: every email queued with its log row, sent by the delivery task
//! through a local Resend (retries with one idempotency key, a refusal failed at once),
//! Resend's signed delivery reports recorded, and suppressed addresses respected; on
//! SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::UserId;
use nexus_core::ports::accounts::Role;
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::email::delivery::{EmailDelivery, QueuedSender, transport};
use nexus_server::email::settings::{EmailSettings, ResendSettings};
use nexus_server::email::svix;
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::resend::{Failure, ResendMock, errors};
use crate::support::{Backend, Http, Outbox, Served, TestDb, code, on_each, signed_in};

const KEY: &str = "re_nexus_test_key";
/// A Svix secret: `whsec_` and base64 (of 24 bytes).
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FROM: &str = "Nexus <alerts@nexus.example>";
const PASSWORD: &str = "correct horse battery";

struct World {
    _served: Served,
    api: Http,
    resend: Arc<ResendMock>,
    store: Arc<dyn Store>,
    delivery: tokio::task::JoinHandle<()>,
    admin: String,
    _db: TestDb,
}

impl Drop for World {
    fn drop(&mut self) {
        self.delivery.abort();
    }
}

fn settings(resend: &ResendMock, allow: Option<&str>) -> EmailSettings {
    EmailSettings {
        resend: Some(ResendSettings {
            key: nexus_core::Secret::new(KEY),
            api_base: resend.base(),
        }),
        from: FROM.to_owned(),
        allow: allow.map(|a| vec![a.to_owned()]),
        // Short, so retries are seen within a test.
        retry_delays: vec![Duration::from_millis(300); 3],
        webhook_secret: Some(nexus_core::Secret::new(WEBHOOK_SECRET)),
    }
}

async fn world_allowing(backend: Backend, allow: Option<&str>) -> World {
    let db = TestDb::open(backend).await;
    let store = Arc::clone(&db.store);
    let resend = ResendMock::start(KEY).await;
    let settings = settings(&resend, allow);
    let outbox = Outbox::new(&db.path().join("outbox"));
    let mut metrics = None;
    let served = Served::start(|url| {
        let mut state = ApiState::new(Arc::clone(&store), outbox.sender(), AuthSettings::new(url));
        state.email = Arc::new(QueuedSender::new(
            Arc::clone(&store),
            Arc::clone(&state.metrics),
        ));
        state.resend_webhook_secret = settings.webhook_secret.clone();
        metrics = Some(Arc::clone(&state.metrics));
        state
    })
    .await;
    let delivery = tokio::spawn(
        EmailDelivery {
            store: Arc::clone(&store),
            transport: transport(&settings, outbox.sender()).unwrap(),
            settings,
            metrics: metrics.unwrap(),
        }
        .run("email-test".to_owned()),
    );
    let admin = UserId::new(uuid::Uuid::new_v4());
    let token = signed_in(&store, admin, "ops@nexus.example", Role::Admin).await;
    World {
        api: Http::new(served.url.clone()),
        _served: served,
        resend,
        store,
        delivery,
        admin: token,
        _db: db,
    }
}

async fn world(backend: Backend) -> World {
    world_allowing(backend, None).await
}

impl World {
    async fn sign_up(&self, email: &str) {
        let (status, body) = self
            .api
            .post(
                "/api/v1/auth/signup",
                &json!({"email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }

    /// The log, newest first, as admins read it.
    async fn log(&self, query: &str) -> Vec<Value> {
        let (status, page) = self
            .api
            .get(&format!("/api/v1/admin/emails{query}"), Some(&self.admin))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Waits until the newest logged email is in `state`.
    async fn settled(&self, state: &str) -> Value {
        for _ in 0..100 {
            let log = self.log("").await;
            if log.first().is_some_and(|e| e["state"] == state) {
                return log[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the newest email never became {state}: {:?}",
            self.log("").await
        );
    }

    /// Delivers a Resend report signed as Svix signs it.
    async fn report(&self, event: &Value, secret: &str) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let now = Utc::now().timestamp();
        let signature = svix::sign(secret, "msg_test", now, &body).unwrap();
        let response = self
            .api
            .client
            .post(self.api.url("/api/v1/email/webhook"))
            .header("content-type", "application/json")
            .header("svix-id", "msg_test")
            .header("svix-timestamp", now.to_string())
            .header("svix-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Resend's documented `email.bounced` (`test_data/resend/`) about `email_id`.
fn bounced(email_id: &str, kind: &str) -> Value {
    let path = format!(
        "{}/test_data/resend/webhook_email_{kind}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["data"]["email_id"] = json!(email_id);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_up_email_goes_out_through_resend_and_is_logged() {
    on_each("email sent", world, |w| async move {
        w.sign_up("ann@example.com").await;
        let logged = w.settled("sent").await;
        let sent = w.resend.sent();
        assert_eq!(sent.len(), 1);
        let (id, body) = &sent[0];
        assert_eq!(body["from"], FROM);
        assert_eq!(body["to"], json!(["ann@example.com"]));
        assert_eq!(body["subject"], "Confirm your Nexus email address");
        assert!(
            body["html"]
                .as_str()
                .unwrap()
                .contains("verify-email?token=")
        );
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .contains("verify-email?token=")
        );
        assert_eq!(
            body["tags"],
            json!([{"name": "template", "value": "verification"}])
        );
        let request = &w.resend.requests()[0];
        assert_eq!(
            request.idempotency_key(),
            Some(format!("nexus-email-{}", logged["id"]).as_str())
        );
        assert!(request.header("user-agent").unwrap().starts_with("nexus/"));
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(
            (logged["template"].as_str(), logged["attempts"].as_u64()),
            (Some("verification"), Some(1))
        );
        assert_eq!(logged["provider_id"].as_str(), Some(id.as_str()));
        assert!(logged["sent_at"].is_string());
        assert_eq!(
            w.api
                .metric("nexus_emails_total{template=\"verification\",state=\"sent\"}")
                .await,
            1.0
        );
        assert_eq!(
            w.api
                .metric("nexus_emails_total{template=\"verification\",state=\"queued\"}")
                .await,
            1.0
        );

        // Resend reports it delivered.
        let (status, answer) = w.report(&bounced(id, "delivered"), WEBHOOK_SECRET).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("recorded"))
        );
        assert!(w.log("").await[0]["delivered_at"].is_string());
        let (status, answer) = w
            .report(
                &bounced("4ef9a417-02e9-4d39-ad75-9611e0fcc33c", "delivered"),
                WEBHOOK_SECRET,
            )
            .await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("unknown_email"))
        );
        let (status, answer) = w
            .report(
                &bounced(id, "delivered"),
                "whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==",
            )
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "invalid_signature")
        );
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_retried_with_one_idempotency_key_and_refusals_fail_at_once() {
    on_each("email retries", world, |w| async move {
        w.resend
            .fail_next(Failure::new(500, errors::APPLICATION_ERROR));
        w.resend
            .fail_next(Failure::new(429, errors::RATE_LIMIT_EXCEEDED).header("retry-after", "1"));
        w.sign_up("bob@example.com").await;
        let logged = w.settled("sent").await;
        assert_eq!(logged["attempts"], 3);
        assert!(
            logged["last_error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("rate"),
            "{logged}"
        );
        let keys: Vec<String> = w
            .resend
            .requests()
            .iter()
            .map(|r| r.idempotency_key().unwrap().to_owned())
            .collect();
        assert_eq!(keys.len(), 3);
        assert!(
            keys.iter().all(|k| *k == keys[0]),
            "one key for every attempt: {keys:?}"
        );
        assert_eq!(w.resend.sent().len(), 1);
        assert_eq!(
            w.api
                .metric("nexus_emails_total{template=\"verification\",state=\"retrying\"}")
                .await,
            2.0
        );

        // A validation error will not change by retrying: failed at once with Resend's words.
        w.resend
            .fail_next(Failure::new(422, errors::INVALID_PARAMETER));
        w.sign_up("carol@example.com").await;
        let failed = w.settled("failed").await;
        assert_eq!(failed["attempts"], 1);
        let said = crate::support::resend::errors::message(errors::INVALID_PARAMETER);
        assert!(
            failed["last_error"].as_str().unwrap().contains(&said),
            "{failed}"
        );
        assert_eq!(w.resend.requests().len(), 4);
        let only_failed = w.log("?state=failed").await;
        assert_eq!(only_failed.len(), 1);
        assert_eq!(w.log("?to=BOB@example.com").await.len(), 1);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hard_bounce_suppresses_the_address_but_not_its_security_emails() {
    on_each("email suppression", world, |w| async move {
        w.sign_up("dan@example.com").await;
        w.settled("sent").await;
        let (id, confirm) = w.resend.sent()[0].clone();
        let text = confirm["text"].as_str().unwrap();
        let token = text[text.find("?token=").unwrap() + 7..]
            .split_whitespace()
            .next()
            .unwrap();
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/verify",
                &json!({"token": token, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, answer) = w.report(&bounced(&id, "bounced"), WEBHOOK_SECRET).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("recorded"))
        );
        let row = &w.log("").await[0];
        assert_eq!(row["state"], "bounced");
        assert!(
            row["last_error"]
                .as_str()
                .unwrap()
                .contains("suppression list"),
            "{row}"
        );

        // Signing up again sends "already registered": not a security email, suppressed.
        w.sign_up("dan@example.com").await;
        let suppressed = w.settled("suppressed").await;
        assert_eq!(suppressed["template"], "already_registered");
        assert_eq!(suppressed["attempts"], 0);
        assert_eq!(w.resend.sent().len(), 1, "nothing more went out");
        // The user asks to reset the password: it still goes out.
        let (status, _) = w
            .api
            .post(
                "/api/v1/auth/password/forgot",
                &json!({"email": "dan@example.com"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let reset = w.settled("sent").await;
        assert_eq!(reset["template"], "password_reset");
        assert_eq!(w.resend.sent().len(), 2);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outside_the_allow_list_nothing_is_sent() {
    let w = world_allowing(Backend::Sqlite, Some("example.com")).await;
    w.sign_up("eve@elsewhere.org").await;
    let row = w.settled("suppressed").await;
    assert!(
        row["last_error"]
            .as_str()
            .unwrap()
            .contains("NEXUS_EMAIL_ALLOW")
    );
    w.sign_up("fay@example.com").await;
    w.settled("sent").await;
    assert_eq!(w.resend.sent().len(), 1);
    let count = w.store.suppression("eve@elsewhere.org").await.unwrap();
    assert_eq!(count, None, "the allow-list is not the suppression list");
}
