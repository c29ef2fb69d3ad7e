//! One conformance suite, every venue: each scenario runs through the `Exchange` and
//! `MarketData` ports against the Binance, Kraken and Coinbase mocks (`name::binance`,
//! `name::kraken`, `name::coinbase`), so the adapters keep one contract. What only one
//! venue does (its signing, its odd error codes, its documented JSON quirks) is tested in
//! that venue's own file (`tests/binance.rs`, …). A new venue adds its harness (an
//! `impl Venue` in `tests/support/`) and one test to `each_venue!`.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.
#![allow(missing_docs)] // A test harness, not an API.

#[path = "../support/mod.rs"]
mod support;

mod failures;
mod market_data;
mod orders;
mod permissions;

use std::str::FromStr;

use nexus_core::Symbol;
use rust_decimal::Decimal;

use support::Venue;

/// Defines a scenario run on every venue: `$scenario::binance`, `::kraken`, `::coinbase`,
/// each calling the generic `async fn $scenario<V: Venue>(v: V)` of the same name with a
/// freshly started venue.
#[macro_export]
macro_rules! each_venue {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn binance() {
                super::$scenario($crate::support::binance::Binance::start().await).await;
            }

            #[tokio::test]
            async fn kraken() {
                super::$scenario($crate::support::kraken::Kraken::start().await).await;
            }

            #[tokio::test]
            async fn coinbase() {
                super::$scenario($crate::support::coinbase::Coinbase::start().await).await;
            }
        }
    };
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn symbol(text: &str) -> Symbol {
    text.parse().unwrap()
}

/// What the account holds of `asset` as the venue reports it: free and locked (zero when
/// the venue leaves the asset out).
pub async fn holding(v: &impl Venue, asset: &str) -> (Decimal, Decimal) {
    let balances = v.account().balances().await.unwrap();
    balances
        .iter()
        .find(|b| b.asset.as_str() == asset)
        .map_or((Decimal::ZERO, Decimal::ZERO), |b| {
            (b.free.value(), b.locked.value())
        })
}
