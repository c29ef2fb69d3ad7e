//! Trade alerts: after fills are recorded the worker enqueues a `trade_alert` job
//! carrying the alerts of its whole batch (one job per batch, not one per order: the queue
//! is the engine's busiest table); this worker emails each bot's owner.

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
    /// The order's state (`filled`, `partially_filled`), or `out_of_sync`.
    pub state: String,
    /// For `out_of_sync`: what the position said the bot held, and what the account held
    /// (`quantity` is then what the exit sells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_sync: Option<(Quantity, Quantity)>,
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
        }
    }

    fn email(&self, to: &str) -> Email {
        if let Some((expected, available)) = self.out_of_sync {
            let base = self.symbol.base();
            let line = format!(
                "Your bot's {} position on {} was out of sync with the account: the bot held \
                 {expected} {base}, the account only {available} {base}. {} {base} was sold; \
                 the position is closed and flagged for review.",
                self.symbol, self.exchange, self.quantity
            );
            return Email {
                template: "out_of_sync".to_owned(),
                to: to.to_owned(),
                subject: format!("Nexus: your {} position was out of sync", self.symbol),
                text: format!("{line}\n\nBot {}", self.bot),
                html: format!(
                    "<p>{}</p><p>Bot <code>{}</code></p>",
                    escape(&line),
                    self.bot
                ),
            };
        }
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
            template: "trade_alert".to_owned(),
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

/// Sends a job's alerts. Those that could not be sent are returned with the reason (the
/// others are not sent again).
async fn deliver(
    store: &dyn Store,
    email: Option<&Arc<dyn EmailSender>>,
    alerts: TradeAlerts,
) -> (Vec<TradeAlert>, Option<String>) {
    let Some(email) = email else {
        for alert in &alerts.alerts {
            tracing::debug!(user = %alert.user, order = %alert.client_order_id, "trade alert (email alerts off)");
        }
        return (Vec::new(), None);
    };
    let mut failed = Vec::new();
    let mut reason = None;
    // A batch often holds several trades of one user: each address is read once.
    let mut addresses: std::collections::HashMap<UserId, Option<String>> =
        std::collections::HashMap::new();
    for alert in alerts.alerts {
        let address = match addresses.get(&alert.user) {
            Some(known) => Ok(known.clone()),
            None => store.user(alert.user).await.map(|user| {
                let address = user.map(|u| u.email);
                addresses.insert(alert.user, address.clone());
                address
            }),
        };
        let sent = match address {
            Ok(Some(to)) => email
                .send(&alert.email(&to))
                .await
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(()), // The account is gone: nobody to tell.
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = sent {
            reason = Some(e);
            failed.push(alert);
        }
    }
    (failed, reason)
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
            let alerts = match TradeAlerts::of(&job) {
                Ok(alerts) => alerts,
                Err(e) => {
                    fail(store.as_ref(), &job, &worker, &e).await;
                    continue;
                }
            };
            let count = alerts.alerts.len();
            match deliver(store.as_ref(), email.as_ref(), alerts).await {
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
    use crate::email::EmailError;

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
        let email = alert.email("a@example.com");
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
            Some(Arc::clone(&sender) as Arc<dyn EmailSender>),
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
