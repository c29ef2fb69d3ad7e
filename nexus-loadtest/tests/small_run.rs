//! The load tool run as an operator runs it, small: a server in process over SQLite.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use nexus_loadtest::{Args, measure};

/// A short in-process run of `users` × `bots_per_user` bots.
fn args(users: usize, bots_per_user: usize, symbols: usize, direct: bool) -> Args {
    Args {
        users,
        bots_per_user,
        symbols,
        duration: std::time::Duration::from_secs(1),
        target: None,
        outbox: None,
        source: None,
        concurrency: 4,
        readers: 2,
        json: true,
        direct,
        series: None,
        out: ".".into(),
    }
}

/// `nexus-loadtest` in process, small: every bot gets one order per signal, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_tool_measures_a_small_run() {
    let args = args(3, 2, 2, false);
    let report = measure(&args).await.unwrap();
    assert_eq!((report.users, report.bots), (3, 6));
    assert!(report.signals >= 2, "one per symbol and round: {report:?}");
    // Each round's signals reach every bot once (three per symbol).
    assert_eq!(report.orders, report.signals * 3, "{report:?}");
    assert_eq!(
        (report.errors, report.duplicate_orders),
        (0, 0),
        "{report:?}"
    );
    assert!(
        report.signal_to_order_ms.p50 > 0.0 && report.api_requests > 0,
        "{report:?}"
    );
}

/// `--direct`: users and bots written straight into the in-process server's store trade
/// like signed-up ones, and their sessions read the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_written_into_the_store_trade_and_read_like_signed_up_ones() {
    let args = args(4, 3, 1, true);
    let report = measure(&args).await.unwrap();
    assert_eq!((report.users, report.bots), (4, 12));
    assert!(report.signals >= 1, "{report:?}");
    assert_eq!(report.orders, report.signals * 12, "{report:?}");
    assert_eq!(
        (report.errors, report.duplicate_orders),
        (0, 0),
        "{report:?}"
    );
    assert!(
        report.api_requests > 0,
        "the seeded sessions read: {report:?}"
    );
    assert!(
        report.signal_last_order_ms.p50 > 0.0
            && report.signal_last_order_ms.p50 <= report.slowest_signal_ms,
        "{report:?}"
    );
    assert!(report.server_memory_mb > 1.0, "{report:?}");
}
