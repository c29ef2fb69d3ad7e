//! The Paper venue's accounts and the out-of-sync log on PostgreSQL. An update reads the
//! accounts it names with their versions, applies the venue's change and writes what
//! changed in one statement that fails whole if any account moved past the version read
//! (another instance wrote it) or an order it adds exists; then it reads again. No lock is
//! held and no transaction is open while the venue works: two round trips a write.

use std::collections::HashMap;

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

/// Each named account that has a row, with the version it was read at.
async fn accounts_in(
    pool: &sqlx::PgPool,
    names: &[String],
) -> Result<HashMap<String, (PaperAccount, i64)>, StoreError> {
    // One index probe per named account, whatever the table holds: with `account =
    // ANY($1)` the planner hashed the whole table for a page of a thousand accounts (seen
    // at 100,000 bots: 310 M rows read in one load run, a page's read taking a second).
    // `OFFSET 0` keeps the lateral subquery from being flattened back into such a join.
    let rows = sqlx::query(
        "SELECT k.account, a.funded, a.balances, a.version
         FROM UNNEST($1::text[]) AS k(account)
         CROSS JOIN LATERAL (
             SELECT funded, balances, version FROM paper_accounts
             WHERE account = k.account OFFSET 0) a",
    )
    .bind(names)
    .fetch_all(pool)
    .await
    .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let account = PaperAccount {
                funded: row.get("funded"),
                balances: paper_balances(row.get("balances"))?,
            };
            Ok((row.get("account"), (account, row.get("version"))))
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
        let found = accounts_in(&self.pool, accounts).await?;
        Ok(found.into_iter().map(|(name, (a, _))| (name, a)).collect())
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
        // at a time); the write adds them only where absent. If one exists after all, or
        // an account changed meanwhile, the write fails whole and runs again with every
        // order read.
        if update_once(&self.pool, &names, orders, &mut *apply).await? {
            return Ok(());
        }
        let all: Vec<PaperOrderKey> = orders.iter().chain(placing).cloned().collect();
        for _ in 1..WRITE_TRIES {
            if update_once(&self.pool, &names, &all, &mut *apply).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable {
            message: format!(
                "the Paper accounts changed under {WRITE_TRIES} writes in a row; try again"
            ),
            source: None,
        })
    }
}

/// How many times a ledger update reads and writes before giving up while other writers
/// keep changing its accounts.
const WRITE_TRIES: usize = 5;

/// One try of [`PaperLedger::update_paper`] reading `orders`: `false` (and nothing
/// stored) when an account changed since it was read or an order `apply` added exists.
async fn update_once(
    pool: &sqlx::PgPool,
    names: &[String],
    orders: &[PaperOrderKey],
    apply: &mut (dyn for<'b> FnMut(&'b mut PaperBook) + Send),
) -> Result<bool, StoreError> {
    // Accounts first, then orders: an order changes only with its account's version (every
    // write below raises the version of each account whose orders it changes), so orders
    // read after their account are at least as new as it, and one that changed since is
    // caught by the account's version.
    let found = accounts_in(pool, names).await?;
    let versions: HashMap<String, i64> = found.iter().map(|(n, (_, v))| (n.clone(), *v)).collect();
    let found = found.into_iter().map(|(n, (a, _))| (n, a)).collect();
    let before = PaperBook::named(names, found, orders_in(pool, orders).await?);
    let mut after = before.clone();
    apply(&mut after);
    let paper::PaperChanges {
        funded,
        balances,
        orders: changed,
    } = paper::changes(&before, &after);
    // The row of each account whose funding, balances or orders changed: its new version
    // claims the account, and it is how reads find one that holds orders.
    let mut rows: Vec<&String> = funded
        .iter()
        .map(|(name, _)| *name)
        .chain(balances.iter().map(|(name, _, _)| *name))
        .chain(changed.iter().map(|((name, _), _)| name))
        .collect();
    rows.sort();
    rows.dedup();
    if rows.is_empty() {
        // Nothing changed (every change refused): nothing to claim or write.
        return Ok(true);
    }
    let (funding, holdings): (Vec<bool>, Vec<String>) = rows
        .iter()
        .map(|name| paper_account_row(&after, name))
        .unzip();
    // A row not read is new at version 1, and one written meanwhile is at 1 or more: the
    // update below never takes it.
    let next: Vec<i64> = rows
        .iter()
        .map(|name| versions.get(*name).map_or(1, |v| v + 1))
        .collect();
    let mut reports = Vec::with_capacity(changed.len());
    for (_, report) in &changed {
        reports.push(serde_json::to_string(report).map_err(|e| corrupt("paper order report", e))?);
    }
    // Everything in one statement, its own transaction: an account is written only at
    // the version read, an order updated only if it was read, and one added that exists
    // is left alone; if the counts fall short, `paper_write_conflict` undoes the lot.
    let written = sqlx::query(
        "WITH a AS (
             INSERT INTO paper_accounts AS t (account, funded, balances, version)
             SELECT * FROM UNNEST($1::text[], $2::bool[], $3::text[], $4::bigint[])
             ON CONFLICT (account) DO UPDATE
             SET funded = excluded.funded, balances = excluded.balances,
                 version = excluded.version
             WHERE t.version = excluded.version - 1
             RETURNING 1),
         o AS (
             INSERT INTO paper_orders AS p (account, client_order_id, report)
             SELECT account, id, report::jsonb
             FROM UNNEST($5::text[], $6::text[], $7::text[]) AS u(account, id, report)
             ON CONFLICT (account, client_order_id) DO UPDATE SET report = excluded.report
             WHERE EXISTS (SELECT 1 FROM UNNEST($8::text[], $9::text[]) AS r(account, id)
                           WHERE r.account = p.account AND r.id = p.client_order_id)
             RETURNING 1)
         SELECT CASE WHEN (SELECT count(*) FROM a) = cardinality($1::text[])
                      AND (SELECT count(*) FROM o) = cardinality($5::text[])
                THEN 0 ELSE paper_write_conflict() END",
    )
    .bind(rows.iter().map(|n| n.as_str()).collect::<Vec<_>>())
    .bind(funding)
    .bind(holdings)
    .bind(next)
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
    .execute(pool)
    .await;
    match written {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(WRITE_CONFLICT) => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

/// The SQLSTATE `paper_write_conflict` raises (`serialization_failure`).
const WRITE_CONFLICT: &str = "40001";

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
