//! `/admin`: the operators' pages. Every one is for administrators only (visitors sign in
//! first, users get the 403 page). They read the store directly, a page at a time as the
//! admin API does; the one change they make, a user's role, goes through the API's own
//! operation (`admin_set_role`), which refuses an admin's own role and writes the audit
//! entry.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use nexus_core::ports::accounts::{Role, UserRecord};
use nexus_core::ports::billing::EventOutcome;
use nexus_core::ports::emails::{EmailFilter, EmailState};
use nexus_core::ports::jobs::{JobKind, JobState};
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_core::regime::gate::{GateAction, GateDecision, GateReason};
use nexus_core::{DecisionLogError, StoreError, UserId};
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::call::outcome;
use super::format::{When, count, decimal, when};
use super::guard;
use super::render::{Chrome, error_page, html, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::client_ip::ClientIp;
use crate::api::{AdminApi, ApiState, RoleChange, RoleName};

/// Rows per page: the admin API's default page size.
const PAGE: u32 = 50;
/// The overview counts up to this many of each thing, then says "10,000+": the store has
/// no count queries, so counting reads pages, and an overview must stay quick.
const COUNT_CAP: u64 = 10_000;
/// Rows read per page while counting.
const COUNT_PAGE: u32 = 200;
/// Gate decisions read for the gate page (the latest per market comes from these).
const DECISIONS: u32 = 200;
/// Dead-lettered jobs shown on the queue page.
const DEAD_SHOWN: u32 = 20;

/// A read the pages could not make.
#[derive(Debug, thiserror::Error)]
enum PageError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gate decisions could not be read.
    #[error(transparent)]
    Decisions(#[from] DecisionLogError),
}

/// The answer when the store does not: the 503 page (the error is logged).
fn unavailable(viewer: &Viewer, error: &PageError) -> Response {
    tracing::error!(error = %error, path = %viewer.path, "admin page unavailable");
    error_page(
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        Some("The database did not answer. Nothing was changed; try again in a moment.".into()),
    )
}

/// A query string built from `pairs` (empty values left out), with its `?`.
fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.append_pair(k, v);
    }
    let q = out.finish();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}

/// A count that may have stopped at [`COUNT_CAP`].
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    n: u64,
    more: bool,
}

impl Counted {
    /// Whether counting stops after a page of `rows`.
    fn done(&mut self, rows: usize) -> bool {
        self.n += rows as u64;
        let full = rows == COUNT_PAGE as usize;
        if full && self.n >= COUNT_CAP {
            self.more = true;
        }
        !full || self.more
    }

    fn text(self) -> String {
        if self.more {
            format!("{}+", count(self.n))
        } else {
            count(self.n)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Overview

/// A figure on the overview, linking to its page.
struct Tile {
    label: &'static str,
    value: String,
    href: &'static str,
    note: &'static str,
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    tiles: Vec<Tile>,
}

async fn count_users(state: &ApiState) -> Result<Counted, StoreError> {
    let mut counted = Counted::default();
    let mut after = None;
    loop {
        let users = state.store.list_users(after, COUNT_PAGE).await?;
        if counted.done(users.len()) {
            return Ok(counted);
        }
        after = users.last().map(|u| u.id);
    }
}

/// Bots that run (not paused): every active market's bots, a page at a time.
async fn count_running_bots(state: &ApiState) -> Result<Counted, StoreError> {
    let mut counted = Counted::default();
    for market in state.store.active_markets().await? {
        let mut after = None;
        loop {
            let bots = state
                .store
                .active_bots(&market.filter(), after, COUNT_PAGE)
                .await?;
            if counted.done(bots.len()) {
                break;
            }
            after = bots.last().map(|b| b.bot.id);
        }
        if counted.more {
            break;
        }
    }
    Ok(counted)
}

async fn count_emails(state: &ApiState, email_state: EmailState) -> Result<Counted, StoreError> {
    let mut counted = Counted::default();
    let mut filter = EmailFilter {
        state: Some(email_state),
        ..EmailFilter::default()
    };
    loop {
        let emails = state.store.emails(&filter, COUNT_PAGE).await?;
        if counted.done(emails.len()) {
            return Ok(counted);
        }
        filter.before = emails.last().map(|e| e.id);
    }
}

/// Jobs in `job_state`, over every kind.
fn jobs_in(depth: &[nexus_core::ports::jobs::QueueDepth], job_state: JobState) -> u64 {
    depth
        .iter()
        .filter(|d| d.state == job_state)
        .map(|d| d.count)
        .sum()
}

async fn overview_page(viewer: &Viewer, state: &ApiState) -> Result<OverviewPage, PageError> {
    let users = count_users(state).await?;
    let bots = count_running_bots(state).await?;
    let depth = state.store.depth().await?;
    let failed = count_emails(state, EmailState::Failed).await?;
    let tiles = vec![
        Tile {
            label: "Users",
            value: users.text(),
            href: "/admin/users",
            note: "Accounts, their roles and plans",
        },
        Tile {
            label: "Running bots",
            value: bots.text(),
            href: "/admin/gate",
            note: "Bots not paused; their markets' gate decisions",
        },
        Tile {
            label: "Queued jobs",
            value: count(jobs_in(&depth, JobState::Queued)),
            href: "/admin/queue",
            note: "Waiting for a worker",
        },
        Tile {
            label: "Dead jobs",
            value: count(jobs_in(&depth, JobState::Dead)),
            href: "/admin/queue#dead-title",
            note: "Failed their last attempt",
        },
        Tile {
            label: "Emails failed",
            value: failed.text(),
            href: "/admin/emails?state=failed",
            note: "Given up after their retries",
        },
    ];
    Ok(OverviewPage {
        chrome: Chrome::new(viewer, "Administration"),
        tiles,
    })
}

/// `GET /admin`.
#[handler]
pub async fn show_overview(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match overview_page(&viewer, &state).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e),
    }
}

// ---------------------------------------------------------------------------------------
// Users and roles

/// One user's row.
struct UserRow {
    id: String,
    /// The id of the cell naming them, which their role form refers to.
    ref_id: String,
    email: String,
    role: &'static str,
    admin: bool,
    verified: Option<When>,
    created: When,
    plan: String,
    /// The signed-in admin's own row.
    me: bool,
    /// Why their role was not changed.
    error: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
    /// The address searched for.
    email: String,
    /// The page's cursor (the previous page's last id), kept by the role forms.
    after: String,
    /// The first page, when this is not it.
    first: String,
    /// The next page, when there is one.
    next: String,
    summary: String,
    /// A failure not about a row shown.
    error: Option<String>,
}

/// `?after=` and `?email=` of the users page.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    after: Option<String>,
    email: Option<String>,
}

async fn user_row(
    state: &ApiState,
    user: &UserRecord,
    me: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<UserRow, StoreError> {
    let plan = state.store.user_plan(user.id).await?;
    Ok(UserRow {
        id: user.id.to_string(),
        ref_id: format!("user-{}", user.id),
        email: user.email.clone(),
        role: user.role.as_str(),
        admin: user.role == Role::Admin,
        verified: user.email_verified_at.map(|at| when(at, now)),
        created: when(user.created_at, now),
        plan: state.plans.get(plan.as_deref()).name.clone(),
        me: Some(user.id) == me,
        error: String::new(),
    })
}

async fn users_page(
    viewer: &Viewer,
    state: &ApiState,
    q: &UsersQuery,
) -> Result<UsersPage, StoreError> {
    let me = viewer.user.as_ref().map(|u| u.user.id);
    let now = Utc::now();
    let email = q.email.as_deref().unwrap_or_default().trim().to_owned();
    let after = q
        .after
        .as_deref()
        .and_then(|a| a.parse::<Uuid>().ok())
        .map(UserId::new);
    let mut rows = Vec::new();
    let (first, next, summary);
    if email.is_empty() {
        let users = state.store.list_users(after, PAGE).await?;
        for user in &users {
            rows.push(user_row(state, user, me, now).await?);
        }
        // As the API: a full page has a next one (which may be empty).
        next = match users.last() {
            Some(last) if users.len() == PAGE as usize => {
                query("/admin/users", &[("after", &last.id.to_string())])
            }
            _ => String::new(),
        };
        first = if after.is_some() {
            "/admin/users".to_owned()
        } else {
            String::new()
        };
        summary = format!(
            "{} {} on this page, in id order",
            count(rows.len() as u64),
            if rows.len() == 1 { "user" } else { "users" }
        );
    } else {
        // The store finds one address exactly (any case); there is no partial search.
        if let Some((user, _)) = state.store.user_by_email(&email).await? {
            rows.push(user_row(state, &user, me, now).await?);
        }
        next = String::new();
        first = "/admin/users".to_owned();
        summary = if rows.is_empty() {
            format!("No user has the address {email}")
        } else {
            format!("The user with the address {email}")
        };
    }
    Ok(UsersPage {
        chrome: Chrome::new(viewer, "Users"),
        rows,
        after: after.map(|a| a.to_string()).unwrap_or_default(),
        email,
        first,
        next,
        summary,
        error: None,
    })
}

/// `GET /admin/users`.
#[handler]
pub async fn show_users(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<UsersQuery>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match users_page(&viewer, &state, &q).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

/// The role form.
#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    role: String,
    /// The page the form was on.
    after: Option<String>,
    email: Option<String>,
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default()
}

/// `POST /admin/users/:id/role`: through `admin_set_role`, then back to the same page.
#[handler]
pub async fn post_role(
    req: &Request,
    viewer: Viewer,
    client: ClientIp,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let Some(session) = viewer.session() else {
        // guard::admin let only a signed-in admin through.
        return error_page(&viewer, StatusCode::FORBIDDEN, None);
    };
    let q = UsersQuery {
        after: form.after.clone(),
        email: form.email.clone(),
    };
    let failure = match form.role.as_str() {
        "user" | "admin" => {
            let role = if form.role == "admin" {
                RoleName::Admin
            } else {
                RoleName::User
            };
            let answer = AdminApi
                .set_role(
                    Data(&state),
                    session,
                    poem_openapi::param::Path(id),
                    Json(RoleChange { role }),
                    client,
                )
                .await;
            match outcome(answer).await {
                Ok(done) => {
                    let user = super::call::json::<serde_json::Value>(done)
                        .await
                        .ok()
                        .and_then(|u| u["email"].as_str().map(str::to_owned))
                        .unwrap_or_else(|| "The user".to_owned());
                    let article = if role == RoleName::Admin { "an" } else { "a" };
                    flash(
                        jar,
                        "success",
                        &format!("{user} is now {article} {}.", form.role),
                    );
                    let back = query(
                        "/admin/users",
                        &[
                            ("after", q.after.as_deref().unwrap_or_default()),
                            ("email", q.email.as_deref().unwrap_or_default()),
                        ],
                    );
                    return redirect(req, &back);
                }
                Err(failure) => (failure.status, capitalised(failure.problem())),
            }
        }
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose user or admin.".to_owned(),
        ),
    };
    let (status, message) = failure;
    let mut p = match users_page(&viewer, &state, &q).await {
        Ok(p) => p,
        Err(e) => return unavailable(&viewer, &e.into()),
    };
    let id = id.to_string();
    match p.rows.iter_mut().find(|r| r.id == id) {
        Some(row) => row.error = message,
        None => p.error = Some(message),
    }
    let status = if status.is_server_error() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(status, &p)
}

// ---------------------------------------------------------------------------------------
// Audit log

struct AuditRow {
    id: String,
    at: When,
    /// The actor's address, or their id when the account is gone.
    who: String,
    actor_id: String,
    action: &'static str,
    subject: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    first: String,
    next: String,
    summary: String,
}

/// `?before=` of the newest-first pages.
#[derive(Debug, Default, Deserialize)]
pub struct BeforeQuery {
    before: Option<String>,
}

impl BeforeQuery {
    fn id(&self) -> Option<i64> {
        self.before.as_deref().and_then(|b| b.parse().ok())
    }
}

/// The address of each actor of `ids`, read once each.
async fn emails_of(
    state: &ApiState,
    ids: impl Iterator<Item = UserId>,
) -> Result<HashMap<UserId, String>, StoreError> {
    let mut found = HashMap::new();
    for id in ids {
        if found.contains_key(&id) {
            continue;
        }
        if let Some(user) = state.store.user(id).await? {
            found.insert(id, user.email);
        }
    }
    Ok(found)
}

fn page_summary(n: usize, one: &str, many: &str, newest: bool) -> String {
    let what = if n == 1 { one } else { many };
    let order = if newest { ", newest first" } else { "" };
    format!("{} {what} on this page{order}", count(n as u64))
}

async fn audit_page(
    viewer: &Viewer,
    state: &ApiState,
    q: &BeforeQuery,
) -> Result<AuditPage, StoreError> {
    let now = Utc::now();
    let records = state.store.recent(PAGE, q.id()).await?;
    let emails = emails_of(state, records.iter().filter_map(|r| r.event.actor)).await?;
    let rows: Vec<AuditRow> = records
        .iter()
        .map(|r| {
            // Details are a JSON object; the address is its `ip`, when there is one.
            let ip = serde_json::from_str::<serde_json::Value>(&r.event.details)
                .ok()
                .and_then(|d| d["ip"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let (who, actor_id) = match r.event.actor {
                Some(a) => (
                    emails.get(&a).cloned().unwrap_or_else(|| a.to_string()),
                    a.to_string(),
                ),
                None => (String::new(), String::new()),
            };
            AuditRow {
                id: r.id.to_string(),
                at: when(r.event.at, now),
                who,
                actor_id,
                action: r.event.action.as_str(),
                subject: r.event.subject.clone().unwrap_or_default(),
                ip,
            }
        })
        .collect();
    let next = match records.last() {
        Some(last) if records.len() == PAGE as usize => {
            query("/admin/audit", &[("before", &last.id.to_string())])
        }
        _ => String::new(),
    };
    Ok(AuditPage {
        chrome: Chrome::new(viewer, "Audit log"),
        summary: page_summary(rows.len(), "entry", "entries", true),
        rows,
        first: if q.id().is_some() {
            "/admin/audit".to_owned()
        } else {
            String::new()
        },
        next,
    })
}

/// `GET /admin/audit`.
#[handler]
pub async fn show_audit(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<BeforeQuery>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match audit_page(&viewer, &state, &q).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Gate decisions

struct DecisionRow {
    market: String,
    action: &'static str,
    regime: String,
    confidence: String,
    allowed: bool,
    reason: String,
    at: When,
}

#[derive(Template)]
#[template(path = "admin/gate.html")]
struct GatePage {
    chrome: Chrome,
    /// The latest decision of each market.
    markets: Vec<DecisionRow>,
    /// The latest decisions.
    recent: Vec<DecisionRow>,
    /// What the tables were read from ("the latest 200 decisions").
    read: String,
}

fn action_name(action: GateAction) -> &'static str {
    match action {
        GateAction::Entry => "entry",
        GateAction::Add => "add",
        GateAction::Exit => "exit",
    }
}

/// Seconds for people: `12 s`, `2.5 s`.
fn seconds(ms: u64) -> String {
    let secs = rust_decimal::Decimal::from(ms) / rust_decimal::Decimal::from(1000);
    format!("{} s", decimal(secs, 0, 1))
}

/// One reason in words.
fn reason_text(reason: &GateReason) -> String {
    match reason {
        GateReason::ExitAlwaysAllowed => "Exits are always allowed".to_owned(),
        GateReason::RegimeAllows { regime } => {
            format!("The {} regime allows it", regime.as_str())
        }
        GateReason::RegimeBlocks { regime } => {
            format!("The {} regime blocks it", regime.as_str())
        }
        GateReason::UnknownRegime => "No regime yet".to_owned(),
        GateReason::MissingData => "No market data".to_owned(),
        GateReason::StaleData { age_ms, max_age_ms } => format!(
            "Market data {} old (at most {})",
            seconds(*age_ms),
            seconds(*max_age_ms)
        ),
        GateReason::AdvisorBlocked { reason } => format!("The advisor blocked it: {reason}"),
        GateReason::AdvisorAgreed { reason } => format!("The advisor agreed: {reason}"),
        GateReason::AdvisorUnavailable { error, blocked } => {
            let effect = if *blocked { ", so blocked" } else { "" };
            format!("The advisor could not answer{effect}: {error}")
        }
    }
}

fn decision_row(d: &GateDecision, now: DateTime<Utc>) -> DecisionRow {
    // A blocked action shows what blocked it; an allowed one every reason.
    let shown: Vec<String> = d
        .reasons
        .iter()
        .filter(|r| d.allowed || r.blocks())
        .map(reason_text)
        .collect();
    DecisionRow {
        market: format!("{} {}", d.inputs.exchange.as_str(), d.inputs.symbol),
        action: action_name(d.inputs.action),
        regime: d
            .regime
            .map_or_else(|| "unknown".to_owned(), |r| r.as_str().to_owned()),
        confidence: d
            .inputs
            .confidence
            .filter(|c| c.is_finite())
            .map(|c| format!("{:.0}%", c * 100.0))
            .unwrap_or_default(),
        allowed: d.allowed,
        reason: shown.join("; "),
        at: when(d.at, now),
    }
}

async fn gate_page(viewer: &Viewer, state: &ApiState) -> Result<GatePage, PageError> {
    let now = Utc::now();
    let decisions = state.store.recent_decisions(DECISIONS).await?;
    let mut seen = std::collections::HashSet::new();
    let markets = decisions
        .iter()
        .filter(|d| seen.insert((d.inputs.exchange, d.inputs.symbol)))
        .map(|d| decision_row(d, now))
        .collect();
    let recent = decisions
        .iter()
        .take(PAGE as usize)
        .map(|d| decision_row(d, now))
        .collect();
    Ok(GatePage {
        chrome: Chrome::new(viewer, "Gate decisions"),
        markets,
        recent,
        read: match decisions.len() {
            1 => "the latest decision".to_owned(),
            n => format!("the latest {} decisions", count(n as u64)),
        },
    })
}

/// `GET /admin/gate`.
#[handler]
pub async fn show_gate(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match gate_page(&viewer, &state).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e),
    }
}

// ---------------------------------------------------------------------------------------
// Emails

struct EmailRow {
    id: String,
    at: When,
    to: String,
    template: String,
    subject: String,
    status: &'static str,
    kind: &'static str,
    attempts: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/emails.html")]
struct EmailsPage {
    chrome: Chrome,
    rows: Vec<EmailRow>,
    /// The status filter's (value, label) options and the chosen one.
    states: Vec<(&'static str, &'static str)>,
    state: String,
    to: String,
    first: String,
    next: String,
    summary: String,
}

/// The emails page's filters and cursor.
#[derive(Debug, Default, Deserialize)]
pub struct EmailsQuery {
    state: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

const EMAIL_STATES: [EmailState; 7] = [
    EmailState::Queued,
    EmailState::Sent,
    EmailState::Retrying,
    EmailState::Failed,
    EmailState::Suppressed,
    EmailState::Bounced,
    EmailState::Complained,
];

fn email_badge(s: EmailState) -> &'static str {
    match s {
        EmailState::Sent => "success",
        EmailState::Queued => "info",
        EmailState::Retrying | EmailState::Suppressed => "warning",
        EmailState::Failed | EmailState::Bounced | EmailState::Complained => "danger",
    }
}

async fn emails_page(
    viewer: &Viewer,
    state: &ApiState,
    q: &EmailsQuery,
) -> Result<EmailsPage, StoreError> {
    let now = Utc::now();
    let chosen = q
        .state
        .as_deref()
        .and_then(|s| EMAIL_STATES.into_iter().find(|e| e.as_str() == s));
    let to = q.to.as_deref().unwrap_or_default().trim().to_owned();
    let before = q.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let filter = EmailFilter {
        state: chosen,
        to: Some(to.clone()).filter(|t| !t.is_empty()),
        before,
    };
    let emails = state.store.emails(&filter, PAGE).await?;
    let state_value = chosen.map(EmailState::as_str).unwrap_or_default();
    let rows: Vec<EmailRow> = emails
        .iter()
        .map(|e| EmailRow {
            id: e.id.to_string(),
            at: when(e.created_at, now),
            to: e.to.clone(),
            template: e.template.clone(),
            subject: e.subject.clone(),
            status: e.state.as_str(),
            kind: email_badge(e.state),
            attempts: count(u64::from(e.attempts)),
            error: e.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let next = match emails.last() {
        Some(last) if emails.len() == PAGE as usize => query(
            "/admin/emails",
            &[
                ("state", state_value),
                ("to", &to),
                ("before", &last.id.to_string()),
            ],
        ),
        _ => String::new(),
    };
    let first = if before.is_some() {
        query("/admin/emails", &[("state", state_value), ("to", &to)])
    } else {
        String::new()
    };
    let mut states = vec![("", "Any status")];
    states.extend(EMAIL_STATES.iter().map(|s| (s.as_str(), s.as_str())));
    Ok(EmailsPage {
        chrome: Chrome::new(viewer, "Emails"),
        summary: page_summary(rows.len(), "email", "emails", true),
        rows,
        states,
        state: state_value.to_owned(),
        to,
        first,
        next,
    })
}

/// `GET /admin/emails`.
#[handler]
pub async fn show_emails(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<EmailsQuery>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match emails_page(&viewer, &state, &q).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Queue

struct KindRow {
    kind: &'static str,
    queued: String,
    running: String,
    dead: String,
    /// When its earliest queued job was due.
    due: Option<When>,
    late: bool,
}

struct DeadRow {
    id: String,
    kind: &'static str,
    attempts: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/queue.html")]
struct QueuePage {
    chrome: Chrome,
    queued: String,
    running: String,
    dead: String,
    /// How late the most overdue queued job is.
    oldest: String,
    leader: bool,
    kinds: Vec<KindRow>,
    dead_jobs: Vec<DeadRow>,
}

/// A duration for people: `45 s`, `3 min`, `2 h 5 min`, `3 d 4 h`.
fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!(
            "{} d {} h",
            count((s / 86_400).unsigned_abs()),
            s % 86_400 / 3600
        ),
    }
}

async fn queue_page(viewer: &Viewer, state: &ApiState) -> Result<QueuePage, StoreError> {
    let now = Utc::now();
    let depth = state.store.depth().await?;
    let dead_jobs = state.store.dead_letters(DEAD_SHOWN).await?;
    let of = |kind: JobKind, job_state: JobState| {
        depth
            .iter()
            .find(|d| d.kind == kind && d.state == job_state)
    };
    // Every kind is listed, at 0 when none is there (as in /metrics).
    let kinds = JobKind::ALL
        .into_iter()
        .map(|kind| {
            let n = |s| of(kind, s).map_or(0, |d| d.count);
            let due = of(kind, JobState::Queued).and_then(|d| d.oldest_due);
            KindRow {
                kind: kind.as_str(),
                queued: count(n(JobState::Queued)),
                running: count(n(JobState::Running)),
                dead: count(n(JobState::Dead)),
                due: due.map(|d| when(d, now)),
                late: due.is_some_and(|d| d <= now),
            }
        })
        .collect();
    let oldest = depth
        .iter()
        .filter(|d| d.state == JobState::Queued)
        .filter_map(|d| d.oldest_due)
        .min()
        .map_or(0, |due| (now - due).num_seconds().max(0));
    Ok(QueuePage {
        chrome: Chrome::new(viewer, "Queue"),
        queued: count(jobs_in(&depth, JobState::Queued)),
        running: count(jobs_in(&depth, JobState::Running)),
        dead: count(jobs_in(&depth, JobState::Dead)),
        oldest: age(oldest),
        leader: state.metrics.scheduler_leader.get() == 1,
        kinds,
        dead_jobs: dead_jobs
            .iter()
            .map(|j| DeadRow {
                id: j.id.0.to_string(),
                kind: j.kind.as_str(),
                attempts: format!(
                    "{} of {}",
                    count(u64::from(j.attempts)),
                    count(u64::from(j.max_attempts))
                ),
                error: j.last_error.clone().unwrap_or_default(),
            })
            .collect(),
    })
}

/// `GET /admin/queue`.
#[handler]
pub async fn show_queue(req: &Request, viewer: Viewer, state: Data<&Arc<ApiState>>) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match queue_page(&viewer, &state).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Billing events

struct EventRow {
    id: String,
    kind: String,
    received: When,
    outcome: &'static str,
    badge: &'static str,
    user: String,
    user_id: String,
    subscription: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/billing.html")]
struct BillingPage {
    chrome: Chrome,
    enabled: bool,
    rows: Vec<EventRow>,
    first: String,
    next: String,
    summary: String,
}

/// The cursor of a page of events, as the API's: `<received ms>.<event id>`.
fn event_cursor(at: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", at.timestamp_millis())
}

fn read_event_cursor(text: &str) -> Option<(DateTime<Utc>, String)> {
    let (ms, id) = text.split_once('.')?;
    let at = DateTime::from_timestamp_millis(ms.parse().ok()?)?;
    Some((at, id.to_owned())).filter(|(_, id)| !id.is_empty())
}

async fn billing_page(
    viewer: &Viewer,
    state: &ApiState,
    q: &BeforeQuery,
) -> Result<BillingPage, StoreError> {
    let now = Utc::now();
    let before = q.before.as_deref().and_then(read_event_cursor);
    let paged = before.is_some();
    let events = state.store.billing_events(before, PAGE).await?;
    let emails = emails_of(state, events.iter().filter_map(|e| e.user)).await?;
    let rows: Vec<EventRow> = events
        .iter()
        .map(|e| EventRow {
            id: e.event.id.clone(),
            kind: e.event.kind.clone(),
            received: when(e.received_at, now),
            outcome: e.outcome.as_str(),
            badge: match e.outcome {
                EventOutcome::Applied => "success",
                EventOutcome::Ignored | EventOutcome::Stale => "neutral",
                EventOutcome::Failed => "danger",
            },
            user: e
                .user
                .map(|u| emails.get(&u).cloned().unwrap_or_else(|| u.to_string()))
                .unwrap_or_default(),
            user_id: e.user.map(|u| u.to_string()).unwrap_or_default(),
            subscription: e.subscription.clone().unwrap_or_default(),
            detail: e.detail.clone().unwrap_or_default(),
        })
        .collect();
    let next = match events.last() {
        Some(last) if events.len() == PAGE as usize => query(
            "/admin/billing",
            &[("before", &event_cursor(last.received_at, &last.event.id))],
        ),
        _ => String::new(),
    };
    Ok(BillingPage {
        chrome: Chrome::new(viewer, "Billing events"),
        enabled: state.billing.is_some(),
        summary: page_summary(rows.len(), "event", "events", true),
        rows,
        first: if paged {
            "/admin/billing".to_owned()
        } else {
            String::new()
        },
        next,
    })
}

/// `GET /admin/billing`.
#[handler]
pub async fn show_billing(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<BeforeQuery>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match billing_page(&viewer, &state, &q).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// LLM usage

struct UsageRow {
    provider: String,
    model: String,
    calls: String,
    failures: String,
    tokens_in: String,
    tokens_out: String,
    cost: String,
}

struct CallRow {
    id: String,
    at: When,
    model: String,
    market: String,
    action: &'static str,
    outcome: String,
    verdict: &'static str,
    reason: String,
    tokens: String,
    cost: String,
    latency: String,
    prompt_hash: String,
}

#[derive(Template)]
#[template(path = "admin/llm.html")]
struct LlmPage {
    chrome: Chrome,
    usage: Vec<UsageRow>,
    calls: Vec<CallRow>,
    first: String,
    next: String,
    summary: String,
}

/// The usage table's period: the API's default.
const USAGE_DAYS: i64 = 30;

async fn llm_page(
    viewer: &Viewer,
    state: &ApiState,
    q: &BeforeQuery,
) -> Result<LlmPage, StoreError> {
    let now = Utc::now();
    let usage = if q.id().is_some() {
        // Later pages are about the calls; the usage is on the first.
        Vec::new()
    } else {
        let calls = state
            .store
            .llm_calls_between(now - chrono::Duration::days(USAGE_DAYS), now)
            .await?;
        nexus_core::ports::advisor::usage(&calls)
            .into_iter()
            .map(|u| UsageRow {
                provider: u.provider,
                model: u.model,
                calls: count(u.calls),
                failures: count(u.failures),
                tokens_in: count(u.tokens_in),
                tokens_out: count(u.tokens_out),
                cost: format!("{} USD", decimal(u.cost_usd, 2, 4)),
            })
            .collect()
    };
    let calls = state.store.llm_calls(q.id(), PAGE).await?;
    let rows: Vec<CallRow> = calls
        .iter()
        .map(|c| CallRow {
            id: c.id.to_string(),
            at: when(c.at, now),
            model: format!("{} {}", c.provider, c.model),
            market: format!(
                "{} {} {}",
                c.key.exchange.as_str(),
                c.key.symbol,
                c.key.interval.as_str()
            ),
            action: action_name(c.key.action),
            outcome: c.outcome.clone(),
            verdict: match c.verdict {
                Some(AdvisorVerdict::Allow) => "allow",
                Some(AdvisorVerdict::Block) => "block",
                None => "",
            },
            reason: c.reason.clone().unwrap_or_default(),
            tokens: count(c.tokens_in + c.tokens_out),
            cost: c
                .cost_usd
                .map_or_else(|| "—".to_owned(), |d| format!("{} USD", decimal(d, 2, 6))),
            latency: format!("{} ms", count(c.latency_ms)),
            prompt_hash: c.prompt_hash.clone(),
        })
        .collect();
    let next = match calls.last() {
        Some(last) if calls.len() == PAGE as usize => {
            query("/admin/llm", &[("before", &last.id.to_string())])
        }
        _ => String::new(),
    };
    Ok(LlmPage {
        chrome: Chrome::new(viewer, "LLM usage"),
        usage,
        summary: page_summary(rows.len(), "call", "calls", true),
        calls: rows,
        first: if q.id().is_some() {
            "/admin/llm".to_owned()
        } else {
            String::new()
        },
        next,
    })
}

/// `GET /admin/llm`.
#[handler]
pub async fn show_llm(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<BeforeQuery>,
) -> Response {
    if let Err(answer) = guard::admin(&viewer, req) {
        return *answer;
    }
    match llm_page(&viewer, &state, &q).await {
        Ok(p) => page(&p),
        Err(e) => unavailable(&viewer, &e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stop_at_the_cap() {
        let mut c = Counted::default();
        assert!(c.done(3));
        assert_eq!(c.text(), "3");
        let mut c = Counted::default();
        let mut pages = 0;
        while !c.done(COUNT_PAGE as usize) {
            pages += 1;
        }
        assert_eq!(c.n, COUNT_CAP);
        assert_eq!(pages + 1, COUNT_CAP / u64::from(COUNT_PAGE));
        assert_eq!(c.text(), "10,000+");
    }

    #[test]
    fn queries_leave_out_empty_values_and_encode_the_rest() {
        assert_eq!(query("/admin/users", &[("after", "")]), "/admin/users");
        assert_eq!(
            query("/admin/emails", &[("state", "failed"), ("to", "a+b@x.io")]),
            "/admin/emails?state=failed&to=a%2Bb%40x.io"
        );
    }

    #[test]
    fn event_cursors_read_back() {
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        let cursor = event_cursor(at, "evt_1.x");
        assert_eq!(read_event_cursor(&cursor), Some((at, "evt_1.x".to_owned())));
        assert_eq!(read_event_cursor("nope"), None);
        assert_eq!(read_event_cursor("12."), None);
    }

    #[test]
    fn ages_and_reasons_read_as_words() {
        assert_eq!(age(-5), "0 s");
        assert_eq!(age(59), "59 s");
        assert_eq!(age(185), "3 min");
        assert_eq!(age(7_500), "2 h 5 min");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(
            reason_text(&GateReason::StaleData {
                age_ms: 12_500,
                max_age_ms: 5_000
            }),
            "Market data 12.5 s old (at most 5 s)"
        );
        assert_eq!(
            reason_text(&GateReason::RegimeBlocks {
                regime: nexus_core::regime::Regime::Bear
            }),
            "The bear regime blocks it"
        );
    }
}
