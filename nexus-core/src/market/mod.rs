//! Market data: [`Candle`]s for indicators, [`Ticker`]s for prices, and the
//! [`MarketSnapshot`] one whole fan-out is computed from, so every user's order in a
//! decision is sized from the same prices.

pub mod csv;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::MarketError;
use crate::instrument::{ExchangeId, Instrument, Symbol};
use crate::money::{Price, Quantity};
use crate::order::Side;

/// A candle length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Interval {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// Four hours.
    #[serde(rename = "4h")]
    H4,
    /// One day.
    #[serde(rename = "1d")]
    D1,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Self; 6] = [Self::M1, Self::M5, Self::M15, Self::H1, Self::H4, Self::D1];

    /// The conventional short name (`"1h"`), as most venues spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }

    /// The length of one candle.
    #[must_use]
    pub const fn duration(self) -> Duration {
        let minutes = match self {
            Self::M1 => 1,
            Self::M5 => 5,
            Self::M15 => 15,
            Self::H1 => 60,
            Self::H4 => 240,
            Self::D1 => 1440,
        };
        Duration::from_secs(minutes * 60)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = MarketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| MarketError::UnknownInterval {
                input: s.chars().take(16).collect(),
            })
    }
}

/// One OHLCV candle. The constructor checks that high and low bound open and close.
///
/// ```
/// use nexus_core::{Candle, Price, Quantity};
/// use chrono::{TimeZone, Utc};
///
/// let p = |s: &str| s.parse::<Price>().unwrap();
/// let at = Utc.with_ymd_and_hms(2020, 3, 12, 0, 0, 0).unwrap();
/// let candle = Candle::new(at, p("7932.64"), p("7966.17"), p("4410"), p("4800"), "144000".parse()?)?;
/// assert!(candle.close() < candle.open());
/// assert!(Candle::new(at, p("10"), p("9"), p("8"), p("10"), "1".parse()?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CandleRepr", into = "CandleRepr")]
pub struct Candle {
    open_time: Timestamp,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    volume: Quantity,
}

#[derive(Serialize, Deserialize)]
struct CandleRepr {
    open_time: Timestamp,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    volume: Quantity,
}

impl TryFrom<CandleRepr> for Candle {
    type Error = MarketError;

    fn try_from(r: CandleRepr) -> Result<Self, Self::Error> {
        Self::new(r.open_time, r.open, r.high, r.low, r.close, r.volume)
    }
}

impl From<Candle> for CandleRepr {
    fn from(c: Candle) -> Self {
        Self {
            open_time: c.open_time,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.volume,
        }
    }
}

impl Candle {
    /// A consistent candle.
    ///
    /// # Errors
    /// [`MarketError::InconsistentCandle`] when `high` is below open, close or low, or
    /// `low` above open or close.
    pub fn new(
        open_time: Timestamp,
        open: Price,
        high: Price,
        low: Price,
        close: Price,
        volume: Quantity,
    ) -> Result<Self, MarketError> {
        let reason = if high < open.max(close) {
            Some("high is below the open or close")
        } else if low > open.min(close) {
            Some("low is above the open or close")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(MarketError::InconsistentCandle {
                at: open_time.to_rfc3339(),
                reason,
            });
        }
        Ok(Self {
            open_time,
            open,
            high,
            low,
            close,
            volume,
        })
    }

    /// When the candle opened.
    #[must_use]
    pub const fn open_time(&self) -> Timestamp {
        self.open_time
    }
    /// The first price.
    #[must_use]
    pub const fn open(&self) -> Price {
        self.open
    }
    /// The highest price.
    #[must_use]
    pub const fn high(&self) -> Price {
        self.high
    }
    /// The lowest price.
    #[must_use]
    pub const fn low(&self) -> Price {
        self.low
    }
    /// The last price.
    #[must_use]
    pub const fn close(&self) -> Price {
        self.close
    }
    /// The base volume traded.
    #[must_use]
    pub const fn volume(&self) -> Quantity {
        self.volume
    }
}

/// The best prices for one symbol at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TickerRepr", into = "TickerRepr")]
pub struct Ticker {
    symbol: Symbol,
    bid: Price,
    ask: Price,
    last: Price,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct TickerRepr {
    symbol: Symbol,
    bid: Price,
    ask: Price,
    last: Price,
    at: Timestamp,
}

impl TryFrom<TickerRepr> for Ticker {
    type Error = MarketError;

    fn try_from(r: TickerRepr) -> Result<Self, Self::Error> {
        Self::new(r.symbol, r.bid, r.ask, r.last, r.at)
    }
}

impl From<Ticker> for TickerRepr {
    fn from(t: Ticker) -> Self {
        Self {
            symbol: t.symbol,
            bid: t.bid,
            ask: t.ask,
            last: t.last,
            at: t.at,
        }
    }
}

impl Ticker {
    /// A ticker whose bid is not above its ask.
    ///
    /// # Errors
    /// [`MarketError::CrossedBook`] when `bid > ask`.
    pub fn new(
        symbol: Symbol,
        bid: Price,
        ask: Price,
        last: Price,
        at: Timestamp,
    ) -> Result<Self, MarketError> {
        if bid > ask {
            return Err(MarketError::CrossedBook {
                symbol: symbol.to_string(),
                bid: bid.value(),
                ask: ask.value(),
            });
        }
        Ok(Self {
            symbol,
            bid,
            ask,
            last,
            at,
        })
    }

    /// The pair.
    #[must_use]
    pub const fn symbol(&self) -> Symbol {
        self.symbol
    }
    /// The best bid.
    #[must_use]
    pub const fn bid(&self) -> Price {
        self.bid
    }
    /// The best ask.
    #[must_use]
    pub const fn ask(&self) -> Price {
        self.ask
    }
    /// The last trade price.
    #[must_use]
    pub const fn last(&self) -> Price {
        self.last
    }
    /// When the venue produced it.
    #[must_use]
    pub const fn at(&self) -> Timestamp {
        self.at
    }

    /// The price a market order on `side` would expect: a buy pays the ask, a sell gets
    /// the bid.
    #[must_use]
    pub const fn price_for(&self, side: Side) -> Price {
        match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        }
    }
}

/// One consistent view of a venue's market: tickers and instruments and when they were
/// taken. A whole fan-out uses one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    exchange: ExchangeId,
    taken_at: Timestamp,
    tickers: BTreeMap<Symbol, Ticker>,
    instruments: BTreeMap<Symbol, Instrument>,
}

impl MarketSnapshot {
    /// An empty snapshot of `exchange` taken at `taken_at`.
    #[must_use]
    pub fn new(exchange: ExchangeId, taken_at: Timestamp) -> Self {
        Self {
            exchange,
            taken_at,
            tickers: BTreeMap::new(),
            instruments: BTreeMap::new(),
        }
    }

    /// Adds or replaces a ticker.
    pub fn insert_ticker(&mut self, ticker: Ticker) {
        self.tickers.insert(ticker.symbol, ticker);
    }

    /// Adds or replaces an instrument. Instruments of another venue are ignored and
    /// reported with `false`, so a snapshot never mixes venues.
    pub fn insert_instrument(&mut self, instrument: Instrument) -> bool {
        if instrument.exchange() != self.exchange {
            return false;
        }
        self.instruments.insert(instrument.symbol(), instrument);
        true
    }

    /// The venue.
    #[must_use]
    pub const fn exchange(&self) -> ExchangeId {
        self.exchange
    }

    /// When the data was taken.
    #[must_use]
    pub const fn taken_at(&self) -> Timestamp {
        self.taken_at
    }

    /// The ticker of `symbol`, if the snapshot has it.
    #[must_use]
    pub fn ticker(&self, symbol: &Symbol) -> Option<&Ticker> {
        self.tickers.get(symbol)
    }

    /// The instrument of `symbol`, if the snapshot has it.
    #[must_use]
    pub fn instrument(&self, symbol: &Symbol) -> Option<&Instrument> {
        self.instruments.get(symbol)
    }

    /// How old the data is at `now` (zero if `now` is before it was taken).
    #[must_use]
    pub fn age(&self, now: Timestamp) -> Duration {
        (now - self.taken_at).to_std().unwrap_or(Duration::ZERO)
    }

    /// Whether the data is older than `max_age` at `now`.
    #[must_use]
    pub fn is_stale(&self, now: Timestamp, max_age: Duration) -> bool {
        self.age(now) > max_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn at(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_600_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn intervals_print_as_they_are_written_and_serialised() {
        for interval in Interval::ALL {
            let json = serde_json::to_string(&interval).unwrap();
            assert_eq!(json, format!("\"{interval}\""));
            assert_eq!(interval.to_string().parse::<Interval>().unwrap(), interval);
        }
        assert_eq!(Interval::D1.to_string(), "1d");
    }

    #[test]
    fn candles_must_be_consistent() {
        let v: Quantity = "1".parse().unwrap();
        assert!(Candle::new(at(0), p("10"), p("12"), p("9"), p("11"), v).is_ok());
        let err = Candle::new(at(0), p("10"), p("10.5"), p("9"), p("11"), v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "candle at 2020-09-13T12:26:40+00:00 is inconsistent: high is below the open or close"
        );
        let err = Candle::new(at(0), p("10"), p("12"), p("10.5"), p("11"), v).unwrap_err();
        assert!(err.to_string().ends_with("low is above the open or close"));
        let json = r#"{"open_time":"2020-09-13T12:26:40Z","open":"10","high":"9","low":"8","close":"9","volume":"1"}"#;
        assert!(serde_json::from_str::<Candle>(json).is_err());
    }

    #[test]
    fn tickers_refuse_crossed_books_and_price_by_side() {
        let symbol: Symbol = "BTC/USDT".parse().unwrap();
        let t = Ticker::new(symbol, p("99"), p("101"), p("100"), at(0)).unwrap();
        assert_eq!(t.price_for(Side::Buy), p("101"));
        assert_eq!(t.price_for(Side::Sell), p("99"));
        assert!(Ticker::new(symbol, p("102"), p("101"), p("100"), at(0)).is_err());
    }

    #[test]
    fn snapshot_age_and_staleness() {
        let mut snap = MarketSnapshot::new(ExchangeId::Paper, at(0));
        let symbol: Symbol = "BTC/USDT".parse().unwrap();
        snap.insert_ticker(Ticker::new(symbol, p("1"), p("1"), p("1"), at(0)).unwrap());
        assert!(snap.ticker(&symbol).is_some());
        assert_eq!(snap.age(at(20)), Duration::from_secs(20));
        assert_eq!(snap.age(at(-5)), Duration::ZERO);
        assert!(!snap.is_stale(at(15), Duration::from_secs(15)));
        assert!(snap.is_stale(at(16), Duration::from_secs(15)));
    }

    #[test]
    fn intervals_parse_their_short_names() {
        for interval in Interval::ALL {
            assert_eq!(interval.as_str().parse::<Interval>().unwrap(), interval);
        }
        assert_eq!(Interval::H4.duration(), Duration::from_secs(4 * 3600));
        assert!("2h".parse::<Interval>().is_err());
    }
}
