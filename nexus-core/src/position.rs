//! A bot's open position (spot, long only): what it holds, what it paid, and its pyramid
//! state, updated from fills.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::error::MoneyError;
use crate::instrument::Symbol;
use crate::money::{Notional, Price, Quantity};

/// A bot's position in one symbol.
///
/// ```
/// use nexus_core::Position;
/// use chrono::DateTime;
///
/// let t = DateTime::UNIX_EPOCH;
/// let mut position = Position::open("BTC/USDT".parse()?, "0.1".parse()?, "50000".parse()?, t)?;
/// position.add("0.05".parse()?, "56000".parse()?, t)?;
/// assert_eq!(position.average_entry().to_string(), "52000");
/// assert_eq!(position.adds(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    symbol: Symbol,
    quantity: Quantity,
    cost: Notional,
    initial_quantity: Quantity,
    initial_cost: Notional,
    last_fill_price: Price,
    last_fill_at: Timestamp,
    adds: u32,
}

impl Position {
    /// A position opened by its initial fill.
    ///
    /// # Errors
    /// [`MoneyError`] when the quantity is zero.
    pub fn open(
        symbol: Symbol,
        quantity: Quantity,
        price: Price,
        at: Timestamp,
    ) -> Result<Self, MoneyError> {
        if quantity.is_zero() {
            return Err(MoneyError::NotPositive {
                kind: "quantity",
                value: quantity.value(),
            });
        }
        let cost = price * quantity;
        Ok(Self {
            symbol,
            quantity,
            cost,
            initial_quantity: quantity,
            initial_cost: cost,
            last_fill_price: price,
            last_fill_at: at,
            adds: 0,
        })
    }

    /// A position restored from storage, field by field (no checks beyond the types':
    /// the store wrote what [`Position::open`] and [`Position::add`] produced).
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub const fn from_parts(
        symbol: Symbol,
        quantity: Quantity,
        cost: Notional,
        initial_quantity: Quantity,
        initial_cost: Notional,
        last_fill_price: Price,
        last_fill_at: Timestamp,
        adds: u32,
    ) -> Self {
        Self {
            symbol,
            quantity,
            cost,
            initial_quantity,
            initial_cost,
            last_fill_price,
            last_fill_at,
            adds,
        }
    }

    /// Records a pyramid add's fill.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] past the quantity or notional bounds.
    pub fn add(
        &mut self,
        quantity: Quantity,
        price: Price,
        at: Timestamp,
    ) -> Result<(), MoneyError> {
        let overflow = MoneyError::Overflow {
            operation: "position add",
        };
        self.quantity = self
            .quantity
            .checked_add(quantity)
            .ok_or(overflow.clone())?;
        self.cost = self.cost.checked_add(price * quantity).ok_or(overflow)?;
        self.last_fill_price = price;
        self.last_fill_at = at;
        self.adds += 1;
        Ok(())
    }

    /// Records a sale of (part of) the position; returns the cost basis of what was sold.
    /// Selling more than is held closes the position.
    pub fn reduce(&mut self, quantity: Quantity) -> Notional {
        if quantity >= self.quantity {
            let basis = self.cost;
            self.quantity = Quantity::ZERO;
            self.cost = Notional::ZERO;
            return basis;
        }
        let share = quantity.value() / self.quantity.value();
        let basis = Notional::new(self.cost.value() * share).unwrap_or(self.cost);
        self.quantity = self.quantity.saturating_sub(quantity);
        self.cost = self.cost.checked_sub(basis).unwrap_or(Notional::ZERO);
        basis
    }

    /// The pair.
    #[must_use]
    pub const fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// The base quantity the bot believes it holds.
    #[must_use]
    pub const fn quantity(&self) -> Quantity {
        self.quantity
    }

    /// Whether anything is still held.
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.quantity.is_zero()
    }

    /// What the position cost in quote currency (fees excluded).
    #[must_use]
    pub const fn cost(&self) -> Notional {
        self.cost
    }

    /// The quantity of the initial entry: the unit pyramid multipliers refer to.
    #[must_use]
    pub const fn initial_quantity(&self) -> Quantity {
        self.initial_quantity
    }

    /// The cost of the initial entry.
    #[must_use]
    pub const fn initial_cost(&self) -> Notional {
        self.initial_cost
    }

    /// The volume-weighted average entry price.
    #[must_use]
    pub fn average_entry(&self) -> Price {
        if self.quantity.is_zero() {
            return self.last_fill_price;
        }
        Price::new(self.cost.value() / self.quantity.value()).unwrap_or(self.last_fill_price)
    }

    /// The price of the last buy fill.
    #[must_use]
    pub const fn last_fill_price(&self) -> Price {
        self.last_fill_price
    }

    /// When the last buy filled.
    #[must_use]
    pub const fn last_fill_at(&self) -> Timestamp {
        self.last_fill_at
    }

    /// Pyramid adds filled so far (the initial entry is not an add).
    #[must_use]
    pub const fn adds(&self) -> u32 {
        self.adds
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    #[test]
    fn average_entry_weights_by_quantity_and_reduce_keeps_it() {
        let t = DateTime::UNIX_EPOCH;
        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let p = |s: &str| s.parse::<Price>().unwrap();
        let mut pos = Position::open("ETH/USDT".parse().unwrap(), q("2"), p("1000"), t).unwrap();
        pos.add(q("1"), p("1300"), t).unwrap();
        // (2·1000 + 1·1300) / 3 = 1100
        assert_eq!(pos.average_entry(), p("1100"));
        assert_eq!(pos.last_fill_price(), p("1300"));
        let basis = pos.reduce(q("1.5"));
        assert_eq!(basis.value(), "1650".parse().unwrap());
        assert_eq!(pos.average_entry(), p("1100"));
        assert_eq!(pos.reduce(q("5")).value(), "1650".parse().unwrap());
        assert!(!pos.is_open());
        assert!(Position::open(pos.symbol(), Quantity::ZERO, p("1"), t).is_err());
    }
}
