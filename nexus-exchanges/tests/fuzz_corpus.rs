//! Replays `fuzz/corpus/` for the exchange parsers on stable Rust, so inputs that once
//! crashed a parser stay fixed.

#[path = "../../fuzz/checks_exchanges.rs"]
mod checks_exchanges;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
}

#[test]
fn binance_exchange_info_corpus() {
    replay(
        "binance_exchange_info",
        checks_exchanges::binance_exchange_info,
    );
}

#[test]
fn binance_answers_corpus() {
    replay("binance_answers", checks_exchanges::binance_answers);
}

#[test]
fn kraken_answers_corpus() {
    replay("kraken_answers", checks_exchanges::kraken_answers);
}

#[test]
fn coinbase_answers_corpus() {
    replay("coinbase_answers", checks_exchanges::coinbase_answers);
}

#[test]
fn stream_messages_corpus() {
    replay("stream_messages", checks_exchanges::stream_messages);
}
