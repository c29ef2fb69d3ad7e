//! Binance's stream protocol against its documented and captured messages
//! (`test_data/stream/binance/`).

use super::*;
use crate::stream::fixtures::{json, now, sym};

fn fixture(name: &str) -> String {
    crate::stream::fixtures::fixture("binance", name)
}

fn btc() -> Symbol {
    sym("BTC/USDT")
}

fn names() -> HashMap<String, Symbol> {
    HashMap::from([("BTCUSDT".to_owned(), btc())])
}

fn read(name: &str) -> Vec<StreamEvent> {
    BinanceStream::default()
        .read(&fixture(name), &names(), now())
        .unwrap()
}

#[test]
fn requests_are_the_documented_subscribe_and_unsubscribe() {
    let stream = BinanceStream::default();
    let mut id = 1;
    let subscribe = stream.requests(
        &[Topic::Quotes(btc()), Topic::Candles(btc(), Interval::M1)],
        true,
        &mut id,
    );
    assert_eq!(subscribe.len(), 1);
    assert_eq!(
        json(&subscribe[0]),
        json(&fixture("subscribe_request.json"))
    );
    let unsubscribe = stream.requests(&[Topic::Candles(btc(), Interval::M1)], false, &mut id);
    assert_eq!(
        json(&unsubscribe[0]),
        json(&fixture("unsubscribe_request.json"))
    );
    assert_eq!(id, 3, "each request has its own id");
    assert_eq!(
        stream_name(Topic::Candles(btc(), Interval::D1)),
        "btcusdt@kline_1d"
    );
}

#[test]
fn many_streams_are_split_into_few_requests() {
    let topics: Vec<Topic> = (0..450)
        .map(|n| Topic::Candles(format!("A{n}/USDT").parse().unwrap(), Interval::H1))
        .collect();
    let requests = BinanceStream::default().requests(&topics, true, &mut 1);
    assert_eq!(requests.len(), 3, "200 streams a request");
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| json(r)["params"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [200, 200, 50]);
}

#[test]
fn a_book_ticker_is_a_bid_and_ask_stamped_on_arrival() {
    let [StreamEvent::Quote(q)] = read("book_ticker_combined.json")[..] else {
        panic!()
    };
    assert_eq!(q.symbol, btc());
    assert_eq!(q.bid.unwrap().to_string(), "29010.9");
    assert_eq!(q.ask.unwrap().to_string(), "29010.91");
    assert_eq!(q.last, None, "the book ticker has no last price");
    assert_eq!(q.at, now(), "spot book tickers carry no time");
}

#[test]
fn klines_are_candles_closed_when_binance_says_so() {
    for (name, closed) in [
        ("kline_combined_open.json", false),
        ("kline_combined_closed.json", true),
    ] {
        let [StreamEvent::Candle(c)] = read(name)[..] else {
            panic!("{name}")
        };
        assert_eq!(c.closed, closed, "{name}");
        assert_eq!((c.symbol, c.interval), (btc(), Interval::M1));
        assert_eq!(c.candle.open_time().timestamp_millis(), 1_653_818_760_000);
        assert_eq!(
            [
                c.candle.open(),
                c.candle.high(),
                c.candle.low(),
                c.candle.close()
            ]
            .map(|p| p.to_string()),
            ["29038.46", "29038.47", "29038.46", "29038.47"]
        );
        assert_eq!(c.candle.volume().to_string(), "0.20926");
    }
}

#[test]
fn answers_errors_and_shutdowns_are_told_apart() {
    assert_eq!(read("subscribe_response.json"), [StreamEvent::Ack]);
    assert_eq!(read("unsubscribe_response.json"), [StreamEvent::Ack]);
    let [StreamEvent::Refused(reason)] = &read("error_invalid_stream.json")[..] else {
        panic!()
    };
    assert_eq!(reason, "Invalid request: invalid stream (code 2)");
    assert!(
        matches!(&read("error_invalid_json.json")[..], [StreamEvent::Refused(r)] if r.contains("Invalid json"))
    );
    assert_eq!(
        read("server_shutdown_combined_doc.json"),
        [StreamEvent::Closing]
    );
}

#[test]
fn symbols_not_followed_are_ignored_and_bad_messages_are_errors() {
    let stream = BinanceStream::default();
    let none = HashMap::new();
    assert!(
        stream
            .read(&fixture("book_ticker_combined.json"), &none, now())
            .unwrap()
            .is_empty()
    );
    assert!(
        stream
            .read(&fixture("kline_combined_open.json"), &none, now())
            .unwrap()
            .is_empty()
    );
    let zero = fixture("book_ticker_combined.json").replace("\"29010.90000000\"", "\"0\"");
    let e = stream.read(&zero, &names(), now()).unwrap_err();
    assert!(e.to_string().contains('b'), "{e}");
    let crossed =
        fixture("kline_combined_open.json").replace("\"h\":\"29038.47000000\"", "\"h\":\"1\"");
    assert!(stream.read(&crossed, &names(), now()).is_err());
    let unknown = r#"{"stream":"btcusdt@depth","data":{}}"#;
    assert!(
        stream
            .read(unknown, &names(), now())
            .unwrap_err()
            .to_string()
            .contains("depth")
    );
    assert!(stream.read("not json", &names(), now()).is_err());
}

#[test]
fn the_documented_limits_are_kept() {
    let stream = BinanceStream::default();
    assert_eq!(stream.url(), "wss://stream.binance.com:9443/stream");
    assert_eq!(stream.max_topics(), 1024, "streams per connection");
    // Five incoming messages a second, pongs included.
    assert_eq!(stream.request_spacing(), Duration::from_millis(250));
    // Pinged every 20 s: a minute of silence is three pings missed.
    assert_eq!(stream.silence_limit(), Duration::from_secs(60));
    assert!(Interval::ALL.into_iter().all(|i| stream.streams(i)));
    assert_eq!(stream.name(btc()), "BTCUSDT", "the payload's own spelling");
}
