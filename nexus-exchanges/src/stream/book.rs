//! What a stream has told us: the latest quote of each symbol and the closed candles of
//! each series since the connection's current *epoch* began. An epoch ends whenever the
//! stream may have missed something (a reconnect, a sequence gap): its candles are dropped
//! then, and the hub takes one REST snapshot before it trusts the stream again.

use std::collections::{HashMap, VecDeque};

use nexus_core::{Candle, Interval, Price, Symbol, Ticker, Timestamp};

/// Closed candles kept per series: enough for any strategy's look-back between two
/// snapshots (the hub merges them onto its REST history).
const KEPT: usize = 1_000;

/// A piece of a quote: venues send the best prices and the last trade apart (Binance's
/// book ticker has no last price; its klines carry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The pair.
    pub symbol: Symbol,
    /// The best bid, when this message carries it.
    pub bid: Option<Price>,
    /// The best ask, when this message carries it.
    pub ask: Option<Price>,
    /// The last trade's price, when this message carries it.
    pub last: Option<Price>,
    /// When the venue stamped it (or when it arrived, for venues that stamp nothing).
    pub at: Timestamp,
}

/// One candle of a series as the venue sent it: the forming one (updated until the next
/// opens) or one the venue says has closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandleUpdate {
    /// The pair.
    pub symbol: Symbol,
    /// The series' interval.
    pub interval: Interval,
    /// The candle so far.
    pub candle: Candle,
    /// The venue says no trade will change it any more.
    pub closed: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Latest {
    bid: Option<Price>,
    ask: Option<Price>,
    last: Option<Price>,
    at: Option<Timestamp>,
}

#[derive(Debug)]
struct Series {
    /// The first candle sent this epoch opened then: from it on, every candle is here.
    since: Timestamp,
    forming: Option<Candle>,
    closed: VecDeque<Candle>,
}

/// The latest quotes and this epoch's closed candles.
#[derive(Debug, Default)]
pub(crate) struct Book {
    epoch: u64,
    quotes: HashMap<Symbol, Latest>,
    series: HashMap<(Symbol, Interval), Series>,
}

impl Book {
    /// The current epoch: it changes whenever candles may have been missed.
    pub(crate) const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Starts a new epoch: the stream may have missed messages, so its candles and quotes
    /// are forgotten until it sends them again.
    pub(crate) fn break_epoch(&mut self) {
        self.epoch += 1;
        self.quotes.clear();
        self.series.clear();
    }

    /// Forgets what is no longer subscribed.
    pub(crate) fn retain(
        &mut self,
        symbols: impl Fn(Symbol) -> bool,
        series: impl Fn(Symbol, Interval) -> bool,
    ) {
        self.quotes.retain(|s, _| symbols(*s));
        self.series.retain(|(s, i), _| series(*s, *i));
    }

    /// Takes a quote's parts in; older parts than those held are ignored.
    pub(crate) fn quote(&mut self, q: Quote) {
        let latest = self.quotes.entry(q.symbol).or_default();
        if latest.at.is_some_and(|at| q.at < at) {
            return;
        }
        latest.bid = q.bid.or(latest.bid);
        latest.ask = q.ask.or(latest.ask);
        latest.last = q.last.or(latest.last);
        latest.at = Some(q.at);
    }

    /// Takes a candle in. A forming candle closes the one before it (Kraken and Coinbase
    /// only say a candle is done by starting the next); the forming candle's close is the
    /// last trade's price.
    pub(crate) fn candle(&mut self, u: CandleUpdate) {
        let open = u.candle.open_time();
        let series = self
            .series
            .entry((u.symbol, u.interval))
            .or_insert_with(|| Series {
                since: open,
                forming: None,
                closed: VecDeque::new(),
            });
        let newest = series.forming.or(series.closed.back().copied());
        if series.closed.back().is_some_and(|c| c.open_time() >= open)
            || newest.is_some_and(|c| c.open_time() > open)
        {
            // Already closed (a repeated snapshot), or older than what is held: a straggler.
            return;
        }
        if let Some(forming) = series.forming
            && forming.open_time() < open
        {
            series.push(forming);
            series.forming = None;
        }
        if u.closed {
            series.push(u.candle);
            series.forming = None;
        } else {
            series.forming = Some(u.candle);
        }
        // The newest candle's close is the last trade's price.
        self.quotes.entry(u.symbol).or_default().last = Some(u.candle.close());
    }

    /// The ticker of `symbol`, once the stream has sent its bid, ask and last price.
    pub(crate) fn ticker(&self, symbol: Symbol) -> Option<Ticker> {
        let q = self.quotes.get(&symbol)?;
        Ticker::new(symbol, q.bid?, q.ask?, q.last?, q.at?).ok()
    }

    /// When the series' first candle this epoch opened, and the candles closed since,
    /// oldest first; `None` when the stream has sent nothing of it yet this epoch.
    pub(crate) fn closed(
        &self,
        symbol: Symbol,
        interval: Interval,
    ) -> Option<(Timestamp, Vec<Candle>)> {
        let series = self.series.get(&(symbol, interval))?;
        Some((series.since, series.closed.iter().copied().collect()))
    }
}

impl Series {
    /// Keeps the last [`KEPT`] closed candles; once older ones go, the series is complete
    /// only from the oldest one kept.
    fn push(&mut self, candle: Candle) {
        if self.closed.len() == KEPT {
            self.closed.pop_front();
            if let Some(oldest) = self.closed.front() {
                self.since = oldest.open_time();
            }
        }
        self.closed.push_back(candle);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};
    use nexus_core::Quantity;

    use super::*;

    fn sym() -> Symbol {
        "BTC/USDT".parse().unwrap()
    }

    fn p(v: &str) -> Price {
        v.parse().unwrap()
    }

    fn at(minute: i64) -> Timestamp {
        DateTime::UNIX_EPOCH + Duration::minutes(minute)
    }

    fn candle(minute: i64, close: &str, closed: bool) -> CandleUpdate {
        let c = p(close);
        CandleUpdate {
            symbol: sym(),
            interval: Interval::M1,
            candle: Candle::new(at(minute), c, c, c, c, Quantity::new(1.into()).unwrap()).unwrap(),
            closed,
        }
    }

    fn closes(book: &Book) -> Vec<String> {
        book.closed(sym(), Interval::M1)
            .map(|(_, closed)| closed)
            .unwrap_or_default()
            .iter()
            .map(|c| c.close().to_string())
            .collect()
    }

    #[test]
    fn a_ticker_needs_every_part_and_newer_parts_replace_older() {
        let mut book = Book::default();
        let quote = |bid: Option<&str>, ask: Option<&str>, last: Option<&str>, minute| Quote {
            symbol: sym(),
            bid: bid.map(p),
            ask: ask.map(p),
            last: last.map(p),
            at: at(minute),
        };
        book.quote(quote(Some("99"), Some("101"), None, 1));
        assert_eq!(book.ticker(sym()), None, "no last price yet");
        book.quote(quote(None, None, Some("100"), 2));
        let t = book.ticker(sym()).unwrap();
        assert_eq!(
            (t.bid(), t.ask(), t.last(), t.at()),
            (p("99"), p("101"), p("100"), at(2))
        );
        // An older message arriving late changes nothing.
        book.quote(quote(Some("1"), Some("2"), Some("1"), 0));
        assert_eq!(book.ticker(sym()).unwrap().bid(), p("99"));
        // A message stamped the same moment (Binance's book ticker carries no time: two in
        // one clock tick) is the newer one.
        book.quote(quote(Some("98"), None, None, 2));
        assert_eq!(book.ticker(sym()).unwrap().bid(), p("98"));
        // A crossed book is no ticker.
        book.quote(quote(Some("102"), None, None, 3));
        assert_eq!(book.ticker(sym()), None);
    }

    #[test]
    fn a_forming_candle_closes_when_the_next_one_starts() {
        let mut book = Book::default();
        assert_eq!(book.closed(sym(), Interval::M1), None, "nothing sent yet");
        book.candle(candle(0, "10", false));
        book.candle(candle(0, "11", false));
        assert_eq!(closes(&book), Vec::<String>::new(), "still forming");
        book.candle(candle(1, "12", false));
        assert_eq!(closes(&book), ["11"], "its last update is what closed");
        // Binance says so itself; the same candle sent again is not a second one.
        book.candle(candle(1, "13", true));
        book.candle(candle(1, "13", true));
        assert_eq!(closes(&book), ["11", "13"]);
        // A stale forming update of a closed minute is ignored.
        book.candle(candle(1, "99", false));
        assert_eq!(closes(&book), ["11", "13"]);
        assert_eq!(
            book.quotes[&sym()].last,
            Some(p("13")),
            "the close is the last price"
        );
    }

    #[test]
    fn a_broken_epoch_forgets_candles_and_quotes() {
        let mut book = Book::default();
        book.candle(candle(0, "10", true));
        let before = book.epoch();
        book.break_epoch();
        assert_eq!(book.epoch(), before + 1);
        assert_eq!(book.closed(sym(), Interval::M1), None);
        assert!(book.quotes.is_empty());
    }

    #[test]
    fn what_is_no_longer_followed_is_forgotten() {
        let mut book = Book::default();
        let other: Symbol = "ETH/USDT".parse().unwrap();
        book.candle(candle(0, "10", true));
        book.candle(CandleUpdate {
            symbol: other,
            ..candle(0, "20", true)
        });
        // Only ETH's candles stay followed; BTC's quote goes too.
        book.retain(|s| s == other, |s, _| s == other);
        assert_eq!(book.closed(sym(), Interval::M1), None);
        assert!(!book.quotes.contains_key(&sym()));
        assert_eq!(book.closed(other, Interval::M1).unwrap().1.len(), 1);
        // Followed again later, BTC starts afresh: what it missed meanwhile is not there.
        book.candle(candle(5, "11", false));
        assert_eq!(
            book.closed(sym(), Interval::M1).unwrap(),
            (at(5), Vec::new())
        );
    }

    #[test]
    fn at_most_the_kept_number_of_candles_stay() {
        let mut book = Book::default();
        for minute in 0..=i64::try_from(KEPT).unwrap() {
            book.candle(candle(minute, "10", true));
        }
        let (since, closed) = book.closed(sym(), Interval::M1).unwrap();
        assert_eq!(closed.len(), KEPT);
        assert_eq!(closed[0].open_time(), at(1), "the oldest went first");
        assert_eq!(since, at(1), "complete from the oldest kept");
    }

    proptest::proptest! {
        /// Whatever order updates arrive in (repeats, late ones, closed or not), the
        /// closed candles are one per minute, in order, never the forming one, and all
        /// from `since` on.
        #[test]
        fn closed_candles_stay_ordered_and_unique(
            updates in proptest::collection::vec((0i64..40, proptest::bool::ANY), 0..120)
        ) {
            let mut book = Book::default();
            let mut newest = None;
            for (minute, closed) in updates {
                book.candle(candle(minute, "10", closed));
                newest = newest.max(Some(minute));
            }
            if let Some((since, closed)) = book.closed(sym(), Interval::M1) {
                proptest::prop_assert!(closed.windows(2).all(|w| w[0].open_time() < w[1].open_time()));
                proptest::prop_assert!(closed.iter().all(|c| c.open_time() >= since));
                let forming = book.series[&(sym(), Interval::M1)].forming;
                if let (Some(forming), Some(last)) = (forming, closed.last()) {
                    proptest::prop_assert!(forming.open_time() > last.open_time());
                }
                proptest::prop_assert!(closed.iter().all(|c| Some(c.open_time()) <= newest.map(at)));
            }
        }
    }
}
