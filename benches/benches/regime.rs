//! Streaming regime classification: candles classified per second on one core.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nexus_core::market::csv::parse_candles;
use nexus_core::regime::indicators::Bar;
use nexus_core::regime::{RegimeClassifier, RegimeConfig};

const CANDLES: &str = include_str!("../../data/btc_usdt_1d_2017-08_2021-06.csv");

fn classify_streaming(c: &mut Criterion) {
    let candles = parse_candles(CANDLES).expect("the shipped candles parse");
    let bars: Vec<Bar> = candles.iter().map(Bar::from).collect();
    let mut group = c.benchmark_group("regime");
    group.throughput(Throughput::Elements(bars.len() as u64));
    // The engine's steady state: one classifier per market, one update per new candle.
    group.bench_function("classify_streaming_real_btc_1414", |b| {
        b.iter(|| {
            let mut classifier =
                RegimeClassifier::new(RegimeConfig::default()).expect("defaults are valid");
            let mut last = None;
            for bar in &bars {
                last = classifier.update(black_box(bar));
            }
            last
        });
    });
    // Including the Decimal → f64 conversion of each candle.
    group.bench_function("classify_streaming_from_candles_1414", |b| {
        b.iter(|| {
            let mut classifier =
                RegimeClassifier::new(RegimeConfig::default()).expect("defaults are valid");
            let mut last = None;
            for candle in &candles {
                last = classifier.update(&Bar::from(black_box(candle)));
            }
            last
        });
    });
    group.finish();
}

criterion_group!(benches, classify_streaming);
criterion_main!(benches);
