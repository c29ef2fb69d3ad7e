//! A subscription's documented life (the events of `nexus-server/test_data/stripe`),
//! delivered in order, out of order, twice, and retried the way Stripe retries.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

const T0: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
const TRIAL_END: i64 = T0 + 7 * DAY;
const RENEWAL: i64 = 1_770_508_800;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("a time")
}

fn grace() -> Duration {
    Duration::from_secs(3 * 86_400)
}

fn snapshot(status: SubscriptionStatus, at: i64) -> Change {
    Change::snapshot(
        Snapshot {
            subscription: "sub_1".to_owned(),
            plan: "pro".to_owned(),
            price: Some("price_pro".to_owned()),
            status,
            trial_end: Some(t(TRIAL_END)),
            current_period_end: Some(t(RENEWAL)),
            cancel_at_period_end: false,
        },
        t(at),
    )
}

fn paid(at: i64) -> Change {
    Change::Paid {
        subscription: "sub_1".to_owned(),
        at: t(at),
    }
}

fn failed(at: i64) -> Change {
    Change::PaymentFailed {
        subscription: "sub_1".to_owned(),
        at: t(at),
    }
}

/// evt_02 … evt_10 of the stored life, with their `created`.
fn life() -> Vec<Change> {
    use SubscriptionStatus::*;
    vec![
        snapshot(Trialing, T0 + 1),
        snapshot(Trialing, T0 + 4 * DAY),
        paid(TRIAL_END + 60),
        snapshot(Active, TRIAL_END + 5),
        failed(RENEWAL + 3600),
        snapshot(PastDue, RENEWAL + 3605),
        paid(RENEWAL + 4 * DAY),
        snapshot(Active, RENEWAL + 4 * DAY + 5),
        snapshot(Canceled, RENEWAL + 20 * DAY),
    ]
}

/// Delivers `events` like Stripe: an event about a subscription not stored yet fails
/// and comes again after the others; stale ones are answered and dropped.
fn deliver(events: Vec<Change>) -> Option<Subscription> {
    let mut queue: std::collections::VecDeque<Change> = events.into();
    let mut stored: Option<Subscription> = None;
    let mut retries = 0;
    while let Some(change) = queue.pop_front() {
        match apply(stored.as_ref(), change.clone(), grace()) {
            Ok(next) => stored = Some(next),
            Err(Stale::Unknown) if retries < 1000 => {
                retries += 1;
                queue.push_back(change);
            }
            Err(_) => {}
        }
    }
    stored
}

#[test]
fn the_documented_life_in_order() {
    use SubscriptionStatus::*;
    let pro = || Some("pro".to_owned());
    let mut stored: Option<Subscription> = None;
    let mut seen = Vec::new();
    for change in life() {
        let next = apply(stored.as_ref(), change, grace());
        if let Ok(next) = next {
            stored = Some(next);
        }
        let sub = stored.as_ref().expect("stored");
        let at = sub.stamp.expect("stamped");
        seen.push((sub.status, entitlement(Some(sub), at).map(str::to_owned)));
    }
    assert_eq!(
        seen,
        vec![
            (Trialing, pro()),
            (Trialing, pro()),
            (Active, pro()),
            // Older than the payment: stale, nothing changes.
            (Active, pro()),
            (PastDue, pro()),
            (PastDue, pro()),
            (Active, pro()),
            (Active, pro()),
            (Canceled, None),
        ]
    );
}

#[test]
fn an_older_snapshot_never_overwrites_a_newer_one() {
    use SubscriptionStatus::*;
    let active = apply(None, snapshot(Active, 100), grace()).unwrap();
    assert_eq!(
        apply(Some(&active), snapshot(Trialing, 99), grace()),
        Err(Stale::Older)
    );
    // The same second: arrival order.
    let same_second = apply(Some(&active), snapshot(PastDue, 100), grace()).unwrap();
    assert_eq!(same_second.status, PastDue);
    let ended = apply(Some(&active), snapshot(Canceled, 200), grace()).unwrap();
    assert_eq!(
        apply(Some(&ended), snapshot(Active, 300), grace()),
        Err(Stale::Ended)
    );
    assert_eq!(apply(Some(&ended), paid(300), grace()), Err(Stale::Ended));
    // A sync believes Stripe's API over anything stored.
    let Change::Snapshot { snapshot: s, .. } = snapshot(Active, 50) else {
        unreachable!()
    };
    let synced = apply(Some(&ended), Change::sync(s, t(50)), grace()).unwrap();
    assert_eq!(synced.status, Active);
}

#[test]
fn the_grace_runs_from_the_first_failure_and_is_not_extended() {
    use SubscriptionStatus::*;
    let active = apply(None, snapshot(Active, 100), grace()).unwrap();
    let failed_once = apply(Some(&active), failed(1_000), grace()).unwrap();
    assert_eq!(failed_once.status, PastDue);
    let deadline = t(1_000 + 3 * DAY);
    assert_eq!(failed_once.grace_until, Some(deadline));
    assert_eq!(starts_failure(Some(&active), &failed_once), Some(deadline));
    let again = apply(Some(&failed_once), failed(5_000), grace()).unwrap();
    assert_eq!(
        again.grace_until,
        Some(deadline),
        "a retry does not extend it"
    );
    assert_eq!(starts_failure(Some(&failed_once), &again), None);
    let snap = apply(Some(&again), snapshot(PastDue, 5_005), grace()).unwrap();
    assert_eq!(snap.grace_until, Some(deadline));
    let just_before = deadline - chrono::Duration::seconds(1);
    assert_eq!(entitlement(Some(&snap), just_before), Some("pro"));
    assert_eq!(
        entitlement(Some(&snap), deadline),
        None,
        "the grace has ended"
    );
    let recovered = apply(Some(&snap), paid(6_000), grace()).unwrap();
    assert_eq!((recovered.status, recovered.grace_until), (Active, None));
    assert_eq!(entitlement(Some(&recovered), t(10 * DAY)), Some("pro"));
}

#[test]
fn a_failure_seen_after_its_past_due_snapshot_moves_the_grace_back() {
    use SubscriptionStatus::*;
    let active = apply(None, snapshot(Active, 100), grace()).unwrap();
    let past_due = apply(Some(&active), snapshot(PastDue, 1_005), grace()).unwrap();
    assert_eq!(past_due.grace_until, Some(t(1_005 + 3 * DAY)));
    let moved = apply(Some(&past_due), failed(1_000), grace()).unwrap();
    assert_eq!(moved.grace_until, Some(t(1_000 + 3 * DAY)));
    assert_eq!(
        moved.stamp, past_due.stamp,
        "the status came from the snapshot"
    );
    assert_eq!(
        apply(Some(&moved), failed(1_000), grace()),
        Err(Stale::Older)
    );
}

#[test]
fn statuses_that_give_nothing_and_other_subscriptions() {
    use SubscriptionStatus::*;
    for status in [Canceled, Unpaid, Incomplete, IncompleteExpired, Paused] {
        let sub = apply(None, snapshot(status, 100), grace()).unwrap();
        assert_eq!(entitlement(Some(&sub), t(101)), None, "{status}");
    }
    assert_eq!(entitlement(None, t(0)), None);
    let admin = Subscription::admin("enterprise");
    assert_eq!(entitlement(Some(&admin), t(0)), Some("enterprise"));
    // An operator's grant replaces a Stripe subscription, and the next event of that
    // subscription replaces the grant.
    let paying = apply(None, snapshot(Active, 100), grace()).unwrap();
    let granted = Change::Grant {
        plan: "enterprise".to_owned(),
        at: t(150),
    };
    assert_eq!(granted.subscription(), None);
    let granted = apply(Some(&paying), granted, grace()).unwrap();
    assert_eq!(entitlement(Some(&granted), t(151)), Some("enterprise"));
    assert_eq!(granted.stripe_subscription, None);
    let back = apply(Some(&granted), snapshot(Canceled, 200), grace()).unwrap();
    assert_eq!(entitlement(Some(&back), t(201)), None);
    // An invoice of a subscription not stored waits for its snapshot.
    assert_eq!(apply(None, paid(5), grace()), Err(Stale::Unknown));
    let current = apply(None, snapshot(Active, 100), grace()).unwrap();
    let Change::Snapshot {
        snapshot: mut old, ..
    } = snapshot(Canceled, 200)
    else {
        unreachable!()
    };
    old.subscription = "sub_old".to_owned();
    assert_eq!(
        apply(Some(&current), Change::snapshot(old, t(200)), grace()),
        Err(Stale::OtherSubscription),
        "an old subscription's end does not end the current one"
    );
    for status in SubscriptionStatus::ALL {
        assert_eq!(status.as_str().parse(), Ok(status));
    }
    assert!("resting".parse::<SubscriptionStatus>().is_err());
}

#[test]
fn invoice_events_meet_the_subscription_they_are_about() {
    use SubscriptionStatus::*;
    // A payment stamped in the same second as the snapshot (Stripe's `created` counts
    // seconds) is not older than it: it ends the failed streak.
    let past_due = apply(None, snapshot(PastDue, 1_000), grace()).unwrap();
    let recovered = apply(Some(&past_due), paid(1_000), grace()).unwrap();
    assert_eq!((recovered.status, recovered.grace_until), (Active, None));
    assert_eq!(
        apply(Some(&recovered), paid(999), grace()),
        Err(Stale::Older)
    );
    // The $0 invoice that starts a trial leaves it a trial; an invoice paid on a paused
    // or incomplete subscription leaves its status to the snapshot that follows.
    let trial = apply(None, snapshot(Trialing, T0 + 1), grace()).unwrap();
    let still = apply(Some(&trial), paid(T0 + 2), grace()).unwrap();
    assert_eq!(still.status, Trialing);
    assert_eq!(
        apply(Some(&trial), paid(TRIAL_END), grace())
            .unwrap()
            .status,
        Active,
        "the trial's last second is over"
    );
    for status in [Paused, Incomplete] {
        let sub = apply(None, snapshot(status, 100), grace()).unwrap();
        assert_eq!(
            apply(Some(&sub), paid(200), grace()).unwrap().status,
            status
        );
    }
    // Ended, another subscription, or none of Stripe's at all.
    let canceled = apply(None, snapshot(Canceled, 100), grace()).unwrap();
    for change in [paid(200), failed(200)] {
        assert_eq!(
            apply(Some(&canceled), change.clone(), grace()),
            Err(Stale::Ended)
        );
    }
    let other = Change::Paid {
        subscription: "sub_2".to_owned(),
        at: t(200),
    };
    assert_eq!(
        apply(Some(&canceled), other.clone(), grace()),
        Err(Stale::OtherSubscription),
        "an invoice of sub_2 is not about the ended sub_1"
    );
    let active = apply(None, snapshot(Active, 100), grace()).unwrap();
    assert_eq!(
        apply(Some(&active), other.clone(), grace()),
        Err(Stale::OtherSubscription)
    );
    let granted = apply(
        None,
        Change::Grant {
            plan: "enterprise".to_owned(),
            at: t(150),
        },
        grace(),
    )
    .unwrap();
    assert_eq!(
        granted.stamp,
        Some(t(150)),
        "a grant is stamped with its time"
    );
    assert_eq!(
        apply(Some(&granted), other, grace()),
        Err(Stale::Unknown),
        "its own snapshot will follow"
    );
    assert_eq!(PastDue.to_string(), "past_due");
    assert_eq!(IncompleteExpired.to_string(), "incomplete_expired");
}

proptest! {
    /// Whatever order Stripe delivers the life in, with any event twice, the stored state
    /// ends where the ordered delivery ends.
    #[test]
    fn any_order_and_any_repeat_end_in_the_same_state(
        order in Just((0..9).collect::<Vec<usize>>()).prop_shuffle(),
        repeats in proptest::collection::vec(0usize..9, 0..5),
        upto in 1usize..=9,
    ) {
        let events = life();
        let take = |i: &usize| (*i < upto).then(|| events[*i].clone());
        let shuffled: Vec<Change> = order.iter().chain(&repeats).filter_map(take).collect();
        let ordered: Vec<Change> = (0..upto).filter_map(|i| take(&i)).collect();
        let view = |s: Option<Subscription>| s.map(|s| (s.status, s.plan, s.grace_until, s.stamp));
        prop_assert_eq!(view(deliver(shuffled)), view(deliver(ordered)));
    }
}
