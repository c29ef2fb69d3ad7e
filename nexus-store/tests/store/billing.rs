//! Billing: a subscription's life with the bots it pauses and the jobs it leaves, each
//! event once, and plan limits that hold when creations race on two store handles.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::billing::{BillingJob, Change, Notice, Plans, Snapshot, Stale, SubscriptionStatus};
use nexus_core::ports::accounts::Role;
use nexus_core::ports::billing::{BillingEvent, BillingRules, EventOutcome};
use nexus_core::ports::jobs::JobKind;
use nexus_core::{BotId, ExchangeId, UserId};
use nexus_store::Store;
use uuid::Uuid;

use crate::bots::bot;
use crate::{Db, both, keys, t};

const DAY: i64 = 86_400;

fn plans() -> Plans {
    Plans::parse("free=2/2,pro=25/20,enterprise=unlimited").unwrap()
}

fn rules(plans: &Plans) -> BillingRules<'_> {
    BillingRules {
        plans,
        grace: Duration::from_secs(3 * DAY as u64),
    }
}

fn snapshot(status: SubscriptionStatus) -> Snapshot {
    Snapshot {
        subscription: "sub_1".into(),
        plan: "pro".into(),
        price: Some("price_pro".into()),
        status,
        trial_end: Some(t(7 * DAY)),
        current_period_end: Some(t(37 * DAY)),
        cancel_at_period_end: false,
    }
}

fn event(id: &str, kind: &str, created: i64) -> BillingEvent {
    BillingEvent {
        id: id.into(),
        kind: kind.into(),
        created: t(created),
    }
}

/// The billing jobs due at `at`, taken off the queue.
async fn billing_jobs(store: &Arc<dyn Store>, at: i64) -> Vec<BillingJob> {
    let jobs = store
        .claim(
            &[JobKind::Billing],
            "test",
            Duration::from_secs(60),
            100,
            t(at),
        )
        .await
        .unwrap();
    for job in &jobs {
        store.complete(&[job.id], "test", t(at)).await.unwrap();
    }
    jobs.iter()
        .map(|j| serde_json::from_str(&j.payload).unwrap())
        .collect()
}

async fn user(store: &Arc<dyn Store>, n: u128) -> UserId {
    let id = UserId::new(Uuid::from_u128(n));
    store
        .create_user(id, &format!("u{n}@x.io"), None, Role::User, t(0))
        .await
        .unwrap();
    id
}

both!(
    a_subscription_life_moves_the_plan_pauses_bots_and_leaves_jobs,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let plans = plans();
        let rules = rules(&plans);
        let alice = user(&store, 1).await;
        let customer = store
            .save_billing_customer(alice, "cus_1", t(0))
            .await
            .unwrap();
        assert_eq!(customer.trial_used_at, None);
        let again = store
            .save_billing_customer(alice, "cus_2", t(1))
            .await
            .unwrap();
        assert_eq!(again.customer, "cus_1", "the first customer stays");
        assert_eq!(
            store
                .billing_customer_by_stripe("cus_1")
                .await
                .unwrap()
                .map(|c| c.user),
            Some(alice)
        );
        // Four running bots, created a second apart: on free (2/2) two would pause.
        for n in 0..4u8 {
            let mut b = bot(100 + u128::from(n), alice, false);
            if n == 3 {
                b.symbol = "ETH/USDT".parse().unwrap();
            }
            store.create_bot(&b, t(i64::from(n))).await.unwrap();
        }

        let trial = event("evt_trial", "customer.subscription.created", 10);
        let applied = store
            .apply_billing(
                Some(&trial),
                alice,
                Change::snapshot(snapshot(SubscriptionStatus::Trialing), t(10)),
                None,
                &rules,
                t(11),
            )
            .await
            .unwrap()
            .expect("a new event");
        assert_eq!(
            (applied.plan_before.as_str(), applied.plan_after.as_str()),
            ("free", "pro")
        );
        assert_eq!(
            store.user_plan(alice).await.unwrap().as_deref(),
            Some("pro")
        );
        assert!(
            store
                .billing_customer(alice)
                .await
                .unwrap()
                .unwrap()
                .trial_used_at
                .is_some()
        );
        let redelivered = store
            .apply_billing(
                Some(&trial),
                alice,
                Change::snapshot(snapshot(SubscriptionStatus::Trialing), t(10)),
                None,
                &rules,
                t(12),
            )
            .await
            .unwrap();
        assert_eq!(redelivered, None, "each event once");
        assert_eq!(
            billing_jobs(&store, 12).await,
            vec![BillingJob::Notify {
                user: alice,
                notice: Notice::PlanChanged {
                    from: "free".into(),
                    to: "pro".into()
                }
            }]
        );

        // A payment fails at day 40: past due, the plan kept for three days.
        let failed = event("evt_failed", "invoice.payment_failed", 40 * DAY);
        store
            .apply_billing(
                Some(&failed),
                alice,
                Change::PaymentFailed {
                    subscription: "sub_1".into(),
                    at: t(40 * DAY),
                },
                None,
                &rules,
                t(40 * DAY),
            )
            .await
            .unwrap()
            .unwrap();
        let deadline = t(43 * DAY);
        let (sub, enforced) = store.subscription(alice).await.unwrap().unwrap();
        assert_eq!(
            (sub.status, sub.grace_until, enforced.as_str()),
            (SubscriptionStatus::PastDue, Some(deadline), "pro")
        );
        assert_eq!(
            billing_jobs(&store, 40 * DAY).await,
            vec![BillingJob::Notify {
                user: alice,
                notice: Notice::PaymentFailed {
                    plan: "pro".into(),
                    grace_until: deadline
                }
            }],
            "the grace check waits for its time"
        );
        // An older snapshot changes nothing, and says why.
        let old = event("evt_old", "customer.subscription.updated", 20);
        let stale = store
            .apply_billing(
                Some(&old),
                alice,
                Change::snapshot(snapshot(SubscriptionStatus::Active), t(20)),
                None,
                &rules,
                t(40 * DAY + 1),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stale.stale, Some(Stale::Older));
        assert_eq!(
            store.subscription(alice).await.unwrap().unwrap().0.status,
            SubscriptionStatus::PastDue
        );

        // The grace ends: the check falls to free and pauses the two newest bots.
        let due = billing_jobs(&store, 43 * DAY).await;
        assert_eq!(
            due,
            vec![BillingJob::CheckGrace {
                user: alice,
                at: deadline
            }]
        );
        let ended = store.reconcile_plan(alice, &rules, deadline).await.unwrap();
        assert_eq!(
            (ended.plan_before.as_str(), ended.plan_after.as_str()),
            ("pro", "free")
        );
        let newest_first = vec![
            BotId::new(Uuid::from_u128(103)),
            BotId::new(Uuid::from_u128(102)),
        ];
        assert_eq!(ended.paused, newest_first);
        for id in &newest_first {
            let b = store.bot(*id).await.unwrap().unwrap();
            assert!(b.paused);
            assert_eq!(b.paused_reason.as_deref(), Some("plan_limit"));
        }
        assert_eq!(store.bot_usage(alice).await.unwrap().bots, 2);
        assert_eq!(
            billing_jobs(&store, 43 * DAY).await,
            vec![
                BillingJob::Notify {
                    user: alice,
                    notice: Notice::PlanChanged {
                        from: "pro".into(),
                        to: "free".into()
                    }
                },
                BillingJob::Notify {
                    user: alice,
                    notice: Notice::BotsPaused {
                        plan: "free".into(),
                        bots: vec!["bot 103".into(), "bot 102".into()]
                    }
                },
            ]
        );
        let twice = store.reconcile_plan(alice, &rules, deadline).await.unwrap();
        assert!(
            twice.paused.is_empty() && twice.plan_before == "free",
            "a second check does nothing"
        );

        // Paid again: the plan comes back, the paused bots stay paused.
        let paid = event("evt_paid", "invoice.paid", 44 * DAY);
        let back = store
            .apply_billing(
                Some(&paid),
                alice,
                Change::Paid {
                    subscription: "sub_1".into(),
                    at: t(44 * DAY),
                },
                None,
                &rules,
                t(44 * DAY),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.plan_after, "pro");
        assert_eq!(
            store.user_plan(alice).await.unwrap().as_deref(),
            Some("pro")
        );
        assert!(store.bot(newest_first[0]).await.unwrap().unwrap().paused);

        // The admins' list: newest first, with outcomes, a page at a time.
        store
            .record_billing_event(
                &event("evt_other", "plan.created", 45 * DAY),
                EventOutcome::Ignored,
                None,
                Some("not handled"),
                t(45 * DAY),
            )
            .await
            .unwrap();
        let page = store.billing_events(None, 3).await.unwrap();
        let ids: Vec<&str> = page.iter().map(|e| e.event.id.as_str()).collect();
        assert_eq!(ids, ["evt_other", "evt_paid", "evt_old"]);
        assert_eq!(page[2].outcome, EventOutcome::Stale);
        assert_eq!(
            page[2].detail.as_deref(),
            Some("older than the stored state")
        );
        let last = &page[2];
        let rest = store
            .billing_events(Some((last.received_at, last.event.id.clone())), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = rest.iter().map(|e| e.event.id.as_str()).collect();
        assert_eq!(ids, ["evt_failed", "evt_trial"]);
        assert_eq!(rest[1].user, Some(alice));
        assert_eq!(rest[1].subscription.as_deref(), Some("sub_1"));
    }
);

both!(
    an_invoice_before_its_subscription_fails_and_is_processed_when_it_comes_again,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let plans = plans();
        let rules = rules(&plans);
        let bob = user(&store, 2).await;
        let paid = event("evt_early", "invoice.paid", 100);
        let change = || Change::Paid {
            subscription: "sub_1".into(),
            at: t(100),
        };
        let first = store
            .apply_billing(Some(&paid), bob, change(), None, &rules, t(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.stale, Some(Stale::Unknown));
        let recorded = store.billing_event("evt_early").await.unwrap().unwrap();
        assert_eq!(recorded.outcome, EventOutcome::Failed);
        // A failure never overwrites a success; a failed event is processed again.
        assert!(
            store
                .record_billing_event(&paid, EventOutcome::Failed, Some(bob), Some("boom"), t(101))
                .await
                .unwrap()
        );
        store
            .apply_billing(
                Some(&event("evt_sub", "customer.subscription.created", 90)),
                bob,
                Change::snapshot(snapshot(SubscriptionStatus::PastDue), t(90)),
                None,
                &rules,
                t(102),
            )
            .await
            .unwrap()
            .unwrap();
        let again = store
            .apply_billing(Some(&paid), bob, change(), None, &rules, t(103))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.stale, None);
        assert_eq!(
            store
                .billing_event("evt_early")
                .await
                .unwrap()
                .unwrap()
                .outcome,
            EventOutcome::Applied
        );
        assert!(
            !store
                .record_billing_event(&paid, EventOutcome::Failed, Some(bob), Some("late"), t(104))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .billing_event("evt_early")
                .await
                .unwrap()
                .unwrap()
                .outcome,
            EventOutcome::Applied
        );
    }
);

both!(
    limits_count_running_bots_and_hold_when_creations_race,
    |db: Db| async move {
        let one = db.open(keys()).await;
        let two = db.open(keys()).await;
        let plans = plans();
        let carol = user(&one, 3).await;
        // Twelve creations at once through two handles: exactly two fit the free plan.
        let mut racing = tokio::task::JoinSet::new();
        for n in 0..12u128 {
            let store = if n % 2 == 0 { one.clone() } else { two.clone() };
            let plans = plans.clone();
            racing.spawn(async move {
                store
                    .create_bot_within_plan(&bot(200 + n, carol, false), &plans, t(1))
                    .await
                    .unwrap()
            });
        }
        let mut created = 0;
        while let Some(done) = racing.join_next().await {
            match done.unwrap() {
                Ok(()) => created += 1,
                Err(limit) => assert!(limit.to_string().contains("allows 2 running bots")),
            }
        }
        assert_eq!(created, 2);
        assert_eq!(one.bot_usage(carol).await.unwrap().bots, 2);

        // A paused bot always fits; resuming it does not, until another pauses.
        one.create_bot_within_plan(&bot(300, carol, true), &plans, t(2))
            .await
            .unwrap()
            .unwrap();
        let mut resumed = bot(300, carol, false);
        assert!(
            one.update_bot_within_plan(&resumed, &plans, t(3))
                .await
                .unwrap()
                .is_err()
        );
        let running = one.user_bots(carol, None, 10).await.unwrap();
        let mut renamed = running.iter().find(|b| !b.paused).unwrap().clone();
        renamed.name = "still running".into();
        assert_eq!(
            one.update_bot_within_plan(&renamed, &plans, t(4))
                .await
                .unwrap(),
            Ok(true)
        );
        renamed.paused = true;
        assert_eq!(
            one.update_bot_within_plan(&renamed, &plans, t(5))
                .await
                .unwrap(),
            Ok(true)
        );
        assert_eq!(
            one.update_bot_within_plan(&resumed, &plans, t(6))
                .await
                .unwrap(),
            Ok(true)
        );
        // Moving a running bot onto another pair counts pairs.
        let one_pair = Plans::parse("free=5/1").unwrap();
        resumed.exchange = ExchangeId::Kraken;
        let moved = one
            .update_bot_within_plan(&resumed, &one_pair, t(7))
            .await
            .unwrap();
        assert!(
            moved
                .unwrap_err()
                .to_string()
                .contains("on 1 pairs; this bot would make it 2")
        );
        assert_eq!(
            one.update_bot_within_plan(&resumed, &plans, t(8))
                .await
                .unwrap(),
            Ok(true),
            "a second pair fits"
        );
        let mut stranger = bot(300, UserId::new(Uuid::from_u128(99)), false);
        stranger.name = "not theirs".into();
        assert_eq!(
            one.update_bot_within_plan(&stranger, &plans, t(9))
                .await
                .unwrap(),
            Ok(false)
        );
    }
);
