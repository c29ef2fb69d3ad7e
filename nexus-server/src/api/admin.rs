//! `/api/v1/admin/…`: operators' endpoints. Every one answers 403 to users who are not
//! admins.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::ports::accounts::{Role, UserRecord};
use nexus_core::ports::audit::AuditAction;
use nexus_core::ports::billing::EventOutcome;
use nexus_core::ports::emails::{EmailFilter, EmailState};
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_core::regime::gate::GateAction;
use nexus_core::{StoreError, UserId};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::MetaSchema;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use super::auth::{err, unavailable};
use super::bots::IntervalName;
use super::client_ip::ClientIp;
use super::keys::Exchange;
use super::schema::{Limit, Text, TextSchema};
use super::session::Session;
use super::{ApiState, ErrorBody};

#[derive(Tags)]
enum AdminTag {
    /// Operators only.
    Admin,
}

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleName {
    /// A customer.
    User,
    /// An operator.
    Admin,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::User => Self::User,
            Role::Admin => Self::Admin,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::User => Self::User,
            RoleName::Admin => Self::Admin,
        }
    }
}

/// A user, as operators see them.
#[derive(Debug, Object)]
pub struct AdminUser {
    /// Their id.
    pub id: Uuid,
    /// Their email address.
    pub email: String,
    /// Their role.
    pub role: RoleName,
    /// When they verified their address.
    #[oai(nullable)]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

fn admin_user(u: &UserRecord) -> AdminUser {
    AdminUser {
        id: *u.id.as_uuid(),
        email: u.email.clone(),
        role: u.role.into(),
        email_verified_at: u.email_verified_at,
        created_at: u.created_at,
    }
}

/// A page of users.
#[derive(Debug, Object)]
pub struct UserPage {
    /// The users, in id order.
    pub items: Vec<AdminUser>,
    /// Pass as `after` for the next page; null on the last.
    #[oai(nullable)]
    pub next_after: Option<Uuid>,
}

/// `PATCH /admin/users/{id}/role`.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct RoleChange {
    /// The new role.
    pub role: RoleName,
}

impl poem_openapi::types::Example for RoleChange {
    fn example() -> Self {
        Self {
            role: RoleName::Admin,
        }
    }
}

/// One audit-log entry.
#[derive(Debug, Object)]
pub struct AuditEntry {
    /// Its sequence number (page with `before`).
    pub id: i64,
    /// Who did it.
    #[oai(nullable)]
    pub actor: Option<Uuid>,
    /// What happened (`sign_in`, `key_added`, …).
    pub action: String,
    /// What it was done to.
    #[oai(nullable)]
    pub subject: Option<String>,
    /// Details (JSON object).
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// A position found out of sync with its venue account at an exit: the account held less
/// than the bot's position by more than fees or rounding explain. What was held was sold
/// and the position closed; the owner was emailed.
#[derive(Debug, Object)]
pub struct OutOfSyncEntry {
    /// Its sequence number (page with `before`).
    pub id: i64,
    /// The bot.
    pub bot_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The exit signal that found it.
    pub signal_id: Uuid,
    /// The venue.
    pub exchange: Exchange,
    /// The pair, e.g. `BTC/USDT`.
    pub symbol: String,
    /// What the position said the bot held (decimal string).
    pub expected: String,
    /// What the account held (decimal string).
    pub available: String,
    /// What the exit sold (decimal string; `0` when nothing could be sold).
    pub sold: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One email as logged.
#[derive(Debug, Object)]
pub struct EmailEntry {
    /// Its id.
    pub id: i64,
    /// The recipient.
    pub to: String,
    /// Its template (`verification`, `trade_alert`, …).
    pub template: String,
    /// Its subject.
    pub subject: String,
    /// Where it is.
    pub state: EmailStateName,
    /// Attempts made.
    pub attempts: u32,
    /// The provider's message id, once sent.
    #[oai(nullable)]
    pub provider_id: Option<String>,
    /// The last error, or why it was suppressed or bounced.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was handed over.
    #[oai(nullable)]
    pub sent_at: Option<DateTime<Utc>>,
    /// When the provider reported it delivered.
    #[oai(nullable)]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An email's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum EmailStateName {
    /// Waiting for its first attempt.
    Queued,
    /// Handed to the provider.
    Sent,
    /// An attempt failed; another is scheduled.
    Retrying,
    /// Given up.
    Failed,
    /// Not sent: a suppressed address, or outside `NEXUS_EMAIL_ALLOW`.
    Suppressed,
    /// The provider reported a bounce.
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl From<EmailState> for EmailStateName {
    fn from(s: EmailState) -> Self {
        match s {
            EmailState::Queued => Self::Queued,
            EmailState::Sent => Self::Sent,
            EmailState::Retrying => Self::Retrying,
            EmailState::Failed => Self::Failed,
            EmailState::Suppressed => Self::Suppressed,
            EmailState::Bounced => Self::Bounced,
            EmailState::Complained => Self::Complained,
        }
    }
}

impl From<EmailStateName> for EmailState {
    fn from(s: EmailStateName) -> Self {
        match s {
            EmailStateName::Queued => Self::Queued,
            EmailStateName::Sent => Self::Sent,
            EmailStateName::Retrying => Self::Retrying,
            EmailStateName::Failed => Self::Failed,
            EmailStateName::Suppressed => Self::Suppressed,
            EmailStateName::Bounced => Self::Bounced,
            EmailStateName::Complained => Self::Complained,
        }
    }
}

/// A page of the email log, newest first.
#[derive(Debug, Object)]
pub struct EmailPage {
    /// The emails.
    pub items: Vec<EmailEntry>,
    /// Pass as `before` for the next page; null on the last.
    #[oai(nullable)]
    pub next_before: Option<i64>,
}

/// What the market-regime gate was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum GateActionName {
    /// Opening a position.
    Entry,
    /// A pyramid add.
    Add,
    /// Closing a position.
    Exit,
}

/// The LLM advisor's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Verdict {
    /// No objection.
    Allow,
    /// Block the action.
    Block,
}

/// What became of a Stripe event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum BillingEventOutcome {
    /// It changed the stored subscription.
    Applied,
    /// A type Nexus does not act on, or about nothing Nexus holds.
    Ignored,
    /// Older than what was stored: nothing changed.
    Stale,
    /// Processing failed; Stripe delivers it again.
    Failed,
}

impl From<EventOutcome> for BillingEventOutcome {
    fn from(o: EventOutcome) -> Self {
        match o {
            EventOutcome::Applied => Self::Applied,
            EventOutcome::Ignored => Self::Ignored,
            EventOutcome::Stale => Self::Stale,
            EventOutcome::Failed => Self::Failed,
        }
    }
}

/// One provider's and model's use of the LLM advisor over a period.
#[derive(Debug, Object)]
pub struct LlmUsageEntry {
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Calls made.
    pub calls: u64,
    /// Calls without an answer.
    pub failures: u64,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Cost in USD, a decimal string (calls of a model without a price count 0).
    pub cost_usd: String,
}

/// The LLM advisor's use over a period.
#[derive(Debug, Object)]
pub struct LlmUsageReport {
    /// The period's start (included).
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub to: DateTime<Utc>,
    /// Per provider and model.
    pub items: Vec<LlmUsageEntry>,
}

/// One call of the LLM advisor.
#[derive(Debug, Object)]
pub struct LlmCallEntry {
    /// Its id (page with `before`).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// The venue.
    pub exchange: Exchange,
    /// The pair.
    pub symbol: String,
    /// The candle interval.
    pub interval: IntervalName,
    /// The open time of the candle decided on.
    pub candle: DateTime<Utc>,
    /// What the gate was asked about.
    pub action: GateActionName,
    /// SHA-256 of the prompt.
    pub prompt_hash: String,
    /// The request as sent (JSON; never the key).
    pub request: String,
    /// The answer as received.
    #[oai(nullable)]
    pub response: Option<String>,
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Cost in USD, a decimal string (null: a model without a price).
    #[oai(nullable)]
    pub cost_usd: Option<String>,
    /// How long it took.
    pub latency_ms: u64,
    /// `answered`, or why not.
    pub outcome: String,
    /// The verdict, when answered.
    #[oai(nullable)]
    pub verdict: Option<Verdict>,
    /// The verdict's reason, or the error.
    #[oai(nullable)]
    pub reason: Option<String>,
}

/// A page of LLM calls, newest first.
#[derive(Debug, Object)]
pub struct LlmCallPage {
    /// The calls.
    pub items: Vec<LlmCallEntry>,
    /// Pass as `before` for the next page; null on the last.
    #[oai(nullable)]
    pub next_before: Option<i64>,
}

/// A Stripe event as received, and what became of it.
#[derive(Debug, Object)]
pub struct BillingEventEntry {
    /// Stripe's event id (`evt_…`).
    pub id: String,
    /// Its type (`invoice.paid`, …).
    #[oai(rename = "type")]
    pub kind: String,
    /// When Stripe created it.
    pub created: DateTime<Utc>,
    /// When it was (last) received.
    pub received_at: DateTime<Utc>,
    /// What became of it.
    pub outcome: BillingEventOutcome,
    /// The user it was about.
    #[oai(nullable)]
    pub user_id: Option<Uuid>,
    /// The subscription it was about.
    #[oai(nullable)]
    pub subscription_id: Option<String>,
    /// Why it was ignored, stale or failed.
    #[oai(nullable)]
    pub detail: Option<String>,
}

/// A page of Stripe events, newest first.
#[derive(Debug, Object)]
pub struct BillingEventPage {
    /// The events.
    pub items: Vec<BillingEventEntry>,
    /// Pass as `before` for the next page; null on the last.
    #[oai(nullable)]
    pub next_before: Option<String>,
}

/// The cursor of a page of events: `<received ms>.<event id>`.
fn event_cursor(at: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", at.timestamp_millis())
}

/// The shape of an event cursor, as the document states it: up to 15 digits of
/// milliseconds (any such time is one `chrono` holds), a dot, and an event id.
pub struct EventCursor;

impl TextSchema for EventCursor {
    fn schema() -> MetaSchema {
        MetaSchema {
            pattern: Some(r"^-?[0-9]{1,15}\.[\s\S]+$".to_owned()),
            ..MetaSchema::ANY
        }
    }
}

/// An event cursor: exactly the texts [`EventCursor`]'s pattern matches.
fn read_event_cursor(text: &str) -> Option<(DateTime<Utc>, String)> {
    let (ms, id) = text.split_once('.')?;
    let digits = ms.strip_prefix('-').unwrap_or(ms);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = DateTime::from_timestamp_millis(ms.parse().ok()?)?;
    Some((at, id.to_owned())).filter(|(_, id)| !id.is_empty())
}

/// Answers of the read endpoints.
#[derive(ApiResponse)]
pub enum AdminListResponse<T: poem_openapi::types::ToJSON + Send + Sync> {
    /// The page.
    #[oai(status = 200)]
    Ok(Json<T>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Not an admin (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// A parameter outside its range, or parameters that do not go together
    /// (`invalid_field`, naming the parameter): `limit` outside 1–200, `from` not before
    /// `to`, a `before` that is not the `next_before` of a page.
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `set_role`.
#[derive(ApiResponse)]
pub enum RoleResponse {
    /// The user with their new role.
    #[oai(status = 200)]
    Ok(Json<AdminUser>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Not an admin, or a cookie request without its CSRF header (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such user (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Admins cannot change their own role (`cannot_change_own_role`), so the last admin
    /// cannot lock everyone out.
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn not_admin() -> Json<ErrorBody> {
    err("forbidden", "this needs the admin role")
}

/// A page size: 1–200, 50 unless given.
type PageSize = Limit<200, 50>;

/// The admin endpoints.
pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v1/admin", tag = "AdminTag::Admin")]
impl AdminApi {
    /// Every user, a page at a time.
    #[oai(path = "/users", method = "get", operation_id = "admin_list_users")]
    pub(crate) async fn users(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// The last id of the previous page.
        after: Query<Option<Uuid>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<UserPage> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        match state
            .store
            .list_users(after.0.map(UserId::new), limit)
            .await
        {
            Ok(users) => {
                let next_after = (users.len() == limit as usize)
                    .then(|| users.last().map(|u| *u.id.as_uuid()))
                    .flatten();
                AdminListResponse::Ok(Json(UserPage {
                    items: users.iter().map(admin_user).collect(),
                    next_after,
                }))
            }
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// The LLM advisor's use per provider and model in `[from, to)` (default: the last
    /// 30 days): calls, failures, tokens and cost.
    #[oai(path = "/llm/usage", method = "get", operation_id = "admin_llm_usage")]
    pub(crate) async fn llm_usage(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// The period's start (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// The period's end (RFC 3339; default now).
        to: Query<Option<DateTime<Utc>>>,
    ) -> AdminListResponse<LlmUsageReport> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let to = to.0.unwrap_or_else(Utc::now);
        let from = from.0.unwrap_or(to - chrono::Duration::days(30));
        if from >= to {
            return AdminListResponse::Invalid(err("invalid_field", "from: must be before to"));
        }
        match state.store.llm_calls_between(from, to).await {
            Ok(calls) => AdminListResponse::Ok(Json(LlmUsageReport {
                from,
                to,
                items: nexus_core::ports::advisor::usage(&calls)
                    .into_iter()
                    .map(|u| LlmUsageEntry {
                        provider: u.provider,
                        model: u.model,
                        calls: u.calls,
                        failures: u.failures,
                        tokens_in: u.tokens_in,
                        tokens_out: u.tokens_out,
                        cost_usd: u.cost_usd.to_string(),
                    })
                    .collect(),
            })),
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// The LLM advisor's calls, newest first: each one's request, answer, tokens, cost,
    /// latency and outcome.
    #[oai(path = "/llm/calls", method = "get", operation_id = "admin_llm_calls")]
    pub(crate) async fn llm_calls(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// `next_before` of the previous page.
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<LlmCallPage> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        match state.store.llm_calls(before.0, limit).await {
            Ok(calls) => {
                let next_before = (calls.len() == limit as usize)
                    .then(|| calls.last().map(|c| c.id))
                    .flatten();
                AdminListResponse::Ok(Json(LlmCallPage {
                    items: calls
                        .into_iter()
                        .map(|c| LlmCallEntry {
                            id: c.id,
                            at: c.at,
                            provider: c.provider,
                            model: c.model,
                            exchange: c.key.exchange.into(),
                            symbol: c.key.symbol.to_string(),
                            interval: c.key.interval.into(),
                            candle: c.key.candle,
                            action: match c.key.action {
                                GateAction::Entry => GateActionName::Entry,
                                GateAction::Add => GateActionName::Add,
                                GateAction::Exit => GateActionName::Exit,
                            },
                            prompt_hash: c.prompt_hash,
                            request: c.request,
                            response: c.response,
                            tokens_in: c.tokens_in,
                            tokens_out: c.tokens_out,
                            cost_usd: c.cost_usd.map(|d| d.to_string()),
                            latency_ms: c.latency_ms,
                            outcome: c.outcome,
                            verdict: c.verdict.map(|v| match v {
                                AdvisorVerdict::Allow => Verdict::Allow,
                                AdvisorVerdict::Block => Verdict::Block,
                            }),
                            reason: c.reason,
                        })
                        .collect(),
                    next_before,
                }))
            }
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// The email log, newest first: each message's state, attempts and last error.
    #[oai(path = "/emails", method = "get", operation_id = "admin_emails")]
    pub(crate) async fn emails(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// Only emails in this state.
        #[oai(name = "state")]
        email_state: Query<Option<EmailStateName>>,
        /// Only emails to this address (any case).
        to: Query<Option<String>>,
        /// `next_before` of the previous page.
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<EmailPage> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        let filter = EmailFilter {
            state: email_state.0.map(EmailState::from),
            to: to.0.filter(|t| !t.trim().is_empty()),
            before: before.0,
        };
        match state.store.emails(&filter, limit).await {
            Ok(emails) => {
                let next_before = (emails.len() == limit as usize)
                    .then(|| emails.last().map(|e| e.id))
                    .flatten();
                AdminListResponse::Ok(Json(EmailPage {
                    items: emails
                        .into_iter()
                        .map(|e| EmailEntry {
                            id: e.id,
                            to: e.to,
                            template: e.template,
                            subject: e.subject,
                            state: e.state.into(),
                            attempts: e.attempts,
                            provider_id: e.provider_id,
                            last_error: e.last_error,
                            created_at: e.created_at,
                            updated_at: e.updated_at,
                            sent_at: e.sent_at,
                            delivered_at: e.delivered_at,
                        })
                        .collect(),
                    next_before,
                }))
            }
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Stripe's events as received, newest first, with what became of each.
    #[oai(
        path = "/billing/events",
        method = "get",
        operation_id = "admin_billing_events"
    )]
    pub(crate) async fn billing_events(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// `next_before` of the previous page.
        before: Query<Option<Text<EventCursor>>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<BillingEventPage> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        let before = match before.0.as_deref().map(read_event_cursor) {
            None => None,
            Some(Some(cursor)) => Some(cursor),
            Some(None) => {
                return AdminListResponse::Invalid(err(
                    "invalid_field",
                    "before: pass the next_before of the previous page",
                ));
            }
        };
        match state.store.billing_events(before, limit).await {
            Ok(events) => {
                let next_before = (events.len() == limit as usize)
                    .then(|| {
                        events
                            .last()
                            .map(|e| event_cursor(e.received_at, &e.event.id))
                    })
                    .flatten();
                AdminListResponse::Ok(Json(BillingEventPage {
                    items: events
                        .into_iter()
                        .map(|e| BillingEventEntry {
                            id: e.event.id,
                            kind: e.event.kind,
                            created: e.event.created,
                            received_at: e.received_at,
                            outcome: e.outcome.into(),
                            user_id: e.user.map(|u| *u.as_uuid()),
                            subscription_id: e.subscription,
                            detail: e.detail,
                        })
                        .collect(),
                    next_before,
                }))
            }
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Makes a user an admin, or an admin a user.
    #[oai(
        path = "/users/:id/role",
        method = "patch",
        operation_id = "admin_set_role"
    )]
    pub(crate) async fn set_role(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        id: Path<Uuid>,
        body: Json<RoleChange>,
        ip: ClientIp,
    ) -> RoleResponse {
        let admin = &auth.caller().user;
        if admin.role != Role::Admin {
            return RoleResponse::Forbidden(not_admin());
        }
        let target = UserId::new(id.0);
        if target == admin.id {
            return RoleResponse::Invalid(err(
                "cannot_change_own_role",
                "admins cannot change their own role; ask another admin",
            ));
        }
        let role = Role::from(body.role);
        match state.store.set_role(target, role, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => return RoleResponse::NotFound(err("not_found", "no such user")),
            Err(e) => return RoleResponse::Unavailable(unavailable(&e)),
        }
        state
            .audit(
                Some(admin.id),
                AuditAction::RoleChanged,
                &format!("{target} -> {}", role.as_str()),
                &ip.0.clone(),
            )
            .await;
        match state.store.user(target).await {
            Ok(Some(user)) => RoleResponse::Ok(Json(admin_user(&user))),
            Ok(None) => RoleResponse::NotFound(err("not_found", "no such user")),
            Err(e) => RoleResponse::Unavailable(unavailable(&e)),
        }
    }

    /// The audit log, newest first.
    #[oai(path = "/audit", method = "get", operation_id = "admin_audit_log")]
    pub(crate) async fn audit(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// Only entries before this id (the next page).
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<Vec<AuditEntry>> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        let entries = state
            .store
            .recent(limit, before.0)
            .await
            .and_then(|records| {
                records
                    .into_iter()
                    .map(|r| {
                        // Details are written as JSON: text that does not read back is a bad
                        // row, not an entry without details.
                        let details = serde_json::from_str(&r.event.details).map_err(|e| {
                            StoreError::Corrupt {
                                message: format!("audit entry {}: details: {e}", r.id),
                            }
                        })?;
                        Ok(AuditEntry {
                            id: r.id,
                            actor: r.event.actor.map(|a| *a.as_uuid()),
                            action: r.event.action.as_str().to_owned(),
                            subject: r.event.subject,
                            details,
                            at: r.event.at,
                        })
                    })
                    .collect()
            });
        match entries {
            Ok(entries) => AdminListResponse::Ok(Json(entries)),
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }

    /// The latest gate decisions, newest first: the inputs, the regime, whether the
    /// action was allowed and why (the core's `GateDecision` as JSON).
    #[oai(
        path = "/gate-decisions",
        method = "get",
        operation_id = "admin_gate_decisions"
    )]
    pub(crate) async fn gate_decisions(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// How many, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<Vec<serde_json::Value>> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        let unavailable = |error: &dyn std::fmt::Display| {
            tracing::error!(%error, "gate decisions unavailable");
            AdminListResponse::Unavailable(err(
                "unavailable",
                "the service is temporarily unavailable, try again shortly",
            ))
        };
        match state.store.recent_decisions(limit).await {
            // A decision that does not serialise fails the page rather than vanish from it.
            Ok(decisions) => match decisions.iter().map(serde_json::to_value).collect() {
                Ok(values) => AdminListResponse::Ok(Json(values)),
                Err(e) => unavailable(&e),
            },
            Err(e) => unavailable(&e),
        }
    }

    /// Positions found out of sync with their venue accounts, newest first.
    #[oai(
        path = "/out-of-sync",
        method = "get",
        operation_id = "admin_out_of_sync"
    )]
    pub(crate) async fn out_of_sync(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// Only entries before this id (the next page).
        before: Query<Option<i64>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<PageSize>>,
    ) -> AdminListResponse<Vec<OutOfSyncEntry>> {
        if auth.caller().user.role != Role::Admin {
            return AdminListResponse::Forbidden(not_admin());
        }
        let limit = match PageSize::get(limit.0) {
            Ok(limit) => limit,
            Err(e) => return AdminListResponse::Invalid(e.body()),
        };
        let page = nexus_core::ports::activity::Page {
            before: before.0,
            limit,
        };
        match state.store.out_of_sync(page).await {
            Ok(records) => AdminListResponse::Ok(Json(
                records
                    .into_iter()
                    .map(|(id, r)| OutOfSyncEntry {
                        id,
                        bot_id: *r.bot.as_uuid(),
                        user_id: *r.user.as_uuid(),
                        signal_id: *r.signal.as_uuid(),
                        exchange: r.exchange.into(),
                        symbol: r.symbol.to_string(),
                        expected: r.expected.to_string(),
                        available: r.available.to_string(),
                        sold: r.sold.to_string(),
                        at: r.at,
                    })
                    .collect(),
            )),
            Err(e) => AdminListResponse::Unavailable(unavailable(&e)),
        }
    }
}
