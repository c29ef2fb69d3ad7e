//! The row codec both stores read with: how a stored row becomes a core record (a user,
//! bot, open position, credential, order, fill, skip, job, session or pending sign-in).
//!
//! The SQL stays written out per database, and so do the column types: ids, decimals and
//! times are text, text and Unix milliseconds on SQLite, `UUID`, `NUMERIC` and
//! `TIMESTAMPTZ` on PostgreSQL. [`Columns`] reads one value in either database's type
//! (its two implementations are at the end of this file); everything past that — parsing
//! symbols and enums, JSON configurations, money's invariants — is written once, here and
//! in the record decoders of `records`. A value that does not read back is a
//! [`ColumnError`] naming its table and column.

mod advisor;
mod alerts;
mod billing;
mod emails;
mod records;

use std::fmt::Display;
use std::str::FromStr;

use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::{Notional, OrderType, Price, Quantity, Side, StoreError, Timestamp};
use rust_decimal::Decimal;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column as _, Row as _, TypeInfo as _};
use thiserror::Error;
use uuid::Uuid;

use crate::error::corrupt;

pub(crate) use advisor::{action_name, llm_call, verdict_name};
pub(crate) use alerts::{
    DayFill, alert_preferences, day_bot, day_fill, day_order, day_skips, sealed_webhook,
    summary_recipient,
};
pub(crate) use billing::{billing_customer, billing_event, running_bot, subscription};
pub(crate) use emails::email;
pub(crate) use records::{
    SealedCredentials, active_session, bot, bot_key, bot_usage, credential_info, fill, job,
    open_position, order, pending_login, position_bot, position_record, sealed_credentials,
    session_summary, skip, strategy_market, subscribed_bot, user,
};

/// A stored value that does not read back as its type: which table and column held it,
/// and what was wrong. Reaches callers as [`StoreError::Corrupt`].
#[derive(Debug, Error)]
#[error("{table}.{column}: {problem}")]
pub(crate) struct ColumnError {
    table: &'static str,
    column: &'static str,
    problem: BoxDynError,
}

impl From<ColumnError> for StoreError {
    fn from(err: ColumnError) -> Self {
        Self::Corrupt {
            message: err.to_string(),
        }
    }
}

/// One value of a database row, read by column name in that database's own type:
/// `Ok(None)` for NULL, `Err` when the value is not of the type.
pub(crate) trait Columns {
    /// A text column.
    fn text(&self, column: &str) -> Result<Option<&str>, BoxDynError>;
    /// An id.
    fn uuid(&self, column: &str) -> Result<Option<Uuid>, BoxDynError>;
    /// An exact decimal.
    fn decimal(&self, column: &str) -> Result<Option<Decimal>, BoxDynError>;
    /// A point in time.
    fn time(&self, column: &str) -> Result<Option<Timestamp>, BoxDynError>;
    /// An integer of any width.
    fn integer(&self, column: &str) -> Result<Option<i64>, BoxDynError>;
    /// A boolean.
    fn flag(&self, column: &str) -> Result<Option<bool>, BoxDynError>;
    /// Bytes.
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, BoxDynError>;
}

/// The columns of one table in a row. A join holds several tables; a prefix tells one
/// table's columns apart where the query renamed them (`p_quantity` for
/// `positions.quantity`), and errors name the column by its own name.
struct TableRow<'r, R> {
    row: &'r R,
    table: &'static str,
    prefix: &'static str,
}

impl<'r, R: Columns> TableRow<'r, R> {
    fn new(row: &'r R, table: &'static str) -> Self {
        Self::prefixed(row, table, "")
    }

    fn prefixed(row: &'r R, table: &'static str, prefix: &'static str) -> Self {
        Self { row, table, prefix }
    }

    fn error(&self, column: &'static str, problem: impl Into<BoxDynError>) -> ColumnError {
        ColumnError {
            table: self.table,
            column,
            problem: problem.into(),
        }
    }

    /// Reads `column` (with the prefix) through `read`, naming it in any error.
    fn read<T>(
        &self,
        column: &'static str,
        read: impl FnOnce(&'r R, &str) -> Result<Option<T>, BoxDynError>,
    ) -> Result<Option<T>, ColumnError> {
        let value = if self.prefix.is_empty() {
            read(self.row, column)
        } else {
            read(self.row, &format!("{}{column}", self.prefix))
        };
        value.map_err(|problem| self.error(column, problem))
    }

    fn required<T>(&self, column: &'static str, value: Option<T>) -> Result<T, ColumnError> {
        value.ok_or_else(|| self.error(column, "is NULL"))
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<&'r str>, ColumnError> {
        self.read(column, R::text)
    }

    fn text(&self, column: &'static str) -> Result<&'r str, ColumnError> {
        let value = self.opt_text(column)?;
        self.required(column, value)
    }

    fn opt_string(&self, column: &'static str) -> Result<Option<String>, ColumnError> {
        Ok(self.opt_text(column)?.map(str::to_owned))
    }

    fn string(&self, column: &'static str) -> Result<String, ColumnError> {
        Ok(self.text(column)?.to_owned())
    }

    /// A text column holding a value's canonical name (a symbol, an exchange, a state).
    fn opt_parse<T: FromStr>(&self, column: &'static str) -> Result<Option<T>, ColumnError>
    where
        T::Err: Display,
    {
        self.opt_text(column)?
            .map(|text| {
                text.parse()
                    .map_err(|e: T::Err| self.error(column, e.to_string()))
            })
            .transpose()
    }

    fn parse<T: FromStr>(&self, column: &'static str) -> Result<T, ColumnError>
    where
        T::Err: Display,
    {
        let value = self.opt_parse(column)?;
        self.required(column, value)
    }

    /// A JSON column (read as text on both databases).
    fn json<T: serde::de::DeserializeOwned>(&self, column: &'static str) -> Result<T, ColumnError> {
        serde_json::from_str(self.text(column)?).map_err(|e| self.error(column, e))
    }

    fn opt_uuid(&self, column: &'static str) -> Result<Option<Uuid>, ColumnError> {
        self.read(column, R::uuid)
    }

    fn uuid(&self, column: &'static str) -> Result<Uuid, ColumnError> {
        let value = self.opt_uuid(column)?;
        self.required(column, value)
    }

    fn opt_decimal(&self, column: &'static str) -> Result<Option<Decimal>, ColumnError> {
        self.read(column, R::decimal)
    }

    /// A decimal made into money, whose constructor checks its invariant (> 0, ≥ 0).
    fn opt_money<T, E: Display>(
        &self,
        column: &'static str,
        make: impl FnOnce(Decimal) -> Result<T, E>,
    ) -> Result<Option<T>, ColumnError> {
        self.opt_decimal(column)?
            .map(|d| make(d).map_err(|e| self.error(column, e.to_string())))
            .transpose()
    }

    fn quantity(&self, column: &'static str) -> Result<Quantity, ColumnError> {
        let value = self.opt_money(column, Quantity::new)?;
        self.required(column, value)
    }

    fn notional(&self, column: &'static str) -> Result<Notional, ColumnError> {
        let value = self.opt_notional(column)?;
        self.required(column, value)
    }

    fn opt_notional(&self, column: &'static str) -> Result<Option<Notional>, ColumnError> {
        self.opt_money(column, Notional::new)
    }

    fn opt_price(&self, column: &'static str) -> Result<Option<Price>, ColumnError> {
        self.opt_money(column, Price::new)
    }

    fn price(&self, column: &'static str) -> Result<Price, ColumnError> {
        let value = self.opt_price(column)?;
        self.required(column, value)
    }

    fn opt_time(&self, column: &'static str) -> Result<Option<Timestamp>, ColumnError> {
        self.read(column, R::time)
    }

    fn time(&self, column: &'static str) -> Result<Timestamp, ColumnError> {
        let value = self.opt_time(column)?;
        self.required(column, value)
    }

    /// An integer narrowed to `T` (a count, a level, a priority).
    fn integer<T: TryFrom<i64>>(&self, column: &'static str) -> Result<T, ColumnError> {
        let value = self.read(column, R::integer)?;
        let value = self.required(column, value)?;
        T::try_from(value).map_err(|_| self.error(column, format!("{value} is out of range")))
    }

    fn flag(&self, column: &'static str) -> Result<bool, ColumnError> {
        let value = self.read(column, R::flag)?;
        self.required(column, value)
    }

    fn bytes(&self, column: &'static str) -> Result<Vec<u8>, ColumnError> {
        let value = self.read(column, R::bytes)?;
        self.required(column, value)
    }

    fn side(&self, column: &'static str) -> Result<Side, ColumnError> {
        match self.text(column)? {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            other => Err(self.error(column, format!("unknown side {other:?}"))),
        }
    }

    fn order_type(&self, column: &'static str) -> Result<OrderType, ColumnError> {
        match self.text(column)? {
            "market" => Ok(OrderType::Market),
            "limit" => Ok(OrderType::Limit),
            other => Err(self.error(column, format!("unknown order type {other:?}"))),
        }
    }

    fn role(&self, column: &'static str) -> Result<Role, ColumnError> {
        match self.text(column)? {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(self.error(column, format!("unknown role {other:?}"))),
        }
    }
}

/// The stored name of an order type (`orders.order_type`).
pub(crate) const fn order_type_name(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Market => "market",
        OrderType::Limit => "limit",
    }
}

/// A bot's JSON columns, as written.
pub(crate) struct BotJson {
    pub gate: String,
    pub sizing: String,
    pub pyramid: String,
}

/// The JSON columns `bot` reads back.
pub(crate) fn bot_json(bot: &BotRecord) -> Result<BotJson, StoreError> {
    let json = |v: Result<String, serde_json::Error>| v.map_err(|e| corrupt("bot config", e));
    Ok(BotJson {
        gate: json(serde_json::to_string(&bot.config.gate))?,
        sizing: json(serde_json::to_string(&bot.config.sizing))?,
        pyramid: json(serde_json::to_string(&bot.config.pyramid))?,
    })
}

/// SQLite: ids and decimals as text (decimals canonical), times as Unix milliseconds.
impl Columns for SqliteRow {
    fn text(&self, column: &str) -> Result<Option<&str>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn uuid(&self, column: &str) -> Result<Option<Uuid>, BoxDynError> {
        self.text(column)?
            .map(|text| Uuid::try_parse(text).map_err(Into::into))
            .transpose()
    }

    fn decimal(&self, column: &str) -> Result<Option<Decimal>, BoxDynError> {
        self.text(column)?
            .map(|text| crate::sqlite::from_dec(text).map_err(problem))
            .transpose()
    }

    fn time(&self, column: &str) -> Result<Option<Timestamp>, BoxDynError> {
        self.try_get::<Option<i64>, _>(column)?
            .map(|ms| crate::sqlite::from_ms(ms).map_err(problem))
            .transpose()
    }

    fn integer(&self, column: &str) -> Result<Option<i64>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &str) -> Result<Option<bool>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, BoxDynError> {
        Ok(self.try_get(column)?)
    }
}

/// What a SQLite decoding helper found wrong, without its "corrupt data" wrapping (the
/// [`ColumnError`] holding it says that).
fn problem(err: StoreError) -> BoxDynError {
    match err {
        StoreError::Corrupt { message } => message.into(),
        other => Box::new(other),
    }
}

/// PostgreSQL: native `UUID`, `NUMERIC`, `TIMESTAMPTZ`, integers of three widths.
impl Columns for PgRow {
    fn text(&self, column: &str) -> Result<Option<&str>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn uuid(&self, column: &str) -> Result<Option<Uuid>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn decimal(&self, column: &str) -> Result<Option<Decimal>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> Result<Option<Timestamp>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn integer(&self, column: &str) -> Result<Option<i64>, BoxDynError> {
        // Each width decodes only as its own Rust type.
        Ok(match self.try_column(column)?.type_info().name() {
            "INT2" => self.try_get::<Option<i16>, _>(column)?.map(i64::from),
            "INT4" => self.try_get::<Option<i32>, _>(column)?.map(i64::from),
            _ => self.try_get(column)?,
        })
    }

    fn flag(&self, column: &str) -> Result<Option<bool>, BoxDynError> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>, BoxDynError> {
        Ok(self.try_get(column)?)
    }
}
