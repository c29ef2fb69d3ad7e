//! The API server on port 0 around a test's own `ApiState`, stopped when dropped.

use std::sync::Arc;

use nexus_server::api::ApiState;
use poem::listener::TcpAcceptor;

/// Port 0 bound, not yet served: its URL is known, so a test can build what needs it (a
/// provider's redirect URL) before the state.
pub struct Bound {
    pub url: String,
    acceptor: TcpAcceptor,
}

pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Bound {
    pub async fn new() -> Self {
        let acceptor = nexus_server::server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = poem::listener::Acceptor::local_addr(&acceptor)[0]
            .as_socket_addr()
            .copied()
            .unwrap();
        Self {
            url: format!("http://{addr}"),
            acceptor,
        }
    }

    pub fn serve(self, state: ApiState) -> Served {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(nexus_server::server::run(
            self.acceptor,
            Arc::new(state),
            async move {
                let _ = stopped.await;
            },
        ));
        Served {
            url: self.url,
            stop: Some(stop),
        }
    }
}

impl Served {
    /// Binds port 0, then serves the state `state` builds for the server's public URL.
    pub async fn start(state: impl FnOnce(String) -> ApiState) -> Self {
        let bound = Bound::new().await;
        let state = state(bound.url.clone());
        bound.serve(state)
    }

    /// Starts the graceful shutdown: requests in flight finish, new ones are refused.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}
