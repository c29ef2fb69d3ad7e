//! Market regime detection and the gatekeeper that decides whether a strategy may trade.
//!
//! The engine runs this once per (exchange, symbol, interval), never once per user:
//! [`RegimeClassifier`] turns candles into a [`Regime`], and the [`gate`] turns a regime,
//! the data's age and an optional advisor's opinion into a recorded
//! [`GateDecision`](gate::GateDecision) per bot policy.

pub mod advisor;
mod classifier;
mod config;
pub mod gate;
pub mod indicators;

pub use classifier::{Classification, IndicatorValues, Regime, RegimeClassifier, classify};
pub use config::{MAX_PERIOD, RegimeConfig};
