//! A local websocket server standing in for a venue's market data stream: it records what
//! clients send, answers each request through a test's responder (subscribe acks and
//! snapshots in the venue's documented shape), pushes what a test tells it to, and can
//! drop every connection at once or fall silent, as real venues do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

type Responder = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

#[derive(Debug, Clone)]
enum Command {
    Send(String),
    Drop,
}

/// The stand-in stream.
pub struct MockStream {
    received: Mutex<Vec<String>>,
    responder: Mutex<Option<Responder>>,
    commands: broadcast::Sender<Command>,
    accepted: AtomicUsize,
    open: AtomicUsize,
}

impl std::fmt::Debug for MockStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockStream")
            .field("accepted", &self.accepted)
            .finish_non_exhaustive()
    }
}

impl MockStream {
    /// Starts the server on a free loopback port; returns it and its `ws://` URL.
    ///
    /// # Panics
    /// When no loopback port can be bound (tests only).
    pub async fn start() -> (Arc<Self>, String) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("ws://{}", listener.local_addr().expect("an address"));
        let mock = Arc::new(Self {
            received: Mutex::default(),
            responder: Mutex::default(),
            commands: broadcast::channel(1024).0,
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
        });
        let server = Arc::clone(&mock);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let mock = Arc::clone(&server);
                tokio::spawn(async move { mock.serve(socket).await });
            }
        });
        (mock, url)
    }

    async fn serve(self: Arc<Self>, socket: tokio::net::TcpStream) {
        let mut commands = self.commands.subscribe();
        let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
            return;
        };
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.open.fetch_add(1, Ordering::SeqCst);
        loop {
            tokio::select! {
                message = ws.next() => {
                    let Some(Ok(message)) = message else { break };
                    let Message::Text(text) = message else { continue };
                    let replies = self
                        .responder
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .as_ref()
                        .map(|r| r(&text))
                        .unwrap_or_default();
                    self.received
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(text.to_string());
                    for reply in replies {
                        if ws.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                }
                command = commands.recv() => match command {
                    Ok(Command::Send(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    // Gone without a closing handshake, as a dropped network link.
                    Ok(Command::Drop) | Err(_) => break,
                },
            }
        }
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    /// Answers every text a client sends with what `responder` returns for it.
    pub fn respond(&self, responder: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) {
        *self
            .responder
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(responder));
    }

    /// Sends `text` on every open connection.
    pub fn push(&self, text: impl Into<String>) {
        let _ = self.commands.send(Command::Send(text.into()));
    }

    /// Drops every open connection without a closing handshake.
    pub fn drop_connections(&self) {
        let _ = self.commands.send(Command::Drop);
    }

    /// What clients have sent so far, oldest first.
    #[must_use]
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Connections accepted so far.
    #[must_use]
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// Waits until `done` holds, checking every 10 ms, for at most `limit`.
///
/// # Panics
/// When it still does not hold after `limit`, with `what` in the message (tests only).
pub async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
