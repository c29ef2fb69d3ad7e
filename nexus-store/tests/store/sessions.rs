//! Sessions and one-time tokens.

use nexus_core::UserId;
use nexus_core::ports::accounts::Role;
use nexus_core::ports::sessions::{NewSession, SessionId, TokenHash, TokenPurpose};
use uuid::Uuid;

use crate::{Db, both, keys, t};

fn session(n: u8, user: UserId, created: i64, lifetime: i64) -> NewSession {
    NewSession {
        id: SessionId(Uuid::from_u128(u128::from(n))),
        user,
        token: TokenHash([n; 32]),
        created_at: t(created),
        started_at: t(created),
        expires_at: t(created + lifetime),
        user_agent: Some("test".into()),
        ip: Some("127.0.0.1".into()),
    }
}

both!(
    sessions_live_until_they_expire_or_are_revoked,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "alice@example.com", Some("h"), Role::User, t(0))
            .await
            .unwrap();
        store
            .create_session(&session(1, alice, 0, 100))
            .await
            .unwrap();
        let live = store
            .active_session(&TokenHash([1; 32]), t(50))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.user.email, "alice@example.com");
        assert_eq!(live.expires_at, t(100));
        assert!(
            store
                .active_session(&TokenHash([1; 32]), t(100))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );
        assert!(
            store
                .active_session(&TokenHash([9; 32]), t(50))
                .await
                .unwrap()
                .is_none(),
            "unknown"
        );

        assert!(
            store
                .revoke_session(&TokenHash([1; 32]), t(60))
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_session(&TokenHash([1; 32]), t(61))
                .await
                .unwrap()
        );
        assert!(
            store
                .active_session(&TokenHash([1; 32]), t(62))
                .await
                .unwrap()
                .is_none()
        );

        store
            .create_session(&session(2, alice, 0, 100))
            .await
            .unwrap();
        store
            .create_session(&session(3, alice, 0, 100))
            .await
            .unwrap();
        assert_eq!(store.revoke_user_sessions(alice, t(70)).await.unwrap(), 2);
        assert!(
            store
                .active_session(&TokenHash([3; 32]), t(71))
                .await
                .unwrap()
                .is_none()
        );
    }
);

both!(a_session_token_rotates_once, |db: Db| async move {
    let store = db.open(keys()).await;
    let alice = UserId::new(Uuid::from_u128(1));
    let mallory = UserId::new(Uuid::from_u128(2));
    store
        .create_user(alice, "alice@example.com", None, Role::User, t(0))
        .await
        .unwrap();
    store
        .create_user(mallory, "mallory@example.com", None, Role::User, t(0))
        .await
        .unwrap();
    store
        .create_session(&session(1, alice, 0, 100))
        .await
        .unwrap();
    // A session cannot be rotated into someone else's.
    assert!(
        !store
            .rotate_session(&TokenHash([1; 32]), &session(4, mallory, 10, 100), t(10))
            .await
            .unwrap()
    );
    assert!(
        store
            .rotate_session(&TokenHash([1; 32]), &session(2, alice, 10, 100), t(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .rotate_session(&TokenHash([1; 32]), &session(3, alice, 11, 100), t(11))
            .await
            .unwrap(),
        "once"
    );
    assert!(
        store
            .active_session(&TokenHash([1; 32]), t(12))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .active_session(&TokenHash([2; 32]), t(12))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .active_session(&TokenHash([3; 32]), t(12))
            .await
            .unwrap()
            .is_none()
    );
});

both!(
    one_time_tokens_work_once_for_their_purpose,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "alice@example.com", Some("old"), Role::User, t(0))
            .await
            .unwrap();
        let verify = TokenHash([5; 32]);
        store
            .create_token(&verify, alice, TokenPurpose::VerifyEmail, t(0), t(100))
            .await
            .unwrap();
        assert!(
            store
                .consume_token(&verify, TokenPurpose::ResetPassword, t(1))
                .await
                .unwrap()
                .is_none(),
            "wrong purpose"
        );
        assert_eq!(
            store
                .consume_token(&verify, TokenPurpose::VerifyEmail, t(1))
                .await
                .unwrap(),
            Some(alice)
        );
        assert!(
            store
                .consume_token(&verify, TokenPurpose::VerifyEmail, t(2))
                .await
                .unwrap()
                .is_none(),
            "used"
        );
        let late = TokenHash([6; 32]);
        store
            .create_token(&late, alice, TokenPurpose::ResetPassword, t(0), t(100))
            .await
            .unwrap();
        assert!(
            store
                .consume_token(&late, TokenPurpose::ResetPassword, t(100))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );

        store.mark_email_verified(alice, t(5)).await.unwrap();
        store.mark_email_verified(alice, t(9)).await.unwrap();
        assert_eq!(
            store.user(alice).await.unwrap().unwrap().email_verified_at,
            Some(t(5)),
            "the first time stays"
        );
        store.set_password(alice, "new", t(10)).await.unwrap();
        let (_, hash) = store
            .user_by_email("ALICE@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hash.as_deref(), Some("new"));
    }
);

both!(
    using_a_token_kills_the_users_other_tokens_of_its_kind,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        let bob = UserId::new(Uuid::from_u128(2));
        for (user, email) in [(alice, "alice@example.com"), (bob, "bob@example.com")] {
            store
                .create_user(user, email, Some("h"), Role::User, t(0))
                .await
                .unwrap();
        }
        let token = |n: u8| TokenHash([n; 32]);
        let reset = TokenPurpose::ResetPassword;
        for (n, user, purpose) in [
            (1, alice, reset),
            (2, alice, reset),
            (3, alice, TokenPurpose::VerifyEmail),
            (4, bob, reset),
        ] {
            store
                .create_token(&token(n), user, purpose, t(0), t(100))
                .await
                .unwrap();
        }
        assert_eq!(
            store.token_user(&token(1), reset, t(1)).await.unwrap(),
            Some(alice),
            "looking does not use it"
        );
        assert_eq!(
            store
                .token_user(&token(1), TokenPurpose::VerifyEmail, t(1))
                .await
                .unwrap(),
            None,
            "wrong purpose"
        );
        assert_eq!(
            store.token_user(&token(1), reset, t(100)).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            store.consume_token(&token(2), reset, t(2)).await.unwrap(),
            Some(alice)
        );
        assert_eq!(
            store.token_user(&token(1), reset, t(3)).await.unwrap(),
            None,
            "the older reset link died with the one used"
        );
        assert_eq!(
            store.consume_token(&token(1), reset, t(3)).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .consume_token(&token(3), TokenPurpose::VerifyEmail, t(3))
                .await
                .unwrap(),
            Some(alice),
            "another purpose lives on"
        );
        assert_eq!(
            store.consume_token(&token(4), reset, t(3)).await.unwrap(),
            Some(bob),
            "another user's lives on"
        );
    }
);

both!(
    a_session_keeps_when_its_sign_in_started,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "alice@example.com", Some("h"), Role::User, t(0))
            .await
            .unwrap();
        store
            .create_session(&session(1, alice, 0, 100))
            .await
            .unwrap();
        let mut next = session(2, alice, 50, 100);
        next.started_at = t(0);
        assert!(
            store
                .rotate_session(&TokenHash([1; 32]), &next, t(50))
                .await
                .unwrap()
        );
        let live = store
            .active_session(&TokenHash([2; 32]), t(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((live.started_at, live.expires_at), (t(0), t(150)));
    }
);

both!(
    cleanup_forgets_dead_sessions_and_tokens,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let alice = UserId::new(Uuid::from_u128(1));
        store
            .create_user(alice, "alice@example.com", None, Role::User, t(0))
            .await
            .unwrap();
        let day = 86_400;
        store
            .create_session(&session(1, alice, 0, day))
            .await
            .unwrap(); // expired by day 10
        store
            .create_session(&session(2, alice, 0, 30 * day))
            .await
            .unwrap(); // revoked on day 1
        store
            .revoke_session(&TokenHash([2; 32]), t(day))
            .await
            .unwrap();
        store
            .create_session(&session(3, alice, 9 * day, 7 * day))
            .await
            .unwrap(); // live
        let token = |n: u8| TokenHash([n; 32]);
        store
            .create_token(&token(7), alice, TokenPurpose::VerifyEmail, t(0), t(day))
            .await
            .unwrap();
        store
            .create_token(
                &token(8),
                alice,
                TokenPurpose::ResetPassword,
                t(0),
                t(20 * day),
            )
            .await
            .unwrap();
        store
            .consume_token(&token(8), TokenPurpose::ResetPassword, t(day))
            .await
            .unwrap();
        store
            .create_token(
                &token(9),
                alice,
                TokenPurpose::VerifyEmail,
                t(9 * day),
                t(11 * day),
            )
            .await
            .unwrap();

        let report = store
            .cleanup(t(10 * day), nexus_store::Retention::default())
            .await
            .unwrap();
        assert_eq!(report.auth, 4, "{report:?}");
        assert!(
            store
                .active_session(&TokenHash([3; 32]), t(10 * day))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store
                .consume_token(&token(9), TokenPurpose::VerifyEmail, t(10 * day))
                .await
                .unwrap(),
            Some(alice),
            "the live token survives"
        );
    }
);

both!(
    a_user_lists_their_live_sessions_and_signs_out_the_others,
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
        store
            .create_session(&session(1, alice, 0, 100))
            .await
            .unwrap();
        store
            .create_session(&session(2, alice, 10, 100))
            .await
            .unwrap();
        store
            .create_session(&session(3, alice, 20, 100))
            .await
            .unwrap();
        store
            .create_session(&session(4, alice, 0, 5))
            .await
            .unwrap();
        store
            .create_session(&session(5, bob, 0, 100))
            .await
            .unwrap();
        store
            .revoke_session(&TokenHash([3; 32]), t(25))
            .await
            .unwrap();

        let live = store.user_sessions(alice, t(30), 10).await.unwrap();
        let ids: Vec<SessionId> = live.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            vec![SessionId(Uuid::from_u128(2)), SessionId(Uuid::from_u128(1))],
            "newest first; neither revoked, expired nor another user's"
        );
        assert_eq!(live[0].issued_at, t(10));
        assert_eq!(live[0].expires_at, t(110));
        assert_eq!(live[0].user_agent.as_deref(), Some("test"));
        assert_eq!(live[0].ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(store.user_sessions(alice, t(30), 1).await.unwrap().len(), 1);

        assert_eq!(
            store
                .revoke_other_sessions(alice, SessionId(Uuid::from_u128(2)), t(40))
                .await
                .unwrap(),
            1,
            "only the other live one (not the expired one)"
        );
        let live = store.user_sessions(alice, t(41), 10).await.unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].id, SessionId(Uuid::from_u128(2)));
        assert!(
            store
                .active_session(&TokenHash([5; 32]), t(41))
                .await
                .unwrap()
                .is_some(),
            "another user's session is untouched"
        );
    }
);
