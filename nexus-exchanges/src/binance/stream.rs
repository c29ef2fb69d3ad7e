//! Binance's combined market streams (`wss://stream.binance.com:9443/stream`): each
//! symbol's `@bookTicker` (best bid and ask) and `@kline_<interval>` (candles, `k.x` when
//! closed, and the last price as their close). See `test_data/stream/binance/NOTES.md`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_core::{Candle, ExchangeId, Interval, Price, Quantity, Symbol, Timestamp};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::decode::{DecodeError, DecodeReason};
use crate::stream::{CandleUpdate, Quote, StreamEvent, StreamProtocol, Topic};

/// The documented endpoint of combined streams.
pub const STREAM_URL: &str = "wss://stream.binance.com:9443/stream";

/// Binance allows 1024 streams per connection.
const MAX_STREAMS: usize = 1024;

/// Stream names per request: well inside what one request may carry, so a restart with
/// many markets needs few of the 5 requests a second allowed.
const PER_REQUEST: usize = 200;

const ENDPOINT: &str = "stream";

/// The protocol of Binance's combined market streams.
#[derive(Debug, Clone)]
pub struct BinanceStream {
    url: String,
}

impl BinanceStream {
    /// The streams at `url` (the documented [`STREAM_URL`] unless testing).
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }
}

impl Default for BinanceStream {
    fn default() -> Self {
        Self::new(STREAM_URL)
    }
}

/// The stream name of a topic: `btcusdt@bookTicker`, `btcusdt@kline_1h`.
#[must_use]
pub fn stream_name(topic: Topic) -> String {
    let symbol = super::parse::venue_symbol(topic.symbol()).to_lowercase();
    match topic {
        Topic::Quotes(_) => format!("{symbol}@bookTicker"),
        Topic::Candles(_, interval) => format!("{symbol}@kline_{}", interval.as_str()),
    }
}

#[derive(Deserialize)]
struct BookTicker {
    s: String,
    b: Decimal,
    a: Decimal,
}

#[derive(Deserialize)]
struct KlineEvent {
    s: String,
    k: Kline,
}

#[derive(Deserialize)]
struct Kline {
    t: i64,
    i: String,
    o: Decimal,
    h: Decimal,
    l: Decimal,
    c: Decimal,
    v: Decimal,
    x: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: i64,
    msg: String,
}

/// Any message on the connection: a combined event, an answer to a request, or an error.
#[derive(Deserialize)]
struct Envelope {
    stream: Option<String>,
    data: Option<serde_json::Value>,
    error: Option<ErrorBody>,
}

fn millis(field: &str, ms: i64) -> Result<Timestamp, DecodeError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        DecodeError::field(
            ENDPOINT,
            field.to_owned(),
            DecodeReason::TimeOutOfRange {
                value: ms.to_string(),
            },
        )
    })
}

fn price(field: &str, v: Decimal) -> Result<Price, DecodeError> {
    Price::new(v).map_err(|e| DecodeError::field(ENDPOINT, field.to_owned(), e))
}

fn interval(name: &str) -> Option<Interval> {
    Interval::ALL.into_iter().find(|i| i.as_str() == name)
}

impl StreamProtocol for BinanceStream {
    fn exchange(&self) -> ExchangeId {
        ExchangeId::Binance
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn name(&self, symbol: Symbol) -> String {
        super::parse::venue_symbol(symbol)
    }

    fn streams(&self, _: Interval) -> bool {
        true
    }

    fn max_topics(&self) -> usize {
        MAX_STREAMS
    }

    fn silence_limit(&self) -> Duration {
        // The server pings every 20 s: three missed pings is a dead connection.
        Duration::from_secs(60)
    }

    fn request_spacing(&self) -> Duration {
        // At most 5 incoming messages a second, pongs included.
        Duration::from_millis(250)
    }

    fn requests(&self, topics: &[Topic], subscribe: bool, next_id: &mut u64) -> Vec<String> {
        let method = if subscribe {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        topics
            .chunks(PER_REQUEST)
            .map(|chunk| {
                let params: Vec<String> = chunk.iter().map(|t| stream_name(*t)).collect();
                let id = *next_id;
                *next_id += 1;
                json!({"method": method, "params": params, "id": id}).to_string()
            })
            .collect()
    }

    fn read(
        &self,
        text: &str,
        names: &HashMap<String, Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Vec<StreamEvent>, DecodeError> {
        let envelope: Envelope = DecodeError::json(ENDPOINT, text.as_bytes())?;
        if let Some(error) = envelope.error {
            return Ok(vec![StreamEvent::Refused(format!(
                "{} (code {})",
                crate::decode::cut(&error.msg, 200),
                error.code
            ))]);
        }
        let (Some(stream), Some(data)) = (envelope.stream, envelope.data) else {
            // `{"result": null, "id": 1}`: a request was done.
            return Ok(vec![StreamEvent::Ack]);
        };
        if stream == "!serverShutdown" {
            return Ok(vec![StreamEvent::Closing]);
        }
        let kind = stream.split_once('@').map_or("", |(_, kind)| kind);
        if kind == "bookTicker" {
            let t: BookTicker = serde_json::from_value(data)
                .map_err(|e| DecodeError::field(ENDPOINT, stream.clone(), e))?;
            let Some(symbol) = names.get(&t.s) else {
                return Ok(Vec::new());
            };
            return Ok(vec![StreamEvent::Quote(Quote {
                symbol: *symbol,
                bid: Some(price("b", t.b)?),
                ask: Some(price("a", t.a)?),
                last: None,
                at: now,
            })]);
        }
        if kind.starts_with("kline_") {
            let e: KlineEvent = serde_json::from_value(data)
                .map_err(|e| DecodeError::field(ENDPOINT, stream.clone(), e))?;
            let (Some(symbol), Some(interval)) = (names.get(&e.s), interval(&e.k.i)) else {
                return Ok(Vec::new());
            };
            let k = &e.k;
            let volume =
                Quantity::new(k.v).map_err(|err| DecodeError::field(ENDPOINT, "k.v", err))?;
            let candle = Candle::new(
                millis("k.t", k.t)?,
                price("k.o", k.o)?,
                price("k.h", k.h)?,
                price("k.l", k.l)?,
                price("k.c", k.c)?,
                volume,
            )
            .map_err(|err| DecodeError::field(ENDPOINT, stream.clone(), err))?;
            // Its close is also the last price (the book ticker has none).
            return Ok(vec![StreamEvent::Candle(CandleUpdate {
                symbol: *symbol,
                interval,
                candle,
                closed: k.x,
            })]);
        }
        Err(DecodeError::field(
            ENDPOINT,
            "stream",
            DecodeReason::Unknown {
                value: crate::decode::cut(&stream, 40),
            },
        ))
    }
}

#[cfg(test)]
mod tests;
