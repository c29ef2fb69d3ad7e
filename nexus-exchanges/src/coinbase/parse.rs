//! Coinbase's answers into core types: products into [`Instrument`]s (`price_increment`
//! tick, `base_increment` step, `base_min_size`/`base_max_size` quantity bounds,
//! `quote_min_size` minimum order value), best bid/ask and public products into
//! [`Ticker`]s, candles, accounts into [`Balance`]s, orders, key permissions, and error
//! answers into the classified [`ExchangeError`]. Decimals are parsed from Coinbase's
//! strings straight into `Decimal`, never through `f64`. No function here panics, whatever
//! the bytes.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{
    Asset, Balance, Candle, ClientOrderId, ExchangeError, ExchangeId, Instrument,
    InstrumentFilters, Interval, KeyPermissions, Notional, OrderReport, OrderStatus, Price,
    Quantity, Side, Symbol, Ticker,
};
use rust_decimal::Decimal;

use super::models;
use crate::decode::{DecodeError, DecodeReason, cut};
use crate::listing::Unlisted;
use crate::retry::Failure;

const COINBASE: ExchangeId = ExchangeId::Coinbase;

/// The failure reason Coinbase gives when a `client_order_id` was used before: the order
/// exists, so it is looked up rather than reported as refused.
pub const DUPLICATE_CLIENT_ORDER_ID: &str = "DUPLICATE_CLIENT_ORDER_ID";

/// The code of a cancel for an order Coinbase does not know.
pub const UNKNOWN_CANCEL_ORDER: &str = "UNKNOWN_CANCEL_ORDER";

/// A listed product that could not become an [`Instrument`], and why.
#[derive(Debug)]
pub struct Skipped {
    /// Coinbase's product id (`BTC-USD`).
    pub product_id: String,
    /// Why it was left out.
    pub reason: Unlisted,
}

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// What this page holds (for an order lookup: the matching orders only).
    pub items: Vec<T>,
    /// The cursor of the next page, when Coinbase says there is one.
    pub next_cursor: Option<String>,
}

fn next_cursor(has_next: bool, cursor: String) -> Option<String> {
    (has_next && !cursor.is_empty()).then_some(cursor)
}

/// Coinbase's spelling of a symbol: base and quote joined by a dash (`BTC/USDT` →
/// `BTC-USDT`).
#[must_use]
pub fn venue_symbol(symbol: Symbol) -> String {
    format!("{}-{}", symbol.base(), symbol.quote())
}

/// A spot product id as a symbol (`BTC-USDT` → `BTC/USDT`); `None` for anything else
/// (futures like `BIT-31JAN25-CDE`, malformed ids).
#[must_use]
pub fn from_product_id(product_id: &str) -> Option<Symbol> {
    let (base, quote) = product_id.split_once('-')?;
    if quote.contains('-') {
        return None;
    }
    Symbol::new(Asset::new(base).ok()?, Asset::new(quote).ok()?).ok()
}

/// The wanted symbols in Coinbase's spelling, to map answers back.
#[must_use]
pub fn venue_symbols(symbols: &[Symbol]) -> HashMap<String, Symbol> {
    symbols.iter().map(|s| (venue_symbol(*s), *s)).collect()
}

/// Coinbase's candle granularity for an interval (every core interval has one).
#[must_use]
pub const fn granularity(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "ONE_MINUTE",
        Interval::M5 => "FIVE_MINUTE",
        Interval::M15 => "FIFTEEN_MINUTE",
        Interval::H1 => "ONE_HOUR",
        Interval::H4 => "FOUR_HOUR",
        Interval::D1 => "ONE_DAY",
    }
}

/// A decimal field: `None` when empty (Coinbase's "unset"), an error when not a number.
fn number(text: &str) -> Result<Option<Decimal>, DecodeReason> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Decimal::from_str(text)
        .map(Some)
        .map_err(|_| DecodeReason::malformed("a decimal", text))
}

/// A decimal field that counts only when above zero.
fn positive(text: &str) -> Result<Option<Decimal>, DecodeReason> {
    Ok(number(text)?.filter(|v| *v > Decimal::ZERO))
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, DecodeReason> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DecodeReason::malformed("an RFC 3339 time", text))
}

/// Parses `GET /products`: the tradable spot products as instruments, and the others with
/// the reason they were left out (not `online`, disabled, cancel-only, limit-only,
/// post-only, in auction, not spot, an increment missing or unreadable).
///
/// The tick is `price_increment` (the price step), or `quote_increment` where a product
/// has no `price_increment` (older answers).
///
/// # Errors
/// [`DecodeError`] when the body is not a product list.
pub fn products(body: &[u8]) -> Result<(Vec<Instrument>, Vec<Skipped>), DecodeError> {
    let list: models::Products = DecodeError::json("products", body)?;
    let mut listed = Vec::new();
    let mut skipped = Vec::new();
    for p in list.products {
        match instrument(&p) {
            Ok(instrument) => listed.push(instrument),
            Err(reason) => skipped.push(Skipped {
                product_id: p.product_id,
                reason,
            }),
        }
    }
    Ok((listed, skipped))
}

fn instrument(p: &models::Product) -> Result<Instrument, Unlisted> {
    if !p.product_type.is_empty() && p.product_type != "SPOT" {
        return Err(Unlisted::NotSpot(cut(&p.product_type, 32)));
    }
    if !p.status.eq_ignore_ascii_case("online") {
        return Err(if p.status.is_empty() {
            Unlisted::NoStatus
        } else {
            Unlisted::Status {
                status: cut(&p.status, 32),
            }
        });
    }
    let closed = [
        (p.is_disabled, "disabled"),
        (p.trading_disabled, "trading disabled"),
        (p.cancel_only, "cancel only"),
        (p.view_only, "view only"),
        (p.limit_only, "limit orders only"),
        (p.post_only, "post-only orders only"),
        (p.auction_mode, "in auction mode"),
    ];
    if let Some((_, why)) = closed.iter().find(|(set, _)| *set) {
        return Err(Unlisted::Closed(why));
    }
    let symbol = from_product_id(&p.product_id).ok_or_else(|| Unlisted::NoSymbol {
        field: "product_id",
        value: cut(&p.product_id, 32),
    })?;
    let positive =
        |field: &'static str, text: &str| positive(text).map_err(|e| Unlisted::field(field, e));
    let tick = match positive("price_increment", &p.price_increment)? {
        Some(tick) => tick,
        None => positive("quote_increment", &p.quote_increment)?
            .ok_or(Unlisted::Missing("price_increment or quote_increment"))?,
    };
    let step = positive("base_increment", &p.base_increment)?
        .ok_or(Unlisted::Missing("base_increment"))?;
    let min_qty = positive("base_min_size", &p.base_min_size)?.unwrap_or(step);
    let max_qty = positive("base_max_size", &p.base_max_size)?;
    // An unset `quote_min_size`: Coinbase sets no minimum order value for the product.
    let min_notional = number(&p.quote_min_size)
        .map_err(|e| Unlisted::field("quote_min_size", e))?
        .unwrap_or(Decimal::ZERO);
    let qty = |field: &'static str, v: Decimal| {
        Quantity::new(v.normalize()).map_err(|e| Unlisted::field(field, e))
    };
    let filters = InstrumentFilters {
        tick_size: Price::new(tick.normalize())
            .map_err(|e| Unlisted::field("price_increment", e))?,
        step_size: qty("base_increment", step)?,
        min_qty: qty("base_min_size", min_qty)?,
        max_qty: max_qty.map(|m| qty("base_max_size", m)).transpose()?,
        min_notional: Notional::new(min_notional.normalize())
            .map_err(|e| Unlisted::field("quote_min_size", e))?,
    };
    Ok(Instrument::new(COINBASE, symbol, filters)?)
}

/// The midpoint of a bid and an ask.
fn midpoint(bid: Price, ask: Price) -> Option<Price> {
    let sum = bid.value().checked_add(ask.value())?;
    Price::new((sum / Decimal::TWO).normalize()).ok()
}

/// A price field of `product_id`'s entry: `None` when unset or not above zero.
fn price(
    endpoint: &'static str,
    product_id: &str,
    field: &str,
    text: &str,
) -> Result<Option<Price>, DecodeError> {
    let at = |e: DecodeReason| DecodeError::field(endpoint, format!("{product_id} {field}"), e);
    positive(text)
        .map_err(at)?
        .map(|v| Price::new(v).map_err(|e| at(e.into())))
        .transpose()
}

/// A ticker, or `None` for a crossed book (possible during an auction): left out rather
/// than failing every other product.
fn ticker(
    symbol: Symbol,
    bid: Price,
    ask: Price,
    last: Price,
    at: DateTime<Utc>,
) -> Option<Ticker> {
    match Ticker::new(symbol, bid, ask, last, at) {
        Ok(ticker) => Some(ticker),
        Err(e) => {
            tracing::debug!(%symbol, %e, "Coinbase ticker left out");
            None
        }
    }
}

/// `GET /best_bid_ask`: the tickers of the `wanted` products (others are left out, and so
/// are products with an empty side or a crossed book).
///
/// `best_bid_ask` has no last trade price: **`last` is the midpoint of the best bid and
/// ask**. `at` is the book's `time`, or `now` when Coinbase sent none.
///
/// # Errors
/// [`DecodeError`] when the body is not a price-book list, or a price or time is
/// malformed.
pub fn best_bid_ask(
    body: &[u8],
    wanted: &HashMap<String, Symbol>,
    now: DateTime<Utc>,
) -> Result<Vec<Ticker>, DecodeError> {
    const ENDPOINT: &str = "best_bid_ask";
    let books: models::PriceBooks = DecodeError::json(ENDPOINT, body)?;
    let mut out = Vec::with_capacity(books.pricebooks.len());
    for book in books.pricebooks {
        let Some(symbol) = wanted.get(&book.product_id) else {
            continue;
        };
        let (Some(bid), Some(ask)) = (book.bids.first(), book.asks.first()) else {
            continue;
        };
        let id = &book.product_id;
        let (Some(bid), Some(ask)) = (
            price(ENDPOINT, id, "bid", &bid.price)?,
            price(ENDPOINT, id, "ask", &ask.price)?,
        ) else {
            continue;
        };
        let last = midpoint(bid, ask).ok_or_else(|| {
            DecodeError::field(
                ENDPOINT,
                format!("{id} bid"),
                DecodeReason::Overflow {
                    what: "bid/ask midpoint",
                },
            )
        })?;
        // A book without a time is as of this answer; a time that does not read is an error.
        let at = if book.time.trim().is_empty() {
            now
        } else {
            rfc3339(&book.time)
                .map_err(|e| DecodeError::field(ENDPOINT, format!("{id} time"), e))?
        };
        out.extend(ticker(*symbol, bid, ask, last, at));
    }
    Ok(out)
}

/// `GET /market/products` (public): the tickers of the `wanted` products from their
/// `best_bid_price`, `best_ask_price` and last trade `price`, at `now` (products carry no
/// time). Products without all three are left out.
///
/// # Errors
/// [`DecodeError`] when the body is not a product list or a price is malformed.
pub fn product_tickers(
    body: &[u8],
    wanted: &HashMap<String, Symbol>,
    now: DateTime<Utc>,
) -> Result<Vec<Ticker>, DecodeError> {
    const ENDPOINT: &str = "market/products";
    let list: models::Products = DecodeError::json(ENDPOINT, body)?;
    let mut out = Vec::new();
    for p in list.products {
        let Some(symbol) = wanted.get(&p.product_id) else {
            continue;
        };
        let id = &p.product_id;
        let (Some(bid), Some(ask), Some(last)) = (
            price(ENDPOINT, id, "best_bid_price", &p.best_bid_price)?,
            price(ENDPOINT, id, "best_ask_price", &p.best_ask_price)?,
            price(ENDPOINT, id, "price", &p.price)?,
        ) else {
            continue;
        };
        out.extend(ticker(*symbol, bid, ask, last, now));
    }
    Ok(out)
}

/// `GET /products/{id}/candles`: the candles of `interval` that closed by `now`, oldest
/// first (Coinbase sends them newest first, and the newest may still be open).
///
/// # Errors
/// [`DecodeError`] when a candle is malformed or inconsistent.
pub fn candles(
    body: &[u8],
    interval: Interval,
    now: DateTime<Utc>,
) -> Result<Vec<Candle>, DecodeError> {
    const ENDPOINT: &str = "candles";
    let list: models::Candles = DecodeError::json(ENDPOINT, body)?;
    let length = i64::try_from(interval.duration().as_secs()).unwrap_or(i64::MAX);
    let mut out = Vec::with_capacity(list.candles.len());
    for (n, c) in list.candles.iter().enumerate() {
        let at = |field: &str, e: DecodeReason| {
            DecodeError::field(ENDPOINT, format!("row {n} {field}"), e)
        };
        let start: i64 = c
            .start
            .trim()
            .parse()
            .map_err(|_| at("start", DecodeReason::malformed("UNIX seconds", &c.start)))?;
        let open_time = DateTime::from_timestamp(start, 0).ok_or_else(|| {
            at(
                "start",
                DecodeReason::TimeOutOfRange {
                    value: start.to_string(),
                },
            )
        })?;
        if start
            .checked_add(length)
            .is_none_or(|end| end > now.timestamp())
        {
            continue;
        }
        let field = |name: &str, text: &str| {
            number(text)
                .map_err(|e| at(name, e))?
                .ok_or_else(|| at(name, DecodeReason::Missing))
        };
        let price =
            |name: &str, text: &str| Price::new(field(name, text)?).map_err(|e| at(name, e.into()));
        let volume =
            Quantity::new(field("volume", &c.volume)?).map_err(|e| at("volume", e.into()))?;
        let candle = Candle::new(
            open_time,
            price("open", &c.open)?,
            price("high", &c.high)?,
            price("low", &c.low)?,
            price("close", &c.close)?,
            volume,
        )
        .map_err(|e| DecodeError::field(ENDPOINT, format!("row {n}"), e))?;
        out.push(candle);
    }
    out.sort_by_key(Candle::open_time);
    out.dedup_by_key(|c| c.open_time());
    Ok(out)
}

/// `GET /accounts`: one page of non-zero balances (`available_balance` free, `hold`
/// locked) of currencies with a valid asset name, and the next page's cursor.
///
/// # Errors
/// [`DecodeError`] when the body is not an account list, or an amount is missing or
/// malformed.
pub fn accounts(body: &[u8]) -> Result<Page<Balance>, DecodeError> {
    const ENDPOINT: &str = "accounts";
    let page: models::Accounts = DecodeError::json(ENDPOINT, body)?;
    let mut items: Vec<Balance> = Vec::new();
    for a in page.accounts {
        // Every wallet carries both amounts: one that is missing is not a zero balance.
        let amount = |field: &str, value: Option<&models::Amount>| {
            let at = |e: DecodeReason| {
                DecodeError::field(ENDPOINT, format!("{} {field}", cut(&a.currency, 16)), e)
            };
            let text = value.map_or("", |v| v.value.as_str());
            let v = number(text)
                .map_err(at)?
                .ok_or_else(|| at(DecodeReason::Missing))?;
            Quantity::new(v).map_err(|e| at(e.into()))
        };
        let free = amount("available_balance", a.available_balance.as_ref())?;
        let locked = amount("hold", a.hold.as_ref())?;
        if free.is_zero() && locked.is_zero() {
            continue;
        }
        let Ok(asset) = Asset::new(&a.currency) else {
            continue;
        };
        add_balance(
            &mut items,
            Balance {
                asset,
                free,
                locked,
            },
        )?;
    }
    Ok(Page {
        items,
        next_cursor: next_cursor(page.has_next, page.cursor),
    })
}

/// Adds `balance` to `into`, summing with the same asset's (several wallets may hold one
/// currency).
///
/// # Errors
/// [`DecodeError`] when the sum overflows.
pub fn add_balance(into: &mut Vec<Balance>, balance: Balance) -> Result<(), DecodeError> {
    let Some(existing) = into.iter_mut().find(|b| b.asset == balance.asset) else {
        into.push(balance);
        return Ok(());
    };
    let overflow = || {
        DecodeError::field(
            "accounts",
            balance.asset.to_string(),
            DecodeReason::Overflow {
                what: "the sum of its wallets",
            },
        )
    };
    existing.free = existing
        .free
        .checked_add(balance.free)
        .ok_or_else(overflow)?;
    existing.locked = existing
        .locked
        .checked_add(balance.locked)
        .ok_or_else(overflow)?;
    Ok(())
}

/// `GET /key_permissions`: `can_view` → read, `can_trade` → trade, `can_transfer` →
/// withdraw.
///
/// # Errors
/// [`DecodeError`] when the body is not JSON.
pub fn permissions(body: &[u8]) -> Result<KeyPermissions, DecodeError> {
    let p: models::KeyPermissions = DecodeError::json("key_permissions", body)?;
    Ok(KeyPermissions {
        read: p.can_view,
        trade: p.can_trade,
        withdraw: p.can_transfer,
    })
}

/// `GET /orders/historical/{order_id}`: the order.
///
/// # Errors
/// [`DecodeError`] when the body is not an order or holds an impossible value.
pub fn order(body: &[u8]) -> Result<OrderReport, DecodeError> {
    const ENDPOINT: &str = "orders/historical";
    let envelope: models::OrderEnvelope = DecodeError::json(ENDPOINT, body)?;
    report(ENDPOINT, &envelope.order)
}

/// `GET /orders/historical/batch`: the orders on this page carrying `client_order_id`
/// (Coinbase cannot filter by it), and the next page's cursor.
///
/// # Errors
/// [`DecodeError`] when the body is not an order list or the matching order is malformed.
pub fn find_orders(
    body: &[u8],
    client_order_id: &ClientOrderId,
) -> Result<Page<OrderReport>, DecodeError> {
    const ENDPOINT: &str = "orders/historical/batch";
    let page: models::Orders = DecodeError::json(ENDPOINT, body)?;
    let items = page
        .orders
        .iter()
        .filter(|o| o.client_order_id == client_order_id.as_str())
        .map(|o| report(ENDPOINT, o))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next_cursor: next_cursor(page.has_next, page.cursor),
    })
}

/// Where an order is. `PENDING`, `QUEUED`, `OPEN`, `CANCEL_QUEUED`, `EDIT_QUEUED`,
/// `UNKNOWN_ORDER_STATUS` and any status added later count as still working: the order
/// exists, and only a final status may stop the engine from watching it.
fn status(status: &str, filled: bool) -> OrderStatus {
    match status {
        "FILLED" => OrderStatus::Filled,
        "CANCELLED" => OrderStatus::Canceled,
        "EXPIRED" => OrderStatus::Expired,
        "FAILED" => OrderStatus::Rejected,
        _ if filled => OrderStatus::PartiallyFilled,
        _ => OrderStatus::New,
    }
}

/// The `base_size` of the order's one configuration, when it was sized in base.
fn base_size(configuration: Option<&serde_json::Value>) -> Option<&str> {
    configuration?
        .as_object()?
        .values()
        .find_map(|variant| variant.get("base_size")?.as_str())
}

/// An order of `endpoint`'s answer as an [`OrderReport`]. Fees are in the quote currency.
/// An order sized in quote (never placed by Nexus) reports its filled size as its quantity.
fn report(endpoint: &'static str, o: &models::Order) -> Result<OrderReport, DecodeError> {
    let at = |field: &str, e: DecodeReason| {
        DecodeError::field(endpoint, format!("{} {field}", cut(&o.order_id, 64)), e)
    };
    let client_order_id =
        ClientOrderId::new(&o.client_order_id).map_err(|e| at("client_order_id", e.into()))?;
    let symbol = from_product_id(&o.product_id).ok_or_else(|| {
        at(
            "product_id",
            DecodeReason::malformed("BASE-QUOTE", &o.product_id),
        )
    })?;
    let side = match o.side.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(at("side", DecodeReason::unknown(other))),
    };
    // Coinbase leaves amounts it has not set empty: an order with no fills yet has filled
    // nothing and paid no fees.
    let filled = number(&o.filled_size)
        .map_err(|e| at("filled_size", e))?
        .unwrap_or(Decimal::ZERO);
    let ordered = match base_size(o.order_configuration.as_ref()) {
        Some(text) => number(text)
            .map_err(|e| at("base_size", e))?
            .unwrap_or(filled),
        None => filled,
    };
    let qty =
        |field: &str, v: Decimal| Quantity::new(v.normalize()).map_err(|e| at(field, e.into()));
    let average_price =
        match positive(&o.average_filled_price).map_err(|e| at("average_filled_price", e))? {
            Some(avg) if !filled.is_zero() => Some(
                Price::new(avg.normalize()).map_err(|e| at("average_filled_price", e.into()))?,
            ),
            _ => None,
        };
    let fee = number(&o.total_fees)
        .map_err(|e| at("total_fees", e))?
        .unwrap_or(Decimal::ZERO);
    let (time_field, time) = [
        ("last_update_time", &o.last_update_time),
        ("last_fill_time", &o.last_fill_time),
        ("created_time", &o.created_time),
    ]
    .into_iter()
    .find(|(_, t)| !t.trim().is_empty())
    .ok_or_else(|| at("created_time", DecodeReason::Missing))?;
    Ok(OrderReport {
        client_order_id,
        venue_order_id: o.order_id.clone(),
        symbol,
        side,
        status: status(&o.status, !filled.is_zero()),
        quantity: qty("base_size", ordered.max(filled))?,
        filled_quantity: qty("filled_size", filled)?,
        average_price,
        fee: qty("total_fees", fee)?,
        fee_asset: (!filled.is_zero() || !fee.is_zero()).then_some(symbol.quote()),
        updated_at: rfc3339(time).map_err(|e| at(time_field, e))?,
    })
}

/// `POST /orders`: the new order's id, or the refusal classified:
/// `INSUFFICIENT_FUND(S)` (or the preview's) is [`ExchangeError::InsufficientBalance`];
/// everything else is [`ExchangeError::Rejected`] with the failure reason as its code
/// ([`DUPLICATE_CLIENT_ORDER_ID`] among them) and Coinbase's message.
///
/// # Errors
/// The classified refusal, or [`ExchangeError::Decode`] when the body is not a create-order
/// answer.
pub fn create_order(body: &[u8]) -> Result<String, ExchangeError> {
    const ENDPOINT: &str = "orders";
    let created: models::CreateOrder =
        DecodeError::json(ENDPOINT, body).map_err(|e| e.into_exchange_error(COINBASE))?;
    if !created.success {
        // A refusal without an `error_response` is still a refusal, of unknown reason.
        return Err(rejection(created.error_response.unwrap_or_default()));
    }
    created
        .success_response
        .map(|s| s.order_id)
        .filter(|id| !id.is_empty())
        .or_else(|| Some(created.order_id).filter(|id| !id.is_empty()))
        .ok_or_else(|| {
            DecodeError::field(ENDPOINT, "success_response.order_id", DecodeReason::Missing)
                .into_exchange_error(COINBASE)
        })
}

fn rejection(e: models::CreateError) -> ExchangeError {
    let reasons = [
        e.new_order_failure_reason.as_str(),
        e.error.as_str(),
        e.preview_failure_reason.as_str(),
    ];
    let code = reasons
        .iter()
        .find(|r| !r.is_empty() && !r.starts_with("UNKNOWN_"))
        .or_else(|| reasons.iter().find(|r| !r.is_empty()))
        .map_or("UNKNOWN_FAILURE_REASON", |r| r);
    let code = cut(code, 64);
    let mut message = cut(&e.message, 300);
    if !e.error_details.is_empty() && e.error_details != e.message {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&cut(&e.error_details, 300));
    }
    if message.is_empty() {
        message.clone_from(&code);
    }
    let insufficient = reasons
        .iter()
        .any(|r| r.contains("INSUFFICIENT_FUND") || r.contains("INSUFFICIENT_LEDGER_BALANCE"));
    if insufficient {
        ExchangeError::InsufficientBalance {
            exchange: COINBASE,
            message: format!("{message} ({code})"),
        }
    } else {
        ExchangeError::Rejected {
            exchange: COINBASE,
            code: Some(code),
            reason: message,
        }
    }
}

/// `POST /orders/batch_cancel`: whether `order_id` was cancelled. Coinbase's example says
/// `success: true` with `UNKNOWN_CANCEL_FAILURE_REASON`, so `success` decides.
///
/// # Errors
/// [`ExchangeError::Rejected`] with the `failure_reason` as its code, or
/// [`ExchangeError::Decode`].
pub fn cancel(body: &[u8], order_id: &str) -> Result<(), ExchangeError> {
    const ENDPOINT: &str = "orders/batch_cancel";
    let answer: models::CancelResults =
        DecodeError::json(ENDPOINT, body).map_err(|e| e.into_exchange_error(COINBASE))?;
    let result = answer
        .results
        .iter()
        .find(|r| r.order_id == order_id)
        .or_else(|| answer.results.first())
        .ok_or_else(|| {
            DecodeError::field(ENDPOINT, "results", DecodeReason::Missing)
                .into_exchange_error(COINBASE)
        })?;
    if result.success {
        return Ok(());
    }
    let code = if result.failure_reason.is_empty() {
        "UNKNOWN_CANCEL_FAILURE_REASON".to_owned()
    } else {
        cut(&result.failure_reason, 64)
    };
    Err(ExchangeError::Rejected {
        exchange: COINBASE,
        reason: format!("cancel of order {} refused: {code}", cut(order_id, 64)),
        code: Some(code),
    })
}

/// Whether a refusal says a product id is unknown (the call is then made for every product
/// and the answer filtered, so one delisted product cannot starve the others).
pub(crate) fn unknown_product(e: &ExchangeError) -> bool {
    matches!(e, ExchangeError::Rejected { code: Some(code), .. }
        if code == "NOT_FOUND" || code == "INVALID_ARGUMENT")
}

/// An error answer (HTTP status and body) as the classified [`ExchangeError`].
#[must_use]
pub fn error(status: u16, body: &[u8], retry_after: Option<Duration>) -> ExchangeError {
    failure(status, body, retry_after).into_error()
}

/// An error answer classified for retrying: 429 (its body JSON or an HTML page) and
/// `RESOURCE_EXHAUSTED` were not acted on; 401 (often the plain text `Unauthorized`),
/// `UNAUTHENTICATED`, 403 and `PERMISSION_DENIED` are auth failures; 408 and 5xx have an
/// unknown outcome; other statuses are refusals with Coinbase's `error` as the code.
pub(crate) fn failure(status: u16, body: &[u8], retry_after: Option<Duration>) -> Failure {
    if status == 429 {
        return Failure::NotApplied(ExchangeError::RateLimited {
            exchange: COINBASE,
            retry_after,
        });
    }
    // A create-order refusal sent with an error status.
    if let Ok(created) = serde_json::from_slice::<models::CreateOrder>(body)
        && !created.success
        && let Some(refusal) = created.error_response
    {
        let error = rejection(refusal);
        return if status >= 500 {
            Failure::Unknown(error)
        } else {
            Failure::Final(error)
        };
    }
    let api = serde_json::from_slice::<models::ApiError>(body)
        .ok()
        .filter(|a| !a.error.is_empty() || !a.message.is_empty());
    let (code, message) = match api {
        Some(a) => {
            let message = [a.message, a.error_details, a.error.clone()]
                .into_iter()
                .find(|m| !m.is_empty())
                .unwrap_or_default();
            (cut(&a.error, 64), cut(&message, 300))
        }
        None => (
            String::new(),
            cut(String::from_utf8_lossy(body).trim(), 300),
        ),
    };
    let message = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        message
    };
    match (status, code.as_str()) {
        (_, "RESOURCE_EXHAUSTED") => Failure::NotApplied(ExchangeError::RateLimited {
            exchange: COINBASE,
            retry_after,
        }),
        (401, _) | (_, "UNAUTHENTICATED") => Failure::Final(ExchangeError::Auth {
            exchange: COINBASE,
            message: format!(
                "{message} (HTTP {status}): check the API key name, its EC private key and the clock"
            ),
        }),
        (403, _) | (_, "PERMISSION_DENIED") => Failure::Final(ExchangeError::Auth {
            exchange: COINBASE,
            message: format!("permission denied: {message} (HTTP {status})"),
        }),
        (408 | 500.., _) => Failure::Unknown(ExchangeError::Transient {
            exchange: COINBASE,
            message: format!("HTTP {status}: {message}"),
            source: None,
        }),
        _ => Failure::Final(ExchangeError::Rejected {
            exchange: COINBASE,
            code: Some(if code.is_empty() {
                format!("HTTP {status}")
            } else {
                code
            }),
            reason: message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const PRODUCTS: &[u8] = include_bytes!("../../test_data/coinbase/products.json");
    const PRODUCT: &[u8] = include_bytes!("../../test_data/coinbase/product.json");
    const BEST_BID_ASK: &[u8] = include_bytes!("../../test_data/coinbase/best_bid_ask.json");
    const CANDLES: &[u8] = include_bytes!("../../test_data/coinbase/candles.json");
    const ACCOUNTS: &[u8] = include_bytes!("../../test_data/coinbase/accounts.json");
    const GET_ORDER: &[u8] = include_bytes!("../../test_data/coinbase/get_order.json");
    const LIST_ORDERS: &[u8] = include_bytes!("../../test_data/coinbase/list_orders.json");
    const CREATED: &[u8] = include_bytes!("../../test_data/coinbase/create_order_success.json");
    const CREATE_FAILED: &[u8] =
        include_bytes!("../../test_data/coinbase/create_order_failure.json");
    const CREATE_FAILED_DOC: &[u8] =
        include_bytes!("../../test_data/coinbase/create_order_failure_doc_example.json");
    const CANCELLED: &[u8] = include_bytes!("../../test_data/coinbase/cancel_orders.json");
    const PERMISSIONS: &[u8] = include_bytes!("../../test_data/coinbase/key_permissions.json");
    const E400: &[u8] = include_bytes!("../../test_data/coinbase/error_400.json");
    const E401_JSON: &[u8] = include_bytes!("../../test_data/coinbase/error_401.json");
    const E401_TEXT: &[u8] = include_bytes!("../../test_data/coinbase/error_401_body.txt");
    const E403: &[u8] = include_bytes!("../../test_data/coinbase/error_403.json");
    const E404: &[u8] = include_bytes!("../../test_data/coinbase/error_404.json");
    const E404_PUBLIC: &[u8] =
        include_bytes!("../../test_data/coinbase/error_404_public_product.json");
    const E429_JSON: &[u8] = include_bytes!("../../test_data/coinbase/error_429.json");
    const E429_HTML: &[u8] = include_bytes!("../../test_data/coinbase/error_429_body.html");
    const E_DEFAULT: &[u8] =
        include_bytes!("../../test_data/coinbase/error_default_doc_schema.json");

    fn sym(s: &str) -> Symbol {
        s.parse().unwrap()
    }

    fn with(body: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(body).unwrap();
        edit(&mut value);
        value.to_string().into_bytes()
    }

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(venue_symbol(sym("BTC/USDT")), "BTC-USDT");
        assert_eq!(from_product_id("BTC-USDT"), Some(sym("BTC/USDT")));
        assert_eq!(from_product_id("BIT-31JAN25-CDE"), None);
        assert_eq!(from_product_id("BTCUSD"), None);
        assert_eq!(from_product_id("-USD"), None);
        assert_eq!(granularity(Interval::H4), "FOUR_HOUR");
    }

    #[test]
    fn the_documented_products_become_instruments_with_their_filters() {
        let (listed, skipped) = products(PRODUCTS).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(listed.len(), 2);
        let usdt = listed
            .iter()
            .find(|i| i.symbol() == sym("BTC/USDT"))
            .unwrap();
        let f = usdt.filters();
        assert_eq!(f.tick_size.to_string(), "0.01");
        assert_eq!(f.step_size.to_string(), "0.00000001");
        assert_eq!(f.min_qty.to_string(), "0.00000001");
        assert_eq!(f.max_qty.map(|q| q.to_string()), Some("3400".into()));
        assert_eq!(f.min_notional.to_string(), "1");
        assert_eq!(usdt.exchange(), ExchangeId::Coinbase);

        // The single-product answer has the same shape.
        let one = format!(r#"{{"products":[{}]}}"#, String::from_utf8_lossy(PRODUCT));
        assert_eq!(products(one.as_bytes()).unwrap().0.len(), 1);
    }

    #[test]
    fn products_that_cannot_trade_are_skipped_with_a_reason() {
        let cases: [(&str, serde_json::Value, &str); 7] = [
            ("status", "offline".into(), "status is offline"),
            ("trading_disabled", true.into(), "trading disabled"),
            ("cancel_only", true.into(), "cancel only"),
            ("is_disabled", true.into(), "disabled"),
            ("limit_only", true.into(), "limit orders only"),
            ("product_type", "FUTURE".into(), "product type is FUTURE"),
            ("base_increment", "".into(), "no base_increment"),
        ];
        for (field, value, reason) in cases {
            let body = with(PRODUCTS, |v| v["products"][0][field] = value);
            let (listed, skipped) = products(&body).unwrap();
            assert_eq!(listed.len(), 1, "{field}");
            assert_eq!(skipped.len(), 1, "{field}");
            assert_eq!(skipped[0].product_id, "BTC-USD");
            assert_eq!(skipped[0].reason.to_string(), reason);
        }
        // No price_increment: the quote increment is the tick.
        let body = with(PRODUCTS, |v| {
            v["products"][1]["price_increment"] = "".into()
        });
        let (listed, _) = products(&body).unwrap();
        assert_eq!(listed[1].filters().tick_size.to_string(), "0.01");
        // An increment that does not read is named, not taken for an unset one.
        let body = with(PRODUCTS, |v| {
            v["products"][0]["base_increment"] = "0,001".into()
        });
        let (_, skipped) = products(&body).unwrap();
        assert!(
            matches!(
                &skipped[0].reason,
                Unlisted::Field {
                    field: "base_increment",
                    ..
                }
            ),
            "{}",
            skipped[0].reason
        );
        assert!(products(b"<html>502</html>").is_err());
        assert!(products(br#"{"error":"NOT_FOUND"}"#).is_err());
    }

    #[test]
    fn best_bid_ask_gives_tickers_with_the_midpoint_as_last() {
        let wanted = venue_symbols(&[sym("BTC/USDT")]);
        let now = Utc::now();
        let tickers = best_bid_ask(BEST_BID_ASK, &wanted, now).unwrap();
        assert_eq!(tickers.len(), 1, "only the wanted product");
        let t = &tickers[0];
        assert_eq!(
            (
                t.bid().to_string(),
                t.ask().to_string(),
                t.last().to_string()
            ),
            ("64250".into(), "64250.01".into(), "64250.005".into())
        );
        assert_eq!(t.at().to_rfc3339(), "2024-05-20T12:34:56.812345+00:00");

        let empty = with(BEST_BID_ASK, |v| {
            v["pricebooks"][1]["asks"] = serde_json::json!([])
        });
        assert!(best_bid_ask(&empty, &wanted, now).unwrap().is_empty());
        let crossed = with(BEST_BID_ASK, |v| {
            v["pricebooks"][1]["bids"][0]["price"] = "70000".into()
        });
        assert!(best_bid_ask(&crossed, &wanted, now).unwrap().is_empty());
        let timeless = with(BEST_BID_ASK, |v| {
            v["pricebooks"][1]["time"] = serde_json::Value::Null
        });
        assert_eq!(best_bid_ask(&timeless, &wanted, now).unwrap()[0].at(), now);
        let garbled = with(BEST_BID_ASK, |v| {
            v["pricebooks"][1]["bids"][0]["price"] = "1,5".into()
        });
        assert!(best_bid_ask(&garbled, &wanted, now).is_err());
    }

    #[test]
    fn public_products_give_tickers_with_the_last_trade() {
        let wanted = venue_symbols(&[sym("BTC/USD"), sym("BTC/USDT")]);
        let now = Utc::now();
        let tickers = product_tickers(PRODUCTS, &wanted, now).unwrap();
        assert_eq!(tickers.len(), 2);
        let usd = tickers
            .iter()
            .find(|t| t.symbol() == sym("BTC/USD"))
            .unwrap();
        assert_eq!(
            (
                usd.bid().to_string(),
                usd.ask().to_string(),
                usd.last().to_string()
            ),
            ("140.2".into(), "140.24".into(), "140.21".into())
        );
        let no_book = with(PRODUCTS, |v| v["products"][0]["best_bid_price"] = "".into());
        assert_eq!(product_tickers(&no_book, &wanted, now).unwrap().len(), 1);
    }

    #[test]
    fn candles_come_oldest_first_without_the_open_one() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        // The newest candle (1639508170) closes at 1639508230.
        let all = candles(CANDLES, Interval::M1, at(1_639_508_230)).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].open_time() < w[1].open_time()));
        assert_eq!(all[0].open_time(), at(1_639_508_050));
        assert_eq!(all[0].volume().to_string(), "56437345");
        let closed = candles(CANDLES, Interval::M1, at(1_639_508_229)).unwrap();
        assert_eq!(closed.len(), 2, "the open candle is left out");
        assert_eq!(closed[1].open_time(), at(1_639_508_110));
        let bad = with(CANDLES, |v| v["candles"][0]["high"] = "1".into());
        assert!(candles(&bad, Interval::M1, at(1_639_508_230)).is_err());
    }

    #[test]
    fn accounts_become_non_zero_balances_and_pages() {
        let page = accounts(ACCOUNTS).unwrap();
        assert_eq!(page.next_cursor, None);
        let btc = page
            .items
            .iter()
            .find(|b| b.asset.as_str() == "BTC")
            .unwrap();
        assert_eq!(
            (btc.free.to_string(), btc.locked.to_string()),
            ("1.23".into(), "0.05".into())
        );
        assert_eq!(page.items.len(), 2);

        let more = with(ACCOUNTS, |v| {
            v["has_next"] = true.into();
            v["cursor"] = "789100".into();
            v["accounts"][0]["available_balance"]["value"] = "0".into();
            v["accounts"][0]["hold"]["value"] = "0".into();
            v["accounts"][1]["currency"] = "BTC".into();
        });
        let page = accounts(&more).unwrap();
        assert_eq!(page.next_cursor.as_deref(), Some("789100"));
        assert_eq!(page.items.len(), 1, "zero balances are left out");
        // A wallet without its hold is not read as holding nothing.
        let holdless = with(ACCOUNTS, |v| {
            v["accounts"][0]["hold"] = serde_json::Value::Null
        });
        let error = accounts(&holdless).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("BTC hold"), "{error}");
        assert!(matches!(error.reason, DecodeReason::Missing));
        let mut merged = page.items.clone();
        add_balance(&mut merged, page.items[0]).unwrap();
        assert_eq!(merged[0].free.to_string(), "5001.5");
    }

    #[test]
    fn an_order_not_filled_has_no_average_price_and_zero_is_no_increment() {
        // Coinbase sends an average price with nothing filled (a placeholder): not a price.
        let unfilled = with(GET_ORDER, |v| {
            v["order"]["client_order_id"] = "nx-1".into();
            v["order"]["filled_size"] = "0".into();
        });
        let report = order(&unfilled).unwrap();
        assert_eq!(report.filled_quantity.to_string(), "0");
        assert_eq!(report.average_price, None);
        // The fee asset is named when something filled or a fee was charged.
        let free_fill = with(GET_ORDER, |v| {
            v["order"]["client_order_id"] = "nx-1".into();
            v["order"]["total_fees"] = "0".into();
        });
        let report = order(&free_fill).unwrap();
        assert_eq!(report.fee_asset.map(|a| a.to_string()), Some("USD".into()));
        let nothing = with(GET_ORDER, |v| {
            v["order"]["client_order_id"] = "nx-1".into();
            v["order"]["filled_size"] = "0".into();
            v["order"]["total_fees"] = "0".into();
        });
        assert_eq!(order(&nothing).unwrap().fee_asset, None);
        // Only a value above zero counts.
        assert_eq!(positive("0").unwrap(), None);
        assert_eq!(positive("0.01").unwrap(), Some("0.01".parse().unwrap()));
    }

    #[test]
    fn a_refused_order_with_a_server_error_status_may_have_been_placed() {
        assert!(matches!(
            failure(500, CREATE_FAILED, None),
            Failure::Unknown(_)
        ));
        assert!(matches!(
            failure(400, CREATE_FAILED, None),
            Failure::Final(_)
        ));
        // An error body with only a message still counts as Coinbase's error body; one
        // with neither field is shown as it came.
        let only_message = error(400, br#"{"error":"","message":"bad size"}"#, None);
        assert!(
            only_message.to_string().ends_with("bad size"),
            "{only_message}"
        );
        let empty = error(400, br#"{"error":"","message":""}"#, None);
        assert!(empty.to_string().contains(r#"{"error""#), "{empty}");
    }

    #[test]
    fn a_next_page_needs_both_the_flag_and_a_cursor() {
        assert_eq!(next_cursor(true, "abc".into()), Some("abc".into()));
        assert_eq!(next_cursor(false, "abc".into()), None);
        assert_eq!(next_cursor(true, String::new()), None);
    }

    #[test]
    fn orders_become_reports() {
        // The docs' client_order_id (19 characters, not a UUID) is not one Nexus makes.
        assert!(order(GET_ORDER).is_err());
        let get_order = with(GET_ORDER, |v| v["order"]["client_order_id"] = "nx-1".into());
        let report = order(&get_order).unwrap();
        assert_eq!(report.client_order_id.as_str(), "nx-1");
        assert_eq!(report.venue_order_id, "0000-000000-000000");
        assert_eq!(report.symbol, sym("BTC/USD"));
        assert_eq!(report.side, Side::Buy);
        assert_eq!(report.status, OrderStatus::PartiallyFilled);
        assert_eq!(report.quantity.to_string(), "0.002");
        assert_eq!(report.filled_quantity.to_string(), "0.001");
        assert_eq!(report.average_price.unwrap().to_string(), "10000");
        assert_eq!(report.fee.to_string(), "0.06");
        assert_eq!(report.fee_asset.unwrap().as_str(), "USD");
        assert_eq!(report.updated_at.to_rfc3339(), "2021-05-31T10:00:01+00:00");

        let wanted = ClientOrderId::new("ae10c573-24d2-4d46-8d58-6feca882a453").unwrap();
        let page = find_orders(LIST_ORDERS, &wanted).unwrap();
        assert_eq!(page.next_cursor, None);
        let filled = &page.items[0];
        assert_eq!(filled.status, OrderStatus::Filled);
        assert_eq!(
            filled.quantity.to_string(),
            "0.0000772",
            "sized in quote: the filled size"
        );
        let none = find_orders(LIST_ORDERS, &ClientOrderId::new("nope").unwrap()).unwrap();
        assert!(none.items.is_empty());

        for (venue, core) in [
            ("OPEN", OrderStatus::New),
            ("PENDING", OrderStatus::New),
            ("QUEUED", OrderStatus::New),
            ("CANCEL_QUEUED", OrderStatus::New),
            ("UNKNOWN_ORDER_STATUS", OrderStatus::New),
            ("CANCELLED", OrderStatus::Canceled),
            ("EXPIRED", OrderStatus::Expired),
            ("FAILED", OrderStatus::Rejected),
            ("FILLED", OrderStatus::Filled),
        ] {
            let body = with(&get_order, |v| {
                v["order"]["status"] = venue.into();
                v["order"]["filled_size"] = "".into();
            });
            assert_eq!(order(&body).unwrap().status, core, "{venue}");
        }
        let body = with(&get_order, |v| v["order"]["side"] = "SIDEWAYS".into());
        assert!(order(&body).is_err());
        let body = with(&get_order, |v| {
            v["order"]["last_update_time"] = "yesterday".into();
        });
        let error = order(&body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "orders/historical 0000-000000-000000 last_update_time: expected an RFC 3339 time, found \"yesterday\""
        );
        let body = with(&get_order, |v| {
            for field in ["last_update_time", "last_fill_time", "created_time"] {
                v["order"][field] = "".into();
            }
        });
        assert!(matches!(
            order(&body).unwrap_err().reason,
            DecodeReason::Missing
        ));
    }

    #[test]
    fn create_order_answers_are_classified() {
        assert_eq!(create_order(CREATED).unwrap(), "11111-00000-000000");
        let no_top_level = with(CREATED, |v| v["order_id"] = serde_json::Value::Null);
        assert_eq!(create_order(&no_top_level).unwrap(), "11111-00000-000000");

        let broke = create_order(CREATE_FAILED).unwrap_err();
        assert!(
            matches!(&broke, ExchangeError::InsufficientBalance { message, .. }
                if message.contains("Insufficient balance in source account")),
            "{broke}"
        );
        let invalid = create_order(CREATE_FAILED_DOC).unwrap_err();
        assert!(
            matches!(&invalid, ExchangeError::Rejected { code: Some(c), reason, .. }
                if c == "UNKNOWN_FAILURE_REASON"
                    && reason == "The order configuration was invalid: Market orders cannot be placed with empty order sizes"),
            "{invalid}"
        );
        let precision = with(CREATE_FAILED, |v| {
            v["error_response"]["error"] = "INVALID_PRICE_PRECISION".into();
            v["error_response"]["new_order_failure_reason"] = "INVALID_PRICE_PRECISION".into();
            v["error_response"]["preview_failure_reason"] =
                "PREVIEW_INVALID_PRICE_PRECISION".into();
            v["error_response"]["message"] = "Invalid price precision".into();
        });
        let error = create_order(&precision).unwrap_err();
        assert!(
            matches!(&error, ExchangeError::Rejected { code: Some(c), reason, .. }
                if c == "INVALID_PRICE_PRECISION" && reason == "Invalid price precision"),
            "{error}"
        );
        let duplicate = with(CREATE_FAILED, |v| {
            v["error_response"] = serde_json::json!({"error": "UNKNOWN_FAILURE_REASON",
                "new_order_failure_reason": DUPLICATE_CLIENT_ORDER_ID});
        });
        assert!(matches!(create_order(&duplicate),
            Err(ExchangeError::Rejected { code: Some(c), .. }) if c == DUPLICATE_CLIENT_ORDER_ID));
        // The same refusal with an error status.
        assert!(matches!(
            error_of(400, CREATE_FAILED),
            ExchangeError::InsufficientBalance { .. }
        ));
        assert!(matches!(
            create_order(b"{}"),
            Err(ExchangeError::Decode { .. })
        ));
    }

    #[test]
    fn a_created_order_id_is_taken_from_either_documented_place() {
        // `success_response.order_id` first; the top-level `order_id` when the former is
        // absent or empty; neither is an answer we cannot read.
        let top_only = with(CREATED, |v| {
            v["success_response"] = serde_json::Value::Null;
            v["order_id"] = "top-level".into();
        });
        assert_eq!(create_order(&top_only).unwrap(), "top-level");
        let empty_nested = with(CREATED, |v| {
            v["success_response"]["order_id"] = "".into();
            v["order_id"] = "top-level".into();
        });
        assert_eq!(create_order(&empty_nested).unwrap(), "top-level");
        let both = with(CREATED, |v| v["order_id"] = "top-level".into());
        assert_eq!(create_order(&both).unwrap(), "11111-00000-000000");
        let neither = with(CREATED, |v| {
            v["success_response"]["order_id"] = "".into();
            v["order_id"] = "".into();
        });
        assert!(matches!(
            create_order(&neither),
            Err(ExchangeError::Decode { .. })
        ));
    }

    #[test]
    fn a_refusal_names_its_most_specific_reason() {
        let refused = |reasons: [&str; 3]| {
            let body = with(CREATE_FAILED, |v| {
                v["error_response"] = serde_json::json!({
                    "new_order_failure_reason": reasons[0],
                    "error": reasons[1],
                    "preview_failure_reason": reasons[2],
                    "message": "refused",
                });
            });
            match create_order(&body) {
                Err(ExchangeError::Rejected { code: Some(c), .. }) => c,
                other => panic!("{other:?}"),
            }
        };
        // A specific reason wins over an earlier `UNKNOWN_*` one, wherever it is.
        assert_eq!(
            refused([
                "UNKNOWN_FAILURE_REASON",
                "INVALID_LIMIT_PRICE_POST_ONLY",
                ""
            ]),
            "INVALID_LIMIT_PRICE_POST_ONLY"
        );
        assert_eq!(
            refused([
                "UNKNOWN_FAILURE_REASON",
                "UNKNOWN_FAILURE_REASON",
                "PREVIEW_INVALID_LIMIT_PRICE"
            ]),
            "PREVIEW_INVALID_LIMIT_PRICE"
        );
        // The order they are documented in decides between specific ones.
        assert_eq!(
            refused([
                "INVALID_LIMIT_PRICE",
                "ORDER_ENTRY_DISABLED",
                "PREVIEW_INVALID_LIMIT_PRICE"
            ]),
            "INVALID_LIMIT_PRICE"
        );
        // Only unknown reasons: the first given, not an empty one.
        assert_eq!(
            refused(["", "UNKNOWN_ERROR", "UNKNOWN_PREVIEW_FAILURE_REASON"]),
            "UNKNOWN_ERROR"
        );
        // None at all.
        assert_eq!(refused(["", "", ""]), "UNKNOWN_FAILURE_REASON");
    }

    fn error_of(status: u16, body: &[u8]) -> ExchangeError {
        error(status, body, Some(Duration::from_secs(2)))
    }

    #[test]
    fn cancels_read_success_not_the_reason() {
        cancel(CANCELLED, "0000-00000").unwrap();
        let refused = cancel(CANCELLED, "1111-11111").unwrap_err();
        assert!(
            matches!(&refused, ExchangeError::Rejected { code: Some(c), .. } if c == UNKNOWN_CANCEL_ORDER)
        );
        assert!(cancel(br#"{"results":[]}"#, "x").is_err());
    }

    #[test]
    fn permissions_map_transfer_to_withdraw() {
        let p = permissions(PERMISSIONS).unwrap();
        assert_eq!(
            p,
            KeyPermissions {
                read: true,
                trade: true,
                withdraw: false
            }
        );
        let transfer = with(PERMISSIONS, |v| v["can_transfer"] = true.into());
        assert!(permissions(&transfer).unwrap().withdraw);
        assert_eq!(permissions(b"{}").unwrap(), KeyPermissions::default());
    }

    #[test]
    fn error_answers_are_classified() {
        for body in [E401_TEXT, E401_JSON] {
            let e = error_of(401, body);
            assert!(
                matches!(&e, ExchangeError::Auth { message, .. } if message.starts_with("Unauthorized")),
                "{e}"
            );
        }
        let e = error_of(403, E403);
        assert!(
            matches!(&e, ExchangeError::Auth { message, .. } if message.contains("Missing required scopes")),
            "{e}"
        );
        for body in [E429_JSON, E429_HTML] {
            assert!(matches!(
                failure(429, body, Some(Duration::from_secs(2))),
                Failure::NotApplied(ExchangeError::RateLimited { retry_after: Some(d), .. }) if d == Duration::from_secs(2)
            ));
        }
        assert!(matches!(
            failure(400, E429_JSON, None),
            Failure::NotApplied(ExchangeError::RateLimited { .. })
        ));
        let e = error_of(400, E400);
        assert!(
            matches!(&e, ExchangeError::Rejected { code: Some(c), reason, .. }
            if c == "INVALID_ARGUMENT" && reason.contains("less than 350")),
            "{e}"
        );
        let e = error_of(404, E404);
        assert!(unknown_product(&e), "{e}");
        let e = error_of(404, E404_PUBLIC);
        assert!(
            matches!(&e, ExchangeError::Rejected { reason, .. } if reason == "Product NOPE-USD not supported")
        );
        assert!(matches!(
            error_of(400, E_DEFAULT),
            ExchangeError::Rejected { .. }
        ));
        for status in [500, 502, 503, 504, 408] {
            assert!(matches!(
                failure(status, b"<html>Service Unavailable</html>", None),
                Failure::Unknown(ExchangeError::Transient { .. })
            ));
        }
        let e = error_of(418, b"");
        assert!(
            matches!(&e, ExchangeError::Rejected { code: Some(c), reason, .. } if c == "HTTP 418" && reason == "HTTP 418")
        );
    }

    #[test]
    fn nothing_panics_on_garbage() {
        let wanted = venue_symbols(&[sym("BTC/USD")]);
        let now = Utc::now();
        let garbage: [&[u8]; 8] = [
            b"",
            b"null",
            b"[]",
            b"{\"products\":[{\"product_id\":\"BTC-USD\",\"status\":\"online\",\"base_increment\":\"99999999999999999999999999999999\",\"price_increment\":\"1e5\"}]}",
            b"{\"products\":[null]}",
            b"{\"candles\":[{\"start\":\"-99999999999999\"}]}",
            b"{\"accounts\":[{\"currency\":\"\xff\",\"available_balance\":{\"value\":\"-1\"}}]}",
            b"{\"order\":{\"client_order_id\":\"x\",\"product_id\":\"A-B\",\"side\":\"BUY\",\"filled_size\":\"79228162514264337593543950335\"}}",
        ];
        for body in garbage {
            let _ = products(body);
            let _ = product_tickers(body, &wanted, now);
            let _ = best_bid_ask(body, &wanted, now);
            let _ = candles(body, Interval::D1, now);
            let _ = accounts(body);
            let _ = order(body);
            let _ = find_orders(body, &ClientOrderId::new("x").unwrap());
            let _ = create_order(body);
            let _ = cancel(body, "x");
            let _ = permissions(body);
            let _ = error(500, body, None);
        }
    }
}
