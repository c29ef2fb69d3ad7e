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
use crate::decode::{DecodeError, DecodeReason, cut};
use crate::listing::Unlisted;
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

/// The filters this adapter reads, by their `filterType`; the others (`MAX_NUM_ORDERS`, …)
/// are not its concern.
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

/// The `filterType`s [`VenueFilter`] reads.
const READ_FILTERS: [&str; 4] = ["PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "MIN_NOTIONAL"];

/// A listed symbol that could not become an [`Instrument`], and why.
#[derive(Debug)]
pub struct Skipped {
    /// Binance's symbol (`BTCUSDT`).
    pub symbol: String,
    /// Why it was left out.
    pub reason: Unlisted,
}

/// Binance's spelling of a symbol: base and quote run together (`BTC/USDT` → `BTCUSDT`).
#[must_use]
pub fn venue_symbol(symbol: Symbol) -> String {
    format!("{}{}", symbol.base(), symbol.quote())
}

/// Parses `exchangeInfo`: the tradable symbols as instruments, and the others with the
/// reason they were left out (not trading, a filter missing or unreadable, filters that
/// contradict each other).
///
/// # Errors
/// [`DecodeError`] when the body is not `exchangeInfo` JSON.
pub fn instruments(body: &[u8]) -> Result<(Vec<Instrument>, Vec<Skipped>), DecodeError> {
    let info: ExchangeInfo = DecodeError::json("exchangeInfo", body)?;
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

fn instrument(s: &SymbolInfo) -> Result<Instrument, Unlisted> {
    if s.status != "TRADING" {
        return Err(Unlisted::Status {
            status: cut(&s.status, 32),
        });
    }
    let symbol = Symbol::new(Asset::new(&s.base_asset)?, Asset::new(&s.quote_asset)?)?;
    let (mut tick, mut lot, mut min_notional) = (None, None, Decimal::ZERO);
    for raw in &s.filters {
        let kind = raw.get("filterType").and_then(serde_json::Value::as_str);
        let Some(kind) = kind.and_then(|k| READ_FILTERS.iter().copied().find(|r| *r == k)) else {
            continue;
        };
        // A filter this adapter reads but cannot: the symbol is left out saying which.
        match serde_json::from_value::<VenueFilter>(raw.clone())
            .map_err(|e| Unlisted::field(kind, e))?
        {
            VenueFilter::Price { tick_size } => tick = Some(tick_size),
            VenueFilter::LotSize {
                min_qty,
                max_qty,
                step_size,
            } => lot = Some((min_qty, max_qty, step_size)),
            VenueFilter::Notional { min_notional: n }
            | VenueFilter::MinNotional { min_notional: n } => {
                min_notional = min_notional.max(n);
            }
        }
    }
    let tick = tick.ok_or(Unlisted::Missing("PRICE_FILTER"))?;
    let (min_qty, max_qty, step) = lot.ok_or(Unlisted::Missing("LOT_SIZE"))?;
    let qty = |name: &'static str, v: Decimal| {
        Quantity::new(v.normalize()).map_err(|e| Unlisted::field(name, e))
    };
    let filters = InstrumentFilters {
        tick_size: Price::new(tick.normalize()).map_err(|e| Unlisted::field("tickSize", e))?,
        step_size: qty("stepSize", step)?,
        min_qty: qty("minQty", min_qty)?,
        // Binance sends a huge maxQty rather than none.
        max_qty: Some(qty("maxQty", max_qty)?),
        // Neither NOTIONAL nor MIN_NOTIONAL listed: Binance sets no minimum order value.
        min_notional: Notional::new(min_notional.normalize())
            .map_err(|e| Unlisted::field("minNotional", e))?,
    };
    Ok(Instrument::new(ExchangeId::Binance, symbol, filters)?)
}

/// The wanted symbols in Binance's spelling, to map answers back.
#[must_use]
pub fn venue_symbols(symbols: &[Symbol]) -> HashMap<String, Symbol> {
    symbols.iter().map(|s| (venue_symbol(*s), *s)).collect()
}

/// A time in Unix milliseconds.
fn millis(ms: i64) -> Result<DateTime<Utc>, DecodeReason> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| DecodeReason::TimeOutOfRange {
        value: ms.to_string(),
    })
}

/// `GET /api/v3/ticker/24hr`: the tickers of the `wanted` symbols (others are left out).
///
/// # Errors
/// [`DecodeError`] when the body is not a ticker list or a price is not positive.
pub fn tickers(body: &[u8], wanted: &HashMap<String, Symbol>) -> Result<Vec<Ticker>, DecodeError> {
    const ENDPOINT: &str = "ticker/24hr";
    let list: Vec<models::Ticker24h> = DecodeError::json(ENDPOINT, body)?;
    let mut out = Vec::with_capacity(list.len());
    for t in list {
        let Some(symbol) = wanted.get(&t.symbol) else {
            continue;
        };
        let at = |field: &str, e: DecodeReason| {
            DecodeError::field(ENDPOINT, format!("{} {field}", t.symbol), e)
        };
        let price = |field: &str, v: Decimal| Price::new(v).map_err(|e| at(field, e.into()));
        let ticker = Ticker::new(
            *symbol,
            price("bidPrice", t.bid_price)?,
            price("askPrice", t.ask_price)?,
            price("lastPrice", t.last_price)?,
            millis(t.close_time).map_err(|e| at("closeTime", e))?,
        )
        .map_err(|e| DecodeError::field(ENDPOINT, t.symbol.clone(), e))?;
        out.push(ticker);
    }
    Ok(out)
}

/// The columns of a kline, in Binance's order (those this adapter reads).
const KLINE_COLUMNS: [&str; 7] = [
    "open time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close time",
];

/// `GET /api/v3/klines`: the candles that closed before `now`, oldest first (the last
/// kline is usually still open and is left out).
///
/// # Errors
/// [`DecodeError`] when a kline is malformed or inconsistent.
pub fn klines(body: &[u8], now: DateTime<Utc>) -> Result<Vec<Candle>, DecodeError> {
    const ENDPOINT: &str = "klines";
    let rows: Vec<Vec<serde_json::Value>> = DecodeError::json(ENDPOINT, body)?;
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let at = |i: usize, e: DecodeReason| {
            let column = KLINE_COLUMNS.get(i).copied().unwrap_or("column");
            DecodeError::field(ENDPOINT, format!("row {n} {column}"), e)
        };
        let value = |i: usize| row.get(i).ok_or_else(|| at(i, DecodeReason::Missing));
        let time = |i: usize| {
            let v = value(i)?;
            let ms = v
                .as_i64()
                .ok_or_else(|| at(i, DecodeReason::malformed("an integer", &v.to_string())))?;
            millis(ms).map_err(|e| at(i, e))
        };
        let dec = |i: usize| {
            let v = value(i)?;
            v.as_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .ok_or_else(|| {
                    at(
                        i,
                        DecodeReason::malformed("a decimal string", &v.to_string()),
                    )
                })
        };
        let price = |i: usize| Price::new(dec(i)?).map_err(|e| at(i, e.into()));
        if time(6)? >= now {
            continue;
        }
        let volume = Quantity::new(dec(5)?).map_err(|e| at(5, e.into()))?;
        let candle = Candle::new(time(0)?, price(1)?, price(2)?, price(3)?, price(4)?, volume)
            .map_err(|e| DecodeError::field(ENDPOINT, format!("row {n}"), e))?;
        out.push(candle);
    }
    Ok(out)
}

/// `GET /api/v3/account`: the non-zero balances of assets with a valid name.
///
/// # Errors
/// [`DecodeError`] when the body is not an account.
pub fn balances(body: &[u8]) -> Result<Vec<Balance>, DecodeError> {
    const ENDPOINT: &str = "account";
    let account: models::Account = DecodeError::json(ENDPOINT, body)?;
    let mut out = Vec::new();
    for b in account.balances {
        if b.free.is_zero() && b.locked.is_zero() {
            continue;
        }
        // Binance lists a few assets whose names no venue-neutral Asset can hold.
        let Ok(asset) = Asset::new(&b.asset) else {
            continue;
        };
        let qty = |field: &str, v: Decimal| {
            Quantity::new(v)
                .map_err(|e| DecodeError::field(ENDPOINT, format!("{} {field}", b.asset), e))
        };
        out.push(Balance {
            asset,
            free: qty("free", b.free)?,
            locked: qty("locked", b.locked)?,
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
    let account: models::Account = DecodeError::json("account", account)?;
    let mut permissions = KeyPermissions {
        read: true,
        trade: account.can_trade,
        withdraw: account.can_withdraw,
    };
    if let Some(body) = restrictions {
        let key: models::ApiRestrictions = DecodeError::json("apiRestrictions", body)?;
        permissions.read = key.enable_reading;
        permissions.trade &= key.enable_spot_and_margin_trading;
        permissions.withdraw = key.enable_withdrawals;
    }
    Ok(permissions)
}

/// An order answer (`FULL` placement, query or cancel) about `symbol`.
///
/// # Errors
/// [`DecodeError`] when the body is not an order, holds an impossible value or carries
/// no time (`updateTime` or `transactTime`).
pub fn order(body: &[u8], symbol: Symbol) -> Result<OrderReport, DecodeError> {
    const ENDPOINT: &str = "order";
    let at = |field: &str, e: DecodeReason| DecodeError::field(ENDPOINT, field, e);
    let o: models::Order = DecodeError::json(ENDPOINT, body)?;
    // A cancel answer's `clientOrderId` is the cancel request's own; ours is the original.
    let (field, id) = match o.orig_client_order_id.as_deref() {
        Some(id) => ("origClientOrderId", id),
        None => ("clientOrderId", o.client_order_id.as_str()),
    };
    let client_order_id = ClientOrderId::new(id).map_err(|e| at(field, e.into()))?;
    let status = match o.status.as_str() {
        "NEW" | "PENDING_NEW" => OrderStatus::New,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" | "PENDING_CANCEL" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        other => return Err(at("status", DecodeReason::unknown(other))),
    };
    let side = match o.side.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(at("side", DecodeReason::unknown(other))),
    };
    let qty = |field: &str, v: Decimal| Quantity::new(v).map_err(|e| at(field, e.into()));
    let average_price = if o.executed_qty.is_zero() {
        None
    } else {
        let avg = o
            .cummulative_quote_qty
            .checked_div(o.executed_qty)
            .ok_or_else(|| {
                at(
                    "cummulativeQuoteQty",
                    DecodeReason::Overflow {
                        what: "average price",
                    },
                )
            })?;
        Some(Price::new(avg.normalize()).map_err(|e| at("cummulativeQuoteQty", e.into()))?)
    };
    let mut fee = Decimal::ZERO;
    for f in &o.fills {
        fee = fee
            .checked_add(f.commission)
            .ok_or_else(|| at("fills", DecodeReason::Overflow { what: "fees" }))?;
    }
    // A commission asset no core Asset can name leaves the fee without its asset rather
    // than the placed order without a report.
    let fee_asset = o
        .fills
        .first()
        .and_then(|f| Asset::new(&f.commission_asset).ok());
    // Queries carry `updateTime`, placements and cancels `transactTime`: an answer with
    // neither cannot say when the order was last seen.
    let (time_field, ms) = match (o.update_time, o.transact_time) {
        (Some(ms), _) => ("updateTime", ms),
        (None, Some(ms)) => ("transactTime", ms),
        (None, None) => return Err(at("updateTime", DecodeReason::Missing)),
    };
    Ok(OrderReport {
        client_order_id,
        venue_order_id: o.order_id.to_string(),
        symbol,
        side,
        status,
        quantity: qty("origQty", o.orig_qty)?,
        filled_quantity: qty("executedQty", o.executed_qty)?,
        average_price,
        fee: qty("fills commission", fee)?,
        fee_asset,
        updated_at: millis(ms).map_err(|e| at(time_field, e))?,
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
    if status == 418 {
        return Failure::NotApplied(ExchangeError::Banned {
            exchange: BINANCE,
            retry_after,
        });
    }
    if status == 429 {
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
    fn an_answer_that_is_not_json_is_unknown_on_a_timeout_or_server_error_else_refused() {
        // A gateway's HTML page, not Binance's JSON: 408 and 5xx may have been acted on.
        for status in [408, 500, 503] {
            assert!(
                matches!(
                    failure(status, b"<html>oops</html>", None),
                    Failure::Unknown(_)
                ),
                "{status}"
            );
        }
        for status in [400, 404, 409] {
            assert!(
                matches!(
                    failure(status, b"<html>oops</html>", None),
                    Failure::Final(_)
                ),
                "{status}"
            );
        }
    }

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
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].symbol, "LUNAUSDT");
        assert_eq!(skipped[0].reason.to_string(), "status is BREAK");
    }

    #[test]
    fn symbols_map_to_binances_spelling_and_bad_bodies_are_decode_errors() {
        assert_eq!(venue_symbol("BTC/USDT".parse().unwrap()), "BTCUSDT");
        assert!(instruments(b"<html>502</html>").is_err());
        let missing = br#"{"symbols":[{"symbol":"XUSDT","status":"TRADING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;
        let (listed, skipped) = instruments(missing).unwrap();
        assert!(listed.is_empty());
        assert_eq!(skipped[0].reason.to_string(), "no PRICE_FILTER");
        // A filter this adapter reads but cannot is named, not taken for a missing one.
        let garbled = br#"{"symbols":[{"symbol":"XUSDT","status":"TRADING","baseAsset":"X","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER","tickSize":"one cent"}]}]}"#;
        let (_, skipped) = instruments(garbled).unwrap();
        assert!(
            matches!(
                &skipped[0].reason,
                Unlisted::Field {
                    field: "PRICE_FILTER",
                    ..
                }
            ),
            "{}",
            skipped[0].reason
        );
    }

    #[test]
    fn an_order_without_a_time_is_a_decode_error_not_the_epoch() {
        let mut full: serde_json::Value =
            serde_json::from_slice(include_bytes!("../../test_data/binance/order_full.json"))
                .unwrap();
        // The docs' id (22 characters) is not one Nexus makes.
        full["clientOrderId"] = "nx-1".into();
        let btc: Symbol = "BTC/USDT".parse().unwrap();
        let placed = order(full.to_string().as_bytes(), btc).unwrap();
        assert_eq!(placed.updated_at.timestamp_millis(), 1_507_725_176_595);
        let mut timeless = full.clone();
        let fields = timeless.as_object_mut().unwrap();
        fields.remove("transactTime");
        fields.remove("updateTime");
        let error = order(timeless.to_string().as_bytes(), btc).unwrap_err();
        assert!(matches!(error.reason, DecodeReason::Missing), "{error}");
        assert_eq!(error.to_string(), "order updateTime: missing");

        let mut unknown = full;
        unknown["status"] = "SOMETHING_NEW".into();
        let error = order(unknown.to_string().as_bytes(), btc).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("status"));
    }

    #[test]
    fn kline_errors_name_the_row_and_column() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let bad = br#"[[1499040000000,"0.01634790","0.80000000","0.01575800","x","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]"#;
        let error = klines(bad, now).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("row 0 close"), "{error}");
        let short = br#"[[1499040000000,"0.01634790"]]"#;
        let error = klines(short, now).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("row 0 close time"), "{error}");
        assert!(matches!(error.reason, DecodeReason::Missing));
    }
}
