//! Bots' open positions on PostgreSQL (their history is read in `activity`).

use async_trait::async_trait;
use nexus_core::ports::accounts::PositionStore;
use nexus_core::{BotId, Position, Quantity, StoreError, Timestamp};
use uuid::Uuid;

use super::PostgresStore;
use super::bots::hold_bots;
use crate::codec;
use crate::error::classify;

pub(super) async fn save_position_in(
    e: impl sqlx::PgExecutor<'_>,
    bot: BotId,
    p: &Position,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO positions (id, bot_id, symbol, quantity, cost, initial_quantity, initial_cost,
             last_fill_price, last_fill_at, adds, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (bot_id) WHERE closed_at IS NULL DO UPDATE SET
             symbol = excluded.symbol, quantity = excluded.quantity, cost = excluded.cost,
             initial_quantity = excluded.initial_quantity, initial_cost = excluded.initial_cost,
             last_fill_price = excluded.last_fill_price, last_fill_at = excluded.last_fill_at,
             adds = excluded.adds",
    )
    .bind(Uuid::now_v7())
    .bind(bot.as_uuid())
    .bind(p.symbol().to_string())
    .bind(p.quantity().value())
    .bind(p.cost().value())
    .bind(p.initial_quantity().value())
    .bind(p.initial_cost().value())
    .bind(p.last_fill_price().value())
    .bind(p.last_fill_at())
    .bind(i32::try_from(p.adds()).unwrap_or(i32::MAX))
    .bind(now)
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Opens or updates many bots' positions in one statement (each bot at most once).
pub(super) async fn save_positions_in(
    tx: &mut sqlx::PgConnection,
    saves: &[(BotId, &Position)],
    now: Timestamp,
) -> Result<(), StoreError> {
    if saves.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO positions (id, bot_id, symbol, quantity, cost, initial_quantity, initial_cost,
             last_fill_price, last_fill_at, adds, opened_at)
         SELECT u.*, $11::timestamptz FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::numeric[],
             $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::timestamptz[],
             $10::int[]) AS u
         ON CONFLICT (bot_id) WHERE closed_at IS NULL DO UPDATE SET
             symbol = excluded.symbol, quantity = excluded.quantity, cost = excluded.cost,
             initial_quantity = excluded.initial_quantity, initial_cost = excluded.initial_cost,
             last_fill_price = excluded.last_fill_price, last_fill_at = excluded.last_fill_at,
             adds = excluded.adds",
    )
    .bind(saves.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(saves.iter().map(|(b, _)| *b.as_uuid()).collect::<Vec<_>>())
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.symbol().to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.quantity().value())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.cost().value())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.initial_quantity().value())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.initial_cost().value())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.last_fill_price().value())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| p.last_fill_at())
            .collect::<Vec<_>>(),
    )
    .bind(
        saves
            .iter()
            .map(|(_, p)| i32::try_from(p.adds()).unwrap_or(i32::MAX))
            .collect::<Vec<_>>(),
    )
    .bind(now)
    .execute(tx)
    .await
    .map_err(classify)?;
    Ok(())
}

pub(super) async fn close_position_in(
    e: impl sqlx::PgExecutor<'_>,
    bot: BotId,
    dust: Quantity,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE positions SET closed_at = $1, dust = $2 WHERE bot_id = $3 AND closed_at IS NULL",
    )
    .bind(now)
    .bind(dust.value())
    .bind(bot.as_uuid())
    .execute(e)
    .await
    .map_err(classify)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl PositionStore for PostgresStore {
    async fn open_position(&self, bot: BotId) -> Result<Option<Position>, StoreError> {
        let row = sqlx::query(
            "SELECT symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id = $1 AND closed_at IS NULL",
        )
        .bind(bot.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        match row {
            Some(row) => codec::open_position(&row, ""),
            None => Ok(None),
        }
    }

    async fn open_positions(&self, bots: &[BotId]) -> Result<Vec<(BotId, Position)>, StoreError> {
        let rows = sqlx::query(
            "SELECT bot_id, symbol, quantity, cost, initial_quantity, initial_cost, last_fill_price, last_fill_at, adds
             FROM positions WHERE bot_id = ANY($1) AND closed_at IS NULL",
        )
        .bind(bots.iter().map(|id| *id.as_uuid()).collect::<Vec<_>>())
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
        let mut tx = self.pool.begin().await.map_err(classify)?;
        if hold_bots(&mut tx, &[*bot.as_uuid()]).await?.is_empty() {
            // As from the foreign key this lock replaces (see `hold_bots`).
            return Err(StoreError::Conflict {
                constraint: "positions_bot_id_fkey".to_owned(),
            });
        }
        save_position_in(&mut *tx, bot, p, now).await?;
        tx.commit().await.map_err(classify)
    }

    async fn close_position(
        &self,
        bot: BotId,
        dust: Quantity,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        close_position_in(&self.pool, bot, dust, now).await
    }
}
