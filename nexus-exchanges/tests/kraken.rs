//! What only Kraken does, against a local Kraken that checks `API-Sign` and nonces the way
//! Kraken does and answers with its documented JSON: its pair and asset names, its order
//! minimum, errors inside 200 answers, and nonces that must keep rising across processes
//! sharing a key. What every venue does is in the conformance suite (`tests/conformance/`).
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use support::kraken::{KEY, Kraken, SECRET, config};
use support::{btc, credentials, market};

use async_trait::async_trait;
use nexus_core::ports::NonceSource;
use nexus_core::{Exchange, ExchangeError, MarketData, Side, StoreError, Symbol};
use nexus_exchanges::kraken::LocalNonces;
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::kraken::{KrakenMock, errors};
use nexus_exchanges::{KrakenConfig, KrakenVenue, RetryPolicy};
use rust_decimal::Decimal;

#[tokio::test]
async fn kraken_names_map_to_ours_and_the_pair_list_is_fetched_once() {
    let Kraken {
        mock,
        venue,
        client,
    } = Kraken::start().await;
    let usd: Symbol = "BTC/USD".parse().unwrap();
    let doge: Symbol = "DOGE/USDT".parse().unwrap();
    let tickers = venue.tickers(&[btc(), usd, doge]).await.unwrap();
    assert_eq!(tickers.len(), 2, "the unlisted pair is left out, not fatal");
    assert_eq!(
        mock.calls("GET /0/public/Ticker"),
        1,
        "one call for all pairs"
    );
    venue.tickers(&[btc()]).await.unwrap();
    client.instruments(&[btc()]).await.unwrap();
    assert_eq!(
        mock.calls("GET /0/public/AssetPairs"),
        1,
        "the pair list is cached"
    );

    mock.deposit("XXBT", Decimal::new(1, 2));
    mock.deposit("ZUSD", Decimal::from(5));
    let balances = client.balances().await.unwrap();
    let held = |asset: &str| {
        balances
            .iter()
            .find(|b| b.asset.as_str() == asset)
            .map(|b| b.free.to_string())
    };
    assert_eq!(held("BTC").as_deref(), Some("0.01"), "XXBT reported as BTC");
    assert_eq!(held("USD").as_deref(), Some("5"), "ZUSD reported as USD");
}

#[tokio::test]
async fn kraken_errors_are_classified() {
    let Kraken {
        mock,
        venue,
        client,
    } = Kraken::start().await;
    mock.deposit("USDT", Decimal::from(10));
    let tiny = client
        .place_order(&market(Side::Buy, "0.00001", "t"))
        .await
        .unwrap_err();
    assert!(
        matches!(&tiny, ExchangeError::Rejected { code: Some(c), .. } if c == "EOrder:Order minimum not met"),
        "{tiny}"
    );
    // Refused before anything is sent: the secret cannot sign.
    let before = venue.requests_sent();
    let not_base64 = venue.client(credentials(KEY, "not base64!"));
    assert!(matches!(
        not_base64.balances().await.unwrap_err(),
        ExchangeError::Auth { .. }
    ));
    assert_eq!(venue.requests_sent(), before);
}

#[tokio::test]
async fn refused_nonces_and_rate_limits_in_200_answers_are_retried() {
    let Kraken { mock, client, .. } = Kraken::start().await;
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

/// One nonce source for several venues, standing in for the database that several
/// processes share; it remembers every nonce it handed out.
#[derive(Debug, Default)]
struct SharedNonces {
    inner: LocalNonces,
    issued: Mutex<Vec<u64>>,
}

#[async_trait]
impl NonceSource for SharedNonces {
    async fn next_nonce(&self, key_id: &str, at_least: u64) -> Result<u64, StoreError> {
        let nonce = self.inner.next_nonce(key_id, at_least).await?;
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(nonce);
        Ok(nonce)
    }
}

/// Two "processes" (separate venues, each with its own HTTP client, limiter and one call
/// in flight per key) use one key at once, their nonces drawn from one shared source:
/// every nonce Kraken sees came from that source and is above the last, and a request
/// overtaken in flight is re-signed with a fresh nonce, never lost.
#[tokio::test]
async fn nonces_stay_increasing_across_processes_sharing_a_source() {
    let (mock, url) = KrakenMock::start(KEY, SECRET).await;
    let shared = Arc::new(SharedNonces::default());
    let patient = KrakenConfig {
        retry: RetryPolicy {
            max_attempts: 30,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
        },
        ..config(&url)
    };
    let a = KrakenVenue::with_nonces(patient.clone(), Arc::clone(&shared) as Arc<dyn NonceSource>)
        .unwrap();
    let b = KrakenVenue::with_nonces(patient, Arc::clone(&shared) as Arc<dyn NonceSource>).unwrap();
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
    let issued = shared
        .issued
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(
        nonces.iter().all(|n| issued.contains(n)),
        "both venues drew from the shared source"
    );
}
