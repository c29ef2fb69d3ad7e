//! The gatekeeper: whether a bot may enter, add to or exit a position now.
//!
//! Rules, in order:
//!
//! 1. **Exits are never blocked** — not by data, regime or advisor.
//! 2. **Fail closed** for entries and adds: missing market data, data older than the
//!    policy's `max_data_age_secs`, or no regime yet (warm-up) block them.
//! 3. The regime must be in the policy's list for the action (default: entries in `bull`
//!    and `sideways`, adds only in `bull`).
//! 4. An advisor can only **block**. Its "allow" never overrides the rules; its error or
//!    timeout counts as no opinion (unless the policy's `advisor_error_blocks` is set) and
//!    is noted.
//!
//! Every decision carries its reasons and the inputs it saw, and
//! [`Gatekeeper::decide_and_record`] hands it to a [`DecisionLog`] before returning it,
//! so allowed and blocked decisions alike can be audited.

use serde::{Deserialize, Serialize};

use super::advisor::{AdvisorError, AdvisorOpinion, AdvisorVerdict};
use super::classifier::Regime;
use crate::Timestamp;
use crate::error::{DecisionLogError, GatePolicyError};
use crate::instrument::{ExchangeId, Symbol};
use crate::ports::DecisionLog;

/// What a strategy wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateAction {
    /// Open a new position.
    Entry,
    /// Add a pyramid level to an open position.
    Add,
    /// Close (part of) a position.
    Exit,
}

/// A bot's gate settings.
///
/// ```
/// use nexus_core::regime::{gate::GatePolicy, Regime};
///
/// let policy = GatePolicy::default();
/// assert_eq!(policy.entry_regimes, [Regime::Bull, Regime::Sideways]);
/// assert_eq!(policy.add_regimes, [Regime::Bull]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatePolicy {
    /// Regimes in which new entries are allowed, each at most once.
    pub entry_regimes: Vec<Regime>,
    /// Regimes in which pyramid adds are allowed, each at most once.
    pub add_regimes: Vec<Regime>,
    /// Market data older than this blocks entries and adds: [`MIN_DATA_AGE_SECS`] (1) to
    /// [`MAX_DATA_AGE_SECS`] (86 400, one day). Default 60.
    pub max_data_age_secs: u64,
    /// Whether an advisor error or timeout blocks (fail closed) instead of counting as no
    /// opinion. Default false.
    pub advisor_error_blocks: bool,
    /// Whether this policy follows the advisor (`follow`, the default) or ignores its
    /// opinions and errors altogether (`ignore`).
    pub advisor: AdvisorUse,
}

/// Whether a gate policy listens to the advisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisorUse {
    /// Its block blocks (and its error, with `advisor_error_blocks`).
    #[default]
    Follow,
    /// Its opinion is neither asked for this bot's sake nor followed.
    Ignore,
}

/// The smallest `max_data_age_secs`: one second.
pub const MIN_DATA_AGE_SECS: u64 = 1;
/// The largest `max_data_age_secs`: one day.
pub const MAX_DATA_AGE_SECS: u64 = 86_400;

impl GatePolicy {
    /// Checks the policy: `max_data_age_secs` within [`MIN_DATA_AGE_SECS`]..=
    /// [`MAX_DATA_AGE_SECS`], and no regime listed twice.
    ///
    /// # Errors
    /// A [`GatePolicyError`] naming the field.
    pub fn validate(&self) -> Result<(), GatePolicyError> {
        if !(MIN_DATA_AGE_SECS..=MAX_DATA_AGE_SECS).contains(&self.max_data_age_secs) {
            return Err(GatePolicyError::DataAge {
                value: self.max_data_age_secs,
            });
        }
        for (field, regimes) in [
            ("entry_regimes", &self.entry_regimes),
            ("add_regimes", &self.add_regimes),
        ] {
            for (i, regime) in regimes.iter().enumerate() {
                if regimes[..i].contains(regime) {
                    return Err(GatePolicyError::RepeatedRegime {
                        field,
                        regime: *regime,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Default for GatePolicy {
    fn default() -> Self {
        Self {
            entry_regimes: vec![Regime::Bull, Regime::Sideways],
            add_regimes: vec![Regime::Bull],
            max_data_age_secs: 60,
            advisor_error_blocks: false,
            advisor: AdvisorUse::Follow,
        }
    }
}

/// What the advisor said, if it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AdvisorInput {
    /// No advisor is configured (or it was not asked).
    #[default]
    NotAsked,
    /// It answered.
    Opinion {
        /// The answer.
        opinion: AdvisorOpinion,
    },
    /// It could not answer.
    Error {
        /// Why.
        error: AdvisorError,
    },
}

impl From<Result<AdvisorOpinion, AdvisorError>> for AdvisorInput {
    fn from(result: Result<AdvisorOpinion, AdvisorError>) -> Self {
        match result {
            Ok(opinion) => Self::Opinion { opinion },
            Err(error) => Self::Error { error },
        }
    }
}

/// Everything the gate looks at for one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateInputs {
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// What the strategy wants to do.
    pub action: GateAction,
    /// The confirmed regime; `None` while unknown (warm-up, no candles).
    pub regime: Option<Regime>,
    /// The classifier's confidence in it.
    pub confidence: Option<f64>,
    /// Age of the market data in milliseconds; `None` when there is none.
    pub data_age_ms: Option<u64>,
    /// The advisor's answer.
    pub advisor: AdvisorInput,
}

/// Why the gate decided as it did. Serialised with a stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum GateReason {
    /// Exits are never blocked.
    ExitAlwaysAllowed,
    /// The regime is one the policy allows for this action.
    RegimeAllows {
        /// The regime.
        regime: Regime,
    },
    /// The regime is not one the policy allows for this action.
    RegimeBlocks {
        /// The regime.
        regime: Regime,
    },
    /// There is no regime yet: fail closed.
    UnknownRegime,
    /// There is no market data: fail closed.
    MissingData,
    /// The market data is too old: fail closed.
    StaleData {
        /// Its age.
        age_ms: u64,
        /// The policy's maximum.
        max_age_ms: u64,
    },
    /// The advisor blocked the action.
    AdvisorBlocked {
        /// Its reason.
        reason: String,
    },
    /// The advisor had no objection (which never overrides a block).
    AdvisorAgreed {
        /// Its reason.
        reason: String,
    },
    /// The advisor could not answer: treated as no opinion, or as a block when the policy
    /// says `advisor_error_blocks`.
    AdvisorUnavailable {
        /// What went wrong.
        error: String,
        /// Whether it blocked the action.
        blocked: bool,
    },
}

impl GateReason {
    /// Whether this reason blocks the action.
    #[must_use]
    pub fn blocks(&self) -> bool {
        match self {
            Self::RegimeBlocks { .. }
            | Self::UnknownRegime
            | Self::MissingData
            | Self::StaleData { .. }
            | Self::AdvisorBlocked { .. } => true,
            Self::AdvisorUnavailable { blocked, .. } => *blocked,
            Self::ExitAlwaysAllowed | Self::RegimeAllows { .. } | Self::AdvisorAgreed { .. } => {
                false
            }
        }
    }
}

/// The first reason an action is blocked, without allocating: what a fan-out over
/// thousands of bots checks per bot. Serialised with a stable `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum GateBlock {
    /// No market data.
    MissingData,
    /// Market data too old.
    StaleData {
        /// Its age.
        age_ms: u64,
        /// The policy's maximum.
        max_age_ms: u64,
    },
    /// No regime yet.
    UnknownRegime,
    /// The regime is not allowed for the action.
    RegimeBlocks {
        /// The regime.
        regime: Regime,
    },
    /// The advisor blocked.
    AdvisorBlocked,
    /// The advisor could not answer and the policy fails closed.
    AdvisorUnavailable,
}

impl GatePolicy {
    /// The first reason this policy blocks `inputs`, or `None` when it allows them. Agrees
    /// with [`Gatekeeper::decide`] (a property test checks it) but allocates nothing.
    #[must_use]
    pub fn first_block(&self, inputs: &GateInputs) -> Option<GateBlock> {
        let allowed_regimes = match inputs.action {
            GateAction::Exit => return None,
            GateAction::Entry => &self.entry_regimes,
            GateAction::Add => &self.add_regimes,
        };
        let max_age_ms = self.max_data_age_secs.saturating_mul(1000);
        match inputs.data_age_ms {
            None => return Some(GateBlock::MissingData),
            Some(age_ms) if age_ms > max_age_ms => {
                return Some(GateBlock::StaleData { age_ms, max_age_ms });
            }
            Some(_) => {}
        }
        match inputs.regime {
            None => return Some(GateBlock::UnknownRegime),
            Some(regime) if !allowed_regimes.contains(&regime) => {
                return Some(GateBlock::RegimeBlocks { regime });
            }
            Some(_) => {}
        }
        if self.advisor == AdvisorUse::Ignore {
            return None;
        }
        match &inputs.advisor {
            AdvisorInput::Opinion { opinion } if opinion.verdict == AdvisorVerdict::Block => {
                Some(GateBlock::AdvisorBlocked)
            }
            AdvisorInput::Error { .. } if self.advisor_error_blocks => {
                Some(GateBlock::AdvisorUnavailable)
            }
            _ => None,
        }
    }
}

/// The gate's answer, with everything needed to audit it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// The regime the decision was made in.
    pub regime: Option<Regime>,
    /// Every reason that applied, blocking or not.
    pub reasons: Vec<GateReason>,
    /// What the gate saw.
    pub inputs: GateInputs,
    /// The policy it applied.
    pub policy: GatePolicy,
    /// When it decided (passed in by the caller; core has no clock).
    pub at: Timestamp,
}

/// Applies one [`GatePolicy`].
///
/// ```
/// use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, Gatekeeper, GatePolicy};
/// use nexus_core::regime::Regime;
/// use nexus_core::ExchangeId;
///
/// let gate = Gatekeeper::new(GatePolicy::default());
/// let mut inputs = GateInputs {
///     exchange: ExchangeId::Paper,
///     symbol: "BTC/USDT".parse()?,
///     action: GateAction::Entry,
///     regime: Some(Regime::Bear),
///     confidence: Some(0.8),
///     data_age_ms: Some(2_000),
///     advisor: AdvisorInput::NotAsked,
/// };
/// assert!(!gate.decide(inputs.clone(), chrono::DateTime::UNIX_EPOCH).allowed);
/// inputs.action = GateAction::Exit;
/// assert!(gate.decide(inputs, chrono::DateTime::UNIX_EPOCH).allowed);
/// # Ok::<(), nexus_core::SymbolError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gatekeeper {
    policy: GatePolicy,
}

impl Gatekeeper {
    /// A gatekeeper applying `policy`.
    #[must_use]
    pub const fn new(policy: GatePolicy) -> Self {
        Self { policy }
    }

    /// The policy.
    #[must_use]
    pub const fn policy(&self) -> &GatePolicy {
        &self.policy
    }

    /// Decides. Pure: the same inputs and time give the same decision.
    #[must_use]
    pub fn decide(&self, inputs: GateInputs, at: Timestamp) -> GateDecision {
        let reasons = self.reasons(&inputs);
        GateDecision {
            allowed: !reasons.iter().any(GateReason::blocks),
            regime: inputs.regime,
            reasons,
            inputs,
            policy: self.policy.clone(),
            at,
        }
    }

    /// Decides and records the decision in `log` before returning it.
    ///
    /// # Errors
    /// When the log cannot record it; the caller must then not act on the decision.
    pub async fn decide_and_record(
        &self,
        inputs: GateInputs,
        at: Timestamp,
        log: &dyn DecisionLog,
    ) -> Result<GateDecision, DecisionLogError> {
        let decision = self.decide(inputs, at);
        log.record(&decision).await?;
        Ok(decision)
    }

    fn reasons(&self, inputs: &GateInputs) -> Vec<GateReason> {
        let allowed_regimes = match inputs.action {
            GateAction::Exit => return vec![GateReason::ExitAlwaysAllowed],
            GateAction::Entry => &self.policy.entry_regimes,
            GateAction::Add => &self.policy.add_regimes,
        };
        let mut reasons = Vec::with_capacity(3);
        let max_age_ms = self.policy.max_data_age_secs.saturating_mul(1000);
        match inputs.data_age_ms {
            None => reasons.push(GateReason::MissingData),
            Some(age_ms) if age_ms > max_age_ms => {
                reasons.push(GateReason::StaleData { age_ms, max_age_ms });
            }
            Some(_) => {}
        }
        reasons.push(match inputs.regime {
            None => GateReason::UnknownRegime,
            Some(regime) if allowed_regimes.contains(&regime) => {
                GateReason::RegimeAllows { regime }
            }
            Some(regime) => GateReason::RegimeBlocks { regime },
        });
        let advisor = match self.policy.advisor {
            AdvisorUse::Follow => &inputs.advisor,
            AdvisorUse::Ignore => &AdvisorInput::NotAsked,
        };
        match advisor {
            AdvisorInput::NotAsked => {}
            AdvisorInput::Opinion { opinion } => reasons.push(match opinion.verdict {
                AdvisorVerdict::Block => GateReason::AdvisorBlocked {
                    reason: opinion.reason.clone(),
                },
                AdvisorVerdict::Allow => GateReason::AdvisorAgreed {
                    reason: opinion.reason.clone(),
                },
            }),
            AdvisorInput::Error { error } => reasons.push(GateReason::AdvisorUnavailable {
                error: error.to_string(),
                blocked: self.policy.advisor_error_blocks,
            }),
        }
        reasons
    }
}

#[cfg(test)]
mod tests;
