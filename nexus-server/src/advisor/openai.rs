//! A small client of OpenAI's Chat Completions API (`POST {base}/chat/completions`), which
//! many OpenAI-compatible servers also serve (point the base at their `…/v1`).
//!
//! One request per question: the system and user messages, structured output with the
//! verdict's JSON schema (`response_format: {"type": "json_schema", "json_schema": {name,
//! strict: true, schema}}`) and `max_completion_tokens`, with `Authorization: Bearer
//! <key>`, `User-Agent: nexus/<version>` and the configured timeout. It reads
//! `choices[0].message.content` (the verdict JSON) or `.refusal`, `usage.prompt_tokens`
//! / `completion_tokens` and `model`. The wire shapes are those of `test_data/llm/`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use nexus_core::Secret;
use serde::{Deserialize, Serialize};

use super::prompt::Prompt;
use super::provider::{
    LlmProvider, ProviderAnswer, ProviderFailure, ProviderSetupError, SCHEMA_NAME, TokenUsage,
    client, read_verdict, scrub, status_failure, transport, verdict_schema,
};

/// The most tokens an answer may use, reasoning included (a verdict is ~50 tokens; the
/// rest is room for a reasoning model's thinking).
pub const MAX_COMPLETION_TOKENS: u32 = 2_000;

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    response_format: serde_json::Value,
    max_completion_tokens: u32,
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
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// A client of the Chat Completions API for one key and model. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    key: Secret,
    model: String,
    timeout: Duration,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.model)
            .field("key", &"REDACTED")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiClient {
    /// A client of `{base}/chat/completions` (`base` like `https://api.openai.com/v1`)
    /// asking `model` with `key`; a call taking longer than `timeout` is a
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
        let (http, endpoint) = client("openai", base, "/chat/completions", key.expose(), timeout)?;
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
            messages: [
                Message {
                    role: "system",
                    content: &prompt.system,
                },
                Message {
                    role: "user",
                    content: &prompt.user,
                },
            ],
            response_format: serde_json::json!({
                "type": "json_schema",
                "json_schema": {
                    "name": SCHEMA_NAME,
                    "strict": true,
                    "schema": verdict_schema(),
                }
            }),
            max_completion_tokens: MAX_COMPLETION_TOKENS,
        };
        serde_json::to_string(&request).unwrap_or_default()
    }
}

#[async_trait]
impl LlmProvider for OpenAiClient {
    fn name(&self) -> &'static str {
        "openai"
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
            .bearer_auth(self.key.expose())
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
        .map_err(|e| unreadable(format!("not a chat completion: {e}"), None))?;
    let usage = response.usage.map(|u| TokenUsage {
        input: u.prompt_tokens,
        output: u.completion_tokens,
    });
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(unreadable("no choices".to_owned(), usage));
    };
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
        return Err(ProviderFailure::Refused {
            reason: refusal,
            usage,
            response_json,
        });
    }
    let Some(content) = choice.message.content else {
        return Err(unreadable("no content".to_owned(), usage));
    };
    let (verdict, confidence, reason) = read_verdict(&content).map_err(|e| {
        let cut = if choice.finish_reason.as_deref() == Some("length") {
            " (cut off at the token limit)"
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

    fn with_content(content: &str) -> String {
        let mut json: Value =
            serde_json::from_str(&file("openai_structured_response.json")).unwrap();
        json["choices"][0]["message"]["content"] = Value::from(content);
        json.to_string()
    }

    #[test]
    fn the_request_is_a_documented_chat_completion_with_a_strict_schema() {
        let client = OpenAiClient::new(
            "https://api.openai.com/v1/",
            Secret::new("sk-test-key"),
            "gpt-5.6-luna",
            Duration::from_secs(8),
        )
        .unwrap();
        assert_eq!(
            client.endpoint(),
            "https://api.openai.com/v1/chat/completions"
        );
        let body: Value =
            serde_json::from_str(&client.request_json(&Prompt::new("sys", "usr"))).unwrap();
        let documented: Value =
            serde_json::from_str(&file("openai_chat_request_documented.json")).unwrap();
        // The documented fields, with our values.
        for key in documented.as_object().unwrap().keys() {
            assert!(body.get(key).is_some(), "{key} in {body}");
        }
        assert_eq!(body["model"], "gpt-5.6-luna");
        assert_eq!(
            body["messages"][0],
            serde_json::json!({"role": "system", "content": "sys"})
        );
        assert_eq!(
            body["messages"][1],
            serde_json::json!({"role": "user", "content": "usr"})
        );
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(body["response_format"]["json_schema"]["name"], SCHEMA_NAME);
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["required"],
            serde_json::json!(["verdict", "confidence", "reason"])
        );
        assert!(!format!("{client:?}").contains("sk-test-key"));
    }

    #[test]
    fn documented_answers_are_read() {
        let answer = read_answer(
            "m",
            String::new(),
            with_content(r#"{"verdict":"block","confidence":0.9,"reason":"Falling knife."}"#),
        )
        .unwrap();
        assert_eq!(answer.verdict, AdvisorVerdict::Block);
        assert_eq!(answer.reason, "Falling knife.");
        // The recorded usage: 79 prompt and 14 completion tokens, from gpt-4o-2024-08-06.
        assert_eq!(
            answer.usage,
            TokenUsage {
                input: 79,
                output: 14
            }
        );
        assert_eq!(answer.model, "gpt-4o-2024-08-06");

        // The recorded structured answer is JSON, but not a verdict.
        let err =
            read_answer("m", String::new(), file("openai_structured_response.json")).unwrap_err();
        assert_eq!(err.kind(), "unreadable");
        assert_eq!(
            err.usage(),
            Some(TokenUsage {
                input: 79,
                output: 14
            })
        );

        let err =
            read_answer("m", String::new(), file("openai_refusal_response.json")).unwrap_err();
        assert_eq!(
            err,
            ProviderFailure::Refused {
                reason: "I'm very sorry, but I can't assist with that.".to_owned(),
                usage: Some(TokenUsage {
                    input: 79,
                    output: 12
                }),
                response_json: file("openai_refusal_response.json"),
            }
        );

        let err = read_answer("m", String::new(), file("openai_length_response.json")).unwrap_err();
        assert!(err.to_string().contains("cut off"), "{err}");
        assert_eq!(
            err.usage(),
            Some(TokenUsage {
                input: 79,
                output: 1
            })
        );

        // The documented plain answer is text, not JSON.
        let err = read_answer(
            "m",
            String::new(),
            file("openai_chat_response_documented.json"),
        )
        .unwrap_err();
        assert_eq!(
            err.usage(),
            Some(TokenUsage {
                input: 19,
                output: 10
            })
        );
        assert_eq!(
            read_answer("m", String::new(), "<html>".to_owned())
                .unwrap_err()
                .usage(),
            None
        );
    }
}
