use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use chrono::DateTime;
use nexus_core::Price;

use super::*;

/// A venue that answers slowly (so requests overlap), counts nothing itself (the hub
/// does), and can be told to fail.
struct Slow {
    exchange: ExchangeId,
    failing: AtomicBool,
}

#[async_trait]
impl MarketData for Slow {
    fn exchange(&self) -> ExchangeId {
        self.exchange
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if self.failing.load(Ordering::Relaxed) {
            return Err(ExchangeError::Transient {
                exchange: self.exchange,
                message: "down".into(),
                source: None,
            });
        }
        let p: Price = "100".parse().unwrap();
        Ok(symbols
            .iter()
            .map(|s| Ticker::new(*s, p, p, p, DateTime::UNIX_EPOCH).unwrap())
            .collect())
    }

    async fn candles(
        &self,
        _: Symbol,
        interval: Interval,
        _: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        // Daily candles are slow to come, as long histories are on real venues.
        if interval == Interval::D1 {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Ok(Vec::new())
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_candle_fetch_holds_up_neither_tickers_nor_other_series() {
    let hub = Arc::new(
        MarketDataHub::new(
            HubConfig::default(),
            [source(ExchangeId::Binance) as Arc<dyn MarketData>],
        )
        .unwrap(),
    );
    let btc: Symbol = "BTC/USDT".parse().unwrap();
    let slow = {
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            hub.candles(ExchangeId::Binance, btc, Interval::D1, 10)
                .await
        })
    };
    tokio::task::yield_now().await;
    let start = Instant::now();
    hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap();
    hub.candles(ExchangeId::Binance, btc, Interval::H1, 10)
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    slow.await.unwrap().unwrap();
    assert!(start.elapsed() >= Duration::from_secs(9));
}

fn source(exchange: ExchangeId) -> Arc<Slow> {
    Arc::new(Slow {
        exchange,
        failing: AtomicBool::new(false),
    })
}

fn symbols() -> Vec<Symbol> {
    (0..20)
        .map(|i| format!("C{i}/USDT").parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_users_on_two_exchanges_cause_one_upstream_call_each() {
    let (binance, kraken) = (source(ExchangeId::Binance), source(ExchangeId::Kraken));
    let sources: Vec<Arc<dyn MarketData>> = vec![binance, kraken];
    let hub = Arc::new(MarketDataHub::new(HubConfig::default(), sources).unwrap());
    let mut users = Vec::new();
    for user in 0..1000 {
        let hub = hub.clone();
        let exchange = if user % 2 == 0 {
            ExchangeId::Binance
        } else {
            ExchangeId::Kraken
        };
        users.push(tokio::spawn(async move {
            hub.tickers(exchange, &symbols()).await.unwrap().0.len()
        }));
    }
    for user in users {
        assert_eq!(user.await.unwrap(), 20);
    }
    assert_eq!(hub.upstream_calls(ExchangeId::Binance), 1);
    assert_eq!(hub.upstream_calls(ExchangeId::Kraken), 1);
}

#[tokio::test(start_paused = true)]
async fn data_is_refetched_after_the_ttl_and_new_symbols_join_the_next_call() {
    let venue = source(ExchangeId::Binance);
    let hub = MarketDataHub::new(HubConfig::default(), [venue as Arc<dyn MarketData>]).unwrap();
    let btc: Symbol = "BTC/USDT".parse().unwrap();
    let eth: Symbol = "ETH/USDT".parse().unwrap();
    hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    let (_, age) = hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap();
    assert_eq!(
        hub.upstream_calls(ExchangeId::Binance),
        1,
        "fresh within the TTL"
    );
    assert!(age >= Duration::from_secs(10));
    // A symbol not cached yet forces a call, which fetches every wanted symbol.
    assert_eq!(
        hub.tickers(ExchangeId::Binance, &[eth])
            .await
            .unwrap()
            .0
            .len(),
        1
    );
    assert_eq!(hub.upstream_calls(ExchangeId::Binance), 2);
    tokio::time::advance(Duration::from_secs(16)).await;
    let (tickers, _) = hub.tickers(ExchangeId::Binance, &[btc, eth]).await.unwrap();
    assert_eq!(
        (tickers.len(), hub.upstream_calls(ExchangeId::Binance)),
        (2, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn stale_data_is_served_only_up_to_its_limit() {
    let venue = source(ExchangeId::Binance);
    let hub =
        MarketDataHub::new(HubConfig::default(), [venue.clone() as Arc<dyn MarketData>]).unwrap();
    let btc: Symbol = "BTC/USDT".parse().unwrap();
    hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap();
    venue.failing.store(true, Ordering::Relaxed);
    tokio::time::advance(Duration::from_secs(30)).await;
    let (tickers, age) = hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap();
    assert_eq!(tickers.len(), 1, "the venue failed; cached data served");
    assert!(age >= Duration::from_secs(30), "with its true age: {age:?}");
    tokio::time::advance(Duration::from_secs(31)).await;
    let err = hub.tickers(ExchangeId::Binance, &[btc]).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    // Both failures are counted by class, the one hidden by cached data too.
    assert_eq!(hub.upstream_errors(ExchangeId::Binance, "transient"), 2);
    assert_eq!(hub.upstream_errors(ExchangeId::Binance, "banned"), 0);
    assert_eq!(hub.upstream_errors(ExchangeId::Binance, "no such class"), 0);
    assert!(
        hub.tickers(ExchangeId::Coinbase, &[btc]).await.is_err(),
        "no source for coinbase"
    );
}

#[test]
fn settings_are_checked() {
    let bad = HubConfig {
        ttl: Duration::from_secs(4),
        ..HubConfig::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "ttl must be between 5 and 30 seconds, got 4s"
    );
    let bad = HubConfig {
        ttl: Duration::from_secs(20),
        max_stale: Duration::from_secs(10),
    };
    assert!(bad.validate().is_err());
    HubConfig::default().validate().unwrap();
}

/// Binance's REST side for the streaming tests: two minute candles before the stream's
/// first one (the fixtures' 2022-05-29 09:26 UTC), tickers at 100.
struct Rest;

#[async_trait]
impl MarketData for Rest {
    fn exchange(&self) -> ExchangeId {
        ExchangeId::Binance
    }

    async fn tickers(&self, symbols: &[Symbol]) -> Result<Vec<Ticker>, ExchangeError> {
        Slow {
            exchange: ExchangeId::Binance,
            failing: AtomicBool::new(false),
        }
        .tickers(symbols)
        .await
    }

    async fn candles(
        &self,
        _: Symbol,
        _: Interval,
        _: usize,
    ) -> Result<Vec<Candle>, ExchangeError> {
        let p: Price = "100".parse().unwrap();
        let first = DateTime::from_timestamp_millis(1_653_818_760_000).unwrap();
        Ok((1..=2)
            .rev()
            .map(|n| {
                let at = first - chrono::Duration::minutes(n);
                Candle::new(at, p, p, p, p, nexus_core::Quantity::new(1.into()).unwrap()).unwrap()
            })
            .collect())
    }
}

#[tokio::test]
async fn a_live_stream_serves_tickers_and_candles_without_rest_calls() {
    use crate::binance::stream::BinanceStream;
    use crate::mock::stream::{MockStream, until};
    use crate::stream::{StreamConfig, StreamFeed};

    let wait = Duration::from_secs(5);
    let (mock, url) = MockStream::start().await;
    mock.respond(|request| {
        let id = serde_json::from_str::<serde_json::Value>(request).unwrap()["id"].clone();
        vec![serde_json::json!({"result": null, "id": id}).to_string()]
    });
    let config = StreamConfig {
        backoff: crate::RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(50),
        },
        ..StreamConfig::default()
    };
    let feed = Arc::new(StreamFeed::new(Arc::new(BinanceStream::new(&url)), config));
    let hub = MarketDataHub::new(
        HubConfig::default(),
        [Arc::new(Rest) as Arc<dyn MarketData>],
    )
    .unwrap()
    .with_streams([Arc::clone(&feed)]);
    let btc: Symbol = "BTC/USDT".parse().unwrap();
    let binance = ExchangeId::Binance;
    hub.follow(binance, &[btc], &[(btc, Interval::M1)]);

    // Before the stream has sent anything, REST answers (once per TTL).
    let (tickers, _) = hub.tickers(binance, &[btc]).await.unwrap();
    assert_eq!(tickers[0].bid().to_string(), "100");
    assert_eq!(
        (hub.upstream_calls(binance), hub.stream_fallbacks(binance)),
        (1, 1)
    );

    until("the subscription", wait, || !mock.received().is_empty()).await;
    mock.push(crate::stream::fixtures::fixture(
        "binance",
        "book_ticker_combined.json",
    ));
    mock.push(crate::stream::fixtures::fixture(
        "binance",
        "kline_combined_open.json",
    ));
    until("streamed tickers", wait, || feed.tickers(&[btc]).is_some()).await;
    for _ in 0..50 {
        let (tickers, age) = hub.tickers(binance, &[btc]).await.unwrap();
        assert_eq!(tickers[0].bid().to_string(), "29010.9");
        assert!(age < wait);
    }
    assert_eq!(
        hub.upstream_calls(binance),
        1,
        "no REST call while the stream serves"
    );

    // Candles: one REST snapshot, then the stream's closed candles appended to it.
    let snapshot = hub.candles(binance, btc, Interval::M1, 10).await.unwrap();
    assert_eq!(snapshot.len(), 2);
    assert_eq!(hub.upstream_calls(binance), 2);
    mock.push(crate::stream::fixtures::fixture(
        "binance",
        "kline_combined_closed.json",
    ));
    until("the closed kline", wait, || {
        feed.candles(btc, Interval::M1)
            .is_some_and(|c| c.closed.len() == 1)
    })
    .await;
    for _ in 0..20 {
        let candles = hub.candles(binance, btc, Interval::M1, 10).await.unwrap();
        assert_eq!(candles.len(), 3);
        assert_eq!(
            candles[2].close().to_string(),
            "29038.47",
            "the streamed candle"
        );
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() < w[1].open_time())
        );
    }
    let limited = hub.candles(binance, btc, Interval::M1, 2).await.unwrap();
    assert_eq!(
        limited[1],
        hub.candles(binance, btc, Interval::M1, 3).await.unwrap()[2]
    );
    assert_eq!(
        hub.upstream_calls(binance),
        2,
        "the stream appended, REST was not asked"
    );

    // A dropped connection: the stream may have missed candles, so one more snapshot.
    mock.drop_connections();
    until("the reconnection", wait, || feed.stats().reconnects() == 1).await;
    until("the resubscription", wait, || mock.received().len() == 2).await;
    mock.push(crate::stream::fixtures::fixture(
        "binance",
        "kline_combined_open.json",
    ));
    until("the stream again", wait, || {
        feed.candles(btc, Interval::M1).is_some()
    })
    .await;
    let again = hub.candles(binance, btc, Interval::M1, 10).await.unwrap();
    assert_eq!(
        again.len(),
        2,
        "the new snapshot; the forming candle is not closed yet"
    );
    assert_eq!(hub.upstream_calls(binance), 3);
    assert_eq!(hub.stream_fallbacks(binance), 3);
    hub.candles(binance, btc, Interval::M1, 10).await.unwrap();
    assert_eq!(hub.upstream_calls(binance), 3, "back on the stream");
}
