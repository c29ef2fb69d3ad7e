//! The Paper venue's accounts and the out-of-sync log on SQLite. An update runs in one
//! `BEGIN IMMEDIATE` transaction on the writer: SQLite has one writer, so the accounts it
//! reads cannot change before it writes.

use std::collections::HashMap;

use async_trait::async_trait;
use nexus_core::ports::activity::{OutOfSyncLog, OutOfSyncRecord, Page};
use nexus_core::ports::paper::{self, PaperAccount, PaperBook, PaperLedger, PaperOrderKey};
use nexus_core::{OrderReport, Quantity, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, dec, from_dec, from_ms, ms};
use crate::common::{paper_account_row, paper_balances, parse};
use crate::error::{classify, corrupt};

fn names_json(names: &[String]) -> String {
    serde_json::Value::from(names.to_vec()).to_string()
}

fn keys_json(keys: &[PaperOrderKey]) -> String {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|(account, id)| serde_json::json!([account, id.as_str()]))
        .collect();
    serde_json::Value::Array(keys).to_string()
}

fn report(row: &SqliteRow) -> Result<(PaperOrderKey, OrderReport), StoreError> {
    let key = (
        row.get::<String, _>("account"),
        parse("client order id", &row.get::<String, _>("client_order_id"))?,
    );
    let report = serde_json::from_str(&row.get::<String, _>("report"))
        .map_err(|e| corrupt("paper order report", e))?;
    Ok((key, report))
}

async fn accounts_in<'e, E>(
    executor: E,
    names: &[String],
) -> Result<HashMap<String, PaperAccount>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(
        "SELECT account, funded, balances FROM paper_accounts
         WHERE account IN (SELECT value FROM json_each(?))",
    )
    .bind(names_json(names))
    .fetch_all(executor)
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let account = PaperAccount {
            funded: row.get::<i64, _>("funded") != 0,
            balances: paper_balances(row.get("balances"))?,
        };
        Ok((row.get("account"), account))
    })
    .collect()
}

async fn orders_in<'e, E>(
    executor: E,
    keys: &[PaperOrderKey],
) -> Result<HashMap<PaperOrderKey, OrderReport>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    sqlx::query(
        "SELECT o.account, o.client_order_id, o.report FROM paper_orders o
         JOIN (SELECT value ->> 0 AS account, value ->> 1 AS id FROM json_each(?)) k
           ON o.account = k.account AND o.client_order_id = k.id",
    )
    .bind(keys_json(keys))
    .fetch_all(executor)
    .await
    .map_err(classify)?
    .iter()
    .map(report)
    .collect()
}

#[async_trait]
impl PaperLedger for SqliteStore {
    async fn paper_accounts(
        &self,
        accounts: &[String],
    ) -> Result<HashMap<String, PaperAccount>, StoreError> {
        accounts_in(&self.pool, accounts).await
    }

    async fn paper_orders(
        &self,
        keys: &[PaperOrderKey],
    ) -> Result<HashMap<PaperOrderKey, OrderReport>, StoreError> {
        orders_in(&self.pool, keys).await
    }

    async fn update_paper(
        &self,
        accounts: &[String],
        orders: &[PaperOrderKey],
        placing: &[PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
    ) -> Result<(), StoreError> {
        // Placements are expected new, so they are not read; they are added only where
        // absent, and if one exists after all, the update is undone and done again with
        // the placements read (as on PostgreSQL).
        if self.update_once(accounts, orders, &mut *apply).await? {
            return Ok(());
        }
        let all: Vec<PaperOrderKey> = orders.iter().chain(placing).cloned().collect();
        if self.update_once(accounts, &all, apply).await? {
            Ok(())
        } else {
            // SQLite's one writer read every order it adds as absent.
            Err(corrupt(
                "paper order",
                "an order read as absent by the writer exists",
            ))
        }
    }
}

impl SqliteStore {
    /// One try of [`PaperLedger::update_paper`] reading `orders`: `false` (and nothing
    /// stored) when an order `apply` added exists.
    async fn update_once(
        &self,
        accounts: &[String],
        orders: &[PaperOrderKey],
        apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
    ) -> Result<bool, StoreError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)?;
        let found = accounts_in(&mut *tx, accounts).await?;
        let before = PaperBook::named(accounts, found, orders_in(&mut *tx, orders).await?);
        let mut after = before.clone();
        apply(&mut after);
        let paper::PaperChanges {
            funded,
            balances,
            orders,
        } = paper::changes(&before, &after);
        // The row of each account whose funding or balances changed, written (made, if it
        // is new) before the orders that need it.
        let mut named: Vec<&String> = funded
            .iter()
            .map(|(name, _)| *name)
            .chain(balances.iter().map(|(name, _, _)| *name))
            .collect();
        named.sort();
        named.dedup();
        if !named.is_empty() {
            let rows: Vec<serde_json::Value> = named
                .iter()
                .map(|name| {
                    let (funded, held) = paper_account_row(&after, name);
                    serde_json::json!([name, i64::from(funded), held])
                })
                .collect();
            sqlx::query(
                "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))
                 INSERT INTO paper_accounts (account, funded, balances)
                 SELECT v ->> 0, v ->> 1, v ->> 2 FROM r WHERE true
                 ON CONFLICT (account) DO UPDATE
                 SET funded = excluded.funded, balances = excluded.balances",
            )
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        // An order is updated only if it was read; one added that exists is left alone,
        // which the count of orders written tells, and the whole update is undone.
        if !orders.is_empty() {
            let mut rows = Vec::with_capacity(orders.len());
            for ((account, id), report) in &orders {
                let report =
                    serde_json::to_string(report).map_err(|e| corrupt("paper order report", e))?;
                rows.push(serde_json::json!([account, id.as_str(), report]));
            }
            let read: Vec<PaperOrderKey> = before.orders.keys().cloned().collect();
            let written = sqlx::query(
                "WITH r AS MATERIALIZED (SELECT value AS v FROM json_each(?))
                 INSERT INTO paper_orders AS p (account, client_order_id, report)
                 SELECT v ->> 0, v ->> 1, v ->> 2 FROM r WHERE true
                 ON CONFLICT (account, client_order_id) DO UPDATE SET report = excluded.report
                 WHERE (p.account, p.client_order_id) IN
                       (SELECT value ->> 0, value ->> 1 FROM json_each(?))
                 RETURNING 1",
            )
            .bind(serde_json::Value::Array(rows).to_string())
            .bind(keys_json(&read))
            .fetch_all(&mut *tx)
            .await
            .map_err(classify)?
            .len();
            if written != orders.len() {
                tx.rollback().await.map_err(classify)?;
                return Ok(false);
            }
        }
        tx.commit().await.map_err(classify)?;
        Ok(true)
    }
}

fn quantity(row: &SqliteRow, name: &str) -> Result<Quantity, StoreError> {
    Quantity::new(from_dec(&row.get::<String, _>(name))?).map_err(|e| corrupt(name, e))
}

#[async_trait]
impl OutOfSyncLog for SqliteStore {
    async fn record_out_of_sync(&self, records: &[OutOfSyncRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                serde_json::json!([
                    r.bot.to_string(),
                    r.user.to_string(),
                    r.signal.to_string(),
                    r.exchange.as_str(),
                    r.symbol.to_string(),
                    dec(r.expected.value()),
                    dec(r.available.value()),
                    dec(r.sold.value()),
                    ms(r.at),
                ])
            })
            .collect();
        sqlx::query(
            "INSERT INTO out_of_sync
                 (bot_id, user_id, signal_id, exchange, symbol, expected, available, sold, at)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
                    value ->> 5, value ->> 6, value ->> 7, value ->> 8
             FROM json_each(?) WHERE true
             ON CONFLICT (bot_id, signal_id) DO NOTHING",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn out_of_sync(
        &self,
        page: Page<i64>,
    ) -> Result<Vec<(i64, OutOfSyncRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM out_of_sync WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(page.before)
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| {
                let text = |name: &str| -> String { row.get(name) };
                Ok((
                    row.get("id"),
                    OutOfSyncRecord {
                        bot: parse("bot id", &text("bot_id"))?,
                        user: parse("user id", &text("user_id"))?,
                        signal: parse("signal id", &text("signal_id"))?,
                        exchange: parse("exchange", &text("exchange"))?,
                        symbol: parse("symbol", &text("symbol"))?,
                        expected: quantity(row, "expected")?,
                        available: quantity(row, "available")?,
                        sold: quantity(row, "sold")?,
                        at: from_ms(row.get("at"))?,
                    },
                ))
            })
            .collect()
    }
}
