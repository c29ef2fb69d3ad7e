use chrono::{TimeZone, Utc};

use super::*;
use crate::money::Quantity;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

fn at(hours: i64) -> Timestamp {
    Utc.timestamp_opt(1_700_000_000 + hours * 3600, 0).unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn level(trigger: Trigger, m: &str) -> LevelConfig {
    LevelConfig {
        trigger,
        size_multiplier: d(m),
    }
}

fn winner() -> PyramidConfig {
    PyramidConfig {
        max_adds: 3,
        anchor: TriggerAnchor::LastFill,
        levels: vec![level(Trigger::Percent(d("5")), "0.5")],
        cooldown_secs: 3600,
        max_exposure: Some(ExposureCap::PercentOfEquity(Percent::new(d("50")).unwrap())),
    }
}

#[test]
fn the_documented_worked_example() {
    let config = winner();
    config.validate().unwrap();
    let mut pos = Position::open("BTC/USDT".parse().unwrap(), q("0.2"), p("40000"), at(0)).unwrap();
    assert_eq!(
        config.check_add(&pos, p("41999.99"), at(2), None),
        Err(NoAdd::NotTriggered {
            trigger_price: p("42000")
        })
    );
    let add = config.next_add(&pos, p("42000"), at(2), None).unwrap();
    assert_eq!(
        add,
        AddLevel {
            level: 1,
            size_multiplier: d("0.5"),
            trigger_price: p("42000")
        }
    );
    pos.add(q("0.1"), p("42000"), at(2)).unwrap();
    // 42 000 × 1.05 = 44 100, then 44 100 × 1.05 = 46 305.
    assert_eq!(
        config
            .next_add(&pos, p("44100"), at(4), None)
            .unwrap()
            .trigger_price,
        p("44100")
    );
    pos.add(q("0.1"), p("44100"), at(4)).unwrap();
    assert_eq!(
        config
            .next_add(&pos, p("46305"), at(6), None)
            .unwrap()
            .level,
        3
    );
    pos.add(q("0.1"), p("46305"), at(6)).unwrap();
    assert_eq!(
        config.check_add(&pos, p("100000"), at(8), None),
        Err(NoAdd::MaxAddsReached { max_adds: 3 })
    );
}

#[test]
fn cooldown_and_closed_positions_block_adds() {
    let config = winner();
    let mut pos = Position::open("BTC/USDT".parse().unwrap(), q("1"), p("100"), at(0)).unwrap();
    assert_eq!(
        config.check_add(&pos, p("200"), at(0), None),
        Err(NoAdd::CoolingDown { until: at(1) })
    );
    assert!(config.next_add(&pos, p("200"), at(1), None).is_some());
    pos.reduce(q("1"));
    assert_eq!(
        config.check_add(&pos, p("200"), at(5), None),
        Err(NoAdd::NotOpen)
    );
}

#[test]
fn averaging_down_from_the_average_entry_in_atr() {
    let config = PyramidConfig {
        max_adds: 2,
        anchor: TriggerAnchor::AverageEntry,
        levels: vec![
            level(Trigger::Atr(d("-1")), "1"),
            level(Trigger::Atr(d("-2")), "2"),
        ],
        cooldown_secs: 0,
        max_exposure: None,
    };
    config.validate().unwrap();
    let pos = Position::open("ETH/USDT".parse().unwrap(), q("1"), p("2000"), at(0)).unwrap();
    let atr = Some(p("50"));
    assert_eq!(
        config.check_add(&pos, p("1950"), at(0), None),
        Err(NoAdd::NoAtr)
    );
    assert_eq!(
        config.check_add(&pos, p("1950.01"), at(0), atr),
        Err(NoAdd::NotTriggered {
            trigger_price: p("1950")
        })
    );
    let add = config.next_add(&pos, p("1950"), at(0), atr).unwrap();
    assert_eq!((add.level, add.size_multiplier), (1, d("1")));
}

#[test]
fn validation_names_the_level_and_field() {
    let ok = winner();
    let with = |f: &dyn Fn(&mut PyramidConfig)| {
        let mut c = ok.clone();
        f(&mut c);
        c.validate().unwrap_err().to_string()
    };
    assert_eq!(
        with(&|c| c.max_adds = 21),
        "max_adds (21) must be at most 20"
    );
    assert_eq!(
        with(&|c| c.levels.clear()),
        "max_adds is 3 but no levels are defined"
    );
    assert_eq!(
        with(&|c| c.levels = vec![c.levels[0]; 4]),
        "4 levels are defined but max_adds is only 3"
    );
    assert_eq!(
        with(&|c| c.levels[0].size_multiplier = Decimal::ZERO),
        "level 1: size_multiplier must be above 0 and at most 100"
    );
    assert_eq!(
        with(&|c| c.levels[0].trigger = Trigger::Percent(Decimal::ZERO)),
        "level 1: trigger must not be zero"
    );
    assert_eq!(
        with(&|c| c.levels.push(level(Trigger::Percent(d("-3")), "1"))),
        "level 2: trigger must have the sign of the levels before it (positive adds to a winner, negative averages down)"
    );
    assert_eq!(
        with(&|c| c.anchor = TriggerAnchor::AverageEntry),
        "with anchor average_entry each of the 3 adds needs its own level; 1 are defined"
    );
    assert_eq!(
        with(&|c| {
            c.anchor = TriggerAnchor::AverageEntry;
            c.levels = vec![
                level(Trigger::Percent(d("5")), "1"),
                level(Trigger::Percent(d("10")), "1"),
                level(Trigger::Percent(d("8")), "1"),
            ];
        }),
        "level 3: trigger must be further from the average entry than the level before it"
    );
    assert_eq!(
        with(&|c| {
            c.anchor = TriggerAnchor::AverageEntry;
            c.levels = vec![
                level(Trigger::Percent(d("5")), "1"),
                level(Trigger::Atr(d("10")), "1"),
                level(Trigger::Atr(d("12")), "1"),
            ];
        }),
        "level 2: trigger must use the unit of the levels before it"
    );
    assert_eq!(
        with(&|c| c.max_exposure = Some(ExposureCap::PercentOfEquity(
            Percent::new(d("150")).unwrap()
        ))),
        "max_exposure: percent_of_equity must be above 0 and at most 100"
    );
    assert_eq!(
        with(&|c| c.max_exposure = Some(ExposureCap::Quote(
            Notional::new(d("1000000000000.5")).unwrap()
        ))),
        "max_exposure: quote must be above 0 and at most 1000000000000"
    );
    assert_eq!(
        with(&|c| c.levels[0].size_multiplier = d("100.001")),
        "level 1: size_multiplier must be above 0 and at most 100"
    );
    assert_eq!(
        with(&|c| c.levels[0].trigger = Trigger::Percent(d("1000.1"))),
        "level 1: trigger must be above -100 and at most 1000 percent"
    );
    assert_eq!(
        with(&|c| c.levels[0].trigger = Trigger::Percent(d("-100"))),
        "level 1: trigger must be above -100 and at most 1000 percent"
    );
    assert_eq!(
        with(&|c| c.levels[0].trigger = Trigger::Atr(d("-100.5"))),
        "level 1: trigger must be between -100 and 100 ATRs"
    );
    assert_eq!(
        with(&|c| c.cooldown_secs = MAX_COOLDOWN_SECS + 1),
        "cooldown_secs (31536001) must be at most 31536000 (365 days)"
    );
    let mut edge = ok.clone();
    edge.cooldown_secs = MAX_COOLDOWN_SECS;
    edge.levels[0] = level(Trigger::Percent(MAX_TRIGGER_PERCENT), "100");
    edge.validate().unwrap();
    edge.levels[0].trigger = Trigger::Atr(-MAX_TRIGGER_ATR);
    edge.validate().unwrap();
    // A cap in quote currency: up to 10¹² exactly, and not nothing.
    edge.max_exposure = Some(ExposureCap::Quote(
        Notional::new(MAX_EXPOSURE_QUOTE).unwrap(),
    ));
    edge.validate().unwrap();
    edge.max_exposure = Some(ExposureCap::Quote(Notional::new(d("0.01")).unwrap()));
    edge.validate().unwrap();
    edge.max_exposure = Some(ExposureCap::Quote(Notional::ZERO));
    assert_eq!(
        edge.validate().unwrap_err().to_string(),
        "max_exposure: quote must be above 0 and at most 1000000000000"
    );
    PyramidConfig::default().validate().unwrap();
}

/// Values validation refuses still never panic when a configuration bypasses it: a
/// cooldown past the end of time never ends, a trigger past any price never fires.
#[test]
fn unvalidated_extremes_never_fire_and_never_panic() {
    let pos = Position::open("BTC/USDT".parse().unwrap(), q("1"), p("100"), at(0)).unwrap();
    let mut config = winner();
    config.cooldown_secs = u64::MAX;
    assert!(matches!(
        config.check_add(&pos, p("200"), at(1_000_000), None),
        Err(NoAdd::CoolingDown { .. })
    ));
    config.cooldown_secs = 0;
    for trigger in [
        Trigger::Percent(Decimal::MAX),
        Trigger::Atr(Decimal::MAX),
        Trigger::Atr(Decimal::MIN),
        Trigger::Percent(Decimal::MIN),
    ] {
        config.levels[0].trigger = trigger;
        let price = Price::new(Price::MAX).unwrap();
        assert_eq!(
            config.check_add(&pos, price, at(1), Some(price)),
            Err(NoAdd::NotTriggered {
                trigger_price: p("100")
            }),
            "{trigger:?}"
        );
    }
}

#[test]
fn loads_from_toml_and_json_alike() {
    let toml_text = r#"
        max_adds = 3
        anchor = "last_fill"
        cooldown_secs = 3600
        max_exposure = { percent_of_equity = 50 }

        [[levels]]
        trigger = { percent = 5.0 }
        size_multiplier = 0.5
    "#;
    let json_text = r#"{
        "max_adds": 3, "anchor": "last_fill", "cooldown_secs": 3600,
        "max_exposure": { "percent_of_equity": "50" },
        "levels": [{ "trigger": { "percent": 5 }, "size_multiplier": "0.5" }]
    }"#;
    let from_toml: PyramidConfig = toml::from_str(toml_text).unwrap();
    let from_json: PyramidConfig = serde_json::from_str(json_text).unwrap();
    assert_eq!(from_toml, winner());
    assert_eq!(from_json, winner());
    let err = toml::from_str::<PyramidConfig>("max_add = 3").unwrap_err();
    assert!(err.to_string().contains("unknown field `max_add`"), "{err}");
    let err = serde_json::from_str::<PyramidConfig>(
        r#"{"levels":[{"trigger":{"percent":"x"},"size_multiplier":1}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"x\" is not a number"), "{err}");
}

#[test]
fn floats_from_config_files_are_read_as_written() {
    let config: LevelConfig =
        toml::from_str("trigger = { atr = 0.1 }\nsize_multiplier = 0.3").unwrap();
    assert_eq!(config.trigger, Trigger::Atr(d("0.1")));
    assert_eq!(config.size_multiplier, d("0.3"));
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn prop_adds_never_exceed_max_adds(
            max_adds in 0u32..=20, step in 1i64..=20, moves in proptest::collection::vec(-0.2f64..0.3, 1..80),
        ) {
            let config = PyramidConfig {
                max_adds,
                anchor: TriggerAnchor::LastFill,
                levels: if max_adds == 0 { vec![] } else { vec![level(Trigger::Percent(Decimal::new(step, 0)), "1")] },
                cooldown_secs: 0,
                max_exposure: None,
            };
            config.validate().unwrap();
            let mut pos = Position::open("BTC/USDT".parse().unwrap(), q("1"), p("100"), at(0)).unwrap();
            let mut price = 100.0f64;
            for (i, m) in moves.iter().enumerate() {
                price = (price * (1.0 + m)).max(0.01);
                let px = Price::new(Decimal::try_from(price).unwrap().round_dp(2)).unwrap();
                if let Some(add) = config.next_add(&pos, px, at(i as i64), None) {
                    prop_assert_eq!(add.level, pos.adds() + 1);
                    prop_assert!(px >= add.trigger_price);
                    pos.add(q("1"), px, at(i as i64)).unwrap();
                }
                prop_assert!(pos.adds() <= max_adds);
            }
        }
    }
}
