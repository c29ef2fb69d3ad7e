//! The one error for a venue answer that could not be read, whichever the venue: the
//! endpoint that answered, the field at fault (when one is) and why. It reaches callers as
//! [`ExchangeError::Decode`], whose message is its text.

use nexus_core::{ExchangeError, ExchangeId, IdError, MarketError, MoneyError};
use serde::de::DeserializeOwned;
use thiserror::Error;

/// A venue's answer that could not be read.
///
/// ```
/// use nexus_exchanges::decode::{DecodeError, DecodeReason};
///
/// let e = DecodeError::field("klines", "row 3 close", DecodeReason::Missing);
/// assert_eq!(e.to_string(), "klines row 3 close: missing");
/// ```
#[derive(Debug, Error)]
#[error("{endpoint}{}: {reason}", .field.as_ref().map_or_else(String::new, |f| format!(" {f}")))]
pub struct DecodeError {
    /// The endpoint that answered, as the venue names it (`klines`, `AssetPairs`,
    /// `best_bid_ask`).
    pub endpoint: &'static str,
    /// The field at fault, with what locates it (`BTCUSDT bidPrice`, `row 3 close`);
    /// `None` when the body as a whole is.
    pub field: Option<String>,
    /// What was wrong.
    pub reason: DecodeReason,
}

/// Why an answer, or one of its fields, could not be read.
#[derive(Debug, Error)]
pub enum DecodeReason {
    /// The body is not the JSON the endpoint documents.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A field the venue always sends is missing or empty.
    #[error("missing")]
    Missing,
    /// A field holds a value of the wrong kind.
    #[error("expected {expected}, found {found:?}")]
    Malformed {
        /// What the field should hold (`a decimal`, `an RFC 3339 time`).
        expected: &'static str,
        /// What it held (its first 40 characters).
        found: String,
    },
    /// A status, side or other word this adapter does not know.
    #[error("unknown value {value:?}")]
    Unknown {
        /// The word (its first 40 characters).
        value: String,
    },
    /// A time no timestamp can hold.
    #[error("time {value} is out of range")]
    TimeOutOfRange {
        /// The venue's value.
        value: String,
    },
    /// A sum or quotient of the venue's values does not fit a decimal.
    #[error("{what} overflows")]
    Overflow {
        /// What was computed (`fees`, `average price`).
        what: &'static str,
    },
    /// A value no core type accepts (a zero price, a negative quantity).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// A candle or ticker that contradicts itself.
    #[error(transparent)]
    Market(#[from] MarketError),
    /// A client order id no venue would accept.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The venue answered a request that needs no account with its own error list.
    #[error("the venue reported {errors}")]
    Venue {
        /// The venue's errors, joined.
        errors: String,
    },
    /// An order the venue has just acted on is missing from its own lists.
    #[error("the order the venue just {action} is not in its lists")]
    OrderNotListed {
        /// What the venue did (`cancelled`).
        action: &'static str,
    },
    /// Several orders answer to one client order id and nothing tells which is ours.
    #[error("{count} orders answer to client order id {id}; cannot tell which is ours")]
    Ambiguous {
        /// How many.
        count: usize,
        /// The client order id.
        id: String,
    },
}

impl DecodeReason {
    /// A field that holds `found` where it should hold `expected`.
    #[must_use]
    pub fn malformed(expected: &'static str, found: &str) -> Self {
        Self::Malformed {
            expected,
            found: cut(found, 40),
        }
    }

    /// A word this adapter does not know.
    #[must_use]
    pub fn unknown(value: &str) -> Self {
        Self::Unknown {
            value: cut(value, 40),
        }
    }
}

impl DecodeError {
    /// The body of `endpoint`'s answer as a whole could not be read.
    #[must_use]
    pub fn body(endpoint: &'static str, reason: impl Into<DecodeReason>) -> Self {
        Self {
            endpoint,
            field: None,
            reason: reason.into(),
        }
    }

    /// One field of `endpoint`'s answer could not be read.
    #[must_use]
    pub fn field(
        endpoint: &'static str,
        field: impl Into<String>,
        reason: impl Into<DecodeReason>,
    ) -> Self {
        Self {
            endpoint,
            field: Some(field.into()),
            reason: reason.into(),
        }
    }

    /// Reads `body` as the JSON `endpoint` answers with.
    ///
    /// # Errors
    /// [`DecodeReason::Json`] when it is not.
    pub fn json<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, Self> {
        serde_json::from_slice(body).map_err(|e| Self::body(endpoint, e))
    }

    /// As the classified error of a call to `exchange`.
    #[must_use]
    pub fn into_exchange_error(self, exchange: ExchangeId) -> ExchangeError {
        ExchangeError::Decode {
            exchange,
            message: self.to_string(),
        }
    }
}

/// `text` cut to `max` characters, for messages that quote a venue's value.
pub(crate) fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_endpoint_the_field_and_the_reason() {
        let e = DecodeError::field(
            "ticker/24hr",
            "BTCUSDT bidPrice",
            DecodeReason::malformed("a decimal", "1,5"),
        );
        assert_eq!(
            e.to_string(),
            "ticker/24hr BTCUSDT bidPrice: expected a decimal, found \"1,5\""
        );
        let whole = DecodeError::json::<Vec<u8>>("klines", b"<html>").unwrap_err();
        assert!(whole.field.is_none());
        assert!(matches!(whole.reason, DecodeReason::Json(_)));
        assert!(
            whole.to_string().starts_with("klines: expected value"),
            "{whole}"
        );
    }

    #[test]
    fn it_becomes_the_decode_error_of_the_venue() {
        let error = DecodeError::field("order", "updateTime", DecodeReason::Missing)
            .into_exchange_error(ExchangeId::Binance);
        assert!(
            matches!(&error, ExchangeError::Decode { exchange: ExchangeId::Binance, message }
                if message == "order updateTime: missing"),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "binance: could not decode the response: order updateTime: missing"
        );
        assert!(!error.is_retryable());
    }

    #[test]
    fn quoted_values_are_cut_short() {
        let long = "x".repeat(500);
        match DecodeReason::malformed("a decimal", &long) {
            DecodeReason::Malformed { found, .. } => assert_eq!(found.len(), 40),
            other => panic!("{other}"),
        }
        assert_eq!(cut("héllo", 2), "hé");
    }
}
