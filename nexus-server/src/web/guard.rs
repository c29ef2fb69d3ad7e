//! What pages check before acting: a signed-in user (else the sign-in page, coming back
//! afterwards), an administrator for `/admin`, and the CSRF token on every form that
//! changes something. Each gives the answer to send instead (boxed: it is big, and rare).

use poem::Request;
use poem::Response;
use poem::http::StatusCode;

use super::render::{error_page, redirect};
use super::viewer::{Viewer, csrf_header};
use crate::api::session::Authenticated;

/// The signed-in user, or the answer sending a visitor to sign in first.
///
/// # Errors
/// A redirect to `/login?next=<this page>` for visitors.
pub fn signed_in<'v>(
    viewer: &'v Viewer,
    req: &Request,
) -> Result<&'v Authenticated, Box<Response>> {
    viewer.user.as_ref().ok_or_else(|| {
        let here = req
            .uri()
            .path_and_query()
            .map_or("/app", |p| p.as_str())
            .to_owned();
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Box::new(redirect(req, &format!("/login?next={next}")))
    })
}

/// The signed-in administrator, or the answer for anyone else (sign in; 403).
///
/// # Errors
/// A redirect for visitors, the 403 page for users.
pub fn admin<'v>(viewer: &'v Viewer, req: &Request) -> Result<&'v Authenticated, Box<Response>> {
    let user = signed_in(viewer, req)?;
    if viewer.is_admin() {
        Ok(user)
    } else {
        Err(Box::new(error_page(viewer, StatusCode::FORBIDDEN, None)))
    }
}

/// Checks the form's `_csrf` field (or htmx's `X-CSRF-Token` header) against the cookie.
///
/// # Errors
/// The 403 page, asking to reload the form.
pub fn csrf(viewer: &Viewer, req: &Request, field: Option<&str>) -> Result<(), Box<Response>> {
    if viewer.csrf_matches(field) || viewer.csrf_matches(csrf_header(req)) {
        Ok(())
    } else {
        Err(Box::new(error_page(
            viewer,
            StatusCode::FORBIDDEN,
            Some(
                "This form had expired or did not come from this site, so nothing was done. \
                 Go back, reload the page and try again."
                    .to_owned(),
            ),
        )))
    }
}
