//! Users, bots and positions, and exact decimals on both databases.

use nexus_core::market::Interval;
use nexus_core::ports::accounts::{BotFilter, BotRecord, Role, SubscribedBot};
use nexus_core::{BotId, ExchangeId, Notional, Position, Price, Quantity, StoreError, UserId};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{Db, both, keys, t};

both!(emails_are_unique_whatever_their_case, |db: Db| async move {
    let store = db.open(keys()).await;
    let id = UserId::new(Uuid::from_u128(1));
    let user = store
        .create_user(
            id,
            "Ada@Example.com",
            Some("$argon2id$hash"),
            Role::Admin,
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(
        (user.email.as_str(), user.role, user.email_verified_at),
        ("Ada@Example.com", Role::Admin, None)
    );
    let again = store
        .create_user(
            UserId::new(Uuid::from_u128(2)),
            "ada@example.COM",
            None,
            Role::User,
            t(1),
        )
        .await;
    match again {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "users_email_key"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let (found, hash) = store
        .user_by_email("ADA@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found, hash.as_deref()),
        (user.clone(), Some("$argon2id$hash"))
    );
    assert_eq!(store.user(id).await.unwrap(), Some(user));
    assert_eq!(
        store.user(UserId::new(Uuid::from_u128(3))).await.unwrap(),
        None
    );
});

fn bot(n: u128, user: UserId, paused: bool) -> BotRecord {
    BotRecord {
        id: BotId::new(Uuid::from_u128(n)),
        user,
        name: format!("bot {n}"),
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        interval: Interval::H4,
        strategy: "trend_breakout".into(),
        strategy_config: "{\"entry_period\":20}".into(),
        config: nexus_core::backtest::trend_bot(),
        credential: None,
        paused,
    }
}

both!(
    active_bots_load_in_pages_and_pausing_is_per_owner,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let (alice, bob) = (
            UserId::new(Uuid::from_u128(1)),
            UserId::new(Uuid::from_u128(2)),
        );
        store
            .create_user(alice, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        store
            .create_user(bob, "b@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        for n in 10..15 {
            store
                .create_bot(&bot(n, alice, n == 12), t(0))
                .await
                .unwrap();
        }
        let stored = store
            .bot(BotId::new(Uuid::from_u128(10)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, bot(10, alice, false), "configuration round-trips");
        let btc = "BTC/USDT".parse().unwrap();
        let market = |exchange| BotFilter {
            exchange,
            symbol: btc,
            strategy: "trend_breakout",
            interval: None,
            strategy_config: None,
        };
        let ids = |bots: &[SubscribedBot]| -> Vec<u128> {
            bots.iter().map(|b| b.bot.id.as_uuid().as_u128()).collect()
        };
        let first = store
            .active_bots(&market(ExchangeId::Binance), None, 2)
            .await
            .unwrap();
        assert_eq!(ids(&first), [10, 11]);
        assert_eq!(first[0].bot, bot(10, alice, false));
        assert_eq!(first[0].position, None);
        assert_eq!(
            first[0].max_order_notional,
            Some("100".parse().unwrap()),
            "no subscription: the free plan's limit"
        );
        let next = store
            .active_bots(&market(ExchangeId::Binance), Some(first[1].bot.id), 10)
            .await
            .unwrap();
        assert_eq!(ids(&next), [13, 14], "paused bot 12 is left out");
        assert!(
            store
                .active_bots(&market(ExchangeId::Kraken), None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // The page carries each bot's open position and its owner's plan.
        let held =
            Position::open(btc, "0.5".parse().unwrap(), "100".parse().unwrap(), t(1)).unwrap();
        store
            .save_position(BotId::new(Uuid::from_u128(11)), &held, t(1))
            .await
            .unwrap();
        store.set_user_plan(alice, "pro", t(1)).await.unwrap();
        let page = store
            .active_bots(&market(ExchangeId::Binance), None, 2)
            .await
            .unwrap();
        assert_eq!(page[1].position, Some(held));
        assert_eq!(page[0].position, None);
        assert_eq!(page[0].max_order_notional, None, "pro has no order limit");

        // A strategy evaluation serves exactly the bots with its interval and parameters.
        let mut other = bot(15, bob, false);
        other.strategy_config = "{\"entry_period\":55}".into();
        store.create_bot(&other, t(0)).await.unwrap();
        let markets = store.active_markets().await.unwrap();
        assert_eq!(markets.len(), 2, "two parameter sets: {markets:?}");
        for m in &markets {
            let bots = store.active_bots(&m.filter(), None, 100).await.unwrap();
            let want: Vec<u128> = if m.strategy_config.contains("55") {
                vec![15]
            } else {
                vec![10, 11, 13, 14]
            };
            assert_eq!(ids(&bots), want, "{m:?}");
        }
        let daily = BotFilter {
            interval: Some(Interval::D1),
            ..market(ExchangeId::Binance)
        };
        assert!(
            store
                .active_bots(&daily, None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        let id = BotId::new(Uuid::from_u128(13));
        assert!(
            !store.set_paused(bob, id, true, t(1)).await.unwrap(),
            "not bob's bot"
        );
        assert!(store.set_paused(alice, id, true, t(1)).await.unwrap());
        assert!(store.bot(id).await.unwrap().unwrap().paused);
    }
);

both!(
    positions_open_update_and_close_with_dust,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        store
            .create_bot(&bot(10, alice, false), t(0))
            .await
            .unwrap();
        let id = BotId::new(Uuid::from_u128(10));
        assert_eq!(store.open_position(id).await.unwrap(), None);
        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let p = |s: &str| s.parse::<Price>().unwrap();
        let mut position = Position::open(
            "BTC/USDT".parse().unwrap(),
            q("0.0333"),
            p("50000.01"),
            t(1),
        )
        .unwrap();
        store.save_position(id, &position, t(1)).await.unwrap();
        position.add(q("0.0333"), p("51000"), t(2)).unwrap();
        store.save_position(id, &position, t(2)).await.unwrap();
        assert_eq!(store.open_position(id).await.unwrap(), Some(position));
        assert!(store.close_position(id, q("0.00003"), t(3)).await.unwrap());
        assert!(!store.close_position(id, q("0"), t(4)).await.unwrap());
        assert_eq!(store.open_position(id).await.unwrap(), None);
        // A new position after the close.
        store.save_position(id, &position, t(5)).await.unwrap();
        assert!(store.open_position(id).await.unwrap().is_some());
    }
);

/// Decimals survive the round trip exactly: canonical TEXT on SQLite, NUMERIC on
/// PostgreSQL.
async fn decimals_round_trip(db: Db) {
    let store = db.open(keys()).await;
    let alice = UserId::new(Uuid::from_u128(1));
    store
        .create_user(alice, "a@x.io", None, Role::User, t(0))
        .await
        .unwrap();
    let id = BotId::new(Uuid::from_u128(10));
    store
        .create_bot(&bot(10, alice, false), t(0))
        .await
        .unwrap();
    let values = (
        1i64..1_000_000_000_000,
        0u32..=12,
        1i64..1_000_000_000_000_000,
        0u32..=18,
        0u32..20,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    runner
        .run(&values, |(price, ps, qty, qs, adds)| {
            let price = Price::new(Decimal::new(price, ps)).unwrap();
            let qty = Quantity::new(Decimal::new(qty, qs)).unwrap();
            let position = Position::from_parts(
                "ETH/BTC".parse().unwrap(),
                qty,
                price * qty,
                qty,
                Notional::new(qty.value() * Decimal::new(3, 1)).unwrap(),
                price,
                t(i64::from(adds)),
                adds,
            );
            let back = tokio::task::block_in_place(|| {
                handle.block_on(async {
                    store.save_position(id, &position, t(0)).await.unwrap();
                    store.open_position(id).await.unwrap().unwrap()
                })
            });
            prop_assert_eq!(back, position);
            prop_assert_eq!(back.cost().value(), (price * qty).value());
            Ok(())
        })
        .unwrap();
}

both!(prop_decimals_round_trip_exactly, decimals_round_trip);

both!(users_manage_their_own_bots_only, |db: Db| async move {
    let store = db.open(keys()).await;
    let alice = UserId::new(Uuid::from_u128(1));
    let bob = UserId::new(Uuid::from_u128(2));
    for (id, email) in [(alice, "a@example.com"), (bob, "b@example.com")] {
        store
            .create_user(id, email, None, Role::User, t(0))
            .await
            .unwrap();
    }
    for n in 10..15 {
        store.create_bot(&bot(n, alice, false), t(1)).await.unwrap();
    }
    store.create_bot(&bot(20, bob, false), t(1)).await.unwrap();
    let first = store.user_bots(alice, None, 3).await.unwrap();
    assert_eq!(first.len(), 3);
    let rest = store.user_bots(alice, Some(first[2].id), 3).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert!(first.iter().chain(&rest).all(|b| b.user == alice));
    let usage = store.bot_usage(alice).await.unwrap();
    assert_eq!(
        (usage.bots, usage.pairs),
        (5, 1),
        "one pair for five bots on BTC/USDT"
    );

    let mut changed = first[0].clone();
    changed.name = "renamed".into();
    changed.symbol = "ETH/USDT".parse().unwrap();
    assert!(store.update_bot(&changed, t(2)).await.unwrap());
    assert_eq!(store.bot(changed.id).await.unwrap().unwrap(), changed);
    assert_eq!(store.bot_usage(alice).await.unwrap().pairs, 2);
    let mut stolen = changed.clone();
    stolen.user = bob;
    assert!(
        !store.update_bot(&stolen, t(3)).await.unwrap(),
        "not Bob's bot"
    );
    assert!(!store.delete_bot(bob, changed.id).await.unwrap());
    assert!(store.delete_bot(alice, changed.id).await.unwrap());
    assert!(store.bot(changed.id).await.unwrap().is_none());
    assert_eq!(store.bot_usage(alice).await.unwrap().bots, 4);
});

both!(plans_and_roles_change, |db: Db| async move {
    let store = db.open(keys()).await;
    let alice = UserId::new(Uuid::from_u128(1));
    store
        .create_user(alice, "a@example.com", None, Role::User, t(0))
        .await
        .unwrap();
    assert_eq!(
        store.user_plan(alice).await.unwrap(),
        None,
        "free until subscribed"
    );
    store.set_user_plan(alice, "pro", t(1)).await.unwrap();
    store
        .set_user_plan(alice, "enterprise", t(2))
        .await
        .unwrap();
    assert_eq!(
        store.user_plan(alice).await.unwrap().as_deref(),
        Some("enterprise")
    );
    assert!(
        store
            .set_user_plan(alice, "no-such-plan", t(3))
            .await
            .is_err()
    );

    assert!(store.set_role(alice, Role::Admin, t(4)).await.unwrap());
    assert_eq!(store.user(alice).await.unwrap().unwrap().role, Role::Admin);
    assert!(
        !store
            .set_role(UserId::new(Uuid::from_u128(9)), Role::Admin, t(4))
            .await
            .unwrap()
    );
    let bob = UserId::new(Uuid::from_u128(2));
    store
        .create_user(bob, "b@example.com", None, Role::User, t(0))
        .await
        .unwrap();
    let page = store.list_users(None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    let next = store.list_users(Some(page[0].id), 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(page[0].id, next[0].id);
});
