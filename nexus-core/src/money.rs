//! Prices, quantities, notionals and percentages as [`Decimal`] newtypes.
//!
//! Money is never `f64`. Each type has a private field, a fallible constructor that keeps
//! its invariant, and serialises as a canonical decimal *string* (`"0.001"`, never
//! `1e-3` or a JSON number) so no precision is lost on the way to a database or a client.
//!
//! | type | invariant | means |
//! |---|---|---|
//! | [`Price`] | `0 < p ≤ 10¹²` | quote currency per unit of base |
//! | [`Quantity`] | `0 ≤ q ≤ 10¹⁵` | an amount of an asset (order size, balance) |
//! | [`Notional`] | `0 ≤ n ≤ 10²⁷` | an amount of quote currency (price × quantity) |
//! | [`Percent`] | `|p| ≤ 10⁶` | a percentage: `1.5` is 1.5 %, 150 basis points |
//!
//! The bounds are far beyond any real market and guarantee that `Price × Quantity` always
//! fits in a `Decimal`, so the operators below cannot overflow.
//!
//! ## Arithmetic
//!
//! | expression | result | notes |
//! |---|---|---|
//! | `Price × Quantity` | `Notional` | also `Quantity × Price` |
//! | `Notional.quantity_at(Price)` | `Result<Quantity>` | how much base a quote amount buys |
//! | `Quantity.checked_add(Quantity)` / `checked_sub` | `Option<Quantity>` | `None` on overflow or below zero |
//! | `Quantity.saturating_sub(Quantity)` | `Quantity` | floors at zero |
//! | `Notional.checked_add(Notional)` / `checked_sub` | `Option<Notional>` | |
//! | `Percent.of(Notional)` | `Notional` | `Percent::new(1)?.of(n)` is 1 % of `n` (negative clamps to 0, past the maximum to [`Notional::MAX`]) |
//! | `Price.moved_by(Percent)` | `Result<Price>` | `+2 %` of a price, rounding kept by `Decimal` |
//!
//! There is deliberately no `Price + Quantity`, `Price + Notional` or `Quantity × Quantity`:
//! those mix units and do not compile.
//!
//! ```
//! use nexus_core::{Notional, Percent, Price, Quantity};
//! use rust_decimal::Decimal;
//!
//! let price = Price::new(Decimal::new(50_000, 0))?;
//! let qty = Quantity::new(Decimal::new(2, 3))?; // 0.002
//! let cost: Notional = price * qty;
//! assert_eq!(cost.to_string(), "100");
//! assert_eq!(cost.quantity_at(price)?, qty);
//! assert_eq!(Percent::from_bps(150).of(cost).to_string(), "1.5");
//! # Ok::<(), nexus_core::MoneyError>(())
//! ```

use std::fmt;
use std::ops::Mul;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::MoneyError;

/// Defines the shared surface of a decimal newtype: accessors, `Display`, `FromStr`,
/// string serde and `TryFrom<Decimal>`, all routed through the type's `new` so the
/// invariant holds however a value is made.
macro_rules! decimal_newtype {
    ($ty:ident, $kind:literal) => {
        impl $ty {
            /// The underlying decimal.
            #[must_use]
            pub const fn value(self) -> Decimal {
                self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Canonical form: no trailing zeros, never scientific notation.
                fmt::Display::fmt(&self.0.normalize(), f)
            }
        }

        impl FromStr for $ty {
            type Err = MoneyError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let value = parse_decimal($kind, s)?;
                Self::new(value)
            }
        }

        impl TryFrom<Decimal> for $ty {
            type Error = MoneyError;

            fn try_from(value: Decimal) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$ty> for Decimal {
            fn from(value: $ty) -> Decimal {
                value.0
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Strings only: a JSON number would pass through f64 and lose precision.
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Parses a plain decimal string (`"0.001"`, `"-2.5"`), rejecting exponents, blanks and
/// anything `Decimal` would silently round.
fn parse_decimal(kind: &'static str, input: &str) -> Result<Decimal, MoneyError> {
    let invalid = |reason: &'static str| MoneyError::Parse {
        kind,
        input: input.chars().take(64).collect(),
        reason,
    };
    if input.is_empty() {
        return Err(invalid("the value is empty"));
    }
    if input.trim() != input {
        return Err(invalid("the value has surrounding whitespace"));
    }
    let digits = input.strip_prefix('-').unwrap_or(input);
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '.') || digits.is_empty() {
        return Err(invalid("expected a plain decimal number like 12.34"));
    }
    Decimal::from_str_exact(input).map_err(|_| invalid("the number has too many digits"))
}

fn check_range(
    kind: &'static str,
    value: Decimal,
    min: Decimal,
    min_inclusive: bool,
    max: Decimal,
) -> Result<(), MoneyError> {
    let below = if min_inclusive {
        value < min
    } else {
        value <= min
    };
    if below {
        return Err(if min_inclusive {
            MoneyError::Negative { kind, value }
        } else {
            MoneyError::NotPositive { kind, value }
        });
    }
    if value > max {
        return Err(MoneyError::TooLarge { kind, value, max });
    }
    Ok(())
}

/// A price in quote currency per unit of base asset; always strictly positive.
///
/// ```
/// use nexus_core::Price;
/// use std::str::FromStr;
///
/// assert!(Price::from_str("0").is_err());
/// assert_eq!(Price::from_str("64250.50")?.to_string(), "64250.5");
/// # Ok::<(), nexus_core::MoneyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(Decimal);

impl Price {
    /// The largest price accepted: 10¹².
    pub const MAX: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

    /// Makes a price.
    ///
    /// # Errors
    /// [`MoneyError::NotPositive`] when `value ≤ 0`, [`MoneyError::TooLarge`] above [`Price::MAX`].
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        check_range("price", value, Decimal::ZERO, false, Self::MAX)?;
        Ok(Self(value))
    }

    /// This price moved by a percentage (`+2 %` of 100 is 102).
    ///
    /// # Errors
    /// When the result is not a valid price (a move of −100 % or more, or past the maximum).
    pub fn moved_by(self, pct: Percent) -> Result<Self, MoneyError> {
        Self::new(self.0 + self.0 * pct.fraction())
    }
}
decimal_newtype!(Price, "price");

/// An amount of an asset: an order size or a balance; never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(Decimal);

impl Quantity {
    /// Zero.
    pub const ZERO: Self = Self(Decimal::ZERO);
    /// The largest quantity accepted: 10¹⁵.
    pub const MAX: Decimal = Decimal::from_parts(0xA4C6_8000, 0x38D7E, 0, false, 0);

    /// Makes a quantity.
    ///
    /// # Errors
    /// [`MoneyError::Negative`] when `value < 0`, [`MoneyError::TooLarge`] above [`Quantity::MAX`].
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        check_range("quantity", value, Decimal::ZERO, true, Self::MAX)?;
        Ok(Self(value))
    }

    /// Whether this is zero.
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self + other`, or `None` past [`Quantity::MAX`].
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        Self::new(self.0.checked_add(other.0)?).ok()
    }

    /// `self − other`, or `None` when it would be negative.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        Self::new(self.0 - other.0).ok()
    }

    /// `self − other`, floored at zero.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        self.checked_sub(other).unwrap_or(Self::ZERO)
    }
}
decimal_newtype!(Quantity, "quantity");

/// An amount of quote currency, such as an order's cost; never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Notional(Decimal);

impl Notional {
    /// Zero.
    pub const ZERO: Self = Self(Decimal::ZERO);
    /// The largest notional accepted: 10²⁷ (`Price::MAX × Quantity::MAX`).
    pub const MAX: Decimal = Decimal::from_parts(0xE800_0000, 0x9FD0_803C, 0x033B_2E3C, false, 0);

    /// Makes a notional.
    ///
    /// # Errors
    /// [`MoneyError::Negative`] when `value < 0`, [`MoneyError::TooLarge`] above [`Notional::MAX`].
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        check_range("notional", value, Decimal::ZERO, true, Self::MAX)?;
        Ok(Self(value))
    }

    /// Whether this is zero.
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self + other`, or `None` past [`Notional::MAX`].
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        Self::new(self.0.checked_add(other.0)?).ok()
    }

    /// `self − other`, or `None` when it would be negative.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        Self::new(self.0 - other.0).ok()
    }

    /// The quantity of base asset this amount buys at `price` (not yet rounded to any step).
    ///
    /// # Errors
    /// [`MoneyError::TooLarge`] when the quantity would pass [`Quantity::MAX`].
    pub fn quantity_at(self, price: Price) -> Result<Quantity, MoneyError> {
        let value = self.0.checked_div(price.0).ok_or(MoneyError::Overflow {
            operation: "notional ÷ price",
        })?;
        Quantity::new(value)
    }
}
decimal_newtype!(Notional, "notional");

/// A percentage: `Percent::new(1.5)` is 1.5 % (150 basis points). May be negative, for
/// moves against a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(Decimal);

impl Percent {
    /// Zero percent.
    pub const ZERO: Self = Self(Decimal::ZERO);
    /// The largest magnitude accepted: 10⁶ %.
    pub const MAX: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

    /// Makes a percentage from its value in percent.
    ///
    /// # Errors
    /// [`MoneyError::TooLarge`] when `|value|` exceeds [`Percent::MAX`].
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        if value.abs() > Self::MAX {
            return Err(MoneyError::TooLarge {
                kind: "percent",
                value,
                max: Self::MAX,
            });
        }
        Ok(Self(value))
    }

    /// Makes a percentage from basis points (`150` is 1.5 %).
    #[must_use]
    pub fn from_bps(bps: i32) -> Self {
        // i32::MAX bps is ~2.1·10⁷ %: clamp so the invariant holds for every input.
        let value = Decimal::new(i64::from(bps), 2);
        Self(value.clamp(-Self::MAX, Self::MAX))
    }

    /// The value in basis points.
    #[must_use]
    pub fn bps(self) -> Decimal {
        self.0 * Decimal::ONE_HUNDRED
    }

    /// The value as a fraction (`1.5 %` is `0.015`).
    #[must_use]
    pub fn fraction(self) -> Decimal {
        // Dividing by 100 is moving the decimal point: much cheaper than a division,
        // which matters in a fan-out over a million bots.
        let mut value = self.0;
        match value.set_scale(value.scale() + 2) {
            Ok(()) => value,
            Err(_) => self.0 / Decimal::ONE_HUNDRED,
        }
    }

    /// This percentage of a notional; a negative percentage gives zero, and a result past
    /// [`Notional::MAX`] (up to 10⁶ % of 10²⁷) gives [`Notional::MAX`].
    #[must_use]
    pub fn of(self, amount: Notional) -> Notional {
        if self.0 <= Decimal::ZERO {
            return Notional::ZERO;
        }
        amount
            .0
            .checked_mul(self.fraction())
            .and_then(|value| Notional::new(value).ok())
            .unwrap_or(Notional(Notional::MAX))
    }
}
decimal_newtype!(Percent, "percent");

impl Mul<Quantity> for Price {
    type Output = Notional;

    fn mul(self, qty: Quantity) -> Notional {
        // Bounded inputs: 10¹² × 10¹⁵ = 10²⁷ fits, so this cannot overflow.
        Notional(self.0 * qty.0)
    }
}

impl Mul<Price> for Quantity {
    type Output = Notional;

    fn mul(self, price: Price) -> Notional {
        price * self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn constants_are_the_documented_powers_of_ten() {
        assert_eq!(Price::MAX, d("1000000000000"));
        assert_eq!(Quantity::MAX, d("1000000000000000"));
        assert_eq!(Notional::MAX, d("1000000000000000000000000000"));
        assert_eq!(Price::MAX * Quantity::MAX, Notional::MAX);
    }

    #[test]
    fn constructors_enforce_invariants() {
        let cases: &[(&str, bool, bool, bool)] = &[
            // value, price ok, quantity ok, notional ok
            ("-1", false, false, false),
            ("0", false, true, true),
            ("0.00000001", true, true, true),
            ("1000000000000", true, true, true),
            ("1000000000000.1", false, true, true),
            ("1000000000000001", false, false, true),
        ];
        for &(value, price, qty, notional) in cases {
            assert_eq!(Price::new(d(value)).is_ok(), price, "price {value}");
            assert_eq!(Quantity::new(d(value)).is_ok(), qty, "quantity {value}");
            assert_eq!(
                Notional::new(d(value)).is_ok(),
                notional,
                "notional {value}"
            );
        }
    }

    #[test]
    fn zero_is_told_apart_from_the_smallest_amount() {
        assert!(Quantity::ZERO.is_zero() && Notional::ZERO.is_zero());
        assert!(
            Notional::new(d("0.000")).unwrap().is_zero(),
            "a zero of any scale"
        );
        assert!(!Notional::new(d("0.00000001")).unwrap().is_zero());
        assert!(!Quantity::new(d("0.00000001")).unwrap().is_zero());
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let err = Price::from_str("0").unwrap_err();
        assert_eq!(err.to_string(), "price must be greater than zero, got 0");
        let err = Quantity::from_str("-0.5").unwrap_err();
        assert_eq!(err.to_string(), "quantity must not be negative, got -0.5");
        let err = Price::from_str("1e5").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid price \"1e5\": expected a plain decimal number like 12.34"
        );
        assert!(Quantity::from_str(" 1").is_err());
        assert!(Quantity::from_str("").is_err());
        assert!(Quantity::from_str("-").is_err());
        assert!(Quantity::from_str("1.2.3").is_err());
    }

    #[test]
    fn serialises_as_canonical_strings() {
        let price = Price::from_str("100.50").unwrap();
        assert_eq!(serde_json::to_string(&price).unwrap(), "\"100.5\"");
        let back: Price = serde_json::from_str("\"100.50\"").unwrap();
        assert_eq!(back, price);
        // Numbers would go through f64: refused.
        assert!(serde_json::from_str::<Price>("100.5").is_err());
        // Invariants hold on the way in, too.
        let err = serde_json::from_str::<Price>("\"-3\"").unwrap_err();
        assert!(
            err.to_string().contains("price must be greater than zero"),
            "{err}"
        );
    }

    #[test]
    fn arithmetic_table_holds() {
        let price = Price::from_str("25000").unwrap();
        let qty = Quantity::from_str("0.004").unwrap();
        assert_eq!((price * qty).value(), d("100"));
        assert_eq!((qty * price).value(), d("100"));
        assert_eq!(
            Notional::from_str("100")
                .unwrap()
                .quantity_at(price)
                .unwrap(),
            qty
        );
        assert_eq!(qty.checked_sub(Quantity::from_str("0.005").unwrap()), None);
        assert_eq!(
            qty.saturating_sub(Quantity::from_str("0.005").unwrap()),
            Quantity::ZERO
        );
        assert_eq!(
            price.moved_by(Percent::from_bps(-200)).unwrap().value(),
            d("24500")
        );
        assert!(price.moved_by(Percent::from_str("-100").unwrap()).is_err());
        assert_eq!(
            Percent::from_str("-5")
                .unwrap()
                .of(Notional::from_str("10").unwrap()),
            Notional::ZERO
        );
    }

    #[test]
    fn a_percentage_of_the_largest_notional_saturates_instead_of_overflowing() {
        let largest = Notional::new(Notional::MAX).unwrap();
        let most = Percent::new(Percent::MAX).unwrap();
        assert_eq!(most.of(largest).value(), Notional::MAX);
        assert_eq!(
            Percent::new(-Percent::MAX).unwrap().of(largest),
            Notional::ZERO
        );
        assert_eq!(
            Percent::new(d("50")).unwrap().of(largest).value(),
            d("500000000000000000000000000")
        );
    }

    #[test]
    fn percent_and_basis_points_agree() {
        let pct = Percent::from_bps(150);
        assert_eq!(pct.value(), d("1.5"));
        assert_eq!(pct.bps(), d("150"));
        assert_eq!(pct.fraction(), d("0.015"));
        // With every decimal place in use, the point cannot move two places: divided
        // instead, rounded to the places there are.
        let fine = Percent::new(d("1.000000000000000000000000001")).unwrap();
        assert_eq!(fine.fraction(), d("0.0100000000000000000000000000"));
        assert_eq!(Percent::from_bps(i32::MAX).value(), Percent::MAX);
        assert!(Percent::from_str("1000001").is_err());
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    fn decimal(max_mantissa: i64) -> impl Strategy<Value = Decimal> {
        (0..=max_mantissa, 0u32..=12).prop_map(|(m, scale)| Decimal::new(m, scale))
    }

    proptest! {
        #[test]
        fn prop_display_round_trips(value in decimal(i64::MAX)) {
            let qty = Quantity::new(value);
            prop_assume!(qty.is_ok());
            let qty = qty.unwrap();
            let parsed = Quantity::from_str(&qty.to_string()).unwrap();
            prop_assert_eq!(parsed, qty);
            let json = serde_json::to_string(&qty).unwrap();
            prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), qty);
        }

        #[test]
        fn prop_price_times_quantity_never_overflows(
            p in 1i64..=1_000_000_000_000, ps in 0u32..=12,
            q in 0i64..=1_000_000_000_000_000, qs in 0u32..=12,
        ) {
            let price = Price::new(Decimal::new(p, ps)).unwrap();
            let qty = Quantity::new(Decimal::new(q, qs)).unwrap();
            let notional = price * qty;
            prop_assert!(notional.value() <= Notional::MAX);
            prop_assert_eq!(notional.value(), price.value() * qty.value());
        }

        #[test]
        fn prop_quantity_at_inverts_multiplication(
            p in 1i64..=10_000_000, q in 0i64..=10_000_000,
        ) {
            let price = Price::new(Decimal::new(p, 2)).unwrap();
            let qty = Quantity::new(Decimal::new(q, 6)).unwrap();
            prop_assert_eq!((price * qty).quantity_at(price).unwrap(), qty);
        }
    }
}
