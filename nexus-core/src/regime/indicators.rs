//! Technical indicators over [`Bar`]s, each streaming (one O(1) update per bar, no
//! allocation after construction) and over a slice (the same streaming code run over it,
//! so both forms always agree).
//!
//! Indicators use `f64`: they inform decisions but never become an order quantity, price
//! or balance.
//!
//! | indicator | first value after | notes |
//! |---|---|---|
//! | [`Sma`] | `period` bars | mean of the last `period` closes |
//! | [`Ema`] | `period` bars | seeded with the SMA, then `α = 2 / (period + 1)` |
//! | [`Atr`] | `period + 1` bars | Wilder's average true range; the first bar has no previous close |
//! | [`Adx`] | `2 · period` bars | Wilder's average directional index, 0–100 |
//! | [`Volatility`] | `period + 1` bars | standard deviation of log returns per bar |
//! | [`Drawdown`] | 1 bar | `close / highest close of the last period bars − 1`, ≤ 0 |
//!
//! ```
//! use nexus_core::regime::indicators::{sma, Bar};
//!
//! let bars: Vec<Bar> = [1.0, 2.0, 3.0, 4.0].iter().map(|&c| Bar::flat(c)).collect();
//! assert_eq!(sma(&bars, 3), [None, None, Some(2.0), Some(3.0)]);
//! ```

use std::collections::VecDeque;

use rust_decimal::Decimal;

use crate::market::Candle;

/// The prices of one candle that indicators read, as `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
}

impl Bar {
    /// A bar whose high, low and close are all `price` (handy in tests).
    #[must_use]
    pub const fn flat(price: f64) -> Self {
        Self {
            high: price,
            low: price,
            close: price,
        }
    }
}

impl From<&Candle> for Bar {
    fn from(c: &Candle) -> Self {
        let f = |p: crate::Price| decimal_to_f64(p.value());
        Self {
            high: f(c.high()),
            low: f(c.low()),
            close: f(c.close()),
        }
    }
}

/// Mantissa ÷ 10^scale: three times faster than `Decimal::to_f64`, and as exact as an
/// `f64` needs to be for an indicator (powers of ten up to 10²² are exact in `f64`).
fn decimal_to_f64(value: Decimal) -> f64 {
    const POW10: [f64; 29] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28,
    ];
    // The scale of a Decimal is at most 28.
    let scale = POW10
        .get(value.scale() as usize)
        .copied()
        .unwrap_or(f64::INFINITY);
    value.mantissa() as f64 / scale
}

/// A fixed-size window over the last `period` values with a running sum.
#[derive(Debug, Clone)]
struct Window {
    values: VecDeque<f64>,
    period: usize,
    sum: f64,
}

impl Window {
    fn new(period: usize) -> Self {
        Self {
            values: VecDeque::with_capacity(period + 1),
            period: period.max(1),
            sum: 0.0,
        }
    }

    /// Adds a value, dropping the oldest once full; returns the mean when full.
    fn push(&mut self, value: f64) -> Option<f64> {
        self.values.push_back(value);
        self.sum += value;
        if self.values.len() > self.period
            && let Some(old) = self.values.pop_front()
        {
            self.sum -= old;
        }
        self.is_full().then(|| self.sum / self.period as f64)
    }

    fn is_full(&self) -> bool {
        self.values.len() == self.period
    }
}

/// Simple moving average of closes.
#[derive(Debug, Clone)]
pub struct Sma {
    window: Window,
    value: Option<f64>,
}

impl Sma {
    /// A moving average over `period` bars (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            window: Window::new(period),
            value: None,
        }
    }

    /// Feeds one value; returns the average once `period` values were seen.
    pub fn update(&mut self, value: f64) -> Option<f64> {
        self.value = self.window.push(value);
        self.value
    }

    /// The current value.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.value
    }
}

/// Exponential moving average of closes, seeded with the SMA of the first `period`.
#[derive(Debug, Clone)]
pub struct Ema {
    alpha: f64,
    seed: Sma,
    value: Option<f64>,
}

impl Ema {
    /// An EMA over `period` bars (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            alpha: 2.0 / (period as f64 + 1.0),
            seed: Sma::new(period),
            value: None,
        }
    }

    /// Feeds one value.
    pub fn update(&mut self, value: f64) -> Option<f64> {
        self.value = match self.value {
            Some(prev) => Some(prev + self.alpha * (value - prev)),
            None => self.seed.update(value),
        };
        self.value
    }

    /// The current value.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.value
    }
}

/// Wilder's smoothing: the mean of the first `period` inputs, then
/// `prev + (x − prev) / period`.
#[derive(Debug, Clone)]
struct Wilder {
    period: usize,
    count: usize,
    sum: f64,
    value: Option<f64>,
}

impl Wilder {
    fn new(period: usize) -> Self {
        Self {
            period: period.max(1),
            count: 0,
            sum: 0.0,
            value: None,
        }
    }

    fn update(&mut self, x: f64) -> Option<f64> {
        let n = self.period as f64;
        self.value = match self.value {
            Some(prev) => Some(prev + (x - prev) / n),
            None => {
                self.count += 1;
                self.sum += x;
                (self.count == self.period).then(|| self.sum / n)
            }
        };
        self.value
    }
}

fn true_range(bar: &Bar, prev_close: f64) -> f64 {
    (bar.high - bar.low)
        .max((bar.high - prev_close).abs())
        .max((bar.low - prev_close).abs())
}

/// Wilder's average true range.
#[derive(Debug, Clone)]
pub struct Atr {
    prev_close: Option<f64>,
    smooth: Wilder,
}

impl Atr {
    /// An ATR over `period` bars (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            prev_close: None,
            smooth: Wilder::new(period),
        }
    }

    /// Feeds one bar.
    pub fn update(&mut self, bar: &Bar) -> Option<f64> {
        let prev = self.prev_close.replace(bar.close);
        match prev {
            Some(prev_close) => self.smooth.update(true_range(bar, prev_close)),
            None => None,
        }
    }

    /// The current value.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.smooth.value
    }
}

/// Wilder's average directional index (trend strength, 0–100, direction-free), with the
/// directional indicators +DI and −DI.
#[derive(Debug, Clone)]
pub struct Adx {
    prev: Option<Bar>,
    tr: Wilder,
    plus_dm: Wilder,
    minus_dm: Wilder,
    adx: Wilder,
    plus_di: Option<f64>,
    minus_di: Option<f64>,
}

impl Adx {
    /// An ADX over `period` bars (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            prev: None,
            tr: Wilder::new(period),
            plus_dm: Wilder::new(period),
            minus_dm: Wilder::new(period),
            adx: Wilder::new(period),
            plus_di: None,
            minus_di: None,
        }
    }

    /// Feeds one bar; returns the ADX once it has warmed up.
    pub fn update(&mut self, bar: &Bar) -> Option<f64> {
        let prev = self.prev.replace(*bar)?;
        let up = bar.high - prev.high;
        let down = prev.low - bar.low;
        // The larger move counts, when it is a move out of the previous range at all.
        let plus = if up > down { up.max(0.0) } else { 0.0 };
        let minus = if down > up { down.max(0.0) } else { 0.0 };
        let tr = self.tr.update(true_range(bar, prev.close));
        let (plus, minus) = (self.plus_dm.update(plus), self.minus_dm.update(minus));
        let (Some(tr), Some(plus), Some(minus)) = (tr, plus, minus) else {
            return None;
        };
        let (plus_di, minus_di) = if tr > 0.0 {
            (100.0 * plus / tr, 100.0 * minus / tr)
        } else {
            (0.0, 0.0)
        };
        self.plus_di = Some(plus_di);
        self.minus_di = Some(minus_di);
        let sum = plus_di + minus_di;
        let dx = if sum > 0.0 {
            100.0 * (plus_di - minus_di).abs() / sum
        } else {
            0.0
        };
        self.adx.update(dx)
    }

    /// The current ADX.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.adx.value
    }

    /// The current +DI and −DI (available before the ADX is).
    #[must_use]
    pub const fn directional(&self) -> Option<(f64, f64)> {
        match (self.plus_di, self.minus_di) {
            (Some(p), Some(m)) => Some((p, m)),
            _ => None,
        }
    }
}

/// Realised volatility: the sample standard deviation of log returns over `period` bars,
/// per bar (multiply by `√(bars per year)` to annualise).
#[derive(Debug, Clone)]
pub struct Volatility {
    prev_close: Option<f64>,
    returns: VecDeque<f64>,
    period: usize,
    sum: f64,
    sum_sq: f64,
    value: Option<f64>,
}

impl Volatility {
    /// Volatility over `period` returns (at least 2).
    #[must_use]
    pub fn new(period: usize) -> Self {
        let period = period.max(2);
        Self {
            prev_close: None,
            returns: VecDeque::with_capacity(period + 1),
            period,
            sum: 0.0,
            sum_sq: 0.0,
            value: None,
        }
    }

    /// Feeds one close.
    pub fn update(&mut self, close: f64) -> Option<f64> {
        let prev = self.prev_close.replace(close)?;
        let r = (close / prev).ln();
        self.returns.push_back(r);
        self.sum += r;
        self.sum_sq += r * r;
        if self.returns.len() > self.period
            && let Some(old) = self.returns.pop_front()
        {
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        if self.returns.len() < self.period {
            return None;
        }
        let n = self.period as f64;
        let variance = ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0);
        self.value = Some(variance.sqrt());
        self.value
    }

    /// The current value.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.value
    }
}

/// Drawdown of the close from the highest close of the last `period` bars: `0` at a new
/// high, `−0.25` a quarter below it. A monotonic queue keeps the update amortised O(1).
#[derive(Debug, Clone)]
pub struct Drawdown {
    period: usize,
    index: usize,
    /// (index, close), closes strictly decreasing from front to back.
    maxima: VecDeque<(usize, f64)>,
    value: Option<f64>,
}

impl Drawdown {
    /// Drawdown from the high of the last `period` bars (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            index: 0,
            maxima: VecDeque::with_capacity(period + 1),
            value: None,
        }
    }

    /// Feeds one close.
    pub fn update(&mut self, close: f64) -> Option<f64> {
        while self.maxima.back().is_some_and(|&(_, c)| c <= close) {
            self.maxima.pop_back();
        }
        self.maxima.push_back((self.index, close));
        while self
            .maxima
            .front()
            .is_some_and(|&(i, _)| i + self.period <= self.index)
        {
            self.maxima.pop_front();
        }
        self.index += 1;
        let high = self.maxima.front().map_or(close, |&(_, c)| c);
        self.value = Some(close / high - 1.0);
        self.value
    }

    /// The current value.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.value
    }
}

/// The highest (or lowest) value of the last `period` inputs, by a monotonic queue:
/// amortised O(1) per update. Used for breakouts (Donchian channels).
#[derive(Debug, Clone)]
pub struct RollingExtreme {
    period: usize,
    highest: bool,
    index: usize,
    /// (index, value), from the extreme at the front to the most recent at the back.
    queue: VecDeque<(usize, f64)>,
}

impl RollingExtreme {
    /// The highest of the last `period` values (at least 1).
    #[must_use]
    pub fn highest(period: usize) -> Self {
        Self::new(period, true)
    }

    /// The lowest of the last `period` values (at least 1).
    #[must_use]
    pub fn lowest(period: usize) -> Self {
        Self::new(period, false)
    }

    fn new(period: usize, highest: bool) -> Self {
        let period = period.max(1);
        Self {
            period,
            highest,
            index: 0,
            queue: VecDeque::with_capacity(period + 1),
        }
    }

    /// The extreme of the window so far, without the value about to be fed: the level a
    /// breakout compares the new bar against. `None` until `period` values were seen.
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        (self.index >= self.period)
            .then(|| self.queue.front().map(|&(_, v)| v))
            .flatten()
    }

    /// Feeds one value.
    pub fn update(&mut self, value: f64) {
        let beaten = |old: f64| {
            if self.highest {
                old <= value
            } else {
                old >= value
            }
        };
        while self.queue.back().is_some_and(|&(_, v)| beaten(v)) {
            self.queue.pop_back();
        }
        self.queue.push_back((self.index, value));
        while self
            .queue
            .front()
            .is_some_and(|&(i, _)| i + self.period <= self.index)
        {
            self.queue.pop_front();
        }
        self.index += 1;
    }
}

/// [`Sma`] of the closes of `bars`, one value per bar.
#[must_use]
pub fn sma(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Sma::new(period);
    bars.iter().map(|b| ind.update(b.close)).collect()
}

/// [`Ema`] of the closes of `bars`, one value per bar.
#[must_use]
pub fn ema(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Ema::new(period);
    bars.iter().map(|b| ind.update(b.close)).collect()
}

/// [`Atr`] of `bars`, one value per bar.
#[must_use]
pub fn atr(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Atr::new(period);
    bars.iter().map(|b| ind.update(b)).collect()
}

/// [`Adx`] of `bars`, one value per bar.
#[must_use]
pub fn adx(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Adx::new(period);
    bars.iter().map(|b| ind.update(b)).collect()
}

/// [`Volatility`] of the closes of `bars`, one value per bar.
#[must_use]
pub fn volatility(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Volatility::new(period);
    bars.iter().map(|b| ind.update(b.close)).collect()
}

/// [`Drawdown`] of the closes of `bars`, one value per bar.
#[must_use]
pub fn drawdown(bars: &[Bar], period: usize) -> Vec<Option<f64>> {
    let mut ind = Drawdown::new(period);
    bars.iter().map(|b| ind.update(b.close)).collect()
}

#[cfg(test)]
mod tests;
