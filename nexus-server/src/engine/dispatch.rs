//! Fan-out of one signal: one market snapshot, one gate decision recorded, then every
//! subscribed bot loaded from the store a page at a time, planned by
//! [`nexus_core::fanout::plan_into`], its orders enqueued in batches, one
//! `trade_execution` job per batch, and every skip recorded with its reason for the bot's owner to see.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nexus_core::fanout::{
    BatchSize, FanOut, PlanLimits, Signal, Skip, SkipReason, Subscription, plan_into,
};
use nexus_core::ports::accounts::SubscribedBot;
use nexus_core::ports::activity::SkipRecord;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::regime::gate::{GateInputs, GatePolicy, Gatekeeper};
use nexus_core::sizing::AccountSnapshot;
use nexus_core::{
    ExchangeId, Instrument, MarketSnapshot, Notional, Price, Quantity, Secret, Side, StoreError,
    Symbol, Timestamp, UserId,
};
use nexus_exchanges::{MarketDataHub, PaperVenue, Venues};
use nexus_store::Store;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::signals::SignalJob;
use super::worker::TradeJob;
use crate::metrics::Metrics;

/// Bots loaded from the store per page.
const PAGE: u32 = 1_000;
/// Trade jobs (one per batch) being enqueued at once by one fan-out.
const IN_FLIGHT: usize = 4;
/// How long listed instruments (filters) are reused before being asked again.
const INSTRUMENTS_TTL: Duration = Duration::from_secs(3_600);

/// The name of a user's account on the Paper venue.
#[must_use]
pub fn paper_account(user: UserId) -> String {
    format!("paper-{user}")
}

/// A fan-out failed before it finished; the job is retried (batches already enqueued are
/// not enqueued twice: their keys are unique).
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The gate decision could not be recorded, so it must not be acted on.
    #[error("recording the gate decision: {0}")]
    DecisionLog(#[from] nexus_core::DecisionLogError),
    /// A plan would not serialise.
    #[error("plan payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// A task of the fan-out's pipeline panicked or was cancelled (the runtime stopping).
    #[error("fan-out task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What one fan-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dispatched {
    /// Bots subscribed.
    pub bots: u64,
    /// Orders planned.
    pub planned: u64,
    /// Orders newly enqueued, in their batches' jobs (a replayed fan-out enqueues none
    /// twice).
    pub enqueued: u64,
    /// Bots skipped, each recorded with its reason.
    pub skipped: u64,
    /// Whether the gate allowed the signal under the default policy.
    pub gate_allowed: bool,
}

/// Plans signals for every subscribed bot.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    hub: Arc<MarketDataHub>,
    venues: Arc<Venues>,
    paper: Arc<PaperVenue>,
    paper_balance: Quantity,
    batch: BatchSize,
    metrics: Arc<Metrics>,
    instruments: Mutex<HashMap<(ExchangeId, Symbol), (Instrument, Instant)>>,
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher reading prices through `hub`, balances through `venues` (paper
    /// accounts open with `paper_balance` of the quote asset) and enqueuing plans in
    /// batches of `batch`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<MarketDataHub>,
        venues: Arc<Venues>,
        paper: Arc<PaperVenue>,
        paper_balance: Quantity,
        batch: BatchSize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            hub,
            venues,
            paper,
            paper_balance,
            batch,
            metrics,
            instruments: Mutex::default(),
            wake: None,
        }
    }

    /// The same dispatcher, waking this instance's idle trade workers through `wake` as
    /// soon as trades are enqueued.
    #[must_use]
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Fans `job` out at `now`.
    ///
    /// # Errors
    /// [`DispatchError`]; the job should then be retried.
    pub async fn dispatch(
        &self,
        job: &SignalJob,
        now: Timestamp,
    ) -> Result<Dispatched, DispatchError> {
        let started = std::time::Instant::now();
        let signal = &job.signal;
        let snapshot = self.snapshot(signal.exchange, signal.symbol, now).await;
        let mut report = Dispatched::default();

        // One decision for the whole signal, recorded before anything acts on it. Each
        // bot's own policy is applied again during planning.
        let inputs = GateInputs {
            exchange: signal.exchange,
            symbol: signal.symbol,
            action: signal.kind,
            regime: signal.regime,
            confidence: None,
            data_age_ms: snapshot
                .ticker(&signal.symbol)
                .map(|_| u64::try_from(snapshot.age(now).as_millis()).unwrap_or(u64::MAX)),
            advisor: signal.advisor.clone(),
        };
        let decision = Gatekeeper::new(GatePolicy::default())
            .decide_and_record(inputs, now, self.store.as_ref())
            .await?;
        self.metrics.gate(decision.allowed);
        report.gate_allowed = decision.allowed;

        let price = snapshot
            .ticker(&signal.symbol)
            .map(|t| t.price_for(Side::Sell));
        let mut out = FanOut::default();
        // A pipeline: the next page is read, and each batch enqueued, while this page is
        // planned; the store's round trips overlap instead of adding up.
        let shared = Arc::new(job.clone());
        let mut next = Some(self.page(&shared, None));
        let mut enqueues = tokio::task::JoinSet::new();
        while let Some(loading) = next.take() {
            let page = loading.await??;
            let Some(last) = page.last() else { break };
            if page.len() == PAGE as usize {
                next = Some(self.page(&shared, Some(last.bot.id)));
            }
            report.bots += page.len() as u64;

            let accounts = self.accounts(&page, signal.symbol, price).await;
            let mut unavailable = Vec::new();
            let subscriptions: Vec<Subscription<'_>> = page
                .iter()
                .zip(&accounts)
                .filter_map(|(sub, account)| match account {
                    Ok(account) => Some(Subscription {
                        user: sub.bot.user,
                        bot: sub.bot.id,
                        exchange: sub.bot.exchange,
                        config: &sub.bot.config,
                        account: *account,
                        position: sub.position,
                        limits: PlanLimits {
                            active: true,
                            max_order_notional: sub.max_order_notional,
                        },
                        paused: sub.bot.paused,
                    }),
                    Err(reason) => {
                        unavailable.push(SkipRecord {
                            bot: sub.bot.id,
                            signal: signal.id,
                            reason: "account_unavailable".into(),
                            detail: reason.clone(),
                            at: now,
                        });
                        None
                    }
                })
                .collect();
            plan_into(signal, &snapshot, &subscriptions, &mut out);

            for batch in out.batches(self.batch) {
                let (job, orders) = (TradeJob::new_job(batch.to_vec())?, batch.len() as u64);
                // A few in flight at once: enough to overlap, not to crowd out the
                // workers' own writes.
                while enqueues.len() >= IN_FLIGHT {
                    if let Some(done) = enqueues.join_next().await {
                        report.enqueued += done??;
                    }
                }
                let (store, wake) = (Arc::clone(&self.store), self.wake.clone());
                enqueues.spawn(async move {
                    let new = store.enqueue(&job, now).await?.is_some();
                    if let Some(wake) = wake {
                        wake.notify_waiters();
                    }
                    Ok::<u64, StoreError>(if new { orders } else { 0 })
                });
            }
            report.planned += out.plans.len() as u64;
            self.metrics.planned("planned", out.plans.len() as u64);

            let mut skips: Vec<SkipRecord> = out
                .skips
                .iter()
                .map(|skip| skip_record(skip, signal, now))
                .collect();
            skips.append(&mut unavailable);
            // Counted per reason, not per bot: a page may skip a thousand bots.
            let mut reasons: HashMap<&str, u64> = HashMap::new();
            for skip in &skips {
                *reasons.entry(skip.reason.as_str()).or_default() += 1;
            }
            for (reason, count) in reasons {
                self.metrics.planned(reason, count);
            }
            report.skipped += skips.len() as u64;
            self.store.record_skips(&skips).await?;
            // A position too small to sell is closed without an order.
            for skip in &out.skips {
                if let SkipReason::Dust { quantity } = skip.reason {
                    self.store.close_position(skip.bot, quantity, now).await?;
                }
            }
        }
        while let Some(done) = enqueues.join_next().await {
            report.enqueued += done??;
        }
        self.metrics.signal(&job.strategy);
        tracing::info!(
            signal = %signal.id,
            exchange = %signal.exchange,
            symbol = %signal.symbol,
            kind = ?signal.kind,
            reason = %job.reason,
            bots = report.bots,
            planned = report.planned,
            enqueued = report.enqueued,
            skipped = report.skipped,
            elapsed_ms = started.elapsed().as_millis(),
            "signal fanned out"
        );
        Ok(report)
    }

    /// Starts reading the page of subscribed bots after `after`.
    fn page(
        &self,
        job: &Arc<SignalJob>,
        after: Option<nexus_core::BotId>,
    ) -> tokio::task::JoinHandle<Result<Vec<SubscribedBot>, StoreError>> {
        let (store, job) = (Arc::clone(&self.store), Arc::clone(job));
        tokio::spawn(async move { store.active_bots(&job.filter(), after, PAGE).await })
    }

    /// The venue's market for `symbol`: its ticker through the hub (shared by every
    /// signal and user within the TTL) and its instrument. Missing parts leave the
    /// snapshot without them; every bot is then skipped with `no_market_data`.
    async fn snapshot(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
        now: Timestamp,
    ) -> MarketSnapshot {
        let (tickers, age) = match self.hub.tickers(exchange, &[symbol]).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(%exchange, %symbol, error = %e, "no market data for a signal");
                (Vec::new(), Duration::ZERO)
            }
        };
        let taken_at = now - chrono::Duration::from_std(age).unwrap_or_default();
        let mut snapshot = MarketSnapshot::new(exchange, taken_at);
        for ticker in tickers {
            snapshot.insert_ticker(ticker);
        }
        if let Some(instrument) = self.instrument(exchange, symbol).await {
            snapshot.insert_instrument(instrument);
        }
        snapshot
    }

    /// The venue's filters for `symbol`, asked at most once an hour.
    async fn instrument(&self, exchange: ExchangeId, symbol: Symbol) -> Option<Instrument> {
        let mut cache = self.instruments.lock().await;
        if let Some((instrument, at)) = cache.get(&(exchange, symbol))
            && at.elapsed() < INSTRUMENTS_TTL
        {
            return Some(*instrument);
        }
        // Listing instruments needs no key on any venue.
        let public = ApiCredentials {
            api_key: String::new(),
            secret: Secret::new(""),
            passphrase: None,
        };
        match self
            .venues
            .account(exchange, public)
            .instruments(&[symbol])
            .await
        {
            Ok(found) => {
                let instrument = found.into_iter().find(|i| i.symbol() == symbol)?;
                cache.insert((exchange, symbol), (instrument, Instant::now()));
                Some(instrument)
            }
            Err(e) => {
                tracing::warn!(%exchange, %symbol, error = %e, "instrument filters unavailable");
                cache.get(&(exchange, symbol)).map(|(i, _)| *i)
            }
        }
    }

    /// Each bot's account as sizing sees it, or why it cannot be read. Accounts shared by
    /// several bots (one user's key) are read once per page.
    async fn accounts(
        &self,
        page: &[SubscribedBot],
        symbol: Symbol,
        price: Option<Price>,
    ) -> Vec<Result<AccountSnapshot, String>> {
        let mut read: HashMap<
            (UserId, Option<nexus_core::ports::credentials::CredentialId>),
            Result<AccountSnapshot, String>,
        > = HashMap::new();
        let mut out = Vec::with_capacity(page.len());
        for sub in page {
            let bot = &sub.bot;
            let key = (bot.user, bot.credential);
            let account = if bot.exchange == ExchangeId::Paper {
                Ok(self.paper_snapshot(bot.user, symbol, price))
            } else if let Some(known) = read.get(&key) {
                known.clone()
            } else {
                let fresh = self.venue_snapshot(sub, symbol, price).await;
                read.insert(key, fresh.clone());
                fresh
            };
            out.push(account);
        }
        out
    }

    fn paper_snapshot(
        &self,
        user: UserId,
        symbol: Symbol,
        price: Option<Price>,
    ) -> AccountSnapshot {
        let account = paper_account(user);
        if self
            .paper
            .open_account(&account, symbol.quote(), self.paper_balance)
        {
            tracing::info!(%user, balance = %self.paper_balance, "opened a paper account");
        }
        snapshot_of(
            self.paper.balance(&account, symbol.quote()),
            self.paper.balance(&account, symbol.base()),
            price,
        )
    }

    async fn venue_snapshot(
        &self,
        sub: &SubscribedBot,
        symbol: Symbol,
        price: Option<Price>,
    ) -> Result<AccountSnapshot, String> {
        let bot = &sub.bot;
        let Some(key) = bot.credential else {
            return Err(format!("the bot has no {} key", bot.exchange));
        };
        let credentials = self
            .store
            .credentials(bot.user, key)
            .await
            .map_err(|e| format!("the key could not be read: {e}"))?
            .ok_or_else(|| format!("the bot's {} key was deleted", bot.exchange))?;
        let balances = self
            .venues
            .account(bot.exchange, credentials)
            .balances()
            .await
            .map_err(|e| format!("balances unavailable: {e}"))?;
        let free = |asset| {
            balances
                .iter()
                .find(|b| b.asset == asset)
                .map_or(Quantity::ZERO, |b| b.free)
        };
        Ok(snapshot_of(
            free(symbol.quote()),
            free(symbol.base()),
            price,
        ))
    }
}

/// An account holding `quote` and `base` free, valued at `price` (the base counts for
/// nothing without one).
fn snapshot_of(quote: Quantity, base: Quantity, price: Option<Price>) -> AccountSnapshot {
    let held = price.map_or(Notional::ZERO, |p| p * base);
    AccountSnapshot {
        equity: Notional::new(quote.value() + held.value()).unwrap_or(Notional::ZERO),
        free_quote: quote,
        free_base: base,
    }
}

/// A skip as its owner sees it: a stable code and a sentence.
fn skip_record(skip: &Skip, signal: &Signal, at: Timestamp) -> SkipRecord {
    let code = serde_json::to_value(skip.reason)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "skipped".to_owned());
    SkipRecord {
        bot: skip.bot,
        signal: signal.id,
        reason: code,
        detail: describe(&skip.reason, signal),
        at,
    }
}

fn describe(reason: &SkipReason, signal: &Signal) -> String {
    let (exchange, symbol) = (signal.exchange, signal.symbol);
    match reason {
        SkipReason::Paused => "the bot is paused".into(),
        SkipReason::PlanInactive => "your plan does not allow trading".into(),
        SkipReason::OtherExchange { exchange } => format!("the bot trades on {exchange}"),
        SkipReason::NoMarketData => format!("no price or filters for {symbol} on {exchange}"),
        SkipReason::Gate { block } => format!(
            "the market-regime gate blocked the {:?} ({})",
            signal.kind,
            serde_json::to_string(block).unwrap_or_default()
        ),
        SkipReason::AlreadyInPosition => "the bot already holds a position".into(),
        SkipReason::NoPosition => "the bot holds no position".into(),
        SkipReason::NoAdd { reason } => format!(
            "no pyramid level is due ({})",
            serde_json::to_string(reason).unwrap_or_default()
        ),
        SkipReason::Sizing { rejection } => format!("no valid order size: {rejection}"),
        SkipReason::Dust { quantity } => {
            format!("the position ({quantity}) is too small to sell; closed as dust")
        }
    }
}
