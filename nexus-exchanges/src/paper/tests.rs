use chrono::DateTime;
use nexus_core::{InstrumentFilters, OrderIntent};

use super::*;

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn btc() -> Symbol {
    "BTC/USDT".parse().unwrap()
}

async fn venue() -> Arc<PaperVenue> {
    let venue = PaperVenue::new(PaperConfig::default());
    venue.list(
        Instrument::new(
            ExchangeId::Paper,
            btc(),
            InstrumentFilters {
                tick_size: p("0.01"),
                step_size: q("0.0001"),
                min_qty: q("0.0001"),
                max_qty: None,
                min_notional: "10".parse().unwrap(),
            },
        )
        .unwrap(),
    );
    venue.set_ticker(
        Ticker::new(
            btc(),
            p("49990"),
            p("50000"),
            p("49995"),
            DateTime::UNIX_EPOCH,
        )
        .unwrap(),
    );
    venue
        .deposit("alice", "USDT".parse().unwrap(), q("1000"))
        .await
        .unwrap();
    venue
}

fn market(side: Side, qty: &str, id: &str) -> NewOrder {
    NewOrder {
        client_order_id: ClientOrderId::new(id).unwrap(),
        intent: OrderIntent::market(btc(), side, q(qty)).unwrap(),
    }
}

fn balance(balances: &[Balance], asset: &str) -> Decimal {
    balances
        .iter()
        .find(|b| b.asset.as_str() == asset)
        .map_or(Decimal::ZERO, |b| b.free.value())
}

#[tokio::test]
async fn market_buys_fill_at_the_ask_plus_slippage_and_pay_fees_in_base() {
    let venue = venue().await;
    let alice = venue.account("alice");
    let report = alice
        .place_order(&market(Side::Buy, "0.01", "buy-1"))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Filled);
    // 50 000 × 1.0005 = 50 025; 0.01 BTC costs 500.25 USDT; 0.1 % fee = 0.00001 BTC.
    assert_eq!(report.average_price, Some(p("50025")));
    assert_eq!(
        (report.fee, report.fee_asset),
        (q("0.00001"), Some("BTC".parse().unwrap()))
    );
    let balances = alice.balances().await.unwrap();
    assert_eq!(balance(&balances, "USDT"), Decimal::new(49975, 2));
    assert_eq!(balance(&balances, "BTC"), Decimal::new(999, 5));
}

#[tokio::test]
async fn placing_is_idempotent_by_client_order_id() {
    let venue = venue().await;
    let alice = venue.account("alice");
    let first = alice
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    let again = alice
        .place_order(&market(Side::Buy, "0.01", "once"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        balance(&alice.balances().await.unwrap(), "USDT"),
        Decimal::new(49975, 2),
        "charged once"
    );
    let id = ClientOrderId::new("once").unwrap();
    assert_eq!(alice.query_order(btc(), &id).await.unwrap(), Some(first));
    assert_eq!(
        alice
            .query_order(btc(), &ClientOrderId::new("never").unwrap())
            .await
            .unwrap(),
        None
    );
    // Accounts are separate: bob has no such order.
    assert_eq!(
        venue.account("bob").query_order(btc(), &id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn filters_and_balances_are_enforced_with_classified_errors() {
    let venue = venue().await;
    let alice = venue.account("alice");
    match alice
        .place_order(&market(Side::Buy, "0.00015", "step"))
        .await
    {
        Err(ExchangeError::Rejected { code, reason, .. }) => {
            assert_eq!(code.as_deref(), Some("step_size"));
            assert!(
                reason.contains("not a multiple of the step size"),
                "{reason}"
            );
        }
        other => panic!("expected a filter rejection, got {other:?}"),
    }
    let err = alice
        .place_order(&market(Side::Buy, "1", "too-big"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExchangeError::InsufficientBalance { .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    let err = alice
        .place_order(&market(Side::Sell, "0.01", "no-btc"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExchangeError::InsufficientBalance { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn limit_orders_rest_until_marketable_and_can_be_cancelled() {
    let venue = venue().await;
    let alice = venue.account("alice");
    let resting = NewOrder {
        client_order_id: ClientOrderId::new("low-bid").unwrap(),
        intent: OrderIntent::limit(btc(), Side::Buy, q("0.01"), p("40000")).unwrap(),
    };
    let report = alice.place_order(&resting).await.unwrap();
    assert_eq!(
        (report.status, report.filled_quantity),
        (OrderStatus::New, Quantity::ZERO)
    );
    let cancelled = alice
        .cancel_order(btc(), &resting.client_order_id)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Canceled);
    assert!(
        alice
            .cancel_order(btc(), &resting.client_order_id)
            .await
            .is_err(),
        "already final"
    );
    let crossing = NewOrder {
        client_order_id: ClientOrderId::new("cross").unwrap(),
        intent: OrderIntent::limit(btc(), Side::Buy, q("0.01"), p("50100")).unwrap(),
    };
    let filled = alice.place_order(&crossing).await.unwrap();
    assert_eq!(
        (filled.status, filled.average_price),
        (OrderStatus::Filled, Some(p("50000")))
    );
}

#[tokio::test]
async fn sells_pay_fees_in_quote_and_market_data_serves_tickers_and_candles() {
    let venue = venue().await;
    venue
        .deposit("alice", "BTC".parse().unwrap(), q("0.02"))
        .await
        .unwrap();
    let alice = venue.account("alice");
    let report = alice
        .place_order(&market(Side::Sell, "0.02", "sell"))
        .await
        .unwrap();
    // 49 990 × 0.9995 = 49 965.005; × 0.02 = 999.3001; fee 0.9993001.
    assert_eq!(report.average_price, Some(p("49965.005")));
    assert_eq!(report.fee, q("0.9993001"));
    assert_eq!(
        balance(&alice.balances().await.unwrap(), "USDT"),
        "1998.3007999".parse::<Decimal>().unwrap()
    );
    let tickers = venue
        .tickers(&[btc(), "ETH/USDT".parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(tickers.len(), 1, "unknown symbols are left out");
    for day in 0..3 {
        let at = DateTime::UNIX_EPOCH + chrono::Duration::days(day);
        let c = Candle::new(at, p("1"), p("2"), p("1"), p("2"), q("1")).unwrap();
        venue.push_candle(btc(), Interval::D1, c);
    }
    let last_two = venue.candles(btc(), Interval::D1, 2).await.unwrap();
    assert_eq!(last_two.len(), 2);
    assert_eq!(
        last_two[1].open_time(),
        DateTime::UNIX_EPOCH + chrono::Duration::days(2)
    );
    assert!(!alice.validate_credentials().await.unwrap().withdraw);
}

#[tokio::test]
async fn accounts_open_with_their_balance_once_and_outlive_the_venue_in_their_ledger() {
    let ledger: Arc<dyn PaperLedger> = Arc::new(MemoryLedger::default());
    let config = PaperConfig {
        opening_balance: Some(("USDT".parse().unwrap(), q("1000"))),
        ..PaperConfig::default()
    };
    let first = PaperVenue::with_ledger(config, Arc::clone(&ledger));
    first.list(instrument(btc()));
    first.set_ticker(
        Ticker::new(
            btc(),
            p("49990"),
            p("50000"),
            p("49995"),
            DateTime::UNIX_EPOCH,
        )
        .unwrap(),
    );
    let carol = first.account("carol");
    // Shown before the first order, credited at it, and only once.
    assert_eq!(
        balance(&carol.balances().await.unwrap(), "USDT"),
        Decimal::from(1000)
    );
    carol
        .place_order(&market(Side::Buy, "0.01", "entry"))
        .await
        .unwrap();
    carol
        .place_order(&market(Side::Buy, "0.001", "add"))
        .await
        .unwrap();
    let held = carol.balances().await.unwrap();
    assert_eq!(
        balance(&held, "BTC"),
        "0.010989".parse::<Decimal>().unwrap()
    );

    // A restart: a new venue over the same ledger sees the account and its orders.
    drop(carol);
    drop(first);
    let second = PaperVenue::with_ledger(config, Arc::clone(&ledger));
    second.list(instrument(btc()));
    second.set_ticker(
        Ticker::new(
            btc(),
            p("59990"),
            p("60000"),
            p("59995"),
            DateTime::UNIX_EPOCH,
        )
        .unwrap(),
    );
    let carol = second.account("carol");
    assert_eq!(carol.balances().await.unwrap(), held);
    let entry = ClientOrderId::new("entry").unwrap();
    assert!(carol.query_order(btc(), &entry).await.unwrap().is_some());
    // Placing the entry again returns the first fill, at the old price, charged once.
    let again = carol
        .place_order(&market(Side::Buy, "0.01", "entry"))
        .await
        .unwrap();
    assert_eq!(again.average_price, Some(p("50025")));
    let sold = carol
        .place_order(&market(Side::Sell, "0.0109", "exit"))
        .await
        .unwrap();
    assert_eq!(sold.status, OrderStatus::Filled);
    assert_eq!(
        balance(&carol.balances().await.unwrap(), "BTC"),
        "0.000089".parse::<Decimal>().unwrap()
    );
}

#[tokio::test]
async fn concurrent_orders_of_many_accounts_are_each_charged_once() {
    let venue = PaperVenue::new(PaperConfig {
        opening_balance: Some(("USDT".parse().unwrap(), q("1000"))),
        ..PaperConfig::default()
    });
    venue.list(instrument(btc()));
    venue.set_ticker(
        Ticker::new(
            btc(),
            p("49990"),
            p("50000"),
            p("49995"),
            DateTime::UNIX_EPOCH,
        )
        .unwrap(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..300 {
        let account = venue.account(format!("user-{}", n % 100));
        tasks.spawn(async move {
            // Three orders per account, one of them placed twice.
            let id = format!("o-{}", n / 100);
            let order = market(Side::Buy, "0.001", &id);
            let first = account.place_order(&order).await;
            let again = account.place_order(&order).await;
            (first, again)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (first, again) = done.unwrap();
        assert_eq!(first.unwrap(), again.unwrap());
    }
    for n in 0..100 {
        let balances = venue.account(format!("user-{n}")).balances().await.unwrap();
        // 3 × 0.001 × 50 025 = 150.075 spent.
        assert_eq!(
            balance(&balances, "USDT"),
            "849.925".parse::<Decimal>().unwrap(),
            "user-{n}"
        );
    }
}

#[test]
fn the_paper_filters_are_valid_and_accounts_are_named_by_their_owner() {
    let listed = instrument(btc());
    assert_eq!(listed.filters().min_notional.value(), Decimal::from(5));
    let owner: UserId = "00000000-0000-0000-0000-000000000007".parse().unwrap();
    assert_eq!(account_name(owner), format!("paper-{owner}"));
}
