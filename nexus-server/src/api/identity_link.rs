//! `POST /api/v1/auth/oauth/google/link`: the owner of an account confirms linking a Google
//! identity to it, after a Google sign-in found the account by its address
//! (`409 link_required`). Two one-time tokens are made for that sign-in: one emailed to
//! the address, which is enough on its own (it proves the mailbox), and one given to the
//! browser, which works only with the account's password. Using either kills the other.
//! The owner is told by email once an identity is linked.
//!
//! A token names the Google identity it links (`<kind>.<random>.<subject>`); only its hash
//! is stored, so neither the kind nor the subject can be changed without the token
//! failing.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use nexus_core::ports::accounts::UserRecord;
use nexus_core::ports::audit::AuditAction;
use nexus_core::ports::sessions::TokenPurpose;
use nexus_core::{Secret, StoreError};
use poem::Request;
use poem::web::Data;
use poem::web::cookie::CookieJar;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::auth::{AuthTag, SessionBody, busy, err, rate_limited, unavailable};
use super::bodies::Invalid;
use super::client_ip::ClientIp;
use super::oauth::not_configured;
use super::schema::{SecretText, Text};
use super::{ApiState, ErrorBody};
use crate::auth::failures::Attempt;
use crate::auth::oidc::PROVIDER;
use crate::auth::tokens;
use crate::email;

/// The answer of a Google sign-in whose address belongs to an account it is not linked to.
#[derive(Debug, Object)]
pub struct LinkRequired {
    /// `link_required`.
    pub code: String,
    /// What to do.
    pub message: String,
    /// With the account's password at `POST /auth/oauth/google/link`, links this Google
    /// identity to the account (15 minutes, once). The owner was also emailed a link that
    /// needs no password.
    pub link_token: String,
}

/// `POST /auth/oauth/google/link`.
#[derive(Object)]
#[oai(example = true)]
pub struct LinkConfirmation {
    /// The token from the email (`…/link-google?token=<token>`), or the `link_token` of
    /// the `409 link_required` answer.
    pub token: Text<SecretText>,
    /// The account's password: required with the `link_token`, ignored with the emailed
    /// token.
    #[oai(nullable)]
    pub password: Option<Text<SecretText>>,
}

impl poem_openapi::types::Example for LinkConfirmation {
    fn example() -> Self {
        Self {
            token: Text::new("Lk3jH5gF7dS9aP1oI3uY5tR7eW9qZ1xC3vB5nM7kJ9h"),
            password: Some(Text::new("correct horse battery staple")),
        }
    }
}

/// What a link token names (not whether it is valid: the store says that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    /// The browser's token, which works only with the account's password (not the emailed
    /// one).
    pub needs_password: bool,
    /// The Google identity (`sub`) it links.
    pub subject: String,
}

impl LinkConfirmation {
    /// What its token names.
    ///
    /// # Errors
    /// [`Invalid`]: `invalid_token` when the token names nothing.
    pub fn target(&self) -> Result<LinkTarget, Invalid> {
        let (kind, subject) = parse(self.token.trim()).ok_or_else(invalid_token)?;
        Ok(LinkTarget {
            needs_password: kind == Kind::WithPassword,
            subject,
        })
    }
}

fn invalid_token() -> Invalid {
    Invalid::new(
        "invalid_token",
        "token: unknown, already used or expired; sign in with Google again",
    )
}

/// Answers of `link`.
#[derive(ApiResponse)]
pub enum LinkResponse {
    /// Linked, and signed in (the same answer and cookies as a password sign-in).
    #[oai(status = 200)]
    Ok(Json<SessionBody>),
    /// The token is unknown, used or expired (`invalid_token`), or the body is not JSON of
    /// the documented shape (`bad_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The `link_token` came without the account's password, or with a wrong one
    /// (`invalid_credentials`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Sign-in with Google is not configured on this server (`oauth_not_configured`).
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// Too many attempts (`rate_limited`), or every password-hashing slot busy (`busy`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Which token: the emailed one proves the mailbox, the browser's needs the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Emailed,
    WithPassword,
}

impl Kind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Emailed => "e",
            Self::WithPassword => "p",
        }
    }
}

/// A new token of `kind` for the identity `subject`.
fn new_token(kind: Kind, subject: &str) -> String {
    let (random, _) = tokens::generate();
    format!(
        "{}.{random}.{}",
        kind.prefix(),
        URL_SAFE_NO_PAD.encode(subject)
    )
}

/// The kind and identity a token names (not whether it is valid: the store says that).
fn parse(token: &str) -> Option<(Kind, String)> {
    let mut parts = token.splitn(3, '.');
    let kind = match parts.next()? {
        "e" => Kind::Emailed,
        "p" => Kind::WithPassword,
        _ => return None,
    };
    let _random = parts.next().filter(|r| !r.is_empty())?;
    let subject = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let subject = String::from_utf8(subject).ok().filter(|s| !s.is_empty())?;
    Some((kind, subject))
}

impl ApiState {
    /// Asks the owner of `user` to confirm linking the Google identity `subject`: emails
    /// them a link, and returns the answer for the browser with its password-bound token.
    pub(super) async fn ask_to_link(
        &self,
        user: &UserRecord,
        subject: &str,
        ip: &str,
    ) -> Result<LinkRequired, StoreError> {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.settings.link_ttl)
            .unwrap_or(chrono::Duration::hours(1));
        let emailed = new_token(Kind::Emailed, subject);
        let browser = new_token(Kind::WithPassword, subject);
        self.store
            .create_token(
                &tokens::hash(&emailed),
                user.id,
                TokenPurpose::LinkIdentity,
                now,
                now + ttl,
            )
            .await?;
        self.store
            .create_token(
                &tokens::hash(&browser),
                user.id,
                TokenPurpose::LinkIdentity,
                now,
                now + ttl / 4,
            )
            .await?;
        if self.limits.check_address(&user.email).is_ok() {
            let message = email::confirm_link(&user.email, &self.settings.public_url, &emailed);
            if let Err(e) = self.email.send(&message).await {
                tracing::error!(error = %e, "account email not sent");
            }
        }
        self.audit_oauth(
            Some(user.id),
            AuditAction::SignInFailed,
            &user.email,
            ip,
            serde_json::json!({ "reason": "link_required" }),
        )
        .await;
        Ok(LinkRequired {
            code: "link_required".into(),
            message: "an account with this email address exists and is not linked to this \
                      Google account: follow the link we emailed to the address, or confirm \
                      with the account's password and link_token at \
                      POST /api/v1/auth/oauth/google/link"
                .into(),
            link_token: browser,
        })
    }
}

/// The linking endpoint; it finds the [`ApiState`] in the request's data.
pub struct IdentityLinkApi;

#[OpenApi(prefix_path = "/api/v1", tag = "AuthTag::Auth")]
impl IdentityLinkApi {
    /// Links the Google identity of a `409 link_required` sign-in to the account with its
    /// address, and signs in: with the token emailed to the address, or with the answer's
    /// `link_token` and the account's password. The account's owner is emailed that it
    /// happened.
    #[oai(
        path = "/auth/oauth/google/link",
        method = "post",
        operation_id = "google_link_confirm"
    )]
    pub(crate) async fn link(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<LinkConfirmation>,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> LinkResponse {
        if state.oidc.is_none() {
            return LinkResponse::NotConfigured(not_configured());
        }
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return LinkResponse::TooMany(body, secs);
        }
        let invalid = || LinkResponse::BadRequest(invalid_token().body());
        let token_text = body.token.trim();
        let Ok(LinkTarget {
            needs_password,
            subject,
        }) = body.target()
        else {
            return invalid();
        };
        let token = tokens::hash(token_text);
        let now = Utc::now();
        let user = match state
            .store
            .token_user(&token, TokenPurpose::LinkIdentity, now)
            .await
        {
            Ok(Some(id)) => match state.store.user(id).await {
                Ok(Some(user)) => user,
                Ok(None) => return invalid(),
                Err(e) => return LinkResponse::Unavailable(unavailable(&e)),
            },
            Ok(None) => return invalid(),
            Err(e) => return LinkResponse::Unavailable(unavailable(&e)),
        };
        if needs_password
            && let Err(answer) = state
                .check_password(&user, body.password.as_deref(), &ip)
                .await
        {
            return answer;
        }
        match state
            .store
            .consume_token(&token, TokenPurpose::LinkIdentity, now)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return invalid(),
            Err(e) => return LinkResponse::Unavailable(unavailable(&e)),
        }
        let linked = match state
            .store
            .link_identity(PROVIDER, &subject, user.id, &user.email, now)
            .await
        {
            Ok(linked) => linked,
            Err(e) => return LinkResponse::Unavailable(unavailable(&e)),
        };
        if linked != user.id {
            // Linked to another account meanwhile (it signed up with Google first).
            return invalid();
        }
        state
            .audit_oauth(
                Some(user.id),
                AuditAction::IdentityLinked,
                &user.email,
                &ip,
                serde_json::json!({
                    "confirmed_by": if needs_password { "password" } else { "email" }
                }),
            )
            .await;
        let notice = email::identity_linked(&user.email, &state.settings.public_url);
        if let Err(e) = state.email.send(&notice).await {
            tracing::error!(error = %e, "account email not sent");
        }
        let (session, token) = state.new_session(user.id, Utc::now(), req, &ip);
        if let Err(e) = state.store.create_session(&session).await {
            return LinkResponse::Unavailable(unavailable(&e));
        }
        LinkResponse::Ok(Json(state.session_body(&session, token, jar)))
    }
}

impl ApiState {
    /// Checks `password` against `user`'s, counting a failure as a failed sign-in.
    async fn check_password(
        &self,
        user: &UserRecord,
        password: Option<&str>,
        ip: &str,
    ) -> Result<(), LinkResponse> {
        let wrong = || {
            LinkResponse::Unauthorized(err(
                "invalid_credentials",
                "password: the account's password is needed with a link_token, and this one \
                 is wrong",
            ))
        };
        let attempt = Attempt {
            ip,
            account: &user.email,
            device: None,
        };
        if let Err(wait) = self.failures.check(&attempt, Instant::now()) {
            let (body, secs) = rate_limited(wait);
            return Err(LinkResponse::TooMany(body, secs));
        }
        let hash = match self.store.user_by_email(&user.email).await {
            Ok(Some((_, hash))) => hash,
            Ok(None) => None,
            Err(e) => return Err(LinkResponse::Unavailable(unavailable(&e))),
        };
        let (Some(password), Some(hash)) = (password, hash) else {
            return Err(wrong());
        };
        match self
            .hashing
            .verify(Secret::new(password.to_owned()), hash)
            .await
        {
            Ok(true) => {
                self.failures.succeeded(&attempt);
                Ok(())
            }
            Ok(false) => {
                self.failures.failed(&attempt, Instant::now());
                Err(wrong())
            }
            Err(_) => {
                let (body, secs) = busy();
                Err(LinkResponse::TooMany(body, secs))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_kind_and_identity() {
        let subject = "110169484474386276334";
        let emailed = new_token(Kind::Emailed, subject);
        assert_eq!(parse(&emailed), Some((Kind::Emailed, subject.to_owned())));
        let browser = new_token(Kind::WithPassword, subject);
        assert_eq!(
            parse(&browser),
            Some((Kind::WithPassword, subject.to_owned()))
        );
        assert_ne!(tokens::hash(&emailed), tokens::hash(&browser));
        for junk in ["", "e", "e.x", "x.abc.MTE", "e..MTE", "e.abc.!!", "e.abc."] {
            assert_eq!(parse(junk), None, "{junk}");
        }
    }
}
