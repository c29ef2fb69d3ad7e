use std::str::FromStr;

use rust_decimal::Decimal;

use super::*;
use crate::MarketSnapshot;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn instrument(
    tick: &str,
    step: &str,
    min_qty: &str,
    max_qty: Option<&str>,
    min_notional: &str,
) -> Instrument {
    Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse().unwrap(),
        InstrumentFilters {
            tick_size: Price::from_str(tick).unwrap(),
            step_size: Quantity::from_str(step).unwrap(),
            min_qty: Quantity::from_str(min_qty).unwrap(),
            max_qty: max_qty.map(|m| Quantity::from_str(m).unwrap()),
            min_notional: Notional::from_str(min_notional).unwrap(),
        },
    )
    .unwrap()
}

fn btc() -> Instrument {
    instrument("0.01", "0.00001", "0.00001", Some("9000"), "5")
}

fn q(s: &str) -> Quantity {
    Quantity::from_str(s).unwrap()
}

fn p(s: &str) -> Price {
    Price::from_str(s).unwrap()
}

#[test]
fn inconsistent_filters_are_refused() {
    let mut filters = *btc().filters();
    filters.step_size = Quantity::ZERO;
    let symbol = btc().symbol();
    assert_eq!(
        Instrument::new(ExchangeId::Binance, symbol, filters),
        Err(InstrumentError::ZeroStepSize)
    );
    let mut filters = *btc().filters();
    filters.min_qty = q("10");
    filters.max_qty = Some(q("1"));
    let err = Instrument::new(ExchangeId::Binance, symbol, filters).unwrap_err();
    assert_eq!(err.to_string(), "min_qty 10 is greater than max_qty 1");
}

#[test]
fn quantities_floor_to_the_step() {
    let cases = [
        ("0.0123456", "0.00001", "0.01234"),
        ("0.01234", "0.00001", "0.01234"),
        ("0.000009", "0.00001", "0"),
        ("7.9", "0.5", "7.5"),
        ("123", "10", "120"),
        ("0.9", "0.3", "0.9"),
    ];
    for (input, step, expected) in cases {
        let i = instrument("0.01", step, "0", None, "0");
        assert_eq!(
            i.floor_quantity(q(input)).value(),
            d(expected),
            "{input} step {step}"
        );
    }
}

#[test]
fn limit_prices_round_in_the_safe_direction() {
    let i = btc();
    let cases = [
        (Side::Buy, "64250.129", "64250.12"),
        (Side::Sell, "64250.121", "64250.13"),
        (Side::Buy, "64250.12", "64250.12"),
        (Side::Sell, "64250.12", "64250.12"),
        (Side::Sell, "0.001", "0.01"),
    ];
    for (side, input, expected) in cases {
        assert_eq!(
            i.round_limit_price(side, p(input)).unwrap().value(),
            d(expected),
            "{side} {input}"
        );
    }
    let err = i.round_limit_price(Side::Buy, p("0.001")).unwrap_err();
    assert_eq!(err.filter(), "tick_size");
    assert_eq!(
        err.to_string(),
        "price 0.001 rounds to zero at the tick size 0.01"
    );
}

#[test]
fn validation_names_the_violated_filter() {
    let i = btc();
    let symbol = i.symbol();
    let market = |qty: &str| OrderIntent::market(symbol, Side::Buy, q(qty)).unwrap();
    let limit =
        |qty: &str, price: &str| OrderIntent::limit(symbol, Side::Buy, q(qty), p(price)).unwrap();
    let reference = p("50000");
    let cases: [(OrderIntent, Option<&str>); 6] = [
        (market("0.001"), None),
        (market("0.000015"), Some("step_size")),
        (market("9000.00001"), Some("max_qty")),
        (market("0.00009"), Some("min_notional")), // 4.5 USDT at the reference price
        (limit("0.001", "50000.005"), Some("tick_size")),
        (limit("0.00009", "50000"), Some("min_notional")), // 4.5 USDT at its own price
    ];
    for (intent, violated) in cases {
        let result = i.validate(&intent, reference);
        assert_eq!(
            result.as_ref().err().map(FilterViolation::filter),
            violated,
            "{intent:?}: {result:?}"
        );
    }
    let below_min = instrument("0.01", "0.001", "0.01", None, "0");
    let err = below_min.check_quantity(q("0.005")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "quantity 0.005 is below the minimum quantity 0.01"
    );
    assert_eq!(
        below_min.check_quantity(Quantity::ZERO),
        Err(FilterViolation::ZeroQuantity)
    );
}

#[test]
fn instruments_serialise_flat_and_are_checked_on_the_way_in() {
    let json = serde_json::to_value(btc()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "exchange": "binance", "symbol": "BTC/USDT", "tick_size": "0.01",
            "step_size": "0.00001", "min_qty": "0.00001", "max_qty": "9000", "min_notional": "5"
        })
    );
    assert_eq!(
        serde_json::from_value::<Instrument>(json.clone()).unwrap(),
        btc()
    );
    let mut bad = json;
    bad["step_size"] = "0".into();
    let err = serde_json::from_value::<Instrument>(bad).unwrap_err();
    assert!(
        err.to_string()
            .contains("step_size must be greater than zero"),
        "{err}"
    );
}

#[test]
fn snapshots_keep_to_one_venue() {
    let mut snapshot = MarketSnapshot::new(ExchangeId::Kraken, chrono::DateTime::UNIX_EPOCH);
    assert!(!snapshot.insert_instrument(btc()));
    assert!(snapshot.instrument(&btc().symbol()).is_none());
    let kraken = Instrument::new(ExchangeId::Kraken, btc().symbol(), *btc().filters()).unwrap();
    assert!(snapshot.insert_instrument(kraken));
    assert_eq!(snapshot.instrument(&btc().symbol()), Some(&kraken));
}

mod property_tests {
    use proptest::prelude::*;

    use super::*;

    /// Positive decimals with up to 8 decimal places, like real venue increments.
    fn increment() -> impl Strategy<Value = Decimal> {
        (1i64..=1000, 0u32..=8).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn amount() -> impl Strategy<Value = Decimal> {
        (0i64..=10_000_000_000, 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn arb_instrument() -> impl Strategy<Value = Instrument> {
        (
            increment(),
            increment(),
            amount(),
            proptest::option::of(amount()),
            amount(),
        )
            .prop_filter_map(
                "consistent filters",
                |(tick, step, min_qty, max_qty, min_notional)| {
                    let filters = InstrumentFilters {
                        tick_size: Price::new(tick).ok()?,
                        step_size: Quantity::new(step).ok()?,
                        min_qty: Quantity::new(min_qty).ok()?,
                        max_qty: max_qty.map(Quantity::new).transpose().ok()?,
                        min_notional: Notional::new(min_notional).ok()?,
                    };
                    Instrument::new(ExchangeId::Paper, "BTC/USDT".parse().ok()?, filters).ok()
                },
            )
    }

    proptest! {
        #[test]
        fn prop_floored_quantity_is_at_most_input_a_step_multiple_and_stable(
            instrument in arb_instrument(), raw in amount(),
        ) {
            let input = Quantity::new(raw).unwrap();
            let floored = instrument.floor_quantity(input);
            let step = instrument.filters().step_size.value();
            prop_assert!(floored <= input);
            prop_assert!((floored.value() % step).is_zero());
            prop_assert!(input.value() - floored.value() < step, "floors by less than one step");
            prop_assert_eq!(instrument.floor_quantity(floored), floored);
        }

        #[test]
        fn prop_rounded_price_is_on_the_tick_on_the_safe_side_and_stable(
            instrument in arb_instrument(), raw in (1i64..=10_000_000_000, 0u32..=10),
            buy in any::<bool>(),
        ) {
            let side = if buy { Side::Buy } else { Side::Sell };
            let price = Price::new(Decimal::new(raw.0, raw.1)).unwrap();
            let tick = instrument.filters().tick_size.value();
            match instrument.round_limit_price(side, price) {
                Ok(rounded) => {
                    prop_assert!((rounded.value() % tick).is_zero());
                    prop_assert!((rounded.value() - price.value()).abs() < tick);
                    match side {
                        Side::Buy => prop_assert!(rounded <= price),
                        Side::Sell => prop_assert!(rounded >= price),
                    }
                    prop_assert_eq!(instrument.round_limit_price(side, rounded), Ok(rounded));
                    prop_assert!(instrument.check_price(rounded).is_ok());
                }
                Err(_) => prop_assert!(side == Side::Buy && price.value() < tick),
            }
        }

        #[test]
        fn prop_a_valid_order_satisfies_every_filter(
            instrument in arb_instrument(), qty in amount(),
            price in (1i64..=10_000_000_000, 0u32..=8), limit in any::<bool>(),
        ) {
            let qty = instrument.floor_quantity(Quantity::new(qty).unwrap());
            let price = Price::new(Decimal::new(price.0, price.1)).unwrap();
            let Ok(price) = instrument.round_limit_price(Side::Buy, price) else { return Ok(()) };
            let symbol = instrument.symbol();
            let intent = if limit {
                OrderIntent::limit(symbol, Side::Buy, qty, price)
            } else {
                OrderIntent::market(symbol, Side::Buy, qty)
            };
            let Ok(intent) = intent else { return Ok(()) };
            let f = instrument.filters();
            let satisfies_all = !qty.is_zero()
                && (qty.value() % f.step_size.value()).is_zero()
                && qty >= f.min_qty
                && f.max_qty.is_none_or(|max| qty <= max)
                && (price.value() % f.tick_size.value()).is_zero()
                && (price * qty) >= f.min_notional;
            // Validation passes exactly when every filter is satisfied.
            prop_assert_eq!(instrument.validate(&intent, price).is_ok(), satisfies_all);
        }
    }
}
