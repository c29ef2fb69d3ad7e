//! `/api/v1/me/alerts`: which alerts you get by email, and your webhook. Setting a new
//! webhook URL answers its signing secret, once; reading never shows it.

use std::sync::Arc;

use chrono::Utc;
use nexus_core::ports::alerts::{AlertEvent, AlertPreferences, EmailAlerts};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use super::auth::unavailable;
use super::bodies::Invalid;
use super::schema::{OneOf, Text, TextSchema, WHITESPACE};
use super::session::Session;
use super::{ApiState, ErrorBody};
use crate::alerts::{UrlError, WebhookPolicy};

#[derive(Tags)]
enum AlertsTag {
    /// Alert preferences: emails and a webhook.
    Alerts,
}

/// An event a webhook can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AlertEventName {
    /// An order of one of your bots filled, wholly or partly.
    Fills,
    /// The market-regime gate blocked an entry of one of your bots.
    GateBlocks,
    /// An order refused or failed, a position out of sync, a bot paused by Nexus.
    Errors,
}

impl From<AlertEvent> for AlertEventName {
    fn from(e: AlertEvent) -> Self {
        match e {
            AlertEvent::Fills => Self::Fills,
            AlertEvent::GateBlocks => Self::GateBlocks,
            AlertEvent::Errors => Self::Errors,
        }
    }
}

/// A webhook URL as it may be set: `https://` (`http://` too where the operator allows
/// it), or empty to remove the webhook.
pub struct WebhookUrl;

impl TextSchema for WebhookUrl {
    fn schema() -> MetaSchema {
        let w = WHITESPACE;
        MetaSchema {
            pattern: Some(format!("^[{w}]*(?:https://[^{w}]+[{w}]*)?$")),
            example: Some(serde_json::Value::from("https://example.com/nexus-alerts")),
            ..MetaSchema::ANY
        }
    }
}

/// Which alerts are emailed.
#[derive(Debug, Clone, Object)]
pub struct EmailPreferences {
    /// A fill of one of your bots' orders (default true).
    pub fills: bool,
    /// An entry the market-regime gate blocked (default false).
    pub gate_blocks: bool,
    /// An order refused or failed, a position out of sync, a bot paused by Nexus
    /// (default true).
    pub errors: bool,
    /// One summary per UTC day of your bots' orders, fills, P&L and skips (default false).
    pub daily_summary: bool,
}

/// Your webhook.
#[derive(Debug, Clone, Object)]
pub struct WebhookPreferences {
    /// Where alerts are posted (`https://`); null for none.
    #[oai(nullable)]
    pub url: Option<String>,
    /// Which events are posted (default fills, errors).
    pub events: Vec<AlertEventName>,
    /// The signing secret: only in the answer that set a new URL, never again. Alerts
    /// carry `X-Nexus-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
}

/// Your alert preferences.
#[derive(Debug, Clone, Object)]
pub struct AlertSettings {
    /// What is emailed.
    pub email: EmailPreferences,
    /// The webhook.
    pub webhook: WebhookPreferences,
}

/// `PUT /me/alerts`: what to change; fields left out keep their value.
#[derive(Debug, Clone, Object)]
#[oai(example = true)]
pub struct AlertChanges {
    /// Email preferences to change.
    #[oai(nullable)]
    pub email: Option<EmailChanges>,
    /// Webhook settings to change.
    #[oai(nullable)]
    pub webhook: Option<WebhookChanges>,
}

impl poem_openapi::types::Example for AlertChanges {
    fn example() -> Self {
        Self {
            email: Some(EmailChanges {
                fills: None,
                gate_blocks: Some(true),
                errors: None,
                daily_summary: None,
            }),
            webhook: Some(WebhookChanges {
                url: MaybeUndefined::Value(Text::new("https://example.com/nexus-alerts")),
                events: Some(vec![OneOf::new("fills"), OneOf::new("errors")]),
            }),
        }
    }
}

/// Email preferences to change.
#[derive(Debug, Clone, Object)]
pub struct EmailChanges {
    /// Fills.
    #[oai(nullable)]
    pub fills: Option<bool>,
    /// Entries the gate blocked.
    #[oai(nullable)]
    pub gate_blocks: Option<bool>,
    /// Refused or failed orders, bots paused by Nexus.
    #[oai(nullable)]
    pub errors: Option<bool>,
    /// The daily summary.
    #[oai(nullable)]
    pub daily_summary: Option<bool>,
}

/// Webhook settings to change.
#[derive(Debug, Clone, Object)]
pub struct WebhookChanges {
    /// A new URL (a new secret is made and answered once), or null or empty to remove the
    /// webhook. Left out: unchanged. It must not reach a private, loopback, link-local or
    /// unspecified address.
    #[oai(nullable)]
    pub url: MaybeUndefined<Text<WebhookUrl>>,
    /// The events to post, each listed once or more.
    #[oai(nullable)]
    pub events: Option<Vec<OneOf<AlertEventName>>>,
}

/// Answers of `GET /me/alerts`.
#[derive(ApiResponse)]
pub enum AlertsResponse {
    /// Your preferences.
    #[oai(status = 200)]
    Ok(Json<AlertSettings>),
    /// Not signed in.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Answers of `PUT /me/alerts`.
#[derive(ApiResponse)]
pub enum SetAlertsResponse {
    /// Saved; `webhook.secret` is there when a new URL was set.
    #[oai(status = 200)]
    Ok(Json<AlertSettings>),
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
    /// A value is invalid (`invalid_field`, the message starting with the field:
    /// `webhook.url: must be an https:// URL`, `webhook.events[1]: unknown alert event`),
    /// or the URL reaches a private network (`webhook_url_forbidden`).
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// The database is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn view(prefs: &AlertPreferences, secret: Option<String>) -> AlertSettings {
    AlertSettings {
        email: EmailPreferences {
            fills: prefs.email.fills,
            gate_blocks: prefs.email.gate_blocks,
            errors: prefs.email.errors,
            daily_summary: prefs.email.daily_summary,
        },
        webhook: WebhookPreferences {
            url: prefs.webhook_url.clone(),
            events: prefs.webhook_events.iter().map(|&e| e.into()).collect(),
            secret,
        },
    }
}

/// Applies `changes` to `current`, checking each value.
///
/// # Errors
/// [`Invalid`] naming the field.
pub fn apply(
    current: AlertPreferences,
    changes: AlertChanges,
    policy: WebhookPolicy,
) -> Result<AlertPreferences, Invalid> {
    let mut next = current;
    if let Some(email) = changes.email {
        let EmailAlerts {
            fills,
            gate_blocks,
            errors,
            daily_summary,
        } = next.email;
        next.email = EmailAlerts {
            fills: email.fills.unwrap_or(fills),
            gate_blocks: email.gate_blocks.unwrap_or(gate_blocks),
            errors: email.errors.unwrap_or(errors),
            daily_summary: email.daily_summary.unwrap_or(daily_summary),
        };
    }
    if let Some(webhook) = changes.webhook {
        if let Some(events) = webhook.events {
            let mut parsed = Vec::with_capacity(events.len());
            for (n, event) in events.iter().enumerate() {
                let event: AlertEvent = event
                    .as_str()
                    .trim()
                    .parse()
                    .map_err(|e| Invalid::field(&format!("webhook.events[{n}]"), e))?;
                parsed.push(event);
            }
            parsed.sort_unstable();
            parsed.dedup();
            next.webhook_events = parsed;
        }
        match webhook.url {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => next.webhook_url = None,
            MaybeUndefined::Value(url) if url.trim().is_empty() => next.webhook_url = None,
            MaybeUndefined::Value(url) => {
                next.webhook_url = Some(check_url(url.trim(), policy)?.to_string());
            }
        }
    }
    Ok(next)
}

fn check_url(url: &str, policy: WebhookPolicy) -> Result<reqwest::Url, Invalid> {
    policy.check(url).map_err(url_refused)
}

fn url_refused(e: UrlError) -> Invalid {
    match e {
        UrlError::Private(_) => Invalid::new(
            "webhook_url_forbidden",
            format!("webhook.url: {e}; alerts are not sent into private networks"),
        ),
        UrlError::Scheme => Invalid::field("webhook.url", e),
        other => Invalid::field("webhook.url", other),
    }
}

/// The alert endpoints.
pub struct AlertsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "AlertsTag::Alerts")]
impl AlertsApi {
    /// Your alert preferences. A webhook's secret is never shown here.
    #[oai(path = "/me/alerts", method = "get", operation_id = "get_alerts")]
    pub(crate) async fn get(&self, state: Data<&Arc<ApiState>>, auth: Session) -> AlertsResponse {
        match state.store.alert_preferences(auth.caller().user.id).await {
            Ok(prefs) => AlertsResponse::Ok(Json(view(&prefs, None))),
            Err(e) => AlertsResponse::Unavailable(unavailable(&e)),
        }
    }

    /// Changes your alert preferences. Setting a new webhook URL answers its signing
    /// secret in `webhook.secret`: store it, it is not shown again (set the URL again for a
    /// new one). The URL must be `https://` and must not reach a private, loopback or
    /// link-local address.
    #[oai(path = "/me/alerts", method = "put", operation_id = "set_alerts")]
    pub(crate) async fn put(
        &self,
        state: Data<&Arc<ApiState>>,
        auth: Session,
        body: Json<AlertChanges>,
    ) -> SetAlertsResponse {
        let user = auth.caller().user.id;
        let current = match state.store.alert_preferences(user).await {
            Ok(prefs) => prefs,
            Err(e) => return SetAlertsResponse::Unavailable(unavailable(&e)),
        };
        let changed_url = body
            .0
            .webhook
            .as_ref()
            .and_then(|w| w.url.value().map(|u| u.to_string()));
        let next = match apply(current.clone(), body.0, state.alert_webhooks) {
            Ok(next) => next,
            Err(e) => return SetAlertsResponse::Invalid(e.body()),
        };
        // A new host is resolved now too: a name pointing inward is refused at once (and
        // again at every delivery).
        if changed_url.is_some()
            && next.webhook_url != current.webhook_url
            && let Some(url) = &next.webhook_url
            && let Err(e @ UrlError::Private(_)) = state.alert_webhooks.resolve(url).await
        {
            return SetAlertsResponse::Invalid(url_refused(e).body());
        }
        match state
            .store
            .set_alert_preferences(user, &next, Utc::now())
            .await
        {
            Ok(secret) => {
                SetAlertsResponse::Ok(Json(view(&next, secret.map(|s| s.expose().to_owned()))))
            }
            Err(e) => SetAlertsResponse::Unavailable(unavailable(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(url: Option<Option<&str>>, events: Option<Vec<&str>>) -> AlertChanges {
        AlertChanges {
            email: None,
            webhook: Some(WebhookChanges {
                url: match url {
                    None => MaybeUndefined::Undefined,
                    Some(None) => MaybeUndefined::Null,
                    Some(Some(u)) => MaybeUndefined::Value(Text::new(u)),
                },
                events: events.map(|e| e.into_iter().map(OneOf::new).collect()),
            }),
        }
    }

    #[test]
    fn changes_are_checked_naming_the_field() {
        let strict = WebhookPolicy::default();
        let e = apply(
            AlertPreferences::default(),
            changes(None, Some(vec!["fills", "nope"])),
            strict,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_field");
        assert!(
            e.message.starts_with("webhook.events[1]: "),
            "{}",
            e.message
        );
        let e = apply(
            AlertPreferences::default(),
            changes(Some(Some("http://h.example.com/")), None),
            strict,
        )
        .unwrap_err();
        assert_eq!(e.message, "webhook.url: must be an https:// URL");
        let e = apply(
            AlertPreferences::default(),
            changes(Some(Some("https://10.0.0.1/")), None),
            strict,
        )
        .unwrap_err();
        assert_eq!(e.code, "webhook_url_forbidden");
        let ok = apply(
            AlertPreferences::default(),
            changes(
                Some(Some("https://h.example.com/x")),
                Some(vec!["errors", "gate_blocks", "errors"]),
            ),
            strict,
        )
        .unwrap();
        assert_eq!(ok.webhook_url.as_deref(), Some("https://h.example.com/x"));
        assert_eq!(
            ok.webhook_events,
            vec![AlertEvent::GateBlocks, AlertEvent::Errors]
        );
        assert_eq!(ok.email, EmailAlerts::default(), "left out, unchanged");
        let removed = apply(ok, changes(Some(None), None), strict).unwrap();
        assert_eq!(removed.webhook_url, None);
    }
}
