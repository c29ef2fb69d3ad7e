//! What every server test shares: a database per test that is removed even when the test
//! fails ([`TestDb`]), the server on port 0 ([`Served`]), an HTTP client that answers
//! status and JSON ([`Http`]), the development outbox read back ([`Outbox`]), running
//! one test on each database ([`on_each`]), and a local Stripe ([`stripe::StripeMock`]).

mod db;
mod http;
pub mod llm;
mod outbox;
pub mod resend;
mod served;
pub mod stripe;

pub use db::{Backend, Schema, TestDb};
pub use http::Http;
pub use outbox::Outbox;
pub use served::{Bound, Served};

use std::future::Future;
use std::io::Write;

/// A Binance key and secret the local Binance of `nexus_exchanges::mock` accepts.
pub const BINANCE_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const BINANCE_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

/// The exchange adapters of a server under test: a local Binance (accepting
/// [`BINANCE_KEY`]) and the Paper venue.
pub async fn local_venues() -> (
    std::sync::Arc<nexus_exchanges::mock::binance::BinanceMock>,
    nexus_exchanges::Venues,
) {
    use nexus_exchanges::{BinanceConfig, PaperConfig, PaperVenue, Venues, VenuesConfig};
    let (binance, url) =
        nexus_exchanges::mock::binance::BinanceMock::start(BINANCE_KEY, BINANCE_SECRET).await;
    let venues = Venues::new(
        VenuesConfig {
            binance: BinanceConfig {
                base_url: url,
                ..BinanceConfig::default()
            },
            ..VenuesConfig::default()
        },
        None,
        PaperVenue::new(PaperConfig::default()),
    )
    .unwrap();
    (binance, venues)
}

/// The path of the `nexus` binary Cargo built for these tests.
pub const NEXUS: &str = env!("CARGO_BIN_EXE_nexus");

/// Says on stderr that a test was skipped (straight to stderr: the harness captures
/// `eprintln!`, and a skip must show).
pub fn skipped(what: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped {what}: {why}");
}

/// The PostgreSQL of `NEXUS_TEST_POSTGRES_URL`, or `None` after saying that `name` was
/// skipped on it.
pub fn postgres(name: &str) -> Option<String> {
    let url = std::env::var("NEXUS_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        skipped(
            &format!("{name} on PostgreSQL"),
            "NEXUS_TEST_POSTGRES_URL is unset",
        );
    }
    url
}

/// Runs `test` on a world `start` builds over SQLite, then over PostgreSQL when
/// `NEXUS_TEST_POSTGRES_URL` is set. A world owns its [`TestDb`], so each database is
/// removed when its world drops, whether the test passed or panicked.
pub async fn on_each<W, S, SFut, T, TFut>(name: &str, start: S, test: T)
where
    S: Fn(Backend) -> SFut,
    SFut: Future<Output = W>,
    T: Fn(W) -> TFut,
    TFut: Future<Output = W>,
{
    drop(test(start(Backend::Sqlite).await).await);
    if let Some(url) = postgres(name) {
        drop(test(start(Backend::Postgres(url)).await).await);
    }
}

/// A JSON error's stable `code`.
pub fn code(body: &serde_json::Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
}

/// A user created straight in `store` with a session: the session token. For tests whose
/// subject is not signing up (no password hashing, no email).
pub async fn signed_in(
    store: &std::sync::Arc<dyn nexus_store::Store>,
    id: nexus_core::UserId,
    email: &str,
    role: nexus_core::ports::accounts::Role,
) -> String {
    let now = chrono::Utc::now();
    store.create_user(id, email, None, role, now).await.unwrap();
    let (token, hash) = nexus_server::auth::tokens::generate();
    store
        .create_session(&nexus_core::ports::sessions::NewSession {
            id: nexus_core::ports::sessions::SessionId(uuid::Uuid::new_v4()),
            user: id,
            token: hash,
            created_at: now,
            started_at: now,
            expires_at: now + chrono::Duration::days(1),
            user_agent: None,
            ip: None,
        })
        .await
        .unwrap();
    token
}

/// Polls `check` until it holds, for up to 30 s, then fails naming `what`.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
