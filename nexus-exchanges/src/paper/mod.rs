//! The Paper venue: a simulated exchange, so everything runs without an account. It has
//! the same filters as a real venue, balances per account, market orders filled at the
//! current ticker with slippage and fees (buys pay the fee in the base asset, as Binance
//! does by default; sells in quote), limit orders that fill when marketable and rest
//! otherwise, and idempotent placement by client order id.
//!
//! The market (instruments, tickers, candles) is simulated in process by a
//! [`feed::SimulatedFeed`]. Accounts and their orders live in a [`PaperLedger`]: the
//! store's in `nexus serve`, so they survive restarts and every instance shares them, or
//! a [`MemoryLedger`]. Concurrent placements are written together (see `coalesce`), so a
//! fan-out of thousands of Paper orders costs a few transactions.

mod coalesce;
pub mod feed;
mod ledger;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use nexus_core::ports::paper::{PaperAccount, PaperBook, PaperLedger};
use nexus_core::{
    Asset, Balance, Candle, ClientOrderId, Exchange, ExchangeError, ExchangeId, Instrument,
    InstrumentFilters, Interval, KeyPermissions, MarketData, NewOrder, Notional, OrderReport,
    OrderStatus, Percent, Price, Quantity, Side, StoreError, Symbol, Ticker, UserId,
};
use rust_decimal::Decimal;

pub use ledger::MemoryLedger;

use coalesce::{Batch, Coalesce};

const VENUE: ExchangeId = ExchangeId::Paper;

/// Fees, slippage and opening balance of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperConfig {
    /// Fee per fill, percent of its value. Default 0.1.
    pub fee: Percent,
    /// Adverse slippage of market orders, percent of the price. Default 0.05.
    pub slippage: Percent,
    /// What a new account is credited with, once, at its first order (and shows until
    /// then). Default none.
    pub opening_balance: Option<(Asset, Quantity)>,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            fee: Percent::from_bps(10),
            slippage: Percent::from_bps(5),
            opening_balance: None,
        }
    }
}

/// The Paper venue's filters for any symbol: those of Binance's BTC/USDT.
#[must_use]
pub fn instrument(symbol: Symbol) -> Instrument {
    let filters = InstrumentFilters {
        tick_size: Price::new(Decimal::new(1, 2)).expect("0.01 is a price"),
        step_size: Quantity::new(Decimal::new(1, 5)).expect("0.00001 is a quantity"),
        min_qty: Quantity::new(Decimal::new(1, 5)).expect("0.00001 is a quantity"),
        max_qty: None,
        min_notional: Notional::new(Decimal::from(5)).expect("5 is a notional"),
    };
    Instrument::new(VENUE, symbol, filters).expect("a positive step and no max_qty are valid")
}

/// The name of a user's account on the Paper venue: one per user, never chosen by them,
/// so two users can never share one.
#[must_use]
pub fn account_name(owner: UserId) -> String {
    format!("paper-{owner}")
}

#[derive(Debug, Default)]
struct Market {
    instruments: HashMap<Symbol, Instrument>,
    tickers: HashMap<Symbol, Ticker>,
    candles: HashMap<(Symbol, Interval), Vec<Candle>>,
    candles_published: u64,
}

/// A change to one account, written with others in one ledger update.
#[derive(Debug)]
enum Change {
    Place(NewOrder),
    Cancel(ClientOrderId),
    Deposit(Asset, Quantity),
}

/// A change's outcome: the order's report (none for a deposit), or why it failed.
type Answer = Result<Option<OrderReport>, ExchangeError>;

/// The simulated market and its accounts.
pub struct PaperVenue {
    config: PaperConfig,
    market: Mutex<Market>,
    ledger: Arc<dyn PaperLedger>,
    changes: Coalesce<(String, Change), Answer>,
    reads: Coalesce<String, Result<PaperAccount, ExchangeError>>,
}

impl std::fmt::Debug for PaperVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaperVenue")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PaperVenue {
    /// A venue keeping its accounts in memory.
    #[must_use]
    pub fn new(config: PaperConfig) -> Arc<Self> {
        Self::with_ledger(config, Arc::new(MemoryLedger::default()))
    }

    /// A venue keeping its accounts in `ledger`.
    #[must_use]
    pub fn with_ledger(config: PaperConfig, ledger: Arc<dyn PaperLedger>) -> Arc<Self> {
        Arc::new(Self {
            config,
            market: Mutex::default(),
            ledger,
            changes: Coalesce::default(),
            reads: Coalesce::default(),
        })
    }

    fn market(&self) -> std::sync::MutexGuard<'_, Market> {
        self.market.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists an instrument (its exchange is taken to be Paper's).
    pub fn list(&self, instrument: Instrument) {
        self.market()
            .instruments
            .insert(instrument.symbol(), instrument);
    }

    /// Sets the current prices of a symbol.
    pub fn set_ticker(&self, ticker: Ticker) {
        self.market().tickers.insert(ticker.symbol(), ticker);
    }

    /// Appends a closed candle to a symbol's history (the newest 5,000 are kept, so a
    /// feed running for weeks does not grow without bound).
    pub fn push_candle(&self, symbol: Symbol, interval: Interval, candle: Candle) {
        const KEEP: usize = 5_000;
        let mut market = self.market();
        let history = market.candles.entry((symbol, interval)).or_default();
        history.push(candle);
        if history.len() > KEEP {
            let extra = history.len() - KEEP;
            history.drain(..extra);
        }
        market.candles_published += 1;
    }

    /// How many candles have been published so far, of any series.
    #[must_use]
    pub fn candles_published(&self) -> u64 {
        self.market().candles_published
    }

    /// Credits `account` with `amount` of `asset` (deposits are how paper accounts get
    /// money beyond their opening balance).
    ///
    /// # Errors
    /// [`ExchangeError`] when the ledger could not be written.
    pub async fn deposit(
        &self,
        account: &str,
        asset: Asset,
        amount: Quantity,
    ) -> Result<(), ExchangeError> {
        self.change(account, Change::Deposit(asset, amount))
            .await
            .map(drop)
    }

    /// The [`Exchange`] of one account.
    #[must_use]
    pub fn account(self: &Arc<Self>, account: impl Into<String>) -> PaperExchange {
        PaperExchange {
            venue: Arc::clone(self),
            account: account.into(),
        }
    }

    /// Writes one change to `account`, together with whatever else is waiting.
    async fn change(&self, account: &str, change: Change) -> Answer {
        self.changes
            .submit((account.to_owned(), change), |batch| self.write(batch))
            .await
            .unwrap_or_else(|| Err(unknown("the write was abandoned before it finished")))
    }

    /// Places `order` on `account`: its report, the first one if it was placed before.
    async fn place_on(
        &self,
        account: &str,
        order: &NewOrder,
    ) -> Result<OrderReport, ExchangeError> {
        self.change(account, Change::Place(order.clone()))
            .await?
            .ok_or_else(|| unknown("a placement answered without a report"))
    }

    /// One ledger update for a batch of changes; each is answered once it is stored.
    async fn write(&self, batch: Batch<(String, Change), Answer>) {
        let mut accounts: Vec<String> = batch.iter().map(|((a, _), _)| a.clone()).collect();
        accounts.sort();
        accounts.dedup();
        // Cancels change orders that exist; placements add new ones (a placement sent
        // again finds its first report: the ledger reads it if it turns out to exist).
        let (mut orders, mut placing) = (Vec::new(), Vec::new());
        for ((account, change), _) in &batch {
            match change {
                Change::Place(order) => placing.push((account.clone(), order.client_order_id)),
                Change::Cancel(id) => orders.push((account.clone(), *id)),
                Change::Deposit(..) => {}
            }
        }
        // The market as it is now, so no lock is held while the ledger is written.
        let (instruments, tickers) = {
            let market = self.market();
            (market.instruments.clone(), market.tickers.clone())
        };
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut apply = |book: &mut PaperBook| {
            answers.clear();
            for ((account, change), _) in &batch {
                answers.push(match change {
                    Change::Place(order) => self
                        .place(book, account, order, &instruments, &tickers)
                        .map(Some),
                    Change::Cancel(id) => cancel(book, account, *id).map(Some),
                    Change::Deposit(asset, amount) => {
                        let funds = self.open(book, account);
                        *funds.balances.entry(*asset).or_default() += amount.value();
                        Ok(None)
                    }
                });
            }
        };
        let started = std::time::Instant::now();
        let written = self
            .ledger
            .update_paper(&accounts, &orders, &placing, &mut apply)
            .await;
        tracing::debug!(
            changes = batch.len(),
            accounts = accounts.len(),
            elapsed_us = started.elapsed().as_micros(),
            "paper ledger write"
        );
        match written {
            Ok(()) => {
                for ((_, reply), answer) in batch.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the paper ledger could not be written");
                for (_, reply) in batch {
                    // The transaction may have committed before its answer was lost.
                    let _ = reply.send(Err(unknown(&format!("the paper ledger: {e}"))));
                }
            }
        }
    }

    /// `account` in `book`, credited with the opening balance the first time it is used.
    fn open<'b>(&self, book: &'b mut PaperBook, account: &str) -> &'b mut PaperAccount {
        let funds = book.accounts.entry(account.to_owned()).or_default();
        if !funds.funded {
            funds.funded = true;
            if let Some((asset, amount)) = self.config.opening_balance {
                *funds.balances.entry(asset).or_default() += amount.value();
            }
        }
        funds
    }

    /// Places `order` on `account` in `book`: idempotent by client order id.
    fn place(
        &self,
        book: &mut PaperBook,
        account: &str,
        order: &NewOrder,
        instruments: &HashMap<Symbol, Instrument>,
        tickers: &HashMap<Symbol, Ticker>,
    ) -> Result<OrderReport, ExchangeError> {
        let key = (account.to_owned(), order.client_order_id);
        if let Some(existing) = book.orders.get(&key) {
            return Ok(existing.clone());
        }
        let symbol = order.intent.symbol();
        let instrument = instruments
            .get(&symbol)
            .ok_or_else(|| rejected(format!("unknown symbol {symbol}")))?;
        let ticker = tickers
            .get(&symbol)
            .ok_or_else(|| rejected(format!("no market for {symbol}")))?;
        let funds = self.open(book, account);
        let report = fill(&self.config, funds, order, instrument, ticker)?;
        book.orders.insert(key, report.clone());
        Ok(report)
    }

    /// What `account` holds, as stored (the opening balance until it is first used).
    async fn holdings(&self, account: &str) -> Result<PaperAccount, ExchangeError> {
        let read = self
            .reads
            .submit(account.to_owned(), |batch| async move {
                let names: Vec<String> = batch.iter().map(|(name, _)| name.clone()).collect();
                match self.ledger.paper_accounts(&names).await {
                    Ok(mut found) => {
                        for (name, reply) in batch {
                            let _ = reply.send(Ok(found.remove(&name).unwrap_or_default()));
                        }
                    }
                    Err(e) => {
                        for (_, reply) in batch {
                            let _ = reply.send(Err(transient(&e)));
                        }
                    }
                }
            })
            .await
            .unwrap_or_else(|| Err(unknown("the read was abandoned before it finished")))?;
        let mut funds = read;
        if !funds.funded
            && let Some((asset, amount)) = self.config.opening_balance
        {
            *funds.balances.entry(asset).or_default() += amount.value();
        }
        Ok(funds)
    }
}

fn rejected(reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Rejected {
        exchange: VENUE,
        code: None,
        reason: reason.into(),
    }
}

fn unknown(message: &str) -> ExchangeError {
    ExchangeError::OutcomeUnknown {
        exchange: VENUE,
        message: message.to_owned(),
    }
}

fn transient(e: &StoreError) -> ExchangeError {
    ExchangeError::Transient {
        exchange: VENUE,
        message: format!("the paper ledger: {e}"),
        source: None,
    }
}

/// Cancels `id` on `account` in `book`, unless it is final already.
fn cancel(
    book: &mut PaperBook,
    account: &str,
    id: ClientOrderId,
) -> Result<OrderReport, ExchangeError> {
    let order = book
        .orders
        .get_mut(&(account.to_owned(), id))
        .ok_or_else(|| rejected("unknown order"))?;
    if order.status.is_final() {
        return Err(rejected(format!("the order is already {:?}", order.status)));
    }
    order.status = OrderStatus::Canceled;
    order.updated_at = Utc::now();
    Ok(order.clone())
}

/// Fills `order` against `ticker` on an account holding `funds`: the balances move only
/// when it is accepted.
fn fill(
    config: &PaperConfig,
    funds: &mut PaperAccount,
    order: &NewOrder,
    instrument: &Instrument,
    ticker: &Ticker,
) -> Result<OrderReport, ExchangeError> {
    let intent = order.intent;
    let symbol = intent.symbol();
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
    let slip = config.slippage.fraction();
    let price = match (intent.side(), intent.limit_price()) {
        (Side::Buy, None) => market * (Decimal::ONE + slip),
        (Side::Sell, None) => market * (Decimal::ONE - slip),
        // A marketable limit fills at the market, never beyond its limit.
        (_, Some(_)) => market,
    };
    let quantity = intent.quantity().value();
    let fee = config.fee.fraction();
    let (base, quote) = (symbol.base(), symbol.quote());
    let balances = &mut funds.balances;
    let held = |balances: &std::collections::BTreeMap<Asset, Decimal>, asset: Asset| {
        balances.get(&asset).copied().unwrap_or_default()
    };
    let (fee_paid, fee_asset) = if !marketable {
        (Decimal::ZERO, None)
    } else {
        match intent.side() {
            Side::Buy => {
                let cost = quantity * price;
                let free = held(balances, quote);
                if free < cost {
                    return Err(ExchangeError::InsufficientBalance {
                        exchange: VENUE,
                        message: format!("{cost} {quote} needed, {free} free"),
                    });
                }
                *balances.entry(quote).or_default() -= cost;
                *balances.entry(base).or_default() += quantity - quantity * fee;
                (quantity * fee, Some(base))
            }
            Side::Sell => {
                let free = held(balances, base);
                if free < quantity {
                    return Err(ExchangeError::InsufficientBalance {
                        exchange: VENUE,
                        message: format!("{quantity} {base} needed, {free} free"),
                    });
                }
                let proceeds = quantity * price;
                *balances.entry(base).or_default() -= quantity;
                *balances.entry(quote).or_default() += proceeds - proceeds * fee;
                (proceeds * fee, Some(quote))
            }
        }
    };
    let average_price = if marketable {
        Some(Price::new(price.round_dp(12)).map_err(|e| rejected(format!("fill price: {e}")))?)
    } else {
        None
    };
    Ok(OrderReport {
        client_order_id: order.client_order_id,
        // Unique per account and order, whichever instance placed it.
        venue_order_id: format!("paper-{}", order.client_order_id),
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
        average_price,
        fee: Quantity::new(fee_paid.normalize()).map_err(|e| rejected(format!("fee: {e}")))?,
        fee_asset,
        updated_at: Utc::now(),
    })
}

#[async_trait]
impl MarketData for PaperVenue {
    fn exchange(&self) -> ExchangeId {
        VENUE
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        let market = self.market();
        Ok(symbols
            .iter()
            .filter_map(|s| market.tickers.get(s).copied())
            .collect())
    }

    async fn candles(
        &self,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let market = self.market();
        let all = market
            .candles
            .get(&(symbol, interval))
            .map_or(&[][..], Vec::as_slice);
        Ok(all[all.len().saturating_sub(limit)..].to_vec())
    }

    fn candles_version(&self) -> Option<u64> {
        Some(self.candles_published())
    }
}

/// One account on the Paper venue.
#[derive(Debug, Clone)]
pub struct PaperExchange {
    venue: Arc<PaperVenue>,
    account: String,
}

#[async_trait]
impl Exchange for PaperExchange {
    fn exchange(&self) -> ExchangeId {
        VENUE
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, ExchangeError> {
        let market = self.venue.market();
        Ok(if symbols.is_empty() {
            market.instruments.values().copied().collect()
        } else {
            symbols
                .iter()
                .filter_map(|s| market.instruments.get(s).copied())
                .collect()
        })
    }

    async fn balances(&self) -> Result<Vec<Balance>, ExchangeError> {
        let funds = self.venue.holdings(&self.account).await?;
        funds
            .balances
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(asset, amount)| {
                Ok(Balance {
                    asset,
                    free: Quantity::new(amount).map_err(|e| ExchangeError::Decode {
                        exchange: VENUE,
                        message: format!("the paper ledger's {asset} balance: {e}"),
                    })?,
                    locked: Quantity::ZERO,
                })
            })
            .collect()
    }

    async fn place_order(&self, order: &NewOrder) -> Result<OrderReport, ExchangeError> {
        self.venue.place_on(&self.account, order).await
    }

    async fn cancel_order(
        &self,
        _symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        self.venue
            .change(&self.account, Change::Cancel(*client_order_id))
            .await?
            .ok_or_else(|| unknown("a cancel answered without a report"))
    }

    async fn query_order(
        &self,
        _symbol: Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderReport>, ExchangeError> {
        let key = (self.account.clone(), *client_order_id);
        let mut found = self
            .venue
            .ledger
            .paper_orders(std::slice::from_ref(&key))
            .await
            .map_err(|e| transient(&e))?;
        Ok(found.remove(&key))
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
