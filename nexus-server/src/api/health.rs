//! Liveness and readiness probes, for load balancers and orchestrators.

use std::sync::Arc;

use nexus_store::Store;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::ErrorBody;

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

#[derive(ApiResponse)]
enum ReadyResponse {
    /// The server and its database answer.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database does not answer (`database_unavailable`) or lacks migrations this build
    /// needs (`migrations_pending`): take this instance out of rotation until it is ready.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The probe endpoints.
pub struct HealthApi {
    store: Option<Arc<dyn Store>>,
}

impl HealthApi {
    /// Probes over `store`.
    #[must_use]
    pub fn new(store: Option<Arc<dyn Store>>) -> Self {
        Self { store }
    }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process is up and serving HTTP.
    #[oai(path = "/healthz", method = "get", operation_id = "health")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health::ok()))
    }

    /// Readiness: the server can take traffic (its database answers and has every
    /// migration applied).
    #[oai(path = "/readyz", method = "get", operation_id = "ready")]
    async fn readyz(&self) -> ReadyResponse {
        let unavailable = |message: String| {
            ReadyResponse::Unavailable(Json(ErrorBody::new("database_unavailable", message)))
        };
        match &self.store {
            None => unavailable("no database is configured".to_owned()),
            Some(store) => match store.ping().await {
                Ok(()) => ReadyResponse::Ok(Json(Health::ok())),
                Err(err) if err.to_string().contains("migrations pending") => {
                    tracing::warn!(error = %err, "readiness check failed");
                    ReadyResponse::Unavailable(Json(ErrorBody::new(
                        "migrations_pending",
                        "database migrations are pending: run `nexus migrate`",
                    )))
                }
                Err(err) => {
                    tracing::warn!(error = %err, "readiness check failed");
                    unavailable(format!("the {} database does not answer", store.backend()))
                }
            },
        }
    }
}
