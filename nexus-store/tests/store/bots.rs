//! Bots: their configuration, ownership, and the pages of active bots the engine reads.

use nexus_core::market::Interval;
use nexus_core::ports::accounts::{BotFilter, BotRecord, Role, SubscribedBot};
use nexus_core::{BotId, ExchangeId, Position, UserId};
use uuid::Uuid;

use crate::{Db, both, keys, t};

pub fn bot(n: u128, user: UserId, paused: bool) -> BotRecord {
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
        paused_reason: None,
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

        // The engine pauses a bot with its reason; the fan-out no longer loads it, and
        // its owner resuming it clears the reason.
        let broken = BotId::new(Uuid::from_u128(14));
        let reason = "internal_error: planning panicked: attempt to multiply with overflow";
        assert!(store.pause_bot(broken, reason, t(2)).await.unwrap());
        let paused = store.bot(broken).await.unwrap().unwrap();
        assert!(paused.paused);
        assert_eq!(paused.paused_reason.as_deref(), Some(reason));
        let active = store
            .active_bots(&market(ExchangeId::Binance), None, 10)
            .await
            .unwrap();
        assert!(active.iter().all(|b| b.bot.id != broken));
        assert!(store.set_paused(alice, broken, false, t(3)).await.unwrap());
        let resumed = store.bot(broken).await.unwrap().unwrap();
        assert_eq!((resumed.paused, resumed.paused_reason), (false, None));
        // The reason round-trips through create and update too.
        let mut record = bot(16, alice, true);
        record.paused_reason = Some("internal_error: x".into());
        store.create_bot(&record, t(4)).await.unwrap();
        assert_eq!(store.bot(record.id).await.unwrap().unwrap(), record);
        record.paused_reason = None;
        record.paused = false;
        assert!(store.update_bot(&record, t(5)).await.unwrap());
        assert_eq!(store.bot(record.id).await.unwrap().unwrap(), record);
        assert!(
            !store
                .pause_bot(BotId::new(Uuid::from_u128(999)), reason, t(6))
                .await
                .unwrap()
        );
    }
);

both!(
    the_markets_followed_are_each_active_market_once_in_order,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        assert!(store.active_markets().await.unwrap().is_empty());
        // Three bots on one market, one on each of four others, and a market whose only
        // bot is paused.
        let (p20, p55) = ("{\"p\":20}", "{\"p\":55}");
        let bots = [
            (ExchangeId::Kraken, "ETH/USDT", Interval::H4, p20, false),
            (ExchangeId::Binance, "BTC/USDT", Interval::H4, p20, false),
            (ExchangeId::Binance, "BTC/USDT", Interval::H4, p20, false),
            (ExchangeId::Binance, "BTC/USDT", Interval::H4, p20, false),
            (ExchangeId::Binance, "BTC/USDT", Interval::D1, p20, false),
            (ExchangeId::Binance, "BTC/USDT", Interval::H4, p55, false),
            (ExchangeId::Binance, "ETH/USDT", Interval::H4, p20, false),
            (ExchangeId::Coinbase, "BTC/USD", Interval::H4, p20, true),
        ];
        for (n, (exchange, symbol, interval, config, paused)) in (11..).zip(bots) {
            let mut b = bot(n, alice, paused);
            b.exchange = exchange;
            b.symbol = symbol.parse().unwrap();
            b.interval = interval;
            b.strategy_config = config.into();
            store.create_bot(&b, t(0)).await.unwrap();
        }
        let markets: Vec<String> = store
            .active_markets()
            .await
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} {} {}",
                    m.exchange.as_str(),
                    m.symbol,
                    m.interval.as_str(),
                    m.strategy,
                    m.strategy_config
                )
            })
            .collect();
        assert_eq!(
            markets,
            [
                "binance BTC/USDT 1d trend_breakout {\"p\":20}",
                "binance BTC/USDT 4h trend_breakout {\"p\":20}",
                "binance BTC/USDT 4h trend_breakout {\"p\":55}",
                "binance ETH/USDT 4h trend_breakout {\"p\":20}",
                "kraken ETH/USDT 4h trend_breakout {\"p\":20}",
            ]
        );
    }
);

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
