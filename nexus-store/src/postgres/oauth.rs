//! Provider identities and pending provider sign-ins on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::oauth::{OAuthStore, PendingLogin};
use nexus_core::ports::sessions::TokenHash;
use nexus_core::{StoreError, Timestamp, UserId};
use uuid::Uuid;

use super::PostgresStore;
use crate::codec;
use crate::error::classify;

#[async_trait]
impl OAuthStore for PostgresStore {
    async fn identity_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let user: Option<Uuid> = sqlx::query_scalar(
            "SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        Ok(user.map(UserId::new))
    }

    async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        user: UserId,
        email: &str,
        now: Timestamp,
    ) -> Result<UserId, StoreError> {
        // The no-op update makes RETURNING answer with the row already there (and locks
        // it, so racing links agree).
        let linked: Uuid = sqlx::query_scalar(
            "INSERT INTO oauth_identities (provider, subject, user_id, email, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (provider, subject) DO UPDATE SET provider = EXCLUDED.provider
             RETURNING user_id",
        )
        .bind(provider)
        .bind(subject)
        .bind(*user.as_uuid())
        .bind(email)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        Ok(UserId::new(linked))
    }

    async fn save_pending_login(
        &self,
        state: &TokenHash,
        login: &PendingLogin,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oauth_logins WHERE expires_at <= $1")
            .bind(login.created_at)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        sqlx::query(
            "INSERT INTO oauth_logins (state_hash, provider, code_verifier, nonce, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state.0.as_slice())
        .bind(&login.provider)
        .bind(login.code_verifier.expose())
        .bind(&login.nonce)
        .bind(login.created_at)
        .bind(login.expires_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn take_pending_login(
        &self,
        state: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_logins WHERE state_hash = $1
             RETURNING provider, code_verifier, nonce, created_at, expires_at",
        )
        .bind(state.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        let Some(row) = row else { return Ok(None) };
        let login = codec::pending_login(&row)?;
        Ok((login.expires_at > now).then_some(login))
    }
}
