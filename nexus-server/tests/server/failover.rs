//! Failover across instances: two `nexus serve` processes of the real binary on one
//! PostgreSQL schema. The scheduler's leader is killed with SIGKILL in the middle of a
//! signal's fan-out, while its orders are being placed; the other instance takes the lead within a bounded time, the
//! jobs the dead instance held are claimed again when their leases end, and every bot ends
//! with exactly one order for the signal, placed once at the venue. Then the survivor
//! alone fans out a second signal. The measured times are printed (docs/operations.md
//! quotes them).
//!
//! PostgreSQL only (`NEXUS_TEST_POSTGRES_URL`): several instances need a shared database.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::{BotId, ExchangeId, Interval, UserId};
use nexus_server::engine::scheduler::SIGNAL_LEASE;
use nexus_server::engine::worker::LEASE as TRADE_LEASE;
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, Store};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Http, NEXUS, Schema};

/// Bots following the signal source, one per user (the free plan's limit is no concern).
/// Enough that one signal's orders take seconds to place on a debug build, so the kill
/// lands in the middle of them.
const BOTS: usize = 3_000;
const SOURCE: &str = "failover";
const SECRET: &str = "failover-test-secret-0123456789";

/// Writes a measurement straight to stderr, so it shows even when the harness captures
/// output.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "failover: {line}");
}

/// Polls `check` every `every` until it answers `Some`, for up to `within`, then fails
/// naming `what`.
async fn poll<T, F, Fut>(what: &str, within: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(every).await;
    }
}

/// One `nexus serve` process, killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
    http: Http,
    /// Its JSON log (stderr).
    log: PathBuf,
}

impl Server {
    /// Starts `nexus serve` on port 0 over the database `url`, and waits for it to listen.
    async fn start(name: &'static str, dir: &Path, url: &str, key: &str) -> Self {
        let (out, log) = (
            dir.join(format!("{name}.out")),
            dir.join(format!("{name}.log")),
        );
        let mut cmd = Command::new(NEXUS);
        cmd.arg("serve");
        // Only what this test sets: nothing inherited from the shell that runs it.
        for (var, _) in std::env::vars() {
            if var.starts_with("NEXUS_") {
                cmd.env_remove(var);
            }
        }
        cmd.env("NEXUS_BIND", "127.0.0.1:0")
            .env("NEXUS_DATABASE_URL", url)
            .env("NEXUS_MASTER_KEY", key)
            .env("NEXUS_DATA_DIR", dir.join(name))
            .env("NEXUS_EMAIL_OUTBOX", dir.join(format!("{name}-outbox")))
            .env("NEXUS_LOG", "info")
            .env("NEXUS_LOG_FORMAT", "json")
            .env("NEXUS_SIGNAL_SOURCES", format!("{SOURCE}={SECRET}"))
            .env("NEXUS_TRADE_ALERTS", "off")
            // Prices stay still: the signals come from the test.
            .env("NEXUS_PAPER_CANDLE_SECS", "3600")
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
        let mut child = cmd.spawn().unwrap();
        let base = poll(
            &format!("{name} to listen"),
            Duration::from_secs(30),
            Duration::from_millis(50),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("{name} exited ({status}) before listening: {log}");
                }
                let text = std::fs::read_to_string(&out).unwrap_or_default();
                let url = text.lines().find_map(|l| {
                    l.strip_prefix("nexus: listening on ")
                        .map(|u| u.trim().to_owned())
                });
                async move { url }
            },
        )
        .await;
        Self {
            name,
            child,
            http: Http::new(base),
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its `/metrics`, or `None` when it does not answer.
    async fn metrics(&self) -> Option<String> {
        let resp = self
            .http
            .client
            .get(self.http.url("/metrics"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        resp.text().await.ok()
    }

    /// Whether it runs the scheduler (`nexus_scheduler_leader`), or `None` when it does not
    /// answer.
    async fn leads(&self) -> Option<bool> {
        let text = self.metrics().await?;
        let value = text.lines().find_map(|l| {
            l.strip_prefix("nexus_scheduler_leader ")
                .map(|v| v.trim().to_owned())
        })?;
        Some(value == "1")
    }

    /// Pushes an entry or exit from the test's source: the signal's id.
    async fn push(&self, action: &str, key: &str) -> uuid::Uuid {
        let body = json!({
            "source": SOURCE, "token": SECRET, "action": action,
            "exchange": "paper", "symbol": "BTC/USDT", "idempotency_key": key,
        });
        let (status, accepted) = self.http.post("/api/v1/signals", &body, None).await;
        assert_eq!(status, 202, "{accepted}");
        assert_eq!(accepted["duplicate"], false, "{accepted}");
        accepted["signal_id"].as_str().unwrap().parse().unwrap()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `BOTS` users, each with one Paper bot following the test's source, entering in any
/// regime with 50 USDT: created straight in the store, 8 writers at a time.
async fn users_and_bots(store: &Arc<dyn Store>) {
    let config: BotConfig = serde_json::from_value(json!({
        "gate": {"entry_regimes": ["bull", "sideways", "bear", "volatile"]},
        "sizing": {"method": {"type": "fixed_quote", "amount": "50"}},
    }))
    .unwrap();
    let strategy_config = nexus_server::api::signals::WebhookConfig::canonical(SOURCE);
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (store, config, strategy_config) =
            (Arc::clone(store), config.clone(), strategy_config.clone());
        writers.spawn(async move {
            for n in (w..BOTS).step_by(8) {
                let now = Utc::now();
                let user = UserId::new(uuid::Uuid::new_v4());
                store
                    .create_user(user, &format!("f{n}@example.com"), None, Role::User, now)
                    .await
                    .unwrap();
                let bot = BotRecord {
                    id: BotId::new(uuid::Uuid::new_v4()),
                    user,
                    name: format!("bot {n}"),
                    exchange: ExchangeId::Paper,
                    symbol: "BTC/USDT".parse().unwrap(),
                    interval: Interval::D1,
                    strategy: "webhook".into(),
                    strategy_config: strategy_config.clone(),
                    config: config.clone(),
                    credential: None,
                    paused: false,
                    paused_reason: None,
                };
                store.create_bot(&bot, now).await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

/// Orders recorded for `signal`.
async fn orders_of(db: &PgPool, signal: uuid::Uuid) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE signal_id = $1")
        .bind(signal)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The jobs running under the instance of process `pid` (its scheduler is `{host}-{pid}`,
/// its workers `{host}-{pid}-…`): (id, kind).
async fn held_by(db: &PgPool, host: &str, pid: u32) -> Vec<(i64, String)> {
    let name = format!("{host}-{pid}");
    sqlx::query_as(
        "SELECT id, kind FROM jobs WHERE state = 'running'
             AND (locked_by = $1 OR left(locked_by, length($1) + 1) = $1 || '-')
         ORDER BY id",
    )
    .bind(name)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Waits until `signal` has its every order settled, then checks that each bot has
/// exactly one, filled, placed once at the venue, its fills adding up to it.
async fn every_bot_has_one_order(db: &PgPool, signal: uuid::Uuid, within: Duration) {
    poll(
        "every order of the signal to be settled",
        within,
        Duration::from_millis(100),
        || async {
            let (orders, busy): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM orders WHERE signal_id = $1),
                        (SELECT COUNT(*) FROM jobs WHERE kind IN ('signal', 'trade_execution')
                             AND state IN ('queued', 'running'))",
            )
            .bind(signal)
            .fetch_one(db)
            .await
            .unwrap();
            (orders == BOTS as i64 && busy == 0).then_some(())
        },
    )
    .await;
    let not_one: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT b.id, (SELECT COUNT(*) FROM orders o WHERE o.bot_id = b.id AND o.signal_id = $1)
         FROM bots b
         WHERE (SELECT COUNT(*) FROM orders o WHERE o.bot_id = b.id AND o.signal_id = $1) <> 1",
    )
    .bind(signal)
    .fetch_all(db)
    .await
    .unwrap();
    assert!(
        not_one.is_empty(),
        "{} bots without exactly one order for {signal}, e.g. {:?}",
        not_one.len(),
        &not_one[..not_one.len().min(5)]
    );
    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM orders WHERE signal_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(signal)
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(states, [("filled".to_owned(), BOTS as i64)], "{signal}");
    // At the venue: one Paper order per client order id (never placed twice) ...
    let placed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM paper_orders p
         JOIN orders o ON o.client_order_id = p.client_order_id
         WHERE o.signal_id = $1",
    )
    .bind(signal)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(placed, BOTS as i64, "Paper orders of {signal}");
    // ... and its fill recorded once.
    let miscounted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders o WHERE o.signal_id = $1 AND o.filled_quantity <>
             (SELECT COALESCE(SUM(f.quantity), 0) FROM fills f WHERE f.order_id = o.id)",
    )
    .bind(signal)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(
        miscounted, 0,
        "orders of {signal} whose fills do not add up"
    );
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'dead'")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(dead, 0, "dead-lettered jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_instance_takes_over_when_the_leader_is_killed_mid_fan_out() {
    let Some(server) = crate::support::postgres("failover") else {
        return;
    };
    let started = Instant::now();
    // Dropped last: after the servers are killed and the pool closed.
    let schema = Schema::empty(&server);
    // The lock's connection sets its own short keepalives (nexus-store's leader.rs): the
    // URL needs none.
    let url = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let key_text = key.to_base64().to_string();
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::open(&url, Keyring::new(key, Vec::new()))
            .await
            .unwrap(),
    );
    users_and_bots(&store).await;
    let db = PgPool::connect(&url).await.unwrap();

    report(&format!(
        "{BOTS} users and bots created in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    let servers = [
        Server::start("a", dir.path(), &url, &key_text).await,
        Server::start("b", dir.path(), &url, &key_text).await,
    ];
    let leader = poll(
        "one instance to lead",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            match (servers[0].leads().await, servers[1].leads().await) {
                (Some(true), Some(false)) => Some(0),
                (Some(false), Some(true)) => Some(1),
                (Some(true), Some(true)) => panic!("both instances lead"),
                _ => None,
            }
        },
    )
    .await;
    let [a, b] = servers;
    let (mut leader, survivor) = if leader == 0 { (a, b) } else { (b, a) };
    report(&format!(
        "{} leads, {} follows (both up {:.1} s into the test)",
        leader.name,
        survivor.name,
        started.elapsed().as_secs_f64()
    ));
    let host = nexus_server::instance::worker_name()
        .rsplit_once('-')
        .unwrap()
        .0
        .to_owned();

    // The first signal. Kill the leader once orders are being placed and it holds some of
    // the work (a batch in a worker's hands, or the fan-out itself).
    let pushed = Instant::now();
    let first = survivor.push("entry", "failover-1").await;
    let (placed_at_kill, held_at_kill) = poll(
        "the leader to be placing the signal's orders",
        Duration::from_secs(30),
        Duration::from_millis(10),
        || async {
            let placed = orders_of(&db, first).await;
            assert!(
                placed < BOTS as i64,
                "every order was placed before the kill: raise BOTS"
            );
            let held = held_by(&db, &host, leader.pid()).await;
            (placed > 0 && !held.is_empty()).then_some((placed, held))
        },
    )
    .await;
    leader.child.kill().unwrap();
    let killed = Instant::now();
    leader.child.wait().unwrap();
    // What the dead instance held when it died: its rows can no longer change.
    let interrupted = held_by(&db, &host, leader.pid()).await;
    report(&format!(
        "killed {} {:.0} ms after the signal, with {placed_at_kill} of {BOTS} orders recorded; \
         it held {held_at_kill:?} a moment before and {interrupted:?} at its death",
        leader.name,
        (killed - pushed).as_secs_f64() * 1000.0
    ));
    assert!(
        !interrupted.is_empty(),
        "the leader held no job when it died: nothing was interrupted"
    );

    // The survivor takes the lead: the lock went with the dead instance's connection.
    poll(
        "the survivor to lead",
        Duration::from_secs(15),
        Duration::from_millis(20),
        || async { survivor.leads().await.filter(|l| *l) },
    )
    .await;
    let takeover = killed.elapsed();
    report(&format!(
        "{} leads {} ms after the kill",
        survivor.name,
        takeover.as_millis()
    ));
    assert!(
        takeover < Duration::from_secs(10),
        "take-over took {takeover:?}"
    );

    // The interrupted jobs are claimed again once their leases end, and finish: the
    // fan-out (renewed while it runs, so its lease is short) by the new leader, the
    // batches by any instance's workers.
    let finished: std::sync::Mutex<HashMap<i64, Duration>> = std::sync::Mutex::default();
    poll(
        "the interrupted jobs to finish",
        TRADE_LEASE + Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let (db, ids, finished) = (&db, &interrupted, &finished);
            async move {
                let ids: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
                let done: Vec<i64> =
                    sqlx::query_scalar("SELECT id FROM jobs WHERE id = ANY($1) AND state = 'done'")
                        .bind(&ids)
                        .fetch_all(db)
                        .await
                        .unwrap();
                let mut finished = finished.lock().unwrap();
                for id in done {
                    finished.entry(id).or_insert_with(|| killed.elapsed());
                }
                (finished.len() == ids.len()).then_some(())
            }
        },
    )
    .await;
    let finished = finished.into_inner().unwrap();
    let last = |kind: &str| {
        interrupted
            .iter()
            .filter(|(_, k)| k == kind)
            .map(|(id, _)| finished[id])
            .max()
    };
    if let Some(fan_out) = last("signal") {
        let log = survivor.log_text();
        assert!(
            log.lines()
                .any(|l| l.contains("signal fanned out") && l.contains(&first.to_string())),
            "the survivor fanned the interrupted signal out again"
        );
        report(&format!(
            "the interrupted fan-out finished {} ms after the kill",
            fan_out.as_millis()
        ));
        assert!(
            fan_out < SIGNAL_LEASE + Duration::from_secs(15),
            "the interrupted fan-out took {fan_out:?} to finish"
        );
    }
    if let Some(batches) = last("trade_execution") {
        report(&format!(
            "the interrupted batches finished {} ms after the kill",
            batches.as_millis()
        ));
    }
    every_bot_has_one_order(&db, first, Duration::from_secs(30)).await;
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM positions WHERE closed_at IS NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(open, BOTS as i64, "one open position per bot");
    // A bot whose order went through before the death is skipped (already in position)
    // when the fan-out runs again: shown to its owner beside the order.
    let skips: Vec<(String, i64)> = sqlx::query_as(
        "SELECT reason, COUNT(*) FROM skips WHERE signal_id = $1 GROUP BY reason ORDER BY reason",
    )
    .bind(first)
    .fetch_all(&db)
    .await
    .unwrap();
    report(&format!(
        "every bot has one order for the first signal {:.1} s after it was pushed \
         (skips recorded: {skips:?})",
        pushed.elapsed().as_secs_f64()
    ));

    // The survivor alone: a second signal (the exit) is fanned out and placed by it.
    let exit_pushed = Instant::now();
    let second = survivor.push("exit", "failover-2").await;
    every_bot_has_one_order(&db, second, Duration::from_secs(30)).await;
    report(&format!(
        "the survivor placed every order of the second signal in {:.1} s",
        exit_pushed.elapsed().as_secs_f64()
    ));
    let (open, out_of_sync): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM positions WHERE closed_at IS NULL),
                (SELECT COUNT(*) FROM out_of_sync)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (open, out_of_sync),
        (0, 0),
        "every position sold as held, none out of sync with its account"
    );
    assert!(
        survivor
            .log_text()
            .contains("this instance runs the scheduler"),
        "the survivor says it took over"
    );
    report(&format!("done in {:.1} s", started.elapsed().as_secs_f64()));
    db.close().await;
    drop(survivor);
    drop(leader);
    drop(schema);
}
