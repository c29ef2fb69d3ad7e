//! Coinbase Advanced Trade (`/api/v3/brokerage`): the client, Coinbase's JSON models, the
//! ES256 JWT request signing of CDP API keys and the parsing of answers into core types.

pub mod client;
mod models;
pub mod parse;
pub mod sign;
pub mod stream;

pub use client::{CoinbaseClient, CoinbaseConfig, CoinbaseVenue};
