//! `/app/billing`: the plan in force, usage against its limits, buying a plan through
//! Stripe Checkout (which returns here with `?checkout=success` or `?checkout=canceled`),
//! the billing portal and the invoices. Every figure comes from the API's own operations,
//! read as a JSON client reads them; with billing off the page shows the plan and usage
//! and says so.

use std::str::FromStr;
use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Form, Query};
use poem::{Request, Response, handler};
use poem_openapi::payload::Json;
use poem_openapi::types::ParseFromJSON;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::call::{Failure, json, outcome};
use super::format::{When, count, money, when};
use super::guard;
use super::keys::{sentence, session_of};
use super::landing::{PlanCard, plan_cards};
use super::render::{Chrome, error_page, page, redirect};
use super::viewer::{Viewer, flash};
use crate::api::{ApiState, BillingApi};

/// How many invoices the page lists (the portal has them all).
const INVOICES: u32 = 12;

/// `GET /api/v1/billing`'s answer, as a client reads it.
#[derive(Debug, Deserialize)]
struct BillingJson {
    plan: String,
    status: String,
    trial_ends_at: Option<DateTime<Utc>>,
    current_period_end: Option<DateTime<Utc>>,
    #[serde(default)]
    cancel_at_period_end: bool,
    grace_until: Option<DateTime<Utc>>,
    limits: Counts,
    usage: Counts,
    #[serde(default)]
    billing_enabled: bool,
}

/// Running bots and pairs (absent: no limit).
#[derive(Debug, Deserialize)]
struct Counts {
    bots: Option<u32>,
    pairs: Option<u32>,
}

/// `GET /api/v1/billing/invoices`' answer.
#[derive(Debug, Deserialize)]
struct InvoicesJson {
    items: Vec<InvoiceJson>,
}

#[derive(Debug, Deserialize)]
struct InvoiceJson {
    id: String,
    number: Option<String>,
    amount_due: String,
    amount_paid: String,
    currency: String,
    status: Option<String>,
    hosted_invoice_url: Option<String>,
    created: DateTime<Utc>,
}

/// Checkout's and the portal's answer.
#[derive(Debug, Deserialize)]
struct UrlJson {
    url: String,
}

/// One limit and what is used of it.
struct Usage {
    id: &'static str,
    label: &'static str,
    text: String,
    used: u32,
    max: Option<u32>,
    over: bool,
}

fn usage(id: &'static str, label: &'static str, noun: &str, used: u32, max: Option<u32>) -> Usage {
    let plural = if max.unwrap_or(used) == 1 { "" } else { "s" };
    let text = match max {
        Some(max) => format!(
            "{} of {} {noun}{plural}",
            count(u64::from(used)),
            count(u64::from(max))
        ),
        None => format!("{} {noun}{plural} (no limit)", count(u64::from(used))),
    };
    Usage {
        id,
        label,
        text,
        used,
        max,
        over: max.is_some_and(|m| used > m),
    }
}

/// A date of the subscription: "Renews", "Trial ends", …
struct Dated {
    label: &'static str,
    at: When,
}

/// An invoice row.
struct InvoiceRow {
    number: String,
    created: When,
    status: String,
    status_kind: &'static str,
    due: String,
    paid: String,
    url: Option<String>,
}

/// A plan the user can buy.
struct Offer {
    plan: String,
    button: String,
    card: PlanCard,
}

#[derive(Template)]
#[template(path = "app/billing.html")]
struct BillingPage {
    chrome: Chrome,
    plan: String,
    status: Option<(&'static str, &'static str)>,
    dates: Vec<Dated>,
    usage: Vec<Usage>,
    enabled: bool,
    subscribed: bool,
    offers: Vec<Offer>,
    /// `None`: Stripe could not be asked.
    invoices: Option<Vec<InvoiceRow>>,
    /// The alert after returning from Checkout: (whether it succeeded, title, text).
    notice: Option<(bool, &'static str, &'static str)>,
}

/// A subscription status for people, with its badge kind; `None` without a subscription.
fn status_label(status: &str) -> Option<(&'static str, &'static str)> {
    Some(match status {
        "trialing" => ("Free trial", "info"),
        "active" => ("Active", "success"),
        "past_due" => ("Payment failed", "warning"),
        "canceled" => ("Canceled", "neutral"),
        "unpaid" => ("Unpaid", "danger"),
        "incomplete" => ("Awaiting the first payment", "warning"),
        "incomplete_expired" => ("First payment never made", "neutral"),
        "paused" => ("Paused: trial ended without a card", "warning"),
        _ => return None,
    })
}

fn invoice_status(status: Option<&str>) -> (String, &'static str) {
    match status {
        Some("paid") => ("Paid".into(), "success"),
        Some("open") => ("Open".into(), "warning"),
        Some("uncollectible") => ("Uncollectible".into(), "danger"),
        Some("void") => ("Void".into(), "neutral"),
        Some("draft") => ("Draft".into(), "neutral"),
        Some(other) => (sentence(other), "neutral"),
        None => ("Unknown".into(), "neutral"),
    }
}

/// An amount as the API gives it (`29.00`, `usd`) with its currency.
fn amount(text: &str, currency: &str) -> String {
    let currency = currency.to_uppercase();
    match Decimal::from_str(text) {
        Ok(value) => money(value, &currency),
        Err(_) => format!("{text} {currency}"),
    }
}

fn dates(view: &BillingJson, now: DateTime<Utc>) -> Vec<Dated> {
    let mut out = Vec::new();
    if view.status == "trialing"
        && let Some(at) = view.trial_ends_at
    {
        out.push(Dated {
            label: if at > now {
                "Trial ends"
            } else {
                "Trial ended"
            },
            at: when(at, now),
        });
    }
    if let Some(at) = view.grace_until {
        out.push(Dated {
            label: "Plan kept until",
            at: when(at, now),
        });
    }
    if let Some(at) = view.current_period_end {
        let label = if view.cancel_at_period_end {
            "Ends"
        } else if matches!(view.status.as_str(), "active" | "trialing" | "past_due") {
            "Renews"
        } else {
            "Period ended"
        };
        out.push(Dated {
            label,
            at: when(at, now),
        });
    }
    out
}

/// The plans to offer: paid ones other than the current, upgrades named as such.
fn offers(state: &ApiState, current: &str) -> Vec<Offer> {
    let all = state.plans.all();
    let rank = |name: &str| all.iter().position(|p| p.name == name);
    let here = rank(current);
    plan_cards(&state.plans)
        .into_iter()
        // Only the plans Checkout sells (the API's `PaidPlan`).
        .filter(|card| matches!(card.id.as_str(), "pro" | "enterprise") && card.id != current)
        .map(|card| {
            let up = rank(&card.id) > here;
            Offer {
                plan: card.id.clone(),
                button: format!("{} to {}", if up { "Upgrade" } else { "Switch" }, card.name),
                card,
            }
        })
        .collect()
}

/// The invoices of the operation's answer as rows; `None` when it failed.
async fn invoice_rows(
    answer: Result<Response, Failure>,
    now: DateTime<Utc>,
) -> Option<Vec<InvoiceRow>> {
    let list = match answer {
        Ok(response) => json::<InvoicesJson>(response).await.ok()?,
        Err(failure) => {
            tracing::warn!(code = %failure.code, "invoices not read");
            return None;
        }
    };
    Some(
        list.items
            .into_iter()
            .map(|i| {
                let (status, status_kind) = invoice_status(i.status.as_deref());
                InvoiceRow {
                    number: i.number.unwrap_or(i.id),
                    created: when(i.created, now),
                    status,
                    status_kind,
                    due: amount(&i.amount_due, &i.currency),
                    paid: amount(&i.amount_paid, &i.currency),
                    url: i.hosted_invoice_url,
                }
            })
            .collect(),
    )
}

/// `?checkout=`.
#[derive(Debug, Default, Deserialize)]
pub struct BillingQuery {
    checkout: Option<String>,
}

/// `GET /app/billing`.
#[handler]
pub async fn show(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    Query(q): Query<BillingQuery>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    let now = Utc::now();
    let read = match outcome(BillingApi.view(Data(&state), session).await).await {
        Ok(response) => json::<BillingJson>(response).await,
        Err(failure) => Err(failure),
    };
    let view = match read {
        Ok(view) => view,
        Err(failure) => {
            tracing::warn!(code = %failure.code, "billing not read");
            return error_page(&viewer, failure.status, None);
        }
    };
    let enabled = view.billing_enabled;
    let invoices = match viewer.session().filter(|_| enabled) {
        Some(session) => {
            let answer = BillingApi
                .invoices(
                    Data(&state),
                    session,
                    poem_openapi::param::Query(Some(crate::api::schema::Limit(INVOICES))),
                )
                .await;
            invoice_rows(outcome(answer).await, now).await
        }
        None => Some(Vec::new()),
    };

    let notice = match q.checkout.as_deref() {
        Some("success") => Some((
            true,
            "Checkout is complete",
            "Your plan changes as soon as Stripe confirms the payment, usually within a minute: reload this page to see it.",
        )),
        Some("cancel" | "canceled" | "cancelled") => Some((
            false,
            "Checkout was canceled",
            "Nothing was charged and your plan is unchanged.",
        )),
        _ => None,
    };
    let subscribed = matches!(view.status.as_str(), "trialing" | "active" | "past_due");
    page(&BillingPage {
        chrome: Chrome::new(&viewer, "Billing"),
        plan: sentence(&view.plan),
        status: status_label(&view.status),
        dates: dates(&view, now),
        usage: vec![
            usage(
                "bots",
                "Running bots",
                "running bot",
                view.usage.bots.unwrap_or(0),
                view.limits.bots,
            ),
            usage(
                "pairs",
                "Trading pairs",
                "trading pair",
                view.usage.pairs.unwrap_or(0),
                view.limits.pairs,
            ),
        ],
        enabled,
        subscribed,
        offers: if enabled && !subscribed {
            offers(&state, &view.plan)
        } else {
            Vec::new()
        },
        invoices,
        notice,
    })
}

/// The plan button's form.
#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    plan: String,
}

/// The portal button's form.
#[derive(Debug, Deserialize)]
pub struct PortalForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// Goes to the URL Stripe answered, or back to the page with the failure.
async fn to_stripe(req: &Request, jar: &CookieJar, answer: Result<Response, Failure>) -> Response {
    let url = match answer {
        Ok(response) => json::<UrlJson>(response).await.map(|u| u.url),
        Err(failure) => Err(failure),
    };
    match url {
        Ok(url) => redirect(req, &url),
        Err(failure) => {
            let text = if failure.code == "billing_disabled" {
                "Billing is not enabled on this server.".to_owned()
            } else {
                sentence(&failure.message)
            };
            flash(jar, "danger", &text);
            redirect(req, "/app/billing")
        }
    }
}

/// `POST /app/billing/checkout`: a Stripe Checkout page for the chosen plan.
#[handler]
pub async fn checkout(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    // The body a JSON client would send, read by the operation's own parser.
    let body = serde_json::json!({ "plan": form.plan });
    let answer = match ParseFromJSON::parse_from_json(Some(body)) {
        Ok(body) => outcome(BillingApi.checkout(Data(&state), session, Json(body)).await).await,
        Err(_) => Err(Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field".into(),
            message: "plan: choose one of the plans shown".into(),
        }),
    };
    to_stripe(req, jar, answer).await
}

/// `POST /app/billing/portal`: Stripe's billing portal (card, plan, cancellation, invoices).
#[handler]
pub async fn portal(
    req: &Request,
    viewer: Viewer,
    state: Data<&Arc<ApiState>>,
    jar: &CookieJar,
    Form(form): Form<PortalForm>,
) -> Response {
    let session = match session_of(&viewer, req) {
        Ok(session) => session,
        Err(answer) => return *answer,
    };
    if let Err(answer) = guard::csrf(&viewer, req, form.csrf.as_deref()) {
        return *answer;
    }
    let answer = outcome(BillingApi.portal(Data(&state), session).await).await;
    to_stripe(req, jar, answer).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn usage_reads_as_used_of_allowed() {
        let u = usage("bots", "Running bots", "running bot", 2, Some(3));
        assert_eq!(u.text, "2 of 3 running bots");
        assert!(!u.over);
        assert_eq!(
            usage("pairs", "Trading pairs", "trading pair", 1, Some(1)).text,
            "1 of 1 trading pair"
        );
        assert_eq!(
            usage("bots", "Running bots", "running bot", 1200, None).text,
            "1,200 running bots (no limit)"
        );
        assert!(usage("bots", "Running bots", "running bot", 4, Some(3)).over);
    }

    #[test]
    fn amounts_carry_their_currency() {
        assert_eq!(amount("29.00", "usd"), "29.00 USD");
        assert_eq!(amount("1234.5", "eur"), "1,234.50 EUR");
        assert_eq!(amount("x", "usd"), "x USD");
    }

    #[test]
    fn a_cancelled_subscription_ends_instead_of_renewing() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let view = |status: &str, cancel: bool| BillingJson {
            plan: "pro".into(),
            status: status.into(),
            trial_ends_at: Some(now + chrono::Duration::days(3)),
            current_period_end: Some(now + chrono::Duration::days(30)),
            cancel_at_period_end: cancel,
            grace_until: None,
            limits: Counts {
                bots: Some(25),
                pairs: Some(20),
            },
            usage: Counts {
                bots: Some(0),
                pairs: Some(0),
            },
            billing_enabled: true,
        };
        let labels = |v: &BillingJson| dates(v, now).iter().map(|d| d.label).collect::<Vec<_>>();
        assert_eq!(labels(&view("active", false)), vec!["Renews"]);
        assert_eq!(labels(&view("active", true)), vec!["Ends"]);
        assert_eq!(
            labels(&view("trialing", false)),
            vec!["Trial ends", "Renews"]
        );
        assert_eq!(status_label("none"), None);
        assert_eq!(
            status_label("past_due"),
            Some(("Payment failed", "warning"))
        );
    }
}
