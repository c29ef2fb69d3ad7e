//! [`RegimeConfig`]: the classifier's periods and thresholds, with documented defaults
//! tuned on daily BTC/USDT candles (see `docs/regime.md`).

use serde::{Deserialize, Serialize};

use crate::error::RegimeConfigError;

/// Periods (in bars) and thresholds of the regime classifier.
///
/// Loads from TOML or JSON with every field optional (missing fields take the default)
/// and unknown fields refused, so a typo is an error rather than a silent default.
///
/// ```
/// use nexus_core::regime::RegimeConfig;
///
/// let config = RegimeConfig { confirm_bars: 7, ..RegimeConfig::default() };
/// config.validate()?;
/// let bad = RegimeConfig { fast_period: 60, slow_period: 50, ..RegimeConfig::default() };
/// assert_eq!(
///     bad.validate().unwrap_err().to_string(),
///     "fast_period (60) must be less than slow_period (50)"
/// );
/// # Ok::<(), nexus_core::RegimeConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegimeConfig {
    /// Fast EMA period. Default 21.
    pub fast_period: usize,
    /// Slow EMA period; the trend's direction is fast vs slow. Default 55.
    pub slow_period: usize,
    /// ADX period. Default 14.
    pub adx_period: usize,
    /// ADX at or above which the market is trending. Default 20.
    pub trend_strength: f64,
    /// ATR period (reported, and used by sizing and pyramiding). Default 14.
    pub atr_period: usize,
    /// Realised-volatility period, in returns. Default 20.
    pub volatility_period: usize,
    /// Bars per year, to annualise volatility: 365 for daily crypto, 8760 for hourly.
    /// Default 365.
    pub bars_per_year: f64,
    /// Annualised volatility at or above which the market is `Volatile` (1.0 = 100 %).
    /// Default 1.0.
    pub volatile_above: f64,
    /// Window of the rolling high that drawdown is measured from. Default 90.
    pub drawdown_period: usize,
    /// A downtrend this far below the rolling high is `Bear` even while the ADX is weak
    /// (0.2 = 20 %). Default 0.2.
    pub bear_drawdown: f64,
    /// A new regime must be the raw classification for this many consecutive bars before
    /// it replaces the current one (1 = no hysteresis). Default 5.
    pub confirm_bars: usize,
    /// The same for a move into a defensive regime (`bear` or `volatile`), which should be
    /// quick: risk off fast, risk on slowly. Default 2.
    pub risk_off_confirm_bars: usize,
    /// Threshold hysteresis: to *leave* the current regime, its thresholds are relaxed by
    /// this fraction (0.2: a `volatile` market stays volatile until volatility falls below
    /// 80 % of `volatile_above`; a trend holds until the ADX falls below 80 % of
    /// `trend_strength`). 0 disables it. Default 0.2.
    pub exit_band: f64,
}

impl Default for RegimeConfig {
    fn default() -> Self {
        Self {
            fast_period: 21,
            slow_period: 55,
            adx_period: 14,
            trend_strength: 20.0,
            atr_period: 14,
            volatility_period: 20,
            bars_per_year: 365.0,
            volatile_above: 1.0,
            drawdown_period: 90,
            bear_drawdown: 0.2,
            confirm_bars: 5,
            risk_off_confirm_bars: 2,
            exit_band: 0.2,
        }
    }
}

/// The largest period accepted, so a typo cannot make a classifier that never warms up.
pub const MAX_PERIOD: usize = 10_000;

impl RegimeConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// A [`RegimeConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), RegimeConfigError> {
        let periods = [
            ("fast_period", self.fast_period, 1),
            ("slow_period", self.slow_period, 2),
            ("adx_period", self.adx_period, 1),
            ("atr_period", self.atr_period, 1),
            ("volatility_period", self.volatility_period, 2),
            ("drawdown_period", self.drawdown_period, 1),
            ("confirm_bars", self.confirm_bars, 1),
            ("risk_off_confirm_bars", self.risk_off_confirm_bars, 1),
        ];
        for (field, value, min) in periods {
            if !(min..=MAX_PERIOD).contains(&value) {
                return Err(RegimeConfigError::OutOfRange {
                    field,
                    value: value.to_string(),
                    expected: if min == 1 {
                        "between 1 and 10000"
                    } else {
                        "between 2 and 10000"
                    },
                });
            }
        }
        if self.fast_period >= self.slow_period {
            return Err(RegimeConfigError::FastNotBelowSlow {
                fast: self.fast_period,
                slow: self.slow_period,
            });
        }
        let ratios = [
            (
                "trend_strength",
                self.trend_strength,
                0.0,
                100.0,
                "between 0 and 100",
            ),
            (
                "bars_per_year",
                self.bars_per_year,
                1.0,
                1e7,
                "between 1 and 10000000",
            ),
            (
                "volatile_above",
                self.volatile_above,
                0.0,
                100.0,
                "between 0 and 100 (1.0 = 100 %)",
            ),
            (
                "bear_drawdown",
                self.bear_drawdown,
                0.0,
                1.0,
                "between 0 and 1 (0.2 = 20 %)",
            ),
        ];
        for (field, value, min, max, expected) in ratios {
            // Written so that NaN fails too.
            if !(value > min && value <= max) {
                return Err(RegimeConfigError::OutOfRange {
                    field,
                    value: value.to_string(),
                    expected,
                });
            }
        }
        // Written so that NaN fails too.
        if !(0.0..1.0).contains(&self.exit_band) {
            return Err(RegimeConfigError::OutOfRange {
                field: "exit_band",
                value: self.exit_band.to_string(),
                expected: "at least 0 and below 1 (0.2 = 20 %)",
            });
        }
        Ok(())
    }

    /// Bars needed before the first classification.
    #[must_use]
    pub fn warmup_bars(&self) -> usize {
        self.slow_period
            .max(2 * self.adx_period)
            .max(self.volatility_period + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        RegimeConfig::default().validate().unwrap();
        assert_eq!(RegimeConfig::default().warmup_bars(), 55);
        // The longest of: the slow EMA, the ADX (twice its period: DI, then its own
        // smoothing) and the volatility (returns need one bar more).
        let d = RegimeConfig::default();
        let adx = RegimeConfig {
            slow_period: 10,
            ..d
        };
        assert_eq!(adx.warmup_bars(), 28);
        let vol = RegimeConfig {
            slow_period: 10,
            volatility_period: 40,
            ..d
        };
        assert_eq!(vol.warmup_bars(), 41);
        // A ratio must be above its minimum: a volatility threshold of 0 is refused.
        for (value, ok) in [(0.0, false), (0.01, true), (100.0, true), (100.1, false)] {
            let config = RegimeConfig {
                volatile_above: value,
                ..d
            };
            assert_eq!(config.validate().is_ok(), ok, "volatile_above {value}");
        }
    }

    #[test]
    fn each_field_is_checked_by_name() {
        let d = RegimeConfig::default();
        let cases = [
            (
                RegimeConfig {
                    fast_period: 0,
                    ..d
                },
                "fast_period (0) must be between 1 and 10000",
            ),
            (
                RegimeConfig {
                    adx_period: 10_001,
                    ..d
                },
                "adx_period (10001) must be between 1 and 10000",
            ),
            (
                RegimeConfig {
                    volatility_period: 1,
                    ..d
                },
                "volatility_period (1) must be between 2 and 10000",
            ),
            (
                RegimeConfig {
                    confirm_bars: 0,
                    ..d
                },
                "confirm_bars (0) must be between 1 and 10000",
            ),
            (
                RegimeConfig {
                    trend_strength: f64::NAN,
                    ..d
                },
                "trend_strength (NaN) must be between 0 and 100",
            ),
            (
                RegimeConfig {
                    volatile_above: -1.0,
                    ..d
                },
                "volatile_above (-1) must be between 0 and 100 (1.0 = 100 %)",
            ),
            (
                RegimeConfig {
                    bear_drawdown: 1.5,
                    ..d
                },
                "bear_drawdown (1.5) must be between 0 and 1 (0.2 = 20 %)",
            ),
            (
                RegimeConfig {
                    bars_per_year: 0.0,
                    ..d
                },
                "bars_per_year (0) must be between 1 and 10000000",
            ),
            (
                RegimeConfig {
                    exit_band: 1.0,
                    ..d
                },
                "exit_band (1) must be at least 0 and below 1 (0.2 = 20 %)",
            ),
            (
                RegimeConfig {
                    risk_off_confirm_bars: 0,
                    ..d
                },
                "risk_off_confirm_bars (0) must be between 1 and 10000",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(config.validate().unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn loads_from_json_with_defaults_and_refuses_unknown_fields() {
        let config: RegimeConfig = serde_json::from_str(r#"{"confirm_bars": 9}"#).unwrap();
        assert_eq!(
            config,
            RegimeConfig {
                confirm_bars: 9,
                ..RegimeConfig::default()
            }
        );
        let err = serde_json::from_str::<RegimeConfig>(r#"{"confirm_bar": 5}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `confirm_bar`"),
            "{err}"
        );
    }
}
