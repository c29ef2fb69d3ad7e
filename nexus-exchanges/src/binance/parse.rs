//! Binance's `GET /api/v3/exchangeInfo` into core [`Instrument`]s: `PRICE_FILTER`
//! (tick size), `LOT_SIZE` (step, min and max quantity) and `NOTIONAL` or the older
//! `MIN_NOTIONAL` (minimum order value). Prices and quantities are parsed from Binance's
//! strings straight into `Decimal`, never through `f64`.

use nexus_core::{
    Asset, ExchangeId, Instrument, InstrumentFilters, Notional, Price, Quantity, Symbol,
};
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeInfo {
    symbols: Vec<SymbolInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo {
    symbol: String,
    status: String,
    base_asset: String,
    quote_asset: String,
    filters: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(tag = "filterType", rename_all = "SCREAMING_SNAKE_CASE")]
enum VenueFilter {
    #[serde(rename = "PRICE_FILTER")]
    Price {
        #[serde(rename = "tickSize")]
        tick_size: Decimal,
    },
    LotSize {
        #[serde(rename = "minQty")]
        min_qty: Decimal,
        #[serde(rename = "maxQty")]
        max_qty: Decimal,
        #[serde(rename = "stepSize")]
        step_size: Decimal,
    },
    Notional {
        #[serde(rename = "minNotional")]
        min_notional: Decimal,
    },
    MinNotional {
        #[serde(rename = "minNotional")]
        min_notional: Decimal,
    },
}

/// A listed symbol that could not become an [`Instrument`], and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Binance's symbol (`BTCUSDT`).
    pub symbol: String,
    /// Why it was left out.
    pub reason: String,
}

/// The answer could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exchangeInfo: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Binance's spelling of a symbol: base and quote run together (`BTC/USDT` → `BTCUSDT`).
#[must_use]
pub fn venue_symbol(symbol: Symbol) -> String {
    format!("{}{}", symbol.base(), symbol.quote())
}

/// Parses `exchangeInfo`: the tradable symbols as instruments, and the others with the
/// reason they were left out (not trading, a filter missing or inconsistent).
///
/// # Errors
/// [`DecodeError`] when the body is not `exchangeInfo` JSON.
pub fn instruments(body: &[u8]) -> Result<(Vec<Instrument>, Vec<Skipped>), DecodeError> {
    let info: ExchangeInfo =
        serde_json::from_slice(body).map_err(|e| DecodeError(e.to_string()))?;
    let mut listed = Vec::new();
    let mut skipped = Vec::new();
    for s in info.symbols {
        match instrument(&s) {
            Ok(instrument) => listed.push(instrument),
            Err(reason) => skipped.push(Skipped {
                symbol: s.symbol,
                reason,
            }),
        }
    }
    Ok((listed, skipped))
}

fn instrument(s: &SymbolInfo) -> Result<Instrument, String> {
    if s.status != "TRADING" {
        return Err(format!("status is {}", s.status));
    }
    let base = Asset::new(&s.base_asset).map_err(|e| e.to_string())?;
    let quote = Asset::new(&s.quote_asset).map_err(|e| e.to_string())?;
    let symbol = Symbol::new(base, quote).map_err(|e| e.to_string())?;
    let (mut tick, mut lot, mut min_notional) = (None, None, Decimal::ZERO);
    for raw in &s.filters {
        // Filters this adapter does not use (MAX_NUM_ORDERS, …) are skipped, not errors.
        match serde_json::from_value::<VenueFilter>(raw.clone()) {
            Ok(VenueFilter::Price { tick_size }) => tick = Some(tick_size),
            Ok(VenueFilter::LotSize {
                min_qty,
                max_qty,
                step_size,
            }) => lot = Some((min_qty, max_qty, step_size)),
            Ok(
                VenueFilter::Notional { min_notional: n }
                | VenueFilter::MinNotional { min_notional: n },
            ) => {
                min_notional = min_notional.max(n);
            }
            Err(_) => {}
        }
    }
    let tick = tick.ok_or("no PRICE_FILTER")?;
    let (min_qty, max_qty, step) = lot.ok_or("no LOT_SIZE")?;
    let price = |v: Decimal| Price::new(v.normalize()).map_err(|e| format!("tickSize: {e}"));
    let qty =
        |name: &str, v: Decimal| Quantity::new(v.normalize()).map_err(|e| format!("{name}: {e}"));
    let filters = InstrumentFilters {
        tick_size: price(tick)?,
        step_size: qty("stepSize", step)?,
        min_qty: qty("minQty", min_qty)?,
        // Binance sends a huge maxQty rather than none.
        max_qty: Some(qty("maxQty", max_qty)?),
        min_notional: Notional::new(min_notional.normalize())
            .map_err(|e| format!("minNotional: {e}"))?,
    };
    Instrument::new(ExchangeId::Binance, symbol, filters).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE_INFO: &[u8] = include_bytes!("../../test_data/binance/exchange_info.json");

    #[test]
    fn the_documented_answer_becomes_instruments_with_their_filters() {
        let (listed, skipped) = instruments(EXCHANGE_INFO).unwrap();
        assert_eq!(listed.len(), 2);
        let btc = listed
            .iter()
            .find(|i| i.symbol().to_string() == "BTC/USDT")
            .unwrap();
        let f = btc.filters();
        assert_eq!(f.tick_size.to_string(), "0.01");
        assert_eq!(
            (f.step_size.to_string(), f.min_qty.to_string()),
            ("0.00001".into(), "0.00001".into())
        );
        assert_eq!(f.max_qty.map(|q| q.to_string()), Some("9000".into()));
        assert_eq!(
            f.min_notional.to_string(),
            "5",
            "MIN_NOTIONAL, the older filter"
        );
        let eth = listed
            .iter()
            .find(|i| i.symbol().to_string() == "ETH/BTC")
            .unwrap();
        assert_eq!(
            eth.filters().min_notional.to_string(),
            "0.0001",
            "NOTIONAL, the newer filter"
        );
        assert_eq!(
            skipped,
            [Skipped {
                symbol: "LUNAUSDT".into(),
                reason: "status is BREAK".into()
            }]
        );
    }

    #[test]
    fn symbols_map_to_binances_spelling_and_bad_bodies_are_decode_errors() {
        assert_eq!(venue_symbol("BTC/USDT".parse().unwrap()), "BTCUSDT");
        assert!(instruments(b"<html>502</html>").is_err());
        let missing = br#"{"symbols":[{"symbol":"XUSDT","status":"TRADING","baseAsset":"X","quoteAsset":"USDT","filters":[]}]}"#;
        let (listed, skipped) = instruments(missing).unwrap();
        assert!(listed.is_empty());
        assert_eq!(skipped[0].reason, "no PRICE_FILTER");
    }
}
