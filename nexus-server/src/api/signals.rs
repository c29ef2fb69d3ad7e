//! `POST /api/v1/signals`: outside signals (a TradingView alert, another system) enter the
//! same fan-out as the built-in strategies. Each source is configured by the operator
//! (`NEXUS_SIGNAL_SOURCES=name=secret,…`) and proves itself with its secret: by signing
//! the request (`X-Nexus-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`,
//! checked by [`super::signature`]), or, weaker, as `token` in the body (TradingView can
//! only send a body). Bots follow a source with strategy `webhook` and
//! `strategy_config: {"source": "name"}`. A delivery repeated with the same idempotency
//! key is acknowledged and ignored.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::fanout::Signal;
use nexus_core::regime::gate::{AdvisorInput, GateAction};
use nexus_core::{ExchangeId, Secret, SignalId, Symbol};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::{err, unavailable};
use super::bodies::Invalid;
use super::keys::Exchange as ExchangeName;
use super::schema::{AnyText, IdempotencyKey, PairSymbol, SecretText, Text};
use super::signature::SignedBy;
use super::{ApiState, ErrorBody};
use crate::engine::signals::{SignalJob, WEBHOOK_STRATEGY, webhook_signal_id};

pub use super::signature::SIGNATURE_HEADER;

/// The operator's signal sources and their secrets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalSources {
    sources: Vec<(String, Secret)>,
}

/// What is wrong with the signal sources' setting. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalSourcesError {
    /// An entry without `=`.
    #[error("each source is name=secret")]
    NotAPair,
    /// A name that is not 1-64 letters, digits, `_` and `-`.
    #[error("{name:?}: names are 1-64 letters, digits, _ and -")]
    BadName {
        /// The name.
        name: String,
    },
    /// A secret shorter than 16 characters.
    #[error("{name}: the secret must be at least 16 characters")]
    ShortSecret {
        /// The source whose secret it is.
        name: String,
    },
}

/// A `webhook` bot's `strategy_config` names no valid source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source: 1-64 letters, digits, _ and -")]
pub struct BadSourceName;

impl SignalSources {
    /// Parses `name=secret` pairs separated by commas.
    ///
    /// # Errors
    /// [`SignalSourcesError`], saying what is wrong (never the secret itself).
    pub fn parse(text: &str) -> Result<Self, SignalSourcesError> {
        let mut sources = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, secret) = entry.split_once('=').ok_or(SignalSourcesError::NotAPair)?;
            let name = name.trim();
            if !valid_name(name) {
                return Err(SignalSourcesError::BadName {
                    name: name.to_owned(),
                });
            }
            if secret.trim().len() < 16 {
                return Err(SignalSourcesError::ShortSecret {
                    name: name.to_owned(),
                });
            }
            sources.push((name.to_owned(), Secret::new(secret.trim())));
        }
        Ok(Self { sources })
    }

    /// A set with one source (tests, the demo).
    #[must_use]
    pub fn single(name: &str, secret: &str) -> Self {
        Self {
            sources: vec![(name.to_owned(), Secret::new(secret))],
        }
    }

    pub(super) fn secret(&self, name: &str) -> Option<&Secret> {
        self.sources.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What a `webhook` bot's `strategy_config` holds: the source it follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The signal source's name.
    pub source: String,
}

impl WebhookConfig {
    /// The stored (canonical) text of a source's bots' parameters: `{"source":"name"}`.
    #[must_use]
    pub fn canonical(source: &str) -> String {
        // A JSON value prints infallibly, the same as the struct would serialise.
        serde_json::json!({ "source": source }).to_string()
    }

    /// Checks the source name.
    ///
    /// # Errors
    /// [`BadSourceName`].
    pub fn validate(&self) -> Result<(), BadSourceName> {
        if valid_name(&self.source) {
            Ok(())
        } else {
            Err(BadSourceName)
        }
    }
}

#[derive(Tags)]
enum SignalsTag {
    /// Outside signals (webhooks).
    Signals,
}

/// What the signal asks bots to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SignalAction {
    /// Open a position (bots already in one skip it).
    Entry,
    /// Add a pyramid level (when the bot's pyramiding allows one).
    Add,
    /// Sell what is held.
    Exit,
}

/// `POST /signals`.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct NewSignal {
    /// The source's name, as configured by the operator.
    pub source: Text<AnyText>,
    /// The source's secret, when the request is not signed (TradingView alerts, which can
    /// only send a body). Weaker than a signature: the secret itself travels with every
    /// request, and a captured request can be sent again (only its `idempotency_key` keeps
    /// a repeat from trading twice).
    #[oai(nullable)]
    pub token: Option<Text<SecretText>>,
    /// Entry, add or exit.
    pub action: SignalAction,
    /// The venue.
    pub exchange: ExchangeName,
    /// The pair, like `BTC/USDT`.
    pub symbol: Text<PairSymbol>,
    /// The sender's id for this signal: a repeated delivery with the same key is ignored.
    /// Without one, every delivery is a new signal.
    #[oai(nullable)]
    pub idempotency_key: Option<Text<IdempotencyKey>>,
}

impl poem_openapi::types::Example for NewSignal {
    fn example() -> Self {
        Self {
            source: Text::new("tv"),
            token: None,
            action: SignalAction::Entry,
            exchange: ExchangeName::Paper,
            symbol: Text::new("BTC/USDT"),
            idempotency_key: Some(Text::new("alert-42")),
        }
    }
}

impl NewSignal {
    /// The job a signal received at `at` becomes, once its source has proved itself: its
    /// symbol parsed, and its id from the idempotency key (a new one without).
    ///
    /// # Errors
    /// [`Invalid`]: `invalid_signal`, naming the field.
    pub fn job(&self, at: DateTime<Utc>) -> Result<SignalJob, Invalid> {
        let symbol: Symbol = self
            .symbol
            .trim()
            .parse()
            .map_err(|e| Invalid::new("invalid_signal", format!("symbol: {e}")))?;
        if self
            .idempotency_key
            .as_deref()
            .is_some_and(|key| key.chars().count() > 200)
        {
            return Err(Invalid::new(
                "invalid_signal",
                "idempotency_key: at most 200 characters",
            ));
        }
        let id = match self.idempotency_key.as_deref().map(str::trim) {
            Some("") => {
                return Err(Invalid::new(
                    "invalid_signal",
                    "idempotency_key: must not be empty",
                ));
            }
            Some(key) => webhook_signal_id(&self.source, key),
            None => SignalId::new(Uuid::new_v4()),
        };
        Ok(SignalJob {
            signal: Signal {
                id,
                exchange: ExchangeId::from(self.exchange),
                symbol,
                kind: match self.action {
                    SignalAction::Entry => GateAction::Entry,
                    SignalAction::Add => GateAction::Add,
                    SignalAction::Exit => GateAction::Exit,
                },
                at,
                atr: None,
                // Filled in by the scheduler from its classification of the market.
                regime: None,
                advisor: AdvisorInput::NotAsked,
            },
            strategy: WEBHOOK_STRATEGY.to_owned(),
            strategy_config: Some(WebhookConfig::canonical(&self.source)),
            interval: None,
            reason: format!("webhook:{}", self.source.as_str()),
        })
    }
}

/// The signal was accepted.
#[derive(Debug, Object)]
pub struct SignalAccepted {
    /// Its id (part of every client order id it leads to).
    pub signal_id: Uuid,
    /// Whether it had been received before (and is not fanned out again).
    pub duplicate: bool,
}

#[derive(ApiResponse)]
pub(super) enum SignalResponse {
    /// Accepted: it is fanned out to the source's bots within moments.
    #[oai(status = 202)]
    Accepted(Json<SignalAccepted>),
    /// A value is invalid (`invalid_signal`, the message starting with the field:
    /// `symbol: …`), or the body is not JSON of the documented shape (`bad_request`).
    #[oai(status = 400)]
    Invalid(Json<ErrorBody>),
    /// Not proved: `invalid_signal_credentials` (unknown source, wrong token or wrong
    /// signature: one answer for each), `signature_malformed` (the `X-Nexus-Signature`
    /// header does not parse; the message names the part), `signature_expired` (its
    /// timestamp is more than 300 s from the server's clock), `legacy_signature_disabled`
    /// (the body-only `sha256=` form, off unless the operator turns it on).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// `signature_replayed`: this exact signature was accepted before (by any instance).
    /// The request is authentic but used up: sign each delivery, a retry included, with a
    /// new timestamp.
    #[oai(status = 409)]
    Replayed(Json<ErrorBody>),
    /// The database is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// `/api/v1/signals`.
pub struct SignalsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "SignalsTag::Signals")]
impl SignalsApi {
    /// Pushes a signal from an outside source into the fan-out.
    ///
    /// Sign the request with the source's secret: `X-Nexus-Signature: t=<unix
    /// seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s of the
    /// server's clock; each signature is accepted once, so sign a retry again. Senders that
    /// can only send a body (TradingView) put the secret in `token` instead, which is
    /// weaker: it carries the secret itself and can be replayed.
    #[oai(path = "/signals", method = "post", operation_id = "push_signal")]
    async fn push(
        &self,
        state: Data<&Arc<ApiState>>,
        req: &Request,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; checked
        /// before the body is read (the body-only `sha256=<hex>` of earlier releases only
        /// while `NEXUS_SIGNALS_LEGACY_SIGNATURE=1`).
        #[oai(name = "X-Nexus-Signature")]
        _signature: Header<Option<String>>,
        body: Json<NewSignal>,
    ) -> SignalResponse {
        let body = body.0;
        let denied = || {
            SignalResponse::Unauthorized(err(
                "invalid_signal_credentials",
                "unknown source, or wrong token or signature",
            ))
        };
        let Some(secret) = state.signal_sources.secret(&body.source) else {
            return denied();
        };
        let signed = req
            .extensions()
            .get::<SignedBy>()
            .is_some_and(|s| s.0 == *body.source);
        let token_ok = body
            .token
            .as_deref()
            .is_some_and(|t| same(t, secret.expose()));
        if !(signed || token_ok) {
            return denied();
        }
        let job = match body.job(Utc::now()) {
            Ok(job) => job,
            Err(e) => return SignalResponse::Invalid(e.body()),
        };
        let id = job.signal.id;
        let new = match job.new_job() {
            Ok(new) => new,
            Err(e) => return SignalResponse::Invalid(err("invalid_signal", e.to_string())),
        };
        match state.store.enqueue(&new, Utc::now()).await {
            Ok(queued) => {
                tracing::info!(signal = %id, source = %body.source.as_str(), duplicate = queued.is_none(), "outside signal");
                SignalResponse::Accepted(Json(SignalAccepted {
                    signal_id: *id.as_uuid(),
                    duplicate: queued.is_none(),
                }))
            }
            Err(e) => SignalResponse::Unavailable(unavailable(&e)),
        }
    }
}

/// Equal, compared through their hashes so the time taken says nothing about the secret.
fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_keep_secrets_out_of_errors_and_debug() {
        let sources = SignalSources::parse("tv=0123456789abcdef, ops-2=fedcba9876543210").unwrap();
        assert_eq!(sources.secret("tv").unwrap().expose(), "0123456789abcdef");
        assert!(sources.secret("nope").is_none());
        assert!(!format!("{sources:?}").contains("0123456789abcdef"));
        let short = SignalSources::parse("tv=short").unwrap_err().to_string();
        assert_eq!(short, "tv: the secret must be at least 16 characters");
        assert_eq!(
            SignalSources::parse("bad name=0123456789abcdef").unwrap_err(),
            SignalSourcesError::BadName {
                name: "bad name".into()
            }
        );
        assert_eq!(
            SignalSources::parse("tv").unwrap_err(),
            SignalSourcesError::NotAPair
        );
        assert!(SignalSources::parse("").unwrap().sources.is_empty());
    }

    #[test]
    fn webhook_configs_print_canonically_and_check_their_source() {
        assert_eq!(WebhookConfig::canonical("tv"), r#"{"source":"tv"}"#);
        let config: WebhookConfig =
            serde_json::from_str(&WebhookConfig::canonical("a\"b")).unwrap();
        assert_eq!(config.source, "a\"b");
        assert_eq!(config.validate(), Err(BadSourceName));
        assert_eq!(
            BadSourceName.to_string(),
            "source: 1-64 letters, digits, _ and -"
        );
    }
}
