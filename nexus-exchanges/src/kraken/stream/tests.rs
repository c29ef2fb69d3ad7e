//! Kraken's WebSocket v2 protocol against its documented messages
//! (`test_data/stream/kraken/`).

use super::*;
use crate::stream::fixtures::{json, now, sym};

fn fixture(name: &str) -> String {
    crate::stream::fixtures::fixture("kraken", name)
}

fn names() -> HashMap<String, Symbol> {
    ["ALGO/USD", "MATIC/USD", "BTC/USD"]
        .into_iter()
        .map(|s| (s.to_owned(), sym(s)))
        .collect()
}

fn read(name: &str) -> Vec<StreamEvent> {
    KrakenStream::default()
        .read(&fixture(name), &names(), now())
        .unwrap()
}

#[test]
fn requests_follow_the_documented_shape() {
    let stream = KrakenStream::default();
    let mut id = 1;
    let requests = stream.requests(
        &[
            Topic::Quotes(sym("BTC/USD")),
            Topic::Candles(sym("ALGO/USD"), Interval::M5),
            Topic::Candles(sym("MATIC/USD"), Interval::M5),
            Topic::Candles(sym("BTC/USD"), Interval::D1),
        ],
        true,
        &mut id,
    );
    let requests: Vec<serde_json::Value> = requests.iter().map(|r| json(r)).collect();
    assert_eq!(
        requests[0],
        serde_json::json!({"method": "subscribe", "req_id": 1, "params":
            {"channel": "ticker", "symbol": ["BTC/USD"], "event_trigger": "bbo"}})
    );
    // One ohlc request per interval, in minutes.
    let mut documented = json(&fixture("ohlc_subscribe_request.json"));
    documented["req_id"] = 2.into();
    assert_eq!(requests[1], documented);
    assert_eq!(requests[2]["params"]["interval"], 1440);
    assert_eq!(requests.len(), 3);
    // Unsubscribing repeats the interval and leaves out subscribe-only options.
    let gone = stream.requests(
        &[
            Topic::Candles(sym("ALGO/USD"), Interval::M5),
            Topic::Candles(sym("MATIC/USD"), Interval::M5),
        ],
        false,
        &mut id,
    );
    let mut documented = json(&fixture("ohlc_unsubscribe_request.json"));
    documented["req_id"] = 4.into();
    assert_eq!(json(&gone[0]), documented);
    let gone = stream.requests(&[Topic::Quotes(sym("BTC/USD"))], false, &mut id);
    assert_eq!(json(&gone[0])["params"].get("event_trigger"), None);
}

#[test]
fn tickers_carry_bid_ask_and_last_as_exact_decimals() {
    for name in ["ticker_snapshot.json", "ticker_update.json"] {
        let [StreamEvent::Quote(q)] = read(name)[..] else {
            panic!("{name}")
        };
        assert_eq!(q.symbol, sym("ALGO/USD"));
        assert_eq!(q.bid.unwrap().to_string(), "0.10025", "{name}");
        assert_eq!(q.last.unwrap().to_string(), "0.10035", "{name}");
    }
    let [StreamEvent::Quote(q)] = read("ticker_snapshot.json")[..] else {
        panic!()
    };
    assert_eq!(q.ask.unwrap().to_string(), "0.10036");
}

#[test]
fn ohlc_candles_are_never_final_by_themselves() {
    let snapshot = read("ohlc_snapshot.json");
    assert_eq!(snapshot.len(), 2);
    let StreamEvent::Candle(first) = snapshot[0] else {
        panic!()
    };
    assert_eq!(first.interval, Interval::M5);
    assert_eq!(
        first.candle.open_time().to_rfc3339(),
        "2023-10-04T15:25:00+00:00"
    );
    assert_eq!(first.candle.volume().to_string(), "201.86015");
    assert!(
        snapshot
            .iter()
            .all(|e| matches!(e, StreamEvent::Candle(c) if !c.closed))
    );
    let [StreamEvent::Candle(update)] = read("ohlc_update.json")[..] else {
        panic!()
    };
    assert_eq!(update.symbol, sym("MATIC/USD"));
    assert_eq!(update.candle.close().to_string(), "0.5627");
}

#[test]
fn acks_refusals_heartbeats_and_status() {
    for ack in [
        "ticker_subscribe_ack.json",
        "ohlc_subscribe_ack.json",
        "ohlc_unsubscribe_ack.json",
        "pong.json",
    ] {
        assert_eq!(read(ack), [StreamEvent::Ack], "{ack}");
    }
    let [StreamEvent::Refused(reason)] = &read("subscribe_error_ack.json")[..] else {
        panic!()
    };
    assert_eq!(reason, "subscribe: Currency pair not supported XBT/USD");
    assert_eq!(read("heartbeat.json"), [StreamEvent::Heartbeat]);
    assert_eq!(
        read("status.json"),
        [StreamEvent::Heartbeat],
        "a u64 connection id reads"
    );
}

#[test]
fn unknown_symbols_are_skipped_and_bad_messages_are_errors() {
    let stream = KrakenStream::default();
    assert!(
        stream
            .read(&fixture("ticker_update.json"), &HashMap::new(), now())
            .unwrap()
            .is_empty()
    );
    let text = fixture("ticker_update.json").replace("\"bid\": 0.10025", "\"bid\": -1");
    assert!(stream.read(&text, &names(), now()).is_err());
    let text = fixture("ohlc_update.json").replace("\"interval\": 5,", "\"interval\": 7,");
    assert!(
        stream.read(&text, &names(), now()).unwrap().is_empty(),
        "no such interval here"
    );
    assert!(
        stream
            .read(r#"{"channel":"book","data":[]}"#, &names(), now())
            .is_err()
    );
    assert!(stream.read("[", &names(), now()).is_err());
}

#[test]
fn the_documented_limits_are_kept() {
    let stream = KrakenStream::default();
    assert_eq!(stream.url(), "wss://ws.kraken.com/v2");
    assert_eq!(stream.max_topics(), usize::MAX, "none documented");
    assert_eq!(stream.request_spacing(), Duration::ZERO, "none documented");
    // A heartbeat about every second when nothing else is sent.
    assert_eq!(stream.silence_limit(), Duration::from_secs(10));
    assert!(Interval::ALL.into_iter().all(|i| stream.streams(i)));
    assert_eq!(stream.name(sym("BTC/USD")), "BTC/USD", "not XBT/USD");
}
