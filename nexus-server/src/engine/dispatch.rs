//! Fan-out of one signal: one market snapshot, one gate decision recorded, then every
//! subscribed bot loaded from the store a page at a time, planned by
//! [`nexus_core::fanout::plan_into`], its orders enqueued in batches, one
//! `trade_execution` job per batch, and every skip recorded with its reason for the bot's owner to see.
//!
//! A bot whose planning panics is left out of its page (the page is planned again one bot
//! at a time to find it), skipped with `internal_error` and paused with the reason; the
//! other bots are planned as usual ([`panics`](super::panics)).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nexus_core::fanout::{
    BatchSize, FanOut, PlanLimits, Signal, Skip, SkipReason, Subscription, plan_into,
};
use nexus_core::ports::accounts::SubscribedBot;
use nexus_core::ports::activity::{OutOfSyncRecord, SkipRecord};
use nexus_core::ports::credentials::CredentialId;
use nexus_core::regime::gate::{AdvisorInput, GateBlock, GateInputs, GatePolicy, Gatekeeper};
use nexus_core::sizing::AccountSnapshot;
use nexus_core::{
    ClientOrderId, ExchangeError, ExchangeId, Instrument, MarketSnapshot, Notional, Price,
    Quantity, Side, StoreError, Symbol, Timestamp, UserId,
};
use nexus_exchanges::{AccountError, MarketDataHub, Venues};
use nexus_store::Store;
use tokio::time::Instant;

use super::alerts::{TradeAlert, TradeAlerts};
use super::panics::{self, Panicked, Task};
use super::signals::SignalJob;
use super::worker::TradeJob;
use crate::metrics::Metrics;

/// Bots loaded from the store per page.
const PAGE: u32 = 1_000;
/// Trade jobs (one per batch) being enqueued at once by one fan-out.
const IN_FLIGHT: usize = 4;
/// How long listed instruments (filters) are reused before being asked again.
const INSTRUMENTS_TTL: Duration = Duration::from_secs(3_600);
/// Accounts whose balances are read at once from a venue that needs a key (its limiter
/// paces them). Paper's are all sent at once: its ledger reads those waiting in one query,
/// so a page of 1,000 bots takes one or two reads where 64 at a time took about 18, one
/// after another (the fan-out of 100,000 bots: 4.9–9.2 s → 2.9–5.0 s).
const BALANCE_READS: usize = 64;

/// Why a bot's account could not be read for sizing: the bot is skipped with this reason.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AccountUnavailable {
    /// The bot trades on a venue that needs a key, and has none.
    #[error("the bot has no {exchange} key")]
    NoKey {
        /// The venue.
        exchange: ExchangeId,
    },
    /// The bot's key was deleted.
    #[error("the bot's {exchange} key was deleted")]
    KeyDeleted {
        /// The venue.
        exchange: ExchangeId,
    },
    /// The key could not be read from the store.
    #[error("the key could not be read: {0}")]
    Key(String),
    /// The venue did not answer with balances.
    #[error("balances unavailable: {0}")]
    Balances(String),
}

impl From<AccountError> for AccountUnavailable {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NoKey { exchange } => Self::NoKey { exchange },
        }
    }
}

impl From<ExchangeError> for AccountUnavailable {
    fn from(e: ExchangeError) -> Self {
        Self::Balances(e.to_string())
    }
}

/// The accounts of a page, each read once: (venue, owner, key).
type AccountKey = (ExchangeId, UserId, Option<CredentialId>);

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

/// Plans a signal for a page of subscriptions into an output buffer:
/// [`nexus_core::fanout::plan_into`], unless a test puts a failing one in its place.
pub type Planner = fn(&Signal, &MarketSnapshot, &[Subscription<'_>], &mut FanOut);

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
    batch: BatchSize,
    metrics: Arc<Metrics>,
    instruments: std::sync::Mutex<HashMap<(ExchangeId, Symbol), (Instrument, Instant)>>,
    wake: Option<Arc<tokio::sync::Notify>>,
    planner: Planner,
    events: Option<Arc<crate::events::Events>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher reading prices through `hub`, balances through `venues` and
    /// enqueuing plans in batches of `batch`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<MarketDataHub>,
        venues: Arc<Venues>,
        batch: BatchSize,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            hub,
            venues,
            batch,
            metrics,
            instruments: std::sync::Mutex::default(),
            wake: None,
            planner: plan_into,
            events: None,
        }
    }

    /// The same dispatcher, planning with `planner` instead of
    /// [`nexus_core::fanout::plan_into`]: the seam through which tests make one bot's
    /// planning panic.
    #[must_use]
    pub fn with_planner(mut self, planner: Planner) -> Self {
        self.planner = planner;
        self
    }

    /// The same dispatcher, waking this instance's idle trade workers through `wake` as
    /// soon as trades are enqueued.
    #[must_use]
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The same dispatcher, telling users live of the bots it pauses.
    #[must_use]
    pub fn with_events(mut self, events: Arc<crate::events::Events>) -> Self {
        self.events = Some(events);
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
            // Skips decided here rather than by planning: no account, a panic.
            let mut own_skips = Vec::new();
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
                        own_skips.push(SkipRecord {
                            bot: sub.bot.id,
                            signal: signal.id,
                            reason: "account_unavailable".into(),
                            detail: reason.to_string(),
                            at: now,
                        });
                        None
                    }
                })
                .collect();
            let panicked = plan_isolated(self.planner, signal, &snapshot, &subscriptions, &mut out);
            for (index, panic) in &panicked {
                let bot = subscriptions[*index].bot;
                let what = format!("planning signal {}", signal.id);
                let metrics = Some(self.metrics.as_ref());
                panics::pause(
                    self.store.as_ref(),
                    metrics,
                    self.events.as_deref(),
                    Task::Fanout,
                    bot,
                    &what,
                    panic,
                )
                .await;
                own_skips.push(SkipRecord {
                    bot,
                    signal: signal.id,
                    reason: INTERNAL_ERROR.into(),
                    detail: format!(
                        "planning the bot's order failed unexpectedly ({panic}); the bot is paused"
                    ),
                    at: now,
                });
            }

            for batch in out.batches(self.batch) {
                let (job, orders) = (
                    TradeJob::new_job(batch.to_vec(), signal.at)?,
                    batch.len() as u64,
                );
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
            skips.append(&mut own_skips);
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
            self.gate_blocks(&out, signal, &skips, now).await?;
            self.out_of_sync(&out, &page, signal, now).await?;
            // A position too small to sell, or gone from the account, is closed without
            // an order.
            for skip in &out.skips {
                match skip.reason {
                    SkipReason::Dust { quantity } => {
                        self.store.close_position(skip.bot, quantity, now).await?;
                    }
                    SkipReason::OutOfSync { .. } => {
                        self.store
                            .close_position(skip.bot, Quantity::ZERO, now)
                            .await?;
                    }
                    _ => {}
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
        let cached = self.cached_instrument(exchange, symbol);
        if let Some((instrument, at)) = cached
            && at.elapsed() < INSTRUMENTS_TTL
        {
            return Some(instrument);
        }
        // No lock is held while the venue is asked: two signals may both ask, once.
        match self.venues.public(exchange).instruments(&[symbol]).await {
            Ok(found) => {
                let instrument = found.into_iter().find(|i| i.symbol() == symbol)?;
                self.instruments
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert((exchange, symbol), (instrument, Instant::now()));
                Some(instrument)
            }
            Err(e) => {
                tracing::warn!(%exchange, %symbol, error = %e, "instrument filters unavailable");
                cached.map(|(i, _)| i)
            }
        }
    }

    fn cached_instrument(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
    ) -> Option<(Instrument, Instant)> {
        self.instruments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(exchange, symbol))
            .copied()
    }

    /// Each bot's account as sizing sees it, or why it cannot be read. Accounts shared by
    /// several bots (one user's key) are read once per page, and a page's accounts are
    /// read concurrently.
    async fn accounts(
        &self,
        page: &[SubscribedBot],
        symbol: Symbol,
        price: Option<Price>,
    ) -> Vec<Result<AccountSnapshot, AccountUnavailable>> {
        let key = |sub: &SubscribedBot| -> AccountKey {
            (sub.bot.exchange, sub.bot.user, sub.bot.credential)
        };
        let mut wanted: Vec<AccountKey> = page.iter().map(key).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let at_once = match wanted.first() {
            Some((exchange, _, _)) if !Venues::needs_key(*exchange) => wanted.len(),
            _ => BALANCE_READS,
        };
        let mut read: HashMap<AccountKey, Result<AccountSnapshot, AccountUnavailable>> =
            HashMap::with_capacity(wanted.len());
        let mut reading = tokio::task::JoinSet::new();
        for account in wanted {
            while reading.len() >= at_once {
                if let Some(done) = reading.join_next().await {
                    self.settle_read(done, &mut read);
                }
            }
            let (store, venues) = (Arc::clone(&self.store), Arc::clone(&self.venues));
            reading.spawn(async move {
                let snapshot = snapshot(store.as_ref(), &venues, account, symbol, price).await;
                (account, snapshot)
            });
        }
        while let Some(done) = reading.join_next().await {
            self.settle_read(done, &mut read);
        }
        page.iter()
            .map(|sub| {
                read.get(&key(sub)).cloned().unwrap_or_else(|| {
                    Err(AccountUnavailable::Balances(
                        "the read was interrupted".into(),
                    ))
                })
            })
            .collect()
    }

    /// Keeps a finished balance read. A read that panicked (in a venue's code) is logged
    /// and counted; its bots are skipped as `account_unavailable`.
    fn settle_read(
        &self,
        done: Result<
            (AccountKey, Result<AccountSnapshot, AccountUnavailable>),
            tokio::task::JoinError,
        >,
        read: &mut HashMap<AccountKey, Result<AccountSnapshot, AccountUnavailable>>,
    ) {
        match done {
            Ok((account, snapshot)) => {
                read.insert(account, snapshot);
            }
            Err(e) if e.is_panic() => {
                let panic = Panicked::from_payload(&*e.into_panic());
                tracing::error!(%panic, "reading an account's balances panicked");
                self.metrics.panicked(Task::Fanout.as_str());
            }
            Err(_) => {}
        }
    }

    /// Alerts the owners who want it (by email or webhook) of the entries the gate
    /// blocked for their bots: one store query for the page's owners, one alert job.
    async fn gate_blocks(
        &self,
        out: &FanOut,
        signal: &Signal,
        records: &[SkipRecord],
        now: Timestamp,
    ) -> Result<(), DispatchError> {
        if signal.kind != nexus_core::regime::gate::GateAction::Entry {
            return Ok(());
        }
        let blocked: Vec<&Skip> = out
            .skips
            .iter()
            .filter(|s| matches!(s.reason, SkipReason::Gate { .. }))
            .collect();
        if blocked.is_empty() {
            return Ok(());
        }
        let users: Vec<UserId> = blocked.iter().map(|s| s.user).collect();
        let wanted = self
            .store
            .alert_recipients(&users, nexus_core::ports::alerts::AlertEvent::GateBlocks)
            .await?;
        if wanted.is_empty() {
            return Ok(());
        }
        let alerts: Vec<TradeAlert> = blocked
            .iter()
            .filter(|s| wanted.binary_search(&s.user).is_ok())
            .map(|skip| TradeAlert {
                user: skip.user,
                bot: skip.bot,
                exchange: signal.exchange,
                symbol: signal.symbol,
                side: Side::Buy,
                quantity: Quantity::ZERO,
                price: None,
                client_order_id: ClientOrderId::derive(signal.id, skip.bot, 0),
                state: "gate_blocked".into(),
                out_of_sync: None,
                detail: records
                    .iter()
                    .find(|r| r.bot == skip.bot && r.reason == "gate")
                    .map(|r| r.detail.clone()),
            })
            .collect();
        self.store
            .enqueue(&TradeAlerts { alerts }.new_job()?, now)
            .await?;
        Ok(())
    }

    /// Records, and alerts the owners of, the positions the fan-out found out of sync
    /// with their accounts: skipped with nothing to sell, or sold as far as held.
    async fn out_of_sync(
        &self,
        out: &FanOut,
        page: &[SubscribedBot],
        signal: &Signal,
        now: Timestamp,
    ) -> Result<(), DispatchError> {
        let expected = |bot| {
            page.iter()
                .find(|s| s.bot.id == bot)
                .and_then(|s| s.position)
                .map_or(Quantity::ZERO, |p| p.quantity())
        };
        let mut records: Vec<OutOfSyncRecord> = out
            .skips
            .iter()
            .filter_map(|skip| match skip.reason {
                SkipReason::OutOfSync {
                    expected,
                    available,
                } => Some(OutOfSyncRecord {
                    bot: skip.bot,
                    user: skip.user,
                    signal: signal.id,
                    exchange: signal.exchange,
                    symbol: signal.symbol,
                    expected,
                    available,
                    sold: Quantity::ZERO,
                    at: now,
                }),
                _ => None,
            })
            .collect();
        records.extend(
            out.plans
                .iter()
                .filter(|p| !p.shortfall.is_zero())
                .map(|plan| {
                    let expected = expected(plan.bot);
                    OutOfSyncRecord {
                        bot: plan.bot,
                        user: plan.user,
                        signal: signal.id,
                        exchange: plan.exchange,
                        symbol: plan.intent.symbol(),
                        expected,
                        available: expected.saturating_sub(plan.shortfall),
                        sold: plan.intent.quantity(),
                        at: now,
                    }
                }),
        );
        if records.is_empty() {
            return Ok(());
        }
        for record in &records {
            tracing::warn!(
                bot = %record.bot, user = %record.user, exchange = %record.exchange,
                symbol = %record.symbol, expected = %record.expected,
                available = %record.available, sold = %record.sold,
                "a position is out of sync with its account"
            );
        }
        self.metrics
            .planned("out_of_sync_flagged", records.len() as u64);
        self.store.record_out_of_sync(&records).await?;
        let alerts = TradeAlerts {
            alerts: records
                .iter()
                .map(|r| TradeAlert::out_of_sync(r, ClientOrderId::derive(r.signal, r.bot, 0)))
                .collect(),
        };
        self.store.enqueue(&alerts.new_job()?, now).await?;
        Ok(())
    }
}

/// The skip reason of a bot whose planning panicked.
const INTERNAL_ERROR: &str = "internal_error";

/// Plans `subscriptions` with `planner` into `out`. When that panics, plans them again one
/// at a time, so that only the subscriptions whose own planning panics are left out
/// (returned by index, with the panic) and every other one is planned or skipped as usual,
/// in order. The common case costs one `catch_unwind` per page.
fn plan_isolated(
    planner: Planner,
    signal: &Signal,
    snapshot: &MarketSnapshot,
    subscriptions: &[Subscription<'_>],
    out: &mut FanOut,
) -> Vec<(usize, Panicked)> {
    if panics::catch(|| planner(signal, snapshot, subscriptions, out)).is_ok() {
        return Vec::new();
    }
    out.plans.clear();
    out.skips.clear();
    let mut panicked = Vec::new();
    let mut one = FanOut::default();
    for (index, sub) in subscriptions.iter().enumerate() {
        one.plans.clear();
        one.skips.clear();
        match panics::catch(|| planner(signal, snapshot, std::slice::from_ref(sub), &mut one)) {
            Ok(()) => {
                out.plans.append(&mut one.plans);
                out.skips.append(&mut one.skips);
            }
            Err(panic) => panicked.push((index, panic)),
        }
    }
    panicked
}

/// One account's balances as sizing sees them: through the venue's own account call,
/// with the user's key when the venue needs one.
async fn snapshot(
    store: &dyn Store,
    venues: &Venues,
    (exchange, user, key): AccountKey,
    symbol: Symbol,
    price: Option<Price>,
) -> Result<AccountSnapshot, AccountUnavailable> {
    let credentials = match key {
        Some(key) if Venues::needs_key(exchange) => Some(
            store
                .credentials(user, key)
                .await
                .map_err(|e| AccountUnavailable::Key(e.to_string()))?
                .ok_or(AccountUnavailable::KeyDeleted { exchange })?,
        ),
        _ => None,
    };
    let balances = venues
        .account_of(exchange, user, credentials)?
        .balances()
        .await?;
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
        // The advisor's own words name it and say why.
        SkipReason::Gate {
            block: GateBlock::AdvisorBlocked,
        } => match &signal.advisor {
            AdvisorInput::Opinion { opinion } => {
                format!(
                    "the advisor blocked the {:?}: {}",
                    signal.kind, opinion.reason
                )
            }
            _ => format!("the advisor blocked the {:?}", signal.kind),
        },
        SkipReason::Gate {
            block: GateBlock::AdvisorUnavailable,
        } => match &signal.advisor {
            AdvisorInput::Error { error } => {
                format!("the advisor could not answer and the bot's gate fails closed: {error}")
            }
            _ => "the advisor could not answer and the bot's gate fails closed".into(),
        },
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
        SkipReason::OutOfSync {
            expected,
            available,
        } => format!(
            "the position ({expected} {base}) is out of sync with the {exchange} account, \
             which holds {available}: nothing could be sold; the position is closed and \
             flagged for review",
            base = symbol.base()
        ),
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::fanout::BotConfig;
    use nexus_core::regime::gate::{AdvisorInput, GateAction};
    use nexus_core::{BotId, InstrumentFilters, SignalId, Ticker};
    use uuid::Uuid;

    use super::*;

    fn bot(n: u128) -> BotId {
        BotId::new(Uuid::from_u128(n))
    }

    /// Plans as the engine does, but panics for bot 2, as a bug in one bot's planning would.
    fn fails_for_bot_2(
        signal: &Signal,
        snapshot: &MarketSnapshot,
        subscriptions: &[Subscription<'_>],
        out: &mut FanOut,
    ) {
        assert!(
            subscriptions.iter().all(|s| s.bot != bot(2)),
            "bot 2's planning"
        );
        plan_into(signal, snapshot, subscriptions, out);
    }

    #[test]
    fn a_skip_the_advisor_caused_names_it_and_its_reason() {
        let signal = Signal {
            id: SignalId::new(Uuid::from_u128(9)),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            kind: GateAction::Entry,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            atr: None,
            regime: None,
            advisor: AdvisorInput::Opinion {
                opinion: nexus_core::regime::advisor::AdvisorOpinion {
                    verdict: nexus_core::regime::advisor::AdvisorVerdict::Block,
                    reason: "LLM advisor (openai m): funding spike".into(),
                },
            },
        };
        let blocked = SkipReason::Gate {
            block: GateBlock::AdvisorBlocked,
        };
        assert_eq!(
            describe(&blocked, &signal),
            "the advisor blocked the Entry: LLM advisor (openai m): funding spike"
        );
        let unavailable = SkipReason::Gate {
            block: GateBlock::AdvisorUnavailable,
        };
        assert!(describe(&unavailable, &signal).contains("fails closed"));
    }

    #[test]
    fn a_panic_in_one_bots_planning_leaves_out_that_bot_only() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let symbol: Symbol = "BTC/USDT".parse().unwrap();
        let price: Price = "50000".parse().unwrap();
        let mut snapshot = MarketSnapshot::new(ExchangeId::Paper, now);
        snapshot.insert_ticker(Ticker::new(symbol, price, price, price, now).unwrap());
        let filters = InstrumentFilters {
            tick_size: "0.01".parse().unwrap(),
            step_size: "0.0001".parse().unwrap(),
            min_qty: "0.0001".parse().unwrap(),
            max_qty: None,
            min_notional: "10".parse().unwrap(),
        };
        snapshot.insert_instrument(Instrument::new(ExchangeId::Paper, symbol, filters).unwrap());
        let signal = Signal {
            id: SignalId::new(Uuid::from_u128(9)),
            exchange: ExchangeId::Paper,
            symbol,
            kind: GateAction::Exit,
            at: now,
            atr: None,
            regime: None,
            advisor: AdvisorInput::NotAsked,
        };
        let config = BotConfig::default();
        let subscriptions: Vec<Subscription<'_>> = (1..=4)
            .map(|n| Subscription {
                user: UserId::new(Uuid::from_u128(n)),
                bot: bot(n),
                exchange: ExchangeId::Paper,
                config: &config,
                account: AccountSnapshot {
                    free_base: if n == 3 {
                        "0.1".parse().unwrap()
                    } else {
                        Quantity::ZERO
                    },
                    ..AccountSnapshot::default()
                },
                // Bot 3 holds a position: its exit is planned; the others have none.
                position: (n == 3).then(|| {
                    nexus_core::Position::open(symbol, "0.1".parse().unwrap(), price, now).unwrap()
                }),
                limits: PlanLimits::default(),
                paused: false,
            })
            .collect();
        let mut out = FanOut::default();
        let panicked = plan_isolated(
            fails_for_bot_2,
            &signal,
            &snapshot,
            &subscriptions,
            &mut out,
        );
        assert_eq!(panicked.len(), 1);
        assert_eq!(panicked[0].0, 1, "the second subscription");
        assert!(
            panicked[0].1.0.contains("bot 2's planning"),
            "{:?}",
            panicked[0].1
        );
        let skipped: Vec<BotId> = out.skips.iter().map(|s| s.bot).collect();
        assert_eq!(skipped, [bot(1), bot(4)], "in order, bot 2 left out");
        assert_eq!(out.plans.len(), 1);
        assert_eq!(out.plans[0].bot, bot(3));

        // Without a panic, one pass plans them all.
        let panicked = plan_isolated(plan_into, &signal, &snapshot, &subscriptions, &mut out);
        assert!(panicked.is_empty());
        assert_eq!(out.plans.len() + out.skips.len(), 4);
    }
}
