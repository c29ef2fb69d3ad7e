//! The exchange parsers' fuzz checks, shared with the stable corpus test in
//! `nexus-exchanges/tests/fuzz_corpus.rs`. None may panic; whatever parses is consistent.

/// Binance `exchangeInfo` bodies.
pub fn binance_exchange_info(data: &[u8]) {
    if let Ok((listed, skipped)) = nexus_exchanges::binance::parse::instruments(data) {
        for instrument in &listed {
            let f = instrument.filters();
            assert!(!f.step_size.is_zero());
            assert!(f.max_qty.is_none_or(|max| f.min_qty <= max));
        }
        assert!(skipped.iter().all(|s| !s.reason.is_empty()));
    }
}
