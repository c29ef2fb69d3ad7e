//! # nexus-exchanges
//!
//! Exchange adapters implementing [`nexus_core::Exchange`] and [`nexus_core::MarketData`]:
//! one folder per venue with the same inner layout, and the in-process [`paper`] venue
//! that runs everything without an account.
//!
//! - [`binance`], [`kraken`], [`coinbase`]: REST clients (`client`), the venue's JSON
//!   (`models`), request signing checked against the documentation's worked examples
//!   (`sign`), and answers parsed into core types with classified errors (`parse`);
//! - [`decode::DecodeError`]: the one error for an answer that could not be read, and
//!   [`listing::Unlisted`]: why a listed market is left out;
//! - [`limits`] (venue-wide budgets, per-account limiters, the ban gate) and [`retry`]
//!   (exponential backoff with full jitter; unknown order outcomes reported, not retried);
//! - [`venues::Venues`]: one shared venue per exchange for a process;
//! - [`hub::MarketDataHub`]: TTL cache, one coalesced upstream call per exchange;
//! - [`paper`]: the simulated venue;
//! - `mock` (feature `mock`): local venues that check signatures and answer with the
//!   documented JSON, for tests.
//!
//! See `docs/exchanges.md`.

pub mod binance;
pub mod coinbase;
pub mod decode;
pub mod http;
pub mod hub;
pub mod kraken;
pub mod limits;
pub mod listing;
#[cfg(feature = "mock")]
pub mod mock;
pub mod paper;
pub mod retry;
pub mod stream;
pub mod venues;

pub use binance::{BinanceClient, BinanceConfig, BinanceVenue};
pub use coinbase::{CoinbaseClient, CoinbaseConfig, CoinbaseVenue};
pub use decode::DecodeError;
pub use http::HttpConfig;
pub use hub::{HubConfig, MarketDataHub};
pub use kraken::{KrakenClient, KrakenConfig, KrakenVenue};
pub use paper::{MemoryLedger, PaperConfig, PaperExchange, PaperVenue};
pub use retry::RetryPolicy;
pub use venues::{AccountError, Venues, VenuesConfig};
