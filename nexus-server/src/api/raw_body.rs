//! A JSON request body kept as its raw bytes, for webhooks whose signature covers them.

use poem::{Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};

/// A provider's event (Stripe's, Resend's) as raw JSON bytes: its signature is over
/// these exact bytes, so it is read before any parsing.
pub struct RawJsonBody(pub Vec<u8>);

impl Payload for RawJsonBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        <Json<serde_json::Value> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("The provider's event object, exactly as it sends it."),
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for RawJsonBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(
            <Vec<u8> as poem::FromRequest>::from_request(request, body).await?,
        ))
    }
}

impl_apirequest_for_payload!(RawJsonBody);
