//! Binding and running the HTTP server.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use poem::Server;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use crate::api;

/// How long in-flight requests get to finish after a shutdown signal.
const GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Binds the listen address. Port 0 picks a free port; the acceptor knows which.
///
/// # Errors
/// When the address cannot be bound (in use, not permitted).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpAcceptor> {
    TcpListener::bind(addr).into_acceptor().await
}

/// Serves the API on `acceptor` until `shutdown` resolves, then lets in-flight requests
/// finish.
///
/// # Errors
/// When the server fails while running.
pub async fn run(
    acceptor: TcpAcceptor,
    state: std::sync::Arc<api::ApiState>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    for addr in acceptor.local_addr() {
        if let Some(addr) = addr.as_socket_addr() {
            tracing::info!(%addr, "listening; API docs at /docs, OpenAPI at /openapi.json");
        }
    }
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(api::app(state), shutdown, Some(GRACE_PERIOD))
        .await
}
