//! Trade jobs: placed once, recorded once, whatever replays, crashes or lost answers
//! happen in between. SQLite file and (when `NEXUS_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::fanout::{BotConfig, ExecutionPlan};
use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::ports::activity::{OrderState, Page};
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::ports::jobs::JobKind;
use nexus_core::regime::gate::GateAction;
use nexus_core::{
    Asset, BotId, ClientOrderId, ExchangeId, Instrument, InstrumentFilters, Interval,
    KeyPermissions, OrderIntent, Price, Quantity, Secret, Side, SignalId, Symbol, Ticker, UserId,
};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::binance::BinanceMock;
use nexus_exchanges::{BinanceConfig, PaperConfig, PaperVenue, Venues, VenuesConfig};
use nexus_server::engine::alerts::TradeAlerts;
use nexus_server::engine::worker::{Attempt, Executed, TradeExecutor, TradeJob};
use nexus_store::Store;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::support::{BINANCE_KEY as KEY, BINANCE_SECRET as SECRET, Backend, TestDb, on_each};

/// How long a trade job is leased.
const LEASE: Duration = Duration::from_secs(30);

/// The first page of ten.
fn page<C>() -> Page<C> {
    Page {
        before: None,
        limit: 10,
    }
}

fn btc() -> Symbol {
    "BTC/USDT".parse().unwrap()
}

struct World {
    store: Arc<dyn Store>,
    paper: Arc<PaperVenue>,
    binance: Arc<BinanceMock>,
    executor: Arc<TradeExecutor>,
    user: UserId,
    _db: TestDb,
}

async fn world(backend: Backend) -> World {
    let db = TestDb::open(backend).await;
    let store = Arc::clone(&db.store);
    let paper = PaperVenue::with_ledger(
        PaperConfig::default(),
        Arc::clone(&store) as Arc<dyn nexus_core::ports::PaperLedger>,
    );
    paper.list(
        Instrument::new(
            ExchangeId::Paper,
            btc(),
            InstrumentFilters {
                tick_size: Price::from_str("0.01").unwrap(),
                step_size: Quantity::from_str("0.00001").unwrap(),
                min_qty: Quantity::from_str("0.00001").unwrap(),
                max_qty: None,
                min_notional: "5".parse().unwrap(),
            },
        )
        .unwrap(),
    );
    let p = |s: &str| Price::from_str(s).unwrap();
    paper.set_ticker(Ticker::new(btc(), p("59999"), p("60001"), p("60000"), Utc::now()).unwrap());
    let (binance, url) = BinanceMock::start(KEY, SECRET).await;
    let venues = Venues::new(
        VenuesConfig {
            binance: BinanceConfig {
                base_url: url,
                ..BinanceConfig::default()
            },
            ..VenuesConfig::default()
        },
        None,
        Arc::clone(&paper),
    )
    .unwrap();
    let user = UserId::new(Uuid::new_v4());
    store
        .create_user(user, "trader@example.com", None, Role::User, Utc::now())
        .await
        .unwrap();
    World {
        executor: Arc::new(TradeExecutor::new(Arc::clone(&store), Arc::new(venues))),
        store,
        paper,
        binance,
        user,
        _db: db,
    }
}

impl World {
    async fn bot(&self, exchange: ExchangeId) -> BotId {
        let credential = if exchange == ExchangeId::Binance {
            let creds = ApiCredentials {
                api_key: KEY.into(),
                secret: Secret::new(SECRET),
                passphrase: None,
            };
            let trade = KeyPermissions {
                read: true,
                trade: true,
                withdraw: false,
            };
            let info = self
                .store
                .add_credentials(self.user, exchange, "main", &creds, trade, Utc::now())
                .await
                .unwrap();
            Some(info.id)
        } else {
            None
        };
        let id = BotId::new(Uuid::new_v4());
        let bot = BotRecord {
            id,
            user: self.user,
            name: "b".into(),
            exchange,
            symbol: btc(),
            interval: Interval::H1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
            config: BotConfig::default(),
            credential,
            paused: false,
            paused_reason: None,
        };
        self.store.create_bot(&bot, Utc::now()).await.unwrap();
        id
    }

    fn plan(&self, bot: BotId, exchange: ExchangeId) -> ExecutionPlan {
        let signal = SignalId::new(Uuid::new_v4());
        ExecutionPlan {
            signal,
            user: self.user,
            bot,
            exchange,
            action: GateAction::Entry,
            intent: OrderIntent::market(btc(), Side::Buy, Quantity::from_str("0.01").unwrap())
                .unwrap(),
            client_order_id: ClientOrderId::derive(signal, bot, 0),
            level: 0,
            reference_price: Price::from_str("60001").unwrap(),
            dust: Quantity::ZERO,
            shortfall: Quantity::ZERO,
        }
    }
}

async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(World) -> Fut,
    Fut: std::future::Future<Output = World>,
{
    on_each(name, world, test).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_job_records_the_order_once_and_places_nothing() {
    on_both(
        "a_replayed_job_records_the_order_once_and_places_nothing",
        |w| async move {
            let bot = w.bot(ExchangeId::Paper).await;
            w.paper
                .deposit(
                    &nexus_exchanges::paper::account_name(w.user),
                    Asset::new("USDT").unwrap(),
                    Quantity::from_str("10000").unwrap(),
                )
                .await
                .unwrap();
            let plan = w.plan(bot, ExchangeId::Paper);
            let first = w.executor.execute(&plan).await.unwrap();
            assert!(matches!(first, Executed::Placed(_)), "{first:?}");
            // Replayed as a new job's first attempt: the order on record is looked up.
            let again = w
                .executor
                .run_plans(vec![plan.clone()], Attempt::First)
                .await
                .pop()
                .unwrap()
                .1
                .unwrap();
            assert!(matches!(again, Executed::AlreadyPlaced(_)), "{again:?}");

            let orders = w
                .store
                .bot_orders(
                    bot,
                    Page {
                        before: None,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            assert_eq!(orders.len(), 1, "one row per client order id");
            assert_eq!(orders[0].state, OrderState::Filled);
            assert_eq!(orders[0].client_order_id, plan.client_order_id);
            let fills = w
                .store
                .bot_fills(
                    bot,
                    Page {
                        before: None,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            assert_eq!(fills.len(), 1, "the fill is recorded once");
            let position = w.store.open_position(bot).await.unwrap().unwrap();
            // The Paper venue takes its 0.1 % buy fee in BTC: the position holds the rest.
            assert_eq!(position.quantity(), Quantity::from_str("0.00999").unwrap());
            w
        },
    )
    .await;
}

/// A worker places the order, then dies before it can complete its job (here: the
/// venue's answer is lost and the worker never reports back). The lease lapses, another
/// worker claims the job, looks the order up first, and records it: one order at the venue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_mid_job_leaves_exactly_one_order() {
    on_both(
        "a_worker_that_dies_mid_job_leaves_exactly_one_order",
        |w| async move {
            let bot = w.bot(ExchangeId::Binance).await;
            w.binance.deposit("USDT", Decimal::from(10_000));
            let plan = w.plan(bot, ExchangeId::Binance);
            let t0 = Utc::now();
            w.store
                .enqueue(&TradeJob::new_job(vec![plan.clone()], t0).unwrap(), t0)
                .await
                .unwrap();
            // Enqueued twice (a replayed fan-out): still one job.
            w.store
                .enqueue(&TradeJob::new_job(vec![plan.clone()], t0).unwrap(), t0)
                .await
                .unwrap();

            let lease = Duration::from_secs(30);
            let claimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-a", lease, 10, t0)
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1);
            w.binance.script(Scripted {
                path: Some("/api/v3/order".into()),
                status: 503,
                body: "upstream reset".into(),
                retry_after: None,
                after_applying: true,
            });
            let lost = w.executor.run(&claimed[0]).await.unwrap();
            assert!(lost[0].1.is_err(), "the outcome is unknown");
            assert_eq!(w.binance.orders(), 1, "placed once");
            // worker-a dies here: no complete, no fail.

            let later = t0 + chrono::Duration::seconds(31);
            let reclaimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-b", lease, 10, later)
                .await
                .unwrap();
            assert_eq!(reclaimed.len(), 1, "the lapsed lease gives the job back");
            assert_eq!(reclaimed[0].attempts, 2);
            let outcome = w.executor.run(&reclaimed[0]).await.unwrap();
            assert!(
                matches!(outcome[0].1, Ok(Executed::AlreadyPlaced(_))),
                "{outcome:?}"
            );
            w.store
                .complete(&[reclaimed[0].id], "worker-b", later)
                .await
                .unwrap();

            assert_eq!(w.binance.orders(), 1, "still one order at the venue");
            let orders = w
                .store
                .bot_orders(
                    bot,
                    Page {
                        before: None,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            assert_eq!(orders.len(), 1);
            assert_eq!(orders[0].state, OrderState::Filled);
            assert!(w.store.open_position(bot).await.unwrap().is_some());
            w
        },
    )
    .await;
}

/// A worker runs a job of twelve orders as one batch and dies half way: every order has
/// reached the venue (one answer is still on its way) but none is recorded: orders are
/// written with the venue's answers. The lease lapses; another worker's run of the job (its
/// second attempt) looks each order up before placing anything: still twelve orders at
/// the venue, each recorded once with one fill and one position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_mid_batch_leaves_exactly_one_order_per_plan() {
    on_both(
        "a_worker_that_dies_mid_batch_leaves_exactly_one_order_per_plan",
        |w| async move {
            w.binance.deposit("USDT", Decimal::from(100_000));
            let mut plans = Vec::new();
            for _ in 0..12 {
                let bot = w.bot(ExchangeId::Binance).await;
                plans.push(w.plan(bot, ExchangeId::Binance));
            }
            let t0 = Utc::now();
            let job = TradeJob::new_job(plans.clone(), t0).unwrap();
            assert!(w.store.enqueue(&job, t0).await.unwrap().is_some());
            assert!(
                w.store.enqueue(&job, t0).await.unwrap().is_none(),
                "a replayed fan-out's batch is one job"
            );
            let lease = Duration::from_secs(30);
            let claimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-a", lease, 100, t0)
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1);

            let executor = Arc::clone(&w.executor);
            w.binance.stall_next(Duration::from_secs(30));
            let batch = tokio::spawn({
                let executor = Arc::clone(&executor);
                async move { executor.run(&claimed[0]).await }
            });
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while w.binance.orders() < 12 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "orders reach the venue"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            batch.abort(); // worker-a dies: nothing recorded after placing, nothing completed.
            let _ = batch.await;

            let later = t0 + chrono::Duration::seconds(31);
            let reclaimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-b", lease, 100, later)
                .await
                .unwrap();
            assert_eq!(reclaimed.len(), 1, "the lapsed lease gives the job back");
            assert_eq!(reclaimed[0].attempts, 2);
            let results = executor.run(&reclaimed[0]).await.unwrap();
            assert_eq!(results.len(), 12);
            for (_, outcome) in &results {
                assert!(
                    matches!(outcome, Ok(Executed::AlreadyPlaced(_))),
                    "looked up, not placed: {outcome:?}"
                );
            }
            assert_eq!(
                w.binance.orders(),
                12,
                "still one order per plan at the venue"
            );
            for plan in &plans {
                let orders = w.store.bot_orders(plan.bot, page()).await.unwrap();
                assert_eq!(orders.len(), 1);
                assert_eq!(orders[0].state, OrderState::Filled);
                assert_eq!(w.store.bot_fills(plan.bot, page()).await.unwrap().len(), 1);
                assert!(w.store.open_position(plan.bot).await.unwrap().is_some());
            }
            w
        },
    )
    .await;
}

/// One order of a batch of three meets a venue outage: the worker completes nothing, but
/// fails the job holding only that order, so the retry places it (after looking it up)
/// and the two that were placed never run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_failed_batch_is_retried_holding_only_what_failed() {
    on_both(
        "a_partly_failed_batch_is_retried_holding_only_what_failed",
        |w| async move {
            w.binance.deposit("USDT", Decimal::from(100_000));
            let mut plans = Vec::new();
            for _ in 0..3 {
                let bot = w.bot(ExchangeId::Binance).await;
                plans.push(w.plan(bot, ExchangeId::Binance));
            }
            let t0 = Utc::now();
            w.store
                .enqueue(&TradeJob::new_job(plans.clone(), t0).unwrap(), t0)
                .await
                .unwrap();
            // Refused before the venue acted on it: not placed, but the client cannot know.
            w.binance.script(Scripted {
                path: Some("/api/v3/order".into()),
                status: 503,
                body: "upstream reset".into(),
                retry_after: None,
                after_applying: false,
            });
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn(nexus_server::engine::worker::run_worker(
                Arc::clone(&w.store),
                Arc::clone(&w.executor),
                "worker-a".into(),
                stopped,
            ));
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let depth = w.store.depth().await.unwrap();
                let queued = depth.iter().any(|d| {
                    d.kind == JobKind::TradeExecution
                        && d.state == nexus_core::ports::jobs::JobState::Queued
                        && d.count == 1
                });
                if queued && w.binance.orders() == 2 {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "{depth:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stop.send(true).unwrap();
            worker.await.unwrap();

            // The retry, once its backoff is over: the same job, holding the one order left.
            let later = t0 + chrono::Duration::minutes(10);
            let retry = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-b", LEASE, 10, later)
                .await
                .unwrap();
            assert_eq!(retry.len(), 1);
            assert_eq!(retry[0].attempts, 2);
            assert!(
                retry[0]
                    .last_error
                    .as_deref()
                    .unwrap()
                    .starts_with("1 of 3 orders to retry"),
                "{:?}",
                retry[0].last_error
            );
            let left: TradeJob = serde_json::from_str(&retry[0].payload).unwrap();
            assert_eq!(left.plans.len(), 1);
            let failed = &left.plans[0];
            let orders = w.store.bot_orders(failed.bot, page()).await.unwrap();
            assert_eq!(orders[0].state, OrderState::Unknown, "recorded as unknown");

            let results = w.executor.run(&retry[0]).await.unwrap();
            assert!(
                matches!(results[0].1, Ok(Executed::Placed(_))),
                "looked up, not found, placed: {results:?}"
            );
            assert_eq!(w.binance.orders(), 3, "one order per plan at the venue");
            for plan in &plans {
                let orders = w.store.bot_orders(plan.bot, page()).await.unwrap();
                assert_eq!(orders.len(), 1);
                assert_eq!(orders[0].state, OrderState::Filled);
                assert_eq!(w.store.bot_fills(plan.bot, page()).await.unwrap().len(), 1);
            }
            w
        },
    )
    .await;
}

/// The venue asks for a later try (a 429 with `Retry-After`): nothing is placed, the order
/// is on record as pending (orders are otherwise written with the venue's answer), and the
/// retry looks it up, finds nothing and places it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_venue_asks_to_retry_is_recorded_pending_then_placed() {
    on_both(
        "an_order_the_venue_asks_to_retry_is_recorded_pending_then_placed",
        |w| async move {
            let bot = w.bot(ExchangeId::Binance).await;
            w.binance.deposit("USDT", Decimal::from(10_000));
            let plan = w.plan(bot, ExchangeId::Binance);
            // Binance Spot API, error codes: -1003 TOO_MANY_REQUESTS, sent with HTTP 429; the
            // client retries it itself, so every one of its attempts meets it.
            for _ in 0..nexus_exchanges::RetryPolicy::default().max_attempts {
                w.binance.script(Scripted {
                    path: Some("/api/v3/order".into()),
                    status: 429,
                    body: r#"{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}"#.into(),
                    retry_after: Some(1),
                    after_applying: false,
                });
            }
            let (_, first) = w
                .executor
                .run_plans(vec![plan.clone()], Attempt::First)
                .await
                .pop()
                .unwrap();
            let error = first.unwrap_err();
            assert_eq!(error.retry_after(), Some(Duration::from_secs(1)), "{error}");
            assert_eq!(w.binance.orders(), 0, "nothing placed");
            let orders = w.store.bot_orders(bot, page()).await.unwrap();
            assert_eq!(orders.len(), 1, "on record while it waits");
            assert_eq!(orders[0].state, OrderState::Pending);

            let (_, again) = w
                .executor
                .run_plans(vec![plan], Attempt::Again)
                .await
                .pop()
                .unwrap();
            assert!(matches!(again, Ok(Executed::Placed(_))), "{again:?}");
            assert_eq!(w.binance.orders(), 1);
            let orders = w.store.bot_orders(bot, page()).await.unwrap();
            assert_eq!(orders.len(), 1, "the same row, now filled");
            assert_eq!(orders[0].state, OrderState::Filled);
            w
        },
    )
    .await;
}

/// A fresh batch: bots read at once, orders recorded, placed and recorded once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_places_each_plan_once_and_records_it() {
    on_both(
        "a_batch_places_each_plan_once_and_records_it",
        |w| async move {
            w.paper
                .deposit(
                    &nexus_exchanges::paper::account_name(w.user),
                    Asset::new("USDT").unwrap(),
                    Quantity::from_str("100000").unwrap(),
                )
                .await
                .unwrap();
            let mut plans = Vec::new();
            for _ in 0..20 {
                let bot = w.bot(ExchangeId::Paper).await;
                plans.push(w.plan(bot, ExchangeId::Paper));
            }
            // One bot deleted before its order runs: refused, nothing recorded.
            let gone = plans[0].bot;
            assert!(w.store.delete_bot(w.user, gone).await.unwrap());
            let now = Utc::now();
            w.store
                .enqueue(&TradeJob::new_job(plans.clone(), now).unwrap(), now)
                .await
                .unwrap();
            let claimed = w
                .store
                .claim(
                    &[JobKind::TradeExecution],
                    "w",
                    Duration::from_secs(30),
                    100,
                    now,
                )
                .await
                .unwrap();
            let executor = Arc::clone(&w.executor);
            assert_eq!(claimed.len(), 1, "one job for the batch");
            let results = executor.run(&claimed[0]).await.unwrap();
            let placed = results
                .iter()
                .filter(|(_, r)| matches!(r, Ok(Executed::Placed(_))))
                .count();
            let refused = results
                .iter()
                .filter(|(_, r)| matches!(r, Ok(Executed::Refused(_))))
                .count();
            assert_eq!((placed, refused), (19, 1));
            for plan in &plans[1..] {
                let orders = w.store.bot_orders(plan.bot, page()).await.unwrap();
                assert_eq!(orders.len(), 1);
                assert_eq!(orders[0].state, OrderState::Filled);
                assert_eq!(w.store.bot_fills(plan.bot, page()).await.unwrap().len(), 1);
                let position = w.store.open_position(plan.bot).await.unwrap().unwrap();
                assert_eq!(position.quantity(), Quantity::from_str("0.00999").unwrap());
            }
            let alert_jobs = w
                .store
                .claim(
                    &[JobKind::TradeAlert],
                    "a",
                    Duration::from_secs(30),
                    100,
                    Utc::now(),
                )
                .await
                .unwrap();
            assert_eq!(alert_jobs.len(), 1, "one alert job for the batch");
            let alerts: TradeAlerts = serde_json::from_str(&alert_jobs[0].payload).unwrap();
            let mut alerted: Vec<_> = alerts.alerts.iter().map(|a| a.bot).collect();
            alerted.sort_unstable();
            let mut filled: Vec<_> = plans[1..].iter().map(|p| p.bot).collect();
            filled.sort_unstable();
            assert_eq!(alerted, filled, "one alert per fill");
            w
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_order_is_recorded_with_the_venues_reason_and_not_retried() {
    on_both("a_refused_order_is_recorded_with_the_venues_reason_and_not_retried", |w| async move {
        let bot = w.bot(ExchangeId::Binance).await;
        w.binance.deposit("USDT", Decimal::from(10));
        let plan = w.plan(bot, ExchangeId::Binance);
        let outcome = w.executor.execute(&plan).await.unwrap();
        assert!(matches!(&outcome, Executed::Refused(reason) if reason.contains("insufficient balance")), "{outcome:?}");
        let orders = w.store.bot_orders(bot, Page { before: None, limit: 10 }).await.unwrap();
        assert_eq!(orders[0].state, OrderState::Rejected);
        assert!(orders[0].error.as_deref().unwrap().contains("insufficient balance"));
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_drain_the_queue() {
    let w = world(Backend::Sqlite).await;
    w.paper
        .deposit(
            &nexus_exchanges::paper::account_name(w.user),
            Asset::new("USDT").unwrap(),
            Quantity::from_str("100000").unwrap(),
        )
        .await
        .unwrap();
    let mut bots = Vec::new();
    for _ in 0..5 {
        let bot = w.bot(ExchangeId::Paper).await;
        w.store
            .enqueue(
                &TradeJob::new_job(vec![w.plan(bot, ExchangeId::Paper)], Utc::now()).unwrap(),
                Utc::now(),
            )
            .await
            .unwrap();
        bots.push(bot);
    }
    let metrics = Arc::new(nexus_server::metrics::Metrics::default());
    let venues =
        Arc::new(Venues::new(VenuesConfig::default(), None, Arc::clone(&w.paper)).unwrap());
    let executor = Arc::new(
        TradeExecutor::new(Arc::clone(&w.store), venues).with_metrics(Arc::clone(&metrics)),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|n| {
            tokio::spawn(nexus_server::engine::worker::run_worker(
                Arc::clone(&w.store),
                Arc::clone(&executor),
                format!("worker-{n}"),
                stopped.clone(),
            ))
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut filled = 0;
        for bot in &bots {
            let orders = w
                .store
                .bot_orders(
                    *bot,
                    Page {
                        before: None,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            filled += orders
                .iter()
                .filter(|o| o.state == OrderState::Filled)
                .count();
        }
        if filled == bots.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{filled} of 5 filled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let depth = w.store.depth().await.unwrap();
    let waiting: u64 = depth
        .iter()
        .filter(|d| {
            d.kind == JobKind::TradeExecution && d.state != nexus_core::ports::jobs::JobState::Done
        })
        .map(|d| d.count)
        .sum();
    assert_eq!(waiting, 0, "every job completed: {depth:?}");
    let text = metrics.render(None).await;
    assert!(
        text.contains("nexus_orders_total{exchange=\"paper\",status=\"filled\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("nexus_job_duration_seconds_count 5"),
        "{text}"
    );
    assert!(
        text.contains("nexus_signal_to_order_seconds_count 5"),
        "each placed order's latency from its signal: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_bot_or_key_places_nothing() {
    on_both("a_deleted_bot_or_key_places_nothing", |w| async move {
        let bot = w.bot(ExchangeId::Binance).await;
        w.binance.deposit("USDT", Decimal::from(10_000));
        let plan = w.plan(bot, ExchangeId::Binance);
        let key = w.store.list_credentials(w.user).await.unwrap()[0].id;
        w.store.delete_credentials(w.user, key).await.unwrap();
        let outcome = w.executor.execute(&plan).await.unwrap();
        assert!(
            matches!(&outcome, Executed::Refused(r) if r.contains("key")),
            "{outcome:?}"
        );
        let orders = w
            .store
            .bot_orders(
                bot,
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            orders[0].state,
            OrderState::Failed,
            "shown to the user with the reason"
        );

        w.store.delete_bot(w.user, bot).await.unwrap();
        let outcome = w
            .executor
            .execute(&w.plan(bot, ExchangeId::Binance))
            .await
            .unwrap();
        assert!(
            matches!(&outcome, Executed::Refused(r) if r.contains("deleted")),
            "{outcome:?}"
        );
        assert_eq!(w.binance.orders(), 0, "nothing reached the venue");
        w
    })
    .await;
}

/// The venue answers the first attempt with a partial fill, which is recorded; the job is
/// then run again (its worker died before completing it) and the look-up finds the order
/// filled. The report is cumulative: only the rest is a new fill, and the position holds
/// what was bought once, not the first half twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_fill_then_the_rest_after_a_retry_is_counted_once() {
    on_both(
        "a_partial_fill_then_the_rest_after_a_retry_is_counted_once",
        |w| async move {
            let bot = w.bot(ExchangeId::Binance).await;
            w.binance.deposit("USDT", Decimal::from(10_000));
            let plan = w.plan(bot, ExchangeId::Binance);
            // Binance's documented FULL answer (the mock's own fixture), as a partial fill
            // of half the order; the mock fills the whole order behind it.
            let mut partial: serde_json::Value = serde_json::from_str(include_str!(
                "../../../nexus-exchanges/test_data/binance/order_full.json"
            ))
            .unwrap();
            let now = Utc::now().timestamp_millis();
            for (field, value) in [
                ("symbol", serde_json::json!("BTCUSDT")),
                ("orderId", serde_json::json!(1)),
                (
                    "clientOrderId",
                    serde_json::json!(plan.client_order_id.as_str()),
                ),
                ("transactTime", serde_json::json!(now)),
                ("workingTime", serde_json::json!(now)),
                ("price", serde_json::json!("0.00000000")),
                ("origQty", serde_json::json!("0.01")),
                ("executedQty", serde_json::json!("0.005")),
                ("cummulativeQuoteQty", serde_json::json!("300.005")),
                ("status", serde_json::json!("PARTIALLY_FILLED")),
                ("type", serde_json::json!("MARKET")),
                ("side", serde_json::json!("BUY")),
                (
                    "fills",
                    serde_json::json!([{"price": "60001", "qty": "0.005",
                        "commission": "0", "commissionAsset": "BNB", "tradeId": 1}]),
                ),
            ] {
                partial[field] = value;
            }
            w.binance.script(Scripted {
                path: Some("/api/v3/order".into()),
                status: 200,
                body: partial.to_string(),
                retry_after: None,
                after_applying: true,
            });
            let t0 = Utc::now();
            w.store
                .enqueue(&TradeJob::new_job(vec![plan.clone()], t0).unwrap(), t0)
                .await
                .unwrap();
            let claimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-a", LEASE, 10, t0)
                .await
                .unwrap();
            w.executor.run(&claimed[0]).await.unwrap();
            let held = |w: &World| {
                let store = Arc::clone(&w.store);
                async move { store.open_position(bot).await.unwrap().unwrap().quantity() }
            };
            assert_eq!(held(&w).await, Quantity::from_str("0.005").unwrap());
            // worker-a dies before completing the job.

            let later = t0 + chrono::Duration::seconds(31);
            let reclaimed = w
                .store
                .claim(&[JobKind::TradeExecution], "worker-b", LEASE, 10, later)
                .await
                .unwrap();
            assert_eq!(reclaimed.len(), 1);
            w.executor.run(&reclaimed[0]).await.unwrap();
            assert_eq!(w.binance.orders(), 1, "placed once");
            // The scripted half paid its fee in BNB, and a looked-up report carries no fee:
            // 0.005, then the other 0.005.
            let position = held(&w).await;
            assert_eq!(
                position,
                Quantity::from_str("0.01").unwrap(),
                "the first half is not counted twice"
            );
            let fills = w.store.bot_fills(bot, page()).await.unwrap();
            let total: Decimal = fills.iter().map(|(_, f)| f.quantity.value()).sum();
            assert_eq!(total, Decimal::from_str("0.01").unwrap(), "{fills:?}");
            w
        },
    )
    .await;
}
