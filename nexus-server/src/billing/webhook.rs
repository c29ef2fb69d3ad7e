//! Stripe's webhooks: [`verify`] checks the `Stripe-Signature` header on the raw body
//! (before any JSON is read), and [`parse_event`] reads the envelope
//! `{id, type, created, data.object}` with the object read by the event's type.
//!
//! The scheme (stripe-go `webhook/client.go`): `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`,
//! where `v1` is `hex(HMAC-SHA256(key = the endpoint secret "whsec_…" as bytes,
//! message = "<t>." + body))`. While a secret is rolled Stripe sends one `v1` per secret;
//! any one matching is enough. `v0` and unknown schemes are ignored. A timestamp more than
//! [`TOLERANCE_SECS`] from the server's clock, either way, is refused.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::stripe::{StripeInvoice, StripeSubscription, wire};

/// How far a signature's timestamp may be from the server's clock, either way (5 minutes,
/// Stripe's default tolerance).
pub const TOLERANCE_SECS: i64 = 300;

/// The header carrying the signature (lower case, as HTTP/2 sends it).
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Why a webhook's signature was refused. Every case means `400 invalid_signature`; the
/// cases exist for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    #[error("the Stripe-Signature header is missing")]
    Missing,
    /// The header is not `t=…,v1=…`.
    #[error("the Stripe-Signature header is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The signature is right but its timestamp is too far from now (a replay, or a clock
    /// that is off).
    #[error("the signature's timestamp is {age} s from now, beyond {TOLERANCE_SECS} s")]
    Stale {
        /// The header's `t`.
        timestamp: i64,
        /// `now - t` (negative: ahead of the server's clock).
        age: i64,
    },
    /// No `v1` matches the body and the secret.
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// Checks the `Stripe-Signature` header `header` over the raw `body` with the endpoint's
/// signing secret (`whsec_…`, the whole string is the HMAC key) at `now_unix` (Unix
/// seconds). The HMAC is compared in constant time, and before the timestamp, so only a
/// holder of the secret learns that a timestamp was refused.
///
/// ```
/// use nexus_server::billing::webhook::{signature_header, verify, SignatureError};
///
/// let body = br#"{"id":"evt_1"}"#;
/// let header = signature_header("whsec_test_secret", 1_767_225_600, body);
/// assert_eq!(verify(Some(&header), body, "whsec_test_secret", 1_767_225_660), Ok(()));
/// assert_eq!(
///     verify(Some(&header), body, "whsec_other", 1_767_225_660),
///     Err(SignatureError::Mismatch)
/// );
/// ```
///
/// # Errors
/// See [`SignatureError`].
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now_unix: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let (timestamp, signatures) = parse_header(header)?;
    let mac = signed(secret, timestamp, body);
    // `verify_slice` compares in constant time.
    if !signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
    {
        return Err(SignatureError::Mismatch);
    }
    let age = now_unix.saturating_sub(timestamp);
    if age.unsigned_abs() > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale { timestamp, age });
    }
    Ok(())
}

/// The `Stripe-Signature` value Stripe would send for `body` at `t` (one `v1`): for tests,
/// fuzzing and the documentation.
#[must_use]
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mac = signed(secret, t, body).finalize().into_bytes();
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// The HMAC of `"<t>." + body` keyed with the secret's bytes.
fn signed(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header's `t` and its `v1` signatures that are 64 hex digits (others are ignored,
/// as stripe-go does).
fn parse_header(header: &str) -> Result<(i64, Vec<[u8; 32]>), SignatureError> {
    let malformed = |reason| SignatureError::Malformed { reason };
    let mut timestamp = None;
    let mut signatures = Vec::new();
    let mut any_v1 = false;
    for element in header.split(',') {
        let (name, value) = element
            .trim()
            .split_once('=')
            .ok_or(malformed("each element is name=value"))?;
        match name {
            "t" if timestamp.is_some() => return Err(malformed("t is given twice")),
            "t" => {
                // Digits only, and few enough to be seconds of this era or near it.
                if value.is_empty()
                    || value.len() > 12
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(malformed("t is not a whole number of seconds"));
                }
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| malformed("t is not a whole number of seconds"))?,
                );
            }
            "v1" => {
                any_v1 = true;
                if let Some(signature) = unhex32(value) {
                    signatures.push(signature);
                }
            }
            // v0 (test mode's legacy scheme) and schemes of the future.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(malformed("t is missing"))?;
    if !any_v1 {
        return Err(malformed("there is no v1 signature"));
    }
    Ok((timestamp, signatures))
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

/// A Stripe event: the envelope, with the object read by the event's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `evt_…`: the key that makes handling an event once possible (Stripe may deliver it
    /// more than once).
    pub id: String,
    /// The event's `type`, e.g. `customer.subscription.updated`.
    pub kind: String,
    /// When the event happened (Unix seconds): orders snapshots, since deliveries are not
    /// in order.
    pub created: i64,
    /// `data.object`, read by `kind`.
    pub object: EventObject,
}

/// An event's `data.object`, as far as Nexus reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventObject {
    /// `customer.subscription.*`: a full snapshot of the subscription.
    Subscription(StripeSubscription),
    /// `invoice.*`.
    Invoice(StripeInvoice),
    /// `checkout.session.*`: links the user (`client_reference_id`) to the customer and
    /// the subscription.
    CheckoutSession {
        /// `cs_…`.
        id: String,
        /// The customer (`cus_…`).
        customer: Option<String>,
        /// The subscription created (`sub_…`), once the session completed.
        subscription: Option<String>,
        /// The Nexus user id Checkout was opened with.
        client_reference_id: Option<String>,
    },
    /// Any other type: answered and ignored.
    Other,
}

/// Why a webhook's body could not be read (after its signature was checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or not an event (`id`, `type`, `created`, `data.object`).
    #[error("the body is not a Stripe event: {message}")]
    Envelope {
        /// Where and why it did not fit.
        message: String,
    },
    /// An event whose object does not have the fields its type promises.
    #[error("the object of event {id} ({kind}) could not be read: {message}")]
    Object {
        /// The event's id.
        id: String,
        /// The event's type.
        kind: String,
        /// Where and why it did not fit.
        message: String,
    },
}

/// The envelope as it arrives.
#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    object: serde_json::Value,
}

/// Reads a (verified) webhook body: the envelope, and `data.object` as a subscription for
/// `customer.subscription.*`, an invoice for `invoice.*`, a Checkout session for
/// `checkout.session.*`; other types are [`EventObject::Other`]. Fields Nexus does not
/// read are ignored, so additive API changes do not break it.
///
/// # Errors
/// See [`EventError`].
pub fn parse_event(body: &[u8]) -> Result<Event, EventError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope =
        serde_path_to_error::deserialize(&mut json).map_err(|e| EventError::Envelope {
            message: e.to_string(),
        })?;
    json.end().map_err(|e| EventError::Envelope {
        message: e.to_string(),
    })?;
    let Envelope {
        id,
        kind,
        created,
        data,
    } = envelope;
    let object = match read_object(&kind, data.object) {
        Ok(object) => object,
        Err(message) => return Err(EventError::Object { id, kind, message }),
    };
    Ok(Event {
        id,
        kind,
        created,
        object,
    })
}

/// `data.object` read by the event's type.
fn read_object(kind: &str, object: serde_json::Value) -> Result<EventObject, String> {
    fn read<T: DeserializeOwned>(object: serde_json::Value) -> Result<T, String> {
        serde_path_to_error::deserialize(object).map_err(|e| e.to_string())
    }
    Ok(if kind.starts_with("customer.subscription.") {
        EventObject::Subscription(read(object)?)
    } else if kind.starts_with("invoice.") {
        EventObject::Invoice(read(object)?)
    } else if kind.starts_with("checkout.session.") {
        let session: wire::CheckoutSession = read(object)?;
        EventObject::CheckoutSession {
            id: session.id,
            customer: session.customer.map(wire::Expandable::into_id),
            subscription: session.subscription.map(wire::Expandable::into_id),
            client_reference_id: session.client_reference_id,
        }
    } else {
        EventObject::Other
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;

    const VECTOR: &str = include_str!("../../test_data/stripe/webhook_signature_vector.json");

    struct Vector {
        secret: String,
        t: i64,
        header: String,
        expected_v1: String,
        payload: String,
    }

    fn vector() -> Vector {
        let v: Value = serde_json::from_str(VECTOR).unwrap();
        Vector {
            secret: v["secret"].as_str().unwrap().to_owned(),
            t: v["timestamp"].as_i64().unwrap(),
            header: v["header"].as_str().unwrap().to_owned(),
            expected_v1: v["expected_v1"].as_str().unwrap().to_owned(),
            payload: v["payload"].as_str().unwrap().to_owned(),
        }
    }

    #[test]
    fn the_official_vector_verifies() {
        let v = vector();
        // The README: serde_json's compact serialisation, 569 bytes.
        assert_eq!(v.payload.len(), 569);
        let body = v.payload.as_bytes();
        assert_eq!(verify(Some(&v.header), body, &v.secret, v.t), Ok(()));
        assert_eq!(
            signature_header(&v.secret, v.t, body),
            format!("t={},v1={}", v.t, v.expected_v1)
        );
        // At the edges of the tolerance, either way.
        assert_eq!(verify(Some(&v.header), body, &v.secret, v.t + 300), Ok(()));
        assert_eq!(verify(Some(&v.header), body, &v.secret, v.t - 300), Ok(()));
    }

    #[test]
    fn a_changed_body_or_secret_does_not_verify() {
        let v = vector();
        let body = v.payload.as_bytes();
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut changed = body.to_vec();
            changed[at] ^= 0x01;
            assert_eq!(
                verify(Some(&v.header), &changed, &v.secret, v.t),
                Err(SignatureError::Mismatch),
                "byte {at}"
            );
        }
        let mut longer = body.to_vec();
        longer.push(b'\n');
        assert_eq!(
            verify(Some(&v.header), &longer, &v.secret, v.t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&v.header), body, "secreT", v.t),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too.
        let moved = v
            .header
            .replacen(&v.t.to_string(), &(v.t + 1).to_string(), 1);
        assert_eq!(
            verify(Some(&moved), body, &v.secret, v.t),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn timestamps_more_than_300_s_off_either_way_are_stale() {
        let v = vector();
        let body = v.payload.as_bytes();
        assert_eq!(
            verify(Some(&v.header), body, &v.secret, v.t + 301),
            Err(SignatureError::Stale {
                timestamp: v.t,
                age: 301
            })
        );
        assert_eq!(
            verify(Some(&v.header), body, &v.secret, v.t - 301),
            Err(SignatureError::Stale {
                timestamp: v.t,
                age: -301
            })
        );
        // Far off clocks do not overflow.
        for now in [i64::MIN, i64::MAX] {
            assert!(matches!(
                verify(Some(&v.header), body, &v.secret, now),
                Err(SignatureError::Stale { .. })
            ));
        }
        // A wrong signature is a mismatch whatever the time.
        assert_eq!(
            verify(Some(&v.header), body, "other", v.t + 301),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let v = vector();
        let body = v.payload.as_bytes();
        let wrong = "0".repeat(64);
        let rolled = format!("t={},v1={wrong},v1={}", v.t, v.expected_v1);
        assert_eq!(verify(Some(&rolled), body, &v.secret, v.t), Ok(()));
        let unknown = format!("t={},v9=abc,v1=nothex,v1={}", v.t, v.expected_v1);
        assert_eq!(verify(Some(&unknown), body, &v.secret, v.t), Ok(()));
        let wrong_only = format!("t={},v1={wrong}", v.t);
        assert_eq!(
            verify(Some(&wrong_only), body, &v.secret, v.t),
            Err(SignatureError::Mismatch)
        );

        // Only the v0 of the vector's header: no v1 to check.
        let v0 = v
            .header
            .split(',')
            .filter(|e| !e.starts_with("v1="))
            .collect::<Vec<_>>()
            .join(",");
        assert!(v0.contains("v0=") && !v0.contains("v1="), "{v0}");
        assert!(matches!(
            verify(Some(&v0), body, &v.secret, v.t),
            Err(SignatureError::Malformed { .. })
        ));
        // A v0 made with the v1 scheme is still not a v1.
        let as_v0 = format!("t={},v0={}", v.t, v.expected_v1);
        assert!(matches!(
            verify(Some(&as_v0), body, &v.secret, v.t),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn garbage_headers_are_refused() {
        let v = vector();
        let body = v.payload.as_bytes();
        assert_eq!(
            verify(None, body, &v.secret, v.t),
            Err(SignatureError::Missing)
        );
        let t = v.t;
        let good = &v.expected_v1;
        for header in [
            String::new(),
            " ".to_owned(),
            ",".to_owned(),
            "garbage".to_owned(),
            format!("v1={good}"),
            format!("t=,v1={good}"),
            format!("t=-{t},v1={good}"),
            format!("t=+{t},v1={good}"),
            format!("t={t}.5,v1={good}"),
            format!("t=1e9,v1={good}"),
            format!("t=9999999999999,v1={good}"),
            format!("t={t},t={t},v1={good}"),
            format!("t={t};v1={good}"),
            format!("t={t},v1={good},junk"),
            format!("t={t}"),
        ] {
            let result = verify(Some(&header), body, &v.secret, v.t);
            assert!(
                matches!(result, Err(SignatureError::Malformed { .. })),
                "{header:?}: {result:?}"
            );
        }
        for header in [
            format!("t={t},v1="),
            format!("t={t},v1={}", &good[..63]),
            format!("t={t},v1={good}00"),
            format!("t={t},v1={}", good.to_uppercase().replace('A', "G")),
        ] {
            assert_eq!(
                verify(Some(&header), body, &v.secret, v.t),
                Err(SignatureError::Mismatch),
                "{header:?}"
            );
        }
    }

    #[test]
    fn signature_headers_round_trip() {
        let secret = "whsec_test_secret";
        for (t, body) in [
            (1_767_225_600, &b"{}"[..]),
            (0, &b""[..]),
            (1_767_830_460, "caf\u{e9} \u{1F600}".as_bytes()),
        ] {
            let header = signature_header(secret, t, body);
            assert_eq!(verify(Some(&header), body, secret, t), Ok(()));
            assert_eq!(
                verify(Some(&header), body, "whsec_test_secreT", t),
                Err(SignatureError::Mismatch)
            );
        }
    }

    fn data_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/stripe")
    }

    fn read(name: &str) -> (Vec<u8>, Value) {
        let bytes = std::fs::read(data_dir().join(name)).unwrap();
        let value = serde_json::from_slice(&bytes).unwrap();
        (bytes, value)
    }

    fn s<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
        value.pointer(pointer).and_then(Value::as_str)
    }

    fn n(value: &Value, pointer: &str) -> Option<i64> {
        value.pointer(pointer).and_then(Value::as_i64)
    }

    /// Checks `event` against the JSON it was read from; says which variant it was.
    fn matches_json(event: &Event, json: &Value) -> &'static str {
        assert_eq!(Some(event.id.as_str()), s(json, "/id"));
        assert_eq!(Some(event.kind.as_str()), s(json, "/type"));
        assert_eq!(Some(event.created), n(json, "/created"));
        let object = &json["data"]["object"];
        match &event.object {
            EventObject::Subscription(sub) => {
                assert_eq!(Some(sub.id.as_str()), s(object, "/id"));
                assert_eq!(Some(sub.customer.as_str()), s(object, "/customer"));
                assert_eq!(Some(sub.status.as_str()), s(object, "/status"));
                assert_eq!(sub.price.as_deref(), s(object, "/items/data/0/price/id"));
                assert_eq!(sub.user.as_deref(), s(object, "/metadata/nexus_user_id"));
                assert_eq!(sub.trial_start, n(object, "/trial_start"));
                assert_eq!(sub.trial_end, n(object, "/trial_end"));
                assert_eq!(
                    sub.current_period_end,
                    n(object, "/items/data/0/current_period_end")
                );
                assert!(sub.current_period_end.is_some());
                assert_eq!(
                    Some(sub.cancel_at_period_end),
                    object["cancel_at_period_end"].as_bool()
                );
                "subscription"
            }
            EventObject::Invoice(invoice) => {
                assert_eq!(Some(invoice.id.as_str()), s(object, "/id"));
                assert_eq!(invoice.customer.as_deref(), s(object, "/customer"));
                assert_eq!(invoice.status.as_deref(), s(object, "/status"));
                assert_eq!(Some(invoice.amount_paid), n(object, "/amount_paid"));
                assert_eq!(invoice.period_end, n(object, "/lines/data/0/period/end"));
                assert_eq!(
                    invoice.period_start,
                    n(object, "/lines/data/0/period/start")
                );
                let subscription_parent = s(object, "/parent/type") == Some("subscription_details");
                let expected = subscription_parent
                    .then(|| s(object, "/parent/subscription_details/subscription"))
                    .flatten();
                assert_eq!(invoice.subscription.as_deref(), expected);
                "invoice"
            }
            EventObject::CheckoutSession {
                id,
                customer,
                subscription,
                client_reference_id,
            } => {
                assert_eq!(Some(id.as_str()), s(object, "/id"));
                assert_eq!(customer.as_deref(), s(object, "/customer"));
                assert_eq!(subscription.as_deref(), s(object, "/subscription"));
                assert_eq!(
                    client_reference_id.as_deref(),
                    s(object, "/client_reference_id")
                );
                "checkout"
            }
            EventObject::Other => "other",
        }
    }

    #[test]
    fn every_documented_event_reads_to_its_variant() {
        let mut names: Vec<String> = std::fs::read_dir(data_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("evt_") && n.ends_with(".json"))
            .collect();
        names.sort();
        assert_eq!(names.len(), 10, "{names:?}");
        let mut subscription_ids = Vec::new();
        for name in &names {
            let (bytes, json) = read(name);
            let event = parse_event(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The file's name says what it holds (evt_04_invoice_paid_first.json).
            let expected = if name.contains("_customer_subscription_") {
                "subscription"
            } else if name.contains("_invoice_") {
                "invoice"
            } else if name.contains("_checkout_session_") {
                "checkout"
            } else {
                "other"
            };
            assert_eq!(matches_json(&event, &json), expected, "{name}");
            match &event.object {
                EventObject::Subscription(sub) => subscription_ids.push(sub.id.clone()),
                EventObject::Invoice(invoice) => {
                    assert!(invoice.subscription.is_some(), "{name}");
                    assert!(invoice.user.is_some(), "{name}");
                    subscription_ids.extend(invoice.subscription.clone());
                }
                EventObject::CheckoutSession { subscription, .. } => {
                    subscription_ids.extend(subscription.clone());
                }
                EventObject::Other => {}
            }
        }
        // One subscription's life: every event names the same subscription.
        subscription_ids.dedup();
        assert_eq!(subscription_ids.len(), 1, "{subscription_ids:?}");

        // The past-due snapshot and the failed invoice carry the renewal period.
        let (bytes, json) = read("evt_07_customer_subscription_updated_past_due.json");
        let EventObject::Subscription(sub) = parse_event(&bytes).unwrap().object else {
            panic!("not a subscription")
        };
        assert_eq!(sub.status, "past_due");
        assert_eq!(
            sub.current_period_end,
            n(&json, "/data/object/items/data/0/current_period_end")
        );
    }

    #[test]
    fn fixture_objects_read_in_an_envelope_and_other_types_are_ignored() {
        let (bytes, json) = read("fixture_event.json");
        let event = parse_event(&bytes).unwrap();
        assert_eq!(matches_json(&event, &json), "other");
        assert_eq!(event.kind, "plan.created");

        for (name, kind, variant) in [
            (
                "fixture_subscription.json",
                "customer.subscription.updated",
                "subscription",
            ),
            ("fixture_invoice.json", "invoice.finalized", "invoice"),
            (
                "fixture_checkout_session.json",
                "checkout.session.completed",
                "checkout",
            ),
            ("fixture_customer.json", "customer.created", "other"),
            (
                "fixture_billing_portal_session.json",
                "billing_portal.session.created",
                "other",
            ),
        ] {
            let (_, object) = read(name);
            let mut wrapped = json.clone();
            wrapped["type"] = json!(kind);
            wrapped["data"]["object"] = object;
            let event = parse_event(wrapped.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(matches_json(&event, &wrapped), variant, "{name}");
        }
    }

    #[test]
    fn bodies_that_are_not_events_are_errors_that_say_where() {
        for body in [
            &b""[..],
            b"null",
            b"[]",
            b"{}",
            b"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":1}",
            b"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":\"1\",\"data\":{\"object\":{}}}",
            b"{\"id\":\"evt_1\",\"type\":\"x\",\"created\":1,\"data\":{\"object\":{}}} trailing",
            b"\xff\xfe",
        ] {
            let result = parse_event(body);
            assert!(
                matches!(result, Err(EventError::Envelope { .. })),
                "{:?}: {result:?}",
                String::from_utf8_lossy(body)
            );
        }
        let wrong = br#"{"id":"evt_9","type":"invoice.paid","created":1,
            "data":{"object":{"id":"in_1","amount_due":"2900","amount_paid":0,"currency":"usd","created":1}}}"#;
        let error = parse_event(wrong).unwrap_err();
        let EventError::Object { id, kind, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!((id.as_str(), kind.as_str()), ("evt_9", "invoice.paid"));
        assert!(message.contains("amount_due"), "{message}");

        // An ignored type's object is not read at all.
        let ignored =
            br#"{"id":"evt_8","type":"invoiceitem.created","created":1,"data":{"object":7}}"#;
        assert_eq!(parse_event(ignored).unwrap().object, EventObject::Other);
    }
}
