//! Kraken's WebSocket v2 (`wss://ws.kraken.com/v2`): the `ticker` channel (best bid and
//! ask on every change, with the last trade) and `ohlc` (the running candle on every
//! trade; a candle is final when one with a later `interval_begin` arrives), kept alive
//! by `heartbeat`. Prices are JSON numbers, read as decimals from their printed form. See
//! `test_data/stream/kraken/NOTES.md`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{Candle, ExchangeId, Interval, Price, Quantity, Symbol};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::models::lenient_decimal;
use crate::decode::{DecodeError, DecodeReason, cut};
use crate::stream::{CandleUpdate, Quote, StreamEvent, StreamProtocol, Topic};

/// The documented public endpoint.
pub const STREAM_URL: &str = "wss://ws.kraken.com/v2";

const ENDPOINT: &str = "ws v2";

/// Symbols per request: Kraken documents no limit; this keeps each request small.
const PER_REQUEST: usize = 100;

/// The protocol of Kraken's WebSocket v2 public channels.
#[derive(Debug, Clone)]
pub struct KrakenStream {
    url: String,
}

impl KrakenStream {
    /// The channels at `url` (the documented [`STREAM_URL`] unless testing).
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }
}

impl Default for KrakenStream {
    fn default() -> Self {
        Self::new(STREAM_URL)
    }
}

/// Kraken's interval in minutes.
const fn minutes(interval: Interval) -> u64 {
    interval.duration().as_secs() / 60
}

#[derive(Deserialize)]
struct Envelope {
    channel: Option<String>,
    #[serde(default)]
    data: Vec<serde_json::Value>,
    method: Option<String>,
    success: Option<bool>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TickerData {
    symbol: String,
    #[serde(deserialize_with = "lenient_decimal")]
    bid: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    ask: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    last: Decimal,
}

#[derive(Deserialize)]
struct OhlcData {
    symbol: String,
    #[serde(deserialize_with = "lenient_decimal")]
    open: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    high: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    low: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    close: Decimal,
    #[serde(deserialize_with = "lenient_decimal")]
    volume: Decimal,
    interval_begin: DateTime<Utc>,
    interval: u64,
}

fn price(field: &str, v: Decimal) -> Result<Price, DecodeError> {
    Price::new(v).map_err(|e| DecodeError::field(ENDPOINT, field.to_owned(), e))
}

fn item<T: serde::de::DeserializeOwned>(
    channel: &str,
    n: usize,
    value: serde_json::Value,
) -> Result<T, DecodeError> {
    serde_json::from_value(value)
        .map_err(|e| DecodeError::field(ENDPOINT, format!("{channel} data {n}"), e))
}

impl StreamProtocol for KrakenStream {
    fn exchange(&self) -> ExchangeId {
        ExchangeId::Kraken
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn name(&self, symbol: Symbol) -> String {
        symbol.to_string()
    }

    fn streams(&self, _: Interval) -> bool {
        true
    }

    fn max_topics(&self) -> usize {
        // None documented; one connection carries what the bots use.
        usize::MAX
    }

    fn silence_limit(&self) -> Duration {
        // A heartbeat comes about once a second whenever nothing else does.
        Duration::from_secs(10)
    }

    fn requests(&self, topics: &[Topic], subscribe: bool, next_id: &mut u64) -> Vec<String> {
        let method = if subscribe {
            "subscribe"
        } else {
            "unsubscribe"
        };
        // One request per channel and interval, as the subscription is keyed by them.
        let mut groups: BTreeMap<Option<u64>, Vec<String>> = BTreeMap::new();
        for topic in topics {
            let key = match topic {
                Topic::Quotes(_) => None,
                Topic::Candles(_, interval) => Some(minutes(*interval)),
            };
            groups
                .entry(key)
                .or_default()
                .push(self.name(topic.symbol()));
        }
        let mut out = Vec::new();
        for (interval, symbols) in groups {
            for chunk in symbols.chunks(PER_REQUEST) {
                let mut params = match interval {
                    None => json!({"channel": "ticker", "symbol": chunk}),
                    Some(minutes) => {
                        json!({"channel": "ohlc", "symbol": chunk, "interval": minutes})
                    }
                };
                if subscribe && interval.is_none() {
                    params["event_trigger"] = "bbo".into();
                }
                let id = *next_id;
                *next_id += 1;
                out.push(json!({"method": method, "params": params, "req_id": id}).to_string());
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
        if let Some(method) = &envelope.method {
            // An answer to a request: subscribe, unsubscribe or pong.
            return Ok(vec![
                if envelope.success == Some(false) || envelope.error.is_some() {
                    StreamEvent::Refused(format!(
                        "{method}: {}",
                        cut(envelope.error.as_deref().unwrap_or("refused"), 200)
                    ))
                } else {
                    StreamEvent::Ack
                },
            ]);
        }
        let channel = envelope.channel.unwrap_or_default();
        let mut events = Vec::with_capacity(envelope.data.len());
        match channel.as_str() {
            "heartbeat" | "status" => events.push(StreamEvent::Heartbeat),
            "ticker" => {
                for (n, value) in envelope.data.into_iter().enumerate() {
                    let t: TickerData = item("ticker", n, value)?;
                    let Some(symbol) = names.get(&t.symbol) else {
                        continue;
                    };
                    events.push(StreamEvent::Quote(Quote {
                        symbol: *symbol,
                        bid: Some(price("bid", t.bid)?),
                        ask: Some(price("ask", t.ask)?),
                        last: Some(price("last", t.last)?),
                        at: now,
                    }));
                }
            }
            "ohlc" => {
                for (n, value) in envelope.data.into_iter().enumerate() {
                    let c: OhlcData = item("ohlc", n, value)?;
                    let interval = Interval::ALL
                        .into_iter()
                        .find(|i| minutes(*i) == c.interval);
                    let (Some(symbol), Some(interval)) = (names.get(&c.symbol), interval) else {
                        continue;
                    };
                    let volume = Quantity::new(c.volume)
                        .map_err(|e| DecodeError::field(ENDPOINT, "ohlc volume", e))?;
                    let candle = Candle::new(
                        c.interval_begin,
                        price("open", c.open)?,
                        price("high", c.high)?,
                        price("low", c.low)?,
                        price("close", c.close)?,
                        volume,
                    )
                    .map_err(|e| DecodeError::field(ENDPOINT, format!("ohlc data {n}"), e))?;
                    // Never final by itself: the next interval's first update closes it.
                    events.push(StreamEvent::Candle(CandleUpdate {
                        symbol: *symbol,
                        interval,
                        candle,
                        closed: false,
                    }));
                }
            }
            other => {
                return Err(DecodeError::field(
                    ENDPOINT,
                    "channel",
                    DecodeReason::Unknown {
                        value: cut(other, 40),
                    },
                ));
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;
