//! Binance Spot (`/api/v3`). Signing lands first; the client follows.

pub mod sign;
