//! The venues Nexus trades on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SymbolError;

/// A supported venue. Serialised in lowercase (`"binance"`).
///
/// ```
/// use nexus_core::ExchangeId;
///
/// let id: ExchangeId = "kraken".parse()?;
/// assert_eq!(id, ExchangeId::Kraken);
/// assert_eq!(id.to_string(), "kraken");
/// assert!("ftx".parse::<ExchangeId>().is_err());
/// # Ok::<(), nexus_core::SymbolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeId {
    /// Binance Spot.
    Binance,
    /// Kraken Spot.
    Kraken,
    /// Coinbase Advanced Trade.
    Coinbase,
    /// The in-process simulated venue; needs no account.
    Paper,
}

impl ExchangeId {
    /// Every venue, in a stable order.
    pub const ALL: [Self; 4] = [Self::Binance, Self::Kraken, Self::Coinbase, Self::Paper];

    /// The lowercase name used in configuration, URLs and storage.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Binance => "binance",
            Self::Kraken => "kraken",
            Self::Coinbase => "coinbase",
            Self::Paper => "paper",
        }
    }
}

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExchangeId {
    type Err = SymbolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|id| id.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| SymbolError::UnknownExchange {
                input: s.chars().take(64).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for id in ExchangeId::ALL {
            assert_eq!(id.to_string().parse::<ExchangeId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{id}\""));
            assert_eq!(serde_json::from_str::<ExchangeId>(&json).unwrap(), id);
        }
        assert_eq!(
            " Binance ".parse::<ExchangeId>().unwrap(),
            ExchangeId::Binance
        );
        let err = "ftx".parse::<ExchangeId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown exchange \"ftx\": expected one of binance, kraken, coinbase, paper"
        );
    }
}
