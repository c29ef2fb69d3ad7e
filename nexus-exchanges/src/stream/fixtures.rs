//! The venues' documented stream messages (`test_data/stream/<venue>/`), for tests.

use nexus_core::{Symbol, Timestamp};

/// The text of `test_data/stream/<venue>/<name>`.
pub(crate) fn fixture(venue: &str, name: &str) -> String {
    let path = format!(
        "{}/test_data/stream/{venue}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `text` as JSON, to compare requests whatever their key order.
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A symbol from its `BASE/QUOTE` text.
pub(crate) fn sym(s: &str) -> Symbol {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The arrival time the tests stamp messages with.
pub(crate) fn now() -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}
