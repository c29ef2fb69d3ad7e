//! `nexus-loadtest`: N users with B Paper bots each, created through the public API of a
//! server (`--target`, or one started in process), then signals pushed through
//! `POST /api/v1/signals` while readers load the API. Reports what the targets
//! are about: upstream market-data calls per minute, plans per second, signal-to-order
//! latency, API latency, errors and duplicate orders.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args as ClapArgs;
use nexus_client::types::OrderStateName;
use nexus_server::web::format::count;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

pub mod seed;
pub mod series;

/// Attempts of one request that the server answers 429 with `Retry-After`.
const MAX_ATTEMPTS: u32 = 5;

/// A duration with a unit (`30s`, `10m`, `2h`, `3d`), or a bare number of seconds.
///
/// # Errors
/// [`nexus_core::durations::DurationError`] naming the text.
pub fn parse_duration(text: &str) -> Result<Duration, nexus_core::durations::DurationError> {
    match text.trim().parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => nexus_core::durations::parse(text),
    }
}

/// `nexus-loadtest` options.
#[derive(Debug, Clone, ClapArgs)]
pub struct Args {
    /// Users to create.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Paper bots per user (the free plan allows 3).
    #[arg(long, default_value_t = 2)]
    pub bots_per_user: usize,
    /// Symbols the bots spread over (BTC/USDT, then simulated ones).
    #[arg(long, default_value_t = 1)]
    pub symbols: usize,
    /// How long to push signals: `90s`, `10m`, `2h` (units as everywhere in Nexus; a bare
    /// number is seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// A running server; without it one is started in process (SQLite in a temporary
    /// folder, or NEXUS_DATABASE_URL).
    #[arg(long)]
    pub target: Option<String>,
    /// With `--target`: the server's email outbox (NEXUS_EMAIL_OUTBOX), to verify the
    /// users it signs up.
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// With `--target`: a signal source configured on it, as `name=secret`.
    #[arg(long)]
    pub source: Option<String>,
    /// Requests in flight at once while setting up.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Clients reading the API while signals fan out (each: a request, then 20 ms).
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// **Load-test only**: write users (verified, with a session, no password) and their
    /// bots straight into the store instead of signing them up through the API, which
    /// hashes every password with argon2id and takes minutes per thousand users. The
    /// in-process server's store, or with `--target` the store this environment names
    /// (`NEXUS_DATABASE_URL`: the target's own).
    #[arg(long)]
    pub direct: bool,
    /// Run once per size, in bots (`1000,10000,100000`; users = bots ÷ `--bots-per-user`),
    /// each against a fresh in-process server, and write `loadtest-series.md` (a table)
    /// and `loadtest-series.svg` (signal-to-last-order time and API latency against bots)
    /// into `--out`. `--users` is ignored.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub series: Option<Vec<usize>>,
    /// Where `--series` writes its table and plot.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<f64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = (q * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        let round = |v: f64| (v * 10.0).round() / 10.0;
        Self {
            p50: round(at(0.50)),
            p95: round(at(0.95)),
            p99: round(at(0.99)),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Users created.
    pub users: usize,
    /// Bots created.
    pub bots: usize,
    /// Signals pushed (each to every bot of its symbol).
    pub signals: usize,
    /// Orders placed.
    pub orders: usize,
    /// Upstream market-data calls per minute during the run, all venues.
    pub upstream_calls_per_min: f64,
    /// Orders planned and placed per second of fan-out (from each signal to its last
    /// order).
    pub plans_per_sec: f64,
    /// From pushing a signal to each of its orders being placed.
    pub signal_to_order_ms: Percentiles,
    /// The slowest signal: from pushing it to its last order.
    pub slowest_signal_ms: f64,
    /// From pushing each signal to its last order, over signals: "every order of a signal
    /// within N s" at p99 of signals.
    pub signal_last_order_ms: Percentiles,
    /// The server's highest resident memory seen while signals were fanned out, in MiB
    /// (`nexus_process_resident_memory_bytes`, scraped once a second; an in-process server
    /// shares its process with the load tool).
    pub server_memory_mb: f64,
    /// API requests made while signals were fanned out (bot and order reads by
    /// `--readers` clients).
    pub api_latency_ms: Percentiles,
    /// API requests answered.
    pub api_requests: u64,
    /// Failed requests, and orders that ended failed or rejected, or never came.
    pub errors: u64,
    /// Bots with more than one order for one signal.
    pub duplicate_orders: u64,
    /// Seconds spent creating users and bots.
    pub setup_secs: f64,
}

/// The load test could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadTestError {
    /// The options do not go together.
    #[error("{0}")]
    Usage(&'static str),
    /// The in-process server's configuration is invalid.
    #[error(transparent)]
    Config(#[from] nexus_server::config::ConfigError),
    /// The in-process server's temporary folder could not be made.
    #[error("cannot make a temporary folder: {0}")]
    TempDir(std::io::Error),
    /// The in-process server's store could not be opened.
    #[error(transparent)]
    Store(#[from] nexus_server::store::OpenStoreError),
    /// The in-process server did not start.
    #[error("the server did not start: {0}")]
    Start(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    /// A request got no answer.
    #[error("{path}: {source}")]
    Transport {
        /// The request's path.
        path: String,
        /// What went wrong.
        source: reqwest::Error,
    },
    /// A request was answered with an error.
    #[error("{path}: {status} {body}")]
    Refused {
        /// The request's path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The answer (`null` when it was not JSON).
        body: Value,
    },
    /// A sign-up's verification email never arrived.
    #[error("no verification email to {email}")]
    NoEmail {
        /// The address.
        email: String,
    },
    /// A user could not be written into the store (`--direct`).
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    /// A set-up task panicked or was cancelled.
    #[error("a set-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The set-up's concurrency gate closed.
    #[error("the set-up gate closed: {0}")]
    Gate(#[from] tokio::sync::AcquireError),
    /// Users could not be set up.
    #[error("{failed} users could not be set up; first: {first}")]
    Setup {
        /// How many.
        failed: usize,
        /// The first failure.
        first: Box<LoadTestError>,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    errors: AtomicU64,
}

impl Client {
    /// The generated API client (`nexus-client`) signed in as `token`, over this client's
    /// connection pool.
    fn sdk(&self, token: &str) -> nexus_client::Client {
        nexus_client::Client::new_with_client(
            &self.base,
            self.http.clone(),
            nexus_client::Credentials::token(token),
        )
    }

    /// Counts a failed read of the generated client.
    fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<(u16, Value), LoadTestError> {
        // A 429 says when to come back (the server caps concurrent password hashing, and
        // its sign-up limits may be on): a client that waits as told is not failing.
        let mut attempts = 0;
        let (status, value) = loop {
            attempts += 1;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(body) = body {
                req = req.json(body);
            }
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let resp = req.send().await.map_err(|source| {
                self.errors.fetch_add(1, Ordering::Relaxed);
                LoadTestError::Transport {
                    path: path.to_owned(),
                    source,
                }
            })?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let value = resp.json::<Value>().await.unwrap_or(Value::Null);
            match retry_after {
                Some(secs) if status == 429 && attempts < MAX_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_secs(secs.clamp(1, 60))).await;
                }
                _ => break (status, value),
            }
        };
        if status >= 400 {
            self.errors.fetch_add(1, Ordering::Relaxed);
            return Err(LoadTestError::Refused {
                path: path.to_owned(),
                status,
                body: value,
            });
        }
        Ok((status, value))
    }
}

/// The verification tokens in an outbox, read as emails arrive.
struct Outbox {
    dir: PathBuf,
    seen: Mutex<OutboxSeen>,
}

/// The mails read so far, their tokens, and when the folder was last listed.
#[derive(Default)]
struct OutboxSeen {
    files: HashSet<PathBuf>,
    tokens: HashMap<String, String>,
    listed: Option<Instant>,
}

impl Outbox {
    async fn token(&self, email: &str) -> Result<String, LoadTestError> {
        for _ in 0..600 {
            {
                let mut guard = self.seen.lock().await;
                let OutboxSeen {
                    files: seen,
                    tokens,
                    listed,
                } = &mut *guard;
                if let Some(token) = tokens.get(email) {
                    return Ok(token.clone());
                }
                // One listing serves every waiting sign-up: listing a folder of thousands
                // of mails once per sign-up made the set-up quadratic.
                let due = listed.is_none_or(|at| at.elapsed() >= Duration::from_millis(50));
                if due {
                    *listed = Some(Instant::now());
                }
                if let Some(dir) = due.then(|| std::fs::read_dir(&self.dir).ok()).flatten() {
                    for entry in dir.flatten() {
                        let path = entry.path();
                        if !seen.insert(path.clone()) {
                            continue;
                        }
                        let Ok(mail) =
                            std::fs::read(&path)
                                .map_err(|e| e.to_string())
                                .and_then(|b| {
                                    serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string())
                                })
                        else {
                            seen.remove(&path); // Still being written.
                            continue;
                        };
                        let text = mail["text"].as_str().unwrap_or_default();
                        if let (Some(to), Some(at)) = (mail["to"].as_str(), text.find("?token=")) {
                            let token = text[at + 7..].split_whitespace().next().unwrap_or("");
                            tokens.insert(to.to_owned(), token.to_owned());
                        }
                    }
                }
                if let Some(token) = tokens.get(email) {
                    return Ok(token.clone());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(LoadTestError::NoEmail {
            email: email.to_owned(),
        })
    }
}

/// What the report needs of one order read back through the API.
struct SeenOrder {
    signal: String,
    failed: bool,
    at: DateTime<Utc>,
}

struct Bot {
    uuid: uuid::Uuid,
    token: Arc<String>,
    symbol: usize,
}

/// The symbols bots spread over: the replayed BTC/USDT first, then simulated pairs.
fn symbols(count: usize) -> Vec<String> {
    (0..count.max(1))
        .map(|n| {
            if n == 0 {
                "BTC/USDT".to_owned()
            } else {
                format!("SIM{n}/USDT")
            }
        })
        .collect()
}

/// Runs the load test (or a `--series` of them) and prints its report.
pub async fn run(args: Args) -> ExitCode {
    if let Some(sizes) = args.series.clone() {
        return run_series(args, &sizes).await;
    }
    match measure(&args).await {
        Ok(report) => {
            print_report(&report, args.json);
            exit_code(&[report])
        }
        Err(e) => {
            eprintln!("nexus-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Failure when any run had errors or duplicate orders.
fn exit_code(reports: &[Report]) -> ExitCode {
    if reports
        .iter()
        .all(|r| r.errors == 0 && r.duplicate_orders == 0)
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One run per size, then the table and the plot.
async fn run_series(args: Args, sizes: &[usize]) -> ExitCode {
    if args.target.is_some() {
        eprintln!("nexus-loadtest: --series starts its own server for each size: drop --target");
        return ExitCode::FAILURE;
    }
    let mut reports = Vec::new();
    for (n, &bots) in sizes.iter().enumerate() {
        let run = Args {
            users: series::users_for(bots, args.bots_per_user),
            series: None,
            ..args.clone()
        };
        if !args.json {
            eprintln!(
                "series {} of {}: {} bots ({} users)",
                n + 1,
                sizes.len(),
                count(bots as u64),
                count(run.users as u64)
            );
        }
        match measure(&run).await {
            Ok(report) => {
                print_report(&report, args.json);
                reports.push(report);
            }
            Err(e) => {
                eprintln!("nexus-loadtest: {} bots: {e}", count(bots as u64));
                return ExitCode::FAILURE;
            }
        }
    }
    match series::write(&reports, &args.out) {
        Ok((table, plot)) => {
            eprintln!("wrote {} and {}", table.display(), plot.display());
            exit_code(&reports)
        }
        Err(e) => {
            eprintln!("nexus-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sign-ups done so far, for the progress line.
#[derive(Debug, Default)]
struct Progress {
    users: AtomicUsize,
    bots: AtomicUsize,
}

impl Progress {
    /// Rewrites the progress line on stderr.
    fn show(&self, users: usize, started: Instant) {
        let done = self.users.load(Ordering::Relaxed);
        eprint!(
            "\rsetting up: {} of {} users, {} bots, {:.1} s",
            count(done as u64),
            count(users as u64),
            count(self.bots.load(Ordering::Relaxed) as u64),
            started.elapsed().as_secs_f64()
        );
    }
}

/// What setting up users and bots needs, through the API or straight into the store.
struct Setup<'a> {
    args: &'a Args,
    run: &'a str,
    symbols: &'a [String],
    source: &'a str,
    gate: &'a Arc<Semaphore>,
    progress: &'a Arc<Progress>,
}

impl Setup<'_> {
    /// User `n`'s address.
    fn email(&self, n: usize) -> String {
        format!("lt-{}-{n}@example.com", self.run)
    }

    /// User `n`'s bots: (symbol index, `POST /api/v1/bots` body) for each.
    fn bots_of(&self, n: usize) -> Vec<(usize, Value)> {
        let per_user = self.args.bots_per_user;
        (0..per_user)
            .map(|b| {
                let symbol = (n * per_user + b) % self.symbols.len();
                let body = json!({
                    "exchange": "paper", "symbol": self.symbols[symbol], "interval": "1d",
                    "strategy": "webhook", "strategy_config": {"source": self.source},
                    "gate": {"entry_regimes": ["bull", "sideways", "bear", "volatile"]},
                    "sizing": {"method": {"type": "fixed_quote", "amount": "50"}},
                });
                (symbol, body)
            })
            .collect()
    }

    /// Every task's bots, or the first failure with how many failed.
    async fn gather(
        mut tasks: tokio::task::JoinSet<Result<Vec<Bot>, LoadTestError>>,
    ) -> Result<Vec<Bot>, LoadTestError> {
        let (mut bots, mut errors) = (Vec::new(), Vec::new());
        while let Some(done) = tasks.join_next().await {
            match done.map_err(LoadTestError::from).and_then(|r| r) {
                Ok(mut some) => bots.append(&mut some),
                Err(e) => errors.push(e),
            }
        }
        let failed = errors.len();
        match errors.into_iter().next() {
            Some(first) => Err(LoadTestError::Setup {
                failed,
                first: Box::new(first),
            }),
            None => Ok(bots),
        }
    }

    /// Signs every user up through the API (verified through the outbox), signs them in
    /// and creates their bots.
    async fn sign_up(
        &self,
        client: &Arc<Client>,
        outbox: &Arc<Outbox>,
    ) -> Result<Vec<Bot>, LoadTestError> {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..self.args.users {
            let (client, outbox, gate, progress) = (
                Arc::clone(client),
                Arc::clone(outbox),
                Arc::clone(self.gate),
                Arc::clone(self.progress),
            );
            let (email, bots) = (self.email(n), self.bots_of(n));
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let password = "load test password";
                let login = json!({"email": email, "password": password});
                let post = reqwest::Method::POST;
                client
                    .call(post.clone(), "/api/v1/auth/signup", Some(&login), None)
                    .await?;
                let token = outbox.token(&email).await?;
                let verify = json!({"token": token, "password": password});
                client
                    .call(post.clone(), "/api/v1/auth/verify", Some(&verify), None)
                    .await?;
                let (_, session) = client
                    .call(post.clone(), "/api/v1/auth/login", Some(&login), None)
                    .await?;
                let token = Arc::new(session["token"].as_str().unwrap_or_default().to_owned());
                progress.users.fetch_add(1, Ordering::Relaxed);
                let mut made = Vec::with_capacity(bots.len());
                for (symbol, body) in bots {
                    let (_, bot) = client
                        .call(post.clone(), "/api/v1/bots", Some(&body), Some(&token))
                        .await?;
                    made.push(Bot {
                        uuid: bot["id"]
                            .as_str()
                            .and_then(|id| id.parse().ok())
                            .unwrap_or_default(),
                        token: Arc::clone(&token),
                        symbol,
                    });
                    progress.bots.fetch_add(1, Ordering::Relaxed);
                }
                Ok(made)
            });
        }
        Self::gather(tasks).await
    }

    /// **Load-test only**: writes every user, a session and its bots straight into
    /// `store` ([`seed`]), skipping argon2, email and plan checks.
    async fn seed(&self, store: Arc<dyn nexus_store::Store>) -> Result<Vec<Bot>, LoadTestError> {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..self.args.users {
            let (store, gate, progress) = (
                Arc::clone(&store),
                Arc::clone(self.gate),
                Arc::clone(self.progress),
            );
            let (email, bots) = (self.email(n), self.bots_of(n));
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let bodies: Vec<Value> = bots.iter().map(|(_, body)| body.clone()).collect();
                let seeded = seed::user(store.as_ref(), &email, &bodies, Utc::now()).await?;
                progress.users.fetch_add(1, Ordering::Relaxed);
                progress
                    .bots
                    .fetch_add(seeded.bots.len(), Ordering::Relaxed);
                let token = Arc::new(seeded.token);
                Ok(seeded
                    .bots
                    .into_iter()
                    .zip(bots)
                    .map(|(uuid, (symbol, _))| Bot {
                        uuid,
                        token: Arc::clone(&token),
                        symbol,
                    })
                    .collect())
            });
        }
        Self::gather(tasks).await
    }
}

/// The report as a table for people.
#[must_use]
pub fn report_table(r: &Report) -> String {
    let ms = |x: f64| format!("{x:.0} ms");
    let p = |x: &Percentiles| format!("p50 {}  p95 {}  p99 {}", ms(x.p50), ms(x.p95), ms(x.p99));
    let rows = [
        ("users", count(r.users as u64)),
        ("bots", count(r.bots as u64)),
        ("signals", count(r.signals as u64)),
        ("orders", count(r.orders as u64)),
        ("signal to order", p(&r.signal_to_order_ms)),
        ("signal to its last order", p(&r.signal_last_order_ms)),
        ("slowest signal, last order", ms(r.slowest_signal_ms)),
        ("plans per second", count(r.plans_per_sec.round() as u64)),
        (
            "API latency",
            format!(
                "{}  ({} requests)",
                p(&r.api_latency_ms),
                count(r.api_requests)
            ),
        ),
        (
            "market-data calls per minute",
            format!("{:.1}", r.upstream_calls_per_min),
        ),
        ("errors", count(r.errors)),
        ("duplicate orders", count(r.duplicate_orders)),
        ("setup", format!("{:.1} s", r.setup_secs)),
        (
            "server memory",
            format!("{} MiB", count(r.server_memory_mb.round() as u64)),
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    out
}

/// Prints the report: a table for people, or one JSON object.
fn print_report(r: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(r).unwrap_or_else(|e| e.to_string())
        );
    } else {
        print!("{}", report_table(r));
    }
}

/// A server started in process for the run, and what the run needs from it.
struct Local {
    instance: nexus_server::instance::Instance,
    store: Arc<dyn nexus_store::Store>,
    _dir: tempfile::TempDir,
}

/// The in-process server's settings: `NEXUS_*` from the environment, with the load
/// test's own in place (a temporary folder, sign-in limits off, the run's signal source,
/// still Paper prices).
fn local_config(
    args: &Args,
    dir: &std::path::Path,
    source: &str,
    secret: &str,
) -> Result<nexus_server::config::Config, LoadTestError> {
    let outbox = dir.join("outbox");
    let data = dir.join("data");
    let symbols = symbols(args.symbols).join(",");
    let overrides: HashMap<&str, String> = HashMap::from([
        (nexus_server::config::BIND_VAR, "127.0.0.1:0".to_owned()),
        (
            nexus_server::config::DATA_DIR_VAR,
            data.display().to_string(),
        ),
        (
            nexus_server::config::EMAIL_OUTBOX_VAR,
            outbox.display().to_string(),
        ),
        (nexus_server::config::AUTH_RATE_LIMITS_VAR, "off".to_owned()),
        (
            nexus_server::config::SIGNAL_SOURCES_VAR,
            format!("{source}={secret}"),
        ),
        (nexus_server::config::PAPER_SYMBOLS_VAR, symbols),
        // Prices stay still: the signals come from the load tool.
        (
            nexus_server::config::PAPER_CANDLE_SECS_VAR,
            "3600".to_owned(),
        ),
        (nexus_server::config::TRADE_ALERTS_VAR, "off".to_owned()),
        // Quiet unless asked: the engine's info lines (each fan-out's timing) on request.
        (
            nexus_server::config::LOG_VAR,
            std::env::var(nexus_server::config::LOG_VAR).unwrap_or_else(|_| "warn".to_owned()),
        ),
    ]);
    Ok(nexus_server::config::Config::from_lookup(
        |var| match overrides.get(var) {
            Some(value) => Ok(Some(value.clone())),
            None => Ok(std::env::var(var).ok()),
        },
    )?)
}

async fn local(args: &Args, source: &str, secret: &str) -> Result<(Local, PathBuf), LoadTestError> {
    let dir = tempfile::tempdir().map_err(LoadTestError::TempDir)?;
    let config = local_config(args, dir.path(), source, secret)?;
    nexus_server::config::init_logging(&config);
    let store = nexus_server::store::open_store(&config).await?;
    let outbox = dir.path().join("outbox");
    let email = Arc::new(nexus_server::email::Outbox::new(&outbox));
    let instance = nexus_server::instance::launch(&config, Arc::clone(&store), email, None)
        .await
        .map_err(LoadTestError::Start)?;
    Ok((
        Local {
            instance,
            store,
            _dir: dir,
        },
        outbox,
    ))
}

/// The store of the server at `--target`, as `nexus serve` with this environment opens it.
async fn target_store() -> Result<Arc<dyn nexus_store::Store>, LoadTestError> {
    let config = nexus_server::config::Config::from_lookup(|var| Ok(std::env::var(var).ok()))?;
    Ok(nexus_server::store::open_store(&config).await?)
}

/// Runs the load test and returns its report (what `run` prints).
///
/// # Errors
/// [`LoadTestError`] when the server cannot start or users cannot be set up.
pub async fn measure(args: &Args) -> Result<Report, LoadTestError> {
    nexus_exchanges::http::install_tls_provider();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let secret = format!("lt-{run}");
    // A source of this run's own: the bots of an earlier run in the same database follow
    // another one, so this run's signals reach only its own bots.
    let own_source = format!("lt{}", &run[..12]);
    let (local, base, outbox, source, secret) = match &args.target {
        Some(target) => {
            let (name, secret) = args
                .source
                .as_deref()
                .and_then(|s| s.split_once('='))
                .ok_or(LoadTestError::Usage(
                    "--target needs --source name=secret (one of its NEXUS_SIGNAL_SOURCES)",
                ))?;
            if args.outbox.is_none() && !args.direct {
                return Err(LoadTestError::Usage(
                    "--target needs --outbox (the server's NEXUS_EMAIL_OUTBOX), or --direct",
                ));
            }
            (
                None,
                target.trim_end_matches('/').to_owned(),
                args.outbox.clone(),
                name.to_owned(),
                secret.to_owned(),
            )
        }
        None => {
            let (local, outbox) = local(args, &own_source, &secret).await?;
            let url = local.instance.url.clone();
            (Some(local), url, Some(outbox), own_source, secret)
        }
    };
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(LoadTestError::Client)?,
        base,
        errors: AtomicU64::new(0),
    });

    let started = Instant::now();
    let symbols = symbols(args.symbols);
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let progress = Arc::new(Progress::default());
    // On a terminal, the set-up shows its progress (5,000 sign-ups take minutes).
    let ticker = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let progress = Arc::clone(&progress);
        let users = args.users;
        tokio::spawn(async move {
            loop {
                progress.show(users, started);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    });
    let setup = Setup {
        args,
        run: &run,
        symbols: &symbols,
        source: &source,
        gate: &gate,
        progress: &progress,
    };
    let set_up = if args.direct {
        let store = match &local {
            Some(local) => Arc::clone(&local.store),
            None => target_store().await?,
        };
        setup.seed(store).await
    } else {
        let dir = outbox.ok_or(LoadTestError::Usage("sign-ups need an outbox"))?;
        let outbox = Arc::new(Outbox {
            dir,
            seen: Mutex::default(),
        });
        setup.sign_up(&client, &outbox).await
    };
    if let Some(ticker) = ticker {
        ticker.abort();
        progress.show(args.users, started);
        eprintln!();
    }
    let bots = Arc::new(set_up?);
    let setup_secs = started.elapsed().as_secs_f64();
    if !args.json {
        eprintln!(
            "set up {} users and {} bots in {setup_secs:.1} s",
            count(args.users as u64),
            count(bots.len() as u64)
        );
    }

    // Let the scheduler see the markets and classify them before the first signal.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let calls_before = upstream_calls(&client).await?;
    let run_started = Instant::now();

    // Readers: load the API while signals fan out.
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut readers = tokio::task::JoinSet::new();
    let readers_count = args.readers.max(1);
    for r in 0..readers_count {
        let (client, bots, reading, latencies) = (
            Arc::clone(&client),
            Arc::clone(&bots),
            Arc::clone(&reading),
            Arc::clone(&latencies),
        );
        readers.spawn(async move {
            let mut n = r;
            while reading.load(Ordering::Relaxed) && !bots.is_empty() {
                let bot = &bots[(n * 7919) % bots.len()];
                let sdk = client.sdk(&bot.token);
                let t = Instant::now();
                let read = if n % 2 == 0 {
                    sdk.list_bots().send().await.map(|_| ())
                } else {
                    sdk.bot_orders().id(bot.uuid).send().await.map(|_| ())
                };
                match read {
                    Ok(()) => latencies
                        .lock()
                        .await
                        .push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(_) => client.failed(),
                }
                n += readers_count;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }

    // Signals: entry then exit on every symbol, each round waiting for its orders.
    let bots_per_symbol: Vec<usize> = (0..symbols.len())
        .map(|s| bots.iter().filter(|b| b.symbol == s).count())
        .collect();
    let expected_total: usize = bots.len();
    let mut sent: HashMap<String, DateTime<Utc>> = HashMap::new();
    let (mut placed, mut memory) = orders_placed(&client).await?;
    let mut round = 0u64;
    let mut fanout_secs = 0.0;
    let mut missing = 0u64;
    while run_started.elapsed() < args.duration || round == 0 {
        let action = if round.is_multiple_of(2) {
            "entry"
        } else {
            "exit"
        };
        let at = Utc::now();
        let t = Instant::now();
        for (s, symbol) in symbols.iter().enumerate() {
            if bots_per_symbol[s] == 0 {
                continue;
            }
            let body = json!({"source": source, "token": secret, "action": action,
                "exchange": "paper", "symbol": symbol,
                "idempotency_key": format!("{run}-{round}-{s}")});
            let (_, accepted) = client
                .call(reqwest::Method::POST, "/api/v1/signals", Some(&body), None)
                .await?;
            if let Some(id) = accepted["signal_id"].as_str() {
                sent.insert(id.to_owned(), at);
            }
        }
        // Every bot of every symbol gets one order per round.
        let target = placed + expected_total as f64;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut now_placed = placed;
        while now_placed < target && Instant::now() < deadline {
            // Not often: each scrape counts the queue, which loads the server (latencies
            // come from the orders' own timestamps, not from this poll).
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            let (orders, resident) = orders_placed(&client).await?;
            now_placed = orders;
            memory = memory.max(resident);
        }
        fanout_secs += t.elapsed().as_secs_f64();
        if now_placed < target {
            missing += (target - now_placed) as u64;
        }
        placed = now_placed;
        round += 1;
        if !args.json {
            eprintln!(
                "round {round}: {action} for {expected_total} bots in {:.0} ms",
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // An open position left by an entry round is fine: the report counts what happened.
    reading.store(false, Ordering::Relaxed);
    while readers.join_next().await.is_some() {}
    let minutes = run_started.elapsed().as_secs_f64() / 60.0;
    let calls = upstream_calls(&client).await? - calls_before;

    // Every bot's orders: latency from its signal, duplicates, failures.
    let mut to_order = Vec::new();
    let mut slowest: HashMap<String, f64> = HashMap::new();
    let (mut orders, mut duplicates, mut failed) = (0usize, 0u64, 0u64);
    let mut tasks = tokio::task::JoinSet::new();
    for bot in bots.iter() {
        let (client, gate) = (Arc::clone(&client), Arc::clone(&gate));
        let (id, token) = (bot.uuid, Arc::clone(&bot.token));
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let read = client
                .sdk(&token)
                .bot_orders()
                .id(id)
                .limit(200)
                .send()
                .await;
            // Only what the report needs is kept: 100,000 bots' orders as JSON would
            // weigh more than the server being measured.
            match read {
                Ok(list) => Some(
                    list.into_inner()
                        .into_iter()
                        .map(|order| SeenOrder {
                            signal: order.signal_id.to_string(),
                            failed: matches!(
                                order.state,
                                OrderStateName::Failed
                                    | OrderStateName::Rejected
                                    | OrderStateName::Unknown
                            ),
                            at: order.updated_at,
                        })
                        .collect::<Vec<_>>(),
                ),
                Err(_) => {
                    client.failed();
                    None
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        let Ok(Some(list)) = done else { continue };
        let mut per_signal: HashMap<&str, u32> = HashMap::new();
        for order in &list {
            orders += 1;
            *per_signal.entry(order.signal.as_str()).or_default() += 1;
            failed += u64::from(order.failed);
            let Some(sent_at) = sent.get(&order.signal) else {
                continue;
            };
            let ms = (order.at - *sent_at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            to_order.push(ms);
            let worst = slowest.entry(order.signal.clone()).or_default();
            *worst = worst.max(ms);
        }
        duplicates += per_signal
            .values()
            .filter(|&&n| n > 1)
            .map(|&n| u64::from(n - 1))
            .sum::<u64>();
    }
    let api = std::mem::take(&mut *latencies.lock().await);
    let report = Report {
        users: args.users,
        bots: bots.len(),
        signals: sent.len(),
        orders,
        upstream_calls_per_min: (calls / minutes.max(1e-9) * 10.0).round() / 10.0,
        plans_per_sec: (orders as f64 / fanout_secs.max(1e-9)).round(),
        signal_to_order_ms: Percentiles::of(to_order),
        slowest_signal_ms: (slowest.values().copied().fold(0.0, f64::max) * 10.0).round() / 10.0,
        signal_last_order_ms: Percentiles::of(slowest.values().copied().collect()),
        server_memory_mb: (memory / 1_048_576.0).round(),
        api_requests: api.len() as u64,
        api_latency_ms: Percentiles::of(api),
        errors: client.errors.load(Ordering::Relaxed) + failed + missing,
        duplicate_orders: duplicates,
        setup_secs: (setup_secs * 10.0).round() / 10.0,
    };
    if let Some(local) = local {
        let _ = local.instance.stop().await;
    }
    Ok(report)
}

/// The server's `/metrics` text.
async fn scrape(client: &Client) -> Result<String, LoadTestError> {
    let failed = |source| LoadTestError::Transport {
        path: "/metrics".to_owned(),
        source,
    };
    client
        .http
        .get(format!("{}/metrics", client.base))
        .send()
        .await
        .map_err(failed)?
        .text()
        .await
        .map_err(failed)
}

/// A metric's total over its labels in a `/metrics` text.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn upstream_calls(client: &Client) -> Result<f64, LoadTestError> {
    Ok(metric_sum(
        &scrape(client).await?,
        "nexus_market_data_upstream_calls_total",
    ))
}

/// Orders placed so far, and the server's resident memory now.
async fn orders_placed(client: &Client) -> Result<(f64, f64), LoadTestError> {
    let text = scrape(client).await?;
    Ok((
        metric_sum(&text, "nexus_orders_total"),
        metric_sum(&text, "nexus_process_resident_memory_bytes"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_is_summed_over_its_labels_and_only_its_own_name() {
        let text = "# HELP nexus_orders Orders\n\
            nexus_orders_total{exchange=\"paper\",status=\"filled\"} 7\n\
            nexus_orders_total{exchange=\"binance\",status=\"failed\"} 2\n\
            nexus_orders_total_other 100\n\
            nexus_process_resident_memory_bytes 1048576\n\
            nexus_process_resident_memory_peak_bytes 4194304\n";
        assert_eq!(metric_sum(text, "nexus_orders_total"), 9.0);
        // The peak gauge shares the name's beginning: it must not be added in.
        assert_eq!(
            metric_sum(text, "nexus_process_resident_memory_bytes"),
            1_048_576.0
        );
        assert_eq!(metric_sum(text, "nexus_missing"), 0.0);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99), (50.0, 95.0, 99.0));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
        assert_eq!(Percentiles::of(vec![7.0]).p99, 7.0);
    }
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_take_units_or_bare_seconds() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("ten minutes").is_err());
    }
}
