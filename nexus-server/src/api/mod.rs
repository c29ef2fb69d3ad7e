//! The HTTP API: one poem-openapi struct per tag, combined into one OpenAPI document served
//! at `/openapi.json` with an interactive UI at `/docs`. Every error is a JSON
//! [`ErrorBody`] with a stable `code`.

mod error;
mod health;

pub use error::ErrorBody;
pub use health::{Health, HealthApi};

use std::sync::Arc;

use nexus_store::Store;
use poem::middleware::Tracing;
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

/// The API's title in the OpenAPI document.
pub const TITLE: &str = "Nexus API";

/// The OpenAPI service holding every operation. `store` is `None` only to print the
/// document (readiness then reports no database).
#[must_use]
pub fn service(store: Option<Arc<dyn Store>>) -> OpenApiService<HealthApi, ()> {
    OpenApiService::new(HealthApi::new(store), TITLE, env!("CARGO_PKG_VERSION"))
        .description(
            "The Nexus reference server: a multi-user trading engine. Errors are JSON \
             objects with a stable `code` and a human-readable `message`.",
        )
        .server("/")
}

/// The OpenAPI document as pretty JSON (what `/openapi.json` serves).
#[must_use]
pub fn spec_json() -> String {
    service(None).spec()
}

/// The whole HTTP application over `store`.
pub fn app(store: Arc<dyn Store>) -> impl Endpoint {
    let api = service(Some(store));
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .nest("/", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .catch_all_error(error::into_response)
        .with(Tracing)
}
