//! Electing the one instance that runs a singleton task (the scheduler).
//!
//! PostgreSQL: a session-level advisory lock held on a connection of its own, outside the
//! pool, so the pool's recycling never drops it. When the instance dies its connection
//! closes and the server releases the lock; another instance's next attempt takes over.
//! The key is scoped to the schema, so deployments (and tests) sharing a database in
//! different schemas elect separately.
//!
//! SQLite: one instance per file by design; the lease only keeps a second scheduler of
//! the same process from starting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use nexus_core::StoreError;

use crate::error::classify;

/// How long a leadership check may take before the lease counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Held while this instance leads; dropping it steps down.
#[async_trait]
pub trait Leadership: Send + Sync {
    /// Whether this instance still leads (the lock's connection still answers). Once it
    /// says `false` it never says `true` again: drop it and try to lead anew.
    async fn check(&mut self) -> bool;
}

/// A PostgreSQL advisory-lock lease.
pub(crate) struct PgLease {
    connection: Option<PgConnection>,
}

/// TCP keepalives the server keeps on the lock's connection: a leader whose host vanishes
/// without closing it (power lost, the network cut) is found dead, and its lock freed,
/// after about 10 + 3 × 5 = 25 s, not the two hours of the usual defaults. The settings
/// are the session's own, so the database's configuration need not change; over a Unix
/// socket the server ignores them.
const KEEPALIVES: &str = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
     SET tcp_keepalives_count = 3; SET tcp_user_timeout = 25000";

/// A new connection for the lock, with [`KEEPALIVES`].
async fn lock_connection(options: &PgConnectOptions) -> Result<PgConnection, StoreError> {
    let mut connection = PgConnection::connect_with(options)
        .await
        .map_err(classify)?;
    sqlx::raw_sql(KEEPALIVES)
        .execute(&mut connection)
        .await
        .map_err(classify)?;
    Ok(connection)
}

/// Tries to take the advisory lock named `name` on a new connection.
pub(crate) async fn try_lead_pg(
    options: &PgConnectOptions,
    name: &str,
) -> Result<Option<Box<dyn Leadership>>, StoreError> {
    let mut connection = lock_connection(options).await?;
    let taken: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext(current_schema() || ':' || $1))")
            .bind(name)
            .fetch_one(&mut connection)
            .await
            .map_err(classify)?;
    if taken {
        Ok(Some(Box::new(PgLease {
            connection: Some(connection),
        })))
    } else {
        // Not ours: close politely so the server frees the session at once.
        let _ = connection.close().await;
        Ok(None)
    }
}

#[async_trait]
impl Leadership for PgLease {
    async fn check(&mut self) -> bool {
        let Some(connection) = self.connection.as_mut() else {
            return false;
        };
        let alive = tokio::time::timeout(CHECK_TIMEOUT, connection.ping())
            .await
            .is_ok_and(|ping| ping.is_ok());
        if !alive {
            // The lock may be gone with the session; never claim it again on this one.
            self.connection = None;
        }
        alive
    }
}

/// The in-process lease of a SQLite store.
pub(crate) struct LocalLease {
    taken: Arc<AtomicBool>,
}

/// Takes `taken` if it is free.
pub(crate) fn try_lead_local(taken: &Arc<AtomicBool>) -> Option<Box<dyn Leadership>> {
    taken
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .ok()
        .map(|_| {
            Box::new(LocalLease {
                taken: Arc::clone(taken),
            }) as Box<dyn Leadership>
        })
}

#[async_trait]
impl Leadership for LocalLease {
    async fn check(&mut self) -> bool {
        true
    }
}

impl Drop for LocalLease {
    fn drop(&mut self) {
        self.taken.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn the_lock_connection_keeps_short_keepalives() {
        let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
            eprintln!("skipped: NEXUS_TEST_POSTGRES_URL is not set");
            return;
        };
        let options = PgConnectOptions::from_str(&url).expect("a PostgreSQL URL");
        let mut connection = lock_connection(&options).await.expect("a connection");
        let unix_socket = options.get_host().starts_with('/');
        for (setting, over_tcp) in [
            ("tcp_keepalives_idle", "10"),
            ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
            ("tcp_user_timeout", "25000"),
        ] {
            let shown: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                .fetch_one(&mut connection)
                .await
                .expect(setting);
            if unix_socket {
                // The server reports 0 for a Unix socket, whatever was set.
                continue;
            }
            assert_eq!(shown, over_tcp, "{setting}");
        }
        connection.close().await.expect("closed");
    }
}
