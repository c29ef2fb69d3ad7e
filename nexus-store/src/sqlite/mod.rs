//! The SQLite store: one file, no set-up, for the embedded default and single-instance
//! deployments. Time is stored as Unix milliseconds, money as canonical decimal text.

mod activity;
mod advisor;
mod alerts;
mod billing;
mod bots;
mod credentials;
mod emails;
mod jobs;
mod oauth;
mod paper;
mod positions;
mod sessions;
mod signatures;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nexus_core::ports::DecisionLog;
use nexus_core::ports::audit::{AuditEvent, AuditLog, AuditRecord};
use nexus_core::regime::gate::{GateAction, GateDecision};
use nexus_core::{DecisionLogError, ExchangeId, StoreError, Symbol, Timestamp};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::common::{action_name, action_str, audit_action, decision_log_error, decisions};
use crate::error::{classify, corrupt};
use crate::vault::Keyring;
use crate::{CleanupReport, Maintenance, OpenError, Retention, Store, chrono_duration};

/// The embedded migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A store in a SQLite file.
pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one connection that writes. SQLite admits one writer at a time; writers that
    /// queue here are woken the moment it is free, where several connections racing for
    /// the lock would sleep in SQLite's busy handler (up to 100 ms a turn, seen as
    /// second-long stalls under load).
    writer: SqlitePool,
    keys: Keyring,
    /// Whether a scheduler of this process leads (one instance per file).
    leading: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Held while the store lives; its background checkpoints stop when it is dropped.
    _alive: std::sync::Arc<()>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL pages (4 KiB each: 128 MiB) past which the writer's own connection checkpoints, so that
/// the WAL starts over from its beginning rather than growing.
const WAL_RESTART_PAGES: i64 = 32_768;

/// Keeps the WAL short without making the writer wait: SQLite's automatic checkpoint
/// runs inside the commit that crosses 1,000 pages, which under load is nearly every
/// batch, and its copying and syncing doubled the writer's time per batch.
///
/// Every [`CHECKPOINT_EVERY`] a reader's connection copies what is committed into the
/// database file while the writer goes on. The WAL only starts over when a write begins
/// with everything already copied, which a busy writer never sees; so once the WAL
/// passes [`WAL_RESTART_PAGES`], the writer's connection checkpoints the little that is
/// left, between two writes. Runs until the store is dropped or closed.
async fn checkpoints(readers: SqlitePool, writer: SqlitePool, alive: std::sync::Weak<()>) {
    async fn checkpoint(pool: &SqlitePool) -> Result<(i64, i64, i64), sqlx::Error> {
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
    }
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if alive.strong_count() == 0 || readers.is_closed() || writer.is_closed() {
            return;
        }
        let done = match checkpoint(&readers).await {
            // Only once this checkpoint caught up, so the writer's has little to copy.
            Ok((_, wal_pages, copied)) if wal_pages > WAL_RESTART_PAGES && copied == wal_pages => {
                checkpoint(&writer).await.map(|_| ())
            }
            other => other.map(|_| ()),
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "checkpointing the SQLite WAL failed");
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed, readable by this user only) and
    /// migrates.
    ///
    /// # Errors
    /// [`OpenError`].
    pub async fn open(url: &str, keys: Keyring) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| OpenError::BadUrl(url.chars().take(80).collect()))?
            .create_if_missing(true)
            // WAL: readers never wait for the writer; NORMAL is durable at each checkpoint.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Pages read through a memory map, not copied by a read call each time a
            // connection's cache is invalidated by another's write.
            .pragma("mmap_size", "268435456")
            .pragma("cache_size", "-16384")
            // Checkpoints run beside the writer (see `checkpoints`), not inside its commits.
            .pragma("wal_autocheckpoint", "0");
        // The file is created private before SQLite opens it; SQLite gives its -wal and
        // -shm files the database file's permissions.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            let file = options.get_filename();
            let io = |e| OpenError::Connect(sqlx::Error::Io(e));
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
            {
                crate::files::create_private_dir(dir).map_err(io)?;
            }
            crate::files::create_private_file(file).map_err(io)?;
        }
        // sqlx pings every connection it hands out by default, which for SQLite is a hop to
        // the connection's thread and back before every statement; a connection to a
        // file cannot have been dropped by a server, so none is pinged.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // A write waiting for the writer waits as long as SQLite's busy handler would.
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        // A database holding a newer release's migrations too is accepted: migrations
        // are additive (expand, then contract in a later release), so during a rolling
        // upgrade an older instance keeps working, and can restart, beside newer ones.
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&writer).await.map_err(OpenError::Migrate)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        let alive = std::sync::Arc::new(());
        tokio::spawn(checkpoints(
            pool.clone(),
            writer.clone(),
            std::sync::Arc::downgrade(&alive),
        ));
        Ok(Self {
            pool,
            writer,
            keys,
            leading: std::sync::Arc::default(),
            _alive: alive,
        })
    }

    /// The readers' connection pool (for tests and tools).
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (the readers' and the writer's).
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn derive_key(&self, label: &str) -> zeroize::Zeroizing<[u8; 32]> {
        self.keys.derive(label)
    }

    async fn try_lead(
        &self,
        _name: &str,
    ) -> Result<Option<Box<dyn crate::leader::Leadership>>, StoreError> {
        Ok(crate::leader::try_lead_local(&self.leading))
    }
}

/// A timestamp as stored: Unix milliseconds.
pub(crate) fn ms(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

/// A stored timestamp.
pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| corrupt("timestamp", ms))
}

/// A decimal as stored: canonical text (no trailing zeros), so equal values compare equal.
pub(crate) fn dec(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A stored decimal.
pub(crate) fn from_dec(text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str_exact(text).map_err(|e| corrupt("decimal", e))
}

#[async_trait]
impl DecisionLog for SqliteStore {
    async fn record(&self, decision: &GateDecision) -> Result<(), DecisionLogError> {
        let json = serde_json::to_string(decision).map_err(|e| DecisionLogError {
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        sqlx::query(
            "INSERT INTO gate_decisions (exchange, symbol, action, allowed, regime, decision, decided_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(decision.inputs.exchange.as_str())
        .bind(decision.inputs.symbol.to_string())
        .bind(action_name(decision))
        .bind(decision.allowed)
        .bind(decision.regime.map(|r| r.as_str()))
        .bind(json)
        .bind(ms(decision.at))
        .execute(&self.writer)
        .await
        .map_err(decision_log_error)?;
        Ok(())
    }

    async fn recent_decisions(&self, limit: u32) -> Result<Vec<GateDecision>, DecisionLogError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT decision FROM gate_decisions ORDER BY id DESC LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(decision_log_error)?;
        decisions(&rows)
    }

    async fn market_decision(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
        action: GateAction,
    ) -> Result<Option<GateDecision>, DecisionLogError> {
        // gate_decisions_market (exchange, symbol, decided_at) finds it without a scan.
        let row: Option<String> = sqlx::query_scalar(
            "SELECT decision FROM gate_decisions WHERE exchange = ? AND symbol = ? AND action = ?
             ORDER BY decided_at DESC, id DESC LIMIT 1",
        )
        .bind(exchange.as_str())
        .bind(symbol.to_string())
        .bind(action_str(action))
        .fetch_optional(&self.pool)
        .await
        .map_err(decision_log_error)?;
        Ok(decisions(row.as_slice())?.pop())
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, event: &AuditEvent) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO audit_log (actor, action, subject, details, at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(event.actor.map(|a| a.to_string()))
        .bind(event.action.as_str())
        .bind(event.subject.as_deref())
        .bind(&event.details)
        .bind(ms(event.at))
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        Ok(row.get(0))
    }

    async fn recent(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, actor, action, subject, details, at FROM audit_log
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| {
                let actor: Option<String> = row.get("actor");
                let action: String = row.get("action");
                Ok(AuditRecord {
                    id: row.get("id"),
                    event: AuditEvent {
                        actor: actor
                            .map(|a| crate::common::parse("audit actor", &a))
                            .transpose()?,
                        action: audit_action(&action)?,
                        subject: row.get("subject"),
                        details: row.get("details"),
                        at: from_ms(row.get("at"))?,
                    },
                })
            })
            .collect()
    }
}

#[async_trait]
impl Maintenance for SqliteStore {
    async fn cleanup(
        &self,
        now: Timestamp,
        retention: Retention,
    ) -> Result<CleanupReport, StoreError> {
        let cutoff = ms(now - chrono_duration(retention.keep));
        let cache_cutoff = ms(now - chrono_duration(retention.cache));
        let mut tx = self.writer.begin().await.map_err(classify)?;
        let jobs =
            sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'dead') AND finished_at < ?")
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(classify)?
                .rows_affected();
        let old = sqlx::query("DELETE FROM gate_decisions WHERE decided_at < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected();
        let excess = sqlx::query(
            "DELETE FROM gate_decisions WHERE id <= (
                 SELECT id FROM gate_decisions ORDER BY id DESC LIMIT 1 OFFSET ?)",
        )
        .bind(i64::try_from(retention.max_decisions).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(classify)?
        .rows_affected();
        let emails = sqlx::query("DELETE FROM email_log WHERE created_at < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected();
        let cache = sqlx::query("DELETE FROM market_data_cache WHERE fetched_at < ?")
            .bind(cache_cutoff)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected()
            + sqlx::query("DELETE FROM rate_limit_counters WHERE window_start < ?")
                .bind(cache_cutoff)
                .execute(&mut *tx)
                .await
                .map_err(classify)?
                .rows_affected();
        // Sign-in records past any use: expired now, or revoked/used longer ago than the
        // retention (kept that long for investigations).
        let auth = sqlx::query("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?")
            .bind(ms(now))
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected()
            + sqlx::query("DELETE FROM auth_tokens WHERE expires_at < ? OR used_at < ?")
                .bind(ms(now))
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(classify)?
                .rows_affected()
            + sqlx::query("DELETE FROM oauth_logins WHERE expires_at < ?")
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(classify)?
                .rows_affected();
        tx.commit().await.map_err(classify)?;
        Ok(CleanupReport {
            jobs,
            decisions: old + excess,
            emails,
            cache,
            auth,
        })
    }

    async fn rotate_keys(&self, batch: u32, now: Timestamp) -> Result<u64, StoreError> {
        let done = credentials::rotate_keys(self, batch, now).await?;
        // Webhook secrets are sealed the same way: re-sealed once the credentials are.
        let left = batch.saturating_sub(u32::try_from(done).unwrap_or(batch));
        Ok(done + alerts::rotate_keys(self, left, now).await?)
    }

    async fn stale_credentials(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM exchange_credentials WHERE key_id <> ?1)
                 + (SELECT COUNT(*) FROM alert_preferences WHERE webhook_key_id <> ?1)",
        )
        .bind(self.keys.current_id())
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(classify)?;
        crate::migrations_current(&MIGRATOR, applied)
    }
}

#[async_trait]
impl nexus_core::ports::NonceSource for SqliteStore {
    async fn next_nonce(&self, key_id: &str, at_least: u64) -> Result<u64, StoreError> {
        let floor = i64::try_from(at_least).map_err(|e| corrupt("nonce", e))?;
        // One statement: SQLite serialises writers, so two processes never get one value.
        let nonce: i64 = sqlx::query_scalar(
            "INSERT INTO api_nonces (key_id, last_nonce) VALUES (?, ?)
             ON CONFLICT (key_id) DO UPDATE
             SET last_nonce = MAX(api_nonces.last_nonce + 1, excluded.last_nonce)
             RETURNING last_nonce",
        )
        .bind(key_id)
        .bind(floor)
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        u64::try_from(nonce).map_err(|e| corrupt("nonce", e))
    }
}
