//! The classifier's defaults on real daily BTC/USDT candles (2017-08 .. 2021-06, see
//! `data/README.md`). The figures printed here are the ones quoted in `docs/regime.md`:
//! `cargo test -p nexus-core --test regime_real_data -- --nocapture`.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use nexus_core::market::csv::parse_candles;
use nexus_core::regime::indicators::Bar;
use nexus_core::regime::{Classification, Regime, RegimeConfig, classify};

const CANDLES: &str = include_str!("../../data/btc_usdt_1d_2017-08_2021-06.csv");

struct Day {
    date: NaiveDate,
    classification: Option<Classification>,
}

fn days() -> Vec<Day> {
    let candles = parse_candles(CANDLES).unwrap();
    let bars: Vec<Bar> = candles.iter().map(Bar::from).collect();
    let classes = classify(&bars, RegimeConfig::default()).unwrap();
    candles
        .iter()
        .zip(classes)
        .map(|(c, classification)| Day {
            date: c.open_time().date_naive(),
            classification,
        })
        .collect()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Share of the days in `[from, to]` whose regime is one of `regimes`.
fn share(days: &[Day], from: &str, to: &str, regimes: &[Regime]) -> f64 {
    let (from, to) = (date(from), date(to));
    let period: Vec<&Day> = days
        .iter()
        .filter(|d| d.date >= from && d.date <= to)
        .collect();
    let hits = period
        .iter()
        .filter(|d| {
            d.classification
                .is_some_and(|c| regimes.contains(&c.regime))
        })
        .count();
    hits as f64 / period.len() as f64
}

#[test]
fn regimes_match_what_happened() {
    use Regime::*;
    let days = days();
    let bear_2018 = share(&days, "2018-01-01", "2018-12-31", &[Bear, Volatile]);
    let bull_2020 = share(&days, "2020-10-01", "2021-04-30", &[Bull]);
    let crash = share(&days, "2020-03-12", "2020-03-31", &[Bear, Volatile]);
    println!("2018 bear or volatile: {:.1} %", bear_2018 * 100.0);
    println!("2020-10 .. 2021-04 bull: {:.1} %", bull_2020 * 100.0);
    println!(
        "2020-03-12 .. 2020-03-31 bear or volatile: {:.1} %",
        crash * 100.0
    );
    assert!(
        bear_2018 > 0.5,
        "most of 2018 is bear or volatile: {bear_2018}"
    );
    assert!(
        bull_2020 > 0.5,
        "most of 2020-10 .. 2021-04 is bull: {bull_2020}"
    );
    assert!(
        crash > 0.5,
        "the 2020-03 crash is bear or volatile: {crash}"
    );
    let crash_day = days.iter().find(|d| d.date == date("2020-03-13")).unwrap();
    let regime = crash_day.classification.unwrap().regime;
    assert!(
        matches!(regime, Bear | Volatile),
        "the day after the crash is {regime}"
    );
}

#[test]
fn regimes_change_rarely() {
    let days = days();
    let mut changes: BTreeMap<i32, usize> = BTreeMap::new();
    let mut previous = None;
    for day in &days {
        let regime = day.classification.map(|c| c.regime);
        if previous.is_some() && regime != previous {
            *changes.entry(day.date.year()).or_default() += 1;
        }
        previous = regime;
    }
    println!("regime changes per year: {changes:?}");
    let mut shares: BTreeMap<i32, BTreeMap<String, usize>> = BTreeMap::new();
    for day in &days {
        let name = day
            .classification
            .map_or("unknown".to_owned(), |c| c.regime.to_string());
        *shares
            .entry(day.date.year())
            .or_default()
            .entry(name)
            .or_default() += 1;
    }
    for (year, counts) in &shares {
        println!("days per regime in {year}: {counts:?}");
    }
    for (year, count) in changes {
        assert!(count <= 10, "{year} has {count} regime changes");
    }
}
