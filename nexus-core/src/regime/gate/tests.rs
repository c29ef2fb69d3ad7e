use chrono::DateTime;

use super::*;
use crate::ports::MemoryDecisionLog;
use crate::test_support::block_on;

fn inputs(action: GateAction, regime: Option<Regime>, age_ms: Option<u64>) -> GateInputs {
    GateInputs {
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        action,
        regime,
        confidence: regime.map(|_| 0.7),
        data_age_ms: age_ms,
        advisor: AdvisorInput::NotAsked,
    }
}

fn opinion(verdict: AdvisorVerdict) -> AdvisorInput {
    AdvisorInput::Opinion {
        opinion: AdvisorOpinion {
            verdict,
            reason: "llm says so".into(),
        },
    }
}

fn codes(decision: &GateDecision) -> Vec<String> {
    decision
        .reasons
        .iter()
        .map(|r| {
            serde_json::to_value(r).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

const FRESH: Option<u64> = Some(5_000);
const STALE: Option<u64> = Some(60_001);

#[test]
fn default_policy_by_regime_and_action() {
    use GateAction::*;
    use Regime::*;
    let gate = Gatekeeper::default();
    let cases = [
        (Entry, Bull, true),
        (Entry, Sideways, true),
        (Entry, Bear, false),
        (Entry, Volatile, false),
        (Add, Bull, true),
        (Add, Sideways, false),
        (Add, Bear, false),
        (Add, Volatile, false),
        (Exit, Bull, true),
        (Exit, Bear, true),
        (Exit, Volatile, true),
    ];
    for (action, regime, allowed) in cases {
        let decision = gate.decide(inputs(action, Some(regime), FRESH), DateTime::UNIX_EPOCH);
        assert_eq!(decision.allowed, allowed, "{action:?} in {regime}");
        assert_eq!(decision.regime, Some(regime));
    }
}

#[test]
fn missing_stale_or_unknown_fails_closed_for_entries_and_adds_only() {
    let gate = Gatekeeper::default();
    let at = DateTime::UNIX_EPOCH;
    for action in [GateAction::Entry, GateAction::Add] {
        let d = gate.decide(inputs(action, Some(Regime::Bull), None), at);
        assert!(!d.allowed);
        assert_eq!(codes(&d), ["missing_data", "regime_allows"]);
        let d = gate.decide(inputs(action, Some(Regime::Bull), STALE), at);
        assert!(!d.allowed);
        assert_eq!(
            d.reasons[0],
            GateReason::StaleData {
                age_ms: 60_001,
                max_age_ms: 60_000
            }
        );
        let d = gate.decide(inputs(action, None, FRESH), at);
        assert!(!d.allowed);
        assert_eq!(codes(&d), ["unknown_regime"]);
        // Exactly at the limit is still fresh.
        assert!(
            gate.decide(inputs(action, Some(Regime::Bull), Some(60_000)), at)
                .allowed
        );
    }
    let exit = gate.decide(inputs(GateAction::Exit, None, None), at);
    assert!(exit.allowed);
    assert_eq!(codes(&exit), ["exit_always_allowed"]);
}

#[test]
fn the_advisor_can_only_make_the_gate_stricter() {
    let gate = Gatekeeper::default();
    let at = DateTime::UNIX_EPOCH;
    // Rules allow; advisor blocks → blocked.
    let mut i = inputs(GateAction::Entry, Some(Regime::Bull), FRESH);
    i.advisor = opinion(AdvisorVerdict::Block);
    let d = gate.decide(i, at);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["regime_allows", "advisor_blocked"]);
    // Rules block; advisor allows → still blocked.
    let mut i = inputs(GateAction::Entry, Some(Regime::Bear), FRESH);
    i.advisor = opinion(AdvisorVerdict::Allow);
    let d = gate.decide(i, at);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["regime_blocks", "advisor_agreed"]);
    // Stale data; advisor allows → still blocked.
    let mut i = inputs(GateAction::Add, Some(Regime::Bull), STALE);
    i.advisor = opinion(AdvisorVerdict::Allow);
    assert!(!gate.decide(i, at).allowed);
    // Exits ignore even a blocking advisor.
    let mut i = inputs(GateAction::Exit, Some(Regime::Bear), FRESH);
    i.advisor = opinion(AdvisorVerdict::Block);
    assert!(gate.decide(i, at).allowed);
}

#[test]
fn a_policy_that_ignores_the_advisor_is_neither_blocked_nor_told() {
    let at = DateTime::UNIX_EPOCH;
    let ignoring = Gatekeeper::new(GatePolicy {
        advisor: AdvisorUse::Ignore,
        advisor_error_blocks: true,
        ..GatePolicy::default()
    });
    let mut i = inputs(GateAction::Entry, Some(Regime::Bull), FRESH);
    i.advisor = opinion(AdvisorVerdict::Block);
    let d = ignoring.decide(i.clone(), at);
    assert!(d.allowed);
    assert_eq!(codes(&d), ["regime_allows"]);
    i.advisor = Err(AdvisorError::Timeout { after_ms: 1 }).into();
    assert!(ignoring.decide(i, at).allowed, "its errors too");
    let policy: GatePolicy = serde_json::from_str(r#"{"advisor": "ignore"}"#).unwrap();
    assert_eq!(policy.advisor, AdvisorUse::Ignore);
    assert!(serde_json::from_str::<GatePolicy>(r#"{"advisor": "maybe"}"#).is_err());
}

#[test]
fn an_advisor_error_is_no_opinion_and_is_noted_unless_the_policy_fails_closed() {
    let at = DateTime::UNIX_EPOCH;
    let mut i = inputs(GateAction::Entry, Some(Regime::Bull), FRESH);
    i.advisor = Err(AdvisorError::Timeout { after_ms: 3_000 }).into();
    let d = Gatekeeper::default().decide(i.clone(), at);
    assert!(d.allowed);
    assert_eq!(
        d.reasons[1],
        GateReason::AdvisorUnavailable {
            error: "the advisor did not answer within 3000 ms".into(),
            blocked: false
        }
    );
    let strict = Gatekeeper::new(GatePolicy {
        advisor_error_blocks: true,
        ..GatePolicy::default()
    });
    assert!(!strict.decide(i, at).allowed);
}

#[test]
fn every_decision_is_recorded_with_its_inputs() {
    let log = MemoryDecisionLog::new();
    let gate = Gatekeeper::default();
    let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let allowed = block_on(gate.decide_and_record(
        inputs(GateAction::Entry, Some(Regime::Bull), FRESH),
        at,
        &log,
    ))
    .unwrap();
    let blocked =
        block_on(gate.decide_and_record(inputs(GateAction::Entry, None, FRESH), at, &log)).unwrap();
    assert!(allowed.allowed && !blocked.allowed);
    assert_eq!(log.decisions(), [allowed, blocked.clone()]);
    let json = serde_json::to_value(&blocked).unwrap();
    assert_eq!(json["inputs"]["symbol"], "BTC/USDT");
    assert_eq!(json["inputs"]["advisor"]["status"], "not_asked");
    assert_eq!(json["reasons"][0]["code"], "unknown_regime");
    assert_eq!(json["at"], "2023-11-14T22:13:20Z");
    let back: GateDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, blocked);
}

#[test]
fn policies_load_with_defaults_and_refuse_typos() {
    let policy: GatePolicy = serde_json::from_str(r#"{"entry_regimes":["bull"]}"#).unwrap();
    assert_eq!(policy.entry_regimes, [Regime::Bull]);
    assert_eq!(policy.add_regimes, [Regime::Bull]);
    assert!(serde_json::from_str::<GatePolicy>(r#"{"entry_regime":["bull"]}"#).is_err());
    assert!(serde_json::from_str::<GatePolicy>(r#"{"entry_regimes":["moon"]}"#).is_err());
}

#[test]
fn policies_have_a_data_age_range_and_list_each_regime_once() {
    let check = |json: &str| {
        serde_json::from_str::<GatePolicy>(json)
            .unwrap()
            .validate()
            .map_err(|e| e.to_string())
    };
    let cases = [
        (r#"{}"#, Ok(())),
        (r#"{"max_data_age_secs": 1}"#, Ok(())),
        (r#"{"max_data_age_secs": 86400}"#, Ok(())),
        (
            r#"{"max_data_age_secs": 0}"#,
            Err("max_data_age_secs: must be between 1 and 86400 (one day), got 0"),
        ),
        (
            r#"{"max_data_age_secs": 18446744073709551615}"#,
            Err(
                "max_data_age_secs: must be between 1 and 86400 (one day), got 18446744073709551615",
            ),
        ),
        (
            r#"{"entry_regimes": ["bull", "bear", "sideways", "volatile"], "add_regimes": []}"#,
            Ok(()),
        ),
        (
            r#"{"add_regimes": ["bull", "bear", "bull"]}"#,
            Err("add_regimes: bull is listed more than once"),
        ),
    ];
    for (json, expected) in cases {
        assert_eq!(check(json), expected.map_err(str::to_owned), "{json}");
    }
}

#[test]
fn first_block_names_the_block_decide_would_give_first() {
    let policy = GatePolicy::default();
    let strict = GatePolicy {
        advisor_error_blocks: true,
        ..GatePolicy::default()
    };
    let ignoring = GatePolicy {
        advisor: AdvisorUse::Ignore,
        ..strict.clone()
    };
    let bull = |age: Option<u64>, advisor: AdvisorInput| {
        let mut i = inputs(GateAction::Entry, Some(Regime::Bull), age);
        i.advisor = advisor;
        i
    };
    let error = || AdvisorInput::Error {
        error: AdvisorError::Timeout { after_ms: 1 },
    };
    // Data exactly at the age limit is fresh; a millisecond older is stale.
    assert_eq!(
        policy.first_block(&bull(Some(60_000), AdvisorInput::NotAsked)),
        None
    );
    assert_eq!(
        policy.first_block(&bull(Some(60_001), AdvisorInput::NotAsked)),
        Some(GateBlock::StaleData {
            age_ms: 60_001,
            max_age_ms: 60_000
        })
    );
    assert_eq!(
        policy.first_block(&bull(None, AdvisorInput::NotAsked)),
        Some(GateBlock::MissingData)
    );
    assert_eq!(
        policy.first_block(&inputs(GateAction::Add, Some(Regime::Sideways), FRESH)),
        Some(GateBlock::RegimeBlocks {
            regime: Regime::Sideways
        })
    );
    assert_eq!(
        policy.first_block(&inputs(GateAction::Entry, None, FRESH)),
        Some(GateBlock::UnknownRegime)
    );
    // The advisor: its block blocks, its agreement does not; its error blocks only a strict
    // policy; a policy that ignores it is blocked by neither.
    let block = opinion(AdvisorVerdict::Block);
    let allow = opinion(AdvisorVerdict::Allow);
    assert_eq!(
        policy.first_block(&bull(FRESH, block.clone())),
        Some(GateBlock::AdvisorBlocked)
    );
    assert_eq!(policy.first_block(&bull(FRESH, allow.clone())), None);
    assert_eq!(strict.first_block(&bull(FRESH, allow)), None);
    assert_eq!(policy.first_block(&bull(FRESH, error())), None);
    assert_eq!(
        strict.first_block(&bull(FRESH, error())),
        Some(GateBlock::AdvisorUnavailable)
    );
    assert_eq!(ignoring.first_block(&bull(FRESH, block.clone())), None);
    assert_eq!(ignoring.first_block(&bull(FRESH, error())), None);
    // Exits are never blocked, whatever else is wrong.
    let mut exit = inputs(GateAction::Exit, None, None);
    exit.advisor = block;
    assert_eq!(strict.first_block(&exit), None);
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    fn arb_inputs() -> impl Strategy<Value = GateInputs> {
        let regime = proptest::option::of(proptest::sample::select(Regime::ALL.to_vec()));
        let action =
            proptest::sample::select(vec![GateAction::Entry, GateAction::Add, GateAction::Exit]);
        let advisor = prop_oneof![
            Just(AdvisorInput::NotAsked),
            Just(opinion(AdvisorVerdict::Allow)),
            Just(opinion(AdvisorVerdict::Block)),
            Just(AdvisorInput::Error {
                error: AdvisorError::Timeout { after_ms: 1 }
            }),
        ];
        (
            action,
            regime,
            proptest::option::of(prop_oneof![0u64..120_000, 59_998u64..60_003]),
            advisor,
        )
            .prop_map(|(action, regime, age, advisor)| {
                let mut i = inputs(action, regime, age);
                i.advisor = advisor;
                i
            })
    }

    proptest! {
        #[test]
        fn prop_first_block_agrees_with_decide(inputs in arb_inputs(), strict in any::<bool>(), ignore in any::<bool>()) {
            let advisor = if ignore { AdvisorUse::Ignore } else { AdvisorUse::Follow };
            let policy = GatePolicy { advisor_error_blocks: strict, advisor, ..GatePolicy::default() };
            let decision = Gatekeeper::new(policy.clone()).decide(inputs.clone(), DateTime::UNIX_EPOCH);
            prop_assert_eq!(decision.allowed, policy.first_block(&inputs).is_none());
            // The first block is the first blocking reason decide gives, in the same terms.
            let first = decision.reasons.iter().find(|r| r.blocks()).map(|r| {
                serde_json::to_value(r).unwrap()["code"].as_str().unwrap().to_owned()
            });
            let block = policy.first_block(&inputs).map(|b| {
                serde_json::to_value(b).unwrap()["code"].as_str().unwrap().to_owned()
            });
            prop_assert_eq!(first, block);
        }
    }
}
