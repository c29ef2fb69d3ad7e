//! The engine inside `nexus serve`: market data fetched once per exchange and symbol
//! through the [`MarketDataHub`], decisions made once by the elected [`scheduler`],
//! fanned out to every subscribed bot by the [`dispatch`]er, and the orders placed by the
//! [`worker`]s through the job queue; [`alerts`] tell users about their trades. A panic in
//! one market's or one bot's work is caught, counted and (for a bot) pauses that bot
//! ([`panics`]); the rest goes on.
//!
//! With no configuration it runs the Paper venue with a simulated market feed, so a fresh
//! install trades without accounts or keys.

pub mod advice;
pub mod alerts;
pub mod dispatch;
mod lease;
pub mod panics;
pub mod scheduler;
pub mod signals;
pub mod strategies;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use nexus_core::fanout::BatchSize;
use nexus_core::ports::{NonceSource, PaperLedger};
use nexus_core::{ExchangeId, Interval, Price, Quantity, Symbol};
use nexus_exchanges::paper::feed::{FeedSource, SimulatedFeed};
use nexus_exchanges::stream::StreamConfig;
use nexus_exchanges::{HubConfig, MarketDataHub, PaperConfig, PaperVenue, Venues, VenuesConfig};
use nexus_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::email::EmailSender;
use crate::metrics::Metrics;

pub use dispatch::Dispatcher;
pub use scheduler::{Scheduler, SchedulerConfig};

/// Where the simulated Paper market's prices come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaperFeed {
    /// The shipped real BTC/USDT daily candles, replayed from `offset` days in.
    Replay {
        /// Days of history skipped before the warm-up.
        offset: usize,
    },
    /// A seeded geometric random walk.
    Random {
        /// The seed.
        seed: u64,
    },
}

/// The simulated Paper market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperSettings {
    /// The price source of the first symbol (the others always walk at random).
    pub feed: PaperFeed,
    /// One candle is published every this long (the replay's speed).
    pub candle_every: Duration,
    /// What each paper account starts with, in the quote asset.
    pub balance: Quantity,
    /// The symbols listed.
    pub symbols: Vec<Symbol>,
    /// Candles published at start, so strategies and the regime classifier have history.
    pub warm_up: usize,
}

impl Default for PaperSettings {
    fn default() -> Self {
        Self {
            // The warm-up ends on 2019-05-19, a week before a breakout of the 2019
            // rally, so a fresh install sees its bots trade within its first minute.
            feed: PaperFeed::Replay {
                offset: DEFAULT_REPLAY_OFFSET,
            },
            candle_every: Duration::from_secs(2),
            balance: Quantity::new(rust_decimal::Decimal::from(10_000)).expect("a valid amount"),
            symbols: vec![btc_usdt()],
            warm_up: 300,
        }
    }
}

/// Days of the shipped history skipped by default (see [`PaperSettings`]).
pub const DEFAULT_REPLAY_OFFSET: usize = 341;

fn btc_usdt() -> Symbol {
    "BTC/USDT".parse().expect("a valid symbol")
}

/// The engine's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Whether this instance runs the engine at all (an API-only instance does not).
    pub enabled: bool,
    /// Whether the real venues' market data comes from their websockets (`false`: REST
    /// polled every TTL).
    pub streams: bool,
    /// The scheduler (and the hub's TTL).
    pub scheduler: SchedulerConfig,
    /// Trade jobs enqueued per batch.
    pub batch: BatchSize,
    /// Trade workers in this instance.
    pub workers: usize,
    /// The Paper venue's simulated market.
    pub paper: PaperSettings,
    /// Whether users are emailed about their trades.
    pub alerts: bool,
    /// Which alert webhook URLs are allowed (checked again at each delivery).
    pub alert_webhooks: crate::alerts::WebhookPolicy,
    /// Where users reach the product: alert emails link to their preferences there.
    pub public_url: String,
    /// The LLM advisor the scheduler asks before entries and adds (off by default).
    pub advisor: crate::advisor::settings::LlmSettings,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            streams: true,
            scheduler: SchedulerConfig::default(),
            batch: BatchSize::DEFAULT,
            workers: 4,
            paper: PaperSettings::default(),
            alerts: true,
            alert_webhooks: crate::alerts::WebhookPolicy::default(),
            public_url: String::new(),
            advisor: crate::advisor::settings::LlmSettings::default(),
        }
    }
}

/// The running engine of one instance.
pub struct Engine {
    /// The shared venues (the API checks keys with them).
    pub venues: Arc<Venues>,
    /// The market-data hub.
    pub hub: Arc<MarketDataHub>,
    /// Fans signals out (the load tool and tests use it directly).
    pub dispatcher: Arc<Dispatcher>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    feeds: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

/// Builds the venues and, when enabled, starts the simulated feed, the scheduler, the
/// trade workers and the alert worker.
///
/// # Errors
/// A message when the venues or the hub cannot be built.
pub fn start(
    config: &EngineConfig,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    email: Arc<dyn EmailSender>,
    events: Arc<crate::events::Events>,
    worker: &str,
) -> Result<Engine, String> {
    // Paper accounts live in the store: they survive restarts and every instance of the
    // deployment shares them. Each opens with the configured balance of the first paper
    // symbol's quote asset.
    let opening = config
        .paper
        .symbols
        .first()
        .map(|symbol| (symbol.quote(), config.paper.balance));
    let paper = PaperVenue::with_ledger(
        PaperConfig {
            opening_balance: opening,
            ..PaperConfig::default()
        },
        Arc::clone(&store) as Arc<dyn PaperLedger>,
    );
    let nonces: Arc<dyn NonceSource> = Arc::clone(&store) as Arc<dyn NonceSource>;
    let venues = Arc::new(
        Venues::new(VenuesConfig::default(), Some(nonces), Arc::clone(&paper))
            .map_err(|e| e.to_string())?,
    );
    let hub = Arc::new(
        MarketDataHub::new(
            HubConfig {
                ttl: config.scheduler.ttl,
                max_stale: config.scheduler.ttl.max(Duration::from_secs(60)),
            },
            ExchangeId::ALL.map(|e| venues.market_data(e)),
        )
        .map_err(|e| e.to_string())?
        .with_streams(if config.streams {
            nexus_exchanges::stream::venue_feeds(StreamConfig::default())
        } else {
            Vec::new()
        }),
    );
    metrics.watch_hub(Arc::clone(&hub));
    let wake = Arc::new(tokio::sync::Notify::new());
    let dispatcher = Arc::new(
        Dispatcher::new(
            Arc::clone(&store),
            Arc::clone(&hub),
            Arc::clone(&venues),
            config.batch,
            Arc::clone(&metrics),
        )
        .with_wake(Arc::clone(&wake))
        .with_events(Arc::clone(&events)),
    );
    let (stop, stopped) = watch::channel(false);
    let mut engine = Engine {
        venues: Arc::clone(&venues),
        hub: Arc::clone(&hub),
        dispatcher: Arc::clone(&dispatcher),
        stop,
        tasks: Vec::new(),
        feeds: Vec::new(),
    };
    if !config.enabled {
        return Ok(engine);
    }
    engine.feeds = start_feeds(&config.paper, &paper)?;
    let advisor = crate::advisor::service::LlmAdvisor::from_settings(
        &config.advisor,
        Arc::clone(&store),
        Arc::clone(&metrics),
    )
    .map_err(|e| format!("the LLM advisor cannot start: {e}"))?;
    if let Some(advisor) = &advisor {
        tracing::info!(advisor = ?advisor, "the LLM advisor is asked before entries and adds");
    }
    let scheduler = Scheduler::new(
        Arc::clone(&store),
        Arc::clone(&hub),
        Arc::clone(&venues),
        dispatcher,
        Arc::clone(&metrics),
        config.scheduler.clone(),
        worker.to_owned(),
    )
    .with_advisor(advisor.map(|a| Arc::new(a) as Arc<dyn advice::MarketAdvisor>))
    .with_events(Arc::clone(&events));
    engine
        .tasks
        .push(tokio::spawn(scheduler.run(stopped.clone())));
    let executor = Arc::new(
        worker::TradeExecutor::new(Arc::clone(&store), venues)
            .with_metrics(Arc::clone(&metrics))
            .with_wake(wake)
            .with_events(events),
    );
    for n in 0..config.workers.max(1) {
        engine.tasks.push(tokio::spawn(worker::run_worker(
            Arc::clone(&store),
            Arc::clone(&executor),
            format!("{worker}-trade-{n}"),
            stopped.clone(),
        )));
    }
    engine.tasks.push(tokio::spawn(crate::alerts::webhook::run(
        Arc::clone(&store),
        config.alert_webhooks,
        format!("{worker}-webhooks"),
        stopped.clone(),
    )));
    engine.tasks.push(tokio::spawn(crate::alerts::summary::run(
        Arc::clone(&store),
        Arc::clone(&email),
        config.public_url.clone(),
        format!("{worker}-summaries"),
        stopped.clone(),
    )));
    engine.tasks.push(tokio::spawn(alerts::run_alerts(
        store,
        alerts::AlertSinks {
            email: config.alerts.then_some(email),
            public_url: config.public_url.clone(),
        },
        format!("{worker}-alerts"),
        stopped,
    )));
    Ok(engine)
}

/// Lists the paper symbols and starts their feeds: the first symbol replays the shipped
/// history (or walks), the others walk at random. Each feed publishes the same candles
/// under every interval, so a Paper bot trades whatever interval it picked.
fn start_feeds(
    settings: &PaperSettings,
    paper: &Arc<PaperVenue>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut feeds = Vec::new();
    let now = chrono::Utc::now();
    for (n, symbol) in settings.symbols.iter().enumerate() {
        paper.list(nexus_exchanges::paper::instrument(*symbol));
        let walk = |seed: u64| FeedSource::RandomWalk {
            seed,
            start: Price::new(rust_decimal::Decimal::from(60_000)).expect("a valid price"),
            volatility_bps: 150,
        };
        let (source, skip) = match (&settings.feed, n) {
            (PaperFeed::Replay { offset }, 0) => (
                FeedSource::shipped_btc_usdt().map_err(|e| e.to_string())?,
                *offset,
            ),
            (PaperFeed::Random { seed }, _) => (walk(seed.wrapping_add(n as u64)), 0),
            (PaperFeed::Replay { .. }, _) => (walk(n as u64), 0),
        };
        let source = match source {
            // Starting `skip` days in; after the last day it starts over from the first.
            FeedSource::Replay(mut candles) => {
                let len = candles.len().max(1);
                candles.rotate_left(skip % len);
                FeedSource::Replay(candles)
            }
            walk => walk,
        };
        for interval in Interval::ALL {
            let mut feed = SimulatedFeed::new(Arc::clone(paper), *symbol, interval, source.clone());
            feed.warm_up(settings.warm_up, now);
            feeds.push(feed.spawn(settings.candle_every));
        }
    }
    Ok(feeds)
}

impl Engine {
    /// Stops the scheduler and workers (each finishes its current job) and the feeds.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for feed in self.feeds.drain(..) {
            feed.abort();
        }
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("an engine task did not stop within 10 s");
            }
        }
    }
}
