//! Prometheus metrics at `/metrics` (text exposition format), with the official
//! `prometheus-client` crate. Each metric is incremented where the thing happens; the
//! queue depth is read from the store at scrape time.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::ports::jobs::JobState;
use nexus_store::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of HTTP requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, …
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
        Self {
            registry,
            http_requests,
            http_latency,
            orders,
            job_duration,
            jobs_queued,
        }
    }
}

impl Metrics {
    /// Counts an answered HTTP request.
    pub fn http(&self, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                status,
            })
            .inc();
        self.http_latency.observe(elapsed.as_secs_f64());
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

    /// The exposition text, with the queue depth read from `store` now.
    pub async fn render(&self, store: Option<&Arc<dyn Store>>) -> String {
        if let Some(store) = store {
            match store.depth().await {
                Ok(depth) => {
                    self.jobs_queued.clear();
                    for d in depth.iter().filter(|d| d.state == JobState::Queued) {
                        self.jobs_queued
                            .get_or_create(&JobLabels {
                                r#type: d.kind.as_str().to_owned(),
                            })
                            .set(i64::try_from(d.count).unwrap_or(i64::MAX));
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
