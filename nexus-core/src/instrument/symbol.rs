//! Asset codes and trading pairs in Nexus's canonical form (`BTC/USDT`).
//!
//! Both are `Copy` (the code is stored inline) so a fan-out over thousands of users never
//! allocates to carry a symbol around. Venue spellings (`BTCUSDT`, `XBTUSDT`, `BTC-USDT`)
//! are mapped by the adapters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::SymbolError;

/// An asset code such as `BTC` or `USDT`: 1 to [`Asset::MAX_LEN`] ASCII letters or digits,
/// kept in upper case.
///
/// ```
/// use nexus_core::Asset;
///
/// let usdt: Asset = "usdt".parse()?;
/// assert_eq!(usdt.as_str(), "USDT");
/// # Ok::<(), nexus_core::SymbolError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asset {
    len: u8,
    bytes: [u8; Asset::MAX_LEN],
}

impl Asset {
    /// The longest asset code accepted.
    pub const MAX_LEN: usize = 15;

    /// Parses an asset code, upper-casing it.
    ///
    /// # Errors
    /// When the code is empty, too long or has a character other than ASCII letters and digits.
    pub fn new(code: &str) -> Result<Self, SymbolError> {
        Self::parse(code, "asset", code)
    }

    fn parse(code: &str, side: &'static str, input: &str) -> Result<Self, SymbolError> {
        if code.is_empty() {
            return Err(SymbolError::EmptyAsset {
                side,
                input: truncate(input, 64),
            });
        }
        if let Some(character) = code.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(SymbolError::InvalidCharacter {
                asset: truncate(code, 32),
                character,
            });
        }
        if code.len() > Self::MAX_LEN {
            return Err(SymbolError::TooLong {
                asset: truncate(code, 32),
                len: code.len(),
                max: Self::MAX_LEN,
            });
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        for (slot, byte) in bytes.iter_mut().zip(code.bytes()) {
            *slot = byte.to_ascii_uppercase();
        }
        // Checked above: at most MAX_LEN (15) bytes.
        let len = u8::try_from(code.len()).unwrap_or(u8::MAX);
        Ok(Self { len, bytes })
    }

    /// The code, upper case.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

impl Ord for Asset {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Alphabetical, not by length first as a derived order on the fields would be.
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Asset {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asset({})", self.as_str())
    }
}

impl FromStr for Asset {
    type Err = SymbolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A trading pair: `base` priced in `quote`, written `BASE/QUOTE` (`BTC/USDT`).
///
/// ```
/// use nexus_core::Symbol;
///
/// let symbol: Symbol = "btc/usdt".parse()?;
/// assert_eq!(symbol.to_string(), "BTC/USDT");
/// assert_eq!(symbol.base().as_str(), "BTC");
///
/// let err = "BTCUSDT".parse::<Symbol>().unwrap_err();
/// assert_eq!(err.to_string(), "symbol \"BTCUSDT\" has no '/': expected BASE/QUOTE like BTC/USDT");
/// # Ok::<(), nexus_core::SymbolError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol {
    base: Asset,
    quote: Asset,
}

impl Symbol {
    /// A pair of two different assets.
    ///
    /// # Errors
    /// [`SymbolError::SameAsset`] when `base == quote`.
    pub fn new(base: Asset, quote: Asset) -> Result<Self, SymbolError> {
        if base == quote {
            return Err(SymbolError::SameAsset {
                input: format!("{base}/{quote}"),
            });
        }
        Ok(Self { base, quote })
    }

    /// The asset bought and sold.
    #[must_use]
    pub const fn base(&self) -> Asset {
        self.base
    }

    /// The asset prices are quoted in.
    #[must_use]
    pub const fn quote(&self) -> Asset {
        self.quote
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let owned = || truncate(input, 64);
        let trimmed = input.trim();
        let (base, quote) = trimmed
            .split_once('/')
            .ok_or_else(|| SymbolError::MissingSeparator { input: owned() })?;
        if quote.contains('/') {
            return Err(SymbolError::TooManySeparators { input: owned() });
        }
        let base = Asset::parse(base, "base", input)?;
        let quote = Asset::parse(quote, "quote", input)?;
        Self::new(base, quote).map_err(|_| SymbolError::SameAsset { input: owned() })
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.quote)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({self})")
    }
}

impl Serialize for Symbol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_show_their_code_in_debug_output() {
        let asset: Asset = "btc".parse().unwrap();
        assert_eq!(format!("{asset:?}"), "Asset(BTC)");
        assert_eq!(asset.to_string(), "BTC");
    }

    #[test]
    fn parses_canonical_and_lenient_forms() {
        for input in ["BTC/USDT", "btc/usdt", " BTC/USDT ", "Btc/uSdt"] {
            let symbol: Symbol = input.parse().unwrap();
            assert_eq!(symbol.to_string(), "BTC/USDT", "{input}");
        }
        let symbol: Symbol = "1INCH/EUR".parse().unwrap();
        assert_eq!(symbol.base().as_str(), "1INCH");
        assert_eq!(symbol.quote().as_str(), "EUR");
    }

    #[test]
    fn parse_errors_say_what_was_wrong() {
        let cases = [
            (
                "",
                "symbol \"\" has no '/': expected BASE/QUOTE like BTC/USDT",
            ),
            (
                "BTC-USDT",
                "symbol \"BTC-USDT\" has no '/': expected BASE/QUOTE like BTC/USDT",
            ),
            (
                "BTC/USDT/EUR",
                "symbol \"BTC/USDT/EUR\" has more than one '/': expected BASE/QUOTE like BTC/USDT",
            ),
            (
                "/USDT",
                "the base asset of \"/USDT\" is empty: expected BASE/QUOTE like BTC/USDT",
            ),
            (
                "BTC/",
                "the quote asset of \"BTC/\" is empty: expected BASE/QUOTE like BTC/USDT",
            ),
            (
                "BT C/USDT",
                "asset \"BT C\" has the character ' ': only ASCII letters and digits are allowed",
            ),
            (
                "BTC/USDTÉ",
                "asset \"USDTÉ\" has the character 'É': only ASCII letters and digits are allowed",
            ),
            (
                "ABCDEFGHIJKLMNOP/USD",
                "asset \"ABCDEFGHIJKLMNOP\" is 16 characters long; at most 15 are allowed",
            ),
            (
                "btc/BTC",
                "symbol \"btc/BTC\" has the same base and quote asset",
            ),
        ];
        for (input, message) in cases {
            let err = input.parse::<Symbol>().unwrap_err();
            assert_eq!(err.to_string(), message, "{input:?}");
        }
    }

    #[test]
    fn serialises_as_its_canonical_string() {
        let symbol: Symbol = "eth/btc".parse().unwrap();
        assert_eq!(serde_json::to_string(&symbol).unwrap(), "\"ETH/BTC\"");
        assert_eq!(
            serde_json::from_str::<Symbol>("\"ETH/BTC\"").unwrap(),
            symbol
        );
        assert!(serde_json::from_str::<Symbol>("\"ETHBTC\"").is_err());
        assert_eq!(format!("{symbol:?}"), "Symbol(ETH/BTC)");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_valid_symbols_round_trip(base in "[A-Za-z0-9]{1,15}", quote in "[A-Za-z0-9]{1,15}") {
            prop_assume!(!base.eq_ignore_ascii_case(&quote));
            let symbol: Symbol = format!("{base}/{quote}").parse().unwrap();
            prop_assert_eq!(symbol.to_string(), format!("{}/{}", base.to_uppercase(), quote.to_uppercase()));
            prop_assert_eq!(symbol.to_string().parse::<Symbol>().unwrap(), symbol);
        }

        #[test]
        fn prop_parse_never_panics(input in "\\PC{0,40}") {
            let _ = input.parse::<Symbol>();
        }
    }
}
