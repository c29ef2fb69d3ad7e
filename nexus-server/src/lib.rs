//! # nexus-server
//!
//! The Nexus reference server: composes `nexus-core`, the exchange adapters and the store
//! into a multi-user HTTP API (poem + poem-openapi) and the `nexus` binary.
//!
//! [`server::run`] takes an already bound listener and a shutdown future, so tests start
//! the real server on port 0 and stop it cleanly.

pub mod advisor;
pub mod alerts;
pub mod api;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod commands;
pub mod config;
pub mod email;
pub mod engine;
pub mod events;
pub mod ids;
pub mod instance;
pub mod job_runner;
pub mod maintenance;
pub mod metrics;
pub mod provider_http;
pub mod server;
pub mod store;
pub mod web;
