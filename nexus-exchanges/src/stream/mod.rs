//! Market data pushed by the venues' public websocket streams, so the hub stops polling.
//!
//! A [`StreamFeed`] keeps one connection per venue (more only when the venue's documented
//! limit of topics per connection requires) subscribed to the markets the bots use: the
//! [`Topic`]s the hub is told to follow, added and removed as bots change. Each venue's
//! protocol (`binance::stream`, `kraken::stream`, `coinbase::stream`) writes the
//! subscribe requests and reads the messages into [`StreamEvent`]s; the connection loop
//! here is shared: it reconnects with backoff and full jitter and resubscribes, checks the
//! venue's sequence numbers where it has them, and drops a connection that has been
//! silent (no update, heartbeat or ping) for the protocol's limit.
//!
//! What arrives is kept in a book of quotes and closed candles per *epoch*: an epoch ends
//! with every reconnect or sequence gap, so the hub knows when the stream may have missed
//! a candle and takes one REST snapshot before trusting it again.

mod book;
mod connection;
#[cfg(test)]
pub(crate) mod fixtures;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nexus_core::{Candle, ExchangeId, Interval, Symbol, Ticker, Timestamp};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use book::Book;
pub use book::{CandleUpdate, Quote};

use crate::decode::DecodeError;
use crate::retry::RetryPolicy;

/// What a connection subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// The best bid and ask and the last price of a symbol.
    Quotes(Symbol),
    /// The candles of a symbol at an interval.
    Candles(Symbol, Interval),
}

impl Topic {
    /// The topic's symbol.
    #[must_use]
    pub const fn symbol(self) -> Symbol {
        match self {
            Self::Quotes(symbol) | Self::Candles(symbol, _) => symbol,
        }
    }
}

/// One thing a venue's message said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Prices of a symbol (all or some of bid, ask and last).
    Quote(Quote),
    /// A candle, forming or closed.
    Candle(CandleUpdate),
    /// The venue's keep-alive (Kraken's `heartbeat`, Coinbase's `heartbeats`).
    Heartbeat,
    /// The message's number in the connection's sequence (Coinbase's `sequence_num`).
    Sequence(u64),
    /// The venue confirmed a subscription or answered a request.
    Ack,
    /// The venue refused a request or reported a problem, in its words.
    Refused(String),
    /// The venue said it is going away (Binance's `serverShutdown`): reconnect now.
    Closing,
}

/// A venue's stream protocol: where to connect, how to subscribe, how to read.
pub trait StreamProtocol: Send + Sync + 'static {
    /// The venue.
    fn exchange(&self) -> ExchangeId;
    /// The websocket URL.
    fn url(&self) -> &str;
    /// The venue's name of `symbol` in the messages it sends.
    fn name(&self, symbol: Symbol) -> String;
    /// Other names the venue may use for `symbol` in its messages.
    fn aliases(&self, _symbol: Symbol) -> Vec<String> {
        Vec::new()
    }
    /// Whether the stream carries candles of `interval` (Coinbase's only of 5 minutes).
    fn streams(&self, interval: Interval) -> bool;
    /// The most topics one connection may hold (the venue's documented limit).
    fn max_topics(&self) -> usize;
    /// How long a healthy connection can stay silent: past it the connection is dropped.
    fn silence_limit(&self) -> Duration;
    /// The pause between two requests (Binance counts incoming messages per second).
    fn request_spacing(&self) -> Duration {
        Duration::ZERO
    }
    /// Requests sent once on connecting, before any topic (Coinbase's heartbeats).
    fn on_connect(&self) -> Vec<String> {
        Vec::new()
    }
    /// The requests that subscribe to `topics` (`subscribe`) or unsubscribe from them;
    /// `next_id` numbers requests where the venue echoes an id.
    fn requests(&self, topics: &[Topic], subscribe: bool, next_id: &mut u64) -> Vec<String>;
    /// Reads one text message; `names` maps the venue's symbol names to ours (for the
    /// topics subscribed), `now` stamps messages the venue does not stamp.
    ///
    /// # Errors
    /// [`DecodeError`] when the message is not one the venue documents.
    fn read(
        &self,
        text: &str,
        names: &HashMap<String, Symbol>,
        now: Timestamp,
    ) -> Result<Vec<StreamEvent>, DecodeError>;
}

/// How the feed connects and reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Backoff between reconnects (full jitter; `max_attempts` is not used: a stream
    /// reconnects for as long as it is wanted).
    pub backoff: RetryPolicy,
    /// How long a connection must have lasted for the backoff to start again from its base.
    pub healthy_after: Duration,
    /// The longest wait for the connection and its TLS handshake.
    pub connect_timeout: Duration,
    /// Overrides the protocol's silence limit (tests).
    pub silence_limit: Option<Duration>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base: Duration::from_millis(500),
                cap: Duration::from_secs(60),
            },
            healthy_after: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            silence_limit: None,
        }
    }
}

/// Counts of what the streams of one venue did, for metrics.
#[derive(Debug, Default)]
pub struct StreamStats {
    messages: AtomicU64,
    reconnects: AtomicU64,
    stalls: AtomicU64,
    gaps: AtomicU64,
    unreadable: AtomicU64,
    refused: AtomicU64,
}

impl StreamStats {
    /// Messages received (pings and heartbeats included).
    #[must_use]
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }
    /// Connections lost and made again (whatever the reason).
    #[must_use]
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
    /// Connections dropped for being silent past the limit.
    #[must_use]
    pub fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
    }
    /// Sequence gaps seen (each ends an epoch).
    #[must_use]
    pub fn gaps(&self) -> u64 {
        self.gaps.load(Ordering::Relaxed)
    }
    /// Messages that could not be read.
    #[must_use]
    pub fn unreadable(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
    }
    /// Requests the venue refused.
    #[must_use]
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// One connection's share of the topics, and what it has received.
#[derive(Default)]
struct Shard {
    wanted: Mutex<BTreeSet<Topic>>,
    changed: Notify,
    book: Mutex<Book>,
    /// Connected, with every wanted topic requested.
    live: AtomicBool,
    /// When the connection last heard from the venue.
    heard: Mutex<Option<Instant>>,
}

impl Shard {
    fn wanted(&self) -> BTreeSet<Topic> {
        lock(&self.wanted).clone()
    }

    /// Time since the venue was last heard on a live connection; `None` when not live.
    fn silence(&self) -> Option<Duration> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.heard).map(|at| at.elapsed())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A live series as the stream holds it: its epoch, the open time of the first candle
/// the stream sent this epoch (candles from it on are all in the stream) and the candles
/// closed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedCandles {
    /// The epoch the candles belong to.
    pub epoch: u64,
    /// The first candle the stream sent this epoch opened then.
    pub since: Timestamp,
    /// Candles closed this epoch, oldest first.
    pub closed: Vec<Candle>,
}

/// The streams of one venue: follows topics, keeps the book, serves it.
pub struct StreamFeed {
    protocol: Arc<dyn StreamProtocol>,
    config: StreamConfig,
    shards: Mutex<Vec<Arc<Shard>>>,
    stats: Arc<StreamStats>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for StreamFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFeed")
            .field("exchange", &self.protocol.exchange())
            .field("url", &self.protocol.url())
            .finish_non_exhaustive()
    }
}

impl Drop for StreamFeed {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl StreamFeed {
    /// A feed over `protocol`; its connections start when it is first asked to follow a
    /// topic (inside a tokio runtime) and stop when it is dropped.
    #[must_use]
    pub fn new(protocol: Arc<dyn StreamProtocol>, config: StreamConfig) -> Self {
        Self {
            protocol,
            config,
            shards: Mutex::default(),
            stats: Arc::default(),
            stop: watch::channel(false).0,
        }
    }

    /// The venue.
    #[must_use]
    pub fn exchange(&self) -> ExchangeId {
        self.protocol.exchange()
    }

    /// What the streams did so far.
    #[must_use]
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Whether the stream carries candles of `interval` for this venue.
    #[must_use]
    pub fn streams(&self, interval: Interval) -> bool {
        self.protocol.streams(interval)
    }

    /// Follows exactly `topics` from now on: new ones are subscribed, the rest
    /// unsubscribed. Series the stream does not carry are left out.
    pub fn follow(&self, topics: impl IntoIterator<Item = Topic>) {
        let topics: BTreeSet<Topic> = topics
            .into_iter()
            .filter(|t| match t {
                Topic::Quotes(_) => true,
                Topic::Candles(_, interval) => self.protocol.streams(*interval),
            })
            .collect();
        let mut shards = lock(&self.shards);
        // Topics stay on the connection that holds them; new ones go where there is room.
        let mut placed: BTreeSet<Topic> = BTreeSet::new();
        for shard in shards.iter() {
            let mut wanted = lock(&shard.wanted);
            let before = wanted.len();
            wanted.retain(|t| topics.contains(t));
            placed.extend(wanted.iter().copied());
            if wanted.len() != before {
                shard.changed.notify_one();
            }
        }
        let max = self.protocol.max_topics().max(1);
        for topic in topics.difference(&placed).copied() {
            let room = shards.iter().find(|s| lock(&s.wanted).len() < max).cloned();
            let shard = room.unwrap_or_else(|| {
                let shard = Arc::new(Shard::default());
                self.spawn(Arc::clone(&shard));
                shards.push(Arc::clone(&shard));
                shard
            });
            lock(&shard.wanted).insert(topic);
            shard.changed.notify_one();
        }
    }

    /// Adds topics to those followed (for callers that ask without following first).
    ///
    /// The hub calls this on every read (a signal's dispatch, a dashboard), so topics
    /// already followed cost a lookup each, not a copy of every topic.
    pub fn also_follow(&self, topics: impl IntoIterator<Item = Topic>) {
        let new: Vec<Topic> = topics
            .into_iter()
            .filter(|t| match t {
                Topic::Quotes(_) => true,
                Topic::Candles(_, interval) => self.protocol.streams(*interval),
            })
            .filter(|t| self.shard_of(*t).is_none())
            .collect();
        if new.is_empty() {
            return;
        }
        let all: BTreeSet<Topic> = lock(&self.shards)
            .iter()
            .flat_map(|s| s.wanted())
            .chain(new)
            .collect();
        self.follow(all);
    }

    fn spawn(&self, shard: Arc<Shard>) {
        let (protocol, config, stats, stop) = (
            Arc::clone(&self.protocol),
            self.config,
            Arc::clone(&self.stats),
            self.stop.subscribe(),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(connection::run(shard, protocol, config, stats, stop));
        } else {
            tracing::warn!(exchange = %self.exchange(), "no runtime: the stream does not start");
        }
    }

    fn shard_of(&self, topic: Topic) -> Option<Arc<Shard>> {
        lock(&self.shards)
            .iter()
            .find(|s| lock(&s.wanted).contains(&topic))
            .cloned()
    }

    /// The tickers of `symbols` and the time since the venue was last heard, when every
    /// one of them is followed on a live connection and has been sent whole.
    #[must_use]
    pub fn tickers(&self, symbols: &[Symbol]) -> Option<(Vec<Ticker>, Duration)> {
        let mut out = Vec::with_capacity(symbols.len());
        let mut age = Duration::ZERO;
        for symbol in symbols {
            let shard = self.shard_of(Topic::Quotes(*symbol))?;
            age = age.max(shard.silence()?);
            out.push(lock(&shard.book).ticker(*symbol)?);
        }
        Some((out, age))
    }

    /// The series' candles as the stream holds them, when it is followed on a live
    /// connection and the stream has sent some of it this epoch.
    #[must_use]
    pub fn candles(&self, symbol: Symbol, interval: Interval) -> Option<StreamedCandles> {
        let shard = self.shard_of(Topic::Candles(symbol, interval))?;
        shard.silence()?;
        let book = lock(&shard.book);
        let (since, closed) = book.closed(symbol, interval)?;
        Some(StreamedCandles {
            epoch: book.epoch(),
            since,
            closed,
        })
    }

    /// The epoch of the connection following the series (`None` when none does).
    #[must_use]
    pub fn epoch(&self, symbol: Symbol, interval: Interval) -> Option<u64> {
        let shard = self.shard_of(Topic::Candles(symbol, interval))?;
        let epoch = lock(&shard.book).epoch();
        Some(epoch)
    }
}

/// Feeds for Binance, Kraken and Coinbase at their documented endpoints. They connect
/// only once the hub follows a market of theirs.
#[must_use]
pub fn venue_feeds(config: StreamConfig) -> Vec<Arc<StreamFeed>> {
    let protocols: [Arc<dyn StreamProtocol>; 3] = [
        Arc::new(crate::binance::stream::BinanceStream::default()),
        Arc::new(crate::kraken::stream::KrakenStream::default()),
        Arc::new(crate::coinbase::stream::CoinbaseStream::default()),
    ];
    protocols
        .into_iter()
        .map(|p| Arc::new(StreamFeed::new(p, config)))
        .collect()
}

#[cfg(test)]
mod tests;
