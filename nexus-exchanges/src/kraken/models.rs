//! Kraken's JSON, as documented for the Spot REST API. Every answer is an envelope with
//! an `error` list (errors come with HTTP 200) and a `result`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Deserialize;

/// `{"error": [...], "result": ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(default)]
    pub error: Vec<String>,
    pub result: Option<T>,
}

/// One pair of `GET /0/public/AssetPairs`.
#[derive(Debug, Deserialize)]
pub(crate) struct AssetPair {
    pub altname: String,
    #[serde(default)]
    pub wsname: Option<String>,
    pub pair_decimals: u32,
    pub lot_decimals: u32,
    pub ordermin: Option<Decimal>,
    #[serde(default)]
    pub costmin: Option<Decimal>,
    #[serde(default)]
    pub tick_size: Option<Decimal>,
    #[serde(default)]
    pub status: Option<String>,
}

/// One pair of `GET /0/public/Ticker`: `a` ask, `b` bid, `c` last trade (price first).
#[derive(Debug, Deserialize)]
pub(crate) struct TickerInfo {
    pub a: Vec<serde_json::Value>,
    pub b: Vec<serde_json::Value>,
    pub c: Vec<serde_json::Value>,
}

/// One asset of `POST /0/private/BalanceEx`. Kraken's schema says strings, its example
/// shows numbers: both are read.
#[derive(Debug, Deserialize)]
pub(crate) struct BalanceEx {
    #[serde(deserialize_with = "lenient_decimal")]
    pub balance: Decimal,
    #[serde(default, deserialize_with = "lenient_decimal_option")]
    pub hold_trade: Option<Decimal>,
}

/// A decimal sent as a string or as a JSON number (read from its shortest printed form,
/// never through arithmetic on `f64`).
pub(crate) fn lenient_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.parse().map_err(D::Error::custom),
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            text.parse()
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(D::Error::custom)
        }
        other => Err(D::Error::custom(format!(
            "expected a decimal, found {other}"
        ))),
    }
}

fn lenient_decimal_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Decimal>, D::Error> {
    lenient_decimal(d).map(Some)
}

/// `POST /0/private/AddOrder`.
#[derive(Debug, Deserialize)]
pub(crate) struct AddOrder {
    #[serde(default)]
    pub txid: Vec<String>,
}

/// `POST /0/private/CancelOrder`.
#[derive(Debug, Deserialize)]
pub(crate) struct CancelOrder {
    pub count: u32,
}

/// `POST /0/private/OpenOrders` (`open`) and `ClosedOrders` (`closed`).
#[derive(Debug, Deserialize)]
pub(crate) struct OrderLists {
    #[serde(default)]
    pub open: HashMap<String, Order>,
    #[serde(default)]
    pub closed: HashMap<String, Order>,
}

/// One order, as the order endpoints return it.
#[derive(Debug, Deserialize)]
pub(crate) struct Order {
    pub status: String,
    pub opentm: f64,
    #[serde(default)]
    pub closetm: Option<f64>,
    pub descr: OrderDescr,
    pub vol: Decimal,
    pub vol_exec: Decimal,
    pub fee: Decimal,
    pub price: Decimal,
    #[serde(default)]
    pub cl_ord_id: Option<String>,
}

/// What an order is.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderDescr {
    #[serde(rename = "type")]
    pub side: String,
}

/// `POST /0/private/GetApiKeyInfo`: camelCase in the documentation, snake_case in some
/// answers.
#[derive(Debug, Deserialize)]
pub(crate) struct ApiKeyInfo {
    pub permissions: Vec<String>,
}
