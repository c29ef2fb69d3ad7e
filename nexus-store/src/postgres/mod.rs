//! The PostgreSQL store: production, and what several server instances share. Money is
//! `NUMERIC`, time `TIMESTAMPTZ`; the job queue claims with `FOR UPDATE SKIP LOCKED`;
//! the market-data cache and rate-limit counters are `UNLOGGED`.

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
use nexus_core::ports::DecisionLog;
use nexus_core::ports::audit::{AuditEvent, AuditLog, AuditRecord};
use nexus_core::regime::gate::{GateAction, GateDecision};
use nexus_core::{DecisionLogError, ExchangeId, StoreError, Symbol, Timestamp, UserId};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::common::{action_name, action_str, audit_action, decision_log_error, decisions};
use crate::error::{classify, corrupt};
use crate::vault::Keyring;
use crate::{CleanupReport, Maintenance, OpenError, Retention, Store, chrono_duration};

/// How long a pooled connection may sit idle before it is pinged when handed out.
const PING_WHEN_IDLE: Duration = Duration::from_secs(10);

/// The embedded migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A store in a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    keys: Keyring,
    /// How to open a connection of its own (leadership holds one outside the pool).
    options: PgConnectOptions,
    /// When (the claim's `now`, in ms) expired leases were last swept back into the queue.
    swept: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects and migrates.
    ///
    /// # Errors
    /// [`OpenError`].
    pub async fn open(url: &str, keys: Keyring) -> Result<Self, OpenError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|_| OpenError::BadUrl(redact(url)))?;
        Self::open_with(options, keys).await
    }

    /// Connects with `search_path` set to `schema` (created if missing) and migrates there:
    /// how tests get an isolated database each.
    ///
    /// # Errors
    /// [`OpenError`].
    pub async fn open_in_schema(url: &str, schema: &str, keys: Keyring) -> Result<Self, OpenError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|_| OpenError::BadUrl(redact(url)))?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(OpenError::BadUrl(format!(
                "schema {schema:?}: only letters, digits and _"
            )));
        }
        // Checked above to be a plain identifier, so it cannot inject.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&admin)
        .await
        .map_err(OpenError::Connect)?;
        admin.close().await;
        Self::open_with(options.options([("search_path", schema)]), keys).await
    }

    async fn open_with(options: PgConnectOptions, keys: Keyring) -> Result<Self, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: a round trip before
            // every statement, on a machine whose cores the database shares. Only a
            // connection idle a while is pinged; one that died since its last use fails
            // its statement as unavailable, which callers retry.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_WHEN_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        // A database holding a newer release's migrations too is accepted: migrations
        // are additive (expand, then contract in a later release), so during a rolling
        // upgrade an older instance keeps working, and can restart, beside newer ones.
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await.map_err(OpenError::Migrate)?;
        Ok(Self {
            pool,
            keys,
            options,
            swept: std::sync::atomic::AtomicI64::new(i64::MIN),
        })
    }

    /// The connection pool (for tests and tools).
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.chars().take(80).collect(),
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn derive_key(&self, label: &str) -> zeroize::Zeroizing<[u8; 32]> {
        self.keys.derive(label)
    }

    async fn try_lead(
        &self,
        name: &str,
    ) -> Result<Option<Box<dyn crate::leader::Leadership>>, StoreError> {
        crate::leader::try_lead_pg(&self.options, name).await
    }

    fn notifications(&self) -> Option<std::sync::Arc<dyn crate::notify::Notifications>> {
        Some(std::sync::Arc::new(crate::notify::PgNotifications::new(
            self.pool.clone(),
        )))
    }
}

#[async_trait]
impl DecisionLog for PostgresStore {
    async fn record(&self, decision: &GateDecision) -> Result<(), DecisionLogError> {
        let json = serde_json::to_string(decision).map_err(|e| DecisionLogError {
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        sqlx::query(
            "INSERT INTO gate_decisions (exchange, symbol, action, allowed, regime, decision, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        )
        .bind(decision.inputs.exchange.as_str())
        .bind(decision.inputs.symbol.to_string())
        .bind(action_name(decision))
        .bind(decision.allowed)
        .bind(decision.regime.map(|r| r.as_str()))
        .bind(json)
        .bind(decision.at)
        .execute(&self.pool)
        .await
        .map_err(decision_log_error)?;
        Ok(())
    }

    async fn recent_decisions(&self, limit: u32) -> Result<Vec<GateDecision>, DecisionLogError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT decision::text FROM gate_decisions ORDER BY id DESC LIMIT $1",
        )
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
            "SELECT decision::text FROM gate_decisions WHERE exchange = $1 AND symbol = $2 AND action = $3
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
impl AuditLog for PostgresStore {
    async fn append(&self, event: &AuditEvent) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (actor, action, subject, details, at)
             VALUES ($1, $2, $3, $4::json, $5) RETURNING id",
        )
        .bind(event.actor.map(|a| *a.as_uuid()))
        .bind(event.action.as_str())
        .bind(event.subject.as_deref())
        .bind(&event.details)
        .bind(event.at)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        Ok(id)
    }

    async fn recent(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, actor, action, subject, details::text AS details, at FROM audit_log
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| {
                let actor: Option<uuid::Uuid> = row.get("actor");
                let action: String = row.get("action");
                Ok(AuditRecord {
                    id: row.get("id"),
                    event: AuditEvent {
                        actor: actor.map(UserId::new),
                        action: audit_action(&action)?,
                        subject: row.get("subject"),
                        details: row.get("details"),
                        at: row.get("at"),
                    },
                })
            })
            .collect()
    }
}

#[async_trait]
impl Maintenance for PostgresStore {
    async fn cleanup(
        &self,
        now: Timestamp,
        retention: Retention,
    ) -> Result<CleanupReport, StoreError> {
        let cutoff = now - chrono_duration(retention.keep);
        let cache_cutoff = now - chrono_duration(retention.cache);
        let run = |sql: &'static str, at: Timestamp| {
            let pool = self.pool.clone();
            async move {
                sqlx::query(sql)
                    .bind(at)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(classify)
            }
        };
        // Separate statements, not one transaction: each deletes independently and a long
        // cleanup does not hold locks on every history table at once.
        let jobs = run(
            "DELETE FROM jobs WHERE state IN ('done', 'dead') AND finished_at < $1",
            cutoff,
        )
        .await?;
        let old = run("DELETE FROM gate_decisions WHERE decided_at < $1", cutoff).await?;
        let excess = sqlx::query(
            "DELETE FROM gate_decisions WHERE id <= (
                 SELECT id FROM gate_decisions ORDER BY id DESC OFFSET $1 LIMIT 1)",
        )
        .bind(i64::try_from(retention.max_decisions).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(classify)?
        .rows_affected();
        let emails = run("DELETE FROM email_log WHERE created_at < $1", cutoff).await?;
        let cache = run(
            "DELETE FROM market_data_cache WHERE fetched_at < $1",
            cache_cutoff,
        )
        .await?
            + run(
                "DELETE FROM rate_limit_counters WHERE window_start < $1",
                cache_cutoff,
            )
            .await?;
        // Sign-in records past any use: expired now, or revoked/used longer ago than the
        // retention (kept that long for investigations).
        let auth = run("DELETE FROM sessions WHERE expires_at < $1", now).await?
            + run("DELETE FROM sessions WHERE revoked_at < $1", cutoff).await?
            + run("DELETE FROM auth_tokens WHERE expires_at < $1", now).await?
            + run("DELETE FROM auth_tokens WHERE used_at < $1", cutoff).await?
            + run("DELETE FROM oauth_logins WHERE expires_at < $1", now).await?;
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
            "SELECT (SELECT COUNT(*) FROM exchange_credentials WHERE key_id <> $1)
                 + (SELECT COUNT(*) FROM alert_preferences WHERE webhook_key_id <> $1)",
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
impl nexus_core::ports::NonceSource for PostgresStore {
    async fn next_nonce(&self, key_id: &str, at_least: u64) -> Result<u64, StoreError> {
        let floor = i64::try_from(at_least).map_err(|e| corrupt("nonce", e))?;
        // The upsert takes the row lock, so concurrent processes queue on it and each gets
        // a value above the last.
        let nonce: i64 = sqlx::query_scalar(
            "INSERT INTO api_nonces (key_id, last_nonce) VALUES ($1, $2)
             ON CONFLICT (key_id) DO UPDATE
             SET last_nonce = GREATEST(api_nonces.last_nonce + 1, EXCLUDED.last_nonce)
             RETURNING last_nonce",
        )
        .bind(key_id)
        .bind(floor)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        u64::try_from(nonce).map_err(|e| corrupt("nonce", e))
    }
}
