//! `nexus serve`: the HTTP server.

use std::process::ExitCode;

use crate::config::Config;

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
    let instance =
        match crate::instance::launch(&config, std::sync::Arc::clone(&store), email, oidc).await {
            Ok(instance) => instance,
            Err(err) => {
                eprintln!("nexus: {err}");
                return ExitCode::FAILURE;
            }
        };
    // Printed (not only logged) so scripts and tests can find a port-0 server.
    println!("nexus: listening on {}", instance.url);
    if demo {
        match super::demo::create(store.as_ref(), &config.public_url).await {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("nexus: the demo could not be set up: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    match instance.serve_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nexus: server failed: {err}");
            ExitCode::FAILURE
        }
    }
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
