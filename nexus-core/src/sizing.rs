//! Position sizing: how much to buy, and how much can really be sold.
//!
//! An entry is sized in three steps:
//!
//! 1. **Method**: a fixed quote amount, a percent of equity, or risk-based
//!    (`equity × risk % ÷ stop distance`, the stop given as a price or an ATR multiple).
//!    A pyramid add is `size_multiplier ×` the initial entry's quantity instead.
//! 2. **Caps**, each lowering the order value: the position cap (`max_position_pct` of
//!    equity, minus what is already held), the pyramid's exposure cap, the plan's
//!    `max_order_notional`, and the free quote balance less a fee reserve.
//! 3. **Filters**: the quantity floors to the step and to `max_qty`; then `min_qty` and
//!    `min_notional` are checked *after* rounding. An order that fails them is refused
//!    with the reason — the cap that squeezed it, or the filter.
//!
//! Exits sell what the account really holds (fees taken in the base asset leave less than
//! was bought), floored to the step. A remainder too small to sell is **dust**: it is
//! reported, and never keeps the position open.
//!
//! Worked example (see `docs/sizing.md`): equity 10 000 USDT, risk 1 %, stop 2 × ATR with
//! ATR 1 500 at a price of 50 000: risk 100 USDT ÷ 3 000 = 0.0333… BTC, floored to the
//! step 0.0001 → 0.0333 BTC = 1 665 USDT.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::SizingConfigError;
use crate::instrument::Instrument;
use crate::money::{Notional, Percent, Price, Quantity};
use crate::order::{OrderIntent, Side};
use crate::pyramid::ExposureCap;
use crate::serde_num::{number, option_number};

/// The largest `fixed_quote` amount: 10¹² of the quote currency.
pub const MAX_FIXED_QUOTE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);
/// The largest percentage of equity a rule may name (`percent`, `risk_percent`,
/// `max_position_pct`): all of it.
pub const MAX_EQUITY_PCT: Decimal = Decimal::ONE_HUNDRED;
/// The largest stop distance in ATRs.
pub const MAX_STOP_ATR_MULTIPLE: Decimal = Decimal::ONE_HUNDRED;
/// The largest fee reserve, in percent of an order.
pub const MAX_FEE_RESERVE_PCT: Decimal = Decimal::TEN;

/// How big a new position's initial entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SizingMethod {
    /// Spend a fixed amount of quote currency.
    FixedQuote {
        /// The amount: above 0 and at most [`MAX_FIXED_QUOTE`] (10¹²).
        #[serde(deserialize_with = "number")]
        amount: Notional,
    },
    /// Spend a share of the account's equity.
    PercentOfEquity {
        /// The share, in percent: above 0 and at most 100.
        #[serde(deserialize_with = "number")]
        percent: Percent,
    },
    /// Lose at most `risk_percent` of equity if the stop is hit.
    Risk {
        /// Equity at risk, in percent: above 0 and at most 100.
        #[serde(deserialize_with = "number")]
        risk_percent: Percent,
        /// Where the stop is.
        stop: StopDistance,
    },
}

/// The stop a risk-based size is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopDistance {
    /// An absolute stop price below the entry.
    Price(#[serde(deserialize_with = "number")] Price),
    /// This many ATRs below the entry: above 0 and at most [`MAX_STOP_ATR_MULTIPLE`] (100).
    AtrMultiple(#[serde(deserialize_with = "number")] Decimal),
}

/// A bot's sizing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizingConfig {
    /// How the initial entry is sized.
    pub method: SizingMethod,
    /// The position may be worth at most this share of equity, in percent: above 0 and at
    /// most 100.
    #[serde(default, deserialize_with = "option_number")]
    pub max_position_pct: Option<Percent>,
    /// Share of an order kept back from the free balance for fees, in percent: 0 to
    /// [`MAX_FEE_RESERVE_PCT`] (10). Default 0.1.
    #[serde(default = "default_fee_reserve", deserialize_with = "number")]
    pub fee_reserve_pct: Percent,
}

fn default_fee_reserve() -> Percent {
    Percent::from_bps(10)
}

impl SizingConfig {
    /// Checks every field against its documented range:
    ///
    /// | field | range |
    /// |---|---|
    /// | `method.amount` (`fixed_quote`) | 0 < x ≤ 10¹² ([`MAX_FIXED_QUOTE`]) |
    /// | `method.percent`, `method.risk_percent`, `max_position_pct` | 0 < x ≤ 100 |
    /// | `method.stop.atr_multiple` | 0 < x ≤ 100 ([`MAX_STOP_ATR_MULTIPLE`]) |
    /// | `method.stop.price` | a price: 0 < x ≤ 10¹² |
    /// | `fee_reserve_pct` | 0 ≤ x ≤ 10 ([`MAX_FEE_RESERVE_PCT`]) |
    ///
    /// ```
    /// use nexus_core::sizing::SizingConfig;
    ///
    /// let config: SizingConfig = serde_json::from_str(
    ///     r#"{"method": {"type": "risk", "risk_percent": 150, "stop": {"atr_multiple": 2}}}"#,
    /// )?;
    /// assert_eq!(
    ///     config.validate().unwrap_err().to_string(),
    ///     "method.risk_percent: must be above 0 and at most 100, got 150"
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    /// A [`SizingConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), SizingConfigError> {
        const PCT: &str = "above 0 and at most 100";
        const ATRS: &str = "above 0 and at most 100 ATRs";
        let check = |field, value: Decimal, ok: bool, expected| {
            if ok {
                Ok(())
            } else {
                Err(SizingConfigError::OutOfRange {
                    field,
                    value,
                    expected,
                })
            }
        };
        let share = |value: Decimal| value > Decimal::ZERO && value <= MAX_EQUITY_PCT;
        match self.method {
            SizingMethod::FixedQuote { amount } => check(
                "method.amount",
                amount.value(),
                amount.value() > Decimal::ZERO && amount.value() <= MAX_FIXED_QUOTE,
                "above 0 and at most 1000000000000",
            )?,
            SizingMethod::PercentOfEquity { percent } => check(
                "method.percent",
                percent.value(),
                share(percent.value()),
                PCT,
            )?,
            SizingMethod::Risk { risk_percent, stop } => {
                check(
                    "method.risk_percent",
                    risk_percent.value(),
                    share(risk_percent.value()),
                    PCT,
                )?;
                if let StopDistance::AtrMultiple(k) = stop {
                    check(
                        "method.stop.atr_multiple",
                        k,
                        k > Decimal::ZERO && k <= MAX_STOP_ATR_MULTIPLE,
                        ATRS,
                    )?;
                }
            }
        }
        if let Some(pct) = self.max_position_pct {
            check("max_position_pct", pct.value(), share(pct.value()), PCT)?;
        }
        let fee = self.fee_reserve_pct.value();
        check(
            "fee_reserve_pct",
            fee,
            fee >= Decimal::ZERO && fee <= MAX_FEE_RESERVE_PCT,
            "at least 0 and at most 10",
        )
    }
}

impl Default for SizingConfig {
    fn default() -> Self {
        Self {
            method: SizingMethod::PercentOfEquity {
                percent: Percent::from_bps(1000),
            },
            max_position_pct: None,
            fee_reserve_pct: default_fee_reserve(),
        }
    }
}

/// What an account holds, as sizing needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The account's total value in quote currency.
    pub equity: Notional,
    /// Free quote asset (what a buy can spend).
    pub free_quote: Quantity,
    /// Free base asset (what a sell can sell).
    pub free_base: Quantity,
}

/// What to size: an initial entry or a pyramid add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A new position, sized by the [`SizingMethod`].
    Initial,
    /// An add of `multiplier ×` the initial entry's quantity.
    Add {
        /// The level's size multiplier.
        multiplier: Decimal,
        /// The initial entry's quantity.
        initial_quantity: Quantity,
    },
}

/// Everything [`PositionSizer::size_entry`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct EntryRequest<'a> {
    /// The instrument and its filters.
    pub instrument: &'a Instrument,
    /// The price a market buy expects (the ask).
    pub price: Price,
    /// The account.
    pub account: AccountSnapshot,
    /// What the position already cost (zero when flat).
    pub position_cost: Notional,
    /// Initial entry or add.
    pub kind: EntryKind,
    /// The current ATR, for ATR stops.
    pub atr: Option<Price>,
    /// The pyramid's cap on the whole position.
    pub exposure_cap: Option<ExposureCap>,
    /// The plan's cap on one order.
    pub max_order_notional: Option<Notional>,
}

/// Which cap lowered an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// `max_position_pct`.
    Position,
    /// The pyramid's `max_exposure`.
    Exposure,
    /// The plan's `max_order_notional`.
    Plan,
    /// The free balance after the fee reserve.
    Balance,
}

/// A sized buy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizedOrder {
    /// The order: a market buy of a filter-valid quantity.
    pub intent: OrderIntent,
    /// Its expected value at the reference price.
    pub notional: Notional,
    /// The cap that lowered it, if any.
    pub capped_by: Option<Cap>,
}

/// Why an order could not be sized. Serialised with a stable `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SizingRejection {
    /// The stop is at or above the entry price.
    #[error("the stop {stop} is not below the entry price {price}")]
    StopNotBelowPrice {
        /// The stop.
        stop: Price,
        /// The entry price.
        price: Price,
    },
    /// An ATR-based rule without an ATR value.
    #[error("no ATR value is available for an ATR-based stop")]
    NoAtr,
    /// The free balance cannot pay for the smallest valid order.
    #[error(
        "insufficient balance: {available} free, at least {needed} needed with the fee reserve"
    )]
    InsufficientBalance {
        /// Free quote balance.
        available: Decimal,
        /// The smallest valid order's cost with the fee reserve.
        needed: Decimal,
    },
    /// The pyramid's exposure cap leaves no room for a valid order.
    #[error("exposure cap {cap} reached: the position already cost {current}")]
    ExceedsExposureCap {
        /// The cap.
        cap: Decimal,
        /// The position's cost.
        current: Decimal,
    },
    /// `max_position_pct` leaves no room for a valid order.
    #[error("position cap {cap} reached: the position already cost {current}")]
    ExceedsPositionCap {
        /// The cap.
        cap: Decimal,
        /// The position's cost.
        current: Decimal,
    },
    /// The plan's order limit is below the smallest valid order.
    #[error("the plan's order limit {limit} is below the smallest valid order")]
    ExceedsPlanLimit {
        /// The limit.
        limit: Decimal,
    },
    /// After rounding, the order is worth less than `min_notional`.
    #[error("order value {notional} is below the minimum notional {min_notional}")]
    BelowMinNotional {
        /// The rounded order's value.
        notional: Decimal,
        /// The instrument's minimum.
        min_notional: Decimal,
    },
    /// After rounding, the quantity is below `min_qty` (or zero).
    #[error("quantity {quantity} is below the minimum quantity {min_qty}")]
    BelowMinQuantity {
        /// The rounded quantity.
        quantity: Decimal,
        /// The instrument's minimum.
        min_qty: Decimal,
    },
}

/// How much of a position an exit sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitSize {
    /// The sell order's quantity, if anything is sellable.
    pub quantity: Option<Quantity>,
    /// What is left that cannot be sold on its own (recorded, then forgotten).
    pub dust: Quantity,
    /// Whether the exit closes the position (always, unless `max_qty` cut the sale short).
    pub closes_position: bool,
    /// How much of the position the account does not hold, when that is more than the
    /// instrument's smallest sellable amount (fees and rounding explain less): the
    /// position is out of sync with the venue, and only what is held is sold.
    pub shortfall: Quantity,
}

/// Sizes orders by a [`SizingConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PositionSizer {
    config: SizingConfig,
}

impl PositionSizer {
    /// A sizer applying `config`, checked against its documented ranges.
    ///
    /// # Errors
    /// A [`SizingConfigError`] naming the first field out of range.
    pub fn try_new(config: SizingConfig) -> Result<Self, SizingConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// A sizer applying `config` as it is, for configurations validated where they came
    /// in (the fan-out sizes thousands of bots per signal with configurations the API
    /// checked). Its arithmetic is checked all the same: an out-of-range configuration
    /// sizes by its own numbers, or is rejected, but never panics.
    #[must_use]
    pub const fn new(config: SizingConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &SizingConfig {
        &self.config
    }

    /// Sizes a market buy.
    ///
    /// # Errors
    /// A [`SizingRejection`] saying why no valid order fits.
    pub fn size_entry(&self, req: &EntryRequest<'_>) -> Result<SizedOrder, SizingRejection> {
        let price = req.price.value();
        let mut value = self.desired_value(req)?;
        let mut capped_by = None;
        let mut cap = |value: &mut Decimal, room: Decimal, which: Cap| {
            let room = room.max(Decimal::ZERO);
            if room < *value {
                *value = room;
                capped_by = Some(which);
            }
        };
        let equity = req.account.equity;
        let held = req.position_cost.value();
        if let Some(pct) = self.config.max_position_pct {
            cap(&mut value, pct.of(equity).value() - held, Cap::Position);
        }
        if let Some(exposure) = req.exposure_cap {
            cap(
                &mut value,
                exposure.limit(equity).value() - held,
                Cap::Exposure,
            );
        }
        if let Some(limit) = req.max_order_notional {
            cap(&mut value, limit.value(), Cap::Plan);
        }
        let fee_factor = self.fee_factor();
        let free = req.account.free_quote.value();
        // Divide only when the balance binds: value × fee ≤ free is the common case.
        if value.checked_mul(fee_factor).is_none_or(|cost| cost > free) {
            cap(&mut value, affordable(free, fee_factor), Cap::Balance);
        }

        let instrument = req.instrument;
        let filters = instrument.filters();
        // Floor: the value after the caps is an upper bound, never to be exceeded. A
        // quotient past the largest quantity (a tiny price) buys the largest quantity.
        let raw = value
            .checked_div(price)
            .map_or(Quantity::MAX, |q| q.clamp(Decimal::ZERO, Quantity::MAX));
        let raw = Quantity::new(raw).unwrap_or(Quantity::ZERO);
        let mut quantity = instrument.floor_quantity(raw);
        if let Some(max) = filters.max_qty {
            quantity = quantity.min(instrument.floor_quantity(max));
        }
        let mut notional = req.price * quantity;
        // `Decimal` rounds a quotient's last digit, sometimes up: with a step finer than
        // that digit the floor keeps it, and the order would pass its cap by a hair. Step
        // back below it (rare: never with a step coarser than the quotient's precision).
        for _ in 0..3 {
            if notional.value() <= value || quantity.is_zero() {
                break;
            }
            let last_digit = Decimal::new(1, quantity.value().scale());
            let back = Quantity::new(filters.step_size.value().max(last_digit)).unwrap_or(quantity);
            quantity = instrument.floor_quantity(quantity.saturating_sub(back));
            notional = req.price * quantity;
        }
        let too_small = if quantity.is_zero() || quantity < filters.min_qty {
            Some(SizingRejection::BelowMinQuantity {
                quantity: quantity.value(),
                min_qty: filters.min_qty.value(),
            })
        } else if notional < filters.min_notional {
            Some(SizingRejection::BelowMinNotional {
                notional: notional.value().normalize(),
                min_notional: filters.min_notional.value(),
            })
        } else {
            None
        };
        if let Some(rejection) = too_small {
            return Err(self.blame(capped_by, rejection, req, fee_factor));
        }
        let intent =
            OrderIntent::market(instrument.symbol(), Side::Buy, quantity).map_err(|_| {
                SizingRejection::BelowMinQuantity {
                    quantity: Decimal::ZERO,
                    min_qty: filters.min_qty.value(),
                }
            })?;
        Ok(SizedOrder {
            intent,
            notional,
            capped_by,
        })
    }

    /// 1 + the fee reserve (a negative reserve counts as none).
    fn fee_factor(&self) -> Decimal {
        Decimal::ONE + self.config.fee_reserve_pct.fraction().max(Decimal::ZERO)
    }

    /// The order value (quote currency, before caps and rounding) the method or the
    /// pyramid multiplier asks for. A product past [`Notional::MAX`] asks for
    /// [`Notional::MAX`]: more than any cap allows, so the caps decide (it never overflows).
    fn desired_value(&self, req: &EntryRequest<'_>) -> Result<Decimal, SizingRejection> {
        let price = req.price.value();
        let equity = req.account.equity;
        let bounded = |value: Option<Decimal>| {
            value.map_or(Notional::MAX, |v| v.clamp(Decimal::ZERO, Notional::MAX))
        };
        Ok(match (req.kind, self.config.method) {
            (
                EntryKind::Add {
                    multiplier,
                    initial_quantity,
                },
                _,
            ) => bounded(
                initial_quantity
                    .value()
                    .checked_mul(multiplier)
                    .and_then(|v| v.checked_mul(price)),
            ),
            (EntryKind::Initial, SizingMethod::FixedQuote { amount }) => amount.value(),
            (EntryKind::Initial, SizingMethod::PercentOfEquity { percent }) => {
                percent.of(equity).value()
            }
            (EntryKind::Initial, SizingMethod::Risk { risk_percent, stop }) => {
                let distance = match stop {
                    StopDistance::Price(stop) if stop < req.price => price - stop.value(),
                    StopDistance::Price(stop) => {
                        return Err(SizingRejection::StopNotBelowPrice {
                            stop,
                            price: req.price,
                        });
                    }
                    // Past the largest `Decimal` the distance keeps its sign (an ATR is
                    // positive): far away, or not below the price at all.
                    StopDistance::AtrMultiple(k) => req
                        .atr
                        .ok_or(SizingRejection::NoAtr)?
                        .value()
                        .checked_mul(k)
                        .unwrap_or(if k.is_sign_negative() {
                            Decimal::MIN
                        } else {
                            Decimal::MAX
                        }),
                };
                if distance <= Decimal::ZERO {
                    return Err(SizingRejection::NoAtr);
                }
                // A stop a hair below the price divides by almost nothing.
                bounded(
                    risk_percent
                        .of(equity)
                        .value()
                        .checked_div(distance)
                        .and_then(|v| v.checked_mul(price)),
                )
            }
        })
    }

    /// When a cap squeezed the order below the filters, the cap is the real reason.
    fn blame(
        &self,
        capped_by: Option<Cap>,
        filter: SizingRejection,
        req: &EntryRequest<'_>,
        fee_factor: Decimal,
    ) -> SizingRejection {
        let held = req.position_cost.value();
        let equity = req.account.equity;
        match capped_by {
            None => filter,
            Some(Cap::Balance) => {
                let f = req.instrument.filters();
                let smallest = f.min_notional.value().max((req.price * f.min_qty).value());
                SizingRejection::InsufficientBalance {
                    available: req.account.free_quote.value(),
                    needed: smallest
                        .checked_mul(fee_factor)
                        .unwrap_or(Decimal::MAX)
                        .normalize(),
                }
            }
            Some(Cap::Exposure) => SizingRejection::ExceedsExposureCap {
                cap: req
                    .exposure_cap
                    .map_or(Decimal::ZERO, |c| c.limit(equity).value()),
                current: held,
            },
            Some(Cap::Position) => SizingRejection::ExceedsPositionCap {
                cap: self
                    .config
                    .max_position_pct
                    .map_or(Decimal::ZERO, |p| p.of(equity).value()),
                current: held,
            },
            Some(Cap::Plan) => SizingRejection::ExceedsPlanLimit {
                limit: req
                    .max_order_notional
                    .map_or(Decimal::ZERO, Notional::value),
            },
        }
    }
}

/// Sizes an exit: sells what the account really holds of the position, floored to the
/// step; what cannot be sold is dust and the position closes anyway.
///
/// When the account holds less than the position by more than the instrument's smallest
/// sellable amount (the larger of `min_qty`, the step and `min_notional` at `price`), the
/// difference is reported as [`ExitSize::shortfall`]: the caller flags the position as out
/// of sync rather than taking the missing part for dust.
///
/// `price` is the bid, for the `min_notional` check.
#[must_use]
pub fn size_exit(
    instrument: &Instrument,
    position_quantity: Quantity,
    free_base: Quantity,
    price: Price,
) -> ExitSize {
    let sellable = |held: Quantity| -> Option<Quantity> {
        let mut quantity = instrument.floor_quantity(held);
        if let Some(max) = instrument.filters().max_qty {
            quantity = quantity.min(instrument.floor_quantity(max));
        }
        let valid = instrument.check_quantity(quantity).is_ok()
            && instrument.check_notional(quantity, price).is_ok();
        valid.then_some(quantity)
    };
    let held = position_quantity.min(free_base);
    let quantity = sellable(held);
    let sold = quantity.unwrap_or(Quantity::ZERO);
    let remainder = position_quantity.saturating_sub(sold);
    // Only a max_qty cut leaves a remainder that can itself be sold next time.
    let leftover = sellable(held.saturating_sub(sold)).is_some();
    let missing = position_quantity.saturating_sub(free_base);
    ExitSize {
        quantity,
        dust: if leftover { Quantity::ZERO } else { remainder },
        closes_position: !leftover,
        shortfall: if missing > smallest_sale(instrument, price) {
            missing
        } else {
            Quantity::ZERO
        },
    }
}

/// The smallest amount of `instrument` that can be sold on its own at `price`: below it, a
/// difference between a position and the account is rounding or fees, not a loss.
fn smallest_sale(instrument: &Instrument, price: Price) -> Quantity {
    let filters = instrument.filters();
    // A huge minimum at a tiny price is more than any quantity: the largest.
    let for_notional = filters
        .min_notional
        .quantity_at(price)
        .or_else(|_| Quantity::new(Quantity::MAX))
        .unwrap_or(Quantity::ZERO);
    filters.min_qty.max(filters.step_size).max(for_notional)
}

/// The most that can be spent out of `free` with `fee_factor` (≥ 1) on top:
/// `free / fee_factor`, brought down to a value whose cost with the fee never exceeds
/// `free`. A quotient rounded to 28 digits can be one unit in its last place too large.
fn affordable(free: Decimal, fee_factor: Decimal) -> Decimal {
    let mut value = free / fee_factor;
    // Each step removes one unit in the last place: one or two always suffice.
    for _ in 0..4 {
        if value
            .checked_mul(fee_factor)
            .is_some_and(|cost| cost <= free)
        {
            return value;
        }
        value -= Decimal::new(1, value.scale());
    }
    value.max(Decimal::ZERO)
}

#[cfg(test)]
mod tests;
