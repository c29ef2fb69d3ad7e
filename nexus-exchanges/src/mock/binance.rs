//! A local Binance Spot: checks `X-MBX-APIKEY`, the HMAC-SHA256 signature and the
//! `timestamp`/`recvWindow` rule, enforces `LOT_SIZE`, `PRICE_FILTER` and `NOTIONAL`, keeps
//! balances, rejects a reused `newClientOrderId`, and answers in the shape of Binance's
//! documented examples (`test_data/binance/`), with the used weight in
//! `X-MBX-USED-WEIGHT-1M`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use poem::{Request, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Script, Scripted, json as answer, param, params, scripted_response, serve};
use crate::binance::sign;

const EXCHANGE_INFO: &str = include_str!("../../test_data/binance/exchange_info.json");
const TICKER: &str = include_str!("../../test_data/binance/ticker_24hr.json");
const KLINES: &str = include_str!("../../test_data/binance/klines.json");
const ACCOUNT: &str = include_str!("../../test_data/binance/account.json");
const RESTRICTIONS: &str = include_str!("../../test_data/binance/api_restrictions.json");
const ORDER_FULL: &str = include_str!("../../test_data/binance/order_full.json");
const ORDER_QUERY: &str = include_str!("../../test_data/binance/order_query.json");
const ORDER_CANCEL: &str = include_str!("../../test_data/binance/order_cancel.json");

/// Binance's documented error answers.
pub mod errors {
    /// `-2010` insufficient balance.
    pub const INSUFFICIENT_BALANCE: &str =
        include_str!("../../test_data/binance/errors/insufficient_balance.json");
    /// `-1003` too much weight (HTTP 429).
    pub const TOO_MANY_REQUESTS: &str =
        include_str!("../../test_data/binance/errors/too_many_requests.json");
    /// `-1003` IP banned (HTTP 418).
    pub const IP_BANNED: &str = include_str!("../../test_data/binance/errors/ip_banned.json");
    /// `-1007` backend timeout: execution status unknown.
    pub const BACKEND_TIMEOUT: &str =
        include_str!("../../test_data/binance/errors/backend_timeout.json");
    /// `-1021` timestamp outside the receive window.
    pub const TIMESTAMP: &str =
        include_str!("../../test_data/binance/errors/timestamp_outside_recv_window.json");
    /// `-1022` invalid signature.
    pub const INVALID_SIGNATURE: &str =
        include_str!("../../test_data/binance/errors/invalid_signature.json");
    /// `-2015` unknown key.
    pub const REJECTED_KEY: &str = include_str!("../../test_data/binance/errors/rejected_key.json");
    /// `-2013` no such order.
    pub const NO_SUCH_ORDER: &str =
        include_str!("../../test_data/binance/errors/no_such_order.json");
    /// `-2011` cancel of an unknown order.
    pub const CANCEL_REJECTED: &str =
        include_str!("../../test_data/binance/errors/cancel_rejected.json");
    /// `-1121` invalid symbol.
    pub const INVALID_SYMBOL: &str =
        include_str!("../../test_data/binance/errors/invalid_symbol.json");
    /// `-1013` filter failure.
    pub const FILTER_FAILURE: &str =
        include_str!("../../test_data/binance/errors/filter_failure.json");
    /// `-2010` duplicate order.
    pub const DUPLICATE_ORDER: &str =
        include_str!("../../test_data/binance/errors/duplicate_order.json");
}

/// The mock's state; tests read and arrange it.
#[derive(Debug)]
pub struct BinanceMock {
    key: String,
    secret: String,
    state: Mutex<State>,
    script: Script,
    weight: AtomicU32,
    stall: Mutex<Option<std::time::Duration>>,
}

#[derive(Debug, Default)]
struct State {
    balances: BTreeMap<String, (Decimal, Decimal)>,
    orders: HashMap<String, Value>,
    next_order_id: i64,
    calls: Vec<String>,
    clock_skew_ms: i64,
    key_may_trade: bool,
    key_may_withdraw: bool,
}

/// The prices the mock quotes: last, bid, ask.
pub const BTCUSDT: (&str, &str, &str) = ("60000", "59999.99", "60000.01");

impl BinanceMock {
    /// Starts a mock that accepts `key` signed with `secret`; returns it and its base URL.
    pub async fn start(key: &str, secret: &str) -> (Arc<Self>, String) {
        let mock = Arc::new(Self {
            key: key.to_owned(),
            secret: secret.to_owned(),
            state: Mutex::new(State {
                next_order_id: 1000,
                key_may_trade: true,
                ..State::default()
            }),
            script: Script::default(),
            weight: AtomicU32::new(0),
            stall: Mutex::new(None),
        });
        let handler = Arc::clone(&mock);
        let url = serve(poem::endpoint::make(move |req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let response = mock.handle(req);
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
        (mock, url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Credits `amount` of `asset`.
    pub fn deposit(&self, asset: &str, amount: Decimal) {
        self.state().balances.entry(asset.to_owned()).or_default().0 += amount;
    }

    /// The free and locked balance of `asset`.
    #[must_use]
    pub fn balance(&self, asset: &str) -> (Decimal, Decimal) {
        self.state()
            .balances
            .get(asset)
            .copied()
            .unwrap_or_default()
    }

    /// Answers the next matching request with `scripted` instead.
    pub fn script(&self, scripted: Scripted) {
        self.script.push(scripted);
    }

    /// Handles the next request, then holds its answer for `duration` (an answer lost to a
    /// client timeout).
    pub fn stall_next(&self, duration: std::time::Duration) {
        *self.stall.lock().unwrap_or_else(PoisonError::into_inner) = Some(duration);
    }

    /// Moves the venue's clock `ms` ahead of ours.
    pub fn set_clock_skew(&self, ms: i64) {
        self.state().clock_skew_ms = ms;
    }

    /// What the key may do (trading, withdrawals).
    pub fn set_key_permissions(&self, trade: bool, withdraw: bool) {
        let mut state = self.state();
        state.key_may_trade = trade;
        state.key_may_withdraw = withdraw;
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

    /// Every order placed, by client order id.
    #[must_use]
    pub fn orders(&self) -> usize {
        self.state().orders.len()
    }

    /// Sets the weight the venue reports as used this minute.
    pub fn set_weight_used(&self, used: u32) {
        self.weight.store(used, Ordering::SeqCst);
    }

    fn handle(&self, req: Request) -> Response {
        let path = req.uri().path().to_owned();
        let method = req.method().as_str().to_owned();
        self.state().calls.push(format!("{method} {path}"));
        let used = self.weight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut response = self.route(&req, &method, &path);
        if let Ok(value) = used.to_string().parse() {
            response.headers_mut().insert("x-mbx-used-weight-1m", value);
        }
        response
    }

    fn route(&self, req: &Request, method: &str, path: &str) -> Response {
        let query = req.uri().query().unwrap_or("").to_owned();
        let scripted = self.script.take(path);
        if let Some(s) = &scripted
            && !s.after_applying
        {
            return scripted_response(s);
        }
        let p = params(&query);
        let signed = matches!(
            path,
            "/api/v3/account" | "/api/v3/order" | "/sapi/v1/account/apiRestrictions"
        );
        if signed && let Some(refusal) = self.refuse_signature(req, &query, &p) {
            return refusal;
        }
        let response = match (method, path) {
            ("GET", "/api/v3/time") => {
                let now = Utc::now().timestamp_millis() + self.state().clock_skew_ms;
                answer(200, json!({ "serverTime": now }).to_string())
            }
            ("GET", "/api/v3/exchangeInfo") => exchange_info(param(&p, "symbols")),
            ("GET", "/api/v3/ticker/24hr") => tickers(param(&p, "symbols")),
            ("GET", "/api/v3/klines") => klines(&p),
            ("GET", "/api/v3/account") => self.account(),
            ("GET", "/sapi/v1/account/apiRestrictions") => self.restrictions(),
            ("POST", "/api/v3/order") => self.place(&p),
            ("GET", "/api/v3/order") => self.query(&p),
            ("DELETE", "/api/v3/order") => self.cancel(&p),
            _ => answer(404, r#"{"code":-1000,"msg":"not found"}"#),
        };
        match scripted {
            Some(s) => scripted_response(&s),
            None => response,
        }
    }

    /// The venue's refusal of a wrongly signed request, if it is one.
    fn refuse_signature(
        &self,
        req: &Request,
        query: &str,
        p: &[(String, String)],
    ) -> Option<Response> {
        if req.header(sign::API_KEY_HEADER) != Some(self.key.as_str()) {
            return Some(answer(401, errors::REJECTED_KEY));
        }
        let Some((payload, signature)) = query.rsplit_once("&signature=") else {
            return Some(answer(400, errors::INVALID_SIGNATURE));
        };
        if sign::signature(&self.secret, payload) != signature {
            return Some(answer(400, errors::INVALID_SIGNATURE));
        }
        let timestamp: i64 = param(p, "timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let window: i64 = param(p, "recvWindow")
            .and_then(|t| t.parse().ok())
            .unwrap_or(5000);
        let server = Utc::now().timestamp_millis() + self.state().clock_skew_ms;
        // Binance's documented rule.
        if timestamp >= server + 1000 || server - timestamp > window {
            return Some(answer(400, errors::TIMESTAMP));
        }
        None
    }

    fn account(&self) -> Response {
        let mut account: Value = serde_json::from_str(ACCOUNT).unwrap_or_default();
        let state = self.state();
        account["balances"] = state
            .balances
            .iter()
            .map(|(asset, (free, locked))| {
                json!({ "asset": asset, "free": free.to_string(), "locked": locked.to_string() })
            })
            .collect();
        account["canTrade"] = json!(true);
        account["canWithdraw"] = json!(true);
        answer(200, account.to_string())
    }

    fn restrictions(&self) -> Response {
        let mut r: Value = serde_json::from_str(RESTRICTIONS).unwrap_or_default();
        let state = self.state();
        r["enableSpotAndMarginTrading"] = json!(state.key_may_trade);
        r["enableWithdrawals"] = json!(state.key_may_withdraw);
        answer(200, r.to_string())
    }

    fn place(&self, p: &[(String, String)]) -> Response {
        let get = |name| param(p, name).unwrap_or("");
        if get("symbol") != "BTCUSDT" {
            return answer(400, errors::INVALID_SYMBOL);
        }
        let Ok(qty) = get("quantity").parse::<Decimal>() else {
            return answer(
                400,
                r#"{"code":-1102,"msg":"Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."}"#,
            );
        };
        // BTCUSDT's filters in exchange_info.json.
        let step = Decimal::new(1, 5);
        if qty < step || !(qty % step).is_zero() || qty > Decimal::from(9000) {
            return answer(400, errors::FILTER_FAILURE);
        }
        let (last, _, ask) = BTCUSDT;
        let last: Decimal = last.parse().unwrap_or_default();
        let ask: Decimal = ask.parse().unwrap_or_default();
        let limit = match get("type") {
            "LIMIT" => match get("price").parse::<Decimal>() {
                Ok(price) if (price % Decimal::new(1, 2)).is_zero() => Some(price),
                _ => {
                    return answer(
                        400,
                        r#"{"code":-1013,"msg":"Filter failure: PRICE_FILTER"}"#,
                    );
                }
            },
            "MARKET" => None,
            _ => return answer(400, r#"{"code":-1116,"msg":"Invalid orderType."}"#),
        };
        let price = limit.unwrap_or(last);
        if qty * price < Decimal::from(5) {
            return answer(400, r#"{"code":-1013,"msg":"Filter failure: NOTIONAL"}"#);
        }
        let id = get("newClientOrderId").to_owned();
        let buy = get("side") == "BUY";
        let mut state = self.state();
        if state.orders.contains_key(&id) {
            return answer(400, errors::DUPLICATE_ORDER);
        }
        let fills_now = limit.is_none_or(|p| !buy || p >= ask);
        let fill_price = if limit.is_none() { last } else { price };
        let (spend_asset, spend) = if buy {
            ("USDT", qty * fill_price)
        } else {
            ("BTC", qty)
        };
        let have = state
            .balances
            .get(spend_asset)
            .map_or(Decimal::ZERO, |b| b.0);
        if have < spend {
            return answer(400, errors::INSUFFICIENT_BALANCE);
        }
        state.next_order_id += 1;
        let order_id = state.next_order_id;
        let mut order: Value = serde_json::from_str(ORDER_FULL).unwrap_or_default();
        let now = Utc::now().timestamp_millis();
        order["symbol"] = json!("BTCUSDT");
        order["orderId"] = json!(order_id);
        order["clientOrderId"] = json!(id);
        order["transactTime"] = json!(now);
        order["workingTime"] = json!(now);
        order["price"] = json!(limit.map_or("0.00000000".to_owned(), |p| p.to_string()));
        order["origQty"] = json!(qty.to_string());
        order["type"] = json!(get("type"));
        order["side"] = json!(get("side"));
        let entry = state.balances.entry(spend_asset.to_owned()).or_default();
        entry.0 -= spend;
        if fills_now {
            // 0.1 % commission in the asset received.
            let (got_asset, got) = if buy {
                ("BTC", qty)
            } else {
                ("USDT", qty * fill_price)
            };
            let fee = (got / Decimal::from(1000)).round_dp(8);
            state.balances.entry(got_asset.to_owned()).or_default().0 += got - fee;
            order["status"] = json!("FILLED");
            order["executedQty"] = json!(qty.to_string());
            order["cummulativeQuoteQty"] = json!((qty * fill_price).to_string());
            order["fills"] = json!([{
                "price": fill_price.to_string(), "qty": qty.to_string(),
                "commission": fee.to_string(), "commissionAsset": got_asset, "tradeId": order_id
            }]);
        } else {
            state.balances.entry(spend_asset.to_owned()).or_default().1 += spend;
            order["status"] = json!("NEW");
            order["executedQty"] = json!("0.00000000");
            order["cummulativeQuoteQty"] = json!("0.00000000");
            order["fills"] = json!([]);
        }
        state.orders.insert(id, order.clone());
        answer(200, order.to_string())
    }

    fn stored(&self, p: &[(String, String)]) -> Option<Value> {
        let id = param(p, "origClientOrderId")?;
        self.state().orders.get(id).cloned()
    }

    fn query(&self, p: &[(String, String)]) -> Response {
        let Some(order) = self.stored(p) else {
            return answer(400, errors::NO_SUCH_ORDER);
        };
        let mut out: Value = serde_json::from_str(ORDER_QUERY).unwrap_or_default();
        for field in [
            "symbol",
            "orderId",
            "clientOrderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "status",
            "type",
            "side",
        ] {
            out[field] = order[field].clone();
        }
        out["time"] = order["transactTime"].clone();
        out["updateTime"] = order["transactTime"].clone();
        answer(200, out.to_string())
    }

    fn cancel(&self, p: &[(String, String)]) -> Response {
        let Some(order) = self.stored(p) else {
            return answer(400, errors::CANCEL_REJECTED);
        };
        if order["status"] != json!("NEW") {
            return answer(400, errors::CANCEL_REJECTED);
        }
        let mut state = self.state();
        let id = order["clientOrderId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let qty: Decimal = order["origQty"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .unwrap_or_default();
        let price: Decimal = order["price"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .unwrap_or_default();
        let (asset, amount) = if order["side"] == json!("BUY") {
            ("USDT", qty * price)
        } else {
            ("BTC", qty)
        };
        let entry = state.balances.entry(asset.to_owned()).or_default();
        entry.0 += amount;
        entry.1 -= amount;
        if let Some(stored) = state.orders.get_mut(&id) {
            stored["status"] = json!("CANCELED");
        }
        let mut out: Value = serde_json::from_str(ORDER_CANCEL).unwrap_or_default();
        for field in [
            "symbol",
            "orderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "type",
            "side",
        ] {
            out[field] = order[field].clone();
        }
        out["origClientOrderId"] = json!(id);
        out["clientOrderId"] = json!("cancelMyOrder1");
        out["status"] = json!("CANCELED");
        out["transactTime"] = json!(Utc::now().timestamp_millis());
        answer(200, out.to_string())
    }
}

/// `exchangeInfo`, of the `symbols` asked for (all when none); one unknown symbol fails
/// the call, as on Binance.
fn exchange_info(symbols: Option<&str>) -> Response {
    let Some(list) = symbols else {
        return answer(200, EXCHANGE_INFO);
    };
    let Ok(wanted) = serde_json::from_str::<Vec<String>>(list) else {
        return answer(
            400,
            r#"{"code":-1100,"msg":"Illegal characters found in parameter 'symbols'."}"#,
        );
    };
    let mut info: Value = serde_json::from_str(EXCHANGE_INFO).unwrap_or_default();
    let listed = info["symbols"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for symbol in wanted {
        let Some(found) = listed.iter().find(|s| s["symbol"] == json!(symbol)) else {
            return answer(400, errors::INVALID_SYMBOL);
        };
        out.push(found.clone());
    }
    info["symbols"] = Value::from(out);
    answer(200, info.to_string())
}

fn tickers(symbols: Option<&str>) -> Response {
    let template: Vec<Value> = serde_json::from_str(TICKER).unwrap_or_default();
    let known = [
        ("BTCUSDT", BTCUSDT),
        ("ETHBTC", ("0.05", "0.04999", "0.05001")),
    ];
    let wanted: Vec<String> = match symbols {
        Some(list) => match serde_json::from_str(list) {
            Ok(list) => list,
            Err(_) => {
                return answer(
                    400,
                    r#"{"code":-1100,"msg":"Illegal characters found in parameter 'symbols'."}"#,
                );
            }
        },
        None => known.iter().map(|(s, _)| (*s).to_owned()).collect(),
    };
    let mut out = Vec::new();
    for symbol in wanted {
        let Some((_, (last, bid, ask))) = known.iter().find(|(s, _)| *s == symbol) else {
            return answer(400, errors::INVALID_SYMBOL);
        };
        let mut t = template.first().cloned().unwrap_or_default();
        t["symbol"] = json!(symbol);
        t["lastPrice"] = json!(last);
        t["bidPrice"] = json!(bid);
        t["askPrice"] = json!(ask);
        t["closeTime"] = json!(Utc::now().timestamp_millis());
        out.push(t);
    }
    answer(200, Value::from(out).to_string())
}

/// `limit` klines of the requested interval ending with the one still open, each shaped
/// like the documented row.
fn klines(p: &[(String, String)]) -> Response {
    let template: Vec<Value> = serde_json::from_str(KLINES).unwrap_or_default();
    let row = template.first().cloned().unwrap_or_default();
    let limit: i64 = param(p, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(500);
    let minutes = match param(p, "interval") {
        Some("1m") => 1,
        Some("5m") => 5,
        Some("15m") => 15,
        Some("1h") => 60,
        Some("4h") => 240,
        Some("1d") => 1440,
        _ => return answer(400, r#"{"code":-1120,"msg":"Invalid interval."}"#),
    };
    let step = minutes * 60_000;
    let open_now = Utc::now().timestamp_millis() / step * step;
    let rows: Vec<Value> = (0..limit)
        .map(|i| {
            let open = open_now - (limit - 1 - i) * step;
            let mut r = row.clone();
            let base = 60000 + i * 10;
            r[0] = json!(open);
            r[1] = json!(base.to_string());
            r[2] = json!((base + 50).to_string());
            r[3] = json!((base - 50).to_string());
            r[4] = json!((base + 10).to_string());
            r[6] = json!(open + step - 1);
            r
        })
        .collect();
    answer(200, Value::from(rows).to_string())
}
