//! Messages between instances: PostgreSQL's `NOTIFY` / `LISTEN` (SQLite has no channel).

use std::time::Duration;

use nexus_store::notify::{MAX_PAYLOAD_BYTES, NotifyError};

use crate::{Db, keys, on_postgres};

#[tokio::test]
async fn messages_reach_every_listener_in_order_within_their_schema() {
    on_postgres("notifications", |db: Db| async move {
        let Db::Postgres { url, .. } = &db else {
            unreachable!()
        };
        let (sender, receiver) = (db.open(keys()).await, db.open(keys()).await);
        let other_schema = Db::Postgres {
            url: url.clone(),
            schema: format!("t_{}", uuid::Uuid::new_v4().simple()),
        };
        let stranger = other_schema.open(keys()).await;
        let (to, from, elsewhere) = (
            sender.notifications().expect("PostgreSQL has a channel"),
            receiver.notifications().unwrap(),
            stranger.notifications().unwrap(),
        );
        let mut listener = from.listen("events").await.unwrap();
        let mut mine = to.listen("events").await.unwrap();
        let mut deaf = elsewhere.listen("events").await.unwrap();

        let sent: Vec<String> = (0..50).map(|n| format!("message {n}")).collect();
        to.notify("events", &sent[..25]).await.unwrap();
        to.notify("events", &sent[25..]).await.unwrap();
        for listening in [&mut listener, &mut mine] {
            let mut got = Vec::new();
            while got.len() < sent.len() {
                let next = tokio::time::timeout(Duration::from_secs(10), listening.next())
                    .await
                    .expect("the messages arrive")
                    .unwrap()
                    .expect("the connection holds");
                got.push(next);
            }
            assert_eq!(got, sent, "every listener, the sender's own too, in order");
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(300), deaf.next())
                .await
                .is_err(),
            "another schema's store hears nothing"
        );

        // Too large for PostgreSQL: refused whole, nothing sent.
        let big = vec!["small".to_owned(), "x".repeat(MAX_PAYLOAD_BYTES + 1)];
        assert!(matches!(
            to.notify("events", &big).await,
            Err(NotifyError::TooLarge { bytes }) if bytes == MAX_PAYLOAD_BYTES + 1
        ));
        assert!(
            tokio::time::timeout(Duration::from_millis(300), listener.next())
                .await
                .is_err(),
            "not even the small one"
        );
        drop((listener, mine, deaf));
        other_schema.drop_schema().await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_has_no_channel() {
    crate::on_sqlite(|db: Db| async move {
        assert!(db.open(keys()).await.notifications().is_none());
    })
    .await;
}
