//! Replays `fuzz/corpus/` for the API's request bodies on stable Rust, so bodies that once
//! crashed a check stay fixed (the exchange and vocabulary corpora replay in their crates).

#[path = "../../../fuzz/checks_server.rs"]
mod checks_server;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut count = 0;
    let mut panicked = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panicked.push(path.display().to_string());
        }
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
    assert!(panicked.is_empty(), "{target} panicked on {panicked:#?}");
}

#[test]
fn signal_body_corpus() {
    replay("signal_body", checks_server::signal_body);
}

#[test]
fn auth_bodies_corpus() {
    replay("auth_bodies", checks_server::auth_bodies);
}

#[test]
fn bot_bodies_corpus() {
    replay("bot_bodies", checks_server::bot_bodies);
}

#[test]
fn key_body_corpus() {
    replay("key_body", checks_server::key_body);
}

#[test]
fn role_body_corpus() {
    replay("role_body", checks_server::role_body);
}

#[test]
fn stripe_webhook_corpus() {
    replay("stripe_webhook", checks_server::stripe_webhook);
}

#[test]
fn resend_webhook_corpus() {
    replay("resend_webhook", checks_server::resend_webhook);
}
