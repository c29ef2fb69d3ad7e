//! Users, their plans and roles.

use nexus_core::ports::accounts::Role;
use nexus_core::{StoreError, UserId};
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

// A rolling upgrade: a newer release migrated the database; this build still opens it
// (and a newer migration it does not know is no reason to refuse).
both!(
    a_database_a_newer_release_migrated_still_opens,
    |db: Db| async move {
        let store = db.open(keys()).await;
        drop(store);
        db.execute(match db {
        Db::Sqlite(_) => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'a newer release', TRUE, X'00', 1)"
        }
        Db::Postgres { .. } => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'a newer release', TRUE, '\\x00'::bytea, 1)"
        }
    })
    .await;
        let store = db.open(keys()).await;
        store
            .ping()
            .await
            .expect("an older build is ready on a newer schema");
    }
);
