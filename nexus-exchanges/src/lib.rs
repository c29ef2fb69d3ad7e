//! # nexus-exchanges
//!
//! Exchange adapters implementing [`nexus_core::Exchange`] and [`nexus_core::MarketData`]:
//! one folder per venue (Binance, Kraken, Coinbase) with the same inner layout, the
//! in-process Paper venue, venue-wide and per-account rate limiters, and the market-data
//! hub that calls each venue once per symbol and TTL for every user.
//!
//! The adapters land with their own issue; this crate fixes their place in the
//! dependency graph (`nexus-core` ← `nexus-exchanges` ← `nexus-server`).

pub use nexus_core::{Exchange, ExchangeError, ExchangeId, MarketData};
