//! The advisor's OpenAI and Anthropic clients against the local servers
//! (`support::llm`): a `block` read with its usage and the headers each API requires;
//! every failure kind (500, 429 with `Retry-After` in seconds and as a date, 529, 503,
//! an unreadable content, a refusal, a wrong key, a timeout, no server) mapped; and the
//! API key in no `Debug` or error text. Expected usages come from `test_data/llm/`.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::Secret;
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_server::advisor::anthropic::AnthropicClient;
use nexus_server::advisor::openai::OpenAiClient;
use nexus_server::advisor::prompt::Prompt;
use nexus_server::advisor::provider::{LlmProvider, ProviderFailure, TokenUsage, USER_AGENT};
use rust_decimal::Decimal;

use crate::support::llm::{Flavor, LlmMock, Scripted, files};

const OPENAI_KEY: &str = "sk-proj-MockKeyForNexusTests-0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-api03-MockKeyForNexusTests-0123456789";

fn prompt() -> Prompt {
    Prompt::new("system text", "user text")
}

/// The `usage` of a documented answer: `(input, output)` under the flavor's field names.
fn documented_usage(flavor: Flavor) -> TokenUsage {
    let (body, input, output) = match flavor {
        Flavor::OpenAi => (
            files::json(files::OPENAI_STRUCTURED),
            "/usage/prompt_tokens",
            "/usage/completion_tokens",
        ),
        Flavor::Anthropic => (
            files::json(files::ANTHROPIC_STRUCTURED),
            "/usage/input_tokens",
            "/usage/output_tokens",
        ),
    };
    TokenUsage {
        input: body.pointer(input).unwrap().as_u64().unwrap(),
        output: body.pointer(output).unwrap().as_u64().unwrap(),
    }
}

fn refusal_usage(flavor: Flavor) -> TokenUsage {
    let (body, input, output) = match flavor {
        Flavor::OpenAi => (
            files::json(files::OPENAI_REFUSAL),
            "/usage/prompt_tokens",
            "/usage/completion_tokens",
        ),
        Flavor::Anthropic => (
            files::json(files::ANTHROPIC_REFUSAL),
            "/usage/input_tokens",
            "/usage/output_tokens",
        ),
    };
    TokenUsage {
        input: body.pointer(input).unwrap().as_u64().unwrap(),
        output: body.pointer(output).unwrap().as_u64().unwrap(),
    }
}

fn key(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::OpenAi => OPENAI_KEY,
        Flavor::Anthropic => ANTHROPIC_KEY,
    }
}

fn make_client(flavor: Flavor, base: &str, key: &str, timeout: Duration) -> Arc<dyn LlmProvider> {
    match flavor {
        Flavor::OpenAi => {
            Arc::new(OpenAiClient::new(base, Secret::new(key), "gpt-5.6-luna", timeout).unwrap())
        }
        Flavor::Anthropic => Arc::new(
            AnthropicClient::new(base, Secret::new(key), "claude-haiku-4-5", timeout).unwrap(),
        ),
    }
}

async fn started(flavor: Flavor) -> (Arc<LlmMock>, Arc<dyn LlmProvider>) {
    let mock = LlmMock::start(flavor, key(flavor)).await;
    let client = make_client(flavor, &mock.base(), key(flavor), Duration::from_secs(8));
    (mock, client)
}

/// Errors and their `Debug` must never show a key.
fn assert_hidden(text: &str) {
    for key in [OPENAI_KEY, ANTHROPIC_KEY] {
        assert!(!text.contains(key), "a key in: {text}");
    }
}

#[tokio::test]
async fn a_block_is_read_with_its_usage_and_the_documented_headers() {
    for flavor in [Flavor::OpenAi, Flavor::Anthropic] {
        let (mock, client) = started(flavor).await;
        mock.script(Scripted::verdict("block", 0.8, "A crash is under way."));
        let answer = client.ask(&prompt()).await.unwrap();
        assert_eq!(answer.verdict, AdvisorVerdict::Block, "{flavor:?}");
        assert_eq!(answer.confidence, Decimal::new(8, 1));
        assert_eq!(answer.reason, "A crash is under way.");
        assert_eq!(answer.usage, documented_usage(flavor), "{flavor:?}");
        assert!(answer.response_json.contains("A crash is under way."));
        assert_hidden(&format!("{answer:?}"));
        assert_hidden(&answer.request_json);

        let requests = mock.requests();
        assert_eq!(requests.len(), 1);
        let sent = &requests[0];
        assert_eq!(sent.header("user-agent"), Some(USER_AGENT));
        assert_eq!(
            sent.body,
            answer.request_json.parse::<serde_json::Value>().unwrap()
        );
        match flavor {
            Flavor::OpenAi => {
                assert_eq!(sent.path, "/v1/chat/completions");
                assert_eq!(
                    sent.header("authorization"),
                    Some(format!("Bearer {OPENAI_KEY}").as_str())
                );
                assert_eq!(sent.body["model"], "gpt-5.6-luna");
                assert_eq!(sent.body["messages"][0]["content"], "system text");
                assert_eq!(sent.body["messages"][1]["content"], "user text");
                assert_eq!(sent.body["response_format"]["json_schema"]["strict"], true);
                assert_eq!(
                    answer.model,
                    files::json(files::OPENAI_STRUCTURED)["model"]
                        .as_str()
                        .unwrap()
                );
            }
            Flavor::Anthropic => {
                assert_eq!(sent.path, "/v1/messages");
                assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
                assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(sent.header("authorization"), None);
                assert_eq!(sent.body["model"], "claude-haiku-4-5");
                assert_eq!(sent.body["system"], "system text");
                assert_eq!(sent.body["messages"][0]["content"], "user text");
                assert!(sent.body["max_tokens"].as_u64().unwrap() > 0);
                assert_eq!(sent.body["output_config"]["format"]["type"], "json_schema");
                assert_eq!(
                    answer.model,
                    files::json(files::ANTHROPIC_STRUCTURED)["model"]
                        .as_str()
                        .unwrap()
                );
            }
        }

        // Unscripted, the servers answer allow: the verdict is read, not assumed.
        let allow = client.ask(&prompt()).await.unwrap();
        assert_eq!(allow.verdict, AdvisorVerdict::Allow);
    }
}

#[tokio::test]
async fn every_failure_is_mapped_and_no_text_shows_a_key() {
    for flavor in [Flavor::OpenAi, Flavor::Anthropic] {
        let (mock, client) = started(flavor).await;
        let (server_body, rate_body) = match flavor {
            Flavor::OpenAi => (files::OPENAI_SERVER, files::OPENAI_RATE_LIMIT),
            Flavor::Anthropic => (files::ANTHROPIC_API_ERROR, files::ANTHROPIC_RATE_LIMIT),
        };
        let mut shown = vec![format!("{client:?}")];
        let failure = |scripted: Scripted| {
            let mock = Arc::clone(&mock);
            let client = Arc::clone(&client);
            async move {
                mock.script(scripted);
                client.ask(&prompt()).await.unwrap_err()
            }
        };

        let err = failure(Scripted::status(500, server_body)).await;
        let message = files::json(server_body)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            err,
            ProviderFailure::Server {
                status: 500,
                message
            },
            "{flavor:?}"
        );
        assert!(err.falls_back());
        shown.push(format!("{err} {err:?}"));

        let err = failure(Scripted::status_retry_after(429, rate_body, "3")).await;
        assert_eq!(
            err,
            ProviderFailure::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        shown.push(format!("{err} {err:?}"));

        // An HTTP date about a minute ahead.
        let at = chrono::Utc::now() + chrono::Duration::seconds(61);
        let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let err = failure(Scripted::status_retry_after(429, rate_body, &date)).await;
        let wait = err.retry_after().unwrap();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(61),
            "{wait:?}"
        );

        let err = failure(Scripted::status_retry_after(
            529,
            files::ANTHROPIC_OVERLOADED,
            "2",
        ))
        .await;
        assert_eq!(
            err,
            ProviderFailure::Overloaded {
                status: 529,
                retry_after: Some(Duration::from_secs(2))
            }
        );
        let err = failure(Scripted::status(503, server_body)).await;
        assert_eq!(
            err,
            ProviderFailure::Overloaded {
                status: 503,
                retry_after: None
            }
        );
        shown.push(format!("{err} {err:?}"));

        let err = failure(Scripted::Content("I think you should buy.".to_owned())).await;
        assert_eq!(err.kind(), "unreadable", "{err}");
        assert_eq!(
            err.usage(),
            Some(documented_usage(flavor)),
            "the cost is still known"
        );
        assert!(err.falls_back());
        shown.push(format!("{err} {err:?}"));
        let err = failure(Scripted::verdict("maybe", 0.5, "?")).await;
        assert_eq!(err.kind(), "unreadable", "{err}");
        let err = failure(Scripted::verdict("block", 1.5, "sure")).await;
        assert_eq!(err.kind(), "unreadable", "{err}");

        let err = failure(Scripted::Refusal).await;
        let ProviderFailure::Refused { usage, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*usage, Some(refusal_usage(flavor)));
        assert!(!err.falls_back());
        shown.push(format!("{err} {err:?}"));

        // A wrong key: rejected, and the key the server echoes is not shown.
        let wrong_key = "sk-wrong-MockKeyForNexusTests-999";
        let wrong = make_client(flavor, &mock.base(), wrong_key, Duration::from_secs(8));
        let err = wrong.ask(&prompt()).await.unwrap_err();
        assert!(
            matches!(err, ProviderFailure::Rejected { status: 401, .. }),
            "{err:?}"
        );
        let text = format!("{err} {err:?} {wrong:?}");
        assert!(!text.contains(wrong_key), "{text}");
        shown.push(text);

        // Slower than the timeout.
        let slow = make_client(flavor, &mock.base(), key(flavor), Duration::from_secs(1));
        mock.script(Scripted::Delay(Duration::from_secs(3)));
        let err = slow.ask(&prompt()).await.unwrap_err();
        assert_eq!(
            err,
            ProviderFailure::Timeout {
                after: Duration::from_secs(1)
            }
        );
        shown.push(format!("{err} {err:?} {slow:?}"));

        // Nothing listening.
        let closed = make_client(
            flavor,
            "http://127.0.0.1:9",
            key(flavor),
            Duration::from_secs(2),
        );
        let err = closed.ask(&prompt()).await.unwrap_err();
        assert_eq!(err.kind(), "transport", "{err:?}");
        shown.push(format!("{err} {err:?}"));

        for text in &shown {
            assert_hidden(text);
        }
        // Every scripted answer reached the server with the right key (the wrong-key
        // request and the slow one included).
        assert!(mock.requests().len() >= 11, "{}", mock.requests().len());
    }
}
