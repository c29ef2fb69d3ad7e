//! # nexus-core
//!
//! The pure Nexus trading engine: the vocabulary every other crate speaks (money,
//! instruments, market data, orders) and the ports that exchange adapters and stores
//! implement. Nothing here does I/O, reads a clock or draws random numbers: time and ids
//! come in as arguments, so every function is deterministic and replayable.
//!
//! ```
//! use nexus_core::{Price, Quantity, Side};
//! use rust_decimal::Decimal;
//! use std::str::FromStr;
//!
//! let price = Price::from_str("64250.5")?;
//! let qty = Quantity::from_str("0.002")?;
//! assert_eq!((price * qty).to_string(), "128.501");
//! assert_eq!(Side::Buy.opposite(), Side::Sell);
//! # Ok::<(), nexus_core::MoneyError>(())
//! ```

pub mod backtest;
pub mod billing;
pub mod durations;
pub mod error;
pub mod execution;
pub mod fanout;
pub mod ids;
pub mod instrument;
pub mod market;
pub mod money;
pub mod order;
pub mod ports;
pub mod position;
pub mod pyramid;
pub mod regime;
mod secret;
mod serde_num;
pub mod sizing;
pub mod strategy;
#[cfg(test)]
mod test_support;

pub use error::StoreError;
pub use error::{
    BotConfigError, DecisionLogError, ExchangeError, FilterViolation, GatePolicyError, IdError,
    InstrumentError, MarketError, MoneyError, OrderError, PyramidConfigError, RegimeConfigError,
    SizingConfigError, SymbolError, UnknownName,
};
pub use ids::{BotId, ClientOrderId, SignalId, UserId};
pub use instrument::{Asset, ExchangeId, Instrument, InstrumentFilters, Symbol};
pub use market::{Candle, Interval, MarketSnapshot, Ticker};
pub use money::{Notional, Percent, Price, Quantity};
pub use order::{
    Balance, KeyPermissions, NewOrder, OrderIntent, OrderReport, OrderStatus, OrderType, Side,
};
pub use ports::{DecisionLog, Exchange, MarketData};
pub use position::Position;
pub use secret::Secret;

/// A point in time, always UTC. Core never reads the clock: callers pass `now` in.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
