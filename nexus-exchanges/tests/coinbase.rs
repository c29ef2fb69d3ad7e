//! What only Coinbase does, against a local Coinbase Advanced Trade that checks each
//! request's ES256 JWT the way Coinbase does and answers with its documented JSON: signed
//! market data from other endpoints, orders read back after placing and found by listing,
//! its documented answer to a reused client order id, cursors, and the JWT rules. What
//! every venue does is in the conformance suite (`tests/conformance/`).
#![allow(clippy::unwrap_used)]

mod support;

use std::str::FromStr;
use support::coinbase::{ACCOUNT_KEY, Coinbase, KEY_NAME, pem, public_key};
use support::{btc, credentials, id, market};

use nexus_core::{Exchange, ExchangeError, Interval, MarketData, Side, Symbol};
use nexus_exchanges::coinbase::{CoinbaseConfig, CoinbaseVenue};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::coinbase::CoinbaseMock;
use rust_decimal::Decimal;

fn btc_usd() -> Symbol {
    "BTC/USD".parse().unwrap()
}

#[tokio::test]
async fn signed_market_data_reads_best_bid_ask_and_the_signed_candles() {
    let Coinbase {
        mock,
        venue,
        client,
    } = Coinbase::start().await;

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

    // A product Coinbase does not list fails best_bid_ask: asked again for all, filtered.
    let doge: Symbol = "DOGE/USDT".parse().unwrap();
    let tickers = client.tickers(&[btc(), doge]).await.unwrap();
    assert_eq!(tickers.len(), 1);
    assert_eq!(tickers[0].symbol(), btc());
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/best_bid_ask"),
        3,
        "refused for the unknown id, then asked for all"
    );

    let before = chrono::Utc::now();
    let candles = client.candles(btc(), Interval::M15, 5).await.unwrap();
    let after = chrono::Utc::now();
    assert_eq!(candles.len(), 5);
    let length = chrono::Duration::from_std(Interval::M15.duration()).unwrap();
    assert!(
        candles
            .windows(2)
            .all(|w| w[0].open_time() + length == w[1].open_time()),
        "oldest first, none missing"
    );
    let newest = candles.last().unwrap().open_time();
    assert!(newest + length <= after, "the open candle is left out");
    assert!(newest + length * 2 > before, "up to the last closed one");
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/products/BTC-USDT/candles"),
        1,
        "signed"
    );
    venue.candles(btc(), Interval::H1, 5).await.unwrap();
    assert_eq!(
        mock.calls("GET /api/v3/brokerage/market/products/BTC-USDT/candles"),
        1,
        "public"
    );
    // More than Coinbase gives in one request: its maximum, not a refusal.
    let many = venue.candles(btc(), Interval::M1, 1000).await.unwrap();
    assert_eq!(many.len(), 349);
}

#[tokio::test]
async fn an_order_is_read_back_after_placing_and_found_among_its_products_orders() {
    let Coinbase { mock, client, .. } = Coinbase::start().await;
    mock.deposit("USDT", Decimal::from(10_000));
    let report = client
        .place_order(&market(Side::Buy, "0.01", "buy-1"))
        .await
        .unwrap();
    assert_eq!(
        mock.calls(&format!(
            "GET /api/v3/brokerage/orders/historical/{}",
            report.venue_order_id
        )),
        1,
        "read back after placing"
    );
    assert!(
        client
            .query_order(btc_usd(), &id("buy-1"))
            .await
            .unwrap()
            .is_none(),
        "listed by product"
    );
    let filled = client.cancel_order(btc(), &id("buy-1")).await.unwrap_err();
    assert!(
        matches!(&filled, ExchangeError::Rejected { code: Some(c), .. } if c == "ORDER_IS_FULLY_FILLED"),
        "{filled}"
    );
}

#[tokio::test]
async fn a_reused_client_order_id_returns_the_order_already_placed() {
    let Coinbase { mock, client, .. } = Coinbase::start().await;
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
async fn a_secret_that_is_no_key_and_a_key_without_the_trade_scope_are_auth_errors() {
    let Coinbase {
        mock,
        venue,
        client,
    } = Coinbase::start().await;
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
async fn an_order_placed_but_never_read_back_is_unknown_and_found_by_its_id() {
    let Coinbase { mock, client, .. } = Coinbase::start().await;
    mock.deposit("USDT", Decimal::from(10_000));
    for _ in 0..support::ATTEMPTS {
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
    assert_eq!(mock.orders(), 1);
}

#[tokio::test]
async fn cursors_are_followed_across_pages() {
    let Coinbase { mock, client, .. } = Coinbase::start().await;
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
async fn the_mock_holds_each_jwt_to_its_request_and_to_one_use() {
    use nexus_exchanges::coinbase::sign;

    let (mock, url) = CoinbaseMock::start(KEY_NAME, public_key(ACCOUNT_KEY)).await;
    // Building a venue installs the TLS provider reqwest needs.
    let _venue = CoinbaseVenue::new(CoinbaseConfig::default()).unwrap();
    let host = url.trim_start_matches("http://");
    let now = chrono::Utc::now().timestamp();
    let accounts = "/api/v3/brokerage/accounts";
    let token = |path: &str, at: i64| {
        sign::jwt(
            KEY_NAME,
            &pem(ACCOUNT_KEY),
            "GET",
            host,
            path,
            at,
            &sign::nonce(),
        )
        .unwrap()
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
