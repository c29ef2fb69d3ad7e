//! Signed outside signals seen lately, on SQLite.

use async_trait::async_trait;
use nexus_core::ports::signatures::{SeenSignatures, SignatureDigest};
use nexus_core::{StoreError, Timestamp};

use super::{SqliteStore, ms};
use crate::error::classify;

#[async_trait]
impl SeenSignatures for SqliteStore {
    async fn first_sighting(
        &self,
        digest: &SignatureDigest,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        // A row comes back only when this statement inserted it.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO seen_signatures (digest, expires_at) VALUES (?, ?)
             ON CONFLICT (digest) DO NOTHING RETURNING 1",
        )
        .bind(digest.0.as_slice())
        .bind(ms(expires_at))
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)?;
        Ok(inserted.is_some())
    }

    async fn forget_signatures(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM seen_signatures WHERE expires_at < ?")
                .bind(ms(now))
                .execute(&self.writer)
                .await
                .map_err(classify)?
                .rows_affected(),
        )
    }
}
