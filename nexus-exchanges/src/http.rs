//! The HTTP client the venue adapters share, and the classification of transport failures
//! by what they mean for retrying.

use std::sync::Once;
use std::time::Duration;

use nexus_core::{ExchangeError, ExchangeId};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use crate::retry::Failure;

/// Timeouts of the HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// How long a whole request may take. An order request that times out has an unknown
    /// outcome.
    pub timeout: Duration,
    /// How long connecting may take. A connection that was never made sent nothing, so
    /// any request can be retried.
    pub connect_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Makes `ring` the process's rustls provider (once), so any `reqwest` client can be built:
/// reqwest is compiled without its default provider (aws-lc, a long C build).
pub fn install_tls_provider() {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one first: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `reqwest` client with rustls on the `ring` provider.
///
/// # Errors
/// The client could not be built (no TLS roots).
pub(crate) fn client(config: HttpConfig) -> Result<reqwest::Client, reqwest::Error> {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("nexus/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A venue's answer, read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text for error messages, cut short.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }

    /// The venue's `Retry-After` in seconds, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// Sends a request and reads the whole answer. A connection that could not be made is
/// [`Failure::NotApplied`]; a timeout or a connection lost after sending is
/// [`Failure::Unknown`].
pub(crate) async fn send(exchange: ExchangeId, request: RequestBuilder) -> Result<Answer, Failure> {
    let response = request.send().await.map_err(|e| transport(exchange, e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| transport(exchange, e))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn transport(exchange: ExchangeId, e: reqwest::Error) -> Failure {
    let not_sent = e.is_connect() && !e.is_timeout();
    let error = ExchangeError::Transient {
        exchange,
        message: if e.is_timeout() {
            "request timed out".to_owned()
        } else if not_sent {
            "could not connect".to_owned()
        } else {
            "connection failed".to_owned()
        },
        // The URL (with a signed query) is dropped from the source: it never goes to logs.
        source: Some(Box::new(e.without_url())),
    };
    if not_sent {
        Failure::NotApplied(error)
    } else {
        Failure::Unknown(error)
    }
}

/// The classification every venue shares for HTTP statuses that are not the venue's own
/// error payload: 429 (slow down), 5xx (outcome unknown).
pub(crate) fn status_failure(exchange: ExchangeId, answer: &Answer) -> Option<Failure> {
    if answer.status == StatusCode::TOO_MANY_REQUESTS {
        return Some(Failure::NotApplied(ExchangeError::RateLimited {
            exchange,
            retry_after: answer.retry_after(),
        }));
    }
    if answer.status.is_server_error() {
        return Some(Failure::Unknown(ExchangeError::Transient {
            exchange,
            message: format!("HTTP {}: {}", answer.status.as_u16(), answer.text()),
            source: None,
        }));
    }
    None
}

/// Parameters percent-encoded as a query string or form body, exactly as signed and sent.
pub(crate) fn encode(params: &[(&str, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        out.append_pair(name, value);
    }
    out.finish()
}
