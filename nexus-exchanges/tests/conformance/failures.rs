//! Failures: refused credentials, rate limits, and answers lost or unreadable, which leave
//! an order's outcome unknown until it is looked up by its client order id.

use std::time::{Duration, Instant};

use nexus_core::{ExchangeError, OrderStatus, Side};

use crate::support::{ATTEMPTS, Endpoint, Venue, btc, id, market};
use crate::{dec, each_venue};

each_venue!(refused_credentials_are_auth_errors_and_not_retried);
async fn refused_credentials_are_auth_errors_and_not_retried<V: Venue>(v: V) {
    let sent = || v.calls(Endpoint::Balances) + v.calls(Endpoint::Permissions);
    let forged = v.forged().balances().await.unwrap_err();
    assert!(
        matches!(&forged, ExchangeError::Auth { message, .. } if message.contains(V::EXPECT.forged)),
        "{forged}"
    );
    assert_eq!(sent(), 1, "refused once, not retried");
    let stranger = v.stranger().validate_credentials().await.unwrap_err();
    assert!(
        matches!(&stranger, ExchangeError::Auth { message, .. } if message.contains(V::EXPECT.stranger)),
        "{stranger}"
    );
    assert_eq!(sent(), 2, "refused once, not retried");
}

each_venue!(a_rate_limited_read_waits_for_retry_after_then_succeeds);
async fn a_rate_limited_read_waits_for_retry_after_then_succeeds<V: Venue>(v: V) {
    v.script_at(
        Endpoint::Balances,
        429,
        V::EXPECT.rate_limited,
        Some(1),
        false,
    );
    let started = Instant::now();
    v.account().balances().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(v.calls(Endpoint::Balances), 2);
}

each_venue!(an_order_refused_for_the_rate_was_not_placed_so_it_is_sent_again);
async fn an_order_refused_for_the_rate_was_not_placed_so_it_is_sent_again<V: Venue>(v: V) {
    v.deposit("USDT", dec("1000"));
    v.script_at(Endpoint::Place, 429, V::EXPECT.rate_limited, None, false);
    let placed = v
        .account()
        .place_order(&market(Side::Buy, "0.001", "limited"))
        .await
        .unwrap();
    assert_eq!(placed.status, OrderStatus::Filled);
    assert_eq!(v.calls(Endpoint::Place), 2);
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(a_venue_that_keeps_limiting_is_reported_as_rate_limited);
async fn a_venue_that_keeps_limiting_is_reported_as_rate_limited<V: Venue>(v: V) {
    for _ in 0..ATTEMPTS {
        v.script_at(Endpoint::Tickers, 429, V::EXPECT.rate_limited, None, false);
    }
    let limited = v.market().tickers(&[btc()]).await.unwrap_err();
    assert!(
        matches!(limited, ExchangeError::RateLimited { .. }),
        "{limited}"
    );
    assert_eq!(
        v.calls(Endpoint::Tickers),
        usize::try_from(ATTEMPTS).unwrap()
    );
}

each_venue!(an_order_whose_answer_is_lost_after_the_venue_acted_is_unknown_and_found);
async fn an_order_whose_answer_is_lost_after_the_venue_acted_is_unknown_and_found<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    let (status, body) = V::EXPECT.server_error;
    v.script_at(Endpoint::Place, status, body, None, true);
    let lost = v
        .account()
        .place_order(&market(Side::Buy, "0.01", "lost-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(lost, ExchangeError::OutcomeUnknown { .. }),
        "{lost}"
    );
    assert_eq!(v.calls(Endpoint::Place), 1, "never sent twice");
    let found = v.account().query_order(btc(), &id("lost-1")).await.unwrap();
    assert_eq!(found.unwrap().status, OrderStatus::Filled);
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(an_order_refused_with_a_5xx_is_unknown_and_looked_up_before_placing_again);
async fn an_order_refused_with_a_5xx_is_unknown_and_looked_up_before_placing_again<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    let (status, body) = V::EXPECT.server_error;
    v.script_at(Endpoint::Place, status, body, None, false);
    let order = market(Side::Buy, "0.01", "lost-2");
    let unknown = v.account().place_order(&order).await.unwrap_err();
    assert!(
        matches!(unknown, ExchangeError::OutcomeUnknown { .. }),
        "{unknown}"
    );
    assert_eq!(v.calls(Endpoint::Place), 1, "never sent twice");
    assert!(
        v.account()
            .query_order(btc(), &id("lost-2"))
            .await
            .unwrap()
            .is_none(),
        "looked up: not placed, so it may be placed again"
    );
    let placed = v.account().place_order(&order).await.unwrap();
    assert_eq!(placed.status, OrderStatus::Filled);
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(an_order_whose_answer_outlives_the_timeout_is_unknown_and_found);
async fn an_order_whose_answer_outlives_the_timeout_is_unknown_and_found<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    // A first order, so whatever a client looks up before its first order (Kraken's pair
    // list) is cached and the stalled request is the order itself.
    v.account()
        .place_order(&market(Side::Buy, "0.01", "first"))
        .await
        .unwrap();
    v.stall_next(Duration::from_secs(2));
    let timed_out = v
        .account()
        .place_order(&market(Side::Buy, "0.01", "lost-3"))
        .await
        .unwrap_err();
    assert!(
        matches!(timed_out, ExchangeError::OutcomeUnknown { .. }),
        "{timed_out}"
    );
    let found = v.account().query_order(btc(), &id("lost-3")).await.unwrap();
    assert_eq!(found.unwrap().status, OrderStatus::Filled);
    assert_eq!(v.orders_placed(), 2, "placed once each");
}

each_venue!(an_accepted_order_whose_answer_cannot_be_read_is_unknown_and_found);
async fn an_accepted_order_whose_answer_cannot_be_read_is_unknown_and_found<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    v.script_at(Endpoint::Place, 200, "{\"truncated\":", None, true);
    let garbled = v
        .account()
        .place_order(&market(Side::Buy, "0.01", "lost-4"))
        .await
        .unwrap_err();
    assert!(
        matches!(garbled, ExchangeError::OutcomeUnknown { .. }),
        "not a final failure: {garbled}"
    );
    assert!(
        v.account()
            .query_order(btc(), &id("lost-4"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(a_read_that_meets_a_5xx_is_retried);
async fn a_read_that_meets_a_5xx_is_retried<V: Venue>(v: V) {
    for (status, body) in [(502, "bad gateway"), V::EXPECT.server_error] {
        let before = v.calls(Endpoint::Balances);
        v.script_at(Endpoint::Balances, status, body, None, false);
        v.account().balances().await.unwrap();
        assert_eq!(v.calls(Endpoint::Balances), before + 2, "HTTP {status}");
    }
}
