//! One running Nexus instance: the API and the engine over one store, started and stopped
//! as a unit. `nexus serve`, `nexus-loadtest` (in process) and the end-to-end tests all
//! start it this way.

use std::sync::Arc;

use nexus_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::auth::oidc::GoogleOidc;
use crate::config::Config;
use crate::email::EmailSender;
use crate::engine::{self, Engine};
use crate::server;

/// A running instance.
pub struct Instance {
    /// Where its API answers (`http://ADDR`).
    pub url: String,
    /// The API's state (store, metrics, venues).
    pub state: Arc<ApiState>,
    /// The engine.
    pub engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    upkeep: JoinHandle<()>,
    billing_jobs: JoinHandle<()>,
    email_delivery: JoinHandle<()>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// This machine's name and process id: the instance's name in the job queue (several
/// instances share one queue).
#[must_use]
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "nexus".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Binds `config.bind`, starts the engine and serves the API over `store`. Every email is
/// queued, then sent by a delivery task through Resend when `NEXUS_RESEND_API_KEY` is set,
/// else through `email` (the development outbox, or the log).
///
/// # Errors
/// A message naming what could not start.
pub async fn launch(
    config: &Config,
    store: Arc<dyn Store>,
    email: Arc<dyn EmailSender>,
    oidc: Option<Arc<GoogleOidc>>,
) -> Result<Instance, String> {
    let worker = worker_name();
    let acceptor = server::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {} (NEXUS_BIND): {e}", config.bind))?;
    let addr = poem::listener::Acceptor::local_addr(&acceptor)
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or("the listener has no address")?;
    let mut state = ApiState::new(
        Arc::clone(&store),
        Arc::clone(&email),
        api::AuthSettings::new(config.public_url.clone()),
    )
    .with_plans(config.plans.clone())
    .with_trusted_proxies(config.trusted_proxies.clone())
    .with_signal_sources(config.signal_sources.clone())
    .with_legacy_signatures(config.signals_legacy_signature)
    .with_alert_webhooks(config.alert_webhooks);
    if config.signals_legacy_signature {
        tracing::warn!(
            "outside signals signed the old body-only way (sha256=) are accepted \
             (NEXUS_SIGNALS_LEGACY_SIGNATURE=1): they can be replayed; this goes away next release"
        );
    }
    if !config.auth_rate_limits {
        tracing::warn!(
            "sign-in rate limits are off (NEXUS_AUTH_RATE_LIMITS=off): for load tests only"
        );
        state.limits = crate::auth::limits::AuthLimits::unlimited();
        state.failures = crate::auth::failures::SignInFailures::unlimited();
    }
    if let Some(oidc) = oidc {
        state = state.with_oidc(oidc);
    }
    // Every email is a job: requests and the engine queue it, the delivery task sends it.
    let transport = crate::email::delivery::transport(&config.email, Arc::clone(&email))
        .map_err(|e| format!("email cannot start: {e}"))?;
    let email: Arc<dyn EmailSender> = Arc::new(crate::email::delivery::QueuedSender::new(
        Arc::clone(&store),
        Arc::clone(&state.metrics),
    ));
    state.email = Arc::clone(&email);
    state.resend_webhook_secret = config.email.webhook_secret.clone();
    state.metrics_token = config.metrics_token.clone();
    state.event_timing = config.event_timing;
    let email_delivery = tokio::spawn(
        crate::email::delivery::EmailDelivery {
            store: Arc::clone(&store),
            transport,
            settings: config.email.clone(),
            metrics: Arc::clone(&state.metrics),
        }
        .run(format!("{worker}-email")),
    );
    let events = crate::events::Events::start(
        store.as_ref(),
        config.event_buffer,
        Arc::clone(&state.metrics),
    );
    if let Some(settings) = &config.billing {
        let billing = crate::billing::Billing::new(
            settings.clone(),
            Arc::clone(&store),
            config.plans.clone(),
            &config.public_url,
        )
        .map_err(|e| format!("billing cannot start: {e}"))?
        .with_events(Arc::clone(&events));
        tracing::info!(
            api = %settings.api_base,
            trial_days = settings.trial_days,
            grace = %nexus_core::durations::format(settings.grace),
            "billing on (Stripe)"
        );
        state = state.with_billing(Arc::new(billing));
    }
    // Emails about plans and grace-period checks, whether billing is on or not (jobs
    // left by an earlier run still run).
    let billing_jobs = tokio::spawn(
        crate::billing::jobs::BillingJobs {
            store: Arc::clone(&store),
            email: Arc::clone(&email),
            public_url: config.public_url.clone(),
            plans: config.plans.clone(),
            grace: config
                .billing
                .as_ref()
                .map_or(crate::billing::settings::DEFAULT_GRACE, |b| b.grace),
            events: Some(Arc::clone(&events)),
        }
        .run_until(format!("{worker}-billing")),
    );
    let engine = engine::start(
        &config.engine,
        Arc::clone(&store),
        Arc::clone(&state.metrics),
        email,
        Arc::clone(&events),
        &worker,
    )
    .map_err(|e| format!("the engine cannot start: {e}"))?;
    if config.engine.enabled {
        tracing::info!(
            paper_symbols = ?config.engine.paper.symbols,
            candle_every_ms = config.engine.paper.candle_every.as_millis(),
            workers = config.engine.workers,
            "engine running: simulated Paper market, scheduler election, trade workers"
        );
    } else {
        tracing::info!("engine off (NEXUS_ENGINE=off): this instance only serves the API");
    }
    let state = Arc::new(
        state
            .with_venues(Arc::clone(&engine.venues))
            .with_hub(Arc::clone(&engine.hub))
            .with_events(events),
    );
    let upkeep = crate::maintenance::spawn(Arc::clone(&store), worker);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::run(acceptor, Arc::clone(&state), async move {
        let _ = stopped.await;
    }));
    Ok(Instance {
        url: format!("http://{addr}"),
        state,
        engine,
        stop: Some(stop),
        server,
        upkeep,
        billing_jobs,
        email_delivery,
    })
}

impl Instance {
    /// Serves until `shutdown` resolves (or the server fails), then stops.
    ///
    /// # Errors
    /// When the server failed.
    pub async fn serve_until(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let failed = tokio::select! {
            () = shutdown => None,
            outcome = &mut self.server => Some(outcome),
        };
        match failed {
            None => self.stop().await,
            Some(outcome) => {
                self.state.events.close();
                self.engine.shutdown().await;
                self.upkeep.abort();
                self.billing_jobs.abort();
                self.email_delivery.abort();
                outcome.map_err(std::io::Error::other)?
            }
        }
    }

    /// Lets in-flight requests finish, then stops the engine (each worker finishes its
    /// job) and the upkeep.
    ///
    /// # Errors
    /// When the server failed.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Open event streams would otherwise hold the graceful shutdown to its limit.
        self.state.events.close();
        let outcome = (&mut self.server).await.map_err(std::io::Error::other);
        self.engine.shutdown().await;
        self.upkeep.abort();
        self.billing_jobs.abort();
        self.email_delivery.abort();
        outcome?
    }
}
