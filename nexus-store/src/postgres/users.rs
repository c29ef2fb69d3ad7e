//! Users and their plans on PostgreSQL.

use async_trait::async_trait;
use nexus_core::ports::accounts::{Role, UserRecord, UserStore};
use nexus_core::{StoreError, Timestamp, UserId};
use sqlx::Row;
use uuid::Uuid;

use super::PostgresStore;
use crate::codec;
use crate::error::classify;

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(
        &self,
        id: UserId,
        email: &str,
        password_hash: Option<&str>,
        role: Role,
        now: Timestamp,
    ) -> Result<UserRecord, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             RETURNING id, email, role, email_verified_at, created_at",
        )
        .bind(id.as_uuid())
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        codec::user(&row)
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at FROM users WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::user).transpose()
    }

    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at, password_hash FROM users
             WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.map(|r| Ok((codec::user(&r)?, r.get("password_hash"))))
            .transpose()
    }

    async fn user_plan(&self, id: UserId) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT effective_plan FROM subscriptions WHERE user_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn set_user_plan(
        &self,
        id: UserId,
        plan: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subscriptions (user_id, plan_id, status, effective_plan, updated_at)
             VALUES ($1, $2, 'active', $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET plan_id = $2, status = 'active', effective_plan = $2,
                 first_failed_at = NULL, grace_until = NULL, updated_at = $3",
        )
        .bind(id.as_uuid())
        .bind(plan)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn list_users(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, role, email_verified_at, created_at FROM users
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map_or(Uuid::nil(), |a| *a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::user).collect()
    }

    async fn set_role(&self, id: UserId, role: Role, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
