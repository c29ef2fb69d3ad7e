//! Orders by client order id: placed, found, cancelled; what they cost and hold; the
//! venue's refusals of orders it cannot take.

use nexus_core::{ExchangeError, OrderStatus, Price, Quantity, Side};
use rust_decimal::Decimal;

use crate::support::{Venue, btc, id, limit, market};
use crate::{dec, each_venue, holding};

each_venue!(a_market_buy_fills_and_is_found_by_its_client_order_id);
async fn a_market_buy_fills_and_is_found_by_its_client_order_id<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    let report = v
        .account()
        .place_order(&market(Side::Buy, "0.01", "buy-1"))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Filled);
    assert_eq!(report.client_order_id.as_str(), "buy-1");
    assert_eq!((report.symbol, report.side), (btc(), Side::Buy));
    assert_eq!(report.quantity.value(), dec("0.01"));
    assert_eq!(report.filled_quantity.value(), dec("0.01"));
    assert_eq!(report.average_price.map(Price::value), Some(dec("60000")));

    // 0.01 BTC for 600 USDT, and the venue's fee on top, in what it takes it in.
    let fees = V::EXPECT.fees;
    let rate = dec(fees.taker);
    let (fee, fee_asset) = if fees.buy_fee_in_base {
        (dec("0.01") * rate, "BTC")
    } else {
        (dec("600") * rate, "USDT")
    };
    assert_eq!(report.fee.value(), fee);
    assert_eq!(report.fee_asset.unwrap().as_str(), fee_asset);
    let (btc_left, usdt_left) = if fees.buy_fee_in_base {
        (dec("0.01") - fee, dec("9400"))
    } else {
        (dec("0.01"), dec("9400") - fee)
    };
    assert_eq!(holding(&v, "BTC").await, (btc_left, Decimal::ZERO));
    assert_eq!(holding(&v, "USDT").await, (usdt_left, Decimal::ZERO));

    let found = v
        .account()
        .query_order(btc(), &id("buy-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.venue_order_id, report.venue_order_id);
    assert_eq!(found.client_order_id.as_str(), "buy-1");
    assert_eq!(found.status, OrderStatus::Filled);
    assert_eq!(found.filled_quantity, report.filled_quantity);
    assert_eq!(found.average_price, report.average_price);
    let missing = v
        .account()
        .query_order(btc(), &id("never-sent"))
        .await
        .unwrap();
    assert!(missing.is_none(), "no such order");
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(a_resting_order_holds_its_cost_until_cancelled_by_its_client_order_id);
async fn a_resting_order_holds_its_cost_until_cancelled_by_its_client_order_id<V: Venue>(v: V) {
    v.deposit("USDT", dec("10000"));
    let resting = v
        .account()
        .place_order(&limit(Side::Buy, "0.01", "50000", "rest-1"))
        .await
        .unwrap();
    assert_eq!(resting.status, OrderStatus::New);
    assert_eq!(resting.client_order_id.as_str(), "rest-1");
    assert_eq!(resting.filled_quantity, Quantity::ZERO);
    assert_eq!(resting.average_price, None);
    let fees = V::EXPECT.fees;
    let hold = if fees.resting_buy_holds_fee {
        dec("500") * (Decimal::ONE + dec(fees.taker))
    } else {
        dec("500")
    };
    assert_eq!(
        holding(&v, "USDT").await,
        (dec("10000") - hold, hold),
        "its cost held"
    );
    let found = v
        .account()
        .query_order(btc(), &id("rest-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.venue_order_id, resting.venue_order_id);
    assert_eq!(found.status, OrderStatus::New);

    let cancelled = v
        .account()
        .cancel_order(btc(), &id("rest-1"))
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    assert_eq!(
        cancelled.client_order_id.as_str(),
        "rest-1",
        "ours, not the cancel's id"
    );
    assert_eq!(cancelled.venue_order_id, resting.venue_order_id);
    assert_eq!(
        holding(&v, "USDT").await,
        (dec("10000"), Decimal::ZERO),
        "released"
    );
    let found = v
        .account()
        .query_order(btc(), &id("rest-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.status, OrderStatus::Canceled);

    let code = V::EXPECT.not_open_code;
    let again = v
        .account()
        .cancel_order(btc(), &id("rest-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ExchangeError::Rejected { code: Some(c), .. } if c == code),
        "{again}"
    );
    let never = v
        .account()
        .cancel_order(btc(), &id("never-sent"))
        .await
        .unwrap_err();
    assert!(
        matches!(&never, ExchangeError::Rejected { code: Some(c), .. } if c == code),
        "{never}"
    );
    assert_eq!(v.orders_placed(), 1);
}

each_venue!(a_limit_sell_that_crosses_the_bid_fills_at_its_limit);
async fn a_limit_sell_that_crosses_the_bid_fills_at_its_limit<V: Venue>(v: V) {
    v.deposit("BTC", dec("0.01"));
    let sold = v
        .account()
        .place_order(&limit(Side::Sell, "0.005", "59000", "sell-1"))
        .await
        .unwrap();
    assert_eq!((sold.status, sold.side), (OrderStatus::Filled, Side::Sell));
    assert_eq!(sold.filled_quantity.value(), dec("0.005"));
    assert_eq!(sold.average_price.map(Price::value), Some(dec("59000")));
    // 295 USDT, less the fee, which every venue takes in the quote on a sell.
    let fee = dec("295") * dec(V::EXPECT.fees.taker);
    assert_eq!(sold.fee.value(), fee);
    assert_eq!(sold.fee_asset.unwrap().as_str(), "USDT");
    assert_eq!(holding(&v, "BTC").await, (dec("0.005"), Decimal::ZERO));
    assert_eq!(holding(&v, "USDT").await, (dec("295") - fee, Decimal::ZERO));
}

each_venue!(an_order_the_balance_cannot_pay_for_is_refused_and_not_placed);
async fn an_order_the_balance_cannot_pay_for_is_refused_and_not_placed<V: Venue>(v: V) {
    v.deposit("USDT", dec("100"));
    let broke = v
        .account()
        .place_order(&market(Side::Buy, "0.01", "too-big"))
        .await
        .unwrap_err();
    assert!(
        matches!(&broke, ExchangeError::InsufficientBalance { message, .. }
            if message.contains(V::EXPECT.insufficient)),
        "{broke}"
    );
    assert_eq!(v.orders_placed(), 0);
    assert_eq!(holding(&v, "USDT").await, (dec("100"), Decimal::ZERO));
}

each_venue!(an_order_off_the_tick_is_rejected_with_the_venues_code);
async fn an_order_off_the_tick_is_rejected_with_the_venues_code<V: Venue>(v: V) {
    v.deposit("USDT", dec("1000"));
    let off_tick = v
        .account()
        .place_order(&limit(Side::Buy, "0.001", "50000.005", "off-tick"))
        .await
        .unwrap_err();
    let (code, says) = V::EXPECT.off_tick;
    assert!(
        matches!(&off_tick, ExchangeError::Rejected { code: Some(c), reason, .. }
            if c == code && reason.contains(says)),
        "{off_tick}"
    );
    assert_eq!(v.orders_placed(), 0);
}
