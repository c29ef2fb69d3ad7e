//! Security headers on every response: API answers, the docs page, errors and 404s alike.
//!
//! - `X-Content-Type-Options: nosniff`: a browser never guesses a type (a JSON error that
//!   echoes input is never run as HTML).
//! - `Referrer-Policy: no-referrer`: pages here are reached by links carrying one-time
//!   tokens (`?token=…` in verification and reset emails); nothing here needs the
//!   referrer, so none is ever sent, not even the origin.
//! - `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: no page is framed
//!   (clickjacking); the old header for browsers that predate the CSP one.
//! - `Content-Security-Policy`: `default-src 'none'` on the API, since JSON loads nothing;
//!   the web app's pages load only this site's scripts, styles and images, never inline
//!   scripts or styles; the Swagger UI at `/docs` runs inline scripts and styles, so it
//!   gets only what does not restrict them (`object-src 'none'; base-uri 'none'`).
//! - `Cache-Control: no-store` on `/api/` answers (they carry tokens or personal data),
//!   unless the operation set its own.
//! - `Strict-Transport-Security: max-age=63072000; includeSubDomains` (two years) when the
//!   public URL is `https://`: browsers then never try plain HTTP. Not over plain HTTP, where
//!   a browser would ignore it and a development server on `localhost` must stay reachable.

use std::sync::Arc;

use poem::http::HeaderValue;
use poem::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The policy of every response but the docs page.
pub const CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// The web app's policy: its own scripts, styles and images only (no inline scripts or
/// styles), forms and htmx requests to this site.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The docs page's policy: Swagger UI's inline scripts and styles keep working.
pub const DOCS_CSP: &str = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'";
/// HSTS for two years, subdomains included.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Adds the headers to whatever `next` answers, errors included. `https` says whether the
/// public URL is `https://` (HSTS).
pub(super) async fn security_headers<E: Endpoint>(
    next: Arc<E>,
    req: Request,
    https: bool,
) -> poem::Result<Response> {
    let path = req.uri().path();
    let docs = path == "/docs" || path.starts_with("/docs/");
    let api = path.starts_with("/api/");
    let page = !crate::web::is_api_path(path);
    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(e) => e.into_response(),
    };
    let headers = response.headers_mut();
    let set = |value: &'static str| HeaderValue::from_static(value);
    headers.insert(X_CONTENT_TYPE_OPTIONS, set("nosniff"));
    headers.insert(REFERRER_POLICY, set("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, set("DENY"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        set(if docs {
            DOCS_CSP
        } else if page {
            PAGE_CSP
        } else {
            CSP
        }),
    );
    if api && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, set("no-store"));
    }
    if https {
        headers.insert(STRICT_TRANSPORT_SECURITY, set(HSTS));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, handler};

    use super::*;

    #[handler]
    fn cached() -> Response {
        Response::builder()
            .header(CACHE_CONTROL, "public, max-age=60")
            .body("public")
    }

    #[handler]
    fn plain() -> &'static str {
        "plain"
    }

    #[tokio::test]
    async fn an_operations_own_cache_control_is_kept() {
        let app = Route::new()
            .at("/api/v1/cached", cached)
            .at("/api/v1/plain", plain)
            .around(|next, req| security_headers(next, req, false));
        let client = TestClient::new(app);
        let resp = client.get("/api/v1/cached").send().await;
        resp.assert_header(CACHE_CONTROL, "public, max-age=60");
        resp.assert_header(X_CONTENT_TYPE_OPTIONS, "nosniff");
        let resp = client.get("/api/v1/plain").send().await;
        resp.assert_header(CACHE_CONTROL, "no-store");
        resp.assert_header_is_not_exist(STRICT_TRANSPORT_SECURITY);
    }
}
