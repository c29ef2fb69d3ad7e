//! `StripeClient` against the local Stripe (`support::stripe`): the fields each call sends,
//! idempotency keys kept across retries, Stripe's retry rules, paging, and Stripe's errors
//! read into `StripeError`. Expected values come from the files in `test_data/stripe/`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_core::{Secret, UserId};
use nexus_exchanges::RetryPolicy;
use nexus_server::billing::stripe::{
    CheckoutRequest, STRIPE_API_VERSION, StripeClient, StripeError, StripeSubscription,
};
use serde_json::{Value, json};

use crate::support::stripe::{Failure, StripeMock, errors};

const KEY: &str = "sk_test_51MockKeyForNexusTests0123456789";
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/stripe/");
const CHECKOUT: &str = "/v1/checkout/sessions";
const PORTAL: &str = "/v1/billing_portal/sessions";

fn file(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DATA}{name}")).unwrap()).unwrap()
}

/// The documented Checkout request's fields, in order.
fn request_fields() -> Vec<(String, String)> {
    std::fs::read_to_string(format!("{DATA}checkout_session_create_request.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

/// The scenario's user (the request file's `client_reference_id`).
fn user() -> UserId {
    field(&request_fields(), "client_reference_id")
        .parse()
        .unwrap()
}

/// The documented Checkout request for `customer`.
fn checkout(customer: &str, key: &str) -> CheckoutRequest {
    let fields = request_fields();
    CheckoutRequest {
        user: user(),
        customer: customer.to_owned(),
        price: field(&fields, "line_items[0][price]"),
        plan: field(&fields, "subscription_data[metadata][nexus_plan]"),
        trial_days: Some(
            field(&fields, "subscription_data[trial_period_days]")
                .parse()
                .unwrap(),
        ),
        success_url: field(&fields, "success_url"),
        cancel_url: field(&fields, "cancel_url"),
        idempotency_key: key.to_owned(),
    }
}

/// Retries as in production, with waits short enough for tests.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    }
}

async fn stripe() -> (Arc<StripeMock>, StripeClient) {
    let mock = StripeMock::start(KEY).await;
    let client = StripeClient::new(&mock.base(), Secret::new(KEY))
        .unwrap()
        .with_retry(fast());
    (mock, client)
}

/// The `Status` fields of an error, or a panic.
fn status(error: &StripeError) -> (u16, &str, Option<&str>, &str) {
    match error {
        StripeError::Status {
            status,
            kind,
            code,
            message,
            ..
        } => (*status, kind, code.as_deref(), message),
        other => panic!("not a Stripe refusal: {other:?}"),
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap()
}

#[tokio::test]
async fn a_customer_then_checkout_sends_the_documented_fields() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    let documented = file("customer_create_response.json");
    assert_eq!(customer, str_at(&documented, "/id"));
    // The request file's customer is the one created.
    assert_eq!(customer, field(&request_fields(), "customer"));

    let url = client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-test-1"))
        .await
        .unwrap();
    assert_eq!(
        url,
        str_at(&file("checkout_session_create_response.json"), "/url")
    );

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let created = &requests[0];
    assert_eq!(
        (created.method.as_str(), created.path.as_str()),
        ("POST", "/v1/customers")
    );
    assert_eq!(
        created.form,
        vec![
            ("email".to_owned(), "trader@example.com".to_owned()),
            (
                "metadata[nexus_user_id]".to_owned(),
                str_at(&documented, "/metadata/nexus_user_id").to_owned()
            ),
        ]
    );
    assert_eq!(
        created.idempotency_key.as_deref(),
        Some(format!("nexus-customer-{}", user()).as_str())
    );
    let session = &requests[1];
    assert_eq!(
        (session.method.as_str(), session.path.as_str()),
        ("POST", CHECKOUT)
    );
    assert_eq!(session.form, request_fields());
    assert_eq!(
        session.idempotency_key.as_deref(),
        Some("nexus-checkout-test-1")
    );
    for request in &requests {
        assert_eq!(request.stripe_version.as_deref(), Some(STRIPE_API_VERSION));
    }

    // A second session is another object at another URL.
    let again = client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-test-2"))
        .await
        .unwrap();
    assert_ne!(again, url);
}

#[tokio::test]
async fn a_repeated_customer_creation_gets_the_first_answer() {
    let (mock, client) = stripe().await;
    let first = client
        .create_customer(user(), "a@example.com")
        .await
        .unwrap();
    let second = client
        .create_customer(user(), "a@example.com")
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(mock.customers(), vec![first.clone()]);
    let keys: Vec<_> = mock
        .requests_to("POST", "/v1/customers")
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);

    let other = UserId::new(uuid::Uuid::from_u128(42));
    let third = client
        .create_customer(other, "b@example.com")
        .await
        .unwrap();
    assert_ne!(third, first);
    assert_eq!(mock.customers().len(), 2);

    // The same key with other fields is Stripe's idempotency error, not a second customer.
    let error = client
        .create_customer(other, "changed@example.com")
        .await
        .unwrap_err();
    let (code, kind, _, message) = status(&error);
    assert_eq!((code, kind), (400, "idempotency_error"));
    assert!(
        message.contains(&format!("nexus-customer-{other}")),
        "{message}"
    );
    assert_eq!(mock.customers().len(), 2);
}

#[tokio::test]
async fn a_rate_limited_post_is_retried_with_the_same_idempotency_key() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    mock.fail_next(Failure::new(CHECKOUT, 429, errors::RATE_LIMIT));
    let url = client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-retry"))
        .await
        .unwrap();
    assert!(url.starts_with("https://checkout.stripe.com/"), "{url}");

    let sent = mock.requests_to("POST", CHECKOUT);
    assert_eq!(sent.len(), 2, "one refusal, one retry");
    assert_eq!(
        sent[0].idempotency_key.as_deref(),
        Some("nexus-checkout-retry")
    );
    assert_eq!(sent[0].idempotency_key, sent[1].idempotency_key);
    assert_eq!(sent[0].form, sent[1].form);
    assert_eq!(sent[1].form, request_fields());
}

#[tokio::test]
async fn retries_stop_after_three_and_return_stripes_error() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    for _ in 0..4 {
        mock.fail_next(Failure::new(CHECKOUT, 429, errors::RATE_LIMIT));
    }
    let error = client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-limited"))
        .await
        .unwrap_err();
    let documented: Value = serde_json::from_str(errors::RATE_LIMIT).unwrap();
    assert_eq!(
        status(&error),
        (
            429,
            str_at(&documented, "/error/type"),
            Some(str_at(&documented, "/error/code")),
            str_at(&documented, "/error/message"),
        )
    );
    assert_eq!(mock.requests_to("POST", CHECKOUT).len(), 4, "1 + 3 retries");

    // A 503 and a 409 are retried too; the read then succeeds.
    let id = str_at(&file("subscription_active.json"), "/id").to_owned();
    let path = format!("/v1/subscriptions/{id}");
    mock.fail_next(Failure::new(
        &path,
        503,
        r#"{"error":{"type":"api_error","message":"x"}}"#,
    ));
    mock.fail_next(Failure::new(
        &path,
        409,
        r#"{"error":{"type":"api_error","message":"x"}}"#,
    ));
    let subscription = client.subscription(&id).await.unwrap();
    assert_eq!(subscription.id, id);
    assert_eq!(mock.requests_to("GET", &path).len(), 3);
}

#[tokio::test]
async fn stripe_should_retry_overrides_the_status() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    mock.fail_next(
        Failure::new(
            PORTAL,
            500,
            r#"{"error":{"type":"api_error","message":"not again"}}"#,
        )
        .header("Stripe-Should-Retry", "false"),
    );
    let error = client
        .create_portal_session(&customer, "http://127.0.0.1:8080/settings/billing", "p-1")
        .await
        .unwrap_err();
    assert_eq!(status(&error), (500, "api_error", None, "not again"));
    assert_eq!(mock.requests_to("POST", PORTAL).len(), 1);

    mock.fail_next(
        Failure::new(PORTAL, 400, errors::INVALID_REQUEST).header("Stripe-Should-Retry", "true"),
    );
    client
        .create_portal_session(&customer, "http://127.0.0.1:8080/settings/billing", "p-2")
        .await
        .unwrap();
    let sent = mock.requests_to("POST", PORTAL);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1].idempotency_key, sent[2].idempotency_key);
}

#[tokio::test]
async fn retry_after_is_waited_for_unless_it_is_too_long() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    mock.fail_next(Failure::new(CHECKOUT, 429, errors::RATE_LIMIT).header("Retry-After", "1"));
    let started = Instant::now();
    client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-wait"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(mock.requests_to("POST", CHECKOUT).len(), 2);

    mock.fail_next(Failure::new(CHECKOUT, 429, errors::RATE_LIMIT).header("Retry-After", "60"));
    let started = Instant::now();
    let error = client
        .create_checkout_session(&checkout(&customer, "nexus-checkout-later"))
        .await
        .unwrap_err();
    assert_eq!(status(&error).0, 429);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(mock.requests_to("POST", CHECKOUT).len(), 3, "not retried");
}

#[tokio::test]
async fn the_portal_session_is_for_the_customer() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    let documented = file("billing_portal_session_create_response.json");
    let return_url = str_at(&documented, "/return_url");
    let url = client
        .create_portal_session(&customer, return_url, "nexus-portal-1")
        .await
        .unwrap();
    assert_eq!(url, str_at(&documented, "/url"));
    let sent = mock.requests_to("POST", PORTAL);
    assert_eq!(
        sent[0].form,
        vec![
            ("customer".to_owned(), customer.clone()),
            ("return_url".to_owned(), return_url.to_owned()),
        ]
    );
    assert_eq!(sent[0].idempotency_key.as_deref(), Some("nexus-portal-1"));

    let error = client
        .create_portal_session("cus_Unknown", return_url, "nexus-portal-2")
        .await
        .unwrap_err();
    let (code, kind, stripe_code, message) = status(&error);
    assert_eq!(
        (code, kind, stripe_code),
        (400, "invalid_request_error", Some("resource_missing"))
    );
    assert!(message.contains("cus_Unknown"), "{message}");
}

/// What the client should read from a subscription object.
fn expected_subscription(json: &Value) -> StripeSubscription {
    StripeSubscription {
        id: str_at(json, "/id").to_owned(),
        customer: str_at(json, "/customer").to_owned(),
        status: str_at(json, "/status").to_owned(),
        price: Some(str_at(json, "/items/data/0/price/id").to_owned()),
        user: Some(str_at(json, "/metadata/nexus_user_id").to_owned()),
        trial_start: json["trial_start"].as_i64(),
        trial_end: json["trial_end"].as_i64(),
        current_period_end: json
            .pointer("/items/data/0/current_period_end")
            .and_then(Value::as_i64),
        cancel_at_period_end: json["cancel_at_period_end"].as_bool().unwrap(),
    }
}

#[tokio::test]
async fn a_subscription_is_read_as_stripe_holds_it_now() {
    let (mock, client) = stripe().await;
    // At first, what the documented listing holds (active again after the recovery).
    let listed = file("subscription_list.json")["data"][0].clone();
    let id = str_at(&listed, "/id");
    assert_eq!(
        client.subscription(id).await.unwrap(),
        expected_subscription(&listed)
    );

    let active = file("subscription_active.json");
    for name in [
        "subscription_active.json",
        "subscription_past_due.json",
        "subscription_canceled.json",
        "subscription_trialing.json",
    ] {
        let json = file(name);
        mock.set_subscription(json.clone());
        let read = client.subscription(id).await.unwrap();
        assert_eq!(read, expected_subscription(&json), "{name}");
    }
    let mut renewing = active.clone();
    renewing["cancel_at_period_end"] = json!(true);
    mock.set_subscription(renewing);
    assert!(client.subscription(id).await.unwrap().cancel_at_period_end);

    let error = client.subscription("sub_missing").await.unwrap_err();
    let (code, _, stripe_code, message) = status(&error);
    assert_eq!((code, stripe_code), (404, Some("resource_missing")));
    assert!(message.contains("sub_missing"), "{message}");

    // An id that would leave the subscription path is not sent.
    let before = mock.requests().len();
    let error = client.subscription("../customers").await.unwrap_err();
    assert!(matches!(error, StripeError::BadId { .. }), "{error:?}");
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test]
async fn subscriptions_are_listed_with_canceled_ones_across_pages() {
    let (mock, client) = stripe().await;
    let active = file("subscription_active.json");
    let customer = str_at(&active, "/customer").to_owned();
    // 150 older subscriptions of the customer, a canceled one among them, and one of
    // another customer.
    let canceled = file("subscription_canceled.json");
    for i in (0..150).rev() {
        let mut older = if i == 120 {
            canceled.clone()
        } else {
            active.clone()
        };
        older["id"] = json!(format!("sub_Older{i:03}"));
        mock.set_subscription(older);
    }
    let mut foreign = active.clone();
    foreign["id"] = json!("sub_Foreign");
    foreign["customer"] = json!("cus_Other");
    mock.set_subscription(foreign);

    let listed = client.subscriptions(&customer).await.unwrap();
    assert_eq!(listed.len(), 151);
    assert!(listed.iter().all(|s| s.customer == customer));
    assert!(listed.iter().any(|s| s.status == "canceled"));
    let mut ids: Vec<_> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids[0], "sub_Older000", "newest first");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 151, "no subscription twice");

    let pages = mock.requests_to("GET", "/v1/subscriptions");
    assert_eq!(pages.len(), 2);
    for page in &pages {
        assert_eq!(page.param("customer"), Some(customer.as_str()));
        assert_eq!(page.param("status"), Some("all"));
        assert_eq!(page.param("limit"), Some("100"));
    }
    assert_eq!(pages[0].param("starting_after"), None);
    assert_eq!(
        pages[1].param("starting_after"),
        Some(listed[99].id.as_str())
    );

    // A customer without subscriptions: one page, empty.
    assert!(client.subscriptions("cus_None").await.unwrap().is_empty());
}

#[tokio::test]
async fn invoices_are_the_newest_first_up_to_the_limit() {
    let (mock, client) = stripe().await;
    let documented = file("invoice_list.json");
    let data = documented["data"].as_array().unwrap();
    let customer = str_at(&data[0], "/customer");

    let invoices = client.invoices(customer, 2).await.unwrap();
    assert_eq!(invoices.len(), 2);
    for (invoice, json) in invoices.iter().zip(data) {
        assert_eq!(invoice.id, str_at(json, "/id"));
        assert_eq!(invoice.number.as_deref(), Some(str_at(json, "/number")));
        assert_eq!(Some(invoice.amount_due), json["amount_due"].as_i64());
        assert_eq!(Some(invoice.amount_paid), json["amount_paid"].as_i64());
        assert_eq!(invoice.currency, str_at(json, "/currency"));
        assert_eq!(invoice.status.as_deref(), Some(str_at(json, "/status")));
        assert_eq!(
            invoice.subscription.as_deref(),
            Some(str_at(json, "/parent/subscription_details/subscription"))
        );
        assert_eq!(
            invoice.period_end,
            json.pointer("/lines/data/0/period/end")
                .and_then(Value::as_i64)
        );
    }
    assert!(invoices[0].created >= invoices[1].created);

    let all = client.invoices(customer, 100).await.unwrap();
    assert_eq!(all.len(), data.len());
    // 0 is below Stripe's bound: one is asked for.
    assert_eq!(client.invoices(customer, 0).await.unwrap().len(), 1);
    let limits: Vec<_> = mock
        .requests_to("GET", "/v1/invoices")
        .iter()
        .map(|r| {
            assert_eq!(r.param("customer"), Some(customer));
            assert_eq!(r.idempotency_key, None);
            r.param("limit").unwrap().to_owned()
        })
        .collect();
    assert_eq!(limits, ["2", "100", "1"]);
}

#[tokio::test]
async fn an_unknown_price_is_stripes_400_and_not_retried() {
    let (mock, client) = stripe().await;
    let customer = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap();
    let documented: Value = serde_json::from_str(errors::INVALID_REQUEST).unwrap();
    // The file's message names the price it refused.
    let message = str_at(&documented, "/error/message");
    let price = message.split('\'').nth(1).unwrap();
    let request = CheckoutRequest {
        price: price.to_owned(),
        ..checkout(&customer, "nexus-checkout-bad-price")
    };
    let error = client.create_checkout_session(&request).await.unwrap_err();
    assert_eq!(
        status(&error),
        (
            400,
            str_at(&documented, "/error/type"),
            Some(str_at(&documented, "/error/code")),
            message,
        )
    );
    assert!(error.to_string().contains(message), "{error}");
    assert_eq!(mock.requests_to("POST", CHECKOUT).len(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_shown() {
    let (mock, _) = stripe().await;
    let wrong = "sk_test_51WrongKeyNotAccepted9876";
    let client = StripeClient::new(&mock.base(), Secret::new(wrong))
        .unwrap()
        .with_retry(fast());
    let error = client
        .create_customer(user(), "trader@example.com")
        .await
        .unwrap_err();
    let (code, kind, _, _) = status(&error);
    assert_eq!((code, kind), (401, "invalid_request_error"));
    assert_eq!(mock.requests().len(), 1, "not retried");
    assert!(mock.customers().is_empty());
    for shown in [
        error.to_string(),
        format!("{error:?}"),
        format!("{client:?}"),
    ] {
        assert!(!shown.contains(wrong), "{shown}");
    }
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_transport_error_after_the_retries() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = StripeClient::new(&format!("http://127.0.0.1:{port}"), Secret::new(KEY))
        .unwrap()
        .with_retry(fast());
    let error = client.invoices("cus_QXg1o8vcGmoR32", 10).await.unwrap_err();
    assert!(
        matches!(
            error,
            StripeError::Transport {
                what: "list invoices",
                ..
            }
        ),
        "{error:?}"
    );
}
