//! Trade alerts: after a fill is recorded the worker enqueues a `trade_alert` job (one per
//! order and state, so a replay alerts once); this worker emails the bot's owner.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_core::{BotId, ClientOrderId, ExchangeId, Price, Quantity, Side, Symbol, UserId};
use nexus_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::email::{Email, EmailSender, escape};

/// How long an alert may hold its job.
const LEASE: Duration = Duration::from_secs(60);

/// A `trade_alert` job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeAlert {
    /// The bot's owner.
    pub user: UserId,
    /// The bot.
    pub bot: BotId,
    /// The venue.
    pub exchange: ExchangeId,
    /// The pair.
    pub symbol: Symbol,
    /// Bought or sold.
    pub side: Side,
    /// How much was filled.
    pub quantity: Quantity,
    /// At what average price.
    pub price: Option<Price>,
    /// The order's client id.
    pub client_order_id: ClientOrderId,
    /// The order's state (`filled`, `partially_filled`).
    pub state: String,
}

impl TradeAlert {
    /// The job: one per order and state.
    ///
    /// # Errors
    /// The payload does not serialise (it always does).
    pub fn new_job(&self) -> Result<NewJob, serde_json::Error> {
        Ok(
            NewJob::new(JobKind::TradeAlert, serde_json::to_string(self)?)
                .unique(format!("alert:{}:{}", self.client_order_id, self.state)),
        )
    }

    fn email(&self, to: &str) -> Email {
        let verb = match self.side {
            Side::Buy => "Bought",
            Side::Sell => "Sold",
        };
        let price = self.price.map_or_else(String::new, |p| format!(" at {p}"));
        let line = format!(
            "{verb} {} {}{price} on {} ({}).",
            self.quantity, self.symbol, self.exchange, self.state
        );
        Email {
            to: to.to_owned(),
            subject: format!("Nexus: {verb} {} {}", self.quantity, self.symbol),
            text: format!("{line}\n\nOrder {}", self.client_order_id),
            html: format!(
                "<p>{}</p><p>Order <code>{}</code></p>",
                escape(&line),
                self.client_order_id
            ),
        }
    }
}

/// Sends one alert; `Err` to retry.
async fn deliver(
    store: &dyn Store,
    email: Option<&Arc<dyn EmailSender>>,
    job: &Job,
) -> Result<(), String> {
    let alert: TradeAlert =
        serde_json::from_str(&job.payload).map_err(|e| format!("not an alert: {e}"))?;
    let Some(email) = email else {
        tracing::debug!(user = %alert.user, order = %alert.client_order_id, "trade alert (email alerts off)");
        return Ok(());
    };
    let Some(user) = store.user(alert.user).await.map_err(|e| e.to_string())? else {
        return Ok(()); // The account is gone: nobody to tell.
    };
    email
        .send(&alert.email(&user.email))
        .await
        .map_err(|e| e.to_string())
}

/// Claims and delivers trade alerts until `stop` says so (`email` `None`: alerts are
/// only logged).
pub async fn run_alerts(
    store: Arc<dyn Store>,
    email: Option<Arc<dyn EmailSender>>,
    worker: String,
    stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let jobs = match store
            .claim(&[JobKind::TradeAlert], &worker, LEASE, 128, Utc::now())
            .await
        {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "claiming alerts failed");
                Vec::new()
            }
        };
        if jobs.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let mut delivered = Vec::new();
        for job in jobs {
            match deliver(store.as_ref(), email.as_ref(), &job).await {
                Ok(()) => delivered.push(job.id),
                Err(e) => {
                    if let Err(e) = store
                        .fail(job.id, &worker, &e, RetryPolicy::default(), Utc::now())
                        .await
                    {
                        tracing::warn!(error = %e, "recording an alert's failure failed");
                    }
                }
            }
        }
        // Completed together: one write for the claim, not one per alert.
        if !delivered.is_empty()
            && let Err(e) = store.complete(&delivered, &worker, Utc::now()).await
        {
            tracing::warn!(error = %e, "completing alerts failed");
        }
    }
}
