//! Coinbase Advanced Trade's JSON, as documented for `/api/v3/brokerage`. Decimals arrive
//! as strings, `""` when unset, and objects as `null` when unset; numbers are read from the
//! text into `Decimal` in `parse`, one field at a time, so one odd product or order does not
//! spoil a whole answer. Missing, `null` or oddly typed scalars read as `""` or `false`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A scalar read as text: `""` when missing or `null`, numbers and booleans as written.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    })
}

/// A flag: `false` when missing, `null` or not a boolean.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(
        Option::<Value>::deserialize(d)?,
        Some(Value::Bool(true))
    ))
}

/// A list: empty when missing or `null`.
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// An error answer: `{"error": "NOT_FOUND", "message": "…", "error_details": "…"}` (the
/// docs' default schema adds `code` and `details`).
#[derive(Debug, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default, deserialize_with = "text")]
    pub error: String,
    #[serde(default, deserialize_with = "text")]
    pub message: String,
    #[serde(default, deserialize_with = "text")]
    pub error_details: String,
}

/// `GET /products` and `GET /market/products`.
#[derive(Debug, Deserialize)]
pub(crate) struct Products {
    pub products: Vec<Product>,
}

/// One product. Only the fields this adapter uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Product {
    #[serde(default, deserialize_with = "text")]
    pub product_id: String,
    #[serde(default, deserialize_with = "text")]
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub product_type: String,
    #[serde(default, deserialize_with = "text")]
    pub price: String,
    #[serde(default, deserialize_with = "text")]
    pub best_bid_price: String,
    #[serde(default, deserialize_with = "text")]
    pub best_ask_price: String,
    #[serde(default, deserialize_with = "text")]
    pub base_increment: String,
    #[serde(default, deserialize_with = "text")]
    pub quote_increment: String,
    #[serde(default, deserialize_with = "text")]
    pub price_increment: String,
    #[serde(default, deserialize_with = "text")]
    pub base_min_size: String,
    #[serde(default, deserialize_with = "text")]
    pub base_max_size: String,
    #[serde(default, deserialize_with = "text")]
    pub quote_min_size: String,
    #[serde(default, deserialize_with = "flag")]
    pub is_disabled: bool,
    #[serde(default, deserialize_with = "flag")]
    pub trading_disabled: bool,
    #[serde(default, deserialize_with = "flag")]
    pub cancel_only: bool,
    #[serde(default, deserialize_with = "flag")]
    pub limit_only: bool,
    #[serde(default, deserialize_with = "flag")]
    pub post_only: bool,
    #[serde(default, deserialize_with = "flag")]
    pub auction_mode: bool,
    #[serde(default, deserialize_with = "flag")]
    pub view_only: bool,
}

/// `GET /best_bid_ask`.
#[derive(Debug, Deserialize)]
pub(crate) struct PriceBooks {
    pub pricebooks: Vec<PriceBook>,
}

/// One product's top of book.
#[derive(Debug, Deserialize)]
pub(crate) struct PriceBook {
    #[serde(default, deserialize_with = "text")]
    pub product_id: String,
    #[serde(default, deserialize_with = "list")]
    pub bids: Vec<Level>,
    #[serde(default, deserialize_with = "list")]
    pub asks: Vec<Level>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "text")]
    pub time: String,
}

/// One price level.
#[derive(Debug, Deserialize)]
pub(crate) struct Level {
    #[serde(default, deserialize_with = "text")]
    pub price: String,
}

/// `GET /products/{id}/candles`.
#[derive(Debug, Deserialize)]
pub(crate) struct Candles {
    pub candles: Vec<RawCandle>,
}

/// One candle; `start` is UNIX seconds as a string.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCandle {
    #[serde(default, deserialize_with = "text")]
    pub start: String,
    #[serde(default, deserialize_with = "text")]
    pub low: String,
    #[serde(default, deserialize_with = "text")]
    pub high: String,
    #[serde(default, deserialize_with = "text")]
    pub open: String,
    #[serde(default, deserialize_with = "text")]
    pub close: String,
    #[serde(default, deserialize_with = "text")]
    pub volume: String,
}

/// `GET /accounts`: one page.
#[derive(Debug, Deserialize)]
pub(crate) struct Accounts {
    pub accounts: Vec<Account>,
    #[serde(default, deserialize_with = "flag")]
    pub has_next: bool,
    #[serde(default, deserialize_with = "text")]
    pub cursor: String,
}

/// One wallet.
#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    #[serde(default, deserialize_with = "text")]
    pub currency: String,
    #[serde(default)]
    pub available_balance: Option<Amount>,
    #[serde(default)]
    pub hold: Option<Amount>,
}

/// `{"value": "1.23", "currency": "BTC"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Amount {
    #[serde(default, deserialize_with = "text")]
    pub value: String,
}

/// `POST /orders`. Read `success` and `success_response.order_id`; the top-level
/// `failure_reason` is `UNKNOWN_FAILURE_REASON` even on success and is ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateOrder {
    pub success: bool,
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
    #[serde(default)]
    pub success_response: Option<CreateSuccess>,
    #[serde(default)]
    pub error_response: Option<CreateError>,
}

/// `success_response` of [`CreateOrder`].
#[derive(Debug, Deserialize)]
pub(crate) struct CreateSuccess {
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
}

/// `error_response` of [`CreateOrder`]: `error` is deprecated in favour of
/// `new_order_failure_reason`; both use the same enum.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateError {
    #[serde(default, deserialize_with = "text")]
    pub error: String,
    #[serde(default, deserialize_with = "text")]
    pub message: String,
    #[serde(default, deserialize_with = "text")]
    pub error_details: String,
    #[serde(default, deserialize_with = "text")]
    pub preview_failure_reason: String,
    #[serde(default, deserialize_with = "text")]
    pub new_order_failure_reason: String,
}

/// `GET /orders/historical/{order_id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderEnvelope {
    pub order: Order,
}

/// `GET /orders/historical/batch`: one page.
#[derive(Debug, Deserialize)]
pub(crate) struct Orders {
    pub orders: Vec<Order>,
    #[serde(default, deserialize_with = "flag")]
    pub has_next: bool,
    #[serde(default, deserialize_with = "text")]
    pub cursor: String,
}

/// One order.
#[derive(Debug, Deserialize)]
pub(crate) struct Order {
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
    #[serde(default, deserialize_with = "text")]
    pub product_id: String,
    /// Exactly one variant (`market_market_ioc`, `limit_limit_gtc`, …).
    #[serde(default)]
    pub order_configuration: Option<Value>,
    #[serde(default, deserialize_with = "text")]
    pub side: String,
    #[serde(default, deserialize_with = "text")]
    pub client_order_id: String,
    #[serde(default, deserialize_with = "text")]
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub filled_size: String,
    #[serde(default, deserialize_with = "text")]
    pub average_filled_price: String,
    #[serde(default, deserialize_with = "text")]
    pub total_fees: String,
    #[serde(default, deserialize_with = "text")]
    pub created_time: String,
    #[serde(default, deserialize_with = "text")]
    pub last_fill_time: String,
    #[serde(default, deserialize_with = "text")]
    pub last_update_time: String,
}

/// `POST /orders/batch_cancel`.
#[derive(Debug, Deserialize)]
pub(crate) struct CancelResults {
    pub results: Vec<CancelResult>,
}

/// One order's cancel result: check `success`, not the reason (it says
/// `UNKNOWN_CANCEL_FAILURE_REASON` on success).
#[derive(Debug, Deserialize)]
pub(crate) struct CancelResult {
    #[serde(default, deserialize_with = "flag")]
    pub success: bool,
    #[serde(default, deserialize_with = "text")]
    pub failure_reason: String,
    #[serde(default, deserialize_with = "text")]
    pub order_id: String,
}

/// `GET /key_permissions`. gRPC-gateway may leave out `false` flags.
#[derive(Debug, Deserialize)]
pub(crate) struct KeyPermissions {
    #[serde(default, deserialize_with = "flag")]
    pub can_view: bool,
    #[serde(default, deserialize_with = "flag")]
    pub can_trade: bool,
    #[serde(default, deserialize_with = "flag")]
    pub can_transfer: bool,
}
