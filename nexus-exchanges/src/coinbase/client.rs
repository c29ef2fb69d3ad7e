//! The Coinbase Advanced Trade REST client: [`CoinbaseVenue`] holds what all accounts share
//! (HTTP client, the IP's public requests-per-second budget, per-key private budgets);
//! [`CoinbaseClient`] is one account (one CDP API key) on it.
//!
//! Without credentials the venue reads the public `/market/` endpoints; a client reads the
//! authenticated ones (`best_bid_ask` has no public variant). Every authenticated request
//! carries its own ES256 JWT ([`super::sign`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{
    Balance, Candle, ClientOrderId, Exchange, ExchangeError, ExchangeId, Instrument, Interval,
    KeyPermissions, MarketData, NewOrder, OrderReport, Side, Symbol, Ticker,
};
use reqwest::Method;
use serde_json::{Value, json};

use super::parse;
use super::sign::{self, SignError, Signer};
use crate::decode::DecodeError;
use crate::http::{self, Answer, HttpConfig};
use crate::limits::{PerAccount, PerSecond};
use crate::retry::{self, Effect, Failure, RetryPolicy};

const COINBASE: ExchangeId = ExchangeId::Coinbase;
const BROKERAGE: &str = "/api/v3/brokerage";
/// Coinbase refuses 350 candles or more in one request.
const MAX_CANDLES: usize = 349;
/// Orders per page when looking one up by client order id.
const ORDER_PAGE_SIZE: u32 = 100;
/// Pages read when looking an order up: the newest 1000 orders of the product.
const MAX_ORDER_PAGES: u32 = 10;
/// Accounts per page (Coinbase's maximum).
const ACCOUNT_PAGE_SIZE: u32 = 250;
/// Pages of accounts read at most.
const MAX_ACCOUNT_PAGES: usize = 40;

/// Settings of the Coinbase adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseConfig {
    /// `https://api.coinbase.com` by default (a local mock otherwise). The JWT's `uri` names
    /// this host.
    pub base_url: String,
    /// Timeouts.
    pub http: HttpConfig,
    /// Retries of refused and (for reads) failed requests.
    pub retry: RetryPolicy,
    /// Public requests per second for this IP (Coinbase: 10).
    pub public_per_second: u32,
    /// Private requests per second per API key (Coinbase: 30).
    pub private_per_second: u32,
}

impl Default for CoinbaseConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.coinbase.com".to_owned(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
            public_per_second: 10,
            private_per_second: 30,
        }
    }
}

/// What every account on Coinbase shares. Public market data needs no account.
#[derive(Debug)]
pub struct CoinbaseVenue {
    config: CoinbaseConfig,
    http: reqwest::Client,
    public: PerSecond,
    private: PerAccount,
    requests: AtomicU64,
}

/// One request: method, path (under the base URL, no query), query parameters (in order,
/// repeated names allowed) and a JSON body.
struct Call {
    method: Method,
    path: String,
    params: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Call {
    fn get(path: String, params: Vec<(&'static str, String)>) -> Self {
        Self {
            method: Method::GET,
            path,
            params,
            body: None,
        }
    }

    fn post(path: String, body: Value) -> Self {
        Self {
            method: Method::POST,
            path,
            params: Vec::new(),
            body: Some(body),
        }
    }
}

/// `base_url` without its scheme (`api.coinbase.com`, `127.0.0.1:8080`): what the JWT's
/// `uri` names before the path.
fn host(base_url: &str) -> &str {
    let base = base_url.trim_end_matches('/');
    base.split_once("://").map_or(base, |(_, rest)| rest)
}

/// The `product_ids` parameters of a list of symbols.
fn product_ids(symbols: &[Symbol]) -> Vec<(&'static str, String)> {
    symbols
        .iter()
        .map(|s| ("product_ids", parse::venue_symbol(*s)))
        .collect()
}

fn decoded(e: DecodeError) -> ExchangeError {
    e.into_exchange_error(COINBASE)
}

impl CoinbaseVenue {
    /// A venue with `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: CoinbaseConfig) -> Result<Arc<Self>, ExchangeError> {
        let http = http::client(config.http).map_err(|e| ExchangeError::Transient {
            exchange: COINBASE,
            message: "could not build the HTTP client".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Arc::new(Self {
            public: PerSecond::new(config.public_per_second),
            private: PerAccount::new(config.private_per_second, Duration::from_secs(1)),
            requests: AtomicU64::new(0),
            http,
            config,
        }))
    }

    /// One account on this venue: `api_key` is the CDP key name
    /// (`organizations/{org}/apiKeys/{id}`), `secret` its PEM EC private key. A key that does
    /// not parse fails every call with [`ExchangeError::Auth`], before anything is sent.
    #[must_use]
    pub fn client(self: &Arc<Self>, credentials: ApiCredentials) -> CoinbaseClient {
        let signer = Signer::new(&credentials.api_key, credentials.secret.expose());
        CoinbaseClient {
            venue: Arc::clone(self),
            credentials,
            signer,
        }
    }

    /// HTTP requests sent so far (retries included).
    #[must_use]
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn call(
        &self,
        call: &Call,
        effect: Effect,
        signer: Option<&Signer>,
    ) -> Result<Answer, ExchangeError> {
        retry::run(&self.config.retry, effect, || self.attempt(call, signer)).await
    }

    async fn attempt(&self, call: &Call, signer: Option<&Signer>) -> Result<Answer, Failure> {
        match signer {
            Some(signer) => self.private.acquire(signer.key_name()).await,
            None => self.public.acquire().await,
        }
        let base = self.config.base_url.trim_end_matches('/');
        let mut url = format!("{base}{}", call.path);
        let query = http::encode(&call.params);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let mut request = self.http.request(call.method.clone(), url);
        if let Some(signer) = signer {
            // A new JWT for every attempt: fresh times and nonce, this request's uri.
            let token = signer
                .jwt(
                    call.method.as_str(),
                    host(base),
                    &call.path,
                    Utc::now().timestamp(),
                    &sign::nonce(),
                )
                .map_err(|e| {
                    Failure::Final(ExchangeError::Auth {
                        exchange: COINBASE,
                        message: e.to_string(),
                    })
                })?;
            request = request.bearer_auth(token);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = http::send(COINBASE, request).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        Err(parse::failure(
            answer.status.as_u16(),
            &answer.body,
            answer.retry_after(),
        ))
    }

    /// Tickers in one call: `best_bid_ask` with a key, the public product list without.
    /// A product id Coinbase refuses fails the whole call, which is then made for every
    /// product and filtered.
    async fn tickers_with(
        &self,
        symbols: &[Symbol],
        signer: Option<&Signer>,
    ) -> Result<Vec<Ticker>, ExchangeError> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = parse::venue_symbols(symbols);
        let path = match signer {
            Some(_) => format!("{BROKERAGE}/best_bid_ask"),
            None => format!("{BROKERAGE}/market/products"),
        };
        let mut params = product_ids(symbols);
        if signer.is_none() {
            params.push(("product_type", "SPOT".to_owned()));
        }
        let answer = match self
            .call(&Call::get(path.clone(), params), Effect::Read, signer)
            .await
        {
            Ok(answer) => answer,
            Err(e) if parse::unknown_product(&e) => {
                let all = match signer {
                    Some(_) => Vec::new(),
                    None => vec![("product_type", "SPOT".to_owned())],
                };
                self.call(&Call::get(path, all), Effect::Read, signer)
                    .await?
            }
            Err(e) => return Err(e),
        };
        let now = Utc::now();
        match signer {
            Some(_) => parse::best_bid_ask(&answer.body, &wanted, now),
            None => parse::product_tickers(&answer.body, &wanted, now),
        }
        .map_err(decoded)
    }

    /// The last `limit` (at most 349) closed candles: the request asks for the buckets
    /// before the one now open.
    async fn candles_with(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
        signer: Option<&Signer>,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let count = limit.min(MAX_CANDLES);
        if count == 0 {
            return Ok(Vec::new());
        }
        let length = i64::try_from(interval.duration().as_secs()).unwrap_or(i64::MAX);
        let now = Utc::now().timestamp();
        let open_start = now - now.rem_euclid(length);
        // count ≤ 349, so this cannot overflow.
        let span = length.saturating_mul(i64::try_from(count).unwrap_or(0));
        let prefix = if signer.is_some() { "" } else { "/market" };
        let call = Call::get(
            format!(
                "{BROKERAGE}{prefix}/products/{}/candles",
                parse::venue_symbol(symbol)
            ),
            vec![
                ("start", open_start.saturating_sub(span).to_string()),
                ("end", (open_start - 1).to_string()),
                ("granularity", parse::granularity(interval).to_owned()),
            ],
        );
        let answer = self.call(&call, Effect::Read, signer).await?;
        let mut candles = parse::candles(&answer.body, interval, Utc::now()).map_err(decoded)?;
        let extra = candles.len().saturating_sub(count);
        candles.drain(..extra);
        Ok(candles)
    }
}

#[async_trait]
impl MarketData for CoinbaseVenue {
    fn exchange(&self) -> ExchangeId {
        COINBASE
    }

    /// The public product list (`GET /market/products?product_ids=…`): best bid, best ask
    /// and the last trade price, in one call.
    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        self.tickers_with(symbols, None).await
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        self.candles_with(symbol, interval, limit, None).await
    }
}

/// One Coinbase account (one CDP API key).
pub struct CoinbaseClient {
    venue: Arc<CoinbaseVenue>,
    credentials: ApiCredentials,
    signer: Result<Signer, SignError>,
}

impl std::fmt::Debug for CoinbaseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoinbaseClient")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl CoinbaseClient {
    fn signer(&self) -> Result<&Signer, ExchangeError> {
        self.signer.as_ref().map_err(|e| ExchangeError::Auth {
            exchange: COINBASE,
            message: e.to_string(),
        })
    }

    async fn signed(&self, call: Call, effect: Effect) -> Result<Answer, ExchangeError> {
        let signer = self.signer()?;
        self.venue.call(&call, effect, Some(signer)).await
    }

    /// `GET /orders/historical/{order_id}`.
    async fn read_order(&self, order_id: &str) -> Result<OrderReport, ExchangeError> {
        let call = Call::get(
            format!("{BROKERAGE}/orders/historical/{order_id}"),
            Vec::new(),
        );
        let answer = self.signed(call, Effect::Read).await?;
        parse::order(&answer.body).map_err(decoded)
    }
}

#[async_trait]
impl MarketData for CoinbaseClient {
    fn exchange(&self) -> ExchangeId {
        COINBASE
    }

    /// `GET /best_bid_ask?product_ids=…` in one call; its `last` is the bid/ask midpoint.
    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        self.venue.tickers_with(symbols, Some(self.signer()?)).await
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        self.venue
            .candles_with(symbol, interval, limit, Some(self.signer()?))
            .await
    }
}

#[async_trait]
impl Exchange for CoinbaseClient {
    fn exchange(&self) -> ExchangeId {
        COINBASE
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        let path = format!("{BROKERAGE}/products");
        let mut params = vec![("product_type", "SPOT".to_owned())];
        params.extend(product_ids(symbols));
        let call = Call::get(path.clone(), params);
        let answer = match self.signed(call, Effect::Read).await {
            Ok(answer) => answer,
            Err(e) if !symbols.is_empty() && parse::unknown_product(&e) => {
                let all = Call::get(path, vec![("product_type", "SPOT".to_owned())]);
                self.signed(all, Effect::Read).await?
            }
            Err(e) => return Err(e),
        };
        let (mut listed, skipped) = parse::products(&answer.body).map_err(decoded)?;
        for s in skipped {
            tracing::debug!(product = %s.product_id, reason = %s.reason, "Coinbase product left out");
        }
        if !symbols.is_empty() {
            listed.retain(|i| symbols.contains(&i.symbol()));
        }
        Ok(listed)
    }

    /// Every page of `GET /accounts`, balances of one currency summed.
    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        let mut balances = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_ACCOUNT_PAGES {
            let mut params = vec![("limit", ACCOUNT_PAGE_SIZE.to_string())];
            if let Some(cursor) = cursor.take() {
                params.push(("cursor", cursor));
            }
            let call = Call::get(format!("{BROKERAGE}/accounts"), params);
            let answer = self.signed(call, Effect::Read).await?;
            let page = parse::accounts(&answer.body).map_err(decoded)?;
            for balance in page.items {
                parse::add_balance(&mut balances, balance).map_err(decoded)?;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(balances),
            }
        }
        tracing::warn!(
            pages = MAX_ACCOUNT_PAGES,
            "Coinbase accounts: stopped paging"
        );
        Ok(balances)
    }

    /// `POST /orders` (market IOC or limit GTC, sized in base), then the order read back for
    /// a full report. A reused client order id is looked up and that order returned.
    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        let intent = &order.intent;
        let size = intent.quantity().to_string();
        let configuration = match intent.limit_price() {
            Some(price) => json!({"limit_limit_gtc": {
                "base_size": size,
                "limit_price": price.to_string(),
                "post_only": false,
            }}),
            None => json!({"market_market_ioc": {"base_size": size}}),
        };
        let body = json!({
            "client_order_id": order.client_order_id.as_str(),
            "product_id": parse::venue_symbol(intent.symbol()),
            "side": match intent.side() {
                Side::Buy => "BUY",
                Side::Sell => "SELL",
            },
            "order_configuration": configuration,
        });
        let answer = self
            .signed(
                Call::post(format!("{BROKERAGE}/orders"), body),
                Effect::Write,
            )
            .await?;
        let order_id = match parse::create_order(&answer.body).map_err(retry::unreadable_write) {
            Ok(order_id) => order_id,
            Err(ExchangeError::Rejected {
                code: Some(code),
                reason,
                ..
            }) if code == parse::DUPLICATE_CLIENT_ORDER_ID => {
                // Placed before (a retry after a lost answer): that order is the answer.
                return match self
                    .query_order(intent.symbol(), &order.client_order_id)
                    .await?
                {
                    Some(report) => Ok(report),
                    None => Err(ExchangeError::Rejected {
                        exchange: COINBASE,
                        code: Some(code),
                        reason,
                    }),
                };
            }
            Err(e) => return Err(e),
        };
        self.read_order(&order_id)
            .await
            .map_err(|e| ExchangeError::OutcomeUnknown {
                exchange: COINBASE,
                message: format!("placed as order {order_id}, but reading it back failed: {e}"),
            })
    }

    /// Finds the order (see [`Exchange::query_order`]), cancels it by its order id
    /// (`POST /orders/batch_cancel`) and reads it back.
    async fn cancel_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        let Some(order) = self.query_order(symbol, client_order_id).await? else {
            return Err(ExchangeError::Rejected {
                exchange: COINBASE,
                code: Some(parse::UNKNOWN_CANCEL_ORDER.to_owned()),
                reason: format!("no order with client order id {client_order_id}"),
            });
        };
        let body = json!({"order_ids": [order.venue_order_id]});
        let call = Call::post(format!("{BROKERAGE}/orders/batch_cancel"), body);
        let answer = self.signed(call, Effect::Write).await?;
        parse::cancel(&answer.body, &order.venue_order_id).map_err(retry::unreadable_write)?;
        self.read_order(&order.venue_order_id).await
    }

    /// Coinbase cannot filter orders by client order id: the product's orders are listed
    /// (`GET /orders/historical/batch`, newest first) and matched, for at most
    /// 10 pages of 100; past them the answer is an error, never "no such order".
    async fn query_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_ORDER_PAGES {
            let mut params = vec![
                ("product_ids", parse::venue_symbol(symbol)),
                ("limit", ORDER_PAGE_SIZE.to_string()),
            ];
            if let Some(cursor) = cursor.take() {
                params.push(("cursor", cursor));
            }
            let call = Call::get(format!("{BROKERAGE}/orders/historical/batch"), params);
            let answer = self.signed(call, Effect::Read).await?;
            let page = parse::find_orders(&answer.body, client_order_id).map_err(decoded)?;
            if let Some(found) = page.items.into_iter().next() {
                return Ok(Some(found));
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
        // "Not found" would tell the caller it may place the order again: after this many
        // pages that is not known, so say so instead.
        Err(ExchangeError::Transient {
            exchange: COINBASE,
            message: format!(
                "order {client_order_id} not among the newest {} orders of {symbol}; whether it exists is unknown",
                MAX_ORDER_PAGES * ORDER_PAGE_SIZE
            ),
            source: None,
        })
    }

    /// `GET /key_permissions`: `can_transfer` is reported as `withdraw`.
    async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError> {
        let call = Call::get(format!("{BROKERAGE}/key_permissions"), Vec::new());
        let answer = self.signed(call, Effect::Read).await?;
        parse::permissions(&answer.body).map_err(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_host_is_the_base_url_without_its_scheme() {
        assert_eq!(host("https://api.coinbase.com"), "api.coinbase.com");
        assert_eq!(host("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(host("api.coinbase.com"), "api.coinbase.com");
        assert_eq!(
            http::encode(&[
                ("product_ids", "BTC-USD".into()),
                ("product_ids", "ETH-USD".into())
            ]),
            "product_ids=BTC-USD&product_ids=ETH-USD"
        );
    }
}
