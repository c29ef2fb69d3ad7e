//! The checks each fuzz target runs, shared with the stable corpus test in
//! `nexus-core/tests/fuzz_corpus.rs`. Each must never panic, and whatever parses must
//! print back to something that parses to the same value.

use nexus_core::market::csv::parse_candles;
use nexus_core::regime::indicators::Bar;
use nexus_core::regime::{RegimeConfig, classify};
use nexus_core::{
    Asset, Candle, ClientOrderId, ExchangeId, Instrument, Interval, Notional, OrderIntent, Percent,
    Price, Quantity, Symbol, Ticker,
};

/// Symbols, assets, venues, intervals and client order ids from text.
pub fn symbol(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(symbol) = text.parse::<Symbol>() {
        assert_eq!(symbol.to_string().parse::<Symbol>().ok(), Some(symbol));
    }
    if let Ok(asset) = text.parse::<Asset>() {
        assert_eq!(asset.as_str().parse::<Asset>().ok(), Some(asset));
    }
    if let Ok(id) = text.parse::<ExchangeId>() {
        assert_eq!(id.as_str().parse::<ExchangeId>().ok(), Some(id));
    }
    if let Ok(interval) = text.parse::<Interval>() {
        assert_eq!(interval.as_str(), text);
    }
    if let Ok(id) = ClientOrderId::new(text) {
        assert_eq!(id.as_str(), text);
    }
}

macro_rules! round_trip {
    ($ty:ty, $text:expr) => {
        if let Ok(value) = $text.parse::<$ty>() {
            let printed = value.to_string();
            assert_eq!(printed.parse::<$ty>().ok(), Some(value), "{printed}");
        }
    };
}

/// Money values from text.
pub fn money(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip!(Price, text);
    round_trip!(Quantity, text);
    round_trip!(Notional, text);
    round_trip!(Percent, text);
    if let (Ok(price), Ok(qty)) = (text.parse::<Price>(), text.parse::<Quantity>()) {
        let _ = price * qty;
    }
}

macro_rules! json_round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(value) = serde_json::from_slice::<$ty>($data) {
            let json = serde_json::to_vec(&value).expect("serialises");
            let back: $ty = serde_json::from_slice(&json).expect("reads its own output");
            assert_eq!(back, value);
        }
    };
}

/// The vocabulary's JSON forms, as they arrive from API clients and stores.
pub fn vocabulary_json(data: &[u8]) {
    json_round_trip!(OrderIntent, data);
    json_round_trip!(Instrument, data);
    json_round_trip!(Candle, data);
    json_round_trip!(Ticker, data);
}

/// Candle CSV files, then the regime classifier over whatever parsed.
pub fn candle_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_candles(text) {
        Ok(candles) => {
            assert!(!candles.is_empty());
            assert!(
                candles
                    .windows(2)
                    .all(|w| w[0].open_time() < w[1].open_time())
            );
            let bars: Vec<Bar> = candles.iter().map(Bar::from).collect();
            let classes = classify(&bars, RegimeConfig::default()).expect("defaults are valid");
            assert_eq!(classes.len(), bars.len());
        }
        Err(err) => assert!(
            err.to_string()
                .starts_with(&format!("line {}:", err.line()))
        ),
    }
}
