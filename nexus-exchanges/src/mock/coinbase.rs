//! A local Coinbase Advanced Trade. Every private request must carry a Bearer JWT that
//! verifies as Coinbase checks it: ES256 with the key's public half, `kid` and `sub` the
//! key name, `iss` `cdp`, now inside `nbf..exp` (two minutes at most), a nonce not seen
//! before, and `uri` naming this request (`"<METHOD> 127.0.0.1:<port><path>"`); anything
//! else gets the plain-text `401 Unauthorized` Coinbase sends. The public `/market/`
//! endpoints need no JWT.
//!
//! The mock keeps balances and orders and answers in the shape of Coinbase's documented
//! examples (`test_data/coinbase/`), with their fields overridden: market orders fill at
//! the product's last price, limit orders that cross fill at their limit and the others
//! rest (holding funds), fees are 0.1 % in the quote currency, a reused `client_order_id`
//! returns the existing order (as documented), and missing funds give `success: false`
//! with `INSUFFICIENT_FUND`.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use p256::ecdsa::VerifyingKey;
use poem::{Request, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Script, Scripted, json as answer, param, params, scripted_response, serve};
use crate::coinbase::sign;

const PRODUCTS: &str = include_str!("../../test_data/coinbase/products.json");
const BEST_BID_ASK: &str = include_str!("../../test_data/coinbase/best_bid_ask.json");
const CANDLES: &str = include_str!("../../test_data/coinbase/candles.json");
const ACCOUNTS: &str = include_str!("../../test_data/coinbase/accounts.json");
const GET_ORDER: &str = include_str!("../../test_data/coinbase/get_order.json");
const LIST_ORDERS: &str = include_str!("../../test_data/coinbase/list_orders.json");
const CREATED: &str = include_str!("../../test_data/coinbase/create_order_success.json");
const CANCELLED: &str = include_str!("../../test_data/coinbase/cancel_orders.json");
const PERMISSIONS: &str = include_str!("../../test_data/coinbase/key_permissions.json");

/// Coinbase's documented error answers.
pub mod errors {
    /// 401: the plain text Coinbase sends for a refused JWT.
    pub const UNAUTHORIZED: &str = include_str!("../../test_data/coinbase/error_401_body.txt");
    /// 429 as an HTML page.
    pub const RATE_LIMITED_HTML: &str =
        include_str!("../../test_data/coinbase/error_429_body.html");
    /// 429 in the docs' default error schema.
    pub const RATE_LIMITED: &str = include_str!("../../test_data/coinbase/error_429.json");
    /// 403: the key lacks a scope.
    pub const PERMISSION_DENIED: &str = include_str!("../../test_data/coinbase/error_403.json");
    /// 404: no such order.
    pub const ORDER_NOT_FOUND: &str = include_str!("../../test_data/coinbase/error_404.json");
    /// 404: no such product.
    pub const PRODUCT_NOT_FOUND: &str =
        include_str!("../../test_data/coinbase/error_404_product.json");
    /// 400: too many candles asked for.
    pub const INVALID_ARGUMENT: &str = include_str!("../../test_data/coinbase/error_400.json");
    /// `success: false` with `INSUFFICIENT_FUND` (HTTP 200).
    pub const INSUFFICIENT_FUND: &str =
        include_str!("../../test_data/coinbase/create_order_failure.json");
}

/// BTC-USDT's prices in the mock: last, bid, ask.
pub const BTC_USDT: (&str, &str, &str) = ("60000", "59999.99", "60000.01");
/// BTC-USD's prices in the mock (the documented example's): last, bid, ask.
pub const BTC_USD: (&str, &str, &str) = ("140.21", "140.2", "140.24");

const QUOTES: [(&str, (&str, &str, &str)); 2] = [("BTC-USD", BTC_USD), ("BTC-USDT", BTC_USDT)];

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A product the mock trades: its quotes and its increments (from `products.json`).
struct Product {
    id: &'static str,
    base: String,
    quote: String,
    last: Decimal,
    bid: Decimal,
    ask: Decimal,
    base_increment: Decimal,
    price_increment: Decimal,
}

fn product(id: &str) -> Option<Product> {
    let (id, (last, bid, ask)) = QUOTES.iter().find(|(p, _)| *p == id).copied()?;
    let (base, quote) = id.split_once('-')?;
    let listed: Value = serde_json::from_str(PRODUCTS).ok()?;
    let entry = listed["products"]
        .as_array()?
        .iter()
        .find(|p| p["product_id"] == id)?;
    Some(Product {
        id,
        base: base.to_owned(),
        quote: quote.to_owned(),
        last: dec(last),
        bid: dec(bid),
        ask: dec(ask),
        base_increment: dec(entry["base_increment"].as_str()?),
        price_increment: dec(entry["price_increment"].as_str()?),
    })
}

/// The mock's state; tests read and arrange it.
#[derive(Debug)]
pub struct CoinbaseMock {
    key_name: String,
    key: VerifyingKey,
    host: OnceLock<String>,
    state: Mutex<State>,
    script: Script,
    stall: Mutex<Option<Duration>>,
}

#[derive(Debug, Default)]
struct State {
    balances: BTreeMap<String, (Decimal, Decimal)>,
    /// Oldest first.
    orders: Vec<Order>,
    next_order: u64,
    calls: Vec<String>,
    nonces: HashSet<String>,
    can_trade: bool,
    can_transfer: bool,
    page_size: Option<usize>,
}

#[derive(Debug, Clone)]
struct Order {
    order_id: String,
    client_order_id: String,
    product_id: String,
    buy: bool,
    size: Decimal,
    limit: Option<Decimal>,
    configuration: Value,
    status: &'static str,
    filled: Decimal,
    average: Decimal,
    fees: Decimal,
    /// What the order holds while it rests (quote for a buy, base for a sell).
    hold: Decimal,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

impl CoinbaseMock {
    /// Starts a mock that accepts JWTs of the key `key_name` signed with the private half of
    /// `key`; returns it and its base URL.
    pub async fn start(key_name: &str, key: VerifyingKey) -> (Arc<Self>, String) {
        let mock = Arc::new(Self {
            key_name: key_name.to_owned(),
            key,
            host: OnceLock::new(),
            state: Mutex::new(State {
                can_trade: true,
                ..State::default()
            }),
            script: Script::default(),
            stall: Mutex::new(None),
        });
        let handler = Arc::clone(&mock);
        let url = serve(poem::endpoint::make(move |mut req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let body = req.take_body().into_vec().await.unwrap_or_default();
                let response = mock.handle(&req, &body);
                let stall = mock
                    .stall
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(stall) = stall {
                    tokio::time::sleep(stall).await;
                }
                response
            }
        }))
        .await;
        let host = url.trim_start_matches("http://").to_owned();
        let _ = mock.host.set(host);
        (mock, url)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Credits `amount` of `currency`.
    pub fn deposit(&self, currency: &str, amount: Decimal) {
        self.state()
            .balances
            .entry(currency.to_owned())
            .or_default()
            .0 += amount;
    }

    /// The available and held balance of `currency`.
    #[must_use]
    pub fn balance(&self, currency: &str) -> (Decimal, Decimal) {
        self.state()
            .balances
            .get(currency)
            .copied()
            .unwrap_or_default()
    }

    /// Answers the next matching request with `scripted` instead.
    pub fn script(&self, scripted: Scripted) {
        self.script.push(scripted);
    }

    /// Handles the next request, then holds its answer for `duration` (an answer lost to a
    /// client timeout).
    pub fn stall_next(&self, duration: Duration) {
        *self.stall.lock().unwrap_or_else(PoisonError::into_inner) = Some(duration);
    }

    /// What the key may do: trade (`can_trade`; without it orders get 403) and transfer
    /// (`can_transfer`).
    pub fn set_key_permissions(&self, trade: bool, transfer: bool) {
        let mut state = self.state();
        state.can_trade = trade;
        state.can_transfer = transfer;
    }

    /// Caps the page size of account and order lists, to make clients follow cursors.
    pub fn set_page_size(&self, size: usize) {
        self.state().page_size = Some(size.max(1));
    }

    /// How many requests reached `METHOD /path`.
    #[must_use]
    pub fn calls(&self, method_and_path: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| *c == method_and_path)
            .count()
    }

    /// How many orders were placed.
    #[must_use]
    pub fn orders(&self) -> usize {
        self.state().orders.len()
    }

    /// The id the next order placed will get.
    #[must_use]
    pub fn next_order_id(&self) -> String {
        order_id(self.state().next_order + 1)
    }

    fn handle(&self, req: &Request, body: &[u8]) -> Response {
        let path = req.uri().path().to_owned();
        let method = req.method().as_str().to_owned();
        self.state().calls.push(format!("{method} {path}"));
        let scripted = self.script.take(&path);
        if let Some(s) = &scripted
            && !s.after_applying
        {
            return scripted_response(s);
        }
        let public = path.starts_with("/api/v3/brokerage/market/");
        if !public && let Some(refusal) = self.refuse_jwt(req, &method, &path) {
            return refusal;
        }
        let p = params(req.uri().query().unwrap_or(""));
        let response = self.route(&method, &path, &p, body);
        match scripted {
            Some(s) => scripted_response(&s),
            None => response,
        }
    }

    /// Coinbase's refusal of a request whose JWT does not verify, if it is one.
    fn refuse_jwt(&self, req: &Request, method: &str, path: &str) -> Option<Response> {
        let unauthorized = || {
            Some(
                Response::builder()
                    .status(poem::http::StatusCode::UNAUTHORIZED)
                    .content_type("text/plain")
                    .body(errors::UNAUTHORIZED.trim_end().to_owned()),
            )
        };
        let Some(token) = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return unauthorized();
        };
        let (Ok(claims), Ok(header)) = (sign::verify(token, &self.key), sign::header(token)) else {
            return unauthorized();
        };
        let now = Utc::now().timestamp();
        let host = self.host.get().map_or("", String::as_str);
        let valid = header.kid == self.key_name
            && claims.sub == self.key_name
            && (claims.iss == sign::ISSUER || claims.iss == "coinbase-cloud")
            && claims.nbf <= now + 1
            && now < claims.exp
            && claims.exp - claims.nbf <= sign::LIFETIME_SECS
            && claims.uri == format!("{method} {host}{path}")
            && !header.nonce.is_empty()
            && self.state().nonces.insert(header.nonce);
        if valid { None } else { unauthorized() }
    }

    fn route(&self, method: &str, path: &str, p: &[(String, String)], body: &[u8]) -> Response {
        let Some(rest) = path.strip_prefix("/api/v3/brokerage/") else {
            return answer(404, errors::ORDER_NOT_FOUND);
        };
        let rest = rest.strip_prefix("market/").unwrap_or(rest);
        let segments: Vec<&str> = rest.split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["products"]) => products(p),
            ("GET", ["products", id, "candles"]) => candles(id, p),
            ("GET", ["best_bid_ask"]) => best_bid_ask(p),
            ("GET", ["accounts"]) => self.accounts(p),
            ("GET", ["key_permissions"]) => self.permissions(),
            ("POST", ["orders"]) => self.place(body),
            ("GET", ["orders", "historical", "batch"]) => self.list_orders(p),
            ("GET", ["orders", "historical", id]) => self.get_order(id),
            ("POST", ["orders", "batch_cancel"]) => self.cancel(body),
            _ => answer(
                404,
                r#"{"error":"NOT_FOUND","error_details":"no such route","message":"no such route"}"#,
            ),
        }
    }

    fn accounts(&self, p: &[(String, String)]) -> Response {
        let template: Value = serde_json::from_str(ACCOUNTS).unwrap_or_default();
        let account = template["accounts"][0].clone();
        let state = self.state();
        let all: Vec<Value> = state
            .balances
            .iter()
            .enumerate()
            .map(|(i, (currency, (free, hold)))| {
                let mut a = account.clone();
                a["uuid"] = json!(format!("{i:08x}-0000-4000-8000-000000000000"));
                a["name"] = json!(format!("{currency} Wallet"));
                a["currency"] = json!(currency);
                a["available_balance"] = json!({"value": free.to_string(), "currency": currency});
                a["hold"] = json!({"value": hold.to_string(), "currency": currency});
                a["type"] = json!(if matches!(currency.as_str(), "USD" | "EUR" | "GBP") {
                    "ACCOUNT_TYPE_FIAT"
                } else {
                    "ACCOUNT_TYPE_CRYPTO"
                });
                a
            })
            .collect();
        let (page, next) = paginate(&all, p, 49, 250, state.page_size);
        let mut out = template;
        out["size"] = json!(page.len());
        out["accounts"] = Value::from(page);
        out["has_next"] = json!(next.is_some());
        out["cursor"] = json!(next.unwrap_or_default());
        answer(200, out.to_string())
    }

    fn permissions(&self) -> Response {
        let mut out: Value = serde_json::from_str(PERMISSIONS).unwrap_or_default();
        let state = self.state();
        out["can_trade"] = json!(state.can_trade);
        out["can_transfer"] = json!(state.can_transfer);
        answer(200, out.to_string())
    }

    fn place(&self, body: &[u8]) -> Response {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return answer(400, errors::INVALID_ARGUMENT);
        };
        let configuration = request["order_configuration"].clone();
        let mut state = self.state();
        if !state.can_trade {
            return answer(403, errors::PERMISSION_DENIED);
        }
        let client_order_id = request["client_order_id"].as_str().unwrap_or("").to_owned();
        // Documented: a reused id returns the existing order instead of a new one.
        if let Some(existing) = state
            .orders
            .iter()
            .find(|o| o.client_order_id == client_order_id)
        {
            return created(existing);
        }
        let refuse = |reason: &str, message: &str| refusal(reason, message, &configuration);
        let Some(product) = product(request["product_id"].as_str().unwrap_or("")) else {
            return refuse("INVALID_PRODUCT_ID", "Invalid product_id");
        };
        let buy = match request["side"].as_str() {
            Some("BUY") => true,
            Some("SELL") => false,
            _ => return refuse("INVALID_SIDE", "Invalid side"),
        };
        let (size, limit) = if let Some(market) = configuration.get("market_market_ioc") {
            (market["base_size"].as_str(), None)
        } else if let Some(limit) = configuration.get("limit_limit_gtc") {
            match limit["limit_price"].as_str().map(Decimal::from_str) {
                Some(Ok(price)) if price > Decimal::ZERO => {
                    (limit["base_size"].as_str(), Some(price))
                }
                _ => return refuse("INVALID_LIMIT_PRICE", "Invalid limit price"),
            }
        } else {
            return refuse(
                "UNSUPPORTED_ORDER_CONFIGURATION",
                "Unsupported order configuration",
            );
        };
        let size = match size.map(Decimal::from_str) {
            Some(Ok(size)) if size > Decimal::ZERO && (size % product.base_increment).is_zero() => {
                size
            }
            _ => return refuse("INVALID_SIZE_PRECISION", "Invalid base size precision"),
        };
        if limit.is_some_and(|price| !(price % product.price_increment).is_zero()) {
            return refuse("INVALID_PRICE_PRECISION", "Invalid price precision");
        }
        let crosses = match limit {
            None => true,
            Some(price) if buy => price >= product.ask,
            Some(price) => price <= product.bid,
        };
        let price = limit.unwrap_or(product.last);
        let value = size * price;
        let fee = (value / Decimal::from(1000)).round_dp(8);
        let (spend_currency, spend) = if buy {
            (&product.quote, value + fee)
        } else {
            (&product.base, size)
        };
        let have = state
            .balances
            .get(spend_currency)
            .map_or(Decimal::ZERO, |b| b.0);
        if have < spend {
            return answer(200, errors::INSUFFICIENT_FUND);
        }
        state.balances.entry(spend_currency.clone()).or_default().0 -= spend;
        let now = Utc::now();
        state.next_order += 1;
        let mut order = Order {
            order_id: order_id(state.next_order),
            client_order_id,
            product_id: product.id.to_owned(),
            buy,
            size,
            limit,
            configuration,
            status: "OPEN",
            filled: Decimal::ZERO,
            average: Decimal::ZERO,
            fees: Decimal::ZERO,
            hold: Decimal::ZERO,
            created: now,
            updated: now,
        };
        if crosses {
            let (got_currency, got) = if buy {
                (&product.base, size)
            } else {
                (&product.quote, value - fee)
            };
            state.balances.entry(got_currency.clone()).or_default().0 += got;
            order.status = "FILLED";
            order.filled = size;
            order.average = price;
            order.fees = fee;
        } else {
            state.balances.entry(spend_currency.clone()).or_default().1 += spend;
            order.hold = spend;
        }
        let response = created(&order);
        state.orders.push(order);
        response
    }

    fn get_order(&self, order_id: &str) -> Response {
        let state = self.state();
        match state.orders.iter().find(|o| o.order_id == order_id) {
            Some(order) => answer(200, json!({ "order": order_json(order) }).to_string()),
            None => answer(404, errors::ORDER_NOT_FOUND),
        }
    }

    fn list_orders(&self, p: &[(String, String)]) -> Response {
        let wanted: Vec<&str> = p
            .iter()
            .filter(|(k, _)| k == "product_ids")
            .map(|(_, v)| v.as_str())
            .collect();
        let state = self.state();
        let newest_first: Vec<Value> = state
            .orders
            .iter()
            .rev()
            .filter(|o| wanted.is_empty() || wanted.contains(&o.product_id.as_str()))
            .map(order_json)
            .collect();
        let (page, next) = paginate(&newest_first, p, 100, 1000, state.page_size);
        let mut out: Value = serde_json::from_str(LIST_ORDERS).unwrap_or_default();
        out["orders"] = Value::from(page);
        out["has_next"] = json!(next.is_some());
        out["cursor"] = json!(next.unwrap_or_default());
        answer(200, out.to_string())
    }

    fn cancel(&self, body: &[u8]) -> Response {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return answer(400, errors::INVALID_ARGUMENT);
        };
        let ids: Vec<String> = request["order_ids"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut state = self.state();
        if !state.can_trade {
            return answer(403, errors::PERMISSION_DENIED);
        }
        let template: Value = serde_json::from_str(CANCELLED).unwrap_or_default();
        let mut results = Vec::new();
        for id in ids {
            let mut result = template["results"][0].clone();
            result["order_id"] = json!(id);
            let outcome = match state.orders.iter().position(|o| o.order_id == id) {
                None => Err("UNKNOWN_CANCEL_ORDER"),
                Some(at) => {
                    let order = state.orders[at].clone();
                    match order.status {
                        "OPEN" => Ok(order),
                        "FILLED" => Err("ORDER_IS_FULLY_FILLED"),
                        _ => Err("UNKNOWN_CANCEL_ORDER"),
                    }
                }
            };
            match outcome {
                Ok(order) => {
                    let product = order.product_id.split_once('-').unwrap_or_default();
                    let currency = if order.buy { product.1 } else { product.0 };
                    let entry = state.balances.entry(currency.to_owned()).or_default();
                    entry.0 += order.hold;
                    entry.1 -= order.hold;
                    if let Some(stored) = state.orders.iter_mut().find(|o| o.order_id == id) {
                        stored.status = "CANCELLED";
                        stored.hold = Decimal::ZERO;
                        stored.updated = Utc::now();
                    }
                    result["success"] = json!(true);
                    result["failure_reason"] = json!("UNKNOWN_CANCEL_FAILURE_REASON");
                }
                Err(reason) => {
                    result["success"] = json!(false);
                    result["failure_reason"] = json!(reason);
                }
            }
            results.push(result);
        }
        answer(200, json!({ "results": results }).to_string())
    }
}

/// Coinbase's order ids are UUIDs.
fn order_id(n: u64) -> String {
    format!("{n:08x}-cb00-4000-8000-{n:012x}")
}

/// A page of `all` from the `cursor` (an index) and `limit` parameters.
fn paginate(
    all: &[Value],
    p: &[(String, String)],
    default: usize,
    max: usize,
    cap: Option<usize>,
) -> (Vec<Value>, Option<String>) {
    let start: usize = param(p, "cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
        .min(all.len());
    let size = param(p, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
        .min(cap.unwrap_or(usize::MAX));
    let end = start.saturating_add(size).min(all.len());
    let next = (end < all.len()).then(|| end.to_string());
    (all[start..end].to_vec(), next)
}

/// The documented success answer for `order`.
fn created(order: &Order) -> Response {
    let mut out: Value = serde_json::from_str(CREATED).unwrap_or_default();
    out["order_id"] = json!(order.order_id);
    out["success_response"] = json!({
        "order_id": order.order_id,
        "product_id": order.product_id,
        "side": if order.buy { "BUY" } else { "SELL" },
        "client_order_id": order.client_order_id,
    });
    out["order_configuration"] = order.configuration.clone();
    answer(200, out.to_string())
}

/// The documented failure answer (`success: false`, HTTP 200) with `reason`.
fn refusal(reason: &str, message: &str, configuration: &Value) -> Response {
    let mut out: Value = serde_json::from_str(errors::INSUFFICIENT_FUND).unwrap_or_default();
    out["error_response"] = json!({
        "error": reason,
        "message": message,
        "error_details": "",
        "preview_failure_reason": format!("PREVIEW_{reason}"),
        "new_order_failure_reason": reason,
    });
    out["order_configuration"] = configuration.clone();
    answer(200, out.to_string())
}

fn order_json(o: &Order) -> Value {
    let template: Value = serde_json::from_str(GET_ORDER).unwrap_or_default();
    let mut out = template["order"].clone();
    let done = o.size.is_zero() || o.filled == o.size;
    let value = o.filled * o.average;
    let percent = if o.size.is_zero() {
        Decimal::ZERO
    } else {
        (o.filled * Decimal::ONE_HUNDRED / o.size).normalize()
    };
    out["order_id"] = json!(o.order_id);
    out["product_id"] = json!(o.product_id);
    out["order_configuration"] = o.configuration.clone();
    out["side"] = json!(if o.buy { "BUY" } else { "SELL" });
    out["client_order_id"] = json!(o.client_order_id);
    out["status"] = json!(o.status);
    out["time_in_force"] = json!(if o.limit.is_some() {
        "GOOD_UNTIL_CANCELLED"
    } else {
        "IMMEDIATE_OR_CANCEL"
    });
    out["order_type"] = json!(if o.limit.is_some() { "LIMIT" } else { "MARKET" });
    out["created_time"] = json!(time(o.created));
    out["completion_percentage"] = json!(percent.to_string());
    out["filled_size"] = json!(o.filled.to_string());
    out["average_filled_price"] = json!(o.average.to_string());
    out["number_of_fills"] = json!(if o.filled.is_zero() { "0" } else { "1" });
    out["filled_value"] = json!(value.to_string());
    out["total_fees"] = json!(o.fees.to_string());
    out["total_value_after_fees"] = json!(
        if o.buy {
            value + o.fees
        } else {
            value - o.fees
        }
        .to_string()
    );
    out["outstanding_hold_amount"] = json!(o.hold.to_string());
    out["settled"] = json!(done);
    out["workable_size"] = json!(
        if o.status == "OPEN" {
            o.size - o.filled
        } else {
            Decimal::ZERO
        }
        .to_string()
    );
    out["workable_size_completion_pct"] = json!(percent.to_string());
    out["last_fill_time"] = if o.filled.is_zero() {
        Value::Null
    } else {
        json!(time(o.created))
    };
    out["last_update_time"] = json!(time(o.updated));
    out
}

/// `GET /products` (and its public twin): the documented products with the mock's prices,
/// only the ones asked for (unknown ids are left out).
fn products(p: &[(String, String)]) -> Response {
    let wanted: Vec<&str> = p
        .iter()
        .filter(|(k, _)| k == "product_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut out: Value = serde_json::from_str(PRODUCTS).unwrap_or_default();
    let listed: Vec<Value> = out["products"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| wanted.is_empty() || wanted.iter().any(|w| p["product_id"] == *w))
        .map(|mut p| {
            let id = p["product_id"].as_str().unwrap_or("").to_owned();
            if let Some(product) = product(&id) {
                p["price"] = json!(product.last.to_string());
                p["best_bid_price"] = json!(product.bid.to_string());
                p["best_ask_price"] = json!(product.ask.to_string());
                p["mid_market_price"] = json!(
                    ((product.bid + product.ask) / Decimal::TWO)
                        .normalize()
                        .to_string()
                );
            }
            p
        })
        .collect();
    out["num_products"] = json!(listed.len());
    out["products"] = Value::from(listed);
    answer(200, out.to_string())
}

/// `GET /best_bid_ask`: an unknown product id fails the call with 404.
fn best_bid_ask(p: &[(String, String)]) -> Response {
    let mut wanted: Vec<&str> = p
        .iter()
        .filter(|(k, _)| k == "product_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    if wanted.is_empty() {
        wanted = QUOTES.iter().map(|(id, _)| *id).collect();
    }
    let template: Value = serde_json::from_str(BEST_BID_ASK).unwrap_or_default();
    let book = template["pricebooks"][0].clone();
    let mut books = Vec::new();
    for id in wanted {
        let Some(product) = product(id) else {
            return answer(404, errors::PRODUCT_NOT_FOUND);
        };
        let mut b = book.clone();
        b["product_id"] = json!(id);
        b["bids"] = json!([{"price": product.bid.to_string(), "size": "1.5"}]);
        b["asks"] = json!([{"price": product.ask.to_string(), "size": "0.75"}]);
        b["time"] = json!(time(Utc::now()));
        books.push(b);
    }
    answer(200, json!({ "pricebooks": books }).to_string())
}

/// `GET /products/{id}/candles`: the buckets from `start` to `end` (never past now, so the
/// newest may still be open), newest first; 350 or more is refused as Coinbase does.
fn candles(id: &str, p: &[(String, String)]) -> Response {
    let Some(product) = product(id) else {
        return answer(404, errors::PRODUCT_NOT_FOUND);
    };
    let seconds = match param(p, "granularity") {
        Some("ONE_MINUTE") => 60,
        Some("FIVE_MINUTE") => 300,
        Some("FIFTEEN_MINUTE") => 900,
        Some("THIRTY_MINUTE") => 1800,
        Some("ONE_HOUR") => 3600,
        Some("TWO_HOUR") => 7200,
        Some("FOUR_HOUR") => 14_400,
        Some("SIX_HOUR") => 21_600,
        Some("ONE_DAY") => 86_400,
        _ => return answer(400, errors::INVALID_ARGUMENT),
    };
    let number = |name| param(p, name).and_then(|v| v.parse::<i64>().ok());
    let (Some(start), Some(end)) = (number("start"), number("end")) else {
        return answer(400, errors::INVALID_ARGUMENT);
    };
    let end = end.min(Utc::now().timestamp());
    if end < start || (end - start) / seconds + 1 >= 350 {
        return answer(400, errors::INVALID_ARGUMENT);
    }
    let template: Value = serde_json::from_str(CANDLES).unwrap_or_default();
    let row = template["candles"][0].clone();
    let first = start + (seconds - start.rem_euclid(seconds)) % seconds;
    let last = end - end.rem_euclid(seconds);
    let mut rows = Vec::new();
    let mut at = last;
    while at >= first {
        let step = Decimal::from((at / seconds) % 100);
        let open = product.last + step;
        let close = open + Decimal::ONE;
        let mut r = row.clone();
        r["start"] = json!(at.to_string());
        r["open"] = json!(open.to_string());
        r["close"] = json!(close.to_string());
        r["high"] = json!((close + Decimal::from(5)).to_string());
        r["low"] = json!((open - Decimal::ONE).to_string());
        r["volume"] = json!("12.5");
        rows.push(r);
        at -= seconds;
    }
    answer(200, json!({ "candles": rows }).to_string())
}
