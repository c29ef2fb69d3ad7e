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

/// Checks each challenged bar's confidence: exactly half of what the challenger still
/// lacks, 0.5 × (1 − held ÷ needed), where held counts its bars in a row so far (this one
/// included). Returns the (held, needed) pairs seen.
fn challenger_confidence_is_exact(classes: &[Option<Classification>]) -> Vec<(usize, usize)> {
    let config = RegimeConfig::default();
    let mut run: Option<(Regime, usize)> = None;
    let mut seen = Vec::new();
    for c in classes.iter().flatten() {
        if c.raw == c.regime {
            run = None;
            continue;
        }
        let held = match run {
            Some((raw, n)) if raw == c.raw => n + 1,
            _ => 1,
        };
        run = Some((c.raw, held));
        let needed = match c.raw {
            Regime::Bear | Regime::Volatile => config.risk_off_confirm_bars,
            Regime::Bull | Regime::Sideways => config.confirm_bars,
        };
        let expected = 0.5 * (1.0 - held as f64 / needed as f64);
        assert!((c.confidence - expected).abs() < 1e-12, "{c:?}: {expected}");
        seen.push((held, needed));
    }
    seen
}

#[test]
fn a_calm_after_a_rally_builds_up_over_five_bars() {
    // A rally, then noise around its last level: sideways challenges bull for several
    // bars in a row before it is confirmed (5 bars: a risk-on change is not rushed).
    let mut bars = series(150, 0.01, 0.002, 0.005, 6);
    let last = bars.last().unwrap().close;
    let mut next = noise(8);
    bars.extend((0..80).map(|_| {
        let close = last * (1.0 + 0.005 * next());
        Bar {
            high: close * 1.005,
            low: close * 0.995,
            close,
        }
    }));
    let classes = classify(&bars, RegimeConfig::default()).unwrap();
    let seen = challenger_confidence_is_exact(&classes);
    assert!(
        seen.iter().any(|&(held, needed)| needed == 5 && held >= 2),
        "{seen:?}"
    );
    assert_eq!(classes.last().unwrap().unwrap().regime, Regime::Sideways);
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
    challenger_confidence_is_exact(&classes);
    let settled = classes.iter().flatten().filter(|c| c.raw == c.regime);
    assert!(
        settled
            .into_iter()
            .all(|c| (0.5..=1.0).contains(&c.confidence))
    );
}

/// The raw regime and its strength for one bar's indicator values, with the default
/// thresholds (trend 20, volatile 1.0, bear drawdown 20 %, exit band 20 %).
fn raw(current: Option<Regime>, v: [f64; 5]) -> (Regime, f64) {
    let [close, ema_fast, ema_slow, adx, drawdown] = v;
    let mut classifier = RegimeClassifier::new(RegimeConfig::default()).unwrap();
    classifier.current = current;
    let values = IndicatorValues {
        close,
        ema_fast,
        ema_slow,
        adx,
        atr: 1.0,
        volatility: 0.5,
        drawdown,
    };
    classifier.raw(&values)
}

fn volatile(current: Option<Regime>, volatility: f64) -> (Regime, f64) {
    let mut classifier = RegimeClassifier::new(RegimeConfig::default()).unwrap();
    classifier.current = current;
    let values = IndicatorValues {
        close: 110.0,
        ema_fast: 110.0,
        ema_slow: 100.0,
        adx: 40.0,
        atr: 1.0,
        volatility,
        drawdown: 0.0,
    };
    classifier.raw(&values)
}

fn assert_raw(got: (Regime, f64), regime: Regime, strength: f64) {
    assert_eq!(got.0, regime, "{got:?}");
    assert!((got.1 - strength).abs() < 1e-9, "{got:?}: {strength}");
}

#[test]
fn each_regime_has_its_thresholds_and_its_strength() {
    use Regime::*;
    // Volatile from the threshold on, fully so at twice it; a held volatile regime stays
    // until 20 % below it.
    assert_raw(volatile(None, 1.5), Volatile, 0.5);
    assert_raw(volatile(None, 1.0), Volatile, 0.0);
    assert_eq!(volatile(None, 0.9).0, Bull);
    assert_raw(volatile(Some(Volatile), 0.9), Volatile, 0.9 / 0.8 - 1.0);
    // Bull: ADX 30 is half-way past 20 to full (0.5), EMAs 1 % apart a fifth of the way
    // to 5 % (0.2): the mean, 0.35.
    assert_raw(raw(None, [110.0, 101.0, 100.0, 30.0, 0.0]), Bull, 0.35);
    // Held, a bull regime survives a close below the slow EMA and an ADX down to 16.
    assert_raw(
        raw(Some(Bull), [99.0, 101.0, 100.0, 17.0, 0.0]),
        Bull,
        0.5 * (1.0 / 16.0) + 0.5 * 0.2,
    );
    // Bear by trend, or by a drawdown past 20 %: here 30 %, half-way to full.
    assert_raw(
        raw(None, [90.0, 96.0, 100.0, 30.0, 0.0]),
        Bear,
        0.5 * 0.5 + 0.5 * 0.8,
    );
    assert_raw(raw(None, [95.0, 99.0, 100.0, 10.0, -0.3]), Bear, 0.5);
    // Sideways: how far the ADX is below the trend threshold.
    assert_raw(raw(None, [101.0, 101.0, 100.0, 5.0, 0.0]), Sideways, 0.75);
    // The boundaries are strict: EMAs level, or a close on the slow EMA, enter no trend.
    for v in [
        [110.0, 100.0, 100.0, 30.0, 0.0],
        [100.0, 104.0, 100.0, 30.0, 0.0],
        [90.0, 100.0, 100.0, 30.0, -0.3],
        [100.0, 96.0, 100.0, 30.0, -0.3],
    ] {
        assert_raw(raw(None, v), Sideways, 0.0);
    }
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
