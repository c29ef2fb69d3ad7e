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

use crate::instrument::Instrument;
use crate::money::{Notional, Percent, Price, Quantity};
use crate::order::{OrderIntent, Side};
use crate::pyramid::ExposureCap;
use crate::serde_num::{number, option_number};

/// How big a new position's initial entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SizingMethod {
    /// Spend a fixed amount of quote currency.
    FixedQuote {
        /// The amount.
        #[serde(deserialize_with = "number")]
        amount: Notional,
    },
    /// Spend a share of the account's equity.
    PercentOfEquity {
        /// The share.
        #[serde(deserialize_with = "number")]
        percent: Percent,
    },
    /// Lose at most `risk_percent` of equity if the stop is hit.
    Risk {
        /// Equity at risk.
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
    /// This many ATRs below the entry.
    AtrMultiple(#[serde(deserialize_with = "number")] Decimal),
}

/// A bot's sizing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizingConfig {
    /// How the initial entry is sized.
    pub method: SizingMethod,
    /// The position may be worth at most this share of equity.
    #[serde(default, deserialize_with = "option_number")]
    pub max_position_pct: Option<Percent>,
    /// Share of an order kept back from the free balance for fees. Default 0.1 %.
    #[serde(default = "default_fee_reserve", deserialize_with = "number")]
    pub fee_reserve_pct: Percent,
}

fn default_fee_reserve() -> Percent {
    Percent::from_bps(10)
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
    /// A sizer applying `config`.
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
        let fee_factor = Decimal::ONE + self.config.fee_reserve_pct.fraction().max(Decimal::ZERO);
        let free = req.account.free_quote.value();
        // Divide only when the balance binds: value × fee ≤ free is the common case.
        if value * fee_factor > free {
            cap(&mut value, free / fee_factor, Cap::Balance);
        }

        let instrument = req.instrument;
        let filters = instrument.filters();
        // Floor: the value after the caps is an upper bound, never to be exceeded.
        let raw = Quantity::new(value / price).unwrap_or(Quantity::ZERO);
        let mut quantity = instrument.floor_quantity(raw);
        if let Some(max) = filters.max_qty
            && quantity > max
        {
            quantity = instrument.floor_quantity(max);
        }
        let notional = req.price * quantity;
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

    /// The order value (quote currency, before caps and rounding) the method or the
    /// pyramid multiplier asks for.
    fn desired_value(&self, req: &EntryRequest<'_>) -> Result<Decimal, SizingRejection> {
        let price = req.price.value();
        let equity = req.account.equity;
        Ok(match (req.kind, self.config.method) {
            (
                EntryKind::Add {
                    multiplier,
                    initial_quantity,
                },
                _,
            ) => initial_quantity.value() * multiplier * price,
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
                    StopDistance::AtrMultiple(k) => {
                        req.atr.ok_or(SizingRejection::NoAtr)?.value() * k
                    }
                };
                if distance <= Decimal::ZERO {
                    return Err(SizingRejection::NoAtr);
                }
                risk_percent.of(equity).value() / distance * price
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
                    needed: (smallest * fee_factor).normalize(),
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
        if let Some(max) = instrument.filters().max_qty
            && quantity > max
        {
            quantity = instrument.floor_quantity(max);
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
    let for_notional =
        Quantity::new(filters.min_notional.value() / price.value()).unwrap_or(Quantity::ZERO);
    filters.min_qty.max(filters.step_size).max(for_notional)
}

#[cfg(test)]
mod tests;
