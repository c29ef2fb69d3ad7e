//! Signed outside signals seen lately, on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::signatures::{SeenSignatures, SignatureDigest};
use nexus_core::{StoreError, Timestamp};

use super::PostgresStore;
use crate::error::classify;

#[async_trait]
impl SeenSignatures for PostgresStore {
    async fn first_sighting(
        &self,
        digest: &SignatureDigest,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        // A row comes back only when this statement inserted it; a concurrent insert of
        // the same digest waits on the key and then does nothing.
        let inserted: Option<i32> = sqlx::query_scalar(
            "INSERT INTO seen_signatures (digest, expires_at) VALUES ($1, $2)
             ON CONFLICT (digest) DO NOTHING RETURNING 1",
        )
        .bind(digest.0.as_slice())
        .bind(expires_at)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        Ok(inserted.is_some())
    }

    async fn forget_signatures(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM seen_signatures WHERE expires_at < $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(classify)?
                .rows_affected(),
        )
    }
}
