//! Local OpenAI and Anthropic servers for the advisor tests: poem on loopback answering
//! `POST /v1/chat/completions` (OpenAI, base `<url>/v1`) or `POST /v1/messages`
//! (Anthropic, base `<url>`) in the documented JSON of `test_data/llm/` (its README says
//! where each shape comes from).
//!
//! They check what the real APIs check: OpenAI `Authorization: Bearer <key>` (401
//! `invalid_api_key`, whose message echoes the key presented, as OpenAI's does in part);
//! Anthropic `x-api-key` (401 `authentication_error`) and `anthropic-version: 2023-06-01`
//! (400 `invalid_request_error`); a JSON body with the required fields (`model` and
//! `messages`; Anthropic also `max_tokens`). Every request is recorded. By default they
//! answer the verdict `allow`; a test scripts the answers to the next requests: a status
//! with a documented error body and headers (500, 429 with `retry-after`, 529), an
//! unreadable content, a refusal, a verdict, or a delay.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use nexus_exchanges::mock::serve;
use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{Value, json};

/// The documented bodies the servers answer with.
pub mod files {
    /// OpenAI: a recorded structured-output answer (the envelope of every answer).
    pub const OPENAI_STRUCTURED: &str =
        include_str!("../../../test_data/llm/openai_structured_response.json");
    /// OpenAI: a recorded refusal.
    pub const OPENAI_REFUSAL: &str =
        include_str!("../../../test_data/llm/openai_refusal_response.json");
    /// OpenAI: a 429 body.
    pub const OPENAI_RATE_LIMIT: &str =
        include_str!("../../../test_data/llm/openai_error_rate_limit.json");
    /// OpenAI: a 500 body.
    pub const OPENAI_SERVER: &str = include_str!("../../../test_data/llm/openai_error_server.json");
    /// OpenAI: a 401 body.
    pub const OPENAI_INVALID_KEY: &str =
        include_str!("../../../test_data/llm/openai_error_invalid_api_key.json");
    /// Anthropic: a recorded structured-output answer (the envelope of every answer).
    pub const ANTHROPIC_STRUCTURED: &str =
        include_str!("../../../test_data/llm/anthropic_structured_response.json");
    /// Anthropic: a refusal.
    pub const ANTHROPIC_REFUSAL: &str =
        include_str!("../../../test_data/llm/anthropic_refusal_response.json");
    /// Anthropic: a 529 body.
    pub const ANTHROPIC_OVERLOADED: &str =
        include_str!("../../../test_data/llm/anthropic_error_overloaded.json");
    /// Anthropic: a 429 body.
    pub const ANTHROPIC_RATE_LIMIT: &str =
        include_str!("../../../test_data/llm/anthropic_error_rate_limit.json");
    /// Anthropic: a 500 body.
    pub const ANTHROPIC_API_ERROR: &str =
        include_str!("../../../test_data/llm/anthropic_error_api.json");
    /// Anthropic: a 401 body.
    pub const ANTHROPIC_AUTHENTICATION: &str =
        include_str!("../../../test_data/llm/anthropic_error_authentication.json");

    /// A file as JSON.
    pub fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }
}

/// Which API a server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OpenAI's Chat Completions.
    OpenAi,
    /// Anthropic's Messages.
    Anthropic,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, …
    pub method: String,
    /// The path.
    pub path: String,
    /// Every header, names in lower case.
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
}

/// An answer to the next request, instead of the default verdict.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// `status` with the JSON `body` and extra headers (`retry-after`, …).
    Status {
        /// The HTTP status.
        status: u16,
        /// The body (one of [`files`]).
        body: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// 200 with the documented envelope and this text as the model's content.
    Content(String),
    /// 200 with the documented refusal.
    Refusal,
    /// Waits this long, then answers the default verdict.
    Delay(Duration),
}

impl Scripted {
    /// `status` with `body` and no extra headers.
    pub fn status(status: u16, body: &str) -> Self {
        Self::Status {
            status,
            body: body.to_owned(),
            headers: Vec::new(),
        }
    }

    /// `status` with `body` and a `retry-after` header.
    pub fn status_retry_after(status: u16, body: &str, retry_after: &str) -> Self {
        Self::Status {
            status,
            body: body.to_owned(),
            headers: vec![("retry-after".to_owned(), retry_after.to_owned())],
        }
    }

    /// A verdict's JSON as the model's content.
    pub fn verdict(verdict: &str, confidence: f64, reason: &str) -> Self {
        Self::Content(
            json!({"verdict": verdict, "confidence": confidence, "reason": reason}).to_string(),
        )
    }
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    scripted: VecDeque<Scripted>,
}

/// A local OpenAI or Anthropic.
#[derive(Debug)]
pub struct LlmMock {
    flavor: Flavor,
    key: String,
    url: OnceLock<String>,
    state: Mutex<State>,
}

impl LlmMock {
    /// Starts a server playing `flavor` that accepts the API key `key`.
    pub async fn start(flavor: Flavor, key: &str) -> Arc<Self> {
        let mock = Arc::new(Self {
            flavor,
            key: key.to_owned(),
            url: OnceLock::new(),
            state: Mutex::new(State::default()),
        });
        let handler = Arc::clone(&mock);
        let url = serve(poem::endpoint::make(move |mut req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let body = req.take_body().into_vec().await.unwrap_or_default();
                mock.handle(&req, &body).await
            }
        }))
        .await;
        mock.url.set(url).unwrap();
        mock
    }

    /// The base URL to give the client (`<url>/v1` for OpenAI, `<url>` for Anthropic).
    pub fn base(&self) -> String {
        let url = self.url.get().cloned().unwrap();
        match self.flavor {
            Flavor::OpenAi => format!("{url}/v1"),
            Flavor::Anthropic => url,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Answers the next request with `answer` (answers queue up, in order).
    pub fn script(&self, answer: Scripted) {
        self.state().scripted.push_back(answer);
    }

    async fn handle(&self, req: &Request, raw: &[u8]) -> Response {
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
        let scripted = {
            let mut state = self.state();
            state.requests.push(recorded.clone());
            state.scripted.pop_front()
        };
        if let Some(refused) = self.refuse(&recorded) {
            return refused;
        }
        match scripted {
            Some(Scripted::Status {
                status,
                body,
                headers,
            }) => {
                let mut response = answer(status, body);
                for (name, value) in headers {
                    response.headers_mut().insert(
                        poem::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value.parse().unwrap(),
                    );
                }
                response
            }
            Some(Scripted::Content(text)) => answer(200, self.envelope(&text)),
            Some(Scripted::Refusal) => answer(
                200,
                match self.flavor {
                    Flavor::OpenAi => files::OPENAI_REFUSAL,
                    Flavor::Anthropic => files::ANTHROPIC_REFUSAL,
                }
                .to_owned(),
            ),
            Some(Scripted::Delay(wait)) => {
                tokio::time::sleep(wait).await;
                answer(200, self.envelope(&default_verdict()))
            }
            None => answer(200, self.envelope(&default_verdict())),
        }
    }

    /// The documented answer with `text` as the model's content.
    fn envelope(&self, text: &str) -> String {
        match self.flavor {
            Flavor::OpenAi => {
                let mut body = files::json(files::OPENAI_STRUCTURED);
                body["choices"][0]["message"]["content"] = json!(text);
                body.to_string()
            }
            Flavor::Anthropic => {
                let mut body = files::json(files::ANTHROPIC_STRUCTURED);
                body["content"][0]["text"] = json!(text);
                body.to_string()
            }
        }
    }

    /// What the real API refuses.
    fn refuse(&self, r: &Recorded) -> Option<Response> {
        let (path, version) = match self.flavor {
            Flavor::OpenAi => ("/v1/chat/completions", None),
            Flavor::Anthropic => ("/v1/messages", Some("2023-06-01")),
        };
        if (r.method.as_str(), r.path.as_str()) != ("POST", path) {
            return Some(answer(
                404,
                error_body(self.flavor, "not_found_error", "Not found"),
            ));
        }
        match self.flavor {
            Flavor::OpenAi => {
                let presented = r
                    .header("authorization")
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .unwrap_or_default();
                if presented != self.key {
                    let mut body = files::json(files::OPENAI_INVALID_KEY);
                    body["error"]["message"] =
                        json!(format!("Incorrect API key provided: {presented}."));
                    return Some(answer(401, body.to_string()));
                }
            }
            Flavor::Anthropic => {
                if r.header("x-api-key") != Some(self.key.as_str()) {
                    return Some(answer(401, files::ANTHROPIC_AUTHENTICATION.to_owned()));
                }
                if r.header("anthropic-version") != version {
                    return Some(answer(
                        400,
                        error_body(
                            self.flavor,
                            "invalid_request_error",
                            "anthropic-version: header is required",
                        ),
                    ));
                }
            }
        }
        let mut required = vec!["model", "messages"];
        if self.flavor == Flavor::Anthropic {
            required.push("max_tokens");
        }
        let json_type = r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"));
        if !json_type || required.iter().any(|f| r.body.get(f).is_none()) {
            return Some(answer(
                400,
                error_body(
                    self.flavor,
                    "invalid_request_error",
                    "the body lacks a required field (this mock's wording)",
                ),
            ));
        }
        None
    }
}

fn default_verdict() -> String {
    json!({"verdict": "allow", "confidence": 0.6, "reason": "No objection."}).to_string()
}

fn answer(status: u16, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(body)
}

/// An error body in the flavor's documented shape.
fn error_body(flavor: Flavor, kind: &str, message: &str) -> String {
    match flavor {
        Flavor::OpenAi => {
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Flavor::Anthropic => json!({
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_mock"
        }),
    }
    .to_string()
}
