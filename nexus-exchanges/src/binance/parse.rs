//! Binance's answers into core types: `GET /api/v3/exchangeInfo` into [`Instrument`]s
//! (`PRICE_FILTER` tick size, `LOT_SIZE` step/min/max quantity, `NOTIONAL` or the older
//! `MIN_NOTIONAL` minimum order value), tickers, klines, balances, orders, key permissions,
//! and error answers into the classified [`ExchangeError`]. Prices and quantities are
//! parsed from Binance's strings straight into `Decimal`, never through `f64`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{
    Asset, Balance, Candle, ClientOrderId, ExchangeError, ExchangeId, Instrument,
    InstrumentFilters, KeyPermissions, Notional, OrderReport, OrderStatus, Price, Quantity, Side,
    Symbol, Ticker,
};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::models;
use crate::retry::Failure;

const BINANCE: ExchangeId = ExchangeId::Binance;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeInfo {
    symbols: Vec<SymbolInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo {
    symbol: String,
    status: String,
    base_asset: String,
    quote_asset: String,
    filters: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(tag = "filterType", rename_all = "SCREAMING_SNAKE_CASE")]
enum VenueFilter {
    #[serde(rename = "PRICE_FILTER")]
    Price {
        #[serde(rename = "tickSize")]
        tick_size: Decimal,
    },
    LotSize {
        #[serde(rename = "minQty")]
        min_qty: Decimal,
        #[serde(rename = "maxQty")]
        max_qty: Decimal,
        #[serde(rename = "stepSize")]
        step_size: Decimal,
    },
    Notional {
        #[serde(rename = "minNotional")]
        min_notional: Decimal,
    },
    MinNotional {
        #[serde(rename = "minNotional")]
        min_notional: Decimal,
    },
}

/// A listed symbol that could not become an [`Instrument`], and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Binance's symbol (`BTCUSDT`).
    pub symbol: String,
    /// Why it was left out.
    pub reason: String,
}

/// The answer could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl DecodeError {
    fn of(what: &str, e: impl std::fmt::Display) -> Self {
        Self(format!("{what}: {e}"))
    }

    pub(crate) fn into_failure(self) -> Failure {
        Failure::Final(ExchangeError::Decode {
            exchange: BINANCE,
            message: self.0,
        })
    }
}

impl std::error::Error for DecodeError {}

/// Binance's spelling of a symbol: base and quote run together (`BTC/USDT` → `BTCUSDT`).
#[must_use]
pub fn venue_symbol(symbol: Symbol) -> String {
    format!("{}{}", symbol.base(), symbol.quote())
}

/// Parses `exchangeInfo`: the tradable symbols as instruments, and the others with the
/// reason they were left out (not trading, a filter missing or inconsistent).
///
/// # Errors
/// [`DecodeError`] when the body is not `exchangeInfo` JSON.
pub fn instruments(body: &[u8]) -> Result<(Vec<Instrument>, Vec<Skipped>), DecodeError> {
    let info: ExchangeInfo =
        serde_json::from_slice(body).map_err(|e| DecodeError::of("exchangeInfo", e))?;
    let mut listed = Vec::new();
    let mut skipped = Vec::new();
    for s in info.symbols {
        match instrument(&s) {
            Ok(instrument) => listed.push(instrument),
            Err(reason) => skipped.push(Skipped {
                symbol: s.symbol,
                reason,
            }),
        }
    }
    Ok((listed, skipped))
}

fn instrument(s: &SymbolInfo) -> Result<Instrument, String> {
    if s.status != "TRADING" {
        return Err(format!("status is {}", s.status));
    }
    let base = Asset::new(&s.base_asset).map_err(|e| e.to_string())?;
    let quote = Asset::new(&s.quote_asset).map_err(|e| e.to_string())?;
    let symbol = Symbol::new(base, quote).map_err(|e| e.to_string())?;
    let (mut tick, mut lot, mut min_notional) = (None, None, Decimal::ZERO);
    for raw in &s.filters {
        // Filters this adapter does not use (MAX_NUM_ORDERS, …) are skipped, not errors.
        match serde_json::from_value::<VenueFilter>(raw.clone()) {
            Ok(VenueFilter::Price { tick_size }) => tick = Some(tick_size),
            Ok(VenueFilter::LotSize {
                min_qty,
                max_qty,
                step_size,
            }) => lot = Some((min_qty, max_qty, step_size)),
            Ok(
                VenueFilter::Notional { min_notional: n }
                | VenueFilter::MinNotional { min_notional: n },
            ) => {
                min_notional = min_notional.max(n);
            }
            Err(_) => {}
        }
    }
    let tick = tick.ok_or("no PRICE_FILTER")?;
    let (min_qty, max_qty, step) = lot.ok_or("no LOT_SIZE")?;
    let price = |v: Decimal| Price::new(v.normalize()).map_err(|e| format!("tickSize: {e}"));
    let qty =
        |name: &str, v: Decimal| Quantity::new(v.normalize()).map_err(|e| format!("{name}: {e}"));
    let filters = InstrumentFilters {
        tick_size: price(tick)?,
        step_size: qty("stepSize", step)?,
        min_qty: qty("minQty", min_qty)?,
        // Binance sends a huge maxQty rather than none.
        max_qty: Some(qty("maxQty", max_qty)?),
        min_notional: Notional::new(min_notional.normalize())
            .map_err(|e| format!("minNotional: {e}"))?,
    };
    Instrument::new(ExchangeId::Binance, symbol, filters).map_err(|e| e.to_string())
}

/// The wanted symbols in Binance's spelling, to map answers back.
#[must_use]
pub fn venue_symbols(symbols: &[Symbol]) -> HashMap<String, Symbol> {
    symbols.iter().map(|s| (venue_symbol(*s), *s)).collect()
}

fn millis(ms: i64) -> Result<DateTime<Utc>, DecodeError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| DecodeError(format!("time {ms} out of range")))
}

/// `GET /api/v3/ticker/24hr`: the tickers of the `wanted` symbols (others are left out).
///
/// # Errors
/// [`DecodeError`] when the body is not a ticker list or a price is not positive.
pub fn tickers(body: &[u8], wanted: &HashMap<String, Symbol>) -> Result<Vec<Ticker>, DecodeError> {
    let list: Vec<models::Ticker24h> =
        serde_json::from_slice(body).map_err(|e| DecodeError::of("ticker/24hr", e))?;
    let mut out = Vec::with_capacity(list.len());
    for t in list {
        let Some(symbol) = wanted.get(&t.symbol) else {
            continue;
        };
        let price = |v: Decimal| Price::new(v).map_err(|e| DecodeError::of(&t.symbol, e));
        let ticker = Ticker::new(
            *symbol,
            price(t.bid_price)?,
            price(t.ask_price)?,
            price(t.last_price)?,
            millis(t.close_time)?,
        )
        .map_err(|e| DecodeError::of(&t.symbol, e))?;
        out.push(ticker);
    }
    Ok(out)
}

/// `GET /api/v3/klines`: the candles that closed before `now`, oldest first (the last
/// kline is usually still open and is left out).
///
/// # Errors
/// [`DecodeError`] when a kline is malformed or inconsistent.
pub fn klines(body: &[u8], now: DateTime<Utc>) -> Result<Vec<Candle>, DecodeError> {
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_slice(body).map_err(|e| DecodeError::of("klines", e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let int = |i: usize| {
            row.get(i)
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| DecodeError(format!("klines: field {i} is not an integer")))
        };
        let dec = |i: usize| {
            row.get(i)
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse::<Decimal>().ok())
                .ok_or_else(|| DecodeError(format!("klines: field {i} is not a decimal string")))
        };
        let price = |i: usize| Price::new(dec(i)?).map_err(|e| DecodeError::of("klines", e));
        if millis(int(6)?)? >= now {
            continue;
        }
        let volume = Quantity::new(dec(5)?).map_err(|e| DecodeError::of("klines", e))?;
        let candle = Candle::new(
            millis(int(0)?)?,
            price(1)?,
            price(2)?,
            price(3)?,
            price(4)?,
            volume,
        )
        .map_err(|e| DecodeError::of("klines", e))?;
        out.push(candle);
    }
    Ok(out)
}

/// `GET /api/v3/account`: the non-zero balances of assets with a valid name.
///
/// # Errors
/// [`DecodeError`] when the body is not an account.
pub fn balances(body: &[u8]) -> Result<Vec<Balance>, DecodeError> {
    let account: models::Account =
        serde_json::from_slice(body).map_err(|e| DecodeError::of("account", e))?;
    let mut out = Vec::new();
    for b in account.balances {
        if b.free.is_zero() && b.locked.is_zero() {
            continue;
        }
        // Binance lists a few assets whose names no venue-neutral Asset can hold.
        let Ok(asset) = Asset::new(&b.asset) else {
            continue;
        };
        let qty = |v: Decimal| Quantity::new(v).map_err(|e| DecodeError::of(&b.asset, e));
        out.push(Balance {
            asset,
            free: qty(b.free)?,
            locked: qty(b.locked)?,
        });
    }
    Ok(out)
}

/// `GET /api/v3/account` (`canTrade`, `canWithdraw`: the account's abilities) and
/// `GET /sapi/v1/account/apiRestrictions` (the key's, when available) into what the key
/// may do: a key may trade only if both allow it.
///
/// # Errors
/// [`DecodeError`] when a body is not what the endpoint returns.
pub fn permissions(
    account: &[u8],
    restrictions: Option<&[u8]>,
) -> Result<KeyPermissions, DecodeError> {
    let account: models::Account =
        serde_json::from_slice(account).map_err(|e| DecodeError::of("account", e))?;
    let mut permissions = KeyPermissions {
        read: true,
        trade: account.can_trade,
        withdraw: account.can_withdraw,
    };
    if let Some(body) = restrictions {
        let key: models::ApiRestrictions =
            serde_json::from_slice(body).map_err(|e| DecodeError::of("apiRestrictions", e))?;
        permissions.read = key.enable_reading;
        permissions.trade &= key.enable_spot_and_margin_trading;
        permissions.withdraw = key.enable_withdrawals;
    }
    Ok(permissions)
}

/// An order answer (`FULL` placement, query or cancel) about `symbol`.
///
/// # Errors
/// [`DecodeError`] when the body is not an order or holds an impossible value.
pub fn order(body: &[u8], symbol: Symbol) -> Result<OrderReport, DecodeError> {
    let o: models::Order = serde_json::from_slice(body).map_err(|e| DecodeError::of("order", e))?;
    let id = o
        .orig_client_order_id
        .as_deref()
        .unwrap_or(&o.client_order_id);
    let client_order_id =
        ClientOrderId::new(id).map_err(|e| DecodeError::of("clientOrderId", e))?;
    let status = match o.status.as_str() {
        "NEW" | "PENDING_NEW" => OrderStatus::New,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" | "PENDING_CANCEL" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        other => return Err(DecodeError(format!("order: unknown status {other}"))),
    };
    let side = match o.side.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(DecodeError(format!("order: unknown side {other}"))),
    };
    let qty = |v: Decimal| Quantity::new(v).map_err(|e| DecodeError::of("order", e));
    let average_price = if o.executed_qty.is_zero() {
        None
    } else {
        let avg = o
            .cummulative_quote_qty
            .checked_div(o.executed_qty)
            .ok_or_else(|| DecodeError("order: average price overflows".into()))?;
        Some(Price::new(avg.normalize()).map_err(|e| DecodeError::of("order", e))?)
    };
    let mut fee = Decimal::ZERO;
    for f in &o.fills {
        fee = fee
            .checked_add(f.commission)
            .ok_or_else(|| DecodeError("order: fees overflow".into()))?;
    }
    let fee_asset = o
        .fills
        .first()
        .and_then(|f| Asset::new(&f.commission_asset).ok());
    let at = o.update_time.or(o.transact_time).unwrap_or_default();
    Ok(OrderReport {
        client_order_id,
        venue_order_id: o.order_id.to_string(),
        symbol,
        side,
        status,
        quantity: qty(o.orig_qty)?,
        filled_quantity: qty(o.executed_qty)?,
        average_price,
        fee: qty(fee)?,
        fee_asset,
        updated_at: millis(at)?,
    })
}

/// The code of "timestamp outside the receive window".
pub const TIMESTAMP_REFUSED: i64 = -1021;

/// The `code` of an error answer, if the body is one.
#[must_use]
pub fn error_code(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<models::ApiError>(body)
        .ok()
        .map(|e| e.code)
}

/// The code Binance uses for "no such order" on query and cancel.
pub const NO_SUCH_ORDER: &str = "-2013";

/// An error answer (HTTP status and body) as the classified [`ExchangeError`].
#[must_use]
pub fn error(status: u16, body: &[u8], retry_after: Option<Duration>) -> ExchangeError {
    failure(status, body, retry_after).into_error()
}

/// An error answer classified for retrying: what the venue certainly did not act on
/// (rate limits, a stale timestamp, an overloaded server) may be sent again; what it may
/// have acted on (internal errors, backend timeouts) is an unknown outcome.
pub(crate) fn failure(status: u16, body: &[u8], retry_after: Option<Duration>) -> Failure {
    let text = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(300)
            .collect::<String>()
    };
    if status == 418 || status == 429 {
        return Failure::NotApplied(ExchangeError::RateLimited {
            exchange: BINANCE,
            retry_after,
        });
    }
    let Ok(api) = serde_json::from_slice::<models::ApiError>(body) else {
        let message = format!("HTTP {status}: {}", text());
        return if status >= 500 || status == 408 {
            Failure::Unknown(ExchangeError::Transient {
                exchange: BINANCE,
                message,
                source: None,
            })
        } else {
            Failure::Final(ExchangeError::Rejected {
                exchange: BINANCE,
                code: Some(format!("HTTP {status}")),
                reason: message,
            })
        };
    };
    let transient = |msg: String| ExchangeError::Transient {
        exchange: BINANCE,
        message: msg,
        source: None,
    };
    match api.code {
        -1003 | -1015 => Failure::NotApplied(ExchangeError::RateLimited {
            exchange: BINANCE,
            retry_after,
        }),
        // Timestamp outside recvWindow, server busy: refused before anything happened.
        TIMESTAMP_REFUSED | -1008 => {
            Failure::NotApplied(transient(format!("{} ({})", api.msg, api.code)))
        }
        // Unknown error, disconnected, unexpected response, backend timeout: Binance's
        // documentation says the execution status is then unknown.
        -1000 | -1001 | -1006 | -1007 => {
            Failure::Unknown(transient(format!("{} ({})", api.msg, api.code)))
        }
        -1002 | -1022 | -2014 | -2015 => Failure::Final(ExchangeError::Auth {
            exchange: BINANCE,
            message: format!("{} ({})", api.msg, api.code),
        }),
        -2010
            if api
                .msg
                .to_ascii_lowercase()
                .contains("insufficient balance") =>
        {
            Failure::Final(ExchangeError::InsufficientBalance {
                exchange: BINANCE,
                message: api.msg,
            })
        }
        code => {
            let error = ExchangeError::Rejected {
                exchange: BINANCE,
                code: Some(code.to_string()),
                reason: api.msg,
            };
            if status >= 500 {
                Failure::Unknown(error)
            } else {
                Failure::Final(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE_INFO: &[u8] = include_bytes!("../../test_data/binance/exchange_info.json");

    #[test]
    fn the_documented_answer_becomes_instruments_with_their_filters() {
        let (listed, skipped) = instruments(EXCHANGE_INFO).unwrap();
        assert_eq!(listed.len(), 2);
        let btc = listed
            .iter()
            .find(|i| i.symbol().to_string() == "BTC/USDT")
            .unwrap();
        let f = btc.filters();
        assert_eq!(f.tick_size.to_string(), "0.01");
        assert_eq!(
            (f.step_size.to_string(), f.min_qty.to_string()),
            ("0.00001".into(), "0.00001".into())
        );
        assert_eq!(f.max_qty.map(|q| q.to_string()), Some("9000".into()));
        assert_eq!(
            f.min_notional.to_string(),
            "5",
            "MIN_NOTIONAL, the older filter"
        );
        let eth = listed
            .iter()
            .find(|i| i.symbol().to_string() == "ETH/BTC")
            .unwrap();
        assert_eq!(
            eth.filters().min_notional.to_string(),
            "0.0001",
            "NOTIONAL, the newer filter"
        );
        assert_eq!(
            skipped,
            [Skipped {
                symbol: "LUNAUSDT".into(),
                reason: "status is BREAK".into()
            }]
        );
    }

    #[test]
    fn symbols_map_to_binances_spelling_and_bad_bodies_are_decode_errors() {
        assert_eq!(venue_symbol("BTC/USDT".parse().unwrap()), "BTCUSDT");
        assert!(instruments(b"<html>502</html>").is_err());
        let missing = br#"{"symbols":[{"symbol":"XUSDT","status":"TRADING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;
        let (listed, skipped) = instruments(missing).unwrap();
        assert!(listed.is_empty());
        assert_eq!(skipped[0].reason, "no PRICE_FILTER");
    }
}
