//! A small Stripe client on `reqwest`: the six calls Nexus makes, our own serde types that
//! read only the fields Nexus uses (so additive API changes do not break them), and one
//! pinned API version, [`STRIPE_API_VERSION`], sent on every request.
//!
//! Every request carries `Authorization: Bearer <secret key>` and `Stripe-Version`; every
//! POST carries an `Idempotency-Key` and a form-encoded body (`a[0][b]=…`, `a[k]=…`).
//! Failures Stripe marks as retryable (429, 409, 5xx, or `Stripe-Should-Retry: true`) and
//! transport failures are retried up to three times with the full-jitter backoff of
//! [`nexus_exchanges::RetryPolicy`], honouring `Retry-After`, with the same idempotency
//! key each time, so a retried POST never creates a second object.
//!
//! The wire shapes are those of `test_data/stripe/` (API version `2026-07-29.dahlia`): a
//! subscription's period end is on its first item, and an invoice's subscription is
//! `parent.subscription_details.subscription`.

use std::fmt;
use std::time::Duration;

use nexus_core::{Secret, UserId};
use nexus_exchanges::{HttpConfig, RetryPolicy};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The Stripe API version every request pins, and the version the webhook endpoint must be
/// created with (an event's body follows the endpoint's version).
pub const STRIPE_API_VERSION: &str = "2026-07-29.dahlia";

/// Stripe's API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// The longest `Retry-After` that is waited for: an answer asking for longer is returned as
/// the error instead, since a person is usually waiting on the call.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The most subscriptions [`StripeClient::subscriptions`] reads (100 pages of 100): a bound
/// on a listing that keeps saying `has_more`.
const MAX_SUBSCRIPTIONS: usize = 10_000;

/// Why a Stripe call failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// No answer: the connection could not be made or was lost, or the request timed out.
    /// Retried already; a POST may or may not have taken effect (its idempotency key makes
    /// sending it again safe).
    #[error("Stripe could not be reached ({what}): {message}")]
    Transport {
        /// The call, e.g. `create checkout session`.
        what: &'static str,
        /// What went wrong, in a few words.
        message: &'static str,
        /// The underlying error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// Stripe answered with an error (after the retries it allows).
    #[error("Stripe refused {what}: HTTP {status} {kind}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The call.
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// Stripe's `error.type` (`invalid_request_error`, `card_error`, `api_error`,
        /// `idempotency_error`, …), or `unknown` when the body is not Stripe's error shape.
        kind: String,
        /// Stripe's `error.code` (`resource_missing`, `rate_limit`, …).
        code: Option<String>,
        /// Stripe's `error.message` (it never contains the full key), or the start of the
        /// body.
        message: String,
    },
    /// A successful answer that is not the object expected.
    #[error("Stripe's answer to {what} could not be read: {message}")]
    Decode {
        /// The call.
        what: &'static str,
        /// Where and why the JSON did not fit.
        message: String,
    },
    /// The API base is not an `http(s)` URL that paths can be appended to.
    #[error("the Stripe API base {base:?} is not usable: {reason}")]
    BadBase {
        /// The base given (cut short).
        base: String,
        /// Why.
        reason: &'static str,
    },
    /// An id that would change the request's path (Stripe ids are letters, digits and `_`).
    #[error("{what} {id:?} is not a Stripe id")]
    BadId {
        /// Which id, e.g. `subscription id`.
        what: &'static str,
        /// The id given (cut short).
        id: String,
    },
    /// The HTTP client could not be built (no TLS roots).
    #[error("the HTTP client for Stripe could not be built")]
    Client(#[source] reqwest::Error),
}

/// What a Checkout session for a subscription is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The Nexus user subscribing: sent as `client_reference_id` and as the subscription's
    /// `metadata[nexus_user_id]`, so events lead back to the user.
    pub user: UserId,
    /// The user's Stripe customer (`cus_…`), created beforehand.
    pub customer: String,
    /// The Stripe price (`price_…`) of the plan.
    pub price: String,
    /// The Nexus plan's name, stored as the subscription's `metadata[nexus_plan]`.
    pub plan: String,
    /// Trial days (≥ 1; Stripe refuses 0), or `None` for no trial.
    pub trial_days: Option<u32>,
    /// Where Stripe sends the user after paying; may contain `{CHECKOUT_SESSION_ID}`.
    pub success_url: String,
    /// Where Stripe sends the user who gives up.
    pub cancel_url: String,
    /// The request's `Idempotency-Key` (≤ 255 characters), deterministic per intent (e.g.
    /// `nexus-checkout-{user}-{plan}-{minute}`) so a racing second request gets the same
    /// session. Stripe refuses a key reused with other fields.
    pub idempotency_key: String,
}

/// A Stripe subscription: only the fields Nexus reads. Deserialises from Stripe's object;
/// unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "wire::Subscription")]
pub struct StripeSubscription {
    /// `sub_…`.
    pub id: String,
    /// The customer (`cus_…`).
    pub customer: String,
    /// `incomplete`, `incomplete_expired`, `trialing`, `active`, `past_due`, `canceled`,
    /// `unpaid` or `paused`; kept as text so a new status is not a parse error (it is not
    /// an entitlement either).
    pub status: String,
    /// The price of the first item (Nexus subscriptions have one): `items.data[0].price.id`.
    pub price: Option<String>,
    /// The Nexus user, from `metadata.nexus_user_id` (set through Checkout).
    pub user: Option<String>,
    /// When the trial started (Unix seconds).
    pub trial_start: Option<i64>,
    /// When the trial ends or ended (Unix seconds).
    pub trial_end: Option<i64>,
    /// The end of the current period (Unix seconds), from `items.data[0].current_period_end`
    /// (there is no top-level field since 2025-03-31.basil).
    pub current_period_end: Option<i64>,
    /// Whether the subscription ends at the period's end instead of renewing.
    pub cancel_at_period_end: bool,
}

/// A Stripe invoice: only the fields Nexus reads or shows. Deserialises from Stripe's
/// object; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "wire::Invoice")]
pub struct StripeInvoice {
    /// `in_…`.
    pub id: String,
    /// The customer (`cus_…`).
    pub customer: Option<String>,
    /// The subscription it bills, from `parent.subscription_details.subscription` (the
    /// top-level field is gone since basil).
    pub subscription: Option<String>,
    /// The Nexus user, from the subscription's metadata snapshot
    /// `parent.subscription_details.metadata.nexus_user_id`.
    pub user: Option<String>,
    /// The invoice number shown to people (`7FE1103-0002`), once finalised.
    pub number: Option<String>,
    /// Amount due, in the currency's minor units (cents).
    pub amount_due: i64,
    /// Amount paid, in minor units.
    pub amount_paid: i64,
    /// Lower-case ISO currency code (`usd`).
    pub currency: String,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: Option<String>,
    /// The page where the user sees and pays the invoice.
    pub hosted_invoice_url: Option<String>,
    /// The start of the service period billed, from `lines.data[0].period.start`
    /// (`invoice.period_*` is the previous period for subscription invoices).
    pub period_start: Option<i64>,
    /// The end of the service period billed, from `lines.data[0].period.end`.
    pub period_end: Option<i64>,
    /// When the invoice was created (Unix seconds).
    pub created: i64,
}

/// Stripe's objects as they arrive, reduced to what the public types take from them.
pub(crate) mod wire {
    use serde::Deserialize;

    /// An id, or the object it names when the request expanded it.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Expandable {
        Id(String),
        Object { id: String },
    }

    impl Expandable {
        pub(crate) fn into_id(self) -> String {
            match self {
                Self::Id(id) | Self::Object { id } => id,
            }
        }
    }

    /// The metadata keys Nexus sets.
    #[derive(Debug, Default, Deserialize)]
    pub(crate) struct Metadata {
        pub nexus_user_id: Option<String>,
    }

    /// `{object: "list", data, has_more}`.
    #[derive(Debug, Deserialize)]
    pub(crate) struct List<T> {
        pub data: Vec<T>,
        #[serde(default)]
        pub has_more: bool,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) struct Subscription {
        id: String,
        customer: Expandable,
        status: String,
        items: Option<List<Item>>,
        metadata: Option<Metadata>,
        trial_start: Option<i64>,
        trial_end: Option<i64>,
        cancel_at_period_end: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        price: Option<Expandable>,
        current_period_end: Option<i64>,
    }

    impl From<Subscription> for super::StripeSubscription {
        fn from(s: Subscription) -> Self {
            let item = s.items.and_then(|items| items.data.into_iter().next());
            let (price, current_period_end) = match item {
                Some(item) => (item.price.map(Expandable::into_id), item.current_period_end),
                None => (None, None),
            };
            Self {
                id: s.id,
                customer: s.customer.into_id(),
                status: s.status,
                price,
                user: s.metadata.and_then(|m| m.nexus_user_id),
                trial_start: s.trial_start,
                trial_end: s.trial_end,
                current_period_end,
                cancel_at_period_end: s.cancel_at_period_end.unwrap_or(false),
            }
        }
    }

    #[derive(Debug, Deserialize)]
    pub(crate) struct Invoice {
        id: String,
        customer: Option<Expandable>,
        parent: Option<Parent>,
        number: Option<String>,
        amount_due: i64,
        amount_paid: i64,
        currency: String,
        status: Option<String>,
        hosted_invoice_url: Option<String>,
        lines: Option<List<Line>>,
        created: i64,
    }

    #[derive(Debug, Deserialize)]
    struct Parent {
        #[serde(rename = "type")]
        kind: Option<String>,
        subscription_details: Option<SubscriptionDetails>,
    }

    #[derive(Debug, Deserialize)]
    struct SubscriptionDetails {
        subscription: Option<Expandable>,
        metadata: Option<Metadata>,
    }

    #[derive(Debug, Deserialize)]
    struct Line {
        period: Option<Period>,
    }

    #[derive(Debug, Deserialize)]
    struct Period {
        start: Option<i64>,
        end: Option<i64>,
    }

    impl From<Invoice> for super::StripeInvoice {
        fn from(i: Invoice) -> Self {
            // Only a subscription's invoice has subscription details (a quote's names none).
            let details = i
                .parent
                .filter(|p| p.kind.as_deref() == Some("subscription_details"))
                .and_then(|p| p.subscription_details);
            let (subscription, user) = match details {
                Some(d) => (
                    d.subscription.map(Expandable::into_id),
                    d.metadata.and_then(|m| m.nexus_user_id),
                ),
                None => (None, None),
            };
            let period = i
                .lines
                .and_then(|lines| lines.data.into_iter().next())
                .and_then(|line| line.period);
            Self {
                id: i.id,
                customer: i.customer.map(Expandable::into_id),
                subscription,
                user,
                number: i.number,
                amount_due: i.amount_due,
                amount_paid: i.amount_paid,
                currency: i.currency,
                status: i.status,
                hosted_invoice_url: i.hosted_invoice_url,
                period_start: period.as_ref().and_then(|p| p.start),
                period_end: period.and_then(|p| p.end),
                created: i.created,
            }
        }
    }

    /// A Checkout session, as far as events and creation need it.
    #[derive(Debug, Deserialize)]
    pub(crate) struct CheckoutSession {
        pub id: String,
        pub customer: Option<Expandable>,
        pub subscription: Option<Expandable>,
        pub client_reference_id: Option<String>,
        pub url: Option<String>,
    }

    /// An object known by its id alone (a customer).
    #[derive(Debug, Deserialize)]
    pub(crate) struct Created {
        pub id: String,
    }

    /// A billing portal session.
    #[derive(Debug, Deserialize)]
    pub(crate) struct PortalSession {
        pub url: String,
    }

    /// `{"error": {type, code, message, param, doc_url}}`.
    #[derive(Debug, Deserialize)]
    pub(crate) struct ErrorBody {
        pub error: ErrorDetail,
    }

    #[derive(Debug, Deserialize)]
    pub(crate) struct ErrorDetail {
        #[serde(rename = "type")]
        pub kind: Option<String>,
        pub code: Option<String>,
        pub message: Option<String>,
    }
}

/// A client of Stripe's API for one account (its secret key). Cheap to clone: the HTTP
/// connection pool is shared.
#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    /// The API base without a trailing `/`.
    base: String,
    key: Secret,
    retry: RetryPolicy,
}

impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base)
            .field("key", &"REDACTED")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// A client of the API at `base` ([`DEFAULT_API_BASE`], or a local Stripe in tests)
    /// with the secret key `key` (`sk_…` or a restricted `rk_…`). Requests time out after
    /// 10 s (connecting after 5 s), as the venue clients do.
    ///
    /// # Errors
    /// [`StripeError::BadBase`] when `base` is not an `http(s)` URL without query or
    /// fragment; [`StripeError::Client`] when the HTTP client cannot be built.
    pub fn new(base: &str, key: Secret) -> Result<Self, StripeError> {
        let bad = |reason| StripeError::BadBase {
            base: base.chars().take(100).collect(),
            reason,
        };
        let url = crate::provider_http::api_base(base).map_err(bad)?;
        let config = HttpConfig::default();
        let http = crate::provider_http::client(config.timeout, config.connect_timeout)
            .map_err(StripeError::Client)?;
        Ok(Self {
            http,
            base: url.as_str().trim_end_matches('/').to_owned(),
            key,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (tests make the backoff short).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The API base requests go to, without a trailing `/`.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v1/customers` with `email` and `metadata[nexus_user_id]`: the user's Stripe
    /// customer, whose id (`cus_…`) is returned. The idempotency key is
    /// `nexus-customer-{user}`, so two racing calls within Stripe's 24 h key lifetime get
    /// the same customer (the caller stores it once and reuses it afterwards).
    ///
    /// # Errors
    /// See [`StripeError`].
    pub async fn create_customer(&self, user: UserId, email: &str) -> Result<String, StripeError> {
        let form = vec![
            ("email".to_owned(), email.to_owned()),
            ("metadata[nexus_user_id]".to_owned(), user.to_string()),
        ];
        let key = customer_idempotency_key(user);
        let created: wire::Created = self
            .post("create customer", "/v1/customers", &form, &key)
            .await?;
        Ok(created.id)
    }

    /// `POST /v1/checkout/sessions` for a subscription to `request.price` (see
    /// [`checkout_form`] for the fields): the URL of the hosted Checkout page to send the
    /// user to.
    ///
    /// # Errors
    /// See [`StripeError`]; [`StripeError::Decode`] when the session has no `url` (an
    /// embedded session, which Nexus does not create).
    pub async fn create_checkout_session(
        &self,
        request: &CheckoutRequest,
    ) -> Result<String, StripeError> {
        const WHAT: &str = "create checkout session";
        let form = checkout_form(request);
        let session: wire::CheckoutSession = self
            .post(
                WHAT,
                "/v1/checkout/sessions",
                &form,
                &request.idempotency_key,
            )
            .await?;
        session.url.ok_or_else(|| StripeError::Decode {
            what: WHAT,
            message: format!("session {} has no url", session.id),
        })
    }

    /// `POST /v1/billing_portal/sessions` with `customer` and `return_url`: the URL of the
    /// customer portal (change card, cancel, invoices).
    ///
    /// # Errors
    /// See [`StripeError`].
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
        idempotency_key: &str,
    ) -> Result<String, StripeError> {
        let form = vec![
            ("customer".to_owned(), customer.to_owned()),
            ("return_url".to_owned(), return_url.to_owned()),
        ];
        let session: wire::PortalSession = self
            .post(
                "create portal session",
                "/v1/billing_portal/sessions",
                &form,
                idempotency_key,
            )
            .await?;
        Ok(session.url)
    }

    /// `GET /v1/subscriptions/{id}`: the subscription as it is now.
    ///
    /// # Errors
    /// See [`StripeError`]; an unknown id is [`StripeError::Status`] 404
    /// `resource_missing`, an id with other characters than Stripe's is
    /// [`StripeError::BadId`].
    pub async fn subscription(&self, id: &str) -> Result<StripeSubscription, StripeError> {
        check_id("subscription id", id)?;
        self.get("get subscription", &format!("/v1/subscriptions/{id}"), &[])
            .await
    }

    /// `GET /v1/subscriptions?customer=…&status=all&limit=100`, following `has_more` with
    /// `starting_after`: every subscription of the customer, canceled ones included, in
    /// Stripe's order (newest first).
    ///
    /// # Errors
    /// See [`StripeError`]; [`StripeError::Decode`] when a page says `has_more` but is
    /// empty, or the listing exceeds 10,000 subscriptions.
    pub async fn subscriptions(
        &self,
        customer: &str,
    ) -> Result<Vec<StripeSubscription>, StripeError> {
        const WHAT: &str = "list subscriptions";
        let mut all: Vec<StripeSubscription> = Vec::new();
        loop {
            let mut query = vec![
                ("customer", customer.to_owned()),
                ("status", "all".to_owned()),
                ("limit", "100".to_owned()),
            ];
            if let Some(last) = all.last() {
                query.push(("starting_after", last.id.clone()));
            }
            let page: wire::List<StripeSubscription> =
                self.get(WHAT, "/v1/subscriptions", &query).await?;
            let (empty, more) = (page.data.is_empty(), page.has_more);
            all.extend(page.data);
            if !more {
                return Ok(all);
            }
            if empty || all.len() >= MAX_SUBSCRIPTIONS {
                return Err(StripeError::Decode {
                    what: WHAT,
                    message: format!(
                        "the listing does not end (has_more after {} subscriptions)",
                        all.len()
                    ),
                });
            }
        }
    }

    /// `GET /v1/invoices?customer=…&limit=…`: the customer's latest `limit` invoices
    /// (1 to 100; Stripe's bounds), newest first as Stripe answers.
    ///
    /// # Errors
    /// See [`StripeError`].
    pub async fn invoices(
        &self,
        customer: &str,
        limit: u8,
    ) -> Result<Vec<StripeInvoice>, StripeError> {
        let query = [
            ("customer", customer.to_owned()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        let page: wire::List<StripeInvoice> =
            self.get("list invoices", "/v1/invoices", &query).await?;
        Ok(page.data)
    }

    /// What every request carries: the key and the pinned version.
    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.key.expose())
            .header("Stripe-Version", STRIPE_API_VERSION)
    }

    /// A form-encoded POST with its idempotency key (the same on every retry).
    pub(crate) fn post_request(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> RequestBuilder {
        self.request(reqwest::Method::POST, path)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        self.call(what, || self.post_request(path, form, idempotency_key))
            .await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, StripeError> {
        self.call(what, || {
            let request = self.request(reqwest::Method::GET, path);
            if query.is_empty() {
                request
            } else {
                request.query(query)
            }
        })
        .await
    }

    /// Sends the request `build` makes until it succeeds, fails for good, or the retries
    /// are spent, and reads the answer as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        what: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, StripeError> {
        let mut retry = 0;
        loop {
            let failed = match attempt(what, build()).await {
                Ok(body) => return decode(what, &body),
                Err(failed) => failed,
            };
            let asked_too_long = failed.retry_after.is_some_and(|w| w > MAX_RETRY_AFTER);
            if !failed.retryable || asked_too_long || retry + 1 >= self.retry.max_attempts {
                return Err(failed.error);
            }
            let wait = self
                .retry
                .backoff(retry, failed.retry_after, &mut rand::rng());
            tracing::debug!(what, retry, ?wait, error = %failed.error, "retrying a Stripe request");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }
}

/// The idempotency key of creating `user`'s customer.
#[must_use]
pub fn customer_idempotency_key(user: UserId) -> String {
    format!("nexus-customer-{user}")
}

/// The form fields of a Checkout session for `request`, in the order sent (the fields of
/// `test_data/stripe/checkout_session_create_request.txt`): `mode=subscription`, one line
/// item of the price, the customer, the user as `client_reference_id` and as the
/// subscription's `metadata[nexus_user_id]` (with `metadata[nexus_plan]`), the trial when
/// there is one, and the two return URLs.
#[must_use]
pub fn checkout_form(request: &CheckoutRequest) -> Vec<(String, String)> {
    let user = request.user.to_string();
    let mut form = vec![
        ("mode", "subscription".to_owned()),
        ("line_items[0][price]", request.price.clone()),
        ("line_items[0][quantity]", "1".to_owned()),
        ("customer", request.customer.clone()),
        ("client_reference_id", user.clone()),
        ("subscription_data[metadata][nexus_user_id]", user),
        (
            "subscription_data[metadata][nexus_plan]",
            request.plan.clone(),
        ),
    ];
    if let Some(days) = request.trial_days {
        form.push(("subscription_data[trial_period_days]", days.to_string()));
    }
    form.push(("success_url", request.success_url.clone()));
    form.push(("cancel_url", request.cancel_url.clone()));
    form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Refuses an id that is not Stripe's `[A-Za-z0-9_]{1,255}`: it goes into a path.
fn check_id(what: &'static str, id: &str) -> Result<(), StripeError> {
    let fits = !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(StripeError::BadId {
            what,
            id: id.chars().take(64).collect(),
        })
    }
}

/// One attempt that failed, and whether another may be made.
struct Failed {
    error: StripeError,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// Sends `request` and reads the whole answer: the body of a 2xx, or why not.
async fn attempt(what: &'static str, request: RequestBuilder) -> Result<Vec<u8>, Failed> {
    let response = request.send().await.map_err(|e| transport(what, e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| transport(what, e))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    Err(Failed {
        error: status_error(what, status, &body),
        retryable: should_retry(status, &headers),
        retry_after: retry_after(&headers),
    })
}

/// Stripe's rule (stripe-go `shouldRetry`): `Stripe-Should-Retry` decides when present;
/// otherwise 409 (a conflict with a concurrent request), 429 and 5xx are retried.
fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    let header = headers
        .get("stripe-should-retry")
        .and_then(|v| v.to_str().ok());
    match header.map(str::trim) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            status == StatusCode::CONFLICT
                || status == StatusCode::TOO_MANY_REQUESTS
                || status.is_server_error()
        }
    }
}

/// `Retry-After` in seconds, when sent.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A request that got no answer. Everything but a request that could not be built (a bad
/// header value) may be sent again: the idempotency key makes a POST safe to repeat.
fn transport(what: &'static str, e: reqwest::Error) -> Failed {
    let retryable = !e.is_builder() && !e.is_redirect();
    let message = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "the request could not be built"
    } else {
        "the connection failed"
    };
    Failed {
        error: StripeError::Transport {
            what,
            message,
            // The URL carries customer ids in queries: kept out of logs.
            source: e.without_url(),
        },
        retryable,
        retry_after: None,
    }
}

/// Stripe's error answer as [`StripeError::Status`].
fn status_error(what: &'static str, status: StatusCode, body: &[u8]) -> StripeError {
    let detail = serde_json::from_slice::<wire::ErrorBody>(body).ok();
    let (kind, code, message) = match detail {
        Some(wire::ErrorBody { error }) => (error.kind, error.code, error.message),
        None => (None, None, None),
    };
    StripeError::Status {
        what,
        status: status.as_u16(),
        kind: kind.unwrap_or_else(|| "unknown".to_owned()),
        code,
        message: message
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect()),
    }
}

/// Reads a 2xx body as `T`, saying where it did not fit.
fn decode<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, StripeError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| StripeError::Decode {
        what,
        message: e.to_string(),
    })?;
    json.end().map_err(|e| StripeError::Decode {
        what,
        message: e.to_string(),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/stripe/");

    fn file(name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{DATA}{name}")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
        value.pointer(pointer).and_then(Value::as_str)
    }

    fn i64_at(value: &Value, pointer: &str) -> Option<i64> {
        value.pointer(pointer).and_then(Value::as_i64)
    }

    /// The request file's `key=value` lines.
    fn request_file() -> Vec<(String, String)> {
        let text =
            std::fs::read_to_string(format!("{DATA}checkout_session_create_request.txt")).unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    /// The checkout request the request file was made from, its values read from the file.
    fn checkout_request(fields: &[(String, String)]) -> CheckoutRequest {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        CheckoutRequest {
            user: field("client_reference_id").parse().unwrap(),
            customer: field("customer"),
            price: field("line_items[0][price]"),
            plan: field("subscription_data[metadata][nexus_plan]"),
            trial_days: Some(
                field("subscription_data[trial_period_days]")
                    .parse()
                    .unwrap(),
            ),
            success_url: field("success_url"),
            cancel_url: field("cancel_url"),
            idempotency_key: "nexus-checkout-test".to_owned(),
        }
    }

    fn client() -> StripeClient {
        StripeClient::new("http://127.0.0.1:9/", Secret::new("sk_test_not_shown_123")).unwrap()
    }

    #[test]
    fn the_checkout_form_is_the_documented_request() {
        let expected = request_file();
        let request = checkout_request(&expected);
        assert_eq!(checkout_form(&request), expected);

        // Without a trial the field is left out, nothing else changes.
        let no_trial = checkout_form(&CheckoutRequest {
            trial_days: None,
            ..request
        });
        let without: Vec<_> = expected
            .iter()
            .filter(|(k, _)| k != "subscription_data[trial_period_days]")
            .cloned()
            .collect();
        assert_eq!(no_trial, without);
    }

    #[test]
    fn a_post_is_form_encoded_with_key_version_and_idempotency_key() {
        let expected = request_file();
        let request = checkout_request(&expected);
        let built = client()
            .post_request(
                "/v1/checkout/sessions",
                &checkout_form(&request),
                &request.idempotency_key,
            )
            .build()
            .unwrap();
        assert_eq!(built.method(), reqwest::Method::POST);
        assert_eq!(
            built.url().as_str(),
            "http://127.0.0.1:9/v1/checkout/sessions"
        );
        let header = |name: &str| built.headers().get(name).unwrap().to_str().unwrap();
        assert_eq!(header("authorization"), "Bearer sk_test_not_shown_123");
        assert!(built.headers()["authorization"].is_sensitive());
        assert_eq!(header("stripe-version"), STRIPE_API_VERSION);
        assert_eq!(header("idempotency-key"), "nexus-checkout-test");
        assert_eq!(header("content-type"), "application/x-www-form-urlencoded");
        // The wire body decodes to the documented fields, brackets and braces included.
        let body = std::str::from_utf8(built.body().unwrap().as_bytes().unwrap()).unwrap();
        assert!(body.contains("line_items%5B0%5D%5Bprice%5D="), "{body}");
        let decoded: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{body}"))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", client());
        assert!(!shown.contains("sk_test_not_shown_123"), "{shown}");
        assert!(shown.contains("127.0.0.1:9"), "{shown}");
    }

    #[test]
    fn bases_must_be_http_urls_that_paths_append_to() {
        for bad in [
            "",
            "api.stripe.com",
            "ftp://api.stripe.com",
            "mailto:x@example.com",
            "https://api.stripe.com/?a=b",
            "https://api.stripe.com/#x",
        ] {
            let result = StripeClient::new(bad, Secret::new("sk"));
            assert!(
                matches!(result, Err(StripeError::BadBase { .. })),
                "{bad:?}: {result:?}"
            );
        }
        let client = StripeClient::new(DEFAULT_API_BASE, Secret::new("sk")).unwrap();
        assert_eq!(client.base(), "https://api.stripe.com");
        let proxied = StripeClient::new("http://127.0.0.1:8/stripe/", Secret::new("sk")).unwrap();
        assert_eq!(proxied.base(), "http://127.0.0.1:8/stripe");
    }

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        assert!(check_id("subscription id", "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw").is_ok());
        for bad in [
            "",
            "..",
            "sub_1/../../customers",
            "sub 1",
            "sub_1?x=y",
            "süb",
        ] {
            assert!(
                matches!(
                    check_id("subscription id", bad),
                    Err(StripeError::BadId { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(check_id("subscription id", &"a".repeat(256)).is_err());
    }

    #[test]
    fn subscriptions_read_period_end_from_the_first_item() {
        for name in [
            "subscription_trialing.json",
            "subscription_active.json",
            "subscription_past_due.json",
            "subscription_canceled.json",
            "fixture_subscription.json",
        ] {
            let json = file(name);
            let sub: StripeSubscription = decode("test", json.to_string().as_bytes()).unwrap();
            assert_eq!(Some(sub.id.as_str()), str_at(&json, "/id"), "{name}");
            assert_eq!(Some(sub.customer.as_str()), str_at(&json, "/customer"));
            assert_eq!(Some(sub.status.as_str()), str_at(&json, "/status"));
            assert_eq!(
                sub.price.as_deref(),
                str_at(&json, "/items/data/0/price/id")
            );
            assert_eq!(
                sub.user.as_deref(),
                str_at(&json, "/metadata/nexus_user_id")
            );
            assert_eq!(sub.trial_start, i64_at(&json, "/trial_start"));
            assert_eq!(sub.trial_end, i64_at(&json, "/trial_end"));
            assert_eq!(
                sub.current_period_end,
                i64_at(&json, "/items/data/0/current_period_end")
            );
            assert!(sub.current_period_end.is_some(), "{name}");
            assert_eq!(
                Some(sub.cancel_at_period_end),
                json["cancel_at_period_end"].as_bool()
            );
        }
        // The scenario's user is set through Checkout; the fixture has no metadata.
        let trialing: StripeSubscription =
            serde_json::from_value(file("subscription_trialing.json")).unwrap();
        assert!(trialing.user.is_some());
        let fixture: StripeSubscription =
            serde_json::from_value(file("fixture_subscription.json")).unwrap();
        assert_eq!(fixture.user, None);
    }

    #[test]
    fn invoices_read_subscription_and_period_from_parent_and_first_line() {
        let list = file("invoice_list.json");
        let page: wire::List<StripeInvoice> = decode("test", list.to_string().as_bytes()).unwrap();
        let data = list["data"].as_array().unwrap();
        assert_eq!(page.data.len(), data.len());
        assert!(!page.data.is_empty());
        for (invoice, json) in page.data.iter().zip(data) {
            assert_eq!(Some(invoice.id.as_str()), str_at(json, "/id"));
            assert_eq!(invoice.customer.as_deref(), str_at(json, "/customer"));
            assert_eq!(
                invoice.subscription.as_deref(),
                str_at(json, "/parent/subscription_details/subscription")
            );
            assert!(invoice.subscription.is_some());
            // The top-level field is null since basil.
            assert!(json["subscription"].is_null());
            assert_eq!(
                invoice.user.as_deref(),
                str_at(json, "/parent/subscription_details/metadata/nexus_user_id")
            );
            assert_eq!(invoice.number.as_deref(), str_at(json, "/number"));
            assert_eq!(Some(invoice.amount_due), i64_at(json, "/amount_due"));
            assert_eq!(Some(invoice.amount_paid), i64_at(json, "/amount_paid"));
            assert_eq!(Some(invoice.currency.as_str()), str_at(json, "/currency"));
            assert_eq!(invoice.status.as_deref(), str_at(json, "/status"));
            assert_eq!(
                invoice.hosted_invoice_url.as_deref(),
                str_at(json, "/hosted_invoice_url")
            );
            assert_eq!(
                invoice.period_start,
                i64_at(json, "/lines/data/0/period/start")
            );
            assert_eq!(invoice.period_end, i64_at(json, "/lines/data/0/period/end"));
            // Not the invoice's own period_end (the previous period).
            assert_ne!(invoice.period_end, i64_at(json, "/period_end"));
            assert_eq!(Some(invoice.created), i64_at(json, "/created"));
        }

        // A quote's invoice names no subscription, even where the fixture fills the field.
        let fixture = file("fixture_invoice.json");
        assert_eq!(str_at(&fixture, "/parent/type"), Some("quote_details"));
        let invoice: StripeInvoice = serde_json::from_value(fixture.clone()).unwrap();
        assert_eq!(invoice.subscription, None);
        assert_eq!(invoice.id, str_at(&fixture, "/id").unwrap());
        assert_eq!(
            invoice.period_end,
            i64_at(&fixture, "/lines/data/0/period/end")
        );
    }

    #[test]
    fn expanded_ids_read_as_ids_and_missing_fields_are_decode_errors() {
        let sub: StripeSubscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "status": "active",
            "customer": {"id": "cus_1", "object": "customer", "email": null},
            "items": {"data": [{"price": "price_1"}]},
            "new_field_from_a_later_version": {"x": 1}
        }))
        .unwrap();
        assert_eq!(
            (sub.customer.as_str(), sub.price.as_deref()),
            ("cus_1", Some("price_1"))
        );
        assert_eq!(
            (sub.current_period_end, sub.cancel_at_period_end),
            (None, false)
        );

        let error = decode::<StripeInvoice>("list invoices", br#"{"id":"in_1","amount_due":"12"}"#)
            .unwrap_err();
        let StripeError::Decode { what, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*what, "list invoices");
        assert!(message.contains("amount_due"), "{message}");
        assert!(decode::<wire::Created>("create customer", br#"{"id":"cus_1"} x"#).is_err());
    }

    #[test]
    fn stripe_errors_keep_type_code_and_message() {
        for name in ["error_invalid_request.json", "error_rate_limit.json"] {
            let json = file(name);
            let status = if name.contains("rate") { 429 } else { 400 };
            let error = status_error(
                "create checkout session",
                StatusCode::from_u16(status).unwrap(),
                json.to_string().as_bytes(),
            );
            let StripeError::Status {
                status: got,
                kind,
                code,
                message,
                ..
            } = &error
            else {
                panic!("{error:?}")
            };
            assert_eq!(*got, status);
            assert_eq!(Some(kind.as_str()), str_at(&json, "/error/type"));
            assert_eq!(code.as_deref(), str_at(&json, "/error/code"));
            assert_eq!(Some(message.as_str()), str_at(&json, "/error/message"));
            assert!(error.to_string().contains(message.as_str()));
        }
        let error = status_error(
            "get subscription",
            StatusCode::BAD_GATEWAY,
            b"<html>bad</html>",
        );
        assert!(
            matches!(&error, StripeError::Status { status: 502, kind, code: None, message, .. }
                if kind == "unknown" && message == "<html>bad</html>"),
            "{error:?}"
        );
    }

    #[test]
    fn retries_follow_the_status_unless_stripe_says_otherwise() {
        let mut headers = HeaderMap::new();
        for (status, retry) in [
            (400, false),
            (401, false),
            (402, false),
            (404, false),
            (409, true),
            (429, true),
            (500, true),
            (503, true),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(should_retry(status, &headers), retry, "{status}");
        }
        headers.insert("stripe-should-retry", "false".parse().unwrap());
        assert!(!should_retry(StatusCode::INTERNAL_SERVER_ERROR, &headers));
        headers.insert("stripe-should-retry", "true".parse().unwrap());
        assert!(should_retry(StatusCode::BAD_REQUEST, &headers));

        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, " 3 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
