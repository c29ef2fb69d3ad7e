//! A small Resend client on `reqwest`: one call, `POST /emails`, in Resend's documented JSON
//! (`from`, `to`, `subject`, `html`, `text`, `tags`), with `Authorization: Bearer re_…`, an
//! `Idempotency-Key`, a `User-Agent` (Resend refuses requests without one) and a 10 s
//! timeout.
//!
//! It does not retry: every email is a job, and the job queue retries it later with the
//! **same** idempotency key, so Resend answers a repeat with the first email's id instead
//! of sending a second email (keys are kept 24 h). [`ResendError::is_retryable`] says
//! whether a retry can succeed: 5xx, 429 (honour [`ResendError::retry_after`]), 409 while
//! the same key is still in progress, and transport failures can; every other 4xx (a 422
//! validation error above all) will fail the same way again and carries Resend's message.
//!
//! The wire shapes are those of `test_data/resend/` (its README says where each comes
//! from).

use std::fmt;
use std::time::Duration;

use nexus_core::Secret;
use nexus_exchanges::HttpConfig;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};

/// Resend's API.
pub const DEFAULT_API_BASE: &str = "https://api.resend.com";

/// The most tags Resend takes on one email.
pub const MAX_TAGS: usize = 75;

/// The longest tag name or value Resend takes, in characters.
pub const MAX_TAG_LEN: usize = 256;

/// The longest idempotency key Resend takes, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

/// The longest wait a `Retry-After` (or `ratelimit-reset`) is read as: a larger or absurd
/// value is cut to this (a day, the span of Resend's daily quota), so adding it to a clock
/// cannot overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The `User-Agent` of every request (Resend refuses requests without one).
pub use crate::provider_http::USER_AGENT;

/// Why sending an email through Resend failed.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// No answer: the connection could not be made or was lost, or the request timed out
    /// (10 s). The email may or may not have been accepted; sending it again with the same
    /// idempotency key is safe. Retryable.
    #[error("Resend could not be reached: {message}")]
    Transport {
        /// What went wrong, in a few words.
        message: &'static str,
        /// The underlying error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// 429: too many requests (`rate_limit_exceeded`) or a sending quota is used up
    /// (`daily_quota_exceeded`, `monthly_quota_exceeded`). Retryable, after
    /// [`ResendError::retry_after`] when Resend says.
    #[error("Resend is rate limiting ({name}): {message}")]
    RateLimited {
        /// How long Resend asks to wait: `retry-after`, else `ratelimit-reset` (seconds),
        /// at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
        /// Resend's error `name`.
        name: String,
        /// Resend's `message`.
        message: String,
    },
    /// 409 `concurrent_idempotent_requests`: a request with the same idempotency key is
    /// still in progress. Retryable ("safe to retry this request later").
    #[error("Resend is still handling this idempotency key: {message}")]
    InProgress {
        /// Resend's `message`.
        message: String,
    },
    /// 5xx: a fault on Resend's side (`application_error`, `service_unavailable`, or a
    /// proxy's page). Retryable.
    #[error("Resend failed: HTTP {status} {name}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Resend's error `name`, or `unknown` when the body is not Resend's error shape.
        name: String,
        /// Resend's `message`, or the start of the body.
        message: String,
        /// A `retry-after` sent with it (503), at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// Any other status: a 4xx other than 429 and 409-in-progress (422
    /// `missing_required_field`/`invalid_parameter`/`validation_error`, 400, 401/403 for
    /// the key, 404, 409 `invalid_idempotent_request`), or an unexpected 1xx/3xx. Sending
    /// the same request again will not change it: fail the email with Resend's message.
    #[error("Resend refused the email: HTTP {status} {name}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Resend's error `name`, or `unknown` when the body is not Resend's error shape.
        name: String,
        /// Resend's `message` (it never contains the API key), or the start of the body.
        message: String,
    },
    /// A 2xx answer that is not `{"id": "…"}`. Not retryable: the email was probably
    /// accepted, and a repeat with the same key gets the same answer.
    #[error("Resend's answer could not be read: {message}")]
    Decode {
        /// Where and why the JSON did not fit.
        message: String,
    },
    /// The email or the idempotency key breaks Resend's documented limits (checked before
    /// sending): tags of other characters than ASCII letters, digits, `_` and `-`, over 256
    /// characters or more than 75 of them; a key of 0 or over 256 characters, or with
    /// characters a header cannot carry. Not retryable.
    #[error("the email cannot be sent through Resend: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The API key is empty or has characters an HTTP header cannot carry.
    #[error("the Resend API key is not usable: it must be visible ASCII characters")]
    BadKey,
    /// The API base is not an `http(s)` URL that paths can be appended to.
    #[error("the Resend API base {base:?} is not usable: {reason}")]
    BadBase {
        /// The base given (cut short).
        base: String,
        /// Why.
        reason: &'static str,
    },
    /// The HTTP client could not be built (no TLS roots), or a request could not be formed.
    #[error("the HTTP client or request for Resend could not be built")]
    Client(#[source] reqwest::Error),
}

impl ResendError {
    /// Whether sending the same email again (with the same idempotency key) may succeed:
    /// transport failures, 429, 409 in progress and 5xx. Everything else fails the same
    /// way again.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Transport { .. }
                | Self::RateLimited { .. }
                | Self::InProgress { .. }
                | Self::Server { .. }
        )
    }

    /// How long Resend asked to wait before the next attempt, when it said
    /// (`retry-after` on a 429 or 5xx, `ratelimit-reset` on a 429 without it).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

/// One email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The sender, `address` or `Name <address>` (e.g. `Nexus <alerts@example.com>`), on
    /// a domain verified in Resend.
    pub from: String,
    /// The recipient (one per email: each has its own log row and idempotency key).
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The HTML part; left out when empty.
    pub html: String,
    /// The plain-text part; left out when empty (Resend then derives it from the HTML,
    /// whereas an empty `text` would mean "no plain-text part").
    pub text: String,
    /// `(name, value)` tags, shown in Resend and sent back in webhooks (e.g.
    /// `("template", "password_reset")`). Both are 1 to 256 ASCII letters, digits, `_` or
    /// `-`; at most 75. See [`tag_value`] for free text.
    pub tags: Vec<(String, String)>,
}

/// `text` made into a valid tag name or value: each character other than an ASCII
/// letter, digit, `_` or `-` becomes `_`, cut to 256 characters; empty text becomes `-`.
#[must_use]
pub fn tag_value(text: &str) -> String {
    let value: String = text
        .chars()
        .take(MAX_TAG_LEN)
        .map(|c| if tag_char(c) { c } else { '_' })
        .collect();
    if value.is_empty() {
        "-".to_owned()
    } else {
        value
    }
}

fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The request body of `POST /emails` (field names as documented).
#[derive(Debug, Serialize)]
struct SendBody<'a> {
    from: &'a str,
    to: [&'a str; 1],
    subject: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    html: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Tag<'a>>,
}

#[derive(Debug, Serialize)]
struct Tag<'a> {
    name: &'a str,
    value: &'a str,
}

/// `{"id": "…"}`.
#[derive(Debug, Deserialize)]
struct Sent {
    id: String,
}

/// `{"statusCode", "message", "name"}` (`statusCode` is not read: the HTTP status is).
#[derive(Debug, Deserialize)]
struct ErrorBody {
    name: Option<String>,
    message: Option<String>,
}

/// A client of Resend's API for one account (its API key). Cheap to clone: the HTTP
/// connection pool is shared.
#[derive(Clone)]
pub struct ResendClient {
    http: reqwest::Client,
    /// `<base>/emails`.
    endpoint: Url,
    key: Secret,
}

impl fmt::Debug for ResendClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResendClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("key", &"REDACTED")
            .finish_non_exhaustive()
    }
}

impl ResendClient {
    /// A client of the API at `base` ([`DEFAULT_API_BASE`], or a local Resend in tests)
    /// with the API key `key` (`re_…`). Requests time out after 10 s (connecting after
    /// 5 s), carry `User-Agent: nexus/<version>`, and redirects are not followed (Resend's
    /// API does not redirect; following one would send the key elsewhere).
    ///
    /// # Errors
    /// [`ResendError::BadBase`] when `base` is not an `http(s)` URL without query or
    /// fragment; [`ResendError::BadKey`] when the key cannot be a header;
    /// [`ResendError::Client`] when the HTTP client cannot be built.
    pub fn new(base: &str, key: Secret) -> Result<Self, ResendError> {
        let bad = |reason| ResendError::BadBase {
            base: base.chars().take(100).collect(),
            reason,
        };
        let url = crate::provider_http::api_base(base).map_err(bad)?;
        let endpoint = crate::provider_http::endpoint(&url, "/emails").map_err(bad)?;
        if !crate::provider_http::header_safe(key.expose()) {
            return Err(ResendError::BadKey);
        }
        let config = HttpConfig::default();
        let http = crate::provider_http::client(config.timeout, config.connect_timeout)
            .map_err(ResendError::Client)?;
        Ok(Self {
            http,
            endpoint,
            key,
        })
    }

    /// The URL emails are posted to (`<base>/emails`).
    #[must_use]
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// Sends `message` with one `POST /emails` and returns Resend's id of the email (the
    /// `email_id` of its webhooks). No retries here: the job queue retries, and it must pass
    /// the **same** `idempotency_key` on every attempt for one message (1 to 256 visible
    /// ASCII characters, e.g. `nexus-email/<log row id>`), so a repeat within 24 h gets the
    /// first answer instead of a second email.
    ///
    /// # Errors
    /// See [`ResendError`]; [`ResendError::is_retryable`] says whether to try again.
    pub async fn send(
        &self,
        message: &OutgoingEmail,
        idempotency_key: &str,
    ) -> Result<String, ResendError> {
        let request = self.send_request(message, idempotency_key)?;
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            decode_id(&body)
        } else {
            Err(status_error(status, &headers, &body))
        }
    }

    /// The `POST /emails` request for `message`, checked against Resend's limits.
    pub(crate) fn send_request(
        &self,
        message: &OutgoingEmail,
        idempotency_key: &str,
    ) -> Result<RequestBuilder, ResendError> {
        check_idempotency_key(idempotency_key)?;
        let body = send_body(message)?;
        Ok(self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(self.key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(&body))
    }
}

/// The body of `message`, after checking its tags.
fn send_body(message: &OutgoingEmail) -> Result<SendBody<'_>, ResendError> {
    if message.tags.len() > MAX_TAGS {
        return Err(ResendError::Invalid {
            reason: format!("{} tags, more than {MAX_TAGS}", message.tags.len()),
        });
    }
    for (name, value) in &message.tags {
        for (what, text) in [("name", name), ("value", value)] {
            let fits = !text.is_empty()
                && text.chars().count() <= MAX_TAG_LEN
                && text.chars().all(tag_char);
            if !fits {
                return Err(ResendError::Invalid {
                    reason: format!(
                        "the tag {what} {:?} is not 1 to {MAX_TAG_LEN} ASCII letters, digits, _ or -",
                        text.chars().take(64).collect::<String>()
                    ),
                });
            }
        }
    }
    Ok(SendBody {
        from: &message.from,
        to: [message.to.as_str()],
        subject: &message.subject,
        html: &message.html,
        text: &message.text,
        tags: message
            .tags
            .iter()
            .map(|(name, value)| Tag {
                name: name.as_str(),
                value: value.as_str(),
            })
            .collect(),
    })
}

/// 1 to 256 visible ASCII characters (Resend's bounds, and what a header carries as is).
fn check_idempotency_key(key: &str) -> Result<(), ResendError> {
    let fits = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        Ok(())
    } else {
        Err(ResendError::Invalid {
            reason: format!(
                "the idempotency key {:?} is not 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters",
                key.chars().take(64).collect::<String>()
            ),
        })
    }
}

/// The id of a 2xx answer: a non-empty string of at most 256 visible ASCII characters
/// (Resend's ids are UUIDs), since it is stored and matched against webhooks.
fn decode_id(body: &[u8]) -> Result<String, ResendError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let sent: Sent =
        serde_path_to_error::deserialize(&mut json).map_err(|e| ResendError::Decode {
            message: e.to_string(),
        })?;
    json.end().map_err(|e| ResendError::Decode {
        message: e.to_string(),
    })?;
    let fits = !sent.id.is_empty()
        && sent.id.len() <= 256
        && sent.id.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        Ok(sent.id)
    } else {
        Err(ResendError::Decode {
            message: format!(
                "the id {:?} is not 1 to 256 visible ASCII characters",
                sent.id.chars().take(64).collect::<String>()
            ),
        })
    }
}

/// A request that got no answer. A request that could not be formed is not a transport
/// failure and will not change by retrying.
fn transport(e: reqwest::Error) -> ResendError {
    if e.is_builder() {
        return ResendError::Client(e.without_url());
    }
    let message = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    ResendError::Transport {
        message,
        source: e.without_url(),
    }
}

/// Resend's error answer as a [`ResendError`], by status (and, for 409, by `name`).
fn status_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ResendError {
    let detail = serde_json::from_slice::<ErrorBody>(body).ok();
    let (name, message) = match detail {
        Some(ErrorBody { name, message }) => (name, message),
        None => (None, None),
    };
    let name = name.unwrap_or_else(|| "unknown".to_owned());
    let message = message.unwrap_or_else(|| {
        String::from_utf8_lossy(body)
            .chars()
            .take(300)
            .collect::<String>()
            .trim()
            .to_owned()
    });
    let code = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS {
        ResendError::RateLimited {
            retry_after: seconds(headers, RETRY_AFTER.as_str())
                .or_else(|| seconds(headers, "ratelimit-reset")),
            name,
            message,
        }
    } else if status.is_server_error() {
        ResendError::Server {
            status: code,
            name,
            message,
            retry_after: seconds(headers, RETRY_AFTER.as_str()),
        }
    } else if status == StatusCode::CONFLICT && name == "concurrent_idempotent_requests" {
        ResendError::InProgress { message }
    } else {
        ResendError::Rejected {
            status: code,
            name,
            message,
        }
    }
}

/// A header in whole seconds (an HTTP date is not read: Resend sends seconds), at most
/// [`MAX_RETRY_AFTER`].
fn seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let secs: u64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/resend/");
    const KEY: &str = "re_not_shown_123456789";

    fn file(name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{DATA}{name}")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn client() -> ResendClient {
        ResendClient::new("http://127.0.0.1:9/", Secret::new(KEY)).unwrap()
    }

    /// The documented request as an `OutgoingEmail` (its values read from the file).
    fn documented() -> OutgoingEmail {
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
            text: String::new(),
            tags: vec![(text("/tags/0/name"), text("/tags/0/value"))],
        }
    }

    fn body_of(message: &OutgoingEmail) -> Value {
        let built = client()
            .send_request(message, "nexus-email/1")
            .unwrap()
            .build()
            .unwrap();
        serde_json::from_slice(built.body().unwrap().as_bytes().unwrap()).unwrap()
    }

    #[test]
    fn the_body_is_the_documented_request() {
        assert_eq!(body_of(&documented()), file("send_email_request.json"));

        // A plain-text part is sent as `text`; empty parts and no tags are left out.
        let mut message = documented();
        message.text = "it works!".to_owned();
        let mut expected = file("send_email_request.json");
        expected["text"] = json!("it works!");
        assert_eq!(body_of(&message), expected);

        message.html = String::new();
        message.tags.clear();
        let body = body_of(&message);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{body}");
        for key in ["from", "to", "subject", "text"] {
            assert!(body.get(key).is_some(), "{key} in {body}");
        }
        assert!(body["to"].is_array());
    }

    #[test]
    fn a_send_carries_key_idempotency_key_user_agent_and_json() {
        let built = client()
            .send_request(&documented(), "welcome-user/123456789")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(built.method(), reqwest::Method::POST);
        assert_eq!(built.url().as_str(), "http://127.0.0.1:9/emails");
        let header = |name: &str| built.headers().get(name).unwrap().to_str().unwrap();
        assert_eq!(header("authorization"), format!("Bearer {KEY}"));
        assert!(built.headers()["authorization"].is_sensitive());
        assert_eq!(header("idempotency-key"), "welcome-user/123456789");
        assert_eq!(header("content-type"), "application/json");
        // The User-Agent is the client's default, added when sending.
        assert!(USER_AGENT.starts_with("nexus/") && USER_AGENT.len() > "nexus/".len());
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", client());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("127.0.0.1:9/emails"), "{shown}");
    }

    #[test]
    fn bases_must_be_http_urls_and_keys_header_values() {
        for bad in [
            "",
            "api.resend.com",
            "ftp://api.resend.com",
            "mailto:x@example.com",
            "https://api.resend.com/?a=b",
            "https://api.resend.com/#x",
        ] {
            let result = ResendClient::new(bad, Secret::new(KEY));
            assert!(
                matches!(result, Err(ResendError::BadBase { .. })),
                "{bad:?}: {result:?}"
            );
        }
        let default = ResendClient::new(DEFAULT_API_BASE, Secret::new(KEY)).unwrap();
        assert_eq!(default.endpoint(), "https://api.resend.com/emails");
        let proxied = ResendClient::new("http://127.0.0.1:8/resend/", Secret::new(KEY)).unwrap();
        assert_eq!(proxied.endpoint(), "http://127.0.0.1:8/resend/emails");
        for bad in ["", "re_1\n2", "re_ü"] {
            let result = ResendClient::new(DEFAULT_API_BASE, Secret::new(bad));
            assert!(matches!(result, Err(ResendError::BadKey)), "{bad:?}");
            assert!(!result.unwrap_err().to_string().contains(bad) || bad.is_empty());
        }
    }

    #[test]
    fn tags_and_keys_outside_resends_limits_are_refused_before_sending() {
        let refused = |message: &OutgoingEmail, key: &str| {
            matches!(
                client().send_request(message, key),
                Err(ResendError::Invalid { .. })
            )
        };
        for (name, value) in [
            ("category", "confirm email"),
            ("cat:egory", "x"),
            ("", "x"),
            ("x", ""),
            ("x", "ü"),
            ("x", &"v".repeat(257)),
        ] {
            let mut message = documented();
            message.tags = vec![(name.to_owned(), value.to_owned())];
            assert!(refused(&message, "k"), "{name:?}={value:?}");
        }
        let mut message = documented();
        message.tags = vec![("a".to_owned(), "v".repeat(256))];
        assert!(!refused(&message, "k"));
        message.tags = (0..=MAX_TAGS)
            .map(|i| (format!("t{i}"), "v".to_owned()))
            .collect();
        assert!(refused(&message, "k"));
        message.tags.pop();
        assert!(!refused(&message, "k"));

        let message = documented();
        for key in ["", "a b", "a\nb", "é", &"k".repeat(257)] {
            assert!(refused(&message, key), "{key:?}");
        }
        assert!(!refused(&message, &"k".repeat(256)));
        let error = client().send_request(&message, "").unwrap_err();
        assert!(!error.is_retryable());
    }

    #[test]
    fn free_text_becomes_a_valid_tag() {
        assert_eq!(tag_value("password_reset"), "password_reset");
        assert_eq!(
            tag_value("Daily summary: BTC/USDT é"),
            "Daily_summary__BTC_USDT__"
        );
        assert_eq!(tag_value(""), "-");
        assert_eq!(tag_value(&"é".repeat(300)).len(), MAX_TAG_LEN);
        let mut message = documented();
        message.tags = vec![(tag_value("a b"), tag_value("ünïcode"))];
        assert!(client().send_request(&message, "k").is_ok());
    }

    #[test]
    fn a_success_reads_the_id() {
        let response = file("send_email_response.json");
        assert_eq!(
            decode_id(response.to_string().as_bytes()).unwrap(),
            response["id"].as_str().unwrap()
        );
        for bad in [
            &b""[..],
            b"{}",
            br#"{"id": 7}"#,
            br#"{"id": ""}"#,
            br#"{"id": "a b"}"#,
            br#"{"id": "x"} trailing"#,
        ] {
            assert!(
                matches!(decode_id(bad), Err(ResendError::Decode { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn error_for(status: u16, headers: &[(&str, &str)], body: &[u8]) -> ResendError {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        status_error(StatusCode::from_u16(status).unwrap(), &map, body)
    }

    #[test]
    fn every_documented_error_maps_by_status_with_resends_words() {
        let mut names: Vec<String> = std::fs::read_dir(DATA)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("error_") || n.starts_with("recorded_"))
            .collect();
        names.sort();
        assert_eq!(names.len(), 13, "{names:?}");
        for name in &names {
            let json = file(name);
            let status = u16::try_from(json["statusCode"].as_u64().unwrap()).unwrap();
            let (resend_name, message) = (
                json["name"].as_str().unwrap(),
                json["message"].as_str().unwrap(),
            );
            let raw = std::fs::read(format!("{DATA}{name}")).unwrap();
            let error = error_for(status, &[], &raw);
            let retryable =
                status == 429 || status >= 500 || resend_name == "concurrent_idempotent_requests";
            assert_eq!(error.is_retryable(), retryable, "{name}: {error:?}");
            let (got_name, got_message) = match &error {
                ResendError::RateLimited { name, message, .. } => {
                    assert_eq!(status, 429);
                    (name.as_str(), message.as_str())
                }
                ResendError::Server {
                    status: s,
                    name,
                    message,
                    ..
                }
                | ResendError::Rejected {
                    status: s,
                    name,
                    message,
                } => {
                    assert_eq!(*s, status, "{name}");
                    (name.as_str(), message.as_str())
                }
                ResendError::InProgress { message } => {
                    ("concurrent_idempotent_requests", message.as_str())
                }
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!((got_name, got_message), (resend_name, message), "{name}");
            assert!(error.to_string().contains(message), "{error}");
        }
    }

    #[test]
    fn a_422_is_rejected_and_not_retried() {
        let body = std::fs::read(format!("{DATA}error_missing_required_field.json")).unwrap();
        let error = error_for(422, &[], &body);
        assert!(
            matches!(&error, ResendError::Rejected { status: 422, name, message }
                if name == "missing_required_field" && message == "Missing `from` field."),
            "{error:?}"
        );
        assert!(!error.is_retryable());
        assert_eq!(error.retry_after(), None);
    }

    #[test]
    fn waits_come_from_retry_after_then_ratelimit_reset() {
        let body = std::fs::read(format!("{DATA}error_rate_limit_exceeded.json")).unwrap();
        let wait = |headers: &[(&str, &str)]| error_for(429, headers, &body).retry_after();
        assert_eq!(wait(&[]), None);
        assert_eq!(wait(&[("retry-after", "1")]), Some(Duration::from_secs(1)));
        assert_eq!(
            wait(&[("retry-after", " 7 "), ("ratelimit-reset", "1")]),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            wait(&[("ratelimit-reset", "2")]),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait(&[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")]),
            None
        );
        assert_eq!(wait(&[("retry-after", "-1")]), None);
        assert_eq!(
            wait(&[("retry-after", "18446744073709551615")]),
            Some(MAX_RETRY_AFTER)
        );
        let unavailable = std::fs::read(format!("{DATA}error_service_unavailable.json")).unwrap();
        let error = error_for(503, &[("retry-after", "30")], &unavailable);
        assert!(error.is_retryable());
        assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
        // A 4xx's retry-after does not make it retryable.
        let refused = error_for(400, &[("retry-after", "30")], b"{}");
        assert_eq!(
            (refused.is_retryable(), refused.retry_after()),
            (false, None)
        );
    }

    #[test]
    fn bodies_not_in_resends_shape_keep_their_start() {
        let error = error_for(502, &[], b"<html>bad gateway</html>\n");
        assert!(
            matches!(&error, ResendError::Server { status: 502, name, message, .. }
                if name == "unknown" && message == "<html>bad gateway</html>"),
            "{error:?}"
        );
        let long = "x".repeat(1000);
        let ResendError::Rejected { message, .. } = error_for(403, &[], long.as_bytes()) else {
            panic!()
        };
        assert_eq!(message.len(), 300);
        // A redirect is not followed, and not retried either.
        let moved = error_for(301, &[("location", "https://elsewhere.example")], b"");
        assert!(matches!(moved, ResendError::Rejected { status: 301, .. }));
        assert!(!moved.is_retryable());
        // 409 is retried only while the same key is in progress.
        let conflict = error_for(
            409,
            &[],
            br#"{"name":"invalid_idempotent_request","message":"m"}"#,
        );
        assert!(!conflict.is_retryable());
    }
}
