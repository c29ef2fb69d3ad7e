//! `/api/v1/exchange-keys`: a user's exchange API keys. Keys are checked with the venue
//! before they are stored (encrypted); the secret never leaves the server again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::ports::audit::AuditAction;
use nexus_core::ports::credentials::{ApiCredentials, CredentialId, CredentialInfo};
use nexus_core::{ExchangeError, ExchangeId, KeyPermissions, Secret, UserId};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use super::auth::{err, rate_limited, unavailable};
use super::bodies::Invalid;
use super::client_ip::ClientIp;
use super::schema::{AnyText, ApiKeyText, ApiSecretText, SecretText, Text};
use super::session::Session;
use super::{ApiState, ErrorBody};

#[derive(Tags)]
enum KeysTag {
    /// Exchange API keys.
    ExchangeKeys,
}

/// A venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Exchange {
    /// Binance Spot.
    Binance,
    /// Kraken Spot.
    Kraken,
    /// Coinbase Advanced Trade.
    Coinbase,
    /// The simulated venue (no real account).
    Paper,
}

impl From<Exchange> for ExchangeId {
    fn from(e: Exchange) -> Self {
        match e {
            Exchange::Binance => Self::Binance,
            Exchange::Kraken => Self::Kraken,
            Exchange::Coinbase => Self::Coinbase,
            Exchange::Paper => Self::Paper,
        }
    }
}

impl From<ExchangeId> for Exchange {
    fn from(e: ExchangeId) -> Self {
        match e {
            ExchangeId::Binance => Self::Binance,
            ExchangeId::Kraken => Self::Kraken,
            ExchangeId::Coinbase => Self::Coinbase,
            ExchangeId::Paper => Self::Paper,
        }
    }
}

/// `POST /exchange-keys`.
#[derive(Object)]
#[oai(example = true)]
pub struct NewKey {
    /// The venue.
    pub exchange: Exchange,
    /// The API key (Coinbase: the CDP key name `organizations/…/apiKeys/…`); up to 512
    /// characters. Paper ignores it: a Paper account is named after its owner.
    pub key: Text<ApiKeyText>,
    /// The API secret (Coinbase: the EC private key in PEM), up to 8192 characters. Never
    /// returned.
    pub secret: Text<ApiSecretText>,
    /// A passphrase, on venues that use one. Never returned.
    #[oai(nullable)]
    pub passphrase: Option<Text<SecretText>>,
    /// Your name for the key (its first 100 characters); the venue's name by default.
    #[oai(nullable)]
    pub label: Option<Text<AnyText>>,
}

impl poem_openapi::types::Example for NewKey {
    fn example() -> Self {
        Self {
            exchange: Exchange::Paper,
            key: Text::new("paper"),
            secret: Text::new("paper"),
            passphrase: None,
            label: Some(Text::new("Practice")),
        }
    }
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("exchange", &self.exchange)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A new key as it is checked with the venue and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyToAdd {
    /// The venue.
    pub exchange: ExchangeId,
    /// The key (on Paper, the caller's own account name), secret and passphrase, trimmed.
    pub credentials: ApiCredentials,
    /// The label: the caller's, up to 100 characters, or the venue's name.
    pub label: String,
}

impl NewKey {
    /// The key `user` adds: its fields within their lengths.
    ///
    /// # Errors
    /// [`Invalid`]: `invalid_field` naming the key or the secret.
    pub fn checked(&self, user: UserId) -> Result<KeyToAdd, Invalid> {
        let exchange = ExchangeId::from(self.exchange);
        if self.key.trim().is_empty() || self.key.chars().count() > 512 {
            return Err(Invalid::field("key", "1 to 512 characters"));
        }
        if self.secret.trim().is_empty() || self.secret.chars().count() > 8192 {
            return Err(Invalid::field("secret", "1 to 8192 characters"));
        }
        // A Paper account is named after its owner, never after what they typed, so two
        // users can never share one.
        let key = if nexus_exchanges::Venues::needs_key(exchange) {
            self.key.trim().to_owned()
        } else {
            nexus_exchanges::paper::account_name(user)
        };
        let label = self
            .label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map_or_else(
                || exchange.as_str().to_owned(),
                |l| l.chars().take(100).collect(),
            );
        Ok(KeyToAdd {
            exchange,
            credentials: ApiCredentials {
                api_key: key,
                secret: Secret::new(self.secret.trim()),
                passphrase: self.passphrase.as_deref().map(Secret::new),
            },
            label,
        })
    }
}

/// What a key may do, as the venue reported it when the key was added.
#[derive(Debug, Object)]
pub struct Permissions {
    /// May read balances and orders.
    pub read: bool,
    /// May trade (required).
    pub trade: bool,
    /// May withdraw funds: Nexus never needs this; a key that can is a risk.
    pub withdraw: bool,
}

impl From<KeyPermissions> for Permissions {
    fn from(p: KeyPermissions) -> Self {
        Self {
            read: p.read,
            trade: p.trade,
            withdraw: p.withdraw,
        }
    }
}

/// A stored key, without its secret.
#[derive(Debug, Object)]
pub struct KeyInfo {
    /// Its id.
    pub id: Uuid,
    /// The venue.
    pub exchange: Exchange,
    /// Your name for it.
    pub label: String,
    /// The key with all but its first and last four characters hidden.
    pub masked_key: String,
    /// What it may do.
    pub permissions: Permissions,
    /// Risks worth acting on (a key that may withdraw).
    pub warnings: Vec<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

fn info(c: CredentialInfo) -> KeyInfo {
    let warnings = if c.permissions.withdraw {
        vec!["this key may withdraw funds; Nexus never needs that: create a key without withdrawal permission".to_owned()]
    } else {
        Vec::new()
    };
    KeyInfo {
        id: c.id.0,
        exchange: c.exchange.into(),
        label: c.label,
        masked_key: c.masked_key,
        permissions: c.permissions.into(),
        warnings,
        created_at: c.created_at,
    }
}

/// Answers of `add`.
#[derive(ApiResponse)]
pub enum AddKeyResponse {
    /// Checked and stored.
    #[oai(status = 201)]
    Created(Json<KeyInfo>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The venue refused the key, or it may not trade (`invalid_exchange_key`,
    /// `key_cannot_trade`, `invalid_field`); the message gives the venue's reason.
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many keys checked lately (`rate_limited`): each check spends the venue's
    /// request budget that every user shares.
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The venue could not be reached to check the key (`exchange_unavailable`), or the
    /// database is down (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `list`.
#[derive(ApiResponse)]
pub enum ListKeysResponse {
    /// The caller's keys, newest first.
    #[oai(status = 200)]
    Ok(Json<Vec<KeyInfo>>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `delete`.
#[derive(ApiResponse)]
pub enum DeleteKeyResponse {
    /// Deleted; bots using it are left without a key (and skip their trades) until given
    /// another.
    #[oai(status = 204)]
    Deleted,
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such key among the caller's (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The exchange-key endpoints.
pub struct KeysApi;

#[OpenApi(prefix_path = "/api/v1", tag = "KeysTag::ExchangeKeys")]
impl KeysApi {
    /// Adds an exchange API key: the venue is asked whether it works and what it may do
    /// first (Paper keys need no check); a key that does not work, or may not trade, is
    /// refused with the venue's reason. The secret is stored encrypted and never returned.
    #[oai(
        path = "/exchange-keys",
        method = "post",
        operation_id = "add_exchange_key"
    )]
    pub(crate) async fn add(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        body: Json<NewKey>,
        ip: ClientIp,
    ) -> AddKeyResponse {
        let user = &auth.caller().user;
        if let Err(wait) = state
            .limits
            .check(&ip.0.clone(), Some(&user.id.to_string()))
        {
            let (body, secs) = rate_limited(wait);
            return AddKeyResponse::TooMany(body, secs);
        }
        let KeyToAdd {
            exchange,
            credentials,
            label,
        } = match body.checked(user.id) {
            Ok(key) => key,
            Err(e) => return AddKeyResponse::Invalid(e.body()),
        };
        let permissions = {
            let Some(venues) = state.venues.as_ref() else {
                return AddKeyResponse::Unavailable(err(
                    "exchange_unavailable",
                    "exchange adapters are not available",
                ));
            };
            let account = match venues.account_of(exchange, user.id, Some(credentials.clone())) {
                Ok(account) => account,
                Err(e) => {
                    return AddKeyResponse::Invalid(err("invalid_exchange_key", e.to_string()));
                }
            };
            match account.validate_credentials().await {
                Ok(p) => p,
                Err(
                    e @ (ExchangeError::Transient { .. }
                    | ExchangeError::RateLimited { .. }
                    | ExchangeError::Banned { .. }
                    | ExchangeError::OutcomeUnknown { .. }),
                ) => {
                    return AddKeyResponse::Unavailable(err(
                        "exchange_unavailable",
                        format!("could not check the key with {exchange}, try again: {e}"),
                    ));
                }
                Err(e) => {
                    return AddKeyResponse::Invalid(err(
                        "invalid_exchange_key",
                        format!("{exchange} refused the key: {e}"),
                    ));
                }
            }
        };
        if !permissions.trade {
            return AddKeyResponse::Invalid(err(
                "key_cannot_trade",
                format!(
                    "the {exchange} key works but may not trade; Nexus needs trading permission"
                ),
            ));
        }
        let stored = match state
            .store
            .add_credentials(
                user.id,
                exchange,
                &label,
                &credentials,
                permissions,
                Utc::now(),
            )
            .await
        {
            Ok(stored) => stored,
            Err(e) => return AddKeyResponse::Unavailable(unavailable(&e)),
        };
        state
            .audit(
                Some(user.id),
                AuditAction::KeyAdded,
                &format!("{exchange} {}", stored.masked_key),
                &ip.0.clone(),
            )
            .await;
        AddKeyResponse::Created(Json(info(stored)))
    }

    /// The caller's exchange keys (masked).
    #[oai(
        path = "/exchange-keys",
        method = "get",
        operation_id = "list_exchange_keys"
    )]
    pub(crate) async fn list(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
    ) -> ListKeysResponse {
        match state.store.list_credentials(auth.caller().user.id).await {
            Ok(keys) => ListKeysResponse::Ok(Json(keys.into_iter().map(info).collect())),
            Err(e) => ListKeysResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Deletes one of the caller's exchange keys.
    #[oai(
        path = "/exchange-keys/:id",
        method = "delete",
        operation_id = "delete_exchange_key"
    )]
    pub(crate) async fn delete(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        ip: ClientIp,
    ) -> DeleteKeyResponse {
        let user = auth.caller().user.id;
        match state
            .store
            .delete_credentials(user, CredentialId(id.0))
            .await
        {
            Ok(true) => {
                state
                    .audit(
                        Some(user),
                        AuditAction::KeyRemoved,
                        &id.0.to_string(),
                        &ip.0.clone(),
                    )
                    .await;
                DeleteKeyResponse::Deleted
            }
            // Another user's key is "not found" too: ids reveal nothing.
            Ok(false) => DeleteKeyResponse::NotFound(err("not_found", "no such exchange key")),
            Err(e) => DeleteKeyResponse::Unavailable(unavailable(&e)),
        }
    }
}
