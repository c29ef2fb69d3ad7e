//! Alert preferences and the daily summary's reads on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use nexus_core::ports::alerts::{
    AlertEvent, AlertPreferences, AlertStore, BotDay, SummaryRecipient, WebhookTarget,
};
use nexus_core::{Secret, StoreError, Timestamp, UserId};
use sqlx::Row;

use super::{SqliteStore, ms};
use crate::alerts::{FILL_CLOCK_SKEW, assemble_days, new_secret, open_secret};
use crate::codec;
use crate::common::parse;
use crate::error::{classify, corrupt};

macro_rules! preference_columns {
    () => {
        "email_fills, email_gate_blocks, email_errors, email_daily_summary, webhook_url, \
         webhook_events, webhook_key_id, webhook_nonce, webhook_secret"
    };
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn alert_preferences(&self, user: UserId) -> Result<AlertPreferences, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            preference_columns!(),
            " FROM alert_preferences WHERE user_id = ?"
        ))
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref()
            .map_or_else(|| Ok(AlertPreferences::default()), codec::alert_preferences)
    }

    async fn set_alert_preferences(
        &self,
        user: UserId,
        preferences: &AlertPreferences,
        now: Timestamp,
    ) -> Result<Option<Secret>, StoreError> {
        // Read and written in one transaction on the one writer: the URL compared is the
        // URL replaced.
        let mut tx = self.writer.begin().await.map_err(classify)?;
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT webhook_url FROM alert_preferences WHERE user_id = ?")
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
        let stored = stored.flatten();
        let (secret, sealed) = match &preferences.webhook_url {
            Some(url) if stored.as_deref() != Some(url.as_str()) => {
                let (secret, sealed) = new_secret(&self.keys, user)?;
                (Some(secret), Some(sealed))
            }
            _ => (None, None),
        };
        let keep = preferences.webhook_url.is_some() && sealed.is_none();
        sqlx::query(
            "INSERT INTO alert_preferences (user_id, updated_at) VALUES (?, ?)
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query(
            "UPDATE alert_preferences SET
                 email_fills = ?2, email_gate_blocks = ?3, email_errors = ?4,
                 email_daily_summary = ?5, webhook_url = ?6, webhook_events = ?7,
                 webhook_key_id = CASE WHEN ?12 THEN webhook_key_id ELSE ?8 END,
                 webhook_nonce = CASE WHEN ?12 THEN webhook_nonce ELSE ?9 END,
                 webhook_secret = CASE WHEN ?12 THEN webhook_secret ELSE ?10 END,
                 updated_at = ?11
             WHERE user_id = ?1",
        )
        .bind(user.to_string())
        .bind(preferences.email.fills)
        .bind(preferences.email.gate_blocks)
        .bind(preferences.email.errors)
        .bind(preferences.email.daily_summary)
        .bind(preferences.webhook_url.as_deref())
        .bind(preferences.events_text())
        .bind(sealed.as_ref().map(|s| s.key_id.clone()))
        .bind(sealed.as_ref().map(|s| s.nonce.clone()))
        .bind(sealed.as_ref().map(|s| s.ciphertext.clone()))
        .bind(ms(now))
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(secret)
    }

    async fn webhook_target(&self, user: UserId) -> Result<Option<WebhookTarget>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            preference_columns!(),
            " FROM alert_preferences WHERE user_id = ? AND webhook_url IS NOT NULL"
        ))
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        let Some(row) = row else { return Ok(None) };
        let preferences = codec::alert_preferences(&row)?;
        let sealed = codec::sealed_webhook(&row)?
            .ok_or_else(|| corrupt("webhook secret", "a webhook URL without its secret"))?;
        let secret = open_secret(&self.keys, user, &sealed)?;
        Ok(preferences.webhook_url.map(|url| WebhookTarget {
            url,
            secret,
            events: preferences.webhook_events,
        }))
    }

    async fn alert_preferences_of(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, AlertPreferences>, StoreError> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = users.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(concat!(
            "SELECT user_id, ",
            preference_columns!(),
            " FROM alert_preferences WHERE user_id IN (SELECT value FROM json_each(?))"
        ))
        .bind(serde_json::to_string(&ids).map_err(|e| corrupt("user ids", e))?)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        let mut stored = HashMap::new();
        for row in &rows {
            let user: String = row.get("user_id");
            stored.insert(parse("user id", &user)?, codec::alert_preferences(row)?);
        }
        Ok(crate::common::with_defaults(users, stored))
    }

    async fn alert_recipients(
        &self,
        users: &[UserId],
        event: AlertEvent,
    ) -> Result<Vec<UserId>, StoreError> {
        let preferences = self.alert_preferences_of(users).await?;
        Ok(crate::common::wanting(&preferences, event))
    }

    async fn summary_recipients(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<SummaryRecipient>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.user_id, u.email FROM alert_preferences p JOIN users u ON u.id = p.user_id
             WHERE p.email_daily_summary = 1 AND p.user_id > ? ORDER BY p.user_id LIMIT ?",
        )
        .bind(after.map_or_else(String::new, |u| u.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::summary_recipient).collect()
    }

    async fn day_activity(
        &self,
        user: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<BotDay>, StoreError> {
        let user = user.to_string();
        let updated_since = ms(from - FILL_CLOCK_SKEW);
        let (from, to) = (ms(from), ms(to));
        let bots = sqlx::query("SELECT id, name, exchange, symbol FROM bots WHERE user_id = ?")
            .bind(&user)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        let orders = sqlx::query(
            "SELECT o.bot_id, o.status, COUNT(*) AS n FROM bots b JOIN orders o ON o.bot_id = b.id
             WHERE b.user_id = ?1 AND o.created_at >= ?2 AND o.created_at < ?3
             GROUP BY o.bot_id, o.status",
        )
        .bind(&user)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        let fills = sqlx::query(
            "SELECT o.bot_id, o.side, f.quantity, f.price, f.fee, f.fee_asset
             FROM bots b JOIN orders o ON o.bot_id = b.id JOIN fills f ON f.order_id = o.id
             WHERE b.user_id = ?1 AND f.filled_at >= ?2 AND f.filled_at < ?3
               AND o.updated_at >= ?4",
        )
        .bind(&user)
        .bind(from)
        .bind(to)
        .bind(updated_since)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        let skips = sqlx::query(
            "SELECT s.bot_id, s.reason, COUNT(*) AS n FROM bots b JOIN skips s ON s.bot_id = b.id
             WHERE b.user_id = ?1 AND s.at >= ?2 AND s.at < ?3 GROUP BY s.bot_id, s.reason",
        )
        .bind(&user)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        Ok(assemble_days(
            bots.iter().map(codec::day_bot).collect::<Result<_, _>>()?,
            orders
                .iter()
                .map(codec::day_order)
                .collect::<Result<_, _>>()?,
            fills
                .iter()
                .map(codec::day_fill)
                .collect::<Result<_, _>>()?,
            skips
                .iter()
                .map(codec::day_skips)
                .collect::<Result<_, _>>()?,
        ))
    }
}

/// Re-seals up to `batch` webhook secrets still under an old master key.
pub(super) async fn rotate_keys(
    store: &SqliteStore,
    batch: u32,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id, webhook_key_id, webhook_nonce, webhook_secret FROM alert_preferences
         WHERE webhook_key_id IS NOT NULL AND webhook_key_id <> ? LIMIT ?",
    )
    .bind(store.keys.current_id())
    .bind(i64::from(batch))
    .fetch_all(&store.pool)
    .await
    .map_err(classify)?;
    let mut rotated = 0;
    for row in rows {
        let user: UserId = crate::common::parse("user id", row.get::<&str, _>("user_id"))?;
        let Some(old) = codec::sealed_webhook(&row)? else {
            continue;
        };
        let context = crate::alerts::webhook_context(user);
        let plain = store
            .keys
            .open(&old, &context)
            .map_err(|e| corrupt("webhook secret", e))?;
        let new = store
            .keys
            .seal(&plain, &context)
            .map_err(|e| corrupt("webhook secret", e))?;
        rotated += sqlx::query(
            "UPDATE alert_preferences SET webhook_key_id = ?, webhook_nonce = ?, webhook_secret = ?,
                 updated_at = ? WHERE user_id = ? AND webhook_key_id = ?",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(ms(now))
        .bind(user.to_string())
        .bind(&old.key_id)
        .execute(&store.writer)
        .await
        .map_err(classify)?
        .rows_affected();
    }
    Ok(rotated)
}
