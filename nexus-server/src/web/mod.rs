//! The web app: server-rendered pages at `/`, `/app` and `/admin`, served by the same
//! binary as the API. Templates are askama's (checked at compile time, no Node.js at build
//! or run time); htmx, vendored and served from the binary, improves forms that work
//! without it. Pages act through the API's own operations in the process
//! ([`call`]), so a form answers exactly what `/api/v1` would, shown beside its field.
//!
//! docs/web.md describes the layout of templates and components and how to add a page.

mod admin;
pub mod assets;
mod auth_pages;
mod billing;
mod bots;
pub mod call;
mod chart;
mod dashboard;
pub mod format;
mod gallery;
mod guard;
mod keys;
mod landing;
pub mod render;
mod settings;
mod theme;
pub mod viewer;

use std::sync::Arc;

use poem::http::StatusCode;
use poem::http::header::{ACCEPT, CONTENT_TYPE};
use poem::middleware::Compression;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, post};

use crate::api::ApiState;
use viewer::Viewer;

/// The pages, mounted on `route` (the API's routes).
pub fn mount(route: Route) -> Route {
    route
        .at("/", get(landing::show))
        .at("/assets/:file", get(assets::serve).with(Compression::new()))
        .at("/theme", post(theme::choose))
        .at(
            "/signup",
            get(auth_pages::signup_form).post(auth_pages::signup),
        )
        .at(
            "/login",
            get(auth_pages::login_form).post(auth_pages::login),
        )
        .at("/logout", post(auth_pages::logout))
        .at(
            "/verify",
            get(auth_pages::verify_form).post(auth_pages::verify),
        )
        .at(
            "/verify-email",
            get(auth_pages::verify_form).post(auth_pages::verify),
        )
        .at(
            "/forgot",
            get(auth_pages::forgot_form).post(auth_pages::forgot),
        )
        .at(
            "/reset",
            get(auth_pages::reset_form).post(auth_pages::reset),
        )
        .at(
            "/reset-password",
            get(auth_pages::reset_form).post(auth_pages::reset),
        )
        .at("/ui/components", get(gallery::show))
        // The administrators' pages.
        .at("/admin", get(admin::show_overview))
        .at("/admin/users", get(admin::show_users))
        .at("/admin/users/:id/role", post(admin::post_role))
        .at("/admin/audit", get(admin::show_audit))
        .at("/admin/gate", get(admin::show_gate))
        .at("/admin/emails", get(admin::show_emails))
        .at("/admin/queue", get(admin::show_queue))
        .at("/admin/billing", get(admin::show_billing))
        .at("/admin/llm", get(admin::show_llm))
        // The dashboard and the bot pages.
        .at("/app", get(dashboard::show))
        .at("/app/dashboard/live", get(dashboard::live))
        .at("/app/bots", get(bots::list))
        .at("/app/bots/new", get(bots::new_form).post(bots::create))
        .at("/app/bots/:id", get(bots::show))
        .at(
            "/app/bots/:id/edit",
            get(bots::edit_form).post(bots::update),
        )
        .at("/app/bots/:id/pause", post(bots::pause))
        .at("/app/bots/:id/resume", post(bots::resume))
        .at(
            "/app/bots/:id/delete",
            get(bots::delete_form).post(bots::delete),
        )
        // Account: exchange keys, billing, settings.
        .at("/app/keys", get(keys::list).post(keys::add))
        .at(
            "/app/keys/:id/delete",
            get(keys::confirm_delete).post(keys::delete),
        )
        .at("/app/billing", get(billing::show))
        .at("/app/billing/checkout", post(billing::checkout))
        .at("/app/billing/portal", post(billing::portal))
        .at("/app/settings", get(settings::show))
        .at(
            "/app/settings/alerts",
            get(settings::alerts_section).post(settings::save_alerts),
        )
        .at("/app/settings/password", post(settings::password))
        .at(
            "/app/settings/password/change",
            post(settings::change_password),
        )
        .at(
            "/app/settings/sessions/others",
            post(settings::sign_out_others),
        )
}

/// Whether `path` belongs to the API (JSON answers) rather than to the pages.
#[must_use]
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path == "/openapi.json"
        || path == "/metrics"
        || path == "/docs"
        || path.starts_with("/docs/")
        || path.starts_with("/health")
}

/// Turns the error of a page request that a browser made (404 for an unknown path, 405,
/// 500) into the friendly page in the app's layout; API paths keep their JSON errors and
/// pages' own HTML answers pass untouched.
pub async fn friendly_errors<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let wants_html = req.header(ACCEPT).is_some_and(|a| a.contains("text/html"));
    let page = (!is_api_path(&path) && wants_html)
        .then(|| Some((req.data::<Arc<ApiState>>().cloned()?, req.cookie().clone())))
        .flatten();
    let Some((state, jar)) = page else {
        // API answers and errors go on untouched (errors become JSON further out).
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let response = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let status = response.status();
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html || !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let viewer = Viewer::load(&state, &jar, &path).await;
    let status = if status == StatusCode::METHOD_NOT_ALLOWED {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    Ok(render::error_page(&viewer, status, None))
}
