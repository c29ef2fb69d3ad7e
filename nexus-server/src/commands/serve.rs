//! `nexus serve`: the HTTP server.

use std::process::ExitCode;

use crate::config::Config;
use crate::server;

/// Reads the configuration, starts the engine, binds and serves until Ctrl-C or SIGTERM.
/// With `demo`, also creates a demo admin with a few Paper bots and prints how to sign in.
pub async fn run(demo: bool) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("nexus: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    crate::config::init_logging(&config);
    let oidc = match config.google() {
        None => None,
        Some(google) => match crate::auth::oidc::GoogleOidc::new(google, &config.public_url) {
            Ok(oidc) => {
                tracing::info!(
                    redirect_url = oidc.redirect_url(),
                    "sign-in with Google is on (register this redirect URL with Google)"
                );
                Some(std::sync::Arc::new(oidc))
            }
            Err(err) => {
                eprintln!("nexus: invalid configuration: {err}");
                return ExitCode::from(2);
            }
        },
    };

    let store = match crate::store::open_store(&config).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("nexus: {err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(backend = store.backend(), "database ready");
    let worker = format!("{}-{}", hostname(), std::process::id());
    let upkeep = crate::maintenance::spawn(store.clone(), worker.clone());

    let acceptor = match server::bind(config.bind).await {
        Ok(acceptor) => acceptor,
        Err(err) => {
            eprintln!(
                "nexus: cannot listen on {} (NEXUS_BIND): {err}",
                config.bind
            );
            return ExitCode::FAILURE;
        }
    };
    let email: std::sync::Arc<dyn crate::email::EmailSender> = match &config.email_outbox {
        Some(dir) => {
            tracing::info!(outbox = %dir.display(), "emails are written to the outbox");
            std::sync::Arc::new(crate::email::Outbox::new(dir))
        }
        None => {
            // Outside development, logs must not hold working one-time links.
            let redact_tokens = !config.public_url.starts_with("http://");
            if redact_tokens {
                tracing::warn!(
                    "no email provider or NEXUS_EMAIL_OUTBOX: account emails are only logged, with their links hidden"
                );
            }
            std::sync::Arc::new(crate::email::LogSender { redact_tokens })
        }
    };
    let mut state = crate::api::ApiState::new(
        std::sync::Arc::clone(&store),
        std::sync::Arc::clone(&email),
        crate::api::AuthSettings::new(config.public_url.clone()),
    )
    .with_plans(config.plans.clone())
    .with_trusted_proxies(config.trusted_proxies.clone())
    .with_signal_sources(config.signal_sources.clone());
    if let Some(oidc) = oidc {
        state = state.with_oidc(oidc);
    }
    let engine = match crate::engine::start(
        &config.engine,
        std::sync::Arc::clone(&store),
        std::sync::Arc::clone(&state.metrics),
        email,
        &worker,
    ) {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("nexus: the engine cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    let state = std::sync::Arc::new(state.with_venues(std::sync::Arc::clone(&engine.venues)));
    if demo {
        match super::demo::create(store.as_ref(), &config.public_url).await {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("nexus: the demo could not be set up: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let outcome = server::run(acceptor, state, shutdown_signal()).await;
    engine.shutdown().await;
    upkeep.abort();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nexus: server failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// This machine's name, for job-queue worker ids (several instances share one queue).
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "nexus".to_owned())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
