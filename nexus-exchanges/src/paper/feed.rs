//! A simulated market for the Paper venue, so a fresh install has prices that move: it
//! replays real candles (the BTC/USDT daily history shipped in `data/`) or a seeded random
//! walk, one candle per tick at a configurable speed, and keeps the venue's ticker at each
//! candle's close with a small spread.
//!
//! Replayed candles are re-dated to end now, so strategies see a recent, closed history.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{Candle, Interval, Price, Quantity, Symbol, Ticker};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::PaperVenue;

/// The real BTC/USDT daily candles shipped with Nexus (Aug 2017 – Jun 2021; licence in
/// `data/`).
pub const SHIPPED_BTC_USDT_DAILY: &str =
    include_str!("../../../data/btc_usdt_1d_2017-08_2021-06.csv");

/// Where prices come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    /// These candles, in order, then again from the start.
    Replay(Vec<Candle>),
    /// A geometric random walk: reproducible for a seed.
    RandomWalk {
        /// The seed.
        seed: u64,
        /// The first price.
        start: Price,
        /// The typical move per candle, in basis points of the price.
        volatility_bps: u32,
    },
}

impl FeedSource {
    /// The shipped real BTC/USDT history.
    ///
    /// # Errors
    /// The shipped file does not parse (it does: a test reads it).
    pub fn shipped_btc_usdt() -> Result<Self, nexus_core::market::csv::CandleCsvError> {
        nexus_core::market::csv::parse_candles(SHIPPED_BTC_USDT_DAILY).map(Self::Replay)
    }
}

/// A running simulation of one symbol.
#[derive(Debug)]
pub struct SimulatedFeed {
    venue: Arc<PaperVenue>,
    symbol: Symbol,
    interval: Interval,
    source: FeedSource,
    rng: StdRng,
    next: usize,
    last_close: Option<Decimal>,
    spread_bps: u32,
}

impl SimulatedFeed {
    /// A feed of `symbol` candles of `interval` into `venue`.
    #[must_use]
    pub fn new(
        venue: Arc<PaperVenue>,
        symbol: Symbol,
        interval: Interval,
        source: FeedSource,
    ) -> Self {
        let seed = match &source {
            FeedSource::RandomWalk { seed, .. } => *seed,
            FeedSource::Replay(_) => 0,
        };
        Self {
            venue,
            symbol,
            interval,
            source,
            rng: StdRng::seed_from_u64(seed),
            next: 0,
            last_close: None,
            spread_bps: 2,
        }
    }

    /// Publishes `count` candles at once, the last one closing at `now`: a history for
    /// strategies to start from.
    pub fn warm_up(&mut self, count: usize, now: DateTime<Utc>) {
        let step = chrono::Duration::from_std(self.interval.duration()).unwrap_or_default();
        for i in (0..count).rev() {
            let closes_at = now - step * i32::try_from(i).unwrap_or(i32::MAX);
            self.step(closes_at);
        }
    }

    /// Publishes the next candle, closing at `now`, and moves the ticker to its close.
    /// Returns it (`None` only if the source has no candles at all).
    pub fn step(&mut self, now: DateTime<Utc>) -> Option<Candle> {
        let length = chrono::Duration::from_std(self.interval.duration()).unwrap_or_default();
        let open_time = now - length;
        let candle = match &self.source {
            FeedSource::Replay(candles) => {
                let source = candles.get(self.next % candles.len().max(1))?;
                self.next += 1;
                Candle::new(
                    open_time,
                    source.open(),
                    source.high(),
                    source.low(),
                    source.close(),
                    source.volume(),
                )
                .ok()?
            }
            FeedSource::RandomWalk {
                start,
                volatility_bps,
                ..
            } => {
                let (start, volatility) = (start.value(), *volatility_bps);
                self.walk(open_time, start, volatility)?
            }
        };
        self.last_close = Some(candle.close().value());
        self.venue.push_candle(self.symbol, self.interval, candle);
        if let Some(ticker) = self.ticker(candle.close(), now) {
            self.venue.set_ticker(ticker);
        }
        Some(candle)
    }

    /// One random-walk candle: four moves (open → two extremes → close), each up to
    /// `volatility` basis points, never below a cent.
    fn walk(
        &mut self,
        open_time: DateTime<Utc>,
        start: Decimal,
        volatility: u32,
    ) -> Option<Candle> {
        let open = self.last_close.unwrap_or(start);
        let mut price = open;
        let mut path = [open; 4];
        for point in path.iter_mut().skip(1) {
            let bps = i64::from(self.rng.random_range(0..=2 * volatility)) - i64::from(volatility);
            let factor = Decimal::ONE + Decimal::new(bps, 4);
            price = (price * factor).round_dp(2).max(Decimal::new(1, 2));
            *point = price;
        }
        let close = path[3];
        let high = path.iter().copied().fold(open, Decimal::max);
        let low = path.iter().copied().fold(open, Decimal::min);
        let volume = Decimal::new(i64::from(self.rng.random_range(1_000..100_000u32)), 3);
        let p = |d: Decimal| Price::new(d).ok();
        Candle::new(
            open_time,
            p(open)?,
            p(high)?,
            p(low)?,
            p(close)?,
            Quantity::new(volume).ok()?,
        )
        .ok()
    }

    fn ticker(&self, last: Price, at: DateTime<Utc>) -> Option<Ticker> {
        let half = last.value() * Decimal::new(i64::from(self.spread_bps), 4) / Decimal::TWO;
        let bid = Price::new((last.value() - half).round_dp(8)).ok()?;
        let ask = Price::new((last.value() + half).round_dp(8)).ok()?;
        Ticker::new(self.symbol, bid, ask, last, at).ok()
    }

    /// Runs the feed: one candle every `every` of real time (a day's candle every 5 s
    /// replays four years in two hours), until the task is aborted.
    #[must_use]
    pub fn spawn(mut self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.step(Utc::now());
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::MarketData;

    use super::*;
    use crate::paper::PaperConfig;

    fn btc() -> Symbol {
        "BTC/USDT".parse().unwrap()
    }

    #[tokio::test]
    async fn the_shipped_history_replays_in_order_re_dated_to_now() {
        let venue = PaperVenue::new(PaperConfig::default());
        let FeedSource::Replay(history) = FeedSource::shipped_btc_usdt().unwrap() else {
            panic!("a replay");
        };
        assert!(history.len() > 1000, "four years of days");
        let mut feed = SimulatedFeed::new(
            Arc::clone(&venue),
            btc(),
            Interval::D1,
            FeedSource::Replay(history.clone()),
        );
        let now = Utc::now();
        feed.warm_up(30, now);
        let candles = venue.candles(btc(), Interval::D1, 100).await.unwrap();
        assert_eq!(candles.len(), 30);
        assert_eq!(
            candles.iter().map(Candle::close).collect::<Vec<_>>(),
            history[..30].iter().map(Candle::close).collect::<Vec<_>>(),
            "the real closes, in order"
        );
        assert_eq!(
            candles[29].open_time(),
            now - chrono::Duration::days(1),
            "the last closed now"
        );
        let ticker = venue.tickers(&[btc()]).await.unwrap()[0];
        assert_eq!(ticker.last(), history[29].close());
        assert!(ticker.bid() < ticker.last() && ticker.last() < ticker.ask());
    }

    #[tokio::test]
    async fn a_random_walk_is_reproducible_consistent_and_positive() {
        let walk = |seed| {
            let venue = PaperVenue::new(PaperConfig::default());
            let source = FeedSource::RandomWalk {
                seed,
                start: "60000".parse().unwrap(),
                volatility_bps: 150,
            };
            let mut feed = SimulatedFeed::new(venue, btc(), Interval::M1, source);
            let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
            (0..500)
                .filter_map(|i| feed.step(now + chrono::Duration::minutes(i)))
                .collect::<Vec<_>>()
        };
        let a = walk(7);
        assert_eq!(a.len(), 500);
        assert!(a == walk(7), "the same seed, the same market");
        assert!(a != walk(8));
        assert!(
            a.windows(2).all(|w| w[1].open() == w[0].close()),
            "each candle opens at the last close"
        );
        assert!(
            a.iter()
                .all(|c| c.low() <= c.open().min(c.close()) && c.high() >= c.open().max(c.close()))
        );
        let moved = a.iter().filter(|c| c.close() != c.open()).count();
        assert!(moved > 400, "prices move: {moved}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_running_feed_publishes_one_candle_per_tick() {
        let venue = PaperVenue::new(PaperConfig::default());
        let source = FeedSource::RandomWalk {
            seed: 1,
            start: "100".parse().unwrap(),
            volatility_bps: 50,
        };
        let task = SimulatedFeed::new(Arc::clone(&venue), btc(), Interval::M1, source)
            .spawn(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(4_500)).await;
        task.abort();
        let candles = venue.candles(btc(), Interval::M1, 100).await.unwrap();
        assert_eq!(candles.len(), 5, "at 0, 1, 2, 3 and 4 s");
        assert_eq!(venue.tickers(&[btc()]).await.unwrap().len(), 1);
    }
}
