//! `nexus llm export`: the advisor's recorded verdicts as JSON lines, for
//! `nexus backtest --advisor-replay`.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::store::open_store;

/// The start of `date` (UTC), or the moment it names (RFC 3339).
fn moment(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| DateTime::from_naive_utc_and_offset(d, Utc))
        })
}

/// Writes the verdicts answered in `[from, to)` to stdout, one JSON object per line.
pub async fn export(from: &str, to: &str) -> ExitCode {
    let (Some(from_at), Some(to_at)) = (moment(from), moment(to)) else {
        eprintln!("nexus llm export: --from and --to take a date (2026-12-01) or an RFC 3339 time");
        return ExitCode::from(2);
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("nexus: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    crate::config::init_logging(&config);
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("nexus llm export: {err}");
            return ExitCode::FAILURE;
        }
    };
    let calls = match store.llm_calls_between(from_at, to_at).await {
        Ok(calls) => calls,
        Err(err) => {
            eprintln!("nexus llm export: {err}");
            return ExitCode::FAILURE;
        }
    };
    let verdicts = crate::advisor::replay::verdicts(&calls);
    let mut out = std::io::stdout().lock();
    for verdict in &verdicts {
        let line = serde_json::to_string(verdict).unwrap_or_default();
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "nexus llm export: {} verdict(s) from {} call(s)",
        verdicts.len(),
        calls.len()
    );
    ExitCode::SUCCESS
}
