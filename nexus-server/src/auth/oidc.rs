//! Sign-in with Google through OpenID Connect: the authorization-code flow with PKCE
//! (RFC 7636, `S256`), a random `state` and `nonce`; the code exchanged at the token
//! endpoint with the client secret; the ID token verified with `jsonwebtoken` — RS256
//! against the provider's published keys (JWKS, cached for an hour and fetched again when
//! a token names a key id not in the cache), `iss`, `aud` (our client id), `exp` and the
//! `nonce` of this sign-in.
//!
//! Nothing here touches the database: the API stores the [`PendingLogin`] of a
//! [`Start`] and hands it back to [`GoogleOidc::finish`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nexus_core::ports::oauth::PendingLogin;
use nexus_core::{Secret, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::tokens;

/// The provider's name in the store and the audit log.
pub const PROVIDER: &str = "google";
/// Google's authorization endpoint.
pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's signing keys (JWKS).
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The issuer of Google's ID tokens (they may also say `accounts.google.com`).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Where Google sends the browser back, after the public URL.
pub const CALLBACK_PATH: &str = "/api/v1/auth/oauth/google/callback";
/// How long a started sign-in can be finished.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// How long fetched signing keys are trusted before they are fetched again.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// What is asked of Google: an ID token with the email address.
const SCOPES: &str = "openid email";
/// Clock skew allowed on `exp`.
const LEEWAY_SECS: u64 = 60;

/// The OAuth client registered with Google, and the provider's endpoints (Google's by
/// default; tests point them at a local stand-in). `Debug` hides the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleConfig {
    /// The OAuth client id (`NEXUS_OAUTH_GOOGLE_CLIENT_ID`).
    pub client_id: String,
    /// The OAuth client secret (`NEXUS_OAUTH_GOOGLE_CLIENT_SECRET`).
    pub client_secret: Secret,
    /// The authorization endpoint (`NEXUS_OAUTH_GOOGLE_AUTH_URL`).
    pub auth_url: String,
    /// The token endpoint (`NEXUS_OAUTH_GOOGLE_TOKEN_URL`).
    pub token_url: String,
    /// The signing keys (`NEXUS_OAUTH_GOOGLE_JWKS_URL`).
    pub jwks_url: String,
    /// The issuer ID tokens must name (`NEXUS_OAUTH_GOOGLE_ISSUER`).
    pub issuer: String,
}

impl GoogleConfig {
    /// The client `client_id` / `client_secret` at Google's own endpoints.
    #[must_use]
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            auth_url: GOOGLE_AUTH_URL.to_owned(),
            token_url: GOOGLE_TOKEN_URL.to_owned(),
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
            issuer: GOOGLE_ISSUER.to_owned(),
        }
    }
}

/// Why a Google sign-in failed. The messages name no secret (no code, token, verifier or
/// client secret), so they can be shown to the user.
#[derive(Debug, Error)]
pub enum OidcError {
    /// The configuration cannot be used.
    #[error("the Google sign-in configuration is invalid: {0}")]
    Config(String),
    /// The provider could not be reached or failed on its side: trying later may work.
    #[error("Google could not be reached: {0}")]
    Unreachable(String),
    /// The token endpoint refused the authorization code.
    #[error("Google refused the authorization code ({0})")]
    Refused(String),
    /// The ID token failed verification.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
}

/// A sign-in about to be sent to the provider.
pub struct Start {
    /// Where to send the browser: the authorization endpoint with the client id, redirect
    /// URL, scopes, `state`, `nonce` and PKCE challenge.
    pub url: String,
    /// The `state` in the URL; the server keeps only its hash.
    pub state: Secret,
    /// What the callback needs, to store under the hash of `state`.
    pub login: PendingLogin,
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries the state: not shown.
        f.debug_struct("Start")
            .field("state", &self.state)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// Who signed in, according to a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleIdentity {
    /// Google's stable id of the account (`sub`).
    pub subject: String,
    /// The email address, when the token has one.
    pub email: Option<String>,
    /// Whether Google has verified that address (`email_verified`).
    pub email_verified: bool,
}

struct CachedKeys {
    keys: Arc<JwkSet>,
    fetched: Instant,
}

/// The Google OpenID Connect client: builds authorization URLs, exchanges codes and
/// verifies ID tokens. One per server; the signing keys it fetched are shared.
pub struct GoogleOidc {
    config: GoogleConfig,
    redirect_url: String,
    http: reqwest::Client,
    keys: Mutex<Option<CachedKeys>>,
}

impl std::fmt::Debug for GoogleOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleOidc")
            .field("config", &self.config)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

/// The PKCE `S256` challenge of `verifier`: base64url (unpadded) of its SHA-256.
#[must_use]
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An error code from the provider, kept only if it looks like one (`invalid_grant`), so
/// no stray text ends up in messages.
fn provider_code(code: &str) -> String {
    let code = code.trim();
    if !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        code.to_owned()
    } else {
        "unexpected error".to_owned()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    // Required by the validation, which names it when missing.
    #[serde(default)]
    sub: String,
    #[serde(default)]
    aud: serde_json::Value,
    azp: Option<String>,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: serde_json::Value,
}

/// What an ID-token check failed on, in words (no token content).
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    match e.kind() {
        ErrorKind::InvalidSignature => "the signature does not match the provider's key".into(),
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::InvalidIssuer => "it was issued by someone else (iss)".into(),
        ErrorKind::InvalidAudience => "it was issued for another client (aud)".into(),
        ErrorKind::InvalidAlgorithm => "it is not signed with RS256".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("its {claim} claim is malformed"),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "the provider's key is unusable".into()
        }
        _ => "it could not be decoded".into(),
    }
}

/// The verification key of a published JWK: RSA only (and RS256 when it says).
fn decoding_key(jwk: &Jwk) -> Result<DecodingKey, OidcError> {
    let rsa = matches!(jwk.algorithm, AlgorithmParameters::RSA(_));
    let rs256 = jwk
        .common
        .key_algorithm
        .is_none_or(|alg| alg == KeyAlgorithm::RS256);
    if !(rsa && rs256) {
        return Err(OidcError::InvalidToken(
            "the provider's key for it is not an RS256 key".into(),
        ));
    }
    DecodingKey::from_jwk(jwk)
        .map_err(|_| OidcError::InvalidToken("the provider's key is unusable".into()))
}

impl GoogleOidc {
    /// The client for `config`, sending users back to `public_url` +
    /// [`CALLBACK_PATH`].
    ///
    /// # Errors
    /// [`OidcError::Config`]: an endpoint is not an http(s) URL, or no HTTP client could
    /// be built.
    pub fn new(config: GoogleConfig, public_url: &str) -> Result<Self, OidcError> {
        if config.client_id.trim().is_empty() || config.client_secret.expose().is_empty() {
            return Err(OidcError::Config(
                "the client id and secret are required".into(),
            ));
        }
        let redirect_url = format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'));
        for (name, url) in [
            ("authorization endpoint", &config.auth_url),
            ("token endpoint", &config.token_url),
            ("JWKS endpoint", &config.jwks_url),
            ("redirect URL", &redirect_url),
        ] {
            let ok = reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(OidcError::Config(format!(
                    "the {name} {url:?} is not an http(s) URL"
                )));
            }
        }
        // jsonwebtoken is built with the RustCrypto backend only; naming it keeps a
        // second backend elsewhere in the build from making verification panic.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        );
        nexus_exchanges::http::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nexus/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Config(format!("no HTTP client: {e}")))?;
        Ok(Self {
            config,
            redirect_url,
            http,
            keys: Mutex::new(None),
        })
    }

    /// The OAuth client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// Where the provider sends the browser back.
    #[must_use]
    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    /// Starts a sign-in at `now`: a fresh `state`, `nonce` and PKCE verifier (32 random
    /// bytes each, base64url: 43 characters), and the authorization URL carrying the
    /// verifier's challenge.
    ///
    /// # Errors
    /// [`OidcError::Config`] if the authorization endpoint does not parse (checked at
    /// construction, so it does).
    pub fn start(&self, now: Timestamp) -> Result<Start, OidcError> {
        let (state, _) = tokens::generate();
        let (nonce, _) = tokens::generate();
        let (verifier, _) = tokens::generate();
        let challenge = code_challenge(&verifier);
        let url = reqwest::Url::parse_with_params(
            &self.config.auth_url,
            [
                ("response_type", "code"),
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", self.redirect_url.as_str()),
                ("scope", SCOPES),
                ("state", state.as_str()),
                ("nonce", nonce.as_str()),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .map_err(|e| OidcError::Config(format!("the authorization endpoint: {e}")))?;
        let ttl = chrono::Duration::from_std(PENDING_TTL).unwrap_or(chrono::Duration::minutes(10));
        Ok(Start {
            url: url.into(),
            state: Secret::new(state),
            login: PendingLogin {
                provider: PROVIDER.to_owned(),
                code_verifier: Secret::new(verifier),
                nonce,
                created_at: now,
                expires_at: now + ttl,
            },
        })
    }

    /// Finishes a sign-in: exchanges `code` with the pending sign-in's verifier and
    /// verifies the ID token against its nonce.
    ///
    /// # Errors
    /// [`OidcError`].
    pub async fn finish(
        &self,
        code: &str,
        login: &PendingLogin,
    ) -> Result<GoogleIdentity, OidcError> {
        let id_token = self.exchange(code, &login.code_verifier).await?;
        self.verify(id_token.expose(), &login.nonce).await
    }

    /// Exchanges an authorization code (and the PKCE verifier) for an ID token. The
    /// access token in the same answer is not kept.
    ///
    /// # Errors
    /// [`OidcError::Unreachable`] when the endpoint cannot be reached or fails;
    /// [`OidcError::Refused`] when it refuses the code.
    pub async fn exchange(&self, code: &str, verifier: &Secret) -> Result<Secret, OidcError> {
        let answer = self
            .http
            .post(&self.config.token_url)
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier.expose()),
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", self.config.client_secret.expose()),
                ("redirect_uri", self.redirect_url.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e.without_url(), "Google token endpoint unreachable");
                OidcError::Unreachable("the token endpoint did not answer".into())
            })?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "Google token answer cut short");
            OidcError::Unreachable("the token endpoint's answer was cut short".into())
        })?;
        if status.is_server_error() {
            tracing::warn!(%status, "Google token endpoint failed");
            return Err(OidcError::Unreachable(format!(
                "the token endpoint failed ({status})"
            )));
        }
        if !status.is_success() {
            let code = serde_json::from_slice::<TokenError>(&body)
                .ok()
                .and_then(|e| e.error)
                .map_or_else(
                    || format!("HTTP {}", status.as_u16()),
                    |c| provider_code(&c),
                );
            return Err(OidcError::Refused(code));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            OidcError::InvalidToken("the token endpoint's answer is not the expected JSON".into())
        })?;
        answer
            .id_token
            .map(Secret::new)
            .ok_or_else(|| OidcError::InvalidToken("the token endpoint sent no ID token".into()))
    }

    /// Verifies an ID token: RS256 with one of the provider's keys, issued by the
    /// provider for our client id, unexpired, carrying `nonce`.
    ///
    /// # Errors
    /// [`OidcError::InvalidToken`]; [`OidcError::Unreachable`] when the keys cannot be
    /// fetched.
    pub async fn verify(&self, id_token: &str, nonce: &str) -> Result<GoogleIdentity, OidcError> {
        let invalid = |why: &str| OidcError::InvalidToken(why.to_owned());
        let header =
            jsonwebtoken::decode_header(id_token).map_err(|_| invalid("it is not a signed JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("it is not signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("its header names no key (kid)"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_issuer(&self.issuers());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|e| OidcError::InvalidToken(describe(&e)))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(invalid("it does not carry this sign-in's nonce"));
        }
        // Several audiences: the token must have been issued to us (OIDC Core 3.1.3.7).
        if claims.aud.as_array().is_some_and(|a| a.len() > 1)
            && claims.azp.as_deref() != Some(self.config.client_id.as_str())
        {
            return Err(invalid("it was issued to another client (azp)"));
        }
        if claims.sub.is_empty() {
            return Err(invalid("its subject (sub) is empty"));
        }
        let email_verified = match &claims.email_verified {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::String(s) => s == "true",
            _ => false,
        };
        Ok(GoogleIdentity {
            subject: claims.sub,
            email: claims
                .email
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty()),
            email_verified,
        })
    }

    /// The issuers accepted: Google's ID tokens name it with or without `https://`.
    fn issuers(&self) -> Vec<String> {
        let issuer = self.config.issuer.clone();
        if issuer == GOOGLE_ISSUER {
            vec![issuer, "accounts.google.com".to_owned()]
        } else {
            vec![issuer]
        }
    }

    /// The key `kid`: from the cache while it is fresh, otherwise (or when the cache does
    /// not know it: the provider rotated its keys) from the JWKS endpoint.
    async fn key(&self, kid: &str) -> Result<DecodingKey, OidcError> {
        let cached = {
            let guard = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            guard
                .as_ref()
                .filter(|c| c.fetched.elapsed() < JWKS_TTL)
                .map(|c| Arc::clone(&c.keys))
        };
        if let Some(jwk) = cached.as_ref().and_then(|keys| keys.find(kid)) {
            return decoding_key(jwk);
        }
        let keys = Arc::new(self.fetch_keys().await?);
        let found = keys.find(kid).map(decoding_key).transpose();
        *self.keys.lock().unwrap_or_else(PoisonError::into_inner) = Some(CachedKeys {
            keys,
            fetched: Instant::now(),
        });
        found?.ok_or_else(|| {
            OidcError::InvalidToken("it is signed with a key the provider does not publish".into())
        })
    }

    async fn fetch_keys(&self) -> Result<JwkSet, OidcError> {
        let unreachable = |what: &str| OidcError::Unreachable(format!("the signing keys {what}"));
        let answer = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e.without_url(), "Google JWKS unreachable");
                unreachable("could not be fetched")
            })?;
        let status = answer.status();
        if !status.is_success() {
            tracing::warn!(%status, "Google JWKS refused");
            return Err(unreachable(&format!("could not be fetched ({status})")));
        }
        let body = answer
            .bytes()
            .await
            .map_err(|_| unreachable("were cut short"))?;
        serde_json::from_slice(&body).map_err(|_| unreachable("do not parse"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn oidc() -> GoogleOidc {
        GoogleOidc::new(
            GoogleConfig::new("client-1", Secret::new("very-secret")),
            "https://nexus.example.com/",
        )
        .unwrap()
    }

    #[test]
    fn the_authorization_url_carries_the_flow_and_no_secret() {
        let oidc = oidc();
        assert_eq!(
            oidc.redirect_url(),
            "https://nexus.example.com/api/v1/auth/oauth/google/callback"
        );
        let start = oidc.start(chrono::Utc::now()).unwrap();
        let url = reqwest::Url::parse(&start.url).unwrap();
        assert!(start.url.starts_with(GOOGLE_AUTH_URL), "{url}");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "client-1");
        assert_eq!(q["redirect_uri"], oidc.redirect_url());
        assert_eq!(q["scope"], "openid email");
        assert_eq!(q["state"], start.state.expose());
        assert_eq!(q["nonce"], start.login.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            code_challenge(start.login.code_verifier.expose())
        );
        assert!(start.login.code_verifier.expose().len() >= 43);
        assert!(!start.url.contains("very-secret"));
        assert!(!start.url.contains(start.login.code_verifier.expose()));
        let debug = format!("{start:?} {oidc:?}");
        for secret in [
            "very-secret",
            start.state.expose(),
            start.login.code_verifier.expose(),
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(
            (start.login.expires_at - start.login.created_at).num_seconds(),
            600
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut config = GoogleConfig::new("id", Secret::new("secret"));
        config.token_url = "ftp://example.com/token".into();
        assert!(matches!(
            GoogleOidc::new(config, "https://x.example"),
            Err(OidcError::Config(_))
        ));
        assert!(
            GoogleOidc::new(
                GoogleConfig::new("id", Secret::new("")),
                "https://x.example"
            )
            .is_err()
        );
        assert!(GoogleOidc::new(GoogleConfig::new("id", Secret::new("s")), "nonsense").is_err());
    }

    #[test]
    fn provider_codes_are_kept_only_when_they_look_like_codes() {
        assert_eq!(provider_code("invalid_grant"), "invalid_grant");
        assert_eq!(provider_code("<script>"), "unexpected error");
        assert_eq!(provider_code(&"a".repeat(65)), "unexpected error");
    }
}
