//! `/api/v1/billing`: your plan, its limits and usage; Checkout and the billing portal;
//! your invoices; and Stripe's webhook. Without a Stripe key (billing off) everything but
//! `GET /api/v1/billing` answers `404 billing_disabled`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use nexus_core::billing::{SubscriptionStatus, entitlement};
use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use super::auth::{err, unavailable};
use super::raw_body::{RawJsonBody, Stripe};
use super::schema::Limit;
use super::session::Session;
use super::{ApiState, ErrorBody};
use crate::billing::{Billing, BillingError, Delivery, WebhookError};

#[derive(Tags)]
enum BillingTag {
    /// Plans, subscriptions and invoices (Stripe).
    Billing,
}

/// A subscription's status: Stripe's, or `none` without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum BillingStatus {
    /// No subscription: the free plan (or a plan an admin set).
    None,
    /// In its free trial: the plan is given.
    Trialing,
    /// Paid: the plan is given.
    Active,
    /// A payment failed: the plan is kept until `grace_until`.
    PastDue,
    /// Ended.
    Canceled,
    /// Payments failed and retries ran out.
    Unpaid,
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded.
    IncompleteExpired,
    /// A trial ended without a card.
    Paused,
}

impl From<SubscriptionStatus> for BillingStatus {
    fn from(s: SubscriptionStatus) -> Self {
        match s {
            SubscriptionStatus::Trialing => Self::Trialing,
            SubscriptionStatus::Active => Self::Active,
            SubscriptionStatus::PastDue => Self::PastDue,
            SubscriptionStatus::Canceled => Self::Canceled,
            SubscriptionStatus::Unpaid => Self::Unpaid,
            SubscriptionStatus::Incomplete => Self::Incomplete,
            SubscriptionStatus::IncompleteExpired => Self::IncompleteExpired,
            SubscriptionStatus::Paused => Self::Paused,
        }
    }
}

/// Counts of running bots and their pairs (limits: null means unlimited).
#[derive(Debug, Object)]
pub struct BotCounts {
    /// Running bots.
    #[oai(nullable)]
    pub bots: Option<u32>,
    /// Distinct (exchange, symbol) pairs of running bots.
    #[oai(nullable)]
    pub pairs: Option<u32>,
}

/// Your plan now.
#[derive(Debug, Object)]
pub struct BillingView {
    /// The plan in force (`free`, `pro`, `enterprise`).
    pub plan: String,
    /// The subscription's status.
    pub status: BillingStatus,
    /// When the trial ends (or ended).
    #[oai(nullable)]
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// When the current period ends: the next renewal, or the end when
    /// `cancel_at_period_end`.
    #[oai(nullable)]
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether the subscription ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
    /// While `past_due`: until when the plan is kept unless a payment succeeds.
    #[oai(nullable)]
    pub grace_until: Option<DateTime<Utc>>,
    /// The plan's limits (null: unlimited).
    pub limits: BotCounts,
    /// What you use of them.
    pub usage: BotCounts,
    /// Whether billing is on (plans can be bought); off, an admin sets plans.
    pub billing_enabled: bool,
}

/// A paid plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum PaidPlan {
    /// Pro (with a free trial, once).
    Pro,
    /// Enterprise.
    Enterprise,
}

impl PaidPlan {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }
}

/// `POST /billing/checkout`.
#[derive(Debug, Object)]
#[oai(example = true)]
pub struct CheckoutBody {
    /// The plan to buy.
    pub plan: PaidPlan,
}

impl poem_openapi::types::Example for CheckoutBody {
    fn example() -> Self {
        Self {
            plan: PaidPlan::Pro,
        }
    }
}

/// Where to send the user.
#[derive(Debug, Object)]
pub struct RedirectUrl {
    /// A Stripe page (Checkout or the billing portal), valid for a short while.
    pub url: String,
}

/// One invoice.
#[derive(Debug, Object)]
pub struct InvoiceView {
    /// Stripe's id (`in_…`).
    pub id: String,
    /// Its number as printed (null on drafts).
    #[oai(nullable)]
    pub number: Option<String>,
    /// The amount due, in the currency's units as a decimal string (`29.00`).
    pub amount_due: String,
    /// The amount paid, as a decimal string.
    pub amount_paid: String,
    /// ISO currency code, lower case (`usd`).
    pub currency: String,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    #[oai(nullable)]
    pub status: Option<String>,
    /// The start of the period it bills.
    #[oai(nullable)]
    pub period_start: Option<DateTime<Utc>>,
    /// The end of the period it bills.
    #[oai(nullable)]
    pub period_end: Option<DateTime<Utc>>,
    /// Stripe's page for it (pay, download).
    #[oai(nullable)]
    pub hosted_invoice_url: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// A page of invoices.
#[derive(Debug, Object)]
pub struct InvoiceList {
    /// Newest first.
    pub items: Vec<InvoiceView>,
}

/// What the webhook did with an event.
#[derive(Debug, Object)]
pub struct WebhookAnswer {
    /// Always true: Stripe need not deliver it again.
    pub received: bool,
    /// `applied`, `ignored`, `stale` or `duplicate` (processed before: nothing done).
    pub outcome: String,
}

/// Answers of `GET /billing`.
#[derive(ApiResponse)]
pub enum BillingViewResponse {
    /// Your plan.
    #[oai(status = 200)]
    Ok(Json<BillingView>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `checkout`.
#[derive(ApiResponse)]
pub enum RedirectResponse {
    /// Where to send the user.
    #[oai(status = 200)]
    Ok(Json<RedirectUrl>),
    /// The request does not parse: the body is not JSON of the documented shape, or a
    /// parameter is not of its documented type or range (`bad_request`; the message says
    /// what).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Billing is off on this server (`billing_disabled`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// You already have that plan (`already_subscribed`), or another subscription runs
    /// (`subscription_exists`: change plans in the portal).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// A plan without a price on this server (`invalid_field`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Stripe failed (`stripe_error`); try again.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `portal`.
#[derive(ApiResponse)]
pub enum PortalResponse {
    /// Where to send the user.
    #[oai(status = 200)]
    Ok(Json<RedirectUrl>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// A cookie request without its CSRF header.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Billing is off on this server (`billing_disabled`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Stripe failed (`stripe_error`); try again.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `GET /billing/invoices`.
#[derive(ApiResponse)]
pub enum InvoicesResponse {
    /// Your invoices.
    #[oai(status = 200)]
    Ok(Json<InvoiceList>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Billing is off on this server (`billing_disabled`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `limit` outside 1–100 (`invalid_field`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Stripe failed (`stripe_error`).
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of the webhook.
#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// Received (processed now, or before).
    #[oai(status = 200)]
    Ok(Json<WebhookAnswer>),
    /// A missing, malformed, stale or wrong `Stripe-Signature` (`invalid_signature`), or a
    /// signed body that is not an event (`invalid_event`): nothing changed; or a header
    /// that is not text (`bad_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Billing is off on this server (`billing_disabled`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Processing failed and nothing was written (`billing_failed`), or the event's
    /// subscription is not stored yet (`not_ready`): Stripe delivers it again.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn disabled() -> Json<ErrorBody> {
    err(
        "billing_disabled",
        "billing is off on this server (no NEXUS_STRIPE_SECRET_KEY): an admin sets plans",
    )
}

fn stripe_failed(e: &dyn std::error::Error) -> Json<ErrorBody> {
    tracing::warn!(error = %e, "a Stripe call failed");
    err(
        "stripe_error",
        "Stripe could not be reached or refused the request; try again",
    )
}

/// An amount in a currency's minor units as a decimal string (Stripe's zero-decimal
/// currencies have no minor unit).
fn amount(minor: i64, currency: &str) -> String {
    const ZERO_DECIMAL: [&str; 16] = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    let scale = if ZERO_DECIMAL.contains(&currency) {
        0
    } else {
        2
    };
    rust_decimal::Decimal::new(minor, scale).to_string()
}

/// The billing endpoints.
pub struct BillingApi;

impl BillingApi {
    fn billing(state: &ApiState) -> Option<&Arc<Billing>> {
        state.billing.as_ref()
    }
}

#[OpenApi(prefix_path = "/api/v1/billing", tag = "BillingTag::Billing")]
impl BillingApi {
    /// Your plan: its status, its limits and your usage of them.
    #[oai(path = "/", method = "get", operation_id = "get_billing")]
    pub(crate) async fn view(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
    ) -> BillingViewResponse {
        let user = auth.caller().user.id;
        let now = Utc::now();
        let (stored, usage) =
            match tokio::try_join!(state.store.subscription(user), state.store.bot_usage(user)) {
                Ok(read) => read,
                Err(e) => return BillingViewResponse::Unavailable(unavailable(&e)),
            };
        let sub = stored.as_ref().map(|(s, _)| s);
        let plan = state.plans.get(entitlement(sub, now));
        BillingViewResponse::Ok(Json(BillingView {
            plan: plan.name.clone(),
            status: sub.map_or(BillingStatus::None, |s| s.status.into()),
            trial_ends_at: sub.and_then(|s| s.trial_end),
            current_period_end: sub.and_then(|s| s.current_period_end),
            cancel_at_period_end: sub.is_some_and(|s| s.cancel_at_period_end),
            grace_until: sub
                .filter(|s| s.status == SubscriptionStatus::PastDue)
                .and_then(|s| s.grace_until),
            limits: BotCounts {
                bots: plan.max_bots,
                pairs: plan.max_pairs,
            },
            usage: BotCounts {
                bots: Some(usage.bots),
                pairs: Some(usage.pairs),
            },
            billing_enabled: state.billing.is_some(),
        }))
    }

    /// Starts buying a plan: a Stripe Checkout page (with the Pro trial when you are
    /// entitled to it). Your plan changes when Stripe confirms the payment.
    #[oai(path = "/checkout", method = "post", operation_id = "create_checkout")]
    pub(crate) async fn checkout(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        body: Json<CheckoutBody>,
    ) -> RedirectResponse {
        let Some(billing) = Self::billing(&state) else {
            return RedirectResponse::NotFound(disabled());
        };
        match billing
            .checkout(&auth.caller().user, body.plan.as_str(), Utc::now())
            .await
        {
            Ok(url) => RedirectResponse::Ok(Json(RedirectUrl { url })),
            Err(e @ BillingError::AlreadySubscribed(_)) => {
                RedirectResponse::Conflict(err("already_subscribed", e.to_string()))
            }
            Err(e @ BillingError::SubscriptionExists(_)) => {
                RedirectResponse::Conflict(err("subscription_exists", e.to_string()))
            }
            Err(e @ BillingError::UnknownPlan(..)) => {
                RedirectResponse::Invalid(err("invalid_field", e.to_string()))
            }
            Err(BillingError::Stripe(e)) => RedirectResponse::BadGateway(stripe_failed(&e)),
            Err(BillingError::Store(e)) => RedirectResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Opens Stripe's billing portal: change your card or plan, or cancel.
    #[oai(path = "/portal", method = "post", operation_id = "create_portal")]
    pub(crate) async fn portal(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
    ) -> PortalResponse {
        let Some(billing) = Self::billing(&state) else {
            return PortalResponse::NotFound(disabled());
        };
        match billing.portal(&auth.caller().user, Utc::now()).await {
            Ok(url) => PortalResponse::Ok(Json(RedirectUrl { url })),
            Err(BillingError::Store(e)) => PortalResponse::Unavailable(unavailable(&e)),
            Err(e) => PortalResponse::BadGateway(stripe_failed(&e)),
        }
    }

    /// Your invoices, newest first.
    #[oai(path = "/invoices", method = "get", operation_id = "list_invoices")]
    pub(crate) async fn invoices(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        /// How many, 1–100 (default 24).
        limit: Query<Option<Limit<100, 24>>>,
    ) -> InvoicesResponse {
        let Some(billing) = Self::billing(&state) else {
            return InvoicesResponse::NotFound(disabled());
        };
        let limit = match Limit::get(limit.0) {
            // At most 100.
            Ok(limit) => u8::try_from(limit).unwrap_or(u8::MAX),
            Err(e) => return InvoicesResponse::Invalid(e.body()),
        };
        match billing.invoices(auth.caller().user.id, limit).await {
            Ok(invoices) => InvoicesResponse::Ok(Json(InvoiceList {
                items: invoices
                    .into_iter()
                    .map(|i| InvoiceView {
                        amount_due: amount(i.amount_due, &i.currency),
                        amount_paid: amount(i.amount_paid, &i.currency),
                        period_start: crate::billing::service::stripe_time(i.period_start),
                        period_end: crate::billing::service::stripe_time(i.period_end),
                        created: crate::billing::service::stripe_time(Some(i.created))
                            .unwrap_or_default(),
                        id: i.id,
                        number: i.number,
                        currency: i.currency,
                        status: i.status,
                        hosted_invoice_url: i.hosted_invoice_url,
                    })
                    .collect(),
            })),
            Err(BillingError::Store(e)) => InvoicesResponse::Unavailable(unavailable(&e)),
            Err(e) => InvoicesResponse::BadGateway(stripe_failed(&e)),
        }
    }

    /// Stripe's events (set this URL as the webhook endpoint, API version
    /// `2026-07-29.dahlia`). The `Stripe-Signature` header is checked on the raw body;
    /// each event is processed once, and an event older than what is stored never
    /// overwrites it.
    #[oai(path = "/webhook", method = "post", operation_id = "stripe_webhook")]
    pub(crate) async fn webhook(
        &self,
        state: Data<&Arc<ApiState>>,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>` (several `v1` while a secret rolls).
        #[oai(name = "Stripe-Signature")]
        signature: Header<Option<String>>,
        body: RawJsonBody<Stripe>,
    ) -> WebhookResponse {
        let Some(billing) = Self::billing(&state) else {
            return WebhookResponse::NotFound(disabled());
        };
        let answer = |outcome: &str| {
            WebhookResponse::Ok(Json(WebhookAnswer {
                received: true,
                outcome: outcome.to_owned(),
            }))
        };
        match billing
            .webhook(signature.0.as_deref(), &body.0, Utc::now())
            .await
        {
            Ok(Delivery::Processed(outcome)) => answer(outcome.as_str()),
            Ok(Delivery::Duplicate) => answer("duplicate"),
            Err(WebhookError::Signature(e)) => {
                WebhookResponse::BadRequest(err("invalid_signature", e.to_string()))
            }
            Err(WebhookError::Event(e)) => {
                WebhookResponse::BadRequest(err("invalid_event", e.to_string()))
            }
            Err(e @ WebhookError::NotYet(_)) => {
                WebhookResponse::Unavailable(err("not_ready", e.to_string()))
            }
            Err(e @ WebhookError::Failed { .. }) => {
                tracing::error!(error = %e, "a Stripe event could not be processed");
                WebhookResponse::Unavailable(err(
                    "billing_failed",
                    "the event could not be processed; Stripe delivers it again",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amounts_read_in_the_currency_s_units() {
        assert_eq!(amount(2900, "usd"), "29.00");
        assert_eq!(amount(5, "eur"), "0.05");
        assert_eq!(amount(500, "jpy"), "500");
        assert_eq!(amount(0, "usd"), "0.00");
    }
}
