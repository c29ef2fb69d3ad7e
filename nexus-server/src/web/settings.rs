//! `/app/settings`: the profile, a password change (with the current password, through
//! the API's `change_password`; or by the reset link the API emails, for an account that
//! signs in with Google or a forgotten password), alert preferences over the API's
//! `/me/alerts` operations, and the active sessions with a button signing out all but this
//! one.

use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use nexus_core::ports::accounts::Role;
use nexus_core::ports::audit::AuditAction;
use nexus_core::ports::sessions::SessionSummary;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use serde::Deserialize;

use super::call::{Failure, json, outcome};
use super::format::{When, count, when};
use super::guard;
use super::keys::{sentence, session_of};
use super::render::{Chrome, html, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::client_ip::ClientIp;
use crate::api::{AlertsApi, ApiState, AuthApi, bodies};

/// How many sessions the page lists (newest first).
const SESSIONS: u32 = 50;

/// The emailed alerts: (value, label, help).
const EMAIL_ALERTS: [(&str, &str, &str); 4] = [
    ("fills", "Fills", "An order of one of your bots filled."),
    (
        "gate_blocks",
        "Blocked entries",
        "The market-regime gate blocked an entry of one of your bots.",
    ),
    (
        "errors",
        "Errors",
        "An order was refused or failed, a position was out of sync, or Nexus paused a bot.",
    ),
    (
        "daily_summary",
        "Daily summary",
        "One email per UTC day with your bots' orders, fills, P&L and skips.",
    ),
];

/// The events a webhook can receive: (value, label).
const WEBHOOK_EVENTS: [(&str, &str); 3] = [
    ("fills", "Fills"),
    ("gate_blocks", "Blocked entries"),
    ("errors", "Errors"),
];

/// `GET /api/v1/me/alerts`' answer, as a client reads it.
#[derive(Debug, Deserialize)]
struct AlertsJson {
    email: EmailJson,
    webhook: WebhookJson,
}

#[derive(Debug, Deserialize)]
struct EmailJson {
    fills: bool,
    gate_blocks: bool,
    errors: bool,
    daily_summary: bool,
}

#[derive(Debug, Deserialize)]
struct WebhookJson {
    url: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    secret: Option<String>,
}

/// A checkbox: value, label, help, checked.
struct Check {
    value: &'static str,
    label: &'static str,
    help: &'static str,
    checked: bool,
}

/// The alert preferences form.
#[derive(Default)]
struct AlertsForm {
    email: Vec<Check>,
    events: Vec<Check>,
    url: String,
    url_error: String,
    events_error: String,
    error: Option<String>,
    /// A new webhook's signing secret, shown once.
    secret: Option<String>,
    saved: bool,
}

impl AlertsForm {
    /// The form showing `email` and `events` ticked, and `url`.
    fn new(email: &[&str], events: &[&str], url: String) -> Self {
        Self {
            email: EMAIL_ALERTS
                .iter()
                .map(|(value, label, help)| Check {
                    value,
                    label,
                    help,
                    checked: email.contains(value),
                })
                .collect(),
            events: WEBHOOK_EVENTS
                .iter()
                .map(|(value, label)| Check {
                    value,
                    label,
                    help: "",
                    checked: events.contains(value),
                })
                .collect(),
            url,
            ..Self::default()
        }
    }

    fn stored(prefs: &AlertsJson) -> Self {
        let e = &prefs.email;
        let email: Vec<&str> = [
            (e.fills, "fills"),
            (e.gate_blocks, "gate_blocks"),
            (e.errors, "errors"),
            (e.daily_summary, "daily_summary"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        let events: Vec<&str> = prefs.webhook.events.iter().map(String::as_str).collect();
        Self::new(
            &email,
            &events,
            prefs.webhook.url.clone().unwrap_or_default(),
        )
    }

    /// Shows the API's refusal beside the field it names, or above the form.
    fn refused(&mut self, failure: &Failure) {
        if failure.message.starts_with("webhook.url: ") {
            self.url_error = sentence(failure.problem());
        } else if failure.message.starts_with("webhook.events") {
            self.events_error = sentence(failure.problem());
        } else {
            self.error = Some(sentence(&failure.message));
        }
    }
}

/// The password change form: what went wrong, beside the field it concerns.
#[derive(Debug, Default)]
struct PasswordForm {
    /// Whether the account has a password (else it signs in with Google only).
    has_password: bool,
    current_error: String,
    new_error: String,
    confirm_error: String,
    error: Option<String>,
}

impl PasswordForm {
    /// Shows the API's refusal beside the field it names, or above the form.
    fn refused(&mut self, failure: &Failure) {
        match failure.code.as_str() {
            "wrong_password" => {
                "That is not your current password.".clone_into(&mut self.current_error);
            }
            "weak_password" => self.new_error = sentence(failure.problem()),
            _ => self.error = Some(sentence(&failure.message)),
        }
    }
}

/// The profile section.
struct Profile {
    email: String,
    verified: Option<When>,
    since: When,
    role: &'static str,
}

/// One session of the list.
struct SessionRow {
    device: String,
    agent: String,
    ip: String,
    started: When,
    issued: When,
    expires: When,
    current: bool,
}

/// "Firefox on Linux" from a `User-Agent` (the whole of it goes in a tooltip).
fn device(agent: Option<&str>) -> String {
    let Some(agent) = agent.filter(|a| !a.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| (*name).to_owned());
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b,
        (None, Some(s)) => format!("A program on {s}"),
        // A client of the API (`curl/8.5.0`, `nexus-client/1.0`): its own name.
        (None, None) => agent
            .split(['/', ' '])
            .next()
            .unwrap_or(agent)
            .chars()
            .take(40)
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "app/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    profile: Profile,
    password: PasswordForm,
    /// `None`: the preferences could not be read.
    alerts: Option<AlertsForm>,
    /// `None`: the sessions could not be read.
    sessions: Option<Vec<SessionRow>>,
}

async fn settings_page(
    state: &Arc<ApiState>,
    viewer: &Viewer,
    alerts: Option<AlertsForm>,
    password_form: Option<PasswordForm>,
) -> Option<SettingsPage> {
    let me = viewer.user.as_ref()?;
    let now = Utc::now();
    let mut password_form = password_form.unwrap_or_default();
    password_form.has_password = match state.store.user_by_email(&me.user.email).await {
        Ok(found) => found.is_some_and(|(_, hash)| hash.is_some()),
        // Unknown: the form is offered, and the API says if there is no password.
        Err(_) => true,
    };
    let alerts = match alerts {
        Some(form) => Some(form),
        None => {
            let answer = AlertsApi.get(Data(state), viewer.session()?).await;
            match outcome(answer).await {
                Ok(response) => json::<AlertsJson>(response)
                    .await
                    .ok()
                    .map(|prefs| AlertsForm::stored(&prefs)),
                Err(failure) => {
                    tracing::warn!(code = %failure.code, "alert preferences not read");
                    None
                }
            }
        }
    };
    let sessions = match state.store.user_sessions(me.user.id, now, SESSIONS).await {
        Ok(mut list) => Some(
            {
                // This session first, then the others newest first.
                list.sort_by_key(|s| s.id != me.session);
                list
            }
            .iter()
            .map(|s: &SessionSummary| SessionRow {
                device: device(s.user_agent.as_deref()),
                agent: s.user_agent.clone().unwrap_or_default(),
                ip: s.ip.clone().unwrap_or_else(|| "Unknown".to_owned()),
                started: when(s.started_at, now),
                issued: when(s.issued_at, now),
                expires: when(s.expires_at, now),
                current: s.id == me.session,
            })
            .collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "sessions not listed");
            None
        }
    };
    let user = &me.user;
    Some(SettingsPage {
        chrome: Chrome::new(viewer, "Settings"),
        profile: Profile {
            email: user.email.clone(),
            verified: user.email_verified_at.map(|at| when(at, now)),
            since: when(user.created_at, now),
            role: match user.role {
                Role::Admin => "Administrator",
                Role::User => "User",
            },
        },
        password: password_form,
        alerts,
        sessions,
    })
}

/// `GET /app/settings`.
#[handler]
pub async fn show(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    if let Err(answer) = guard::signed_in(&viewer, req) {
        return *answer;
    }
    match settings_page(&state, &viewer, None, None).await {
        Some(settings) => page(&settings),
        None => redirect(req, "/login?next=%2Fapp%2Fsettings"),
    }
}

/// `GET /app/settings/alerts` (where alert emails link): the settings page's section.
#[handler]
pub fn alerts_section(req: &Request) -> Response {
    redirect(req, "/app/settings#alerts")
}

/// `POST /app/settings/alerts`: the checkboxes and the webhook URL, saved through the API's
/// operation. The body is read by hand: checkboxes repeat their name.
#[handler]
pub async fn save_alerts(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    body: String,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    let mut csrf = None;
    let mut email = Vec::new();
    let mut events = Vec::new();
    let mut url = String::new();
    for (name, value) in form_urlencoded::parse(body.as_bytes()) {
        match name.as_ref() {
            "_csrf" => csrf = Some(value.into_owned()),
            "email" => email.push(value.into_owned()),
            "webhook_events" => events.push(value.into_owned()),
            "webhook_url" => url = value.trim().to_owned(),
            _ => {}
        }
    }
    if let Err(answer) = guard::csrf(&viewer, req, csrf.as_deref()) {
        return *answer;
    }
    let ticked = |name: &str| email.iter().any(|e| e == name);
    // The body a JSON client would send, read by the operation's own parser: every email
    // alert (unticked boxes are not posted) and the webhook (an empty URL removes it).
    let changes = serde_json::json!({
        "email": {
            "fills": ticked("fills"),
            "gate_blocks": ticked("gate_blocks"),
            "errors": ticked("errors"),
            "daily_summary": ticked("daily_summary"),
        },
        "webhook": { "url": url, "events": events },
    });
    let email_ref: Vec<&str> = email.iter().map(String::as_str).collect();
    let events_ref: Vec<&str> = events.iter().map(String::as_str).collect();
    let mut form = AlertsForm::new(&email_ref, &events_ref, url.clone());
    let answer = match ParseFromJSON::parse_from_json(Some(changes)) {
        Ok(changes) => outcome(AlertsApi.put(Data(&state), session, Json(changes)).await).await,
        Err(e) => Err(Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field".into(),
            message: e.into_message(),
        }),
    };
    let saved = match answer {
        Ok(response) => json::<AlertsJson>(response).await,
        Err(failure) => Err(failure),
    };
    match saved {
        Ok(prefs) => match prefs.webhook.secret.clone() {
            // A new webhook's secret is shown once, on this answer (never in a cookie).
            Some(secret) => {
                let mut form = AlertsForm::stored(&prefs);
                form.saved = true;
                form.secret = Some(secret);
                match settings_page(&state, &viewer, Some(form), None).await {
                    Some(settings) => page(&settings),
                    None => redirect(req, "/app/settings#alerts"),
                }
            }
            None => {
                flash(jar, "success", "Alert preferences saved.");
                redirect(req, "/app/settings#alerts")
            }
        },
        Err(failure) => {
            form.refused(&failure);
            let status = if failure.status.is_server_error() {
                failure.status
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            match settings_page(&state, &viewer, Some(form), None).await {
                Some(settings) => html(status, &settings),
                None => redirect(req, "/app/settings#alerts"),
            }
        }
    }
}

/// The CSRF field of the settings page's buttons.
#[derive(Debug, Deserialize)]
pub struct ButtonForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// `POST /app/settings/password`: emails the user a link to choose a new password (the
/// API's forgot-password operation).
#[handler]
pub async fn password(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<ButtonForm>,
) -> Response {
    if let Err(answer) = guard::signed_in(&viewer, req) {
        return *answer;
    }
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let Some(me) = viewer.user.as_ref() else {
        return redirect(req, "/login");
    };
    let body = bodies::Forgot {
        email: me.user.email.clone().into(),
    };
    match outcome(AuthApi.forgot(Data(&state), Json(body), client).await).await {
        Ok(_) => flash(
            jar,
            "success",
            &format!(
                "A link to choose a new password is on its way to {}. It works for one hour.",
                me.user.email
            ),
        ),
        Err(failure) => flash(jar, "danger", &sentence(&failure.message)),
    }
    redirect(req, "/app/settings#password")
}

/// The password change form as posted.
#[derive(Deserialize)]
pub struct PasswordChangeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /app/settings/password/change`: the API's `change_password`, its refusals shown
/// beside the fields; the two new passwords must match first.
#[handler]
pub async fn change_password(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<PasswordChangeForm>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let mut refused = PasswordForm::default();
    if form.current_password.is_empty() {
        "Enter your current password.".clone_into(&mut refused.current_error);
    }
    if form.new_password.is_empty() {
        "Choose a new password.".clone_into(&mut refused.new_error);
    } else if form.new_password != form.confirm_password {
        "The two new passwords differ.".clone_into(&mut refused.confirm_error);
    }
    let status = if refused.current_error.is_empty()
        && refused.new_error.is_empty()
        && refused.confirm_error.is_empty()
    {
        let body = bodies::PasswordChange {
            current_password: form.current_password.into(),
            new_password: form.new_password.into(),
        };
        let answer = AuthApi
            .change_password(Data(&state), session, Json(body), client)
            .await;
        match outcome(answer).await {
            Ok(response) => {
                let message = json::<serde_json::Value>(response)
                    .await
                    .ok()
                    .and_then(|v| v["message"].as_str().map(|m| format!("{}.", sentence(m))))
                    .unwrap_or_else(|| "Password changed.".to_owned());
                flash(jar, "success", &message);
                return redirect(req, "/app/settings#password");
            }
            Err(failure) => {
                refused.refused(&failure);
                if failure.status.is_server_error()
                    || failure.status == StatusCode::TOO_MANY_REQUESTS
                {
                    failure.status
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
            }
        }
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    match settings_page(&state, &viewer, None, Some(refused)).await {
        Some(settings) => html(status, &settings),
        None => redirect(req, "/app/settings#password"),
    }
}

/// `POST /app/settings/sessions/others`: signs out every session of the user but this one,
/// audited as a sign-out.
#[handler]
pub async fn sign_out_others(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<ButtonForm>,
) -> Response {
    if let Err(answer) = guard::signed_in(&viewer, req) {
        return *answer;
    }
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let Some(me) = viewer.user.as_ref() else {
        return redirect(req, "/login");
    };
    match state
        .store
        .revoke_other_sessions(me.user.id, me.session, Utc::now())
        .await
    {
        Ok(n) => {
            if n > 0 {
                state
                    .audit(
                        Some(me.user.id),
                        AuditAction::SignOut,
                        &format!("{}: {n} other sessions", me.user.email),
                        &client.0,
                    )
                    .await;
            }
            let text = match n {
                0 => "There were no other sessions to sign out.".to_owned(),
                1 => "Signed out 1 other session.".to_owned(),
                n => format!("Signed out {} other sessions.", count(n)),
            };
            flash(jar, "success", &text);
        }
        Err(e) => {
            tracing::warn!(error = %e, "other sessions not signed out");
            flash(
                jar,
                "danger",
                "The other sessions could not be signed out just now; try again in a moment.",
            );
        }
    }
    redirect(req, "/app/settings#sessions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_their_user_agent() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        assert_eq!(device(Some(chrome)), "Chrome on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(device(Some(iphone)), "Safari on iOS");
        assert_eq!(device(Some("curl/8.5.0")), "curl");
        assert_eq!(device(None), "Unknown device");
        assert_eq!(device(Some("  ")), "Unknown device");
    }

    #[test]
    fn a_refusal_goes_beside_its_field() {
        let failure = |message: &str| Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field".into(),
            message: message.into(),
        };
        let mut form = AlertsForm::new(&["fills"], &[], String::new());
        form.refused(&failure("webhook.url: must be an https:// URL"));
        assert_eq!(form.url_error, "Must be an https:// URL");
        form.refused(&failure("webhook.events[0]: unknown alert event"));
        assert_eq!(form.events_error, "Unknown alert event");
        form.refused(&failure("the database is unavailable"));
        assert_eq!(form.error.as_deref(), Some("The database is unavailable"));
        assert!(form.email.iter().any(|c| c.value == "fills" && c.checked));
        assert!(form.email.iter().any(|c| c.value == "errors" && !c.checked));
    }
}
