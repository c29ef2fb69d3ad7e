//! Alert preferences: defaults, the webhook secret drawn once per URL and sealed, who
//! wants what, and a user's day as the daily summary reads it.

use nexus_core::ports::accounts::Role;
use nexus_core::ports::activity::{FillRecord, OrderRecord, OrderState, SkipRecord};
use nexus_core::ports::alerts::{AlertEvent, AlertPreferences, EmailAlerts};
use nexus_core::{BotId, ClientOrderId, ExchangeId, OrderType, Quantity, Side, SignalId, UserId};
use nexus_store::vault::{Keyring, MasterKey};
use uuid::Uuid;

use crate::bots::bot;
use crate::{Db, both, keys, t};

fn user(n: u128) -> UserId {
    UserId::new(Uuid::from_u128(n))
}

both!(
    preferences_default_until_set_and_a_new_url_gets_a_new_sealed_secret,
    |db: Db| async move {
        let text = MasterKey::generate().to_base64();
        let key = || Keyring::new(MasterKey::from_base64(&text, "t").unwrap(), Vec::new());
        let store = db.open(key()).await;
        let alice = user(1);
        store
            .create_user(alice, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        assert_eq!(
            store.alert_preferences(alice).await.unwrap(),
            AlertPreferences::default()
        );
        assert!(store.webhook_target(alice).await.unwrap().is_none());

        let mut prefs = AlertPreferences {
            email: EmailAlerts {
                fills: false,
                gate_blocks: true,
                errors: true,
                daily_summary: true,
            },
            webhook_url: Some("https://hooks.example.com/a".into()),
            webhook_events: vec![AlertEvent::Errors, AlertEvent::GateBlocks],
        };
        let secret = store
            .set_alert_preferences(alice, &prefs, t(1))
            .await
            .unwrap()
            .expect("a new URL gets a secret");
        assert!(secret.expose().starts_with("whsec_"), "prefixed");
        assert!(secret.expose().len() >= 6 + 43, "32 random bytes");
        let mut read = store.alert_preferences(alice).await.unwrap();
        read.webhook_events.sort();
        prefs.webhook_events.sort();
        assert_eq!(read, prefs, "round-trips");
        let target = store.webhook_target(alice).await.unwrap().unwrap();
        assert_eq!(target.secret.expose(), secret.expose());
        assert_eq!(target.url, "https://hooks.example.com/a");

        // Not in clear in the database: another master key cannot open it.
        let other = db.open(keys()).await;
        assert!(other.webhook_target(alice).await.is_err());

        // The same URL again: the secret stays and is not shown again.
        prefs.email.fills = true;
        assert!(
            store
                .set_alert_preferences(alice, &prefs, t(2))
                .await
                .unwrap()
                .is_none()
        );
        let again = store.webhook_target(alice).await.unwrap().unwrap();
        assert_eq!(again.secret.expose(), secret.expose());
        assert!(store.alert_preferences(alice).await.unwrap().email.fills);

        // Another URL: another secret.
        prefs.webhook_url = Some("https://hooks.example.com/b".into());
        let second = store
            .set_alert_preferences(alice, &prefs, t(3))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(second.expose(), secret.expose());
        // No URL: no webhook, no secret kept.
        prefs.webhook_url = None;
        assert!(
            store
                .set_alert_preferences(alice, &prefs, t(4))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.webhook_target(alice).await.unwrap().is_none());
    }
);

both!(
    recipients_follow_preferences_and_defaults,
    |db: Db| async move {
        let store = db.open(keys()).await;
        for n in 1..=4 {
            store
                .create_user(user(n), &format!("u{n}@x.io"), None, Role::User, t(0))
                .await
                .unwrap();
        }
        // 1: defaults (no row). 2: gate blocks by email, daily summary. 3: gate blocks by
        // webhook only. 4: nothing at all, daily summary.
        let set =
            |email: EmailAlerts, url: Option<&str>, events: Vec<AlertEvent>| AlertPreferences {
                email,
                webhook_url: url.map(str::to_owned),
                webhook_events: events,
            };
        let none = EmailAlerts {
            fills: false,
            gate_blocks: false,
            errors: false,
            daily_summary: false,
        };
        let prefs = [
            (
                2,
                set(
                    EmailAlerts {
                        gate_blocks: true,
                        daily_summary: true,
                        ..none
                    },
                    None,
                    vec![],
                ),
            ),
            (
                3,
                set(
                    none,
                    Some("https://h.example.com"),
                    vec![AlertEvent::GateBlocks],
                ),
            ),
            (
                4,
                set(
                    EmailAlerts {
                        daily_summary: true,
                        ..none
                    },
                    None,
                    vec![AlertEvent::Fills],
                ),
            ),
        ];
        for (n, p) in &prefs {
            store
                .set_alert_preferences(user(*n), p, t(1))
                .await
                .unwrap();
        }
        let all: Vec<UserId> = (1..=4).map(user).collect();
        // Everyone's preferences in one read: the defaults for user 1, who set none.
        let read = store.alert_preferences_of(&all).await.unwrap();
        assert_eq!(read.len(), 4);
        assert_eq!(read[&user(1)], AlertPreferences::default());
        for (n, p) in &prefs {
            assert_eq!(
                read[&user(*n)],
                store.alert_preferences(user(*n)).await.unwrap()
            );
            assert_eq!(read[&user(*n)].email, p.email, "user {n}");
        }
        assert!(store.alert_preferences_of(&[]).await.unwrap().is_empty());
        assert_eq!(
            store
                .alert_recipients(&all, AlertEvent::GateBlocks)
                .await
                .unwrap(),
            vec![user(2), user(3)]
        );
        assert_eq!(
            store
                .alert_recipients(&all, AlertEvent::Fills)
                .await
                .unwrap(),
            vec![user(1)],
            "defaults email fills; a webhook event without a URL posts nothing"
        );
        assert_eq!(
            store
                .alert_recipients(&[], AlertEvent::Fills)
                .await
                .unwrap(),
            vec![]
        );
        // The daily summary's recipients, a page at a time.
        let first = store.summary_recipients(None, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].user, first[0].email.as_str()),
            (user(2), "u2@x.io")
        );
        let next = store
            .summary_recipients(Some(first[0].user), 10)
            .await
            .unwrap();
        assert_eq!(
            next.iter().map(|r| r.user).collect::<Vec<_>>(),
            vec![user(4)]
        );
    }
);

fn order(n: u128, bot: BotId, user: UserId, side: Side, state: OrderState, at: i64) -> OrderRecord {
    OrderRecord {
        id: Uuid::from_u128(n),
        bot,
        user,
        signal: SignalId::new(Uuid::from_u128(900 + n)),
        client_order_id: ClientOrderId::new(&format!("o-{n}")).unwrap(),
        exchange: ExchangeId::Binance,
        symbol: "BTC/USDT".parse().unwrap(),
        side,
        order_type: OrderType::Market,
        quantity: "0.01".parse().unwrap(),
        limit_price: None,
        level: 0,
        state,
        venue_order_id: None,
        filled_quantity: Quantity::ZERO,
        average_price: None,
        error: None,
        created_at: t(at),
        updated_at: t(at),
    }
}

both!(a_users_day_per_bot, |db: Db| async move {
    let store = db.open(keys()).await;
    let (alice, bob) = (user(1), user(2));
    for (u, e) in [(alice, "a@x.io"), (bob, "b@x.io")] {
        store
            .create_user(u, e, None, Role::User, t(0))
            .await
            .unwrap();
    }
    let (a1, a2, b1) = (
        bot(10, alice, false),
        bot(11, alice, false),
        bot(20, bob, false),
    );
    let idle = bot(12, alice, false);
    for b in [&a1, &a2, &b1, &idle] {
        store.create_bot(b, t(0)).await.unwrap();
    }
    const DAY: i64 = 86_400;
    let orders = [
        order(1, a1.id, alice, Side::Buy, OrderState::Filled, 100),
        order(2, a1.id, alice, Side::Sell, OrderState::Filled, 200),
        order(3, a1.id, alice, Side::Buy, OrderState::Rejected, 300),
        order(4, a1.id, alice, Side::Buy, OrderState::Filled, DAY + 10), // the next day
        order(5, b1.id, bob, Side::Buy, OrderState::Filled, 100),
    ];
    for o in &orders {
        assert!(store.record_order(o).await.unwrap());
    }
    let fill = |n: u128, price: &str, fee: &str, asset: &str, at: i64| FillRecord {
        order: Uuid::from_u128(n),
        venue_trade_id: format!("T{n}"),
        quantity: "0.01".parse().unwrap(),
        price: price.parse().unwrap(),
        fee: fee.parse().unwrap(),
        fee_asset: Some(asset.parse().unwrap()),
        filled_at: t(at),
    };
    for f in [
        fill(1, "60000", "0.00001", "BTC", 100),
        fill(2, "61000", "0.61", "USDT", 200),
        fill(4, "62000", "0.62", "USDT", DAY + 10),
        fill(5, "60000", "0.6", "USDT", 100),
    ] {
        assert!(store.record_fill(&f).await.unwrap());
    }
    let skip = |bot: BotId, reason: &str, at: i64| SkipRecord {
        bot,
        signal: SignalId::new(Uuid::from_u128(77)),
        reason: reason.into(),
        detail: "d".into(),
        at: t(at),
    };
    store
        .record_skips(&[
            skip(a2.id, "gate", 50),
            skip(a2.id, "gate", 60),
            skip(a2.id, "insufficient_balance", 70),
            skip(a2.id, "gate", DAY + 1),
        ])
        .await
        .unwrap();

    // A limit order placed late on the first day fills on the second: recording its fill
    // updates the order, as record_executions does.
    let mut resting = order(6, a1.id, alice, Side::Sell, OrderState::New, DAY - 1_000);
    assert!(store.record_order(&resting).await.unwrap());
    resting.state = OrderState::Filled;
    resting.updated_at = t(DAY + 500);
    assert!(store.update_order(&resting).await.unwrap());
    assert!(
        store
            .record_fill(&fill(6, "63000", "0.63", "USDT", DAY + 500))
            .await
            .unwrap()
    );

    let day = store.day_activity(alice, t(0), t(DAY)).await.unwrap();
    assert_eq!(day.len(), 2, "the idle bot and bob's are left out: {day:?}");
    let (first, second) = (&day[0], &day[1]);
    assert_eq!((first.bot, first.name.as_str()), (a1.id, "bot 10"));
    assert_eq!((first.orders, first.failed, first.fills), (4, 1, 2));
    assert_eq!(first.bought_quantity, "0.01".parse().unwrap());
    assert_eq!(first.sold_quantity, "0.01".parse().unwrap());
    assert_eq!(first.base_fees, "0.00001".parse().unwrap());
    assert_eq!(first.bought.value(), rust_decimal::Decimal::from(600));
    assert_eq!(first.sold.value(), rust_decimal::Decimal::from(610));
    assert_eq!(first.fees.value(), "0.61".parse().unwrap());
    assert_eq!(first.cash_pnl(), "9.39".parse().unwrap());
    assert_eq!(second.bot, a2.id);
    assert_eq!(
        second.skips,
        vec![
            ("gate".to_owned(), 2),
            ("insufficient_balance".to_owned(), 1)
        ]
    );
    assert_eq!((second.orders, second.fills), (0, 0));
    let next = store.day_activity(alice, t(DAY), t(2 * DAY)).await.unwrap();
    assert_eq!(
        next.iter()
            .map(|d| (d.orders, d.fills, d.skipped()))
            .collect::<Vec<_>>(),
        [(1, 2, 0), (0, 0, 1)],
        "the second day: one order placed, two filled (the one resting overnight too)"
    );
});
