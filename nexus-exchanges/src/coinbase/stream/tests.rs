//! Coinbase's Advanced Trade websocket protocol against its documented messages
//! (`test_data/stream/coinbase/`).

use super::*;
use crate::stream::fixtures::{json, now, sym};

fn fixture(name: &str) -> String {
    crate::stream::fixtures::fixture("coinbase", name)
}

fn names() -> HashMap<String, Symbol> {
    HashMap::from([
        ("BTC-USD".to_owned(), sym("BTC/USD")),
        ("ETH-USD".to_owned(), sym("ETH/USD")),
    ])
}

fn read(name: &str) -> Vec<StreamEvent> {
    CoinbaseStream::default()
        .read(&fixture(name), &names(), now())
        .unwrap()
}

#[test]
fn requests_are_one_channel_each_and_heartbeats_come_first() {
    let stream = CoinbaseStream::default();
    assert_eq!(
        stream
            .on_connect()
            .iter()
            .map(|r| json(r))
            .collect::<Vec<_>>(),
        [json(&fixture("subscribe_heartbeats.json"))]
    );
    let requests = stream.requests(
        &[
            Topic::Quotes(sym("ETH/USD")),
            Topic::Quotes(sym("BTC/USD")),
            Topic::Candles(sym("ETH/USD"), Interval::M5),
        ],
        true,
        &mut 1,
    );
    let requests: Vec<serde_json::Value> = requests.iter().map(|r| json(r)).collect();
    assert_eq!(
        requests,
        [
            json(&fixture("subscribe_ticker.json")),
            json(&fixture("subscribe_candles.json"))
        ]
    );
    let gone = stream.requests(&[Topic::Quotes(sym("BTC/USD"))], false, &mut 1);
    assert_eq!(json(&gone[0]), json(&fixture("unsubscribe_ticker.json")));
    assert!(stream.streams(Interval::M5));
    assert!(!stream.streams(Interval::H1), "five-minute candles only");
    assert_eq!(stream.aliases(sym("BTC/USDC")), ["BTC-USD"]);
    assert!(stream.aliases(sym("BTC/USDT")).is_empty());
}

#[test]
fn tickers_carry_the_sequence_and_the_envelope_time() {
    let events = read("ticker_snapshot.json");
    let [StreamEvent::Sequence(0), StreamEvent::Quote(q)] = events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(q.symbol, sym("BTC/USD"));
    assert_eq!(
        [q.bid, q.ask, q.last].map(|p| p.unwrap().to_string()),
        ["21931.98", "21933.98", "21932.98"]
    );
    assert_eq!(q.at.to_rfc3339(), "2023-02-09T20:30:37.167359596+00:00");
    let events = read("ticker_update.json");
    assert!(matches!(
        events[..],
        [StreamEvent::Sequence(7), StreamEvent::Quote(_)]
    ));
    // An empty side is no price, not an error.
    let empty =
        fixture("ticker_update.json").replace("\"best_bid\":\"21932.98\"", "\"best_bid\":\"0\"");
    let events = CoinbaseStream::default()
        .read(&empty, &names(), now())
        .unwrap();
    assert!(matches!(
        events[1],
        StreamEvent::Quote(Quote { bid: None, .. })
    ));
}

#[test]
fn candles_are_five_minute_buckets_closed_by_the_next() {
    let [StreamEvent::Sequence(0), StreamEvent::Candle(c)] = read("candles_snapshot.json")[..]
    else {
        panic!()
    };
    assert_eq!(
        (c.symbol, c.interval, c.closed),
        (sym("ETH/USD"), Interval::M5, false)
    );
    assert_eq!(c.candle.open_time().timestamp(), 1_688_998_200);
    assert_eq!(c.candle.close().to_string(), "1866.81");
    let [StreamEvent::Sequence(14), StreamEvent::Candle(next)] =
        read("candles_update_next_bucket.json")[..]
    else {
        panic!()
    };
    assert_eq!(next.candle.open_time().timestamp(), 1_688_998_500);
    let bad =
        fixture("candles_update.json").replace("\"start\":\"1688998200\"", "\"start\":\"soon\"");
    let e = CoinbaseStream::default()
        .read(&bad, &names(), now())
        .unwrap_err();
    assert!(e.to_string().contains("soon"), "{e}");
}

#[test]
fn heartbeats_subscriptions_and_errors() {
    for name in ["heartbeats_doc.json", "heartbeats_production_shape.json"] {
        let events = read(name);
        assert!(
            matches!(
                events[..],
                [StreamEvent::Sequence(_), StreamEvent::Heartbeat]
            ),
            "{name}"
        );
    }
    assert!(matches!(
        read("subscriptions.json")[..],
        [StreamEvent::Sequence(1), StreamEvent::Ack]
    ));
    assert_eq!(
        read("error_authentication_failure.json"),
        [StreamEvent::Refused("authentication failure".to_owned())]
    );
    let stream = CoinbaseStream::default();
    let unknown = r#"{"channel":"status","sequence_num":9,"events":[]}"#;
    assert_eq!(
        stream.read(unknown, &names(), now()).unwrap(),
        [StreamEvent::Sequence(9)]
    );
    assert!(
        stream
            .read(r#"{"sequence_num":1}"#, &names(), now())
            .is_err(),
        "no channel"
    );
    assert!(stream.read("{", &names(), now()).is_err());
}

#[test]
fn the_documented_limits_are_kept() {
    let stream = CoinbaseStream::default();
    assert_eq!(stream.url(), "wss://advanced-trade-ws.coinbase.com");
    assert_eq!(stream.max_topics(), usize::MAX, "none documented");
    // Eight unauthenticated messages a second per IP.
    assert_eq!(stream.request_spacing(), Duration::from_millis(150));
    // Heartbeats every second.
    assert_eq!(stream.silence_limit(), Duration::from_secs(10));
    assert_eq!(stream.name(sym("BTC/USDC")), "BTC-USDC");
}
