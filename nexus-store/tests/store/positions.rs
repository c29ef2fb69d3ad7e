//! Open positions, and exact decimals on both databases.

use nexus_core::ports::accounts::Role;
use nexus_core::{BotId, Notional, Position, Price, Quantity, UserId};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::bots::bot;
use crate::{Db, both, keys, t};

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
