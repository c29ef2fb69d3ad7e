//! `nexus migrate` and `nexus keys rotate`: operator commands on the database.

use std::process::ExitCode;

use chrono::Utc;
use nexus_core::ports::audit::{AuditAction, AuditEvent};

use crate::config::Config;
use crate::store::open_store;

/// The configuration from the environment, with logging set up; exit code 2 when invalid.
pub(super) fn config() -> Result<Config, ExitCode> {
    let config = Config::from_env().map_err(|err| {
        eprintln!("nexus: invalid configuration: {err}");
        ExitCode::from(2)
    })?;
    crate::config::init_logging(&config);
    Ok(config)
}

/// Applies pending migrations and reports the backend.
pub async fn migrate() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    match open_store(&config).await {
        Ok(store) => {
            println!(
                "nexus migrate: the {} database is up to date",
                store.backend()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("nexus migrate: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Re-encrypts every exchange secret under the current master key, `batch` rows at a
/// time, and records the rotation in the audit log.
pub async fn rotate(batch: u32) -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("nexus keys rotate: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut total = 0u64;
    loop {
        match store.rotate_keys(batch, Utc::now()).await {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                println!("nexus keys rotate: re-encrypted {total} so far");
            }
            Err(err) => {
                eprintln!("nexus keys rotate: stopped after {total}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let event = AuditEvent {
        actor: None,
        action: AuditAction::KeysRotated,
        subject: None,
        details: serde_json::json!({ "reencrypted": total }).to_string(),
        at: Utc::now(),
    };
    if let Err(err) = store.append(&event).await {
        eprintln!(
            "nexus keys rotate: rotated {total}, but could not record it in the audit log: {err}"
        );
        return ExitCode::FAILURE;
    }
    println!("nexus keys rotate: done, {total} secret(s) re-encrypted under the current key");
    ExitCode::SUCCESS
}
