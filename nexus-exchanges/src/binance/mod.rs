//! Binance Spot (`/api/v3`). Signing and instrument parsing land first; the client
//! follows.

pub mod parse;
pub mod sign;
