//! The Coinbase client against a local Coinbase Advanced Trade that checks each request's
//! ES256 JWT the way Coinbase does and answers with its documented JSON.
#![allow(clippy::unwrap_used)]

mod support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use support::{btc, id, limit, market, quick_retries, short_timeouts};

use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::{
    Exchange, ExchangeError, Interval, MarketData, OrderStatus, Quantity, Secret, Side, Symbol,
};
use nexus_exchanges::coinbase::{CoinbaseClient, CoinbaseConfig, CoinbaseVenue};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::coinbase::{CoinbaseMock, errors};
use p256::SecretKey;
use p256::ecdsa::SigningKey;
use p256::pkcs8::LineEnding;
use rust_decimal::Decimal;

const KEY_NAME: &str = "organizations/5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/apiKeys/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// A fixed P-256 key, so every run signs alike.
fn secret_key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

/// The SEC1 PEM Coinbase hands out, with its line breaks as literal `\n` (as it arrives
/// from an environment variable).
fn pem(byte: u8) -> String {
    secret_key(byte)
        .to_sec1_pem(LineEnding::LF)
        .unwrap()
        .replace('\n', "\\n")
}

fn btc_usd() -> Symbol {
    "BTC/USD".parse().unwrap()
}

fn credentials(name: &str, pem: &str) -> ApiCredentials {
    ApiCredentials {
        api_key: name.into(),
        secret: Secret::new(pem),
        passphrase: None,
    }
}

async fn setup() -> (Arc<CoinbaseMock>, Arc<CoinbaseVenue>, CoinbaseClient) {
    let key = *SigningKey::from(secret_key(0x11)).verifying_key();
    let (mock, url) = CoinbaseMock::start(KEY_NAME, key).await;
    let venue = CoinbaseVenue::new(CoinbaseConfig {
        base_url: url,
        retry: quick_retries(3),
        http: short_timeouts(),
        ..CoinbaseConfig::default()
    })
    .unwrap();
    let client = venue.client(credentials(KEY_NAME, &pem(0x11)));
    (mock, venue, client)
}

#[tokio::test]
async fn market_data_comes_in_one_call_and_only_closed_candles() {
    let (mock, venue, client) = setup().await;

    // Without a key: the public product list, with the last trade price.
    let tickers = venue.tickers(&[btc(), btc_usd()]).await.unwrap();
    assert_eq!(tickers.len(), 2);
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/market/products"),
        1,
        "both products in one call"
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

    // With a key: best_bid_ask, whose last is the midpoint.
    let tickers = client.tickers(&[btc(), btc_usd()]).await.unwrap();
    assert_eq!(tickers.len(), 2);
    assert_eq!(mock.calls("GET /api/v3/brokerage/best_bid_ask"), 1);
    let usd = tickers.iter().find(|t| t.symbol() == btc_usd()).unwrap();
    assert_eq!(
        (
            usd.bid().to_string(),
            usd.ask().to_string(),
            usd.last().to_string()
        ),
        ("140.2".into(), "140.24".into(), "140.22".into())
    );

    // A product Coinbase does not list is left out; the others still come back.
    let doge: Symbol = "DOGE/USDT".parse().unwrap();
    let tickers = venue.tickers(&[btc(), doge]).await.unwrap();
    assert_eq!(tickers.len(), 1);
    let tickers = client.tickers(&[btc(), doge]).await.unwrap();
    assert_eq!(tickers.len(), 1);
    assert_eq!(tickers[0].symbol(), btc());
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/best_bid_ask"),
        3,
        "refused for the unknown id, then asked for all"
    );

    let now = chrono::Utc::now();
    for (source, interval, candles) in [
        (
            "public",
            Interval::H1,
            venue.candles(btc(), Interval::H1, 5).await.unwrap(),
        ),
        (
            "private",
            Interval::M15,
            client.candles(btc(), Interval::M15, 5).await.unwrap(),
        ),
    ] {
        assert_eq!(candles.len(), 5, "{source}");
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() + interval.duration() == w[1].open_time()),
            "{source}: oldest first, none missing"
        );
        let length = chrono::Duration::from_std(interval.duration()).unwrap();
        let newest = candles.last().unwrap().open_time();
        assert!(
            newest + length <= now,
            "{source}: the open candle is left out"
        );
        assert!(
            newest + length * 2 > now,
            "{source}: up to the last closed one"
        );
    }
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/market/products/BTC-USDT/candles"),
        1
    );
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/products/BTC-USDT/candles"),
        1
    );
    // More than Coinbase gives in one request: its maximum, not a refusal.
    let many = venue.candles(btc(), Interval::M1, 1000).await.unwrap();
    assert_eq!(many.len(), 349);
    assert!(
        venue
            .candles(btc(), Interval::D1, 0)
            .await
            .unwrap()
            .is_empty()
    );

    let instruments = client.instruments(&[btc()]).await.unwrap();
    assert_eq!(instruments.len(), 1);
    let f = instruments[0].filters();
    assert_eq!(
        (
            f.tick_size.to_string(),
            f.step_size.to_string(),
            f.min_qty.to_string(),
            f.max_qty.map(|q| q.to_string()),
            f.min_notional.to_string()
        ),
        (
            "0.01".into(),
            "0.00000001".into(),
            "0.00000001".into(),
            Some("3400".into()),
            "1".into()
        )
    );
    assert_eq!(client.instruments(&[]).await.unwrap().len(), 2);
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
    assert_eq!(report.symbol, btc());
    assert_eq!(report.quantity.to_string(), "0.01");
    assert_eq!(report.filled_quantity.to_string(), "0.01");
    assert_eq!(report.average_price.unwrap().to_string(), "60000");
    assert_eq!(report.fee.to_string(), "0.6", "0.1 % of 600 USDT");
    assert_eq!(report.fee_asset.unwrap().as_str(), "USDT");
    assert_eq!(mock.balance("USDT").0, Decimal::from_str("9399.4").unwrap());
    assert_eq!(
        mock.calls(&format!(
            "GET /api/v3/brokerage/orders/historical/{}",
            report.venue_order_id
        )),
        1,
        "read back after placing"
    );

    let balances = client.balances().await.unwrap();
    let held = balances.iter().find(|b| b.asset.as_str() == "BTC").unwrap();
    assert_eq!(held.free.to_string(), "0.01");

    let found = client
        .query_order(btc(), &id("buy-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.venue_order_id, report.venue_order_id);
    assert_eq!(found.status, OrderStatus::Filled);
    let missing = client.query_order(btc(), &id("never-sent")).await.unwrap();
    assert!(missing.is_none());
    assert!(
        client
            .query_order(btc_usd(), &id("buy-1"))
            .await
            .unwrap()
            .is_none(),
        "listed by product"
    );

    let resting = client
        .place_order(&limit(Side::Buy, "0.01", "50000", "rest-1"))
        .await
        .unwrap();
    assert_eq!(resting.status, OrderStatus::New);
    assert_eq!(resting.filled_quantity, Quantity::ZERO);
    assert_eq!(resting.average_price, None);
    assert_eq!(
        mock.balance("USDT"),
        (
            Decimal::from_str("8898.9").unwrap(),
            Decimal::from_str("500.5").unwrap()
        ),
        "500 USDT and its fee held"
    );
    let cancelled = client.cancel_order(btc(), &id("rest-1")).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    assert_eq!(cancelled.client_order_id.as_str(), "rest-1");
    assert_eq!(cancelled.venue_order_id, resting.venue_order_id);
    assert_eq!(
        mock.balance("USDT"),
        (Decimal::from_str("9399.4").unwrap(), Decimal::ZERO)
    );
    let again = client.cancel_order(btc(), &id("rest-1")).await.unwrap_err();
    assert!(
        matches!(&again, ExchangeError::Rejected { code: Some(c), .. } if c == "UNKNOWN_CANCEL_ORDER"),
        "{again}"
    );
    let filled = client.cancel_order(btc(), &id("buy-1")).await.unwrap_err();
    assert!(
        matches!(&filled, ExchangeError::Rejected { code: Some(c), .. } if c == "ORDER_IS_FULLY_FILLED"),
        "{filled}"
    );
    let unknown = client
        .cancel_order(btc(), &id("never-sent"))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, ExchangeError::Rejected { code: Some(c), .. } if c == "UNKNOWN_CANCEL_ORDER"),
        "{unknown}"
    );

    // A sell of what was bought, and a limit sell that crosses the bid.
    let sold = client
        .place_order(&limit(Side::Sell, "0.005", "59000", "sell-1"))
        .await
        .unwrap();
    assert_eq!(
        (
            sold.status,
            sold.side,
            sold.average_price.unwrap().to_string()
        ),
        (OrderStatus::Filled, Side::Sell, "59000".into())
    );
    assert_eq!(mock.balance("BTC").0, Decimal::from_str("0.005").unwrap());
}

#[tokio::test]
async fn a_reused_client_order_id_returns_the_order_already_placed() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));
    let first = client
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    // Coinbase's documented behaviour: the existing order comes back.
    let second = client
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    assert_eq!(second.venue_order_id, first.venue_order_id);
    // The failure form of the same thing: looked up and returned.
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/orders".into()),
        status: 200,
        body: r#"{"success":false,"error_response":{"error":"UNKNOWN_FAILURE_REASON","message":"duplicate","new_order_failure_reason":"DUPLICATE_CLIENT_ORDER_ID"}}"#.into(),
        retry_after: None,
        after_applying: false,
    });
    let third = client
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    assert_eq!(third.venue_order_id, first.venue_order_id);
    assert_eq!(mock.orders(), 1, "never placed twice");
    assert_eq!(mock.balance("USDT").0, Decimal::from_str("9399.4").unwrap());
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
        matches!(&broke, ExchangeError::InsufficientBalance { message, .. }
            if message.contains("Insufficient balance in source account")),
        "{broke}"
    );
    let off_tick = client
        .place_order(&limit(Side::Buy, "0.001", "50000.005", "off-tick"))
        .await
        .unwrap_err();
    assert!(
        matches!(&off_tick, ExchangeError::Rejected { code: Some(c), reason, .. }
            if c == "INVALID_PRICE_PRECISION" && reason == "Invalid price precision"),
        "{off_tick}"
    );
    assert_eq!(mock.orders(), 0);

    // Signed with another private key under the right name: a forged JWT.
    let forged = venue.client(credentials(KEY_NAME, &pem(0x22)));
    let refused = forged.balances().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. } if message.starts_with("Unauthorized")),
        "{refused}"
    );
    // The right key under another name.
    let stranger = venue.client(credentials("organizations/x/apiKeys/y", &pem(0x11)));
    let refused = stranger.validate_credentials().await.unwrap_err();
    assert!(matches!(refused, ExchangeError::Auth { .. }), "{refused}");
    // Refusals are final: nothing was retried.
    assert_eq!(mock.calls("GET /api/v3/brokerage/accounts"), 1);
    assert_eq!(mock.calls("GET /api/v3/brokerage/key_permissions"), 1);

    // A secret that is no key fails before anything is sent, without quoting it.
    let before = venue.requests_sent();
    let garbled = venue.client(credentials(KEY_NAME, "my-secret-password"));
    let refused = garbled.balances().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. }
            if message.contains("not a PEM private key") && !message.contains("my-secret-password")),
        "{refused}"
    );
    assert!(!format!("{garbled:?}").contains("my-secret-password"));
    assert!(!format!("{client:?}").contains("PRIVATE KEY"));
    assert_eq!(venue.requests_sent(), before);

    // A key without the trade scope: 403 is an auth failure.
    mock.set_key_permissions(false, false);
    let denied = client
        .place_order(&market(Side::Buy, "0.001", "no-scope"))
        .await
        .unwrap_err();
    assert!(
        matches!(&denied, ExchangeError::Auth { message, .. } if message.contains("Missing required scopes")),
        "{denied}"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_venues_wait() {
    let (mock, venue, client) = setup().await;
    // Coinbase's 429 may be an HTML page.
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/accounts".into()),
        status: 429,
        body: errors::RATE_LIMITED_HTML.into(),
        retry_after: Some(1),
        after_applying: false,
    });
    let started = std::time::Instant::now();
    client.balances().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(mock.calls("GET /api/v3/brokerage/accounts"), 2);

    // An order refused for the rate is not placed, so it is sent again.
    mock.deposit("USDT", Decimal::from(1_000));
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/orders".into()),
        status: 429,
        body: errors::RATE_LIMITED.into(),
        retry_after: None,
        after_applying: false,
    });
    client
        .place_order(&market(Side::Buy, "0.001", "limited"))
        .await
        .unwrap();
    assert_eq!(mock.calls("POST /api/v3/brokerage/orders"), 2);
    assert_eq!(mock.orders(), 1);

    // Every attempt limited: reported as such.
    for _ in 0..3 {
        mock.script(Scripted {
            path: None,
            status: 429,
            body: errors::RATE_LIMITED.into(),
            retry_after: None,
            after_applying: false,
        });
    }
    let limited = venue.tickers(&[btc()]).await.unwrap_err();
    assert!(
        matches!(limited, ExchangeError::RateLimited { .. }),
        "{limited}"
    );
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_reported_unknown_and_found_by_its_id() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));

    // A 5xx after the venue acted.
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/orders".into()),
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
    assert_eq!(
        mock.calls("POST /api/v3/brokerage/orders"),
        1,
        "never sent twice"
    );
    let found = client.query_order(btc(), &id("lost-1")).await.unwrap();
    assert_eq!(found.unwrap().status, OrderStatus::Filled);

    // A 5xx before the venue acted: unknown all the same, and the lookup says not placed.
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/orders".into()),
        status: 500,
        body: r#"{"error":"INTERNAL","message":"internal error"}"#.into(),
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
            .query_order(btc(), &id("lost-2"))
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
            .query_order(btc(), &id("lost-3"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(mock.orders(), 2);

    // Placed, but every read-back failed: unknown, and found by its id.
    for _ in 0..3 {
        mock.script(Scripted {
            path: Some(format!(
                "/api/v3/brokerage/orders/historical/{}",
                mock.next_order_id()
            )),
            status: 502,
            body: "bad gateway".into(),
            retry_after: None,
            after_applying: false,
        });
    }
    let unread = client
        .place_order(&market(Side::Buy, "0.01", "lost-4"))
        .await
        .unwrap_err();
    assert!(
        matches!(&unread, ExchangeError::OutcomeUnknown { message, .. } if message.contains("placed as order")),
        "{unread}"
    );
    assert!(
        client
            .query_order(btc(), &id("lost-4"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(mock.orders(), 3);

    // A read that meets a 5xx is simply retried.
    mock.script(Scripted {
        path: Some("/api/v3/brokerage/accounts".into()),
        status: 502,
        body: "bad gateway".into(),
        retry_after: None,
        after_applying: false,
    });
    client.balances().await.unwrap();
}

#[tokio::test]
async fn cursors_are_followed_across_pages() {
    let (mock, _, client) = setup().await;
    mock.set_page_size(1);
    mock.deposit("USDT", Decimal::from(10_000));
    mock.deposit("USD", Decimal::from(5));
    mock.deposit("ETH", Decimal::from(2));
    let balances = client.balances().await.unwrap();
    assert_eq!(balances.len(), 3);
    assert_eq!(mock.calls("GET /api/v3/brokerage/accounts"), 3);

    for n in 0..3 {
        client
            .place_order(&market(Side::Buy, "0.001", &format!("page-{n}")))
            .await
            .unwrap();
    }
    // Newest first: the oldest order is on the third page.
    let oldest = client.query_order(btc(), &id("page-0")).await.unwrap();
    assert_eq!(oldest.unwrap().client_order_id.as_str(), "page-0");
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/orders/historical/batch"),
        3
    );
    assert!(
        client
            .query_order(btc(), &id("page-9"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn credentials_report_trading_and_warn_about_transfers() {
    let (mock, _, client) = setup().await;
    let permissions = client.validate_credentials().await.unwrap();
    assert!(permissions.read && permissions.trade && !permissions.withdraw);
    mock.set_key_permissions(true, true);
    assert!(
        client.validate_credentials().await.unwrap().withdraw,
        "can_transfer is reported as withdraw"
    );
    mock.set_key_permissions(false, false);
    assert!(!client.validate_credentials().await.unwrap().trade);
}

#[tokio::test]
async fn the_mock_holds_each_jwt_to_its_request_and_to_one_use() {
    use nexus_exchanges::coinbase::sign;

    let key = *SigningKey::from(secret_key(0x11)).verifying_key();
    let (mock, url) = CoinbaseMock::start(KEY_NAME, key).await;
    // Building a venue installs the TLS provider reqwest needs.
    let _venue = CoinbaseVenue::new(CoinbaseConfig::default()).unwrap();
    let host = url.trim_start_matches("http://");
    let now = chrono::Utc::now().timestamp();
    let accounts = "/api/v3/brokerage/accounts";
    let token = |path: &str, at: i64| {
        sign::jwt(KEY_NAME, &pem(0x11), "GET", host, path, at, &sign::nonce()).unwrap()
    };
    let http = reqwest::Client::new();
    let get =
        |path: &str, token: String| http.get(format!("{url}{path}")).bearer_auth(token).send();

    let valid = token(accounts, now);
    assert_eq!(get(accounts, valid.clone()).await.unwrap().status(), 200);
    assert_eq!(
        get(accounts, valid).await.unwrap().status(),
        401,
        "a JWT is good for one request"
    );
    let elsewhere = get("/api/v3/brokerage/key_permissions", token(accounts, now))
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 401, "signed for another path");
    assert_eq!(elsewhere.text().await.unwrap(), "Unauthorized");
    let expired = get(accounts, token(accounts, now - 300)).await.unwrap();
    assert_eq!(expired.status(), 401);
    let query_signed = get(
        &format!("{accounts}?limit=1"),
        token(&format!("{accounts}?limit=1"), now),
    )
    .await
    .unwrap();
    assert_eq!(query_signed.status(), 401, "the query is not part of uri");
    let public = http
        .get(format!("{url}/api/v3/brokerage/market/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200, "public endpoints need no JWT");
    assert_eq!(mock.calls(&format!("GET {accounts}")), 4);
}
