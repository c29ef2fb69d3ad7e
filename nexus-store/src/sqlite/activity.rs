//! Orders, fills, skips and position history on SQLite.

use async_trait::async_trait;
use nexus_core::ports::activity::{
    ActivityStore, Execution, FillRecord, OrderRecord, Page, PositionChange, PositionRecord,
    SkipRecord,
};
use nexus_core::ports::jobs::NewJob;
use nexus_core::{BotId, StoreError, Timestamp, UserId};
use sqlx::Row;
use uuid::Uuid;

use super::positions::{close_position_in, save_position_in};
use super::{SqliteStore, dec, ms};
use crate::codec;
use crate::error::{classify, corrupt};

fn limit(page: &Page<impl Sized>) -> i64 {
    i64::from(page.limit.clamp(1, 1000))
}

/// The start of an insert of orders from a JSON array of [`order_rows`].
///
/// The engine's batch inserts (orders, fills, positions, Paper orders and balances, jobs)
/// read their rows from `json_each` through a materialised `r`: with `value ->> 'x'`
/// straight from `json_each`, SQLite turned the row's JSON back into text for every column
/// read (19 times a row here), the largest part of the writer's time in these statements.
/// Statements of a few short columns off that path keep the plain form.
macro_rules! insert_orders {
    () => {
        "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))
         INSERT INTO orders (id, bot_id, user_id, signal_id, client_order_id, exchange, symbol,
             side, order_type, quantity, limit_price, level, status, venue_order_id,
             filled_quantity, average_price, error, created_at, updated_at)
         SELECT v ->> 'id', v ->> 'bot', v ->> 'user', v ->> 'signal',
             v ->> 'coid', v ->> 'exchange', v ->> 'symbol', v ->> 'side',
             v ->> 'type', v ->> 'qty', v ->> 'limit', v ->> 'level',
             v ->> 'status', v ->> 'venue_id', v ->> 'filled', v ->> 'avg',
             v ->> 'error', v ->> 'created', v ->> 'updated'
         FROM r WHERE true"
    };
}

/// `orders` as one JSON array, for [`insert_orders!`].
fn order_rows<'a>(orders: impl Iterator<Item = &'a OrderRecord>) -> String {
    let rows: Vec<serde_json::Value> = orders
        .map(|o| {
            serde_json::json!({
                "id": o.id.to_string(), "bot": o.bot.to_string(), "user": o.user.to_string(),
                "signal": o.signal.to_string(), "coid": o.client_order_id.as_str(),
                "exchange": o.exchange.as_str(), "symbol": o.symbol.to_string(),
                "side": o.side.as_str(),
                "type": codec::order_type_name(o.order_type),
                "qty": dec(o.quantity.value()),
                "limit": o.limit_price.map(|p| dec(p.value())),
                "level": o.level, "status": o.state.as_str(),
                "venue_id": o.venue_order_id, "filled": dec(o.filled_quantity.value()),
                "avg": o.average_price.map(|p| dec(p.value())), "error": o.error,
                "created": ms(o.created_at), "updated": ms(o.updated_at),
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Records `executions` (of bots that exist) in `tx`: a few statements for the whole
/// batch, the orders, the fills (returning those that were new), then the positions those
/// fills move.
async fn record_executions_in(
    tx: &mut sqlx::SqliteConnection,
    executions: &[Execution],
    now: Timestamp,
) -> Result<Vec<bool>, StoreError> {
    if executions.is_empty() {
        return Ok(Vec::new());
    }
    // Each order as the venue left it: inserted, or updated where an earlier attempt
    // recorded it.
    sqlx::query(concat!(
        insert_orders!(),
        " ON CONFLICT (exchange, client_order_id) DO UPDATE SET
             status = excluded.status, venue_order_id = excluded.venue_order_id,
             filled_quantity = excluded.filled_quantity,
             average_price = excluded.average_price, error = excluded.error,
             updated_at = excluded.updated_at"
    ))
    .bind(order_rows(executions.iter().map(|x| &x.order)))
    .execute(&mut *tx)
    .await
    .map_err(classify)?;

    let fills: Vec<serde_json::Value> = executions
        .iter()
        .filter_map(|x| x.fill.as_ref())
        .map(|f| {
            serde_json::json!({
                "order": f.order.to_string(), "trade": f.venue_trade_id,
                "qty": dec(f.quantity.value()), "price": dec(f.price.value()),
                "fee": dec(f.fee.value()), "fee_asset": f.fee_asset.map(|a| a.as_str().to_owned()),
                "at": ms(f.filled_at),
            })
        })
        .collect();
    let fresh: std::collections::HashSet<(String, String)> = if fills.is_empty() {
        std::collections::HashSet::new()
    } else {
        sqlx::query(
            "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))
             INSERT INTO fills (order_id, venue_trade_id, quantity, price, fee, fee_asset, filled_at)
             SELECT v ->> 'order', v ->> 'trade', v ->> 'qty', v ->> 'price',
                 v ->> 'fee', v ->> 'fee_asset', v ->> 'at'
             FROM r WHERE true
             ON CONFLICT (order_id, venue_trade_id) DO NOTHING
             RETURNING order_id, venue_trade_id",
        )
        .bind(serde_json::Value::Array(fills).to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?
        .iter()
        .map(|r| (r.get("order_id"), r.get("venue_trade_id")))
        .collect()
    };
    let new: Vec<bool> = executions
        .iter()
        .map(|x| {
            x.fill
                .as_ref()
                .is_some_and(|f| fresh.contains(&(f.order.to_string(), f.venue_trade_id.clone())))
        })
        .collect();

    // Only a new fill moves its position.
    let (moves, distinct) = crate::common::position_moves(executions, &new);
    if distinct {
        let mut saves = Vec::new();
        let mut closes = Vec::new();
        for (bot, change) in &moves {
            match change {
                PositionChange::Save(p) => saves.push(serde_json::json!({
                    "id": Uuid::now_v7().to_string(), "bot": bot.to_string(),
                    "symbol": p.symbol().to_string(), "qty": dec(p.quantity().value()),
                    "cost": dec(p.cost().value()),
                    "initial_qty": dec(p.initial_quantity().value()),
                    "initial_cost": dec(p.initial_cost().value()),
                    "last_price": dec(p.last_fill_price().value()),
                    "last_at": ms(p.last_fill_at()), "adds": p.adds(),
                })),
                PositionChange::Close { dust } => closes.push(serde_json::json!({
                    "bot": bot.to_string(), "dust": dec(dust.value()),
                })),
            }
        }
        if !saves.is_empty() {
            sqlx::query(
                "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?1))
                 INSERT INTO positions (id, bot_id, symbol, quantity, cost, initial_quantity,
                     initial_cost, last_fill_price, last_fill_at, adds, opened_at)
                 SELECT v ->> 'id', v ->> 'bot', v ->> 'symbol', v ->> 'qty',
                     v ->> 'cost', v ->> 'initial_qty', v ->> 'initial_cost',
                     v ->> 'last_price', v ->> 'last_at', v ->> 'adds', ?2
                 FROM r WHERE true
                 ON CONFLICT (bot_id) WHERE closed_at IS NULL DO UPDATE SET
                     symbol = excluded.symbol, quantity = excluded.quantity, cost = excluded.cost,
                     initial_quantity = excluded.initial_quantity, initial_cost = excluded.initial_cost,
                     last_fill_price = excluded.last_fill_price, last_fill_at = excluded.last_fill_at,
                     adds = excluded.adds",
            )
            .bind(serde_json::Value::Array(saves).to_string())
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        if !closes.is_empty() {
            sqlx::query(
                "UPDATE positions SET closed_at = ?1, dust = u.dust
                 FROM (SELECT value ->> 'bot' AS bot, value ->> 'dust' AS dust
                       FROM json_each(?2)) AS u
                 WHERE positions.bot_id = u.bot AND positions.closed_at IS NULL",
            )
            .bind(ms(now))
            .bind(serde_json::Value::Array(closes).to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
    } else {
        // One bot moved twice in a batch (two signals close together): in order.
        for (bot, change) in moves {
            match change {
                PositionChange::Save(p) => save_position_in(&mut *tx, bot, p, now).await?,
                PositionChange::Close { dust } => {
                    close_position_in(&mut *tx, bot, *dust, now).await?;
                }
            }
        }
    }
    Ok(new)
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record_order(&self, o: &OrderRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO orders (id, bot_id, user_id, signal_id, client_order_id, exchange, symbol, side,
                 order_type, quantity, limit_price, level, status, venue_order_id, filled_quantity,
                 average_price, error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (exchange, client_order_id) DO NOTHING",
        )
        .bind(o.id.to_string())
        .bind(o.bot.to_string())
        .bind(o.user.to_string())
        .bind(o.signal.to_string())
        .bind(o.client_order_id.as_str())
        .bind(o.exchange.as_str())
        .bind(o.symbol.to_string())
        .bind(o.side.as_str())
        .bind(codec::order_type_name(o.order_type))
        .bind(dec(o.quantity.value()))
        .bind(o.limit_price.map(|p| dec(p.value())))
        .bind(i64::from(o.level))
        .bind(o.state.as_str())
        .bind(o.venue_order_id.as_deref())
        .bind(dec(o.filled_quantity.value()))
        .bind(o.average_price.map(|p| dec(p.value())))
        .bind(o.error.as_deref())
        .bind(ms(o.created_at))
        .bind(ms(o.updated_at))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn update_order(&self, o: &OrderRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET status = ?, venue_order_id = ?, filled_quantity = ?, average_price = ?,
                 error = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(o.state.as_str())
        .bind(o.venue_order_id.as_deref())
        .bind(dec(o.filled_quantity.value()))
        .bind(o.average_price.map(|p| dec(p.value())))
        .bind(o.error.as_deref())
        .bind(ms(o.updated_at))
        .bind(o.id.to_string())
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_fill(&self, f: &FillRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO fills (order_id, venue_trade_id, quantity, price, fee, fee_asset, filled_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (order_id, venue_trade_id) DO NOTHING",
        )
        .bind(f.order.to_string())
        .bind(&f.venue_trade_id)
        .bind(dec(f.quantity.value()))
        .bind(dec(f.price.value()))
        .bind(dec(f.fee.value()))
        .bind(f.fee_asset.map(|a| a.as_str().to_owned()))
        .bind(ms(f.filled_at))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_skip(&self, s: &SkipRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO skips (bot_id, signal_id, reason, detail, at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(s.bot.to_string())
        .bind(s.signal.to_string())
        .bind(&s.reason)
        .bind(&s.detail)
        .bind(ms(s.at))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn record_orders(&self, orders: &[OrderRecord]) -> Result<Vec<bool>, StoreError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the batch: the rows go in as one JSON array.
        let new: std::collections::HashSet<(String, String)> = sqlx::query(concat!(
            insert_orders!(),
            " ON CONFLICT (exchange, client_order_id) DO NOTHING
             RETURNING exchange, client_order_id"
        ))
        .bind(order_rows(orders.iter()))
        .fetch_all(&self.writer)
        .await
        .map_err(classify)?
        .iter()
        .map(|r| (r.get("exchange"), r.get("client_order_id")))
        .collect();
        Ok(crate::common::newly_recorded(orders, &new))
    }

    async fn record_executions(
        &self,
        executions: &[Execution],
        follow_up: Option<&NewJob>,
        now: Timestamp,
    ) -> Result<Vec<bool>, StoreError> {
        if executions.is_empty() && follow_up.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)?;
        // A bot deleted while its order was at the venue took its history with it: its
        // execution is not recorded, the rest of the batch is (the one writer holds them).
        let bots: Vec<String> = executions.iter().map(|x| x.order.bot.to_string()).collect();
        let found: std::collections::HashSet<String> =
            sqlx::query_scalar("SELECT id FROM bots WHERE id IN (SELECT value FROM json_each(?))")
                .bind(serde_json::Value::from(bots).to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?
                .into_iter()
                .collect();
        let kept = crate::common::of_bots(executions, |bot| found.contains(&bot.to_string()));
        let new = record_executions_in(&mut tx, kept.executions(executions), now).await?;
        if let Some(job) = follow_up {
            super::jobs::insert(&mut tx, job, now).await?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(kept.spread(new))
    }

    async fn record_skips(&self, skips: &[SkipRecord]) -> Result<(), StoreError> {
        // One transaction (taking the write lock up front, as every writer here does): one
        // commit for the page instead of one per skip.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)?;
        for s in skips {
            sqlx::query(
                "INSERT INTO skips (bot_id, signal_id, reason, detail, at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(s.bot.to_string())
            .bind(s.signal.to_string())
            .bind(&s.reason)
            .bind(&s.detail)
            .bind(ms(s.at))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn orders(&self, ids: &[Uuid]) -> Result<Vec<OrderRecord>, StoreError> {
        let ids = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| corrupt("order ids", e))?;
        let rows = sqlx::query("SELECT * FROM orders WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        rows.iter().map(codec::order).collect()
    }

    async fn bot_orders(
        &self,
        bot: BotId,
        page: Page<Uuid>,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM orders o
             WHERE bot_id = ?1 AND (?2 IS NULL OR (created_at, id) <
                 (SELECT created_at, id FROM orders WHERE id = ?2 AND bot_id = ?1))
             ORDER BY created_at DESC, id DESC LIMIT ?3",
        )
        .bind(bot.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(limit(&page))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::order).collect()
    }

    async fn bot_fills(
        &self,
        bot: BotId,
        page: Page<i64>,
    ) -> Result<Vec<(i64, FillRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.* FROM fills f JOIN orders o ON o.id = f.order_id
             WHERE o.bot_id = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?",
        )
        .bind(bot.to_string())
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(limit(&page))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::fill).collect()
    }

    async fn bot_skips(
        &self,
        bot: BotId,
        page: Page<i64>,
    ) -> Result<Vec<(i64, SkipRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, bot_id, signal_id, reason, detail, at FROM skips
             WHERE bot_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(bot.to_string())
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(limit(&page))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::skip).collect()
    }

    async fn user_recent_orders(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        // SQLite has no LATERAL: each bot's `limit`-th newest order (through orders_bot) is
        // the oldest of its rows read, so no more than `limit` rows a bot are sorted.
        let rows = sqlx::query(
            "SELECT o.* FROM bots b JOIN orders o ON o.bot_id = b.id
             WHERE b.user_id = ?1 AND o.created_at >= COALESCE(
                 (SELECT x.created_at FROM orders x WHERE x.bot_id = b.id
                  ORDER BY x.created_at DESC LIMIT 1 OFFSET ?2 - 1), 0)
             ORDER BY o.created_at DESC, o.id DESC LIMIT ?2",
        )
        .bind(user.to_string())
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::order).collect()
    }

    async fn user_recent_skips(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<SkipRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.bot_id, s.signal_id, s.reason, s.detail, s.at
             FROM bots b JOIN skips s ON s.bot_id = b.id
             WHERE b.user_id = ?1 AND s.id >= COALESCE(
                 (SELECT x.id FROM skips x WHERE x.bot_id = b.id
                  ORDER BY x.id DESC LIMIT 1 OFFSET ?2 - 1), 0)
             ORDER BY s.at DESC, s.id DESC LIMIT ?2",
        )
        .bind(user.to_string())
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|r| codec::skip(r).map(|(_, s)| s))
            .collect()
    }

    async fn bot_positions(
        &self,
        bot: BotId,
        page: Page<Uuid>,
    ) -> Result<Vec<PositionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, symbol, quantity, cost, adds, dust, opened_at, closed_at FROM positions
             WHERE bot_id = ?1 AND (?2 IS NULL OR (opened_at, id) <
                 (SELECT opened_at, id FROM positions WHERE id = ?2 AND bot_id = ?1))
             ORDER BY opened_at DESC, id DESC LIMIT ?3",
        )
        .bind(bot.to_string())
        .bind(page.before.map(|b| b.to_string()))
        .bind(limit(&page))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter().map(codec::position_record).collect()
    }
}
