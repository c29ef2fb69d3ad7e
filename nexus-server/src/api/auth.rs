//! `/api/v1/auth/…` and `/api/v1/me`: sign-up with email verification, sign-in with
//! rotating 7-day sessions, sign-out, password reset.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nexus_core::ports::accounts::Role;
use nexus_core::ports::audit::{AuditAction, AuditEvent};
use nexus_core::ports::sessions::{NewSession, SessionId, TokenPurpose};
use nexus_core::{Secret, StoreError, UserId};
use poem::Request;
use poem::web::Data;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use uuid::Uuid;

use super::bodies::Invalid;
use super::client_ip::ClientIp;
use super::schema::{AnyText, EmailAddress, NewPassword, SecretText, Text};
use super::session::{CSRF_COOKIE, SESSION_COOKIE, Session};
use super::{ApiState, ErrorBody};
use crate::auth::device::{DEVICE_COOKIE, DEVICE_TTL};
use crate::auth::failures::Attempt;
use crate::auth::{passwords, tokens};
use crate::email;

/// The account emails that carry a one-time link.
#[derive(Debug, Clone, Copy)]
enum EmailLink {
    /// Confirms the address (and sets the password).
    Verify,
    /// Chooses a new password.
    Reset,
}

/// Where the device cookie is sent: only to the account endpoints.
const DEVICE_COOKIE_PATH: &str = "/api/v1/auth";

/// A cookie that makes the browser forget `name` set at `path` (a removal must name the
/// path the cookie was set with, or the browser keeps it).
fn expired(name: &str, path: &str, secure: bool) -> Cookie {
    let mut cookie = Cookie::new_with_str(name, "");
    cookie.set_path(path);
    cookie.set_secure(secure);
    cookie.set_max_age(std::time::Duration::ZERO);
    cookie
}

#[derive(Tags)]
pub(super) enum AuthTag {
    /// Accounts, sign-in and sessions.
    Auth,
}

/// `POST /auth/signup`.
#[derive(Object)]
#[oai(example = true)]
pub struct SignUp {
    /// The email address; a verification link is sent to it (surrounding whitespace is
    /// ignored).
    pub email: Text<EmailAddress>,
    /// 8 to 256 characters.
    pub password: Text<NewPassword>,
}

impl poem_openapi::types::Example for SignUp {
    fn example() -> Self {
        Self {
            email: Text::new("ann@example.com"),
            password: Text::new("correct horse battery staple"),
        }
    }
}

/// `POST /auth/login`.
#[derive(Object)]
#[oai(example = true)]
pub struct Credentials {
    /// The email address.
    pub email: Text<AnyText>,
    /// The password.
    pub password: Text<SecretText>,
}

impl poem_openapi::types::Example for Credentials {
    fn example() -> Self {
        Self {
            email: Text::new("ann@example.com"),
            password: Text::new("correct horse battery staple"),
        }
    }
}

/// `POST /auth/verify`.
#[derive(Object)]
#[oai(example = true)]
pub struct Verify {
    /// The token from the verification link (`…?token=<token>`).
    pub token: Text<SecretText>,
    /// The account's password, 8 to 256 characters: required for an account signed up
    /// with one. Whoever signed up did not prove the address, so the password chosen then
    /// is not kept; the person verifying sets it (again).
    #[oai(nullable)]
    pub password: Option<Text<NewPassword>>,
}

impl poem_openapi::types::Example for Verify {
    fn example() -> Self {
        Self {
            token: Text::new("q9J0dYbN6cS2p4mT8xW1zA3eR5uV7iK0lO2nH4gF6jB"),
            password: Some(Text::new("correct horse battery staple")),
        }
    }
}

/// `POST /auth/password/forgot`.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct Forgot {
    /// The account's email address.
    pub email: Text<AnyText>,
}

impl poem_openapi::types::Example for Forgot {
    fn example() -> Self {
        Self {
            email: Text::new("ann@example.com"),
        }
    }
}

/// `POST /auth/password/reset`.
#[derive(Object)]
#[oai(example = true)]
pub struct Reset {
    /// The token from the reset email.
    pub token: Text<SecretText>,
    /// The new password, 8 to 256 characters.
    pub password: Text<NewPassword>,
}

impl poem_openapi::types::Example for Reset {
    fn example() -> Self {
        Self {
            token: Text::new("Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6kL4zX2c"),
            password: Text::new("a new passphrase, long enough"),
        }
    }
}

/// `POST /auth/password`.
#[derive(Object)]
#[oai(example = true)]
pub struct PasswordChange {
    /// The password the account signs in with now.
    pub current_password: Text<SecretText>,
    /// The new password, 8 to 256 characters.
    pub new_password: Text<NewPassword>,
}

impl poem_openapi::types::Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: Text::new("correct horse battery staple"),
            new_password: Text::new("a new passphrase, long enough"),
        }
    }
}

impl PasswordChange {
    /// The new password's length.
    ///
    /// # Errors
    /// [`Invalid`]: `weak_password`.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_password(&self.new_password)
    }
}

/// Answers of `change_password`.
#[derive(ApiResponse)]
pub enum PasswordChangeResponse {
    /// Changed; every other session of the account is signed out.
    #[oai(status = 200)]
    Ok(Json<Done>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in, or the session ended (`unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The current password is wrong (`wrong_password`), or the account has none: it
    /// signs in with Google (`no_password`; the reset email sets one).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The new password is missing or too short (`weak_password`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many wrong passwords (`rate_limited`), or every password-hashing slot busy
    /// (`busy`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl From<TokenResponse> for PasswordChangeResponse {
    fn from(answer: TokenResponse) -> Self {
        match answer {
            TokenResponse::Ok(done) => Self::Ok(done),
            TokenResponse::BadRequest(e) => Self::BadRequest(e),
            TokenResponse::Invalid(e) => Self::Invalid(e),
            TokenResponse::TooMany(e, secs) => Self::TooMany(e, secs),
            TokenResponse::Unavailable(e) => Self::Unavailable(e),
        }
    }
}

/// A user, as they see themselves.
#[derive(Debug, Object)]
pub struct Me {
    /// Their id.
    pub id: Uuid,
    /// Their email address.
    pub email: String,
    /// Their role.
    pub role: super::admin::RoleName,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// A new session.
#[derive(Object)]
pub struct SessionBody {
    /// The session token: send it as `Authorization: Bearer <token>`. It is also set as the
    /// HttpOnly `nexus_session` cookie for browsers.
    pub token: String,
    /// When it stops working (refresh before then).
    pub expires_at: DateTime<Utc>,
    /// Browsers repeat this (also in the `nexus_csrf` cookie) as the `X-CSRF-Token` header
    /// on requests that change something.
    pub csrf_token: String,
}

/// A plain acknowledgement.
#[derive(Debug, Object)]
pub struct Done {
    /// What happened.
    pub message: String,
}

/// Answers of `signup`.
#[derive(ApiResponse)]
pub enum SignUpResponse {
    /// Accepted: a link to confirm the address is on its way. The answer is the same
    /// whether or not the address has an account (its owner gets an email saying so), so
    /// it tells no one which addresses are registered.
    #[oai(status = 202)]
    Accepted(Json<Done>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Invalid email address or a password too short (`invalid_email`, `weak_password`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many attempts from this client or emails to this address (`rate_limited`), or
    /// every password-hashing slot busy (`busy`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `verify` and `reset`.
#[derive(ApiResponse)]
pub enum TokenResponse {
    /// Done.
    #[oai(status = 200)]
    Ok(Json<Done>),
    /// The token is unknown, used or expired (`invalid_token`), or the body is not JSON of
    /// the documented shape (`bad_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The new password is missing or too short (`password_required`, `weak_password`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many attempts (`rate_limited`), or every password-hashing slot busy (`busy`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `login` and `refresh`.
#[derive(ApiResponse)]
pub enum SessionResponse {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<SessionBody>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Wrong email or password, or an unknown, expired or revoked session
    /// (`invalid_credentials`, `unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The email address is not verified yet (`email_not_verified`), or a cookie request
    /// without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Too many failed sign-ins from this client or for this account on clients it has
    /// not signed in on (`rate_limited`; a browser that signed in to the account before
    /// has a budget of its own), or every password-hashing slot busy (`busy`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `forgot`.
#[derive(ApiResponse)]
pub enum ForgotResponse {
    /// Accepted: if an account has this address, a reset link is on its way. The answer is
    /// the same either way, so it tells no one which addresses have accounts.
    #[oai(status = 202)]
    Accepted(Json<Done>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Too many attempts (`rate_limited`).
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `logout`.
#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// Signed out; the token no longer works.
    #[oai(status = 204)]
    Done,
    /// An unknown, expired or revoked session (`unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The database is unreachable (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `me`.
#[derive(ApiResponse)]
pub enum MeResponse {
    /// The caller.
    #[oai(status = 200)]
    Ok(Json<Me>),
    /// An unknown, expired or revoked session (`unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
}

fn me(user: &nexus_core::ports::accounts::UserRecord) -> Me {
    Me {
        id: *user.id.as_uuid(),
        email: user.email.clone(),
        role: user.role.into(),
        email_verified: user.email_verified_at.is_some(),
        created_at: user.created_at,
    }
}

pub(super) fn err(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody::new(code, message))
}

pub(super) fn unavailable(e: &StoreError) -> Json<ErrorBody> {
    tracing::error!(error = %e, "store failed");
    err(
        "unavailable",
        "the service is temporarily unavailable, try again shortly",
    )
}

/// The answer when no password-hashing slot came free in time.
pub(super) fn busy() -> (Json<ErrorBody>, u64) {
    (
        err(
            "busy",
            "the server is busy checking other passwords; try again in 1 s",
        ),
        1,
    )
}

/// What is kept of an address typed by someone not signed in (audit log, limits): no
/// address is longer than 254 characters.
pub(super) fn typed_address(email: &str) -> String {
    email.trim().chars().take(254).collect()
}

pub(super) fn rate_limited(wait: Duration) -> (Json<ErrorBody>, u64) {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    (
        err(
            "rate_limited",
            format!("too many attempts; try again in {secs} s"),
        ),
        secs.max(1),
    )
}

/// A light check: one `@`, something on both sides, a dot in the domain, no spaces.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && email.chars().count() <= 254
}

fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < passwords::MIN_LENGTH {
        Some(format!(
            "the password must have at least {} characters",
            passwords::MIN_LENGTH
        ))
    } else if chars > passwords::MAX_LENGTH {
        Some(format!(
            "the password may have at most {} characters",
            passwords::MAX_LENGTH
        ))
    } else {
        None
    }
}

impl SignUp {
    /// The light checks of the (trimmed) email address and the password's length.
    ///
    /// # Errors
    /// [`Invalid`]: `invalid_email` or `weak_password`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !valid_email(self.email.trim()) {
            return Err(Invalid::new(
                "invalid_email",
                "email: not a valid email address",
            ));
        }
        check_password(&self.password)
    }
}

impl Verify {
    /// The password's length, when one is given (whether one is required depends on the
    /// account).
    ///
    /// # Errors
    /// [`Invalid`]: `weak_password`.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.password.as_deref().map_or(Ok(()), check_password)
    }
}

impl Reset {
    /// The new password's length.
    ///
    /// # Errors
    /// [`Invalid`]: `weak_password`.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_password(&self.password)
    }
}

fn check_password(password: &str) -> Result<(), Invalid> {
    match password_problem(password) {
        Some(problem) => Err(Invalid::new(
            "weak_password",
            format!("password: {problem}"),
        )),
        None => Ok(()),
    }
}

/// The account endpoints; they find the [`ApiState`] in the request's data.
pub struct AuthApi;

impl ApiState {
    /// Appends a security event to the audit log (a failure is logged, not returned: the
    /// user's action stands).
    pub(crate) async fn audit(
        &self,
        actor: Option<UserId>,
        action: AuditAction,
        subject: &str,
        ip: &str,
    ) {
        let event = AuditEvent {
            actor,
            action,
            subject: Some(subject.to_owned()),
            details: serde_json::json!({ "ip": ip }).to_string(),
            at: Utc::now(),
        };
        if let Err(e) = self.store.append(&event).await {
            tracing::error!(error = %e, action = action.as_str(), "audit log append failed");
        }
    }

    async fn send_token_email(
        &self,
        user: UserId,
        to: &str,
        link: EmailLink,
    ) -> Result<(), StoreError> {
        let (token, hash) = tokens::generate();
        let now = Utc::now();
        let (purpose, ttl) = match link {
            EmailLink::Verify => (TokenPurpose::VerifyEmail, self.settings.verify_ttl),
            EmailLink::Reset => (TokenPurpose::ResetPassword, self.settings.reset_ttl),
        };
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
        self.store
            .create_token(&hash, user, purpose, now, expires)
            .await?;
        let url = &self.settings.public_url;
        let message = match link {
            EmailLink::Verify => email::verification(to, url, &token),
            EmailLink::Reset => email::password_reset(to, url, &token),
        };
        // A lost email is not the caller's error: they can ask again.
        if let Err(e) = self.email.send(&message).await {
            tracing::error!(error = %e, "account email not sent");
        }
        Ok(())
    }

    /// A new session for `user`, continuing a sign-in that happened at `started_at` (now,
    /// for a sign-in): stored as a hash, returned once, and set as cookies. It ends after
    /// the session lifetime, and never after the sign-in's absolute lifetime.
    pub(super) fn new_session(
        &self,
        user: UserId,
        started_at: DateTime<Utc>,
        req: &Request,
        ip: &str,
    ) -> (NewSession, String) {
        let (token, hash) = tokens::generate();
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.settings.session_ttl)
            .unwrap_or(chrono::Duration::days(7));
        let most = chrono::Duration::from_std(self.settings.session_max_lifetime)
            .unwrap_or(chrono::Duration::days(30));
        let session = NewSession {
            id: SessionId(Uuid::new_v4()),
            user,
            token: hash,
            created_at: now,
            started_at,
            expires_at: (now + ttl).min(started_at + most),
            user_agent: req
                .header("user-agent")
                .map(|ua| ua.chars().take(200).collect()),
            ip: Some(ip.to_owned()),
        };
        (session, token)
    }

    /// Sets the device cookie of `user` on this browser (renewing `device` when it had
    /// one), so its failed sign-ins to the account count apart from strangers'.
    pub(super) fn remember_device(&self, user: UserId, device: Option<&str>, jar: &CookieJar) {
        let mut cookie = Cookie::new_with_str(DEVICE_COOKIE, self.devices.issue(user, device));
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Strict);
        cookie.set_secure(self.settings.secure_cookies);
        cookie.set_path(DEVICE_COOKIE_PATH);
        cookie.set_max_age(DEVICE_TTL);
        jar.add(cookie);
    }

    /// The answer of a sign-in: the session's token and CSRF token, also set as cookies.
    pub(super) fn session_body(
        &self,
        session: &NewSession,
        token: String,
        jar: &CookieJar,
    ) -> SessionBody {
        let (csrf, _) = tokens::generate();
        let secure = self.settings.secure_cookies;
        let max_age = self.settings.session_ttl;
        let mut session_cookie = Cookie::new_with_str(SESSION_COOKIE, &token);
        session_cookie.set_http_only(true);
        session_cookie.set_same_site(SameSite::Lax);
        session_cookie.set_secure(secure);
        session_cookie.set_path("/");
        session_cookie.set_max_age(max_age);
        jar.add(session_cookie);
        let mut csrf_cookie = Cookie::new_with_str(CSRF_COOKIE, &csrf);
        csrf_cookie.set_same_site(SameSite::Strict);
        csrf_cookie.set_secure(secure);
        csrf_cookie.set_path("/");
        csrf_cookie.set_max_age(max_age);
        jar.add(csrf_cookie);
        SessionBody {
            token,
            expires_at: session.expires_at,
            csrf_token: csrf,
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "AuthTag::Auth")]
impl AuthApi {
    /// Asks for an account: emails a link to confirm the address (valid 24 h, once).
    /// Signing in is refused until the address is verified, and verifying sets the
    /// password. The answer is the same whether or not the address already has an account:
    /// its owner gets an email instead (a fresh confirmation link while it is unverified).
    #[oai(path = "/auth/signup", method = "post", operation_id = "sign_up")]
    pub(crate) async fn signup(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<SignUp>,
        ip: ClientIp,
    ) -> SignUpResponse {
        let ip = ip.0.clone();
        let email = body.email.trim().to_owned();
        let limited = state
            .limits
            .check(&ip, None)
            .and_then(|()| state.limits.check_address(&email));
        if let Err(wait) = limited {
            let (body, secs) = rate_limited(wait);
            return SignUpResponse::TooMany(body, secs);
        }
        if let Err(e) = body.validate() {
            return SignUpResponse::Invalid(e.body());
        }
        // Hashed whether or not the address is taken, so the answer takes as long.
        let hash = match state.hashing.hash(Secret::new(body.password.clone())).await {
            Ok(Ok(hash)) => hash,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "password not hashed");
                return SignUpResponse::Unavailable(err(
                    "unavailable",
                    "could not hash the password",
                ));
            }
            Err(_) => {
                let (body, secs) = busy();
                return SignUpResponse::TooMany(body, secs);
            }
        };
        let id = UserId::new(crate::ids::time_ordered());
        let sent = match state
            .store
            .create_user(id, &email, Some(&hash), Role::User, Utc::now())
            .await
        {
            Ok(_) => {
                state
                    .audit(Some(id), AuditAction::SignUp, &email, &ip)
                    .await;
                state.send_token_email(id, &email, EmailLink::Verify).await
            }
            Err(StoreError::Conflict { .. }) => state.signed_up_again(&email).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            return SignUpResponse::Unavailable(unavailable(&e));
        }
        SignUpResponse::Accepted(Json(Done {
            message: "check your inbox: we sent a link to confirm the address".into(),
        }))
    }

    /// Verifies an email address with the token from the verification link, and sets the
    /// account's password (required when it was signed up with one): whoever signed up
    /// did not prove the address, so the password they chose does not survive its owner's
    /// verification. Every session of the account ends.
    #[oai(path = "/auth/verify", method = "post", operation_id = "verify_email")]
    pub(crate) async fn verify(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Verify>,
        ip: ClientIp,
    ) -> TokenResponse {
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return TokenResponse::TooMany(body, secs);
        }
        let now = Utc::now();
        let token = tokens::hash(body.token.trim());
        // The token is checked before any hashing: a made-up one costs a lookup.
        let user = match state
            .store
            .token_user(&token, TokenPurpose::VerifyEmail, now)
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => return TokenResponse::BadRequest(invalid_token()),
            Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
        };
        let has_password = match state.store.user(user).await {
            Ok(Some(record)) => match state.store.user_by_email(&record.email).await {
                Ok(found) => found.is_some_and(|(_, hash)| hash.is_some()),
                Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
            },
            Ok(None) => return TokenResponse::BadRequest(invalid_token()),
            Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
        };
        let hash = match body.password.as_deref() {
            None if has_password => {
                return TokenResponse::Invalid(err(
                    "password_required",
                    "password: choose the account's password; the one given at sign-up is not \
                     kept, since anyone could have signed up with this address",
                ));
            }
            None => None,
            Some(password) => match state.new_password_hash(password).await {
                Ok(hash) => Some(hash),
                Err(answer) => return answer,
            },
        };
        match state
            .store
            .consume_token(&token, TokenPurpose::VerifyEmail, now)
            .await
        {
            Ok(Some(_)) => {}
            // Used by a racing request between the check and now.
            Ok(None) => return TokenResponse::BadRequest(invalid_token()),
            Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
        }
        let set = match &hash {
            Some(hash) => state.store.set_password(user, hash, now).await,
            None => Ok(()),
        };
        let done = set
            .and(state.store.mark_email_verified(user, now).await)
            .and(
                state
                    .store
                    .revoke_user_sessions(user, now)
                    .await
                    .map(|_| ()),
            );
        if let Err(e) = done {
            return TokenResponse::Unavailable(unavailable(&e));
        }
        state
            .audit(
                Some(user),
                AuditAction::EmailVerified,
                &user.to_string(),
                &ip,
            )
            .await;
        TokenResponse::Ok(Json(Done {
            message: "email address verified; you can sign in".into(),
        }))
    }

    /// Signs in with email and password: returns a session token (7 days, refreshable
    /// for up to 30 days in all) and sets it as an HttpOnly cookie with a CSRF cookie for
    /// browsers, and a long-lived device cookie (`nexus_device`, sent only to
    /// `/api/v1/auth`) that gives this browser its own budget of failed sign-ins to the
    /// account. Only failures count against a client or an account, and a success clears
    /// the account's count.
    #[oai(path = "/auth/login", method = "post", operation_id = "log_in")]
    pub(crate) async fn login(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Credentials>,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> SessionResponse {
        let ip = ip.0.clone();
        let email = typed_address(&body.email);
        let found = match state.store.user_by_email(&email).await {
            Ok(found) => found,
            Err(e) => return SessionResponse::Unavailable(unavailable(&e)),
        };
        let device = found.as_ref().and_then(|(user, _)| {
            let cookie = jar.get(DEVICE_COOKIE)?;
            state.devices.device_of(cookie.value_str(), user.id)
        });
        let attempt = Attempt {
            ip: &ip,
            account: &email,
            device: device.as_deref(),
        };
        if let Err(wait) = state.failures.check(&attempt, Instant::now()) {
            let (body, secs) = rate_limited(wait);
            return SessionResponse::TooMany(body, secs);
        }
        let password = Secret::new(body.password.clone());
        let checked = match &found {
            Some((_, Some(hash))) => state.hashing.verify(password, hash.clone()).await,
            // No account, or one made through Google without a password: as slow as a
            // wrong password, so timing does not tell them apart.
            _ => state.hashing.dummy_verify(password).await.map(|()| false),
        };
        let matches = match checked {
            Ok(matches) => matches,
            Err(_) => {
                let (body, secs) = busy();
                return SessionResponse::TooMany(body, secs);
            }
        };
        let user = match found {
            Some((user, _)) if matches => user,
            found => {
                state.failures.failed(&attempt, Instant::now());
                let actor = found.map(|(user, _)| user.id);
                state
                    .audit(actor, AuditAction::SignInFailed, &email, &ip)
                    .await;
                return SessionResponse::Unauthorized(err(
                    "invalid_credentials",
                    "wrong email address or password",
                ));
            }
        };
        state.failures.succeeded(&attempt);
        state.remember_device(user.id, device.as_deref(), jar);
        if user.email_verified_at.is_none() {
            return SessionResponse::Forbidden(err(
                "email_not_verified",
                "verify your email address first: follow the link we sent you",
            ));
        }
        let (session, token) = state.new_session(user.id, Utc::now(), req, &ip);
        if let Err(e) = state.store.create_session(&session).await {
            return SessionResponse::Unavailable(unavailable(&e));
        }
        state
            .audit(Some(user.id), AuditAction::SignIn, &email, &ip)
            .await;
        SessionResponse::Ok(Json(state.session_body(&session, token, jar)))
    }

    /// Exchanges the current session for a new one (a fresh 7 days, but never more than 30
    /// days after the sign-in it continues); the old token stops working at once.
    #[oai(
        path = "/auth/refresh",
        method = "post",
        operation_id = "refresh_session"
    )]
    pub(crate) async fn refresh(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> SessionResponse {
        let caller = auth.caller();
        let ip = ip.0.clone();
        let (session, token) = state.new_session(caller.user.id, caller.started_at, req, &ip);
        if session.expires_at <= session.created_at {
            return SessionResponse::Unauthorized(err(
                "unauthorized",
                "the sign-in reached its 30-day limit; sign in again",
            ));
        }
        match state
            .store
            .rotate_session(&caller.token, &session, Utc::now())
            .await
        {
            Ok(true) => SessionResponse::Ok(Json(state.session_body(&session, token, jar))),
            Ok(false) => SessionResponse::Unauthorized(err(
                "unauthorized",
                "the session was revoked or refreshed already",
            )),
            Err(e) => SessionResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Signs out: the session token stops working, and the browser's session and CSRF
    /// cookies are removed.
    #[oai(path = "/auth/logout", method = "post", operation_id = "log_out")]
    pub(crate) async fn logout(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        ip: ClientIp,
        jar: &CookieJar,
    ) -> LogoutResponse {
        let caller = auth.caller();
        if let Err(e) = state.store.revoke_session(&caller.token, Utc::now()).await {
            return LogoutResponse::Unavailable(unavailable(&e));
        }
        let secure = state.settings.secure_cookies;
        jar.add(expired(SESSION_COOKIE, "/", secure));
        jar.add(expired(CSRF_COOKIE, "/", secure));
        state
            .audit(
                Some(caller.user.id),
                AuditAction::SignOut,
                &caller.user.email,
                &ip.0.clone(),
            )
            .await;
        LogoutResponse::Done
    }

    /// Emails a password-reset link (valid 1 h, once; using one kills the others) if an
    /// account has this address. The answer is the same whether or not one does, and
    /// whether or not the address has had its share of emails for now (5 per 15 minutes:
    /// the links already sent keep working).
    #[oai(
        path = "/auth/password/forgot",
        method = "post",
        operation_id = "forgot_password"
    )]
    pub(crate) async fn forgot(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Forgot>,
        ip: ClientIp,
    ) -> ForgotResponse {
        let ip = ip.0.clone();
        let email = typed_address(&body.email);
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return ForgotResponse::TooMany(body, secs);
        }
        let accepted = ForgotResponse::Accepted(Json(Done {
            message: "if an account has this address, a reset link is on its way".into(),
        }));
        if state.limits.check_address(&email).is_err() {
            tracing::info!("reset email not sent: the address had its share for now");
            return accepted;
        }
        match state.store.user_by_email(&email).await {
            Ok(Some((user, _))) => {
                if let Err(e) = state
                    .send_token_email(user.id, &user.email, EmailLink::Reset)
                    .await
                {
                    return ForgotResponse::Unavailable(unavailable(&e));
                }
                state
                    .audit(
                        Some(user.id),
                        AuditAction::PasswordResetRequested,
                        &email,
                        &ip,
                    )
                    .await;
            }
            Ok(None) => {
                state
                    .audit(None, AuditAction::PasswordResetRequested, &email, &ip)
                    .await;
            }
            Err(e) => return ForgotResponse::Unavailable(unavailable(&e)),
        }
        accepted
    }

    /// Sets a new password with the token from the reset email, and signs out every
    /// session of the account. Every other reset link of the account stops working.
    #[oai(
        path = "/auth/password/reset",
        method = "post",
        operation_id = "reset_password"
    )]
    pub(crate) async fn reset(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Reset>,
        ip: ClientIp,
    ) -> TokenResponse {
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return TokenResponse::TooMany(body, secs);
        }
        let now = Utc::now();
        let token = tokens::hash(body.token.trim());
        // The token is checked before any hashing: a made-up one costs a lookup.
        match state
            .store
            .token_user(&token, TokenPurpose::ResetPassword, now)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return TokenResponse::BadRequest(invalid_token()),
            Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
        }
        let hash = match state.new_password_hash(&body.password).await {
            Ok(hash) => hash,
            Err(answer) => return answer,
        };
        let user = match state
            .store
            .consume_token(&token, TokenPurpose::ResetPassword, now)
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => return TokenResponse::BadRequest(invalid_token()),
            Err(e) => return TokenResponse::Unavailable(unavailable(&e)),
        };
        if let Err(e) = state.store.set_password(user, &hash, now).await {
            return TokenResponse::Unavailable(unavailable(&e));
        }
        // Whoever held a session (perhaps the reason for the reset) is signed out; the
        // reset link also proves the address, so it counts as verified.
        let revoked = state.store.revoke_user_sessions(user, now).await;
        let verified = state.store.mark_email_verified(user, now).await;
        if let Err(e) = revoked.and(verified) {
            return TokenResponse::Unavailable(unavailable(&e));
        }
        state
            .audit(
                Some(user),
                AuditAction::PasswordReset,
                &user.to_string(),
                &ip,
            )
            .await;
        TokenResponse::Ok(Json(Done {
            message: "password changed; every session was signed out".into(),
        }))
    }

    /// Changes the signed-in user's password, given the current one, and signs out every
    /// other session of the account (this one stays). Wrong current passwords count
    /// against the account as failed sign-ins do.
    #[oai(
        path = "/auth/password",
        method = "post",
        operation_id = "change_password"
    )]
    pub(crate) async fn change_password(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        body: Json<PasswordChange>,
        ip: ClientIp,
    ) -> PasswordChangeResponse {
        let caller = auth.caller();
        let ip = ip.0.clone();
        let email = caller.user.email.clone();
        let attempt = Attempt {
            ip: &ip,
            account: &email,
            device: None,
        };
        if let Err(wait) = state.failures.check(&attempt, Instant::now()) {
            let (body, secs) = rate_limited(wait);
            return PasswordChangeResponse::TooMany(body, secs);
        }
        if let Err(e) = body.validate() {
            return PasswordChangeResponse::Invalid(e.body());
        }
        let hash = match state.store.user_by_email(&email).await {
            Ok(Some((_, Some(hash)))) => hash,
            Ok(_) => {
                return PasswordChangeResponse::Forbidden(err(
                    "no_password",
                    "this account signs in with Google and has no password: ask for a reset email to set one",
                ));
            }
            Err(e) => return PasswordChangeResponse::Unavailable(unavailable(&e)),
        };
        let current = Secret::new(body.current_password.clone());
        match state.hashing.verify(current, hash).await {
            Ok(true) => {}
            Ok(false) => {
                state.failures.failed(&attempt, Instant::now());
                state
                    .audit(
                        Some(caller.user.id),
                        AuditAction::PasswordChangeFailed,
                        &email,
                        &ip,
                    )
                    .await;
                return PasswordChangeResponse::Forbidden(err(
                    "wrong_password",
                    "current_password: that is not the account's password",
                ));
            }
            Err(_) => {
                let (body, secs) = busy();
                return PasswordChangeResponse::TooMany(body, secs);
            }
        }
        state.failures.succeeded(&attempt);
        let hash = match state.new_password_hash(&body.new_password).await {
            Ok(hash) => hash,
            Err(answer) => return answer.into(),
        };
        let now = Utc::now();
        if let Err(e) = state.store.set_password(caller.user.id, &hash, now).await {
            return PasswordChangeResponse::Unavailable(unavailable(&e));
        }
        let revoked = match state
            .store
            .revoke_other_sessions(caller.user.id, caller.session, now)
            .await
        {
            Ok(n) => n,
            Err(e) => return PasswordChangeResponse::Unavailable(unavailable(&e)),
        };
        state
            .audit(
                Some(caller.user.id),
                AuditAction::PasswordChanged,
                &format!("{email}: {revoked} other sessions signed out"),
                &ip,
            )
            .await;
        let message = match revoked {
            0 => "password changed".to_owned(),
            1 => "password changed; 1 other session was signed out".to_owned(),
            n => format!("password changed; {n} other sessions were signed out"),
        };
        PasswordChangeResponse::Ok(Json(Done { message }))
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    pub(crate) async fn me(&self, auth: Session) -> MeResponse {
        MeResponse::Ok(Json(me(&auth.caller().user)))
    }
}

fn invalid_token() -> Json<ErrorBody> {
    err(
        "invalid_token",
        "token: unknown, already used or expired; ask for a new link",
    )
}

impl ApiState {
    /// The hash of a new `password` the user chose, or the answer refusing it.
    async fn new_password_hash(&self, password: &str) -> Result<String, TokenResponse> {
        if let Err(e) = check_password(password) {
            return Err(TokenResponse::Invalid(e.body()));
        }
        match self.hashing.hash(Secret::new(password.to_owned())).await {
            Ok(Ok(hash)) => Ok(hash),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "password not hashed");
                Err(TokenResponse::Unavailable(err(
                    "unavailable",
                    "could not hash the password",
                )))
            }
            Err(_) => {
                let (body, secs) = busy();
                Err(TokenResponse::TooMany(body, secs))
            }
        }
    }

    /// A sign-up for an address that has an account: its owner hears of it (a fresh
    /// confirmation link while it is unverified), the caller hears nothing different.
    async fn signed_up_again(&self, email: &str) -> Result<(), StoreError> {
        let Some((user, _)) = self.store.user_by_email(email).await? else {
            return Ok(());
        };
        if user.email_verified_at.is_none() {
            return self
                .send_token_email(user.id, &user.email, EmailLink::Verify)
                .await;
        }
        let message = email::already_registered(&user.email, &self.settings.public_url);
        if let Err(e) = self.email.send(&message).await {
            tracing::error!(error = %e, "account email not sent");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_lightly() {
        for ok in ["a@b.co", "first.last+tag@example.com"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b@c.de", "a@.b", "a@b.",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(password_problem("1234567").is_some());
        assert!(password_problem("12345678").is_none());
        assert!(
            password_problem("ééééééé").is_some(),
            "characters, not bytes"
        );
    }
}
