use super::*;
use crate::instrument::{ExchangeId, InstrumentFilters};

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn btc() -> Instrument {
    Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse().unwrap(),
        InstrumentFilters {
            tick_size: "0.01".parse().unwrap(),
            step_size: "0.0001".parse().unwrap(),
            min_qty: "0.0001".parse().unwrap(),
            max_qty: Some("100".parse().unwrap()),
            min_notional: "10".parse().unwrap(),
        },
    )
    .unwrap()
}

fn account(equity: &str, free_quote: &str) -> AccountSnapshot {
    AccountSnapshot {
        equity: equity.parse().unwrap(),
        free_quote: free_quote.parse().unwrap(),
        free_base: Quantity::ZERO,
    }
}

fn request<'a>(
    instrument: &'a Instrument,
    price: &str,
    account: AccountSnapshot,
) -> EntryRequest<'a> {
    EntryRequest {
        instrument,
        price: price.parse().unwrap(),
        account,
        position_cost: Notional::ZERO,
        kind: EntryKind::Initial,
        atr: None,
        exposure_cap: None,
        max_order_notional: None,
    }
}

fn sizer(method: SizingMethod) -> PositionSizer {
    PositionSizer::new(SizingConfig {
        method,
        ..SizingConfig::default()
    })
}

fn pct(s: &str) -> Percent {
    Percent::new(d(s)).unwrap()
}

/// The balance cap's quotient, rounded to 28 digits, could exceed the free balance once
/// the fee reserve was added back (found by `prop_extreme_configs_plan_or_skip_without_panicking`).
#[test]
fn what_the_balance_affords_never_costs_more_than_the_balance_with_fees() {
    let cases = [
        ("1000000000000000", "11.000000000001"),
        ("100", "1.001"),
        ("0.0000000000000000000000000007", "3"),
        ("79228162514264337593543950335", "1.1"),
        ("1", "1"),
    ];
    for (free, fee) in cases {
        let (free, fee): (Decimal, Decimal) = (free.parse().unwrap(), fee.parse().unwrap());
        let value = affordable(free, fee);
        assert!(value >= Decimal::ZERO, "{free} / {fee}");
        assert!(value * fee <= free, "{free} / {fee}: {value}");
        // And not needlessly less: within a millionth of the exact quotient.
        assert!(
            free / fee - value <= free / fee / Decimal::from(1_000_000),
            "{free} / {fee}: {value}"
        );
    }
}

#[test]
fn the_documented_risk_example() {
    let btc = btc();
    let mut req = request(&btc, "50000", account("10000", "10000"));
    req.atr = Some("1500".parse().unwrap());
    let sized = sizer(SizingMethod::Risk {
        risk_percent: pct("1"),
        stop: StopDistance::AtrMultiple(d("2")),
    })
    .size_entry(&req)
    .unwrap();
    // 100 USDT at risk ÷ 3 000 USDT stop distance = 0.0333… → 0.0333 BTC.
    assert_eq!(sized.intent.quantity().value(), d("0.0333"));
    assert_eq!(sized.notional.value(), d("1665"));
    assert_eq!(sized.capped_by, None);
    assert!(btc.validate(&sized.intent, req.price).is_ok());
}

#[test]
fn each_method_sizes_as_documented() {
    let btc = btc();
    let req = request(&btc, "40000", account("20000", "20000"));
    let fixed = sizer(SizingMethod::FixedQuote {
        amount: "1000".parse().unwrap(),
    });
    // 1 000 ÷ 40 000 = 0.025
    assert_eq!(
        fixed.size_entry(&req).unwrap().intent.quantity().value(),
        d("0.025")
    );
    let share = sizer(SizingMethod::PercentOfEquity { percent: pct("10") });
    // 10 % of 20 000 = 2 000 ÷ 40 000 = 0.05
    assert_eq!(
        share.size_entry(&req).unwrap().intent.quantity().value(),
        d("0.05")
    );
    let stop = sizer(SizingMethod::Risk {
        risk_percent: pct("2"),
        stop: StopDistance::Price("38000".parse().unwrap()),
    });
    // 400 at risk ÷ 2 000 = 0.2 BTC = 8 000 USDT
    assert_eq!(
        stop.size_entry(&req).unwrap().intent.quantity().value(),
        d("0.2")
    );
    let bad_stop = sizer(SizingMethod::Risk {
        risk_percent: pct("2"),
        stop: StopDistance::Price("41000".parse().unwrap()),
    });
    assert!(matches!(
        bad_stop.size_entry(&req),
        Err(SizingRejection::StopNotBelowPrice { .. })
    ));
    let atr_stop = sizer(SizingMethod::Risk {
        risk_percent: pct("2"),
        stop: StopDistance::AtrMultiple(d("2")),
    });
    assert_eq!(atr_stop.size_entry(&req), Err(SizingRejection::NoAtr));
}

/// A stop exactly at the price risks nothing per unit: there is no size for it, and the
/// owner is told the stop is not below the price (not sized as if the distance were tiny).
#[test]
fn a_stop_at_the_price_itself_is_refused() {
    let btc = btc();
    let req = request(&btc, "40000", account("20000", "20000"));
    let at_price = sizer(SizingMethod::Risk {
        risk_percent: pct("2"),
        stop: StopDistance::Price("40000".parse().unwrap()),
    });
    assert_eq!(
        at_price.size_entry(&req),
        Err(SizingRejection::StopNotBelowPrice {
            stop: "40000".parse().unwrap(),
            price: "40000".parse().unwrap(),
        })
    );
    // A cent below it is a (large) valid risk size, capped by the balance.
    let just_below = sizer(SizingMethod::Risk {
        risk_percent: pct("2"),
        stop: StopDistance::Price("39999.99".parse().unwrap()),
    });
    assert_eq!(
        just_below.size_entry(&req).unwrap().capped_by,
        Some(Cap::Balance)
    );
}

/// A cap that leaves the order exactly as asked did not lower it: the order is not
/// reported as capped (the owner would look for a limit that changed nothing).
#[test]
fn a_cap_equal_to_the_order_does_not_name_itself() {
    let btc = btc();
    let method = SizingMethod::FixedQuote {
        amount: "2000".parse().unwrap(),
    };
    let mut req = request(&btc, "50000", account("10000", "100000"));
    req.max_order_notional = Some("2000".parse().unwrap());
    let sized = sizer(method).size_entry(&req).unwrap();
    assert_eq!(
        (sized.intent.quantity().value(), sized.capped_by),
        (d("0.04"), None)
    );
    req.max_order_notional = Some("1999.99".parse().unwrap());
    let sized = sizer(method).size_entry(&req).unwrap();
    assert_eq!(
        (sized.intent.quantity().value(), sized.capped_by),
        (d("0.0399"), Some(Cap::Plan))
    );
}

#[test]
fn caps_lower_the_order_and_name_themselves() {
    let btc = btc();
    let method = SizingMethod::FixedQuote {
        amount: "5000".parse().unwrap(),
    };
    let mut req = request(&btc, "50000", account("10000", "3003"));
    // Free balance 3 003 with a 0.1 % fee reserve buys at most 3 000 → 0.06 BTC.
    let sized = sizer(method).size_entry(&req).unwrap();
    assert_eq!(
        (sized.intent.quantity().value(), sized.capped_by),
        (d("0.06"), Some(Cap::Balance))
    );
    req.account.free_quote = "100000".parse().unwrap();
    req.max_order_notional = Some("2000".parse().unwrap());
    assert_eq!(
        sizer(method).size_entry(&req).unwrap().capped_by,
        Some(Cap::Plan)
    );
    req.exposure_cap = Some(ExposureCap::PercentOfEquity(pct("25")));
    req.position_cost = "1000".parse().unwrap();
    // 25 % of 10 000 = 2 500, 1 000 already held → 1 500 = 0.03 BTC
    let sized = sizer(method).size_entry(&req).unwrap();
    assert_eq!(
        (sized.intent.quantity().value(), sized.capped_by),
        (d("0.03"), Some(Cap::Exposure))
    );
    let capped = PositionSizer::new(SizingConfig {
        method,
        max_position_pct: Some(pct("12")),
        ..SizingConfig::default()
    });
    // 12 % of 10 000 = 1 200 − 1 000 held = 200 → 0.004 BTC
    let sized = capped.size_entry(&req).unwrap();
    assert_eq!(
        (sized.intent.quantity().value(), sized.capped_by),
        (d("0.004"), Some(Cap::Position))
    );
}

#[test]
fn min_notional_is_checked_after_rounding_and_caps_are_blamed() {
    let btc = btc();
    // 10.4 USDT at 50 000 is 0.000208 BTC, floored to 0.0002 = 10 USDT: still valid.
    let req = request(&btc, "50000", account("100000", "100000"));
    let ok = sizer(SizingMethod::FixedQuote {
        amount: "10.4".parse().unwrap(),
    })
    .size_entry(&req)
    .unwrap();
    assert_eq!(ok.notional.value(), d("10"));
    // 19.9 USDT at 99 999.99 floors to 0.0001 BTC = 9.999999 USDT: below the minimum.
    let req = request(&btc, "99999.99", account("100000", "100000"));
    let err = sizer(SizingMethod::FixedQuote {
        amount: "19.9".parse().unwrap(),
    })
    .size_entry(&req)
    .unwrap_err();
    assert_eq!(
        err,
        SizingRejection::BelowMinNotional {
            notional: d("9.999999"),
            min_notional: d("10")
        }
    );
    assert_eq!(
        err.to_string(),
        "order value 9.999999 is below the minimum notional 10"
    );
    // A balance too small for any valid order is the balance's fault, not the filter's.
    let req = request(&btc, "50000", account("100000", "9"));
    let err = sizer(SizingMethod::FixedQuote {
        amount: "100".parse().unwrap(),
    })
    .size_entry(&req)
    .unwrap_err();
    assert_eq!(
        err,
        SizingRejection::InsufficientBalance {
            available: d("9"),
            needed: d("10.01")
        }
    );
    let mut req = request(&btc, "50000", account("1000", "1000"));
    req.exposure_cap = Some(ExposureCap::Quote("500".parse().unwrap()));
    req.position_cost = "500".parse().unwrap();
    let err = sizer(SizingMethod::FixedQuote {
        amount: "100".parse().unwrap(),
    })
    .size_entry(&req)
    .unwrap_err();
    assert_eq!(
        err,
        SizingRejection::ExceedsExposureCap {
            cap: d("500"),
            current: d("500")
        }
    );
}

#[test]
fn adds_are_multiples_of_the_initial_unit() {
    let btc = btc();
    let mut req = request(&btc, "50000", account("100000", "100000"));
    req.kind = EntryKind::Add {
        multiplier: d("0.5"),
        initial_quantity: "0.0333".parse().unwrap(),
    };
    // 0.5 × 0.0333 = 0.01665 → 0.0166
    let sized = sizer(SizingMethod::FixedQuote {
        amount: "1".parse().unwrap(),
    })
    .size_entry(&req)
    .unwrap();
    assert_eq!(sized.intent.quantity().value(), d("0.0166"));
}

#[test]
fn exits_sell_what_is_held_and_leave_dust_behind() {
    let btc = btc();
    let price: Price = "50000".parse().unwrap();
    let q = |s: &str| s.parse::<Quantity>().unwrap();
    // Bought 0.0333, the 0.1 % fee was taken in BTC: 0.0332667 held.
    let exit = size_exit(&btc, q("0.0333"), q("0.0332667"), price);
    assert_eq!(
        exit,
        ExitSize {
            quantity: Some(q("0.0332")),
            dust: q("0.0001"),
            closes_position: true,
            shortfall: Quantity::ZERO,
        }
    );
    // The account holds more BTC than the bot bought: only the bot's position is sold.
    let exit = size_exit(&btc, q("0.05"), q("1.5"), price);
    assert_eq!(
        exit,
        ExitSize {
            quantity: Some(q("0.05")),
            dust: Quantity::ZERO,
            closes_position: true,
            shortfall: Quantity::ZERO,
        }
    );
    // Too little to sell at all: everything is dust, the position still closes.
    let exit = size_exit(&btc, q("0.00015"), q("0.00015"), price);
    assert_eq!(
        exit,
        ExitSize {
            quantity: None,
            dust: q("0.00015"),
            closes_position: true,
            shortfall: Quantity::ZERO,
        }
    );
    // More than max_qty: the rest is sold next time, not dust.
    let exit = size_exit(&btc, q("150"), q("150"), price);
    assert_eq!(
        exit,
        ExitSize {
            quantity: Some(q("100")),
            dust: Quantity::ZERO,
            closes_position: false,
            shortfall: Quantity::ZERO,
        }
    );
}

#[test]
fn an_account_holding_less_than_the_position_is_out_of_sync_beyond_the_minimums() {
    let btc = btc();
    let price: Price = "50000".parse().unwrap();
    let q = |s: &str| s.parse::<Quantity>().unwrap();
    // The smallest sale is 0.0002 BTC (min_notional 10 at 50,000 beats min_qty and step):
    // a difference up to it is fees or rounding.
    let within = size_exit(&btc, q("0.0333"), q("0.0331"), price);
    assert_eq!(within.shortfall, Quantity::ZERO);
    assert_eq!(within.quantity, Some(q("0.0331")));
    // Half of it gone: what is held is sold, the rest is reported missing, not dust.
    let half = size_exit(&btc, q("0.0333"), q("0.0166"), price);
    assert_eq!(half.quantity, Some(q("0.0166")));
    assert_eq!(half.shortfall, q("0.0167"));
    // All of it gone: nothing to sell, everything missing.
    let gone = size_exit(&btc, q("0.0333"), Quantity::ZERO, price);
    assert_eq!((gone.quantity, gone.shortfall), (None, q("0.0333")));
    // Just over the tolerance.
    let edge = size_exit(&btc, q("0.0333"), q("0.0330999"), price);
    assert_eq!(edge.shortfall, q("0.0002001"));
    let at = size_exit(&btc, q("0.0333"), q("0.0331"), price);
    assert_eq!(
        at.shortfall,
        Quantity::ZERO,
        "exactly the smallest sale is tolerated"
    );
}

#[test]
fn every_field_has_a_range_and_the_error_names_it() {
    let config = |json: &str| serde_json::from_str::<SizingConfig>(json).unwrap();
    let risk = |risk: &str, k: &str| {
        format!(
            r#"{{"method": {{"type": "risk", "risk_percent": "{risk}", "stop": {{"atr_multiple": "{k}"}}}}}}"#
        )
    };
    let cases: &[(String, Option<&str>)] = &[
        (risk("1", "2"), None),
        (risk("100", "100"), None),
        (risk("0.0000001", "0.0000001"), None),
        (
            risk("0", "2"),
            Some("method.risk_percent: must be above 0 and at most 100, got 0"),
        ),
        (
            risk("100.01", "2"),
            Some("method.risk_percent: must be above 0 and at most 100, got 100.01"),
        ),
        (
            risk("1", "0"),
            Some("method.stop.atr_multiple: must be above 0 and at most 100 ATRs, got 0"),
        ),
        (
            risk("1", "-2"),
            Some("method.stop.atr_multiple: must be above 0 and at most 100 ATRs, got -2"),
        ),
        (
            risk("1", "79228162514264337593543950335"),
            Some("method.stop.atr_multiple: must be above 0 and at most 100 ATRs, got 79228162514264337593543950335"),
        ),
        (
            r#"{"method": {"type": "fixed_quote", "amount": "1000000000000"}}"#.into(),
            None,
        ),
        (
            r#"{"method": {"type": "fixed_quote", "amount": "1000000000000.01"}}"#.into(),
            Some("method.amount: must be above 0 and at most 1000000000000, got 1000000000000.01"),
        ),
        (
            r#"{"method": {"type": "fixed_quote", "amount": "0"}}"#.into(),
            Some("method.amount: must be above 0 and at most 1000000000000, got 0"),
        ),
        (
            r#"{"method": {"type": "percent_of_equity", "percent": "-5"}}"#.into(),
            Some("method.percent: must be above 0 and at most 100, got -5"),
        ),
        (
            r#"{"method": {"type": "percent_of_equity", "percent": 10}, "max_position_pct": 1000000}"#.into(),
            Some("max_position_pct: must be above 0 and at most 100, got 1000000"),
        ),
        (
            r#"{"method": {"type": "percent_of_equity", "percent": 10}, "fee_reserve_pct": 0}"#.into(),
            None,
        ),
        (
            r#"{"method": {"type": "percent_of_equity", "percent": 10}, "fee_reserve_pct": 10.5}"#.into(),
            Some("fee_reserve_pct: must be at least 0 and at most 10, got 10.5"),
        ),
        (
            r#"{"method": {"type": "percent_of_equity", "percent": 10}, "fee_reserve_pct": -1}"#.into(),
            Some("fee_reserve_pct: must be at least 0 and at most 10, got -1"),
        ),
    ];
    for (json, expected) in cases {
        let config = config(json);
        let got = config.validate().map_err(|e| e.to_string());
        assert_eq!(got.as_ref().err().map(String::as_str), *expected, "{json}");
        assert_eq!(PositionSizer::try_new(config).is_ok(), expected.is_none());
    }
    SizingConfig::default().validate().unwrap();
    crate::backtest::trend_bot().sizing.validate().unwrap();
}

/// Products and quotients of extreme values: each would overflow `Decimal` (and panic with
/// `*` or `/`); sizing saturates or rejects instead.
#[test]
fn extreme_values_size_or_reject_without_overflowing() {
    let btc = btc();
    let rich = AccountSnapshot {
        equity: Notional::new(Notional::MAX).unwrap(),
        free_quote: Quantity::new(Quantity::MAX).unwrap(),
        free_base: Quantity::ZERO,
    };
    // A stop a hair below the price: equity at risk ÷ 10⁻⁸ × price.
    let mut req = request(&btc, "50000", rich);
    let hair = sizer(SizingMethod::Risk {
        risk_percent: pct("100"),
        stop: StopDistance::Price("49999.99999999".parse().unwrap()),
    });
    let sized = hair.size_entry(&req).unwrap();
    assert_eq!(sized.intent.quantity().value(), d("100"), "max_qty");
    // An add of an enormous multiple of an enormous initial entry.
    req.kind = EntryKind::Add {
        multiplier: Decimal::MAX,
        initial_quantity: Quantity::new(Quantity::MAX).unwrap(),
    };
    assert_eq!(
        hair.size_entry(&req).unwrap().intent.quantity().value(),
        d("100")
    );
    // An ATR stop of an enormous multiple (never valid, but never a panic).
    req.kind = EntryKind::Initial;
    req.atr = Some(Price::new(Price::MAX).unwrap());
    let wide = sizer(SizingMethod::Risk {
        risk_percent: pct("1"),
        stop: StopDistance::AtrMultiple(Decimal::MAX),
    });
    assert!(matches!(
        wide.size_entry(&req),
        Err(SizingRejection::BelowMinNotional { .. })
    ));
    // The smallest price buys at most the largest quantity, floored to the step.
    let no_max = Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse().unwrap(),
        InstrumentFilters {
            max_qty: None,
            min_notional: Notional::ZERO,
            ..*btc.filters()
        },
    )
    .unwrap();
    let mut req = request(&no_max, "0.01", rich);
    req.price = Price::new(Decimal::new(1, 28)).unwrap();
    let sized = sizer(SizingMethod::FixedQuote {
        amount: Notional::new(MAX_FIXED_QUOTE).unwrap(),
    })
    .size_entry(&req)
    .unwrap();
    assert_eq!(sized.intent.quantity().value(), Quantity::MAX);
    // The largest fee reserve a percentage can hold, on the largest minimum notional.
    let greedy = PositionSizer::new(SizingConfig {
        fee_reserve_pct: Percent::new(Percent::MAX).unwrap(),
        ..SizingConfig::default()
    });
    let huge_min = Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse().unwrap(),
        InstrumentFilters {
            min_notional: Notional::new(Notional::MAX).unwrap(),
            ..*btc.filters()
        },
    )
    .unwrap();
    let req = request(&huge_min, "50000", account("100", "100"));
    assert!(matches!(
        greedy.size_entry(&req),
        Err(SizingRejection::InsufficientBalance { .. })
    ));
}

#[test]
fn configs_load_from_toml() {
    let config: SizingConfig = toml::from_str(
        r#"
        max_position_pct = 25
        method = { type = "risk", risk_percent = 1, stop = { atr_multiple = 2.5 } }
        "#,
    )
    .unwrap();
    assert_eq!(
        config.method,
        SizingMethod::Risk {
            risk_percent: pct("1"),
            stop: StopDistance::AtrMultiple(d("2.5"))
        }
    );
    assert_eq!(config.max_position_pct, Some(pct("25")));
    assert_eq!(config.fee_reserve_pct, pct("0.1"));
    let err = toml::from_str::<SizingConfig>(r#"method = { type = "fixed_quote", amount = -5 }"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("notional must not be negative"),
        "{err}"
    );
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    fn arb_instrument() -> impl Strategy<Value = Instrument> {
        (
            (1i64..1000, 0u32..6),
            (1i64..1000, 0u32..8),
            0i64..50,
            0i64..100,
        )
            .prop_map(|((tick, ts), (step, ss), min_steps, min_notional)| {
                let step = Decimal::new(step, ss);
                Instrument::new(
                    ExchangeId::Paper,
                    "BTC/USDT".parse().unwrap(),
                    InstrumentFilters {
                        tick_size: Price::new(Decimal::new(tick, ts)).unwrap(),
                        step_size: Quantity::new(step).unwrap(),
                        min_qty: Quantity::new(step * Decimal::from(min_steps)).unwrap(),
                        max_qty: None,
                        min_notional: Notional::new(Decimal::from(min_notional)).unwrap(),
                    },
                )
                .unwrap()
            })
    }

    fn arb_method() -> impl Strategy<Value = SizingMethod> {
        prop_oneof![
            (1i64..1_000_000).prop_map(|a| SizingMethod::FixedQuote {
                amount: Notional::new(Decimal::new(a, 2)).unwrap()
            }),
            (1i64..10_000).prop_map(|p| SizingMethod::PercentOfEquity {
                percent: Percent::new(Decimal::new(p, 2)).unwrap()
            }),
            (1i64..500, 1i64..50).prop_map(|(r, k)| SizingMethod::Risk {
                risk_percent: Percent::new(Decimal::new(r, 2)).unwrap(),
                stop: StopDistance::AtrMultiple(Decimal::new(k, 1)),
            }),
        ]
    }

    proptest! {
        #[test]
        fn prop_entries_respect_balance_caps_and_filters(
            instrument in arb_instrument(), method in arb_method(),
            price in 1i64..10_000_000, equity in 0i64..10_000_000, free in 0i64..10_000_000,
            held in 0i64..5_000_000, cap_pct in proptest::option::of(1i64..100), fee_bps in 0i32..100,
        ) {
            let config = SizingConfig { method, max_position_pct: None, fee_reserve_pct: Percent::from_bps(fee_bps) };
            let price = Price::new(Decimal::new(price, 2)).unwrap();
            let exposure_cap = cap_pct.map(|c| ExposureCap::PercentOfEquity(Percent::new(Decimal::from(c)).unwrap()));
            let req = EntryRequest {
                instrument: &instrument,
                price,
                account: AccountSnapshot {
                    equity: Notional::new(Decimal::from(equity)).unwrap(),
                    free_quote: Quantity::new(Decimal::from(free)).unwrap(),
                    free_base: Quantity::ZERO,
                },
                position_cost: Notional::new(Decimal::from(held)).unwrap(),
                kind: EntryKind::Initial,
                atr: Some(Price::new(price.value() / Decimal::from(50)).unwrap_or(price)),
                exposure_cap,
                max_order_notional: None,
            };
            if let Ok(sized) = PositionSizer::new(config).size_entry(&req) {
                let cost = sized.notional.value() * (Decimal::ONE + config.fee_reserve_pct.fraction());
                prop_assert!(cost <= req.account.free_quote.value(), "cost {} > free {}", cost, req.account.free_quote);
                if let Some(cap) = exposure_cap {
                    prop_assert!(req.position_cost.value() + sized.notional.value() <= cap.limit(req.account.equity).value());
                }
                prop_assert!(instrument.validate(&sized.intent, price).is_ok());
                prop_assert_eq!(sized.notional, price * sized.intent.quantity());
            }
        }

        #[test]
        fn prop_exits_never_sell_more_than_held_and_account_for_everything(
            instrument in arb_instrument(), position in 0i64..10_000_000, free in 0i64..10_000_000,
            price in 1i64..10_000_000,
        ) {
            let position = Quantity::new(Decimal::new(position, 4)).unwrap();
            let free = Quantity::new(Decimal::new(free, 4)).unwrap();
            let price = Price::new(Decimal::new(price, 2)).unwrap();
            let exit = size_exit(&instrument, position, free, price);
            let sold = exit.quantity.unwrap_or(Quantity::ZERO);
            prop_assert!(sold <= position && sold <= free);
            if let Some(q) = exit.quantity {
                let intent = OrderIntent::market(instrument.symbol(), Side::Sell, q).unwrap();
                prop_assert!(instrument.validate(&intent, price).is_ok());
            }
            prop_assert!(exit.closes_position);
            prop_assert_eq!(sold.value() + exit.dust.value(), position.value());
            // A shortfall is exactly what the account lacks, and only when it could have
            // been sold on its own.
            if exit.shortfall.is_zero() {
                prop_assert!(position.saturating_sub(free) <= smallest_sale(&instrument, price));
            } else {
                prop_assert_eq!(exit.shortfall, position.saturating_sub(free));
                prop_assert!(exit.shortfall > smallest_sale(&instrument, price));
            }
        }
    }
}
