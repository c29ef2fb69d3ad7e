//! Market data: tickers for many pairs in one call, only closed candles, instruments with
//! the venue's filters.

use chrono::Utc;
use nexus_core::{Interval, Quantity, Ticker};

use crate::support::{Endpoint, Venue, btc};
use crate::{dec, each_venue, symbol};

each_venue!(tickers_for_several_pairs_come_in_one_call);
async fn tickers_for_several_pairs_come_in_one_call<V: Venue>(v: V) {
    let other = symbol(V::EXPECT.other_pair);
    let tickers = v.market().tickers(&[btc(), other]).await.unwrap();
    assert_eq!(tickers.len(), 2);
    assert_eq!(v.calls(Endpoint::Tickers), 1, "both pairs in one call");
    assert!(tickers.iter().any(|t| t.symbol() == other));
    let t = tickers.iter().find(|t| t.symbol() == btc()).unwrap();
    let (last, bid, ask) = V::EXPECT.quote;
    assert_eq!(
        (t.last().value(), t.bid().value(), t.ask().value()),
        (dec(last), dec(bid), dec(ask))
    );
}

each_venue!(a_pair_the_venue_does_not_list_is_left_out_of_tickers);
async fn a_pair_the_venue_does_not_list_is_left_out_of_tickers<V: Venue>(v: V) {
    // One unknown pair may fail a venue's whole call: the others still come back.
    let tickers = v
        .market()
        .tickers(&[btc(), symbol("DOGE/USDT")])
        .await
        .unwrap();
    let symbols: Vec<_> = tickers.iter().map(Ticker::symbol).collect();
    assert_eq!(symbols, [btc()]);
}

each_venue!(candles_are_the_last_closed_ones_oldest_first);
async fn candles_are_the_last_closed_ones_oldest_first<V: Venue>(v: V) {
    for interval in [Interval::M5, Interval::H1] {
        let before = Utc::now();
        let candles = v.market().candles(btc(), interval, 5).await.unwrap();
        let after = Utc::now();
        assert_eq!(candles.len(), 5, "{interval}");
        let length = chrono::Duration::from_std(interval.duration()).unwrap();
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() + length == w[1].open_time()),
            "{interval}: oldest first, none missing"
        );
        let newest = candles.last().unwrap().open_time();
        assert!(
            newest + length <= after,
            "{interval}: the open candle is left out"
        );
        assert!(
            newest + length * 2 > before,
            "{interval}: up to the last closed one"
        );
    }
    assert!(
        v.market()
            .candles(btc(), Interval::D1, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

each_venue!(instruments_carry_the_venues_filters);
async fn instruments_carry_the_venues_filters<V: Venue>(v: V) {
    let listed = v.account().instruments(&[btc()]).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].symbol(), listed[0].exchange()),
        (btc(), v.account().exchange())
    );
    let f = listed[0].filters();
    let expected = V::EXPECT.filters;
    assert_eq!(
        (
            f.tick_size.value(),
            f.step_size.value(),
            f.min_qty.value(),
            f.max_qty.map(Quantity::value),
            f.min_notional.value()
        ),
        (
            dec(expected.tick_size),
            dec(expected.step_size),
            dec(expected.min_qty),
            expected.max_qty.map(dec),
            dec(expected.min_notional)
        )
    );

    let mut all: Vec<String> = v
        .account()
        .instruments(&[])
        .await
        .unwrap()
        .iter()
        .map(|i| i.symbol().to_string())
        .collect();
    all.sort();
    assert_eq!(all, V::EXPECT.listed, "every pair the venue trades");
}
