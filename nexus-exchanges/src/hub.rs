//! The market-data hub: one upstream call per exchange and TTL, whatever the number of
//! users asking.
//!
//! Tickers are cached per (exchange, symbol) and candles per (exchange, symbol, interval)
//! for a TTL (default 15 s, 5–30 s allowed). Concurrent requests for one exchange wait on
//! the same lock, so the first refreshes and the rest read what it fetched: one upstream
//! call. A refresh asks for every symbol ever requested on that exchange in one call, so
//! users asking for different symbols still share it. When the venue fails, cached data is
//! served up to `max_stale`, then the error is returned: the gate then sees the data's age
//! and fails closed.
//!
//! With a [`StreamFeed`] for a venue (see [`MarketDataHub::with_streams`]), tickers and
//! closed candles come from the venue's websocket instead, and REST is only the fallback:
//! while the stream is down or has not sent a market yet, and once per series after a
//! reconnect or sequence gap (a snapshot the stream's closed candles are then appended
//! to). In a steady state no REST call is made.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nexus_core::{
    Candle, ExchangeError, ExchangeId, Interval, MarketData, Symbol, Ticker, Timestamp,
};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::stream::{StreamFeed, StreamStats, Topic};

/// A REST snapshot asked for at `t` is taken to hold every candle that opened before
/// `t - SNAPSHOT_MARGIN` and has closed: clocks and the venue's own delay differ a little.
const SNAPSHOT_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// Candles kept per series beyond what is asked for, as the stream appends to them.
const KEPT_CANDLES: usize = 2_000;

/// The hub's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// How long fetched data is fresh: 5–30 s, default 15 s.
    pub ttl: Duration,
    /// How old cached data may be served when the venue fails. Default 60 s.
    pub max_stale: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15),
            max_stale: Duration::from_secs(60),
        }
    }
}

/// A hub setting is out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfigError {
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for HubConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HubConfigError {}

impl HubConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`HubConfigError`] naming the setting.
    pub fn validate(&self) -> Result<(), HubConfigError> {
        if !(Duration::from_secs(5)..=Duration::from_secs(30)).contains(&self.ttl) {
            return Err(HubConfigError {
                message: format!("ttl must be between 5 and 30 seconds, got {:?}", self.ttl),
            });
        }
        if self.max_stale < self.ttl {
            return Err(HubConfigError {
                message: format!(
                    "max_stale ({:?}) must be at least the ttl ({:?})",
                    self.max_stale, self.ttl
                ),
            });
        }
        Ok(())
    }
}

#[derive(Default)]
struct TickerCache {
    wanted: BTreeSet<Symbol>,
    tickers: HashMap<Symbol, Ticker>,
    at: Option<Instant>,
}

/// One series' candles: the last REST snapshot, with the stream's closed candles
/// appended while the stream stays in the epoch the snapshot was taken in.
struct CachedCandles {
    candles: Vec<Candle>,
    /// When the snapshot arrived (for the TTL).
    at: Instant,
    /// Every candle that opened before this is here (or never existed).
    covered: Timestamp,
    /// The stream's epoch when it was asked for.
    epoch: Option<u64>,
}

type CandleSlot = Arc<Mutex<Option<CachedCandles>>>;

struct Venue {
    source: Arc<dyn MarketData>,
    /// The venue's websocket, when it streams.
    stream: Option<Arc<StreamFeed>>,
    /// REST calls made because the stream could not serve.
    fallbacks: AtomicU64,
    /// Tickers of every symbol share one lock: one call fetches them all.
    tickers: Mutex<TickerCache>,
    /// Each (symbol, interval) has its own lock, so a slow candle fetch holds up neither
    /// the tickers nor other series.
    candles: std::sync::Mutex<HashMap<(Symbol, Interval), CandleSlot>>,
    calls: AtomicU64,
    /// Failed upstream calls, by class (in [`ExchangeError::KINDS`]'s order).
    errors: [AtomicU64; ExchangeError::KINDS.len()],
    /// When tickers last arrived from the venue, in Unix seconds (0: never).
    updated: AtomicU64,
}

impl Venue {
    /// Counts a failed upstream call by its class.
    fn failed(&self, error: &ExchangeError) {
        if let Some(i) = ExchangeError::KINDS.iter().position(|k| *k == error.kind()) {
            self.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Cached, coalesced market data for several exchanges.
pub struct MarketDataHub {
    config: HubConfig,
    venues: HashMap<ExchangeId, Venue>,
}

impl std::fmt::Debug for MarketDataHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketDataHub")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unavailable(exchange: ExchangeId, message: &str) -> ExchangeError {
    ExchangeError::Transient {
        exchange,
        message: message.to_owned(),
        source: None,
    }
}

impl MarketDataHub {
    /// A hub over one source per exchange.
    ///
    /// # Errors
    /// [`HubConfigError`] for settings out of range.
    pub fn new(
        config: HubConfig,
        sources: impl IntoIterator<Item = Arc<dyn MarketData>>,
    ) -> Result<Self, HubConfigError> {
        config.validate()?;
        let venues = sources
            .into_iter()
            .map(|source| {
                let venue = Venue {
                    source,
                    stream: None,
                    fallbacks: AtomicU64::new(0),
                    tickers: Mutex::default(),
                    candles: std::sync::Mutex::default(),
                    calls: AtomicU64::new(0),
                    errors: std::array::from_fn(|_| AtomicU64::new(0)),
                    updated: AtomicU64::new(0),
                };
                (venue.source.exchange(), venue)
            })
            .collect();
        Ok(Self { config, venues })
    }

    /// Serves the feeds' venues from their streams, REST being the fallback.
    #[must_use]
    pub fn with_streams(mut self, feeds: impl IntoIterator<Item = Arc<StreamFeed>>) -> Self {
        for feed in feeds {
            if let Some(venue) = self.venues.get_mut(&feed.exchange()) {
                venue.stream = Some(feed);
            }
        }
        self
    }

    /// Follows exactly these markets on `exchange`'s stream (tickers of `symbols`, candles
    /// of `series`): new ones are subscribed and the rest unsubscribed. Nothing happens
    /// for a venue without a stream.
    pub fn follow(&self, exchange: ExchangeId, symbols: &[Symbol], series: &[(Symbol, Interval)]) {
        if let Some(feed) = self.venues.get(&exchange).and_then(|v| v.stream.as_ref()) {
            feed.follow(
                symbols
                    .iter()
                    .map(|s| Topic::Quotes(*s))
                    .chain(series.iter().map(|(s, i)| Topic::Candles(*s, *i))),
            );
        }
    }

    /// What `exchange`'s stream did, when it has one.
    #[must_use]
    pub fn stream_stats(&self, exchange: ExchangeId) -> Option<&StreamStats> {
        self.venues
            .get(&exchange)
            .and_then(|v| v.stream.as_deref())
            .map(StreamFeed::stats)
    }

    /// REST calls to `exchange` made because its stream could not serve (down, not yet
    /// subscribed, or a snapshot after a reconnect).
    #[must_use]
    pub fn stream_fallbacks(&self, exchange: ExchangeId) -> u64 {
        self.venues
            .get(&exchange)
            .map_or(0, |v| v.fallbacks.load(Ordering::Relaxed))
    }

    /// Upstream calls made to `exchange` so far (tickers and candles).
    #[must_use]
    pub fn upstream_calls(&self, exchange: ExchangeId) -> u64 {
        self.venues
            .get(&exchange)
            .map_or(0, |v| v.calls.load(Ordering::Relaxed))
    }

    /// Upstream calls to `exchange` that failed with an error of class `kind` (one of
    /// [`ExchangeError::KINDS`]) so far, whether or not cached data was served instead.
    #[must_use]
    pub fn upstream_errors(&self, exchange: ExchangeId, kind: &str) -> u64 {
        let Some(i) = ExchangeError::KINDS.iter().position(|k| *k == kind) else {
            return 0;
        };
        self.venues
            .get(&exchange)
            .map_or(0, |v| v.errors[i].load(Ordering::Relaxed))
    }

    /// When tickers last arrived from `exchange`, in Unix seconds (0: never), for
    /// monitoring: an exchange whose data stops arriving shows here first.
    #[must_use]
    pub fn last_update(&self, exchange: ExchangeId) -> u64 {
        self.venues
            .get(&exchange)
            .map_or(0, |v| v.updated.load(Ordering::Relaxed))
    }

    /// Tickers of `symbols` on `exchange`, and how old they are.
    ///
    /// # Errors
    /// The venue's error when it fails and no cached data is young enough to serve.
    pub async fn tickers(
        &self,
        exchange: ExchangeId,
        symbols: &[Symbol],
    ) -> Result<(Vec<Ticker>, Duration), ExchangeError> {
        let venue = self
            .venues
            .get(&exchange)
            .ok_or_else(|| unavailable(exchange, "no market data source"))?;
        if let Some(feed) = &venue.stream {
            feed.also_follow(symbols.iter().map(|s| Topic::Quotes(*s)));
            if let Some(streamed) = feed.tickers(symbols) {
                venue.updated.store(unix_now(), Ordering::Relaxed);
                return Ok(streamed);
            }
        }
        let mut cache = venue.tickers.lock().await;
        cache.wanted.extend(symbols.iter().copied());
        let fresh = cache.at.is_some_and(|at| at.elapsed() < self.config.ttl)
            && symbols.iter().all(|s| cache.tickers.contains_key(s));
        if !fresh {
            let wanted: Vec<Symbol> = cache.wanted.iter().copied().collect();
            venue.calls.fetch_add(1, Ordering::Relaxed);
            if venue.stream.is_some() {
                venue.fallbacks.fetch_add(1, Ordering::Relaxed);
            }
            match venue.source.tickers(&wanted).await {
                Ok(tickers) => {
                    cache.tickers = tickers.into_iter().map(|t| (t.symbol(), t)).collect();
                    cache.at = Some(Instant::now());
                    venue.updated.store(unix_now(), Ordering::Relaxed);
                }
                Err(err) => {
                    venue.failed(&err);
                    let young = cache
                        .at
                        .is_some_and(|at| at.elapsed() <= self.config.max_stale);
                    if !young {
                        return Err(err);
                    }
                    tracing::warn!(%exchange, error = %err, "serving cached market data");
                }
            }
        }
        let age = cache.at.map_or(Duration::MAX, |at| at.elapsed());
        let tickers = symbols
            .iter()
            .filter_map(|s| cache.tickers.get(s).copied())
            .collect();
        Ok((tickers, age))
    }

    /// The last `limit` candles of `symbol`, cached per interval for the TTL.
    ///
    /// # Errors
    /// The venue's error when it fails and no cached candles are young enough to serve.
    pub async fn candles(
        &self,
        exchange: ExchangeId,
        symbol: Symbol,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let venue = self
            .venues
            .get(&exchange)
            .ok_or_else(|| unavailable(exchange, "no market data source"))?;
        let slot = {
            let mut slots = venue
                .candles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(slots.entry((symbol, interval)).or_default())
        };
        let mut cached = slot.lock().await;
        let feed = venue.stream.as_ref().filter(|feed| feed.streams(interval));
        if let Some(feed) = feed {
            feed.also_follow([Topic::Candles(symbol, interval)]);
            if let (Some(streamed), Some(cache)) = (feed.candles(symbol, interval), cached.as_mut())
                && cache.epoch == Some(streamed.epoch)
                && streamed.since <= cache.covered
            {
                // The stream holds every candle from `since` on, the cache every one
                // before `covered`: together, all of them.
                let last = cache.candles.last().map(Candle::open_time);
                cache.candles.extend(
                    streamed
                        .closed
                        .into_iter()
                        .filter(|c| last.is_none_or(|last| c.open_time() > last)),
                );
                let excess = cache.candles.len().saturating_sub(KEPT_CANDLES.max(limit));
                cache.candles.drain(..excess);
                // Every candle up to the newest one held is here now; the next one opens
                // one interval later at the earliest.
                if let (Some(newest), Ok(step)) = (
                    cache.candles.last(),
                    chrono::TimeDelta::from_std(interval.duration()),
                ) {
                    cache.covered = cache.covered.max(newest.open_time() + step);
                }
                let candles = &cache.candles;
                return Ok(candles[candles.len().saturating_sub(limit)..].to_vec());
            }
        }
        let fresh = cached
            .as_ref()
            .is_some_and(|c| c.at.elapsed() < self.config.ttl && c.candles.len() >= limit);
        if !fresh {
            venue.calls.fetch_add(1, Ordering::Relaxed);
            if feed.is_some() {
                venue.fallbacks.fetch_add(1, Ordering::Relaxed);
            }
            let epoch = feed.and_then(|f| f.epoch(symbol, interval));
            let asked = chrono::Utc::now();
            match venue.source.candles(symbol, interval, limit).await {
                Ok(candles) => {
                    *cached = Some(CachedCandles {
                        candles,
                        at: Instant::now(),
                        covered: asked - SNAPSHOT_MARGIN,
                        epoch,
                    });
                }
                Err(err) => {
                    venue.failed(&err);
                    let young = cached
                        .as_ref()
                        .is_some_and(|c| c.at.elapsed() <= self.config.max_stale);
                    if !young {
                        return Err(err);
                    }
                    tracing::warn!(%exchange, error = %err, "serving cached market data");
                }
            }
        }
        let candles = cached.as_ref().map_or(&[][..], |c| c.candles.as_slice());
        Ok(candles[candles.len().saturating_sub(limit)..].to_vec())
    }
}

#[cfg(test)]
mod tests;
