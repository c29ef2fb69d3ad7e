//! Between instances: events are sent as PostgreSQL notifications, and every instance
//! (the sender too) takes them into its hub as they arrive. Notifications arrive in one
//! order everywhere, so every hub holds the same events in the same order.

use std::sync::Arc;
use std::time::Duration;

use nexus_store::notify::{self, Listener, Notifications};

use super::hub::{EventHub, Stamped};

/// The channel events travel on.
pub const CHANNEL: &str = "nexus_events";

/// The events as notification payloads: JSON arrays, each under the channel's size limit.
/// An event too large for a payload of its own is left out and returned apart.
pub fn payloads(events: &[Stamped]) -> (Vec<String>, Vec<&Stamped>) {
    let mut payloads = Vec::new();
    let mut too_large = Vec::new();
    let mut current = String::from("[");
    for event in events {
        let Ok(json) = embedded(event) else {
            too_large.push(event);
            continue;
        };
        // "[" + json + "]" must fit on its own.
        if json.len() + 2 > notify::MAX_PAYLOAD_BYTES {
            too_large.push(event);
            continue;
        }
        if current.len() + json.len() + 2 > notify::MAX_PAYLOAD_BYTES {
            current.push(']');
            payloads.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > 1 {
        current.push(']');
        payloads.push(current);
    }
    (payloads, too_large)
}

/// One event as a payload holds it: its `data` embedded as the JSON it is, not escaped into
/// a string (escaping it, and every instance unescaping it, cost more than the rest of
/// the payload at 100,000 bots).
fn embedded(event: &Stamped) -> Result<String, serde_json::Error> {
    let mut json = String::with_capacity(event.data.len() + 160);
    json.push_str("{\"id\":");
    json.push_str(&serde_json::to_string(&event.id)?);
    json.push_str(",\"audience\":");
    json.push_str(&serde_json::to_string(&event.audience)?);
    json.push_str(",\"kind\":");
    json.push_str(&serde_json::to_string(&event.kind)?);
    json.push_str(",\"data\":");
    // Rendered from an API `Event` by `Events::publish`, so it is JSON already.
    json.push_str(&event.data);
    json.push('}');
    Ok(json)
}

/// Listens for events until the hub closes, taking them into `hub`. A lost connection is
/// a [gap](EventHub::gap): events sent meanwhile were missed, so streams reset.
pub async fn run(notifications: Arc<dyn Notifications>, hub: Arc<EventHub>) {
    let mut closed = hub.closed();
    let mut backoff = Duration::from_millis(250);
    loop {
        let listener = tokio::select! {
            _ = closed.wait_for(|c| *c) => return,
            listener = notifications.listen(CHANNEL) => listener,
        };
        match listener {
            Ok(mut listener) => {
                backoff = Duration::from_millis(250);
                tokio::select! {
                    _ = closed.wait_for(|c| *c) => return,
                    () = relay(listener.as_mut(), &hub) => {}
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for events; retrying"),
        }
        hub.gap();
        tokio::select! {
            _ = closed.wait_for(|c| *c) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Takes notifications into `hub` until the connection fails for good.
async fn relay(listener: &mut dyn Listener, hub: &EventHub) {
    loop {
        match listener.next().await {
            Ok(Some(payload)) => match serde_json::from_str::<Vec<Stamped>>(&payload) {
                Ok(events) => hub.accept(events),
                Err(e) => {
                    // Another version's format: its events are missed, so streams reset.
                    tracing::warn!(error = %e, "an events notification does not parse");
                    hub.gap();
                }
            },
            Ok(None) => {
                tracing::warn!("the events channel was lost and reopened; streams reset");
                hub.gap();
            }
            Err(e) => {
                tracing::warn!(error = %e, "the events channel failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::hub::Audience;

    fn event(id: usize, size: usize) -> Stamped {
        Stamped {
            id: id.to_string(),
            audience: Audience::User(nexus_core::UserId::new(uuid::Uuid::from_u128(1))),
            kind: "order".into(),
            data: format!(r#"{{"note":"{}"}}"#, "x".repeat(size)),
        }
    }

    #[test]
    fn an_event_travels_as_json_and_one_sent_as_a_string_still_reads() {
        let sent = event(1, 3);
        let (payloads, _) = payloads(std::slice::from_ref(&sent));
        assert!(
            payloads[0].contains(r#""data":{"note":"xxx"}"#),
            "{}",
            payloads[0]
        );
        // The previous release's payloads carried `data` as a string of JSON.
        let old = r#"[{"id":"1","audience":{"User":"00000000-0000-0000-0000-000000000001"},"kind":"order","data":"{\"note\":\"xxx\"}"}]"#;
        let back: Vec<Stamped> = serde_json::from_str(old).expect("JSON");
        assert_eq!(back, [sent]);
    }

    #[test]
    fn events_are_packed_into_payloads_under_the_limit_in_order() {
        let events: Vec<Stamped> = (0..100).map(|i| event(i, 300)).collect();
        let (payloads, too_large) = payloads(&events);
        assert!(too_large.is_empty());
        assert!(
            payloads.len() > 1,
            "100 events of 300 bytes need several payloads"
        );
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() <= notify::MAX_PAYLOAD_BYTES, "{} bytes", p.len());
            back.extend(serde_json::from_str::<Vec<Stamped>>(p).expect("JSON"));
        }
        assert_eq!(back, events);
    }

    #[test]
    fn an_event_too_large_for_any_payload_is_left_out() {
        let events = vec![event(1, 10), event(2, 9_000), event(3, 10)];
        let (payloads, too_large) = payloads(&events);
        assert_eq!(too_large.len(), 1);
        assert_eq!(too_large[0].id, "2");
        let back: Vec<Stamped> = serde_json::from_str(&payloads[0]).expect("JSON");
        assert_eq!(
            back.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["1", "3"]
        );
    }

    #[test]
    fn nothing_to_send_is_no_payload() {
        assert!(payloads(&[]).0.is_empty());
    }
}
