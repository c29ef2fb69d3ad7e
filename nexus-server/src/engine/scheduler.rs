//! The scheduler: one per deployment (elected through the store: a PostgreSQL advisory
//! lock, or the single SQLite instance). While it leads it
//!
//! - every TTL, reads which markets active bots run and refreshes their tickers through
//!   the [`MarketDataHub`]: one upstream call per exchange, whatever the number of users;
//! - reads closed candles per (exchange, symbol, interval) when a new one is due (Paper's
//!   simulated feed pushes them in process);
//! - every regime interval, classifies each series and records the gate's decision;
//! - evaluates each strategy once per (strategy, symbol, parameters) and enqueues its
//!   signals as `signal` jobs;
//! - fans `signal` jobs (its own and webhooks') out through the [`Dispatcher`].
//!
//! A panic in one market's strategy pauses that market's bots with the reason; one in a
//! classification leaves that series' regime unknown (entries blocked) until the next
//! regime interval; one in a fan-out fails that signal's job (retried, then dead-lettered);
//! one anywhere else in a round starts the leader's state over. Each is logged and counted
//! in `nexus_task_panics_total{task="scheduler"}` (`"fanout"` for a fan-out), and the
//! other markets go on ([`panics`](super::panics)).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::fanout::Signal;
use nexus_core::ports::accounts::StrategyMarket;
use nexus_core::ports::jobs::{JobKind, RetryPolicy};
use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, GatePolicy, Gatekeeper};
use nexus_core::regime::indicators::Bar;
use nexus_core::regime::{Classification, RegimeClassifier, RegimeConfig};
use nexus_core::{Candle, ExchangeId, Interval, StoreError, Symbol, Timestamp};
use nexus_exchanges::{MarketDataHub, Venues};
use nexus_store::Store;
use tokio::sync::watch;
use tokio::time::Instant;

use super::dispatch::{Dispatched, Dispatcher};
use super::panics::{self, Panicked, Task};
use super::signals::{SignalJob, strategy_signal_id};
use super::strategies::{Registry, Strategies, StrategyFactory};
use crate::metrics::Metrics;

/// The name the scheduler's leadership is held under.
pub const LEADER_NAME: &str = "scheduler";
/// How often a non-leader tries to take over.
const ELECTION_RETRY: Duration = Duration::from_secs(2);
/// How often the leader checks it still holds the lock.
const LEASE_CHECK: Duration = Duration::from_secs(2);
/// How often the markets active bots run are read again (a new bot starts trading within
/// this).
const MARKETS_EVERY: Duration = Duration::from_secs(2);
/// How long a fan-out holds its job without renewing the lease: when the leader dies in
/// the middle of one, the next leader takes the signal up again this long after the last
/// renewal at most.
pub const SIGNAL_LEASE: Duration = Duration::from_secs(15);
/// How often a running fan-out renews its job's lease (a third of it: two renewals may be
/// late before it lapses).
const SIGNAL_HEARTBEAT: Duration = Duration::from_secs(5);
/// Bots paused per page after their market's strategy panicked.
const PAUSE_PAGE: u32 = 1_000;

/// The scheduler's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// How often active markets and their tickers are refreshed (the hub's TTL).
    pub ttl: Duration,
    /// How often each series' regime is classified and the decision recorded.
    pub regime_interval: Duration,
    /// The classifier's settings.
    pub regime: RegimeConfig,
    /// How often the leader looks for work (new candles, signal jobs).
    pub tick: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15),
            regime_interval: Duration::from_secs(300),
            regime: RegimeConfig::default(),
            tick: Duration::from_millis(100),
        }
    }
}

/// One (exchange, symbol, interval): the unit candles and regimes are kept for.
type Series = (ExchangeId, Symbol, Interval);

#[derive(Default)]
struct SeriesState {
    candles: Vec<Candle>,
    /// When real-venue candles were last asked for.
    fetched_at: Option<Instant>,
    /// Whether candles newer than the strategies have seen arrived.
    fresh: bool,
    regime: Option<Classification>,
    classified_at: Option<Instant>,
}

/// What the leader keeps between rounds (rebuilt by a new leader from the store and the
/// venues).
#[derive(Default)]
pub struct Leading {
    markets: Vec<StrategyMarket>,
    markets_at: Option<Instant>,
    series: HashMap<Series, SeriesState>,
    strategies: Strategies,
    /// The candles version last read of each venue that pushes candles.
    pushed_seen: HashMap<ExchangeId, u64>,
}

impl std::fmt::Debug for Leading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leading")
            .field("markets", &self.markets.len())
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Signals the strategies decided (enqueued as jobs).
    pub decided: u64,
    /// Signal jobs fanned out.
    pub dispatched: u64,
    /// Regime classifications recorded.
    pub classified: u64,
}

/// The scheduler of one instance.
pub struct Scheduler {
    /// Asked once per market before an entry or add goes out; `None`: not asked.
    advisor: Option<Arc<dyn super::advice::MarketAdvisor>>,
    store: Arc<dyn Store>,
    hub: Arc<MarketDataHub>,
    venues: Arc<Venues>,
    dispatcher: Arc<Dispatcher>,
    metrics: Arc<Metrics>,
    config: SchedulerConfig,
    worker: String,
    registry: Registry,
    events: Option<Arc<crate::events::Events>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler; `worker` names this instance in the job queue.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<MarketDataHub>,
        venues: Arc<Venues>,
        dispatcher: Arc<Dispatcher>,
        metrics: Arc<Metrics>,
        config: SchedulerConfig,
        worker: String,
    ) -> Self {
        Self {
            advisor: None,
            store,
            hub,
            venues,
            dispatcher,
            metrics,
            config,
            worker,
            registry: Registry::default(),
            events: None,
        }
    }

    /// The same scheduler, telling users live of regime changes and of the bots it
    /// pauses.
    #[must_use]
    pub fn with_events(mut self, events: Arc<crate::events::Events>) -> Self {
        self.events = Some(events);
        self
    }

    /// The same scheduler, asking `advisor` before each entry and add.
    #[must_use]
    pub fn with_advisor(mut self, advisor: Option<Arc<dyn super::advice::MarketAdvisor>>) -> Self {
        self.advisor = advisor;
        self
    }

    /// The same scheduler, also running `factory`'s strategy for bots whose strategy is
    /// `name` (an embedder's own strategy; the tests' failing one).
    #[must_use]
    pub fn with_strategy(mut self, name: &str, factory: StrategyFactory) -> Self {
        self.registry.register(name, factory);
        self
    }

    /// Tries to lead, leads while it can, and tries again when it loses the lead, until
    /// `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.store.try_lead(LEADER_NAME).await {
                Ok(Some(lease)) => {
                    tracing::info!(worker = %self.worker, "this instance runs the scheduler");
                    self.metrics.scheduler_leader.set(1);
                    self.lead(lease, &mut stop).await;
                    self.metrics.scheduler_leader.set(0);
                    if *stop.borrow() {
                        tracing::info!(worker = %self.worker, "scheduler stopped");
                        return;
                    }
                    tracing::warn!(worker = %self.worker, "this instance lost the scheduler's lease");
                }
                Ok(None) => tracing::debug!("another instance runs the scheduler"),
                Err(e) => tracing::warn!(error = %e, "scheduler election failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(ELECTION_RETRY) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn lead(
        &self,
        mut lease: Box<dyn nexus_store::leader::Leadership>,
        stop: &mut watch::Receiver<bool>,
    ) {
        let mut state = Leading::default();
        let mut checked = Instant::now();
        let mut ticks = tokio::time::interval(self.config.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if checked.elapsed() >= LEASE_CHECK {
                if !lease.check().await {
                    return;
                }
                checked = Instant::now();
            }
            match panics::catch_async(self.round(&mut state)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "scheduler round failed; trying again"),
                Err(panic) => {
                    // What the round was changing cannot be trusted: start over from the
                    // store and the venues, as a new leader would.
                    tracing::error!(worker = %self.worker, %panic, "a scheduler round panicked; starting over");
                    self.metrics.panicked(Task::Scheduler.as_str());
                    state = Leading::default();
                }
            }
        }
    }

    /// One round of the leader's work. Public so tests can drive it step by step.
    ///
    /// # Errors
    /// A store error; the next round tries again.
    pub async fn round(&self, state: &mut Leading) -> Result<Round, StoreError> {
        let mut round = Round::default();
        if state
            .markets_at
            .is_none_or(|at| at.elapsed() >= MARKETS_EVERY.min(self.config.ttl))
        {
            state.markets = self.store.active_markets().await?;
            state.markets_at = Some(Instant::now());
            state.strategies.retain(&state.markets);
            let wanted: Vec<Series> = series_of(&state.markets);
            state.series.retain(|s, _| wanted.contains(s));
            self.follow(&wanted);
            // The hub asks the venue only when its data is older than the TTL: one
            // upstream call per exchange and TTL.
            self.refresh_tickers(&state.markets).await;
        }
        self.refresh_candles(state).await;
        round.classified = self.classify(state).await?;
        round.decided = self.decide(state).await?;
        round.dispatched = self.dispatch_signals(state).await?;
        Ok(round)
    }

    /// Keeps each venue's market data stream on exactly the markets active bots use.
    fn follow(&self, series: &[Series]) {
        for exchange in ExchangeId::ALL {
            let mine: Vec<(Symbol, Interval)> = series
                .iter()
                .filter(|(e, _, _)| *e == exchange)
                .map(|(_, s, i)| (*s, *i))
                .collect();
            let mut symbols: Vec<Symbol> = mine.iter().map(|(s, _)| *s).collect();
            symbols.sort_unstable();
            symbols.dedup();
            self.hub.follow(exchange, &symbols, &mine);
        }
    }

    /// One ticker call per exchange, for every symbol its active bots trade.
    async fn refresh_tickers(&self, markets: &[StrategyMarket]) {
        let mut symbols: BTreeMap<ExchangeId, Vec<Symbol>> = BTreeMap::new();
        for m in markets {
            let list = symbols.entry(m.exchange).or_default();
            if !list.contains(&m.symbol) {
                list.push(m.symbol);
            }
        }
        for (exchange, symbols) in symbols {
            if let Err(e) = self.hub.tickers(exchange, &symbols).await {
                tracing::warn!(%exchange, error = %e, "tickers unavailable");
            }
        }
    }

    /// Reads each series' candles when new ones are due: a venue that pushes candles
    /// (Paper's simulation, a stream) whenever it says new ones arrived, read from it
    /// directly; a polled venue's once the candle after the newest known one has closed.
    async fn refresh_candles(&self, state: &mut Leading) {
        let limit = self.candle_limit();
        let mut pushed: HashMap<ExchangeId, bool> = HashMap::new();
        for exchange in ExchangeId::ALL {
            if let Some(version) = self.venues.market_data(exchange).candles_version() {
                let changed = state.pushed_seen.insert(exchange, version) != Some(version);
                pushed.insert(exchange, changed);
            }
        }
        let now = Utc::now();
        for series in series_of(&state.markets) {
            let (exchange, symbol, interval) = series;
            let slot = state.series.entry(series).or_default();
            let fetched = if let Some(changed) = pushed.get(&exchange) {
                if !changed && !slot.candles.is_empty() {
                    continue;
                }
                self.venues
                    .market_data(exchange)
                    .candles(symbol, interval, limit)
                    .await
            } else {
                let step = chrono::Duration::from_std(interval.duration()).unwrap_or_default();
                let due = slot
                    .candles
                    .last()
                    .is_none_or(|last| now >= last.open_time() + step * 2);
                let asked_lately = slot
                    .fetched_at
                    .is_some_and(|at| at.elapsed() < self.config.ttl);
                if !due || asked_lately {
                    continue;
                }
                slot.fetched_at = Some(Instant::now());
                self.hub.candles(exchange, symbol, interval, limit).await
            };
            match fetched {
                Ok(candles) => {
                    let newer = candles.last().map(Candle::open_time)
                        != slot.candles.last().map(Candle::open_time);
                    if newer {
                        slot.candles = candles;
                        slot.fresh = true;
                    }
                }
                Err(e) => {
                    tracing::warn!(%exchange, %symbol, interval = interval.as_str(), error = %e, "candles unavailable");
                }
            }
        }
    }

    fn candle_limit(&self) -> usize {
        // Enough for the classifier's warm-up and any strategy's channels.
        (self.config.regime.warmup_bars() + 50).max(300)
    }

    /// Classifies each series whose regime is older than the regime interval and
    /// records the gate's decision for an entry under the default policy.
    async fn classify(&self, state: &mut Leading) -> Result<u64, StoreError> {
        let mut recorded = 0;
        let now = Utc::now();
        for (&(exchange, symbol, interval), slot) in &mut state.series {
            if slot.candles.is_empty()
                || slot
                    .classified_at
                    .is_some_and(|at| at.elapsed() < self.config.regime_interval)
            {
                continue;
            }
            let Ok(mut classifier) = RegimeClassifier::new(self.config.regime) else {
                continue;
            };
            let candles = &slot.candles;
            let before = slot.regime.map(|c| c.regime);
            let classified = panics::catch(|| {
                candles
                    .iter()
                    .filter_map(|c| classifier.update(&Bar::from(c)))
                    .last()
            });
            // A series whose classification panics has no regime (entries and adds fail
            // closed) until the next regime interval; the other series go on.
            slot.regime = classified.unwrap_or_else(|panic| {
                tracing::error!(%exchange, %symbol, interval = interval.as_str(), %panic, "classifying a market panicked");
                self.metrics.panicked(Task::Scheduler.as_str());
                None
            });
            slot.classified_at = Some(Instant::now());
            let age = self
                .hub
                .tickers(exchange, &[symbol])
                .await
                .ok()
                .filter(|(t, _)| !t.is_empty())
                .map(|(_, age)| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
            let inputs = GateInputs {
                exchange,
                symbol,
                action: GateAction::Entry,
                regime: slot.regime.map(|c| c.regime),
                confidence: slot.regime.map(|c| c.confidence),
                data_age_ms: age,
                advisor: AdvisorInput::NotAsked,
            };
            let decision = Gatekeeper::new(GatePolicy::default())
                .decide_and_record(inputs, now, self.store.as_ref())
                .await
                .map_err(|e| StoreError::Unavailable {
                    message: e.to_string(),
                    source: None,
                })?;
            self.metrics.gate(decision.allowed);
            tracing::info!(
                %exchange, %symbol, interval = interval.as_str(),
                regime = ?decision.regime, allowed = decision.allowed,
                "regime classified"
            );
            if decision.regime != before
                && let Some(events) = &self.events
            {
                events
                    .publish(&[crate::events::Happening::Regime {
                        confidence: slot.regime.map(|c| c.confidence),
                        decision,
                        interval,
                        previous: before,
                    }])
                    .await;
            }
            recorded += 1;
        }
        Ok(recorded)
    }

    /// The advisor's opinion on `market`'s entry or add at `candle` (exits are never asked),
    /// recorded as a gate decision that names it.
    async fn advise(
        &self,
        market: &StrategyMarket,
        action: GateAction,
        candle: Timestamp,
        slot: &SeriesState,
        now: Timestamp,
    ) -> Result<AdvisorInput, StoreError> {
        let Some(advisor) = &self.advisor else {
            return Ok(AdvisorInput::NotAsked);
        };
        if action == GateAction::Exit {
            return Ok(AdvisorInput::NotAsked);
        }
        let request = super::advice::AdviceRequest {
            key: nexus_core::ports::advisor::VerdictKey {
                exchange: market.exchange,
                symbol: market.symbol,
                interval: market.interval,
                candle,
                action,
            },
            candles: &slot.candles,
            classification: slot.regime,
            now,
        };
        let opinion = advisor.advise(&request).await;
        let age = self
            .hub
            .tickers(market.exchange, &[market.symbol])
            .await
            .ok()
            .filter(|(t, _)| !t.is_empty())
            .map(|(_, age)| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
        let inputs = GateInputs {
            exchange: market.exchange,
            symbol: market.symbol,
            action,
            regime: slot.regime.map(|c| c.regime),
            confidence: slot.regime.map(|c| c.confidence),
            data_age_ms: age,
            advisor: opinion.clone(),
        };
        let decision = Gatekeeper::new(GatePolicy::default())
            .decide_and_record(inputs, now, self.store.as_ref())
            .await
            .map_err(|e| StoreError::Unavailable {
                message: e.to_string(),
                source: None,
            })?;
        tracing::info!(
            exchange = %market.exchange, symbol = %market.symbol, action = ?action,
            advisor = ?decision.reasons.last(), "the advisor was asked"
        );
        Ok(opinion)
    }

    /// Runs each market's strategy over its new candles; each signal becomes a job.
    async fn decide(&self, state: &mut Leading) -> Result<u64, StoreError> {
        let mut decided = 0;
        let now = Utc::now();
        for market in &state.markets {
            let key = (market.exchange, market.symbol, market.interval);
            let Some(slot) = state.series.get(&key) else {
                continue;
            };
            // A market seen for the first time warms its strategy up at once; after that
            // only new candles are fed.
            if !slot.fresh && state.strategies.knows(market) {
                continue;
            }
            let registry = &self.registry;
            let strategies = &mut state.strategies;
            let evaluated = panics::catch(|| strategies.evaluate(registry, market, &slot.candles));
            let d = match evaluated {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(panic) => {
                    state.strategies.forget(market);
                    self.pause_market(market, &panic).await?;
                    // Read the markets again next round: this one's bots are paused.
                    state.markets_at = None;
                    continue;
                }
            };
            let kind = match d.signal.kind {
                GateAction::Entry => "entry",
                GateAction::Add => "add",
                GateAction::Exit => "exit",
            };
            let advisor = self
                .advise(market, d.signal.kind, d.candle, slot, now)
                .await?;
            let job = SignalJob {
                signal: Signal {
                    id: strategy_signal_id(market, d.candle, kind),
                    exchange: market.exchange,
                    symbol: market.symbol,
                    kind: d.signal.kind,
                    at: now,
                    atr: d.signal.atr,
                    regime: slot.regime.map(|c| c.regime),
                    advisor,
                },
                strategy: market.strategy.clone(),
                strategy_config: Some(market.strategy_config.clone()),
                interval: Some(market.interval),
                reason: d.signal.reason.to_owned(),
            };
            let new = job.new_job().map_err(|e| StoreError::Corrupt {
                message: e.to_string(),
            })?;
            if self.store.enqueue(&new, now).await?.is_some() {
                tracing::info!(signal = %job.signal.id, market = ?market, kind, reason = %job.reason, "strategy signal");
                decided += 1;
            }
        }
        for slot in state.series.values_mut() {
            slot.fresh = false;
        }
        Ok(decided)
    }

    /// Fans out waiting `signal` jobs.
    async fn dispatch_signals(&self, state: &Leading) -> Result<u64, StoreError> {
        let jobs = self
            .store
            .claim(
                &[JobKind::Signal],
                &self.worker,
                SIGNAL_LEASE,
                4,
                Utc::now(),
            )
            .await?;
        let mut done = 0;
        for job in jobs {
            let outcome = match serde_json::from_str::<SignalJob>(&job.payload) {
                Ok(mut signal) => {
                    if signal.signal.regime.is_none() {
                        signal.signal.regime = state.regime_for(&signal);
                    }
                    // Each bot's planning is isolated inside; a panic here is the signal's.
                    // The lease is renewed while it runs, so that it can be short: a fan-out
                    // of many bots outlasts it, and one cut short by a crash is not left
                    // waiting for it.
                    let renewing = tokio::spawn(super::lease::renew(
                        Arc::clone(&self.store),
                        job.id,
                        self.worker.clone(),
                        SIGNAL_LEASE,
                        SIGNAL_HEARTBEAT,
                        "fan-out",
                    ));
                    let fanned =
                        panics::catch_async(self.dispatcher.dispatch(&signal, Utc::now())).await;
                    renewing.abort();
                    match fanned {
                        Ok(dispatched) => dispatched.map_err(|e| e.to_string()),
                        Err(panic) => {
                            tracing::error!(job = job.id.0, signal = %signal.signal.id, %panic, "a fan-out panicked");
                            self.metrics.panicked(Task::Fanout.as_str());
                            Err(format!("internal error: the fan-out {panic}"))
                        }
                    }
                }
                Err(e) => Err(format!("not a signal: {e}")),
            };
            match outcome {
                Ok(Dispatched { .. }) => {
                    self.store
                        .complete(&[job.id], &self.worker, Utc::now())
                        .await?;
                    done += 1;
                }
                Err(e) => {
                    tracing::warn!(job = job.id.0, error = %e, "fan-out failed");
                    self.store
                        .fail(job.id, &self.worker, &e, RetryPolicy::default(), Utc::now())
                        .await?;
                }
            }
        }
        Ok(done)
    }
}

impl Scheduler {
    /// After `market`'s strategy panicked: logs and counts it, and pauses every bot of the
    /// market with the reason (its strategy would panic again for each of them).
    async fn pause_market(
        &self,
        market: &StrategyMarket,
        panic: &Panicked,
    ) -> Result<(), StoreError> {
        tracing::error!(?market, %panic, "a market's strategy panicked; pausing its bots");
        self.metrics.panicked(Task::Scheduler.as_str());
        let reason = panics::reason(&format!("the strategy {}", market.strategy), panic);
        let filter = market.filter();
        let mut after = None;
        loop {
            let page = self.store.active_bots(&filter, after, PAUSE_PAGE).await?;
            let mut paused = Vec::new();
            for sub in &page {
                tracing::error!(bot = %sub.bot.id, ?market, %panic, "pausing a bot whose strategy panicked");
                let now = Utc::now();
                if self.store.pause_bot(sub.bot.id, &reason, now).await? {
                    let mut bot = sub.bot.clone();
                    bot.paused = true;
                    bot.paused_reason = Some(reason.clone());
                    paused.push(crate::events::Happening::Bot {
                        change: crate::events::BotChange::Paused,
                        bot,
                        at: now,
                    });
                }
            }
            if let Some(events) = &self.events {
                events.publish(&paused).await;
            }
            match page.last() {
                Some(last) if page.len() == PAUSE_PAGE as usize => after = Some(last.bot.id),
                _ => return Ok(()),
            }
        }
    }
}

impl Leading {
    /// The current regime of a signal's market: its interval's, or (for signals meant for
    /// any interval) the longest classified interval's.
    fn regime_for(&self, job: &SignalJob) -> Option<nexus_core::regime::Regime> {
        let (exchange, symbol) = (job.signal.exchange, job.signal.symbol);
        match job.interval {
            Some(interval) => self
                .series
                .get(&(exchange, symbol, interval))
                .and_then(|s| s.regime),
            None => Interval::ALL.iter().rev().find_map(|&i| {
                self.series
                    .get(&(exchange, symbol, i))
                    .and_then(|s| s.regime)
            }),
        }
        .map(|c| c.regime)
    }

    /// Whether a series' regime has been classified (tests).
    #[must_use]
    pub fn classified(&self, exchange: ExchangeId, symbol: Symbol, interval: Interval) -> bool {
        self.series
            .get(&(exchange, symbol, interval))
            .is_some_and(|s| s.classified_at.is_some())
    }
}

fn series_of(markets: &[StrategyMarket]) -> Vec<Series> {
    let mut out: Vec<Series> = markets
        .iter()
        .map(|m| (m.exchange, m.symbol, m.interval))
        .collect();
    out.sort();
    out.dedup();
    out
}
