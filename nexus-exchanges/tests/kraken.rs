//! The Kraken client against a local Kraken that checks `API-Sign` and nonces the way
//! Kraken does and answers with its documented JSON.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::{btc, credentials, limit, market, quick_retries, short_timeouts};

use nexus_core::ports::NonceSource;
use nexus_core::{
    ClientOrderId, Exchange, ExchangeError, Interval, MarketData, OrderStatus, Side, Symbol,
};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::kraken::{KrakenMock, errors};
use nexus_exchanges::{KrakenClient, KrakenConfig, KrakenVenue, RetryPolicy};
use nexus_store::SqliteStore;
use nexus_store::vault::{Keyring, MasterKey};
use rust_decimal::Decimal;

const KEY: &str = "kraken-test-key-0123456789";
// The secret of Kraken's documented signing example.
const SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

fn config(url: &str) -> KrakenConfig {
    KrakenConfig {
        base_url: url.to_owned(),
        retry: quick_retries(4),
        http: short_timeouts(),
        public_burst: 100,
        public_per_second: 100.0,
        private_max: 20,
        private_decay_per_second: 20.0,
        ..KrakenConfig::default()
    }
}

async fn setup() -> (Arc<KrakenMock>, Arc<KrakenVenue>, KrakenClient) {
    let (mock, url) = KrakenMock::start(KEY, SECRET).await;
    let venue = KrakenVenue::new(config(&url)).unwrap();
    let client = venue.client(credentials(KEY, SECRET));
    (mock, venue, client)
}

#[tokio::test]
async fn market_data_maps_kraken_names_and_asks_once() {
    let (mock, venue, client) = setup().await;
    let usd: Symbol = "BTC/USD".parse().unwrap();
    let doge: Symbol = "DOGE/USDT".parse().unwrap();
    let tickers = venue.tickers(&[btc(), usd, doge]).await.unwrap();
    assert_eq!(tickers.len(), 2, "the unlisted pair is left out, not fatal");
    assert_eq!(
        mock.calls("GET /0/public/Ticker"),
        1,
        "one call for all pairs"
    );
    let t = tickers.iter().find(|t| t.symbol() == btc()).unwrap();
    assert_eq!(t.last().to_string(), "60000");
    venue.tickers(&[btc()]).await.unwrap();
    assert_eq!(
        mock.calls("GET /0/public/AssetPairs"),
        1,
        "the pair list is cached"
    );

    let candles = venue.candles(btc(), Interval::M5, 10).await.unwrap();
    assert_eq!(candles.len(), 10);
    let now = chrono::Utc::now();
    assert!(
        candles
            .iter()
            .all(|c| c.open_time() + chrono::Duration::minutes(5) <= now)
    );

    let instruments = client.instruments(&[btc()]).await.unwrap();
    assert_eq!(instruments.len(), 1);
    assert_eq!(instruments[0].filters().min_qty.to_string(), "0.00005");
}

#[tokio::test]
async fn orders_carry_cl_ord_id_and_are_found_and_cancelled_by_it() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));

    let filled = client
        .place_order(&market(Side::Buy, "0.01", "buy-1"))
        .await
        .unwrap();
    assert_eq!(filled.status, OrderStatus::Filled);
    assert_eq!(filled.client_order_id.as_str(), "buy-1");
    assert_eq!(filled.average_price.unwrap().to_string(), "60000");
    assert_eq!(filled.fee.to_string(), "1.56", "0.26 % of 600 in USDT");
    assert_eq!(filled.fee_asset.unwrap().as_str(), "USDT");
    let balances = client.balances().await.unwrap();
    let btc_held = balances.iter().find(|b| b.asset.as_str() == "BTC").unwrap();
    assert_eq!(btc_held.free.to_string(), "0.01", "XXBT reported as BTC");

    let resting = client
        .place_order(&limit(Side::Buy, "0.01", "50000.0", "rest-1"))
        .await
        .unwrap();
    assert_eq!(resting.status, OrderStatus::New);
    let usdt = client.balances().await.unwrap();
    let usdt = usdt.iter().find(|b| b.asset.as_str() == "USDT").unwrap();
    assert_eq!(usdt.locked.to_string(), "500");

    let found = client
        .query_order(btc(), &ClientOrderId::new("rest-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.venue_order_id, resting.venue_order_id);
    let cancelled = client
        .cancel_order(btc(), &ClientOrderId::new("rest-1").unwrap())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    let again = client
        .cancel_order(btc(), &ClientOrderId::new("rest-1").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ExchangeError::Rejected { code: Some(c), .. } if c == "EOrder:Unknown order"),
        "{again}"
    );
    assert!(
        client
            .query_order(btc(), &ClientOrderId::new("never").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn kraken_errors_are_classified() {
    let (mock, venue, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10));
    let broke = client
        .place_order(&market(Side::Buy, "0.01", "b"))
        .await
        .unwrap_err();
    assert!(
        matches!(broke, ExchangeError::InsufficientBalance { .. }),
        "{broke}"
    );
    let tiny = client
        .place_order(&market(Side::Buy, "0.00001", "t"))
        .await
        .unwrap_err();
    assert!(
        matches!(&tiny, ExchangeError::Rejected { code: Some(c), .. } if c == "EOrder:Order minimum not met"),
        "{tiny}"
    );
    let stranger = venue.client(credentials("not-our-key", SECRET));
    let refused = stranger.balances().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. } if message.contains("Invalid key"))
    );
    let forged = venue.client(credentials(KEY, "c2VjcmV0"));
    let refused = forged.validate_credentials().await.unwrap_err();
    assert!(
        matches!(&refused, ExchangeError::Auth { message, .. } if message.contains("Invalid signature"))
    );
    let not_base64 = venue.client(credentials(KEY, "not base64!"));
    assert!(matches!(
        not_base64.balances().await.unwrap_err(),
        ExchangeError::Auth { .. }
    ));
}

#[tokio::test]
async fn refused_nonces_and_rate_limits_are_retried() {
    let (mock, _, client) = setup().await;
    for body in [errors::INVALID_NONCE, errors::RATE_LIMIT] {
        mock.script(Scripted {
            path: Some("/0/private/BalanceEx".into()),
            status: 200,
            body: body.into(),
            retry_after: None,
            after_applying: false,
        });
    }
    client.balances().await.unwrap();
    assert_eq!(mock.calls("POST /0/private/BalanceEx"), 3);
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_reported_unknown_and_found_by_its_id() {
    let (mock, _, client) = setup().await;
    mock.deposit("USDT", Decimal::from(10_000));
    mock.script(Scripted {
        path: Some("/0/private/AddOrder".into()),
        status: 502,
        body: "<html>Bad Gateway</html>".into(),
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
    assert_eq!(mock.calls("POST /0/private/AddOrder"), 1);
    let found = client
        .query_order(btc(), &ClientOrderId::new("lost-1").unwrap())
        .await
        .unwrap();
    assert_eq!(found.unwrap().status, OrderStatus::Filled);

    mock.stall_next(Duration::from_secs(2));
    let timed_out = client
        .place_order(&market(Side::Buy, "0.01", "lost-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(timed_out, ExchangeError::OutcomeUnknown { .. }),
        "{timed_out}"
    );
    assert_eq!(mock.orders(), 2, "placed once each");
}

/// Two "processes" (separate venues, each with its own HTTP client, state and store
/// connection) use one key at once, their nonces drawn from one database: every nonce
/// Kraken sees is above the last, and a request overtaken in flight is re-signed with a
/// fresh nonce, never lost.
#[tokio::test]
async fn nonces_stay_increasing_across_processes_sharing_a_store() {
    let (mock, url) = KrakenMock::start(KEY, SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("nexus.db").display());
    let keys = || Keyring::new(MasterKey::generate(), Vec::new());
    let first: Arc<dyn NonceSource> = Arc::new(SqliteStore::open(&db, keys()).await.unwrap());
    let second: Arc<dyn NonceSource> = Arc::new(SqliteStore::open(&db, keys()).await.unwrap());
    let patient = KrakenConfig {
        retry: RetryPolicy {
            max_attempts: 30,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
        },
        ..config(&url)
    };
    let a = KrakenVenue::with_nonces(patient.clone(), first).unwrap();
    let b = KrakenVenue::with_nonces(patient, second).unwrap();
    let a = Arc::new(a.client(credentials(KEY, SECRET)));
    let b = Arc::new(b.client(credentials(KEY, SECRET)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = Arc::clone(if i % 2 == 0 { &a } else { &b });
        tasks.spawn(async move { client.balances().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let nonces = mock.accepted_nonces();
    assert_eq!(nonces.len(), 20, "every call accepted once");
    assert!(nonces.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn key_permissions_come_from_get_api_key_info() {
    let (mock, _, client) = setup().await;
    let p = client.validate_credentials().await.unwrap();
    assert!(p.read && p.trade && !p.withdraw);
    mock.set_permissions(&["query-funds", "withdraw-funds"]);
    let p = client.validate_credentials().await.unwrap();
    assert!(p.read && !p.trade && p.withdraw);
}
