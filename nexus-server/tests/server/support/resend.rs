//! A local Resend for the email tests: a poem server on loopback that answers `POST /emails`
//! as the real API does (`test_data/resend/README.md`): it checks `Authorization: Bearer
//! <key>` (401 `missing_api_key`, 403 `invalid_api_key`), a `User-Agent` (the real API
//! answers 403 without one), JSON with `from`, `to` and `subject` (422
//! `missing_required_field`, "Missing \`from\` field."), and replays the first answer for a
//! repeated `Idempotency-Key` with the same body (409 `invalid_idempotent_request` with
//! another body). It also checks what Nexus promises: an `Idempotency-Key` of 1 to 256
//! characters on every send. Every answer is in Resend's error shape
//! `{statusCode, message, name}` with `ratelimit-*` headers. It records every request, and
//! lets a test script the answers to the next requests (a 500, then a 429 with
//! `retry-after: 1`, …).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use nexus_exchanges::mock::serve;
use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{Value, json};

/// The documented answer to a send.
const SENT: &str = include_str!("../../../test_data/resend/send_email_response.json");

/// Resend's error bodies, for scripted failures.
pub mod errors {
    /// 500 `application_error`.
    pub const APPLICATION_ERROR: &str =
        include_str!("../../../test_data/resend/error_application_error.json");
    /// 503 `service_unavailable`.
    pub const SERVICE_UNAVAILABLE: &str =
        include_str!("../../../test_data/resend/error_service_unavailable.json");
    /// 429 `rate_limit_exceeded`.
    pub const RATE_LIMIT_EXCEEDED: &str =
        include_str!("../../../test_data/resend/error_rate_limit_exceeded.json");
    /// 429 `daily_quota_exceeded`.
    pub const DAILY_QUOTA_EXCEEDED: &str =
        include_str!("../../../test_data/resend/error_daily_quota_exceeded.json");
    /// 422 `invalid_parameter` (an invalid `from`).
    pub const INVALID_PARAMETER: &str =
        include_str!("../../../test_data/resend/error_invalid_parameter.json");
    /// 409 `concurrent_idempotent_requests`.
    pub const CONCURRENT_IDEMPOTENT_REQUESTS: &str =
        include_str!("../../../test_data/resend/error_concurrent_idempotent_requests.json");
    /// 409 `invalid_idempotent_request`.
    pub const INVALID_IDEMPOTENT_REQUEST: &str =
        include_str!("../../../test_data/resend/error_invalid_idempotent_request.json");
    /// 401 `missing_api_key`.
    pub const MISSING_API_KEY: &str =
        include_str!("../../../test_data/resend/error_missing_api_key.json");
    /// 403 `invalid_api_key`.
    pub const INVALID_API_KEY: &str =
        include_str!("../../../test_data/resend/error_invalid_api_key.json");
    /// 400 `invalid_idempotency_key`.
    pub const INVALID_IDEMPOTENCY_KEY: &str =
        include_str!("../../../test_data/resend/error_invalid_idempotency_key.json");

    /// The `message` of an error body.
    pub fn message(body: &str) -> String {
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        json["message"].as_str().unwrap().to_owned()
    }
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, …
    pub method: String,
    /// The path, e.g. `/emails`.
    pub path: String,
    /// Every header, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
}

impl Recorded {
    /// A header's value (the first, when repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }
}

/// An answer given instead of the real one to the next request. It stands for an answer
/// given before Resend acted (a rate limit, an outage), so it is not stored under the
/// request's idempotency key.
#[derive(Debug, Clone)]
pub struct Failure {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Failure {
    /// `status` with the JSON `body` (one of [`errors`]).
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            headers: Vec::new(),
        }
    }

    /// The same failure with a header (`retry-after`, …).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A send's first answer, kept under its idempotency key.
#[derive(Debug)]
struct Stored {
    body: Value,
    status: u16,
    answer: String,
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    failures: VecDeque<Failure>,
    replies: HashMap<String, Stored>,
    /// `(id, body)` of every email accepted, in order.
    sent: Vec<(String, Value)>,
}

/// The local Resend; tests arrange it and read what it received.
#[derive(Debug)]
pub struct ResendMock {
    key: String,
    base: OnceLock<String>,
    state: Mutex<State>,
}

impl ResendMock {
    /// Starts a Resend that accepts the API key `key`.
    pub async fn start(key: &str) -> Arc<Self> {
        let mock = Arc::new(Self {
            key: key.to_owned(),
            base: OnceLock::new(),
            state: Mutex::new(State::default()),
        });
        let handler = Arc::clone(&mock);
        let base = serve(poem::endpoint::make(move |mut req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let body = req.take_body().into_vec().await.unwrap_or_default();
                mock.handle(&req, &body)
            }
        }))
        .await;
        mock.base.set(base).unwrap();
        mock
    }

    /// The base URL to give `ResendClient::new`.
    pub fn base(&self) -> String {
        self.base.get().cloned().unwrap()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received, in arrival order (refused and scripted ones included).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// `(id, body)` of every email accepted (a replay adds none), in order.
    pub fn sent(&self) -> Vec<(String, Value)> {
        self.state().sent.clone()
    }

    /// Answers the next request with `failure` (failures queue up, in order).
    pub fn fail_next(&self, failure: Failure) {
        self.state().failures.push_back(failure);
    }

    fn handle(&self, req: &Request, raw: &[u8]) -> Response {
        let recorded = Recorded {
            method: req.method().as_str().to_owned(),
            path: req.uri().path().to_owned(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: serde_json::from_slice(raw).unwrap_or(Value::Null),
        };
        let failure = {
            let mut state = self.state();
            state.requests.push(recorded.clone());
            state.failures.pop_front()
        };
        if let Some(failure) = failure {
            let mut response = answer(failure.status, failure.body);
            for (name, value) in failure.headers {
                response.headers_mut().insert(
                    poem::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            return response;
        }
        if let Some((status, body)) = self.refuse(&recorded) {
            return answer(status, body);
        }
        let key = recorded.idempotency_key().unwrap_or_default().to_owned();
        if let Some(stored) = self.state().replies.get(&key) {
            if stored.body != recorded.body {
                return answer(409, errors::INVALID_IDEMPOTENT_REQUEST.trim().to_owned());
            }
            return answer(stored.status, stored.answer.clone());
        }
        let (status, body) = self.send(&recorded);
        // Resend keeps the answer of an email it accepted.
        if (200..300).contains(&status) {
            self.state().replies.insert(
                key,
                Stored {
                    body: recorded.body.clone(),
                    status,
                    answer: body.clone(),
                },
            );
        }
        answer(status, body)
    }

    /// What the real API refuses, and this mock's refusal of a send without an idempotency
    /// key.
    fn refuse(&self, r: &Recorded) -> Option<(u16, String)> {
        if (r.method.as_str(), r.path.as_str()) != ("POST", "/emails") {
            return Some(error(
                404,
                "not_found",
                "The requested endpoint does not exist.",
            ));
        }
        let Some(auth) = r.header("authorization") else {
            return Some((401, errors::MISSING_API_KEY.trim().to_owned()));
        };
        if auth.strip_prefix("Bearer ") != Some(self.key.as_str()) {
            return Some((403, errors::INVALID_API_KEY.trim().to_owned()));
        }
        if r.header("user-agent").is_none_or(str::is_empty) {
            return Some(error(
                403,
                "validation_error",
                "This mock, like Resend, refuses requests without a User-Agent",
            ));
        }
        match r.idempotency_key() {
            None => {
                return Some(error(
                    400,
                    "invalid_idempotency_key",
                    "Nexus sends an Idempotency-Key on every email (this mock's rule)",
                ));
            }
            Some(key) if key.is_empty() || key.chars().count() > 256 => {
                return Some((400, errors::INVALID_IDEMPOTENCY_KEY.trim().to_owned()));
            }
            Some(_) => {}
        }
        if !r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
            || !r.body.is_object()
        {
            return Some(error(
                422,
                "validation_error",
                "The body must be a JSON object (this mock's wording)",
            ));
        }
        None
    }

    /// A send that is not a replay: 422 for a missing required field, else the documented
    /// answer (the first email gets the documented id, later ones ids of the same form).
    fn send(&self, r: &Recorded) -> (u16, String) {
        for field in ["from", "to", "subject"] {
            let present = match &r.body[field] {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            };
            if !present {
                return (
                    422,
                    error_body(
                        422,
                        "missing_required_field",
                        &format!("Missing `{field}` field."),
                    ),
                );
            }
        }
        let mut sent: Value = serde_json::from_str(SENT).unwrap();
        let mut state = self.state();
        let id = match state.sent.len() {
            0 => sent["id"].as_str().unwrap().to_owned(),
            n => uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("resend-mock-{n}").as_bytes(),
            )
            .to_string(),
        };
        state.sent.push((id.clone(), r.body.clone()));
        sent["id"] = json!(id);
        (200, sent.to_string())
    }
}

/// An answer with the headers every recorded Resend answer has.
fn answer(status: u16, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json; charset=utf-8")
        .header("ratelimit-limit", "10")
        .header("ratelimit-policy", "10;w=1")
        .header("ratelimit-remaining", "9")
        .header("ratelimit-reset", "1")
        .body(body)
}

/// `{statusCode, message, name}`, in the recorded key order.
fn error_body(status: u16, name: &str, message: &str) -> String {
    format!(
        "{{\"statusCode\":{status},\"message\":{},\"name\":{}}}",
        json!(message),
        json!(name)
    )
}

fn error(status: u16, name: &str, message: &str) -> (u16, String) {
    (status, error_body(status, name, message))
}
