use chrono::{Duration, TimeZone, Utc};

use super::*;

fn candle(i: i64, high: f64, low: f64, close: f64) -> Candle {
    let p = |v: f64| Price::new(Decimal::try_from(v).unwrap().round_dp(4)).unwrap();
    let at = Utc.timestamp_opt(1_600_000_000, 0).unwrap() + Duration::days(i);
    Candle::new(
        at,
        p(close),
        p(high),
        p(low),
        p(close),
        "1".parse().unwrap(),
    )
    .unwrap()
}

fn run(config: TrendBreakoutConfig, candles: &[Candle]) -> Vec<(usize, SignalKind, &'static str)> {
    let mut strategy = TrendBreakout::new(config).unwrap();
    candles
        .iter()
        .enumerate()
        .filter_map(|(i, c)| strategy.on_candle(c).map(|s| (i, s.kind, s.reason)))
        .collect()
}

/// 30 flat candles (range 99–101), a climb of 2 a day for 20 days, then a fall of 3 a day.
fn trend() -> Vec<Candle> {
    let mut candles: Vec<Candle> = (0..30).map(|i| candle(i, 101.0, 99.0, 100.0)).collect();
    for i in 0..20 {
        let close = 102.0 + 2.0 * f64::from(i);
        candles.push(candle(30 + i64::from(i), close + 1.0, close - 1.0, close));
    }
    for i in 0..15 {
        let close = 140.0 - 3.0 * f64::from(i);
        candles.push(candle(50 + i64::from(i), close + 1.0, close - 1.0, close));
    }
    candles
}

#[test]
fn enters_on_the_breakout_adds_every_half_atr_and_exits_on_the_stop() {
    let signals = run(TrendBreakoutConfig::default(), &trend());
    let kinds: Vec<(SignalKind, &str)> = signals.iter().map(|&(_, k, r)| (k, r)).collect();
    assert_eq!(
        kinds,
        [
            (SignalKind::Entry, "breakout"),
            (SignalKind::Add, "atr_add"),
            (SignalKind::Add, "atr_add"),
            (SignalKind::Add, "atr_add"),
            (SignalKind::Exit, "trailing_stop"),
        ]
    );
    // The first close above the 101 high of the flat stretch is candle 30 (close 102).
    assert_eq!(signals[0].0, 30);
    // The exit comes after the top (candle 49) once the fall exceeds 2 ATR.
    assert!(signals[4].0 > 50, "{signals:?}");
}

#[test]
fn max_adds_bounds_the_add_signals_and_signals_carry_the_atr() {
    let config = TrendBreakoutConfig {
        max_adds: 1,
        ..TrendBreakoutConfig::default()
    };
    let adds = run(config, &trend())
        .iter()
        .filter(|s| s.1 == SignalKind::Add)
        .count();
    assert_eq!(adds, 1);
    let mut strategy = TrendBreakout::new(TrendBreakoutConfig::default()).unwrap();
    let entry = trend().iter().find_map(|c| strategy.on_candle(c)).unwrap();
    // Flat candles have a true range of 2; the breakout candle's range (101 → 103) is 3.
    let atr = entry.atr.unwrap().value();
    assert!(atr > Decimal::from(2) && atr < Decimal::from(3), "{atr}");
    assert_eq!(entry.price.value(), Decimal::from(102));
}

#[test]
fn validation_names_the_field() {
    let d = TrendBreakoutConfig::default();
    let err = TrendBreakoutConfig {
        entry_period: 0,
        ..d
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry_period (0) must be between 1 and 1000"
    );
    let err = TrendBreakoutConfig {
        trailing_stop_atr: f64::NAN,
        ..d
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "trailing_stop_atr (NaN) must be above 0 and at most 100"
    );
    let err = TrendBreakoutConfig { max_adds: 21, ..d }
        .validate()
        .unwrap_err();
    assert_eq!(err.to_string(), "max_adds (21) must be at most 20");
    // The bounds themselves: an ATR multiple of 0 is refused, 100 is allowed and past it
    // refused; 20 adds are allowed.
    for (value, ok) in [(0.0, false), (0.01, true), (100.0, true), (100.5, false)] {
        let config = TrendBreakoutConfig {
            add_every_atr: value,
            ..d
        };
        assert_eq!(config.validate().is_ok(), ok, "add_every_atr {value}");
    }
    TrendBreakoutConfig { max_adds: 20, ..d }
        .validate()
        .unwrap();
    assert_eq!(TrendBreakout::new(d).unwrap().name(), "trend_breakout");
}

/// A candle closing at its high with a range of 4 (`high = close`, `low = close − 4`), and
/// one closing at its low (`low = close`, `high = close + 4`): a rise of at most 4 on the
/// first kind, or a fall of at most 4 on the second, has a true range of exactly 4, so
/// the ATR stays exactly 4 and every level below is exact in `f64`.
fn up(i: usize, close: f64) -> Candle {
    candle(i as i64, close, close - 4.0, close)
}

fn down(i: usize, close: f64) -> Candle {
    candle(i as i64, close + 4.0, close, close)
}

/// Candles from closes: `+` marks a candle closing at its high, `-` one closing at its low.
fn path(closes: &[(char, f64)]) -> Vec<Candle> {
    closes
        .iter()
        .enumerate()
        .map(|(i, &(kind, close))| {
            if kind == '+' {
                up(i, close)
            } else {
                down(i, close)
            }
        })
        .collect()
}

fn exact_config() -> TrendBreakoutConfig {
    TrendBreakoutConfig {
        entry_period: 2,
        exit_period: 50,
        atr_period: 2,
        add_every_atr: 0.5,
        max_adds: 0,
        trailing_stop_atr: 2.0,
    }
}

#[test]
fn a_close_at_the_channel_high_is_no_breakout_and_one_above_it_is() {
    // Flat closes at 100 are each exactly the previous candles' high (100): no breakout,
    // however long the ATR has been warm. 100.5 is.
    let mut closes = vec![('+', 100.0); 6];
    closes.push(('+', 100.5));
    assert_eq!(
        run(exact_config(), &path(&closes)),
        [(6, SignalKind::Entry, "breakout")]
    );
}

#[test]
fn the_trailing_stop_is_the_highest_close_less_its_atr_multiple_and_a_close_on_it_holds() {
    // Entry at 101, a climb to 120; ATR 4, so the stop is 120 − 2 × 4 = 112. A fall to
    // 112 holds (the stop is crossed only below it); 110 exits.
    let mut closes = vec![('+', 100.0); 5];
    closes.extend((101..=120).map(|c| ('+', f64::from(c))));
    closes.extend([118.0, 116.0, 114.0, 112.0, 110.0].map(|c| ('-', c)));
    let signals = run(exact_config(), &path(&closes));
    assert_eq!(
        signals,
        [
            (5, SignalKind::Entry, "breakout"),
            (closes.len() - 1, SignalKind::Exit, "trailing_stop"),
        ]
    );
}

#[test]
fn a_close_on_the_channel_low_holds_and_one_below_it_is_a_breakdown() {
    // A stop too far to matter; the exit channel is the lowest low of the 2 previous
    // candles. After the climb to 110, closes at their low of 108: the channel reaches
    // 108 and a close of 108 holds; 107 breaks down.
    let config = TrendBreakoutConfig {
        exit_period: 2,
        trailing_stop_atr: 100.0,
        ..exact_config()
    };
    let mut closes = vec![('+', 100.0); 5];
    closes.extend((101..=110).map(|c| ('+', f64::from(c))));
    closes.extend([('-', 108.0), ('-', 108.0), ('-', 108.0), ('-', 107.0)]);
    assert_eq!(
        run(config, &path(&closes)),
        [
            (5, SignalKind::Entry, "breakout"),
            (closes.len() - 1, SignalKind::Exit, "breakdown"),
        ]
    );
}

#[test]
fn an_add_is_due_at_exactly_the_last_buy_plus_its_atr_multiple() {
    // ATR 4 and an add every 0.5 ATR: entry at 101, adds at 103, 105 and 107 exactly,
    // then no more (3 at most).
    let config = TrendBreakoutConfig {
        max_adds: 3,
        ..exact_config()
    };
    let mut closes = vec![('+', 100.0); 5];
    closes.extend((101..=112).map(|c| ('+', f64::from(c))));
    let at = |close: usize| close - 101 + 5;
    assert_eq!(
        run(config, &path(&closes)),
        [
            (at(101), SignalKind::Entry, "breakout"),
            (at(103), SignalKind::Add, "atr_add"),
            (at(105), SignalKind::Add, "atr_add"),
            (at(107), SignalKind::Add, "atr_add"),
        ]
    );
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn prop_signals_never_look_ahead(moves in proptest::collection::vec(-0.05f64..0.06, 30..200), cut in 0.0f64..1.0) {
            let mut close = 100.0;
            let candles: Vec<Candle> = moves
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    close *= 1.0 + m;
                    candle(i as i64, close * 1.01, close * 0.99, close)
                })
                .collect();
            let n = (candles.len() as f64 * cut) as usize;
            let config = TrendBreakoutConfig::default();
            let full = run(config, &candles);
            let prefix = run(config, &candles[..n]);
            let full_before: Vec<_> = full.into_iter().filter(|s| s.0 < n).collect();
            prop_assert_eq!(full_before, prefix);
        }
    }
}
