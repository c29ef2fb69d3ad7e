//! `/api/v1/auth/oauth/google/…`: sign-in with Google through OpenID Connect
//! (authorization code with PKCE).
//!
//! `start` stores the pending sign-in (PKCE verifier, nonce) in the database under the
//! hash of a random `state`, sets that state as an HttpOnly cookie scoped to these paths,
//! and redirects to Google. The `callback` accepts the state only with its cookie (so
//! another site cannot finish a sign-in it started in someone else's browser), uses it up,
//! exchanges the code, verifies the ID token, and signs in exactly as a password sign-in
//! does. A Google identity signs in to the account it is linked to; an identity with a
//! new address gets a new, verified account without a password; one whose address belongs
//! to an account it is not linked to is linked only once the account's owner confirms
//! (`409 link_required`, then [`super::identity_link`]), so a Google account can never
//! take over a Nexus account on its own. An account whose address was never verified is
//! the exception: whoever signed it up did not prove the address, Google's user has.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::ports::accounts::{Role, UserRecord};
use nexus_core::ports::audit::{AuditAction, AuditEvent};
use nexus_core::ports::oauth::PendingLogin;
use nexus_core::{Secret, StoreError, UserId};
use poem::Request;
use poem::web::Data;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::{AuthTag, SessionBody, err, rate_limited, unavailable};
use super::client_ip::ClientIp;
use super::identity_link::LinkRequired;
use super::{ApiState, ErrorBody};
use crate::auth::oidc::{GoogleIdentity, GoogleOidc, OidcError, PENDING_TTL, PROVIDER};
use crate::auth::{passwords, tokens};

/// The cookie binding a Google sign-in to the browser that started it.
pub const STATE_COOKIE: &str = "nexus_oauth_state";
/// Where the state cookie is sent: only to these endpoints.
const STATE_COOKIE_PATH: &str = "/api/v1/auth/oauth/google";

/// Answers of `start`.
#[derive(ApiResponse)]
pub enum StartResponse {
    /// Off to Google: follow `Location`. The HttpOnly `nexus_oauth_state` cookie is set;
    /// the callback needs it.
    #[oai(status = 302)]
    Found(#[oai(header = "Location")] String),
    /// Sign-in with Google is not configured on this server (`oauth_not_configured`).
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// Too many attempts from this address (`rate_limited`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `callback`.
#[derive(ApiResponse)]
pub enum CallbackResponse {
    /// Signed in (the same answer and cookies as a password sign-in).
    #[oai(status = 200)]
    Ok(Json<SessionBody>),
    /// The `state` is missing, unknown, used, expired, or not this browser's
    /// (`invalid_oauth_state`): start again; or the query does not parse
    /// (`bad_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Google did not sign the user in, refused the code, or sent an ID token that failed
    /// verification (`oauth_failed`; the message says why).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Google has not verified the account's email address (`email_not_verified`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Sign-in with Google is not configured on this server (`oauth_not_configured`).
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// Too many attempts from this address (`rate_limited`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The address belongs to an account this Google identity is not linked to
    /// (`link_required`): its owner was emailed a link to confirm linking, or can confirm
    /// with the account's password and `link_token` at `POST /auth/oauth/google/link`.
    #[oai(status = 409)]
    Conflict(Json<LinkRequired>),
    /// The database or Google is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
    /// A browser (a request accepting `text/html`) goes on to the web app: `/app`
    /// signed in (the same cookies), or `/login`, which says what went wrong.
    #[oai(status = 303)]
    SeeOther(#[oai(header = "Location")] String),
}

pub(super) fn not_configured() -> Json<ErrorBody> {
    err(
        "oauth_not_configured",
        "sign-in with Google is not configured on this server",
    )
}

fn invalid_state(why: &str) -> Json<ErrorBody> {
    err(
        "invalid_oauth_state",
        format!("state: {why}; start signing in with Google again"),
    )
}

fn oauth_failed(message: impl Into<String>) -> Json<ErrorBody> {
    err("oauth_failed", message)
}

fn google_unavailable() -> Json<ErrorBody> {
    err(
        "unavailable",
        "Google could not be reached; start signing in again shortly",
    )
}

fn state_cookie(value: &str, max_age: Duration, secure: bool) -> Cookie {
    let mut cookie = Cookie::new_with_str(STATE_COOKIE, value);
    cookie.set_http_only(true);
    // Lax: sent on the top-level redirect back from Google.
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(secure);
    cookie.set_path(STATE_COOKIE_PATH);
    cookie.set_max_age(max_age);
    cookie
}

/// The provider's error code (`access_denied`), if it looks like one.
fn provider_error(error: &str) -> &str {
    let ok = !error.is_empty()
        && error.len() <= 64
        && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if ok { error } else { "an unexpected error" }
}

/// The Google sign-in endpoints; they find the [`ApiState`] in the request's data.
pub struct OAuthApi;

/// What a Google identity finds.
enum Found {
    /// Its account, to sign in to.
    SignIn(UserRecord, Link),
    /// A verified account with its address that it is not linked to: the owner decides.
    NeedsConsent(UserRecord),
}

/// How a Google identity came to its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// It was linked before.
    Existing,
    /// Linked now to the account with its email address (`true`: one with a password).
    Linked(bool),
    /// A new account was made for it.
    Created,
}

impl Link {
    fn as_str(self) -> &'static str {
        match self {
            Self::Existing => "existing",
            Self::Linked(_) => "linked",
            Self::Created => "created",
        }
    }
}

impl ApiState {
    /// The same state with sign-in with Google (without it, its endpoints answer 404).
    #[must_use]
    pub fn with_oidc(mut self, oidc: Arc<GoogleOidc>) -> Self {
        self.oidc = Some(oidc);
        self
    }

    /// Records a Google sign-in event (the details say which provider, and why when it
    /// failed; never a secret).
    pub(super) async fn audit_oauth(
        &self,
        actor: Option<UserId>,
        action: AuditAction,
        subject: &str,
        ip: &str,
        extra: serde_json::Value,
    ) {
        let mut details = serde_json::json!({ "ip": ip, "provider": PROVIDER });
        if let (Some(details), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra)
        {
            details.extend(extra);
        }
        let event = AuditEvent {
            actor,
            action,
            subject: Some(subject.to_owned()),
            details: details.to_string(),
            at: Utc::now(),
        };
        if let Err(e) = self.store.append(&event).await {
            tracing::error!(error = %e, action = action.as_str(), "audit log append failed");
        }
    }

    /// A failed Google sign-in, recorded.
    async fn oauth_refused(&self, subject: &str, ip: &str, reason: &str) {
        self.audit_oauth(
            None,
            AuditAction::SignInFailed,
            subject,
            ip,
            serde_json::json!({ "reason": reason }),
        )
        .await;
    }

    /// The account of a Google identity with a verified `email`: the one already linked,
    /// else a new one, else the unverified account with that address (now linked and
    /// verified); a verified account with that address is [`Found::NeedsConsent`].
    async fn google_account(
        &self,
        identity: &GoogleIdentity,
        email: &str,
        ip: &str,
    ) -> Result<Found, StoreError> {
        let now = Utc::now();
        if let Some(id) = self
            .store
            .identity_user(PROVIDER, &identity.subject)
            .await?
            && let Some(user) = self.store.user(id).await?
        {
            return Ok(Found::SignIn(user, Link::Existing));
        }
        let found = self.store.user_by_email(email).await?;
        if let Some((user, _)) = &found
            && user.email_verified_at.is_some()
        {
            return Ok(Found::NeedsConsent(user.clone()));
        }
        let (user, link) = match found {
            Some((user, password)) => (user, Link::Linked(password.is_some())),
            None => {
                let id = UserId::new(crate::ids::time_ordered());
                match self
                    .store
                    .create_user(id, email, None, Role::User, now)
                    .await
                {
                    Ok(user) => (user, Link::Created),
                    // Created meanwhile (a racing sign-up or sign-in): that one is found
                    // as any existing account is.
                    Err(StoreError::Conflict { .. }) => {
                        let (user, password) =
                            self.store.user_by_email(email).await?.ok_or_else(|| {
                                StoreError::NotFound {
                                    what: "the account with this email address".into(),
                                }
                            })?;
                        if user.email_verified_at.is_some() {
                            return Ok(Found::NeedsConsent(user));
                        }
                        (user, Link::Linked(password.is_some()))
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if let Link::Linked(has_password) = link
            && user.email_verified_at.is_none()
        {
            self.claim_unverified(&user, has_password).await?;
            self.audit_oauth(
                Some(user.id),
                AuditAction::EmailVerified,
                email,
                ip,
                serde_json::json!({ "password_replaced": has_password }),
            )
            .await;
        }
        // Google verified the address: so is the account.
        self.store.mark_email_verified(user.id, now).await?;
        let linked = self
            .store
            .link_identity(PROVIDER, &identity.subject, user.id, email, now)
            .await?;
        // Another sign-in may have linked this identity first: its account wins.
        let user = self
            .store
            .user(linked)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "the linked account".into(),
            })?;
        if link == Link::Created && linked == user.id {
            self.audit_oauth(
                Some(user.id),
                AuditAction::SignUp,
                email,
                ip,
                serde_json::json!({}),
            )
            .await;
        }
        Ok(Found::SignIn(user, link))
    }

    /// An account whose address was never verified is taken over by the address's
    /// Google-verified owner: whoever signed it up without proving the address must not
    /// keep a way in, so its password is replaced by one nobody knows and its sessions
    /// end. The owner can set a password with "forgot password".
    async fn claim_unverified(
        &self,
        user: &UserRecord,
        has_password: bool,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        if has_password {
            let (unknowable, _) = tokens::generate();
            let hash = passwords::hash(Secret::new(unknowable))
                .await
                .map_err(|e| StoreError::Unavailable {
                    message: format!("could not hash a password: {e}"),
                    source: Some(Box::new(e)),
                })?;
            self.store.set_password(user.id, &hash, now).await?;
        }
        self.store.revoke_user_sessions(user.id, now).await?;
        Ok(())
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "AuthTag::Auth")]
impl OAuthApi {
    /// Starts signing in with Google: redirects (302) to Google's consent page with a
    /// PKCE challenge, `state` and `nonce`, and sets the HttpOnly `nexus_oauth_state`
    /// cookie. Open it in the browser: Google sends the browser back to the callback, which
    /// has 10 minutes to be reached.
    #[oai(
        path = "/auth/oauth/google/start",
        method = "get",
        operation_id = "google_sign_in_start"
    )]
    pub(crate) async fn start(
        &self,
        state: Data<&Arc<ApiState>>,
        ip: ClientIp,
        jar: &CookieJar,
    ) -> StartResponse {
        let Some(oidc) = state.oidc.as_ref() else {
            return StartResponse::NotConfigured(not_configured());
        };
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return StartResponse::TooMany(body, secs);
        }
        let start = match oidc.start(Utc::now()) {
            Ok(start) => start,
            Err(e) => {
                tracing::error!(error = %e, "Google sign-in cannot start");
                return StartResponse::Unavailable(google_unavailable());
            }
        };
        let hash = tokens::hash(start.state.expose());
        if let Err(e) = state.store.save_pending_login(&hash, &start.login).await {
            return StartResponse::Unavailable(unavailable(&e));
        }
        jar.add(state_cookie(
            start.state.expose(),
            PENDING_TTL,
            state.settings.secure_cookies,
        ));
        StartResponse::Found(start.url)
    }

    /// Where Google sends the browser back (`?code=…&state=…`, or `?error=…&state=…`).
    /// Checks the state against the `nexus_oauth_state` cookie and uses it up, exchanges
    /// the code, verifies the ID token, and signs in: the same session answer and cookies
    /// as `POST /auth/login`. A Google account with a verified email address is linked to
    /// the account with that address, or gets a new verified account (without a
    /// password).
    #[oai(
        path = "/auth/oauth/google/callback",
        method = "get",
        operation_id = "google_sign_in_callback"
    )]
    #[allow(clippy::too_many_arguments)] // Every one is an extractor of the request.
    pub(crate) async fn callback(
        &self,
        state: Data<&Arc<ApiState>>,
        /// The authorization code from Google.
        code: Query<Option<String>>,
        /// The `state` sent to Google by `start`.
        #[oai(name = "state")]
        oauth_state: Query<Option<String>>,
        /// Google's error code when it did not sign the user in (`access_denied`).
        error: Query<Option<String>>,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> CallbackResponse {
        let browser = req
            .header("accept")
            .is_some_and(|a| a.contains("text/html"));
        let answer = Self::complete(state, code, oauth_state, error, ip, req, jar).await;
        if !browser {
            return answer;
        }
        // A person in a browser goes on to the app, or back to sign-in with what happened.
        let problem = match &answer {
            CallbackResponse::Ok(_) => return CallbackResponse::SeeOther("/app".into()),
            CallbackResponse::Conflict(Json(body)) => body.message.clone(),
            CallbackResponse::BadRequest(Json(e))
            | CallbackResponse::Unauthorized(Json(e))
            | CallbackResponse::Forbidden(Json(e))
            | CallbackResponse::NotConfigured(Json(e))
            | CallbackResponse::TooMany(Json(e), _)
            | CallbackResponse::Unavailable(Json(e)) => e.message.clone(),
            CallbackResponse::SeeOther(_) => return answer,
        };
        crate::web::viewer::flash(jar, "danger", &format!("Sign-in with Google: {problem}"));
        CallbackResponse::SeeOther("/login".into())
    }
}

impl OAuthApi {
    /// The callback's work, answered as the API answers it.
    #[allow(clippy::too_many_arguments)] // Every one is an extractor of the request.
    async fn complete(
        state: Data<&Arc<ApiState>>,
        code: Query<Option<String>>,
        oauth_state: Query<Option<String>>,
        error: Query<Option<String>>,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> CallbackResponse {
        let Some(oidc) = state.oidc.as_ref() else {
            return CallbackResponse::NotConfigured(not_configured());
        };
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return CallbackResponse::TooMany(body, secs);
        }
        let cookie = jar
            .get(STATE_COOKIE)
            .map(|c| c.value_str().to_owned())
            .filter(|c| !c.is_empty());
        // The cookie has done its job, whatever happens next.
        jar.add(state_cookie(
            "",
            Duration::ZERO,
            state.settings.secure_cookies,
        ));
        let Some(given) = oauth_state.0.filter(|s| !s.is_empty()) else {
            state.oauth_refused(PROVIDER, &ip, "no state").await;
            return CallbackResponse::BadRequest(invalid_state("missing"));
        };
        let given = tokens::hash(&given);
        // Compared as hashes: no timing tells how much of a guess was right.
        if cookie.as_deref().map(tokens::hash) != Some(given.clone()) {
            state
                .oauth_refused(PROVIDER, &ip, "state not from this browser")
                .await;
            return CallbackResponse::BadRequest(invalid_state(
                "this browser did not start this sign-in (no matching nexus_oauth_state cookie)",
            ));
        }
        let login: PendingLogin = match state.store.take_pending_login(&given, Utc::now()).await {
            Ok(Some(login)) if login.provider == PROVIDER => login,
            Ok(_) => {
                state
                    .oauth_refused(PROVIDER, &ip, "unknown, used or expired state")
                    .await;
                return CallbackResponse::BadRequest(invalid_state(
                    "unknown, already used or expired",
                ));
            }
            Err(e) => return CallbackResponse::Unavailable(unavailable(&e)),
        };
        if let Some(error) = error.0 {
            let error = provider_error(&error);
            state
                .oauth_refused(PROVIDER, &ip, &format!("provider error: {error}"))
                .await;
            return CallbackResponse::Unauthorized(oauth_failed(format!(
                "Google did not sign you in ({error})"
            )));
        }
        let Some(code) = code.0.filter(|c| !c.is_empty()) else {
            state.oauth_refused(PROVIDER, &ip, "no code").await;
            return CallbackResponse::Unauthorized(oauth_failed(
                "code: Google sent no authorization code",
            ));
        };
        let identity = match oidc.finish(&code, &login).await {
            Ok(identity) => identity,
            Err(OidcError::Unreachable(why)) => {
                tracing::warn!(reason = %why, "Google sign-in could not finish");
                return CallbackResponse::Unavailable(google_unavailable());
            }
            Err(e) => {
                let message = e.to_string();
                tracing::info!(reason = %message, "Google sign-in refused");
                state.oauth_refused(PROVIDER, &ip, &message).await;
                return CallbackResponse::Unauthorized(oauth_failed(format!(
                    "signing in with Google failed: {message}"
                )));
            }
        };
        let Some(email) = identity.email.clone() else {
            state
                .oauth_refused(&identity.subject, &ip, "no email address")
                .await;
            return CallbackResponse::Unauthorized(oauth_failed(
                "Google shared no email address for this account",
            ));
        };
        if !identity.email_verified {
            state
                .oauth_refused(&email, &ip, "email not verified by Google")
                .await;
            return CallbackResponse::Forbidden(err(
                "email_not_verified",
                "Google has not verified this email address: verify it with Google first",
            ));
        }
        let (user, link) = match state.google_account(&identity, &email, &ip).await {
            Ok(Found::SignIn(user, link)) => (user, link),
            Ok(Found::NeedsConsent(user)) => {
                return match state.ask_to_link(&user, &identity.subject, &ip).await {
                    Ok(body) => CallbackResponse::Conflict(Json(body)),
                    Err(e) => CallbackResponse::Unavailable(unavailable(&e)),
                };
            }
            Err(e) => return CallbackResponse::Unavailable(unavailable(&e)),
        };
        let (session, token) = state.new_session(user.id, Utc::now(), req, &ip);
        if let Err(e) = state.store.create_session(&session).await {
            return CallbackResponse::Unavailable(unavailable(&e));
        }
        state
            .audit_oauth(
                Some(user.id),
                AuditAction::SignIn,
                &email,
                &ip,
                serde_json::json!({ "account": link.as_str() }),
            )
            .await;
        CallbackResponse::Ok(Json(state.session_body(&session, token, jar)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_are_echoed_only_when_they_look_like_codes() {
        assert_eq!(provider_error("access_denied"), "access_denied");
        assert_eq!(provider_error("<b>hi</b>"), "an unexpected error");
        assert_eq!(provider_error(""), "an unexpected error");
    }
}
