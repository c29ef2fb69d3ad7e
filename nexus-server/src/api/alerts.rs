//! `/api/v1/me/alerts`: which alerts you get by email, and your webhook. Setting a new
//! webhook URL answers its signing secret, once; reading never shows it.

use std::sync::Arc;

use chrono::Utc;
use nexus_core::ports::alerts::{AlertEvent, AlertPreferences, EmailAlerts};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::auth::unavailable;
use super::bodies::Invalid;
use super::session::Session;
use super::{ApiState, ErrorBody};
use crate::alerts::{UrlError, WebhookPolicy};

#[derive(Tags)]
enum AlertsTag {
    /// Alert preferences: emails and a webhook.
    Alerts,
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
    pub url: Option<String>,
    /// Which events are posted: `fills`, `gate_blocks`, `errors` (default fills, errors).
    pub events: Vec<String>,
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
pub struct AlertChanges {
    /// Email preferences to change.
    pub email: Option<EmailChanges>,
    /// Webhook settings to change.
    pub webhook: Option<WebhookChanges>,
}

/// Email preferences to change.
#[derive(Debug, Clone, Object)]
pub struct EmailChanges {
    /// Fills.
    pub fills: Option<bool>,
    /// Entries the gate blocked.
    pub gate_blocks: Option<bool>,
    /// Refused or failed orders, bots paused by Nexus.
    pub errors: Option<bool>,
    /// The daily summary.
    pub daily_summary: Option<bool>,
}

/// Webhook settings to change.
#[derive(Debug, Clone, Object)]
pub struct WebhookChanges {
    /// A new URL (a new secret is made and answered once), or null to remove the webhook.
    /// Left out: unchanged.
    pub url: MaybeUndefined<String>,
    /// The events to post.
    pub events: Option<Vec<String>>,
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
    /// Malformed JSON.
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
            events: prefs
                .webhook_events
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
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
        let changed_url = body.0.webhook.as_ref().and_then(|w| w.url.value().cloned());
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
                    Some(Some(u)) => MaybeUndefined::Value(u.to_owned()),
                },
                events: events.map(|e| e.into_iter().map(str::to_owned).collect()),
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
