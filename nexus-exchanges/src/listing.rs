//! Why a market a venue lists is left out of its instruments: it does not trade now, or
//! its filters cannot be read. Such a market is logged and skipped; it never fails the
//! whole listing.

use nexus_core::{InstrumentError, SymbolError};
use thiserror::Error;

use crate::decode::DecodeReason;

/// Why a listed market is not an instrument.
#[derive(Debug, Error)]
pub enum Unlisted {
    /// The venue's status for it is not a trading one (`BREAK`, `offline`, `cancel_only`).
    #[error("status is {status}")]
    Status {
        /// The venue's status (its first 32 characters).
        status: String,
    },
    /// The venue sent no status.
    #[error("no status")]
    NoStatus,
    /// The venue flags it as closed to new orders in some way.
    #[error("{0}")]
    Closed(&'static str),
    /// Not a spot market.
    #[error("product type is {0}")]
    NotSpot(String),
    /// Its name or assets make no core symbol.
    #[error("{field} {value:?} names no BASE/QUOTE symbol")]
    NoSymbol {
        /// The venue's field (`wsname`, `product_id`).
        field: &'static str,
        /// Its value (its first 32 characters).
        value: String,
    },
    /// An asset's name no core asset can hold.
    #[error(transparent)]
    Asset(#[from] SymbolError),
    /// A filter it needs is not there (`PRICE_FILTER`, `base_increment`).
    #[error("no {0}")]
    Missing(&'static str),
    /// A filter's field could not be read.
    #[error("{field}: {reason}")]
    Field {
        /// The venue's field (`tickSize`, `lot_decimals`).
        field: &'static str,
        /// What was wrong with it.
        reason: DecodeReason,
    },
    /// The filters contradict each other.
    #[error(transparent)]
    Filters(#[from] InstrumentError),
}

impl Unlisted {
    /// `field` could not be read.
    pub(crate) fn field(field: &'static str, reason: impl Into<DecodeReason>) -> Self {
        Self::Field {
            field,
            reason: reason.into(),
        }
    }
}
