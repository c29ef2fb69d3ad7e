//! Orders, fills, skips and positions per bot.

use nexus_core::ports::accounts::{BotRecord, Role};
use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState, Page, SkipRecord};
use nexus_core::ports::jobs::{JobKind, NewJob};
use nexus_core::{
    BotId, ClientOrderId, ExchangeId, OrderType, Position, Price, Quantity, Side, SignalId,
    StoreError, UserId,
};
use uuid::Uuid;

use crate::{Db, both, keys, t};

fn order(n: u128, bot: BotId, user: UserId, at: i64) -> OrderRecord {
    OrderRecord {
        id: Uuid::from_u128(n),
        bot,
        user,
        signal: SignalId::new(Uuid::from_u128(500)),
        client_order_id: ClientOrderId::new(&format!("order-{n}")).unwrap(),
        exchange: ExchangeId::Paper,
        symbol: "BTC/USDT".parse().unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        quantity: "0.0333".parse().unwrap(),
        limit_price: Some("50000.01".parse().unwrap()),
        level: 0,
        state: OrderState::Pending,
        venue_order_id: None,
        filled_quantity: Quantity::ZERO,
        average_price: None,
        error: None,
        created_at: t(at),
        updated_at: t(at),
    }
}

both!(
    bot_activity_is_recorded_once_and_read_newest_first,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let user = UserId::new(Uuid::from_u128(1));
        store
            .create_user(user, "a@example.com", None, Role::User, t(0))
            .await
            .unwrap();
        let bot = BotId::new(Uuid::from_u128(10));
        let record = BotRecord {
            id: bot,
            user,
            name: "b".into(),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: nexus_core::Interval::H1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
            config: nexus_core::fanout::BotConfig::default(),
            credential: None,
            paused: false,
            paused_reason: None,
        };
        store.create_bot(&record, t(0)).await.unwrap();

        for n in 1..=5 {
            assert!(
                store
                    .record_order(&order(n, bot, user, i64::try_from(n).unwrap()))
                    .await
                    .unwrap()
            );
        }
        let mut replayed = order(99, bot, user, 9);
        replayed.client_order_id = ClientOrderId::new("order-3").unwrap();
        assert!(
            !store.record_order(&replayed).await.unwrap(),
            "one order per client order id"
        );

        let mut filled = order(5, bot, user, 5);
        filled.state = OrderState::Filled;
        filled.venue_order_id = Some("V-5".into());
        filled.filled_quantity = "0.0333".parse().unwrap();
        filled.average_price = Some("50000".parse().unwrap());
        filled.updated_at = t(6);
        assert!(store.update_order(&filled).await.unwrap());

        let first = store
            .bot_orders(
                bot,
                Page {
                    before: None,
                    limit: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|o| o.id).collect::<Vec<_>>(),
            [Uuid::from_u128(5), Uuid::from_u128(4)]
        );
        assert_eq!(first[0], filled, "read back whole");
        let next = store
            .bot_orders(
                bot,
                Page {
                    before: Some(first[1].id),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].id, Uuid::from_u128(3));

        let fill = FillRecord {
            order: filled.id,
            venue_trade_id: "T-1".into(),
            quantity: "0.0333".parse().unwrap(),
            price: "50000".parse::<Price>().unwrap(),
            fee: "0.0000333".parse().unwrap(),
            fee_asset: Some("BTC".parse().unwrap()),
            filled_at: t(6),
        };
        assert!(store.record_fill(&fill).await.unwrap());
        assert!(
            !store.record_fill(&fill).await.unwrap(),
            "a trade is recorded once"
        );
        let fills = store
            .bot_fills(
                bot,
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(fills.len(), 1);
        assert_eq!(fills[0].1, fill);

        let skip = |i: i64, reason: &str| SkipRecord {
            bot,
            signal: SignalId::new(Uuid::from_u128(500)),
            reason: reason.into(),
            detail: format!("detail {i}"),
            at: t(10 + i),
        };
        store
            .record_skip(&skip(0, "insufficient_balance"))
            .await
            .unwrap();
        // A fan-out records a page of skips at once.
        store
            .record_skips(&[skip(1, "below_min_notional"), skip(2, "gate_blocked")])
            .await
            .unwrap();
        store.record_skips(&[]).await.unwrap();
        let skips = store
            .bot_skips(
                bot,
                Page {
                    before: None,
                    limit: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            skips
                .iter()
                .map(|s| s.1.reason.as_str())
                .collect::<Vec<_>>(),
            ["gate_blocked", "below_min_notional"]
        );
        let rest = store
            .bot_skips(
                bot,
                Page {
                    before: Some(skips[1].0),
                    limit: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);

        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let position = Position::open(
            "BTC/USDT".parse().unwrap(),
            q("0.0333"),
            "50000".parse().unwrap(),
            t(20),
        )
        .unwrap();
        store.save_position(bot, &position, t(20)).await.unwrap();
        store
            .close_position(bot, q("0.00001"), t(21))
            .await
            .unwrap();
        store.save_position(bot, &position, t(22)).await.unwrap();
        let positions = store
            .bot_positions(
                bot,
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(positions.len(), 2);
        assert!(positions[0].closed_at.is_none(), "the open one is newest");
        assert_eq!(positions[1].dust.to_string(), "0.00001");
        let older = store
            .bot_positions(
                bot,
                Page {
                    before: Some(positions[0].id),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(older.len(), 1);
    }
);

both!(
    a_workers_batch_is_recorded_in_one_go_and_once,
    |db: Db| async move {
        use nexus_core::ports::activity::{Execution, PositionChange};
        let store = db.open(keys()).await;
        let user = UserId::new(Uuid::from_u128(1));
        store
            .create_user(user, "a@example.com", None, Role::User, t(0))
            .await
            .unwrap();
        let bots: Vec<BotId> = (10..13).map(|n| BotId::new(Uuid::from_u128(n))).collect();
        for &id in &bots {
            let record = BotRecord {
                id,
                user,
                name: "b".into(),
                exchange: ExchangeId::Paper,
                symbol: "BTC/USDT".parse().unwrap(),
                interval: nexus_core::Interval::H1,
                strategy: "trend_breakout".into(),
                strategy_config: "{}".into(),
                config: nexus_core::fanout::BotConfig::default(),
                credential: None,
                paused: false,
                paused_reason: None,
            };
            store.create_bot(&record, t(0)).await.unwrap();
        }
        let gone = BotId::new(Uuid::from_u128(99));
        let found = store.bot_keys(&[bots[0], gone, bots[2]]).await.unwrap();
        let mut ids: Vec<BotId> = found.keys().copied().collect();
        ids.sort();
        assert_eq!(ids, [bots[0], bots[2]], "only bots that exist");
        assert!(found.values().all(Option::is_none), "no key set");
        assert!(store.bot_keys(&[]).await.unwrap().is_empty());

        let orders: Vec<OrderRecord> = bots
            .iter()
            .enumerate()
            .map(|(i, &bot)| order(u128::try_from(i).unwrap() + 1, bot, user, 1))
            .collect();
        // Two of the three on record before their answers (the third is written with
        // its answer, as the worker writes orders).
        assert_eq!(store.record_orders(&orders[..2]).await.unwrap(), [true; 2]);
        assert_eq!(
            store.record_orders(&orders[..1]).await.unwrap(),
            [false],
            "a replayed order is not recorded twice"
        );

        let q = |s: &str| s.parse::<Quantity>().unwrap();
        let bought = Position::open(
            "BTC/USDT".parse().unwrap(),
            q("0.5"),
            "100".parse().unwrap(),
            t(2),
        )
        .unwrap();
        let executions: Vec<Execution> = orders
            .iter()
            .map(|o| {
                let mut filled = o.clone();
                filled.state = OrderState::Filled;
                filled.filled_quantity = q("0.5");
                filled.average_price = Some("100".parse().unwrap());
                Execution {
                    fill: Some(FillRecord {
                        order: o.id,
                        venue_trade_id: format!("T-{}", o.id),
                        quantity: q("0.5"),
                        price: "100".parse().unwrap(),
                        fee: Quantity::ZERO,
                        fee_asset: None,
                        filled_at: t(2),
                    }),
                    order: filled,
                    position: Some(PositionChange::Save(bought)),
                }
            })
            .collect();
        // The batch's alert job rides in the same transaction.
        let alerts = NewJob {
            unique_key: Some("alerts-of-the-batch".into()),
            ..NewJob::new(JobKind::TradeAlert, "{\"alerts\":[]}")
        };
        assert_eq!(
            store
                .record_executions(&executions, Some(&alerts), t(2))
                .await
                .unwrap(),
            [true; 3]
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
        let open = store.open_positions(&bots).await.unwrap();
        assert_eq!(open.len(), 3);
        assert!(open.iter().all(|(_, p)| *p == bought));
        // The same reports again (a replayed batch): no new fill, no position move. A
        // close that rode along is not applied either.
        let mut again = executions.clone();
        again[0].position = Some(PositionChange::Close {
            dust: Quantity::ZERO,
        });
        assert_eq!(
            store
                .record_executions(&again, Some(&alerts), t(3))
                .await
                .unwrap(),
            [false; 3]
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM jobs").await,
            1,
            "a replayed batch alerts once"
        );
        // A batch that cannot be recorded (two answers for one order row under two client
        // order ids) records nothing and enqueues nothing.
        let clash: Vec<Execution> = [(7, bots[1]), (8, bots[2])]
            .into_iter()
            .map(|(n, bot)| {
                let mut x = executions[0].clone();
                x.order = order(n, bot, user, 3);
                x.order.id = Uuid::from_u128(7);
                if let Some(fill) = &mut x.fill {
                    fill.order = x.order.id;
                    fill.venue_trade_id = format!("T-{n}");
                }
                x
            })
            .collect();
        let other = NewJob {
            unique_key: Some("alerts-of-a-failed-batch".into()),
            ..alerts.clone()
        };
        assert!(
            store
                .record_executions(&clash, Some(&other), t(3))
                .await
                .is_err()
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 1);
        assert_eq!(store.open_positions(&bots).await.unwrap().len(), 3);
        let read = store
            .bot_orders(
                bots[1],
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(read[0].state, OrderState::Filled);
        assert_eq!(read[0].filled_quantity, q("0.5"));
        for bot in &bots {
            let read = store
                .bot_orders(
                    *bot,
                    Page {
                        before: None,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            assert_eq!(read.len(), 1, "one row per order, inserted or updated");
            assert_eq!(read[0].state, OrderState::Filled);
            assert_eq!(read[0].average_price, Some("100".parse().unwrap()));
        }

        // Deleting a bot deletes its orders, fills and position (no foreign key does it
        // on PostgreSQL: the store does), and nothing of the other bots.
        assert!(store.delete_bot(user, bots[0]).await.unwrap());
        let page = Page {
            before: None,
            limit: 10,
        };
        assert!(store.bot_orders(bots[0], page).await.unwrap().is_empty());
        assert_eq!(store.open_position(bots[0]).await.unwrap(), None);
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 2);
        assert_eq!(db.count("SELECT COUNT(*) FROM fills").await, 2);
        assert_eq!(db.count("SELECT COUNT(*) FROM positions").await, 2);

        // A batch answered after one of its bots was deleted: the rest is recorded, the
        // deleted bot's execution is not (its history went with it) and fails nothing.
        let late: Vec<Execution> = [(4, bots[0]), (5, bots[1])]
            .into_iter()
            .map(|(n, bot)| {
                let mut x = executions[0].clone();
                x.order = order(n, bot, user, 4);
                x.order.state = OrderState::Filled;
                if let Some(fill) = &mut x.fill {
                    fill.order = x.order.id;
                    fill.venue_trade_id = format!("T-{n}");
                }
                x.position = Some(PositionChange::Close {
                    dust: Quantity::ZERO,
                });
                x
            })
            .collect();
        assert_eq!(
            store.record_executions(&late, None, t(4)).await.unwrap(),
            [false, true]
        );
        assert!(store.bot_orders(bots[0], page).await.unwrap().is_empty());
        assert_eq!(store.bot_orders(bots[1], page).await.unwrap().len(), 2);
        assert_eq!(store.open_position(bots[1]).await.unwrap(), None, "closed");
        assert_eq!(db.count("SELECT COUNT(*) FROM fills").await, 3);
        // The single writes refuse a deleted bot, as its foreign key would.
        assert!(matches!(
            store.record_order(&order(6, bots[0], user, 5)).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            store.save_position(bots[0], &bought, t(5)).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(db.count("SELECT COUNT(*) FROM orders").await, 3);
        assert_eq!(db.count("SELECT COUNT(*) FROM positions").await, 2);
    }
);

both!(
    a_users_latest_orders_and_skips_come_across_their_bots_in_one_read,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let (user, other) = (
            UserId::new(Uuid::from_u128(1)),
            UserId::new(Uuid::from_u128(2)),
        );
        for (u, email) in [(user, "a@example.com"), (other, "b@example.com")] {
            store
                .create_user(u, email, None, Role::User, t(0))
                .await
                .unwrap();
        }
        let bot = |n: u128, owner: UserId| BotRecord {
            id: BotId::new(Uuid::from_u128(n)),
            user: owner,
            name: format!("bot {n}"),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            interval: nexus_core::Interval::H1,
            strategy: "trend_breakout".into(),
            strategy_config: "{}".into(),
            config: nexus_core::fanout::BotConfig::default(),
            credential: None,
            paused: false,
            paused_reason: None,
        };
        // Bot 10 is busy, bot 11 has one old order, bot 12 none; bot 20 is another user's
        // with the newest orders of all.
        let bots = [bot(10, user), bot(11, user), bot(12, user), bot(20, other)];
        for b in &bots {
            store.create_bot(b, t(0)).await.unwrap();
        }
        let mut orders = Vec::new();
        for n in 0..30u128 {
            orders.push(order(100 + n, bots[0].id, user, 100 + n as i64 * 2));
        }
        orders.push(order(200, bots[1].id, user, 1));
        orders.push(order(201, bots[1].id, user, 161));
        for n in 0..5u128 {
            orders.push(order(300 + n, bots[3].id, other, 1_000 + n as i64));
        }
        store.record_orders(&orders).await.unwrap();

        let latest = store.user_recent_orders(user, 4).await.unwrap();
        let ids: Vec<u128> = latest.iter().map(|o| o.id.as_u128()).collect();
        // Bot 11's order at 161 is newer than bot 10's newest (at 158).
        assert_eq!(ids, [201, 129, 128, 127], "{ids:?}");
        assert!(latest.iter().all(|o| o.user == user));
        let all = store.user_recent_orders(user, 1_000).await.unwrap();
        assert_eq!(
            all.len(),
            32,
            "every order of a user with fewer than the limit"
        );
        assert_eq!(all.last().map(|o| o.id.as_u128()), Some(200));
        assert!(
            store
                .user_recent_orders(UserId::new(Uuid::from_u128(3)), 10)
                .await
                .unwrap()
                .is_empty()
        );

        let skip = |b: &BotRecord, i: i64| SkipRecord {
            bot: b.id,
            signal: SignalId::new(Uuid::from_u128(500 + i as u128)),
            reason: "gate_blocked".into(),
            detail: format!("detail {i}"),
            at: t(i),
        };
        let mut skips: Vec<SkipRecord> = (0..20).map(|i| skip(&bots[0], i)).collect();
        skips.push(skip(&bots[2], 15));
        skips.push(skip(&bots[3], 50));
        store.record_skips(&skips).await.unwrap();
        let latest = store.user_recent_skips(user, 3).await.unwrap();
        let details: Vec<&str> = latest.iter().map(|s| s.detail.as_str()).collect();
        assert_eq!(details, ["detail 19", "detail 18", "detail 17"]);
        let six = store.user_recent_skips(user, 6).await.unwrap();
        assert_eq!(
            six.iter()
                .map(|s| (s.bot, s.detail.as_str()))
                .collect::<Vec<_>>()[4..],
            [(bots[2].id, "detail 15"), (bots[0].id, "detail 15")][..],
            "bot 12's one skip among bot 10's, the later recorded first: {six:?}"
        );
    }
);
