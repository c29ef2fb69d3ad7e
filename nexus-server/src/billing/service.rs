//! Billing as the API and the CLI use it: Checkout and the billing portal for a user,
//! their invoices, Stripe's webhook events applied to the store, and the repair of
//! missed events (`nexus billing sync`).

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use nexus_core::billing::{Change, Notice, Plans, Snapshot, SubscriptionStatus, entitlement};
use nexus_core::ports::accounts::UserRecord;
use nexus_core::ports::billing::{BillingApplied, BillingEvent, BillingRules, EventOutcome};
use nexus_core::{StoreError, Timestamp, UserId};
use nexus_store::Store;

use super::settings::{BillingSettings, TRIAL_PLAN};
use super::stripe::{
    CheckoutRequest, StripeClient, StripeError, StripeInvoice, StripeSubscription,
};
use super::webhook::{self, Event, EventError, EventObject, SignatureError};

/// Why a billing request failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Not a paid plan with a Stripe price.
    #[error("plan: {0:?} has no price; paid plans are {1}")]
    UnknownPlan(String, String),
    /// The user already has the plan.
    #[error("you already have the {0} plan")]
    AlreadySubscribed(String),
    /// The user has another subscription running: plans change in the portal, so nobody
    /// pays twice.
    #[error(
        "you have a {0} subscription; change plans in the billing portal (POST /api/v1/billing/portal)"
    )]
    SubscriptionExists(String),
    /// Stripe failed.
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a webhook delivery was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The signature is missing, malformed, stale or wrong: nothing changed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not a Stripe event.
    #[error(transparent)]
    Event(#[from] EventError),
    /// An invoice of a subscription not stored yet: Stripe delivers it again later.
    #[error("event {0}: its subscription is not stored yet; Stripe will deliver it again")]
    NotYet(String),
    /// Processing failed (recorded as failed; Stripe delivers it again).
    #[error("event {id}: {source}")]
    Failed {
        /// The event.
        id: String,
        /// Why.
        #[source]
        source: BillingError,
    },
}

/// What became of a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Processed for the first time, with this outcome.
    Processed(EventOutcome),
    /// Processed before: nothing done.
    Duplicate,
}

/// One subscription a sync changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncChange {
    /// The user.
    pub user: UserId,
    /// Status before (`none`) → after.
    pub status: (String, String),
    /// What the store did.
    pub applied: BillingApplied,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Customers read from Stripe.
    pub customers: u64,
    /// Subscriptions whose stored state changed.
    pub changed: Vec<SyncChange>,
}

/// Billing through Stripe.
pub struct Billing {
    settings: BillingSettings,
    stripe: StripeClient,
    store: Arc<dyn Store>,
    plans: Plans,
    public_url: String,
    events: Option<Arc<crate::events::Events>>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A Stripe time (Unix seconds).
fn time(secs: i64) -> Option<Timestamp> {
    Utc.timestamp_opt(secs, 0).single()
}

impl Billing {
    /// Billing with `settings` over `store`; links in Checkout lead back to `public_url`.
    ///
    /// # Errors
    /// [`StripeError`] when the client cannot be built (a bad API base).
    pub fn new(
        settings: BillingSettings,
        store: Arc<dyn Store>,
        plans: Plans,
        public_url: &str,
    ) -> Result<Self, StripeError> {
        let stripe = StripeClient::new(&settings.api_base, settings.secret_key.clone())?;
        Ok(Self {
            settings,
            stripe,
            store,
            plans,
            public_url: public_url.trim_end_matches('/').to_owned(),
            events: None,
        })
    }

    /// The same billing, telling users live of the bots a smaller plan paused.
    #[must_use]
    pub fn with_events(mut self, events: Arc<crate::events::Events>) -> Self {
        self.events = Some(events);
        self
    }

    /// Tells the owner's streams of the bots a change paused.
    async fn tell_paused(&self, applied: &BillingApplied) {
        if let Some(events) = &self.events
            && !applied.paused.is_empty()
        {
            events
                .publish_paused(self.store.as_ref(), &applied.paused, Utc::now())
                .await;
        }
    }

    /// The rules changes are applied under.
    #[must_use]
    pub fn rules(&self) -> BillingRules<'_> {
        BillingRules {
            plans: &self.plans,
            grace: self.settings.grace,
        }
    }

    /// `user`'s Stripe customer, created once (a racing second request gets the same one:
    /// Stripe replays the first answer to the same idempotency key).
    async fn customer(
        &self,
        user: &UserRecord,
        now: Timestamp,
    ) -> Result<(String, bool), BillingError> {
        if let Some(known) = self.store.billing_customer(user.id).await? {
            return Ok((known.customer, known.trial_used_at.is_some()));
        }
        let created = self.stripe.create_customer(user.id, &user.email).await?;
        let saved = self
            .store
            .save_billing_customer(user.id, &created, now)
            .await?;
        Ok((saved.customer, saved.trial_used_at.is_some()))
    }

    /// A Checkout Session for `plan`: its URL, where the user pays.
    ///
    /// # Errors
    /// [`BillingError`]: an unknown plan, the plan already held, another subscription
    /// running, Stripe or the database failing.
    pub async fn checkout(
        &self,
        user: &UserRecord,
        plan: &str,
        now: Timestamp,
    ) -> Result<String, BillingError> {
        let Some(price) = self.settings.price(plan) else {
            let paid: Vec<&str> = self
                .settings
                .prices
                .iter()
                .map(|(p, _)| p.as_str())
                .collect();
            return Err(BillingError::UnknownPlan(plan.to_owned(), paid.join(", ")));
        };
        let stored = self.store.subscription(user.id).await?;
        let sub = stored.as_ref().map(|(s, _)| s);
        if entitlement(sub, now) == Some(plan) {
            return Err(BillingError::AlreadySubscribed(plan.to_owned()));
        }
        if let Some(sub) = sub
            && sub.stripe_subscription.is_some()
            && entitlement(Some(sub), now).is_some()
        {
            return Err(BillingError::SubscriptionExists(sub.plan.clone()));
        }
        let (customer, trial_used) = self.customer(user, now).await?;
        let had_trial = sub.is_some_and(|s| s.trial_end.is_some());
        let trial_days =
            (plan == TRIAL_PLAN && self.settings.trial_days > 0 && !trial_used && !had_trial)
                .then_some(self.settings.trial_days);
        // One session per user, plan and minute: a double click opens the same one.
        let key = format!(
            "nexus-checkout-{}-{plan}-{}-{}",
            user.id,
            trial_days.unwrap_or(0),
            now.timestamp() / 60
        );
        let request = CheckoutRequest {
            user: user.id,
            customer,
            price: price.to_owned(),
            plan: plan.to_owned(),
            trial_days,
            success_url: format!(
                "{}/app/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
                self.public_url
            ),
            cancel_url: format!("{}/app/billing?checkout=canceled", self.public_url),
            idempotency_key: key,
        };
        Ok(self.stripe.create_checkout_session(&request).await?)
    }

    /// A billing-portal session (card, plan, cancellation): its URL.
    ///
    /// # Errors
    /// [`BillingError`]: Stripe or the database failing.
    pub async fn portal(&self, user: &UserRecord, now: Timestamp) -> Result<String, BillingError> {
        let (customer, _) = self.customer(user, now).await?;
        let key = format!("nexus-portal-{}-{}", user.id, now.timestamp() / 60);
        let back = format!("{}/app/billing", self.public_url);
        Ok(self
            .stripe
            .create_portal_session(&customer, &back, &key)
            .await?)
    }

    /// `user`'s invoices, newest first (none before they ever had a customer).
    ///
    /// # Errors
    /// [`BillingError`]: Stripe or the database failing.
    pub async fn invoices(
        &self,
        user: UserId,
        limit: u8,
    ) -> Result<Vec<StripeInvoice>, BillingError> {
        match self.store.billing_customer(user).await? {
            Some(known) => Ok(self.stripe.invoices(&known.customer, limit).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The user a Stripe object belongs to: its `nexus_user_id` metadata when it names a
    /// user, else its customer's.
    async fn owner(
        &self,
        metadata_user: Option<&str>,
        customer: Option<&str>,
    ) -> Result<Option<UserId>, StoreError> {
        if let Some(id) = metadata_user.and_then(|u| uuid::Uuid::parse_str(u).ok()) {
            let id = UserId::new(id);
            if self.store.user(id).await?.is_some() {
                return Ok(Some(id));
            }
        }
        match customer {
            Some(customer) => Ok(self
                .store
                .billing_customer_by_stripe(customer)
                .await?
                .map(|c| c.user)),
            None => Ok(None),
        }
    }

    /// A Stripe subscription in Nexus' terms: `Err` says why it is not a Nexus plan.
    fn snapshot(&self, sub: &StripeSubscription) -> Result<Snapshot, String> {
        let price = sub.price.clone();
        let plan = price
            .as_deref()
            .and_then(|p| self.settings.plan_of(p))
            .ok_or_else(|| format!("price {price:?} is not one of NEXUS_STRIPE_PRICES"))?;
        let status = sub.status.parse().unwrap_or_else(|_| {
            // A status Stripe added later: not entitled until it is understood.
            tracing::warn!(status = %sub.status, subscription = %sub.id, "unknown Stripe subscription status, treated as unpaid");
            SubscriptionStatus::Unpaid
        });
        Ok(Snapshot {
            subscription: sub.id.clone(),
            plan: plan.to_owned(),
            price,
            status,
            trial_end: sub.trial_end.and_then(time),
            current_period_end: sub.current_period_end.and_then(time),
            cancel_at_period_end: sub.cancel_at_period_end,
        })
    }

    /// Handles one webhook delivery: checks its signature on the raw `body`, then applies
    /// the event once.
    ///
    /// # Errors
    /// [`WebhookError`]: refused (signature, body: nothing changed) or failed (recorded;
    /// Stripe delivers it again).
    pub async fn webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Delivery, WebhookError> {
        webhook::verify(
            signature,
            body,
            self.settings.webhook_secret.expose(),
            now.timestamp(),
        )?;
        let event = webhook::parse_event(body)?;
        let meta = BillingEvent {
            id: event.id.clone(),
            kind: event.kind.clone(),
            created: time(event.created).unwrap_or(now),
        };
        let fail = |source: BillingError| WebhookError::Failed {
            id: event.id.clone(),
            source,
        };
        // A cheap early answer to a redelivery, before any Stripe call; the transaction
        // that applies an event checks again, so a race still processes it once.
        match self.store.billing_event(&event.id).await {
            Ok(Some(seen)) if seen.outcome != EventOutcome::Failed => {
                return Ok(Delivery::Duplicate);
            }
            Ok(_) => {}
            Err(e) => return Err(fail(e.into())),
        }
        let processed = self.process(&event, &meta, now).await;
        if let Ok(Some(applied)) = &processed {
            self.tell_paused(applied).await;
        }
        match processed {
            Ok(Some(applied)) if applied.stale == Some(nexus_core::billing::Stale::Unknown) => {
                Err(WebhookError::NotYet(event.id.clone()))
            }
            Ok(Some(applied)) => Ok(Delivery::Processed(if applied.stale.is_some() {
                EventOutcome::Stale
            } else {
                EventOutcome::Applied
            })),
            Ok(None) => Ok(Delivery::Duplicate),
            Err(Ignored(detail)) if detail.is_empty() => Ok(Delivery::Duplicate),
            Err(Ignored(detail)) => {
                let recorded = self
                    .store
                    .record_billing_event(&meta, EventOutcome::Ignored, None, Some(&detail), now)
                    .await
                    .map_err(|e| fail(e.into()))?;
                Ok(if recorded {
                    Delivery::Processed(EventOutcome::Ignored)
                } else {
                    Delivery::Duplicate
                })
            }
            Err(Failure(source)) => {
                // Recorded in its own transaction, so admins see it; Stripe retries.
                let detail = source.to_string();
                if let Err(e) = self
                    .store
                    .record_billing_event(&meta, EventOutcome::Failed, None, Some(&detail), now)
                    .await
                {
                    tracing::error!(error = %e, event = %event.id, "a failed billing event could not be recorded");
                }
                Err(fail(source))
            }
        }
    }

    /// Applies `event`: `Ok(None)` when another delivery got there first.
    async fn process(
        &self,
        event: &Event,
        meta: &BillingEvent,
        now: Timestamp,
    ) -> Result<Option<BillingApplied>, Outcome> {
        let at = meta.created;
        let (user, change, notice) = match (&event.object, event.kind.as_str()) {
            (EventObject::Subscription(sub), kind)
                if kind.starts_with("customer.subscription.") =>
            {
                let user = self
                    .owner(sub.user.as_deref(), Some(&sub.customer))
                    .await
                    .map_err(failure)?;
                let user = user.ok_or_else(|| {
                    Ignored(format!("no Nexus user for customer {}", sub.customer))
                })?;
                let snapshot = self.snapshot(sub).map_err(Ignored)?;
                let notice = (kind == "customer.subscription.trial_will_end")
                    .then(|| {
                        snapshot.trial_end.map(|trial_end| Notice::TrialEnding {
                            plan: snapshot.plan.clone(),
                            trial_end,
                        })
                    })
                    .flatten();
                (user, Change::snapshot(snapshot, at), notice)
            }
            (EventObject::Invoice(invoice), kind @ ("invoice.paid" | "invoice.payment_failed")) => {
                let subscription = invoice
                    .subscription
                    .clone()
                    .ok_or_else(|| Ignored("not a subscription's invoice".to_owned()))?;
                let user = self
                    .owner(invoice.user.as_deref(), invoice.customer.as_deref())
                    .await
                    .map_err(failure)?;
                let user = user
                    .ok_or_else(|| Ignored(format!("no Nexus user for invoice {}", invoice.id)))?;
                let change = if kind == "invoice.paid" {
                    Change::Paid { subscription, at }
                } else {
                    Change::PaymentFailed { subscription, at }
                };
                (user, change, None)
            }
            (
                EventObject::CheckoutSession {
                    customer,
                    subscription,
                    client_reference_id,
                    ..
                },
                "checkout.session.completed",
            ) => {
                let user = self
                    .owner(client_reference_id.as_deref(), customer.as_deref())
                    .await
                    .map_err(failure)?;
                let user =
                    user.ok_or_else(|| Ignored("no Nexus user for this checkout".to_owned()))?;
                if let Some(customer) = customer {
                    self.store
                        .save_billing_customer(user, customer, now)
                        .await
                        .map_err(failure)?;
                }
                let subscription = subscription
                    .as_deref()
                    .ok_or_else(|| Ignored("not a subscription checkout".to_owned()))?;
                let stored = self.store.subscription(user).await.map_err(failure)?;
                if stored
                    .is_some_and(|(s, _)| s.stripe_subscription.as_deref() == Some(subscription))
                {
                    // Its subscription's own events came first.
                    return Err(Ignored("its subscription is stored already".to_owned()));
                }
                // Read it now, so the success page shows the plan at once.
                let sub = self
                    .stripe
                    .subscription(subscription)
                    .await
                    .map_err(|e| Failure(e.into()))?;
                let snapshot = self.snapshot(&sub).map_err(Ignored)?;
                (user, Change::snapshot(snapshot, at), None)
            }
            (_, kind) => return Err(Ignored(format!("{kind} is not acted on"))),
        };
        self.store
            .apply_billing(Some(meta), user, change, notice, &self.rules(), now)
            .await
            .map_err(failure)
    }

    /// Re-reads every customer's subscriptions from Stripe and stores what Stripe says
    /// (for missed webhooks), calling `progress` after each customer.
    ///
    /// # Errors
    /// [`BillingError`] on the first Stripe or database failure (what was synced before
    /// stays synced).
    pub async fn sync(
        &self,
        mut progress: impl FnMut(u64, Option<&SyncChange>),
    ) -> Result<SyncReport, BillingError> {
        let mut report = SyncReport::default();
        let mut after = None;
        loop {
            let page = self.store.billing_customers(after, 100).await?;
            for customer in &page {
                let subs = self.stripe.subscriptions(&customer.customer).await?;
                // Stripe lists newest first: the newest one still running, else the newest.
                let current = subs
                    .iter()
                    .find(|s| {
                        s.status
                            .parse::<SubscriptionStatus>()
                            .is_ok_and(|st| !st.is_ended())
                    })
                    .or_else(|| subs.first());
                report.customers += 1;
                let mut change = None;
                if let Some(sub) = current {
                    match self.snapshot(sub) {
                        Ok(snapshot) => {
                            let now = Utc::now();
                            let before = self.store.subscription(customer.user).await?;
                            let applied = self
                                .store
                                .apply_billing(
                                    None,
                                    customer.user,
                                    Change::sync(snapshot.clone(), now),
                                    None,
                                    &self.rules(),
                                    now,
                                )
                                .await?
                                .unwrap_or_else(|| BillingApplied {
                                    stale: None,
                                    plan_before: String::new(),
                                    plan_after: String::new(),
                                    paused: Vec::new(),
                                });
                            self.tell_paused(&applied).await;
                            let status_before = before
                                .as_ref()
                                .map_or("none".to_owned(), |(s, _)| s.status.to_string());
                            let moved = before.as_ref().is_none_or(|(s, _)| {
                                s.status != snapshot.status
                                    || s.stripe_subscription.as_deref()
                                        != Some(snapshot.subscription.as_str())
                                    || s.plan != snapshot.plan
                            });
                            if moved || applied.plan_before != applied.plan_after {
                                change = Some(SyncChange {
                                    user: customer.user,
                                    status: (status_before, snapshot.status.to_string()),
                                    applied,
                                });
                            }
                        }
                        Err(why) => {
                            tracing::warn!(customer = %customer.customer, %why, "subscription skipped")
                        }
                    }
                }
                progress(report.customers, change.as_ref());
                report.changed.extend(change);
            }
            match page.last() {
                Some(last) if page.len() == 100 => after = Some(last.user),
                _ => break,
            }
        }
        Ok(report)
    }
}

/// Why an event changes nothing, or could not be processed.
enum Outcome {
    /// Answered and recorded as ignored, saying why (empty: already recorded).
    Ignored(String),
    /// Failed: recorded, answered 5xx.
    Failure(BillingError),
}

use Outcome::{Failure, Ignored};

fn failure(e: StoreError) -> Outcome {
    Failure(e.into())
}

/// A Stripe time shown to people and in the API.
#[must_use]
pub fn stripe_time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(time)
}
