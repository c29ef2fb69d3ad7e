//! Executes `trade_execution` jobs: each holds one batch of a fan-out's plans (the queue
//! handles one row per batch, not per order: it is the engine's busiest table). Every
//! order is placed with its deterministic client order id and written once, with the
//! venue's answer. A crash, a lost answer or a replayed job never doubles it: an order
//! on record, and on any attempt after a job's first every order of the job (the first
//! may have placed it and died before writing it), is looked up at its venue by that id
//! rather than placed again.
//!
//! A job that panics is run again one order at a time (safe for the same reason), so only
//! the orders whose own work panics are left to retry (and, after the last attempt, to the
//! dead letters), and their bots are paused with the reason ([`panics`](super::panics)).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::execution::{self, ExecutionError, Refusal};
use nexus_core::fanout::ExecutionPlan;
use nexus_core::ports::activity::{Execution, OrderRecord, OrderState};
use nexus_core::ports::credentials::CredentialId;
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_core::{
    BotId, ClientOrderId, Exchange, ExchangeError, ExchangeId, OrderReport, Position, StoreError,
    Timestamp, UserId,
};
use nexus_exchanges::{AccountError, Venues};
use nexus_store::Store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alerts::{TradeAlert, TradeAlerts};
use super::panics::{self, Panicked, Task};
use crate::events::Happening;

const BOT_DELETED: &str = "the bot was deleted";

/// A `trade_execution` job's payload: the orders of one batch of a fan-out, placed
/// together. (Jobs queued by earlier versions carry one plan as `plan`; they still run.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "TradeJobWire")]
pub struct TradeJob {
    /// The orders to place, in plan order.
    pub plans: Vec<ExecutionPlan>,
    /// When their signal was decided (`None` in jobs of earlier versions): the start of
    /// the signal-to-order latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_at: Option<Timestamp>,
}

#[derive(Deserialize)]
struct TradeJobWire {
    #[serde(default)]
    plans: Vec<ExecutionPlan>,
    #[serde(default)]
    plan: Option<ExecutionPlan>,
    #[serde(default)]
    signal_at: Option<Timestamp>,
}

impl From<TradeJobWire> for TradeJob {
    fn from(wire: TradeJobWire) -> Self {
        let mut plans = wire.plans;
        plans.extend(wire.plan);
        Self {
            plans,
            signal_at: wire.signal_at,
        }
    }
}

impl TradeJob {
    /// The job for a batch of plans of a signal decided at `signal_at`, unique per its
    /// client order ids (in order), so a replayed fan-out that plans the same batch
    /// enqueues it once. A batch that differs but shares an order is safe too: the order's
    /// row is already recorded, so that order is looked up at its venue rather than
    /// placed again.
    ///
    /// # Errors
    /// The plans do not serialise (they always do).
    pub fn new_job(
        plans: Vec<ExecutionPlan>,
        signal_at: Timestamp,
    ) -> Result<NewJob, serde_json::Error> {
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
            payload: serde_json::to_string(&Self {
                plans,
                signal_at: Some(signal_at),
            })?,
            unique_key: Some(unique_key),
            priority: 10,
            run_at: None,
            max_attempts: 5,
        })
    }
}

/// What became of one plan of a job.
pub type Outcome = Result<Executed, ExecuteError>;

/// What became of a plan.
#[derive(Debug)]
pub enum Executed {
    /// Placed now.
    Placed(OrderReport),
    /// The venue already had it (an earlier attempt placed it): recorded, not placed again.
    AlreadyPlaced(OrderReport),
    /// The venue refused it for good (or the bot or its key is gone): recorded as such.
    Refused(String),
}

/// Why a plan is not done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExecuteError {
    /// The venue was unavailable, rate limited us, or its answer was lost: tried again
    /// later (not before `retry_after` when the venue said), looking the order up first.
    #[error("venue: {source}")]
    Venue {
        /// The venue's error.
        #[source]
        source: Arc<ExchangeError>,
        /// How long the venue asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The store failed: tried again later.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: &'static str,
        /// The store's error.
        #[source]
        source: Arc<StoreError>,
    },
    /// The venue's report could not be accounted (it contradicts what was recorded, or
    /// the position cannot take it): the order is recorded with this error, and the plan
    /// is not retried blindly; it is left for an operator in the dead letters.
    #[error("accounting: {0}")]
    Accounting(#[from] ExecutionError),
    /// The job's payload is not a trade.
    #[error("not a trade job: {0}")]
    Payload(Arc<serde_json::Error>),
    /// The placement's task ended before it answered (the runtime stopping).
    #[error("interrupted before the venue answered")]
    Interrupted,
    /// The plan's work panicked: its bot is paused, and the plan is retried (its order
    /// looked up first) until its job's last attempt.
    #[error("internal error: {0}")]
    Panicked(Panicked),
}

impl ExecuteError {
    fn store(what: &'static str) -> impl Fn(StoreError) -> Self {
        move |source| Self::Store {
            what,
            source: Arc::new(source),
        }
    }

    /// How long to wait at least before trying again, when the venue said.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Venue { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Why a plan has no account to trade on (recorded on its order; not retried).
#[derive(Debug, Clone, thiserror::Error)]
enum NoAccount {
    #[error("the bot has no {0} key")]
    NoKey(ExchangeId),
    #[error("the bot's {0} key was deleted")]
    KeyDeleted(ExchangeId),
}

impl From<AccountError> for NoAccount {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NoKey { exchange } => Self::NoKey(exchange),
        }
    }
}

/// Whether a batch's orders may have been sent before: on its job's first attempt only
/// those already on record may have been (a replayed fan-out's); on any later attempt,
/// or a run again after a panic, any of them may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The job's first attempt.
    First,
    /// A later attempt, or a run again after a panic: every order is looked up first.
    Again,
}

impl Attempt {
    /// The attempt `job` is on (the queue counts a claim as an attempt).
    #[must_use]
    pub fn of(job: &Job) -> Self {
        if job.attempts <= 1 {
            Self::First
        } else {
            Self::Again
        }
    }
}

/// The accounts of a batch, read once per (venue, user, key).
type Accounts =
    HashMap<(ExchangeId, UserId, Option<CredentialId>), Result<Arc<dyn Exchange>, NoAccount>>;

/// What the venue said about one order: its report (found by a look-up, or placed now),
/// or its error.
struct Answer {
    index: usize,
    plan: ExecutionPlan,
    looked_up: bool,
    result: Result<OrderReport, ExchangeError>,
    at: Timestamp,
}

/// Places planned orders.
pub struct TradeExecutor {
    store: Arc<dyn Store>,
    venues: Arc<Venues>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    wake: Arc<tokio::sync::Notify>,
    events: Option<Arc<crate::events::Events>>,
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
            events: None,
        }
    }

    /// The same executor, telling users live of their orders, fills and positions.
    #[must_use]
    pub fn with_events(mut self, events: Arc<crate::events::Events>) -> Self {
        self.events = Some(events);
        self
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

    /// After the work of a bot's order panicked: logs it, counts it and pauses the bot.
    async fn pause(&self, bot: BotId, order: ClientOrderId, panic: &Panicked) {
        let what = format!("placing order {order}");
        let metrics = self.metrics.as_deref();
        panics::pause(
            self.store.as_ref(),
            metrics,
            self.events.as_deref(),
            Task::Worker,
            bot,
            &what,
            panic,
        )
        .await;
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
            serde_json::from_str(&job.payload).map_err(|e| ExecuteError::Payload(Arc::new(e)))?;
        let results = self.run_plans(trade.plans, Attempt::of(job)).await;
        self.observe_latency(trade.signal_at, &results);
        Ok(results)
    }

    /// Observes each order placed now in the signal-to-order latency.
    fn observe_latency(&self, signal_at: Option<Timestamp>, results: &[(ExecutionPlan, Outcome)]) {
        let (Some(metrics), Some(signal_at)) = (&self.metrics, signal_at) else {
            return;
        };
        let elapsed = (Utc::now() - signal_at).to_std().unwrap_or_default();
        for (_, outcome) in results {
            if matches!(outcome, Ok(Executed::Placed(_))) {
                metrics.signal_to_order.observe(elapsed.as_secs_f64());
            }
        }
    }

    /// Runs plans as one batch: their bots and any orders of theirs on record read in
    /// one query each, sent concurrently, the venues' reports accounted by
    /// [`nexus_core::execution`] and recorded (orders, fills, positions) in one
    /// transaction, their alerts enqueued as one job.
    ///
    /// Every attempt runs this same path: an order that may have reached its venue
    /// already (on record, or any order on an [`Attempt::Again`]) is looked up at its
    /// venue by its client order id, and placed only if the venue has no such order.
    pub async fn run_plans(
        self: &Arc<Self>,
        plans: Vec<ExecutionPlan>,
        attempt: Attempt,
    ) -> Vec<(ExecutionPlan, Outcome)> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::new();
        outcomes.resize_with(plans.len(), || None);
        match self.batch(&plans, attempt, Utc::now()).await {
            Ok(done) => {
                for (index, outcome) in done {
                    outcomes[index] = Some(outcome);
                }
            }
            Err(e) => {
                // None of the batch may have been placed yet, or some may: either way
                // every plan is retried, and its recorded order is looked up first.
                for outcome in &mut outcomes {
                    *outcome = Some(Err(e.clone()));
                }
            }
        }
        plans
            .into_iter()
            .zip(outcomes)
            .map(|(plan, outcome)| (plan, outcome.unwrap_or(Err(ExecuteError::Interrupted))))
            .collect()
    }

    /// Runs a job's plans one at a time, each under [`panics::catch_async`]: what
    /// [`run_worker`] does when the job panicked as a batch. A plan whose own run panics
    /// ends in [`ExecuteError::Panicked`] and its bot is paused; the others end as usual.
    ///
    /// # Errors
    /// [`ExecuteError::Payload`] when the job is not a trade job.
    pub async fn run_isolated(
        self: &Arc<Self>,
        job: &Job,
    ) -> Result<Vec<(ExecutionPlan, Outcome)>, ExecuteError> {
        let trade: TradeJob =
            serde_json::from_str(&job.payload).map_err(|e| ExecuteError::Payload(Arc::new(e)))?;
        let mut results = Vec::with_capacity(trade.plans.len());
        let run = |plan: ExecutionPlan| async move { self.execute(&plan).await };
        for (plan, caught) in each_isolated(trade.plans, run).await {
            let outcome = match caught {
                Ok(outcome) => outcome,
                Err(panic) => {
                    self.pause(plan.bot, plan.client_order_id, &panic).await;
                    Err(ExecuteError::Panicked(panic))
                }
            };
            results.push((plan, outcome));
        }
        self.observe_latency(trade.signal_at, &results);
        Ok(results)
    }

    /// Runs one plan: [`TradeExecutor::run_plans`] of one, looked up at its venue first
    /// ([`Attempt::Again`]: whoever runs one plan alone cannot know it was never sent).
    pub async fn execute(self: &Arc<Self>, plan: &ExecutionPlan) -> Outcome {
        self.run_plans(vec![plan.clone()], Attempt::Again)
            .await
            .pop()
            .map_or(Err(ExecuteError::Interrupted), |(_, outcome)| outcome)
    }

    async fn batch(
        self: &Arc<Self>,
        plans: &[ExecutionPlan],
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<Vec<(usize, Outcome)>, ExecuteError> {
        let mut phases = Phases::start();
        let ids: Vec<BotId> = plans.iter().map(|p| p.bot).collect();
        let bots: HashMap<BotId, Option<CredentialId>> = self
            .store
            .bot_keys(&ids)
            .await
            .map_err(ExecuteError::store("loading the bots"))?;
        let mut results = Vec::new();
        let mut alerts = Vec::new();
        let mut accounts = Accounts::new();
        let mut to_send = Vec::new();
        // Orders refused before sending (recorded as failed with the others).
        let mut refused_now = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let Some(&credential) = bots.get(&plan.bot) else {
                // Nothing to record against: the bot's rows went with it.
                results.push((index, Ok(Executed::Refused(BOT_DELETED.into()))));
                continue;
            };
            match self.account_of(plan, credential, &mut accounts).await? {
                Ok(exchange) => to_send.push((index, plan.clone(), exchange)),
                Err(reason) => {
                    let order = execution::planned(plan, now);
                    let refused = execution::refused(&order, OrderState::Failed, &reason, now);
                    refused_now.push(refused);
                    self.count(plan, OrderState::Failed);
                    alerts.push(order_error(plan, OrderState::Failed, reason.to_string()));
                    results.push((index, Ok(Executed::Refused(reason.to_string()))));
                }
            }
        }
        // Orders are written once, with the venue's answer (an insert and then an update
        // of each cost a quarter of the database's time at 100,000 bots). What is on record
        // already was written by an earlier attempt or a replayed job, so it may be at
        // the venue: it is looked up, and its report accounted against what was recorded
        // (a venue's report is cumulative: a partial fill recorded before a crash would
        // otherwise be counted twice).
        let ids: Vec<Uuid> = to_send
            .iter()
            .map(|(_, plan, _)| execution::order_id(&plan.client_order_id))
            .collect();
        phases.mark("bots");
        let recorded: HashMap<ClientOrderId, OrderRecord> = self
            .store
            .orders(&ids)
            .await
            .map_err(ExecuteError::store("loading the recorded orders"))?
            .into_iter()
            .map(|o| (o.client_order_id, o))
            .collect();
        phases.mark("recorded");

        let mut sending = tokio::task::JoinSet::new();
        let mut tasks = HashMap::new();
        for (index, plan, exchange) in to_send {
            let look_up = attempt == Attempt::Again || recorded.contains_key(&plan.client_order_id);
            let key = (index, plan.bot, plan.client_order_id);
            let task = sending.spawn(send(index, plan, exchange, look_up));
            tasks.insert(task.id(), key);
        }
        let mut answers = Vec::new();
        while let Some(done) = sending.join_next_with_id().await {
            match done {
                Ok((_, answer)) => answers.push(answer),
                // A venue's code panicked on this order: retried (looked up first), its
                // bot paused. A task cancelled (the runtime stopping) is retried as well.
                Err(e) if e.is_panic() => {
                    if let Some((index, bot, order)) = tasks.remove(&e.id()) {
                        let panic = Panicked::from_payload(&*e.into_panic());
                        self.pause(bot, order, &panic).await;
                        results.push((index, Err(ExecuteError::Panicked(panic))));
                    }
                }
                Err(_) => {}
            }
        }
        phases.mark("venue");
        // In plan order, so two orders of one bot move its position in order.
        answers.sort_by_key(|a| a.index);
        let held: Vec<BotId> = answers.iter().map(|a| a.plan.bot).collect();
        let mut positions: HashMap<BotId, Option<Position>> = self
            .store
            .open_positions(&held)
            .await
            .map_err(ExecuteError::store("loading positions"))?
            .into_iter()
            .map(|(bot, p)| (bot, Some(p)))
            .collect();
        phases.mark("positions");
        let mut executions: Vec<Execution> = refused_now;
        for answer in answers {
            let Answer {
                index,
                plan,
                looked_up,
                result,
                at,
            } = answer;
            let order = recorded
                .get(&plan.client_order_id)
                .cloned()
                .unwrap_or_else(|| execution::planned(&plan, now));
            let report = match result {
                Ok(report) => report,
                Err(e) => {
                    if let Some(metrics) = &self.metrics {
                        metrics.exchange_error(plan.exchange.as_str(), &e);
                    }
                    let outcome = match execution::refusal(&e) {
                        Refusal::LookUp => {
                            executions.push(execution::refused(
                                &order,
                                OrderState::Unknown,
                                &e,
                                at,
                            ));
                            self.count(&plan, OrderState::Unknown);
                            Err(ExecuteError::Venue {
                                source: Arc::new(e),
                                retry_after: None,
                            })
                        }
                        Refusal::Retry { retry_after } => {
                            // On record as pending until a later attempt places it.
                            executions.push(Execution {
                                order,
                                fill: None,
                                position: None,
                            });
                            Err(ExecuteError::Venue {
                                source: Arc::new(e),
                                retry_after,
                            })
                        }
                        Refusal::Final(state) => {
                            executions.push(execution::refused(&order, state, &e, at));
                            self.count(&plan, state);
                            alerts.push(order_error(&plan, state, e.to_string()));
                            Ok(Executed::Refused(e.to_string()))
                        }
                    };
                    results.push((index, outcome));
                    continue;
                }
            };
            let open = positions.get(&plan.bot).copied().flatten();
            match execution::account(&plan, &order, &report, open, at) {
                Ok(accounted) => {
                    positions.insert(plan.bot, accounted.position);
                    executions.push(accounted.execution);
                    alerts.extend(trade_alert(&plan, &report));
                    self.count(&plan, report.status.into());
                    let executed = if looked_up {
                        Executed::AlreadyPlaced(report)
                    } else {
                        Executed::Placed(report)
                    };
                    results.push((index, Ok(executed)));
                }
                Err(e) => {
                    // The venue's state is recorded as it said; the position is left as
                    // it was, and the error reaches the job (and the logs) as an error.
                    tracing::error!(order = %plan.client_order_id, error = %e, "a report could not be accounted");
                    let mut order = order;
                    order.state = report.status.into();
                    order.venue_order_id = Some(report.venue_order_id.clone());
                    order.filled_quantity = report.filled_quantity;
                    order.average_price = report.average_price;
                    executions.push(execution::refused(&order, order.state, &e, at));
                    results.push((index, Err(ExecuteError::Accounting(e))));
                }
            }
        }
        // One alert job for the batch, unique per its orders and states (a batch whose
        // reports are recorded twice alerts once), enqueued with the answers it follows.
        let alerts = if alerts.is_empty() {
            None
        } else {
            Some(
                TradeAlerts { alerts }
                    .new_job()
                    .map_err(|e| ExecuteError::Payload(Arc::new(e)))?,
            )
        };
        phases.mark("alerts");
        self.store
            .record_executions(&executions, alerts.as_ref(), now)
            .await
            .map_err(ExecuteError::store("recording the fills"))?;
        phases.mark("record");
        if let Some(events) = &self.events {
            let happened: Vec<Happening> =
                executions.into_iter().map(Happening::Execution).collect();
            events.publish(&happened).await;
        }
        phases.mark("events");
        phases.log(plans.len());
        Ok(results)
    }

    /// The account a plan trades on, read once per (venue, user, key) in a batch.
    async fn account_of(
        &self,
        plan: &ExecutionPlan,
        credential: Option<CredentialId>,
        cache: &mut Accounts,
    ) -> Result<Result<Arc<dyn Exchange>, NoAccount>, ExecuteError> {
        let key = (plan.exchange, plan.user, credential);
        if let Some(known) = cache.get(&key) {
            return Ok(known.clone());
        }
        let account = self.account_for(plan, credential).await?;
        cache.insert(key, account.clone());
        Ok(account)
    }

    /// The account of `plan`'s bot on its venue, trading with `credential` (decrypted
    /// when the venue needs a key).
    async fn account_for(
        &self,
        plan: &ExecutionPlan,
        credential: Option<CredentialId>,
    ) -> Result<Result<Arc<dyn Exchange>, NoAccount>, ExecuteError> {
        let credentials = match credential {
            Some(key) if Venues::needs_key(plan.exchange) => {
                match self
                    .store
                    .credentials(plan.user, key)
                    .await
                    .map_err(ExecuteError::store("loading the key"))?
                {
                    Some(credentials) => Some(credentials),
                    None => return Ok(Err(NoAccount::KeyDeleted(plan.exchange))),
                }
            }
            _ => None,
        };
        Ok(self
            .venues
            .account_of(plan.exchange, plan.user, credentials)
            .map_err(NoAccount::from))
    }
}

/// Sends one order: looks it up first when an earlier attempt recorded it (placing it
/// only if the venue has no such order), otherwise places it.
async fn send(
    index: usize,
    plan: ExecutionPlan,
    exchange: Arc<dyn Exchange>,
    look_up: bool,
) -> Answer {
    let symbol = plan.intent.symbol();
    let found = if look_up {
        exchange.query_order(symbol, &plan.client_order_id).await
    } else {
        Ok(None)
    };
    let (looked_up, result) = match found {
        Ok(Some(report)) => (true, Ok(report)),
        // Not at the venue: placing it now cannot double it.
        Ok(None) => {
            let order = nexus_core::NewOrder {
                client_order_id: plan.client_order_id,
                intent: plan.intent,
            };
            (false, exchange.place_order(&order).await)
        }
        // The look-up failed: nothing is placed blind.
        Err(e) => (true, Err(e)),
    };
    // The order's time is when the venue answered, not when the batch began.
    Answer {
        index,
        plan,
        looked_up,
        result,
        at: Utc::now(),
    }
}

/// How long each step of a batch took, logged at debug level under
/// `nexus_server::engine::worker::phases` (to see where a batch's time goes under load).
struct Phases {
    last: std::time::Instant,
    took: Vec<(&'static str, u128)>,
}

impl Phases {
    fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            took: Vec::with_capacity(8),
        }
    }

    /// Ends the step called `name`.
    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.took.push((name, (now - self.last).as_micros()));
        self.last = now;
    }

    fn log(&self, orders: usize) {
        if tracing::enabled!(target: "nexus_server::engine::worker::phases", tracing::Level::DEBUG)
        {
            let steps: Vec<String> = self
                .took
                .iter()
                .map(|(n, us)| format!("{n}={us}"))
                .collect();
            tracing::debug!(target: "nexus_server::engine::worker::phases", orders, steps = %steps.join(" "), "batch steps (µs)");
        }
    }
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
        out_of_sync: None,
        detail: None,
    })
}

/// The owner's alert about an order refused or failed (`state`), saying why.
fn order_error(plan: &ExecutionPlan, state: OrderState, detail: String) -> TradeAlert {
    TradeAlert {
        user: plan.user,
        bot: plan.bot,
        exchange: plan.exchange,
        symbol: plan.intent.symbol(),
        side: plan.intent.side(),
        quantity: plan.intent.quantity(),
        price: None,
        client_order_id: plan.client_order_id,
        state: state.as_str().to_owned(),
        out_of_sync: None,
        detail: Some(detail),
    }
}

/// Runs `run` for each plan in turn, catching a panic in each: every plan with its outcome,
/// or the panic of its own run.
async fn each_isolated<F, Fut>(
    plans: Vec<ExecutionPlan>,
    run: F,
) -> Vec<(ExecutionPlan, Result<Outcome, Panicked>)>
where
    F: Fn(ExecutionPlan) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut done = Vec::with_capacity(plans.len());
    for plan in plans {
        let caught = panics::catch_async(run(plan.clone())).await;
        done.push((plan, caught));
    }
    done
}

/// How long a claimed trade job is ours before another worker may take it over.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a running batch's lease is renewed: a third of it, so two renewals can fail
/// before it runs out.
const HEARTBEAT: Duration = Duration::from_secs(10);

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
        // The lease is renewed while the batch runs: a venue slow to answer its orders
        // must not let another worker claim the batch (it would look the orders up, not
        // double them, but only after this one's calls).
        let renewing = tokio::spawn(super::lease::renew(
            Arc::clone(&store),
            job.id,
            worker.clone(),
            LEASE,
            HEARTBEAT,
            "trade batch",
        ));
        let outcome = match panics::catch_async(executor.run(&job)).await {
            Ok(outcome) => outcome,
            Err(panic) => {
                tracing::error!(job = job.id.0, %panic, "a trade job panicked; running its orders one at a time");
                if let Some(metrics) = executor.metrics() {
                    metrics.panicked(Task::Worker.as_str());
                }
                executor.run_isolated(&job).await
            }
        };
        renewing.abort();
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
    let mut policy = policy;
    for (plan, outcome) in results {
        match outcome {
            Ok(outcome) => {
                tracing::debug!(order = %plan.client_order_id, ?outcome, "trade done");
            }
            Err(e) => {
                tracing::warn!(order = %plan.client_order_id, error = %e, "trade to retry");
                if let Some(wait) = e.retry_after() {
                    policy = policy.at_least(wait);
                }
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
    let failing = left.clone();
    let failed = if left.len() == total {
        store.fail(job.id, worker, &error, policy, now).await
    } else {
        // The rest keeps its signal's time, so its retries measure from the signal too.
        let signal_at = serde_json::from_str::<TradeJob>(&job.payload)
            .ok()
            .and_then(|t| t.signal_at);
        match serde_json::to_string(&TradeJob {
            plans: left,
            signal_at,
        }) {
            Ok(rest) => {
                store
                    .fail_with_rest(job.id, worker, &error, &rest, policy, now)
                    .await
            }
            // Retrying the whole job is still safe: recorded orders are looked up first.
            Err(e) => {
                tracing::error!(job = job.id.0, error = %e, "the plans left would not serialise");
                store.fail(job.id, worker, &error, policy, now).await
            }
        }
    };
    match failed {
        // The last attempt: the orders left failed for good; their owners are told.
        Ok(nexus_core::ports::jobs::FailOutcome::DeadLettered) => {
            let alerts = failing
                .iter()
                .map(|plan| order_error(plan, OrderState::Failed, error.clone()))
                .collect();
            match (TradeAlerts { alerts }).new_job() {
                Ok(job) => {
                    if let Err(e) = store.enqueue(&job, now).await {
                        tracing::warn!(error = %e, "enqueuing the failed orders' alerts failed");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the failed orders' alerts would not serialise")
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "recording a trade job failure failed"),
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::regime::gate::GateAction;
    use nexus_core::{OrderIntent, Price, Quantity, Side, SignalId};

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
            shortfall: Quantity::ZERO,
        }
    }

    #[test]
    fn a_batch_job_is_unique_per_its_orders_in_order() {
        let key = |plans: Vec<ExecutionPlan>| {
            TradeJob::new_job(plans, Utc::now())
                .expect("a job")
                .unique_key
        };
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

    #[tokio::test]
    async fn a_plan_whose_run_panics_is_caught_and_the_others_run() {
        let plans = vec![plan(1), plan(2), plan(3)];
        let done = each_isolated(plans, |p: ExecutionPlan| {
            let n = p.bot.as_uuid().as_u128();
            async move {
                tokio::task::yield_now().await;
                assert_ne!(n, 2, "a bug in bot 2's order");
                Ok(Executed::Refused(format!("bot {n}")))
            }
        })
        .await;
        let summary: Vec<(u128, Result<String, String>)> = done
            .into_iter()
            .map(|(p, caught)| {
                let n = p.bot.as_uuid().as_u128();
                let caught = match caught {
                    Ok(Ok(Executed::Refused(what))) => Ok(what),
                    Ok(other) => panic!("{other:?}"),
                    Err(panic) => Err(panic.0),
                };
                (n, caught)
            })
            .collect();
        assert_eq!(summary.len(), 3);
        assert_eq!(summary[0], (1, Ok("bot 1".to_owned())));
        assert!(
            matches!(&summary[1], (2, Err(m)) if m.contains("a bug in bot 2's order")),
            "{summary:?}"
        );
        assert_eq!(summary[2], (3, Ok("bot 3".to_owned())));
    }

    #[test]
    fn a_job_queued_by_an_earlier_version_still_parses() {
        let (a, b) = (plan(1), plan(2));
        let old = serde_json::json!({ "plan": a }).to_string();
        let parsed: TradeJob = serde_json::from_str(&old).expect("an old job");
        assert_eq!(parsed.plans, vec![a.clone()]);
        assert_eq!(
            parsed.signal_at, None,
            "an old job does not know its signal's time"
        );
        let at = Utc::now();
        let job = TradeJob::new_job(vec![a.clone(), b.clone()], at).expect("a job");
        let parsed: TradeJob = serde_json::from_str(&job.payload).expect("a new job");
        assert_eq!(parsed.plans, vec![a, b]);
        assert_eq!(parsed.signal_at, Some(at));
        assert!(serde_json::from_str::<TradeJob>("{\"plans\": 3}").is_err());
    }
}
