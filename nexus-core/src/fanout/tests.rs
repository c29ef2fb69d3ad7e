use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::instrument::{Instrument, InstrumentFilters};
use crate::market::Ticker;
use crate::money::Percent;
use crate::pyramid::{ExposureCap, LevelConfig, Trigger, TriggerAnchor};
use crate::regime::advisor::{AdvisorOpinion, AdvisorVerdict};
use crate::sizing::SizingMethod;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn t(secs: i64) -> Timestamp {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn symbol() -> Symbol {
    "BTC/USDT".parse().unwrap()
}

fn snapshot(exchange: ExchangeId, bid: &str, ask: &str) -> MarketSnapshot {
    let mut snap = MarketSnapshot::new(exchange, t(0));
    let (bid, ask): (Price, Price) = (bid.parse().unwrap(), ask.parse().unwrap());
    snap.insert_ticker(Ticker::new(symbol(), bid, ask, bid, t(0)).unwrap());
    snap.insert_instrument(
        Instrument::new(
            exchange,
            symbol(),
            InstrumentFilters {
                tick_size: "0.01".parse().unwrap(),
                step_size: "0.0001".parse().unwrap(),
                min_qty: "0.0001".parse().unwrap(),
                max_qty: Some("100".parse().unwrap()),
                min_notional: "10".parse().unwrap(),
            },
        )
        .unwrap(),
    );
    snap
}

fn signal(kind: SignalKind, regime: Option<Regime>) -> Signal {
    Signal {
        id: SignalId::new(Uuid::from_u128(77)),
        exchange: ExchangeId::Binance,
        symbol: symbol(),
        kind,
        at: t(5),
        atr: Some("1500".parse().unwrap()),
        regime,
        advisor: AdvisorInput::NotAsked,
    }
}

fn config() -> BotConfig {
    BotConfig {
        sizing: SizingConfig {
            method: SizingMethod::FixedQuote {
                amount: "1000".parse().unwrap(),
            },
            ..SizingConfig::default()
        },
        pyramid: PyramidConfig {
            max_adds: 2,
            anchor: TriggerAnchor::LastFill,
            levels: vec![LevelConfig {
                trigger: Trigger::Percent(d("5")),
                size_multiplier: d("0.5"),
            }],
            cooldown_secs: 0,
            max_exposure: Some(ExposureCap::PercentOfEquity(Percent::new(d("50")).unwrap())),
        },
        ..BotConfig::default()
    }
}

fn sub(config: &BotConfig, n: u128) -> Subscription<'_> {
    Subscription {
        user: UserId::new(Uuid::from_u128(n)),
        bot: BotId::new(Uuid::from_u128(1000 + n)),
        exchange: ExchangeId::Binance,
        config,
        account: AccountSnapshot {
            equity: "10000".parse().unwrap(),
            free_quote: "10000".parse().unwrap(),
            free_base: Quantity::ZERO,
        },
        position: None,
        limits: PlanLimits::default(),
        paused: false,
    }
}

fn position(qty: &str, price: &str) -> Position {
    Position::open(
        symbol(),
        qty.parse().unwrap(),
        price.parse().unwrap(),
        t(-100),
    )
    .unwrap()
}

fn reasons(out: &FanOut) -> Vec<&'static str> {
    out.skips
        .iter()
        .map(|s| match s.reason {
            SkipReason::Paused => "paused",
            SkipReason::PlanInactive => "plan_inactive",
            SkipReason::OtherExchange { .. } => "other_exchange",
            SkipReason::NoMarketData => "no_market_data",
            SkipReason::Gate { .. } => "gate",
            SkipReason::AlreadyInPosition => "already_in_position",
            SkipReason::NoPosition => "no_position",
            SkipReason::NoAdd { .. } => "no_add",
            SkipReason::Sizing { .. } => "sizing",
            SkipReason::Dust { .. } => "dust",
            SkipReason::OutOfSync { .. } => "out_of_sync",
        })
        .collect()
}

#[test]
fn one_entry_signal_many_bots() {
    let config = config();
    let snap = snapshot(ExchangeId::Binance, "49990", "50000");
    let mut subs: Vec<Subscription<'_>> = (0..6).map(|n| sub(&config, n)).collect();
    subs[1].paused = true;
    subs[2].limits.active = false;
    subs[3].exchange = ExchangeId::Kraken;
    subs[4].position = Some(position("0.01", "48000"));
    subs[5].account.free_quote = "5".parse().unwrap();
    let out = plan(&signal(GateAction::Entry, Some(Regime::Bull)), &snap, &subs);
    assert_eq!(out.plans.len(), 1);
    assert_eq!(
        reasons(&out),
        [
            "paused",
            "plan_inactive",
            "other_exchange",
            "already_in_position",
            "sizing"
        ]
    );
    let p = &out.plans[0];
    // 1 000 USDT at the ask 50 000 = 0.02 BTC.
    assert_eq!(p.intent.quantity().value(), d("0.02"));
    assert_eq!(
        (p.intent.side(), p.level, p.reference_price),
        (Side::Buy, 0, "50000".parse().unwrap())
    );
    assert_eq!(p.client_order_id, ClientOrderId::derive(p.signal, p.bot, 0));
}

#[test]
fn the_gate_applies_each_bots_policy_and_never_blocks_exits() {
    let cautious = config();
    let bold = BotConfig {
        gate: GatePolicy {
            entry_regimes: vec![Regime::Bear],
            ..GatePolicy::default()
        },
        ..config()
    };
    let snap = snapshot(ExchangeId::Binance, "49990", "50000");
    let subs = [sub(&cautious, 1), sub(&bold, 2)];
    let out = plan(&signal(GateAction::Entry, Some(Regime::Bear)), &snap, &subs);
    assert_eq!(out.plans.len(), 1);
    assert_eq!(out.plans[0].bot, subs[1].bot);
    assert_eq!(
        out.skips[0].reason,
        SkipReason::Gate {
            block: GateBlock::RegimeBlocks {
                regime: Regime::Bear
            }
        }
    );

    // Unknown regime, stale data and a blocking advisor: entries blocked, exits go ahead.
    let mut sig = signal(GateAction::Entry, None);
    sig.at = t(3600);
    sig.advisor = AdvisorInput::Opinion {
        opinion: AdvisorOpinion {
            verdict: AdvisorVerdict::Block,
            reason: "no".into(),
        },
    };
    assert!(plan(&sig, &snap, &subs).plans.is_empty());
    sig.kind = GateAction::Exit;
    let mut holder = sub(&cautious, 3);
    holder.position = Some(position("0.02", "40000"));
    holder.account.free_base = "0.02".parse().unwrap();
    let out = plan(&sig, &snap, &[holder]);
    assert_eq!(out.plans.len(), 1);
    assert_eq!(
        (out.plans[0].intent.side(), out.plans[0].reference_price),
        (Side::Sell, "49990".parse().unwrap())
    );
}

#[test]
fn adds_follow_the_pyramid_and_exits_leave_dust() {
    let config = config();
    let snap = snapshot(ExchangeId::Binance, "52490", "52500");
    let mut due = sub(&config, 1);
    due.position = Some(position("0.02", "50000")); // +5 % → due at 52 500
    let mut not_due = sub(&config, 2);
    not_due.position = Some(position("0.02", "50001"));
    let flat = sub(&config, 3);
    let out = plan(
        &signal(GateAction::Add, Some(Regime::Bull)),
        &snap,
        &[due, not_due, flat],
    );
    assert_eq!(out.plans.len(), 1);
    // 0.5 × the initial 0.02 BTC.
    assert_eq!(
        (out.plans[0].level, out.plans[0].intent.quantity().value()),
        (1, d("0.01"))
    );
    assert_eq!(reasons(&out), ["no_add", "no_position"]);

    let mut fee_eaten = sub(&config, 4);
    fee_eaten.position = Some(position("0.02", "50000"));
    fee_eaten.account.free_base = "0.01998".parse().unwrap();
    let mut crumbs = sub(&config, 5);
    crumbs.position = Some(position("0.0001", "50000"));
    crumbs.account.free_base = "0.0000999".parse().unwrap();
    let out = plan(
        &signal(GateAction::Exit, Some(Regime::Bear)),
        &snap,
        &[fee_eaten, crumbs],
    );
    assert_eq!(out.plans.len(), 1);
    assert_eq!(out.plans[0].intent.quantity().value(), d("0.0199"));
    assert_eq!(out.plans[0].dust.value(), d("0.0001"));
    assert_eq!(
        out.skips[0].reason,
        SkipReason::Dust {
            quantity: "0.0001".parse().unwrap()
        }
    );
    assert!(out.skips[0].reason.closes_position());
    assert_eq!(
        out.plans[0].shortfall,
        Quantity::ZERO,
        "a fee's worth is not a loss"
    );
}

#[test]
fn a_position_the_account_no_longer_holds_is_out_of_sync_not_dust() {
    let config = config();
    let snap = snapshot(ExchangeId::Binance, "49990", "50000");
    // The account was emptied elsewhere: nothing to sell, and far more than dust missing.
    let mut emptied = sub(&config, 1);
    emptied.position = Some(position("0.0115", "50000"));
    emptied.account.free_base = Quantity::ZERO;
    // Half of it was sold elsewhere: the half that is held is sold.
    let mut halved = sub(&config, 2);
    halved.position = Some(position("0.02", "50000"));
    halved.account.free_base = "0.01".parse().unwrap();
    let out = plan(
        &signal(GateAction::Exit, Some(Regime::Bear)),
        &snap,
        &[emptied, halved],
    );
    assert_eq!(reasons(&out), ["out_of_sync"]);
    assert_eq!(
        out.skips[0].reason,
        SkipReason::OutOfSync {
            expected: "0.0115".parse().unwrap(),
            available: Quantity::ZERO,
        }
    );
    assert!(out.skips[0].reason.closes_position());
    assert_eq!(out.plans.len(), 1);
    assert_eq!(out.plans[0].intent.quantity().value(), d("0.01"));
    assert_eq!(out.plans[0].shortfall.value(), d("0.01"));
    assert!(!SkipReason::NoPosition.closes_position());
    // Plans queued before the field existed still read, with no shortfall.
    let mut old = serde_json::to_value(&out.plans[0]).unwrap();
    old.as_object_mut().unwrap().remove("shortfall");
    let read: ExecutionPlan = serde_json::from_value(old).unwrap();
    assert_eq!(read.shortfall, Quantity::ZERO);
    // A shortfall is kept through the queue; none is not written at all, so plans in sync
    // stay readable by workers of the version before the field.
    let kept: ExecutionPlan =
        serde_json::from_str(&serde_json::to_string(&out.plans[0]).unwrap()).unwrap();
    assert_eq!(kept.shortfall.value(), d("0.01"));
    let in_sync = ExecutionPlan {
        shortfall: Quantity::ZERO,
        ..out.plans[0].clone()
    };
    let written = serde_json::to_value(&in_sync).unwrap();
    assert!(written.get("shortfall").is_none(), "{written}");
}

#[test]
fn missing_market_data_skips_everyone() {
    let config = config();
    let snap = snapshot(ExchangeId::Kraken, "1", "1");
    let out = plan(
        &signal(GateAction::Entry, Some(Regime::Bull)),
        &snap,
        &[sub(&config, 1)],
    );
    assert_eq!(reasons(&out), ["no_market_data"]);
    let empty = MarketSnapshot::new(ExchangeId::Binance, t(0));
    let out = plan(
        &signal(GateAction::Exit, Some(Regime::Bull)),
        &empty,
        &[sub(&config, 1)],
    );
    assert_eq!(reasons(&out), ["no_market_data"]);
}

#[test]
fn batches_are_bounded() {
    assert_eq!(BatchSize::default().get(), 250);
    assert!(BatchSize::new(99).is_err() && BatchSize::new(501).is_err());
    assert_eq!(BatchSize::new(500).unwrap().get(), 500);
    assert_eq!(usize::from(BatchSize::new(321).unwrap()), 321);
    assert_eq!(
        BatchSize::new(7).unwrap_err().to_string(),
        "batch size 7 must be between 100 and 500"
    );
    let config = config();
    let snap = snapshot(ExchangeId::Binance, "49990", "50000");
    let subs: Vec<_> = (0..620).map(|n| sub(&config, n)).collect();
    let out = plan(&signal(GateAction::Entry, Some(Regime::Bull)), &snap, &subs);
    let sizes: Vec<usize> = out.batches(BatchSize::default()).map(<[_]>::len).collect();
    assert_eq!(sizes, [250, 250, 120]);
    assert!(serde_json::from_str::<BatchSize>("50").is_err());
}

mod property_tests;
