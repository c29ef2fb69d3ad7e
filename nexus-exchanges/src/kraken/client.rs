//! The Kraken Spot REST client: [`KrakenVenue`] holds what all accounts share (HTTP
//! client, the IP's public-call counter, the pair list); [`KrakenClient`] is one account.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::NonceSource;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{
    Balance, Candle, ClientOrderId, Exchange, ExchangeError, ExchangeId, Instrument, Interval,
    KeyPermissions, MarketData, NewOrder, OrderReport, OrderStatus, OrderType, Quantity, Side,
    Symbol, Ticker,
};
use tokio::time::Instant;

use super::nonce::{LocalNonces, key_id};
use super::parse::{self, Pairs, Refusal};
use super::sign;
use crate::decode::{DecodeError, DecodeReason};
use crate::http::{self, Answer, HttpConfig};
use crate::limits::{DecayingCounter, PerAccountCounter};
use crate::retry::{self, Effect, Failure, RetryPolicy};

const KRAKEN: ExchangeId = ExchangeId::Kraken;

/// Settings of the Kraken adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct KrakenConfig {
    /// `https://api.kraken.com` by default.
    pub base_url: String,
    /// Timeouts.
    pub http: HttpConfig,
    /// Retries of refused and (for reads) failed requests.
    pub retry: RetryPolicy,
    /// Public calls the IP may burst (Kraken publishes no figure; about 1/s is safe).
    pub public_burst: u32,
    /// Public calls per second, sustained.
    pub public_per_second: f64,
    /// The private call counter's maximum (Starter 15, Intermediate and Pro 20).
    pub private_max: u32,
    /// How fast the private counter decays per second (Starter 0.33, Intermediate 0.5,
    /// Pro 1).
    pub private_decay_per_second: f64,
    /// How long the pair list is kept before it is fetched again.
    pub pairs_ttl: Duration,
}

impl Default for KrakenConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.kraken.com".to_owned(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
            public_burst: 5,
            public_per_second: 1.0,
            private_max: 15,
            private_decay_per_second: 0.33,
            pairs_ttl: Duration::from_secs(3600),
        }
    }
}

/// What every account on Kraken shares. Public market data needs no account.
pub struct KrakenVenue {
    config: KrakenConfig,
    http: reqwest::Client,
    public: DecayingCounter,
    private: PerAccountCounter,
    nonces: Arc<dyn NonceSource>,
    /// One private call per key at a time, so nonces reach Kraken in the order issued.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pairs: tokio::sync::Mutex<Option<(Arc<Pairs>, Instant)>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for KrakenVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KrakenVenue")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KrakenVenue {
    /// A venue with `config` and in-process nonces (one process per key).
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: KrakenConfig) -> Result<Arc<Self>, ExchangeError> {
        Self::with_nonces(config, Arc::new(LocalNonces::default()))
    }

    /// A venue whose nonces come from `nonces`: a store-backed source keeps them
    /// increasing across every process that uses the same key.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn with_nonces(
        config: KrakenConfig,
        nonces: Arc<dyn NonceSource>,
    ) -> Result<Arc<Self>, ExchangeError> {
        let http = http::client(config.http).map_err(|e| ExchangeError::Transient {
            exchange: KRAKEN,
            message: "could not build the HTTP client".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Arc::new(Self {
            public: DecayingCounter::new(config.public_burst, config.public_per_second),
            private: PerAccountCounter::new(config.private_max, config.private_decay_per_second),
            nonces,
            in_flight: Mutex::new(HashMap::new()),
            pairs: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
            http,
            config,
        }))
    }

    /// One account on this venue.
    #[must_use]
    pub fn client(self: &Arc<Self>, credentials: ApiCredentials) -> KrakenClient {
        KrakenClient {
            venue: Arc::clone(self),
            key_id: key_id(&credentials.api_key),
            credentials,
        }
    }

    /// HTTP requests sent so far (retries included).
    #[must_use]
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn public_get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Answer, ExchangeError> {
        retry::run(&self.config.retry, Effect::Read, || async {
            self.public.acquire(1).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let request = self.http.get(self.url(path)).query(query);
            let answer = http::send(KRAKEN, request).await?;
            match http::status_failure(KRAKEN, &answer) {
                Some(failure) => Err(failure),
                None => Ok(answer),
            }
        })
        .await
    }

    /// The pair list, fetched at most once per `pairs_ttl`.
    async fn pairs(&self) -> Result<Arc<Pairs>, ExchangeError> {
        let mut cached = self.pairs.lock().await;
        if let Some((pairs, at)) = cached.as_ref()
            && at.elapsed() < self.config.pairs_ttl
        {
            return Ok(Arc::clone(pairs));
        }
        let answer = self.public_get("/0/public/AssetPairs", &[]).await?;
        let pairs = Arc::new(parse::asset_pairs(&answer.body).map_err(decode)?);
        *cached = Some((Arc::clone(&pairs), Instant::now()));
        Ok(pairs)
    }

    /// Kraken's name of `symbol`: the listed altname, or the mapped one.
    fn pair_name(pairs: &Pairs, symbol: Symbol) -> String {
        pairs
            .names
            .get(&symbol)
            .cloned()
            .unwrap_or_else(|| parse::venue_pair(symbol))
    }

    async fn private(
        &self,
        credentials: &ApiCredentials,
        key: &str,
        method: &str,
        params: &[(&str, String)],
        effect: Effect,
    ) -> Result<Answer, ExchangeError> {
        let lock = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(in_flight.entry(key.to_owned()).or_default())
        };
        let path = format!("/0/private/{method}");
        let counter = self.private.of(key);
        // Order placement and cancelling are counted by the matching engine, not here.
        let cost = u32::from(!matches!(method, "AddOrder" | "CancelOrder"));
        retry::run(&self.config.retry, effect, || async {
            let _one_at_a_time = lock.lock().await;
            counter.acquire(cost).await;
            // The clock is only a floor: one set before 1970 gives none, and the nonce
            // still rises past the key's last one.
            let micros = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
            let nonce = self.nonces.next_nonce(key, micros).await.map_err(|e| {
                Failure::NotApplied(ExchangeError::Transient {
                    exchange: KRAKEN,
                    message: format!("no nonce: {e}"),
                    source: None,
                })
            })?;
            let mut fields = vec![("nonce", nonce.to_string())];
            fields.extend(params.iter().cloned());
            let body = http::encode(&fields);
            let signature = sign::api_sign(
                credentials.secret.expose(),
                &path,
                &nonce.to_string(),
                &body,
            )
            .map_err(|e| {
                Failure::Final(ExchangeError::Auth {
                    exchange: KRAKEN,
                    message: e.to_string(),
                })
            })?;
            let request = self
                .http
                .post(self.url(&path))
                .header(sign::API_KEY_HEADER, &credentials.api_key)
                .header(sign::SIGNATURE_HEADER, signature)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let answer = http::send(KRAKEN, request).await?;
            if let Some(failure) = http::status_failure(KRAKEN, &answer) {
                return Err(failure);
            }
            // Errors come with HTTP 200 in the envelope; peek so retryable ones retry.
            if let Some(errors) = envelope_errors(&answer.body) {
                let failure = parse::failure(&errors);
                if matches!(
                    &failure,
                    Failure::NotApplied(ExchangeError::RateLimited { .. })
                ) {
                    counter.saturate();
                }
                return Err(failure);
            }
            Ok(answer)
        })
        .await
    }
}

/// The envelope's error list, when it has one.
fn envelope_errors(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        error: Vec<String>,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    (!errors.error.is_empty()).then_some(errors.error)
}

fn decode(e: DecodeError) -> ExchangeError {
    e.into_exchange_error(KRAKEN)
}

fn refused(r: Refusal) -> ExchangeError {
    match r {
        Refusal::Errors(errors) => parse::error(&errors),
        Refusal::Decode(e) => decode(e),
    }
}

/// Kraken's OHLC interval in minutes.
const fn minutes(interval: Interval) -> u32 {
    match interval {
        Interval::M1 => 1,
        Interval::M5 => 5,
        Interval::M15 => 15,
        Interval::H1 => 60,
        Interval::H4 => 240,
        Interval::D1 => 1440,
    }
}

#[async_trait]
impl MarketData for KrakenVenue {
    fn exchange(&self) -> ExchangeId {
        KRAKEN
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        let pairs = self.pairs().await?;
        // Only listed pairs are asked for: one unknown pair fails Kraken's whole call.
        let names: Vec<String> = symbols
            .iter()
            .filter(|s| pairs.names.contains_key(s))
            .map(|s| Self::pair_name(&pairs, *s))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let answer = self
            .public_get("/0/public/Ticker", &[("pair", names.join(","))])
            .await?;
        let mut tickers =
            parse::tickers(&answer.body, &pairs.symbols, Utc::now()).map_err(decode)?;
        tickers.retain(|t| symbols.contains(&t.symbol()));
        Ok(tickers)
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let pairs = self.pairs().await?;
        let answer = self
            .public_get(
                "/0/public/OHLC",
                &[
                    ("pair", Self::pair_name(&pairs, symbol)),
                    ("interval", minutes(interval).to_string()),
                ],
            )
            .await?;
        let mut candles =
            parse::ohlc(&answer.body, interval.duration(), Utc::now()).map_err(decode)?;
        let extra = candles.len().saturating_sub(limit);
        candles.drain(..extra);
        Ok(candles)
    }
}

/// One Kraken account.
pub struct KrakenClient {
    venue: Arc<KrakenVenue>,
    credentials: ApiCredentials,
    key_id: String,
}

impl std::fmt::Debug for KrakenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KrakenClient")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl KrakenClient {
    async fn private(
        &self,
        method: &str,
        params: &[(&str, String)],
        effect: Effect,
    ) -> Result<Answer, ExchangeError> {
        self.venue
            .private(&self.credentials, &self.key_id, method, params, effect)
            .await
    }

    /// Looks an order up among open, then closed orders by `cl_ord_id`.
    async fn find(
        &self,
        symbol: Symbol,
        id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        for method in ["OpenOrders", "ClosedOrders"] {
            let answer = self
                .private(method, &[("cl_ord_id", id.to_string())], Effect::Read)
                .await?;
            if let Some(report) = parse::listed_order(&answer.body, symbol, id).map_err(refused)? {
                return Ok(Some(report));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl MarketData for KrakenClient {
    fn exchange(&self) -> ExchangeId {
        KRAKEN
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
impl Exchange for KrakenClient {
    fn exchange(&self) -> ExchangeId {
        KRAKEN
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        let pairs = self.venue.pairs().await?;
        Ok(pairs
            .instruments
            .iter()
            .filter(|i| symbols.is_empty() || symbols.contains(&i.symbol()))
            .copied()
            .collect())
    }

    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        let answer = self.private("BalanceEx", &[], Effect::Read).await?;
        parse::balances(&answer.body).map_err(refused)
    }

    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        let intent = &order.intent;
        let pairs = self.venue.pairs().await?;
        let mut params = vec![
            (
                "ordertype",
                match intent.order_type() {
                    OrderType::Limit => "limit",
                    OrderType::Market => "market",
                }
                .to_owned(),
            ),
            (
                "type",
                match intent.side() {
                    Side::Buy => "buy",
                    Side::Sell => "sell",
                }
                .to_owned(),
            ),
            ("volume", intent.quantity().to_string()),
            ("pair", KrakenVenue::pair_name(&pairs, intent.symbol())),
            ("cl_ord_id", order.client_order_id.to_string()),
        ];
        if let Some(price) = intent.limit_price() {
            params.push(("price", price.to_string()));
        }
        let answer = self.private("AddOrder", &params, Effect::Write).await?;
        let txid = parse::added(&answer.body).map_err(|r| retry::unreadable_write(refused(r)))?;
        // AddOrder says only that the order was accepted; its fills come from a lookup.
        // Without one the order is reported as accepted (it is: Kraken gave its txid), and
        // its fills are read later by client order id.
        let found = self.find(intent.symbol(), &order.client_order_id).await;
        if let Err(error) = &found {
            tracing::warn!(%error, txid, "Kraken order accepted but not read back");
        }
        match found {
            Ok(Some(report)) => Ok(report),
            Ok(None) | Err(_) => Ok(OrderReport {
                client_order_id: order.client_order_id,
                venue_order_id: txid,
                symbol: intent.symbol(),
                side: intent.side(),
                status: OrderStatus::New,
                quantity: intent.quantity(),
                filled_quantity: Quantity::ZERO,
                average_price: None,
                fee: Quantity::ZERO,
                fee_asset: None,
                updated_at: Utc::now(),
            }),
        }
    }

    async fn cancel_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        let answer = self
            .private(
                "CancelOrder",
                &[("cl_ord_id", client_order_id.to_string())],
                Effect::Write,
            )
            .await?;
        let cancelled =
            parse::cancelled(&answer.body).map_err(|r| retry::unreadable_write(refused(r)))?;
        if cancelled == 0 {
            return Err(ExchangeError::Rejected {
                exchange: KRAKEN,
                code: Some("EOrder:Unknown order".into()),
                reason: "no open order has this client order id".into(),
            });
        }
        self.find(symbol, client_order_id).await?.ok_or_else(|| {
            decode(DecodeError::body(
                parse::ORDERS,
                DecodeReason::OrderNotListed {
                    action: "cancelled",
                },
            ))
        })
    }

    async fn query_order(
        &self,
        symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        self.find(symbol, client_order_id).await
    }

    async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError> {
        let answer = self.private("GetApiKeyInfo", &[], Effect::Read).await?;
        parse::permissions(&answer.body).map_err(refused)
    }
}
