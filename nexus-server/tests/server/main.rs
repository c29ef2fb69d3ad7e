//! The server's integration tests, one binary: the API and the engine end to end on a real
//! server (port 0) over a fresh SQLite file and, when `NEXUS_TEST_POSTGRES_URL` is set, a
//! fresh PostgreSQL schema; the `nexus` commands as people run them. The harness every test
//! shares is in `support`.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.
#![allow(missing_docs)] // A test harness, not an API.

mod support;

mod accounts;
mod admin_cli;
mod advisor;
mod alerts;
mod api;
mod api_versions;
mod backtest_cli;
mod billing;
mod cli;
mod email;
mod engine;
mod events;
mod exchange_cli;
mod failover;
mod fuzz_corpus;
mod hostile;
mod llm_providers;
mod oauth;
mod ops_files;
mod regime_cli;
mod resend_client;
mod rust_client;
mod stripe_client;
mod trades;
mod users_cli;
mod web_account;
mod web_admin;
mod web_bots;
mod web_pages;
