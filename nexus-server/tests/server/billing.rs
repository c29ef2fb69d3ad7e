//! Billing end to end: the real server with billing on, a local Stripe answering with its
//! documented objects, and Stripe's documented events of one subscription's life signed
//! and delivered to the webhook, on SQLite and PostgreSQL. Emails come from the outbox.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::UserId;
use nexus_core::billing::Plans;
use nexus_core::ports::accounts::Role;
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::billing::jobs::BillingJobs;
use nexus_server::billing::webhook::signature_header;
use nexus_server::billing::{Billing, BillingSettings};
use nexus_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::stripe::StripeMock;
use crate::support::{Backend, Http, Outbox, Served, TestDb, code, on_each, signed_in};

const SECRET_KEY: &str = "sk_test_nexus_billing";
const WEBHOOK_SECRET: &str = "whsec_nexus_billing_test";
/// The Pro price and the user of the documented events (`test_data/stripe/README.md`).
const PRO_PRICE: &str = "price_1PgafmB7WZ01zgkW6dKueIc5";
const ENTERPRISE_PRICE: &str = "price_1PgagnB7WZ01zgkWenterprise";
const USER: &str = "0190f5a4-7c1e-7d3a-9b2e-5f6a7b8c9d0e";
const EMAIL: &str = "payer@example.com";
/// `created` of `evt_06`, the failed renewal: the life is shifted so that it happens
/// [`GRACE`] after the world starts, and its grace ends [`GRACE`] later.
const FAILED_AT: i64 = 1_770_512_400;
/// Long enough to see the plan kept while past due, short enough to see it end.
const GRACE: Duration = Duration::from_secs(5);

/// The server with billing on over a test database, a local Stripe, and the billing
/// job runner. Fields drop in order: the server stops before its database is removed.
struct World {
    _served: Served,
    api: Http,
    stripe: Arc<StripeMock>,
    outbox: Outbox,
    store: Arc<dyn Store>,
    billing: Arc<Billing>,
    jobs: tokio::task::JoinHandle<()>,
    /// What the documented timestamps are shifted by.
    shift: i64,
    db: TestDb,
}

impl Drop for World {
    fn drop(&mut self) {
        self.jobs.abort();
    }
}

fn settings(stripe: &StripeMock, grace: Duration) -> BillingSettings {
    BillingSettings {
        secret_key: nexus_core::Secret::new(SECRET_KEY),
        webhook_secret: nexus_core::Secret::new(WEBHOOK_SECRET),
        prices: vec![
            ("pro".to_owned(), PRO_PRICE.to_owned()),
            ("enterprise".to_owned(), ENTERPRISE_PRICE.to_owned()),
        ],
        api_base: stripe.base(),
        trial_days: 7,
        grace,
    }
}

async fn world(backend: Backend) -> World {
    let db = TestDb::open(backend).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let stripe = StripeMock::start(SECRET_KEY).await;
    let store = Arc::clone(&db.store);
    let plans = Plans::default();
    let grace = GRACE;
    let mut billing = None;
    let events = nexus_server::events::Events::local(1_000);
    let served = Served::start(|url| {
        let made = Arc::new(
            Billing::new(
                settings(&stripe, grace),
                Arc::clone(&store),
                plans.clone(),
                &url,
            )
            .unwrap()
            .with_events(Arc::clone(&events)),
        );
        billing = Some(Arc::clone(&made));
        ApiState::new(Arc::clone(&store), outbox.sender(), AuthSettings::new(url))
            .with_plans(plans.clone())
            .with_billing(made)
            .with_events(Arc::clone(&events))
    })
    .await;
    let jobs = tokio::spawn(
        BillingJobs {
            store: Arc::clone(&store),
            email: outbox.sender(),
            public_url: served.url.clone(),
            plans,
            grace,
            events: Some(events),
        }
        .run_until("billing-test".to_owned()),
    );
    World {
        api: Http::new(served.url.clone()),
        _served: served,
        stripe,
        outbox,
        store,
        billing: billing.unwrap(),
        jobs,
        shift: Utc::now().timestamp() + GRACE.as_secs() as i64 - FAILED_AT,
        db,
    }
}

/// A signed-in user with `id` and `email`; returns their session token.
async fn user(store: &Arc<dyn Store>, id: &str, email: &str) -> (UserId, String) {
    let id = UserId::new(uuid::Uuid::parse_str(id).unwrap());
    (id, signed_in(store, id, email, Role::User).await)
}

/// Every Unix time in `value` moved by `shift` seconds (the documented life happens now).
fn shifted(value: &mut Value, shift: i64) {
    match value {
        Value::Number(n) => {
            if let Some(t) = n
                .as_i64()
                .filter(|t| (1_700_000_000..1_900_000_000).contains(t))
            {
                *value = json!(t + shift);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shifted(v, shift)),
        Value::Object(fields) => fields.values_mut().for_each(|v| shifted(v, shift)),
        _ => {}
    }
}

fn documented(file: &str) -> Value {
    let path = format!("{}/test_data/stripe/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

impl World {
    /// The documented event `file` (e.g. `evt_06_invoice_payment_failed.json`), shifted.
    fn event(&self, file: &str) -> Value {
        let mut event = documented(file);
        shifted(&mut event, self.shift);
        event
    }

    /// Delivers `body` with `signature` as Stripe would.
    async fn deliver_raw(&self, body: &[u8], signature: Option<String>) -> (StatusCode, Value) {
        let mut request = self
            .api
            .client
            .post(self.api.url("/api/v1/billing/webhook"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs `event` now with the endpoint's secret and delivers it.
    async fn deliver(&self, event: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let signature = signature_header(WEBHOOK_SECRET, Utc::now().timestamp(), &body);
        self.deliver_raw(&body, Some(signature)).await
    }

    /// Delivers the documented event `file` and returns the webhook's `outcome`.
    async fn outcome(&self, file: &str) -> String {
        let (status, body) = self.deliver(&self.event(file)).await;
        assert_eq!(status, StatusCode::OK, "{file}: {body}");
        body["outcome"].as_str().unwrap().to_owned()
    }

    async fn billing(&self, token: &str) -> Value {
        let (status, body) = self.api.get("/api/v1/billing", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    fn subjects(&self) -> Vec<String> {
        self.outbox
            .to(EMAIL)
            .iter()
            .map(|e| e["subject"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits until an email whose subject contains `part` arrives (the job runner sends).
    async fn email(&self, part: &str) -> Value {
        for _ in 0..300 {
            if let Some(found) = self
                .outbox
                .to(EMAIL)
                .into_iter()
                .find(|e| e["subject"].as_str().unwrap().contains(part))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email about {part:?}; got {:?}", self.subjects());
    }
}

async fn paper_bot(w: &World, token: &str, symbol: &str) -> (StatusCode, Value) {
    w.api
        .post(
            "/api/v1/bots",
            &json!({"exchange": "paper", "symbol": symbol, "strategy": "trend_breakout"}),
            Some(token),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_asks_stripe_for_the_plan_with_the_trial_once() {
    on_each("checkout", world, |w| async move {
        let (id, token) = user(&w.store, USER, EMAIL).await;
        let before = w.billing(&token).await;
        assert_eq!(
            (before["plan"].as_str(), before["status"].as_str()),
            (Some("free"), Some("none"))
        );
        assert_eq!(before["limits"], json!({"bots": 3, "pairs": 3}));
        assert_eq!(before["billing_enabled"], json!(true));

        let (status, body) = w
            .api
            .post(
                "/api/v1/billing/checkout",
                &json!({"plan": "pro"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = body["url"].as_str().unwrap().to_owned();
        assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");
        let customers = w.stripe.requests_to("POST", "/v1/customers");
        assert_eq!(customers.len(), 1);
        assert_eq!(customers[0].field("metadata[nexus_user_id]"), Some(USER));
        assert_eq!(customers[0].field("email"), Some(EMAIL));
        assert_eq!(
            customers[0].idempotency_key.as_deref(),
            Some(format!("nexus-customer-{id}").as_str())
        );
        let sessions = w.stripe.requests_to("POST", "/v1/checkout/sessions");
        let session = &sessions[0];
        let customer = w
            .store
            .billing_customer(id)
            .await
            .unwrap()
            .unwrap()
            .customer;
        for (field, value) in [
            ("mode", "subscription"),
            ("line_items[0][price]", PRO_PRICE),
            ("line_items[0][quantity]", "1"),
            ("customer", customer.as_str()),
            ("client_reference_id", USER),
            ("subscription_data[metadata][nexus_user_id]", USER),
            ("subscription_data[trial_period_days]", "7"),
        ] {
            assert_eq!(session.field(field), Some(value), "{field}");
        }
        let success = session.field("success_url").unwrap();
        assert!(
            success.starts_with(&w.api.url("/app/billing?checkout=success")),
            "{success}"
        );
        assert!(success.contains("{CHECKOUT_SESSION_ID}"));
        assert!(
            session
                .field("cancel_url")
                .unwrap()
                .starts_with(&w.api.url("/app/billing"))
        );
        assert!(
            session
                .idempotency_key
                .as_deref()
                .is_some_and(|k| k.starts_with("nexus-checkout-"))
        );

        // A double click: the same session, and still one customer.
        let (_, again) = w
            .api
            .post(
                "/api/v1/billing/checkout",
                &json!({"plan": "pro"}),
                Some(&token),
            )
            .await;
        assert_eq!(again["url"].as_str(), Some(url.as_str()));
        assert_eq!(w.stripe.requests_to("POST", "/v1/customers").len(), 1);
        let (status, body) = w
            .api
            .post(
                "/api/v1/billing/checkout",
                &json!({"plan": "gold"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // The trial starts: Pro is held, the trial is used, Enterprise has no trial.
        assert_eq!(
            w.outcome("evt_02_customer_subscription_created.json").await,
            "applied"
        );
        let (status, body) = w
            .api
            .post(
                "/api/v1/billing/checkout",
                &json!({"plan": "pro"}),
                Some(&token),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "already_subscribed")
        );
        let (status, body) = w
            .api
            .post(
                "/api/v1/billing/checkout",
                &json!({"plan": "enterprise"}),
                Some(&token),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "subscription_exists"),
            "change plans in the portal"
        );
        assert!(
            w.store
                .billing_customer(id)
                .await
                .unwrap()
                .unwrap()
                .trial_used_at
                .is_some()
        );

        let (status, body) = w
            .api
            .post("/api/v1/billing/portal", &json!({}), Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let documented_url =
            documented("billing_portal_session_create_response.json")["url"].clone();
        assert_eq!(
            body["url"], documented_url,
            "Stripe's portal URL, passed on"
        );
        let portal = &w.stripe.requests_to("POST", "/v1/billing_portal/sessions")[0];
        assert_eq!(portal.field("customer"), Some(customer.as_str()));
        assert_eq!(
            portal.field("return_url"),
            Some(w.api.url("/app/billing").as_str())
        );

        let (status, body) = w
            .api
            .get("/api/v1/billing/invoices?limit=10", Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let invoices = body["items"].as_array().unwrap();
        assert_eq!(invoices.len(), 3);
        assert_eq!(invoices[0]["number"], "7FE1103-0003", "newest first");
        assert_eq!(
            (
                invoices[0]["amount_due"].as_str(),
                invoices[2]["amount_due"].as_str()
            ),
            (Some("29.00"), Some("0.00"))
        );
        assert_eq!(invoices[0]["currency"], "usd");
        assert!(
            invoices[0]["hosted_invoice_url"]
                .as_str()
                .unwrap()
                .starts_with("https://invoice.stripe.com/")
        );
        let (status, _) = w
            .api
            .get("/api/v1/billing/invoices?limit=101", Some(&token))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_lives_through_signed_events_and_its_plan_follows() {
    on_each("subscription life", world, |w| async move {
        let (_, token) = user(&w.store, USER, EMAIL).await;
        // Checkout completes: Nexus reads the subscription from Stripe at once.
        let mut trialing = documented("subscription_trialing.json");
        shifted(&mut trialing, w.shift);
        w.stripe.set_subscription(trialing);
        assert_eq!(
            w.outcome("evt_01_checkout_session_completed.json").await,
            "applied"
        );
        assert_eq!(w.billing(&token).await["plan"], "pro");
        // Its own creation event comes later: older than the state read, so stale.
        assert_eq!(
            w.outcome("evt_02_customer_subscription_created.json").await,
            "stale"
        );
        let view = w.billing(&token).await;
        assert_eq!(
            (view["status"].as_str(), view["limits"]["bots"].as_u64()),
            (Some("trialing"), Some(25))
        );
        assert!(view["trial_ends_at"].is_string());

        // The owner's live events, from here on.
        let mut stream =
            crate::events::Stream::open(&w.api.client, &w.api.base, &token, None).await;

        // Five running bots on Pro.
        for symbol in ["BTC/USDT", "BTC/USDT", "BTC/USDT", "BTC/USDT", "BTC/USDT"] {
            let (status, body) = paper_bot(&w, &token, symbol).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        assert_eq!(
            w.outcome("evt_03_customer_subscription_trial_will_end.json")
                .await,
            "applied"
        );

        assert_eq!(
            w.outcome("evt_05_customer_subscription_updated_active.json")
                .await,
            "applied"
        );
        assert_eq!(w.outcome("evt_04_invoice_paid_first.json").await, "applied");
        assert_eq!(w.billing(&token).await["status"], "active");

        // The renewal fails: past due, the plan kept through the grace period.
        assert_eq!(
            w.outcome("evt_07_customer_subscription_updated_past_due.json")
                .await,
            "applied"
        );
        assert_eq!(
            w.outcome("evt_06_invoice_payment_failed.json").await,
            "applied"
        );
        let view = w.billing(&token).await;
        assert_eq!(
            (view["status"].as_str(), view["plan"].as_str()),
            (Some("past_due"), Some("pro"))
        );
        assert!(view["grace_until"].is_string());
        // The emails so far, sent by the job runner.
        w.email("plan is now Pro").await;
        let trial = w.email("trial ends").await;
        assert!(trial["text"].as_str().unwrap().contains("UTC"));
        let failed = w.email("payment failed").await;
        assert!(
            failed["text"]
                .as_str()
                .unwrap()
                .contains("your plan stays until")
        );

        // The grace ends with no event: the job falls to free and pauses the two newest.
        w.email("plan has ended").await;
        w.email("were paused").await;
        let view = w.billing(&token).await;
        assert_eq!(
            (view["plan"].as_str(), view["usage"]["bots"].as_u64()),
            (Some("free"), Some(3))
        );
        let (_, bots) = w.api.get("/api/v1/bots", Some(&token)).await;
        let paused: Vec<&Value> = bots["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["paused"] == true)
            .collect();
        assert_eq!(paused.len(), 2);
        assert!(paused.iter().all(|b| b["paused_reason"] == "plan_limit"));
        // Her stream told of each, as Nexus paused them.
        let mut told = Vec::new();
        while told.len() < 2 {
            let event = stream.next_of("bot").await.json();
            if event["bot"]["change"] == "paused" {
                assert_eq!(event["bot"]["bot"]["paused_reason"], "plan_limit");
                told.push(event["bot_id"].clone());
            }
        }
        told.sort_by_key(ToString::to_string);
        let mut expected: Vec<Value> = paused.iter().map(|b| b["id"].clone()).collect();
        expected.sort_by_key(ToString::to_string);
        assert_eq!(told, expected);
        let (status, body) = paper_bot(&w, &token, "BTC/USDT").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "plan_limit"),
            "a fourth running bot on free"
        );
        let paused_id = paused[0]["id"].as_str().unwrap().to_owned();
        let resume = || async {
            let response = w
                .api
                .client
                .patch(w.api.url(&format!("/api/v1/bots/{paused_id}")))
                .bearer_auth(&token)
                .json(&json!({"paused": false}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        };
        let (status, body) = resume().await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "plan_limit"));

        // Paid again: Pro comes back; the paused bots wait for their owner.
        assert_eq!(
            w.outcome("evt_08_invoice_paid_recovered.json").await,
            "applied"
        );
        assert_eq!(
            w.outcome("evt_09_customer_subscription_updated_recovered.json")
                .await,
            "applied"
        );
        let view = w.billing(&token).await;
        assert_eq!(
            (view["plan"].as_str(), view["status"].as_str()),
            (Some("pro"), Some("active"))
        );
        assert_eq!(view["usage"]["bots"], 3, "paused bots stay paused");
        let (status, body) = resume().await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Canceled: free at once; 4 running bots, so the newest pauses.
        assert_eq!(
            w.outcome("evt_10_customer_subscription_deleted.json").await,
            "applied"
        );
        let view = w.billing(&token).await;
        assert_eq!(
            (
                view["plan"].as_str(),
                view["status"].as_str(),
                view["usage"]["bots"].as_u64()
            ),
            (Some("free"), Some("canceled"), Some(3))
        );
        // A redelivery changes nothing.
        assert_eq!(
            w.outcome("evt_10_customer_subscription_deleted.json").await,
            "duplicate"
        );
        assert_eq!(
            w.outcome("evt_05_customer_subscription_updated_active.json")
                .await,
            "duplicate"
        );
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_signatures_change_nothing_and_events_apply_once_in_any_order() {
    on_each("webhook signatures", world, |w| async move {
        let (_, token) = user(&w.store, USER, EMAIL).await;
        let event = w.event("evt_02_customer_subscription_created.json");
        let body = serde_json::to_vec(&event).unwrap();
        let now = Utc::now().timestamp();
        let good = signature_header(WEBHOOK_SECRET, now, &body);
        let mut tampered = body.clone();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == b' ' { b'\t' } else { b' ' };
        for (what, body, signature) in [
            ("missing", body.clone(), None),
            ("garbage", body.clone(), Some("v1=abc".to_owned())),
            (
                "another secret",
                body.clone(),
                Some(signature_header("whsec_other", now, &body)),
            ),
            (
                "stale",
                body.clone(),
                Some(signature_header(WEBHOOK_SECRET, now - 301, &body)),
            ),
            (
                // Past the 300 s tolerance however long this test took to get here (at
                // now + 301 a loaded machine's few seconds brought it back within it).
                "from the future",
                body.clone(),
                Some(signature_header(WEBHOOK_SECRET, now + 360, &body)),
            ),
            ("tampered body", tampered, Some(good.clone())),
        ] {
            let (status, answer) = w.deliver_raw(&body, signature).await;
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::BAD_REQUEST, "invalid_signature"),
                "{what}"
            );
        }
        assert_eq!(w.billing(&token).await["plan"], "free", "nothing changed");
        assert!(
            w.store
                .billing_event(event["id"].as_str().unwrap())
                .await
                .unwrap()
                .is_none()
        );

        // A second v1 (a secret being rolled) is enough; then the same event is a duplicate.
        let rolled = format!("{good},v1={}", "0".repeat(64));
        let (status, answer) = w.deliver_raw(&body, Some(rolled)).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("applied"))
        );
        let (status, answer) = w.deliver_raw(&body, Some(good)).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (StatusCode::OK, Some("duplicate"))
        );

        // Out of order: past_due arrives before active; the older active is stale.
        assert_eq!(
            w.outcome("evt_07_customer_subscription_updated_past_due.json")
                .await,
            "applied"
        );
        assert_eq!(
            w.outcome("evt_05_customer_subscription_updated_active.json")
                .await,
            "stale"
        );
        assert_eq!(w.billing(&token).await["status"], "past_due");
        // A type Nexus does not act on: answered and recorded.
        assert_eq!(w.outcome("fixture_event.json").await, "ignored");
        // A signed body that is not an event.
        let junk = br#"{"hello":"world"}"#;
        let (status, answer) = w
            .deliver_raw(junk, Some(signature_header(WEBHOOK_SECRET, now, junk)))
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "invalid_event")
        );

        // Admins see each event and what became of it.
        let admin = UserId::new(uuid::Uuid::new_v4());
        let (_, admin_token) = user(&w.store, &admin.to_string(), "ops@example.com").await;
        let (status, _) = w
            .api
            .get("/api/v1/admin/billing/events", Some(&admin_token))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        w.store
            .set_role(admin, Role::Admin, Utc::now())
            .await
            .unwrap();
        let (status, page) = w
            .api
            .get("/api/v1/admin/billing/events?limit=2", Some(&admin_token))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["outcome"], "ignored", "newest first");
        assert_eq!(items[1]["outcome"], "stale");
        assert_eq!(items[1]["detail"], "older than the stored state");
        let next = page["next_before"].as_str().unwrap();
        let (_, rest) = w
            .api
            .get(
                &format!("/api/v1/admin/billing/events?before={next}"),
                Some(&admin_token),
            )
            .await;
        let types: Vec<&str> = rest["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "customer.subscription.updated",
                "customer.subscription.created"
            ]
        );
        let (status, _) = w
            .api
            .get(
                "/api/v1/admin/billing/events?before=nonsense",
                Some(&admin_token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_repairs_what_webhooks_missed() {
    on_each("billing sync", world, |w| async move {
        let (id, token) = user(&w.store, USER, EMAIL).await;
        w.store
            .save_billing_customer(id, "cus_QXg1o8vcGmoR32", Utc::now())
            .await
            .unwrap();
        // The trial's event arrived; everything after it was missed.
        assert_eq!(
            w.outcome("evt_02_customer_subscription_created.json").await,
            "applied"
        );
        let mut canceled = documented("subscription_canceled.json");
        shifted(&mut canceled, w.shift);
        w.stripe.set_subscription(canceled);
        let mut seen = Vec::new();
        let report = w.billing.sync(|done, _| seen.push(done)).await.unwrap();
        assert_eq!((report.customers, seen), (1, vec![1]));
        assert_eq!(report.changed.len(), 1);
        let change = &report.changed[0];
        assert_eq!(change.user, id);
        assert_eq!(
            change.status,
            ("trialing".to_owned(), "canceled".to_owned())
        );
        assert_eq!(
            (
                change.applied.plan_before.as_str(),
                change.applied.plan_after.as_str()
            ),
            ("pro", "free")
        );
        assert_eq!(w.billing(&token).await["status"], "canceled");
        let again = w.billing.sync(|_, _| {}).await.unwrap();
        assert!(
            again.changed.is_empty(),
            "a second sync finds nothing to repair"
        );
        let listed = w.stripe.requests_to("GET", "/v1/subscriptions");
        assert!(listed.iter().all(|r| r.param("status") == Some("all")));
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_limits_hold_when_two_instances_race() {
    on_each("plan limits across instances", world, |w| async move {
        let (_, token) = user(&w.store, USER, EMAIL).await;
        // A second instance on the same database.
        let other_store = w.db.another_store().await;
        let other = Served::start(|url| ApiState::new(other_store, w.outbox.sender(), AuthSettings::new(url))).await;
        let apis = [w.api.clone(), Http::new(other.url.clone())];
        let mut racing = tokio::task::JoinSet::new();
        for n in 0..10 {
            let api = apis[n % 2].clone();
            let token = token.clone();
            racing.spawn(async move {
                api.post(
                    "/api/v1/bots",
                    &json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"}),
                    Some(&token),
                )
                .await
            });
        }
        let mut created = 0;
        while let Some(done) = racing.join_next().await {
            let (status, body) = done.unwrap();
            match status {
                StatusCode::CREATED => created += 1,
                StatusCode::FORBIDDEN => assert_eq!(code(&body), "plan_limit"),
                other => panic!("{other}: {body}"),
            }
        }
        assert_eq!(created, 3, "exactly the free plan's three");
        drop(other);
        w
    })
    .await;
}

#[tokio::test]
async fn without_a_stripe_key_billing_answers_billing_disabled() {
    let db = TestDb::open(Backend::Sqlite).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let store = Arc::clone(&db.store);
    let served =
        Served::start(|url| ApiState::new(store, outbox.sender(), AuthSettings::new(url))).await;
    let api = Http::new(served.url.clone());
    let (_, token) = user(&db.store, USER, EMAIL).await;
    let (status, view) = api.get("/api/v1/billing", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (view["plan"].as_str(), view["billing_enabled"].as_bool()),
        (Some("free"), Some(false))
    );
    for (path, body) in [
        ("/api/v1/billing/checkout", json!({"plan": "pro"})),
        ("/api/v1/billing/portal", json!({})),
        ("/api/v1/billing/webhook", json!({"id": "evt_1"})),
    ] {
        let (status, body) = api.post(path, &body, Some(&token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "billing_disabled"),
            "{path}"
        );
    }
    let (status, body) = api.get("/api/v1/billing/invoices", Some(&token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "billing_disabled")
    );
}
