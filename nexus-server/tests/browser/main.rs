//! The web app in a real Chromium: headless Chromium driven by chromedriver over W3C
//! WebDriver ([`webdriver`]), against the whole server started in this process ([`app`]).
//! [`flows`] goes through the account pages as a person does; [`pages`] checks every page
//! at 375 px and 1280 px in both themes for horizontal overflow and with axe-core
//! ([`checks`]), and writes the screenshots in docs/screenshots/.
//!
//! Where Chromium or chromedriver is missing each test says it was skipped and passes,
//! unless `NEXUS_REQUIRE_BROWSER=1` (CI sets it). docs/web.md#browser-tests.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.
#![allow(missing_docs)] // A test harness, not an API.

// The server tests' harness (test databases, the outbox, users made in the store); this
// binary uses a part of it.
#[path = "../server/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

mod app;
mod checks;
mod flows;
mod pages;
mod webdriver;

use std::io::Write;
use std::sync::{Mutex, PoisonError};

/// Runs one browser test on a runtime of its own, one test at a time: each has its own
/// Chromium, and two at once only slow each other down on a small machine.
fn serially(test: impl Future<Output = ()>) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    // A test that failed leaves the lock poisoned; the next one runs all the same.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

/// A line on stderr that shows even when the test passes (the harness captures
/// `println!`).
fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "browser: {line}");
}
