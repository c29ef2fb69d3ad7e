//! The feed and its connections against local websocket servers speaking each venue's
//! documented messages: subscriptions that follow the markets, a dropped connection, a
//! stalled stream and a sequence gap.

use std::time::Duration;

use nexus_core::{Interval, Symbol};

use super::*;
use crate::binance::stream::BinanceStream;
use crate::coinbase::stream::CoinbaseStream;
use crate::kraken::stream::KrakenStream;
use crate::mock::stream::{MockStream, until};
use crate::stream::fixtures::{fixture, json, sym};

const WAIT: Duration = Duration::from_secs(5);

/// Quick reconnects, and a short silence limit so a stall shows within a test.
fn config() -> StreamConfig {
    StreamConfig {
        backoff: RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(50),
        },
        silence_limit: Some(Duration::from_millis(500)),
        ..StreamConfig::default()
    }
}

/// Answers Binance's requests as it documents: `{"result": null, "id": <id>}`.
fn binance_acks(mock: &MockStream) {
    mock.respond(|request| {
        let id = json(request)["id"].clone();
        vec![serde_json::json!({"result": null, "id": id}).to_string()]
    });
}

#[tokio::test]
async fn binance_subscriptions_follow_the_markets_and_the_book_fills() {
    let (mock, url) = MockStream::start().await;
    binance_acks(&mock);
    let feed = StreamFeed::new(Arc::new(BinanceStream::new(&url)), config());
    let btc = sym("BTC/USDT");
    feed.follow([Topic::Quotes(btc), Topic::Candles(btc, Interval::M1)]);
    until("the subscription", WAIT, || !mock.received().is_empty()).await;
    let sent = json(&mock.received()[0]);
    assert_eq!(sent["method"], "SUBSCRIBE");
    assert_eq!(
        sent["params"],
        serde_json::json!(["btcusdt@bookTicker", "btcusdt@kline_1m"])
    );
    assert_eq!(feed.tickers(&[btc]), None, "nothing sent yet");

    mock.push(fixture("binance", "book_ticker_combined.json"));
    mock.push(fixture("binance", "kline_combined_open.json"));
    until("a ticker", WAIT, || feed.tickers(&[btc]).is_some()).await;
    let (tickers, age) = feed.tickers(&[btc]).unwrap();
    assert_eq!(tickers[0].bid().to_string(), "29010.9");
    assert_eq!(
        tickers[0].last().to_string(),
        "29038.47",
        "the kline's close"
    );
    assert!(age < WAIT);
    let open = feed.candles(btc, Interval::M1).unwrap();
    assert!(open.closed.is_empty(), "still forming");
    mock.push(fixture("binance", "kline_combined_closed.json"));
    until("the closed kline", WAIT, || {
        feed.candles(btc, Interval::M1)
            .is_some_and(|c| c.closed.len() == 1)
    })
    .await;
    assert_eq!(
        feed.candles(btc, Interval::M1)
            .unwrap()
            .since
            .timestamp_millis(),
        1_653_818_760_000
    );

    // The bots leave the candles: they are unsubscribed, the quotes stay.
    feed.follow([Topic::Quotes(btc)]);
    until("the unsubscription", WAIT, || mock.received().len() == 2).await;
    let sent = json(&mock.received()[1]);
    assert_eq!(sent["method"], "UNSUBSCRIBE");
    assert_eq!(sent["params"], serde_json::json!(["btcusdt@kline_1m"]));
    assert_eq!(feed.candles(btc, Interval::M1), None);
    assert!(feed.tickers(&[btc]).is_some());
    assert_eq!(mock.accepted(), 1, "one connection throughout");
    assert!(feed.stats().messages() >= 5);
}

#[tokio::test]
async fn a_dropped_connection_reconnects_resubscribes_and_starts_a_new_epoch() {
    let (mock, url) = MockStream::start().await;
    binance_acks(&mock);
    let feed = StreamFeed::new(Arc::new(BinanceStream::new(&url)), config());
    let btc = sym("BTC/USDT");
    feed.follow([Topic::Quotes(btc), Topic::Candles(btc, Interval::M1)]);
    until("the subscription", WAIT, || !mock.received().is_empty()).await;
    mock.push(fixture("binance", "kline_combined_closed.json"));
    until("a candle", WAIT, || {
        feed.candles(btc, Interval::M1).is_some()
    })
    .await;
    let epoch = feed.candles(btc, Interval::M1).unwrap().epoch;

    mock.drop_connections();
    until("the second connection", WAIT, || mock.accepted() == 2).await;
    until("the resubscription", WAIT, || mock.received().len() == 2).await;
    assert_eq!(
        mock.received()[0],
        mock.received()[1],
        "the same streams again"
    );
    assert_eq!(feed.stats().reconnects(), 1);
    assert_eq!(
        feed.candles(btc, Interval::M1),
        None,
        "what came before may have gaps"
    );
    assert!(feed.epoch(btc, Interval::M1).unwrap() > epoch);
    mock.push(fixture("binance", "kline_combined_open.json"));
    until("the stream again", WAIT, || {
        feed.candles(btc, Interval::M1).is_some()
    })
    .await;
}

#[tokio::test]
async fn a_silent_kraken_stream_is_dropped_and_heartbeats_keep_it() {
    let (mock, url) = MockStream::start().await;
    // Kraken acks each subscription and sends its snapshot.
    mock.respond(|request| {
        let request = json(request);
        if request["method"] != "subscribe" {
            return Vec::new();
        }
        vec![
            fixture("kraken", "ticker_subscribe_ack.json"),
            fixture("kraken", "ticker_snapshot.json"),
        ]
    });
    let feed = StreamFeed::new(Arc::new(KrakenStream::new(&url)), config());
    let algo = sym("ALGO/USD");
    feed.follow([Topic::Quotes(algo)]);
    until("the snapshot", WAIT, || feed.tickers(&[algo]).is_some()).await;
    let ticker = feed.tickers(&[algo]).unwrap().0[0];
    assert_eq!(ticker.ask().to_string(), "0.10036");

    // Heartbeats for twice the silence limit: the connection stays.
    for _ in 0..10 {
        mock.push(fixture("kraken", "heartbeat.json"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mock.accepted(), 1);
    assert_eq!(feed.stats().stalls(), 0);
    // Then nothing: the stream is given up and made again.
    until("the stall", WAIT, || feed.stats().stalls() == 1).await;
    until("a new connection", WAIT, || mock.accepted() == 2).await;
    until("the new snapshot", WAIT, || feed.tickers(&[algo]).is_some()).await;
    let subscribes = mock
        .received()
        .iter()
        .filter(|r| json(r)["method"] == "subscribe")
        .count();
    assert_eq!(subscribes, 2);
}

#[tokio::test]
async fn a_kraken_refusal_is_counted_and_leaves_the_connection_up() {
    let (mock, url) = MockStream::start().await;
    mock.respond(|_| vec![fixture("kraken", "subscribe_error_ack.json")]);
    let feed = StreamFeed::new(Arc::new(KrakenStream::new(&url)), config());
    feed.follow([Topic::Quotes(sym("XBT/USD"))]);
    until("the refusal", WAIT, || feed.stats().refused() == 1).await;
    assert_eq!(mock.open(), 1);
    assert_eq!(feed.tickers(&[sym("XBT/USD")]), None);
}

#[tokio::test]
async fn a_coinbase_sequence_gap_ends_the_epoch() {
    let (mock, url) = MockStream::start().await;
    let feed = StreamFeed::new(Arc::new(CoinbaseStream::new(&url)), config());
    let eth = sym("ETH/USD");
    feed.follow([
        Topic::Candles(eth, Interval::M5),
        Topic::Candles(eth, Interval::H1),
    ]);
    until("the subscriptions", WAIT, || mock.received().len() == 2).await;
    let received = mock.received();
    assert_eq!(
        json(&received[0])["channel"],
        "heartbeats",
        "heartbeats first"
    );
    assert_eq!(json(&received[1])["channel"], "candles");
    assert_eq!(received.len(), 2, "hourly candles are not streamed");

    let with_sequence = |name: &str, n: u64| {
        let mut message = json(&fixture("coinbase", name));
        message["sequence_num"] = n.into();
        message.to_string()
    };
    mock.push(with_sequence("candles_snapshot.json", 0));
    mock.push(with_sequence("candles_update.json", 1));
    mock.push(with_sequence("candles_update_next_bucket.json", 2));
    until("the closed bucket", WAIT, || {
        feed.candles(eth, Interval::M5)
            .is_some_and(|c| c.closed.len() == 1)
    })
    .await;
    let before = feed.candles(eth, Interval::M5).unwrap();
    assert_eq!(
        before.closed[0].close().to_string(),
        "1865.5",
        "its last update"
    );

    mock.push(with_sequence("heartbeats_doc.json", 5));
    until("the gap", WAIT, || feed.stats().gaps() == 1).await;
    assert_eq!(
        feed.candles(eth, Interval::M5),
        None,
        "candles may be missing"
    );
    assert!(feed.epoch(eth, Interval::M5).unwrap() > before.epoch);
    assert_eq!(mock.accepted(), 1, "a gap needs no new connection");
    mock.push(with_sequence("heartbeats_doc.json", 6));
    mock.push(with_sequence("candles_update_next_bucket.json", 7));
    until("the stream again", WAIT, || {
        feed.candles(eth, Interval::M5).is_some()
    })
    .await;
    assert_eq!(feed.stats().gaps(), 1);
}

#[tokio::test]
async fn topics_beyond_a_connections_limit_open_another() {
    /// Binance, with room for two topics a connection.
    struct Small(BinanceStream);
    impl StreamProtocol for Small {
        fn exchange(&self) -> ExchangeId {
            self.0.exchange()
        }
        fn url(&self) -> &str {
            self.0.url()
        }
        fn name(&self, symbol: Symbol) -> String {
            self.0.name(symbol)
        }
        fn streams(&self, interval: Interval) -> bool {
            self.0.streams(interval)
        }
        fn max_topics(&self) -> usize {
            2
        }
        fn silence_limit(&self) -> Duration {
            self.0.silence_limit()
        }
        fn requests(&self, topics: &[Topic], subscribe: bool, next_id: &mut u64) -> Vec<String> {
            self.0.requests(topics, subscribe, next_id)
        }
        fn read(
            &self,
            text: &str,
            names: &HashMap<String, Symbol>,
            now: Timestamp,
        ) -> Result<Vec<StreamEvent>, DecodeError> {
            self.0.read(text, names, now)
        }
    }
    let (mock, url) = MockStream::start().await;
    binance_acks(&mock);
    let feed = StreamFeed::new(Arc::new(Small(BinanceStream::new(&url))), config());
    let topics: Vec<Topic> = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        .into_iter()
        .map(|s| Topic::Quotes(sym(s)))
        .collect();
    feed.follow(topics.clone());
    until("two connections", WAIT, || mock.accepted() == 2).await;
    until("both subscribed", WAIT, || mock.received().len() == 2).await;
    // Removing the first market leaves the others where they are.
    feed.follow(topics[1..].to_vec());
    until("the unsubscription", WAIT, || mock.received().len() == 3).await;
    assert_eq!(
        json(&mock.received()[2])["params"],
        serde_json::json!(["btcusdt@bookTicker"])
    );
    assert_eq!(mock.accepted(), 2);
}

#[tokio::test]
async fn a_connection_with_nothing_to_follow_closes_and_opens_again_when_needed() {
    let (mock, url) = MockStream::start().await;
    binance_acks(&mock);
    let feed = StreamFeed::new(Arc::new(BinanceStream::new(&url)), config());
    let btc = Topic::Quotes(sym("BTC/USDT"));
    feed.follow([btc]);
    until("the connection", WAIT, || mock.open() == 1).await;
    feed.follow([]);
    until("the connection closed", WAIT, || mock.open() == 0).await;
    assert_eq!(
        feed.stats().reconnects(),
        0,
        "closing an idle connection is no failure"
    );
    assert_eq!(feed.tickers(&[sym("BTC/USDT")]), None);
    feed.also_follow([btc]);
    until("a new connection", WAIT, || mock.open() == 1).await;
    until("the subscription again", WAIT, || {
        mock.received()
            .iter()
            .filter(|r| json(r)["method"] == "SUBSCRIBE")
            .count()
            == 2
    })
    .await;
    assert_eq!(mock.accepted(), 2);
    // Asking again for what is followed sends nothing.
    let before = mock.received().len();
    feed.also_follow([btc]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.received().len(), before, "{:?}", mock.received());
}
