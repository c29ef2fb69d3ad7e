//! Kraken Spot (`/0/public`, `/0/private`). Signing lands first; the client follows.

pub mod sign;
