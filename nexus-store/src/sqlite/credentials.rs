//! Exchange credentials on SQLite: sealed by the vault, listed masked, and re-encrypted
//! when the master key rotates.

use async_trait::async_trait;
use nexus_core::ports::credentials::{
    ApiCredentials, CredentialId, CredentialInfo, CredentialStore, mask,
};
use nexus_core::{ExchangeId, KeyPermissions, StoreError, Timestamp, UserId};
use uuid::Uuid;

use super::{SqliteStore, ms};
use crate::codec;
use crate::common::{credential_context, open_credentials, seal_credentials};
use crate::error::{classify, corrupt};

macro_rules! credential_columns {
    () => {
        "id, user_id, exchange, label, masked_key, can_read, can_trade, can_withdraw, created_at"
    };
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn add_credentials(
        &self,
        user: UserId,
        exchange: ExchangeId,
        label: &str,
        credentials: &ApiCredentials,
        permissions: KeyPermissions,
        now: Timestamp,
    ) -> Result<CredentialInfo, StoreError> {
        let id = CredentialId(Uuid::new_v4());
        let sealed = seal_credentials(
            &self.keys,
            credentials,
            &credential_context(id, user, exchange),
        )?;
        let row = sqlx::query(concat!("INSERT INTO exchange_credentials (id, user_id, exchange, label, masked_key, key_id, nonce,
                 ciphertext, can_read, can_trade, can_withdraw, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
             RETURNING ", credential_columns!()))
        .bind(id.0.to_string())
        .bind(user.to_string())
        .bind(exchange.as_str())
        .bind(label)
        .bind(mask(&credentials.api_key))
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(permissions.read)
        .bind(permissions.trade)
        .bind(permissions.withdraw)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(classify)?;
        codec::credential_info(&row)
    }

    async fn list_credentials(&self, user: UserId) -> Result<Vec<CredentialInfo>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM exchange_credentials WHERE user_id = ? ORDER BY created_at, id"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::credential_info).collect()
    }

    async fn credentials(
        &self,
        user: UserId,
        id: CredentialId,
    ) -> Result<Option<ApiCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, exchange, key_id, nonce, ciphertext FROM exchange_credentials WHERE id = ? AND user_id = ?",
        )
        .bind(id.0.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        let Some(row) = row else { return Ok(None) };
        let stored = codec::sealed_credentials(&row)?;
        open_credentials(&self.keys, &stored.sealed, &stored.context).map(Some)
    }

    async fn delete_credentials(&self, user: UserId, id: CredentialId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM exchange_credentials WHERE id = ? AND user_id = ?")
            .bind(id.0.to_string())
            .bind(user.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}

/// Re-encrypts up to `batch` rows under the current key. Each row is updated only if its
/// key id did not change meanwhile, so concurrent rotations cannot clobber each other.
pub(super) async fn rotate_keys(
    store: &SqliteStore,
    batch: u32,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT id, user_id, exchange, key_id, nonce, ciphertext FROM exchange_credentials
         WHERE key_id <> ? LIMIT ?",
    )
    .bind(store.keys.current_id())
    .bind(i64::from(batch))
    .fetch_all(&store.pool)
    .await
    .map_err(classify)?;
    let mut rotated = 0;
    for row in rows {
        let codec::SealedCredentials {
            id,
            context,
            sealed: old,
        } = codec::sealed_credentials(&row)?;
        let plain = store
            .keys
            .open(&old, &context)
            .map_err(|e| corrupt("exchange credentials", e))?;
        let new = store
            .keys
            .seal(&plain, &context)
            .map_err(|e| corrupt("exchange credentials", e))?;
        rotated += sqlx::query(
            "UPDATE exchange_credentials SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = ?
             WHERE id = ? AND key_id = ?",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(ms(now))
        .bind(id.0.to_string())
        .bind(&old.key_id)
        .execute(&store.writer)
        .await
        .map_err(classify)?
        .rows_affected();
    }
    Ok(rotated)
}
