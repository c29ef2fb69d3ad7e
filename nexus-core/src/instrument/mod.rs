//! What can be traded where: venues ([`ExchangeId`]), assets and pairs ([`Asset`],
//! [`Symbol`]) and an [`Instrument`] with the venue's order filters.
//!
//! The filters are the rules a venue enforces on every order. The engine rounds to them
//! (in a direction that never overspends) and validates against them, so a venue never
//! rejects an order of ours for precision, size or value.
//!
//! | helper | direction | why |
//! |---|---|---|
//! | [`Instrument::floor_quantity`] | down to the step | never buy or sell more than was sized or held |
//! | [`Instrument::round_limit_price`] `Buy` | down to the tick | never pay more than the limit asked |
//! | [`Instrument::round_limit_price`] `Sell` | up to the tick | never sell for less than asked |

mod exchange_id;
mod symbol;

pub use exchange_id::ExchangeId;
pub use symbol::{Asset, Symbol};

use serde::{Deserialize, Serialize};

use crate::error::{FilterViolation, InstrumentError};
use crate::money::{Notional, Price, Quantity};
use crate::order::{OrderIntent, Side};

/// A venue's order filters for one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentFilters {
    /// Prices must be whole multiples of this.
    pub tick_size: Price,
    /// Quantities must be whole multiples of this; greater than zero.
    pub step_size: Quantity,
    /// The smallest quantity accepted.
    pub min_qty: Quantity,
    /// The largest quantity accepted, if the venue has a limit.
    pub max_qty: Option<Quantity>,
    /// The smallest order value (price × quantity) accepted, in quote currency.
    pub min_notional: Notional,
}

/// A pair on a venue with its filters.
///
/// ```
/// use nexus_core::{ExchangeId, Instrument, InstrumentFilters, Quantity, Price, Side};
/// use std::str::FromStr;
///
/// let btc = Instrument::new(
///     ExchangeId::Binance,
///     "BTC/USDT".parse()?,
///     InstrumentFilters {
///         tick_size: Price::from_str("0.01")?,
///         step_size: Quantity::from_str("0.00001")?,
///         min_qty: Quantity::from_str("0.00001")?,
///         max_qty: Some(Quantity::from_str("9000")?),
///         min_notional: "5".parse()?,
///     },
/// )?;
/// let qty = btc.floor_quantity(Quantity::from_str("0.0123456")?);
/// assert_eq!(qty.to_string(), "0.01234");
/// let price = btc.round_limit_price(Side::Buy, Price::from_str("64250.129")?)?;
/// assert_eq!(price.to_string(), "64250.12");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "InstrumentRepr", into = "InstrumentRepr")]
pub struct Instrument {
    exchange: ExchangeId,
    symbol: Symbol,
    filters: InstrumentFilters,
}

/// The serialised shape; deserialising goes through [`Instrument::new`] so filters are
/// always consistent.
#[derive(Serialize, Deserialize)]
struct InstrumentRepr {
    exchange: ExchangeId,
    symbol: Symbol,
    #[serde(flatten)]
    filters: InstrumentFilters,
}

impl TryFrom<InstrumentRepr> for Instrument {
    type Error = InstrumentError;

    fn try_from(repr: InstrumentRepr) -> Result<Self, Self::Error> {
        Self::new(repr.exchange, repr.symbol, repr.filters)
    }
}

impl From<Instrument> for InstrumentRepr {
    fn from(i: Instrument) -> Self {
        Self {
            exchange: i.exchange,
            symbol: i.symbol,
            filters: i.filters,
        }
    }
}

impl Instrument {
    /// An instrument with consistent filters.
    ///
    /// # Errors
    /// [`InstrumentError::ZeroStepSize`] or [`InstrumentError::MinAboveMax`].
    pub fn new(
        exchange: ExchangeId,
        symbol: Symbol,
        filters: InstrumentFilters,
    ) -> Result<Self, InstrumentError> {
        if filters.step_size.is_zero() {
            return Err(InstrumentError::ZeroStepSize);
        }
        if let Some(max) = filters.max_qty
            && filters.min_qty > max
        {
            return Err(InstrumentError::MinAboveMax {
                min: filters.min_qty.value(),
                max: max.value(),
            });
        }
        Ok(Self {
            exchange,
            symbol,
            filters,
        })
    }

    /// The venue.
    #[must_use]
    pub const fn exchange(&self) -> ExchangeId {
        self.exchange
    }

    /// The pair.
    #[must_use]
    pub const fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// The venue's filters.
    #[must_use]
    pub const fn filters(&self) -> &InstrumentFilters {
        &self.filters
    }

    /// Rounds a quantity **down** to a whole number of steps. The result is never more
    /// than the input, and rounding it again changes nothing.
    #[must_use]
    pub fn floor_quantity(&self, quantity: Quantity) -> Quantity {
        let q = quantity.value();
        let step = self.filters.step_size.value();
        let floored = if step.mantissa() == 1 {
            // A power-of-ten step (most venues): truncating the digits is the floor.
            q.round_dp_with_strategy(step.scale(), rust_decimal::RoundingStrategy::ToZero)
        } else {
            q - q % step
        };
        // Between 0 and the input, so always a valid quantity.
        Quantity::new(floored).unwrap_or(Quantity::ZERO)
    }

    /// Rounds a limit price to the tick in the direction that never worsens the order:
    /// a buy rounds **down**, a sell rounds **up**.
    ///
    /// # Errors
    /// [`FilterViolation::PriceBelowTick`] when a buy price is below one tick, or a sell
    /// price rounds past the largest valid price.
    pub fn round_limit_price(&self, side: Side, price: Price) -> Result<Price, FilterViolation> {
        let p = price.value();
        let tick = self.filters.tick_size.value();
        let rem = p % tick;
        let rounded = match side {
            _ if rem.is_zero() => p,
            Side::Buy => p - rem,
            Side::Sell => p - rem + tick,
        };
        Price::new(rounded).map_err(|_| FilterViolation::PriceBelowTick {
            price: p,
            tick_size: tick,
        })
    }

    /// Checks a quantity against the quantity filters: not zero, a whole number of steps,
    /// within `min_qty` and `max_qty`.
    ///
    /// # Errors
    /// The first [`FilterViolation`] found.
    pub fn check_quantity(&self, quantity: Quantity) -> Result<(), FilterViolation> {
        let q = quantity.value();
        let f = &self.filters;
        if quantity.is_zero() {
            return Err(FilterViolation::ZeroQuantity);
        }
        if !(q % f.step_size.value()).is_zero() {
            return Err(FilterViolation::StepSize {
                quantity: q,
                step_size: f.step_size.value(),
            });
        }
        if quantity < f.min_qty {
            return Err(FilterViolation::MinQuantity {
                quantity: q,
                min_qty: f.min_qty.value(),
            });
        }
        if let Some(max) = f.max_qty
            && quantity > max
        {
            return Err(FilterViolation::MaxQuantity {
                quantity: q,
                max_qty: max.value(),
            });
        }
        Ok(())
    }

    /// Checks a limit price against the tick size.
    ///
    /// # Errors
    /// [`FilterViolation::TickSize`] when the price is not a whole number of ticks.
    pub fn check_price(&self, price: Price) -> Result<(), FilterViolation> {
        let tick = self.filters.tick_size.value();
        if (price.value() % tick).is_zero() {
            Ok(())
        } else {
            Err(FilterViolation::TickSize {
                price: price.value(),
                tick_size: tick,
            })
        }
    }

    /// Checks an order's value against `min_notional`.
    ///
    /// # Errors
    /// [`FilterViolation::MinNotional`] when `price × quantity` is below it.
    pub fn check_notional(&self, quantity: Quantity, price: Price) -> Result<(), FilterViolation> {
        let notional = price * quantity;
        if notional < self.filters.min_notional {
            return Err(FilterViolation::MinNotional {
                // Normalised: price × quantity carries the scale of both factors.
                notional: notional.value().normalize(),
                min_notional: self.filters.min_notional.value(),
            });
        }
        Ok(())
    }

    /// Checks a whole order against every filter. A limit order is checked at its own
    /// price; a market order's value is checked at `reference_price` (the snapshot's).
    ///
    /// # Errors
    /// The first [`FilterViolation`] found, naming the filter.
    pub fn validate(
        &self,
        intent: &OrderIntent,
        reference_price: Price,
    ) -> Result<(), FilterViolation> {
        self.check_quantity(intent.quantity())?;
        let price = match intent.limit_price() {
            Some(limit) => {
                self.check_price(limit)?;
                limit
            }
            None => reference_price,
        };
        self.check_notional(intent.quantity(), price)
    }
}

#[cfg(test)]
mod tests;
