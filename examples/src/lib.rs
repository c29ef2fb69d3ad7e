//! Runnable examples for integrators: `cargo run -p nexus-examples --example <name>`.
//!
//! - `round_an_order`: size an order in quote currency and make it satisfy a venue's filters.
//! - `fan_out`: one entry signal planned for three users; orders and skips with their reasons.
