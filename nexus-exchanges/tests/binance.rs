//! The Binance client against a local Binance that checks signatures the way Binance does
//! and answers with its documented JSON.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::{btc, credentials, limit, market, quick_retries, short_timeouts};

use nexus_core::{
    ClientOrderId, Exchange, ExchangeError, Interval, MarketData, OrderStatus, Side, Symbol,
};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::binance::{BinanceMock, errors};
use nexus_exchanges::{BinanceClient, BinanceConfig, BinanceVenue};
use rust_decimal::Decimal;

const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

async fn setup() -> (Arc<BinanceMock>, Arc<BinanceVenue>, BinanceClient) {
    let (mock, url) = BinanceMock::start(KEY, SECRET).await;
    let venue = BinanceVenue::new(BinanceConfig {
        base_url: url,
        retry: quick_retries(3),
        http: short_timeouts(),
        ..BinanceConfig::default()
    })
    .unwrap();
    let client = venue.client(credentials(KEY, SECRET));
    (mock, venue, client)
}

#[tokio::test]
async fn market_data_comes_in_one_call_and_only_closed_candles() {
    let (mock, venue, _) = setup().await;
    let eth: Symbol = "ETH/BTC".parse().unwrap();
    let tickers = venue.tickers(&[btc(), eth]).await.unwrap();
    assert_eq!(tickers.len(), 2);
    assert_eq!(
        mock.calls("GET /api/v3/ticker/24hr"),
        1,
        "both symbols in one call"
    );
    let t = tickers.iter().find(|t| t.symbol() == btc()).unwrap();
    assert_eq!(
        (
            t.bid().to_string(),
            t.ask().to_string(),
            t.last().to_string()
        ),
        ("59999.99".into(), "60000.01".into(), "60000".into())
    );

    // A symbol Binance does not list fails its whole call; the others still come back.
    let doge: Symbol = "DOGE/USDT".parse().unwrap();
    let tickers = venue.tickers(&[btc(), doge]).await.unwrap();
    assert_eq!(tickers.len(), 1);
    assert_eq!(tickers[0].symbol(), btc());

    let candles = venue.candles(btc(), Interval::H1, 5).await.unwrap();
    assert_eq!(candles.len(), 5);
    assert!(
        candles
            .windows(2)
            .all(|w| w[0].open_time() < w[1].open_time())
    );
    let now = chrono::Utc::now();
    assert!(
        candles
            .iter()
            .all(|c| c.open_time() + chrono::Duration::hours(1) <= now),
        "the open candle is left out"
    );

    let instruments = Exchange::instruments(&venue.client(credentials(KEY, SECRET)), &[])
        .await
        .unwrap();
    assert!(instruments.iter().any(|i| i.symbol() == btc()));
}

#[tokio::test]
async fn orders_are_placed_queried_and_cancelled_by_client_order_id() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));

    let report = client
        .place_order(&market(Side::Buy, "0.01", "buy-1"))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Filled);
    assert_eq!(report.client_order_id.as_str(), "buy-1");
    assert_eq!(report.filled_quantity.to_string(), "0.01");
    assert_eq!(report.average_price.unwrap().to_string(), "60000");
    assert_eq!(
        report.fee.to_string(),
        "0.00001",
        "0.1 % of the base received"
    );
    assert_eq!(report.fee_asset.unwrap().as_str(), "BTC");
    assert_eq!(mock.balance("USDT").0, Decimal::from(9_400));

    let balances = client.balances().await.unwrap();
    let btc_held = balances.iter().find(|b| b.asset.as_str() == "BTC").unwrap();
    assert_eq!(btc_held.free.to_string(), "0.00999");

    let found = client
        .query_order(btc(), &ClientOrderId::new("buy-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.venue_order_id, report.venue_order_id);
    assert_eq!(found.status, OrderStatus::Filled);
    let missing = client
        .query_order(btc(), &ClientOrderId::new("never-sent").unwrap())
        .await
        .unwrap();
    assert!(missing.is_none(), "-2013 means no such order");

    let resting = client
        .place_order(&limit(Side::Buy, "0.01", "50000", "rest-1"))
        .await
        .unwrap();
    assert_eq!(resting.status, OrderStatus::New);
    assert_eq!(
        mock.balance("USDT"),
        (Decimal::from(8_900), Decimal::from(500))
    );
    let cancelled = client
        .cancel_order(btc(), &ClientOrderId::new("rest-1").unwrap())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    assert_eq!(
        cancelled.client_order_id.as_str(),
        "rest-1",
        "ours, not the cancel's id"
    );
    assert_eq!(mock.balance("USDT"), (Decimal::from(9_400), Decimal::ZERO));
    let again = client
        .cancel_order(btc(), &ClientOrderId::new("rest-1").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ExchangeError::Rejected { code: Some(c), .. } if c == "-2011"),
        "{again}"
    );
}

#[tokio::test]
async fn venue_errors_are_classified() {
    let (mock, venue, client) = setup().await;
    mock.deposit("USDT", Decimal::from(100));
    let broke = client
        .place_order(&market(Side::Buy, "0.01", "too-big"))
        .await
        .unwrap_err();
    assert!(
        matches!(broke, ExchangeError::InsufficientBalance { .. }),
        "{broke}"
    );
    let off_step = client
        .place_order(&market(Side::Buy, "0.000015", "off-step"))
        .await
        .unwrap_err();
    assert!(
        matches!(&off_step, ExchangeError::Rejected { code: Some(c), reason, .. }
            if c == "-1013" && reason.contains("LOT_SIZE")),
        "{off_step}"
    );
    let forged = venue.client(credentials(KEY, "not-the-secret"));
    let refused = forged.balances().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. } if message.contains("-1022")),
        "{refused}"
    );
    let stranger = venue.client(credentials("someone-else", SECRET));
    let refused = stranger.validate_credentials().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. } if message.contains("-2015")),
        "{refused}"
    );
    // Refusals are final: nothing was retried.
    assert_eq!(mock.calls("GET /api/v3/account"), 2);
}

#[tokio::test]
async fn a_refused_timestamp_resynchronises_the_clock_and_retries() {
    let (mock, _, client) = setup().await;
    mock.set_clock_skew(20_000);
    client.balances().await.unwrap();
    assert_eq!(mock.calls("GET /api/v3/time"), 1);
    assert_eq!(
        mock.calls("GET /api/v3/account"),
        2,
        "refused once, then accepted"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_venues_wait_and_a_ban_stops_every_call() {
    let (mock, venue, client) = setup().await;
    mock.script(Scripted {
        path: Some("/api/v3/account".into()),
        status: 429,
        body: errors::TOO_MANY_REQUESTS.into(),
        retry_after: Some(1),
        after_applying: false,
    });
    let started = std::time::Instant::now();
    client.balances().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(mock.calls("GET /api/v3/account"), 2);

    mock.script(Scripted {
        path: None,
        status: 418,
        body: errors::IP_BANNED.into(),
        retry_after: Some(120),
        after_applying: false,
    });
    let banned = venue.tickers(&[btc()]).await.unwrap_err();
    assert!(
        matches!(banned, ExchangeError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{banned}"
    );
    let before = mock.calls("GET /api/v3/account");
    let stopped = client.balances().await.unwrap_err();
    assert!(
        matches!(stopped, ExchangeError::RateLimited { retry_after: Some(d), .. } if d > Duration::from_secs(100))
    );
    assert_eq!(
        mock.calls("GET /api/v3/account"),
        before,
        "no call reaches a venue that banned us"
    );
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_reported_unknown_and_found_by_its_id() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));

    // A 5xx after the venue acted.
    mock.script(Scripted {
        path: Some("/api/v3/order".into()),
        status: 503,
        body: "<html>Service Unavailable</html>".into(),
        retry_after: None,
        after_applying: true,
    });
    let lost = client
        .place_order(&market(Side::Buy, "0.01", "lost-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(lost, ExchangeError::OutcomeUnknown { .. }),
        "{lost}"
    );
    assert_eq!(mock.calls("POST /api/v3/order"), 1, "never sent twice");
    let found = client
        .query_order(btc(), &ClientOrderId::new("lost-1").unwrap())
        .await
        .unwrap();
    assert_eq!(found.unwrap().status, OrderStatus::Filled);

    // Binance's own "execution status unknown" error.
    mock.script(Scripted {
        path: Some("/api/v3/order".into()),
        status: 500,
        body: errors::BACKEND_TIMEOUT.into(),
        retry_after: None,
        after_applying: false,
    });
    let unknown = client
        .place_order(&market(Side::Buy, "0.01", "lost-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, ExchangeError::OutcomeUnknown { .. }),
        "{unknown}"
    );
    assert!(
        client
            .query_order(btc(), &ClientOrderId::new("lost-2").unwrap())
            .await
            .unwrap()
            .is_none(),
        "looked up: not placed, so it may be placed again"
    );

    // A timeout after the venue acted.
    mock.stall_next(Duration::from_secs(2));
    let timed_out = client
        .place_order(&market(Side::Buy, "0.01", "lost-3"))
        .await
        .unwrap_err();
    assert!(
        matches!(timed_out, ExchangeError::OutcomeUnknown { .. }),
        "{timed_out}"
    );
    assert!(
        client
            .query_order(btc(), &ClientOrderId::new("lost-3").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(mock.orders(), 2);

    // An accepted order whose answer cannot be read: unknown too, not a final failure.
    mock.script(Scripted {
        path: Some("/api/v3/order".into()),
        status: 200,
        body: "{\"truncated\":".into(),
        retry_after: None,
        after_applying: true,
    });
    let garbled = client
        .place_order(&market(Side::Buy, "0.01", "lost-4"))
        .await
        .unwrap_err();
    assert!(
        matches!(garbled, ExchangeError::OutcomeUnknown { .. }),
        "{garbled}"
    );
    assert!(
        client
            .query_order(btc(), &ClientOrderId::new("lost-4").unwrap())
            .await
            .unwrap()
            .is_some()
    );

    // A read that meets a 5xx is simply retried.
    mock.script(Scripted {
        path: Some("/api/v3/account".into()),
        status: 502,
        body: "bad gateway".into(),
        retry_after: None,
        after_applying: false,
    });
    client.balances().await.unwrap();
}

#[tokio::test]
async fn the_used_weight_header_corrects_the_budget() {
    let (mock, venue, client) = setup().await;
    mock.set_weight_used(4000);
    client.balances().await.unwrap();
    assert!(venue.weight_used() >= 4001, "{}", venue.weight_used());
}

#[tokio::test]
async fn credentials_report_trading_and_warn_about_withdrawals() {
    let (mock, _, client) = setup().await;
    let permissions = client.validate_credentials().await.unwrap();
    assert!(permissions.read && permissions.trade && !permissions.withdraw);
    mock.set_key_permissions(true, true);
    assert!(client.validate_credentials().await.unwrap().withdraw);
    mock.set_key_permissions(false, false);
    assert!(!client.validate_credentials().await.unwrap().trade);
}
