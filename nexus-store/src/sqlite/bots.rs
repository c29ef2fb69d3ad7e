//! Bots on SQLite: their configuration, and the pages of active bots the engine fans out to.

use std::collections::HashMap;

use async_trait::async_trait;
use nexus_core::ports::accounts::{
    BotFilter, BotRecord, BotStore, BotUsage, StrategyMarket, SubscribedBot,
};
use nexus_core::ports::credentials::CredentialId;
use nexus_core::{BotId, StoreError, Timestamp, UserId};

use super::{SqliteStore, ms};
use crate::codec;
use crate::error::{classify, corrupt};

macro_rules! bot_columns {
    () => {
        "id, user_id, name, exchange, symbol, interval, strategy, strategy_config,
    gate, sizing, pyramid, credential_id, paused, paused_reason"
    };
    (b) => {
        "b.id, b.user_id, b.name, b.exchange, b.symbol, b.interval, b.strategy, b.strategy_config,
    b.gate, b.sizing, b.pyramid, b.credential_id, b.paused, b.paused_reason"
    };
}

/// Inserts `bot` through `db` (the pool, or a transaction it belongs to).
pub(super) async fn insert_bot<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    bot: &BotRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    let json = codec::bot_json(bot)?;
    sqlx::query(
        "INSERT INTO bots (id, user_id, name, exchange, symbol, interval, strategy, strategy_config,
             gate, sizing, pyramid, credential_id, paused, paused_reason, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15, ?14, ?14)",
    )
    .bind(bot.id.to_string())
    .bind(bot.user.to_string())
    .bind(&bot.name)
    .bind(bot.exchange.as_str())
    .bind(bot.symbol.to_string())
    .bind(bot.interval.as_str())
    .bind(&bot.strategy)
    .bind(&bot.strategy_config)
    .bind(json.gate)
    .bind(json.sizing)
    .bind(json.pyramid)
    .bind(bot.credential.map(|c| c.0.to_string()))
    .bind(bot.paused)
    .bind(ms(now))
    .bind(&bot.paused_reason)
    .execute(db)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Saves `bot`'s changes through `db`; `false` when its owner has no such bot.
pub(super) async fn update_bot_row<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    bot: &BotRecord,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let json = codec::bot_json(bot)?;
    let done = sqlx::query(
        "UPDATE bots SET name = ?1, exchange = ?2, symbol = ?3, interval = ?4, strategy = ?5,
             strategy_config = ?6, gate = ?7, sizing = ?8, pyramid = ?9, credential_id = ?10,
             paused = ?11, updated_at = ?12, paused_reason = ?15
         WHERE id = ?13 AND user_id = ?14",
    )
    .bind(&bot.name)
    .bind(bot.exchange.as_str())
    .bind(bot.symbol.to_string())
    .bind(bot.interval.as_str())
    .bind(&bot.strategy)
    .bind(&bot.strategy_config)
    .bind(json.gate)
    .bind(json.sizing)
    .bind(json.pyramid)
    .bind(bot.credential.map(|c| c.0.to_string()))
    .bind(bot.paused)
    .bind(ms(now))
    .bind(bot.id.to_string())
    .bind(bot.user.to_string())
    .bind(&bot.paused_reason)
    .execute(db)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl BotStore for SqliteStore {
    async fn create_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<(), StoreError> {
        insert_bot(&self.writer, bot, now).await
    }

    async fn bot(&self, id: BotId) -> Result<Option<BotRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::bot).transpose()
    }

    async fn bot_keys(
        &self,
        ids: &[BotId],
    ) -> Result<HashMap<BotId, Option<CredentialId>>, StoreError> {
        let ids = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| corrupt("bot ids", e))?;
        let rows = sqlx::query(
            "SELECT id, credential_id FROM bots WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::bot_key).collect()
    }

    async fn active_bots(
        &self,
        filter: &BotFilter<'_>,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<SubscribedBot>, StoreError> {
        // One query per page: the bot, its open position and its owner's plan limit
        // (no plan in force: the free plan).
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(b),
            ", p.symbol AS p_symbol, p.quantity AS p_quantity, p.cost AS p_cost,
                 p.initial_quantity AS p_initial_quantity, p.initial_cost AS p_initial_cost,
                 p.last_fill_price AS p_last_fill_price, p.last_fill_at AS p_last_fill_at,
                 p.adds AS p_adds, pl.max_order_notional
             FROM bots b
             LEFT JOIN positions p ON p.bot_id = b.id AND p.closed_at IS NULL
             LEFT JOIN subscriptions s ON s.user_id = b.user_id
             LEFT JOIN plans pl ON pl.id = COALESCE(s.effective_plan, 'free')
             WHERE b.exchange = ?1 AND b.symbol = ?2 AND b.strategy = ?3 AND b.paused = 0
                 AND (?4 IS NULL OR b.interval = ?4)
                 AND (?5 IS NULL OR b.strategy_config = ?5)
                 AND b.id > ?6
             ORDER BY b.id LIMIT ?7"
        ))
        .bind(filter.exchange.as_str())
        .bind(filter.symbol.to_string())
        .bind(filter.strategy)
        .bind(filter.interval.map(|i| i.as_str()))
        .bind(filter.strategy_config)
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::subscribed_bot).collect()
    }

    async fn active_markets(&self) -> Result<Vec<StrategyMarket>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT exchange, symbol, interval, strategy, strategy_config
             FROM bots WHERE paused = 0
             ORDER BY exchange, symbol, interval, strategy, strategy_config",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::strategy_market).collect()
    }

    async fn user_bots(
        &self,
        user: UserId,
        after: Option<BotId>,
        limit: u32,
    ) -> Result<Vec<BotRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        ))
        .bind(user.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::bot).collect()
    }

    async fn update_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<bool, StoreError> {
        update_bot_row(&self.writer, bot, now).await
    }

    async fn delete_bot(&self, user: UserId, id: BotId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM bots WHERE id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn bot_usage(&self, user: UserId) -> Result<BotUsage, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS bots, COUNT(DISTINCT exchange || ' ' || symbol) AS pairs
             FROM bots WHERE user_id = ? AND paused = 0",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(classify)?;
        codec::bot_usage(&row)
    }

    async fn set_paused(
        &self,
        user: UserId,
        id: BotId,
        paused: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE bots SET paused = ?, paused_reason = NULL, updated_at = ?
             WHERE id = ? AND user_id = ?",
        )
        .bind(paused)
        .bind(ms(now))
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pause_bot(&self, id: BotId, reason: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE bots SET paused = 1, paused_reason = ?, updated_at = ? WHERE id = ?",
        )
        .bind(reason)
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
