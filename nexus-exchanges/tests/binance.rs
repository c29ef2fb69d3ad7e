//! What only Binance does, against a local Binance that checks signatures the way Binance
//! does and answers with its documented JSON: its filter codes, its clock check, its ban,
//! its "execution status unknown" error and its weight header. What every venue does is
//! in the conformance suite (`tests/conformance/`).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::binance::Binance;
use support::{btc, id, market};

use nexus_core::{Exchange, ExchangeError, MarketData, Side};
use nexus_exchanges::mock::Scripted;
use nexus_exchanges::mock::binance::errors;
use rust_decimal::Decimal;

#[tokio::test]
async fn lot_size_and_duplicate_ids_are_refused_with_binances_codes() {
    let Binance { mock, client, .. } = Binance::start().await;
    mock.deposit("USDT", Decimal::from(10_000));
    let off_step = client
        .place_order(&market(Side::Buy, "0.000015", "off-step"))
        .await
        .unwrap_err();
    assert!(
        matches!(&off_step, ExchangeError::Rejected { code: Some(c), reason, .. }
            if c == "-1013" && reason.contains("LOT_SIZE")),
        "{off_step}"
    );

    // -2010 is also Binance's code for a missing balance: the message tells them apart.
    client
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    let duplicate = client
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, ExchangeError::Rejected { code: Some(c), .. } if c == "-2010"),
        "{duplicate}"
    );
    assert_eq!(mock.orders(), 1, "never placed twice");
}

#[tokio::test]
async fn a_refused_timestamp_resynchronises_the_clock_and_retries() {
    let Binance { mock, client, .. } = Binance::start().await;
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
async fn a_ban_stops_every_call_until_it_ends() {
    let Binance {
        mock,
        venue,
        client,
    } = Binance::start().await;
    mock.script(Scripted {
        path: None,
        status: 418,
        body: errors::IP_BANNED.into(),
        retry_after: Some(120),
        after_applying: false,
    });
    let banned = venue.tickers(&[btc()]).await.unwrap_err();
    assert!(
        matches!(banned, ExchangeError::Banned { retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{banned}"
    );
    let stopped = client.balances().await.unwrap_err();
    assert!(
        matches!(stopped, ExchangeError::Banned { retry_after: Some(d), .. } if d > Duration::from_secs(100)),
        "{stopped}"
    );
    assert_eq!(
        mock.calls("GET /api/v3/account"),
        0,
        "no call reaches a venue that banned us"
    );
}

#[tokio::test]
async fn binances_execution_status_unknown_is_an_unknown_outcome() {
    let Binance { mock, client, .. } = Binance::start().await;
    mock.deposit("USDT", Decimal::from(10_000));
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
    assert_eq!(mock.calls("POST /api/v3/order"), 1, "never sent twice");
    assert!(
        client
            .query_order(btc(), &id("lost-2"))
            .await
            .unwrap()
            .is_none(),
        "looked up: not placed, so it may be placed again"
    );
}

#[tokio::test]
async fn the_used_weight_header_corrects_the_budget() {
    let Binance {
        mock,
        venue,
        client,
    } = Binance::start().await;
    mock.set_weight_used(4000);
    client.balances().await.unwrap();
    assert!(venue.weight_used() >= 4001, "{}", venue.weight_used());
}
