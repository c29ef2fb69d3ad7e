//! A local Stripe for the billing tests: a poem server on loopback that checks what the real
//! API checks (`Authorization: Bearer <secret key>`, the pinned `Stripe-Version`) plus what
//! Nexus promises (an `Idempotency-Key` on every POST, form-encoded bodies), and answers
//! with the documented objects of `test_data/stripe/`, patched with what it was sent (the
//! customer it created, the URLs it was given). Like Stripe it replays the first answer
//! for a repeated idempotency key and refuses a key reused with other parameters. It
//! records every request for assertions, lets a test set the subscription it holds, and
//! scripts failures (a 429, a 500) for the next request to a path.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use nexus_exchanges::mock::serve;
use nexus_server::billing::stripe::STRIPE_API_VERSION;
use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{Value, json};

const CUSTOMER: &str = include_str!("../../../test_data/stripe/customer_create_response.json");
const CHECKOUT: &str =
    include_str!("../../../test_data/stripe/checkout_session_create_response.json");
const PORTAL: &str =
    include_str!("../../../test_data/stripe/billing_portal_session_create_response.json");
const SUBSCRIPTIONS: &str = include_str!("../../../test_data/stripe/subscription_list.json");
const INVOICES: &str = include_str!("../../../test_data/stripe/invoice_list.json");

/// Stripe's error bodies (`{"error": {type, code, message, …}}`).
pub mod errors {
    /// `invalid_request_error` / `resource_missing`: "No such price: 'price_missing'".
    pub const INVALID_REQUEST: &str =
        include_str!("../../../test_data/stripe/error_invalid_request.json");
    /// `invalid_request_error` / `rate_limit`, sent with HTTP 429.
    pub const RATE_LIMIT: &str = include_str!("../../../test_data/stripe/error_rate_limit.json");
}

/// One request as the mock received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/v1/checkout/sessions`.
    pub path: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The form fields of the body, decoded, in order.
    pub form: Vec<(String, String)>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Stripe-Version` header.
    pub stripe_version: Option<String>,
}

impl Recorded {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.query, name)
    }

    /// A form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        find(&self.form, name)
    }
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An answer given instead of the real one to the next request to `path`. It stands for
/// an answer given before Stripe acted (a rate limit, an overloaded API), so it is not
/// stored under the request's idempotency key.
#[derive(Debug, Clone)]
pub struct Failure {
    path: String,
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Failure {
    /// `status` with the JSON `body` for the next request to `path`.
    pub fn new(path: &str, status: u16, body: &str) -> Self {
        Self {
            path: path.to_owned(),
            status,
            body: body.to_owned(),
            headers: Vec::new(),
        }
    }

    /// The same failure with a header (`Retry-After`, `Stripe-Should-Retry`).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A POST's first answer, kept under its idempotency key.
#[derive(Debug)]
struct Stored {
    /// What the key was first used for: method, path, form.
    request: (String, String, Vec<(String, String)>),
    status: u16,
    body: String,
}

#[derive(Debug)]
struct State {
    requests: Vec<Recorded>,
    failures: VecDeque<Failure>,
    replies: HashMap<String, Stored>,
    customers: Vec<String>,
    sessions: usize,
    /// Newest first, as Stripe lists.
    subscriptions: Vec<Value>,
    /// Newest first.
    invoices: Vec<Value>,
}

/// The local Stripe; tests arrange it and read what it received.
#[derive(Debug)]
pub struct StripeMock {
    key: String,
    base: OnceLock<String>,
    state: Mutex<State>,
}

impl StripeMock {
    /// Starts a Stripe that accepts the secret key `secret_key`, holding the subscription
    /// and invoices of `subscription_list.json` and `invoice_list.json`.
    pub async fn start(secret_key: &str) -> Arc<Self> {
        let list = |text: &str| -> Vec<Value> {
            let list: Value = serde_json::from_str(text).unwrap();
            list["data"].as_array().unwrap().clone()
        };
        let mock = Arc::new(Self {
            key: secret_key.to_owned(),
            base: OnceLock::new(),
            state: Mutex::new(State {
                requests: Vec::new(),
                failures: VecDeque::new(),
                replies: HashMap::new(),
                customers: Vec::new(),
                sessions: 0,
                subscriptions: list(SUBSCRIPTIONS),
                invoices: list(INVOICES),
            }),
        });
        let handler = Arc::clone(&mock);
        let base = serve(poem::endpoint::make(move |mut req: Request| {
            let mock = Arc::clone(&handler);
            async move {
                let body = req.take_body().into_vec().await.unwrap_or_default();
                mock.handle(&req, &body)
            }
        }))
        .await;
        mock.base.set(base).unwrap();
        mock
    }

    /// The base URL to give `StripeClient::new`.
    pub fn base(&self) -> String {
        self.base.get().cloned().unwrap()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received, in arrival order (refused and scripted ones included).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// The requests received for `method` `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// The customers created, in order.
    pub fn customers(&self) -> Vec<String> {
        self.state().customers.clone()
    }

    /// Makes `subscription` the one Stripe holds under its id (replacing it, or as the
    /// newest when the id is new): what GET answers from now on.
    pub fn set_subscription(&self, subscription: Value) {
        let id = subscription["id"].as_str().unwrap().to_owned();
        let mut state = self.state();
        match state.subscriptions.iter_mut().find(|s| s["id"] == id) {
            Some(held) => *held = subscription,
            None => state.subscriptions.insert(0, subscription),
        }
    }

    /// Answers the next request to the failure's path with it.
    pub fn fail_next(&self, failure: Failure) {
        self.state().failures.push_back(failure);
    }

    fn handle(&self, req: &Request, body: &[u8]) -> Response {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let recorded = Recorded {
            method: method.clone(),
            path: path.clone(),
            query: decode(req.uri().query().unwrap_or("").as_bytes()),
            form: decode(body),
            idempotency_key: req.header("idempotency-key").map(str::to_owned),
            stripe_version: req.header("stripe-version").map(str::to_owned),
        };
        let failure = {
            let mut state = self.state();
            state.requests.push(recorded.clone());
            let at = state.failures.iter().position(|f| f.path == path);
            at.and_then(|at| state.failures.remove(at))
        };
        if let Some(failure) = failure {
            let mut response = answer(failure.status, failure.body);
            for (name, value) in failure.headers {
                response.headers_mut().insert(
                    poem::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            return response;
        }
        if let Some(refusal) = self.refuse(req, &recorded) {
            return refusal;
        }
        if method != "POST" {
            return self.read(&recorded);
        }
        let key = recorded.idempotency_key.clone().unwrap_or_default();
        let first_use = (method, path, recorded.form.clone());
        if let Some(stored) = self.state().replies.get(&key) {
            if stored.request != first_use {
                return error(
                    400,
                    "idempotency_error",
                    None,
                    &format!(
                        "Keys for idempotent requests can only be used with the same parameters \
                         they were first used with. Try using a key other than '{key}' if you \
                         meant to execute a different request."
                    ),
                );
            }
            let mut replay = answer(stored.status, stored.body.clone());
            replay
                .headers_mut()
                .insert("idempotent-replayed", "true".parse().unwrap());
            return replay;
        }
        let (status, body) = self.write(&recorded);
        // Stripe keeps the answer of a request it executed, not of one that failed
        // validation.
        if (200..300).contains(&status) {
            self.state().replies.insert(
                key,
                Stored {
                    request: first_use,
                    status,
                    body: body.clone(),
                },
            );
        }
        answer(status, body)
    }

    /// Stripe's refusal of a request without the key or the pinned version, and this
    /// mock's of a POST without an idempotency key or a form body.
    fn refuse(&self, req: &Request, recorded: &Recorded) -> Option<Response> {
        let bearer = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "));
        if bearer != Some(self.key.as_str()) {
            let shown: String = bearer
                .unwrap_or_default()
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let mut response = error(
                401,
                "invalid_request_error",
                None,
                &format!("Invalid API Key provided: sk_test_****{shown}"),
            );
            response.headers_mut().insert(
                "www-authenticate",
                "Bearer realm=\"Stripe\"".parse().unwrap(),
            );
            return Some(response);
        }
        if recorded.stripe_version.as_deref() != Some(STRIPE_API_VERSION) {
            return Some(error(
                400,
                "invalid_request_error",
                None,
                &format!(
                    "This mock answers only Stripe-Version {STRIPE_API_VERSION}, got {:?}",
                    recorded.stripe_version
                ),
            ));
        }
        if recorded.method == "POST" {
            if recorded
                .idempotency_key
                .as_deref()
                .is_none_or(|k| k.is_empty() || k.len() > 255)
            {
                return Some(error(
                    400,
                    "invalid_request_error",
                    None,
                    "Every POST must carry an Idempotency-Key of 1 to 255 characters",
                ));
            }
            if req.header("content-type") != Some("application/x-www-form-urlencoded") {
                return Some(error(
                    400,
                    "invalid_request_error",
                    None,
                    "Bodies must be application/x-www-form-urlencoded",
                ));
            }
        }
        None
    }

    /// A POST that was not a replay: the status and body of the answer.
    fn write(&self, r: &Recorded) -> (u16, String) {
        match r.path.as_str() {
            "/v1/customers" => self.create_customer(r),
            "/v1/checkout/sessions" => self.create_checkout_session(r),
            "/v1/billing_portal/sessions" => self.create_portal_session(r),
            _ => unknown_url(r),
        }
    }

    fn create_customer(&self, r: &Recorded) -> (u16, String) {
        let mut customer: Value = serde_json::from_str(CUSTOMER).unwrap();
        let mut state = self.state();
        // The first customer is the documented one; later ones get ids of the same form.
        let id = match state.customers.len() {
            0 => customer["id"].as_str().unwrap().to_owned(),
            n => format!("cus_Mock{n:010}"),
        };
        state.customers.push(id.clone());
        customer["id"] = json!(id);
        customer["email"] = json!(r.field("email"));
        customer["name"] = json!(r.field("name"));
        customer["metadata"] = json!(metadata(&r.form, "metadata"));
        (200, customer.to_string())
    }

    fn create_checkout_session(&self, r: &Recorded) -> (u16, String) {
        let mut session: Value = serde_json::from_str(CHECKOUT).unwrap();
        if r.field("mode") != Some("subscription") {
            return missing("mode", "Nexus only creates subscription sessions");
        }
        let Some(price) = r.field("line_items[0][price]") else {
            return missing("line_items[0][price]", "Missing required param");
        };
        if !self.knows_price(price) {
            let mut body: Value = serde_json::from_str(errors::INVALID_REQUEST).unwrap();
            body["error"]["message"] = json!(format!("No such price: '{price}'"));
            body["error"]["param"] = json!("line_items[0][price]");
            return (400, body.to_string());
        }
        if r.field("line_items[0][quantity]") != Some("1") {
            return missing("line_items[0][quantity]", "Nexus subscribes to one unit");
        }
        if let Some(refusal) = self.unknown_customer(r) {
            return refusal;
        }
        if r.field("success_url").is_none() {
            return missing("success_url", "Missing required param");
        }
        if let Some(days) = r.field("subscription_data[trial_period_days]")
            && days.parse::<u32>().ok().is_none_or(|d| d < 1)
        {
            return missing(
                "subscription_data[trial_period_days]",
                "Trial period days must be at least 1",
            );
        }
        let documented = session["id"].as_str().unwrap().to_owned();
        let id = {
            let mut state = self.state();
            state.sessions += 1;
            match state.sessions {
                1 => documented.clone(),
                n => format!("{documented}{n}"),
            }
        };
        let url = session["url"].as_str().unwrap().replace(&documented, &id);
        session["id"] = json!(id);
        session["url"] = json!(url);
        session["customer"] = json!(r.field("customer"));
        session["client_reference_id"] = json!(r.field("client_reference_id"));
        session["success_url"] = json!(r.field("success_url"));
        session["cancel_url"] = json!(r.field("cancel_url"));
        (200, session.to_string())
    }

    fn create_portal_session(&self, r: &Recorded) -> (u16, String) {
        if r.field("customer").is_none() {
            return missing("customer", "Missing required param");
        }
        if let Some(refusal) = self.unknown_customer(r) {
            return refusal;
        }
        let mut session: Value = serde_json::from_str(PORTAL).unwrap();
        session["customer"] = json!(r.field("customer"));
        session["return_url"] = json!(r.field("return_url"));
        (200, session.to_string())
    }

    /// Prices this Stripe has: those of the subscriptions it holds.
    fn knows_price(&self, price: &str) -> bool {
        self.state()
            .subscriptions
            .iter()
            .any(|s| s.pointer("/items/data/0/price/id").and_then(Value::as_str) == Some(price))
    }

    fn unknown_customer(&self, r: &Recorded) -> Option<(u16, String)> {
        let customer = r.field("customer")?;
        if self.state().customers.iter().any(|c| c == customer) {
            return None;
        }
        Some((
            400,
            error_body(
                "invalid_request_error",
                Some(("resource_missing", "customer")),
                &format!("No such customer: '{customer}'"),
            ),
        ))
    }

    fn read(&self, r: &Recorded) -> Response {
        if let Some(id) = r.path.strip_prefix("/v1/subscriptions/") {
            let held = self
                .state()
                .subscriptions
                .iter()
                .find(|s| s["id"] == id)
                .cloned();
            return match held {
                Some(subscription) => answer(200, subscription.to_string()),
                None => {
                    let (status, body) = not_found("subscription", id);
                    answer(status, body)
                }
            };
        }
        let (status, body) = match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/v1/subscriptions") => {
                let all = r.param("status") == Some("all");
                let held = self.state().subscriptions.clone();
                let listed = held.into_iter().filter(|s| {
                    // Without status=all Stripe leaves out canceled subscriptions.
                    let status = s["status"].as_str().unwrap_or_default();
                    all || !matches!(status, "canceled" | "incomplete_expired")
                });
                page(r, "/v1/subscriptions", listed)
            }
            ("GET", "/v1/invoices") => {
                let held = self.state().invoices.clone();
                page(r, "/v1/invoices", held.into_iter())
            }
            _ => unknown_url(r),
        };
        answer(status, body)
    }
}

/// One page of a list, by `customer`, `limit` (default 10, at most 100) and
/// `starting_after`.
fn page(r: &Recorded, url: &str, items: impl Iterator<Item = Value>) -> (u16, String) {
    let limit = match r.param("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return (
                400,
                error_body(
                    "invalid_request_error",
                    Some(("parameter_invalid_integer", "limit")),
                    "This value must be between 1 and 100.",
                ),
            );
        }
    };
    let mut items: Vec<Value> = items
        .filter(|i| r.param("customer").is_none_or(|c| i["customer"] == c))
        .collect();
    if let Some(after) = r.param("starting_after") {
        let Some(at) = items.iter().position(|i| i["id"] == after) else {
            return not_found("object", after);
        };
        items.drain(..=at);
    }
    let has_more = items.len() > limit;
    items.truncate(limit);
    let list = json!({"object": "list", "data": items, "has_more": has_more, "url": url});
    (200, list.to_string())
}

/// Form or query pairs, decoded.
fn decode(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

/// The `prefix[key]=value` fields as a map.
fn metadata(form: &[(String, String)], prefix: &str) -> serde_json::Map<String, Value> {
    form.iter()
        .filter_map(|(k, v)| {
            let key = k
                .strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')?;
            Some((key.to_owned(), json!(v)))
        })
        .collect()
}

fn answer(status: u16, body: impl Into<String>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .header("request-id", "req_mock")
        .body(body.into())
}

/// A body in the shape of the files' errors.
fn error_body(kind: &str, code_param: Option<(&str, &str)>, message: &str) -> String {
    let mut error = json!({"type": kind, "message": message});
    if let Some((code, param)) = code_param {
        error["code"] = json!(code);
        error["param"] = json!(param);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    json!({ "error": error }).to_string()
}

fn error(status: u16, kind: &str, code_param: Option<(&str, &str)>, message: &str) -> Response {
    answer(status, error_body(kind, code_param, message))
}

fn missing(param: &str, message: &str) -> (u16, String) {
    (
        400,
        error_body(
            "invalid_request_error",
            Some(("parameter_missing", param)),
            message,
        ),
    )
}

fn not_found(what: &str, id: &str) -> (u16, String) {
    (
        404,
        error_body(
            "invalid_request_error",
            Some(("resource_missing", "id")),
            &format!("No such {what}: '{id}'"),
        ),
    )
}

fn unknown_url(r: &Recorded) -> (u16, String) {
    (
        404,
        error_body(
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({}: {}).", r.method, r.path),
        ),
    )
}
