//! The Paper venue: an in-process simulated exchange, so everything runs without an
//! account. It has the same filters as a real venue, balances per account, market orders
//! filled at the current ticker with slippage and fees (buys pay the fee in the base asset,
//! as Binance does by default; sells in quote), limit orders that fill when marketable and
//! rest otherwise, and idempotent placement by client order id.
//!
//! One [`PaperVenue`] holds the market and every account; [`PaperVenue::account`] gives
//! an [`Exchange`] for one of them.

pub mod feed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::{
    Asset, Balance, Candle, ClientOrderId, Exchange, ExchangeError, ExchangeId, Instrument,
    Interval, KeyPermissions, MarketData, NewOrder, OrderReport, OrderStatus, Percent, Price,
    Quantity, Side, Symbol, Ticker,
};
use rust_decimal::Decimal;

const VENUE: ExchangeId = ExchangeId::Paper;

/// Fees and slippage of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperConfig {
    /// Fee per fill, percent of its value. Default 0.1.
    pub fee: Percent,
    /// Adverse slippage of market orders, percent of the price. Default 0.05.
    pub slippage: Percent,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            fee: Percent::from_bps(10),
            slippage: Percent::from_bps(5),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    instruments: HashMap<Symbol, Instrument>,
    tickers: HashMap<Symbol, Ticker>,
    candles: HashMap<(Symbol, Interval), Vec<Candle>>,
    balances: HashMap<String, HashMap<Asset, Decimal>>,
    orders: HashMap<(String, ClientOrderId), OrderReport>,
    next_order: u64,
    candles_published: u64,
}

/// The simulated market and all its accounts.
#[derive(Debug, Default)]
pub struct PaperVenue {
    config: PaperConfig,
    state: Mutex<State>,
}

impl PaperVenue {
    /// An empty venue.
    #[must_use]
    pub fn new(config: PaperConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists an instrument (its exchange is taken to be Paper's).
    pub fn list(&self, instrument: Instrument) {
        self.state()
            .instruments
            .insert(instrument.symbol(), instrument);
    }

    /// Sets the current prices of a symbol.
    pub fn set_ticker(&self, ticker: Ticker) {
        self.state().tickers.insert(ticker.symbol(), ticker);
    }

    /// Appends a closed candle to a symbol's history (the newest 5,000 are kept, so a
    /// feed running for weeks does not grow without bound).
    pub fn push_candle(&self, symbol: Symbol, interval: Interval, candle: Candle) {
        const KEEP: usize = 5_000;
        let mut state = self.state();
        let history = state.candles.entry((symbol, interval)).or_default();
        history.push(candle);
        if history.len() > KEEP {
            let extra = history.len() - KEEP;
            history.drain(..extra);
        }
        state.candles_published += 1;
    }

    /// How many candles have been published so far, of any series: when it changes there
    /// are new candles to read (what a venue's candle stream would push).
    #[must_use]
    pub fn candles_published(&self) -> u64 {
        self.state().candles_published
    }

    /// Opens `account` with `amount` of `asset`, unless it exists already: how each paper
    /// account gets its starting balance, once. Returns whether it was opened now.
    pub fn open_account(&self, account: &str, asset: Asset, amount: Quantity) -> bool {
        let mut state = self.state();
        if state.balances.contains_key(account) {
            return false;
        }
        state
            .balances
            .entry(account.to_owned())
            .or_default()
            .insert(asset, amount.value());
        true
    }

    /// What `account` holds of `asset` (zero for an unknown account).
    #[must_use]
    pub fn balance(&self, account: &str, asset: Asset) -> Quantity {
        self.state()
            .balances
            .get(account)
            .and_then(|b| b.get(&asset))
            .and_then(|amount| Quantity::new(*amount).ok())
            .unwrap_or(Quantity::ZERO)
    }

    /// Credits an account (deposits are how paper accounts get money).
    pub fn deposit(&self, account: &str, asset: Asset, amount: Quantity) {
        *self
            .state()
            .balances
            .entry(account.to_owned())
            .or_default()
            .entry(asset)
            .or_default() += amount.value();
    }

    /// The [`Exchange`] of one account.
    #[must_use]
    pub fn account(self: &Arc<Self>, account: impl Into<String>) -> PaperExchange {
        PaperExchange {
            venue: Arc::clone(self),
            account: account.into(),
        }
    }
}

#[async_trait]
impl MarketData for PaperVenue {
    fn exchange(&self) -> ExchangeId {
        VENUE
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        let state = self.state();
        Ok(symbols
            .iter()
            .filter_map(|s| state.tickers.get(s).copied())
            .collect())
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let state = self.state();
        let all = state
            .candles
            .get(&(symbol, interval))
            .map_or(&[][..], Vec::as_slice);
        Ok(all[all.len().saturating_sub(limit)..].to_vec())
    }
}

/// One account on the Paper venue.
#[derive(Debug, Clone)]
pub struct PaperExchange {
    venue: Arc<PaperVenue>,
    account: String,
}

fn rejected(reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Rejected {
        exchange: VENUE,
        code: None,
        reason: reason.into(),
    }
}

impl PaperExchange {
    fn fill(&self, state: &mut State, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        let intent = order.intent;
        let symbol = intent.symbol();
        let instrument = *state
            .instruments
            .get(&symbol)
            .ok_or_else(|| rejected(format!("unknown symbol {symbol}")))?;
        let ticker = *state
            .tickers
            .get(&symbol)
            .ok_or_else(|| rejected(format!("no market for {symbol}")))?;
        let reference = intent
            .limit_price()
            .unwrap_or_else(|| ticker.price_for(intent.side()));
        instrument
            .validate(&intent, reference)
            .map_err(|violation| ExchangeError::Rejected {
                exchange: VENUE,
                code: Some(violation.filter().to_owned()),
                reason: format!("Filter failure: {violation}"),
            })?;
        let market = ticker.price_for(intent.side()).value();
        let marketable = match (intent.side(), intent.limit_price()) {
            (_, None) => true,
            (Side::Buy, Some(limit)) => limit.value() >= market,
            (Side::Sell, Some(limit)) => limit.value() <= market,
        };
        let slip = self.venue.config.slippage.fraction();
        let price = match (intent.side(), intent.limit_price()) {
            (Side::Buy, None) => market * (Decimal::ONE + slip),
            (Side::Sell, None) => market * (Decimal::ONE - slip),
            // A marketable limit fills at the market, never beyond its limit.
            (_, Some(_)) => market,
        };
        let quantity = intent.quantity().value();
        let fee = self.venue.config.fee.fraction();
        let (base, quote) = (symbol.base(), symbol.quote());
        let balances = state.balances.entry(self.account.clone()).or_default();
        let held = |asset: Asset| balances.get(&asset).copied().unwrap_or_default();
        let (fee_paid, fee_asset) = if !marketable {
            (Decimal::ZERO, None)
        } else {
            match intent.side() {
                Side::Buy => {
                    let cost = quantity * price;
                    if held(quote) < cost {
                        return Err(ExchangeError::InsufficientBalance {
                            exchange: VENUE,
                            message: format!("{cost} {quote} needed, {} free", held(quote)),
                        });
                    }
                    *balances.entry(quote).or_default() -= cost;
                    *balances.entry(base).or_default() += quantity - quantity * fee;
                    (quantity * fee, Some(base))
                }
                Side::Sell => {
                    if held(base) < quantity {
                        return Err(ExchangeError::InsufficientBalance {
                            exchange: VENUE,
                            message: format!("{quantity} {base} needed, {} free", held(base)),
                        });
                    }
                    let proceeds = quantity * price;
                    *balances.entry(base).or_default() -= quantity;
                    *balances.entry(quote).or_default() += proceeds - proceeds * fee;
                    (proceeds * fee, Some(quote))
                }
            }
        };
        state.next_order += 1;
        let to_price = |p: Decimal| Price::new(p.round_dp(12)).ok();
        Ok(OrderReport {
            client_order_id: order.client_order_id,
            venue_order_id: format!("paper-{}", state.next_order),
            symbol,
            side: intent.side(),
            status: if marketable {
                OrderStatus::Filled
            } else {
                OrderStatus::New
            },
            quantity: intent.quantity(),
            filled_quantity: if marketable {
                intent.quantity()
            } else {
                Quantity::ZERO
            },
            average_price: if marketable { to_price(price) } else { None },
            fee: Quantity::new(fee_paid.normalize()).unwrap_or(Quantity::ZERO),
            fee_asset,
            updated_at: Utc::now(),
        })
    }
}

#[async_trait]
impl Exchange for PaperExchange {
    fn exchange(&self) -> ExchangeId {
        VENUE
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        let state = self.venue.state();
        Ok(if symbols.is_empty() {
            state.instruments.values().copied().collect()
        } else {
            symbols
                .iter()
                .filter_map(|s| state.instruments.get(s).copied())
                .collect()
        })
    }

    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        let state = self.venue.state();
        let Some(balances) = state.balances.get(&self.account) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Balance> = balances
            .iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(asset, amount)| Balance {
                asset: *asset,
                free: Quantity::new(*amount).unwrap_or(Quantity::ZERO),
                locked: Quantity::ZERO,
            })
            .collect();
        out.sort_by_key(|b| b.asset);
        Ok(out)
    }

    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        let mut state = self.venue.state();
        let key = (self.account.clone(), order.client_order_id);
        // Idempotent: placing the same client order id again returns the first order.
        if let Some(existing) = state.orders.get(&key) {
            return Ok(existing.clone());
        }
        let report = self.fill(&mut state, order)?;
        state.orders.insert(key, report.clone());
        Ok(report)
    }

    async fn cancel_order(
        &self,
        _symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        let mut state = self.venue.state();
        let key = (self.account.clone(), *client_order_id);
        let order = state
            .orders
            .get_mut(&key)
            .ok_or_else(|| rejected("unknown order"))?;
        if order.status.is_final() {
            return Err(rejected(format!("the order is already {:?}", order.status)));
        }
        order.status = OrderStatus::Canceled;
        order.updated_at = Utc::now();
        Ok(order.clone())
    }

    async fn query_order(
        &self,
        _symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        let state = self.venue.state();
        Ok(state
            .orders
            .get(&(self.account.clone(), *client_order_id))
            .cloned())
    }

    async fn validate_credentials(&self) -> Result<KeyPermissions, ExchangeError> {
        Ok(KeyPermissions {
            read: true,
            trade: true,
            withdraw: false,
        })
    }
}

#[cfg(test)]
mod tests;
