//! Resend's webhooks: [`verify`] checks the Svix signature Resend signs them with, on the
//! raw body and before any JSON is read, and [`parse_event`] reads the event into a
//! [`DeliveryEvent`].
//!
//! The scheme (Svix's "Verifying Webhooks Manually", `test_data/resend/README.md`): the
//! headers `svix-id`, `svix-timestamp` (Unix seconds) and `svix-signature`, a space-separated
//! list of `<version>,<base64>`. A `v1` signature is
//! `base64(HMAC-SHA256(key, "{svix-id}.{svix-timestamp}.{body}"))`, where the key is the
//! base64 after the `whsec_` of the endpoint's signing secret. While a secret is rolled
//! there is one `v1` per secret, and any one matching is enough; other versions are
//! ignored. A timestamp more than [`TOLERANCE_SECS`] from the server's clock, either way,
//! is refused, so a captured delivery cannot be replayed later.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's timestamp may be from the server's clock, either way: 5 minutes,
/// as the Svix libraries allow.
pub const TOLERANCE_SECS: i64 = 300;

/// The header with the message id (the same on every retry of one event).
pub const ID_HEADER: &str = "svix-id";

/// The header with the signing time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "svix-timestamp";

/// The header with the signatures.
pub const SIGNATURE_HEADER: &str = "svix-signature";

/// The prefix of a Svix signing secret; the rest is the key in base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// The longest `svix-id` accepted (Svix's ids are `msg_` and 27 characters): a bound on
/// what goes into the HMAC and the logs.
const MAX_ID_LEN: usize = 256;

/// Why a webhook's signature was refused. Every case but [`SvixError::BadSecret`] means
/// `400`; the cases exist for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SvixError {
    /// A header is missing (its name).
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The configured signing secret is not `whsec_` followed by non-empty base64: the
    /// server's setting is wrong, not the request.
    #[error("the webhook signing secret is not whsec_ followed by base64")]
    BadSecret,
    /// A header is present but not in Svix's form.
    #[error("the Svix headers are malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The signature is right but its timestamp is too far from now (a replay, or a clock
    /// that is off).
    #[error("the signature's timestamp is {age} s from now, beyond {TOLERANCE_SECS} s")]
    Stale {
        /// The `svix-timestamp`.
        timestamp: i64,
        /// `now - timestamp` (negative: ahead of the server's clock).
        age: i64,
    },
    /// No `v1` signature matches the body, the id, the timestamp and the secret.
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// The HMAC key of a signing secret (`whsec_<base64>`, or the base64 alone, as the Svix
/// libraries accept). Kept out of `Debug`.
struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(REDACTED)")
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Key {
    fn decode(secret: &str) -> Result<Self, SvixError> {
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = STANDARD.decode(encoded).map_err(|_| SvixError::BadSecret)?;
        if key.is_empty() {
            return Err(SvixError::BadSecret);
        }
        Ok(Self(key))
    }

    /// The HMAC of `"{id}.{timestamp}.{body}"`.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// Checks that `secret` is a usable signing secret, so a wrong setting is reported when
/// the server starts rather than on the first webhook.
///
/// # Errors
/// [`SvixError::BadSecret`].
pub fn check_secret(secret: &str) -> Result<(), SvixError> {
    Key::decode(secret).map(drop)
}

/// Checks a Resend webhook: the `svix-id`, `svix-timestamp` and `svix-signature` headers
/// (`None` when absent) over the raw `body`, with the endpoint's signing secret
/// (`whsec_…`), at `now_unix` (Unix seconds). The signatures are compared in constant
/// time, and before the timestamp, so only a holder of the secret learns that a timestamp
/// was refused.
///
/// ```
/// use nexus_server::email::svix::{sign, verify, SvixError};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"type":"email.sent"}"#;
/// let signature = sign(secret, "msg_1", 1_767_225_600, body).unwrap();
/// let check = |secret, now| verify(Some("msg_1"), Some("1767225600"), Some(&signature), body, secret, now);
/// assert_eq!(check(secret, 1_767_225_660), Ok(()));
/// assert_eq!(check("whsec_c2VjcmV0", 1_767_225_660), Err(SvixError::Mismatch));
/// assert!(matches!(check(secret, 1_767_226_000), Err(SvixError::Stale { .. })));
/// ```
///
/// # Errors
/// See [`SvixError`].
pub fn verify(
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    secret: &str,
    now_unix: i64,
) -> Result<(), SvixError> {
    let id = id.ok_or(SvixError::Missing(ID_HEADER))?;
    let timestamp = timestamp.ok_or(SvixError::Missing(TIMESTAMP_HEADER))?;
    let signatures = signatures.ok_or(SvixError::Missing(SIGNATURE_HEADER))?;
    check_id(id)?;
    let timestamp = parse_timestamp(timestamp)?;
    let candidates = parse_signatures(signatures)?;
    let mac = Key::decode(secret)?.mac(id, timestamp, body);
    // `verify_slice` compares in constant time.
    if !candidates
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
    {
        return Err(SvixError::Mismatch);
    }
    let age = now_unix.saturating_sub(timestamp);
    if age.unsigned_abs() > TOLERANCE_SECS.unsigned_abs() {
        return Err(SvixError::Stale { timestamp, age });
    }
    Ok(())
}

/// The `svix-signature` value Svix would send for `body` with message id `id` at
/// `timestamp` (one `v1`): for tests, fuzzing and the documentation.
///
/// # Errors
/// [`SvixError::BadSecret`] when `secret` is not a signing secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SvixError> {
    let mac = Key::decode(secret)?.mac(id, timestamp, body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A non-empty id of at most [`MAX_ID_LEN`] visible ASCII characters.
fn check_id(id: &str) -> Result<(), SvixError> {
    let fits = !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        Ok(())
    } else {
        Err(SvixError::Malformed {
            reason: "svix-id is not 1 to 256 visible ASCII characters",
        })
    }
}

/// Digits only, and few enough to be seconds of this era or near it.
fn parse_timestamp(text: &str) -> Result<i64, SvixError> {
    let malformed = SvixError::Malformed {
        reason: "svix-timestamp is not a whole number of seconds",
    };
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// The `v1` signatures that decode to 32 bytes (others cannot match and are skipped, as
/// the Svix libraries do); entries of other versions are ignored.
fn parse_signatures(header: &str) -> Result<Vec<[u8; 32]>, SvixError> {
    let mut any_v1 = false;
    let mut candidates = Vec::new();
    for entry in header.split(' ').filter(|e| !e.is_empty()) {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        any_v1 = true;
        if let Some(signature) = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        {
            candidates.push(signature);
        }
    }
    if any_v1 {
        Ok(candidates)
    } else {
        Err(SvixError::Malformed {
            reason: "svix-signature has no v1 signature",
        })
    }
}

/// What a Resend event says about an email, as far as the email log needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryKind {
    /// `email.sent`: the API accepted the email; Resend will try to deliver it.
    Sent,
    /// `email.delivered`: the recipient's mail server accepted it.
    Delivered,
    /// `email.delivery_delayed`: a temporary problem (a full inbox, a server issue);
    /// Resend keeps trying.
    DeliveryDelayed,
    /// `email.bounced`: the recipient's server refused it.
    Bounced {
        /// A hard bounce: `bounce.type` is `Permanent`, or absent (the event is documented
        /// as a permanent rejection). The address should not be written to again.
        /// `Transient` (soft), `Undetermined` and other types are not permanent.
        permanent: bool,
    },
    /// `email.complained`: delivered, then marked as spam by the recipient.
    Complained,
    /// `email.failed`: Resend could not send it (e.g. `reached_daily_quota`, in
    /// [`DeliveryEvent::detail`]).
    Failed,
    /// `email.suppressed`: Resend did not send it because the address is on its
    /// suppression list.
    Suppressed,
    /// Any other type (`email.opened`, `email.clicked`, `email.scheduled`,
    /// `email.received`, `contact.*`, `domain.*`, …), named: answered and ignored.
    Other(String),
}

/// A Resend webhook event, read from its body after [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// What happened.
    pub kind: DeliveryKind,
    /// `data.email_id`: Resend's id of the email, the id [`super::resend::ResendClient::send`]
    /// returned. Never empty for `email.*` events; empty for events not about an email
    /// (`contact.*`, `domain.*`, whose kind is [`DeliveryKind::Other`]).
    pub email_id: String,
    /// `data.to`: the recipients the event is about.
    pub to: Vec<String>,
    /// The event's `created_at` (ISO 8601), as sent.
    pub created_at: String,
    /// `data.bounce.type` of a bounce: `Permanent` (hard), `Transient` (soft) or
    /// `Undetermined`.
    pub bounce_type: Option<String>,
    /// `data.bounce.subType` of a bounce, e.g. `General`, `NoEmail`, `Suppressed`,
    /// `MailboxFull`.
    pub bounce_sub_type: Option<String>,
    /// The provider's words, for the log: `data.bounce.message` of a bounce,
    /// `data.failed.reason` of a failure, `data.suppressed.message` of a suppression.
    pub detail: Option<String>,
    /// `data.tags` as `(name, value)` pairs, sorted by name (Resend sends an object).
    pub tags: Vec<(String, String)>,
}

/// Why a (verified) webhook body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Not JSON, or not an event (`type`, `created_at`, `data`).
    #[error("the body is not a Resend webhook event: {message}")]
    Envelope {
        /// Where and why it did not fit.
        message: String,
    },
    /// An `email.*` event whose `data` lacks what every email event has (`email_id`), or
    /// has it in another type.
    #[error("the data of event {kind} could not be read: {message}")]
    Data {
        /// The event's type.
        kind: String,
        /// Where and why it did not fit.
        message: String,
    },
}

/// The envelope as it arrives.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    data: serde_json::Value,
}

/// The `data` of an `email.*` event, reduced to what Nexus reads.
#[derive(Debug, Deserialize)]
struct EmailData {
    email_id: String,
    #[serde(default)]
    to: Recipients,
    bounce: Option<Bounce>,
    failed: Option<Failed>,
    suppressed: Option<Suppressed>,
    tags: Option<serde_json::Value>,
}

/// `to`: documented as an array; a lone string is read too.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Recipients {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct Bounce {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "subType")]
    sub_type: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Failed {
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Suppressed {
    message: Option<String>,
}

/// Reads a (verified) webhook body: the envelope, and for `email.*` events the email's id,
/// recipients, tags and the bounce, failure or suppression details. Fields Nexus does not
/// read are ignored, so additive changes do not break it; `data` of other events is not
/// read at all.
///
/// # Errors
/// See [`WebhookError`].
pub fn parse_event(body: &[u8]) -> Result<DeliveryEvent, WebhookError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope =
        serde_path_to_error::deserialize(&mut json).map_err(|e| WebhookError::Envelope {
            message: e.to_string(),
        })?;
    json.end().map_err(|e| WebhookError::Envelope {
        message: e.to_string(),
    })?;
    let Envelope {
        kind,
        created_at,
        data,
    } = envelope;
    if !kind.starts_with("email.") {
        return Ok(DeliveryEvent {
            kind: DeliveryKind::Other(kind),
            email_id: String::new(),
            to: Vec::new(),
            created_at,
            bounce_type: None,
            bounce_sub_type: None,
            detail: None,
            tags: Vec::new(),
        });
    }
    let data: EmailData = match serde_path_to_error::deserialize(data) {
        Ok(data) => data,
        Err(e) => {
            return Err(WebhookError::Data {
                kind,
                message: e.to_string(),
            });
        }
    };
    if data.email_id.is_empty() {
        return Err(WebhookError::Data {
            kind,
            message: "email_id is empty".to_owned(),
        });
    }
    let (bounce_type, bounce_sub_type, bounce_message) = match data.bounce {
        Some(b) => (b.kind, b.sub_type, b.message),
        None => (None, None, None),
    };
    let (kind, detail) = match kind.as_str() {
        "email.sent" => (DeliveryKind::Sent, None),
        "email.delivered" => (DeliveryKind::Delivered, None),
        "email.delivery_delayed" => (DeliveryKind::DeliveryDelayed, None),
        "email.bounced" => (
            DeliveryKind::Bounced {
                permanent: bounce_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("Permanent")),
            },
            bounce_message,
        ),
        "email.complained" => (DeliveryKind::Complained, None),
        "email.failed" => (DeliveryKind::Failed, data.failed.and_then(|f| f.reason)),
        "email.suppressed" => (
            DeliveryKind::Suppressed,
            data.suppressed.and_then(|s| s.message),
        ),
        _ => (DeliveryKind::Other(kind), None),
    };
    let bounced = matches!(kind, DeliveryKind::Bounced { .. });
    Ok(DeliveryEvent {
        kind,
        email_id: data.email_id,
        to: match data.to {
            Recipients::None => Vec::new(),
            Recipients::One(to) => vec![to],
            Recipients::Many(to) => to,
        },
        created_at,
        bounce_type: bounce_type.filter(|_| bounced),
        bounce_sub_type: bounce_sub_type.filter(|_| bounced),
        detail,
        tags: data.tags.map(read_tags).unwrap_or_default(),
    })
}

/// Tags as sent (an object `{name: value}`), or as the send request has them (an array of
/// `{name, value}`); other shapes and non-string values are skipped: tags only annotate.
fn read_tags(tags: serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let mut pairs: Vec<(String, String)> = match tags {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(name, value)| match value {
                Value::String(value) => Some((name, value)),
                _ => None,
            })
            .collect(),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| {
                let name = item.get("name")?.as_str()?.to_owned();
                let value = item.get("value")?.as_str()?.to_owned();
                Some((name, value))
            })
            .collect(),
        _ => Vec::new(),
    };
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/resend/");

    fn file(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DATA}{name}")).unwrap()
    }

    struct Vector {
        secret: String,
        id: String,
        timestamp: i64,
        payload: String,
        signature: String,
    }

    fn vectors() -> Vec<Vector> {
        let all: Vec<Value> = serde_json::from_slice(&file("svix_signature_vectors.json")).unwrap();
        all.iter()
            .map(|v| Vector {
                secret: v["secret"].as_str().unwrap().to_owned(),
                id: v["msg_id"].as_str().unwrap().to_owned(),
                timestamp: v["timestamp"].as_i64().unwrap(),
                payload: v["payload"].as_str().unwrap().to_owned(),
                signature: v["signature"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    /// The Svix docs' vector (the first in the file).
    fn docs_vector() -> Vector {
        vectors().swap_remove(0)
    }

    impl Vector {
        fn verify_at(&self, now: i64) -> Result<(), SvixError> {
            self.verify_with(&self.signature, self.payload.as_bytes(), &self.secret, now)
        }

        fn verify_with(
            &self,
            signatures: &str,
            body: &[u8],
            secret: &str,
            now: i64,
        ) -> Result<(), SvixError> {
            verify(
                Some(&self.id),
                Some(&self.timestamp.to_string()),
                Some(signatures),
                body,
                secret,
                now,
            )
        }
    }

    #[test]
    fn the_official_vectors_verify_and_sign_alike() {
        let all = vectors();
        assert_eq!(all.len(), 3);
        for v in &all {
            assert_eq!(v.verify_at(v.timestamp), Ok(()), "{}", v.id);
            assert_eq!(
                sign(&v.secret, &v.id, v.timestamp, v.payload.as_bytes()).as_deref(),
                Ok(v.signature.as_str()),
                "{}",
                v.id
            );
            // The libraries accept the secret without its prefix too.
            let bare = v.secret.strip_prefix(SECRET_PREFIX).unwrap();
            assert_eq!(
                v.verify_with(&v.signature, v.payload.as_bytes(), bare, v.timestamp),
                Ok(())
            );
        }
    }

    #[test]
    fn timestamps_more_than_300_s_off_either_way_are_stale() {
        let v = docs_vector();
        assert_eq!(v.verify_at(v.timestamp + 300), Ok(()));
        assert_eq!(v.verify_at(v.timestamp - 300), Ok(()));
        assert_eq!(
            v.verify_at(v.timestamp + 301),
            Err(SvixError::Stale {
                timestamp: v.timestamp,
                age: 301
            })
        );
        assert_eq!(
            v.verify_at(v.timestamp - 301),
            Err(SvixError::Stale {
                timestamp: v.timestamp,
                age: -301
            })
        );
        // Far off clocks do not overflow.
        for now in [i64::MIN, i64::MAX, 0] {
            assert!(matches!(v.verify_at(now), Err(SvixError::Stale { .. })));
        }
    }

    #[test]
    fn a_changed_body_id_timestamp_or_secret_does_not_verify() {
        let v = docs_vector();
        let body = v.payload.as_bytes();
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut changed = body.to_vec();
            changed[at] ^= 0x01;
            assert_eq!(
                v.verify_with(&v.signature, &changed, &v.secret, v.timestamp),
                Err(SvixError::Mismatch),
                "byte {at}"
            );
        }
        let mut longer = body.to_vec();
        longer.push(b'\n');
        assert_eq!(
            v.verify_with(&v.signature, &longer, &v.secret, v.timestamp),
            Err(SvixError::Mismatch)
        );
        // The id and the timestamp are signed too.
        let moved = verify(
            Some("msg_loFOjxBNrRLzqYUg"),
            Some(&v.timestamp.to_string()),
            Some(&v.signature),
            body,
            &v.secret,
            v.timestamp,
        );
        assert_eq!(moved, Err(SvixError::Mismatch));
        let later = (v.timestamp + 1).to_string();
        let moved = verify(
            Some(&v.id),
            Some(&later),
            Some(&v.signature),
            body,
            &v.secret,
            v.timestamp,
        );
        assert_eq!(moved, Err(SvixError::Mismatch));
        // Another valid secret (the libraries' vector's).
        let other = &vectors()[1].secret;
        assert_eq!(
            v.verify_with(&v.signature, body, other, v.timestamp),
            Err(SvixError::Mismatch)
        );
        // The signature is checked before the clock: a forged, stale delivery says only
        // that it does not match.
        let mut forged = v.signature.clone();
        forged.replace_range(5..6, if &forged[5..6] == "A" { "B" } else { "A" });
        assert_eq!(
            v.verify_with(&forged, body, &v.secret, v.timestamp + 10_000),
            Err(SvixError::Mismatch)
        );
    }

    #[test]
    fn one_matching_v1_among_several_is_enough() {
        let v = docs_vector();
        let other = sign(
            &vectors()[1].secret,
            &v.id,
            v.timestamp,
            v.payload.as_bytes(),
        )
        .unwrap();
        let value = v.signature.strip_prefix("v1,").unwrap();
        for header in [
            format!("{other} {}", v.signature),
            format!("{} {other}", v.signature),
            format!("v2,{value} {other}  {} v1,bm9wZQ==", v.signature),
            // Svix's own multi-signature test shape: junk v1 and v2 around the right one.
            format!(
                "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                v.signature
            ),
        ] {
            assert_eq!(
                v.verify_with(&header, v.payload.as_bytes(), &v.secret, v.timestamp),
                Ok(()),
                "{header}"
            );
        }
        // The right value under another version does not count.
        assert_eq!(
            v.verify_with(
                &format!("v2,{value} {other}"),
                v.payload.as_bytes(),
                &v.secret,
                v.timestamp
            ),
            Err(SvixError::Mismatch)
        );
        // Svix's partial-signature cases: the version alone, or the first bytes.
        for partial in [
            "v1,",
            &v.signature[..8],
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        ] {
            assert_eq!(
                v.verify_with(partial, v.payload.as_bytes(), &v.secret, v.timestamp),
                Err(SvixError::Mismatch),
                "{partial}"
            );
        }
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let v = docs_vector();
        let body = v.payload.as_bytes();
        let ts = v.timestamp.to_string();
        let at = |id, ts, sig| verify(id, ts, sig, body, &v.secret, v.timestamp);
        let (id, sig) = (Some(v.id.as_str()), Some(v.signature.as_str()));
        assert_eq!(at(None, Some(&ts), sig), Err(SvixError::Missing("svix-id")));
        assert_eq!(at(id, None, sig), Err(SvixError::Missing("svix-timestamp")));
        assert_eq!(
            at(id, Some(&ts), None),
            Err(SvixError::Missing("svix-signature"))
        );
        for bad_ts in [
            "",
            "hello",
            "-1",
            "+1731705121",
            "1731705121.0",
            " 1731705121",
            "1234567890123",
        ] {
            assert!(
                matches!(at(id, Some(bad_ts), sig), Err(SvixError::Malformed { .. })),
                "{bad_ts:?}"
            );
        }
        let long = "m".repeat(257);
        for bad_id in ["", "msg 1", "msg_\n1", "müsg", &long] {
            assert!(
                matches!(
                    at(Some(bad_id), Some(&ts), sig),
                    Err(SvixError::Malformed { .. })
                ),
                "{bad_id:?}"
            );
        }
        for bad_sig in ["", " ", "g0hM9SsE+OTPJTGt", "v2,abc", "v1", "V1,abc"] {
            assert!(
                matches!(
                    at(id, Some(&ts), Some(bad_sig)),
                    Err(SvixError::Malformed { .. })
                ),
                "{bad_sig:?}"
            );
        }
    }

    #[test]
    fn secrets_must_be_whsec_and_base64() {
        for bad in [
            "",
            "whsec_",
            "whsec_!!!",
            "whsec_abc",
            "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert_eq!(check_secret(bad), Err(SvixError::BadSecret), "{bad:?}");
            assert_eq!(sign(bad, "msg_1", 1, b"{}"), Err(SvixError::BadSecret));
            let v = docs_vector();
            assert_eq!(
                v.verify_with(&v.signature, v.payload.as_bytes(), bad, v.timestamp),
                Err(SvixError::BadSecret)
            );
        }
        assert_eq!(check_secret(&docs_vector().secret), Ok(()));
        assert_eq!(
            format!("{:?}", Key::decode("whsec_c2VjcmV0").unwrap()),
            "Key(REDACTED)"
        );
    }

    #[test]
    fn sign_round_trips() {
        let secret = "whsec_c2VjcmV0LW9mLWEtdGVzdC1lbmRwb2ludA==";
        for (id, ts, body) in [
            ("msg_1", 1_767_225_600, &b"{}"[..]),
            ("msg_2VtH0tOa1z", 0, b""),
            ("a.b", 999_999_999_999, b"not json \xff\x00 at all"),
        ] {
            let signature = sign(secret, id, ts, body).unwrap();
            assert!(signature.starts_with("v1,"), "{signature}");
            assert_eq!(signature.len(), 3 + 44);
            let t = ts.to_string();
            assert_eq!(
                verify(Some(id), Some(&t), Some(&signature), body, secret, ts),
                Ok(())
            );
            assert_eq!(
                verify(Some(id), Some(&t), Some(&signature), b"{ }", secret, ts),
                Err(SvixError::Mismatch)
            );
        }
    }

    /// The kind each documented type must read as.
    fn expected_kind(kind: &str, json: &Value) -> DeliveryKind {
        match kind {
            "email.sent" => DeliveryKind::Sent,
            "email.delivered" => DeliveryKind::Delivered,
            "email.delivery_delayed" => DeliveryKind::DeliveryDelayed,
            "email.bounced" => DeliveryKind::Bounced {
                permanent: json.pointer("/data/bounce/type") == Some(&json!("Permanent")),
            },
            "email.complained" => DeliveryKind::Complained,
            "email.failed" => DeliveryKind::Failed,
            "email.suppressed" => DeliveryKind::Suppressed,
            other => DeliveryKind::Other(other.to_owned()),
        }
    }

    #[test]
    fn every_documented_webhook_reads_as_its_kind() {
        let mut names: Vec<String> = std::fs::read_dir(Path::new(DATA))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("webhook_"))
            .collect();
        names.sort();
        assert_eq!(names.len(), 12, "{names:?}");
        for name in &names {
            let body = file(name);
            let json: Value = serde_json::from_slice(&body).unwrap();
            let kind = json["type"].as_str().unwrap();
            let event = parse_event(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(event.kind, expected_kind(kind, &json), "{name}");
            assert_eq!(Some(event.created_at.as_str()), json["created_at"].as_str());
            if kind.starts_with("email.") {
                assert_eq!(
                    Some(event.email_id.as_str()),
                    json["data"]["email_id"].as_str()
                );
                let to: Vec<String> = serde_json::from_value(json["data"]["to"].clone()).unwrap();
                assert_eq!(event.to, to, "{name}");
                assert!(!event.to.is_empty());
            } else {
                assert_eq!((event.email_id.as_str(), event.to.len()), ("", 0));
            }
        }
    }

    #[test]
    fn bounces_are_hard_only_when_permanent() {
        let docs = parse_event(&file("webhook_email_bounced.json")).unwrap();
        assert_eq!(docs.kind, DeliveryKind::Bounced { permanent: true });
        assert_eq!(docs.bounce_type.as_deref(), Some("Permanent"));
        assert_eq!(docs.bounce_sub_type.as_deref(), Some("Suppressed"));
        assert!(docs.detail.as_deref().unwrap().contains("suppression list"));
        assert_eq!(
            docs.tags,
            vec![("category".to_owned(), "confirm_email".to_owned())]
        );

        // The SDK's payload: diagnosticCode as a string.
        let sdk = parse_event(&file("webhook_email_bounced_sdk.json")).unwrap();
        assert_eq!(sdk.kind, DeliveryKind::Bounced { permanent: true });
        assert_eq!(
            (sdk.email_id.as_str(), sdk.to.as_slice()),
            ("123", &["bounced@resend.dev".to_owned()][..])
        );
        assert_eq!(sdk.bounce_sub_type.as_deref(), Some("General"));
        assert_eq!(sdk.detail.as_deref(), Some("The recipient does not exist."));

        // A soft bounce (diagnosticCode as an array).
        let soft = parse_event(&file("webhook_email_bounced_transient.json")).unwrap();
        assert_eq!(soft.kind, DeliveryKind::Bounced { permanent: false });
        assert_eq!(soft.bounce_type.as_deref(), Some("Transient"));
        assert_eq!(soft.bounce_sub_type.as_deref(), Some("MailboxFull"));

        let mut json: Value = serde_json::from_slice(&file("webhook_email_bounced.json")).unwrap();
        for (kind, permanent) in [
            ("Undetermined", false),
            ("Temporary", false),
            ("permanent", true),
        ] {
            json["data"]["bounce"]["type"] = json!(kind);
            let event = parse_event(json.to_string().as_bytes()).unwrap();
            assert_eq!(event.kind, DeliveryKind::Bounced { permanent }, "{kind}");
        }
        // Without details, the event's documented meaning: a permanent rejection.
        json["data"].as_object_mut().unwrap().remove("bounce");
        let bare = parse_event(json.to_string().as_bytes()).unwrap();
        assert_eq!(bare.kind, DeliveryKind::Bounced { permanent: true });
        assert_eq!((bare.bounce_type, bare.detail), (None, None));
    }

    #[test]
    fn failures_and_suppressions_carry_resends_words() {
        let failed = parse_event(&file("webhook_email_failed.json")).unwrap();
        assert_eq!(failed.kind, DeliveryKind::Failed);
        assert_eq!(failed.detail.as_deref(), Some("reached_daily_quota"));
        assert_eq!(failed.bounce_type, None);
        let suppressed = parse_event(&file("webhook_email_suppressed.json")).unwrap();
        assert_eq!(suppressed.kind, DeliveryKind::Suppressed);
        assert!(
            suppressed
                .detail
                .as_deref()
                .unwrap()
                .starts_with("Resend has suppressed")
        );
        let sent = parse_event(&file("webhook_email_sent.json")).unwrap();
        assert_eq!((sent.detail, sent.bounce_type), (None, None));
    }

    #[test]
    fn tags_read_as_object_or_array_and_odd_shapes_are_skipped() {
        let mut json: Value =
            serde_json::from_slice(&file("webhook_email_delivered.json")).unwrap();
        let pairs = |json: &Value| parse_event(json.to_string().as_bytes()).unwrap().tags;
        json["data"]["tags"] = json!({"user_id": "u1", "category": "welcome", "n": 5});
        assert_eq!(
            pairs(&json),
            vec![
                ("category".to_owned(), "welcome".to_owned()),
                ("user_id".to_owned(), "u1".to_owned())
            ]
        );
        json["data"]["tags"] =
            json!([{"name": "b", "value": "2"}, {"name": "a", "value": "1"}, {"name": "x"}, 7]);
        assert_eq!(
            pairs(&json),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
        for odd in [json!("category"), json!(null), json!(3)] {
            json["data"]["tags"] = odd;
            assert!(pairs(&json).is_empty());
        }
        // A lone recipient string is read too.
        json["data"]["to"] = json!("one@example.com");
        let event = parse_event(json.to_string().as_bytes()).unwrap();
        assert_eq!(event.to, vec!["one@example.com".to_owned()]);
    }

    #[test]
    fn bodies_that_are_not_events_are_refused_with_the_reason() {
        for (body, needle) in [
            (&b""[..], "EOF"),
            (b"not json", "expected"),
            (b"[]", "Envelope"),
            (br#"{"created_at":"x","data":{}}"#, "type"),
            (br#"{"type":"email.sent","data":{}}"#, "created_at"),
            (br#"{"type":"email.sent","created_at":"x"}"#, "data"),
            (br#"{"type":7,"created_at":"x","data":{}}"#, "type"),
            (
                br#"{"type":"email.sent","created_at":"x","data":{}} x"#,
                "trailing",
            ),
        ] {
            let error = parse_event(body).unwrap_err();
            assert!(matches!(error, WebhookError::Envelope { .. }), "{error:?}");
            assert!(error.to_string().contains(needle), "{error}");
        }
        for (data, needle) in [
            (json!({}), "email_id"),
            (json!({"email_id": ""}), "empty"),
            (json!({"email_id": 5}), "email_id"),
            (json!({"email_id": "e", "to": 5}), "to"),
            (json!({"email_id": "e", "bounce": "hard"}), "bounce"),
            (
                json!({"email_id": "e", "bounce": {"type": 1}}),
                "bounce.type",
            ),
            (json!(null), "invalid type"),
        ] {
            let body = json!({"type": "email.bounced", "created_at": "x", "data": data});
            let error = parse_event(body.to_string().as_bytes()).unwrap_err();
            let WebhookError::Data { kind, message } = &error else {
                panic!("{error:?}")
            };
            assert_eq!(kind, "email.bounced");
            assert!(message.contains(needle), "{message}");
        }
        // Other events' data is not read.
        let other = json!({"type": "domain.created", "created_at": "x", "data": null});
        assert_eq!(
            parse_event(other.to_string().as_bytes()).unwrap().kind,
            DeliveryKind::Other("domain.created".to_owned())
        );
    }
}
