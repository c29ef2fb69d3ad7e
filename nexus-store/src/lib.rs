//! # nexus-store
//!
//! Persistence over sqlx with two backends behind the same traits: SQLite (a file, the
//! embedded default) and PostgreSQL (production, and what several server instances share).
//! Migrations live in `migrations/{sqlite,postgres}` and run at start-up; the job queue
//! claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL; exchange secrets are encrypted.
//!
//! The stores land with their own issue; this crate fixes their place in the dependency
//! graph (`nexus-core` ← `nexus-store` ← `nexus-server`).

pub use nexus_core::Timestamp;
