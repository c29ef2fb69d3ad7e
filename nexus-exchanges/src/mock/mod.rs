//! Local stand-ins for the venues, for tests (feature `mock`): HTTP servers on
//! `127.0.0.1:0` that check each request's signature the way the venue does and answer
//! with the venue's documented JSON (the files in `test_data/`), including its error and
//! rate-limit answers. Scripted answers let a test make the next call fail.

use std::collections::VecDeque;
use std::sync::Mutex;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Response, Server};

pub mod binance;
pub mod coinbase;
pub mod kraken;
pub mod stream;

/// Starts `endpoint` on a free loopback port and returns its base URL.
///
/// # Panics
/// When no loopback port can be bound (tests only).
pub async fn serve(endpoint: impl Endpoint + 'static) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("a loopback port");
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .expect("a socket address");
    tokio::spawn(async move {
        let _ = Server::new_with_acceptor(acceptor).run(endpoint).await;
    });
    format!("http://{addr}")
}

/// An answer a test wants given to the next matching request.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// Only requests to this path (any when `None`).
    pub path: Option<String>,
    /// The HTTP status.
    pub status: u16,
    /// The body (JSON).
    pub body: String,
    /// A `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// Do what the request asked, then answer with this (a lost answer).
    pub after_applying: bool,
}

/// Scripted answers waiting to be given.
#[derive(Debug, Default)]
pub(crate) struct Script(Mutex<VecDeque<Scripted>>);

impl Script {
    pub(crate) fn push(&self, scripted: Scripted) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(scripted);
    }

    pub(crate) fn take(&self, path: &str) -> Option<Scripted> {
        let mut queue = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = queue
            .iter()
            .position(|s| s.path.as_deref().is_none_or(|p| p == path))?;
        queue.remove(at)
    }
}

pub(crate) fn json(status: u16, body: impl Into<String>) -> Response {
    Response::builder()
        .status(
            poem::http::StatusCode::from_u16(status)
                .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR),
        )
        .content_type("application/json")
        .body(body.into())
}

pub(crate) fn scripted_response(s: &Scripted) -> Response {
    let mut response = json(s.status, s.body.clone());
    if let Some(secs) = s.retry_after
        && let Ok(value) = secs.to_string().parse()
    {
        response
            .headers_mut()
            .insert(poem::http::header::RETRY_AFTER, value);
    }
    response
}

/// The query parameters of a request, in order.
pub(crate) fn params(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
