//! Filter rounding and validation: the per-user work of every fan-out.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nexus_core::{ExchangeId, Instrument, InstrumentFilters, OrderIntent, Price, Quantity, Side};

fn instrument() -> Instrument {
    let filters = InstrumentFilters {
        tick_size: "0.01".parse().expect("tick"),
        step_size: "0.00001".parse().expect("step"),
        min_qty: "0.00001".parse().expect("min"),
        max_qty: Some("9000".parse().expect("max")),
        min_notional: "5".parse().expect("notional"),
    };
    Instrument::new(
        ExchangeId::Binance,
        "BTC/USDT".parse().expect("symbol"),
        filters,
    )
    .expect("instrument")
}

fn round_and_validate(c: &mut Criterion) {
    let btc = instrument();
    let qty: Quantity = "0.0123456".parse().expect("qty");
    let price: Price = "64250.129".parse().expect("price");
    c.bench_function("instrument/round_and_validate", |b| {
        b.iter(|| {
            let qty = btc.floor_quantity(black_box(qty));
            let price = btc
                .round_limit_price(Side::Buy, black_box(price))
                .expect("price");
            let intent = OrderIntent::limit(btc.symbol(), Side::Buy, qty, price).expect("intent");
            btc.validate(&intent, price)
        });
    });
}

criterion_group!(benches, round_and_validate);
criterion_main!(benches);
