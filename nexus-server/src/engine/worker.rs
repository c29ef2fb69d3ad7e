//! Executes `trade_execution` jobs: each holds one batch of a fan-out's plans (the queue
//! handles one row per batch, not per order: it is the engine's busiest table). Every
//! order is placed with its deterministic client order id and recorded before it is
//! placed, so that a crash, a lost answer or a replayed job never doubles it: an order
//! already on record is looked up at its venue rather than placed again.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::fanout::ExecutionPlan;
use nexus_core::ports::accounts::BotRecord;
use nexus_core::ports::activity::{Execution, FillRecord, OrderRecord, OrderState, PositionChange};
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::ports::credentials::CredentialId;
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_core::regime::gate::GateAction;
use nexus_core::{
    BotId, ClientOrderId, Exchange, ExchangeError, ExchangeId, OrderReport, OrderStatus, Position,
    Quantity, Secret, Timestamp, UserId,
};
use nexus_exchanges::Venues;
use nexus_store::Store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alerts::{TradeAlert, TradeAlerts};

const BOT_DELETED: &str = "the bot was deleted";

/// The accounts of a batch, read once per (venue, user, key).
type Accounts = std::collections::HashMap<
    (ExchangeId, UserId, Option<CredentialId>),
    Result<Arc<dyn Exchange>, String>,
>;

/// A `trade_execution` job's payload: the orders of one batch of a fan-out, placed
/// together. (Jobs queued by earlier versions carry one plan as `plan`; they still run.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "TradeJobWire")]
pub struct TradeJob {
    /// The orders to place, in plan order.
    pub plans: Vec<ExecutionPlan>,
}

#[derive(Deserialize)]
struct TradeJobWire {
    #[serde(default)]
    plans: Vec<ExecutionPlan>,
    #[serde(default)]
    plan: Option<ExecutionPlan>,
}

impl From<TradeJobWire> for TradeJob {
    fn from(wire: TradeJobWire) -> Self {
        let mut plans = wire.plans;
        plans.extend(wire.plan);
        Self { plans }
    }
}

impl TradeJob {
    /// The job for a batch of plans, unique per its client order ids (in order), so a
    /// replayed fan-out that plans the same batch enqueues it once. A batch that differs
    /// but shares an order is safe too: the order's row is already recorded, so that
    /// order is looked up at its venue rather than placed again.
    ///
    /// # Errors
    /// The plans do not serialise (they always do).
    pub fn new_job(plans: Vec<ExecutionPlan>) -> Result<NewJob, serde_json::Error> {
        let unique_key = match plans.as_slice() {
            [one] => format!("trade:{}", one.client_order_id),
            _ => {
                let ids: Vec<&str> = plans.iter().map(|p| p.client_order_id.as_str()).collect();
                let digest = Uuid::new_v5(&Uuid::NAMESPACE_OID, ids.join(",").as_bytes());
                format!("trades:{digest}")
            }
        };
        Ok(NewJob {
            kind: JobKind::TradeExecution,
            payload: serde_json::to_string(&Self { plans })?,
            unique_key: Some(unique_key),
            priority: 10,
            run_at: None,
            max_attempts: 5,
        })
    }
}

/// What became of one plan of a job.
pub type Outcome = Result<Executed, ExecuteError>;

/// What became of a job.
#[derive(Debug)]
pub enum Executed {
    /// Placed now.
    Placed(OrderReport),
    /// The venue already had it (an earlier attempt placed it): recorded, not placed again.
    AlreadyPlaced(OrderReport),
    /// The venue refused it for good (or the bot or its key is gone): recorded as such.
    Refused(String),
}

/// Why an attempt must be tried again later.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The venue was unavailable, rate limited us, or its answer was lost.
    #[error("{0}")]
    Retry(String),
    /// The job's payload is not a trade.
    #[error("not a trade job: {0}")]
    Payload(String),
}

/// Places planned orders.
pub struct TradeExecutor {
    store: Arc<dyn Store>,
    venues: Arc<Venues>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    wake: Arc<tokio::sync::Notify>,
}

impl TradeExecutor {
    /// An executor over `store` and `venues`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, venues: Arc<Venues>) -> Self {
        Self {
            store,
            venues,
            metrics: None,
            wake: Arc::default(),
        }
    }

    /// The same executor, its idle workers woken by `wake` (the fan-out notifies it when
    /// it enqueues trades) rather than only by their next poll.
    #[must_use]
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// The same executor, counting orders and job durations in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The process's metrics, if counted.
    #[must_use]
    pub fn metrics(&self) -> Option<&Arc<crate::metrics::Metrics>> {
        self.metrics.as_ref()
    }

    fn count(&self, plan: &ExecutionPlan, state: OrderState) {
        if let Some(metrics) = &self.metrics {
            metrics.order(plan.exchange.as_str(), state.as_str());
        }
    }

    /// Runs one claimed job: each of its plans with its outcome, in plan order.
    ///
    /// # Errors
    /// [`ExecuteError::Payload`] when the job is not a trade job.
    pub async fn run(
        self: &Arc<Self>,
        job: &Job,
    ) -> Result<Vec<(ExecutionPlan, Outcome)>, ExecuteError> {
        let trade: TradeJob =
            serde_json::from_str(&job.payload).map_err(|e| ExecuteError::Payload(e.to_string()))?;
        Ok(self.run_plans(trade.plans).await)
    }

    /// Runs plans as one batch: their bots read in one query, their orders recorded in
    /// one statement, placed concurrently, the venues' reports, fills and positions
    /// recorded in one transaction, their alerts enqueued as one job. Any attempt may run
    /// this: an order already on record (an earlier attempt got that far, so it may have
    /// reached the venue) is looked up at its venue before it is placed.
    pub async fn run_plans(
        self: &Arc<Self>,
        plans: Vec<ExecutionPlan>,
    ) -> Vec<(ExecutionPlan, Outcome)> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::new();
        outcomes.resize_with(plans.len(), || None);
        match self.batch(&plans, Utc::now()).await {
            Ok(done) => {
                for (index, outcome) in done {
                    outcomes[index] = Some(outcome);
                }
            }
            Err(e) => {
                // None of the batch may have been placed yet, or some may: either way
                // every plan is retried, and its recorded order is looked up first.
                for outcome in &mut outcomes {
                    *outcome = Some(Err(ExecuteError::Retry(e.to_string())));
                }
            }
        }
        plans
            .into_iter()
            .zip(outcomes)
            .map(|(plan, outcome)| {
                // A placement task that ended early (the runtime stopping) is retried.
                let outcome =
                    outcome.unwrap_or_else(|| Err(ExecuteError::Retry("interrupted".into())));
                (plan, outcome)
            })
            .collect()
    }

    async fn batch(
        self: &Arc<Self>,
        plans: &[ExecutionPlan],
        now: Timestamp,
    ) -> Result<Vec<(usize, Outcome)>, ExecuteError> {
        let fail = |what: &'static str| {
            move |e: nexus_core::StoreError| ExecuteError::Retry(format!("{what}: {e}"))
        };
        let ids: Vec<BotId> = plans.iter().map(|p| p.bot).collect();
        let bots: std::collections::HashMap<BotId, BotRecord> = self
            .store
            .bots(&ids)
            .await
            .map_err(fail("loading the bots"))?
            .into_iter()
            .map(|b| (b.id, b))
            .collect();
        let mut results = Vec::new();
        let mut accounts = Accounts::new();
        let mut to_place = Vec::new();
        let mut orders = Vec::new();
        for (job, plan) in plans.iter().enumerate() {
            let Some(bot) = bots.get(&plan.bot) else {
                results.push((job, Ok(Executed::Refused(BOT_DELETED.into()))));
                continue;
            };
            let mut order = pending(plan, now);
            match self.account_of(plan, bot, &mut accounts).await? {
                Ok(exchange) => to_place.push((job, plan.clone(), exchange)),
                Err(reason) => {
                    order.state = OrderState::Failed;
                    order.error = Some(reason.clone());
                    self.count(plan, OrderState::Failed);
                    results.push((job, Ok(Executed::Refused(reason))));
                }
            }
            orders.push(order);
        }
        let new = self
            .store
            .record_orders(&orders)
            .await
            .map_err(fail("recording the orders"))?;
        let recorded: std::collections::HashSet<ClientOrderId> = orders
            .iter()
            .zip(new)
            .filter(|(_, new)| *new)
            .map(|(o, _)| o.client_order_id)
            .collect();

        // Orders already on record came from an earlier run of the same plan: look them
        // up instead of placing them (one by one, as retries).
        let mut placing = tokio::task::JoinSet::new();
        let mut replays = tokio::task::JoinSet::new();
        for (job, plan, exchange) in to_place {
            if !recorded.contains(&plan.client_order_id) {
                let this = Arc::clone(self);
                replays.spawn(async move { (job, this.execute(&plan, 2, Utc::now()).await) });
                continue;
            }
            placing.spawn(async move {
                let new = nexus_core::NewOrder {
                    client_order_id: plan.client_order_id,
                    intent: plan.intent,
                };
                let outcome = exchange.place_order(&new).await;
                // The order's time is when the venue answered, not when the batch began.
                (job, plan, outcome, Utc::now())
            });
        }
        let mut placed = Vec::new();
        while let Some(done) = placing.join_next().await {
            if let Ok(done) = done {
                placed.push(done);
            }
        }
        // In plan order, so two orders of one bot move its position in order.
        placed.sort_by_key(|(job, _, _, _)| *job);
        let held: Vec<BotId> = placed.iter().map(|(_, p, _, _)| p.bot).collect();
        let mut positions: std::collections::HashMap<BotId, Option<Position>> = self
            .store
            .open_positions(&held)
            .await
            .map_err(fail("loading positions"))?
            .into_iter()
            .map(|(bot, p)| (bot, Some(p)))
            .collect();
        let mut executions = Vec::new();
        let mut reported = Vec::new();
        for (job, plan, outcome, answered) in placed {
            let order = pending(&plan, now);
            match outcome {
                Ok(report) => {
                    let open = positions.get(&plan.bot).copied().flatten();
                    let (execution, after) = execution(&plan, &order, &report, open, answered);
                    positions.insert(plan.bot, after);
                    executions.push(execution);
                    reported.push((job, plan, report));
                }
                Err(e @ ExchangeError::OutcomeUnknown { .. }) => {
                    executions.push(refused(order, OrderState::Unknown, &e, answered));
                    self.count(&plan, OrderState::Unknown);
                    let retry =
                        ExecuteError::Retry(format!("outcome unknown, to be looked up: {e}"));
                    results.push((job, Err(retry)));
                }
                Err(e) if e.is_retryable() => {
                    results.push((job, Err(ExecuteError::Retry(format!("venue: {e}")))));
                }
                Err(e) => {
                    let state = refusal_state(&e);
                    executions.push(refused(order, state, &e, answered));
                    self.count(&plan, state);
                    results.push((job, Ok(Executed::Refused(e.to_string()))));
                }
            }
        }
        self.store
            .record_executions(&executions, now)
            .await
            .map_err(fail("recording the fills"))?;
        // One alert job for the batch, unique per its orders and states: a batch whose
        // reports are recorded twice alerts once.
        let mut alerts = Vec::new();
        for (job, plan, report) in reported {
            alerts.extend(trade_alert(&plan, &report));
            self.count(&plan, report.status.into());
            results.push((job, Ok(Executed::Placed(report))));
        }
        if !alerts.is_empty() {
            let job = TradeAlerts { alerts }
                .new_job()
                .map_err(|e| ExecuteError::Payload(e.to_string()))?;
            self.store
                .enqueue(&job, now)
                .await
                .map_err(fail("enqueuing the alerts"))?;
        }
        while let Some(done) = replays.join_next().await {
            if let Ok(done) = done {
                results.push(done);
            }
        }
        Ok(results)
    }

    /// The account a plan trades on, read once per (venue, user, key) in a batch.
    async fn account_of(
        &self,
        plan: &ExecutionPlan,
        bot: &BotRecord,
        cache: &mut Accounts,
    ) -> Result<Result<Arc<dyn Exchange>, String>, ExecuteError> {
        let key = (plan.exchange, plan.user, bot.credential);
        if let Some(known) = cache.get(&key) {
            return Ok(known.clone());
        }
        let account = self.account_for(plan, bot).await?;
        cache.insert(key, account.clone());
        Ok(account)
    }

    /// Places `plan` (attempt number `attempt`, counting from 1).
    ///
    /// # Errors
    /// [`ExecuteError::Retry`] when it should be retried.
    pub async fn execute(
        &self,
        plan: &ExecutionPlan,
        attempt: u32,
        now: Timestamp,
    ) -> Result<Executed, ExecuteError> {
        let retry =
            |what: &str, e: &dyn std::fmt::Display| ExecuteError::Retry(format!("{what}: {e}"));
        let account = self.account(plan).await?;
        let mut order = pending(plan, now);
        if let Err(reason) = &account
            && reason == BOT_DELETED
        {
            // Nothing to record against: the bot's rows went with it.
            return Ok(Executed::Refused(reason.clone()));
        }
        // Recorded once: a replayed job finds the row already there.
        self.store
            .record_order(&order)
            .await
            .map_err(|e| retry("recording the order", &e))?;
        let exchange = match account {
            Ok(exchange) => exchange,
            Err(reason) => {
                self.finish(&mut order, OrderState::Failed, Some(reason.clone()), now)
                    .await?;
                self.count(plan, OrderState::Failed);
                return Ok(Executed::Refused(reason));
            }
        };
        let symbol = plan.intent.symbol();
        if attempt > 1 {
            match exchange.query_order(symbol, &plan.client_order_id).await {
                Ok(Some(report)) => {
                    self.record(plan, &mut order, &report, now).await?;
                    self.alert(plan, &report, now).await?;
                    self.count(plan, report.status.into());
                    return Ok(Executed::AlreadyPlaced(report));
                }
                Ok(None) => {}
                Err(e) => return Err(retry("looking the order up", &e)),
            }
        }
        let new = nexus_core::NewOrder {
            client_order_id: plan.client_order_id,
            intent: plan.intent,
        };
        match exchange.place_order(&new).await {
            Ok(report) => {
                self.record(plan, &mut order, &report, now).await?;
                self.alert(plan, &report, now).await?;
                self.count(plan, report.status.into());
                Ok(Executed::Placed(report))
            }
            Err(e @ ExchangeError::OutcomeUnknown { .. }) => {
                self.finish(&mut order, OrderState::Unknown, Some(e.to_string()), now)
                    .await?;
                self.count(plan, OrderState::Unknown);
                Err(retry("outcome unknown, to be looked up", &e))
            }
            Err(e) if e.is_retryable() => Err(retry("venue", &e)),
            Err(e) => {
                let state = refusal_state(&e);
                self.finish(&mut order, state, Some(e.to_string()), now)
                    .await?;
                self.count(plan, state);
                Ok(Executed::Refused(e.to_string()))
            }
        }
    }

    /// Enqueues the owner's alert about a fill (once per order and state).
    async fn alert(
        &self,
        plan: &ExecutionPlan,
        report: &OrderReport,
        now: Timestamp,
    ) -> Result<(), ExecuteError> {
        let Some(alert) = trade_alert(plan, report) else {
            return Ok(());
        };
        let job = TradeAlerts {
            alerts: vec![alert],
        }
        .new_job()
        .map_err(|e| ExecuteError::Payload(e.to_string()))?;
        self.store
            .enqueue(&job, now)
            .await
            .map_err(|e| ExecuteError::Retry(format!("enqueuing the alert: {e}")))?;
        Ok(())
    }

    /// The bot's account on its venue: `Err(reason)` when it has none any more.
    async fn account(
        &self,
        plan: &ExecutionPlan,
    ) -> Result<Result<Arc<dyn Exchange>, String>, ExecuteError> {
        let fail = |e: nexus_core::StoreError| ExecuteError::Retry(format!("loading the bot: {e}"));
        let Some(bot) = self.store.bot(plan.bot).await.map_err(fail)? else {
            return Ok(Err(BOT_DELETED.into()));
        };
        self.account_for(plan, &bot).await
    }

    /// `bot`'s account on its venue: its key, decrypted (Paper needs none).
    async fn account_for(
        &self,
        plan: &ExecutionPlan,
        bot: &BotRecord,
    ) -> Result<Result<Arc<dyn Exchange>, String>, ExecuteError> {
        let fail = |e: nexus_core::StoreError| ExecuteError::Retry(format!("loading the key: {e}"));
        if plan.exchange == ExchangeId::Paper {
            let credentials = ApiCredentials {
                api_key: super::dispatch::paper_account(plan.user),
                secret: Secret::new(""),
                passphrase: None,
            };
            return Ok(Ok(self.venues.account(ExchangeId::Paper, credentials)));
        }
        let Some(key) = bot.credential else {
            return Ok(Err(format!("the bot has no {} key", plan.exchange)));
        };
        match self.store.credentials(plan.user, key).await.map_err(fail)? {
            Some(credentials) => Ok(Ok(self.venues.account(plan.exchange, credentials))),
            None => Ok(Err(format!("the bot's {} key was deleted", plan.exchange))),
        }
    }

    async fn finish(
        &self,
        order: &mut OrderRecord,
        state: OrderState,
        error: Option<String>,
        now: Timestamp,
    ) -> Result<(), ExecuteError> {
        order.state = state;
        order.error = error;
        order.updated_at = now;
        self.store
            .update_order(order)
            .await
            .map(|_| ())
            .map_err(|e| ExecuteError::Retry(format!("recording the order: {e}")))
    }

    /// Records the venue's report: the order, its fill, and the bot's position, in one
    /// transaction.
    async fn record(
        &self,
        plan: &ExecutionPlan,
        order: &mut OrderRecord,
        report: &OrderReport,
        now: Timestamp,
    ) -> Result<(), ExecuteError> {
        let fail =
            |e: nexus_core::StoreError| ExecuteError::Retry(format!("recording the fill: {e}"));
        let open = self.store.open_position(plan.bot).await.map_err(fail)?;
        let (execution, _) = execution(plan, order, report, open, now);
        *order = execution.order.clone();
        self.store
            .record_executions(std::slice::from_ref(&execution), now)
            .await
            .map_err(fail)?;
        Ok(())
    }
}

/// What recording `report` writes: the order's new state, its fill (one trade keyed by
/// the venue's order id and filled amount, so the same report twice is one fill), and the
/// position change; plus the position after it (for the next order of the same bot).
fn execution(
    plan: &ExecutionPlan,
    order: &OrderRecord,
    report: &OrderReport,
    open: Option<Position>,
    now: Timestamp,
) -> (Execution, Option<Position>) {
    let mut order = order.clone();
    order.state = report.status.into();
    order.venue_order_id = Some(report.venue_order_id.clone());
    order.filled_quantity = report.filled_quantity;
    order.average_price = report.average_price;
    order.updated_at = now;
    let (Some(price), false) = (report.average_price, report.filled_quantity.is_zero()) else {
        let unchanged = Execution {
            order,
            fill: None,
            position: None,
        };
        return (unchanged, open);
    };
    let fill = FillRecord {
        order: order.id,
        venue_trade_id: format!("{}:{}", report.venue_order_id, report.filled_quantity),
        quantity: report.filled_quantity,
        price,
        fee: report.fee,
        fee_asset: report.fee_asset,
        filled_at: report.updated_at,
    };
    // A fee taken in the base asset leaves less to hold.
    let held = if report.fee_asset == Some(plan.intent.symbol().base()) {
        report.filled_quantity.saturating_sub(report.fee)
    } else {
        report.filled_quantity
    };
    let (change, after) = match (plan.action, open) {
        (GateAction::Entry | GateAction::Add, None) => {
            match Position::open(plan.intent.symbol(), held, price, report.updated_at) {
                Ok(position) => (Some(PositionChange::Save(position)), Some(position)),
                Err(_) => (None, None),
            }
        }
        (GateAction::Entry | GateAction::Add, Some(mut position)) => {
            if position.add(held, price, report.updated_at).is_ok() {
                (Some(PositionChange::Save(position)), Some(position))
            } else {
                (None, Some(position))
            }
        }
        (GateAction::Exit, Some(mut position)) => {
            position.reduce(report.filled_quantity);
            if position.quantity().is_zero() || report.status == OrderStatus::Filled {
                (Some(PositionChange::Close { dust: plan.dust }), None)
            } else {
                (Some(PositionChange::Save(position)), Some(position))
            }
        }
        (GateAction::Exit, None) => (None, None),
    };
    let execution = Execution {
        order,
        fill: Some(fill),
        position: change,
    };
    (execution, after)
}

/// The owner's alert about a fill (none when nothing filled).
fn trade_alert(plan: &ExecutionPlan, report: &OrderReport) -> Option<TradeAlert> {
    if report.filled_quantity.is_zero() {
        return None;
    }
    let state: OrderState = report.status.into();
    Some(TradeAlert {
        user: plan.user,
        bot: plan.bot,
        exchange: plan.exchange,
        symbol: plan.intent.symbol(),
        side: plan.intent.side(),
        quantity: report.filled_quantity,
        price: report.average_price,
        client_order_id: plan.client_order_id,
        state: state.as_str().to_owned(),
    })
}

/// How a final refusal is recorded: `rejected` when the venue turned the order down,
/// `failed` when it could not take it.
fn refusal_state(e: &ExchangeError) -> OrderState {
    match e {
        ExchangeError::Rejected { .. } | ExchangeError::InsufficientBalance { .. } => {
            OrderState::Rejected
        }
        _ => OrderState::Failed,
    }
}

/// An order the venue refused, or whose outcome is unknown, as recorded.
fn refused(
    mut order: OrderRecord,
    state: OrderState,
    error: &ExchangeError,
    now: Timestamp,
) -> Execution {
    order.state = state;
    order.error = Some(error.to_string());
    order.updated_at = now;
    Execution {
        order,
        fill: None,
        position: None,
    }
}

fn pending(plan: &ExecutionPlan, now: Timestamp) -> OrderRecord {
    // The row's id follows from the client order id, so a replay writes the same row.
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        plan.client_order_id.as_str().as_bytes(),
    );
    OrderRecord {
        id,
        bot: plan.bot,
        user: plan.user,
        signal: plan.signal,
        client_order_id: plan.client_order_id,
        exchange: plan.exchange,
        symbol: plan.intent.symbol(),
        side: plan.intent.side(),
        order_type: plan.intent.order_type(),
        quantity: plan.intent.quantity(),
        limit_price: plan.intent.limit_price(),
        level: plan.level,
        state: OrderState::Pending,
        venue_order_id: None,
        filled_quantity: Quantity::ZERO,
        average_price: None,
        error: None,
        created_at: now,
        updated_at: now,
    }
}

/// How long a claimed trade job is ours before another worker may take it over.
pub const LEASE: Duration = Duration::from_secs(30);

/// How often an idle worker looks for jobs it was not woken for.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// Claims and runs trade jobs, one at a time (each holds a batch of plans), until `stop`
/// says so. A job is completed when every plan was placed, recorded or refused for good;
/// otherwise it is failed holding only the plans left to retry (retried with backoff,
/// dead-lettered after its last attempt), so the plans that are done never run again.
pub async fn run_worker(
    store: Arc<dyn Store>,
    executor: Arc<TradeExecutor>,
    worker: String,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        // Listening before claiming: a wake-up between an empty claim and the wait is
        // not lost.
        let woken = executor.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // One job at a time: a job is a batch, and the other workers take the next ones.
        let claimed = store
            .claim(&[JobKind::TradeExecution], &worker, LEASE, 1, Utc::now())
            .await;
        let job = match claimed {
            Ok(mut jobs) if !jobs.is_empty() => jobs.swap_remove(0),
            Ok(_) => {
                // Polling still finds what others enqueue (another instance, a retry come due).
                let _ = tokio::time::timeout(IDLE_POLL, woken).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming trade jobs failed");
                let _ = tokio::time::timeout(IDLE_POLL, woken).await;
                continue;
            }
        };
        let started = std::time::Instant::now();
        let outcome = executor.run(&job).await;
        if let Some(metrics) = executor.metrics() {
            metrics
                .job_duration
                .observe(started.elapsed().as_secs_f64());
        }
        settle(store.as_ref(), &job, &worker, outcome).await;
        tracing::debug!(
            job = job.id.0,
            elapsed_ms = started.elapsed().as_millis(),
            "trade job"
        );
    }
}

/// Completes `job`, or fails it holding only the plans that are left to retry.
async fn settle(
    store: &dyn Store,
    job: &Job,
    worker: &str,
    outcome: Result<Vec<(ExecutionPlan, Outcome)>, ExecuteError>,
) {
    let policy = RetryPolicy::default();
    let now = Utc::now();
    let results = match outcome {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(job = job.id.0, error = %e, "trade job failed");
            if let Err(e) = store
                .fail(job.id, worker, &e.to_string(), policy, now)
                .await
            {
                tracing::warn!(error = %e, "recording a trade job failure failed");
            }
            return;
        }
    };
    let total = results.len();
    let mut left = Vec::new();
    let mut first_error = None;
    for (plan, outcome) in results {
        match outcome {
            Ok(outcome) => {
                tracing::debug!(order = %plan.client_order_id, ?outcome, "trade done");
            }
            Err(e) => {
                tracing::warn!(order = %plan.client_order_id, error = %e, "trade to retry");
                first_error.get_or_insert_with(|| e.to_string());
                left.push(plan);
            }
        }
    }
    let Some(error) = first_error else {
        if let Err(e) = store.complete(&[job.id], worker, now).await {
            // Its orders are recorded: a retry looks them up and places nothing.
            tracing::warn!(error = %e, "completing a trade job failed");
        }
        return;
    };
    let error = format!("{} of {total} orders to retry; first: {error}", left.len());
    let failed = if left.len() == total {
        store.fail(job.id, worker, &error, policy, now).await
    } else {
        match serde_json::to_string(&TradeJob { plans: left }) {
            Ok(rest) => {
                store
                    .fail_with_rest(job.id, worker, &error, &rest, policy, now)
                    .await
            }
            // Cannot happen (plans serialise); retrying the whole job is still safe.
            Err(_) => store.fail(job.id, worker, &error, policy, now).await,
        }
    };
    if let Err(e) = failed {
        tracing::warn!(error = %e, "recording a trade job failure failed");
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::{OrderIntent, Price, Side, SignalId};

    use super::*;

    fn plan(n: u128) -> ExecutionPlan {
        let signal = SignalId::new(Uuid::from_u128(1));
        let bot = BotId::new(Uuid::from_u128(n));
        let symbol = "BTC/USDT".parse().expect("a symbol");
        let quantity = "0.01".parse().expect("a quantity");
        ExecutionPlan {
            signal,
            user: UserId::new(Uuid::from_u128(7)),
            bot,
            exchange: ExchangeId::Paper,
            action: GateAction::Entry,
            intent: OrderIntent::market(symbol, Side::Buy, quantity).expect("an intent"),
            client_order_id: ClientOrderId::derive(signal, bot, 0),
            level: 0,
            reference_price: "60000".parse::<Price>().expect("a price"),
            dust: Quantity::ZERO,
        }
    }

    #[test]
    fn a_batch_job_is_unique_per_its_orders_in_order() {
        let key = |plans: Vec<ExecutionPlan>| TradeJob::new_job(plans).expect("a job").unique_key;
        let (a, b) = (plan(1), plan(2));
        assert_eq!(
            key(vec![a.clone(), b.clone()]),
            key(vec![a.clone(), b.clone()])
        );
        assert_ne!(
            key(vec![a.clone(), b.clone()]),
            key(vec![b.clone(), a.clone()])
        );
        assert_ne!(key(vec![a.clone(), b.clone()]), key(vec![a.clone()]));
        assert_eq!(
            key(vec![a.clone()]),
            Some(format!("trade:{}", a.client_order_id)),
            "a job of one order keeps the key earlier versions gave it"
        );
    }

    #[test]
    fn a_job_queued_by_an_earlier_version_still_parses() {
        let (a, b) = (plan(1), plan(2));
        let old = serde_json::json!({ "plan": a }).to_string();
        let parsed: TradeJob = serde_json::from_str(&old).expect("an old job");
        assert_eq!(parsed.plans, vec![a.clone()]);
        let job = TradeJob::new_job(vec![a.clone(), b.clone()]).expect("a job");
        let parsed: TradeJob = serde_json::from_str(&job.payload).expect("a new job");
        assert_eq!(parsed.plans, vec![a, b]);
        assert!(serde_json::from_str::<TradeJob>("{\"plans\": 3}").is_err());
    }
}
