//! Recorded verdicts for replays: `nexus llm export` writes one JSON object per line for
//! every answered call, and `nexus backtest --advisor-replay FILE` reads them back, so a
//! backtest shows what the advisor changed without spending anything.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use nexus_core::ports::advisor::LlmCall;
use nexus_core::regime::advisor::{AdvisorOpinion, AdvisorVerdict};
use nexus_core::regime::gate::{AdvisorInput, GateAction};
use nexus_core::{ExchangeId, Interval, Symbol};
use serde::{Deserialize, Serialize};

/// One recorded verdict, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedVerdict {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// The candle interval.
    pub interval: Interval,
    /// The open time of the candle decided on.
    pub candle: DateTime<Utc>,
    /// `entry` or `add`.
    pub action: GateAction,
    /// `allow` or `block`.
    pub verdict: AdvisorVerdict,
    /// Its reason.
    pub reason: String,
    /// Who answered.
    pub provider: String,
    /// With which model.
    pub model: String,
}

/// A replay file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a recorded verdict.
    #[error("{path}:{line}: not a recorded verdict ({message})")]
    Line {
        /// The file.
        path: String,
        /// The line (1-based).
        line: usize,
        /// What did not fit.
        message: String,
    },
}

/// The answered calls among `calls`, the first per market, candle and action (the one
/// that was used), as recorded verdicts.
#[must_use]
pub fn verdicts(calls: &[LlmCall]) -> Vec<RecordedVerdict> {
    let mut seen = std::collections::HashSet::new();
    calls
        .iter()
        .filter_map(|call| {
            let verdict = call.verdict?;
            seen.insert(call.key).then(|| RecordedVerdict {
                exchange: call.key.exchange,
                symbol: call.key.symbol,
                interval: call.key.interval,
                candle: call.key.candle,
                action: call.key.action,
                verdict,
                reason: call.reason.clone().unwrap_or_default(),
                provider: call.provider.clone(),
                model: call.model.clone(),
            })
        })
        .collect()
}

/// Verdicts by (pair, candle, action), read from a file of exported lines.
pub type Replay = HashMap<(Symbol, DateTime<Utc>, GateAction), AdvisorInput>;

/// Reads an exported file.
///
/// # Errors
/// [`ReplayError`] naming the file and line.
pub fn load(path: &Path) -> Result<Replay, ReplayError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
        path: name.clone(),
        source,
    })?;
    let mut replay = Replay::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: RecordedVerdict = serde_json::from_str(line).map_err(|e| ReplayError::Line {
            path: name.clone(),
            line: n + 1,
            message: e.to_string(),
        })?;
        let opinion = AdvisorInput::Opinion {
            opinion: AdvisorOpinion {
                verdict: v.verdict,
                reason: format!("replayed ({} {}): {}", v.provider, v.model, v.reason),
            },
        };
        replay
            .entry((v.symbol, v.candle, v.action))
            .or_insert(opinion);
    }
    Ok(replay)
}
