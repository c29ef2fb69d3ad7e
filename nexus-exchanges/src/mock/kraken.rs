//! A local Kraken Spot: checks `API-Key`, `API-Sign` and that every nonce is above the
//! last one seen for the key, enforces `ordermin`, `lot_decimals` and `tick_size`, keeps
//! balances and orders (findable by `cl_ord_id`), and answers in the shape of Kraken's
//! documented examples (`test_data/kraken/`), errors in the `error` list with HTTP 200.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use poem::{Request, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Script, Scripted, json as answer, param, params, scripted_response, serve};
use crate::kraken::sign;

const ASSET_PAIRS: &str = include_str!("../../test_data/kraken/asset_pairs.json");
const TICKER: &str = include_str!("../../test_data/kraken/ticker.json");
const OHLC: &str = include_str!("../../test_data/kraken/ohlc.json");
const ADD_ORDER: &str = include_str!("../../test_data/kraken/add_order.json");
const ORDER: &str = include_str!("../../test_data/kraken/open_orders_cl_ord_id.json");
const KEY_INFO: &str = include_str!("../../test_data/kraken/api_key_info.json");

/// Kraken's documented error envelopes.
pub mod errors {
    /// `EOrder:Insufficient funds`.
    pub const INSUFFICIENT_FUNDS: &str =
        include_str!("../../test_data/kraken/error_insufficient_funds.json");
    /// `EAPI:Invalid nonce`.
    pub const INVALID_NONCE: &str = include_str!("../../test_data/kraken/error_invalid_nonce.json");
    /// `EAPI:Rate limit exceeded`.
    pub const RATE_LIMIT: &str = include_str!("../../test_data/kraken/error_rate_limit.json");
    /// `EAPI:Invalid key`.
    pub const INVALID_KEY: &str = include_str!("../../test_data/kraken/error_invalid_key.json");
    /// `EAPI:Invalid signature`.
    pub const INVALID_SIGNATURE: &str =
        include_str!("../../test_data/kraken/error_invalid_signature.json");
    /// `EOrder:Order minimum not met`.
    pub const ORDER_MINIMUM: &str = include_str!("../../test_data/kraken/error_order_minimum.json");
    /// `EOrder:Tick size check failed`.
    pub const TICK_SIZE: &str = include_str!("../../test_data/kraken/error_tick_size.json");
    /// `EQuery:Unknown asset pair`.
    pub const UNKNOWN_PAIR: &str =
        include_str!("../../test_data/kraken/error_unknown_asset_pair.json");
    /// `EOrder:Unknown order`.
    pub const UNKNOWN_ORDER: &str = include_str!("../../test_data/kraken/error_unknown_order.json");
    /// `EGeneral:Invalid arguments:volume`.
    pub const INVALID_VOLUME: &str =
        include_str!("../../test_data/kraken/error_invalid_arguments_volume.json");
}

/// The mock's state; tests read and arrange it.
#[derive(Debug)]
pub struct KrakenMock {
    key: String,
    secret: String,
    state: Mutex<State>,
    script: Script,
}

#[derive(Debug, Default)]
struct State {
    balances: BTreeMap<String, (Decimal, Decimal)>,
    /// txid → order JSON (with `cl_ord_id`).
    orders: BTreeMap<String, Value>,
    last_nonce: HashMap<String, u64>,
    nonces: Vec<u64>,
    calls: Vec<String>,
    permissions: Vec<String>,
    stall: Option<Duration>,
}

/// The prices the mock quotes for `XBTUSDT`: last, bid, ask.
pub const XBTUSDT: (&str, &str, &str) = ("60000.0", "59999.9", "60000.1");

impl KrakenMock {
    /// Starts a mock that accepts `key` signed with `secret` (base64); returns it and its
    /// base URL.
    pub async fn start(key: &str, secret: &str) -> (Arc<Self>, String) {
        let mock = Arc::new(Self {
            key: key.to_owned(),
            secret: secret.to_owned(),
            state: Mutex::new(State {
                permissions: ["query-funds", "query-open-trades", "modify-trades"]
                    .map(str::to_owned)
                    .to_vec(),
                ..State::default()
            }),
            script: Script::default(),
        });
        let handler = Arc::clone(&mock);
        let url = serve(poem::endpoint::make(move |mut req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let body = req.take_body().into_string().await.unwrap_or_default();
                let response = mock.handle(&req, &body);
                let stall = mock.state().stall.take();
                if let Some(stall) = stall {
                    tokio::time::sleep(stall).await;
                }
                response
            }
        }))
        .await;
        (mock, url)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Credits `amount` of `asset` (Kraken's name: `ZUSD`, `XXBT`, `USDT`).
    pub fn deposit(&self, asset: &str, amount: Decimal) {
        self.state().balances.entry(asset.to_owned()).or_default().0 += amount;
    }

    /// The balance and the amount held by orders of `asset`.
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

    /// Handles the next request, then holds its answer for `duration`.
    pub fn stall_next(&self, duration: Duration) {
        self.state().stall = Some(duration);
    }

    /// The key's permissions as `GetApiKeyInfo` lists them.
    pub fn set_permissions(&self, permissions: &[&str]) {
        self.state().permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
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

    /// Every nonce accepted, in arrival order.
    #[must_use]
    pub fn accepted_nonces(&self) -> Vec<u64> {
        self.state().nonces.clone()
    }

    /// Orders placed.
    #[must_use]
    pub fn orders(&self) -> usize {
        self.state().orders.len()
    }

    fn handle(&self, req: &Request, body: &str) -> Response {
        let path = req.uri().path().to_owned();
        self.state().calls.push(format!("{} {path}", req.method()));
        let scripted = self.script.take(&path);
        if let Some(s) = &scripted
            && !s.after_applying
        {
            return scripted_response(s);
        }
        let query = params(req.uri().query().unwrap_or(""));
        let response = if let Some(method) = path.strip_prefix("/0/private/") {
            let form = params(body);
            match self.refuse(req, &path, body, &form) {
                Some(refusal) => answer(200, refusal),
                None => self.private(method, &form),
            }
        } else {
            match path.as_str() {
                "/0/public/AssetPairs" => answer(200, ASSET_PAIRS),
                "/0/public/Ticker" => ticker(param(&query, "pair").unwrap_or("")),
                "/0/public/OHLC" => ohlc(&query),
                _ => answer(404, r#"{"error":["EGeneral:Unknown method"]}"#),
            }
        };
        match scripted {
            Some(s) => scripted_response(&s),
            None => response,
        }
    }

    /// Kraken's refusal of a request with a wrong key, signature or nonce, if it is one.
    fn refuse(
        &self,
        req: &Request,
        path: &str,
        body: &str,
        form: &[(String, String)],
    ) -> Option<&'static str> {
        if req.header(sign::API_KEY_HEADER) != Some(self.key.as_str()) {
            return Some(errors::INVALID_KEY);
        }
        let nonce = param(form, "nonce").unwrap_or("");
        let expected = sign::api_sign(&self.secret, path, nonce, body).ok();
        if expected.is_none() || req.header(sign::SIGNATURE_HEADER) != expected.as_deref() {
            return Some(errors::INVALID_SIGNATURE);
        }
        let Ok(nonce) = nonce.parse::<u64>() else {
            return Some(errors::INVALID_NONCE);
        };
        let mut state = self.state();
        let last = state.last_nonce.entry(self.key.clone()).or_insert(0);
        if nonce <= *last {
            return Some(errors::INVALID_NONCE);
        }
        *last = nonce;
        state.nonces.push(nonce);
        None
    }

    fn private(&self, method: &str, form: &[(String, String)]) -> Response {
        match method {
            "BalanceEx" => {
                let state = self.state();
                let result: serde_json::Map<String, Value> = state
                    .balances
                    .iter()
                    .map(|(asset, (balance, held))| {
                        (asset.clone(), json!({ "balance": balance.to_string(), "hold_trade": held.to_string() }))
                    })
                    .collect();
                answer(200, json!({ "error": [], "result": result }).to_string())
            }
            "AddOrder" => self.add(form),
            "OpenOrders" | "ClosedOrders" => {
                self.list(method == "OpenOrders", param(form, "cl_ord_id"))
            }
            "CancelOrder" => self.cancel(param(form, "cl_ord_id")),
            "GetApiKeyInfo" => {
                let mut info: Value = serde_json::from_str(KEY_INFO).unwrap_or_default();
                info["result"]["permissions"] = json!(self.state().permissions);
                answer(200, info.to_string())
            }
            _ => answer(200, r#"{"error":["EGeneral:Unknown method"]}"#),
        }
    }

    fn add(&self, form: &[(String, String)]) -> Response {
        let get = |name| param(form, name).unwrap_or("");
        if !matches!(get("pair"), "XBTUSDT") {
            return answer(200, errors::UNKNOWN_PAIR);
        }
        let Ok(volume) = get("volume").parse::<Decimal>() else {
            return answer(200, errors::INVALID_VOLUME);
        };
        // XBTUSDT in asset_pairs.json: ordermin 0.00005, lot_decimals 8, tick_size 0.1.
        if volume.scale() > 8 {
            return answer(200, errors::INVALID_VOLUME);
        }
        if volume < Decimal::new(5, 5) {
            return answer(200, errors::ORDER_MINIMUM);
        }
        let (last, _, ask) = XBTUSDT;
        let last: Decimal = last.parse().unwrap_or_default();
        let ask: Decimal = ask.parse().unwrap_or_default();
        let limit = match get("ordertype") {
            "limit" => match get("price").parse::<Decimal>() {
                Ok(price) if (price % Decimal::new(1, 1)).is_zero() => Some(price),
                _ => return answer(200, errors::TICK_SIZE),
            },
            "market" => None,
            _ => return answer(200, r#"{"error":["EGeneral:Invalid arguments:ordertype"]}"#),
        };
        let buy = get("type") == "buy";
        let price = limit.unwrap_or(last);
        let fills = limit.is_none_or(|p| !buy || p >= ask);
        let (spend_asset, spend) = if buy {
            ("USDT", volume * price)
        } else {
            ("XXBT", volume)
        };
        let mut state = self.state();
        let (balance, held) = state.balances.get(spend_asset).copied().unwrap_or_default();
        if balance - held < spend {
            return answer(200, errors::INSUFFICIENT_FUNDS);
        }
        let txid = format!(
            "O{:05}-MOCK{:01}-{:06}",
            state.orders.len() + 1,
            1,
            state.orders.len() + 1
        );
        let mut order = serde_json::from_str::<Value>(ORDER)
            .ok()
            .and_then(|v| {
                v["result"]["open"]
                    .as_object()
                    .and_then(|o| o.values().next().cloned())
            })
            .unwrap_or_default();
        let now = Utc::now().timestamp_millis() as f64 / 1000.0;
        order["cl_ord_id"] = json!(get("cl_ord_id"));
        order["opentm"] = json!(now);
        order["descr"]["type"] = json!(get("type"));
        order["descr"]["ordertype"] = json!(get("ordertype"));
        order["descr"]["price"] = json!(limit.map_or("0".to_owned(), |p| p.to_string()));
        order["vol"] = json!(volume.to_string());
        if fills {
            // 0.26 % taker fee in the quote currency (Kraken's default `fciq`).
            let cost = volume * price;
            let fee = (cost * Decimal::new(26, 4)).round_dp(5);
            let (got_asset, got) = if buy {
                ("XXBT", volume)
            } else {
                ("USDT", cost - fee)
            };
            let spent = if buy { spend + fee } else { spend };
            state.balances.entry(spend_asset.to_owned()).or_default().0 -= spent;
            state.balances.entry(got_asset.to_owned()).or_default().0 += got;
            order["status"] = json!("closed");
            order["closetm"] = json!(now);
            order["vol_exec"] = json!(volume.to_string());
            order["cost"] = json!(cost.to_string());
            order["fee"] = json!(fee.to_string());
            order["price"] = json!(price.to_string());
        } else {
            state.balances.entry(spend_asset.to_owned()).or_default().1 += spend;
        }
        state.orders.insert(txid.clone(), order);
        let mut added: Value = serde_json::from_str(ADD_ORDER).unwrap_or_default();
        added["result"]["txid"] = json!([txid]);
        added["result"]["descr"] = json!({ "order": format!("{} {} XBTUSDT @ {}", get("type"), volume, get("ordertype")) });
        answer(200, added.to_string())
    }

    fn list(&self, open: bool, cl_ord_id: Option<&str>) -> Response {
        let state = self.state();
        let matching: serde_json::Map<String, Value> = state
            .orders
            .iter()
            .filter(|(_, o)| (o["status"] == json!("open")) == open)
            .filter(|(_, o)| cl_ord_id.is_none_or(|id| o["cl_ord_id"] == json!(id)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let count = matching.len();
        let result = if open {
            json!({ "open": matching })
        } else {
            json!({ "closed": matching, "count": count })
        };
        answer(200, json!({ "error": [], "result": result }).to_string())
    }

    fn cancel(&self, cl_ord_id: Option<&str>) -> Response {
        let mut state = self.state();
        let found = state
            .orders
            .iter()
            .find(|(_, o)| {
                o["status"] == json!("open")
                    && cl_ord_id.is_some_and(|id| o["cl_ord_id"] == json!(id))
            })
            .map(|(k, _)| k.clone());
        let Some(txid) = found else {
            return answer(200, errors::UNKNOWN_ORDER);
        };
        let (asset, amount) = {
            let order = &state.orders[&txid];
            let vol: Decimal = order["vol"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            let price: Decimal = order["descr"]["price"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            if order["descr"]["type"] == json!("buy") {
                ("USDT", vol * price)
            } else {
                ("XXBT", vol)
            }
        };
        state.balances.entry(asset.to_owned()).or_default().1 -= amount;
        if let Some(order) = state.orders.get_mut(&txid) {
            order["status"] = json!("canceled");
            order["closetm"] = json!(Utc::now().timestamp_millis() as f64 / 1000.0);
        }
        answer(200, r#"{"error":[],"result":{"count":1}}"#)
    }
}

/// `Ticker?pair=a,b`: Kraken answers keyed by the pair key; an unknown pair fails the call.
fn ticker(pairs: &str) -> Response {
    let documented: Value = serde_json::from_str(TICKER).unwrap_or_default();
    let mut result = serde_json::Map::new();
    for pair in pairs.split(',') {
        let key = match pair {
            "XBTUSD" | "XXBTZUSD" => "XXBTZUSD",
            "XBTUSDT" => "XBTUSDT",
            "ETHUSD" | "XETHZUSD" => "XETHZUSD",
            _ => return answer(200, errors::UNKNOWN_PAIR),
        };
        let mut t = documented["result"][key].clone();
        if key == "XBTUSDT" {
            let (last, bid, ask) = XBTUSDT;
            t["c"][0] = json!(last);
            t["b"][0] = json!(bid);
            t["a"][0] = json!(ask);
        }
        result.insert(key.to_owned(), t);
    }
    answer(200, json!({ "error": [], "result": result }).to_string())
}

/// 30 rows of the requested interval ending with the one still forming, each shaped like
/// the documented row.
fn ohlc(query: &[(String, String)]) -> Response {
    let documented: Value = serde_json::from_str(OHLC).unwrap_or_default();
    let row = documented["result"]["XXBTZUSD"][0].clone();
    let minutes: i64 = param(query, "interval")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1);
    let step = minutes * 60;
    let now = Utc::now().timestamp() / step * step;
    let rows: Vec<Value> = (0..30)
        .map(|i| {
            let mut r = row.clone();
            let base = 60000 + i * 10;
            r[0] = json!(now - (29 - i) * step);
            r[1] = json!(format!("{base}.0"));
            r[2] = json!(format!("{}.0", base + 50));
            r[3] = json!(format!("{}.0", base - 50));
            r[4] = json!(format!("{}.0", base + 10));
            r
        })
        .collect();
    answer(
        200,
        json!({ "error": [], "result": { "XBTUSDT": rows, "last": now } }).to_string(),
    )
}
