//! The exchange parsers' fuzz checks, shared with the stable corpus test in
//! `nexus-exchanges/tests/fuzz_corpus.rs`. None may panic; whatever parses is consistent.

/// Binance `exchangeInfo` bodies.
pub fn binance_exchange_info(data: &[u8]) {
    if let Ok((listed, skipped)) = nexus_exchanges::binance::parse::instruments(data) {
        for instrument in &listed {
            let f = instrument.filters();
            assert!(!f.step_size.is_zero());
            assert!(f.max_qty.is_none_or(|max| f.min_qty <= max));
        }
        assert!(skipped.iter().all(|s| !s.reason.to_string().is_empty()));
    }
}

/// Binance's other answers: tickers, klines, account, permissions, orders, errors.
pub fn binance_answers(data: &[u8]) {
    use nexus_exchanges::binance::parse;
    let btc: nexus_core::Symbol = "BTC/USDT".parse().expect("a valid symbol");
    let wanted = parse::venue_symbols(&[btc]);
    if let Ok(tickers) = parse::tickers(data, &wanted) {
        assert!(
            tickers
                .iter()
                .all(|t| t.symbol() == btc && t.bid() <= t.ask())
        );
    }
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    if let Ok(candles) = parse::klines(data, now) {
        assert!(
            candles
                .iter()
                .all(|c| c.open_time() < now && c.low() <= c.high())
        );
    }
    if let Ok(balances) = parse::balances(data) {
        assert!(
            balances
                .iter()
                .all(|b| !(b.free.is_zero() && b.locked.is_zero()))
        );
    }
    let _ = parse::permissions(data, Some(data));
    if let Ok(report) = parse::order(data, btc) {
        assert_eq!(report.symbol, btc);
    }
    for status in [400, 418, 429, 500, 503] {
        let error = parse::error(status, data, None);
        assert!(!error.to_string().is_empty());
        if status == 429 || status == 418 {
            assert!(error.is_retryable());
        }
    }
}

/// Kraken's answers: pairs, tickers, OHLC, and the private ones.
pub fn kraken_answers(data: &[u8]) {
    use nexus_exchanges::kraken::parse;
    if let Ok(pairs) = parse::asset_pairs(data) {
        for instrument in &pairs.instruments {
            assert!(!instrument.filters().step_size.is_zero());
            assert_eq!(
                pairs
                    .names
                    .get(&instrument.symbol())
                    .and_then(|n| pairs.symbols.get(n)),
                Some(&instrument.symbol())
            );
        }
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
        if let Ok(tickers) = parse::tickers(data, &pairs.symbols, now) {
            assert!(tickers.iter().all(|t| t.bid() <= t.ask()));
        }
    }
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    if let Ok(candles) = parse::ohlc(data, std::time::Duration::from_secs(60), now) {
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() <= w[1].open_time())
        );
    }
    // Every private parser either reads the body or says why not.
    assert_eq!(parse::private_answers(data).len(), 5);
}

/// Coinbase's answers: products, tickers, candles, accounts, orders, permissions, errors.
pub fn coinbase_answers(data: &[u8]) {
    use nexus_exchanges::coinbase::parse;
    let btc: nexus_core::Symbol = "BTC/USDT".parse().expect("a valid symbol");
    let wanted = parse::venue_symbols(&[btc]);
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    if let Ok((listed, skipped)) = parse::products(data) {
        assert!(listed.iter().all(|i| !i.filters().step_size.is_zero()));
        assert!(skipped.iter().all(|s| !s.reason.to_string().is_empty()));
    }
    for tickers in [
        parse::best_bid_ask(data, &wanted, now),
        parse::product_tickers(data, &wanted, now),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            tickers
                .iter()
                .all(|t| t.symbol() == btc && t.bid() <= t.ask())
        );
    }
    if let Ok(candles) = parse::candles(data, nexus_core::Interval::M1, now) {
        assert!(
            candles
                .windows(2)
                .all(|w| w[0].open_time() < w[1].open_time())
        );
        assert!(
            candles
                .iter()
                .all(|c| c.open_time() + chrono::Duration::minutes(1) <= now)
        );
    }
    if let Ok(page) = parse::accounts(data) {
        assert!(
            page.items
                .iter()
                .all(|b| !(b.free.is_zero() && b.locked.is_zero()))
        );
    }
    let _ = parse::order(data);
    let id = nexus_core::ClientOrderId::new("nx-1").expect("a valid id");
    if let Ok(page) = parse::find_orders(data, &id) {
        assert!(page.items.iter().all(|o| o.client_order_id == id));
    }
    let _ = parse::create_order(data);
    let _ = parse::cancel(data, "order-1");
    let _ = parse::permissions(data);
    for status in [400, 401, 403, 404, 429, 500, 503] {
        let error = parse::error(status, data, None);
        assert!(!error.to_string().is_empty());
        if status == 429 {
            assert!(error.is_retryable());
        }
    }
}

/// The venues' websocket market data messages (Binance, Kraken, Coinbase): never a panic;
/// what reads is a consistent quote or candle of a followed symbol.
pub fn stream_messages(data: &[u8]) {
    use std::collections::HashMap;

    use nexus_exchanges::stream::{StreamEvent, StreamProtocol};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    let protocols: [(Box<dyn StreamProtocol>, &[&str]); 3] = [
        (
            Box::new(nexus_exchanges::binance::stream::BinanceStream::default()),
            &["BTC/USDT"],
        ),
        (
            Box::new(nexus_exchanges::kraken::stream::KrakenStream::default()),
            &["ALGO/USD", "MATIC/USD", "BTC/USD"],
        ),
        (
            Box::new(nexus_exchanges::coinbase::stream::CoinbaseStream::default()),
            &["BTC/USD", "ETH/USD"],
        ),
    ];
    for (protocol, symbols) in protocols {
        let symbols: Vec<nexus_core::Symbol> = symbols
            .iter()
            .map(|s| s.parse().expect("a valid symbol"))
            .collect();
        let names: HashMap<String, nexus_core::Symbol> =
            symbols.iter().map(|s| (protocol.name(*s), *s)).collect();
        let Ok(events) = protocol.read(text, &names, now) else {
            continue;
        };
        for event in events {
            match event {
                StreamEvent::Quote(q) => {
                    assert!(symbols.contains(&q.symbol));
                    if let (Some(bid), Some(ask)) = (q.bid, q.ask) {
                        assert!(!bid.value().is_zero() && !ask.value().is_zero());
                    }
                }
                StreamEvent::Candle(c) => {
                    assert!(symbols.contains(&c.symbol));
                    assert!(c.candle.low() <= c.candle.high());
                }
                StreamEvent::Refused(reason) => assert!(reason.chars().count() <= 220),
                _ => {}
            }
        }
    }
}
