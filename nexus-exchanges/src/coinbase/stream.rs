//! Coinbase Advanced Trade's market data websocket (`wss://advanced-trade-ws.coinbase.com`):
//! `ticker` (the last trade with the best bid and ask), `candles` (five-minute buckets
//! only, updated every second; a bucket is final when a later one starts) and
//! `heartbeats`, which keeps quiet subscriptions open. Every message carries the
//! connection's `sequence_num`, checked for gaps. See
//! `test_data/stream/coinbase/NOTES.md`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{Candle, ExchangeId, Interval, Price, Quantity, Symbol};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::decode::{DecodeError, DecodeReason, cut};
use crate::stream::{CandleUpdate, Quote, StreamEvent, StreamProtocol, Topic};

/// The documented market data endpoint.
pub const STREAM_URL: &str = "wss://advanced-trade-ws.coinbase.com";

const ENDPOINT: &str = "advanced trade ws";

/// Product ids per request (none documented; keeps each request small).
const PER_REQUEST: usize = 100;

/// The protocol of Coinbase Advanced Trade's public channels.
#[derive(Debug, Clone)]
pub struct CoinbaseStream {
    url: String,
}

impl CoinbaseStream {
    /// The channels at `url` (the documented [`STREAM_URL`] unless testing).
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }
}

impl Default for CoinbaseStream {
    fn default() -> Self {
        Self::new(STREAM_URL)
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    channel: Option<String>,
    sequence_num: Option<u64>,
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    tickers: Vec<TickerData>,
    #[serde(default)]
    candles: Vec<CandleData>,
}

#[derive(Deserialize)]
struct TickerData {
    product_id: String,
    price: Decimal,
    best_bid: Option<Decimal>,
    best_ask: Option<Decimal>,
}

#[derive(Deserialize)]
struct CandleData {
    product_id: String,
    start: String,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
}

fn price(field: &str, v: Decimal) -> Result<Price, DecodeError> {
    Price::new(v).map_err(|e| DecodeError::field(ENDPOINT, field.to_owned(), e))
}

/// A best bid or ask of zero means the book side is empty: no price, not an error.
fn side(field: &str, v: Option<Decimal>) -> Result<Option<Price>, DecodeError> {
    match v {
        Some(v) if !v.is_zero() => price(field, v).map(Some),
        _ => Ok(None),
    }
}

impl StreamProtocol for CoinbaseStream {
    fn exchange(&self) -> ExchangeId {
        ExchangeId::Coinbase
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn name(&self, symbol: Symbol) -> String {
        super::parse::venue_symbol(symbol)
    }

    fn aliases(&self, symbol: Symbol) -> Vec<String> {
        // Coinbase answers a subscription to `BTC-USDC` with `BTC-USD` product ids.
        if symbol.quote().as_str() == "USDC" {
            vec![format!("{}-USD", symbol.base())]
        } else {
            Vec::new()
        }
    }

    fn streams(&self, interval: Interval) -> bool {
        interval == Interval::M5
    }

    fn max_topics(&self) -> usize {
        // None documented.
        usize::MAX
    }

    fn silence_limit(&self) -> Duration {
        // Heartbeats come every second.
        Duration::from_secs(10)
    }

    fn request_spacing(&self) -> Duration {
        // 8 unauthenticated messages a second per IP.
        Duration::from_millis(150)
    }

    fn on_connect(&self) -> Vec<String> {
        vec![json!({"type": "subscribe", "channel": "heartbeats"}).to_string()]
    }

    fn requests(&self, topics: &[Topic], subscribe: bool, _: &mut u64) -> Vec<String> {
        let kind = if subscribe {
            "subscribe"
        } else {
            "unsubscribe"
        };
        let mut out = Vec::new();
        for (channel, wanted) in [
            (
                "ticker",
                (|t: &Topic| matches!(t, Topic::Quotes(_))) as fn(&Topic) -> bool,
            ),
            ("candles", |t: &Topic| matches!(t, Topic::Candles(..))),
        ] {
            let mut ids: Vec<String> = topics
                .iter()
                .filter(|t| wanted(t))
                .map(|t| self.name(t.symbol()))
                .collect();
            ids.dedup();
            for chunk in ids.chunks(PER_REQUEST) {
                out.push(
                    json!({"type": kind, "product_ids": chunk, "channel": channel}).to_string(),
                );
            }
        }
        out
    }

    fn read(
        &self,
        text: &str,
        names: &HashMap<String, Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Vec<StreamEvent>, DecodeError> {
        let envelope: Envelope = DecodeError::json(ENDPOINT, text.as_bytes())?;
        if envelope.kind.as_deref() == Some("error") {
            return Ok(vec![StreamEvent::Refused(cut(
                envelope.message.as_deref().unwrap_or("error"),
                200,
            ))]);
        }
        let channel = envelope
            .channel
            .ok_or_else(|| DecodeError::field(ENDPOINT, "channel", DecodeReason::Missing))?;
        let mut out = Vec::new();
        if let Some(n) = envelope.sequence_num {
            out.push(StreamEvent::Sequence(n));
        }
        let at = envelope.timestamp.unwrap_or(now);
        match channel.as_str() {
            "heartbeats" => out.push(StreamEvent::Heartbeat),
            "subscriptions" => out.push(StreamEvent::Ack),
            "ticker" | "ticker_batch" => {
                for t in envelope.events.iter().flat_map(|e| &e.tickers) {
                    let Some(symbol) = names.get(&t.product_id) else {
                        continue;
                    };
                    out.push(StreamEvent::Quote(Quote {
                        symbol: *symbol,
                        bid: side("best_bid", t.best_bid)?,
                        ask: side("best_ask", t.best_ask)?,
                        last: Some(price("price", t.price)?),
                        at,
                    }));
                }
            }
            "candles" => {
                for c in envelope.events.iter().flat_map(|e| &e.candles) {
                    let Some(symbol) = names.get(&c.product_id) else {
                        continue;
                    };
                    let start = c
                        .start
                        .parse::<i64>()
                        .ok()
                        .and_then(|s| DateTime::from_timestamp(s, 0))
                        .ok_or_else(|| {
                            DecodeError::field(
                                ENDPOINT,
                                "candles start",
                                DecodeReason::malformed("Unix seconds", &c.start),
                            )
                        })?;
                    let volume = Quantity::new(c.volume)
                        .map_err(|e| DecodeError::field(ENDPOINT, "candles volume", e))?;
                    let candle = Candle::new(
                        start,
                        price("open", c.open)?,
                        price("high", c.high)?,
                        price("low", c.low)?,
                        price("close", c.close)?,
                        volume,
                    )
                    .map_err(|e| DecodeError::field(ENDPOINT, "candles", e))?;
                    out.push(StreamEvent::Candle(CandleUpdate {
                        symbol: *symbol,
                        interval: Interval::M5,
                        candle,
                        closed: false,
                    }));
                }
            }
            // New message types may appear at any time; Coinbase asks clients to ignore them.
            _ => {}
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
