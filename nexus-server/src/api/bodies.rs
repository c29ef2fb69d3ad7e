//! Every request body the API parses, as pure functions of the raw bytes: the JSON payload
//! read the way poem-openapi reads it, then the same checks the handler makes (each check
//! lives beside its type, and the handler calls it). The fuzz targets
//! (`fuzz/checks_server.rs`) and the replay of their corpus call these, so they exercise
//! what the server does with a body short of the database.

use std::fmt;

use chrono::{DateTime, Utc};
use nexus_core::UserId;
use nexus_core::ports::accounts::BotRecord;
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use uuid::Uuid;

use super::ErrorBody;
pub use super::admin::{RoleChange, RoleName};
pub use super::auth::{Credentials, Forgot, PasswordChange, Reset, SignUp, Verify};
pub use super::bots::{BotChanges, NewBot};
pub use super::identity_link::{LinkConfirmation, LinkTarget};
pub use super::keys::{Exchange, KeyToAdd, NewKey};
pub use super::signals::{NewSignal, SignalAction};
use crate::engine::signals::SignalJob;

/// A value the API refuses although the body has the right shape: answered 422 (400 for
/// signals) with `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The error body's stable code (`invalid_field`, `weak_password`, …).
    pub code: &'static str,
    /// What was wrong, naming the field.
    pub message: String,
}

impl Invalid {
    /// `code` with `message`.
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `invalid_field`: `field: problem`.
    pub(crate) fn field(field: &str, problem: impl fmt::Display) -> Self {
        Self::new("invalid_field", format!("{field}: {problem}"))
    }

    /// The error body the API answers with.
    pub(crate) fn body(&self) -> Json<ErrorBody> {
        Json(ErrorBody::new(self.code, self.message.clone()))
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON, or not the operation's schema: poem-openapi answers 400.
    #[error("parse request payload error: {0}")]
    Malformed(String),
    /// The right shape, but a value out of range.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// A JSON body read as poem-openapi's `Json<T>` payload reads it (poem-openapi 5,
/// `payload/json.rs`): an empty body is `null`, anything else is parsed to a JSON value
/// (UTF-8, at most 128 levels deep), then into `T` by its schema (a string field takes
/// only a JSON string: [`super::schema`]; what the schema narrows further, the checks
/// after it refuse).
///
/// # Errors
/// [`BodyError::Malformed`] with poem-openapi's reason.
pub fn json<T: ParseFromJSON>(bytes: &[u8]) -> Result<T, BodyError> {
    let value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(bytes).map_err(|e| BodyError::Malformed(e.to_string()))?
    };
    T::parse_from_json(Some(value)).map_err(|e| BodyError::Malformed(e.into_message()))
}

/// `POST /auth/signup`.
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_email` / `weak_password`.
pub fn sign_up(bytes: &[u8]) -> Result<SignUp, BodyError> {
    let body: SignUp = json(bytes)?;
    body.validate()?;
    Ok(body)
}

/// `POST /auth/login`.
///
/// # Errors
/// [`BodyError::Malformed`].
pub fn credentials(bytes: &[u8]) -> Result<Credentials, BodyError> {
    json(bytes)
}

/// `POST /auth/verify`.
///
/// # Errors
/// [`BodyError`]: malformed, or `weak_password`.
pub fn verify(bytes: &[u8]) -> Result<Verify, BodyError> {
    let body: Verify = json(bytes)?;
    body.validate()?;
    Ok(body)
}

/// `POST /auth/password/forgot`.
///
/// # Errors
/// [`BodyError::Malformed`].
pub fn forgot(bytes: &[u8]) -> Result<Forgot, BodyError> {
    json(bytes)
}

/// `POST /auth/password/reset`.
///
/// # Errors
/// [`BodyError`]: malformed, or `weak_password`.
pub fn reset(bytes: &[u8]) -> Result<Reset, BodyError> {
    let body: Reset = json(bytes)?;
    body.validate()?;
    Ok(body)
}

/// `POST /auth/password`.
///
/// # Errors
/// [`BodyError`]: malformed, or `weak_password`.
pub fn password_change(bytes: &[u8]) -> Result<PasswordChange, BodyError> {
    let body: PasswordChange = json(bytes)?;
    body.validate()?;
    Ok(body)
}

/// `POST /auth/oauth/google/link`: the body, and what its token names.
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_token`.
pub fn link_confirmation(bytes: &[u8]) -> Result<(LinkConfirmation, LinkTarget), BodyError> {
    let body: LinkConfirmation = json(bytes)?;
    let target = body.target()?;
    Ok((body, target))
}

/// `POST /exchange-keys` by `user`: the key as it is checked with the venue and stored.
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_field`.
pub fn new_key(bytes: &[u8], user: UserId) -> Result<KeyToAdd, BodyError> {
    let body: NewKey = json(bytes)?;
    Ok(body.checked(user)?)
}

/// `POST /bots` by `user`: the bot as stored (before its plan and key are checked), and
/// the exchange key it asks for.
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_field` naming the field.
pub fn new_bot(bytes: &[u8], user: UserId) -> Result<(BotRecord, Option<Uuid>), BodyError> {
    let body: NewBot = json(bytes)?;
    Ok(super::bots::new_record(user, body)?)
}

/// `PATCH /bots/{id}` applied to `bot`: the bot as stored after the change (before its
/// plan and key are checked).
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_field` naming the field.
pub fn bot_changes(bytes: &[u8], bot: BotRecord) -> Result<BotRecord, BodyError> {
    let changes: BotChanges = json(bytes)?;
    Ok(super::bots::apply(bot, changes)?)
}

/// `PATCH /admin/users/{id}/role`.
///
/// # Errors
/// [`BodyError::Malformed`].
pub fn role_change(bytes: &[u8]) -> Result<RoleChange, BodyError> {
    json(bytes)
}

/// `POST /signals` received at `at`, once its source has proved itself (token or
/// signature, not checked here): the job it is queued as.
///
/// # Errors
/// [`BodyError`]: malformed, or `invalid_signal`.
pub fn new_signal(bytes: &[u8], at: DateTime<Utc>) -> Result<SignalJob, BodyError> {
    let body: NewSignal = json(bytes)?;
    Ok(body.job(at)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::new(Uuid::nil())
    }

    #[test]
    fn bodies_are_read_like_the_server_reads_them() {
        let signup = sign_up(br#"{"email":" ann@example.com ","password":"correct horse"}"#);
        assert!(signup.is_ok());
        // No `unwrap_err`: bodies with passwords have no `Debug`, so they cannot be logged.
        let weak = sign_up(br#"{"email":"ann@example.com","password":"short"}"#)
            .err()
            .unwrap();
        assert!(
            matches!(
                &weak,
                BodyError::Invalid(Invalid {
                    code: "weak_password",
                    ..
                })
            ),
            "{weak:?}"
        );
        let empty = credentials(b"").err().unwrap();
        assert!(matches!(empty, BodyError::Malformed(_)), "{empty:?}");
        assert!(matches!(verify(b"\xff"), Err(BodyError::Malformed(_))));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            forgot(deep.as_bytes()),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            role_change(br#"{"role":"root"}"#),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn checks_refuse_values_out_of_range() {
        let bot = new_bot(
            br#"{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout","sizing":{"method":{"type":"percent_of_equity","percent":99999999999999999999999999999}}}"#,
            user(),
        )
        .unwrap_err();
        assert!(
            matches!(&bot, BodyError::Invalid(Invalid { code: "invalid_field", message }) if message.starts_with("sizing.method")),
            "{bot:?}"
        );
        let key = new_key(br#"{"exchange":"binance","key":" ","secret":"s"}"#, user());
        assert!(matches!(key, Err(BodyError::Invalid(_))), "{key:?}");
        let signal = new_signal(
            br#"{"source":"tv","action":"entry","exchange":"paper","symbol":"BTC/USDT","idempotency_key":" "}"#,
            Utc::now(),
        )
        .unwrap_err();
        assert!(
            matches!(&signal, BodyError::Invalid(Invalid { code: "invalid_signal", message }) if message.starts_with("idempotency_key")),
            "{signal:?}"
        );
    }
}
