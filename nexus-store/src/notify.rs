//! Messages between the instances of a deployment: PostgreSQL's `NOTIFY` and `LISTEN`.
//! Every listener receives each message once, in the order the sending transactions
//! committed, and nothing is sent for a transaction that rolls back. A SQLite store has no
//! such channel: its deployment is one process, which hands messages on in memory.

use async_trait::async_trait;
use nexus_core::StoreError;
use sqlx::postgres::{PgListener, PgPool};
use thiserror::Error;

use crate::error::classify;

/// PostgreSQL refuses a `NOTIFY` payload of 8,000 bytes or more.
pub const MAX_PAYLOAD_BYTES: usize = 7_999;

/// A message could not be sent.
#[derive(Debug, Error)]
pub enum NotifyError {
    /// A payload is too large for the channel; nothing was sent.
    #[error("a message of {bytes} bytes is over the {MAX_PAYLOAD_BYTES} a channel carries")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends and receives messages on named channels.
#[async_trait]
pub trait Notifications: Send + Sync {
    /// Sends `payloads` on `channel`, in order, in one statement.
    ///
    /// # Errors
    /// [`NotifyError::TooLarge`] (nothing sent) for a payload over [`MAX_PAYLOAD_BYTES`];
    /// [`NotifyError::Store`] when the database fails.
    async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), NotifyError>;

    /// Starts listening on `channel` on a connection of its own.
    ///
    /// # Errors
    /// [`StoreError`] when the connection cannot be opened.
    async fn listen(&self, channel: &str) -> Result<Box<dyn Listener>, StoreError>;
}

/// Messages arriving on a channel.
#[async_trait]
pub trait Listener: Send {
    /// The next message's payload; `Ok(None)` when the connection was lost, so messages
    /// sent meanwhile were missed (the connection is opened again before this returns).
    ///
    /// # Errors
    /// [`StoreError`] when the connection cannot be opened again.
    async fn next(&mut self) -> Result<Option<String>, StoreError>;
}

pub(crate) struct PgNotifications {
    pub(crate) pool: PgPool,
    /// The store's schema, when not `public`: channels are the database's, so deployments
    /// (and tests) in other schemas of one database must not hear each other.
    pub(crate) scope: tokio::sync::OnceCell<Option<String>>,
}

impl PgNotifications {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            scope: tokio::sync::OnceCell::new(),
        }
    }

    /// `channel` as this store's schema hears it.
    async fn scoped(&self, channel: &str) -> Result<String, StoreError> {
        let scope = self
            .scope
            .get_or_try_init(|| async {
                let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(classify)?;
                Ok::<_, StoreError>(schema.filter(|s| s != "public"))
            })
            .await?;
        Ok(match scope {
            Some(schema) => format!("{channel}__{schema}"),
            None => channel.to_owned(),
        })
    }
}

#[async_trait]
impl Notifications for PgNotifications {
    async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), NotifyError> {
        if let Some(big) = payloads.iter().find(|p| p.len() > MAX_PAYLOAD_BYTES) {
            return Err(NotifyError::TooLarge { bytes: big.len() });
        }
        if payloads.is_empty() {
            return Ok(());
        }
        let channel = self.scoped(channel).await?;
        // WITH ORDINALITY keeps the order the payloads were given in.
        sqlx::query(
            "SELECT pg_notify($1, p.payload)
             FROM UNNEST($2::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY p.n",
        )
        .bind(&channel)
        .bind(payloads)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn listen(&self, channel: &str) -> Result<Box<dyn Listener>, StoreError> {
        let channel = self.scoped(channel).await?;
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(classify)?;
        listener.listen(&channel).await.map_err(classify)?;
        Ok(Box::new(PgChannel { listener }))
    }
}

struct PgChannel {
    listener: PgListener,
}

#[async_trait]
impl Listener for PgChannel {
    async fn next(&mut self) -> Result<Option<String>, StoreError> {
        match self.listener.try_recv().await {
            Ok(Some(message)) => Ok(Some(message.payload().to_owned())),
            Ok(None) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }
}
