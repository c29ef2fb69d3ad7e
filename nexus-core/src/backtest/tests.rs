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

mod scripted {
    //! A strategy that says what it is told, over candles whose every figure can be
    //! worked out by hand: each summary figure and each cap, exactly.

    use std::cell::RefCell;

    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::pyramid::{LevelConfig, PyramidConfig, Trigger, TriggerAnchor};
    use crate::regime::advisor::{AdvisorOpinion, AdvisorVerdict};
    use crate::sizing::{SizingConfig, SizingMethod};
    use crate::strategy::StrategySignal;

    /// `signals[i]` at candle `i`, with an ATR of `atr`.
    struct Script {
        signals: Vec<Option<GateAction>>,
        atr: Decimal,
        next: usize,
    }

    impl Strategy for Script {
        fn name(&self) -> &'static str {
            "script"
        }

        fn on_candle(&mut self, candle: &Candle) -> Option<StrategySignal> {
            let kind = self.signals.get(self.next).copied().flatten();
            self.next += 1;
            kind.map(|kind| StrategySignal {
                kind,
                price: candle.close(),
                atr: Some(Price::new(self.atr).unwrap()),
                reason: "script",
            })
        }
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn at(i: usize) -> Timestamp {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + Duration::days(i as i64)
    }

    fn days(closes: &[&str]) -> Vec<Candle> {
        closes
            .iter()
            .enumerate()
            .map(|(i, close)| {
                let c: Price = close.parse().unwrap();
                Candle::new(at(i), c, c, c, c, "1".parse().unwrap()).unwrap()
            })
            .collect()
    }

    /// No fees, no slippage, no gate; steps of 0.001.
    fn config() -> BacktestConfig {
        BacktestConfig {
            fee_pct: Percent::ZERO,
            slippage_pct: Percent::ZERO,
            gate: false,
            filters: InstrumentFilters {
                tick_size: "0.01".parse().unwrap(),
                step_size: "0.001".parse().unwrap(),
                min_qty: "0.001".parse().unwrap(),
                max_qty: None,
                min_notional: "0.01".parse().unwrap(),
            },
            ..BacktestConfig::default()
        }
    }

    /// Half the equity per entry, one add of the entry's size 10 % above the last fill,
    /// the position capped at 60 % of the equity.
    fn bot() -> BotConfig {
        BotConfig {
            sizing: SizingConfig {
                method: SizingMethod::PercentOfEquity {
                    percent: Percent::from_bps(5_000),
                },
                max_position_pct: Some(Percent::from_bps(6_000)),
                ..SizingConfig::default()
            },
            pyramid: PyramidConfig {
                max_adds: 1,
                anchor: TriggerAnchor::LastFill,
                levels: vec![LevelConfig {
                    trigger: Trigger::Percent(Decimal::TEN),
                    size_multiplier: Decimal::ONE,
                }],
                ..PyramidConfig::default()
            },
            ..BotConfig::default()
        }
    }

    fn script(signals: &[Option<GateAction>], atr: &str) -> Script {
        Script {
            signals: signals.to_vec(),
            atr: d(atr),
            next: 0,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    use GateAction::{Add, Entry, Exit};

    #[test]
    fn a_round_trip_with_an_add_adds_up_exactly() {
        let candles = days(&["100", "90", "110", "121", "121"]);
        let mut strategy = script(&[Some(Entry), None, Some(Add), None, Some(Exit)], "1");
        let report = run(
            &candles,
            &mut strategy,
            &bot(),
            RegimeConfig::default(),
            &config(),
        )
        .unwrap();
        let fills: Vec<(GateAction, Decimal, Decimal)> = report
            .fills
            .iter()
            .map(|f| (f.action, f.quantity.value(), f.price.value()))
            .collect();
        // Entry: 50 % of 10,000 at 100 is 50. Add at 110: the equity is then
        // 5,000 + 50 × 110 = 10,500, and the position may cost 60 % of it, 6,300: 5,000
        // is spent, so the add is 1,300 ÷ 110 = 11.818 (a whole add of 50 would cost
        // 5,500). The exit sells all 61.818 at 121.
        assert_eq!(
            fills,
            [
                (Entry, d("50"), d("100")),
                (Add, d("11.818"), d("110")),
                (Exit, d("61.818"), d("121")),
            ]
        );
        let equity: Vec<f64> = report.equity.iter().map(|p| p.equity).collect();
        let quote_after_add = 10_000.0 - 5_000.0 - 11.818 * 110.0;
        let expected = [
            10_000.0,
            5_000.0 + 50.0 * 90.0,
            quote_after_add + 61.818 * 110.0,
            quote_after_add + 61.818 * 121.0,
            quote_after_add + 61.818 * 121.0,
        ];
        for (got, want) in equity.iter().zip(expected) {
            assert!(close(*got, want), "{equity:?} vs {expected:?}");
        }
        let drawdowns: Vec<f64> = report.equity.iter().map(|p| p.drawdown_pct).collect();
        assert!(close(drawdowns[1], 5.0) && drawdowns[0] == 0.0 && drawdowns[2] == 0.0);
        let in_position: Vec<bool> = report.equity.iter().map(|p| p.in_position).collect();
        assert_eq!(in_position, [true, true, true, true, false]);
        let s = &report.summary;
        assert_eq!((s.trades, s.fills, s.gate_blocked), (1, 3, 0));
        assert!(close(s.win_rate_pct, 100.0), "{s:?}");
        assert!(close(s.max_drawdown_pct, 5.0), "{s:?}");
        assert!(close(s.exposure_pct, 80.0), "{s:?}");
        assert!(close(s.buy_and_hold_return_pct, 21.0), "{s:?}");
        assert!(close(s.final_equity, expected[4]), "{s:?}");
        assert!(
            close(s.total_return_pct, (expected[4] - 10_000.0) / 100.0),
            "{s:?}"
        );
        assert_eq!((s.start, s.end), (at(0), at(4)));
    }

    #[test]
    fn a_round_trip_that_breaks_even_is_no_win() {
        let candles = days(&["100", "100", "100"]);
        let mut strategy = script(&[Some(Entry), None, Some(Exit)], "1");
        let s = run(
            &candles,
            &mut strategy,
            &bot(),
            RegimeConfig::default(),
            &config(),
        )
        .unwrap()
        .summary;
        assert_eq!((s.trades, s.fills), (1, 2));
        assert_eq!(s.win_rate_pct, 0.0);
        assert_eq!((s.total_return_pct, s.buy_and_hold_return_pct), (0.0, 0.0));
    }

    #[test]
    fn an_exit_of_nothing_but_dust_closes_the_position_without_an_order() {
        // 0.1 buys the minimum 0.001 at 100; its 0.1 % fee, paid in base, leaves 0.000999,
        // which is less than one step to sell.
        let mut bot = bot();
        bot.sizing.method = SizingMethod::FixedQuote {
            amount: "0.1".parse().unwrap(),
        };
        let config = BacktestConfig {
            fee_pct: Percent::from_bps(10),
            ..config()
        };
        let candles = days(&["100", "100", "100"]);
        let mut strategy = script(&[Some(Entry), Some(Exit), None], "1");
        let report = run(
            &candles,
            &mut strategy,
            &bot,
            RegimeConfig::default(),
            &config,
        )
        .unwrap();
        assert_eq!(report.fills.len(), 1, "{:?}", report.fills);
        assert_eq!(report.fills[0].quantity.value(), d("0.001"));
        let in_position: Vec<bool> = report.equity.iter().map(|p| p.in_position).collect();
        assert_eq!(in_position, [true, false, false]);
        assert_eq!(report.summary.trades, 1);
    }

    #[test]
    fn an_account_with_nothing_reports_zeros_not_nan() {
        let config = BacktestConfig {
            initial_quote: Notional::ZERO,
            ..config()
        };
        let candles = days(&["100", "90", "100"]);
        let mut strategy = script(&[Some(Entry), None, None], "1");
        let report = run(
            &candles,
            &mut strategy,
            &bot(),
            RegimeConfig::default(),
            &config,
        )
        .unwrap();
        assert!(report.fills.is_empty());
        assert!(report.equity.iter().all(|p| p.drawdown_pct == 0.0));
        let s = &report.summary;
        assert_eq!(
            (s.trades, s.max_drawdown_pct, s.exposure_pct),
            (0, 0.0, 0.0)
        );
        assert_eq!((s.total_return_pct, s.win_rate_pct), (0.0, 0.0));
        assert_eq!(s.final_equity, 0.0);
    }

    #[test]
    fn replayed_verdicts_block_entries_and_adds_and_exits_never_ask() {
        let candles = days(&["100", "100", "100", "100"]);
        let mut strategy = script(&[Some(Entry), Some(Entry), None, Some(Exit)], "1");
        let asked = RefCell::new(Vec::new());
        let replay = |when: Timestamp, action: GateAction| {
            asked.borrow_mut().push((when, action));
            // The first entry's recorded verdict blocks it; the second has none.
            (when == at(0)).then(|| AdvisorInput::Opinion {
                opinion: AdvisorOpinion {
                    verdict: AdvisorVerdict::Block,
                    reason: "recorded".to_owned(),
                },
            })
        };
        let report = run_advised(
            &candles,
            &mut strategy,
            &bot(),
            RegimeConfig::default(),
            &config(),
            Some(&replay),
        )
        .unwrap();
        assert_eq!(*asked.borrow(), [(at(0), Entry), (at(1), Entry)]);
        let actions: Vec<(Timestamp, GateAction)> = report
            .fills
            .iter()
            .map(|f| (f.timestamp, f.action))
            .collect();
        assert_eq!(actions, [(at(1), Entry), (at(3), Exit)]);
        let s = &report.summary;
        assert_eq!((s.advisor_blocked, s.advisor_missing), (1, 1));
        assert_eq!(s.gate_blocked, 1, "the gate is what applied the verdict");
    }

    /// An entry at 100 and an exit at `exit`, with the default 0.1 % fee and 0.05 %
    /// slippage.
    fn costly_round_trip(exit: &str) -> BacktestReport {
        let config = BacktestConfig {
            fee_pct: Percent::from_bps(10),
            slippage_pct: Percent::from_bps(5),
            ..config()
        };
        let candles = days(&["100", exit]);
        let mut strategy = script(&[Some(Entry), Some(Exit)], "1");
        run(
            &candles,
            &mut strategy,
            &bot(),
            RegimeConfig::default(),
            &config,
        )
        .unwrap()
    }

    #[test]
    fn fees_and_slippage_are_paid_on_each_side() {
        let report = costly_round_trip("110");
        let fills: Vec<_> = report
            .fills
            .iter()
            .map(|f| {
                let v = |x: Decimal| x.normalize().to_string();
                let (q, p, fee, dust) = (f.quantity.value(), f.price.value(), f.fee, f.dust);
                (f.action, v(q), v(p), v(fee), f.fee_asset, v(dust.value()))
            })
            .collect();
        // The buy: 50 at 100 moved 0.05 % against us, 100.05; its fee 0.1 % of the 50
        // bought, paid in base, leaves 49.95. The sell: 49.95 (the rest is dust) at 110
        // less 0.05 %, 109.945, for 5,491.75275, less a fee of 5.49175275 in quote.
        assert_eq!(
            fills,
            [
                (
                    Entry,
                    "50".into(),
                    "100.05".into(),
                    "0.05".into(),
                    "base",
                    "0".into()
                ),
                (
                    Exit,
                    "49.95".into(),
                    "109.945".into(),
                    "5.49175275".into(),
                    "quote",
                    "0.05".into()
                ),
            ]
        );
        let s = &report.summary;
        let quote = 10_000.0 - 5_002.5 + 5_491.752_75 - 5.491_752_75;
        assert!(close(s.final_equity, quote), "{s:?}");
        assert!(close(s.win_rate_pct, 100.0), "{s:?}");
    }

    #[test]
    fn a_round_trip_that_gains_before_fees_and_loses_after_them_is_no_win() {
        // Bought for 5,002.50; sold 49.95 at 100.2 less slippage, 100.1499, for
        // 5,002.487505, of which 5.002487505 is the fee: a loss of about 5.
        let report = costly_round_trip("100.2");
        assert_eq!(report.fills.len(), 2);
        assert_eq!(report.summary.trades, 1);
        assert_eq!(report.summary.win_rate_pct, 0.0);
    }

    #[test]
    fn a_buy_may_spend_the_whole_balance_and_no_more() {
        let mut bot = bot();
        bot.sizing = SizingConfig {
            method: SizingMethod::PercentOfEquity {
                percent: Percent::from_bps(10_000),
            },
            max_position_pct: None,
            fee_reserve_pct: Percent::ZERO,
        };
        let candles = days(&["100"]);
        let mut strategy = script(&[Some(Entry)], "1");
        let report = run(
            &candles,
            &mut strategy,
            &bot,
            RegimeConfig::default(),
            &config(),
        )
        .unwrap();
        assert_eq!(report.fills.len(), 1, "100 at 100 is the 10,000 there is");
        assert_eq!(report.fills[0].quantity.value(), d("100"));
        assert!(close(report.summary.final_equity, 10_000.0));
        // With slippage the same order would cost more than the balance: it is not filled
        // (the fee reserve exists to leave room for it).
        let slipping = BacktestConfig {
            slippage_pct: Percent::from_bps(5),
            ..config()
        };
        let mut strategy = script(&[Some(Entry)], "1");
        let report = run(
            &candles,
            &mut strategy,
            &bot,
            RegimeConfig::default(),
            &slipping,
        )
        .unwrap();
        assert!(report.fills.is_empty(), "{:?}", report.fills);
    }

    #[test]
    fn the_trend_bot_risks_one_percent_of_equity_with_its_stop_two_atr_away() {
        // 1 % of 10,000 is 100 at risk; a stop 2 × 10 below the entry: 5 units.
        let candles = days(&["1000"]);
        let mut strategy = script(&[Some(Entry)], "10");
        let report = run(
            &candles,
            &mut strategy,
            &trend_bot(),
            RegimeConfig::default(),
            &config(),
        )
        .unwrap();
        assert_eq!(report.fills[0].quantity.value(), d("5"));
    }
}
