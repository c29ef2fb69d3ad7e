//! Trade alerts: after fills are recorded the worker enqueues a `trade_alert` job
//! carrying the alerts of its whole batch (one job per batch, not one per order: the queue
//! is the engine's busiest table); so do refused or failed orders, bots the system paused,
//! and entries the gate blocked. This worker sends each as its owner's preferences say:
//! an email when that event's email preference is on, and an `alert_webhook` job when the
//! owner's webhook takes the event.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::ports::alerts::{AlertEvent, AlertPreferences};
use nexus_core::ports::jobs::{Job, JobKind, NewJob, RetryPolicy};
use nexus_core::{BotId, ClientOrderId, ExchangeId, Price, Quantity, Side, Symbol, UserId};
use nexus_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::alerts::webhook::WebhookAlert;
use crate::email::EmailSender;
use crate::email::alert_templates;

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
    /// The order's state (`filled`, `partially_filled`), or `out_of_sync`.
    pub state: String,
    /// For `out_of_sync`: what the position said the bot held, and what the account held
    /// (`quantity` is then what the exit sells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_sync: Option<(Quantity, Quantity)>,
    /// Why, for an order refused or failed, a bot paused, or an entry blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A `trade_alert` job's payload: the alerts of one batch of trades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeAlerts {
    /// One per order and state.
    pub alerts: Vec<TradeAlert>,
}

impl TradeAlerts {
    /// The job, unique per set of (order, state): the same reports recorded again alert
    /// once.
    ///
    /// # Errors
    /// The payload does not serialise (it always does).
    pub fn new_job(&self) -> Result<NewJob, serde_json::Error> {
        let mut keys: Vec<String> = self
            .alerts
            .iter()
            .map(|a| format!("{}:{}", a.client_order_id, a.state))
            .collect();
        keys.sort_unstable();
        let key = match keys.as_slice() {
            [one] => format!("alert:{one}"),
            _ => format!(
                "alerts:{}",
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, keys.join(",").as_bytes())
            ),
        };
        Ok(NewJob::new(JobKind::TradeAlert, serde_json::to_string(self)?).unique(key))
    }

    /// A job's alerts (a job queued by an earlier version carries one, bare).
    fn of(job: &Job) -> Result<Self, String> {
        serde_json::from_str::<Self>(&job.payload)
            .or_else(|_| {
                serde_json::from_str::<TradeAlert>(&job.payload).map(|alert| Self {
                    alerts: vec![alert],
                })
            })
            .map_err(|e| format!("not an alert: {e}"))
    }
}

impl TradeAlert {
    /// The owner's alert about a position found out of sync with its account, keyed by
    /// the exit's order id (so a replayed fan-out alerts once).
    #[must_use]
    pub fn out_of_sync(
        record: &nexus_core::ports::activity::OutOfSyncRecord,
        client_order_id: ClientOrderId,
    ) -> Self {
        Self {
            user: record.user,
            bot: record.bot,
            exchange: record.exchange,
            symbol: record.symbol,
            side: Side::Sell,
            quantity: record.sold,
            price: None,
            client_order_id,
            state: "out_of_sync".into(),
            out_of_sync: Some((record.expected, record.available)),
            detail: None,
        }
    }

    /// The owner's alert about a bot of theirs the system paused (`reason` says why),
    /// keyed by the bot and the moment.
    #[must_use]
    pub fn bot_paused(
        bot: &nexus_core::ports::accounts::BotRecord,
        reason: &str,
        at: nexus_core::Timestamp,
    ) -> Self {
        let key = uuid::Uuid::new_v5(
            bot.id.as_uuid(),
            format!("paused:{}", at.timestamp_millis()).as_bytes(),
        );
        Self {
            user: bot.user,
            bot: bot.id,
            exchange: bot.exchange,
            symbol: bot.symbol,
            side: Side::Buy,
            quantity: Quantity::ZERO,
            price: None,
            client_order_id: ClientOrderId::from_uuid(key),
            state: "bot_paused".into(),
            out_of_sync: None,
            detail: Some(reason.to_owned()),
        }
    }

    /// Which preference governs this alert: fills, gate blocks, or errors (refused,
    /// failed or expired orders, positions out of sync, bots paused by the system).
    #[must_use]
    pub fn event(&self) -> AlertEvent {
        match self.state.as_str() {
            "filled" | "partially_filled" => AlertEvent::Fills,
            "gate_blocked" => AlertEvent::GateBlocks,
            _ => AlertEvent::Errors,
        }
    }

    /// The alert's identity: its order (or bot event) and state.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}", self.client_order_id, self.state)
    }

    /// The JSON a webhook receives: `{"id", "type", "created_at", "data"}`.
    #[must_use]
    pub fn webhook_body(&self, at: nexus_core::Timestamp) -> serde_json::Value {
        serde_json::json!({
            "id": self.key(),
            "type": self.event().as_str(),
            "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": {
                "bot_id": self.bot.as_uuid(),
                "exchange": self.exchange.as_str(),
                "symbol": self.symbol.to_string(),
                "side": self.side,
                "quantity": self.quantity.to_string(),
                "price": self.price.map(|p| p.to_string()),
                "client_order_id": self.client_order_id.as_str(),
                "state": self.state,
                "detail": self.detail,
            },
        })
    }
}

/// Where alerts go: email (when on), and links to preferences in them.
#[derive(Clone)]
pub struct AlertSinks {
    /// The sender (`None`: trade emails are off, `NEXUS_TRADE_ALERTS=off`).
    pub email: Option<Arc<dyn EmailSender>>,
    /// Where users reach the product (the link to change preferences).
    pub public_url: String,
}

/// Sends a job's alerts as their owners' preferences say. Those that could not be sent
/// are returned with the reason (the others are not sent again).
async fn deliver(
    store: &dyn Store,
    sinks: &AlertSinks,
    alerts: TradeAlerts,
) -> (Vec<TradeAlert>, Option<String>) {
    let mut failed = Vec::new();
    let mut reason = None;
    // A batch often holds several trades of one user: each is read once.
    let mut addresses: std::collections::HashMap<UserId, Option<String>> =
        std::collections::HashMap::new();
    // Every owner's preferences in one read (a batch of 250 trades read them one query
    // per owner: 160,000 queries for 300,000 orders at 100,000 bots).
    let mut owners: Vec<UserId> = alerts.alerts.iter().map(|a| a.user).collect();
    owners.sort_unstable();
    owners.dedup();
    let preferences = match store.alert_preferences_of(&owners).await {
        Ok(read) => read,
        Err(e) => return (alerts.alerts, Some(e.to_string())),
    };
    let now = Utc::now();
    for alert in alerts.alerts {
        // Every owner is in the read (with the defaults when they stored none).
        let prefs = preferences.get(&alert.user).cloned().unwrap_or_default();
        let sent = send_one(store, sinks, &alert, &prefs, &mut addresses, now).await;
        if let Err(e) = sent {
            reason = Some(e);
            failed.push(alert);
        }
    }
    (failed, reason)
}

/// Sends one alert: its webhook job (idempotent: unique per alert) and its email.
async fn send_one(
    store: &dyn Store,
    sinks: &AlertSinks,
    alert: &TradeAlert,
    prefs: &AlertPreferences,
    addresses: &mut std::collections::HashMap<UserId, Option<String>>,
    now: chrono::DateTime<Utc>,
) -> Result<(), String> {
    let event = alert.event();
    if prefs.posts(event) {
        let webhook = WebhookAlert {
            user: alert.user,
            event,
            body: alert.webhook_body(now),
        };
        let job = webhook.new_job(&alert.key()).map_err(|e| e.to_string())?;
        store.enqueue(&job, now).await.map_err(|e| e.to_string())?;
    }
    let Some(email) = sinks.email.as_ref().filter(|_| prefs.emails(event)) else {
        tracing::debug!(user = %alert.user, order = %alert.client_order_id, %event, "alert not emailed (preferences or NEXUS_TRADE_ALERTS)");
        return Ok(());
    };
    let address = match addresses.get(&alert.user) {
        Some(known) => known.clone(),
        None => {
            let address = store
                .user(alert.user)
                .await
                .map_err(|e| e.to_string())?
                .map(|u| u.email);
            addresses.insert(alert.user, address.clone());
            address
        }
    };
    // The account is gone: nobody to tell.
    let Some(to) = address else { return Ok(()) };
    email
        .send(&alert_templates::trade_alert(alert, &to, &sinks.public_url))
        .await
        .map_err(|e| e.to_string())
}

/// Claims and delivers trade alerts until `stop` says so.
pub async fn run_alerts(
    store: Arc<dyn Store>,
    sinks: AlertSinks,
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
            let alerts = match TradeAlerts::of(&job) {
                Ok(alerts) => alerts,
                Err(e) => {
                    fail(store.as_ref(), &job, &worker, &e).await;
                    continue;
                }
            };
            let count = alerts.alerts.len();
            match deliver(store.as_ref(), &sinks, alerts).await {
                (failed, _) if failed.is_empty() => delivered.push(job.id),
                // All failed: the job is retried as it is.
                (failed, reason) if failed.len() == count => {
                    let reason = reason.unwrap_or_default();
                    fail(store.as_ref(), &job, &worker, &reason).await;
                }
                // Some were sent: only the others are retried, as a job of their own.
                (failed, reason) => {
                    tracing::warn!(failed = failed.len(), error = ?reason, "some trade alerts could not be sent");
                    let retry = TradeAlerts { alerts: failed }.new_job().map(|mut job| {
                        job.run_at = Some(Utc::now() + chrono::Duration::seconds(30));
                        job
                    });
                    match retry {
                        Ok(retry) => match store.enqueue(&retry, Utc::now()).await {
                            Ok(_) => delivered.push(job.id),
                            Err(e) => fail(store.as_ref(), &job, &worker, &e.to_string()).await,
                        },
                        Err(e) => fail(store.as_ref(), &job, &worker, &e.to_string()).await,
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

async fn fail(store: &dyn Store, job: &Job, worker: &str, error: &str) {
    if let Err(e) = store
        .fail(job.id, worker, error, RetryPolicy::default(), Utc::now())
        .await
    {
        tracing::warn!(error = %e, "recording an alert's failure failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use nexus_core::ports::accounts::Role;
    use nexus_store::SqliteStore;
    use nexus_store::vault::{Keyring, MasterKey};

    use super::*;
    use crate::email::{Email, EmailError};

    fn alert(user: UserId, coid: &str, state: &str) -> TradeAlert {
        TradeAlert {
            user,
            bot: BotId::new(uuid::Uuid::new_v4()),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            side: Side::Buy,
            quantity: Quantity::new(rust_decimal::Decimal::new(1, 3)).unwrap(),
            price: Some(Price::new(rust_decimal::Decimal::from(60_000)).unwrap()),
            client_order_id: ClientOrderId::new(coid).unwrap(),
            state: state.to_owned(),
            out_of_sync: None,
            detail: None,
        }
    }

    #[test]
    fn an_out_of_sync_alert_says_what_was_missing_and_what_was_sold() {
        let mut alert = alert(UserId::new(uuid::Uuid::new_v4()), "nx-x", "out_of_sync");
        alert.quantity = Quantity::new(rust_decimal::Decimal::new(5, 3)).unwrap();
        alert.out_of_sync = Some((
            Quantity::new(rust_decimal::Decimal::new(115, 4)).unwrap(),
            Quantity::new(rust_decimal::Decimal::new(5, 3)).unwrap(),
        ));
        let email = alert_templates::trade_alert(&alert, "a@example.com", "https://nexus.test");
        assert_eq!(
            email.subject,
            "Nexus: your BTC/USDT position was out of sync"
        );
        assert!(
            email.text.contains(
                "the bot held 0.0115 BTC, the account only 0.005 BTC. 0.005 BTC was sold"
            ),
            "{}",
            email.text
        );
        // Alerts queued before the field existed still read.
        let mut old = serde_json::to_value(alert.clone()).unwrap();
        old.as_object_mut().unwrap().remove("out_of_sync");
        let read: TradeAlert = serde_json::from_value(old).unwrap();
        assert_eq!(read.out_of_sync, None);
    }

    #[test]
    fn a_batch_is_one_job_unique_per_its_orders_and_states() {
        let user = UserId::new(uuid::Uuid::new_v4());
        let (a, b) = (alert(user, "nx-a", "filled"), alert(user, "nx-b", "filled"));
        let key = |alerts: Vec<TradeAlert>| TradeAlerts { alerts }.new_job().unwrap().unique_key;
        assert_eq!(
            key(vec![a.clone(), b.clone()]),
            key(vec![b.clone(), a.clone()]),
            "the same alerts in another order are the same job"
        );
        assert_ne!(key(vec![a.clone(), b.clone()]), key(vec![a.clone()]));
        let partial = alert(user, "nx-b", "partially_filled");
        assert_ne!(key(vec![a.clone(), b]), key(vec![a.clone(), partial]));
        assert_eq!(key(vec![a.clone()]).as_deref(), Some("alert:nx-a:filled"));

        // A job queued by the previous version carries one bare alert.
        let job = |payload: String| Job {
            id: nexus_core::ports::jobs::JobId(1),
            kind: JobKind::TradeAlert,
            payload,
            unique_key: None,
            priority: 0,
            attempts: 1,
            max_attempts: 3,
            last_error: None,
            state: nexus_core::ports::jobs::JobState::Running,
        };
        let bare = TradeAlerts::of(&job(serde_json::to_string(&a).unwrap())).unwrap();
        assert_eq!(bare.alerts, vec![a]);
        assert!(TradeAlerts::of(&job("{}".into())).is_err());
    }

    /// Refuses mail to one address, keeps the rest.
    struct Picky {
        refuse: String,
        sent: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl EmailSender for Picky {
        async fn send(&self, email: &Email) -> Result<(), EmailError> {
            if email.to == self.refuse {
                return Err(EmailError {
                    to: email.to.clone(),
                    reason: "mailbox unavailable".into(),
                });
            }
            self.sent.lock().unwrap().push(email.to.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn only_the_alerts_that_failed_are_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
        let keys = Keyring::new(MasterKey::generate(), Vec::new());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url, keys).await.unwrap());
        let (ok, refused) = (
            UserId::new(uuid::Uuid::new_v4()),
            UserId::new(uuid::Uuid::new_v4()),
        );
        for (user, email) in [(ok, "ok@example.com"), (refused, "full@example.com")] {
            store
                .create_user(user, email, None, Role::User, Utc::now())
                .await
                .unwrap();
        }
        let batch = TradeAlerts {
            alerts: vec![
                alert(ok, "nx-ok", "filled"),
                alert(refused, "nx-no", "filled"),
                alert(ok, "nx-ok-2", "filled"),
            ],
        };
        store
            .enqueue(&batch.new_job().unwrap(), Utc::now())
            .await
            .unwrap();
        let sender = Arc::new(Picky {
            refuse: "full@example.com".into(),
            sent: Mutex::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(run_alerts(
            Arc::clone(&store),
            AlertSinks {
                email: Some(Arc::clone(&sender) as Arc<dyn EmailSender>),
                public_url: "https://nexus.test".into(),
            },
            "alerts".into(),
            stopped,
        ));
        for _ in 0..100 {
            if sender.sent.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // One pass of the worker, then stop before the retry comes due (30 s later).
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.send(true).unwrap();
        worker.await.unwrap();
        assert_eq!(
            *sender.sent.lock().unwrap(),
            vec!["ok@example.com", "ok@example.com"],
            "both of the first user's trades, the refused one not"
        );

        let later = Utc::now() + chrono::Duration::seconds(60);
        let retry = store
            .claim(&[JobKind::TradeAlert], "t", LEASE, 10, later)
            .await
            .unwrap();
        assert_eq!(retry.len(), 1, "the batch is done; one retry job remains");
        let alerts = TradeAlerts::of(&retry[0]).unwrap().alerts;
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].client_order_id.as_str(), "nx-no");
    }
}
