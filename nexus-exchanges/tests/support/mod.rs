//! What the venue tests share: orders on BTC/USDT, credentials, a client tuned to fail
//! fast against a local venue, and one harness per venue (its mock, its venue and one
//! account), which the conformance suite drives through [`Venue`] and each venue's own
//! tests use directly.
#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses part of it.

pub mod binance;
pub mod coinbase;
pub mod kraken;
mod venue;

pub use venue::{Endpoint, Expect, Fees, Filters, Venue};

use std::str::FromStr;
use std::time::Duration;

use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{ClientOrderId, NewOrder, OrderIntent, Price, Quantity, Secret, Side, Symbol};
use nexus_exchanges::{HttpConfig, RetryPolicy};

pub fn btc() -> Symbol {
    "BTC/USDT".parse().unwrap()
}

pub fn id(text: &str) -> ClientOrderId {
    ClientOrderId::new(text).unwrap()
}

pub fn credentials(key: &str, secret: &str) -> ApiCredentials {
    ApiCredentials {
        api_key: key.into(),
        secret: Secret::new(secret),
        passphrase: None,
    }
}

/// Attempts per request in every harness (the first included).
pub const ATTEMPTS: u32 = 3;

/// Retries that wait milliseconds, not seconds.
pub fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    }
}

/// A timeout short enough for a stalled answer to outlive it.
pub fn short_timeouts() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
    }
}

/// A market order on BTC/USDT.
pub fn market(side: Side, qty: &str, client_id: &str) -> NewOrder {
    NewOrder {
        client_order_id: id(client_id),
        intent: OrderIntent::market(btc(), side, Quantity::from_str(qty).unwrap()).unwrap(),
    }
}

/// A limit order on BTC/USDT.
pub fn limit(side: Side, qty: &str, price: &str, client_id: &str) -> NewOrder {
    NewOrder {
        client_order_id: id(client_id),
        intent: OrderIntent::limit(
            btc(),
            side,
            Quantity::from_str(qty).unwrap(),
            Price::from_str(price).unwrap(),
        )
        .unwrap(),
    }
}
