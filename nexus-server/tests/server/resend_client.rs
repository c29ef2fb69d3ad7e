//! `ResendClient` against the local Resend (`support::resend`): the fields and headers a send
//! carries, Resend's failures read into `ResendError` (500 and 429 retryable with the wait
//! Resend asks for, 422 not), and the idempotency key that makes a retry return the first
//! email's id. Expected values come from the files in `test_data/resend/`.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::Secret;
use nexus_server::email::resend::{OutgoingEmail, ResendClient, ResendError, USER_AGENT};
use serde_json::{Value, json};

use crate::support::resend::{Failure, ResendMock, errors};

const KEY: &str = "re_MockKeyForNexusTests_0123456789";
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/resend/");

fn file(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DATA}{name}")).unwrap()).unwrap()
}

/// The documented request as an email, with a plain-text part.
fn email() -> OutgoingEmail {
    let request = file("send_email_request.json");
    let text = |p: &str| {
        request
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    };
    OutgoingEmail {
        from: text("/from"),
        to: text("/to/0"),
        subject: text("/subject"),
        html: text("/html"),
        text: "it works!".to_owned(),
        tags: vec![(text("/tags/0/name"), text("/tags/0/value"))],
    }
}

async fn resend() -> (Arc<ResendMock>, ResendClient) {
    let mock = ResendMock::start(KEY).await;
    let client = ResendClient::new(&mock.base(), Secret::new(KEY)).unwrap();
    (mock, client)
}

/// The documented id of the first email.
fn first_id() -> String {
    file("send_email_response.json")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_send_carries_the_documented_fields_and_headers() {
    let (mock, client) = resend().await;
    let id = client.send(&email(), "nexus-email/1").await.unwrap();
    assert_eq!(id, first_id());

    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/emails")
    );
    let mut expected = file("send_email_request.json");
    expected["text"] = json!("it works!");
    assert_eq!(request.body, expected);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.idempotency_key(), Some("nexus-email/1"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("nexus/"));
    assert!(
        request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        request.header("content-type")
    );
    assert_eq!(mock.sent(), vec![(id, expected)]);
}

#[tokio::test]
async fn a_500_then_a_429_are_retryable_and_the_retry_sends_once() {
    let (mock, client) = resend().await;
    mock.fail_next(Failure::new(500, errors::APPLICATION_ERROR));
    mock.fail_next(Failure::new(429, errors::RATE_LIMIT_EXCEEDED).header("retry-after", "1"));

    let error = client.send(&email(), "nexus-email/2").await.unwrap_err();
    let ResendError::Server {
        status,
        name,
        message,
        retry_after,
    } = &error
    else {
        panic!("not a server error: {error:?}")
    };
    assert_eq!(
        (*status, name.as_str(), message.as_str(), *retry_after),
        (
            500,
            "application_error",
            errors::message(errors::APPLICATION_ERROR).as_str(),
            None
        )
    );
    assert!(error.is_retryable());

    let error = client.send(&email(), "nexus-email/2").await.unwrap_err();
    let ResendError::RateLimited {
        retry_after,
        name,
        message,
    } = &error
    else {
        panic!("not a rate limit: {error:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(1)));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(name, "rate_limit_exceeded");
    assert_eq!(*message, errors::message(errors::RATE_LIMIT_EXCEEDED));
    assert!(error.is_retryable());

    // The third attempt, with the same key, is accepted, once.
    let id = client.send(&email(), "nexus-email/2").await.unwrap();
    assert_eq!(id, first_id());
    let keys: Vec<_> = mock
        .requests()
        .iter()
        .map(|r| r.idempotency_key().map(str::to_owned))
        .collect();
    assert_eq!(keys, vec![Some("nexus-email/2".to_owned()); 3]);
    assert_eq!(mock.sent().len(), 1);
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_rate_limit_reset() {
    let (mock, client) = resend().await;
    mock.fail_next(
        Failure::new(429, errors::DAILY_QUOTA_EXCEEDED).header("ratelimit-reset", "3600"),
    );
    let error = client.send(&email(), "nexus-email/3").await.unwrap_err();
    assert!(
        matches!(&error, ResendError::RateLimited { name, retry_after: Some(wait), .. }
            if name == "daily_quota_exceeded" && *wait == Duration::from_secs(3600)),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_503_is_retryable_after_the_wait_it_asks_for() {
    let (mock, client) = resend().await;
    mock.fail_next(Failure::new(503, errors::SERVICE_UNAVAILABLE).header("retry-after", "30"));
    let error = client.send(&email(), "nexus-email/11").await.unwrap_err();
    assert!(
        matches!(&error, ResendError::Server { status: 503, name, .. } if name == "service_unavailable"),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert!(mock.sent().is_empty());
}

#[tokio::test]
async fn a_422_is_rejected_at_once_with_resends_message() {
    let (mock, client) = resend().await;
    // Resend's own validation: no sender.
    let mut no_from = email();
    no_from.from = String::new();
    let error = client.send(&no_from, "nexus-email/4").await.unwrap_err();
    let expected = file("error_missing_required_field.json");
    let ResendError::Rejected {
        status,
        name,
        message,
    } = &error
    else {
        panic!("not a refusal: {error:?}")
    };
    assert_eq!(*status, 422);
    assert_eq!(Some(name.as_str()), expected["name"].as_str());
    assert_eq!(Some(message.as_str()), expected["message"].as_str());
    assert!(!error.is_retryable());
    assert_eq!(error.retry_after(), None);
    assert!(
        error.to_string().contains("Missing `from` field."),
        "{error}"
    );

    // A scripted 422 (an invalid sender) reads the same way.
    mock.fail_next(Failure::new(422, errors::INVALID_PARAMETER));
    let error = client.send(&email(), "nexus-email/5").await.unwrap_err();
    assert!(
        matches!(&error, ResendError::Rejected { status: 422, name, message }
            if name == "invalid_parameter" && *message == errors::message(errors::INVALID_PARAMETER)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(mock.sent().is_empty());
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_id() {
    let (mock, client) = resend().await;
    let first = client.send(&email(), "nexus-email/6").await.unwrap();
    let again = client.send(&email(), "nexus-email/6").await.unwrap();
    assert_eq!(again, first);
    assert_eq!(mock.sent().len(), 1);

    // Another key is another email.
    let other = client.send(&email(), "nexus-email/7").await.unwrap();
    assert_ne!(other, first);
    assert_eq!(mock.sent().len(), 2);

    // The same key with another body is refused for good.
    let mut changed = email();
    changed.subject = "another subject".to_owned();
    let error = client.send(&changed, "nexus-email/6").await.unwrap_err();
    assert!(
        matches!(&error, ResendError::Rejected { status: 409, name, .. } if name == "invalid_idempotent_request"),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    // While the first request with a key is in progress, a second may be retried.
    mock.fail_next(Failure::new(409, errors::CONCURRENT_IDEMPOTENT_REQUESTS));
    let error = client.send(&email(), "nexus-email/8").await.unwrap_err();
    assert!(matches!(error, ResendError::InProgress { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(mock.sent().len(), 2);
}

#[tokio::test]
async fn a_wrong_key_is_refused_without_showing_it() {
    let mock = ResendMock::start(KEY).await;
    let wrong = "re_WrongKey_not_to_be_shown_42";
    let client = ResendClient::new(&mock.base(), Secret::new(wrong)).unwrap();
    let error = client.send(&email(), "nexus-email/9").await.unwrap_err();
    assert!(
        matches!(&error, ResendError::Rejected { status: 403, name, .. } if name == "invalid_api_key"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    for shown in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{client:?}"),
    ] {
        assert!(!shown.contains(wrong), "{shown}");
    }
}

#[tokio::test]
async fn no_answer_is_a_retryable_transport_failure() {
    // A port nothing listens on: bound, then closed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = ResendClient::new(&base, Secret::new(KEY)).unwrap();
    let error = client.send(&email(), "nexus-email/10").await.unwrap_err();
    assert!(matches!(error, ResendError::Transport { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), None);
}
