//! # nexus-exchanges
//!
//! Exchange adapters implementing [`nexus_core::Exchange`] and [`nexus_core::MarketData`]:
//! one folder per venue with the same inner layout, and the in-process [`paper`] venue
//! that runs everything without an account.
//!
//! What is here so far: the Paper venue, and Binance's and Kraken's request signing
//! (checked against the worked examples of their documentation). The HTTP clients, rate
//! limiters and the market-data hub land with the rest of their issue.

pub mod binance;
pub mod kraken;
pub mod paper;

pub use paper::{PaperConfig, PaperExchange, PaperVenue};
