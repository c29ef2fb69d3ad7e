//! # nexus-store
//!
//! Persistence over sqlx with two backends behind the core's ports: [`SqliteStore`] (a
//! file, the embedded default, nothing to set up) and [`PostgresStore`] (production, and
//! what several server instances share). No `sqlx::Any`: each backend keeps its own types —
//! decimals are canonical `TEXT` in SQLite and `NUMERIC` in PostgreSQL, both exact.
//!
//! Migrations live in `migrations/{sqlite,postgres}`, are embedded in the binary and run
//! when a store opens. The job queue claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL
//! and inside `BEGIN IMMEDIATE` transactions on SQLite. Exchange secrets are sealed by the
//! [`vault`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use nexus_store::{open, vault::Keyring};
//!
//! let (keys, _) = Keyring::load(|var| std::env::var(var).ok(), "nexus-data".as_ref())?;
//! let store = open("sqlite://nexus-data/nexus.db", keys).await?;
//! let depth = store.depth().await?;
//! # Ok(()) }
//! ```

mod alerts;
mod billing;
mod codec;
mod common;
mod error;
pub mod files;
pub mod leader;
pub mod notify;
pub mod postgres;
pub mod sqlite;
pub mod vault;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nexus_core::ports::{
    AuditLog, BotStore, CredentialStore, DecisionLog, JobQueue, PositionStore, UserStore,
};
use nexus_core::{StoreError, Timestamp};
use serde::Serialize;
use thiserror::Error;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
use vault::Keyring;

/// The default database: a SQLite file in the working directory's data folder.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://nexus-data/nexus.db";

/// How long history is kept and how big it may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Finished jobs, gate decisions and the email log older than this are deleted.
    pub keep: Duration,
    /// At most this many gate decisions are kept, newest first.
    pub max_decisions: u64,
    /// Cached market data older than this is deleted.
    pub cache: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep: Duration::from_secs(7 * 24 * 3600),
            max_decisions: 1_000_000,
            cache: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a cleanup deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CleanupReport {
    /// Finished (done or dead) jobs.
    pub jobs: u64,
    /// Gate decisions, by age or over the size bound.
    pub decisions: u64,
    /// Email log entries.
    pub emails: u64,
    /// Market-data cache entries and rate-limit counters.
    pub cache: u64,
    /// Sessions expired or revoked, one-time tokens expired or used, and pending
    /// identity-provider sign-ins expired.
    pub auth: u64,
}

/// Upkeep that is not part of any port: history trimming and key rotation.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Deletes history past `retention` (the `cleanup` job runs this daily).
    ///
    /// # Errors
    /// [`StoreError`].
    async fn cleanup(
        &self,
        now: Timestamp,
        retention: Retention,
    ) -> Result<CleanupReport, StoreError>;

    /// Re-encrypts up to `batch` credentials still under an old master key; returns how
    /// many were re-encrypted (0: rotation complete).
    ///
    /// # Errors
    /// [`StoreError`]; a row that does not decrypt is [`StoreError::Corrupt`].
    async fn rotate_keys(&self, batch: u32, now: Timestamp) -> Result<u64, StoreError>;

    /// Credentials still encrypted under an old key.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn stale_credentials(&self) -> Result<u64, StoreError>;

    /// Whether the database answers and every migration this build knows is applied.
    ///
    /// # Errors
    /// [`StoreError`].
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Everything a store does: every port, plus maintenance.
#[async_trait]
pub trait Store:
    JobQueue
    + DecisionLog
    + AuditLog
    + CredentialStore
    + UserStore
    + BotStore
    + PositionStore
    + Maintenance
    + nexus_core::ports::NonceSource
    + nexus_core::ports::SessionStore
    + nexus_core::ports::ActivityStore
    + nexus_core::ports::OAuthStore
    + nexus_core::ports::OutOfSyncLog
    + nexus_core::ports::PaperLedger
    + nexus_core::ports::SeenSignatures
    + nexus_core::ports::BillingStore
    + nexus_core::ports::EmailStore
    + nexus_core::ports::AdvisorStore
    + nexus_core::ports::AlertStore
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// A key for `label`, derived from the store's current master key (see
    /// [`vault::Keyring::derive`]): the same on every instance sharing the master key.
    fn derive_key(&self, label: &str) -> zeroize::Zeroizing<[u8; 32]>;

    /// Tries to become the one instance of the deployment running `name` (the
    /// scheduler): `Some` while this instance holds it, `None` when another does.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be asked.
    async fn try_lead(&self, name: &str)
    -> Result<Option<Box<dyn leader::Leadership>>, StoreError>;

    /// The channel between the deployment's instances (PostgreSQL's `NOTIFY`); `None` for
    /// SQLite, whose deployment is one process.
    fn notifications(&self) -> Option<std::sync::Arc<dyn notify::Notifications>> {
        None
    }
}

/// A store could not be opened.
#[derive(Debug, Error)]
pub enum OpenError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("NEXUS_DATABASE_URL: expected sqlite://PATH or postgres://USER@HOST/DB, got {0:?}")]
    BadUrl(String),
    /// The database could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// Migrations failed.
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and applies its
/// migrations.
///
/// # Errors
/// [`OpenError`].
pub async fn open(url: &str, keys: Keyring) -> Result<Arc<dyn Store>, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, keys).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::open(url, keys).await?))
    } else {
        Err(OpenError::BadUrl(url.chars().take(80).collect()))
    }
}

/// A lease or delay as a chrono duration (saturating).
pub(crate) fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Fails when the database lacks a migration this build embeds (a newer binary on an
/// older schema must not take traffic).
pub(crate) fn migrations_current(
    migrator: &sqlx::migrate::Migrator,
    applied: Option<i64>,
) -> Result<(), StoreError> {
    let latest = migrator.iter().map(|m| m.version).max();
    if latest > applied {
        return Err(StoreError::Unavailable {
            message: format!(
                "migrations pending: the database is at {}, this build needs {}",
                applied.unwrap_or(0),
                latest.unwrap_or(0)
            ),
            source: None,
        });
    }
    Ok(())
}
