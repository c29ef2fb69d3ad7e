//! Sessions and one-time tokens on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::sessions::{
    ActiveSession, NewSession, SessionId, SessionStore, SessionSummary, TokenHash, TokenPurpose,
};
use nexus_core::{StoreError, Timestamp, UserId};
use uuid::Uuid;

use super::PostgresStore;
use crate::codec;
use crate::error::classify;

const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, user_agent, ip,
                           started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

fn insert(
    session: &NewSession,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(INSERT_SESSION)
        .bind(session.id.0)
        .bind(*session.user.as_uuid())
        .bind(session.token.0.as_slice())
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.user_agent.as_deref())
        .bind(session.ip.as_deref())
        .bind(session.started_at)
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        insert(session)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn active_session(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<ActiveSession>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at AS session_expires,
                    COALESCE(s.started_at, s.created_at) AS session_started,
                    u.id, u.email, u.role, u.email_verified_at, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(token.0.as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::active_session).transpose()
    }

    async fn rotate_session(
        &self,
        token: &TokenHash,
        next: &NewSession,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // The row lock makes two refreshes of one token race to a single winner.
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE token_hash = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token.0.as_slice())
        .bind(*next.user.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(classify)?
        .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        insert(next).execute(&mut *tx).await.map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(true)
    }

    async fn revoke_session(&self, token: &TokenHash, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token.0.as_slice())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_sessions(&self, user: UserId, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(*user.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }

    async fn user_sessions(
        &self,
        user: UserId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, COALESCE(started_at, created_at) AS started_at, created_at, expires_at,
                    user_agent, ip
             FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC, id DESC
             LIMIT $3",
        )
        .bind(*user.as_uuid())
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::session_summary).collect()
    }

    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: SessionId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(*user.as_uuid())
        .bind(keep.0)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected())
    }

    async fn create_token(
        &self,
        token: &TokenHash,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_tokens (token_hash, user_id, purpose, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.0.as_slice())
        .bind(*user.as_uuid())
        .bind(purpose.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn token_user(
        &self,
        token: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let user: Option<Uuid> = sqlx::query_scalar(
            "SELECT user_id FROM auth_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token.0.as_slice())
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        Ok(user.map(UserId::new))
    }

    async fn consume_token(
        &self,
        token: &TokenHash,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let user: Option<Uuid> = sqlx::query_scalar(
            "UPDATE auth_tokens SET used_at = $1
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id",
        )
        .bind(now)
        .bind(token.0.as_slice())
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        if let Some(user) = user {
            sqlx::query(
                "UPDATE auth_tokens SET used_at = $1
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(user.map(UserId::new))
    }

    async fn mark_email_verified(&self, user: UserId, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1
             WHERE id = $2",
        )
        .bind(now)
        .bind(*user.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(*user.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }
}
