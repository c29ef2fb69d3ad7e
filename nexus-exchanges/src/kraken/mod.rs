//! Kraken Spot (`/0/public`, `/0/private`): the client, Kraken's JSON models, request
//! signing, nonces and the parsing of answers into core types.

pub mod client;
mod models;
pub mod nonce;
pub mod parse;
pub mod sign;
pub mod stream;

pub use client::{KrakenClient, KrakenConfig, KrakenVenue};
pub use nonce::LocalNonces;
