//! How long the web app's pages take to render on the server for a busy user: 25 bots and
//! 10,000 orders (with their fills) and 2,000 skips, on SQLite (PostgreSQL too when
//! `NEXUS_TEST_POSTGRES_URL` is set). Each page goes through the whole HTTP application
//! in the process (routing, session lookup, store reads, template) without a socket;
//! besides criterion's estimates, the p50/p95/p99 of 200 renders per page are printed
//! (the budget: 20 ms p95). Run: `cargo bench -p nexus-benches --bench pages`.

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use nexus_core::fanout::BotConfig;
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState, SkipRecord};
use nexus_core::ports::sessions::{NewSession, SessionId};
use nexus_core::{BotId, ClientOrderId, ExchangeId, Interval, OrderType, Side, SignalId, UserId};
use nexus_server::api::{ApiState, AuthSettings};
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};
use poem::{Endpoint, Request};

const BOTS: usize = 25;
const ORDERS: usize = 10_000;
const SKIPS: usize = 2_000;
const SAMPLES: usize = 200;

/// A user with 25 bots, 10,000 filled orders and 2,000 skips: the session token and a
/// bot's id.
async fn busy_user(store: &Arc<dyn Store>) -> (String, BotId) {
    let now = Utc::now();
    let user = UserId::new(uuid::Uuid::new_v4());
    store
        .create_user(user, "busy@example.com", None, Role::User, now)
        .await
        .expect("user");
    let (token, hash) = nexus_server::auth::tokens::generate();
    store
        .create_session(&NewSession {
            id: SessionId(uuid::Uuid::new_v4()),
            user,
            token: hash,
            created_at: now,
            started_at: now,
            expires_at: now + chrono::Duration::days(1),
            user_agent: None,
            ip: None,
        })
        .await
        .expect("session");
    let symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT", "XRP/USDT"];
    let mut bots = Vec::new();
    for n in 0..BOTS {
        let bot = BotRecord {
            id: BotId::new(uuid::Uuid::new_v4()),
            user,
            name: format!("Bot {n}"),
            exchange: ExchangeId::Paper,
            symbol: symbols[n % symbols.len()].parse().expect("symbol"),
            interval: Interval::H1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
            config: BotConfig::default(),
            credential: None,
            paused: n % 5 == 0,
            paused_reason: None,
        };
        store.create_bot(&bot, now).await.expect("bot");
        bots.push(bot);
    }
    let mut orders = Vec::with_capacity(ORDERS);
    for n in 0..ORDERS {
        let bot = &bots[n % BOTS];
        let at = now - chrono::Duration::minutes((ORDERS - n) as i64);
        orders.push(OrderRecord {
            id: uuid::Uuid::new_v4(),
            bot: bot.id,
            user,
            signal: SignalId::new(uuid::Uuid::new_v4()),
            client_order_id: ClientOrderId::new(&format!("busy-{n}")).expect("id"),
            exchange: ExchangeId::Paper,
            symbol: bot.symbol,
            side: if n % 2 == 0 { Side::Buy } else { Side::Sell },
            order_type: OrderType::Market,
            quantity: "0.01".parse().expect("qty"),
            limit_price: None,
            level: 0,
            state: OrderState::Filled,
            venue_order_id: Some(format!("P-{n}")),
            filled_quantity: "0.01".parse().expect("qty"),
            average_price: Some("60000".parse().expect("price")),
            error: None,
            created_at: at,
            updated_at: at,
        });
    }
    for chunk in orders.chunks(1_000) {
        store.record_orders(chunk).await.expect("orders");
    }
    for (n, order) in orders.iter().enumerate() {
        store
            .record_fill(&FillRecord {
                order: order.id,
                venue_trade_id: format!("T-{n}"),
                quantity: order.quantity,
                price: "60000".parse().expect("price"),
                fee: "0.00001".parse().expect("fee"),
                fee_asset: Some("BTC".parse().expect("asset")),
                filled_at: order.created_at,
            })
            .await
            .expect("fill");
    }
    let skips: Vec<SkipRecord> = (0..SKIPS)
        .map(|n| SkipRecord {
            bot: bots[n % BOTS].id,
            signal: SignalId::new(uuid::Uuid::new_v4()),
            reason: "insufficient_balance".into(),
            detail: "the free balance is below the order's value with fees".into(),
            at: now - chrono::Duration::minutes((SKIPS - n) as i64),
        })
        .collect();
    store.record_skips(&skips).await.expect("skips");
    (token, bots[1].id)
}

/// Renders `path` once: the status and the time it took.
async fn render<E: Endpoint>(app: &E, path: &str, token: &str) -> (u16, Duration) {
    let req = Request::builder()
        .uri(path.parse().expect("uri"))
        .header("accept", "text/html")
        .header("cookie", format!("nexus_session={token}"))
        .finish();
    let start = Instant::now();
    let resp = match app.call(req).await {
        Ok(r) => poem::IntoResponse::into_response(r),
        Err(e) => e.into_response(),
    };
    let status = resp.status().as_u16();
    let _ = resp.into_body().into_bytes().await.expect("body");
    (status, start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench_store(
    c: &mut Criterion,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn Store>,
) {
    let (token, bot) = runtime.block_on(busy_user(&store));
    let dir = tempfile::tempdir().expect("dir");
    let email = Arc::new(nexus_server::email::Outbox::new(dir.path()));
    let state = ApiState::new(store, email, AuthSettings::new("http://localhost"));
    let app = nexus_server::api::app(Arc::new(state));
    let pages = [
        ("dashboard", "/app".to_owned()),
        ("bots", "/app/bots".to_owned()),
        ("bot", format!("/app/bots/{}", bot.as_uuid())),
    ];
    let mut group = c.benchmark_group(format!("pages/{name}"));
    group.sample_size(20);
    for (page, path) in &pages {
        let (status, _) = runtime.block_on(render(&app, path, &token));
        assert_eq!(status, 200, "{path} answered {status}");
        let mut times: Vec<Duration> = runtime.block_on(async {
            let mut times = Vec::with_capacity(SAMPLES);
            for _ in 0..SAMPLES {
                times.push(render(&app, path, &token).await.1);
            }
            times
        });
        times.sort();
        println!(
            "pages/{name}/{page}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms over {SAMPLES} renders ({BOTS} bots, {ORDERS} orders)",
            percentile(&times, 0.50).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
        );
        group.bench_function(*page, |b| {
            b.to_async(runtime).iter(|| render(&app, path, &token));
        });
    }
    group.finish();
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keys = || Keyring::new(MasterKey::generate(), Vec::new());
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("pages.db").display());
    let sqlite: Arc<dyn Store> = Arc::new(
        runtime
            .block_on(SqliteStore::open(&url, keys()))
            .expect("sqlite"),
    );
    bench_store(c, "sqlite", &runtime, sqlite);
    if let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") {
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let store: Arc<dyn Store> = Arc::new(
            runtime
                .block_on(PostgresStore::open_in_schema(&url, &schema, keys()))
                .expect("postgres"),
        );
        bench_store(c, "postgres", &runtime, store);
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await;
        });
    }
}

criterion_group!(benches, pages);
criterion_main!(benches);
