//! Bots on PostgreSQL: their configuration, and the pages of active bots the engine fans
//! out to.

use std::collections::HashMap;

use async_trait::async_trait;
use nexus_core::ports::accounts::{
    BotFilter, BotRecord, BotStore, BotUsage, StrategyMarket, SubscribedBot,
};
use nexus_core::ports::credentials::CredentialId;
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

/// The first key of the bots' advisory locks (the second is the hash of the schema and
/// the bot's id): apart from the Paper accounts' and the leader election's.
const BOT_LOCKS: i32 = 0x424F_5453;

/// The second key of a bot's advisory lock, for the bot id in `$n`.
macro_rules! bot_lock_key {
    ($id:literal) => {
        concat!("hashtext(current_schema() || ':' || ", $id, "::text)")
    };
}

/// Holds `bots` against deletion until the transaction ends (shared advisory locks, taken
/// in key order) and returns those that exist. Orders, positions and fills have no
/// foreign key to their bot (migration 0020): each key check probed the bot and locked its
/// row (`FOR KEY SHARE`, a write of the row and of the log) for every order, fill and
/// position. Their writers hold the bots this way instead, and `delete_bot` takes the same
/// lock exclusively and deletes the bot's rows itself.
pub(super) async fn hold_bots(
    tx: &mut sqlx::PgConnection,
    bots: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    sqlx::query(concat!(
        "SELECT count(pg_advisory_xact_lock_shared($1, k)) FROM (
             SELECT DISTINCT ",
        bot_lock_key!("b"),
        " AS k FROM UNNEST($2::uuid[]) AS b ORDER BY k) s"
    ))
    .bind(BOT_LOCKS)
    .bind(bots)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    // A statement of its own, after the locks: it sees a deletion that committed while
    // they were awaited.
    let found: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM bots WHERE id = ANY($1)")
        .bind(bots)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
    Ok(found.into_iter().collect())
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

    async fn bot_keys(
        &self,
        ids: &[BotId],
    ) -> Result<HashMap<BotId, Option<CredentialId>>, StoreError> {
        let rows = sqlx::query("SELECT id, credential_id FROM bots WHERE id = ANY($1)")
            .bind(ids.iter().map(|id| *id.as_uuid()).collect::<Vec<_>>())
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
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // Exclusive against every writer holding the bot (`hold_bots`): none is between
        // its check that the bot exists and its commit, so nothing is left behind.
        sqlx::query(concat!(
            "SELECT pg_advisory_xact_lock($1, ",
            bot_lock_key!("$2::uuid"),
            ")"
        ))
        .bind(BOT_LOCKS)
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        let owned: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM bots WHERE id = $1 AND user_id = $2")
                .bind(id.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
        if owned.is_none() {
            return Ok(false);
        }
        // What has no foreign key to the bot goes first (see `hold_bots`); the rest of
        // its rows (skips, out-of-sync records) by the keys' cascade.
        for sql in [
            "DELETE FROM fills WHERE order_id IN (SELECT id FROM orders WHERE bot_id = $1)",
            "DELETE FROM orders WHERE bot_id = $1",
            "DELETE FROM positions WHERE bot_id = $1",
            "DELETE FROM bots WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(true)
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
