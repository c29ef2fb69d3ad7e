//! A JSON request body kept as its raw bytes, for webhooks whose signature covers them.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};

/// Whose events a [`RawJsonBody`] carries: what the document says of them.
pub trait Provider: Send + 'static {
    /// The body's description.
    const DESCRIPTION: &'static str;
    /// An event, as an example.
    fn example() -> serde_json::Value;
}

/// Stripe's events.
pub struct Stripe;

impl Provider for Stripe {
    const DESCRIPTION: &'static str = "A Stripe event object, exactly as Stripe sends it.";

    fn example() -> serde_json::Value {
        serde_json::json!({
            "id": "evt_1QdZ8cA1b2C3d4E5",
            "object": "event",
            "type": "invoice.paid",
            "created": 1_767_225_600,
            "data": {"object": {"id": "in_1QdZ8bA1b2C3d4E5", "object": "invoice",
                                "customer": "cus_RbCdEfGhIjKl", "subscription": "sub_1QdZ7aA1b2C3d4E5"}}
        })
    }
}

/// Resend's delivery reports.
pub struct Resend;

impl Provider for Resend {
    const DESCRIPTION: &'static str =
        "A Resend webhook event object, exactly as Resend (through Svix) sends it.";

    fn example() -> serde_json::Value {
        serde_json::json!({
            "type": "email.delivered",
            "created_at": "2026-01-01T00:00:00.000Z",
            "data": {"email_id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
                     "to": ["ann@example.com"], "subject": "Nexus: confirm your address"}
        })
    }
}

/// A provider's event (Stripe's, Resend's) as raw JSON bytes: its signature is over
/// these exact bytes, so it is read before any parsing.
pub struct RawJsonBody<P>(pub Vec<u8>, PhantomData<P>);

impl<P: Provider> Payload for RawJsonBody<P> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        <Json<serde_json::Value> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(P::DESCRIPTION),
            example: Some(P::example()),
            ..MetaSchema::new("object")
        }))
    }
}

impl<P: Provider> ParsePayload for RawJsonBody<P> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(
            <Vec<u8> as poem::FromRequest>::from_request(request, body).await?,
            PhantomData,
        ))
    }
}

impl_apirequest_for_payload!(RawJsonBody<P>, P: Provider);
