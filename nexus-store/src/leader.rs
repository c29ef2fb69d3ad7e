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

/// Tries to take the advisory lock named `name` on a new connection.
pub(crate) async fn try_lead_pg(
    options: &PgConnectOptions,
    name: &str,
) -> Result<Option<Box<dyn Leadership>>, StoreError> {
    let mut connection = PgConnection::connect_with(options)
        .await
        .map_err(classify)?;
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
