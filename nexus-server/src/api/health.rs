//! Liveness and readiness probes, for load balancers and orchestrators.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum ApiTags {
    /// Probes for load balancers and orchestrators.
    Health,
}

/// The server's state.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct Health {
    /// `ok` when the check passed.
    pub status: String,
    /// The server's version.
    pub version: String,
}

impl Health {
    fn ok() -> Self {
        Self {
            status: "ok".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The check passed.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

/// The probe endpoints.
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process is up and serving HTTP.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health::ok()))
    }

    /// Readiness: the server can take traffic.
    #[oai(path = "/readyz", method = "get", operation_id = "ready")]
    async fn readyz(&self) -> HealthResponse {
        // Nothing to wait for yet; the store and scheduler checks join here when they land.
        HealthResponse::Ok(Json(Health::ok()))
    }
}
