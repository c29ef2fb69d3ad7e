//! The classifier: indicators in, a [`Regime`] out, with hysteresis so the regime does
//! not flap.
//!
//! Each bar gets a *raw* regime from these rules, first match wins:
//!
//! 1. annualised volatility ≥ `volatile_above` → `Volatile`;
//! 2. fast EMA > slow EMA, close > slow EMA (to enter; not to stay) and
//!    ADX ≥ `trend_strength` → `Bull`;
//! 3. fast EMA < slow EMA, close < slow EMA (to enter; not to stay) and
//!    (ADX ≥ `trend_strength` or drawdown from the rolling high ≥ `bear_drawdown`) → `Bear`;
//! 4. otherwise → `Sideways`.
//!
//! Hysteresis, twice over: the thresholds of the *current* regime are relaxed by
//! `exit_band` (so a value hovering at a threshold does not flip the regime), and the
//! *confirmed* regime changes only when the raw regime has differed from it for
//! `confirm_bars` consecutive bars (`risk_off_confirm_bars` for a move into `bear` or
//! `volatile`: risk off fast, risk on slowly). Until the indicators have warmed up
//! ([`RegimeConfig::warmup_bars`]) there is no regime at all: callers treat that as
//! unknown and fail closed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::config::RegimeConfig;
use super::indicators::{Adx, Atr, Bar, Drawdown, Ema, Volatility};
use crate::error::{RegimeConfigError, UnknownName};

/// The state of a market, as far as a strategy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// A strong uptrend.
    Bull,
    /// A downtrend, or a deep drawdown.
    Bear,
    /// No strong trend either way.
    Sideways,
    /// Price swings too wild for trend rules to mean much.
    Volatile,
}

impl Regime {
    /// Every regime.
    pub const ALL: [Self; 4] = [Self::Bull, Self::Bear, Self::Sideways, Self::Volatile];

    /// The lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bull => "bull",
            Self::Bear => "bear",
            Self::Sideways => "sideways",
            Self::Volatile => "volatile",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Regime {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName {
                kind: "regime",
                name: s.to_owned(),
                expected: "bull, bear, sideways or volatile",
            })
    }
}

/// The indicator values a classification was made from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IndicatorValues {
    /// The bar's close.
    pub close: f64,
    /// Fast EMA of closes.
    pub ema_fast: f64,
    /// Slow EMA of closes.
    pub ema_slow: f64,
    /// ADX, 0–100.
    pub adx: f64,
    /// Average true range, in quote currency.
    pub atr: f64,
    /// Annualised realised volatility (1.0 = 100 %).
    pub volatility: f64,
    /// Drawdown of the close from the rolling high (−0.25 = 25 % below).
    pub drawdown: f64,
}

/// The regime of one bar, how sure the classifier is, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The confirmed regime (after hysteresis).
    pub regime: Regime,
    /// 0–1: how clearly the indicators show the regime. Below 0.5 while a different raw
    /// regime is building up to replace it.
    pub confidence: f64,
    /// This bar's raw regime, before hysteresis.
    pub raw: Regime,
    /// The indicator values behind it.
    pub indicators: IndicatorValues,
}

/// A streaming classifier: feed it one bar at a time, in order.
///
/// ```
/// use nexus_core::regime::{indicators::Bar, Regime, RegimeClassifier, RegimeConfig};
///
/// let mut classifier = RegimeClassifier::new(RegimeConfig::default())?;
/// // A steady climb of 1 % a day with a small daily range.
/// let mut last = None;
/// for day in 0..120 {
///     let close = 100.0 * 1.01f64.powi(day);
///     last = classifier.update(&Bar { high: close * 1.005, low: close * 0.995, close });
/// }
/// assert_eq!(last.map(|c| c.regime), Some(Regime::Bull));
/// # Ok::<(), nexus_core::RegimeConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RegimeClassifier {
    config: RegimeConfig,
    annualise: f64,
    fast: Ema,
    slow: Ema,
    adx: Adx,
    atr: Atr,
    volatility: Volatility,
    drawdown: Drawdown,
    current: Option<Regime>,
    pending: Option<(Regime, usize)>,
}

impl RegimeClassifier {
    /// A classifier with a validated configuration.
    ///
    /// # Errors
    /// When the configuration is invalid ([`RegimeConfig::validate`]).
    pub fn new(config: RegimeConfig) -> Result<Self, RegimeConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            annualise: config.bars_per_year.sqrt(),
            fast: Ema::new(config.fast_period),
            slow: Ema::new(config.slow_period),
            adx: Adx::new(config.adx_period),
            atr: Atr::new(config.atr_period),
            volatility: Volatility::new(config.volatility_period),
            drawdown: Drawdown::new(config.drawdown_period),
            current: None,
            pending: None,
        })
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &RegimeConfig {
        &self.config
    }

    /// Feeds the next bar; returns its classification once the indicators have warmed up.
    pub fn update(&mut self, bar: &Bar) -> Option<Classification> {
        let fast = self.fast.update(bar.close);
        let slow = self.slow.update(bar.close);
        let adx = self.adx.update(bar);
        let atr = self.atr.update(bar);
        let volatility = self.volatility.update(bar.close);
        let drawdown = self.drawdown.update(bar.close);
        let (Some(ema_fast), Some(ema_slow), Some(adx), Some(atr), Some(vol), Some(drawdown)) =
            (fast, slow, adx, atr, volatility, drawdown)
        else {
            return None;
        };
        let indicators = IndicatorValues {
            close: bar.close,
            ema_fast,
            ema_slow,
            adx,
            atr,
            volatility: vol * self.annualise,
            drawdown,
        };
        let (raw, strength) = self.raw(&indicators);
        let regime = self.confirm(raw);
        let confidence = if regime == raw {
            0.5 + 0.5 * strength
        } else {
            // The held regime is losing: the closer the challenger is to confirmation,
            // the less sure we are of the held one.
            let (building, needed) = self
                .pending
                .map_or((0, 1), |(regime, n)| (n, self.confirm_bars(regime)));
            0.5 * (1.0 - building as f64 / needed as f64)
        };
        Some(Classification {
            regime,
            confidence,
            raw,
            indicators,
        })
    }

    /// The raw regime of one bar and how clearly (0–1) the indicators show it. The
    /// thresholds of the current regime are relaxed by `exit_band`, so a market hovering
    /// at a threshold does not flip back and forth.
    fn raw(&self, v: &IndicatorValues) -> (Regime, f64) {
        let c = &self.config;
        let relax = |regime: Regime, threshold: f64| {
            if self.current == Some(regime) {
                threshold * (1.0 - c.exit_band)
            } else {
                threshold
            }
        };
        let ramp = |x: f64| x.clamp(0.0, 1.0);
        let volatile_above = relax(Regime::Volatile, c.volatile_above);
        if v.volatility >= volatile_above {
            return (Regime::Volatile, ramp(v.volatility / volatile_above - 1.0));
        }
        // How far past the threshold the trend is: ADX margin and EMA separation (5 % = full).
        let trend = |threshold: f64| {
            0.5 * ramp((v.adx - threshold) / threshold)
                + 0.5 * ramp((v.ema_fast / v.ema_slow - 1.0).abs() / 0.05)
        };
        let bull_strength = relax(Regime::Bull, c.trend_strength);
        let bear_strength = relax(Regime::Bear, c.trend_strength);
        let bear_drawdown = relax(Regime::Bear, c.bear_drawdown);
        // The close must be on the trend's side of the slow EMA to enter a trend, not to
        // stay in one: a rally inside a downtrend does not end it.
        let holding = |regime: Regime| self.current == Some(regime);
        if v.ema_fast > v.ema_slow
            && (v.close > v.ema_slow || holding(Regime::Bull))
            && v.adx >= bull_strength
        {
            (Regime::Bull, trend(bull_strength))
        } else if v.ema_fast < v.ema_slow
            && (v.close < v.ema_slow || holding(Regime::Bear))
            && (v.adx >= bear_strength || -v.drawdown >= bear_drawdown)
        {
            (
                Regime::Bear,
                trend(bear_strength).max(ramp(-v.drawdown / bear_drawdown - 1.0)),
            )
        } else {
            (
                Regime::Sideways,
                ramp((c.trend_strength - v.adx) / c.trend_strength),
            )
        }
    }

    /// Bars a challenger must hold: fewer for a defensive regime (risk off fast).
    fn confirm_bars(&self, regime: Regime) -> usize {
        match regime {
            Regime::Bear | Regime::Volatile => self.config.risk_off_confirm_bars,
            Regime::Bull | Regime::Sideways => self.config.confirm_bars,
        }
    }

    /// Applies hysteresis: the raw regime replaces the current one only after
    /// `confirm_bars` consecutive bars.
    fn confirm(&mut self, raw: Regime) -> Regime {
        let Some(current) = self.current else {
            self.current = Some(raw);
            return raw;
        };
        if raw == current {
            self.pending = None;
            return current;
        }
        let count = match self.pending {
            Some((regime, n)) if regime == raw => n + 1,
            _ => 1,
        };
        if count >= self.confirm_bars(raw) {
            self.current = Some(raw);
            self.pending = None;
            raw
        } else {
            self.pending = Some((raw, count));
            current
        }
    }
}

/// Classifies a whole series: one entry per bar, `None` during warm-up.
///
/// # Errors
/// When the configuration is invalid.
pub fn classify(
    bars: &[Bar],
    config: RegimeConfig,
) -> Result<Vec<Option<Classification>>, RegimeConfigError> {
    let mut classifier = RegimeClassifier::new(config)?;
    Ok(bars.iter().map(|bar| classifier.update(bar)).collect())
}

#[cfg(test)]
mod tests;
