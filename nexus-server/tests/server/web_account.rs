//! The account pages as a browser without scripts uses them: `/app/keys` (a key checked
//! with the local Binance), `/app/billing` (billing off, and on with the local Stripe)
//! and `/app/settings` (alert preferences, other sessions, the password), on SQLite and
//! PostgreSQL. Forms are posted with the CSRF cookie repeated in `_csrf`, as pages do.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use nexus_core::UserId;
use nexus_core::billing::Plans;
use nexus_core::ports::accounts::Role;
use nexus_core::ports::sessions::{NewSession, SessionId};
use nexus_exchanges::mock::binance::BinanceMock;
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::billing::{Billing, BillingSettings};
use nexus_store::Store;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::support::stripe::StripeMock;
use crate::support::{
    BINANCE_KEY, BINANCE_SECRET, Backend, Http, Outbox, Served, TestDb, on_each, signed_in,
};

const CSRF: &str = "web-account-test-csrf-token";
const EMAIL: &str = "owner@example.com";
const STRIPE_KEY: &str = "sk_test_nexus_web";
/// The Pro price of the local Stripe's documented subscription.
const PRO_PRICE: &str = "price_1PgafmB7WZ01zgkW6dKueIc5";

/// The server over a test database with the local Binance, and with billing on when a
/// local Stripe is given. Fields drop in order: the server stops before its database goes.
struct World {
    _served: Served,
    api: Http,
    binance: Arc<BinanceMock>,
    stripe: Option<Arc<StripeMock>>,
    outbox: Outbox,
    store: Arc<dyn Store>,
    _db: TestDb,
}

async fn start(backend: Backend, stripe: Option<Arc<StripeMock>>) -> World {
    let db = TestDb::open(backend).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let (binance, venues) = crate::support::local_venues().await;
    let store = Arc::clone(&db.store);
    let sender = outbox.sender();
    let billing_settings = stripe.as_ref().map(|s| BillingSettings {
        secret_key: nexus_core::Secret::new(STRIPE_KEY),
        webhook_secret: nexus_core::Secret::new("whsec_web_account"),
        prices: vec![
            ("pro".to_owned(), PRO_PRICE.to_owned()),
            ("enterprise".to_owned(), "price_enterprise_web".to_owned()),
        ],
        api_base: s.base(),
        trial_days: 7,
        grace: std::time::Duration::from_secs(3 * 86_400),
    });
    let served = Served::start(|url| {
        let state = ApiState::new(Arc::clone(&store), sender, AuthSettings::new(url.clone()))
            .with_venues(Arc::new(venues))
            .with_plans(Plans::default());
        match billing_settings {
            Some(settings) => state.with_billing(Arc::new(
                Billing::new(settings, Arc::clone(&store), Plans::default(), &url).unwrap(),
            )),
            None => state,
        }
    })
    .await;
    World {
        api: Http::new(served.url.clone()),
        _served: served,
        binance,
        stripe,
        outbox,
        store,
        _db: db,
    }
}

async fn plain(backend: Backend) -> World {
    start(backend, None).await
}

async fn with_stripe(backend: Backend) -> World {
    let stripe = StripeMock::start(STRIPE_KEY).await;
    start(backend, Some(stripe)).await
}

/// A browser: its cookies (the session, the CSRF token, a flash message) and the pages.
struct Browser {
    api: Http,
    cookies: BTreeMap<String, String>,
}

/// An answer: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(api: &Http, session: &str) -> Self {
        let mut cookies = BTreeMap::new();
        cookies.insert("nexus_session".to_owned(), session.to_owned());
        cookies.insert("nexus_csrf".to_owned(), CSRF.to_owned());
        Self {
            api: api.clone(),
            cookies,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the cookies an answer sets (and forgets those it removes).
    fn keep(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn answer(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        self.keep(&response);
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.api.client.get(self.api.url(path));
        self.answer(request).await
    }

    /// Posts `fields` and the CSRF token, as the page's form does.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("_csrf", CSRF)];
        all.extend_from_slice(fields);
        let request = self.api.client.post(self.api.url(path)).form(&all);
        self.answer(request).await
    }

    /// Posts `fields` without the CSRF token.
    async fn post_forged(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.api.client.post(self.api.url(path)).form(fields);
        self.answer(request).await
    }

    /// Posts the form, expects the 303 back to `to` and returns the page it leads to (with
    /// the flash message the post left).
    async fn post_and_follow(&mut self, path: &str, fields: &[(&str, &str)], to: &str) -> Page {
        let posted = self.post(path, fields).await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let location = posted.location.unwrap();
        assert_eq!(location, to);
        let path = location.split('#').next().unwrap().to_owned();
        let page = self.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        page
    }
}

/// A signed-in user (created in the store) and their browser.
async fn user(w: &World, email: &str) -> (UserId, String, Browser) {
    let id = UserId::new(uuid::Uuid::new_v4());
    let token = signed_in(&w.store, id, email, Role::User).await;
    let browser = Browser::new(&w.api, &token);
    (id, token, browser)
}

/// `true` when the HTML has an element with `id` marked invalid.
fn invalid(body: &str, id: &str) -> bool {
    body.split('<')
        .any(|tag| tag.contains(&format!("id=\"{id}\"")) && tag.contains("aria-invalid=\"true\""))
}

/// Whether the checkbox with `id` is ticked.
fn ticked(body: &str, id: &str) -> bool {
    let tag = body
        .split('<')
        .find(|tag| tag.starts_with("input") && tag.contains(&format!("id=\"{id}\"")))
        .unwrap_or_else(|| panic!("no checkbox {id}"));
    tag.contains(" checked")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_keys_are_checked_listed_masked_and_deleted() {
    on_each("web exchange keys", plain, |w| async move {
        let mut visitor = Browser::new(&w.api, "");
        visitor.cookies.remove("nexus_session");
        let page = visitor.get("/app/keys").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/login?next=%2Fapp%2Fkeys"));

        let (id, _, mut b) = user(&w, EMAIL).await;
        let page = b.get("/app/keys").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "<h1>Exchange keys</h1>",
            "No keys yet",
            ">Add a key</h2>",
            "<label for=\"f-exchange\">Exchange</label>",
            "<option value=\"binance\" selected>Binance</option>",
            "<option value=\"kraken\">Kraken</option>",
            "<option value=\"coinbase\">Coinbase</option>",
            "<label for=\"f-key\">API key</label>",
            "<label for=\"f-secret\">API secret</label>",
            "<label for=\"f-passphrase\">Passphrase</label>",
            "Add key</button>",
        ] {
            assert!(page.body.contains(text), "{text} in {}", page.body);
        }

        // Binance's refusal is shown above the form; the secret is not written back.
        let wrong = "not-the-secret-of-this-key";
        let key = |secret: &'static str| {
            vec![
                ("exchange", "binance"),
                ("label", "main"),
                ("key", BINANCE_KEY),
                ("secret", secret),
                ("passphrase", ""),
            ]
        };
        let refused = b.post("/app/keys", &key(wrong)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains("The exchange refused the key"),
            "{}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("Signature for this request is not valid"),
            "the venue's own reason: {}",
            refused.body
        );
        assert!(!refused.body.contains(wrong), "the secret is never echoed");
        assert!(refused.body.contains("value=\"main\""), "the name is kept");
        assert!(w.store.list_credentials(id).await.unwrap().is_empty());

        // A missing secret is shown beside its field.
        let empty = b.post("/app/keys", &key("")).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid(&empty.body, "f-secret"), "{}", empty.body);
        assert!(empty.body.contains("1 to 8192 characters"));

        // A key that may not trade is refused with what the venue said it may do.
        w.binance.set_key_permissions(false, false);
        let cannot = b.post("/app/keys", &key(BINANCE_SECRET)).await;
        assert_eq!(cannot.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            cannot.body.contains("The key may not trade"),
            "{}",
            cannot.body
        );
        assert!(!cannot.body.contains(BINANCE_SECRET));

        // Without the CSRF token nothing is done.
        w.binance.set_key_permissions(true, false);
        let forged = b.post_forged("/app/keys", &key(BINANCE_SECRET)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(w.store.list_credentials(id).await.unwrap().is_empty());

        let listed = b
            .post_and_follow("/app/keys", &key(BINANCE_SECRET), "/app/keys")
            .await;
        assert!(
            listed
                .body
                .contains("Binance accepted the key (vmPU…Eh8A); it may read balances and trade."),
            "the venue's check: {}",
            listed.body
        );
        assert!(
            listed
                .body
                .contains("<span class=\"mono\">vmPU…Eh8A</span>")
        );
        assert!(listed.body.contains("Can trade"));
        assert!(!listed.body.contains(BINANCE_SECRET) && !listed.body.contains(BINANCE_KEY));
        let stored = w.store.list_credentials(id).await.unwrap();
        assert_eq!(stored.len(), 1);
        let key_id = stored[0].id.0.to_string();
        let delete = format!("/app/keys/{key_id}/delete");
        assert!(listed.body.contains(&format!("href=\"{delete}\"")));

        // The confirmation page works without scripts; another user cannot open it.
        let confirm = b.get(&delete).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(
            confirm.body.contains("Delete key main?"),
            "{}",
            confirm.body
        );
        assert!(confirm.body.contains("Delete key main</button>"));
        let (_, _, mut other) = user(&w, "other@example.com").await;
        assert_eq!(other.get(&delete).await.status, StatusCode::NOT_FOUND);
        assert_eq!(other.post(&delete, &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(w.store.list_credentials(id).await.unwrap().len(), 1);

        let after = b.post_and_follow(&delete, &[], "/app/keys").await;
        assert!(
            after.body.contains("The Binance key main is deleted."),
            "{}",
            after.body
        );
        assert!(after.body.contains("No keys yet"));
        assert!(w.store.list_credentials(id).await.unwrap().is_empty());
        let audit = w.store.recent(50, None).await.unwrap();
        for action in ["key_added", "key_removed"] {
            assert!(
                audit.iter().any(|r| r.event.action.as_str() == action),
                "{action}"
            );
        }
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_shows_the_plan_and_usage_when_billing_is_off() {
    on_each("web billing off", plain, |w| async move {
        let (_, token, mut b) = user(&w, EMAIL).await;
        let (status, bot) = w
            .api
            .post(
                "/api/v1/bots",
                &json!({"exchange": "paper", "symbol": "BTC/USDT", "strategy": "trend_breakout"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");

        let page = b.get("/app/billing").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "<h1>Billing</h1>",
            "Billing is not enabled on this server",
            "<strong class=\"plan-name\">Free</strong>",
            "<meter id=\"usage-bots\" min=\"0\" max=\"3\" value=\"1\"",
            "1 of 3 running bots",
            "1 of 3 trading pairs",
        ] {
            assert!(page.body.contains(text), "{text} in {}", page.body);
        }
        for absent in ["Upgrade to Pro", "Manage billing", "Invoices"] {
            assert!(!page.body.contains(absent), "{absent}");
        }

        let refused = b
            .post_and_follow("/app/billing/checkout", &[("plan", "pro")], "/app/billing")
            .await;
        assert!(
            refused
                .body
                .contains("Billing is not enabled on this server.")
        );

        let back = b.get("/app/billing?checkout=success").await;
        assert!(back.body.contains("Checkout is complete"));
        let back = b.get("/app/billing?checkout=canceled").await;
        assert!(back.body.contains("Checkout was canceled"));
        let back = b.get("/app/billing?checkout=cancel").await;
        assert!(back.body.contains("Checkout was canceled"));
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_button_goes_to_stripe_checkout() {
    on_each("web billing on", with_stripe, |w| async move {
        let stripe = Arc::clone(w.stripe.as_ref().unwrap());
        let (_, _, mut b) = user(&w, EMAIL).await;
        let page = b.get("/app/billing").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "Upgrade to Pro</button>",
            "Upgrade to Enterprise</button>",
            "Manage billing</button>",
            "action=\"/app/billing/checkout\"",
            "<input type=\"hidden\" name=\"plan\" value=\"pro\">",
            "No invoices yet",
        ] {
            assert!(page.body.contains(text), "{text} in {}", page.body);
        }
        assert!(!page.body.contains("Billing is not enabled"));

        let forged = b
            .post_forged("/app/billing/checkout", &[("plan", "pro")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(
            stripe
                .requests_to("POST", "/v1/checkout/sessions")
                .is_empty()
        );

        let checkout = b.post("/app/billing/checkout", &[("plan", "pro")]).await;
        assert_eq!(checkout.status, StatusCode::SEE_OTHER, "{}", checkout.body);
        let to = checkout.location.unwrap();
        assert!(to.starts_with("https://checkout.stripe.com/"), "{to}");
        let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].field("line_items[0][price]"), Some(PRO_PRICE));
        // Checkout comes back to this page, which says how it went.
        let success = sessions[0].field("success_url").unwrap();
        assert!(
            success.starts_with(&w.api.url("/app/billing?checkout=success")),
            "{success}"
        );
        let cancel = sessions[0].field("cancel_url").unwrap();
        assert_eq!(cancel, w.api.url("/app/billing?checkout=canceled"));

        let portal = b.post("/app/billing/portal", &[]).await;
        assert_eq!(portal.status, StatusCode::SEE_OTHER, "{}", portal.body);
        assert!(portal.location.unwrap().starts_with("https://"));
        assert_eq!(
            stripe.requests_to("POST", "/v1/billing_portal/sessions")[0].field("return_url"),
            Some(w.api.url("/app/billing").as_str())
        );

        // The customer now exists, so the page lists their invoices from Stripe.
        let page = b.get("/app/billing").await;
        assert!(page.body.contains("7FE1103-0003"), "{}", page.body);
        assert!(page.body.contains("29.00 USD"));
        assert!(page.body.contains("href=\"https://invoice.stripe.com/"));

        let unknown = b
            .post_and_follow("/app/billing/checkout", &[("plan", "gold")], "/app/billing")
            .await;
        assert!(
            unknown.body.contains("choose one of the plans shown"),
            "{}",
            unknown.body
        );
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_preferences_are_saved_through_the_form() {
    on_each("web alert preferences", plain, |w| async move {
        let (_, token, mut b) = user(&w, EMAIL).await;
        let page = b.get("/app/settings").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "<h1>Settings</h1>",
            ">Profile</h2>",
            ">Password</h2>",
            ">Alerts</h2>",
            ">Sessions</h2>",
            EMAIL,
            "Save alert preferences</button>",
            "<label for=\"f-webhook_url\">Webhook URL</label>",
        ] {
            assert!(page.body.contains(text), "{text} in {}", page.body);
        }
        // The defaults: fills and errors emailed.
        assert!(ticked(&page.body, "f-email-fills"));
        assert!(ticked(&page.body, "f-email-errors"));
        assert!(!ticked(&page.body, "f-email-daily_summary"));

        let saved = b
            .post_and_follow(
                "/app/settings/alerts",
                &[
                    ("email", "errors"),
                    ("email", "daily_summary"),
                    ("webhook_events", "errors"),
                    ("webhook_url", ""),
                ],
                "/app/settings#alerts",
            )
            .await;
        assert!(
            saved.body.contains("Alert preferences saved."),
            "{}",
            saved.body
        );
        assert!(!ticked(&saved.body, "f-email-fills"));
        assert!(ticked(&saved.body, "f-email-daily_summary"));
        assert!(ticked(&saved.body, "f-webhook_events-errors"));
        assert!(!ticked(&saved.body, "f-webhook_events-fills"));
        let (status, stored) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            stored["email"],
            json!({"fills": false, "gate_blocks": false, "errors": true, "daily_summary": true})
        );
        assert_eq!(stored["webhook"]["events"], json!(["errors"]));

        // A refused URL is shown beside its field, and nothing changes.
        let refused = b
            .post(
                "/app/settings/alerts",
                &[
                    ("email", "fills"),
                    ("webhook_url", "http://hooks.example.com/nexus"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid(&refused.body, "f-webhook_url"), "{}", refused.body);
        assert!(refused.body.contains("Must be an https:// URL"));
        assert!(
            refused
                .body
                .contains("value=\"http://hooks.example.com/nexus\""),
            "what was typed stays"
        );
        let (_, unchanged) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(unchanged, stored);

        // A new webhook's secret is shown once, on the answer.
        let with_hook = b
            .post(
                "/app/settings/alerts",
                &[
                    ("email", "errors"),
                    ("webhook_events", "fills"),
                    ("webhook_url", "https://93.184.215.14/nexus"),
                ],
            )
            .await;
        assert_eq!(with_hook.status, StatusCode::OK, "{}", with_hook.body);
        assert!(with_hook.body.contains("Your webhook's signing secret"));
        let (_, hooked) = w.api.get("/api/v1/me/alerts", Some(&token)).await;
        assert_eq!(hooked["webhook"]["url"], "https://93.184.215.14/nexus");
        let again = b.get("/app/settings").await;
        assert!(
            !again.body.contains("Your webhook's signing secret"),
            "shown once"
        );
        assert!(again.body.contains("value=\"https://93.184.215.14/nexus\""));

        // Alert emails link to the section.
        let section = b.get("/app/settings/alerts").await;
        assert_eq!(section.status, StatusCode::SEE_OTHER);
        assert_eq!(section.location.as_deref(), Some("/app/settings#alerts"));

        let forged = b
            .post_forged("/app/settings/alerts", &[("email", "fills")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        w
    })
    .await;
}

/// Another session of `user` (another browser), with its user agent: its token.
async fn another_session(store: &Arc<dyn Store>, user: UserId, agent: &str) -> String {
    let now = Utc::now();
    let (token, hash) = nexus_server::auth::tokens::generate();
    store
        .create_session(&NewSession {
            id: SessionId(uuid::Uuid::new_v4()),
            user,
            token: hash,
            created_at: now,
            started_at: now,
            expires_at: now + chrono::Duration::days(1),
            user_agent: Some(agent.to_owned()),
            ip: Some("198.51.100.7".to_owned()),
        })
        .await
        .unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sessions_are_listed_and_signed_out() {
    on_each("web sessions", plain, |w| async move {
        let (id, token, mut b) = user(&w, EMAIL).await;
        let firefox = another_session(
            &w.store,
            id,
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .await;
        let cli = another_session(&w.store, id, "curl/8.5.0").await;
        let (_, _, mut stranger) = user(&w, "stranger@example.com").await;

        let page = b.get("/app/settings").await;
        assert!(page.body.contains("Firefox on Linux"), "{}", page.body);
        assert!(page.body.contains(">curl</span>"));
        assert!(page.body.contains("198.51.100.7"));
        assert_eq!(
            page.body.matches("This session").count(),
            1,
            "{}",
            page.body
        );
        let current = page.body.find("This session").unwrap();
        assert!(
            current < page.body.find("Firefox on Linux").unwrap(),
            "this session is listed first"
        );
        assert!(page.body.contains("Sign out other sessions</button>"));

        let done = b
            .post_and_follow(
                "/app/settings/sessions/others",
                &[],
                "/app/settings#sessions",
            )
            .await;
        assert!(
            done.body.contains("Signed out 2 other sessions."),
            "{}",
            done.body
        );
        assert!(!done.body.contains("Firefox on Linux"));
        for other in [&firefox, &cli] {
            assert_eq!(
                w.api.get("/api/v1/me", Some(other)).await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            w.api.get("/api/v1/me", Some(&token)).await.0,
            StatusCode::OK,
            "this one stays"
        );
        assert_eq!(
            stranger.get("/app/settings").await.status,
            StatusCode::OK,
            "another user's stays"
        );
        let audit = w.store.recent(50, None).await.unwrap();
        assert!(audit.iter().any(|r| r.event.action.as_str() == "sign_out"
            && r.event.subject.as_deref() == Some(&format!("{EMAIL}: 2 other sessions")[..])));

        let none = b
            .post_and_follow(
                "/app/settings/sessions/others",
                &[],
                "/app/settings#sessions",
            )
            .await;
        assert!(
            none.body
                .contains("There were no other sessions to sign out.")
        );
        assert_eq!(
            b.post_forged("/app/settings/sessions/others", &[])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_changed_through_an_emailed_link() {
    on_each("web password change", plain, |w| async move {
        let (_, token, mut b) = user(&w, EMAIL).await;
        assert_eq!(
            b.post_forged("/app/settings/password", &[]).await.status,
            StatusCode::FORBIDDEN
        );
        assert!(w.outbox.to(EMAIL).is_empty());
        let page = b
            .post_and_follow("/app/settings/password", &[], "/app/settings#password")
            .await;
        assert!(
            page.body.contains(&format!(
                "A link to choose a new password is on its way to {EMAIL}."
            )),
            "{}",
            page.body
        );
        let reset = w.outbox.token(EMAIL, "Reset");

        // The reset page the link opens (a form of its own), as a browser posts it.
        let mut visitor = Browser::new(&w.api, "");
        visitor.cookies.remove("nexus_session");
        let done = visitor
            .post(
                "/reset",
                &[("token", &reset), ("password", "a brand new password")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(
            w.api.get("/api/v1/me", Some(&token)).await.0,
            StatusCode::UNAUTHORIZED,
            "every session is signed out"
        );
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/login",
                &json!({"email": EMAIL, "password": "a brand new password"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["token"].is_string());
        let signed_out = b.get("/app/settings").await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        assert_eq!(
            signed_out.location.as_deref(),
            Some("/login?next=%2Fapp%2Fsettings")
        );
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_changed_with_the_current_one() {
    on_each("web password change in place", plain, |w| async move {
        let (id, token, mut b) = user(&w, EMAIL).await;
        // Made with Google: no password, so no form to change it; the link sets one.
        let page = b.get("/app/settings").await;
        assert!(page.body.contains("You sign in with Google"), "{}", page.body);
        assert!(!page.body.contains("id=\"f-current_password\""));
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/password",
                &json!({"current_password": "anything at all", "new_password": "a brand new password"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "no_password");

        let old = "the old password";
        let hash = nexus_server::auth::passwords::hash(nexus_core::Secret::new(old.to_owned()))
            .await
            .unwrap();
        w.store.set_password(id, &hash, Utc::now()).await.unwrap();
        w.store.mark_email_verified(id, Utc::now()).await.unwrap();
        let other = another_session(&w.store, id, "curl/8.5.0").await;
        let page = b.get("/app/settings").await;
        assert!(page.body.contains("id=\"f-current_password\""), "{}", page.body);

        // Each mistake beside its field, the page answered 422, nothing changed.
        let wrong = b
            .post(
                "/app/settings/password/change",
                &[
                    ("current_password", "not the old one"),
                    ("new_password", "a brand new password"),
                    ("confirm_password", "a brand new password"),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid(&wrong.body, "f-current_password"), "{}", wrong.body);
        assert!(wrong.body.contains("That is not your current password."));
        let differ = b
            .post(
                "/app/settings/password/change",
                &[
                    ("current_password", old),
                    ("new_password", "a brand new password"),
                    ("confirm_password", "a brand new passwort"),
                ],
            )
            .await;
        assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid(&differ.body, "f-confirm_password"));
        assert!(differ.body.contains("The two new passwords differ."));
        let weak = b
            .post(
                "/app/settings/password/change",
                &[
                    ("current_password", old),
                    ("new_password", "short"),
                    ("confirm_password", "short"),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(invalid(&weak.body, "f-new_password"), "{}", weak.body);
        assert_eq!(
            w.api.get("/api/v1/me", Some(&other)).await.0,
            StatusCode::OK,
            "nothing changed yet"
        );
        assert_eq!(
            b.post_forged(
                "/app/settings/password/change",
                &[("current_password", old), ("new_password", "x"), ("confirm_password", "x")],
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );

        let done = b
            .post_and_follow(
                "/app/settings/password/change",
                &[
                    ("current_password", old),
                    ("new_password", "a brand new password"),
                    ("confirm_password", "a brand new password"),
                ],
                "/app/settings#password",
            )
            .await;
        assert!(
            done.body
                .contains("Password changed; 1 other session was signed out."),
            "{}",
            done.body
        );
        assert_eq!(
            w.api.get("/api/v1/me", Some(&other)).await.0,
            StatusCode::UNAUTHORIZED,
            "the other session is signed out"
        );
        assert_eq!(
            w.api.get("/api/v1/me", Some(&token)).await.0,
            StatusCode::OK,
            "this one stays"
        );
        let login = |password: &'static str| {
            let api = w.api.clone();
            async move {
                api.post(
                    "/api/v1/auth/login",
                    &json!({"email": EMAIL, "password": password}),
                    None,
                )
                .await
                .0
            }
        };
        assert_eq!(login(old).await, StatusCode::UNAUTHORIZED);
        assert_eq!(login("a brand new password").await, StatusCode::OK);
        let audit = w.store.recent(50, None).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|r| r.event.action.as_str()).collect();
        assert!(actions.contains(&"password_changed"), "{actions:?}");
        assert!(actions.contains(&"password_change_failed"), "{actions:?}");

        // Through the API: the same checks, as JSON.
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/password",
                &json!({"current_password": "a brand new password", "new_password": "short"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "weak_password");
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/password",
                &json!({"current_password": "a brand new password", "new_password": "yet another password"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/password",
                &json!({"current_password": "a brand new password", "new_password": "yet another password"}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The session the sign-in above opened is the other one now.
        assert_eq!(
            body["message"],
            "password changed; 1 other session was signed out"
        );
        assert_eq!(login("yet another password").await, StatusCode::OK);
        w
    })
    .await;
}
