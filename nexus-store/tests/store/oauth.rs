//! Provider identities and pending provider sign-ins.

use nexus_core::ports::accounts::Role;
use nexus_core::ports::oauth::PendingLogin;
use nexus_core::ports::sessions::TokenHash;
use nexus_core::{Secret, UserId};
use uuid::Uuid;

use crate::{Db, both, keys, t};

fn pending(created: i64) -> PendingLogin {
    PendingLogin {
        provider: "google".into(),
        code_verifier: Secret::new("v".repeat(43)),
        nonce: format!("nonce-{created}"),
        created_at: t(created),
        expires_at: t(created + 600),
    }
}

both!(
    oauth_identities_link_once_to_one_account,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        let bob = UserId::new(Uuid::from_u128(2));
        for (id, email) in [(alice, "alice@example.com"), (bob, "bob@example.com")] {
            store
                .create_user(id, email, None, Role::User, t(0))
                .await
                .unwrap();
        }
        assert_eq!(store.identity_user("google", "123").await.unwrap(), None);
        let linked = store
            .link_identity("google", "123", alice, "alice@example.com", t(1))
            .await
            .unwrap();
        assert_eq!(linked, alice);
        assert_eq!(
            store.identity_user("google", "123").await.unwrap(),
            Some(alice)
        );
        // Linked once: a second link (a racing first sign-in) gets the first account.
        let again = store
            .link_identity("google", "123", bob, "bob@example.com", t(2))
            .await
            .unwrap();
        assert_eq!(again, alice);
        assert_eq!(
            store.identity_user("google", "123").await.unwrap(),
            Some(alice)
        );
        // Subjects are per provider.
        assert_eq!(store.identity_user("other", "123").await.unwrap(), None);
        assert_eq!(store.identity_user("google", "1234").await.unwrap(), None);
        store
            .link_identity("google", "456", bob, "bob@example.com", t(3))
            .await
            .unwrap();
        assert_eq!(
            store.identity_user("google", "456").await.unwrap(),
            Some(bob)
        );
    }
);

both!(
    pending_oauth_logins_work_once_until_they_expire,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let state = TokenHash([7; 32]);
        store.save_pending_login(&state, &pending(0)).await.unwrap();
        let taken = store
            .take_pending_login(&state, t(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken, pending(0));
        assert_eq!(taken.code_verifier.expose(), "v".repeat(43));
        assert!(
            store
                .take_pending_login(&state, t(11))
                .await
                .unwrap()
                .is_none(),
            "used once"
        );
        assert!(
            store
                .take_pending_login(&TokenHash([8; 32]), t(11))
                .await
                .unwrap()
                .is_none(),
            "unknown"
        );

        store
            .save_pending_login(&TokenHash([1; 32]), &pending(0))
            .await
            .unwrap();
        assert!(
            store
                .take_pending_login(&TokenHash([1; 32]), t(600))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );
        assert!(
            store
                .take_pending_login(&TokenHash([1; 32]), t(1))
                .await
                .unwrap()
                .is_none(),
            "an expired one is gone too"
        );

        // Saving forgets the pending sign-ins that expired meanwhile.
        store
            .save_pending_login(&TokenHash([2; 32]), &pending(0))
            .await
            .unwrap();
        store
            .save_pending_login(&TokenHash([3; 32]), &pending(700))
            .await
            .unwrap();
        assert!(
            store
                .take_pending_login(&TokenHash([2; 32]), t(1))
                .await
                .unwrap()
                .is_none(),
            "cleaned up"
        );
        assert!(
            store
                .take_pending_login(&TokenHash([3; 32]), t(701))
                .await
                .unwrap()
                .is_some()
        );
    }
);
