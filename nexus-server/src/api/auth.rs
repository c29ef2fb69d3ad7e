//! `/api/v1/auth/…` and `/api/v1/me`: sign-up with email verification, sign-in with
//! rotating 7-day sessions, sign-out, password reset.

use std::sync::Arc;
use std::time::Duration;

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

use super::client_ip::ClientIp;
use super::session::{CSRF_COOKIE, SESSION_COOKIE, Session};
use super::{ApiState, ErrorBody};
use crate::auth::{passwords, tokens};
use crate::email;

#[derive(Tags)]
pub(super) enum AuthTag {
    /// Accounts, sign-in and sessions.
    Auth,
}

/// `POST /auth/signup`.
#[derive(Object)]
pub struct SignUp {
    /// The email address; a verification link is sent to it.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
}

/// `POST /auth/login`.
#[derive(Object)]
pub struct Credentials {
    /// The email address.
    pub email: String,
    /// The password.
    pub password: String,
}

/// A one-time token from an email link (`…?token=<token>`).
#[derive(Debug, Object)]
pub struct TokenBody {
    /// The token.
    pub token: String,
}

/// `POST /auth/password/forgot`.
#[derive(Debug, Object)]
pub struct Forgot {
    /// The account's email address.
    pub email: String,
}

/// `POST /auth/password/reset`.
#[derive(Object)]
pub struct Reset {
    /// The token from the reset email.
    pub token: String,
    /// The new password, at least 8 characters.
    pub password: String,
}

/// A user, as they see themselves.
#[derive(Debug, Object)]
pub struct Me {
    /// Their id.
    pub id: Uuid,
    /// Their email address.
    pub email: String,
    /// `user` or `admin`.
    pub role: String,
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
    /// Created; the verification email is on its way.
    #[oai(status = 201)]
    Created(Json<Me>),
    /// Malformed JSON.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The email address is taken (`email_taken`).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Invalid email address or a password too short (`invalid_email`, `weak_password`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many attempts from this address or for this account (`rate_limited`).
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
    /// Malformed JSON, or the token is unknown, used or expired (`invalid_token`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The new password is too short (`weak_password`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many attempts (`rate_limited`).
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
    /// Malformed JSON.
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
    /// Too many attempts (`rate_limited`).
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
    /// Malformed JSON.
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
        role: user.role.as_str().to_owned(),
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
        && email.len() <= 254
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

/// The account endpoints; they find the [`ApiState`] in the request's data.
pub struct AuthApi;

impl ApiState {
    /// Appends a security event to the audit log (a failure is logged, not returned: the
    /// user's action stands).
    pub(super) async fn audit(
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
        purpose: TokenPurpose,
    ) -> Result<(), StoreError> {
        let (token, hash) = tokens::generate();
        let now = Utc::now();
        let ttl = match purpose {
            TokenPurpose::VerifyEmail => self.settings.verify_ttl,
            TokenPurpose::ResetPassword => self.settings.reset_ttl,
        };
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
        self.store
            .create_token(&hash, user, purpose, now, expires)
            .await?;
        let url = &self.settings.public_url;
        let message = match purpose {
            TokenPurpose::VerifyEmail => email::verification(to, url, &token),
            TokenPurpose::ResetPassword => email::password_reset(to, url, &token),
        };
        // A lost email is not the caller's error: they can ask again.
        if let Err(e) = self.email.send(&message).await {
            tracing::error!(error = %e, "account email not sent");
        }
        Ok(())
    }

    /// A new session for `user`: stored as a hash, returned once, and set as cookies.
    pub(super) fn new_session(
        &self,
        user: UserId,
        req: &Request,
        ip: &str,
    ) -> (NewSession, String) {
        let (token, hash) = tokens::generate();
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.settings.session_ttl)
            .unwrap_or(chrono::Duration::days(7));
        let session = NewSession {
            id: SessionId(Uuid::new_v4()),
            user,
            token: hash,
            created_at: now,
            expires_at: now + ttl,
            user_agent: req
                .header("user-agent")
                .map(|ua| ua.chars().take(200).collect()),
            ip: Some(ip.to_owned()),
        };
        (session, token)
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
    /// Creates an account and emails a verification link (valid 24 h, once). Signing in
    /// is refused until the address is verified.
    #[oai(path = "/auth/signup", method = "post", operation_id = "sign_up")]
    async fn signup(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<SignUp>,
        ip: ClientIp,
    ) -> SignUpResponse {
        let ip = ip.0.clone();
        let email = body.email.trim().to_owned();
        if let Err(wait) = state.limits.check(&ip, Some(&email)) {
            let (body, secs) = rate_limited(wait);
            return SignUpResponse::TooMany(body, secs);
        }
        if !valid_email(&email) {
            return SignUpResponse::Invalid(err(
                "invalid_email",
                "email: not a valid email address",
            ));
        }
        if let Some(problem) = password_problem(&body.password) {
            return SignUpResponse::Invalid(err("weak_password", format!("password: {problem}")));
        }
        let hash = match passwords::hash(Secret::new(body.password.clone())).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::error!(error = %e, "password not hashed");
                return SignUpResponse::Unavailable(err(
                    "unavailable",
                    "could not hash the password",
                ));
            }
        };
        let id = UserId::new(Uuid::new_v4());
        let user = match state
            .store
            .create_user(id, &email, Some(&hash), Role::User, Utc::now())
            .await
        {
            Ok(user) => user,
            Err(StoreError::Conflict { .. }) => {
                return SignUpResponse::Conflict(err(
                    "email_taken",
                    "email: an account with this address exists; sign in or reset its password",
                ));
            }
            Err(e) => return SignUpResponse::Unavailable(unavailable(&e)),
        };
        state
            .audit(Some(id), AuditAction::SignUp, &email, &ip)
            .await;
        if let Err(e) = state
            .send_token_email(id, &email, TokenPurpose::VerifyEmail)
            .await
        {
            return SignUpResponse::Unavailable(unavailable(&e));
        }
        SignUpResponse::Created(Json(me(&user)))
    }

    /// Verifies an email address with the token from the verification link.
    #[oai(path = "/auth/verify", method = "post", operation_id = "verify_email")]
    async fn verify(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<TokenBody>,
        ip: ClientIp,
    ) -> TokenResponse {
        let ip = ip.0.clone();
        if let Err(wait) = state.limits.check(&ip, None) {
            let (body, secs) = rate_limited(wait);
            return TokenResponse::TooMany(body, secs);
        }
        let now = Utc::now();
        let hash = tokens::hash(body.token.trim());
        match state
            .store
            .consume_token(&hash, TokenPurpose::VerifyEmail, now)
            .await
        {
            Ok(Some(user)) => {
                if let Err(e) = state.store.mark_email_verified(user, now).await {
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
            Ok(None) => TokenResponse::BadRequest(err(
                "invalid_token",
                "token: unknown, already used or expired; ask for a new link",
            )),
            Err(e) => TokenResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Signs in with email and password: returns a session token (7 days) and sets it as
    /// an HttpOnly cookie with a CSRF cookie for browsers.
    #[oai(path = "/auth/login", method = "post", operation_id = "log_in")]
    async fn login(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Credentials>,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> SessionResponse {
        let ip = ip.0.clone();
        let email = body.email.trim().to_owned();
        if let Err(wait) = state.limits.check(&ip, Some(&email)) {
            let (body, secs) = rate_limited(wait);
            return SessionResponse::TooMany(body, secs);
        }
        let found = match state.store.user_by_email(&email).await {
            Ok(found) => found,
            Err(e) => return SessionResponse::Unavailable(unavailable(&e)),
        };
        let password = Secret::new(body.password.clone());
        let user = match found {
            Some((user, hash)) => {
                let matches = match hash {
                    Some(hash) => passwords::verify(password, hash).await,
                    // An account made through Google has no password; as slow as a wrong
                    // one, so timing does not tell such accounts apart.
                    None => {
                        passwords::dummy_verify(password).await;
                        false
                    }
                };
                if !matches {
                    state
                        .audit(Some(user.id), AuditAction::SignInFailed, &email, &ip)
                        .await;
                    return SessionResponse::Unauthorized(err(
                        "invalid_credentials",
                        "wrong email address or password",
                    ));
                }
                user
            }
            None => {
                // As slow as a wrong password, so timing does not reveal accounts.
                passwords::dummy_verify(password).await;
                state
                    .audit(None, AuditAction::SignInFailed, &email, &ip)
                    .await;
                return SessionResponse::Unauthorized(err(
                    "invalid_credentials",
                    "wrong email address or password",
                ));
            }
        };
        if user.email_verified_at.is_none() {
            return SessionResponse::Forbidden(err(
                "email_not_verified",
                "verify your email address first: follow the link we sent you",
            ));
        }
        let (session, token) = state.new_session(user.id, req, &ip);
        if let Err(e) = state.store.create_session(&session).await {
            return SessionResponse::Unavailable(unavailable(&e));
        }
        state
            .audit(Some(user.id), AuditAction::SignIn, &email, &ip)
            .await;
        SessionResponse::Ok(Json(state.session_body(&session, token, jar)))
    }

    /// Exchanges the current session for a new one (a fresh 7 days); the old token stops
    /// working at once.
    #[oai(
        path = "/auth/refresh",
        method = "post",
        operation_id = "refresh_session"
    )]
    async fn refresh(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        ip: ClientIp,
        req: &Request,
        jar: &CookieJar,
    ) -> SessionResponse {
        let caller = auth.caller();
        let ip = ip.0.clone();
        let (session, token) = state.new_session(caller.user.id, req, &ip);
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

    /// Signs out: the session token stops working.
    #[oai(path = "/auth/logout", method = "post", operation_id = "log_out")]
    async fn logout(
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
        jar.remove(SESSION_COOKIE);
        jar.remove(CSRF_COOKIE);
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

    /// Emails a password-reset link (valid 1 h, once) if an account has this address. The
    /// answer is the same whether or not one does.
    #[oai(
        path = "/auth/password/forgot",
        method = "post",
        operation_id = "forgot_password"
    )]
    async fn forgot(
        &self,
        state: Data<&Arc<ApiState>>,
        body: Json<Forgot>,
        ip: ClientIp,
    ) -> ForgotResponse {
        let ip = ip.0.clone();
        let email = body.email.trim().to_owned();
        if let Err(wait) = state.limits.check(&ip, Some(&email)) {
            let (body, secs) = rate_limited(wait);
            return ForgotResponse::TooMany(body, secs);
        }
        match state.store.user_by_email(&email).await {
            Ok(Some((user, _))) => {
                if let Err(e) = state
                    .send_token_email(user.id, &user.email, TokenPurpose::ResetPassword)
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
        ForgotResponse::Accepted(Json(Done {
            message: "if an account has this address, a reset link is on its way".into(),
        }))
    }

    /// Sets a new password with the token from the reset email, and signs out every
    /// session of the account.
    #[oai(
        path = "/auth/password/reset",
        method = "post",
        operation_id = "reset_password"
    )]
    async fn reset(
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
        if let Some(problem) = password_problem(&body.password) {
            return TokenResponse::Invalid(err("weak_password", format!("password: {problem}")));
        }
        let hash = match passwords::hash(Secret::new(body.password.clone())).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::error!(error = %e, "password not hashed");
                return TokenResponse::Unavailable(err(
                    "unavailable",
                    "could not hash the password",
                ));
            }
        };
        let now = Utc::now();
        let token = tokens::hash(body.token.trim());
        let user = match state
            .store
            .consume_token(&token, TokenPurpose::ResetPassword, now)
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => {
                return TokenResponse::BadRequest(err(
                    "invalid_token",
                    "token: unknown, already used or expired; ask for a new link",
                ));
            }
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

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: Session) -> MeResponse {
        MeResponse::Ok(Json(me(&auth.caller().user)))
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
