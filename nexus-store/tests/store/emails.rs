//! The email log: queued with its job in one transaction, through each state, delivery
//! reports that suppress an address, and the admins' filters.

use std::time::Duration;

use nexus_core::ports::emails::{
    DeliveryReport, EmailAttempt, EmailFilter, EmailState, QueuedEmail,
};
use nexus_core::ports::jobs::JobKind;

use crate::{Db, both, keys, t};

fn queued<'a>(to: &'a str, json: &'a str) -> QueuedEmail<'a> {
    QueuedEmail {
        to,
        template: "verification",
        subject: "Confirm your Nexus email address",
        email_json: json,
        max_attempts: 1,
    }
}

both!(
    an_email_is_logged_with_its_job_and_moves_through_its_states,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let json =
            r#"{"template":"verification","to":"Ann@X.io","subject":"s","text":"t","html":"h"}"#;
        let id = store
            .queue_email(&queued("Ann@X.io", json), t(1))
            .await
            .unwrap();
        let jobs = store
            .claim(&[JobKind::Email], "w", Duration::from_secs(60), 10, t(1))
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);
        let payload: serde_json::Value = serde_json::from_str(&jobs[0].payload).unwrap();
        assert_eq!(payload["log"], id);
        assert_eq!(payload["email"]["to"], "Ann@X.io");
        assert_eq!(jobs[0].max_attempts, 1);
        let logged = store.email(id).await.unwrap().unwrap();
        assert_eq!((logged.state, logged.attempts), (EmailState::Queued, 0));

        store
            .record_attempt(id, &EmailAttempt::Retrying("HTTP 500".into()), t(2))
            .await
            .unwrap();
        store
            .record_attempt(id, &EmailAttempt::Sent(Some("re_1".into())), t(3))
            .await
            .unwrap();
        let sent = store.email(id).await.unwrap().unwrap();
        assert_eq!(
            (sent.state, sent.attempts, sent.provider_id.as_deref()),
            (EmailState::Sent, 2, Some("re_1"))
        );
        assert_eq!(
            (sent.sent_at, sent.last_error.as_deref()),
            (Some(t(3)), Some("HTTP 500"))
        );

        let delivered = store
            .record_delivery("re_1", DeliveryReport::Delivered, None, t(4))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (delivered.state, delivered.delivered_at),
            (EmailState::Sent, Some(t(4)))
        );
        assert_eq!(store.suppression("ann@x.io").await.unwrap(), None);
        assert!(
            store
                .record_delivery("re_unknown", DeliveryReport::Delivered, None, t(4))
                .await
                .unwrap()
                .is_none()
        );
        // A soft bounce is logged; a hard one suppresses the address (any case).
        store
            .record_delivery(
                "re_1",
                DeliveryReport::Bounced { permanent: false },
                Some("mailbox full"),
                t(5),
            )
            .await
            .unwrap();
        assert_eq!(store.suppression("ann@x.io").await.unwrap(), None);
        let bounced = store
            .record_delivery(
                "re_1",
                DeliveryReport::Bounced { permanent: true },
                Some("no such user"),
                t(6),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (bounced.state, bounced.last_error.as_deref()),
            (EmailState::Bounced, Some("no such user"))
        );
        assert_eq!(
            store.suppression("ANN@x.io").await.unwrap().as_deref(),
            Some("bounced")
        );

        let other = store
            .queue_email(&queued("bob@x.io", json), t(7))
            .await
            .unwrap();
        store
            .record_attempt(
                other,
                &EmailAttempt::Suppressed("not in NEXUS_EMAIL_ALLOW".into()),
                t(7),
            )
            .await
            .unwrap();
        let suppressed = store.email(other).await.unwrap().unwrap();
        assert_eq!(
            (suppressed.state, suppressed.attempts),
            (EmailState::Suppressed, 0)
        );
        let third = store
            .queue_email(&queued("bob@x.io", json), t(8))
            .await
            .unwrap();
        store
            .record_attempt(
                third,
                &EmailAttempt::Failed("422: invalid from".into()),
                t(8),
            )
            .await
            .unwrap();
        store
            .record_attempt(third, &EmailAttempt::Sent(Some("re_3".into())), t(9))
            .await
            .unwrap();
        store
            .record_delivery("re_3", DeliveryReport::Complained, None, t(10))
            .await
            .unwrap();
        assert_eq!(
            store.suppression("bob@x.io").await.unwrap().as_deref(),
            Some("complained")
        );

        // The admins' view: newest first, by state and recipient, a page at a time.
        let all = store.emails(&EmailFilter::default(), 10).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![third, other, id]
        );
        let bobs = store
            .emails(
                &EmailFilter {
                    to: Some("BOB@x.io".into()),
                    ..EmailFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(bobs.len(), 2);
        let by_state = store
            .emails(
                &EmailFilter {
                    state: Some(EmailState::Suppressed),
                    ..EmailFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(
            by_state.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![other]
        );
        let page = store
            .emails(
                &EmailFilter {
                    before: Some(other),
                    ..EmailFilter::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
    }
);

both!(
    the_provider_s_own_failure_and_suppression_mark_the_row,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let json =
            r#"{"template":"trade_alert","to":"cid@x.io","subject":"s","text":"t","html":"h"}"#;
        let id = store
            .queue_email(&queued("cid@x.io", json), t(1))
            .await
            .unwrap();
        store
            .record_attempt(id, &EmailAttempt::Sent(Some("re_9".into())), t(1))
            .await
            .unwrap();
        let failed = store
            .record_delivery(
                "re_9",
                DeliveryReport::Failed,
                Some("rejected by the recipient's server"),
                t(2),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (failed.state, failed.last_error.as_deref()),
            (
                EmailState::Failed,
                Some("rejected by the recipient's server")
            )
        );
        store
            .record_delivery("re_9", DeliveryReport::Suppressed, None, t(3))
            .await
            .unwrap();
        assert_eq!(
            store.email(id).await.unwrap().unwrap().state,
            EmailState::Suppressed
        );
        assert_eq!(
            store.suppression("cid@x.io").await.unwrap(),
            None,
            "Resend keeps its own list; Nexus' is for bounces and complaints"
        );
    }
);
