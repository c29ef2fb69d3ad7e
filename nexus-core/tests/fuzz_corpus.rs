//! Replays every input in `fuzz/corpus/` through the fuzz targets' checks on stable Rust,
//! so inputs that once crashed a parser (and were added to the corpus) stay fixed.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
}

#[test]
fn symbol_corpus() {
    replay("symbol", checks::symbol);
}

#[test]
fn money_corpus() {
    replay("money", checks::money);
}

#[test]
fn vocabulary_json_corpus() {
    replay("vocabulary_json", checks::vocabulary_json);
}

#[test]
fn candle_csv_corpus() {
    replay("candle_csv", checks::candle_csv);
}
