use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::sizing::StopDistance;

fn arb_config() -> impl Strategy<Value = BotConfig> {
    let method = prop_oneof![
        (1i64..5_000).prop_map(|a| SizingMethod::FixedQuote {
            amount: Notional::new(Decimal::from(a)).unwrap()
        }),
        (1i64..100).prop_map(|p| SizingMethod::PercentOfEquity {
            percent: Percent::new(Decimal::from(p)).unwrap()
        }),
        (1i64..10, 1i64..40).prop_map(|(r, k)| SizingMethod::Risk {
            risk_percent: Percent::new(Decimal::from(r)).unwrap(),
            stop: StopDistance::AtrMultiple(Decimal::new(k, 1)),
        }),
    ];
    let cap = proptest::option::of(prop_oneof![
        (1i64..100)
            .prop_map(|p| ExposureCap::PercentOfEquity(Percent::new(Decimal::from(p)).unwrap())),
        (1i64..20_000).prop_map(|q| ExposureCap::Quote(Notional::new(Decimal::from(q)).unwrap())),
    ]);
    // Mostly permissive policies, so that most cases reach sizing.
    let regimes = prop_oneof![
        4 => Just(Regime::ALL.to_vec()),
        1 => proptest::sample::subsequence(Regime::ALL.to_vec(), 0..=4),
    ];
    (
        method,
        cap,
        0u32..=5,
        1i64..=10,
        1i64..=20,
        regimes.clone(),
        regimes,
        0u64..100,
    )
        .prop_map(
            |(method, max_exposure, max_adds, step, mult, entry, add, cooldown)| BotConfig {
                gate: GatePolicy {
                    entry_regimes: entry,
                    add_regimes: add,
                    ..GatePolicy::default()
                },
                sizing: SizingConfig {
                    method,
                    ..SizingConfig::default()
                },
                pyramid: PyramidConfig {
                    max_adds,
                    anchor: TriggerAnchor::LastFill,
                    levels: if max_adds == 0 {
                        vec![]
                    } else {
                        vec![LevelConfig {
                            trigger: Trigger::Percent(Decimal::from(step)),
                            size_multiplier: Decimal::new(mult, 1),
                        }]
                    },
                    cooldown_secs: cooldown,
                    max_exposure,
                },
            },
        )
}

#[derive(Debug, Clone)]
struct SubSpec {
    config: usize,
    other_exchange: bool,
    paused: bool,
    active: bool,
    equity: i64,
    free_quote: i64,
    free_base: i64,
    position: Option<(i64, i64, u32)>,
    max_order: Option<i64>,
}

fn arb_sub() -> impl Strategy<Value = SubSpec> {
    (
        0usize..4,
        proptest::bool::weighted(0.05),
        proptest::bool::weighted(0.1),
        proptest::bool::weighted(0.9),
        (0i64..100_000, 0i64..100_000, 0i64..10_000),
        proptest::option::of((1i64..2_000, 20_000i64..80_000, 0u32..3)),
        proptest::option::of(1i64..10_000),
    )
        .prop_map(
            |(
                config,
                other_exchange,
                paused,
                active,
                (equity, free_quote, free_base),
                position,
                max_order,
            )| SubSpec {
                config,
                other_exchange,
                paused,
                active,
                equity,
                free_quote,
                free_base,
                position,
                max_order,
            },
        )
}

fn build<'a>(configs: &'a [BotConfig], specs: &[SubSpec]) -> Vec<Subscription<'a>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = i as u128;
            let position = s.position.map(|(qty, price, adds)| {
                let qty = Quantity::new(Decimal::new(qty, 4)).unwrap();
                let price = Price::new(Decimal::from(price)).unwrap();
                let mut pos = Position::open(symbol(), qty, price, t(-1000)).unwrap();
                for _ in 0..adds {
                    pos.add(qty, price, t(-1000)).unwrap();
                }
                pos
            });
            Subscription {
                user: UserId::new(Uuid::from_u128(n / 3)),
                bot: BotId::new(Uuid::from_u128(10_000 + n)),
                exchange: if s.other_exchange {
                    ExchangeId::Kraken
                } else {
                    ExchangeId::Binance
                },
                config: &configs[s.config % configs.len()],
                account: AccountSnapshot {
                    equity: Notional::new(Decimal::from(s.equity)).unwrap(),
                    free_quote: Quantity::new(Decimal::from(s.free_quote)).unwrap(),
                    free_base: Quantity::new(Decimal::new(s.free_base, 4)).unwrap(),
                },
                position,
                limits: PlanLimits {
                    active: s.active,
                    max_order_notional: s
                        .max_order
                        .map(|m| Notional::new(Decimal::from(m)).unwrap()),
                },
                paused: s.paused,
            }
        })
        .collect()
}

fn arb_signal() -> impl Strategy<Value = Signal> {
    let kind = proptest::sample::select(vec![GateAction::Entry, GateAction::Add, GateAction::Exit]);
    let regime = prop_oneof![
        4 => Just(Some(Regime::Bull)),
        1 => proptest::option::of(proptest::sample::select(Regime::ALL.to_vec())),
    ];
    (kind, regime, 0i64..120, 1i64..5_000).prop_map(|(kind, regime, at, atr)| Signal {
        id: SignalId::new(Uuid::from_u128(42)),
        exchange: ExchangeId::Binance,
        symbol: symbol(),
        kind,
        at: t(at),
        atr: Some(Price::new(Decimal::from(atr)).unwrap()),
        regime,
        advisor: AdvisorInput::NotAsked,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prop_fanout_invariants(
        configs in proptest::collection::vec(arb_config(), 1..4),
        specs in proptest::collection::vec(arb_sub(), 0..60),
        signal in arb_signal(),
        ask in 20_000i64..80_000, spread in 0i64..100,
    ) {
        let snap = snapshot(ExchangeId::Binance, &(ask - spread).to_string(), &ask.to_string());
        let subs = build(&configs, &specs);
        let out = plan(&signal, &snap, &subs);

        // Every subscription is planned or skipped, exactly once, in order.
        prop_assert_eq!(out.plans.len() + out.skips.len(), subs.len());
        // The same inputs give the same plans.
        prop_assert_eq!(&out, &plan(&signal, &snap, &subs));
        // Client order ids never repeat within a signal.
        let ids: HashSet<_> = out.plans.iter().map(|p| p.client_order_id).collect();
        prop_assert_eq!(ids.len(), out.plans.len());

        let instrument = snap.instrument(&symbol()).unwrap();
        for p in &out.plans {
            let sub = subs.iter().find(|s| s.bot == p.bot).unwrap();
            prop_assert!(instrument.validate(&p.intent, p.reference_price).is_ok(), "filters: {:?}", p);
            let notional = p.reference_price * p.intent.quantity();
            match p.intent.side() {
                Side::Buy => {
                    let fee = Decimal::ONE + sub.config.sizing.fee_reserve_pct.fraction();
                    prop_assert!(notional.value() * fee <= sub.account.free_quote.value(), "balance: {:?}", p);
                    let held = sub.position.map_or(Decimal::ZERO, |pos| pos.cost().value());
                    if let Some(cap) = sub.config.pyramid.max_exposure {
                        prop_assert!(held + notional.value() <= cap.limit(sub.account.equity).value(), "exposure: {:?}", p);
                    }
                    if let Some(limit) = sub.limits.max_order_notional {
                        prop_assert!(notional <= limit);
                    }
                    prop_assert!(p.level <= sub.config.pyramid.max_adds, "adds: {:?}", p);
                    if p.level > 0 {
                        prop_assert_eq!(p.level, sub.position.unwrap().adds() + 1);
                    }
                }
                Side::Sell => {
                    let pos = sub.position.unwrap();
                    prop_assert!(p.intent.quantity() <= pos.quantity());
                    prop_assert!(p.intent.quantity() <= sub.account.free_base);
                }
            }
        }
    }
}

mod extremes;
