//! `X-Nexus-Signature`: how a sender signs an outside signal, and the middleware that
//! checks it. The HMAC covers a timestamp and the raw body,
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; a timestamp more than
//! [`TOLERANCE_SECS`] from the server's clock is refused, and so is a signature already
//! accepted (recorded in the store, so every instance refuses it) while its timestamp is
//! still accepted. The body-only form `sha256=<hex HMAC-SHA256(secret, body)>` of earlier
//! releases is accepted only with `NEXUS_SIGNALS_LEGACY_SIGNATURE=1`: it can be replayed.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use nexus_core::ports::signatures::SignatureDigest;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::payload::Json;
use sha2::{Digest, Sha256};

use super::auth::{err, unavailable};
use super::signals::SignalResponse;
use super::{ApiState, ErrorBody};
use crate::config::SIGNALS_LEGACY_SIGNATURE_VAR;

/// The header carrying a signal's signature.
pub const SIGNATURE_HEADER: &str = "x-nexus-signature";

/// How far a signature's timestamp may be from the server's clock, either way (5 minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// The path whose requests are signed.
const SIGNALS_PATH: &str = "/api/v1/signals";

/// What the header should look like, for error messages.
const EXPECTED: &str =
    "expected t=<unix seconds>,v1=<64 hex digits of HMAC-SHA256(secret, \"<t>.<body>\")>";

/// The `X-Nexus-Signature` value for `body` sent at `timestamp` (Unix seconds): what a
/// sender computes.
///
/// ```
/// use nexus_server::api::signature::sign;
///
/// assert_eq!(
///     sign("tv-secret-0123456789", 1_767_225_600, br#"{"source":"tv"}"#),
///     "t=1767225600,v1=ee3a7315eef731392c8830c9d88e609aaefa7476f4dce5c0d4c578f8a1e4b831"
/// );
/// ```
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = timestamped_mac(secret, timestamp, body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex(&mac))
}

fn timestamped_mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A parsed `X-Nexus-Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signature {
    /// `t=…,v1=…`.
    Timestamped {
        /// Unix seconds.
        timestamp: i64,
        /// The HMAC.
        mac: [u8; 32],
    },
    /// `sha256=…` (earlier releases): the body's HMAC alone.
    Legacy {
        /// The HMAC.
        mac: [u8; 32],
    },
}

/// What is wrong with the header's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Malformed {
    /// A part without `=`.
    #[error("each part is name=value")]
    NotAPair,
    /// A part other than `t` and `v1`.
    #[error("unknown part {0:?}")]
    UnknownPart(String),
    /// A part given twice.
    #[error("{0} is given twice")]
    Repeated(&'static str),
    /// No `t`.
    #[error("t (the Unix time in seconds) is missing")]
    MissingTimestamp,
    /// No `v1`.
    #[error("v1 (the HMAC) is missing")]
    MissingMac,
    /// `t` is not 1-12 digits.
    #[error("t is not a whole number of seconds")]
    BadTimestamp,
    /// `v1` (or the legacy `sha256`) is not 64 hex digits.
    #[error("{0} is not 64 hex digits")]
    BadMac(&'static str),
}

fn parse(text: &str) -> Result<Signature, Malformed> {
    let text = text.trim();
    if let Some(mac) = text.strip_prefix("sha256=") {
        return Ok(Signature::Legacy {
            mac: unhex32(mac.trim()).ok_or(Malformed::BadMac("sha256"))?,
        });
    }
    let (mut timestamp, mut mac) = (None, None);
    for part in text.split(',').map(str::trim) {
        let (name, value) = part.split_once('=').ok_or(Malformed::NotAPair)?;
        match name.trim() {
            "t" if timestamp.is_some() => return Err(Malformed::Repeated("t")),
            "t" => timestamp = Some(value.trim()),
            "v1" if mac.is_some() => return Err(Malformed::Repeated("v1")),
            "v1" => mac = Some(value.trim()),
            other => return Err(Malformed::UnknownPart(other.chars().take(32).collect())),
        }
    }
    let timestamp = timestamp.ok_or(Malformed::MissingTimestamp)?;
    let mac = mac.ok_or(Malformed::MissingMac)?;
    // Digits only (no sign, no spaces), and few enough to be seconds of this era or near it.
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Malformed::BadTimestamp);
    }
    Ok(Signature::Timestamped {
        timestamp: timestamp.parse().map_err(|_| Malformed::BadTimestamp)?,
        mac: unhex32(mac).ok_or(Malformed::BadMac("v1"))?,
    })
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Why a signed request is refused; each becomes one documented answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// The header does not parse.
    Malformed(Malformed),
    /// A body-only signature while they are off.
    LegacyOff,
    /// Unknown source or wrong HMAC (one answer for both).
    Credentials,
    /// The timestamp is this many seconds from the server's clock (negative: ahead).
    Expired {
        /// The header's timestamp.
        timestamp: i64,
        /// `now - timestamp`.
        age: i64,
    },
}

/// A signature that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verified {
    /// To be recorded as seen until `expires_at`; a replay if it already was.
    Fresh {
        digest: SignatureDigest,
        expires_at: DateTime<Utc>,
    },
    /// A body-only signature (no replay protection).
    Legacy,
}

/// Checks `header` over `body` for `source`, whose secret is `secret` (`None`: unknown
/// source). The HMAC is checked before the timestamp, so only holders of the secret learn
/// that a timestamp was refused.
fn check(
    header: &str,
    source: &str,
    secret: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    legacy: bool,
) -> Result<Verified, Refusal> {
    match parse(header).map_err(Refusal::Malformed)? {
        Signature::Legacy { .. } if !legacy => Err(Refusal::LegacyOff),
        Signature::Legacy { mac } => {
            let secret = secret.ok_or(Refusal::Credentials)?;
            let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| Refusal::Credentials)?;
            expected.update(body);
            // `verify_slice` compares in constant time.
            expected
                .verify_slice(&mac)
                .map_err(|_| Refusal::Credentials)?;
            Ok(Verified::Legacy)
        }
        Signature::Timestamped { timestamp, mac } => {
            let secret = secret.ok_or(Refusal::Credentials)?;
            timestamped_mac(secret, timestamp, body)
                .verify_slice(&mac)
                .map_err(|_| Refusal::Credentials)?;
            let age = now.timestamp().saturating_sub(timestamp);
            let expires_at = DateTime::from_timestamp(timestamp.saturating_add(TOLERANCE_SECS), 0);
            match expires_at {
                Some(expires_at) if age.abs() <= TOLERANCE_SECS => Ok(Verified::Fresh {
                    digest: digest(source, &mac),
                    expires_at,
                }),
                _ => Err(Refusal::Expired { timestamp, age }),
            }
        }
    }
}

/// What the store keeps of a signature: a hash of the source and the HMAC.
fn digest(source: &str, mac: &[u8; 32]) -> SignatureDigest {
    let mut hash = Sha256::new();
    hash.update(b"nexus-signal\0");
    hash.update(source.as_bytes());
    hash.update(b"\0");
    hash.update(mac);
    SignatureDigest(hash.finalize().into())
}

impl Refusal {
    fn body(&self) -> Json<ErrorBody> {
        let (code, message) = match self {
            Self::Malformed(what) => (
                "signature_malformed",
                format!("X-Nexus-Signature: {what}; {EXPECTED}"),
            ),
            Self::LegacyOff => (
                "legacy_signature_disabled",
                format!(
                    "X-Nexus-Signature: the body-only sha256= form is off (it can be replayed); \
                     {EXPECTED}"
                ),
            ),
            Self::Credentials => (
                "invalid_signal_credentials",
                "unknown source, or wrong token or signature".to_owned(),
            ),
            Self::Expired { timestamp, age } => {
                let (amount, side) = if *age >= 0 {
                    (*age, "behind")
                } else {
                    (age.saturating_neg(), "ahead of")
                };
                let hint = if *timestamp > 99_999_999_999 {
                    " (t is in seconds, not milliseconds)"
                } else {
                    ""
                };
                (
                    "signature_expired",
                    format!(
                        "X-Nexus-Signature: t={timestamp} is {amount} s {side} the server's clock, \
                         more than the {TOLERANCE_SECS} s allowed{hint}; sign each delivery when \
                         sending it"
                    ),
                )
            }
        };
        err(code, message)
    }
}

/// Marks a request whose signature was verified for a source.
#[derive(Debug, Clone)]
pub(super) struct SignedBy(pub(super) String);

/// Verifies `X-Nexus-Signature` over the raw body of `POST /api/v1/signals` (the typed
/// handler never sees the raw bytes), records it as seen, and marks the request as signed
/// by its source. A refused signature is answered here, before anything parses the body
/// further; a request without the header goes on to the handler (which wants a `token`).
pub(crate) async fn verify_signature<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    let Some(header) = req
        .header(SIGNATURE_HEADER)
        .map(str::to_owned)
        .filter(|_| req.uri().path() == SIGNALS_PATH && req.method() == poem::http::Method::POST)
    else {
        return Ok(next.call(req).await?.into_response());
    };
    // Without the state no source is known, so every signature is refused.
    let Some(state) = req.data::<Arc<ApiState>>().map(Arc::clone) else {
        return Ok(SignalResponse::Unauthorized(Refusal::Credentials.body()).into_response());
    };
    let bytes = req.take_body().into_bytes().await?;
    let source = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("source")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let secret = state.signal_sources.secret(&source).map(|s| s.expose());
    let verified = check(
        &header,
        &source,
        secret,
        &bytes,
        Utc::now(),
        state.legacy_signatures,
    );
    match verified {
        Err(refusal) => {
            tracing::info!(source = %source, ?refusal, "outside signal's signature refused");
            return Ok(SignalResponse::Unauthorized(refusal.body()).into_response());
        }
        Ok(Verified::Legacy) => {
            tracing::warn!(source = %source, "outside signal signed the old body-only way \
                (sha256=): accepted while {SIGNALS_LEGACY_SIGNATURE_VAR}=1; switch the sender to t=…,v1=…");
        }
        Ok(Verified::Fresh { digest, expires_at }) => {
            match state.store.first_sighting(&digest, expires_at).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(source = %source, "a signed outside signal was replayed");
                    return Ok(SignalResponse::Replayed(err(
                        "signature_replayed",
                        "this signature was already used: sign each delivery (a retry \
                         included) with a new timestamp; the idempotency_key keeps a \
                         retried signal from being fanned out twice",
                    ))
                    .into_response());
                }
                Err(e) => {
                    return Ok(SignalResponse::Unavailable(unavailable(&e)).into_response());
                }
            }
        }
    }
    req.extensions_mut().insert(SignedBy(source));
    req.set_body(bytes);
    Ok(next.call(req).await?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "tv-secret-0123456789";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// The worked example of docs/api.md, computed here so the documentation cannot drift.
    #[test]
    fn the_documented_example_signs_to_the_documented_header() {
        let body = r#"{"source":"tv","action":"entry","exchange":"paper","symbol":"BTC/USDT","idempotency_key":"alert-42"}"#;
        let header = sign(SECRET, 1_767_225_600, body.as_bytes());
        assert_eq!(
            header,
            "t=1767225600,v1=d02e36f2235e675846d1e54bd1aba1aba8f4456c6661a461f3719a4c5dc4008c"
        );
        let docs = include_str!("../../../docs/api.md");
        for shown in [body, SECRET, header.as_str()] {
            assert!(docs.contains(shown), "docs/api.md shows {shown}");
        }
    }

    #[test]
    fn headers_parse_strictly_and_say_what_is_wrong() {
        let mac = "ab".repeat(32);
        assert_eq!(
            parse(&format!(" t=1767225600, v1={mac} ")),
            Ok(Signature::Timestamped {
                timestamp: 1_767_225_600,
                mac: [0xab; 32]
            })
        );
        assert_eq!(
            parse(&format!("v1={},t=5", mac.to_uppercase())),
            Ok(Signature::Timestamped {
                timestamp: 5,
                mac: [0xab; 32]
            })
        );
        assert_eq!(
            parse(&format!("sha256={mac}")),
            Ok(Signature::Legacy { mac: [0xab; 32] })
        );
        let table: [(String, Malformed); 13] = [
            (String::new(), Malformed::NotAPair),
            ("garbage".into(), Malformed::NotAPair),
            (format!("t=1,v1={mac},"), Malformed::NotAPair),
            (format!("v1={mac}"), Malformed::MissingTimestamp),
            ("t=1767225600".into(), Malformed::MissingMac),
            (format!("t=-5,v1={mac}"), Malformed::BadTimestamp),
            (format!("t=+5,v1={mac}"), Malformed::BadTimestamp),
            (format!("t=,v1={mac}"), Malformed::BadTimestamp),
            (
                format!("t=1767225600000000,v1={mac}"),
                Malformed::BadTimestamp,
            ),
            ("t=1,v1=abc".into(), Malformed::BadMac("v1")),
            (format!("t=1,v1={}zz", &mac[2..]), Malformed::BadMac("v1")),
            (format!("t=1,t=2,v1={mac}"), Malformed::Repeated("t")),
            (
                format!("t=1,v0={mac},v1={mac}"),
                Malformed::UnknownPart("v0".into()),
            ),
        ];
        for (text, wrong) in table {
            assert_eq!(parse(&text), Err(wrong), "{text:?}");
        }
        assert_eq!(parse("sha256=00"), Err(Malformed::BadMac("sha256")));
        assert_eq!(
            Refusal::Malformed(Malformed::MissingTimestamp)
                .body()
                .0
                .message,
            "X-Nexus-Signature: t (the Unix time in seconds) is missing; expected \
             t=<unix seconds>,v1=<64 hex digits of HMAC-SHA256(secret, \"<t>.<body>\")>"
        );
    }

    #[test]
    fn a_signature_holds_for_five_minutes_either_way_of_the_clock() {
        let body = br#"{"source":"tv"}"#;
        let now = 1_767_225_600;
        for sent in [now - 300, now, now + 300] {
            let header = sign(SECRET, sent, body);
            let Ok(Verified::Fresh { expires_at, .. }) =
                check(&header, "tv", Some(SECRET), body, at(now), false)
            else {
                panic!("sent at {sent}");
            };
            assert_eq!(expires_at, at(sent + 300));
        }
        for (sent, age) in [(now - 301, 301), (now + 301, -301)] {
            assert_eq!(
                check(
                    &sign(SECRET, sent, body),
                    "tv",
                    Some(SECRET),
                    body,
                    at(now),
                    false
                ),
                Err(Refusal::Expired {
                    timestamp: sent,
                    age
                })
            );
        }
        let stale = Refusal::Expired {
            timestamp: now - 412,
            age: 412,
        };
        assert_eq!(
            stale.body().0.message,
            "X-Nexus-Signature: t=1767225188 is 412 s behind the server's clock, more than \
             the 300 s allowed; sign each delivery when sending it"
        );
        let millis = Refusal::Expired {
            timestamp: now * 1000,
            age: now - now * 1000,
        };
        assert!(millis.body().0.message.contains("ahead of"));
        assert!(
            millis.body().0.message.ends_with(
                "(t is in seconds, not milliseconds); sign each delivery when sending it"
            )
        );
    }

    #[test]
    fn tampering_with_the_body_time_or_source_breaks_the_signature() {
        let body = br#"{"source":"tv","action":"entry"}"#;
        let now = 1_767_225_600;
        let header = sign(SECRET, now, body);
        let fresh = check(&header, "tv", Some(SECRET), body, at(now), false);
        assert!(matches!(fresh, Ok(Verified::Fresh { .. })));
        let refused = Err(Refusal::Credentials);
        let other_body = br#"{"source":"tv","action":"exit!"}"#;
        assert_eq!(
            check(&header, "tv", Some(SECRET), other_body, at(now), false),
            refused
        );
        let moved = header.replace("t=1767225600", "t=1767225601");
        assert_eq!(
            check(&moved, "tv", Some(SECRET), body, at(now), false),
            refused
        );
        let other_secret = "another-secret-0123456789";
        assert_eq!(
            check(&header, "tv", Some(other_secret), body, at(now), false),
            refused
        );
        assert_eq!(
            check(&header, "nobody", None, body, at(now), false),
            refused
        );
        // A stale signature from someone without the secret is refused as a wrong one.
        let forged = sign(other_secret, now - 1000, body);
        assert_eq!(
            check(&forged, "tv", Some(SECRET), body, at(now), false),
            refused
        );
        // One source's digest is not another's.
        assert_ne!(digest("tv", &[1; 32]), digest("tw", &[1; 32]));
    }

    #[test]
    fn the_body_only_signature_works_only_when_turned_on() {
        let body = br#"{"source":"tv"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body);
        let legacy = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        let now = at(1_767_225_600);
        assert_eq!(
            check(&legacy, "tv", Some(SECRET), body, now, false),
            Err(Refusal::LegacyOff)
        );
        assert_eq!(
            check(&legacy, "tv", Some(SECRET), body, now, true),
            Ok(Verified::Legacy)
        );
        assert_eq!(
            check(&legacy, "tv", Some(SECRET), b"{}", now, true),
            Err(Refusal::Credentials)
        );
    }
}
