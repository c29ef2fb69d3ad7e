//! Strategies: closed candles in, signals out. A strategy runs once per (strategy, symbol,
//! parameters), never once per user; the fan-out turns its signals into each bot's order.
//!
//! Built in: [`TrendBreakout`], trend following in the style of the Turtle rules.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::fanout::SignalKind;
use crate::market::Candle;
use crate::money::Price;
use crate::regime::indicators::{Atr, Bar, RollingExtreme};

/// What a strategy decided on one candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategySignal {
    /// Entry, pyramid add or exit.
    pub kind: SignalKind,
    /// The candle's close, which the decision was made at.
    pub price: Price,
    /// The ATR at the time, for ATR-based sizing and pyramid triggers.
    pub atr: Option<Price>,
    /// Why, as a stable snake_case word (`breakout`, `atr_add`, `trailing_stop`, …).
    pub reason: &'static str,
}

/// A trading strategy over closed candles of one symbol.
pub trait Strategy: Send {
    /// The strategy's stable name (`trend_breakout`).
    fn name(&self) -> &'static str;

    /// Feeds the next closed candle, in time order; returns the signal it triggers, if any
    /// (at most one per candle).
    fn on_candle(&mut self, candle: &Candle) -> Option<StrategySignal>;
}

/// A strategy's configuration is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} ({value}) must be {expected}")]
pub struct StrategyConfigError {
    /// The field.
    pub field: &'static str,
    /// The rejected value.
    pub value: String,
    /// The allowed range.
    pub expected: &'static str,
}

/// The longest channel or ATR period a strategy may use, in candles: it bounds the
/// strategy's memory and warm-up.
pub const MAX_PERIOD: usize = 1000;
/// The largest ATR multiple of `add_every_atr` and `trailing_stop_atr`.
pub const MAX_ATR_MULTIPLE: f64 = 100.0;

/// Settings of [`TrendBreakout`]. The defaults are the classic Turtle "system 1".
/// Periods are 1 to [`MAX_PERIOD`] (1 000) candles, ATR multiples above 0 and at most
/// [`MAX_ATR_MULTIPLE`] (100), `max_adds` at most [`MAX_ADDS`](crate::pyramid::MAX_ADDS)
/// (20).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendBreakoutConfig {
    /// Enter when the close breaks above the highest high of this many previous candles.
    /// Default 20.
    pub entry_period: usize,
    /// Exit when the close breaks below the lowest low of this many previous candles.
    /// Default 10.
    pub exit_period: usize,
    /// ATR period (the Turtles' "N"). Default 20.
    pub atr_period: usize,
    /// Signal an add each time the close rises this many ATRs above the last entry or add.
    /// Default 0.5.
    pub add_every_atr: f64,
    /// At most this many add signals per position. Default 3.
    pub max_adds: u32,
    /// Exit when the close falls this many ATRs below the highest close since entry.
    /// Default 2.
    pub trailing_stop_atr: f64,
}

impl Default for TrendBreakoutConfig {
    fn default() -> Self {
        Self {
            entry_period: 20,
            exit_period: 10,
            atr_period: 20,
            add_every_atr: 0.5,
            max_adds: 3,
            trailing_stop_atr: 2.0,
        }
    }
}

impl TrendBreakoutConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// A [`StrategyConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), StrategyConfigError> {
        let periods = [
            ("entry_period", self.entry_period),
            ("exit_period", self.exit_period),
            ("atr_period", self.atr_period),
        ];
        for (field, value) in periods {
            if !(1..=MAX_PERIOD).contains(&value) {
                return Err(StrategyConfigError {
                    field,
                    value: value.to_string(),
                    expected: "between 1 and 1000",
                });
            }
        }
        let multiples = [
            ("add_every_atr", self.add_every_atr),
            ("trailing_stop_atr", self.trailing_stop_atr),
        ];
        for (field, value) in multiples {
            // Written so that NaN fails too.
            if !(value > 0.0 && value <= MAX_ATR_MULTIPLE) {
                return Err(StrategyConfigError {
                    field,
                    value: value.to_string(),
                    expected: "above 0 and at most 100",
                });
            }
        }
        if self.max_adds > crate::pyramid::MAX_ADDS {
            return Err(StrategyConfigError {
                field: "max_adds",
                value: self.max_adds.to_string(),
                expected: "at most 20",
            });
        }
        Ok(())
    }
}

/// Trend-following breakout, Turtle style: enter on a breakout above the recent high,
/// size and pyramid in ATRs, leave on an ATR trailing stop or a breakdown below the recent
/// low.
///
/// ```
/// use nexus_core::strategy::{Strategy, TrendBreakout, TrendBreakoutConfig};
/// use nexus_core::{Candle, fanout::SignalKind};
/// use chrono::{Duration, TimeZone, Utc};
///
/// let config = TrendBreakoutConfig { entry_period: 3, atr_period: 2, ..Default::default() };
/// let mut strategy = TrendBreakout::new(config)?;
/// let day = |i: i64, close: &str| {
///     let at = Utc.timestamp_opt(0, 0).unwrap() + Duration::days(i);
///     let c = close.parse().unwrap();
///     Candle::new(at, c, c, c, c, "1".parse().unwrap()).unwrap()
/// };
/// let signals: Vec<_> = [("100", 0), ("101", 1), ("99", 2), ("105", 3)]
///     .into_iter()
///     .filter_map(|(close, i)| strategy.on_candle(&day(i, close)))
///     .collect();
/// assert_eq!(signals.len(), 1);
/// assert_eq!(signals[0].kind, SignalKind::Entry);
/// # Ok::<(), nexus_core::strategy::StrategyConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrendBreakout {
    config: TrendBreakoutConfig,
    highs: RollingExtreme,
    lows: RollingExtreme,
    atr: Atr,
    /// While in a position: the last entry/add close, the highest close and the adds.
    position: Option<Held>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    last_buy: f64,
    highest_close: f64,
    adds: u32,
}

impl TrendBreakout {
    /// The strategy with a validated configuration.
    ///
    /// # Errors
    /// When the configuration is invalid.
    pub fn new(config: TrendBreakoutConfig) -> Result<Self, StrategyConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            highs: RollingExtreme::highest(config.entry_period),
            lows: RollingExtreme::lowest(config.exit_period),
            atr: Atr::new(config.atr_period),
            position: None,
        })
    }

    fn signal(
        kind: SignalKind,
        candle: &Candle,
        atr: Option<f64>,
        reason: &'static str,
    ) -> StrategySignal {
        let atr = atr
            .and_then(|a| Decimal::try_from(a).ok())
            .and_then(|a| Price::new(a.round_dp(8)).ok());
        StrategySignal {
            kind,
            price: candle.close(),
            atr,
            reason,
        }
    }
}

impl Strategy for TrendBreakout {
    fn name(&self) -> &'static str {
        "trend_breakout"
    }

    fn on_candle(&mut self, candle: &Candle) -> Option<StrategySignal> {
        let bar = Bar::from(candle);
        // Channels of the *previous* candles: a breakout compares today with them.
        let (entry_level, exit_level) = (self.highs.value(), self.lows.value());
        self.highs.update(bar.high);
        self.lows.update(bar.low);
        let atr = self.atr.update(&bar);
        let c = &self.config;
        match self.position.as_mut() {
            None => {
                let breakout = entry_level.is_some_and(|high| bar.close > high);
                if breakout && atr.is_some() {
                    self.position = Some(Held {
                        last_buy: bar.close,
                        highest_close: bar.close,
                        adds: 0,
                    });
                    return Some(Self::signal(SignalKind::Entry, candle, atr, "breakout"));
                }
                None
            }
            Some(held) => {
                held.highest_close = held.highest_close.max(bar.close);
                let atr_value = atr.unwrap_or(0.0);
                let stop = held.highest_close - c.trailing_stop_atr * atr_value;
                let reason = if bar.close < stop {
                    Some("trailing_stop")
                } else if exit_level.is_some_and(|low| bar.close < low) {
                    Some("breakdown")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.position = None;
                    return Some(Self::signal(SignalKind::Exit, candle, atr, reason));
                }
                if held.adds < c.max_adds
                    && bar.close >= held.last_buy + c.add_every_atr * atr_value
                {
                    held.adds += 1;
                    held.last_buy = bar.close;
                    return Some(Self::signal(SignalKind::Add, candle, atr, "atr_add"));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
