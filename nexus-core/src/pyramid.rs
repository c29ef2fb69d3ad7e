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
/// negative: down (average down).
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
    /// Its size relative to the initial entry (0.5 = half the initial unit).
    #[serde(deserialize_with = "number")]
    pub size_multiplier: Decimal,
}

/// A cap on the whole position's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureCap {
    /// At most this much quote currency at cost.
    Quote(#[serde(deserialize_with = "number")] Notional),
    /// At most this share of the account's equity.
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
    /// Minimum time between two buys of the position.
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
        for (i, level) in self.levels.iter().enumerate() {
            let m = level.size_multiplier;
            if m <= Decimal::ZERO || m > Decimal::ONE_HUNDRED {
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
            if matches!(level.trigger, Trigger::Percent(_)) && t <= -Decimal::ONE_HUNDRED {
                return Err(level_error(i, "trigger", "must be above -100 percent"));
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
            Some(ExposureCap::Quote(amount)) if amount.is_zero() => {
                Err(PyramidConfigError::Exposure {
                    reason: "quote must be greater than zero",
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
        let until = position.last_fill_at()
            + chrono::Duration::from_std(cooldown).unwrap_or(chrono::Duration::MAX);
        if now < until {
            return Err(NoAdd::CoolingDown { until });
        }
        let anchor = match self.anchor {
            TriggerAnchor::AverageEntry => position.average_entry(),
            TriggerAnchor::LastFill => position.last_fill_price(),
        };
        let distance = match spec.trigger {
            Trigger::Percent(pct) => anchor.value() * pct / Decimal::ONE_HUNDRED,
            Trigger::Atr(multiple) => atr.ok_or(NoAdd::NoAtr)?.value() * multiple,
        };
        // A trigger below zero (a deep average-down in ATR) can never be reached.
        let trigger_price =
            Price::new(anchor.value() + distance).map_err(|_| NoAdd::NotTriggered {
                trigger_price: anchor,
            })?;
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
