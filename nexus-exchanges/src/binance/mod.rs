//! Binance Spot (`/api/v3`): the client, Binance's JSON models, request signing and the
//! parsing of answers into core types.

pub mod client;
mod models;
pub mod parse;
pub mod sign;
pub mod stream;

pub use client::{BinanceClient, BinanceConfig, BinanceVenue};
