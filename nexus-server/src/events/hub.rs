//! One instance's buffer of recent events and its live feed. Events arrive in one order
//! on every instance (see [`super::relay`]), so an id names the same place in each buffer
//! and a stream resumes after it on whichever instance the client reaches.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use nexus_core::{ExchangeId, Symbol, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

/// Who sees an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// One user (their orders, fills, positions and bots).
    User(UserId),
    /// Every user with a bot on this market (its regime).
    Market(ExchangeId, Symbol),
}

/// An event as streamed: its id, who sees it, its type and its JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stamped {
    /// Unique across the deployment; what a client sends back as `Last-Event-ID`.
    pub id: String,
    /// Who sees it.
    pub audience: Audience,
    /// The SSE event type (`order`, `fill`, …).
    pub kind: String,
    /// The event's JSON (an `Event` of the API). Between instances it travels as JSON
    /// within the notification ([`super::relay::payloads`]), not as a string of JSON.
    #[serde(deserialize_with = "embedded_json")]
    pub data: String,
}

/// `data` as a notification carries it: the event's JSON itself, or (from a release
/// before events were embedded) a string holding it.
fn embedded_json<'de, D: serde::Deserializer<'de>>(from: D) -> Result<String, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(from)?;
    if raw.get().starts_with('"') {
        serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)
    } else {
        Ok(raw.get().to_owned())
    }
}

/// What the live feed carries.
#[derive(Debug, Clone)]
pub enum Item {
    /// An event.
    Event(Arc<Stamped>),
    /// Events may have been missed (the instance's channel to the others was lost):
    /// every stream tells its client to read the state again.
    Gap,
}

/// Where a new stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID`: from now on.
    Live,
    /// After the client's last event, which the buffer still holds.
    Resumed,
    /// The client's last event is no longer held (too old, or this instance started
    /// after it): it must read the state again.
    Lost,
}

/// A new stream: what it missed, and the live feed from then on (with nothing between).
#[derive(Debug)]
pub struct Subscription {
    /// Events after the client's last one, oldest first (every audience: the stream
    /// filters them).
    pub backlog: Vec<Arc<Stamped>>,
    /// Where it starts.
    pub resume: Resume,
    /// The newest event held when it started (the id a reset carries).
    pub latest: Option<String>,
    /// Events from now on.
    pub live: broadcast::Receiver<Item>,
}

struct Ring {
    events: VecDeque<Arc<Stamped>>,
}

/// Recent events, at most `capacity`, and the live feed of new ones.
pub struct EventHub {
    capacity: usize,
    ring: Mutex<Ring>,
    live: broadcast::Sender<Item>,
    closed: watch::Sender<bool>,
    streams: Mutex<HashMap<UserId, usize>>,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl EventHub {
    /// A hub holding the last `capacity` events (at least 1).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (live, _) = broadcast::channel(capacity);
        Self {
            capacity,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(4096)),
            }),
            live,
            closed: watch::Sender::new(false),
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// How many events it holds at most.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes events in, in order: held for resuming and sent to every stream.
    pub fn accept(&self, events: impl IntoIterator<Item = Stamped>) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            let event = Arc::new(event);
            if ring.events.len() == self.capacity {
                ring.events.pop_front();
            }
            ring.events.push_back(Arc::clone(&event));
            // Sent under the lock, so a subscription taken meanwhile misses nothing.
            let _ = self.live.send(Item::Event(event));
        }
    }

    /// Events may have been missed: nothing held can be resumed after any more, and every
    /// stream resets its client.
    pub fn gap(&self) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.events.clear();
        let _ = self.live.send(Item::Gap);
    }

    /// A stream's start after the event `last_id` (none: from now on).
    #[must_use]
    pub fn subscribe(&self, last_id: Option<&str>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let live = self.live.subscribe();
        let latest = ring.events.back().map(|e| e.id.clone());
        let (resume, backlog) = match last_id {
            None => (Resume::Live, Vec::new()),
            Some(last) => match ring.events.iter().rposition(|e| e.id == last) {
                Some(at) => (
                    Resume::Resumed,
                    ring.events.iter().skip(at + 1).cloned().collect(),
                ),
                None => (Resume::Lost, Vec::new()),
            },
        };
        Subscription {
            backlog,
            resume,
            latest,
            live,
        }
    }

    /// Counts a new stream of `user`'s: `None` when they already have `max` open.
    #[must_use]
    pub fn open_stream(self: &Arc<Self>, user: UserId, max: usize) -> Option<StreamPermit> {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let open = streams.entry(user).or_default();
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(StreamPermit {
            hub: Arc::clone(self),
            user,
        })
    }

    /// Streams open on this instance.
    #[must_use]
    pub fn open_streams(&self) -> usize {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// Ends every stream (the server is stopping; clients reconnect elsewhere).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Becomes `true` when the hub closes.
    #[must_use]
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

/// One open stream, counted against its user until dropped.
#[derive(Debug)]
pub struct StreamPermit {
    hub: Arc<EventHub>,
    user: UserId,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = self
            .hub
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = streams.get_mut(&self.user) {
            *open -= 1;
            if *open == 0 {
                streams.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Stamped {
        Stamped {
            id: id.into(),
            audience: Audience::User(UserId::new(uuid::Uuid::nil())),
            kind: "order".into(),
            data: "{}".into(),
        }
    }

    fn ids(events: &[Arc<Stamped>]) -> Vec<&str> {
        events.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn a_stream_resumes_after_the_last_event_it_saw() {
        let hub = EventHub::new(10);
        hub.accept(["a", "b", "c", "d"].map(event));
        let sub = hub.subscribe(Some("b"));
        assert_eq!(sub.resume, Resume::Resumed);
        assert_eq!(ids(&sub.backlog), ["c", "d"]);
        assert_eq!(sub.latest.as_deref(), Some("d"));
        let sub = hub.subscribe(Some("d"));
        assert_eq!(sub.resume, Resume::Resumed);
        assert!(sub.backlog.is_empty());
        let sub = hub.subscribe(None);
        assert_eq!(sub.resume, Resume::Live);
        assert!(sub.backlog.is_empty());
    }

    #[test]
    fn an_event_pushed_out_of_the_buffer_cannot_be_resumed_after() {
        let hub = EventHub::new(3);
        hub.accept(["a", "b", "c", "d"].map(event));
        assert_eq!(hub.subscribe(Some("a")).resume, Resume::Lost);
        let sub = hub.subscribe(Some("b"));
        assert_eq!(ids(&sub.backlog), ["c", "d"]);
        assert_eq!(hub.subscribe(Some("unknown")).resume, Resume::Lost);
    }

    #[tokio::test]
    async fn a_gap_forgets_the_buffer_and_reaches_live_streams() {
        let hub = EventHub::new(10);
        hub.accept(["a", "b"].map(event));
        let mut sub = hub.subscribe(None);
        hub.gap();
        assert!(matches!(sub.live.recv().await, Ok(Item::Gap)));
        assert_eq!(hub.subscribe(Some("a")).resume, Resume::Lost);
        hub.accept([event("c")]);
        assert!(matches!(sub.live.recv().await, Ok(Item::Event(e)) if e.id == "c"));
    }

    #[test]
    fn a_user_opens_at_most_the_allowed_streams() {
        let hub = Arc::new(EventHub::new(1));
        let user = UserId::new(uuid::Uuid::from_u128(7));
        let first = hub.open_stream(user, 2).expect("first");
        let _second = hub.open_stream(user, 2).expect("second");
        assert!(hub.open_stream(user, 2).is_none());
        assert!(
            hub.open_stream(UserId::new(uuid::Uuid::from_u128(8)), 2)
                .is_some(),
            "another user's streams are counted apart"
        );
        drop(first);
        assert!(hub.open_stream(user, 2).is_some());
        assert_eq!(
            hub.open_streams(),
            1,
            "permits dropped are no longer counted"
        );
    }
}
