//! Kraken's answers into core types: `AssetPairs` into [`Instrument`]s (tick size,
//! `lot_decimals` step, `ordermin`, `costmin`), tickers, OHLC, balances, orders and key
//! permissions, and the `error` list into the classified [`ExchangeError`]. Kraken names
//! assets its own way (`XXBT`, `XBT`, `ZUSD`, `XDG`); they are mapped both ways here.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{
    Asset, Balance, Candle, ClientOrderId, ExchangeError, ExchangeId, Instrument,
    InstrumentFilters, KeyPermissions, Notional, OrderReport, OrderStatus, Price, Quantity, Side,
    Symbol, Ticker,
};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use super::models;
use crate::decode::{DecodeError, DecodeReason, cut};
use crate::listing::Unlisted;
use crate::retry::Failure;

const KRAKEN: ExchangeId = ExchangeId::Kraken;

/// Why an answer is not a result: Kraken's error list, or a body that did not parse.
#[derive(Debug)]
pub(crate) enum Refusal {
    Errors(Vec<String>),
    Decode(DecodeError),
}

/// Kraken's legacy four-letter asset codes (`XXBT`, `ZUSD`) drop their class prefix.
const LEGACY: [&str; 22] = [
    "XXBT", "XETH", "XLTC", "XXRP", "XXLM", "XXDG", "XETC", "XZEC", "XXMR", "XMLN", "XREP", "XXTZ",
    "XICN", "XMLN", "ZUSD", "ZEUR", "ZGBP", "ZJPY", "ZCAD", "ZAUD", "ZCHF", "XDAO",
];

/// Kraken's asset name as the common one: `XXBT`/`XBT` → `BTC`, `XXDG`/`XDG` → `DOGE`,
/// `ZUSD` → `USD`; others unchanged.
///
/// ```
/// use nexus_exchanges::kraken::parse::common_asset;
/// assert_eq!(common_asset("XXBT"), "BTC");
/// assert_eq!(common_asset("ZUSD"), "USD");
/// assert_eq!(common_asset("USDT"), "USDT");
/// ```
#[must_use]
pub fn common_asset(kraken: &str) -> String {
    let name = if LEGACY.contains(&kraken) {
        &kraken[1..]
    } else {
        kraken
    };
    match name {
        "XBT" => "BTC".to_owned(),
        "XDG" => "DOGE".to_owned(),
        other => other.to_owned(),
    }
}

/// The common asset name as Kraken spells it in pair names (`BTC` → `XBT`).
#[must_use]
pub fn kraken_asset(common: &str) -> &str {
    match common {
        "BTC" => "XBT",
        "DOGE" => "XDG",
        other => other,
    }
}

/// Kraken's alternative pair name for a symbol: `BTC/USDT` → `XBTUSDT`.
///
/// ```
/// use nexus_exchanges::kraken::parse::venue_pair;
/// assert_eq!(venue_pair("BTC/USDT".parse().unwrap()), "XBTUSDT");
/// assert_eq!(venue_pair("ETH/USD".parse().unwrap()), "ETHUSD");
/// ```
#[must_use]
pub fn venue_pair(symbol: Symbol) -> String {
    format!(
        "{}{}",
        kraken_asset(symbol.base().as_str()),
        kraken_asset(symbol.quote().as_str())
    )
}

/// The symbol of a pair from its `wsname` (`XBT/USDT` → `BTC/USDT`).
fn symbol_of_wsname(wsname: &str) -> Option<Symbol> {
    let (base, quote) = wsname.split_once('/')?;
    let base = Asset::new(&common_asset(base)).ok()?;
    let quote = Asset::new(&common_asset(quote)).ok()?;
    Symbol::new(base, quote).ok()
}

fn envelope<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, Refusal> {
    let envelope: models::Envelope<T> = DecodeError::json(what, body).map_err(Refusal::Decode)?;
    if !envelope.error.is_empty() {
        return Err(Refusal::Errors(envelope.error));
    }
    envelope
        .result
        .ok_or_else(|| Refusal::Decode(DecodeError::field(what, "result", DecodeReason::Missing)))
}

fn public<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, DecodeError> {
    envelope(body, what).map_err(|r| match r {
        Refusal::Decode(e) => e,
        Refusal::Errors(errors) => DecodeError::body(
            what,
            DecodeReason::Venue {
                errors: errors.join(", "),
            },
        ),
    })
}

/// Kraken's pairs with the symbols they trade, both ways.
#[derive(Debug, Default)]
pub struct Pairs {
    /// The instruments (with filters) of the pairs that are online.
    pub instruments: Vec<Instrument>,
    /// Pair key and altname → symbol (answers are keyed by either).
    pub symbols: HashMap<String, Symbol>,
    /// Symbol → altname, for requests.
    pub names: HashMap<Symbol, String>,
    /// Pairs left out (by pair key), with the reason.
    pub skipped: Vec<(String, Unlisted)>,
}

/// `GET /0/public/AssetPairs`.
///
/// # Errors
/// [`DecodeError`] when the body is not `AssetPairs` or Kraken reported an error.
pub fn asset_pairs(body: &[u8]) -> Result<Pairs, DecodeError> {
    let pairs: HashMap<String, models::AssetPair> = public(body, "AssetPairs")?;
    let mut out = Pairs::default();
    for (key, pair) in pairs {
        let Some(symbol) = pair.wsname.as_deref().and_then(symbol_of_wsname) else {
            let value = cut(pair.wsname.as_deref().unwrap_or_default(), 32);
            out.skipped.push((
                key,
                Unlisted::NoSymbol {
                    field: "wsname",
                    value,
                },
            ));
            continue;
        };
        out.symbols.insert(key.clone(), symbol);
        out.symbols.insert(pair.altname.clone(), symbol);
        out.names.insert(symbol, pair.altname.clone());
        match instrument(symbol, &pair) {
            Ok(instrument) => out.instruments.push(instrument),
            Err(reason) => out.skipped.push((key, reason)),
        }
    }
    out.instruments.sort_by_key(|i| i.symbol().to_string());
    Ok(out)
}

fn instrument(symbol: Symbol, pair: &models::AssetPair) -> Result<Instrument, Unlisted> {
    if let Some(status) = &pair.status
        && status != "online"
    {
        return Err(Unlisted::Status {
            status: cut(status, 32),
        });
    }
    let decimals = |field: &'static str, n: u32| {
        if n > 20 {
            Err(Unlisted::field(
                field,
                DecodeReason::malformed("at most 20 decimals", &n.to_string()),
            ))
        } else {
            Ok(Decimal::new(1, n))
        }
    };
    let tick = match pair.tick_size {
        Some(tick) => tick,
        None => decimals("pair_decimals", pair.pair_decimals)?,
    };
    let step = decimals("lot_decimals", pair.lot_decimals)?;
    let min_qty = pair.ordermin.unwrap_or(step);
    // No `costmin`: Kraken sets no minimum order value for the pair.
    let min_notional = pair.costmin.unwrap_or(Decimal::ZERO);
    let filters = InstrumentFilters {
        tick_size: Price::new(tick.normalize()).map_err(|e| Unlisted::field("tick_size", e))?,
        step_size: Quantity::new(step).map_err(|e| Unlisted::field("lot_decimals", e))?,
        min_qty: Quantity::new(min_qty.normalize()).map_err(|e| Unlisted::field("ordermin", e))?,
        max_qty: None,
        min_notional: Notional::new(min_notional.normalize())
            .map_err(|e| Unlisted::field("costmin", e))?,
    };
    Ok(Instrument::new(KRAKEN, symbol, filters)?)
}

/// The price that leads a ticker field's list (`b`, `a`, `c`).
fn price_at(values: &[serde_json::Value]) -> Result<Price, DecodeReason> {
    let value = values.first().ok_or(DecodeReason::Missing)?;
    let text = value
        .as_str()
        .ok_or_else(|| DecodeReason::malformed("a decimal string", &value.to_string()))?;
    let value: Decimal = text
        .parse()
        .map_err(|_| DecodeReason::malformed("a decimal string", text))?;
    Ok(Price::new(value)?)
}

/// `GET /0/public/Ticker`: tickers of the pairs `symbols` knows (keyed by pair key or
/// altname), stamped `at`.
///
/// # Errors
/// [`DecodeError`] when the body is not a ticker answer or a price is not positive.
pub fn tickers(
    body: &[u8],
    symbols: &HashMap<String, Symbol>,
    at: DateTime<Utc>,
) -> Result<Vec<Ticker>, DecodeError> {
    const ENDPOINT: &str = "Ticker";
    let infos: HashMap<String, models::TickerInfo> = public(body, ENDPOINT)?;
    let mut out = Vec::with_capacity(infos.len());
    for (key, info) in infos {
        let Some(symbol) = symbols.get(&key) else {
            continue;
        };
        let price = |field: &str, values: &[serde_json::Value]| {
            price_at(values).map_err(|e| DecodeError::field(ENDPOINT, format!("{key} {field}"), e))
        };
        let ticker = Ticker::new(
            *symbol,
            price("b", &info.b)?,
            price("a", &info.a)?,
            price("c", &info.c)?,
            at,
        )
        .map_err(|e| DecodeError::field(ENDPOINT, key.clone(), e))?;
        out.push(ticker);
    }
    Ok(out)
}

/// The columns of an OHLC row, in Kraken's order (those this adapter reads).
const OHLC_COLUMNS: [&str; 7] = ["time", "open", "high", "low", "close", "vwap", "volume"];

/// `GET /0/public/OHLC`: the candles that closed by `now`, oldest first (Kraken's last
/// row is the candle still forming).
///
/// # Errors
/// [`DecodeError`] when a row is malformed or inconsistent.
pub fn ohlc(
    body: &[u8],
    interval: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Candle>, DecodeError> {
    const ENDPOINT: &str = "OHLC";
    let result: HashMap<String, serde_json::Value> = public(body, ENDPOINT)?;
    let Some(rows) = result
        .iter()
        .find(|(k, _)| k.as_str() != "last")
        .and_then(|(_, v)| v.as_array())
    else {
        return Ok(Vec::new());
    };
    let length = chrono::Duration::from_std(interval).map_err(|_| {
        DecodeError::body(
            ENDPOINT,
            DecodeReason::TimeOutOfRange {
                value: format!("interval {} s", interval.as_secs()),
            },
        )
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let at = |i: usize, e: DecodeReason| {
            let column = OHLC_COLUMNS.get(i).copied().unwrap_or("column");
            DecodeError::field(ENDPOINT, format!("row {n} {column}"), e)
        };
        let field = |i: usize| row.get(i).ok_or_else(|| at(i, DecodeReason::Missing));
        let dec = |i: usize| -> Result<Decimal, DecodeError> {
            let v = field(i)?;
            v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                at(
                    i,
                    DecodeReason::malformed("a decimal string", &v.to_string()),
                )
            })
        };
        let price = |i: usize| Price::new(dec(i)?).map_err(|e| at(i, e.into()));
        let seconds = field(0)?;
        let time = seconds.as_i64().ok_or_else(|| {
            at(
                0,
                DecodeReason::malformed("an integer", &seconds.to_string()),
            )
        })?;
        let time = DateTime::from_timestamp(time, 0).ok_or_else(|| {
            at(
                0,
                DecodeReason::TimeOutOfRange {
                    value: time.to_string(),
                },
            )
        })?;
        let closes = time.checked_add_signed(length).ok_or_else(|| {
            at(
                0,
                DecodeReason::TimeOutOfRange {
                    value: format!("{time} + {} s", interval.as_secs()),
                },
            )
        })?;
        if closes > now {
            continue;
        }
        let volume = Quantity::new(dec(6)?).map_err(|e| at(6, e.into()))?;
        out.push(
            Candle::new(time, price(1)?, price(2)?, price(3)?, price(4)?, volume)
                .map_err(|e| DecodeError::field(ENDPOINT, format!("row {n}"), e))?,
        );
    }
    out.sort_by_key(Candle::open_time);
    Ok(out)
}

/// `POST /0/private/BalanceEx`: free = balance − held by orders; zero balances and assets
/// no core [`Asset`] can name (staking variants like `ETH2.S`) are left out.
pub(crate) fn balances(body: &[u8]) -> Result<Vec<Balance>, Refusal> {
    const ENDPOINT: &str = "BalanceEx";
    let assets: HashMap<String, models::BalanceEx> = envelope(body, ENDPOINT)?;
    let mut out = Vec::new();
    for (name, b) in assets {
        let Ok(asset) = Asset::new(&common_asset(&name)) else {
            continue;
        };
        let at = |field: &str, e: DecodeReason| {
            Refusal::Decode(DecodeError::field(ENDPOINT, format!("{name} {field}"), e))
        };
        // No `hold_trade`: nothing of the asset is held by open orders.
        let held = b.hold_trade.unwrap_or(Decimal::ZERO);
        if b.balance.is_zero() {
            continue;
        }
        let free = b.balance.checked_sub(held).ok_or_else(|| {
            at(
                "balance",
                DecodeReason::Overflow {
                    what: "free balance",
                },
            )
        })?;
        let free = Quantity::new(free.max(Decimal::ZERO)).map_err(|e| at("balance", e.into()))?;
        let locked = Quantity::new(held.clamp(Decimal::ZERO, b.balance.max(Decimal::ZERO)))
            .map_err(|e| at("hold_trade", e.into()))?;
        out.push(Balance {
            asset,
            free,
            locked,
        });
    }
    out.sort_by(|a, b| a.asset.as_str().cmp(b.asset.as_str()));
    Ok(out)
}

/// `POST /0/private/AddOrder`: the transaction id.
pub(crate) fn added(body: &[u8]) -> Result<String, Refusal> {
    const ENDPOINT: &str = "AddOrder";
    let added: models::AddOrder = envelope(body, ENDPOINT)?;
    added
        .txid
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::Decode(DecodeError::field(ENDPOINT, "txid", DecodeReason::Missing)))
}

/// `POST /0/private/CancelOrder`: how many orders were cancelled.
pub(crate) fn cancelled(body: &[u8]) -> Result<u32, Refusal> {
    envelope::<models::CancelOrder>(body, "CancelOrder").map(|c| c.count)
}

/// The endpoint name of order lists in errors: `OpenOrders` and `ClosedOrders` answer alike.
pub(crate) const ORDERS: &str = "OpenOrders/ClosedOrders";

/// `POST /0/private/OpenOrders` or `ClosedOrders`: the first order listed, as a report
/// about `symbol` whose client order id is `id` (Kraken echoes `cl_ord_id` when set).
pub(crate) fn listed_order(
    body: &[u8],
    symbol: Symbol,
    id: &ClientOrderId,
) -> Result<Option<OrderReport>, Refusal> {
    let lists: models::OrderLists = envelope(body, ORDERS)?;
    // The request filtered by `cl_ord_id`, but only an order that says it is ours counts:
    // taking some other order for ours would book fills that never happened.
    let mut candidates: Vec<(String, models::Order)> = lists
        .open
        .into_iter()
        .chain(lists.closed)
        .filter(|(_, o)| {
            o.cl_ord_id
                .as_deref()
                .is_none_or(|echoed| echoed == id.as_str())
        })
        .collect();
    let unechoed = candidates
        .iter()
        .filter(|(_, o)| o.cl_ord_id.is_none())
        .count();
    if unechoed > 0 && candidates.len() > 1 {
        return Err(Refusal::Decode(DecodeError::body(
            ORDERS,
            DecodeReason::Ambiguous {
                count: candidates.len(),
                id: id.to_string(),
            },
        )));
    }
    // An id reused after its first order closed: the open one is the live one, else the
    // latest.
    candidates.sort_by(|a, b| {
        let rank = |o: &models::Order| (o.status == "open" || o.status == "pending", o.opentm);
        rank(&b.1)
            .partial_cmp(&rank(&a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let Some((txid, order)) = candidates.into_iter().next() else {
        return Ok(None);
    };
    order_report(&txid, &order, symbol, id)
        .map(Some)
        .map_err(Refusal::Decode)
}

/// One Kraken order as an [`OrderReport`].
///
/// # Errors
/// [`DecodeError`] for an unknown status or side, or impossible amounts or times.
pub(crate) fn order_report(
    txid: &str,
    o: &models::Order,
    symbol: Symbol,
    id: &ClientOrderId,
) -> Result<OrderReport, DecodeError> {
    let at =
        |field: &str, e: DecodeReason| DecodeError::field(ORDERS, format!("{txid} {field}"), e);
    let filled = !o.vol_exec.is_zero();
    let status = match o.status.as_str() {
        "pending" | "open" if filled => OrderStatus::PartiallyFilled,
        "pending" | "open" => OrderStatus::New,
        "closed" if o.vol_exec >= o.vol => OrderStatus::Filled,
        "closed" | "canceled" => OrderStatus::Canceled,
        "expired" => OrderStatus::Expired,
        other => return Err(at("status", DecodeReason::unknown(other))),
    };
    let side = match o.descr.side.as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(at("descr.type", DecodeReason::unknown(other))),
    };
    let client_order_id = match &o.cl_ord_id {
        Some(echoed) => ClientOrderId::new(echoed).map_err(|e| at("cl_ord_id", e.into()))?,
        None => *id,
    };
    let qty = |field: &str, v: Decimal| Quantity::new(v).map_err(|e| at(field, e.into()));
    let average_price = if filled && !o.price.is_zero() {
        Some(Price::new(o.price).map_err(|e| at("price", e.into()))?)
    } else {
        None
    };
    // `closetm` is 0 (or absent) until the order closes.
    let (time_field, seconds) = match o.closetm.filter(|t| *t > 0.0) {
        Some(t) => ("closetm", t),
        None => ("opentm", o.opentm),
    };
    // Kraken's times are seconds with a fraction; a float is fine for a timestamp.
    #[allow(clippy::cast_possible_truncation)]
    let updated_at =
        DateTime::from_timestamp_millis((seconds * 1000.0) as i64).ok_or_else(|| {
            at(
                time_field,
                DecodeReason::TimeOutOfRange {
                    value: seconds.to_string(),
                },
            )
        })?;
    Ok(OrderReport {
        client_order_id,
        venue_order_id: txid.to_owned(),
        symbol,
        side,
        status,
        quantity: qty("vol", o.vol)?,
        filled_quantity: qty("vol_exec", o.vol_exec)?,
        average_price,
        // Kraken charges in the quote currency by default (`fciq`).
        fee: qty("fee", o.fee)?,
        fee_asset: filled.then(|| symbol.quote()),
        updated_at,
    })
}

/// `POST /0/private/GetApiKeyInfo`: `query-funds` is reading, `modify-trades` (or the
/// newer `create-modify-orders`) trading, `withdraw-funds` withdrawing.
pub(crate) fn permissions(body: &[u8]) -> Result<KeyPermissions, Refusal> {
    let info: models::ApiKeyInfo = envelope(body, "GetApiKeyInfo")?;
    let has = |p: &str| info.permissions.iter().any(|q| q == p);
    Ok(KeyPermissions {
        read: has("query-funds"),
        trade: has("modify-trades") || has("create-modify-orders"),
        withdraw: has("withdraw-funds"),
    })
}

/// Kraken's error list as the classified [`ExchangeError`] (the first error decides).
#[must_use]
pub fn error(errors: &[String]) -> ExchangeError {
    failure(errors).into_error()
}

/// The parse functions' fuzz entry: any body through every private parser.
#[doc(hidden)]
pub fn private_answers(body: &[u8]) -> Vec<String> {
    let id = ClientOrderId::new("fuzz").ok();
    let symbol: Option<Symbol> = "BTC/USD".parse().ok();
    let mut seen = Vec::new();
    let mut note = |r: Result<String, Refusal>| {
        seen.push(match r {
            Ok(s) => s,
            Err(Refusal::Errors(e)) => error(&e).to_string(),
            Err(Refusal::Decode(e)) => e.to_string(),
        });
    };
    note(balances(body).map(|b| format!("{b:?}")));
    note(added(body));
    note(cancelled(body).map(|c| c.to_string()));
    note(permissions(body).map(|p| format!("{p:?}")));
    if let (Some(symbol), Some(id)) = (symbol, id) {
        note(listed_order(body, symbol, &id).map(|o| format!("{o:?}")));
    }
    seen
}

/// Classifies for retrying: a refused nonce, a rate limit or an engine that is
/// unavailable left nothing changed; an internal error or an elapsed deadline may have.
pub(crate) fn failure(errors: &[String]) -> Failure {
    let first = errors.first().map_or("", String::as_str);
    let message = errors.join("; ");
    let code = || {
        let mut parts = first.splitn(3, ':');
        let category = parts.next().unwrap_or_default();
        match parts.next() {
            Some(what) => format!("{category}:{}", what.trim()),
            None => category.to_owned(),
        }
    };
    let transient = |message: String| ExchangeError::Transient {
        exchange: KRAKEN,
        message,
        source: None,
    };
    match code().as_str() {
        "EAPI:Invalid nonce" => Failure::NotApplied(transient(message)),
        "EAPI:Rate limit exceeded"
        | "EOrder:Rate limit exceeded"
        | "EOrder:Domain rate limit exceeded"
        | "EAuth:Rate limit exceeded"
        | "EAuth:Too many requests"
        | "EGeneral:Temporary lockout"
        | "EService:Throttled" => Failure::NotApplied(ExchangeError::RateLimited {
            exchange: KRAKEN,
            retry_after: None,
        }),
        "EService:Unavailable" | "EService:Busy" => Failure::NotApplied(transient(message)),
        "EGeneral:Internal error" | "EService:Deadline elapsed" => {
            Failure::Unknown(transient(message))
        }
        "EAPI:Invalid key"
        | "EAPI:Invalid signature"
        | "EGeneral:Permission denied"
        | "EAccount:Invalid permissions"
        | "EAuth:Account temporary disabled"
        | "EAuth:Account unconfirmed" => Failure::Final(ExchangeError::Auth {
            exchange: KRAKEN,
            message,
        }),
        "EOrder:Insufficient funds" | "EOrder:Margin level too low" => {
            Failure::Final(ExchangeError::InsufficientBalance {
                exchange: KRAKEN,
                message,
            })
        }
        code => Failure::Final(ExchangeError::Rejected {
            exchange: KRAKEN,
            code: Some(code.to_owned()),
            reason: message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSET_PAIRS: &[u8] = include_bytes!("../../test_data/kraken/asset_pairs.json");
    const TICKER: &[u8] = include_bytes!("../../test_data/kraken/ticker.json");
    const OHLC: &[u8] = include_bytes!("../../test_data/kraken/ohlc.json");
    const BALANCE_EX: &[u8] = include_bytes!("../../test_data/kraken/balance_ex.json");
    const BALANCE_EX_NUMBERS: &[u8] =
        include_bytes!("../../test_data/kraken/balance_ex_doc_example.json");
    const OPEN: &[u8] = include_bytes!("../../test_data/kraken/open_orders.json");
    const OPEN_BY_ID: &[u8] = include_bytes!("../../test_data/kraken/open_orders_cl_ord_id.json");
    const CLOSED_EMPTY: &[u8] = include_bytes!("../../test_data/kraken/closed_orders_empty.json");
    const KEY_INFO: &[u8] = include_bytes!("../../test_data/kraken/api_key_info.json");
    const KEY_INFO_SNAKE: &[u8] =
        include_bytes!("../../test_data/kraken/api_key_info_snake_case.json");
    const ADD_ORDER: &[u8] = include_bytes!("../../test_data/kraken/add_order.json");

    fn sym(s: &str) -> Symbol {
        s.parse().unwrap()
    }

    #[test]
    fn asset_pairs_become_instruments_and_symbols_map_both_ways() {
        let pairs = asset_pairs(ASSET_PAIRS).unwrap();
        let btc = pairs
            .instruments
            .iter()
            .find(|i| i.symbol() == sym("BTC/USDT"))
            .unwrap();
        let f = btc.filters();
        assert_eq!(f.tick_size.to_string(), "0.1");
        assert_eq!(f.step_size.to_string(), "0.00000001", "lot_decimals 8");
        assert_eq!(f.min_qty.to_string(), "0.00005", "ordermin");
        assert_eq!(f.min_notional.to_string(), "0.5", "costmin");
        assert_eq!(pairs.symbols["XBTUSDT"], sym("BTC/USDT"));
        assert_eq!(
            pairs.symbols["XXBTZUSD"],
            sym("BTC/USD"),
            "keyed by pair key too"
        );
        assert_eq!(pairs.names[&sym("BTC/USD")], "XBTUSD");
        assert_eq!(venue_pair(sym("BTC/USDT")), "XBTUSDT");
        assert_eq!(common_asset("XXDG"), "DOGE");
    }

    #[test]
    fn decimals_up_to_twenty_are_read_and_more_are_skipped() {
        // A pair without `tick_size` takes its tick from `pair_decimals`; both decimal
        // counts are bounded at 20 so a hostile value cannot build an absurd increment.
        let edited = |lot: u32, price: u32| {
            let mut v: serde_json::Value = serde_json::from_slice(ASSET_PAIRS).unwrap();
            let pair = &mut v["result"]["XBTUSDT"];
            pair["lot_decimals"] = lot.into();
            pair["pair_decimals"] = price.into();
            pair.as_object_mut().unwrap().remove("tick_size");
            pair.as_object_mut().unwrap().remove("ordermin");
            asset_pairs(&serde_json::to_vec(&v).unwrap()).unwrap()
        };
        let at_bound = edited(20, 20);
        let btc = at_bound
            .instruments
            .iter()
            .find(|i| i.symbol() == sym("BTC/USDT"))
            .expect("20 decimals are accepted");
        assert_eq!(
            btc.filters().step_size.to_string(),
            format!("0.{}1", "0".repeat(19))
        );
        assert_eq!(
            btc.filters().tick_size.to_string(),
            format!("0.{}1", "0".repeat(19))
        );
        assert_eq!(
            btc.filters().min_qty,
            btc.filters().step_size,
            "no ordermin: one step"
        );
        for (lot, price, field) in [(21, 1, "lot_decimals"), (8, 21, "pair_decimals")] {
            let over = edited(lot, price);
            assert!(
                over.instruments
                    .iter()
                    .all(|i| i.symbol() != sym("BTC/USDT"))
            );
            let (key, reason) = over
                .skipped
                .iter()
                .find(|(key, _)| key == "XBTUSDT")
                .expect("skipped with its reason");
            assert_eq!(key, "XBTUSDT");
            assert!(reason.to_string().contains(field), "{reason}");
        }
    }

    #[test]
    fn tickers_and_ohlc_read_the_documented_answers() {
        let pairs = asset_pairs(ASSET_PAIRS).unwrap();
        let at = Utc::now();
        let tickers = tickers(TICKER, &pairs.symbols, at).unwrap();
        let btc = tickers
            .iter()
            .find(|t| t.symbol() == sym("BTC/USDT"))
            .unwrap();
        assert_eq!(
            (
                btc.bid().to_string(),
                btc.ask().to_string(),
                btc.last().to_string()
            ),
            ("105944.2".into(), "105944.3".into(), "105899.4".into())
        );
        let candles = ohlc(OHLC, Duration::from_secs(60), at).unwrap();
        assert!(!candles.is_empty());
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() < w[1].open_time())
        );
        assert_eq!(candles[0].open().to_string(), "30306.1");
        // Seen from the first candle's own minute, it is still forming.
        let first = candles[0].open_time();
        let early = ohlc(
            OHLC,
            Duration::from_secs(60),
            first + chrono::Duration::seconds(30),
        )
        .unwrap();
        assert!(early.is_empty());
    }

    #[test]
    fn balances_accept_strings_and_numbers_and_subtract_holds() {
        let b = balances(BALANCE_EX).unwrap_or_else(|_| panic!("balances"));
        let btc = b.iter().find(|b| b.asset.as_str() == "BTC").unwrap();
        assert_eq!(btc.free.to_string(), "0.4012");
        assert_eq!(btc.locked.to_string(), "0.8423");
        assert!(b.iter().any(|b| b.asset.as_str() == "USD"));
        let numbers = balances(BALANCE_EX_NUMBERS).unwrap_or_else(|_| panic!("numbers"));
        assert!(!numbers.is_empty());
    }

    #[test]
    fn orders_and_key_permissions_read_the_documented_answers() {
        let id = ClientOrderId::new("d15708c1-dbb6-465d-b77d-47258319cc90").unwrap();
        let report = listed_order(OPEN_BY_ID, sym("BTC/USDT"), &id)
            .unwrap_or_else(|_| panic!("open"))
            .unwrap();
        assert_eq!(report.status, OrderStatus::New);
        assert_eq!(report.venue_order_id, "OCNNCT-MEB2I-2XGM7L");
        assert_eq!(report.quantity.to_string(), "0.01");
        // The documented list without client order ids holds two orders: neither is
        // taken for ours.
        assert!(listed_order(OPEN, sym("BTC/USD"), &id).is_err());
        assert!(
            listed_order(CLOSED_EMPTY, sym("BTC/USD"), &id)
                .unwrap_or_else(|_| panic!())
                .is_none()
        );
        assert_eq!(
            added(ADD_ORDER).unwrap_or_else(|_| panic!()),
            "OUF4EM-FRGI2-MQMWZD"
        );
        for body in [KEY_INFO, KEY_INFO_SNAKE] {
            let p = permissions(body).unwrap_or_else(|_| panic!());
            assert!(p.read && p.trade && p.withdraw);
        }
    }

    #[test]
    fn only_an_order_that_is_ours_is_taken_for_ours() {
        let id = ClientOrderId::new("mine").unwrap();
        let order = |cl: Option<&str>, status: &str, opentm: f64| {
            let mut o = serde_json::json!({
                "status": status, "opentm": opentm, "descr": {"type": "buy"},
                "vol": "1", "vol_exec": "0", "fee": "0", "price": "0"
            });
            if let Some(cl) = cl {
                o["cl_ord_id"] = serde_json::json!(cl);
            }
            o
        };
        let body = |open: serde_json::Value, closed: serde_json::Value| {
            serde_json::json!({"error": [], "result": {"open": open, "closed": closed}}).to_string()
        };
        let btc = sym("BTC/USD");
        let foreign = body(
            serde_json::json!({"O1": order(Some("theirs"), "open", 1.0)}),
            serde_json::json!({}),
        );
        assert!(
            listed_order(foreign.as_bytes(), btc, &id)
                .unwrap_or_else(|_| panic!())
                .is_none()
        );
        let ambiguous = body(
            serde_json::json!({"O1": order(None, "open", 1.0)}),
            serde_json::json!({"O2": order(None, "closed", 0.5)}),
        );
        assert!(
            listed_order(ambiguous.as_bytes(), btc, &id).is_err(),
            "cannot tell which"
        );
        let reused = body(
            serde_json::json!({"O3": order(Some("mine"), "open", 2.0)}),
            serde_json::json!({"O2": order(Some("mine"), "closed", 1.0)}),
        );
        let found = listed_order(reused.as_bytes(), btc, &id)
            .unwrap_or_else(|_| panic!())
            .unwrap();
        assert_eq!(found.venue_order_id, "O3", "the live order");
        // One order that does not echo the id is ours: the request filtered by it.
        let alone = body(
            serde_json::json!({"O4": order(None, "open", 1.0)}),
            serde_json::json!({}),
        );
        let found = listed_order(alone.as_bytes(), btc, &id)
            .unwrap_or_else(|_| panic!())
            .unwrap();
        assert_eq!(
            (found.venue_order_id.as_str(), found.client_order_id),
            ("O4", id)
        );
        // Closed with its whole volume executed is filled; with less, it was cancelled.
        let closed = |vol_exec: &str| {
            let mut o = order(Some("mine"), "closed", 1.0);
            o["vol_exec"] = vol_exec.into();
            o["price"] = "100".into();
            body(serde_json::json!({}), serde_json::json!({"O5": o}))
        };
        let status = |vol_exec: &str| {
            listed_order(closed(vol_exec).as_bytes(), btc, &id)
                .unwrap_or_else(|_| panic!())
                .unwrap()
                .status
        };
        assert_eq!(status("1"), OrderStatus::Filled);
        assert_eq!(status("0.4"), OrderStatus::Canceled);
        // Nothing executed: no average price, whatever `price` says.
        let unfilled = listed_order(closed("0").as_bytes(), btc, &id)
            .unwrap_or_else(|_| panic!())
            .unwrap();
        assert_eq!(
            (unfilled.status, unfilled.average_price),
            (OrderStatus::Canceled, None)
        );
        // Times are seconds with a fraction: a closed order's is when it closed, an open
        // one's (`closetm` 0 until it closes) when it opened.
        let millis = |o: serde_json::Value| {
            let listed = body(serde_json::json!({}), serde_json::json!({"O6": o}));
            listed_order(listed.as_bytes(), btc, &id)
                .unwrap_or_else(|_| panic!())
                .unwrap()
                .updated_at
                .timestamp_millis()
        };
        let mut done = order(Some("mine"), "closed", 1.25);
        done["closetm"] = 2.5.into();
        assert_eq!(millis(done), 2_500);
        let mut open = order(Some("mine"), "open", 1.25);
        open["closetm"] = 0.into();
        assert_eq!(millis(open), 1_250);
    }

    #[test]
    fn cancels_report_how_many_orders_went() {
        let count = |n: u32| {
            let body = format!(r#"{{"error":[],"result":{{"count":{n}}}}}"#);
            cancelled(body.as_bytes()).unwrap_or_else(|_| panic!())
        };
        assert_eq!(count(0), 0, "nothing was open");
        assert_eq!(count(2), 2);
    }

    #[test]
    fn hostile_numbers_are_errors_not_panics() {
        let huge = br#"{"error":[],"result":{"XXBT":{"balance":"79228162514264337593543950335","hold_trade":"-1"}}}"#;
        assert!(balances(huge).is_err());
        let far = br#"{"error":[],"result":{"XBTUSD":[[8210298412799,"1","1","1","1","1","1",1]],"last":0}}"#;
        assert!(ohlc(far, Duration::from_secs(86_400), Utc::now()).is_err());
    }

    #[test]
    fn documented_errors_are_classified() {
        let e = |s: &str| error(&[s.to_owned()]);
        assert!(matches!(
            e("EOrder:Insufficient funds"),
            ExchangeError::InsufficientBalance { .. }
        ));
        assert!(matches!(e("EAPI:Invalid key"), ExchangeError::Auth { .. }));
        assert!(matches!(
            e("EGeneral:Permission denied"),
            ExchangeError::Auth { .. }
        ));
        assert!(matches!(
            e("EAPI:Rate limit exceeded"),
            ExchangeError::RateLimited { .. }
        ));
        assert!(matches!(
            e("EService: Throttled: 1700000000"),
            ExchangeError::RateLimited { .. }
        ));
        assert!(matches!(
            failure(&["EAPI:Invalid nonce".into()]),
            Failure::NotApplied(_)
        ));
        assert!(matches!(
            failure(&["EGeneral:Internal error".into()]),
            Failure::Unknown(_)
        ));
        match e("EGeneral:Invalid arguments:volume") {
            ExchangeError::Rejected { code, reason, .. } => {
                assert_eq!(code.as_deref(), Some("EGeneral:Invalid arguments"));
                assert_eq!(
                    reason, "EGeneral:Invalid arguments:volume",
                    "the venue's text kept"
                );
            }
            other => panic!("{other}"),
        }
    }
}
