//! One module per subcommand of the `nexus` binary.

pub mod admin;
pub mod backtest;
pub mod billing;
pub mod demo;
pub mod exchange;
pub mod llm;
mod plot;
pub mod regime;
pub mod serve;
pub mod users;
