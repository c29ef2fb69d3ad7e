//! Who is calling: a session token as `Authorization: Bearer` (API clients) or as the
//! HttpOnly `nexus_session` cookie (browsers). Cookie-authenticated requests that change
//! something must also carry the `X-CSRF-Token` header matching the `nexus_csrf` cookie
//! (double submit), so another site cannot make a browser act for its user.

use std::sync::Arc;

use chrono::Utc;
use nexus_core::ports::accounts::UserRecord;
use nexus_core::ports::sessions::{SessionId, TokenHash};
use poem::Request;
use poem::http::{Method, StatusCode};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use super::ApiState;
use crate::auth::tokens;

/// The session cookie.
pub const SESSION_COOKIE: &str = "nexus_session";
/// The CSRF cookie, readable by the page's scripts.
pub const CSRF_COOKIE: &str = "nexus_csrf";
/// The header repeating the CSRF cookie.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user.
    pub user: UserRecord,
    /// The session.
    pub session: SessionId,
    /// When the sign-in it continues happened: refreshes never carry it past
    /// [`AuthSettings::session_max_lifetime`](super::AuthSettings::session_max_lifetime).
    pub started_at: nexus_core::Timestamp,
    /// The hash of the session token (to revoke or rotate it).
    pub token: TokenHash,
}

/// A session token sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "from_bearer")]
pub struct BearerToken(Authenticated);

/// The `nexus_session` cookie set by sign-in (browsers; needs `X-CSRF-Token` on writes).
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "nexus_session",
    key_in = "cookie",
    checker = "from_cookie"
)]
pub struct SessionCookie(Authenticated);

/// Either way of presenting a session.
#[derive(SecurityScheme)]
pub enum Session {
    /// `Authorization: Bearer`.
    Bearer(BearerToken),
    /// The session cookie.
    Cookie(SessionCookie),
}

impl Session {
    /// A browser's session, already checked by the web app (its CSRF check included).
    #[must_use]
    pub fn browser(caller: Authenticated) -> Self {
        Self::Cookie(SessionCookie(caller))
    }

    /// The caller.
    #[must_use]
    pub fn caller(&self) -> &Authenticated {
        match self {
            Self::Bearer(BearerToken(a)) | Self::Cookie(SessionCookie(a)) => a,
        }
    }
}

fn unauthorized(message: &str) -> poem::Error {
    poem::Error::from_string(message, StatusCode::UNAUTHORIZED)
}

/// The active session whose token is `token`.
pub(crate) async fn lookup(req: &Request, token: &str) -> poem::Result<Authenticated> {
    let state = req
        .data::<Arc<ApiState>>()
        .ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    find(state, token).await
}

/// The active session whose token is `token`, in `state`'s store.
pub(crate) async fn find(state: &ApiState, token: &str) -> poem::Result<Authenticated> {
    let hash = tokens::hash(token.trim());
    let session = state
        .store
        .active_session(&hash, Utc::now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "session lookup failed");
            poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE)
        })?
        .ok_or_else(|| unauthorized("the session token is unknown, expired or revoked"))?;
    tracing::Span::current().record("user_id", tracing::field::display(session.user.id));
    Ok(Authenticated {
        user: session.user,
        session: session.id,
        started_at: session.started_at,
        token: hash,
    })
}

async fn from_bearer(req: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    lookup(req, &bearer.token).await
}

async fn from_cookie(req: &Request, key: ApiKey) -> poem::Result<Authenticated> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let cookie = req
            .cookie()
            .get(CSRF_COOKIE)
            .map(|c| c.value_str().to_owned());
        let header = req.header(CSRF_HEADER);
        let matches = match (cookie.as_deref(), header) {
            (Some(c), Some(h)) => !c.is_empty() && constant_time_eq(c.as_bytes(), h.as_bytes()),
            _ => false,
        };
        if !matches {
            return Err(poem::Error::from_string(
                "a cookie-authenticated request that changes something needs the X-CSRF-Token header matching the nexus_csrf cookie",
                StatusCode::FORBIDDEN,
            ));
        }
    }
    lookup(req, &key.key).await
}

/// Whether `a` is `b`, in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
