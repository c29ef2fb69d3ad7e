//! Provider identities and pending provider sign-ins on SQLite.

use async_trait::async_trait;
use nexus_core::ports::oauth::{OAuthStore, PendingLogin};
use nexus_core::ports::sessions::TokenHash;
use nexus_core::{StoreError, Timestamp, UserId};

use super::{SqliteStore, ms};
use crate::codec;
use crate::common::parse;
use crate::error::classify;

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn identity_user(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let user: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM oauth_identities WHERE provider = ? AND subject = ?",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        user.map(|u| parse("user id", &u)).transpose()
    }

    async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        user: UserId,
        email: &str,
        now: Timestamp,
    ) -> Result<UserId, StoreError> {
        // The no-op update makes RETURNING answer with the row already there.
        let linked: String = sqlx::query_scalar(
            "INSERT INTO oauth_identities (provider, subject, user_id, email, created_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (provider, subject) DO UPDATE SET provider = excluded.provider
             RETURNING user_id",
        )
        .bind(provider)
        .bind(subject)
        .bind(user.to_string())
        .bind(email)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        parse("user id", &linked)
    }

    async fn save_pending_login(
        &self,
        state: &TokenHash,
        login: &PendingLogin,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(classify)?;
        sqlx::query("DELETE FROM oauth_logins WHERE expires_at <= ?")
            .bind(ms(login.created_at))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(
            "INSERT INTO oauth_logins (state_hash, provider, code_verifier, nonce, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(state.0.as_slice())
        .bind(&login.provider)
        .bind(login.code_verifier.expose())
        .bind(&login.nonce)
        .bind(ms(login.created_at))
        .bind(ms(login.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(())
    }

    async fn take_pending_login(
        &self,
        state: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_logins WHERE state_hash = ?
             RETURNING provider, code_verifier, nonce, created_at, expires_at",
        )
        .bind(state.0.as_slice())
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)?;
        let Some(row) = row else { return Ok(None) };
        let login = codec::pending_login(&row)?;
        Ok((login.expires_at > now).then_some(login))
    }
}
