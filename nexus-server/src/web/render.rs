//! What every page shares (the layout's "chrome": title, asset URLs, CSRF token, theme,
//! who is signed in, the current section) and the answers pages give: HTML, redirects
//! after a form (303, so a reload does not post again) and friendly error pages.

use askama::Template;
use poem::http::StatusCode;
use poem::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use poem::{Request, Response};

use super::assets;
use super::viewer::{Flash, Viewer};

/// The layout's data.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's title (before " · Nexus").
    pub title: String,
    /// The stylesheet's URL.
    pub css: &'static str,
    /// htmx's URL.
    pub htmx: &'static str,
    /// The app script's URL.
    pub js: &'static str,
    /// The CSRF token for forms and htmx requests.
    pub csrf: String,
    /// `data-theme` on `<html>`; empty follows the system.
    pub theme: &'static str,
    /// The theme the theme button switches to.
    pub next_theme: &'static str,
    /// The signed-in user's email address.
    pub email: Option<String>,
    /// Whether the signed-in user is an administrator.
    pub admin: bool,
    /// The request's path (the navigation marks its link as current).
    pub path: String,
    /// A message left by the previous request.
    pub flash: Option<Flash>,
}

impl Chrome {
    /// The chrome of the page `title` for `viewer`.
    #[must_use]
    pub fn new(viewer: &Viewer, title: impl Into<String>) -> Self {
        use super::viewer::Theme;
        Self {
            title: title.into(),
            css: assets::url("app.css"),
            htmx: assets::url("htmx.min.js"),
            js: assets::url("app.js"),
            csrf: viewer.csrf.clone(),
            theme: viewer.theme.attribute(),
            next_theme: match viewer.theme {
                Theme::Dark => "light",
                Theme::Light | Theme::System => "dark",
            },
            email: viewer.user.as_ref().map(|u| u.user.email.clone()),
            admin: viewer.is_admin(),
            path: viewer.path.clone(),
            flash: viewer.flash.clone(),
        }
    }

    /// `aria-current="page"` when `href` is the current page or section.
    #[must_use]
    pub fn current(&self, href: &str) -> &'static str {
        let here = self.path.as_str();
        let exact = here == href;
        let within = href != "/app" && href != "/admin" && here.starts_with(&format!("{href}/"));
        if exact || within { "page" } else { "false" }
    }
}

/// `template` as an HTML answer with `status`.
pub fn html<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "text/html; charset=utf-8")
            // Pages hold personal data and a CSRF token: never cached or shared.
            .header(CACHE_CONTROL, "no-store")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "page not rendered");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body("internal server error")
        }
    }
}

/// `template` as a 200 page.
pub fn page<T: Template>(template: &T) -> Response {
    html(StatusCode::OK, template)
}

/// Go to `to` after a form: 303 for plain forms; for htmx requests `HX-Redirect`, which
/// htmx follows with a full page load.
#[must_use]
pub fn redirect(req: &Request, to: &str) -> Response {
    if req.header("hx-request").is_some() {
        Response::builder()
            .status(StatusCode::OK)
            .header("HX-Redirect", to)
            .finish()
    } else {
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(LOCATION, to)
            .finish()
    }
}

/// A path inside this site to return to (`next=`), never another site's URL.
#[must_use]
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// The friendly error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The layout.
    pub chrome: Chrome,
    /// The status code.
    pub status: u16,
    /// The heading.
    pub heading: &'static str,
    /// What happened and what to do.
    pub text: String,
}

/// The error page for `status` (404, 403, 500, …) in the app's layout.
#[must_use]
pub fn error_page(viewer: &Viewer, status: StatusCode, text: Option<String>) -> Response {
    let (heading, default) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            "There is nothing at this address. It may have moved, or the link may be mistyped.",
        ),
        StatusCode::FORBIDDEN => (
            "Not allowed",
            "Your account cannot open this page. If you think it should, ask an administrator.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Too many requests",
            "Please wait a minute before trying again.",
        ),
        s if s.is_server_error() => (
            "Something went wrong",
            "The server could not answer. Nothing you entered was lost; please try again in a moment.",
        ),
        _ => ("That did not work", "The request could not be answered."),
    };
    let page = ErrorPage {
        chrome: Chrome::new(viewer, heading),
        status: status.as_u16(),
        heading,
        text: text.unwrap_or_else(|| default.to_owned()),
    };
    html(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/app/bots"), "/app"), "/app/bots");
        assert_eq!(local_path(Some("//evil.example"), "/app"), "/app");
        assert_eq!(local_path(Some("https://evil.example"), "/app"), "/app");
        assert_eq!(local_path(Some("/\\evil.example"), "/app"), "/app");
        assert_eq!(local_path(None, "/app"), "/app");
    }
}
