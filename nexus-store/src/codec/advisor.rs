//! The advisor's call records, for both databases' rows.

use nexus_core::StoreError;
use nexus_core::ports::advisor::{LlmCall, VerdictKey};
use nexus_core::regime::advisor::AdvisorVerdict;
use nexus_core::regime::gate::GateAction;

use super::{Columns, TableRow};

/// The stored name of an advised action.
pub(crate) const fn action_name(action: GateAction) -> &'static str {
    match action {
        GateAction::Entry => "entry",
        GateAction::Add => "add",
        GateAction::Exit => "exit",
    }
}

/// The stored name of a verdict.
pub(crate) const fn verdict_name(verdict: AdvisorVerdict) -> &'static str {
    match verdict {
        AdvisorVerdict::Allow => "allow",
        AdvisorVerdict::Block => "block",
    }
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt {
        message: format!("llm_calls.{column}: {value:?} is not known"),
    }
}

/// A row of `llm_calls`.
pub(crate) fn llm_call(row: &impl Columns) -> Result<LlmCall, StoreError> {
    let r = TableRow::new(row, "llm_calls");
    let action = match r.text("action")? {
        "entry" => GateAction::Entry,
        "add" => GateAction::Add,
        other => return Err(corrupt("action", other)),
    };
    let verdict = match r.opt_text("verdict")? {
        None => None,
        Some("allow") => Some(AdvisorVerdict::Allow),
        Some("block") => Some(AdvisorVerdict::Block),
        Some(other) => return Err(corrupt("verdict", other)),
    };
    Ok(LlmCall {
        id: r.integer("id")?,
        at: r.time("at")?,
        provider: r.string("provider")?,
        model: r.string("model")?,
        key: VerdictKey {
            exchange: r.parse("exchange")?,
            symbol: r.parse("symbol")?,
            interval: r.parse("interval")?,
            candle: r.time("candle")?,
            action,
        },
        prompt_hash: r.string("prompt_hash")?,
        request: r.string("request")?,
        response: r.opt_string("response")?,
        tokens_in: r.integer("tokens_in")?,
        tokens_out: r.integer("tokens_out")?,
        cost_usd: r.opt_decimal("cost_usd")?,
        latency_ms: r.integer("latency_ms")?,
        outcome: r.string("outcome")?,
        verdict,
        reason: r.opt_string("reason")?,
    })
}
