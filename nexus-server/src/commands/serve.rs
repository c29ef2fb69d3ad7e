//! `nexus serve`: the HTTP server.

use std::process::ExitCode;

use crate::config::Config;
use crate::server;

/// Reads the configuration, binds and serves until Ctrl-C or SIGTERM.
pub async fn run() -> ExitCode {
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
    let upkeep = crate::maintenance::spawn(store.clone(), worker);

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
        store,
        email,
        crate::api::AuthSettings::new(config.public_url.clone()),
    )
    .with_plans(config.plans.clone())
    .with_trusted_proxies(config.trusted_proxies.clone());
    if let Some(oidc) = oidc {
        state = state.with_oidc(oidc);
    }
    let state = std::sync::Arc::new(state);
    let outcome = server::run(acceptor, state, shutdown_signal()).await;
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
