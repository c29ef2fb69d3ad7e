//! Bots' open positions on SQLite (their history is read in `activity`).

use async_trait::async_trait;
use nexus_core::ports::accounts::PositionStore;
use nexus_core::{BotId, Position, Quantity, StoreError, Timestamp};
use uuid::Uuid;

use super::{SqliteStore, dec, ms};
use crate::codec;
use crate::error::{classify, corrupt};

pub(super) async fn save_position_in(
    e: impl sqlx::SqliteExecutor<'_>,
    bot: BotId,
    p: &Position,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO positions (id, bot_id, symbol, quantity, cost, initial_quantity, initial_cost,
             last_fill_price, last_fill_at, adds, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (bot_id) WHERE closed_at IS NULL DO UPDATE SET
             symbol = excluded.symbol, quantity = excluded.quantity, cost = excluded.cost,
             initial_quantity = excluded.initial_quantity, initial_cost = excluded.initial_cost,
             last_fill_price = excluded.last_fill_price, last_fill_at = excluded.last_fill_at,
             adds = excluded.adds",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(bot.to_string())
    .bind(p.symbol().to_string())
    .bind(dec(p.quantity().value()))
    .bind(dec(p.cost().value()))
    .bind(dec(p.initial_quantity().value()))
    .bind(dec(p.initial_cost().value()))
    .bind(dec(p.last_fill_price().value()))
    .bind(ms(p.last_fill_at()))
    .bind(i64::from(p.adds()))
    .bind(ms(now))
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(())
}

pub(super) async fn close_position_in(
    e: impl sqlx::SqliteExecutor<'_>,
    bot: BotId,
    dust: Quantity,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE positions SET closed_at = ?, dust = ? WHERE bot_id = ? AND closed_at IS NULL",
    )
    .bind(ms(now))
    .bind(dec(dust.value()))
    .bind(bot.to_string())
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl PositionStore for SqliteStore {
    async fn open_position(&self, bot: BotId) -> Result<Option<Position>, StoreError> {
        let row = sqlx::query(
            "SELECT symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id = ? AND closed_at IS NULL",
        )
        .bind(bot.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        match row {
            Some(row) => codec::open_position(&row, ""),
            None => Ok(None),
        }
    }

    async fn open_positions(&self, bots: &[BotId]) -> Result<Vec<(BotId, Position)>, StoreError> {
        let ids = serde_json::to_string(&bots.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| corrupt("bot ids", e))?;
        let rows = sqlx::query(
            "SELECT bot_id, symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id IN (SELECT value FROM json_each(?)) AND closed_at IS NULL",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(position) = codec::open_position(row, "")? {
                out.push((codec::position_bot(row)?, position));
            }
        }
        Ok(out)
    }

    async fn save_position(
        &self,
        bot: BotId,
        p: &Position,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        save_position_in(&self.writer, bot, p, now).await
    }

    async fn close_position(
        &self,
        bot: BotId,
        dust: Quantity,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        close_position_in(&self.writer, bot, dust, now).await
    }
}
