//! # nexus-exchanges
//!
//! Exchange adapters implementing [`nexus_core::Exchange`] and [`nexus_core::MarketData`]:
//! one folder per venue with the same inner layout, and the in-process [`paper`] venue
//! that runs everything without an account.
//!
//! What is here so far: the Paper venue, the [`MarketDataHub`] (TTL cache, one coalesced
//! upstream call per exchange), and Binance's and Kraken's request signing (checked
//! against the worked examples of their documentation). The HTTP clients and rate
//! limiters land with the rest of their issue.

pub mod binance;
pub mod coinbase;
pub mod http;
pub mod hub;
pub mod kraken;
pub mod limits;
#[cfg(feature = "mock")]
pub mod mock;
pub mod paper;
pub mod retry;
pub mod venues;

pub use binance::{BinanceClient, BinanceConfig, BinanceVenue};
pub use coinbase::{CoinbaseClient, CoinbaseConfig, CoinbaseVenue};
pub use http::HttpConfig;
pub use hub::{HubConfig, MarketDataHub};
pub use kraken::{KrakenClient, KrakenConfig, KrakenVenue};
pub use paper::{PaperConfig, PaperExchange, PaperVenue};
pub use retry::RetryPolicy;
pub use venues::{Venues, VenuesConfig};
