//! Live events: what the engine and the API change, published once and streamed to the
//! users it concerns (`GET /api/v1/events`, [`crate::api::events`]).
//!
//! Publishing happens after the change is committed. With PostgreSQL the events travel
//! as notifications ([`relay`]), so every instance receives every event, in one order,
//! and a client resumes on whichever instance it reaches; with SQLite (one process) they
//! go straight into the process's [`EventHub`]. Each instance keeps the last events in a
//! bounded buffer for resuming; a client whose `Last-Event-ID` has left it gets a `reset`.
//! Events are a notification, not the record: a crash between a commit and its
//! publication loses that event (the state is in the store), and streams reset whenever
//! the server knows it missed some.

pub mod hub;
pub mod relay;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nexus_core::ports::accounts::BotRecord;
use nexus_core::ports::activity::Execution;
use nexus_core::regime::Regime;
use nexus_core::regime::gate::GateDecision;
use nexus_core::{BotId, ExchangeId, Interval, Symbol, Timestamp, UserId};
use nexus_store::Store;
use nexus_store::notify::Notifications;
use poem_openapi::types::ToJSON;

pub use crate::api::events::BotChange;
pub use hub::{Audience, EventHub, Item, Resume, Stamped, StreamPermit, Subscription};

use crate::metrics::{EventLabels, Metrics};

/// Events kept per instance for resuming, unless `NEXUS_EVENT_BUFFER` says otherwise.
pub const DEFAULT_BUFFER: usize = 10_000;

/// The event types published (a `reset` is made by each stream, not published).
pub const KINDS: [&str; 5] = ["order", "fill", "position", "bot", "regime"];

/// Something users are shown as it happens.
#[derive(Debug, Clone)]
pub enum Happening {
    /// A venue's answer about an order as recorded: the order, its fill and its bot's
    /// position.
    Execution(Execution),
    /// A bot created, changed, paused or resumed.
    Bot {
        /// What happened.
        change: BotChange,
        /// The bot now.
        bot: BotRecord,
        /// When.
        at: Timestamp,
    },
    /// A bot deleted.
    BotDeleted {
        /// Its owner.
        user: UserId,
        /// The bot.
        bot: BotId,
        /// Its venue.
        exchange: ExchangeId,
        /// Its pair.
        symbol: Symbol,
        /// When.
        at: Timestamp,
    },
    /// A market classified into another regime, with the gate's decision for entries.
    Regime {
        /// The gate's decision (its market, regime and time).
        decision: GateDecision,
        /// The interval classified.
        interval: Interval,
        /// The regime before.
        previous: Option<Regime>,
        /// How clearly the indicators show the new regime.
        confidence: Option<f64>,
    },
}

/// Publishes events to every instance's streams.
pub struct Events {
    hub: Arc<EventHub>,
    channel: Option<Arc<dyn Notifications>>,
    /// This process's part of every id it gives (ids are unique across instances).
    tag: String,
    next: AtomicU64,
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("tag", &self.tag)
            .field("shared", &self.channel.is_some())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// Events within this process only, `capacity` kept for resuming.
    #[must_use]
    pub fn local(capacity: usize) -> Arc<Self> {
        Arc::new(Self::new(Arc::new(EventHub::new(capacity)), None, None))
    }

    /// Events over `store`: shared with the other instances through PostgreSQL
    /// notifications (a task relays them into this instance's hub until
    /// [`Events::close`]), or within this process for SQLite.
    #[must_use]
    pub fn start(store: &dyn Store, capacity: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        let hub = Arc::new(EventHub::new(capacity));
        let channel = store.notifications();
        if let Some(channel) = &channel {
            tokio::spawn(relay::run(Arc::clone(channel), Arc::clone(&hub)));
        }
        Arc::new(Self::new(hub, channel, Some(metrics)))
    }

    fn new(
        hub: Arc<EventHub>,
        channel: Option<Arc<dyn Notifications>>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let tag = format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32);
        Self {
            hub,
            channel,
            tag,
            next: AtomicU64::new(1),
            metrics,
        }
    }

    /// This instance's hub (what streams subscribe to).
    #[must_use]
    pub fn hub(&self) -> &Arc<EventHub> {
        &self.hub
    }

    /// Ends every stream of this instance and stops relaying (the server is stopping).
    pub fn close(&self) {
        self.hub.close();
    }

    /// Publishes what happened. Never fails: an event that cannot be published is logged
    /// and counted, and this instance's streams reset.
    pub async fn publish(&self, happenings: &[Happening]) {
        let mut stamped = Vec::new();
        for happening in happenings {
            match crate::api::events::render(happening) {
                Ok(events) => {
                    for (audience, event) in events {
                        let id = self.next.fetch_add(1, Ordering::Relaxed);
                        stamped.push(Stamped {
                            id: format!("{}-{id}", self.tag),
                            audience,
                            kind: event.kind.as_str().to_owned(),
                            data: event.to_json_string(),
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an event could not be rendered");
                    self.lost(1);
                }
            }
        }
        if stamped.is_empty() {
            return;
        }
        if let Some(metrics) = &self.metrics {
            for event in &stamped {
                metrics
                    .events
                    .get_or_create(&EventLabels {
                        r#type: event.kind.clone(),
                    })
                    .inc();
            }
        }
        let Some(channel) = &self.channel else {
            self.hub.accept(stamped);
            return;
        };
        let (payloads, too_large) = relay::payloads(&stamped);
        if !too_large.is_empty() {
            tracing::warn!(events = too_large.len(), "events too large to publish");
            self.lost(too_large.len());
        }
        if let Err(e) = channel.notify(relay::CHANNEL, &payloads).await {
            tracing::warn!(error = %e, events = stamped.len(), "events could not be published");
            self.lost(stamped.len());
        }
    }

    /// Publishes that Nexus paused `bots` (read back from `store`; one gone meanwhile is
    /// left out).
    pub async fn publish_paused(&self, store: &dyn Store, bots: &[BotId], at: Timestamp) {
        let mut paused = Vec::with_capacity(bots.len());
        for &id in bots {
            match store.bot(id).await {
                Ok(Some(bot)) => paused.push(Happening::Bot {
                    change: BotChange::Paused,
                    bot,
                    at,
                }),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(bot = %id, error = %e, "a paused bot could not be read for its event");
                    self.lost(1);
                }
            }
        }
        self.publish(&paused).await;
    }

    /// Counts `n` events lost, and resets this instance's streams.
    fn lost(&self, n: usize) {
        if let Some(metrics) = &self.metrics {
            metrics.events_lost.inc_by(n as u64);
        }
        self.hub.gap();
    }
}
