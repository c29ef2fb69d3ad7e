//! `nexus serve`: the HTTP server.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

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
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log))
        .init();

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
    match server::run(acceptor, shutdown_signal()).await {
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
