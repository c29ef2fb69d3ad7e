//! Binance's JSON, as documented for the Spot REST API. Numbers arrive as strings and are
//! read straight into `Decimal`.

use rust_decimal::Decimal;
use serde::Deserialize;

/// An error answer: `{"code": -2010, "msg": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ApiError {
    pub code: i64,
    pub msg: String,
}

/// `GET /api/v3/time`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerTime {
    pub server_time: i64,
}

/// One entry of `GET /api/v3/ticker/24hr`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ticker24h {
    pub symbol: String,
    pub bid_price: Decimal,
    pub ask_price: Decimal,
    pub last_price: Decimal,
    pub close_time: i64,
}

/// `GET /api/v3/account`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Account {
    pub can_trade: bool,
    pub can_withdraw: bool,
    pub balances: Vec<AccountBalance>,
}

/// One asset of [`Account`].
#[derive(Debug, Deserialize)]
pub(crate) struct AccountBalance {
    pub asset: String,
    pub free: Decimal,
    pub locked: Decimal,
}

/// `GET /sapi/v1/account/apiRestrictions`: what this key (not the account) may do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiRestrictions {
    pub enable_reading: bool,
    pub enable_spot_and_margin_trading: bool,
    pub enable_withdrawals: bool,
}

/// An order as `POST`, `GET` and `DELETE /api/v3/order` return it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Order {
    pub order_id: i64,
    pub client_order_id: String,
    /// A cancel answer's `clientOrderId` is the cancel request's own; ours is here.
    #[serde(default)]
    pub orig_client_order_id: Option<String>,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub cummulative_quote_qty: Decimal,
    pub status: String,
    pub side: String,
    #[serde(default)]
    pub fills: Vec<Fill>,
    #[serde(default)]
    pub transact_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

/// One fill of a `FULL` order answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fill {
    pub commission: Decimal,
    pub commission_asset: String,
}
