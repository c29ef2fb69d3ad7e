//! Fan-out: plans per second at 1k, 100k and 1M subscriptions, on one core.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::fanout::{BotConfig, FanOut, PlanLimits, Signal, Subscription, plan, plan_into};
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction};
use nexus_core::sizing::{AccountSnapshot, SizingConfig, SizingMethod, StopDistance};
use nexus_core::{
    BotId, ExchangeId, Instrument, InstrumentFilters, MarketSnapshot, Quantity, SignalId, Ticker,
    UserId,
};
use uuid::Uuid;

fn snapshot() -> MarketSnapshot {
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
    let symbol = "BTC/USDT".parse().expect("symbol");
    let mut snap = MarketSnapshot::new(ExchangeId::Binance, at);
    let (bid, ask) = (
        "64999.99".parse().expect("bid"),
        "65000.01".parse().expect("ask"),
    );
    snap.insert_ticker(Ticker::new(symbol, bid, ask, bid, at).expect("ticker"));
    let filters = InstrumentFilters {
        tick_size: "0.01".parse().expect("tick"),
        step_size: "0.00001".parse().expect("step"),
        min_qty: "0.00001".parse().expect("min"),
        max_qty: Some("9000".parse().expect("max")),
        min_notional: "5".parse().expect("notional"),
    };
    snap.insert_instrument(Instrument::new(ExchangeId::Binance, symbol, filters).expect("i"));
    snap
}

/// Three bot configurations shared by every subscription, as in a real deployment.
fn configs() -> Vec<BotConfig> {
    let methods = [
        SizingMethod::FixedQuote {
            amount: "250".parse().expect("amount"),
        },
        SizingMethod::PercentOfEquity {
            percent: "5".parse().expect("pct"),
        },
        SizingMethod::Risk {
            risk_percent: "1".parse().expect("risk"),
            stop: StopDistance::AtrMultiple("2".parse().expect("k")),
        },
    ];
    methods
        .into_iter()
        .map(|method| BotConfig {
            sizing: SizingConfig {
                method,
                ..SizingConfig::default()
            },
            ..BotConfig::default()
        })
        .collect()
}

fn subscriptions(configs: &[BotConfig], n: usize) -> Vec<Subscription<'_>> {
    (0..n)
        .map(|i| {
            let equity = 1_000 + (i % 97) * 1_000;
            Subscription {
                user: UserId::new(Uuid::from_u128(i as u128 / 2)),
                bot: BotId::new(Uuid::from_u128(0x5EED_0000 + i as u128)),
                exchange: ExchangeId::Binance,
                config: &configs[i % configs.len()],
                account: AccountSnapshot {
                    equity: equity.to_string().parse().expect("equity"),
                    free_quote: equity.to_string().parse().expect("free"),
                    free_base: Quantity::ZERO,
                },
                position: None,
                limits: PlanLimits::default(),
                paused: i % 50 == 0,
            }
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let snap = snapshot();
    let configs = configs();
    let signal = Signal {
        id: SignalId::new(Uuid::from_u128(1)),
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().expect("symbol"),
        kind: GateAction::Entry,
        at: snap.taken_at(),
        atr: Some("1800".parse().expect("atr")),
        regime: Some(Regime::Bull),
        advisor: AdvisorInput::NotAsked,
    };
    let mut group = c.benchmark_group("fanout");
    group.sample_size(10);
    for n in [1_000usize, 100_000, 1_000_000] {
        let subs = subscriptions(&configs, n);
        group.throughput(Throughput::Elements(n as u64));
        // The engine's steady state: one output buffer reused signal after signal.
        let mut out = FanOut::default();
        group.bench_with_input(BenchmarkId::new("plan_into_reused", n), &subs, |b, subs| {
            b.iter(|| plan_into(black_box(&signal), &snap, subs, &mut out));
        });
        // A fresh output each time: includes allocating (and, past glibc's 32 MB mmap
        // threshold, page-faulting in) the output.
        group.bench_with_input(BenchmarkId::new("plan_fresh", n), &subs, |b, subs| {
            b.iter(|| plan(black_box(&signal), &snap, subs));
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
