//! One connection's life: connect, subscribe to what is wanted, read until the venue goes
//! away or falls silent, then back off (full jitter) and do it again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use nexus_core::Symbol;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Shard, StreamConfig, StreamEvent, StreamProtocol, StreamStats, Topic, lock};

/// Why a connection ended.
enum Ended {
    /// The feed was dropped.
    Stopped,
    /// Nothing is followed any more: the connection was closed, to be made again when
    /// something is.
    Idle,
    /// The connection failed or was closed; the reason, for the log.
    Lost(String),
}

pub(super) async fn run(
    shard: Arc<Shard>,
    protocol: Arc<dyn StreamProtocol>,
    config: StreamConfig,
    stats: Arc<StreamStats>,
    mut stop: watch::Receiver<bool>,
) {
    let exchange = protocol.exchange();
    let mut failures = 0u32;
    loop {
        while shard.wanted().is_empty() {
            tokio::select! {
                () = shard.changed.notified() => {}
                _ = stop.changed() => return,
            }
        }
        let started = Instant::now();
        let ended = session(&shard, &*protocol, &config, &stats, &mut stop).await;
        shard.live.store(false, Ordering::Release);
        lock(&shard.book).break_epoch();
        match ended {
            Ended::Stopped => return,
            Ended::Idle => continue,
            Ended::Lost(reason) => {
                tracing::warn!(%exchange, %reason, "market data stream lost; reconnecting");
            }
        }
        stats.reconnects.fetch_add(1, Ordering::Relaxed);
        if started.elapsed() >= config.healthy_after {
            failures = 0;
        }
        let wait = config.backoff.backoff(failures, None, &mut rand::rng());
        failures = failures.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn session(
    shard: &Shard,
    protocol: &dyn StreamProtocol,
    config: &StreamConfig,
    stats: &StreamStats,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let connect = tokio_tungstenite::connect_async(protocol.url());
    let mut ws = match tokio::time::timeout(config.connect_timeout, connect).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return Ended::Lost(format!("cannot connect: {e}")),
        Err(_) => return Ended::Lost("cannot connect: timed out".to_owned()),
    };
    lock(&shard.book).break_epoch();
    *lock(&shard.heard) = Some(Instant::now());
    let silence = config
        .silence_limit
        .unwrap_or_else(|| protocol.silence_limit());
    for request in protocol.on_connect() {
        if let Err(e) = ws.send(Message::text(request)).await {
            return Ended::Lost(format!("cannot send: {e}"));
        }
    }
    let mut subscribed: BTreeSet<Topic> = BTreeSet::new();
    let mut names: HashMap<String, Symbol> = HashMap::new();
    let mut next_id = 1u64;
    let mut sequence: Option<u64> = None;
    loop {
        let wanted = shard.wanted();
        if wanted != subscribed {
            let gone: Vec<Topic> = subscribed.difference(&wanted).copied().collect();
            let new: Vec<Topic> = wanted.difference(&subscribed).copied().collect();
            let requests = [
                protocol.requests(&gone, false, &mut next_id),
                protocol.requests(&new, true, &mut next_id),
            ];
            for (n, request) in requests.into_iter().flatten().enumerate() {
                if n > 0 {
                    tokio::time::sleep(protocol.request_spacing()).await;
                }
                if let Err(e) = ws.send(Message::text(request)).await {
                    return Ended::Lost(format!("cannot send: {e}"));
                }
            }
            names = wanted
                .iter()
                .map(|t| (protocol.name(t.symbol()), t.symbol()))
                .collect();
            // An alias never takes the place of a symbol's own name.
            for topic in &wanted {
                for alias in protocol.aliases(topic.symbol()) {
                    names.entry(alias).or_insert_with(|| topic.symbol());
                }
            }
            lock(&shard.book).retain(
                |s| wanted.contains(&Topic::Quotes(s)),
                |s, i| wanted.contains(&Topic::Candles(s, i)),
            );
            subscribed = wanted;
            if subscribed.is_empty() {
                // Kraken closes a connection without subscriptions anyway.
                let _ = ws.close(None).await;
                return Ended::Idle;
            }
            shard.live.store(true, Ordering::Release);
        }
        let heard = lock(&shard.heard).unwrap_or_else(Instant::now);
        let deadline = heard + silence;
        let message = tokio::select! {
            () = shard.changed.notified() => continue,
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return Ended::Stopped;
            }
            () = tokio::time::sleep_until(deadline) => {
                stats.stalls.fetch_add(1, Ordering::Relaxed);
                return Ended::Lost(format!("silent for {}", seconds(silence)));
            }
            message = ws.next() => message,
        };
        let text = match message {
            None => return Ended::Lost("closed by the venue".to_owned()),
            Some(Err(e)) => return Ended::Lost(e.to_string()),
            Some(Ok(Message::Close(frame))) => {
                return Ended::Lost(format!(
                    "closed by the venue: {}",
                    frame.map_or_else(String::new, |f| f.reason.to_string())
                ));
            }
            Some(Ok(Message::Text(text))) => Some(text),
            Some(Ok(_)) => None,
        };
        *lock(&shard.heard) = Some(Instant::now());
        stats.messages.fetch_add(1, Ordering::Relaxed);
        let Some(text) = text else {
            // Pings are answered by tungstenite; flushing sends the pong now.
            if let Err(e) = ws.flush().await {
                return Ended::Lost(format!("cannot send: {e}"));
            }
            continue;
        };
        let events = match protocol.read(&text, &names, chrono::Utc::now()) {
            Ok(events) => events,
            Err(e) => {
                stats.unreadable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(exchange = %protocol.exchange(), error = %e, "unreadable stream message");
                continue;
            }
        };
        let mut book = lock(&shard.book);
        for event in events {
            match event {
                StreamEvent::Quote(q) => book.quote(q),
                StreamEvent::Candle(c) => book.candle(c),
                StreamEvent::Heartbeat | StreamEvent::Ack => {}
                StreamEvent::Sequence(n) => {
                    if let Some(last) = sequence
                        && n != last.wrapping_add(1)
                    {
                        stats.gaps.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(exchange = %protocol.exchange(), expected = last + 1, got = n, "stream sequence gap");
                        book.break_epoch();
                    }
                    sequence = Some(n);
                }
                StreamEvent::Refused(reason) => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(exchange = %protocol.exchange(), %reason, "the venue refused a stream request");
                }
                StreamEvent::Closing => {
                    return Ended::Lost("the venue is closing the connection".to_owned());
                }
            }
        }
    }
}

/// "2.5 s": a duration for people.
pub(super) fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
