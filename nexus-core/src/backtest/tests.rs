use super::*;
use crate::market::csv::parse_candles;
use crate::strategy::{TrendBreakout, TrendBreakoutConfig};

const CANDLES: &str = include_str!("../../../data/btc_usdt_1d_2017-08_2021-06.csv");

fn backtest(config: &BacktestConfig) -> BacktestReport {
    let candles = parse_candles(CANDLES).unwrap();
    let mut strategy = TrendBreakout::new(TrendBreakoutConfig::default()).unwrap();
    run(
        &candles,
        &mut strategy,
        &trend_bot(),
        RegimeConfig::default(),
        config,
    )
    .unwrap()
}

#[test]
fn real_data_runs_deterministically_through_the_whole_path() {
    let report = backtest(&BacktestConfig::default());
    assert_eq!(report, backtest(&BacktestConfig::default()));
    let s = &report.summary;
    assert!(s.trades > 0 && s.fills >= s.trades * 2, "{s:?}");
    assert!(s.gate_blocked > 0, "the gate blocks some entries: {s:?}");
    assert_eq!(report.equity.len(), 1414);
    assert!((0.0..=100.0).contains(&s.max_drawdown_pct));
    assert!((0.0..=100.0).contains(&s.exposure_pct) && (0.0..=100.0).contains(&s.win_rate_pct));
    // Adds carry their pyramid level and never exceed the bot's max_adds.
    let levels: Vec<u32> = report
        .fills
        .iter()
        .filter(|f| f.action == GateAction::Add)
        .map(|f| f.level)
        .collect();
    assert!(
        !levels.is_empty() && levels.iter().all(|&l| (1..=3).contains(&l)),
        "{levels:?}"
    );
    // Buys pay their fee in base, so exits leave dust behind.
    assert!(
        report
            .fills
            .iter()
            .any(|f| f.side == Side::Sell && !f.dust.is_zero())
    );
    println!("{s:#?}");
}

#[test]
fn without_the_gate_nothing_is_blocked_and_more_is_traded() {
    let gated = backtest(&BacktestConfig::default()).summary;
    let free = backtest(&BacktestConfig {
        gate: false,
        ..BacktestConfig::default()
    })
    .summary;
    assert_eq!(free.gate_blocked, 0);
    assert!(
        free.trades > gated.trades,
        "{} vs {}",
        free.trades,
        gated.trades
    );
}

#[test]
fn equity_and_fills_add_up() {
    let config = BacktestConfig::default();
    let report = backtest(&config);
    // Replaying the fills gives the final balances the equity curve ends with.
    let (mut quote, mut base) = (config.initial_quote.value(), Decimal::ZERO);
    for f in &report.fills {
        let value = f.quantity.value() * f.price.value();
        match f.side {
            Side::Buy => {
                quote -= value;
                base += f.quantity.value() - f.fee;
            }
            Side::Sell => {
                quote += value - f.fee;
                base -= f.quantity.value();
            }
        }
        assert!(
            quote >= Decimal::ZERO && base >= Decimal::ZERO,
            "never overdrawn"
        );
    }
    let last_close = parse_candles(CANDLES)
        .unwrap()
        .last()
        .unwrap()
        .close()
        .value();
    let expected = (quote + base * last_close).to_f64().unwrap();
    assert!((report.summary.final_equity - expected).abs() < 1e-6);
}

#[test]
fn bad_input_is_refused() {
    let mut strategy = TrendBreakout::new(TrendBreakoutConfig::default()).unwrap();
    let err = run(
        &[],
        &mut strategy,
        &trend_bot(),
        RegimeConfig::default(),
        &BacktestConfig::default(),
    );
    assert_eq!(err.unwrap_err(), BacktestError::NoCandles);
    let candles = parse_candles(CANDLES).unwrap();
    let bad = RegimeConfig {
        confirm_bars: 0,
        ..RegimeConfig::default()
    };
    let err = run(
        &candles,
        &mut strategy,
        &trend_bot(),
        bad,
        &BacktestConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "regime: confirm_bars (0) must be between 1 and 10000"
    );
}
