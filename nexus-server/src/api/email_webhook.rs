//! `POST /api/v1/email/webhook`: Resend's delivery reports, signed by Svix. Delivered,
//! bounced and complained are recorded on the email's log row; a hard bounce or a
//! complaint puts the address on the suppression list that later sends respect.

use std::sync::Arc;

use chrono::Utc;
use nexus_core::ports::emails::DeliveryReport;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::auth::{err, unavailable};
use super::raw_body::{RawJsonBody, Resend};
use super::{ApiState, ErrorBody};
use crate::email::svix::{self, DeliveryKind};

#[derive(Tags)]
enum EmailTag {
    /// Email delivery reports (Resend).
    Email,
}

/// What the webhook did with a report.
#[derive(Debug, Object)]
pub struct EmailWebhookAnswer {
    /// Always true: Resend need not deliver it again.
    pub received: bool,
    /// `recorded`, `unknown_email` (not an email of this server) or `ignored` (a type
    /// Nexus does not act on).
    pub outcome: String,
}

/// Answers of the webhook.
#[derive(ApiResponse)]
pub enum EmailWebhookResponse {
    /// Received.
    #[oai(status = 200)]
    Ok(Json<EmailWebhookAnswer>),
    /// Missing, malformed, stale or wrong Svix headers (`invalid_signature`), or a signed
    /// body that is not a Resend event (`invalid_event`): nothing changed; or a header that
    /// is not text (`bad_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No `NEXUS_RESEND_WEBHOOK_SECRET` on this server (`email_webhook_disabled`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database is down: Resend delivers it again.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The email endpoints.
pub struct EmailApi;

#[OpenApi(prefix_path = "/api/v1/email", tag = "EmailTag::Email")]
impl EmailApi {
    /// Resend's delivery reports (set this URL as a Resend webhook; its signing secret
    /// goes in `NEXUS_RESEND_WEBHOOK_SECRET`). The Svix headers are checked on the raw
    /// body, 5 minutes' tolerance.
    #[oai(path = "/webhook", method = "post", operation_id = "resend_webhook")]
    pub(crate) async fn webhook(
        &self,
        state: Data<&Arc<ApiState>>,
        /// The message id Svix gives each delivery.
        #[oai(name = "svix-id")]
        id: Header<Option<String>>,
        /// Unix seconds when it was signed.
        #[oai(name = "svix-timestamp")]
        timestamp: Header<Option<String>>,
        /// `v1,<base64>` signatures, space-separated.
        #[oai(name = "svix-signature")]
        signature: Header<Option<String>>,
        body: RawJsonBody<Resend>,
    ) -> EmailWebhookResponse {
        let Some(secret) = &state.resend_webhook_secret else {
            return EmailWebhookResponse::NotFound(err(
                "email_webhook_disabled",
                "no NEXUS_RESEND_WEBHOOK_SECRET on this server",
            ));
        };
        let now = Utc::now();
        if let Err(e) = svix::verify(
            id.0.as_deref(),
            timestamp.0.as_deref(),
            signature.0.as_deref(),
            &body.0,
            secret.expose(),
            now.timestamp(),
        ) {
            return EmailWebhookResponse::BadRequest(err("invalid_signature", e.to_string()));
        }
        let event = match svix::parse_event(&body.0) {
            Ok(event) => event,
            Err(e) => return EmailWebhookResponse::BadRequest(err("invalid_event", e.to_string())),
        };
        let answer = |outcome: &str| {
            EmailWebhookResponse::Ok(Json(EmailWebhookAnswer {
                received: true,
                outcome: outcome.to_owned(),
            }))
        };
        let report = match event.kind {
            DeliveryKind::Delivered => DeliveryReport::Delivered,
            DeliveryKind::Bounced { permanent } => DeliveryReport::Bounced { permanent },
            DeliveryKind::Complained => DeliveryReport::Complained,
            DeliveryKind::Failed => DeliveryReport::Failed,
            DeliveryKind::Suppressed => DeliveryReport::Suppressed,
            _ => return answer("ignored"),
        };
        match state
            .store
            .record_delivery(&event.email_id, report, event.detail.as_deref(), now)
            .await
        {
            Ok(Some(record)) => {
                if report != DeliveryReport::Delivered {
                    state.metrics.email(&record.template, record.state);
                }
                if matches!(
                    report,
                    DeliveryReport::Bounced { permanent: true } | DeliveryReport::Complained
                ) {
                    tracing::warn!(email = record.id, template = %record.template, ?report, "address suppressed");
                }
                answer("recorded")
            }
            Ok(None) => answer("unknown_email"),
            Err(e) => EmailWebhookResponse::Unavailable(unavailable(&e)),
        }
    }
}
