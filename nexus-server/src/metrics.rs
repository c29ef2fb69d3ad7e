//! Prometheus metrics at `/metrics` (text exposition format), with the official
//! `prometheus-client` crate. Each metric is incremented where the thing happens; the
//! queue depth is read from the store at scrape time.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::ports::activity::OrderState;
use nexus_core::ports::emails::EmailState;
use nexus_core::ports::jobs::JobState;
use nexus_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The methods counted under their own name (RFC 9110 and PATCH); any other is `other`.
const HTTP_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Labels of HTTP requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, …, or `other`.
    pub method: String,
    /// The status code.
    pub status: u16,
}

/// Labels of orders.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrderLabels {
    /// The venue.
    pub exchange: String,
    /// `filled`, `new`, `rejected`, `unknown`, `failed`, …
    pub status: String,
}

/// Labels of queued jobs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The job kind (`trade_execution`, …); exposed as the label `type`.
    pub r#type: String,
}

/// Labels of upstream market-data calls.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeLabels {
    /// The venue.
    pub exchange: String,
}

/// Labels of what a venue's market data stream did.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamEventLabels {
    /// The venue.
    pub exchange: String,
    /// One of [`STREAM_EVENTS`].
    pub event: String,
}

/// What a stream reports: messages received, connections made again, connections dropped
/// for silence, sequence gaps, messages that could not be read, requests refused.
pub const STREAM_EVENTS: [&str; 6] = [
    "message",
    "reconnect",
    "stall",
    "gap",
    "unreadable",
    "refused",
];

/// Labels of signals.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StrategyLabels {
    /// The strategy (`trend_breakout`, `webhook`).
    pub strategy: String,
}

/// Labels of planned or skipped orders.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `planned`, or the skip's reason code (`gate`, `sizing`, `already_in_position`, …).
    pub outcome: String,
}

/// Labels of gate decisions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GateLabels {
    /// `true` or `false`.
    pub allowed: String,
}

/// Labels of panics caught in the engine's long-running tasks.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    /// `scheduler`, `fanout` or `worker`.
    pub task: String,
}

/// Labels of emails.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EmailLabels {
    /// The template (`verification`, `trade_alert`, …).
    pub template: String,
    /// `queued`, `sent`, `retrying`, `failed`, `suppressed`, `bounced` or `complained`.
    pub state: String,
}

/// Labels of LLM calls.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmLabels {
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
}

/// Labels of LLM calls by outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmOutcomeLabels {
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// `answered`, `timeout`, `rate_limited`, `overloaded`, `server_error`, `rejected`,
    /// `unreadable`, `refused` or `transport`.
    pub outcome: String,
}

/// Labels of LLM tokens.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmTokenLabels {
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// `input` or `output`.
    pub direction: String,
}

/// Labels of venue errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeErrorLabels {
    /// The venue.
    pub exchange: String,
    /// One of [`nexus_core::ExchangeError::KINDS`]: `rate_limited`, `banned` (an IP ban,
    /// Binance's HTTP 418), `outcome_unknown`, `auth`, `rejected`, `insufficient_balance`,
    /// `transient` or `decode`.
    pub class: String,
}

/// Every order state, as `nexus_orders_total{status}` names it: each venue's series
/// exists from the first scrape, so `increase()` sees an order's first failure.
const ORDER_STATES: [OrderState; 9] = [
    OrderState::Pending,
    OrderState::Unknown,
    OrderState::New,
    OrderState::PartiallyFilled,
    OrderState::Filled,
    OrderState::Canceled,
    OrderState::Rejected,
    OrderState::Expired,
    OrderState::Failed,
];

/// Labels of live events.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// `order`, `fill`, `position`, `bot` or `regime`.
    pub r#type: String,
}

/// Labels of the build.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version.
    pub version: String,
    /// The git commit it was built from (`unknown` outside a checkout).
    pub commit: String,
}

/// A process's resident memory in bytes, now and at its highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ResidentMemory {
    now: i64,
    peak: i64,
}

/// `VmRSS` and `VmHWM` of a Linux `/proc/<pid>/status` (in kB there), in bytes; 0 for a
/// line that is missing.
fn resident_memory(status: &str) -> ResidentMemory {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<i64>()
                    .ok()
            })
            .map_or(0, |kb| kb.saturating_mul(1024))
    };
    ResidentMemory {
        now: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `nexus_http_requests_total{method,status}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `nexus_http_request_duration_seconds`.
    pub http_latency: Histogram,
    /// `nexus_orders_total{exchange,status}`.
    pub orders: Family<OrderLabels, Counter>,
    /// `nexus_job_duration_seconds`.
    pub job_duration: Histogram,
    /// `nexus_jobs_queued{type}`.
    pub jobs_queued: Family<JobLabels, Gauge>,
    /// `nexus_jobs_dead{type}`: dead-lettered jobs kept.
    pub jobs_dead: Family<JobLabels, Gauge>,
    /// `nexus_jobs_oldest_age_seconds{type}`: how late the oldest due queued job is.
    pub jobs_oldest_age: Family<JobLabels, Gauge>,
    /// `nexus_market_data_upstream_calls_total{exchange}`: synchronised from the hub's own
    /// counts at scrape time.
    pub upstream_calls: Family<ExchangeLabels, Counter>,
    /// `nexus_market_data_stream_events_total{exchange,event}`: what the venues' market
    /// data streams did, synchronised from the hub's streams at scrape time.
    pub stream_events: Family<StreamEventLabels, Counter>,
    /// `nexus_market_data_stream_fallbacks_total{exchange}`: REST calls made because a
    /// venue's stream could not serve (down, not yet subscribed, or a snapshot after a
    /// reconnect or gap).
    pub stream_fallbacks: Family<ExchangeLabels, Counter>,
    /// `nexus_signals_total{strategy}`.
    pub signals: Family<StrategyLabels, Counter>,
    /// `nexus_plans_total{outcome}`.
    pub plans: Family<OutcomeLabels, Counter>,
    /// `nexus_gate_decisions_total{allowed}`.
    pub gate_decisions: Family<GateLabels, Counter>,
    /// `nexus_task_panics_total{task}`.
    pub task_panics: Family<TaskLabels, Counter>,
    /// `nexus_market_data_last_update_timestamp_seconds{exchange}`: when tickers last
    /// arrived (0: never), read from the hub at scrape time.
    pub market_data_updated: Family<ExchangeLabels, Gauge>,
    /// `nexus_exchange_errors_total{exchange,class}`: order calls the venues refused or
    /// left unknown, by class.
    pub exchange_errors: Family<ExchangeErrorLabels, Counter>,
    /// `nexus_market_data_errors_total{exchange,class}`: market-data calls that failed,
    /// by class, synchronised from the hub's own counts at scrape time.
    pub market_data_errors: Family<ExchangeErrorLabels, Counter>,
    /// `nexus_signal_to_order_seconds`: from a signal's decision to its venue's answer
    /// placing each of its orders.
    pub signal_to_order: Histogram,
    /// `nexus_llm_budget_usd`: the advisor's daily budget (0 without an advisor).
    pub llm_budget: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `nexus_llm_spent_today_usd`: what the advisor spent since 00:00 UTC, across the
    /// deployment, read from the store at scrape time.
    pub llm_spent_today: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `nexus_scheduler_leader`: 1 while this instance runs the scheduler, else 0.
    pub scheduler_leader: Gauge,
    /// `nexus_process_resident_memory_bytes` and `…_peak_bytes`: the process's resident
    /// memory now and at its highest, read from `/proc/self/status` at scrape time (0 where
    /// there is no such file).
    pub resident_memory: Gauge,
    /// See [`Metrics::resident_memory`].
    pub resident_memory_peak: Gauge,
    /// `nexus_build_info{version,commit}`: 1.
    pub build: Family<BuildLabels, Gauge>,
    /// `nexus_emails_total{template,state}`: each message as it enters a state.
    pub emails: Family<EmailLabels, Counter>,
    /// `nexus_llm_calls_total{provider,model,outcome}`.
    pub llm_calls: Family<LlmOutcomeLabels, Counter>,
    /// `nexus_llm_tokens_total{provider,model,direction}`.
    pub llm_tokens: Family<LlmTokenLabels, Counter>,
    /// `nexus_llm_cost_usd_total{provider,model}` (a float for Prometheus; the exact
    /// decimal cost of each call is in the store).
    pub llm_cost: Family<LlmLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    /// `nexus_events_total{type}`: live events published by this instance.
    pub events: Family<EventLabels, Counter>,
    /// `nexus_events_lost_total`: live events this instance could not publish (the
    /// database refused them, or one was too large); streams then reset their clients.
    pub events_lost: Counter,
    /// `nexus_event_streams`: event streams open on this instance.
    pub event_streams: Gauge,
    hub: std::sync::OnceLock<Arc<nexus_exchanges::MarketDataHub>>,
    /// Whether an advisor runs (then its spending is read at scrape time).
    advisor: std::sync::OnceLock<()>,
}

fn latency_buckets() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nexus");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered",
            http_requests.clone(),
        );
        let http_latency = latency_buckets();
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            http_latency.clone(),
        );
        let orders = Family::<OrderLabels, Counter>::default();
        registry.register("orders", "Orders by venue and outcome", orders.clone());
        let job_duration = latency_buckets();
        registry.register(
            "job_duration_seconds",
            "Time to run one job",
            job_duration.clone(),
        );
        let jobs_queued = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs_queued",
            "Jobs waiting for a worker",
            jobs_queued.clone(),
        );
        let jobs_dead = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs_dead",
            "Dead-lettered jobs kept (their retries ran out)",
            jobs_dead.clone(),
        );
        let jobs_oldest_age = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs_oldest_age_seconds",
            "How long the oldest due queued job has waited (0: none waiting)",
            jobs_oldest_age.clone(),
        );
        let upstream_calls = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "market_data_upstream_calls",
            "Market-data calls made to the venues (whatever the number of users)",
            upstream_calls.clone(),
        );
        let stream_events = Family::<StreamEventLabels, Counter>::default();
        registry.register(
            "market_data_stream_events",
            "What the venues' market data streams did: messages, reconnects, stalls, sequence gaps, unreadable messages, refused requests",
            stream_events.clone(),
        );
        let stream_fallbacks = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "market_data_stream_fallbacks",
            "REST market-data calls made because the venue's stream could not serve",
            stream_fallbacks.clone(),
        );
        let signals = Family::<StrategyLabels, Counter>::default();
        registry.register(
            "signals",
            "Signals decided once and fanned out to every subscribed bot",
            signals.clone(),
        );
        let plans = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "plans",
            "Bots' orders planned, or skipped by reason",
            plans.clone(),
        );
        let gate_decisions = Family::<GateLabels, Counter>::default();
        registry.register(
            "gate_decisions",
            "Market-regime gate decisions recorded",
            gate_decisions.clone(),
        );
        let task_panics = Family::<TaskLabels, Counter>::default();
        registry.register(
            "task_panics",
            "Panics caught in one market's or one bot's work (the task went on)",
            task_panics.clone(),
        );
        let emails = Family::<EmailLabels, Counter>::default();
        registry.register(
            "emails",
            "Emails by template, as each enters a state (queued, sent, retrying, failed, suppressed, bounced, complained)",
            emails.clone(),
        );
        let llm_calls = Family::<LlmOutcomeLabels, Counter>::default();
        registry.register(
            "llm_calls",
            "Calls to language models by the advisor, by outcome",
            llm_calls.clone(),
        );
        let llm_tokens = Family::<LlmTokenLabels, Counter>::default();
        registry.register(
            "llm_tokens",
            "Tokens the advisor's calls used, as the providers counted them",
            llm_tokens.clone(),
        );
        let llm_cost = Family::<LlmLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "llm_cost_usd",
            "What the advisor's calls cost, in USD",
            llm_cost.clone(),
        );
        let llm_budget = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "llm_budget_usd",
            "The LLM advisor's daily budget in USD (0: no advisor)",
            llm_budget.clone(),
        );
        let llm_spent_today = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "llm_spent_today_usd",
            "What the LLM advisor spent since 00:00 UTC across the deployment, in USD",
            llm_spent_today.clone(),
        );
        let resident_memory = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "The server process's resident memory, in bytes",
            resident_memory.clone(),
        );
        let resident_memory_peak = Gauge::default();
        registry.register(
            "process_resident_memory_peak_bytes",
            "The server process's highest resident memory since it started, in bytes",
            resident_memory_peak.clone(),
        );
        let market_data_updated = Family::<ExchangeLabels, Gauge>::default();
        registry.register(
            "market_data_last_update_timestamp_seconds",
            "When tickers last arrived from each venue, in Unix seconds (0: never)",
            market_data_updated.clone(),
        );
        let exchange_errors = Family::<ExchangeErrorLabels, Counter>::default();
        registry.register(
            "exchange_errors",
            "Order calls the venues refused or left unknown, by class",
            exchange_errors.clone(),
        );
        let market_data_errors = Family::<ExchangeErrorLabels, Counter>::default();
        registry.register(
            "market_data_errors",
            "Market-data calls to the venues that failed, by class (cached data may have been served)",
            market_data_errors.clone(),
        );
        for exchange in nexus_core::ExchangeId::ALL {
            for class in nexus_core::ExchangeError::KINDS {
                let labels = ExchangeErrorLabels {
                    exchange: exchange.as_str().to_owned(),
                    class: class.to_owned(),
                };
                exchange_errors.get_or_create(&labels).inc_by(0);
                market_data_errors.get_or_create(&labels).inc_by(0);
            }
        }
        // 10 ms to ~160 s: a signal's orders wait for the fan-out and a worker.
        let signal_to_order = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        registry.register(
            "signal_to_order_seconds",
            "Time from a signal's decision to its venue's answer placing each of its orders",
            signal_to_order.clone(),
        );
        let scheduler_leader = Gauge::default();
        registry.register(
            "scheduler_leader",
            "Whether this instance runs the deployment's scheduler (1) or not (0)",
            scheduler_leader.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "build_info",
            "The version and commit running",
            build.clone(),
        );
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                commit: env!("NEXUS_BUILD_COMMIT").to_owned(),
            })
            .set(1);
        let events = Family::<EventLabels, Counter>::default();
        registry.register("events", "Live events published, by type", events.clone());
        let events_lost = Counter::default();
        registry.register(
            "events_lost",
            "Live events that could not be published",
            events_lost.clone(),
        );
        let event_streams = Gauge::default();
        registry.register(
            "event_streams",
            "Event streams open on this instance",
            event_streams.clone(),
        );
        for kind in crate::events::KINDS {
            events
                .get_or_create(&EventLabels {
                    r#type: kind.to_owned(),
                })
                .inc_by(0);
        }
        // Series whose label values are known up front exist from the first scrape, at 0:
        // a dashboard or an alert rule sees 0 rather than no data.
        for strategy in crate::api::STRATEGIES {
            signals
                .get_or_create(&StrategyLabels {
                    strategy: strategy.to_owned(),
                })
                .inc_by(0);
        }
        for allowed in ["true", "false"] {
            gate_decisions
                .get_or_create(&GateLabels {
                    allowed: allowed.to_owned(),
                })
                .inc_by(0);
        }
        for task in ["scheduler", "fanout", "worker"] {
            task_panics
                .get_or_create(&TaskLabels {
                    task: task.to_owned(),
                })
                .inc_by(0);
        }
        plans
            .get_or_create(&OutcomeLabels {
                outcome: "planned".to_owned(),
            })
            .inc_by(0);
        for exchange in nexus_core::ExchangeId::ALL {
            for status in ORDER_STATES {
                orders
                    .get_or_create(&OrderLabels {
                        exchange: exchange.as_str().to_owned(),
                        status: status.as_str().to_owned(),
                    })
                    .inc_by(0);
            }
        }
        for template in crate::email::templates::TEMPLATES {
            for state in EmailState::ALL {
                emails
                    .get_or_create(&EmailLabels {
                        template: template.to_owned(),
                        state: state.as_str().to_owned(),
                    })
                    .inc_by(0);
            }
        }
        Self {
            events,
            events_lost,
            event_streams,
            exchange_errors,
            market_data_errors,
            signal_to_order,
            llm_budget,
            llm_spent_today,
            resident_memory,
            resident_memory_peak,
            advisor: std::sync::OnceLock::new(),
            market_data_updated,
            scheduler_leader,
            build,
            emails,
            llm_calls,
            llm_tokens,
            llm_cost,
            registry,
            http_requests,
            http_latency,
            orders,
            job_duration,
            jobs_queued,
            jobs_dead,
            jobs_oldest_age,
            upstream_calls,
            stream_events,
            stream_fallbacks,
            signals,
            plans,
            gate_decisions,
            task_panics,
            hub: std::sync::OnceLock::new(),
        }
    }
}

impl Metrics {
    /// Counts an answered HTTP request. A method outside HTTP's own nine counts as
    /// `other`: a client inventing methods must not add series without bound.
    pub fn http(&self, method: &str, status: u16, elapsed: Duration) {
        let method = if HTTP_METHODS.contains(&method) {
            method
        } else {
            "other"
        };
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                status,
            })
            .inc();
        self.http_latency.observe(elapsed.as_secs_f64());
    }

    /// Shows `provider`'s `model` in the LLM series from now on, at 0 for every outcome,
    /// so a dashboard or an alert rule sees the advisor before its first call.
    pub fn llm_model(&self, provider: &str, model: &str) {
        for outcome in crate::advisor::provider::OUTCOMES {
            self.llm_calls
                .get_or_create(&LlmOutcomeLabels {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(0);
        }
        for direction in ["input", "output"] {
            self.llm_tokens
                .get_or_create(&LlmTokenLabels {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                    direction: direction.to_owned(),
                })
                .inc_by(0);
        }
        self.llm_cost
            .get_or_create(&LlmLabels {
                provider: provider.to_owned(),
                model: model.to_owned(),
            })
            .inc_by(0.0);
    }

    /// Shows the advisor's daily `budget` (USD), and from now on what it spent today,
    /// read from the store at each scrape.
    pub fn llm_budget(&self, budget: rust_decimal::Decimal) {
        let _ = self.advisor.set(());
        self.llm_budget
            .set(rust_decimal::prelude::ToPrimitive::to_f64(&budget).unwrap_or(0.0));
    }

    /// Counts one LLM call: its outcome, tokens and cost.
    pub fn llm_call(
        &self,
        provider: &str,
        model: &str,
        outcome: &str,
        usage: crate::advisor::provider::TokenUsage,
        cost: Option<rust_decimal::Decimal>,
    ) {
        self.llm_calls
            .get_or_create(&LlmOutcomeLabels {
                provider: provider.to_owned(),
                model: model.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        for (direction, tokens) in [("input", usage.input), ("output", usage.output)] {
            self.llm_tokens
                .get_or_create(&LlmTokenLabels {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                    direction: direction.to_owned(),
                })
                .inc_by(tokens);
        }
        if let Some(cost) = cost.and_then(|c| rust_decimal::prelude::ToPrimitive::to_f64(&c)) {
            self.llm_cost
                .get_or_create(&LlmLabels {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                })
                .inc_by(cost);
        }
    }

    /// Counts an email of `template` entering `state`.
    pub fn email(&self, template: &str, state: nexus_core::ports::emails::EmailState) {
        self.emails
            .get_or_create(&EmailLabels {
                template: template.to_owned(),
                state: state.as_str().to_owned(),
            })
            .inc();
    }

    /// Counts a venue's error on an order call.
    pub fn exchange_error(&self, exchange: &str, error: &nexus_core::ExchangeError) {
        self.exchange_errors
            .get_or_create(&ExchangeErrorLabels {
                exchange: exchange.to_owned(),
                class: error.kind().to_owned(),
            })
            .inc();
    }

    /// Counts an order's outcome.
    pub fn order(&self, exchange: &str, status: &str) {
        self.orders
            .get_or_create(&OrderLabels {
                exchange: exchange.to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }

    /// Reports upstream calls of `hub` (the engine's) from now on.
    pub fn watch_hub(&self, hub: Arc<nexus_exchanges::MarketDataHub>) {
        let _ = self.hub.set(hub);
    }

    /// Counts a signal of `strategy`.
    pub fn signal(&self, strategy: &str) {
        self.signals
            .get_or_create(&StrategyLabels {
                strategy: strategy.to_owned(),
            })
            .inc();
    }

    /// Counts `count` bots whose outcome was `outcome`.
    pub fn planned(&self, outcome: &str, count: u64) {
        self.plans
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc_by(count);
    }

    /// Counts a gate decision.
    pub fn gate(&self, allowed: bool) {
        self.gate_decisions
            .get_or_create(&GateLabels {
                allowed: allowed.to_string(),
            })
            .inc();
    }

    /// Counts a panic caught in `task` (`scheduler`, `fanout`, `worker`).
    pub fn panicked(&self, task: &str) {
        self.task_panics
            .get_or_create(&TaskLabels {
                task: task.to_owned(),
            })
            .inc();
    }

    /// The exposition text, with the queue depth read from `store` now.
    pub async fn render(&self, store: Option<&Arc<dyn Store>>) -> String {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let memory = resident_memory(&status);
            self.resident_memory.set(memory.now);
            self.resident_memory_peak.set(memory.peak);
        }
        if let Some(hub) = self.hub.get() {
            for exchange in nexus_core::ExchangeId::ALL {
                let counter = self.upstream_calls.get_or_create(&ExchangeLabels {
                    exchange: exchange.as_str().to_owned(),
                });
                let calls = hub.upstream_calls(exchange);
                counter.inc_by(calls.saturating_sub(counter.get()));
                self.market_data_updated
                    .get_or_create(&ExchangeLabels {
                        exchange: exchange.as_str().to_owned(),
                    })
                    .set(i64::try_from(hub.last_update(exchange)).unwrap_or(i64::MAX));
                if let Some(stats) = hub.stream_stats(exchange) {
                    let counts = [
                        stats.messages(),
                        stats.reconnects(),
                        stats.stalls(),
                        stats.gaps(),
                        stats.unreadable(),
                        stats.refused(),
                    ];
                    for (event, count) in STREAM_EVENTS.into_iter().zip(counts) {
                        let counter = self.stream_events.get_or_create(&StreamEventLabels {
                            exchange: exchange.as_str().to_owned(),
                            event: event.to_owned(),
                        });
                        counter.inc_by(count.saturating_sub(counter.get()));
                    }
                    let counter = self.stream_fallbacks.get_or_create(&ExchangeLabels {
                        exchange: exchange.as_str().to_owned(),
                    });
                    counter.inc_by(hub.stream_fallbacks(exchange).saturating_sub(counter.get()));
                }
                for class in nexus_core::ExchangeError::KINDS {
                    let counter = self.market_data_errors.get_or_create(&ExchangeErrorLabels {
                        exchange: exchange.as_str().to_owned(),
                        class: class.to_owned(),
                    });
                    let errors = hub.upstream_errors(exchange, class);
                    counter.inc_by(errors.saturating_sub(counter.get()));
                }
            }
        }
        if let Some(store) = store {
            if self.advisor.get().is_some() {
                let now = chrono::Utc::now();
                let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
                match store.llm_spend(today).await {
                    Ok(spent) => {
                        let spent = rust_decimal::prelude::ToPrimitive::to_f64(&spent);
                        self.llm_spent_today.set(spent.unwrap_or(0.0));
                    }
                    Err(e) => tracing::warn!(error = %e, "LLM spending unavailable for /metrics"),
                }
            }
            match store.depth().await {
                Ok(depth) => {
                    let now = chrono::Utc::now();
                    let label = |kind: nexus_core::ports::jobs::JobKind| JobLabels {
                        r#type: kind.as_str().to_owned(),
                    };
                    // Every kind is shown, at 0 when none is queued.
                    for kind in nexus_core::ports::jobs::JobKind::ALL {
                        for family in [&self.jobs_queued, &self.jobs_dead, &self.jobs_oldest_age] {
                            family.get_or_create(&label(kind)).set(0);
                        }
                    }
                    for d in &depth {
                        let count = i64::try_from(d.count).unwrap_or(i64::MAX);
                        match d.state {
                            JobState::Queued => {
                                self.jobs_queued.get_or_create(&label(d.kind)).set(count);
                                let late = d
                                    .oldest_due
                                    .map_or(0, |due| (now - due).num_seconds().max(0));
                                self.jobs_oldest_age.get_or_create(&label(d.kind)).set(late);
                            }
                            JobState::Dead => {
                                self.jobs_dead.get_or_create(&label(d.kind)).set(count);
                            }
                            _ => {}
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "queue depth unavailable for /metrics"),
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use nexus_core::{ExchangeError, ExchangeId};

    use super::*;

    #[test]
    fn resident_memory_is_read_from_proc_status_in_bytes() {
        // The lines as Linux writes them (proc(5)), tab after the colon.
        let status =
            "Name:\tnexus\nVmPeak:\t 2000000 kB\nVmHWM:\t  812344 kB\nVmRSS:\t  401200 kB\n";
        assert_eq!(
            resident_memory(status),
            ResidentMemory {
                now: 401_200 * 1024,
                peak: 812_344 * 1024
            }
        );
        assert_eq!(resident_memory("Name:\tx\n"), ResidentMemory::default());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_process_resident_memory_is_exposed() {
        let text = Metrics::default().render(None).await;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or_default()
        };
        let (now, peak) = (
            value("nexus_process_resident_memory_bytes"),
            value("nexus_process_resident_memory_peak_bytes"),
        );
        assert!(now > 1e6 && peak >= now, "{now} {peak}");
    }

    #[tokio::test]
    async fn venue_errors_are_counted_by_class_from_zero() {
        let metrics = Metrics::default();
        let line = |class: &str| {
            format!("nexus_exchange_errors_total{{exchange=\"binance\",class=\"{class}\"}}")
        };
        let before = metrics.render(None).await;
        assert!(
            before.contains(&format!("{} 0", line("rate_limited"))),
            "{before}"
        );
        let limited = ExchangeError::RateLimited {
            exchange: ExchangeId::Binance,
            retry_after: None,
        };
        metrics.exchange_error("binance", &limited);
        metrics.exchange_error("binance", &limited);
        let after = metrics.render(None).await;
        assert!(
            after.contains(&format!("{} 2", line("rate_limited"))),
            "{after}"
        );
        assert!(after.contains(&format!("{} 0", line("outcome_unknown"))));
        // A ban is its own class, from zero.
        assert!(after.contains(&format!("{} 0", line("banned"))), "{after}");
        metrics.exchange_error(
            "binance",
            &ExchangeError::Banned {
                exchange: ExchangeId::Binance,
                retry_after: None,
            },
        );
        let banned = metrics.render(None).await;
        assert!(
            banned.contains(&format!("{} 1", line("banned"))),
            "{banned}"
        );
        assert!(banned.contains(&format!("{} 2", line("rate_limited"))));
    }

    #[tokio::test]
    async fn orders_and_emails_are_shown_at_zero_from_the_start() {
        let fresh = Metrics::default().render(None).await;
        for line in [
            "nexus_orders_total{exchange=\"binance\",status=\"failed\"} 0",
            "nexus_orders_total{exchange=\"paper\",status=\"filled\"} 0",
            "nexus_emails_total{template=\"verification\",state=\"failed\"} 0",
            "nexus_emails_total{template=\"trade_alert\",state=\"sent\"} 0",
        ] {
            assert!(fresh.contains(line), "{line} in\n{fresh}");
        }
        assert!(
            !fresh.contains("nexus_llm_calls_total{"),
            "no advisor, no calls"
        );
        assert!(fresh.contains("nexus_llm_budget_usd 0"), "{fresh}");
        for status in ORDER_STATES {
            assert_eq!(
                status.as_str().parse::<OrderState>().ok(),
                Some(status),
                "{}",
                status.as_str()
            );
        }
    }

    #[tokio::test]
    async fn an_advisors_model_is_shown_at_zero_once_known() {
        let metrics = Metrics::default();
        metrics.llm_model("openai", "gpt-5.6-luna");
        let text = metrics.render(None).await;
        for line in [
            "nexus_llm_calls_total{provider=\"openai\",model=\"gpt-5.6-luna\",outcome=\"answered\"} 0",
            "nexus_llm_calls_total{provider=\"openai\",model=\"gpt-5.6-luna\",outcome=\"timeout\"} 0",
            "nexus_llm_tokens_total{provider=\"openai\",model=\"gpt-5.6-luna\",direction=\"input\"} 0",
            "nexus_llm_cost_usd_total{provider=\"openai\",model=\"gpt-5.6-luna\"} 0",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }

    /// A Binance REST side that is down: only the stream can serve.
    struct Down;

    #[async_trait::async_trait]
    impl nexus_core::MarketData for Down {
        fn exchange(&self) -> ExchangeId {
            ExchangeId::Binance
        }
        async fn tickers(
            &self,
            _: &[nexus_core::Symbol],
        ) -> Result<Vec<nexus_core::Ticker>, ExchangeError> {
            Err(ExchangeError::Transient {
                exchange: ExchangeId::Binance,
                message: "down".into(),
                source: None,
            })
        }
        async fn candles(
            &self,
            symbol: nexus_core::Symbol,
            _: nexus_core::Interval,
            _: usize,
        ) -> Result<Vec<nexus_core::Candle>, ExchangeError> {
            self.tickers(&[symbol]).await.map(|_| Vec::new())
        }
    }

    #[tokio::test]
    async fn stream_messages_and_fallbacks_are_shown() {
        use nexus_exchanges::mock::stream::{MockStream, until};
        use nexus_exchanges::stream::{StreamConfig, StreamFeed};

        let (mock, url) = MockStream::start().await;
        let feed = Arc::new(StreamFeed::new(
            Arc::new(nexus_exchanges::binance::stream::BinanceStream::new(&url)),
            StreamConfig::default(),
        ));
        let hub = Arc::new(
            nexus_exchanges::MarketDataHub::new(
                nexus_exchanges::HubConfig::default(),
                [Arc::new(Down) as Arc<dyn nexus_core::MarketData>],
            )
            .unwrap()
            .with_streams([Arc::clone(&feed)]),
        );
        let metrics = Metrics::default();
        metrics.watch_hub(Arc::clone(&hub));
        let btc: nexus_core::Symbol = "BTC/USDT".parse().unwrap();
        assert!(
            hub.tickers(ExchangeId::Binance, &[btc]).await.is_err(),
            "REST is down"
        );
        until(
            "the subscription",
            std::time::Duration::from_secs(5),
            || !mock.received().is_empty(),
        )
        .await;
        mock.push(r#"{"result":null,"id":1}"#);
        mock.push("not json");
        until("both messages", std::time::Duration::from_secs(5), || {
            feed.stats().messages() == 2
        })
        .await;
        let text = metrics.render(None).await;
        for line in [
            "nexus_market_data_stream_events_total{exchange=\"binance\",event=\"message\"} 2",
            "nexus_market_data_stream_events_total{exchange=\"binance\",event=\"unreadable\"} 1",
            "nexus_market_data_stream_events_total{exchange=\"binance\",event=\"reconnect\"} 0",
            "nexus_market_data_stream_fallbacks_total{exchange=\"binance\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
