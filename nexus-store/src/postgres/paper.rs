//! The Paper venue's accounts and the out-of-sync log on PostgreSQL. An update locks the
//! accounts it names (advisory locks in key order, so two instances never deadlock), then
//! reads them, applies the venue's change and writes what changed, in one transaction.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use nexus_core::ports::activity::{OutOfSyncLog, OutOfSyncRecord, Page};
use nexus_core::ports::paper::{self, PaperAccount, PaperBook, PaperLedger, PaperOrderKey};
use nexus_core::{BotId, OrderReport, Quantity, SignalId, StoreError, UserId};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::common::{paper_account_row, paper_balances, parse};
use crate::error::{classify, corrupt};

/// The first key of the Paper accounts' advisory locks (the second is the account's
/// hash): apart from the single-key locks the leader election takes.
const PAPER_LOCKS: i32 = 0x5041_5052;

async fn accounts_in<'e, E>(
    executor: E,
    names: &[String],
) -> Result<HashMap<String, PaperAccount>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    // One index probe per named account, whatever the table holds: with `account =
    // ANY($1)` the planner hashed the whole table for a page of a thousand accounts (seen
    // at 100,000 bots: 310 M rows read in one load run, a page's read taking a second).
    // `OFFSET 0` keeps the lateral subquery from being flattened back into such a join.
    let rows = sqlx::query(
        "SELECT k.account, a.funded, a.balances
         FROM UNNEST($1::text[]) AS k(account)
         CROSS JOIN LATERAL (
             SELECT funded, balances FROM paper_accounts WHERE account = k.account OFFSET 0) a",
    )
    .bind(names)
    .fetch_all(executor)
    .await
    .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let account = PaperAccount {
                funded: row.get("funded"),
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
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // One probe of the key per order, as for the accounts above.
    let accounts: Vec<&str> = keys.iter().map(|(a, _)| a.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
    sqlx::query(
        "SELECT k.account, k.id AS client_order_id, o.report::text AS report
         FROM UNNEST($1::text[], $2::text[]) AS k(account, id)
         CROSS JOIN LATERAL (
             SELECT report FROM paper_orders
             WHERE account = k.account AND client_order_id = k.id OFFSET 0) o",
    )
    .bind(accounts)
    .bind(ids)
    .fetch_all(executor)
    .await
    .map_err(classify)?
    .iter()
    .map(|row| {
        let key = (
            row.get::<String, _>("account"),
            parse("client order id", &row.get::<String, _>("client_order_id"))?,
        );
        let report = serde_json::from_str(&row.get::<String, _>("report"))
            .map_err(|e| corrupt("paper order report", e))?;
        Ok((key, report))
    })
    .collect()
}

#[async_trait]
impl PaperLedger for PostgresStore {
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
        let mut names = accounts.to_vec();
        names.sort();
        names.dedup();
        // Placements are expected new, so they are not read (a read of 300 orders that
        // are never there was 2.4 ms of every write at 100,000 bots, with the writes one
        // at a time); the write adds them only where absent, and if one exists after
        // all, it is undone and done again with the placements read.
        if update_once(&self.pool, &names, orders, &mut *apply).await? {
            return Ok(());
        }
        let all: Vec<PaperOrderKey> = orders.iter().chain(placing).cloned().collect();
        if update_once(&self.pool, &names, &all, apply).await? {
            Ok(())
        } else {
            // Every order it adds was read as absent under the accounts' locks.
            Err(corrupt(
                "paper order",
                "an order read as absent under its account's lock exists",
            ))
        }
    }
}

/// One try of [`PaperLedger::update_paper`] reading `orders`: `false` (and nothing
/// stored) when an order `apply` added exists.
async fn update_once(
    pool: &sqlx::PgPool,
    names: &[String],
    orders: &[PaperOrderKey],
    apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(classify)?;
    // Each account is locked by a transaction-scoped advisory lock on its name, taken
    // in key order so two writers never deadlock. A row lock (`FOR UPDATE`) did the
    // same but wrote every locked row and logged it: 7 ms a batch of 250 accounts
    // where these take 2. Taken in a statement of its own: the reads after it see
    // what the transaction it waited for committed.
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock($1, k)) FROM (
             SELECT DISTINCT hashtext(current_schema() || ':' || n) AS k
             FROM UNNEST($2::text[]) AS n ORDER BY k) s",
    )
    .bind(PAPER_LOCKS)
    .bind(names)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    let found = accounts_in(&mut *tx, names).await?;
    let existing: HashSet<String> = found.keys().cloned().collect();
    let before = PaperBook::named(names, found, orders_in(&mut *tx, orders).await?);
    let mut after = before.clone();
    apply(&mut after);
    let paper::PaperChanges {
        funded,
        balances,
        orders: changed,
    } = paper::changes(&before, &after);
    // The row of each account whose funding or balances changed, and of each new account
    // that now holds an order: reads find an account by its row (no key enforces that
    // since migration 0020; this does).
    let held = changed
        .iter()
        .map(|((name, _), _)| name)
        .filter(|name| !existing.contains(*name));
    let mut rows: Vec<&String> = funded
        .iter()
        .map(|(name, _)| *name)
        .chain(balances.iter().map(|(name, _, _)| *name))
        .chain(held)
        .collect();
    rows.sort();
    rows.dedup();
    let (funding, holdings): (Vec<bool>, Vec<String>) = rows
        .iter()
        .map(|name| paper_account_row(&after, name))
        .unzip();
    let mut reports = Vec::with_capacity(changed.len());
    for (_, report) in &changed {
        reports.push(serde_json::to_string(report).map_err(|e| corrupt("paper order report", e))?);
    }
    // Everything in one statement (one round trip while every other write waits). An
    // order is updated only if it was read; one added that exists is left alone, and
    // the count of orders written tells.
    let written: i64 = sqlx::query_scalar(
        "WITH a AS (
             INSERT INTO paper_accounts (account, funded, balances)
             SELECT * FROM UNNEST($1::text[], $2::bool[], $3::text[])
             ON CONFLICT (account) DO UPDATE
             SET funded = excluded.funded, balances = excluded.balances),
         o AS (
             INSERT INTO paper_orders AS p (account, client_order_id, report)
             SELECT account, id, report::jsonb
             FROM UNNEST($4::text[], $5::text[], $6::text[]) AS u(account, id, report)
             ON CONFLICT (account, client_order_id) DO UPDATE SET report = excluded.report
             WHERE EXISTS (SELECT 1 FROM UNNEST($7::text[], $8::text[]) AS r(account, id)
                           WHERE r.account = p.account AND r.id = p.client_order_id)
             RETURNING 1)
         SELECT count(*) FROM o",
    )
    .bind(rows.iter().map(|n| n.as_str()).collect::<Vec<_>>())
    .bind(funding)
    .bind(holdings)
    .bind(
        changed
            .iter()
            .map(|((a, _), _)| a.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        changed
            .iter()
            .map(|((_, id), _)| id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(reports)
    .bind(
        before
            .orders
            .keys()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        before
            .orders
            .keys()
            .map(|(_, id)| id.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(classify)?;
    if usize::try_from(written).ok() != Some(changed.len()) {
        tx.rollback().await.map_err(classify)?;
        return Ok(false);
    }
    tx.commit().await.map_err(classify)?;
    Ok(true)
}

fn quantity(row: &PgRow, name: &str) -> Result<Quantity, StoreError> {
    Quantity::new(row.get::<Decimal, _>(name)).map_err(|e| corrupt(name, e))
}

#[async_trait]
impl OutOfSyncLog for PostgresStore {
    async fn record_out_of_sync(&self, records: &[OutOfSyncRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO out_of_sync
                 (bot_id, user_id, signal_id, exchange, symbol, expected, available, sold, at)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                 $6::numeric[], $7::numeric[], $8::numeric[], $9::timestamptz[])
             ON CONFLICT (bot_id, signal_id) DO NOTHING",
        )
        .bind(records.iter().map(|r| *r.bot.as_uuid()).collect::<Vec<_>>())
        .bind(
            records
                .iter()
                .map(|r| *r.user.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| *r.signal.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| r.exchange.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| r.symbol.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| r.expected.value())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| r.available.value())
                .collect::<Vec<_>>(),
        )
        .bind(records.iter().map(|r| r.sold.value()).collect::<Vec<_>>())
        .bind(records.iter().map(|r| r.at).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn out_of_sync(
        &self,
        page: Page<i64>,
    ) -> Result<Vec<(i64, OutOfSyncRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM out_of_sync WHERE ($1::bigint IS NULL OR id < $1)
             ORDER BY id DESC LIMIT $2",
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
                        bot: BotId::new(row.get("bot_id")),
                        user: UserId::new(row.get("user_id")),
                        signal: SignalId::new(row.get("signal_id")),
                        exchange: parse("exchange", &text("exchange"))?,
                        symbol: parse("symbol", &text("symbol"))?,
                        expected: quantity(row, "expected")?,
                        available: quantity(row, "available")?,
                        sold: quantity(row, "sold")?,
                        at: row.get("at"),
                    },
                ))
            })
            .collect()
    }
}
