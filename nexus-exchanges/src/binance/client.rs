//! The Binance Spot REST client: [`BinanceVenue`] holds what all accounts share (HTTP
//! client, request-weight budget, ban gate, clock offset); [`BinanceClient`] is one
//! account on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{
    Balance, Candle, ClientOrderId, Exchange, ExchangeError, ExchangeId, Instrument, Interval,
    KeyPermissions, MarketData, NewOrder, OrderReport, OrderType, Side, Symbol, Ticker,
};
use reqwest::Method;

use super::{parse, sign};
use crate::decode::DecodeError;
use crate::http::{self, Answer, HttpConfig};
use crate::limits::{BanGate, PerAccount, WeightBudget};
use crate::retry::{self, Effect, Failure, RetryPolicy};

const BINANCE: ExchangeId = ExchangeId::Binance;

/// Settings of the Binance adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinanceConfig {
    /// `https://api.binance.com` by default (the testnet, or a local mock, otherwise).
    pub base_url: String,
    /// Timeouts.
    pub http: HttpConfig,
    /// Retries of refused and (for reads) failed requests.
    pub retry: RetryPolicy,
    /// How long after its timestamp a signed request stays valid, in ms (Binance: ≤ 60000).
    pub recv_window_ms: u32,
    /// The IP's request-weight budget per minute (Binance's `REQUEST_WEIGHT`: 6000).
    pub weight_per_minute: u32,
    /// Orders per account per 10 seconds (Binance's `ORDERS` limit: 50).
    pub orders_per_10s: u32,
}

impl Default for BinanceConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.binance.com".to_owned(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
            recv_window_ms: 5000,
            weight_per_minute: 6000,
            orders_per_10s: 50,
        }
    }
}

/// What every account on Binance shares. Public market data needs no account.
#[derive(Debug)]
pub struct BinanceVenue {
    config: BinanceConfig,
    http: reqwest::Client,
    weight: WeightBudget,
    orders: PerAccount,
    ban: BanGate,
    /// Binance's clock minus ours, learnt when a timestamp is refused (`-1021`).
    clock_offset_ms: AtomicI64,
    requests: AtomicU64,
}

/// One request: method, path, parameters (in order) and its documented weight.
struct Call<'a> {
    method: Method,
    path: &'a str,
    params: Vec<(&'static str, String)>,
    weight: u32,
}

impl BinanceVenue {
    /// A venue with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: BinanceConfig) -> Result<Arc<Self>, ExchangeError> {
        let http = http::client(config.http).map_err(|e| ExchangeError::Transient {
            exchange: BINANCE,
            message: "could not build the HTTP client".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Arc::new(Self {
            weight: WeightBudget::new(config.weight_per_minute),
            orders: PerAccount::new(config.orders_per_10s, Duration::from_secs(10)),
            ban: BanGate::new(BINANCE),
            clock_offset_ms: AtomicI64::new(0),
            requests: AtomicU64::new(0),
            http,
            config,
        }))
    }

    /// One account on this venue.
    #[must_use]
    pub fn client(self: &Arc<Self>, credentials: ApiCredentials) -> BinanceClient {
        BinanceClient {
            venue: Arc::clone(self),
            credentials,
        }
    }

    /// HTTP requests sent so far (retries included).
    #[must_use]
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The weight spent in the current minute, as far as this process knows.
    #[must_use]
    pub fn weight_used(&self) -> u32 {
        self.weight.used()
    }

    async fn call(
        &self,
        call: Call<'_>,
        effect: Effect,
        credentials: Option<&ApiCredentials>,
    ) -> Result<Answer, ExchangeError> {
        retry::run(&self.config.retry, effect, || {
            self.attempt(&call, credentials)
        })
        .await
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        credentials: Option<&ApiCredentials>,
    ) -> Result<Answer, Failure> {
        // A ban lasts minutes to days: report it rather than sleep through it.
        self.ban.check().map_err(Failure::Final)?;
        self.weight.acquire(call.weight).await;
        let query = http::encode(&call.params);
        let mut url = format!(
            "{}{}",
            self.config.base_url.trim_end_matches('/'),
            call.path
        );
        let mut request;
        if let Some(credentials) = credentials {
            let now = Utc::now().timestamp_millis() + self.clock_offset_ms.load(Ordering::Relaxed);
            let signed = sign::signed_query(
                credentials.secret.expose(),
                &query,
                now,
                self.config.recv_window_ms,
            );
            url.push('?');
            url.push_str(&signed);
            request = self.http.request(call.method.clone(), url);
            request = request.header(sign::API_KEY_HEADER, &credentials.api_key);
        } else {
            if !query.is_empty() {
                url.push('?');
                url.push_str(&query);
            }
            request = self.http.request(call.method.clone(), url);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = http::send(BINANCE, request).await?;
        if let Some(used) = answer
            .header("x-mbx-used-weight-1m")
            .and_then(|v| v.parse().ok())
        {
            self.weight.observe_used(used);
        }
        if answer.status.is_success() {
            return Ok(answer);
        }
        let retry_after = answer.retry_after();
        if answer.status.as_u16() == 418 {
            // Binance's documented default ban starts at 2 minutes.
            self.ban
                .ban(retry_after.unwrap_or(Duration::from_secs(120)));
            return Err(Failure::Final(ExchangeError::Banned {
                exchange: BINANCE,
                retry_after,
            }));
        }
        // Binance refused our timestamp: learn its clock before the retry.
        if parse::error_code(&answer.body) == Some(parse::TIMESTAMP_REFUSED) {
            self.sync_clock().await;
        }
        Err(parse::failure(
            answer.status.as_u16(),
            &answer.body,
            retry_after,
        ))
    }

    /// Learns Binance's clock offset from `GET /api/v3/time` (weight 1).
    async fn sync_clock(&self) {
        let url = format!("{}/api/v3/time", self.config.base_url.trim_end_matches('/'));
        self.weight.acquire(1).await;
        let before = Utc::now().timestamp_millis();
        let Ok(answer) = http::send(BINANCE, self.http.get(url)).await else {
            return;
        };
        let after = Utc::now().timestamp_millis();
        match DecodeError::json::<super::models::ServerTime>("time", &answer.body) {
            Ok(time) => {
                let offset = time.server_time - (before + after) / 2;
                self.clock_offset_ms.store(offset, Ordering::Relaxed);
                tracing::info!(offset_ms = offset, "Binance clock offset learnt");
            }
            // The retry then goes out on the clock it had: say why it may be refused again.
            Err(error) => tracing::warn!(%error, "Binance clock offset not learnt"),
        }
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        let mut params = Vec::new();
        if !symbols.is_empty() {
            params.push(("symbols", json_list(symbols)));
        }
        let call = Call {
            method: Method::GET,
            path: "/api/v3/exchangeInfo",
            params,
            weight: 20,
        };
        let answer = self.call(call, Effect::Read, None).await?;
        let (listed, skipped) = parse::instruments(&answer.body).map_err(decoded)?;
        for s in skipped {
            tracing::debug!(symbol = %s.symbol, reason = %s.reason, "Binance symbol left out");
        }
        Ok(listed)
    }
}

/// `["BTCUSDT","ETHUSDT"]`: Binance's list parameter.
fn json_list(symbols: &[Symbol]) -> String {
    let names: Vec<String> = symbols.iter().map(|s| parse::venue_symbol(*s)).collect();
    serde_json::Value::from(names).to_string()
}

/// Binance's documented weight of `ticker/24hr` for a number of symbols.
fn ticker_weight(symbols: usize) -> u32 {
    match symbols {
        0 | 101.. => 80,
        1..=20 => 2,
        21..=100 => 40,
    }
}

#[async_trait]
impl MarketData for BinanceVenue {
    fn exchange(&self) -> ExchangeId {
        BINANCE
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = parse::venue_symbols(symbols);
        let call = Call {
            method: Method::GET,
            path: "/api/v3/ticker/24hr",
            params: vec![("symbols", json_list(symbols))],
            weight: ticker_weight(symbols.len()),
        };
        let answer = match self.call(call, Effect::Read, None).await {
            Ok(answer) => answer,
            // One unknown symbol fails Binance's whole call: ask for every ticker instead
            // and keep the wanted ones, so one delisted pair cannot starve the others.
            Err(ExchangeError::Rejected {
                code: Some(code), ..
            }) if code == "-1121" => {
                let all = Call {
                    method: Method::GET,
                    path: "/api/v3/ticker/24hr",
                    params: Vec::new(),
                    weight: ticker_weight(0),
                };
                self.call(all, Effect::Read, None).await?
            }
            Err(e) => return Err(e),
        };
        parse::tickers(&answer.body, &wanted).map_err(decoded)
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        // One more than asked: the newest kline is still open and is dropped.
        let fetch = (limit + 1).clamp(1, 1000);
        let call = Call {
            method: Method::GET,
            path: "/api/v3/klines",
            params: vec![
                ("symbol", parse::venue_symbol(symbol)),
                ("interval", interval.as_str().to_owned()),
                ("limit", fetch.to_string()),
            ],
            weight: 2,
        };
        let answer = self.call(call, Effect::Read, None).await?;
        let mut candles = parse::klines(&answer.body, Utc::now()).map_err(decoded)?;
        let extra = candles.len().saturating_sub(limit);
        candles.drain(..extra);
        Ok(candles)
    }
}

/// One Binance account.
pub struct BinanceClient {
    venue: Arc<BinanceVenue>,
    credentials: ApiCredentials,
}

impl std::fmt::Debug for BinanceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceClient")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl BinanceClient {
    async fn signed(&self, call: Call<'_>, effect: Effect) -> Result<Answer, ExchangeError> {
        self.venue.call(call, effect, Some(&self.credentials)).await
    }

    async fn account(&self) -> Result<Answer, ExchangeError> {
        let call = Call {
            method: Method::GET,
            path: "/api/v3/account",
            params: vec![("omitZeroBalances", "true".to_owned())],
            weight: 20,
        };
        self.signed(call, Effect::Read).await
    }

    fn order_call(
        method: Method,
        symbol: Symbol,
        id: &ClientOrderId,
        weight: u32,
    ) -> Call<'static> {
        Call {
            method,
            path: "/api/v3/order",
            params: vec![
                ("symbol", parse::venue_symbol(symbol)),
                ("origClientOrderId", id.to_string()),
            ],
            weight,
        }
    }
}

fn decoded(e: DecodeError) -> ExchangeError {
    e.into_exchange_error(BINANCE)
}

#[async_trait]
impl MarketData for BinanceClient {
    fn exchange(&self) -> ExchangeId {
        BINANCE
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        self.venue.tickers(symbols).await
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        self.venue.candles(symbol, interval, limit).await
    }
}

#[async_trait]
impl Exchange for BinanceClient {
    fn exchange(&self) -> ExchangeId {
        BINANCE
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        self.venue.instruments(symbols).await
    }

    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        let answer = self.account().await?;
        parse::balances(&answer.body).map_err(decoded)
    }

    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        self.venue.orders.acquire(&self.credentials.api_key).await;
        let intent = &order.intent;
        let mut params = vec![
            ("symbol", parse::venue_symbol(intent.symbol())),
            (
                "side",
                match intent.side() {
                    Side::Buy => "BUY",
                    Side::Sell => "SELL",
                }
                .to_owned(),
            ),
        ];
        match (intent.order_type(), intent.limit_price()) {
            (OrderType::Limit, Some(price)) => {
                params.push(("type", "LIMIT".to_owned()));
                params.push(("timeInForce", "GTC".to_owned()));
                params.push(("quantity", intent.quantity().to_string()));
                params.push(("price", price.to_string()));
            }
            _ => {
                params.push(("type", "MARKET".to_owned()));
                params.push(("quantity", intent.quantity().to_string()));
            }
        }
        params.push(("newClientOrderId", order.client_order_id.to_string()));
        params.push(("newOrderRespType", "FULL".to_owned()));
        let call = Call {
            method: Method::POST,
            path: "/api/v3/order",
            params,
            weight: 1,
        };
        let answer = self.signed(call, Effect::Write).await?;
        parse::order(&answer.body, intent.symbol()).map_err(|e| retry::unreadable_write(decoded(e)))
    }

    async fn cancel_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        let call = Self::order_call(Method::DELETE, symbol, client_order_id, 1);
        let answer = self.signed(call, Effect::Write).await?;
        parse::order(&answer.body, symbol).map_err(|e| retry::unreadable_write(decoded(e)))
    }

    async fn query_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        let call = Self::order_call(Method::GET, symbol, client_order_id, 4);
        match self.signed(call, Effect::Read).await {
            Ok(answer) => parse::order(&answer.body, symbol)
                .map(Some)
                .map_err(decoded),
            Err(ExchangeError::Rejected {
                code: Some(code), ..
            }) if code == parse::NO_SUCH_ORDER => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError> {
        let account = self.account().await?;
        let restrictions = Call {
            method: Method::GET,
            path: "/sapi/v1/account/apiRestrictions",
            params: Vec::new(),
            weight: 1,
        };
        // The key's own restrictions live on the wallet API, which the Spot testnet lacks:
        // without them the account's abilities are reported.
        let restrictions = match self.signed(restrictions, Effect::Read).await {
            Ok(answer) => Some(answer.body),
            Err(ExchangeError::Rejected { .. }) => None,
            Err(e) => return Err(e),
        };
        parse::permissions(&account.body, restrictions.as_deref()).map_err(decoded)
    }
}
