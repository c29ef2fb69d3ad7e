//! Lenient number fields for configuration files: TOML and JSON configs write `2.5` or
//! `"2.5"`; both become an exact `Decimal` (a float goes through its shortest decimal
//! form, so `0.1` is 0.1). API payloads keep the strict string-only form of `money`.

use std::fmt;

use rust_decimal::Decimal;
use serde::Deserializer;
use serde::de::{self, Visitor};

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a decimal string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        Decimal::from_str_exact(v.trim()).map_err(|_| E::custom(format!("{v:?} is not a number")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // The shortest representation that round-trips: what the user wrote.
        Decimal::from_str_exact(&v.to_string())
            .or_else(|_| Decimal::try_from(v))
            .map_err(|_| E::custom(format!("{v} is not a representable number")))
    }
}

/// Deserialises a number or decimal string into any type built from a `Decimal`.
pub(crate) fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<Decimal>,
    T::Error: fmt::Display,
{
    let value = deserializer.deserialize_any(DecimalVisitor)?;
    T::try_from(value).map_err(de::Error::custom)
}

/// [`number`] for an optional field.
pub(crate) fn option_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<Decimal>,
    T::Error: fmt::Display,
{
    struct Wrapper<T>(T);
    impl<'de, T> serde::Deserialize<'de> for Wrapper<T>
    where
        T: TryFrom<Decimal>,
        T::Error: fmt::Display,
    {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            number(deserializer).map(Wrapper)
        }
    }
    Ok(<Option<Wrapper<T>> as serde::Deserialize>::deserialize(deserializer)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use crate::backtest::BacktestConfig;

    #[test]
    fn a_number_field_reads_numbers_and_decimal_strings_and_says_so_otherwise() {
        let read = |json: &str| serde_json::from_str::<BacktestConfig>(json);
        let config = read(r#"{"initial_quote": 2.5, "fee_pct": "0.1"}"#).unwrap();
        assert_eq!(config.initial_quote.value().to_string(), "2.5");
        assert_eq!(config.fee_pct.value().to_string(), "0.1");
        let err = read(r#"{"initial_quote": true}"#).unwrap_err().to_string();
        assert!(
            err.contains("expected a number or a decimal string"),
            "{err}"
        );
        let err = read(r#"{"initial_quote": "ten"}"#).unwrap_err().to_string();
        assert!(err.contains(r#""ten" is not a number"#), "{err}");
    }
}
