//! Who is looking at a page: the signed-in user (from the same HttpOnly session cookie
//! the API reads), the CSRF token every form and htmx request repeats, the chosen theme
//! and a one-time message left by the previous request.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nexus_core::ports::accounts::Role;
use poem::http::StatusCode;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem::{FromRequest, Request, RequestBody};

use crate::api::ApiState;
use crate::api::session::{Authenticated, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Session};
use crate::auth::tokens;

/// The cookie holding the theme chosen with the theme button.
pub const THEME_COOKIE: &str = "nexus_theme";
/// The cookie carrying a message to the next page (after a redirect).
pub const FLASH_COOKIE: &str = "nexus_flash";
/// The form field repeating the CSRF cookie.
pub const CSRF_FIELD: &str = "_csrf";

/// The theme: the system's unless the user chose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Follow the system.
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    /// The value of `data-theme` on `<html>` (empty: the system's).
    #[must_use]
    pub fn attribute(self) -> &'static str {
        match self {
            Self::System => "",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// Reads the cookie's value.
    #[must_use]
    pub fn parse(value: &str) -> Self {
        match value {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }
}

/// A message for the next page: `kind` is `success`, `info`, `warning` or `danger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// The alert kind.
    pub kind: String,
    /// The text.
    pub text: String,
}

/// The person requesting a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The signed-in user; `None` for visitors.
    pub user: Option<Authenticated>,
    /// The CSRF token to put in forms (the cookie's value; a new one for a first visit).
    pub csrf: String,
    /// Whether the CSRF cookie came with the request (a form can only be checked then).
    csrf_known: bool,
    /// The theme.
    pub theme: Theme,
    /// The request's path, for the navigation's current page.
    pub path: String,
    /// A message left by the previous request.
    pub flash: Option<Flash>,
    /// The session cookie's value, for API operations made on the user's behalf.
    token: Option<String>,
}

impl Viewer {
    /// Whether the user is an administrator.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.user.role == Role::Admin)
    }

    /// The signed-in user as the API's operations take them.
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.user.clone().map(Session::browser)
    }

    /// Whether `given` (a form field or the `X-CSRF-Token` header) repeats the CSRF cookie.
    #[must_use]
    pub fn csrf_matches(&self, given: Option<&str>) -> bool {
        self.csrf_known
            && given.is_some_and(|g| {
                crate::api::session::constant_time_eq(g.as_bytes(), self.csrf.as_bytes())
            })
    }

    /// The session token (to sign out).
    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

impl<'a> FromRequest<'a> for Viewer {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<Arc<ApiState>>()
            .ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
        Ok(Self::load(state, req.cookie(), req.uri().path()).await)
    }
}

impl Viewer {
    /// Who is asking for `path`, from the request's cookies in `jar` (which also takes the
    /// cookies to set: a first CSRF token, the flash message's removal).
    pub async fn load(state: &ApiState, jar: &CookieJar, path: &str) -> Self {
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value_str().to_owned())
            .filter(|t| !t.is_empty());
        let user = match &token {
            // An expired or revoked session is a visitor, not an error.
            Some(token) => crate::api::session::find(state, token).await.ok(),
            None => None,
        };
        let existing = jar
            .get(CSRF_COOKIE)
            .map(|c| c.value_str().to_owned())
            .filter(|c| !c.is_empty());
        let csrf_known = existing.is_some();
        let csrf = existing.unwrap_or_else(|| {
            let (fresh, _) = tokens::generate();
            jar.add(csrf_cookie(&fresh, state.settings.secure_cookies));
            fresh
        });
        let theme = jar
            .get(THEME_COOKIE)
            .map_or(Theme::System, |c| Theme::parse(c.value_str()));
        let flash = jar.get(FLASH_COOKIE).and_then(|c| {
            let value = c.value_str().to_owned();
            // Shown once: the answer deletes it.
            let mut gone = Cookie::new_with_str(FLASH_COOKIE, "");
            gone.set_path("/");
            gone.set_max_age(std::time::Duration::ZERO);
            jar.add(gone);
            Flash::decode(&value)
        });
        Self {
            user,
            csrf,
            csrf_known,
            theme,
            path: path.to_owned(),
            flash,
            token,
        }
    }
}

/// The CSRF cookie for a visitor's first page (a sign-in replaces it).
fn csrf_cookie(value: &str, secure: bool) -> Cookie {
    let mut cookie = Cookie::new_with_str(CSRF_COOKIE, value);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_secure(secure);
    cookie.set_path("/");
    cookie
}

/// Leaves `text` for the next page as a `kind` alert.
pub fn flash(jar: &CookieJar, kind: &str, text: &str) {
    let value = URL_SAFE_NO_PAD.encode(format!("{kind}:{text}"));
    let mut cookie = Cookie::new_with_str(FLASH_COOKIE, value);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_max_age(std::time::Duration::from_secs(60));
    jar.add(cookie);
}

impl Flash {
    /// The message in a flash cookie (base64url of `kind:text`); anything else is ignored.
    fn decode(value: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (kind, text) = text.split_once(':')?;
        matches!(kind, "success" | "info" | "warning" | "danger").then(|| Self {
            kind: kind.to_owned(),
            text: text.to_owned(),
        })
    }
}

/// Whether a request carries the CSRF token in its header (htmx requests do).
#[must_use]
pub fn csrf_header(req: &Request) -> Option<&str> {
    req.header(CSRF_HEADER)
}
