//! Bots on PostgreSQL: their configuration, and the pages of active bots the engine fans
//! out to.

use async_trait::async_trait;
use nexus_core::ports::accounts::{
    BotFilter, BotRecord, BotStore, BotUsage, StrategyMarket, SubscribedBot,
};
use nexus_core::{BotId, StoreError, Timestamp, UserId};
use uuid::Uuid;

use super::PostgresStore;
use crate::codec;
use crate::error::classify;

macro_rules! bot_columns {
    () => {
        "id, user_id, name, exchange, symbol, interval, strategy,
    strategy_config::text AS strategy_config, gate::text AS gate, sizing::text AS sizing,
    pyramid::text AS pyramid, credential_id, paused, paused_reason"
    };
    (b) => {
        "b.id, b.user_id, b.name, b.exchange, b.symbol, b.interval, b.strategy,
    b.strategy_config::text AS strategy_config, b.gate::text AS gate, b.sizing::text AS sizing,
    b.pyramid::text AS pyramid, b.credential_id, b.paused, b.paused_reason"
    };
}

/// Inserts `bot` through `db` (the pool, or a transaction it belongs to).
pub(super) async fn insert_bot<'e>(
    db: impl sqlx::PgExecutor<'e>,
    bot: &BotRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    let json = codec::bot_json(bot)?;
    sqlx::query(
        "INSERT INTO bots (id, user_id, name, exchange, symbol, interval, strategy, strategy_config,
             gate, sizing, pyramid, credential_id, paused, paused_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9::jsonb, $10::jsonb, $11::jsonb, $12, $13, $15, $14, $14)",
    )
    .bind(bot.id.as_uuid())
    .bind(bot.user.as_uuid())
    .bind(&bot.name)
    .bind(bot.exchange.as_str())
    .bind(bot.symbol.to_string())
    .bind(bot.interval.as_str())
    .bind(&bot.strategy)
    .bind(&bot.strategy_config)
    .bind(json.gate)
    .bind(json.sizing)
    .bind(json.pyramid)
    .bind(bot.credential.map(|c| c.0))
    .bind(bot.paused)
    .bind(now)
    .bind(&bot.paused_reason)
    .execute(db)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Saves `bot`'s changes through `db`; `false` when its owner has no such bot.
pub(super) async fn update_bot_row<'e>(
    db: impl sqlx::PgExecutor<'e>,
    bot: &BotRecord,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let json = codec::bot_json(bot)?;
    let done = sqlx::query(
        "UPDATE bots SET name = $1, exchange = $2, symbol = $3, interval = $4, strategy = $5,
             strategy_config = $6::json, gate = $7::jsonb, sizing = $8::jsonb, pyramid = $9::jsonb,
             credential_id = $10, paused = $11, updated_at = $12, paused_reason = $15
         WHERE id = $13 AND user_id = $14",
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
    .bind(bot.credential.map(|c| c.0))
    .bind(bot.paused)
    .bind(now)
    .bind(bot.id.as_uuid())
    .bind(bot.user.as_uuid())
    .bind(&bot.paused_reason)
    .execute(db)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl BotStore for PostgresStore {
    async fn create_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<(), StoreError> {
        insert_bot(&self.pool, bot, now).await
    }

    async fn bot(&self, id: BotId) -> Result<Option<BotRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        row.as_ref().map(codec::bot).transpose()
    }

    async fn bots(&self, ids: &[BotId]) -> Result<Vec<BotRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            bot_columns!(),
            " FROM bots WHERE id = ANY($1)"
        ))
        .bind(ids.iter().map(|id| *id.as_uuid()).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::bot).collect()
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
             WHERE b.exchange = $1 AND b.symbol = $2 AND b.strategy = $3 AND NOT b.paused
                 AND ($4::text IS NULL OR b.interval = $4)
                 AND ($5::text IS NULL OR b.strategy_config::text = $5)
                 AND b.id > $6
             ORDER BY b.id LIMIT $7"
        ))
        .bind(filter.exchange.as_str())
        .bind(filter.symbol.to_string())
        .bind(filter.strategy)
        .bind(filter.interval.map(|i| i.as_str()))
        .bind(filter.strategy_config)
        .bind(after.map_or(Uuid::nil(), |a| *a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::subscribed_bot).collect()
    }

    async fn active_markets(&self) -> Result<Vec<StrategyMarket>, StoreError> {
        // A loose index scan of `bots_strategy_markets`: each step seeks the first entry
        // past the market before it, so the read grows with markets, not with bots.
        let rows = sqlx::query(
            "WITH RECURSIVE m AS (
                 (SELECT exchange, symbol, interval, strategy, strategy_config::text AS c
                  FROM bots WHERE NOT paused
                  ORDER BY exchange, symbol, interval, strategy, strategy_config::text LIMIT 1)
                 UNION ALL
                 SELECT n.* FROM m CROSS JOIN LATERAL (
                     SELECT exchange, symbol, interval, strategy, strategy_config::text AS c
                     FROM bots
                     WHERE NOT paused AND (exchange, symbol, interval, strategy,
                         strategy_config::text) > (m.exchange, m.symbol, m.interval,
                         m.strategy, m.c)
                     ORDER BY exchange, symbol, interval, strategy, strategy_config::text
                     LIMIT 1) n)
             SELECT exchange, symbol, interval, strategy, c AS strategy_config FROM m",
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
            " FROM bots WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(user.as_uuid())
        .bind(after.map_or(Uuid::nil(), |a| *a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::bot).collect()
    }

    async fn update_bot(&self, bot: &BotRecord, now: Timestamp) -> Result<bool, StoreError> {
        update_bot_row(&self.pool, bot, now).await
    }

    async fn delete_bot(&self, user: UserId, id: BotId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM bots WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn bot_usage(&self, user: UserId) -> Result<BotUsage, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS bots, COUNT(DISTINCT (exchange, symbol)) AS pairs
             FROM bots WHERE user_id = $1 AND paused = FALSE",
        )
        .bind(user.as_uuid())
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
            "UPDATE bots SET paused = $1, paused_reason = NULL, updated_at = $2
             WHERE id = $3 AND user_id = $4",
        )
        .bind(paused)
        .bind(now)
        .bind(id.as_uuid())
        .bind(user.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pause_bot(&self, id: BotId, reason: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE bots SET paused = true, paused_reason = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(reason)
        .bind(now)
        .bind(id.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }
}
