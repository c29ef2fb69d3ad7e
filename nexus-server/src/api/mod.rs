//! The HTTP API: one poem-openapi struct per tag, combined into one OpenAPI document served
//! at `/openapi.json` with an interactive UI at `/docs`. Every error is a JSON
//! [`ErrorBody`] with a stable `code`.

pub(crate) mod activity;
mod admin;
mod alerts;
mod auth;
mod billing;
pub mod bodies;
mod bots;
pub mod client_ip;
pub mod config_schema;
mod contract;
mod email_webhook;
mod error;
pub mod events;
mod headers;
mod health;
mod identity_link;
mod keys;
mod oauth;
mod raw_body;
pub mod schema;
pub mod session;
pub mod signals;
pub mod signature;

pub use activity::ActivityApi;
pub use admin::{AdminApi, RoleChange, RoleName};
pub use alerts::AlertsApi;
pub use auth::AuthApi;
pub use billing::BillingApi;
pub use bots::{
    Bot, BotAnswer, BotChanges, BotListResponse, BotResponse, BotsApi, CreateBotResponse,
    DeleteBotResponse, GetBotResponse, NewBot, STRATEGIES,
};
pub use email_webhook::EmailApi;
pub use error::ErrorBody;
pub use health::{Health, HealthApi};
pub use identity_link::IdentityLinkApi;
pub use keys::{Exchange, KeysApi};
pub use oauth::OAuthApi;
pub use signals::SignalsApi;

use std::sync::Arc;
use std::time::Duration;

use nexus_store::Store;
use poem::http::StatusCode;
use poem::middleware::CookieJarManager;
use poem::{Body, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;

use nexus_core::ports::NonceSource;
use nexus_exchanges::{MarketDataHub, PaperConfig, PaperVenue, Venues, VenuesConfig};

use crate::auth::limits::AuthLimits;
use crate::email::EmailSender;

/// The API's title in the OpenAPI document.
pub const TITLE: &str = "Nexus API";

/// The contract's semantic version, the OpenAPI document's `info.version` (not the
/// crate's): a new minor version adds, a new major version may break
/// (docs/clients.md#versioning). A test compares the document with the last released one
/// (docs/api-releases/) and fails on a breaking change this version does not announce.
pub const API_VERSION: &str = "1.1.0";

/// The largest request body accepted (64 KiB: every request of this API is small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest Stripe event accepted (an invoice with many lines is bigger than any
/// request of users).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// Where Stripe delivers events.
const WEBHOOK_PATH: &str = "/api/v1/billing/webhook";

/// Bodies announced up to this size are read (and dropped) before answering 413.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How accounts and sessions behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Where users reach the product: links in emails start with it.
    pub public_url: String,
    /// Send cookies only over HTTPS (on when `public_url` is `https://…`).
    pub secure_cookies: bool,
    /// How long a session lasts (7 days).
    pub session_ttl: Duration,
    /// How long an email-verification link works (24 h).
    pub verify_ttl: Duration,
    /// How long a password-reset link works (1 h).
    pub reset_ttl: Duration,
    /// How long a sign-in lasts at most, however often its session is refreshed (30 days).
    pub session_max_lifetime: Duration,
    /// How long a link confirming a Google sign-in's link to an existing account works
    /// (1 h by email; a quarter of it for the browser's own token, which needs the
    /// password too).
    pub link_ttl: Duration,
}

impl AuthSettings {
    /// The documented lifetimes, with links to `public_url`.
    #[must_use]
    pub fn new(public_url: impl Into<String>) -> Self {
        let public_url = public_url.into();
        Self {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            verify_ttl: Duration::from_secs(24 * 3600),
            reset_ttl: Duration::from_secs(3600),
            session_max_lifetime: Duration::from_secs(30 * 24 * 3600),
            link_ttl: Duration::from_secs(3600),
        }
    }
}

/// What the API's operations share.
pub struct ApiState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Where account emails go.
    pub email: Arc<dyn EmailSender>,
    /// Lifetimes and links.
    pub settings: AuthSettings,
    /// Request limits of the account endpoints per client address, and of the emails
    /// sent to one address.
    pub limits: AuthLimits,
    /// Failed sign-ins per address, account and device.
    pub failures: crate::auth::failures::SignInFailures,
    /// The cap on concurrent password hashing.
    pub hashing: Arc<crate::auth::hashing::HashingSlots>,
    /// Device cookies (signed with a key derived from the master key).
    pub devices: crate::auth::device::DeviceCookies,
    /// The exchange adapters (checking keys); `None` if they could not be built.
    pub venues: Option<Arc<Venues>>,
    /// The engine's market-data hub (cached prices and candles the pages show); `None`
    /// without an engine: pages then show no prices.
    pub hub: Option<Arc<MarketDataHub>>,
    /// Plans and their limits.
    pub plans: nexus_core::billing::Plans,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client_ip::TrustedProxies,
    /// The process's metrics, served at `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Sign-in with Google; `None` when not configured (its endpoints answer 404).
    pub oidc: Option<Arc<crate::auth::oidc::GoogleOidc>>,
    /// Outside signal sources (`POST /api/v1/signals`).
    pub signal_sources: signals::SignalSources,
    /// Whether the body-only `X-Nexus-Signature: sha256=…` of earlier releases is still
    /// accepted (`NEXUS_SIGNALS_LEGACY_SIGNATURE=1`; off by default: it can be replayed).
    pub legacy_signatures: bool,
    /// Billing with Stripe; `None` when off (its endpoints answer 404 `billing_disabled`).
    pub billing: Option<Arc<crate::billing::Billing>>,
    /// Resend's webhook signing secret; `None`: its endpoint answers 404.
    pub resend_webhook_secret: Option<nexus_core::Secret>,
    /// Which alert webhook URLs users may set.
    pub alert_webhooks: crate::alerts::WebhookPolicy,
    /// The bearer token `/metrics` requires (`NEXUS_METRICS_TOKEN`); `None`: open.
    pub metrics_token: Option<nexus_core::Secret>,
    /// Live events: published by the API's own changes, streamed by `GET /events`.
    pub events: Arc<crate::events::Events>,
    /// Event streams' session checks and keep-alives.
    pub event_timing: events::StreamTiming,
}

impl ApiState {
    /// The state over `store`, sending email with `email`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, email: Arc<dyn EmailSender>, settings: AuthSettings) -> Self {
        let nonces: Arc<dyn NonceSource> = Arc::clone(&store) as Arc<dyn NonceSource>;
        let venues = Venues::new(
            VenuesConfig::default(),
            Some(nonces),
            PaperVenue::new(PaperConfig::default()),
        )
        .map_err(|e| tracing::error!(error = %e, "exchange adapters unavailable"))
        .ok()
        .map(Arc::new);
        let devices = crate::auth::device::DeviceCookies::new(
            store.derive_key(crate::auth::device::KEY_LABEL),
        );
        Self {
            store,
            email,
            settings,
            limits: AuthLimits::default(),
            failures: crate::auth::failures::SignInFailures::default(),
            hashing: Arc::new(crate::auth::hashing::HashingSlots::per_core()),
            devices,
            venues,
            hub: None,
            plans: nexus_core::billing::Plans::default(),
            trusted_proxies: client_ip::TrustedProxies::default(),
            metrics: Arc::new(crate::metrics::Metrics::default()),
            oidc: None,
            signal_sources: signals::SignalSources::default(),
            legacy_signatures: false,
            billing: None,
            resend_webhook_secret: None,
            metrics_token: None,
            alert_webhooks: crate::alerts::WebhookPolicy::default(),
            events: crate::events::Events::local(crate::events::DEFAULT_BUFFER),
            event_timing: events::StreamTiming::default(),
        }
    }

    /// The same state believing `X-Forwarded-For` from `proxies`.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: client_ip::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// The same state accepting outside signals from `sources`.
    #[must_use]
    pub fn with_signal_sources(mut self, sources: signals::SignalSources) -> Self {
        self.signal_sources = sources;
        self
    }

    /// The same state accepting (or not) the body-only signature of earlier releases.
    #[must_use]
    pub fn with_legacy_signatures(mut self, on: bool) -> Self {
        self.legacy_signatures = on;
        self
    }

    /// The same state with billing on.
    #[must_use]
    pub fn with_billing(mut self, billing: Arc<crate::billing::Billing>) -> Self {
        self.billing = Some(billing);
        self
    }

    /// The same state allowing the alert webhook URLs `policy` allows.
    #[must_use]
    pub fn with_alert_webhooks(mut self, policy: crate::alerts::WebhookPolicy) -> Self {
        self.alert_webhooks = policy;
        self
    }

    /// The same state with other plans.
    #[must_use]
    pub fn with_plans(mut self, plans: nexus_core::billing::Plans) -> Self {
        self.plans = plans;
        self
    }

    /// The same state with other exchange adapters (other base URLs, a shared Paper
    /// venue).
    #[must_use]
    pub fn with_venues(mut self, venues: Arc<Venues>) -> Self {
        self.venues = Some(venues);
        self
    }

    /// The same state reading prices and candles through `hub` (the engine's).
    #[must_use]
    pub fn with_hub(mut self, hub: Arc<MarketDataHub>) -> Self {
        self.hub = Some(hub);
        self
    }

    /// The same state publishing and streaming live events through `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<crate::events::Events>) -> Self {
        self.events = events;
        self
    }
}

/// Every API of the server, by tag, with what every operation answers besides its
/// handler's answers ([`contract`]).
pub type Apis = contract::Documented<(
    HealthApi,
    AuthApi,
    OAuthApi,
    IdentityLinkApi,
    KeysApi,
    BotsApi,
    ActivityApi,
    events::EventsApi,
    SignalsApi,
    BillingApi,
    EmailApi,
    AlertsApi,
    AdminApi,
)>;

/// Every API of the server; `store` is `None` only to print the document.
fn apis(store: Option<Arc<dyn Store>>) -> Apis {
    contract::Documented((
        HealthApi::new(store),
        AuthApi,
        OAuthApi,
        IdentityLinkApi,
        KeysApi,
        BotsApi,
        ActivityApi,
        events::EventsApi,
        SignalsApi,
        BillingApi,
        EmailApi,
        AlertsApi,
        AdminApi,
    ))
}

/// The OpenAPI service holding every operation. `store` is `None` only to print the
/// document (readiness then reports no database).
#[must_use]
pub fn service(store: Option<Arc<dyn Store>>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(store), TITLE, API_VERSION)
        .description(
            "The Nexus reference server: a multi-user trading engine. Errors are JSON \
         objects with a stable `code` and a human-readable `message`. Sign in with \
         `POST /api/v1/auth/login` and send the token as `Authorization: Bearer <token>`; \
         browsers get it as an HttpOnly cookie and repeat the `nexus_csrf` cookie in an \
         `X-CSRF-Token` header on requests that change something.",
        )
        .server("/")
}

/// The OpenAPI document as pretty JSON (what `/openapi.json` serves).
#[must_use]
pub fn spec_json() -> String {
    contract::canonical(&service(None).spec())
}

/// The whole HTTP application over `state`.
pub fn app(state: Arc<ApiState>) -> impl Endpoint {
    let api = service(Some(Arc::clone(&state.store)));
    // The document as printed (spec_json), served and shown by Swagger UI.
    let raw = api.spec();
    let document = contract::canonical(&raw);
    let docs = {
        let html = api.swagger_ui_html().replace(&raw, &document);
        Route::new().at(
            "/",
            poem::endpoint::make_sync(move |_| poem::web::Html(html.clone())),
        )
    };
    let spec = poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(document.clone())
    });
    let metrics = Arc::clone(&state.metrics);
    let https = state.settings.public_url.starts_with("https://");
    let scrape = {
        let state = Arc::clone(&state);
        poem::endpoint::make(move |req: Request| {
            let state = Arc::clone(&state);
            async move {
                if let Some(token) = &state.metrics_token {
                    let given = req
                        .header("authorization")
                        .and_then(|a| a.strip_prefix("Bearer "))
                        .unwrap_or_default();
                    if !session::constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
                        return poem::web::Json(ErrorBody::new(
                            "unauthorized",
                            "/metrics needs Authorization: Bearer <NEXUS_METRICS_TOKEN>",
                        ))
                        .with_status(StatusCode::UNAUTHORIZED)
                        .into_response();
                    }
                }
                Response::builder()
                    .content_type("text/plain; version=0.0.4; charset=utf-8")
                    .body(state.metrics.render(Some(&state.store)).await)
            }
        })
    };
    // The operations live under /api/ but for the probes; the rest of the paths are the
    // web app's (a nest at "/" would take "/" itself from the landing page).
    let operations = Arc::new(api.into_endpoint().around(contract::allow_methods));
    let routes = Route::new()
        .nest_no_strip("/api", Arc::clone(&operations))
        .at("/healthz", Arc::clone(&operations))
        .at("/readyz", operations)
        .at("/openapi.json", spec)
        .at("/metrics", scrape)
        .nest("/docs", docs);
    crate::web::mount(routes)
        .around(signature::verify_signature)
        .around(limit_body)
        .around(crate::web::friendly_errors)
        .with(CookieJarManager::new())
        .data(state)
        .catch_all_error(error::into_response)
        .around(move |next, req| headers::security_headers(next, req, https))
        .around(move |next, req| trace_request(next, req, Arc::clone(&metrics)))
}

/// Refuses bodies over [`MAX_BODY_BYTES`] ([`MAX_WEBHOOK_BYTES`] for Stripe's events) with 413, whether announced by
/// `Content-Length` or streamed without one, over HTTP/1.1 or HTTP/2 (poem's `SizeLimit`
/// would refuse every request without a `Content-Length`, GETs included).
async fn limit_body<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let limit = if req.uri().path() == WEBHOOK_PATH {
        MAX_WEBHOOK_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let too_large = || {
        poem::Error::from_string(
            format!(
                "the request body is too large (at most {} KiB)",
                limit / 1024
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    match req
        .header("content-length")
        .map(|v| v.trim().parse::<usize>())
    {
        Some(Ok(len)) if len > limit => {
            // A modest body is read and dropped first, so the client finishes sending and
            // reads the 413 instead of a reset connection (a lingering close); a huge one
            // is not worth reading.
            if len <= DRAIN_LIMIT {
                let _ = req.take_body().into_bytes_limit(DRAIN_LIMIT).await;
            }
            return Err(too_large());
        }
        Some(Ok(_)) => {}
        Some(Err(_)) => {
            return Err(poem::Error::from_string(
                "Content-Length is not a number",
                StatusCode::BAD_REQUEST,
            ));
        }
        // No length announced (chunked HTTP/1.1, or HTTP/2 which needs neither header):
        // read at most the limit before anything parses it.
        None => {
            let bytes = req
                .take_body()
                .into_bytes_limit(limit)
                .await
                .map_err(|_| too_large())?;
            req.set_body(Body::from_bytes(bytes));
        }
    }
    Ok(next.call(req).await?.into_response())
}

/// One span per request (request id, method, path, and the user id once known), a log
/// line when it ends, and the id in the `X-Request-Id` response header. A caller's own
/// `X-Request-Id` (up to 64 of `A-Za-z0-9-_`) is kept so logs join across services. The
/// query string is never logged: it may carry one-time tokens.
async fn trace_request<E: Endpoint>(
    next: Arc<E>,
    req: Request,
    metrics: Arc<crate::metrics::Metrics>,
) -> poem::Result<Response> {
    use tracing::Instrument;
    let id = req
        .header("x-request-id")
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        user_id = tracing::field::Empty,
    );
    async move {
        let started = std::time::Instant::now();
        let mut response = match next.call(req).await {
            Ok(response) => response.into_response(),
            Err(e) => e.into_response(),
        };
        if let Ok(value) = id.parse() {
            response.headers_mut().insert("x-request-id", value);
        }
        let status = response.status().as_u16();
        metrics.http(&method, status, started.elapsed());
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request");
        }
        Ok(response)
    }
    .instrument(span)
    .await
}
