//! A small client of Anthropic's Messages API (`POST {base}/v1/messages`).
//!
//! One request per question: `model`, `max_tokens`, the system message as `system`, the
//! user message, and structured output (`output_config: {"format": {"type":
//! "json_schema", "schema": …}}`, generally available for Claude Haiku 4.5 and later; the
//! system message also asks for the JSON object only, for models without it). Headers:
//! `x-api-key`, `anthropic-version: 2023-06-01`, `User-Agent: nexus/<version>`; the
//! configured timeout. No assistant prefill: it cannot be combined with structured output.
//!
//! It reads the `text` content blocks (the verdict JSON), `stop_reason` (`refusal` is a
//! refusal), `usage.input_tokens` / `output_tokens` and `model`. The wire shapes are
//! those of `test_data/llm/`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use nexus_core::Secret;
use serde::{Deserialize, Serialize};

use super::prompt::Prompt;
use super::provider::{
    LlmProvider, ProviderAnswer, ProviderFailure, ProviderSetupError, TokenUsage, client,
    read_verdict, scrub, status_failure, transport, verdict_schema,
};

/// The API version every request names.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The most tokens an answer may use (a verdict is ~50).
pub const MAX_TOKENS: u32 = 1_000;

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    max_tokens: u32,
    system: &'a str,
    messages: [Message<'a>; 1],
    output_config: serde_json::Value,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Response {
    model: Option<String>,
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
    stop_details: Option<StopDetails>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct StopDetails {
    category: Option<String>,
    explanation: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
}

/// A client of the Messages API for one key and model. Cheap to clone.
#[derive(Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    key: Secret,
    model: String,
    timeout: Duration,
}

impl fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.model)
            .field("key", &"REDACTED")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AnthropicClient {
    /// A client of `{base}/v1/messages` (`base` like `https://api.anthropic.com`) asking
    /// `model` with `key`; a call taking longer than `timeout` is a
    /// [`ProviderFailure::Timeout`]. Redirects are not followed.
    ///
    /// # Errors
    /// [`ProviderSetupError`] for an unusable base or key, or no HTTP client.
    pub fn new(
        base: &str,
        key: Secret,
        model: &str,
        timeout: Duration,
    ) -> Result<Self, ProviderSetupError> {
        let (http, endpoint) = client("anthropic", base, "/v1/messages", key.expose(), timeout)?;
        Ok(Self {
            http,
            endpoint,
            key,
            model: model.to_owned(),
            timeout,
        })
    }

    /// The URL requests go to.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    fn body(&self, prompt: &Prompt) -> String {
        let request = Request {
            model: &self.model,
            max_tokens: MAX_TOKENS,
            system: &prompt.system,
            messages: [Message {
                role: "user",
                content: &prompt.user,
            }],
            output_config: serde_json::json!({
                "format": {"type": "json_schema", "schema": verdict_schema()}
            }),
        };
        serde_json::to_string(&request).unwrap_or_default()
    }
}

#[async_trait]
impl LlmProvider for AnthropicClient {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn request_json(&self, prompt: &Prompt) -> String {
        self.body(prompt)
    }

    async fn ask(&self, prompt: &Prompt) -> Result<ProviderAnswer, ProviderFailure> {
        let request_json = self.body(prompt);
        let response = self
            .http
            .post(self.endpoint.clone())
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request_json.clone())
            .send()
            .await
            .map_err(|e| transport(&e, self.timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport(&e, self.timeout))?;
        if !status.is_success() {
            return Err(status_failure(status, &headers, &body, self.key.expose()));
        }
        let response_json = scrub(&String::from_utf8_lossy(&body), self.key.expose());
        read_answer(&self.model, request_json, response_json)
    }
}

/// A 2xx answer read: the verdict, a refusal, or unreadable.
fn read_answer(
    asked: &str,
    request_json: String,
    response_json: String,
) -> Result<ProviderAnswer, ProviderFailure> {
    let unreadable = |message: String, usage| ProviderFailure::Unreadable {
        message,
        usage,
        response_json: response_json.clone(),
    };
    let response: Response = serde_json::from_str(&response_json)
        .map_err(|e| unreadable(format!("not a message: {e}"), None))?;
    let usage = response.usage.map(|u| TokenUsage {
        input: u.input_tokens,
        output: u.output_tokens,
    });
    if response.stop_reason.as_deref() == Some("refusal") {
        let details = response.stop_details;
        let reason = details
            .as_ref()
            .and_then(|d| d.explanation.clone())
            .or_else(|| {
                details
                    .and_then(|d| d.category)
                    .map(|c| format!("refused (category {c})"))
            })
            .unwrap_or_else(|| "refused (stop_reason refusal, no explanation)".to_owned());
        return Err(ProviderFailure::Refused {
            reason,
            usage,
            response_json,
        });
    }
    let text: String = response
        .content
        .iter()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text.as_deref())
        .collect();
    if text.trim().is_empty() {
        return Err(unreadable(
            format!(
                "no text (stop_reason {})",
                response.stop_reason.as_deref().unwrap_or("none")
            ),
            usage,
        ));
    }
    let (verdict, confidence, reason) = read_verdict(&text).map_err(|e| {
        let cut = if response.stop_reason.as_deref() == Some("max_tokens") {
            " (cut off at max_tokens)"
        } else {
            ""
        };
        unreadable(format!("{e}{cut}"), usage)
    })?;
    Ok(ProviderAnswer {
        verdict,
        confidence,
        reason,
        usage: usage.unwrap_or_default(),
        model: response.model.unwrap_or_else(|| asked.to_owned()),
        request_json,
        response_json,
    })
}

#[cfg(test)]
mod tests {
    use nexus_core::regime::advisor::AdvisorVerdict;
    use serde_json::Value;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/llm/");

    fn file(name: &str) -> String {
        std::fs::read_to_string(format!("{DATA}{name}")).unwrap()
    }

    fn with_text(text: &str) -> String {
        let mut json: Value =
            serde_json::from_str(&file("anthropic_structured_response.json")).unwrap();
        json["content"][0]["text"] = Value::from(text);
        json.to_string()
    }

    #[test]
    fn the_request_has_the_documented_fields() {
        let client = AnthropicClient::new(
            "https://api.anthropic.com",
            Secret::new("sk-ant-test"),
            "claude-haiku-4-5",
            Duration::from_secs(8),
        )
        .unwrap();
        assert_eq!(client.endpoint(), "https://api.anthropic.com/v1/messages");
        let body: Value =
            serde_json::from_str(&client.request_json(&Prompt::new("sys", "usr"))).unwrap();
        let documented: Value =
            serde_json::from_str(&file("anthropic_structured_request.json")).unwrap();
        for key in documented.as_object().unwrap().keys() {
            assert!(body.get(key).is_some(), "{key} in {body}");
        }
        assert_eq!(body["system"], "sys");
        assert_eq!(
            body["messages"],
            serde_json::json!([{"role": "user", "content": "usr"}])
        );
        assert_eq!(
            body["output_config"]["format"]["type"],
            documented["output_config"]["format"]["type"]
        );
        assert_eq!(
            body["output_config"]["format"]["schema"]["additionalProperties"],
            false
        );
        assert!(!format!("{client:?}").contains("sk-ant-test"));
    }

    #[test]
    fn documented_answers_are_read() {
        let answer = read_answer(
            "claude-haiku-4-5",
            String::new(),
            with_text(r#"{"verdict":"allow","confidence":0.55,"reason":"Trend intact."}"#),
        )
        .unwrap();
        assert_eq!(answer.verdict, AdvisorVerdict::Allow);
        assert_eq!(answer.confidence.to_string(), "0.55");
        // The recorded usage: 406 input and 50 output tokens, from a dated snapshot.
        assert_eq!(
            answer.usage,
            TokenUsage {
                input: 406,
                output: 50
            }
        );
        assert_eq!(answer.model, "claude-sonnet-4-5-20250929");

        let err = read_answer(
            "m",
            String::new(),
            file("anthropic_structured_response.json"),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "unreadable");
        assert_eq!(
            err.usage(),
            Some(TokenUsage {
                input: 406,
                output: 50
            })
        );

        let err =
            read_answer("m", String::new(), file("anthropic_refusal_response.json")).unwrap_err();
        assert_eq!(err.kind(), "refused");
        assert_eq!(
            err.usage(),
            Some(TokenUsage {
                input: 28,
                output: 5
            })
        );
        assert!(!err.falls_back());
    }
}
