use super::*;

/// A deterministic pseudo-random sequence in [-1, 1) (xorshift; tests need no `rand`).
fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed.max(1);
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2_000_001) as f64 / 1_000_000.0 - 1.0
    }
}

/// Bars whose close moves by `drift` per bar plus `wiggle` of noise, with a range of
/// `range` around the close.
fn series(n: usize, drift: f64, wiggle: f64, range: f64, seed: u64) -> Vec<Bar> {
    let mut next = noise(seed);
    let mut close = 100.0;
    (0..n)
        .map(|_| {
            close *= 1.0 + drift + wiggle * next();
            Bar {
                high: close * (1.0 + range),
                low: close * (1.0 - range),
                close,
            }
        })
        .collect()
}

fn last_regime(bars: &[Bar]) -> Option<Regime> {
    classify(bars, RegimeConfig::default())
        .unwrap()
        .last()
        .copied()
        .flatten()
        .map(|c| c.regime)
}

#[test]
fn clear_markets_get_the_obvious_regime() {
    assert_eq!(
        last_regime(&series(200, 0.01, 0.005, 0.01, 1)),
        Some(Regime::Bull)
    );
    assert_eq!(
        last_regime(&series(200, -0.01, 0.005, 0.01, 2)),
        Some(Regime::Bear)
    );
    // Noise around a fixed level (not a random walk, which may trend).
    let mut next = noise(3);
    let flat: Vec<Bar> = (0..200)
        .map(|_| {
            let close = 100.0 * (1.0 + 0.01 * next());
            Bar {
                high: close * 1.01,
                low: close * 0.99,
                close,
            }
        })
        .collect();
    assert_eq!(last_regime(&flat), Some(Regime::Sideways));
    // ±10 % a day is ~190 % annualised volatility.
    assert_eq!(
        last_regime(&series(200, 0.0, 0.1, 0.05, 4)),
        Some(Regime::Volatile)
    );
}

#[test]
fn there_is_no_regime_until_the_indicators_warm_up() {
    let config = RegimeConfig::default();
    let classes = classify(&series(100, 0.01, 0.005, 0.01, 5), config).unwrap();
    let first = classes.iter().position(Option::is_some).unwrap();
    assert_eq!(first + 1, config.warmup_bars());
    assert!(classes[first..].iter().all(Option::is_some));
}

#[test]
fn confidence_drops_while_a_challenger_builds_up() {
    let mut bars = series(150, 0.01, 0.002, 0.005, 6);
    let last = bars.last().unwrap().close;
    // Then a fall: the raw regime leaves bull before the confirmed one does.
    bars.extend(series(60, -0.01, 0.002, 0.005, 7).iter().map(|b| Bar {
        high: b.high / 100.0 * last,
        low: b.low / 100.0 * last,
        close: b.close / 100.0 * last,
    }));
    let classes = classify(&bars, RegimeConfig::default()).unwrap();
    let challenged: Vec<&Classification> = classes
        .iter()
        .flatten()
        .filter(|c| c.raw != c.regime)
        .collect();
    assert!(
        !challenged.is_empty(),
        "the flat stretch challenges the bull regime"
    );
    assert!(challenged.iter().all(|c| c.confidence < 0.5));
    let settled = classes.iter().flatten().filter(|c| c.raw == c.regime);
    assert!(
        settled
            .into_iter()
            .all(|c| (0.5..=1.0).contains(&c.confidence))
    );
}

#[test]
fn regimes_have_lowercase_names() {
    let names: Vec<String> = Regime::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["bull", "bear", "sideways", "volatile"]);
    assert_eq!("Bear".parse::<Regime>(), Ok(Regime::Bear));
    assert_eq!(
        "moon".parse::<Regime>().unwrap_err().to_string(),
        r#"unknown regime "moon": expected bull, bear, sideways or volatile"#
    );
    assert_eq!(
        serde_json::to_string(&Regime::Volatile).unwrap(),
        "\"volatile\""
    );
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    fn market() -> impl Strategy<Value = Vec<Bar>> {
        (
            60usize..400,
            -0.02f64..0.02,
            0.0f64..0.12,
            0.0f64..0.05,
            any::<u64>(),
        )
            .prop_map(|(n, drift, wiggle, range, seed)| series(n, drift, wiggle, range, seed))
    }

    fn config() -> impl Strategy<Value = RegimeConfig> {
        (1usize..8, 1usize..8, 0.0f64..0.5).prop_map(|(confirm, risk_off, band)| RegimeConfig {
            confirm_bars: confirm,
            risk_off_confirm_bars: risk_off,
            exit_band: band,
            ..RegimeConfig::default()
        })
    }

    proptest! {
        #[test]
        fn prop_classification_is_deterministic(bars in market(), config in config()) {
            prop_assert_eq!(classify(&bars, config).unwrap(), classify(&bars, config).unwrap());
        }

        #[test]
        fn prop_appending_bars_never_changes_earlier_classifications(
            bars in market(), config in config(), cut in 0.0f64..1.0,
        ) {
            let n = (bars.len() as f64 * cut) as usize;
            let full = classify(&bars, config).unwrap();
            let prefix = classify(&bars[..n], config).unwrap();
            prop_assert_eq!(&full[..n], &prefix[..]);
        }

        #[test]
        fn prop_every_switch_was_confirmed_for_its_bars(bars in market(), config in config()) {
            let classes: Vec<Classification> =
                classify(&bars, config).unwrap().into_iter().flatten().collect();
            let mut switches = 0;
            for i in 1..classes.len() {
                let regime = classes[i].regime;
                if regime == classes[i - 1].regime {
                    continue;
                }
                switches += 1;
                let needed = match regime {
                    Regime::Bear | Regime::Volatile => config.risk_off_confirm_bars,
                    Regime::Bull | Regime::Sideways => config.confirm_bars,
                };
                // The raw regime held for `needed` bars, ending with this one.
                prop_assert!(i + 1 >= needed);
                for c in &classes[i + 1 - needed..=i] {
                    prop_assert_eq!(c.raw, regime);
                }
            }
            let fewest = config.confirm_bars.min(config.risk_off_confirm_bars);
            prop_assert!(switches <= classes.len() / fewest);
        }
    }
}
