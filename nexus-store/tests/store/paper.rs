//! The Paper venue's ledger and the out-of-sync log: the same answers on both databases,
//! writes all or nothing, and concurrent updates of one account never lose one another.

use std::sync::Arc;

use nexus_core::ports::PaperLedger;
use nexus_core::ports::accounts::Role;
use nexus_core::ports::activity::{OutOfSyncRecord, Page};
use nexus_core::ports::paper::PaperBook;
use nexus_core::{
    Asset, BotId, ClientOrderId, ExchangeId, OrderReport, OrderStatus, SignalId, UserId,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::bots::bot;
use crate::{Db, both, keys, t};

fn usdt() -> Asset {
    Asset::new("USDT").unwrap()
}

fn report(id: &str, filled: &str) -> OrderReport {
    OrderReport {
        client_order_id: ClientOrderId::new(id).unwrap(),
        venue_order_id: format!("paper-{id}"),
        symbol: "BTC/USDT".parse().unwrap(),
        side: nexus_core::Side::Buy,
        status: OrderStatus::Filled,
        quantity: filled.parse().unwrap(),
        filled_quantity: filled.parse().unwrap(),
        average_price: Some("50025.5".parse().unwrap()),
        fee: "0.00001".parse().unwrap(),
        fee_asset: Some(Asset::new("BTC").unwrap()),
        updated_at: t(5),
    }
}

both!(
    paper_accounts_and_orders_are_stored_and_read_back,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let names = vec!["paper-a".to_owned(), "paper-b".to_owned()];
        assert!(store.paper_accounts(&names).await.unwrap().is_empty());
        let id = ClientOrderId::new("nx-1").unwrap();
        let key = ("paper-a".to_owned(), id);
        let mut seen = None;
        store
            .update_paper(
                &names,
                &[],
                std::slice::from_ref(&key),
                &mut |book: &mut PaperBook| {
                    seen = Some(book.clone());
                    let a = book.accounts.get_mut("paper-a").unwrap();
                    a.funded = true;
                    a.balances.insert(usdt(), "9499.745".parse().unwrap());
                    a.balances
                        .insert(Asset::new("BTC").unwrap(), "0.00999".parse().unwrap());
                    book.orders.insert(key.clone(), report("nx-1", "0.01"));
                },
            )
            .await
            .unwrap();
        // Accounts named for the first time were there, empty and unfunded.
        let seen = seen.unwrap();
        assert_eq!(seen.accounts.len(), 2);
        assert!(
            seen.accounts
                .values()
                .all(|a| !a.funded && a.balances.is_empty())
        );
        assert!(seen.orders.is_empty());

        let accounts = store.paper_accounts(&names).await.unwrap();
        let a = &accounts["paper-a"];
        assert!(a.funded);
        assert_eq!(a.balances[&usdt()], "9499.745".parse::<Decimal>().unwrap());
        let orders = store
            .paper_orders(std::slice::from_ref(&key))
            .await
            .unwrap();
        assert_eq!(
            orders[&key],
            report("nx-1", "0.01"),
            "the report reads back exactly"
        );
        // Another account has no such order.
        let other = ("paper-b".to_owned(), id);
        assert!(store.paper_orders(&[other]).await.unwrap().is_empty());

        // A later update sees what the first wrote, and changes only what it changes.
        store
            .update_paper(
                &names[..1],
                std::slice::from_ref(&key),
                &[],
                &mut |book: &mut PaperBook| {
                    assert_eq!(book.orders.len(), 1);
                    let a = book.accounts.get_mut("paper-a").unwrap();
                    assert!(a.funded);
                    a.balances.insert(usdt(), Decimal::ZERO);
                    // An order it read is changed in place (as a cancel does).
                    book.orders.get_mut(&key).unwrap().status = OrderStatus::Canceled;
                },
            )
            .await
            .unwrap();
        let after = store.paper_accounts(&names[..1]).await.unwrap();
        assert_eq!(after["paper-a"].balances[&usdt()], Decimal::ZERO);
        assert_eq!(after["paper-a"].balances.len(), 2);
        let orders = store
            .paper_orders(std::slice::from_ref(&key))
            .await
            .unwrap();
        assert_eq!(orders[&key].status, OrderStatus::Canceled);
    }
);

both!(
    a_placement_sent_again_finds_its_order_and_moves_nothing_twice,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let names = vec!["paper-a".to_owned()];
        let key = ("paper-a".to_owned(), ClientOrderId::new("nx-1").unwrap());
        let place = |book: &mut PaperBook| {
            // As the venue places: the first report if the order exists, else a fill
            // that moves the balance.
            if book.orders.contains_key(&key) {
                return;
            }
            let a = book.accounts.get_mut("paper-a").unwrap();
            a.funded = true;
            *a.balances.entry(usdt()).or_default() += Decimal::from(100);
            book.orders.insert(key.clone(), report("nx-1", "0.01"));
        };
        let mut runs = 0;
        store
            .update_paper(&names, &[], std::slice::from_ref(&key), &mut |book| {
                runs += 1;
                place(book);
            })
            .await
            .unwrap();
        assert_eq!(runs, 1, "a new placement is written on the first run");
        // The same placement again (a retry that did not know it had landed): the store
        // finds the order when it writes, and runs the update again with it read.
        let mut seen = Vec::new();
        store
            .update_paper(&names, &[], std::slice::from_ref(&key), &mut |book| {
                seen.push(book.orders.contains_key(&key));
                place(book);
            })
            .await
            .unwrap();
        assert_eq!(
            seen,
            [false, true],
            "run again over a book holding the order"
        );
        let accounts = store.paper_accounts(&names).await.unwrap();
        assert_eq!(
            accounts["paper-a"].balances[&usdt()],
            Decimal::from(100),
            "the second placement moved nothing"
        );
        let orders = store
            .paper_orders(std::slice::from_ref(&key))
            .await
            .unwrap();
        assert_eq!(orders[&key], report("nx-1", "0.01"));
    }
);

// Migration 0021 moves each account's balances from a row per asset into its own row.
both!(
    balances_stored_a_row_per_asset_move_into_their_account,
    |db: Db| async move {
        db.migrate_to(20).await;
        db.execute(
            "INSERT INTO paper_accounts (account, funded) VALUES ('paper-a', TRUE), ('paper-b', FALSE)",
        )
        .await;
        db.execute(
            "INSERT INTO paper_balances (account, asset, amount)
             VALUES ('paper-a', 'USDT', '9499.745'), ('paper-a', 'BTC', '0.00999')",
        )
        .await;
        // PostgreSQL has had no key from a balance to its account since 0020.
        let orphan = matches!(db, Db::Postgres { .. });
        if orphan {
            db.execute(
                "INSERT INTO paper_balances (account, asset, amount) VALUES ('paper-c', 'USDT', '5')",
            )
            .await;
        }
        let store = db.open(keys()).await;
        let names: Vec<String> = ["paper-a", "paper-b", "paper-c"].map(String::from).to_vec();
        let accounts = store.paper_accounts(&names).await.unwrap();
        let a = &accounts["paper-a"];
        assert!(a.funded);
        assert_eq!(a.balances[&usdt()], "9499.745".parse::<Decimal>().unwrap());
        assert_eq!(
            a.balances[&Asset::new("BTC").unwrap()],
            "0.00999".parse::<Decimal>().unwrap()
        );
        assert_eq!(a.balances.len(), 2);
        assert!(!accounts["paper-b"].funded && accounts["paper-b"].balances.is_empty());
        if orphan {
            // Balances whose account had no row keep them in a row of their own.
            assert_eq!(accounts["paper-c"].balances[&usdt()], Decimal::from(5));
        }
        // The old table takes no more writes: a previous release still running fails
        // its Paper orders rather than move balances nobody reads.
        let refused = db
            .try_execute(
                "UPDATE paper_balances SET amount = '1' WHERE account = 'paper-a' AND asset = 'USDT'",
            )
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("retired"), "{refused}");
        assert_eq!(
            store.paper_accounts(&names[..1]).await.unwrap()["paper-a"].balances[&usdt()],
            "9499.745".parse::<Decimal>().unwrap()
        );
    }
);

// Two instances (stores on one database), ten writers each: on PostgreSQL the writes are
// optimistic, so most of them find their account changed and read it again; a write that
// gives up says so as retryable, and is retried as the venue's jobs are.
both!(
    concurrent_updates_of_one_account_lose_nothing,
    |db: Db| async move {
        let stores: [Arc<dyn PaperLedger>; 2] = [db.open(keys()).await, db.open(keys()).await];
        let names = vec!["paper-shared".to_owned()];
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..20 {
            let (store, names) = (Arc::clone(&stores[n % 2]), names.clone());
            tasks.spawn(async move {
                // Every conflict is another writer's success, so 20 writers need at most
                // 20 rounds: a writer still refused after 100 has stopped making progress.
                for attempt in 1..=100 {
                    let written = store
                        .update_paper(&names, &[], &[], &mut |book: &mut PaperBook| {
                            let a = book.accounts.get_mut("paper-shared").unwrap();
                            *a.balances.entry(usdt()).or_default() += Decimal::ONE;
                        })
                        .await;
                    match written {
                        Ok(()) => return,
                        Err(e) if e.is_retryable() && attempt < 100 => continue,
                        Err(e) => panic!("attempt {attempt}: {e}"),
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let accounts = stores[0].paper_accounts(&names).await.unwrap();
        assert_eq!(
            accounts["paper-shared"].balances[&usdt()],
            Decimal::from(20)
        );
    }
);

// Migration 0022 versions PostgreSQL's Paper accounts: a write that does not raise the
// version (a previous release's, under its advisory locks) could overwrite a change it
// never saw, so it is refused; a versioned write goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_write_that_keeps_its_version_is_refused() {
    crate::on_postgres(
        "an_account_write_that_keeps_its_version_is_refused",
        |db: Db| async move {
            let store = db.open(keys()).await;
            let names = vec!["paper-a".to_owned()];
            store
                .update_paper(&names, &[], &[], &mut |book: &mut PaperBook| {
                    let a = book.accounts.get_mut("paper-a").unwrap();
                    a.funded = true;
                    a.balances.insert(usdt(), Decimal::from(7));
                })
                .await
                .unwrap();
            let refused = db
                .try_execute(
                    "UPDATE paper_accounts SET balances = '{\"USDT\": \"1\"}' WHERE account = 'paper-a'",
                )
                .await
                .unwrap_err();
            assert!(refused.to_string().contains("versioned"), "{refused}");
            db.try_execute("UPDATE paper_accounts SET version = version + 1 WHERE account = 'paper-a'")
                .await
                .unwrap();
            assert_eq!(
                store.paper_accounts(&names).await.unwrap()["paper-a"].balances[&usdt()],
                Decimal::from(7)
            );
        },
    )
    .await;
}

both!(
    out_of_sync_positions_are_recorded_once_per_signal_and_listed_newest_first,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let user = UserId::new(Uuid::from_u128(1));
        store
            .create_user(user, "a@x.io", None, Role::User, t(0))
            .await
            .unwrap();
        store.create_bot(&bot(10, user, false), t(0)).await.unwrap();
        let record = |signal: u128, at: i64| OutOfSyncRecord {
            bot: BotId::new(Uuid::from_u128(10)),
            user,
            signal: SignalId::new(Uuid::from_u128(signal)),
            exchange: ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            expected: "0.0115".parse().unwrap(),
            available: "0.005".parse().unwrap(),
            sold: "0.005".parse().unwrap(),
            at: t(at),
        };
        store
            .record_out_of_sync(&[record(1, 1), record(2, 2)])
            .await
            .unwrap();
        // A replayed fan-out records nothing twice.
        store.record_out_of_sync(&[record(1, 1)]).await.unwrap();
        store.record_out_of_sync(&[]).await.unwrap();
        let page = |before| Page { before, limit: 1 };
        let first = store.out_of_sync(page(None)).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1, record(2, 2));
        let next = store.out_of_sync(page(Some(first[0].0))).await.unwrap();
        assert_eq!(
            next.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            [record(1, 1)]
        );
        assert!(
            store
                .out_of_sync(page(Some(next[0].0)))
                .await
                .unwrap()
                .is_empty()
        );
    }
);
