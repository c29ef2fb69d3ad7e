//! Pyramiding: an initial entry plus up to `max_adds` add-on levels, each triggered by a
//! price move and sized as a multiple of the initial unit.
//!
//! A level's trigger is a move from the **anchor** — the position's average entry or its
//! last fill — in percent or in ATR multiples. Positive triggers add to a winner
//! (classic pyramiding); negative ones average down. A cooldown spaces adds out, and a cap
//! on total exposure (checked by [`sizing`](crate::sizing)) bounds the whole position.
//!
//! Worked example (the numbers in `docs/pyramiding.md`): anchor `last_fill`, one level
//! `{ trigger = { percent = 5 }, size_multiplier = 0.5 }` repeated, `max_adds = 3`. Entry
//! 0.2 BTC at 40 000: the first add is due at 42 000 (40 000 × 1.05) for 0.1 BTC; after it
//! fills at 42 000 the next is due at 44 100, then 46 305; after three adds none is.
//!
//! ```
//! use nexus_core::pyramid::PyramidConfig;
//!
//! let config: PyramidConfig = serde_json::from_str(r#"{
//!     "max_adds": 3, "anchor": "last_fill", "cooldown_secs": 3600,
//!     "levels": [{ "trigger": { "percent": 5 }, "size_multiplier": 0.5 }]
//! }"#)?;
//! config.validate()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::PyramidConfigError;
use crate::money::{Notional, Percent, Price};
use crate::position::Position;
use crate::serde_num::number;

/// The most add-on levels a configuration may have.
pub const MAX_ADDS: u32 = 20;
/// The largest `size_multiplier`: an add of 100 initial entries.
pub const MAX_SIZE_MULTIPLIER: Decimal = Decimal::ONE_HUNDRED;
/// The largest percent trigger: a move of +1 000 % (eleven times the anchor). Below, a
/// trigger must stay above −100 % (a price of zero).
pub const MAX_TRIGGER_PERCENT: Decimal = Decimal::ONE_THOUSAND;
/// The largest ATR trigger, up or down: 100 ATRs.
pub const MAX_TRIGGER_ATR: Decimal = Decimal::ONE_HUNDRED;
/// The longest cooldown: 365 days.
pub const MAX_COOLDOWN_SECS: u64 = 365 * 24 * 3600;
/// The largest `max_exposure.quote`: 10¹² of the quote currency.
pub const MAX_EXPOSURE_QUOTE: Decimal = crate::sizing::MAX_FIXED_QUOTE;

/// What a trigger's move is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAnchor {
    /// The position's volume-weighted average entry price.
    #[default]
    AverageEntry,
    /// The price of the last buy fill.
    LastFill,
}

/// How far the price must move from the anchor. Positive: up (add to a winner);
/// negative: down (average down). Never zero; a percent is above −100 and at most
/// [`MAX_TRIGGER_PERCENT`] (1 000), an ATR multiple at most [`MAX_TRIGGER_ATR`] (100) either
/// way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A move in percent of the anchor price.
    Percent(#[serde(deserialize_with = "number")] Decimal),
    /// A move in multiples of the ATR.
    Atr(#[serde(deserialize_with = "number")] Decimal),
}

impl Trigger {
    fn value(self) -> Decimal {
        match self {
            Self::Percent(v) | Self::Atr(v) => v,
        }
    }

    fn same_unit(self, other: Self) -> bool {
        matches!(
            (self, other),
            (Self::Percent(_), Self::Percent(_)) | (Self::Atr(_), Self::Atr(_))
        )
    }
}

/// One add-on level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelConfig {
    /// When the level is due.
    pub trigger: Trigger,
    /// Its size relative to the initial entry (0.5 = half the initial unit): above 0 and at
    /// most [`MAX_SIZE_MULTIPLIER`] (100).
    #[serde(deserialize_with = "number")]
    pub size_multiplier: Decimal,
}

/// A cap on the whole position's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureCap {
    /// At most this much quote currency at cost: above 0 and at most
    /// [`MAX_EXPOSURE_QUOTE`] (10¹²).
    Quote(#[serde(deserialize_with = "number")] Notional),
    /// At most this share of the account's equity: above 0 and at most 100 %.
    PercentOfEquity(#[serde(deserialize_with = "number")] Percent),
}

impl ExposureCap {
    /// The cap in quote currency for an account worth `equity`.
    #[must_use]
    pub fn limit(self, equity: Notional) -> Notional {
        match self {
            Self::Quote(amount) => amount,
            Self::PercentOfEquity(pct) => pct.of(equity),
        }
    }
}

/// A bot's pyramiding rules. `levels` may be shorter than `max_adds` when the anchor is
/// `last_fill`: the last level then repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PyramidConfig {
    /// Add-on levels after the initial entry (0 = no pyramiding), at most [`MAX_ADDS`].
    pub max_adds: u32,
    /// What triggers are measured from.
    pub anchor: TriggerAnchor,
    /// The levels, in order.
    pub levels: Vec<LevelConfig>,
    /// Minimum time between two buys of the position, at most [`MAX_COOLDOWN_SECS`]
    /// (365 days).
    pub cooldown_secs: u64,
    /// Cap on the position's total value.
    pub max_exposure: Option<ExposureCap>,
}

/// An add-on level that is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddLevel {
    /// 1 for the first add, up to `max_adds`.
    pub level: u32,
    /// Size relative to the initial entry.
    pub size_multiplier: Decimal,
    /// The price at which it became due.
    pub trigger_price: Price,
}

/// Why no add is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NoAdd {
    /// Nothing is held.
    NotOpen,
    /// Every level has been added.
    MaxAddsReached {
        /// The configured maximum.
        max_adds: u32,
    },
    /// Too soon after the last buy.
    CoolingDown {
        /// When the cooldown ends.
        until: Timestamp,
    },
    /// An ATR trigger without an ATR value.
    NoAtr,
    /// The price has not reached the trigger.
    NotTriggered {
        /// Where the level triggers.
        trigger_price: Price,
    },
}

impl PyramidConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// A [`PyramidConfigError`] naming the level (1-based) and field.
    pub fn validate(&self) -> Result<(), PyramidConfigError> {
        if self.max_adds > MAX_ADDS {
            return Err(PyramidConfigError::TooManyAdds {
                max_adds: self.max_adds,
            });
        }
        let count = self.levels.len();
        if self.max_adds > 0 && count == 0 {
            return Err(PyramidConfigError::NoLevels {
                max_adds: self.max_adds,
            });
        }
        if count > self.max_adds as usize {
            return Err(PyramidConfigError::MoreLevelsThanAdds {
                count,
                max_adds: self.max_adds,
            });
        }
        if self.anchor == TriggerAnchor::AverageEntry && count < self.max_adds as usize {
            return Err(PyramidConfigError::LevelsMissing {
                count,
                max_adds: self.max_adds,
            });
        }
        let level_error =
            |level: usize, field: &'static str, reason: &'static str| PyramidConfigError::Level {
                level: level + 1,
                field,
                reason,
            };
        if self.cooldown_secs > MAX_COOLDOWN_SECS {
            return Err(PyramidConfigError::Cooldown {
                cooldown_secs: self.cooldown_secs,
            });
        }
        for (i, level) in self.levels.iter().enumerate() {
            let m = level.size_multiplier;
            if m <= Decimal::ZERO || m > MAX_SIZE_MULTIPLIER {
                return Err(level_error(
                    i,
                    "size_multiplier",
                    "must be above 0 and at most 100",
                ));
            }
            let t = level.trigger.value();
            if t.is_zero() {
                return Err(level_error(i, "trigger", "must not be zero"));
            }
            match level.trigger {
                Trigger::Percent(_) if t <= -Decimal::ONE_HUNDRED || t > MAX_TRIGGER_PERCENT => {
                    return Err(level_error(
                        i,
                        "trigger",
                        "must be above -100 and at most 1000 percent",
                    ));
                }
                Trigger::Atr(_) if t.abs() > MAX_TRIGGER_ATR => {
                    return Err(level_error(
                        i,
                        "trigger",
                        "must be between -100 and 100 ATRs",
                    ));
                }
                _ => {}
            }
            let Some(previous) = i.checked_sub(1).map(|p| self.levels[p]) else {
                continue;
            };
            if previous.trigger.value().is_sign_positive() != t.is_sign_positive() {
                return Err(level_error(
                    i,
                    "trigger",
                    "must have the sign of the levels before it (positive adds to a winner, negative averages down)",
                ));
            }
            if self.anchor == TriggerAnchor::AverageEntry {
                if !previous.trigger.same_unit(level.trigger) {
                    return Err(level_error(
                        i,
                        "trigger",
                        "must use the unit of the levels before it",
                    ));
                }
                if t.abs() <= previous.trigger.value().abs() {
                    return Err(level_error(
                        i,
                        "trigger",
                        "must be further from the average entry than the level before it",
                    ));
                }
            }
        }
        match self.max_exposure {
            Some(ExposureCap::Quote(amount))
                if amount.is_zero() || amount.value() > MAX_EXPOSURE_QUOTE =>
            {
                Err(PyramidConfigError::Exposure {
                    reason: "quote must be above 0 and at most 1000000000000",
                })
            }
            Some(ExposureCap::PercentOfEquity(pct))
                if pct.value() <= Decimal::ZERO || pct.value() > Decimal::ONE_HUNDRED =>
            {
                Err(PyramidConfigError::Exposure {
                    reason: "percent_of_equity must be above 0 and at most 100",
                })
            }
            _ => Ok(()),
        }
    }

    /// The rules of add `level` (1-based); the last configured level repeats.
    #[must_use]
    pub fn level(&self, level: u32) -> Option<&LevelConfig> {
        let index = (level as usize)
            .checked_sub(1)?
            .min(self.levels.len().checked_sub(1)?);
        self.levels.get(index)
    }

    /// The next add-on level if it is due at `price` and `now`. `atr` is needed for ATR
    /// triggers; without it an ATR level is never due (fail closed).
    #[must_use]
    pub fn next_add(
        &self,
        position: &Position,
        price: Price,
        now: Timestamp,
        atr: Option<Price>,
    ) -> Option<AddLevel> {
        self.check_add(position, price, now, atr).ok()
    }

    /// Like [`next_add`](Self::next_add), saying why no add is due.
    ///
    /// # Errors
    /// [`NoAdd`], the reason no level is due.
    pub fn check_add(
        &self,
        position: &Position,
        price: Price,
        now: Timestamp,
        atr: Option<Price>,
    ) -> Result<AddLevel, NoAdd> {
        if !position.is_open() {
            return Err(NoAdd::NotOpen);
        }
        let level = position.adds() + 1;
        let spec = match self.level(level) {
            Some(spec) if level <= self.max_adds => spec,
            _ => {
                return Err(NoAdd::MaxAddsReached {
                    max_adds: self.max_adds,
                });
            }
        };
        let cooldown = Duration::from_secs(self.cooldown_secs);
        // A cooldown past the end of time never ends (checked: `+` would panic).
        let until = chrono::Duration::from_std(cooldown)
            .ok()
            .and_then(|d| position.last_fill_at().checked_add_signed(d))
            .unwrap_or(Timestamp::MAX_UTC);
        if now < until {
            return Err(NoAdd::CoolingDown { until });
        }
        let anchor = match self.anchor {
            TriggerAnchor::AverageEntry => position.average_entry(),
            TriggerAnchor::LastFill => position.last_fill_price(),
        };
        let distance = match spec.trigger {
            Trigger::Percent(pct) => anchor
                .value()
                .checked_mul(pct)
                .map(|v| v / Decimal::ONE_HUNDRED),
            Trigger::Atr(multiple) => atr.ok_or(NoAdd::NoAtr)?.value().checked_mul(multiple),
        };
        // A trigger below zero (a deep average-down in ATR) or past any price can never
        // be reached.
        let unreachable = NoAdd::NotTriggered {
            trigger_price: anchor,
        };
        let distance = distance.ok_or(unreachable)?;
        let trigger_price = anchor
            .value()
            .checked_add(distance)
            .and_then(|p| Price::new(p).ok())
            .ok_or(unreachable)?;
        let due = if distance.is_sign_positive() {
            price >= trigger_price
        } else {
            price <= trigger_price
        };
        if !due {
            return Err(NoAdd::NotTriggered { trigger_price });
        }
        Ok(AddLevel {
            level,
            size_multiplier: spec.size_multiplier,
            trigger_price,
        })
    }
}

#[cfg(test)]
mod tests;
