//! What every LLM provider answers: [`ProviderAnswer`] or a [`ProviderFailure`], through
//! one [`LlmProvider`] trait, so the advisor can fall back from one provider to another
//! over `Arc<dyn LlmProvider>`. Also the pieces both HTTP clients share: the answer's JSON
//! schema, reading the verdict out of the model's text, the HTTP status of an error
//! answer mapped to a failure, and `Retry-After`.

use std::time::Duration;

use async_trait::async_trait;
use nexus_core::regime::advisor::AdvisorVerdict;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::prompt::Prompt;

/// The longest `Retry-After` taken as is: a larger (or absurd) value is cut to a day, so
/// adding it to a clock cannot overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `reason` kept from an answer, in characters (the rest is cut).
pub const MAX_REASON_CHARS: usize = 500;

/// The `User-Agent` of every request.
pub use crate::provider_http::USER_AGENT;

/// The name of the answer's schema (OpenAI's `json_schema.name`).
pub const SCHEMA_NAME: &str = "advisor_verdict";

/// Tokens a call used, from the provider's `usage` (OpenAI `prompt_tokens` /
/// `completion_tokens`, Anthropic `input_tokens` / `output_tokens`): what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    /// Input (prompt) tokens.
    pub input: u64,
    /// Output (completion) tokens, reasoning tokens included.
    pub output: u64,
}

/// A provider's readable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    /// Allow or block.
    pub verdict: AdvisorVerdict,
    /// 0–1, as the model said it (exactly: the JSON number's text as a decimal).
    pub confidence: Decimal,
    /// Why, in the model's words (at most [`MAX_REASON_CHARS`] characters).
    pub reason: String,
    /// Tokens used.
    pub usage: TokenUsage,
    /// The model that answered, as the provider names it (often a dated snapshot of the
    /// model asked for, e.g. `claude-haiku-4-5-20251001`).
    pub model: String,
    /// The request body sent (it never holds the API key, which travels in a header).
    pub request_json: String,
    /// The answer's body as received.
    pub response_json: String,
}

/// Why a provider gave no verdict.
///
/// [`ProviderFailure::falls_back`] says whether the fallback provider should be asked:
/// yes for everything but a refusal. A 4xx other than 429 ([`ProviderFailure::Rejected`]:
/// a wrong key, an unknown model, a request the provider will not take) falls back too:
/// it is a fault of *this* provider's configuration, which says nothing about the other
/// provider's key and model, and the gate is better served by its opinion; the failure is
/// still recorded, so the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderFailure {
    /// No answer within the configured timeout.
    #[error("no answer within {} ms", after.as_millis())]
    Timeout {
        /// The timeout.
        after: Duration,
    },
    /// 429: too many requests or tokens for the account.
    #[error("rate limited (HTTP 429){}", wait(*retry_after))]
    RateLimited {
        /// How long the provider asked to wait (`Retry-After`), at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// Anthropic's 529 `overloaded_error`, or a 503: the provider is busy for everyone.
    #[error("overloaded (HTTP {status}){}", wait(*retry_after))]
    Overloaded {
        /// 529 or 503.
        status: u16,
        /// How long the provider asked to wait (`Retry-After`), at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// Another 5xx: a fault on the provider's side.
    #[error("server error (HTTP {status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The error's `message`, or the start of the body.
        message: String,
    },
    /// A 4xx other than 429 (or an unexpected status): a wrong key (401/403), an unknown
    /// model (404), a request refused (400). Asking again will not change it.
    #[error("request rejected (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The error's `message` (the API key scrubbed), or the start of the body.
        message: String,
    },
    /// A 2xx answer without a verdict in the schema: cut off, not JSON, a verdict other
    /// than allow/block, a confidence outside 0–1. The tokens were still spent.
    #[error("unreadable answer: {message}")]
    Unreadable {
        /// What did not fit.
        message: String,
        /// Tokens used, when the answer said.
        usage: Option<TokenUsage>,
        /// The answer's body.
        response_json: String,
    },
    /// The model declined to answer (OpenAI `refusal`, Anthropic `stop_reason: refusal`).
    #[error("the model refused: {reason}")]
    Refused {
        /// The refusal's text, or a note that there was none.
        reason: String,
        /// Tokens used, when the answer said.
        usage: Option<TokenUsage>,
        /// The answer's body.
        response_json: String,
    },
    /// No answer: the connection failed or was lost.
    #[error("transport failure: {message}")]
    Transport {
        /// What went wrong (no URL, no key).
        message: String,
    },
}

fn wait(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(", retry after {} s", d.as_secs()))
}

/// Every outcome of a call as records and metrics name it: `answered`, then each
/// [`ProviderFailure::kind`].
pub const OUTCOMES: [&str; 9] = [
    "answered",
    "timeout",
    "rate_limited",
    "overloaded",
    "server_error",
    "rejected",
    "unreadable",
    "refused",
    "transport",
];

impl ProviderFailure {
    /// Whether the fallback provider should be asked: everything but a refusal (see the
    /// type's documentation).
    #[must_use]
    pub const fn falls_back(&self) -> bool {
        !matches!(self, Self::Refused { .. })
    }

    /// How long the provider asked to wait before it is asked again, when it said.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Overloaded { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Tokens the failed call still used (an unreadable answer or a refusal), so its cost
    /// is recorded.
    #[must_use]
    pub const fn usage(&self) -> Option<TokenUsage> {
        match self {
            Self::Unreadable { usage, .. } | Self::Refused { usage, .. } => *usage,
            _ => None,
        }
    }

    /// A stable name for records and metrics: `timeout`, `rate_limited`, `overloaded`,
    /// `server_error`, `rejected`, `unreadable`, `refused`, `transport`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded { .. } => "overloaded",
            Self::Server { .. } => "server_error",
            Self::Rejected { .. } => "rejected",
            Self::Unreadable { .. } => "unreadable",
            Self::Refused { .. } => "refused",
            Self::Transport { .. } => "transport",
        }
    }
}

/// A client could not be made from its settings.
#[derive(Debug, thiserror::Error)]
pub enum ProviderSetupError {
    /// The base URL is not an `http(s)` URL paths can be appended to.
    #[error("the {provider} base URL {base:?} is not usable: {reason}")]
    BadBase {
        /// `openai` or `anthropic`.
        provider: &'static str,
        /// The base given (cut short).
        base: String,
        /// Why.
        reason: &'static str,
    },
    /// The API key is empty or has characters a header cannot carry.
    #[error("the {provider} API key is not usable: it must be visible ASCII characters")]
    BadKey {
        /// `openai` or `anthropic`.
        provider: &'static str,
    },
    /// The HTTP client could not be built (no TLS roots).
    #[error("the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// A language model asked for a verdict. Implemented by the OpenAI and Anthropic clients;
/// the advisor holds them as `Arc<dyn LlmProvider>` for its fallback.
#[async_trait]
pub trait LlmProvider: Send + Sync + std::fmt::Debug {
    /// `openai` or `anthropic`.
    fn name(&self) -> &'static str;

    /// The model asked (as configured).
    fn model(&self) -> &str;

    /// The request body [`LlmProvider::ask`] sends for `prompt`, to record with a failure
    /// (it never holds the API key).
    fn request_json(&self, prompt: &Prompt) -> String;

    /// Asks once for a verdict on `prompt` (no retries: the caller falls back or waits).
    ///
    /// # Errors
    /// [`ProviderFailure`] when there is no verdict.
    async fn ask(&self, prompt: &Prompt) -> Result<ProviderAnswer, ProviderFailure>;
}

/// The JSON schema of the answer, for OpenAI's strict structured output and Anthropic's
/// `output_config.format`. Numeric bounds are not in it (strict modes do not support
/// them everywhere): the 0–1 range of `confidence` is checked when reading.
#[must_use]
pub fn verdict_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "verdict": {
                "type": "string",
                "enum": ["allow", "block"],
                "description": "block to stop the proposed trade; allow when you see no strong reason to stop it"
            },
            "confidence": {
                "type": "number",
                "description": "how sure you are, from 0 to 1"
            },
            "reason": {
                "type": "string",
                "description": "one or two sentences"
            }
        },
        "required": ["verdict", "confidence", "reason"],
        "additionalProperties": false
    })
}

#[derive(Deserialize)]
struct VerdictJson {
    verdict: String,
    confidence: serde_json::Number,
    reason: String,
}

/// Why a model's text is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// Not the verdict JSON (its start is kept).
    #[error("not the verdict JSON ({message}): {start:?}")]
    NotJson {
        /// What did not parse.
        message: String,
        /// The first 120 characters of the text.
        start: String,
    },
    /// A verdict other than allow or block.
    #[error("verdict {0:?} is neither allow nor block")]
    Verdict(String),
    /// A confidence that is not a decimal.
    #[error("confidence {0} is not a decimal")]
    NotDecimal(String),
    /// A confidence outside 0–1.
    #[error("confidence {0} is outside 0–1")]
    OutOfRange(String),
}

/// The verdict, confidence and reason in the model's `text` (JSON in the schema, maybe in
/// a Markdown code fence, as compatible servers without structured output answer).
///
/// # Errors
/// [`VerdictError`], saying what does not fit.
pub fn read_verdict(text: &str) -> Result<(AdvisorVerdict, Decimal, String), VerdictError> {
    let trimmed = text.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let parsed: VerdictJson =
        serde_json::from_str(unfenced).map_err(|e| VerdictError::NotJson {
            message: e.to_string(),
            start: unfenced.chars().take(120).collect(),
        })?;
    let verdict = match parsed.verdict.trim().to_ascii_lowercase().as_str() {
        "allow" => AdvisorVerdict::Allow,
        "block" => AdvisorVerdict::Block,
        other => return Err(VerdictError::Verdict(other.chars().take(40).collect())),
    };
    let number = parsed.confidence.to_string();
    let confidence = number
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&number))
        .map_err(|_| VerdictError::NotDecimal(number.clone()))?;
    if confidence < Decimal::ZERO || confidence > Decimal::ONE {
        return Err(VerdictError::OutOfRange(number));
    }
    let reason: String = parsed
        .reason
        .trim()
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    Ok((verdict, confidence.normalize(), reason))
}

/// `Retry-After` in whole seconds or as an HTTP date (RFC 9110), at most
/// [`MAX_RETRY_AFTER`]; a date in the past is zero.
#[must_use]
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let wait = (at.with_timezone(&chrono::Utc) - now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// `{"error": {"message": …}}`: the message of both providers' error bodies.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

/// A non-2xx answer as a failure, by status: 429 rate limited; 529 and 503 overloaded;
/// other 5xx server errors; everything else rejected. `key` is scrubbed from the message.
pub(crate) fn status_failure(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: &str,
) -> ProviderFailure {
    let code = status.as_u16();
    let after = || retry_after(headers, chrono::Utc::now());
    if code == 429 {
        return ProviderFailure::RateLimited {
            retry_after: after(),
        };
    }
    if code == 529 || code == 503 {
        return ProviderFailure::Overloaded {
            status: code,
            retry_after: after(),
        };
    }
    let message = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error.message)
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .chars()
                .take(300)
                .collect::<String>()
                .trim()
                .to_owned()
        });
    let message = scrub(&message, key);
    if status.is_server_error() {
        ProviderFailure::Server {
            status: code,
            message,
        }
    } else {
        ProviderFailure::Rejected {
            status: code,
            message,
        }
    }
}

/// `text` without `key` (a provider may echo a key it refused).
pub(crate) fn scrub(text: &str, key: &str) -> String {
    if key.is_empty() {
        text.to_owned()
    } else {
        text.replace(key, "REDACTED")
    }
}

/// A request that got no answer.
pub(crate) fn transport(e: &reqwest::Error, timeout: Duration) -> ProviderFailure {
    if e.is_timeout() {
        return ProviderFailure::Timeout { after: timeout };
    }
    let message = if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read"
    } else {
        "the connection failed"
    };
    ProviderFailure::Transport {
        message: message.to_owned(),
    }
}

/// Checks `base` and `key` and builds the HTTP client: the timeout, `User-Agent:
/// nexus/<version>`, no redirects (following one would send the key elsewhere).
pub(crate) fn client(
    provider: &'static str,
    base: &str,
    path: &str,
    key: &str,
    timeout: Duration,
) -> Result<(reqwest::Client, reqwest::Url), ProviderSetupError> {
    let bad = |reason| ProviderSetupError::BadBase {
        provider,
        base: base.chars().take(100).collect(),
        reason,
    };
    let url = crate::provider_http::api_base(base).map_err(bad)?;
    let endpoint = crate::provider_http::endpoint(&url, path).map_err(bad)?;
    if !crate::provider_http::header_safe(key) {
        return Err(ProviderSetupError::BadKey { provider });
    }
    let http = crate::provider_http::client(timeout, timeout.min(Duration::from_secs(5)))
        .map_err(ProviderSetupError::Client)?;
    Ok((http, endpoint))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn a_verdict_is_read_exactly_and_checked() {
        let (verdict, confidence, reason) =
            read_verdict(r#"{"verdict":"block","confidence":0.85,"reason":"Crash risk."}"#)
                .unwrap();
        assert_eq!(verdict, AdvisorVerdict::Block);
        assert_eq!(confidence, Decimal::new(85, 2));
        assert_eq!(reason, "Crash risk.");
        let fenced = "```json\n{\"verdict\":\"allow\",\"confidence\":1,\"reason\":\"ok\"}\n```";
        assert_eq!(read_verdict(fenced).unwrap().1, Decimal::ONE);
        for bad in [
            "{\"",
            r#"{"verdict":"maybe","confidence":0.5,"reason":"x"}"#,
            r#"{"verdict":"allow","confidence":1.5,"reason":"x"}"#,
            r#"{"verdict":"allow","confidence":-0.1,"reason":"x"}"#,
            r#"{"verdict":"allow","reason":"x"}"#,
        ] {
            assert!(read_verdict(bad).is_err(), "{bad}");
        }
        let long = format!(
            r#"{{"verdict":"allow","confidence":0.5,"reason":"{}"}}"#,
            "x".repeat(900)
        );
        assert_eq!(read_verdict(&long).unwrap().2.len(), MAX_REASON_CHARS);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-08-21T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Fri, 21 Aug 2026 10:01:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Fri, 21 Aug 2026 09:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn every_failure_kind_is_a_listed_outcome() {
        let text = String::new;
        let failures = [
            ProviderFailure::Timeout {
                after: Duration::from_secs(1),
            },
            ProviderFailure::RateLimited { retry_after: None },
            ProviderFailure::Overloaded {
                status: 529,
                retry_after: None,
            },
            ProviderFailure::Server {
                status: 500,
                message: text(),
            },
            ProviderFailure::Rejected {
                status: 400,
                message: text(),
            },
            ProviderFailure::Unreadable {
                message: text(),
                usage: None,
                response_json: text(),
            },
            ProviderFailure::Refused {
                reason: text(),
                usage: None,
                response_json: text(),
            },
            ProviderFailure::Transport { message: text() },
        ];
        let kinds: Vec<&str> = failures.iter().map(ProviderFailure::kind).collect();
        assert_eq!(OUTCOMES[0], "answered");
        assert_eq!(
            kinds,
            OUTCOMES[1..],
            "OUTCOMES lists each kind once, in order"
        );
    }

    #[test]
    fn statuses_map_to_failures_and_keys_are_scrubbed() {
        let none = HeaderMap::new();
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-secret-1"}}"#;
        let kind = |code: u16| {
            status_failure(
                StatusCode::from_u16(code).unwrap(),
                &none,
                body,
                "sk-secret-1",
            )
        };
        assert_eq!(kind(429).kind(), "rate_limited");
        assert_eq!(kind(529).kind(), "overloaded");
        assert_eq!(kind(503).kind(), "overloaded");
        assert_eq!(kind(500).kind(), "server_error");
        assert_eq!(kind(401).kind(), "rejected");
        let shown = kind(401).to_string();
        assert!(!shown.contains("sk-secret-1"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        assert!(kind(500).falls_back() && kind(401).falls_back());
        let refused = ProviderFailure::Refused {
            reason: "no".to_owned(),
            usage: Some(TokenUsage {
                input: 1,
                output: 2,
            }),
            response_json: String::new(),
        };
        assert!(!refused.falls_back());
        assert_eq!(
            refused.usage(),
            Some(TokenUsage {
                input: 1,
                output: 2
            })
        );
    }
}
