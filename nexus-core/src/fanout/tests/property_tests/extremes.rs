//! Extreme but parseable bot configurations, accounts and markets through sizing and
//! planning: the largest and smallest values each type accepts, the documented range
//! bounds and just past them, and arbitrary `Decimal`s where a field takes any. Nothing
//! may panic (an overflowing `Decimal` `*` or `/` would), every subscription is planned or
//! skipped, and every order passes the instrument's filters and its caps.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::pyramid::{MAX_COOLDOWN_SECS, MAX_TRIGGER_PERCENT};
use crate::regime::gate::MAX_DATA_AGE_SECS;
use crate::sizing::{MAX_FIXED_QUOTE, MAX_STOP_ATR_MULTIPLE};

/// The smallest positive `Decimal`: 10⁻²⁸.
const TINY: Decimal = Decimal::from_parts(1, 0, 0, false, 28);

/// Any `Decimal`, with its extremes and the documented bounds (and just past them) often.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    let just_past = Decimal::new(1, 10);
    prop_oneof![
        3 => proptest::sample::select(vec![
            Decimal::ZERO,
            Decimal::ONE,
            Decimal::NEGATIVE_ONE,
            Decimal::MAX,
            Decimal::MIN,
            TINY,
            -TINY,
            Decimal::ONE_HUNDRED,
            Decimal::ONE_HUNDRED + just_past,
            -Decimal::ONE_HUNDRED,
            MAX_TRIGGER_PERCENT,
            MAX_TRIGGER_PERCENT + just_past,
            MAX_STOP_ATR_MULTIPLE,
            MAX_FIXED_QUOTE,
            MAX_FIXED_QUOTE + just_past,
            Price::MAX,
            Quantity::MAX,
            Notional::MAX,
            Percent::MAX,
            -Percent::MAX,
        ]),
        1 => (any::<i64>(), 0u32..=28).prop_map(|(m, scale)| Decimal::new(m, scale)),
        1 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
            .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
    ]
}

/// Within what a [`Percent`] accepts: |x| ≤ 10⁶.
fn percent() -> impl Strategy<Value = Decimal> {
    any_decimal().prop_map(|v| v.clamp(-Percent::MAX, Percent::MAX))
}

/// Within what a [`Notional`] accepts: 0 ≤ x ≤ 10²⁷.
fn notional() -> impl Strategy<Value = Decimal> {
    any_decimal().prop_map(|v| v.abs().min(Notional::MAX))
}

/// Within what a [`Quantity`] accepts: 0 ≤ x ≤ 10¹⁵.
fn quantity() -> impl Strategy<Value = Decimal> {
    any_decimal().prop_map(|v| v.abs().min(Quantity::MAX))
}

/// Within what a [`Price`] accepts: 0 < x ≤ 10¹².
fn price() -> impl Strategy<Value = Decimal> {
    any_decimal().prop_map(|v| v.abs().clamp(TINY, Price::MAX))
}

fn count<T: Copy + std::fmt::Debug + 'static>(
    bounds: Vec<T>,
    any: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = T> {
    prop_oneof![3 => proptest::sample::select(bounds), 1 => any]
}

fn text(value: Decimal) -> Value {
    Value::String(value.to_string())
}

/// A bot configuration as the API would receive it, in JSON.
fn arb_config_json() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        notional().prop_map(|a| json!({"type": "fixed_quote", "amount": text(a)})),
        percent().prop_map(|p| json!({"type": "percent_of_equity", "percent": text(p)})),
        (percent(), any_decimal()).prop_map(|(r, k)| json!({
            "type": "risk", "risk_percent": text(r), "stop": {"atr_multiple": text(k)}
        })),
        (percent(), price()).prop_map(|(r, p)| json!({
            "type": "risk", "risk_percent": text(r), "stop": {"price": text(p)}
        })),
    ];
    let sizing = (method, proptest::option::of(percent()), percent()).prop_map(
        |(method, max_position, fee)| {
            let mut sizing = json!({"method": method, "fee_reserve_pct": text(fee)});
            if let Some(max) = max_position {
                sizing["max_position_pct"] = text(max);
            }
            sizing
        },
    );
    let trigger = prop_oneof![
        any_decimal().prop_map(|v| json!({"percent": text(v)})),
        any_decimal().prop_map(|v| json!({"atr": text(v)})),
    ];
    let level = (trigger, any_decimal())
        .prop_map(|(trigger, m)| json!({"trigger": trigger, "size_multiplier": text(m)}));
    let cap = proptest::option::of(prop_oneof![
        notional().prop_map(|q| json!({"quote": text(q)})),
        percent().prop_map(|p| json!({"percent_of_equity": text(p)})),
    ]);
    let pyramid = (
        count(vec![0u32, 1, 20, 21, u32::MAX], any::<u32>()),
        proptest::sample::select(vec!["last_fill", "average_entry"]),
        proptest::collection::vec(level, 0..=22),
        count(
            vec![0u64, 1, MAX_COOLDOWN_SECS, MAX_COOLDOWN_SECS + 1, u64::MAX],
            any::<u64>(),
        ),
        cap,
    )
        .prop_map(|(max_adds, anchor, levels, cooldown, cap)| {
            json!({
                "max_adds": max_adds, "anchor": anchor, "levels": levels,
                "cooldown_secs": cooldown, "max_exposure": cap,
            })
        });
    // Mostly permissive regimes, so that most cases reach sizing; duplicates sometimes.
    let regimes = prop_oneof![
        4 => Just(json!(["bull", "bear", "sideways", "volatile"])),
        1 => Just(json!(["bull", "bull"])),
    ];
    let gate = (
        regimes.clone(),
        regimes,
        count(
            vec![0u64, 1, MAX_DATA_AGE_SECS, MAX_DATA_AGE_SECS + 1, u64::MAX],
            any::<u64>(),
        ),
    )
        .prop_map(|(entry, add, age)| {
            json!({"entry_regimes": entry, "add_regimes": add, "max_data_age_secs": age})
        });
    (gate, sizing, pyramid).prop_map(
        |(gate, sizing, pyramid)| json!({"gate": gate, "sizing": sizing, "pyramid": pyramid}),
    )
}

#[derive(Debug, Clone)]
struct Extreme {
    equity: Decimal,
    free_quote: Decimal,
    free_base: Decimal,
    /// (quantity, price, adds, last fill seconds before the signal).
    position: Option<(Decimal, Decimal, u32, i64)>,
    max_order: Option<Decimal>,
}

fn arb_extreme() -> impl Strategy<Value = Extreme> {
    (
        notional(),
        quantity(),
        quantity(),
        proptest::option::of((
            quantity().prop_map(|q| q.max(TINY)),
            price(),
            0u32..=22,
            0i64..=1_000_000_000,
        )),
        proptest::option::of(notional()),
    )
        .prop_map(
            |(equity, free_quote, free_base, position, max_order)| Extreme {
                equity,
                free_quote,
                free_base,
                position,
                max_order,
            },
        )
}

/// A snapshot whose ticker and filters are extreme too.
fn arb_snapshot() -> impl Strategy<Value = MarketSnapshot> {
    let step = proptest::sample::select(vec![
        TINY,
        Decimal::new(1, 8),
        Decimal::new(3, 4),
        Decimal::ONE,
        Decimal::ONE_THOUSAND,
    ]);
    (
        price(),
        price(),
        price(),
        step,
        0u32..=3,
        proptest::option::of(quantity()),
        notional(),
    )
        .prop_map(|(a, b, tick, step, min_steps, max_qty, min_notional)| {
            let (bid, ask) = (a.min(b), a.max(b));
            let p = |v| Price::new(v).unwrap();
            let min_qty = (step * Decimal::from(min_steps)).min(Quantity::MAX);
            let mut snap = MarketSnapshot::new(ExchangeId::Binance, t(0));
            snap.insert_ticker(Ticker::new(symbol(), p(bid), p(ask), p(bid), t(0)).unwrap());
            snap.insert_instrument(
                Instrument::new(
                    ExchangeId::Binance,
                    symbol(),
                    InstrumentFilters {
                        tick_size: p(tick),
                        step_size: Quantity::new(step).unwrap(),
                        min_qty: Quantity::new(min_qty).unwrap(),
                        max_qty: max_qty.map(|m| Quantity::new(m.max(min_qty)).unwrap()),
                        min_notional: Notional::new(min_notional).unwrap(),
                    },
                )
                .unwrap(),
            );
            snap
        })
}

fn subscription<'a>(
    config: &'a BotConfig,
    n: u128,
    e: &Extreme,
    at: Timestamp,
) -> Subscription<'a> {
    let position = e.position.and_then(|(qty, price, adds, ago)| {
        let (qty, price) = (Quantity::new(qty).unwrap(), Price::new(price).unwrap());
        let filled = at - chrono::Duration::seconds(ago);
        let mut pos = Position::open(symbol(), qty, price, filled).ok()?;
        for _ in 0..adds {
            // Past the largest quantity or notional an add is refused: keep what fits.
            if pos.add(qty, price, filled).is_err() {
                break;
            }
        }
        Some(pos)
    });
    Subscription {
        user: UserId::new(Uuid::from_u128(n)),
        bot: BotId::new(Uuid::from_u128(1_000 + n)),
        exchange: ExchangeId::Binance,
        config,
        account: AccountSnapshot {
            equity: Notional::new(e.equity).unwrap(),
            free_quote: Quantity::new(e.free_quote).unwrap(),
            free_base: Quantity::new(e.free_base).unwrap(),
        },
        position,
        limits: PlanLimits {
            active: true,
            max_order_notional: e.max_order.map(|m| Notional::new(m).unwrap()),
        },
        paused: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn prop_extreme_configs_plan_or_skip_without_panicking(
        configs in proptest::collection::vec(arb_config_json(), 1..4),
        extremes in proptest::collection::vec(arb_extreme(), 1..8),
        snap in arb_snapshot(),
        kind in proptest::sample::select(vec![GateAction::Entry, GateAction::Add, GateAction::Exit]),
        atr in proptest::option::of(price()),
        multiplier in any_decimal(),
    ) {
        // Parseable: the API reads exactly this into the core's types.
        let configs: Vec<BotConfig> = configs
            .into_iter()
            .map(|json| serde_json::from_value(json).expect("a parseable configuration"))
            .collect();
        let signal = Signal {
            id: SignalId::new(Uuid::from_u128(9)),
            exchange: ExchangeId::Binance,
            symbol: symbol(),
            kind,
            at: t(1),
            atr: atr.map(|a| Price::new(a).unwrap()),
            regime: Some(Regime::Bull),
            advisor: AdvisorInput::NotAsked,
        };
        let subs: Vec<Subscription<'_>> = extremes
            .iter()
            .enumerate()
            .map(|(n, e)| subscription(&configs[n % configs.len()], n as u128, e, signal.at))
            .collect();

        let out = plan(&signal, &snap, &subs);
        prop_assert_eq!(out.plans.len() + out.skips.len(), subs.len());

        let instrument = snap.instrument(&symbol()).unwrap();
        for p in &out.plans {
            let sub = subs.iter().find(|s| s.bot == p.bot).unwrap();
            prop_assert!(instrument.validate(&p.intent, p.reference_price).is_ok(), "filters: {:?}", p);
            if p.intent.side() == Side::Buy {
                let cost = (p.reference_price * p.intent.quantity()).value();
                let fee = Decimal::ONE + sub.config.sizing.fee_reserve_pct.fraction().max(Decimal::ZERO);
                prop_assert!(cost * fee <= sub.account.free_quote.value(), "balance: {:?}", p);
                if let Some(limit) = sub.limits.max_order_notional {
                    prop_assert!(cost <= limit.value(), "plan limit: {:?}", p);
                }
                if let Some(cap) = sub.config.pyramid.max_exposure {
                    let held = sub.position.map_or(Decimal::ZERO, |pos| pos.cost().value());
                    prop_assert!(held + cost <= cap.limit(sub.account.equity).value(), "exposure: {:?}", p);
                }
            }
        }

        // Sizing directly, an add of any multiple of any initial entry, under every config.
        let ticker = snap.ticker(&symbol()).unwrap();
        for (config, e) in configs.iter().zip(&extremes) {
            let valid = config.validate().is_ok();
            prop_assert_eq!(PositionSizer::try_new(config.sizing).is_ok(), config.sizing.validate().is_ok());
            let request = EntryRequest {
                instrument,
                price: ticker.price_for(Side::Buy),
                account: subscription(config, 0, e, signal.at).account,
                position_cost: Notional::new(e.equity).unwrap(),
                kind: EntryKind::Add {
                    multiplier,
                    initial_quantity: Quantity::new(e.free_base).unwrap(),
                },
                atr: signal.atr,
                exposure_cap: config.pyramid.max_exposure,
                max_order_notional: None,
            };
            for kind in [request.kind, EntryKind::Initial] {
                let request = EntryRequest { kind, ..request };
                if let Ok(sized) = PositionSizer::new(config.sizing).size_entry(&request) {
                    prop_assert!(instrument.validate(&sized.intent, request.price).is_ok(), "valid config: {}", valid);
                    prop_assert!(sized.notional.value() <= request.account.free_quote.value());
                }
            }
        }
    }
}
