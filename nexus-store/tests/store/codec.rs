//! A stored value that does not read back is an error naming its table and column, on
//! both databases (the row codec both stores share).

use nexus_core::ports::accounts::{BotFilter, Role};
use nexus_core::{BotId, ExchangeId, Position, StoreError, UserId};
use uuid::Uuid;

use crate::bots::bot;
use crate::{Db, both, keys, t};

fn corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Corrupt { message }) => message,
        other => panic!("expected corrupt data, got {other:?}"),
    }
}

both!(
    a_bad_stored_value_names_its_table_and_column,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        for n in 10..13 {
            store.create_bot(&bot(n, alice, false), t(0)).await.unwrap();
        }
        let id = |n| BotId::new(Uuid::from_u128(n));
        let btc = "BTC/USDT".parse().unwrap();
        let held =
            Position::open(btc, "0.5".parse().unwrap(), "100".parse().unwrap(), t(1)).unwrap();
        store.save_position(id(10), &held, t(1)).await.unwrap();

        db.execute("UPDATE bots SET symbol = 'BTCUSDT' WHERE name = 'bot 11'")
            .await;
        let message = corrupt(store.bot(id(11)).await);
        assert!(message.starts_with("bots.symbol: "), "{message}");
        let message = corrupt(store.user_bots(alice, None, 10).await);
        assert!(message.starts_with("bots.symbol: "), "{message}");
        assert!(store.delete_bot(alice, id(11)).await.unwrap());

        db.execute("UPDATE bots SET gate = '42' WHERE name = 'bot 12'")
            .await;
        let message = corrupt(store.bot(id(12)).await);
        assert!(message.starts_with("bots.gate: "), "{message}");
        assert!(store.delete_bot(alice, id(12)).await.unwrap());

        assert_eq!(store.open_position(id(10)).await.unwrap(), Some(held));
        db.execute("UPDATE positions SET adds = -1").await;
        let message = corrupt(store.open_position(id(10)).await);
        assert!(message.starts_with("positions.adds: "), "{message}");
        // Read in the engine's page of bots, the position is named by its own table and
        // column, not by the alias the join gave it.
        let filter = BotFilter {
            exchange: ExchangeId::Binance,
            symbol: btc,
            strategy: "trend_breakout",
            interval: None,
            strategy_config: None,
        };
        let message = corrupt(store.active_bots(&filter, None, 10).await);
        assert!(message.starts_with("positions.adds: "), "{message}");
    }
);
