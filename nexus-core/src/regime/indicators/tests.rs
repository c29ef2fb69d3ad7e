//! Indicator values checked against figures worked out by hand (the working is in the
//! comments), plus properties comparing the streaming forms with naive recomputation.

use super::*;

fn closes(values: &[f64]) -> Vec<Bar> {
    values.iter().map(|&c| Bar::flat(c)).collect()
}

fn bars(hlc: &[(f64, f64, f64)]) -> Vec<Bar> {
    hlc.iter()
        .map(|&(high, low, close)| Bar { high, low, close })
        .collect()
}

fn assert_close(actual: &[Option<f64>], expected: &[Option<f64>]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        match (a, e) {
            (Some(a), Some(e)) => assert!((a - e).abs() < 1e-9, "bar {i}: {a} != {e}"),
            (a, e) => assert_eq!(a, e, "bar {i}"),
        }
    }
}

/// Highs, lows and closes used by the ATR and ADX cases.
const HLC: [(f64, f64, f64); 6] = [
    (10.0, 8.0, 9.0),
    (11.0, 9.0, 10.0),
    (12.0, 10.0, 11.5),
    (15.0, 11.0, 14.0),
    (14.0, 9.0, 10.0),
    (20.0, 18.0, 19.0),
];

#[test]
fn sma_is_the_mean_of_the_window() {
    assert_close(
        &sma(&closes(&[1.0, 2.0, 3.0, 4.0, 5.0]), 3),
        &[None, None, Some(2.0), Some(3.0), Some(4.0)],
    );
}

#[test]
fn ema_is_seeded_with_the_sma_then_smoothed() {
    // period 3: α = 0.5; seed (2+4+6)/3 = 4; 4 + .5(8−4) = 6; 6 + .5(4−6) = 5
    assert_close(
        &ema(&closes(&[2.0, 4.0, 6.0, 8.0, 4.0]), 3),
        &[None, None, Some(4.0), Some(6.0), Some(5.0)],
    );
}

#[test]
fn streaming_averages_hold_their_last_value() {
    let mut sma = Sma::new(2);
    let mut ema = Ema::new(3);
    let mut volatility = Volatility::new(2);
    let mut drawdown = Drawdown::new(3);
    assert_eq!((sma.value(), ema.value()), (None, None));
    assert_eq!((volatility.value(), drawdown.value()), (None, None));
    for close in [2.0, 4.0, 6.0, 8.0] {
        assert_eq!(sma.update(close), sma.value());
        assert_eq!(ema.update(close), ema.value());
        assert_eq!(volatility.update(close), volatility.value());
        assert_eq!(drawdown.update(close), drawdown.value());
    }
    assert!(volatility.value().is_some_and(|v| v > 0.0));
    assert_eq!(drawdown.value(), Some(0.0), "at the high");
    drawdown.update(4.0);
    assert_eq!(drawdown.value(), Some(-0.5), "half-way down from 8");
    // SMA(2) of 6 and 8; EMA(3): seed 4, then 4 + 0.5 × (8 − 4).
    assert_eq!((sma.value(), ema.value()), (Some(7.0), Some(6.0)));
}

#[test]
fn a_gap_down_counts_from_the_previous_close_to_the_low() {
    // Closed at 20, then a bar of 10–12: the true range is 20 − 10 = 10, not 2.
    let mut atr = Atr::new(1);
    let bar = |high, low, close| Bar { high, low, close };
    assert_eq!(atr.update(&bar(21.0, 19.0, 20.0)), None);
    assert_eq!(atr.update(&bar(12.0, 10.0, 11.0)), Some(10.0));
    // And a gap up from the previous close to the high: 11 → 30–32 is 21.
    assert_eq!(atr.update(&bar(32.0, 30.0, 31.0)), Some(21.0));
}

#[test]
fn directional_movement_counts_only_the_larger_positive_move() {
    // Period 1: each bar's own DI and DX.
    let mut adx = Adx::new(1);
    let mut atr = Atr::new(1);
    let bar = |high, low, close| Bar { high, low, close };
    let bars = [
        bar(10.0, 8.0, 9.0),
        // Up 2, down −1: +DM 2 over a true range of 3.
        bar(12.0, 9.0, 11.0),
        // Up 1, down 1: a tie counts neither way, so the DX is 0 (not 0 ÷ 0).
        bar(13.0, 8.0, 10.0),
        // Up 2, down 1: only the larger, +DM 2 over 8.
        bar(15.0, 7.0, 12.0),
        // Up 1, down 2: −DM 2 over 11.
        bar(16.0, 5.0, 6.0),
        // No range at all: no DI (not 0 ÷ 0).
        bar(6.0, 6.0, 6.0),
    ];
    let mut seen = Vec::new();
    for b in &bars {
        let value = adx.update(b);
        assert_eq!(value, adx.value());
        let tr = atr.update(b);
        assert_eq!(tr, atr.value());
        seen.push((value, adx.directional(), tr));
    }
    let expected = [
        (None, None, None),
        (Some(100.0), Some((200.0 / 3.0, 0.0)), Some(3.0)),
        (Some(0.0), Some((0.0, 0.0)), Some(5.0)),
        (Some(100.0), Some((25.0, 0.0)), Some(8.0)),
        (Some(100.0), Some((0.0, 200.0 / 11.0)), Some(11.0)),
        (Some(0.0), Some((0.0, 0.0)), Some(0.0)),
    ];
    assert_eq!(seen, expected);
}

#[test]
fn atr_uses_wilders_smoothing_of_the_true_range() {
    // TR from bar 1: 2, 2, 4, 5 and 10 (the gap up from 10 to 18–20 counts from the
    // previous close). Period 2: (2+2)/2 = 2; 2+(4−2)/2 = 3; 3+(5−3)/2 = 4; 4+(10−4)/2 = 7
    assert_close(
        &atr(&bars(&HLC), 2),
        &[None, None, Some(2.0), Some(3.0), Some(4.0), Some(7.0)],
    );
}

#[test]
fn adx_measures_trend_strength() {
    // period 2. +DM: 1, 1, 3, 0, 6; −DM: 0, 0, 0, 2, 0; TR: 2, 2, 4, 5, 10.
    // bar 2: TRs 2, +S 1, −S 0 → +DI 50, −DI 0, DX 100
    // bar 3: TRs 3, +S 2, −S 0 → DX 100 → ADX (100+100)/2 = 100
    // bar 4: TRs 4, +S 1, −S 1 → +DI = −DI = 25, DX 0 → ADX 100+(0−100)/2 = 50
    // bar 5: TRs 7, +S 3.5, −S 0.5 → +DI 50, −DI 7.142857…, DX 75 → ADX 50+(75−50)/2 = 62.5
    assert_close(
        &adx(&bars(&HLC), 2),
        &[None, None, None, Some(100.0), Some(50.0), Some(62.5)],
    );
    let mut ind = Adx::new(2);
    for bar in bars(&HLC) {
        ind.update(&bar);
    }
    let (plus, minus) = ind.directional().unwrap();
    assert!((plus - 50.0).abs() < 1e-9 && (minus - 50.0 / 7.0).abs() < 1e-9);
}

#[test]
fn volatility_is_the_sample_deviation_of_log_returns() {
    // Two returns r1, r2 have a sample deviation of |r1 − r2| / √2.
    let (r1, r2) = (1.1f64.ln(), 0.9f64.ln());
    let sqrt2 = 2f64.sqrt();
    assert_close(
        &volatility(&closes(&[100.0, 110.0, 99.0, 99.0]), 2),
        &[
            None,
            None,
            Some((r1 - r2).abs() / sqrt2),
            Some(r2.abs() / sqrt2),
        ],
    );
}

#[test]
fn drawdown_is_measured_from_the_rolling_high() {
    // period 3: highs of the window 10, 12, 12, 12, 9, 8
    assert_close(
        &drawdown(&closes(&[10.0, 12.0, 9.0, 6.0, 8.0, 7.0]), 3),
        &[
            Some(0.0),
            Some(0.0),
            Some(-0.25),
            Some(-0.5),
            Some(8.0 / 9.0 - 1.0),
            Some(-0.125),
        ],
    );
}

#[test]
fn bars_convert_from_candles() {
    use chrono::DateTime;
    let p = |s: &str| s.parse::<crate::Price>().unwrap();
    let candle = crate::Candle::new(
        DateTime::UNIX_EPOCH,
        p("100"),
        p("110.5"),
        p("95.25"),
        p("101"),
        "1".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(
        Bar::from(&candle),
        Bar {
            high: 110.5,
            low: 95.25,
            close: 101.0
        }
    );
}

mod property_tests {
    use proptest::prelude::*;
    use rust_decimal::prelude::ToPrimitive;

    use super::*;

    proptest! {
        #[test]
        fn prop_fast_decimal_conversion_matches_the_library(m in 1i64..i64::MAX, scale in 0u32..=28) {
            let value = Decimal::new(m, scale);
            let expected = value.to_f64().unwrap();
            let actual = decimal_to_f64(value);
            prop_assert!((actual - expected).abs() <= expected.abs() * 1e-15, "{value}: {actual} vs {expected}");
        }
    }

    fn closes_strategy() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(1.0f64..1000.0, 0..200)
    }

    proptest! {
        #[test]
        fn prop_streaming_sma_matches_recomputation(values in closes_strategy(), period in 1usize..30) {
            let streamed = sma(&closes(&values), period);
            for (i, value) in streamed.iter().enumerate() {
                let expected = (i + 1 >= period)
                    .then(|| values[i + 1 - period..=i].iter().sum::<f64>() / period as f64);
                match (value, expected) {
                    (Some(v), Some(e)) => prop_assert!((v - e).abs() <= 1e-9 * e.abs().max(1.0)),
                    (v, e) => prop_assert_eq!(*v, e),
                }
            }
        }

        #[test]
        fn prop_rolling_extremes_match_recomputation(values in closes_strategy(), period in 1usize..30) {
            let (mut high, mut low) = (RollingExtreme::highest(period), RollingExtreme::lowest(period));
            for (i, &v) in values.iter().enumerate() {
                let window = &values[i.saturating_sub(period)..i];
                let expected_high = (i >= period).then(|| window.iter().copied().fold(f64::MIN, f64::max));
                let expected_low = (i >= period).then(|| window.iter().copied().fold(f64::MAX, f64::min));
                prop_assert_eq!(high.value(), expected_high);
                prop_assert_eq!(low.value(), expected_low);
                high.update(v);
                low.update(v);
            }
        }

        #[test]
        fn prop_streaming_drawdown_matches_recomputation(values in closes_strategy(), period in 1usize..30) {
            let streamed = drawdown(&closes(&values), period);
            for (i, value) in streamed.iter().enumerate() {
                let start = (i + 1).saturating_sub(period);
                let high = values[start..=i].iter().copied().fold(f64::MIN, f64::max);
                let expected = values[i] / high - 1.0;
                prop_assert!(value.is_some_and(|v| (v - expected).abs() < 1e-12 && v <= 0.0));
            }
        }

        #[test]
        fn prop_bounded_indicators_stay_in_range(
            values in proptest::collection::vec((1.0f64..1000.0, 0.0f64..0.1, 0.0f64..0.1), 0..200),
        ) {
            let hlc: Vec<Bar> = values
                .iter()
                .map(|&(c, up, down)| Bar { high: c * (1.0 + up), low: c * (1.0 - down), close: c })
                .collect();
            for v in adx(&hlc, 14).into_iter().flatten() {
                prop_assert!((0.0..=100.0 + 1e-9).contains(&v));
            }
            for v in atr(&hlc, 14).into_iter().flatten() {
                prop_assert!(v >= 0.0);
            }
            for v in volatility(&hlc, 20).into_iter().flatten() {
                prop_assert!(v >= 0.0 && v.is_finite());
            }
        }
    }
}
