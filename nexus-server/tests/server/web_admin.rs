//! The administrators' pages under `/admin`, as a browser without scripts uses them: who
//! may open them, the role form going through the API's operation (and the audit page
//! showing it), the queue's figures, the email log, the gate's decisions and the
//! overview's counts; on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nexus_core::UserId;
use nexus_core::ports::accounts::Role;
use nexus_core::ports::emails::{EmailFilter, EmailState};
use nexus_core::ports::jobs::{FailOutcome, JobKind, NewJob, RetryPolicy};
use nexus_core::regime::Regime;
use nexus_core::regime::gate::{AdvisorInput, GateAction, GateInputs, GatePolicy, Gatekeeper};
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::email::delivery::{EmailDelivery, QueuedSender, transport};
use nexus_server::email::settings::EmailSettings;
use nexus_store::Store;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::json;

use crate::support::{Backend, Http, Outbox, Served, TestDb, eventually, on_each, signed_in};

/// The CSRF cookie the test browser holds (and repeats in forms).
const CSRF: &str = "web-admin-test-csrf-token";

const ADMIN_EMAIL: &str = "ops@nexus.example";
const USER_EMAIL: &str = "liam@example.com";

/// Every page of the admin area.
const PAGES: [&str; 8] = [
    "/admin",
    "/admin/users",
    "/admin/audit",
    "/admin/gate",
    "/admin/emails",
    "/admin/queue",
    "/admin/billing",
    "/admin/llm",
];

/// The server with queued emails sent by the delivery task to the outbox, an admin and
/// a user signed in. Fields drop in order: the server stops before its database goes.
struct World {
    _served: Served,
    api: Http,
    store: Arc<dyn Store>,
    delivery: tokio::task::JoinHandle<()>,
    admin: String,
    admin_id: UserId,
    user: String,
    user_id: UserId,
    _db: TestDb,
}

impl Drop for World {
    fn drop(&mut self) {
        self.delivery.abort();
    }
}

async fn world(backend: Backend) -> World {
    let db = TestDb::open(backend).await;
    let store = Arc::clone(&db.store);
    let outbox = Outbox::new(&db.path().join("outbox"));
    let mut metrics = None;
    let served = Served::start(|url| {
        let mut state = ApiState::new(Arc::clone(&store), outbox.sender(), AuthSettings::new(url));
        state.email = Arc::new(QueuedSender::new(
            Arc::clone(&store),
            Arc::clone(&state.metrics),
        ));
        metrics = Some(Arc::clone(&state.metrics));
        state
    })
    .await;
    let settings = EmailSettings::default();
    let delivery = tokio::spawn(
        EmailDelivery {
            store: Arc::clone(&store),
            transport: transport(&settings, outbox.sender()).unwrap(),
            settings,
            metrics: metrics.unwrap(),
        }
        .run("web-admin-test".to_owned()),
    );
    let admin_id = UserId::new(uuid::Uuid::new_v4());
    let admin = signed_in(&store, admin_id, ADMIN_EMAIL, Role::Admin).await;
    let user_id = UserId::new(uuid::Uuid::new_v4());
    let user = signed_in(&store, user_id, USER_EMAIL, Role::User).await;
    World {
        api: Http::new(served.url.clone()),
        _served: served,
        store,
        delivery,
        admin,
        admin_id,
        user,
        user_id,
        _db: db,
    }
}

/// What a page answered.
struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

impl World {
    /// `GET path` as the holder of session `token` (`None`: a visitor).
    async fn get(&self, path: &str, token: Option<&str>) -> Page {
        let mut req = self
            .api
            .client
            .get(self.api.url(path))
            .header("accept", "text/html");
        req = req.header(COOKIE, cookies(token));
        page(req).await
    }

    /// Posts `form` to `path` as the holder of `token`.
    async fn post(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .api
            .client
            .post(self.api.url(path))
            .header("accept", "text/html")
            .header(COOKIE, cookies(Some(token)))
            .form(form);
        page(req).await
    }

    async fn role_of(&self, id: UserId) -> Role {
        self.store.user(id).await.unwrap().unwrap().role
    }
}

fn cookies(token: Option<&str>) -> String {
    match token {
        Some(token) => format!("nexus_session={token}; nexus_csrf={CSRF}"),
        None => format!("nexus_csrf={CSRF}"),
    }
}

async fn page(req: reqwest::RequestBuilder) -> Page {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    if status.is_success() || status.is_client_error() || status.is_server_error() {
        let ty = resp.headers().get(CONTENT_TYPE).unwrap().to_str().unwrap();
        assert!(ty.starts_with("text/html"), "{status}: {ty}");
    }
    Page {
        status,
        location,
        html: resp.text().await.unwrap(),
    }
}

/// The `<tr>` of the first table row of `html` containing `needle`.
fn row<'h>(html: &'h str, needle: &str) -> &'h str {
    let body = html.find("<tbody>").expect("a table");
    let at = body
        + html[body..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in a table"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

/// The value of the overview's figure `label`.
fn tile<'h>(html: &'h str, label: &str) -> &'h str {
    let at = html
        .find(&format!(r#"<span class="label">{label}</span>"#))
        .unwrap_or_else(|| panic!("no figure {label}"));
    let value = r#"<span class="value">"#;
    let start = at + html[at..].find(value).unwrap() + value.len();
    &html[start..start + html[start..].find('<').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn visitors_sign_in_first_and_users_are_refused() {
    on_each("admin pages refused", world, |w| async move {
        for path in PAGES {
            let visitor = w.get(path, None).await;
            assert_eq!(visitor.status, StatusCode::SEE_OTHER, "{path}");
            let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            assert_eq!(
                visitor.location.as_deref(),
                Some(format!("/login?next={next}").as_str()),
                "{path}"
            );

            let user = w.get(path, Some(&w.user)).await;
            assert_eq!(user.status, StatusCode::FORBIDDEN, "{path}");
            assert!(user.html.contains("Not allowed"), "{path}");
            assert!(
                !user.html.contains(r#"aria-label="Administration""#),
                "{path}"
            );
        }
        // A user's post changes nothing, even with a good CSRF token.
        let path = format!("/admin/users/{}/role", w.user_id);
        let promote = [("_csrf", CSRF), ("role", "admin")];
        let answer = w.post(&path, &w.user, &promote).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(w.role_of(w.user_id).await, Role::User);
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_changes_a_role_through_the_form_and_the_audit_log_shows_it() {
    on_each("admin role form", world, |w| async move {
        let users = w.get("/admin/users", Some(&w.admin)).await;
        assert_eq!(users.status, StatusCode::OK);
        for expected in [
            ADMIN_EMAIL,
            USER_EMAIL,
            "Change role",
            r#"<label for="role-"#,
            r#"name="_csrf""#,
            r#"<a href="/admin/users" aria-current="page">Users</a>"#,
            r#"<a href="/admin" aria-current="false">Overview</a>"#,
        ] {
            assert!(users.html.contains(expected), "{expected}");
        }
        let liam = row(&users.html, USER_EMAIL);
        assert!(
            liam.contains(r#"<span class="badge neutral">user</span>"#),
            "{liam}"
        );
        assert!(
            liam.contains("not verified") && liam.contains("free"),
            "{liam}"
        );
        let ops = row(&users.html, ADMIN_EMAIL);
        assert!(
            ops.contains(r#"<span class="badge warning">admin</span>"#),
            "{ops}"
        );

        let path = format!("/admin/users/{}/role", w.user_id);
        // Without the CSRF token nothing happens.
        let forged = w.post(&path, &w.admin, &[("role", "admin")]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(w.role_of(w.user_id).await, Role::User);
        // A role that is not one is shown beside the user's select.
        let odd = w
            .post(&path, &w.admin, &[("_csrf", CSRF), ("role", "owner")])
            .await;
        assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
        let liam = row(&odd.html, USER_EMAIL);
        assert!(liam.contains("Choose user or admin.") && liam.contains(r#"aria-invalid="true""#));

        let done = w
            .post(&path, &w.admin, &[("_csrf", CSRF), ("role", "admin")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(done.location.as_deref(), Some("/admin/users"));
        assert_eq!(w.role_of(w.user_id).await, Role::Admin);

        // The API refuses an admin's own role; the form shows why, beside their row.
        let own = format!("/admin/users/{}/role", w.admin_id);
        let refused = w
            .post(&own, &w.admin, &[("_csrf", CSRF), ("role", "user")])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let ops = row(&refused.html, ADMIN_EMAIL);
        assert!(
            ops.contains("Admins cannot change their own role; ask another admin"),
            "{ops}"
        );
        assert_eq!(w.role_of(w.admin_id).await, Role::Admin);

        // The audit page shows the change: who, what, to whom, from where.
        let audit = w.get("/admin/audit", Some(&w.admin)).await;
        assert_eq!(audit.status, StatusCode::OK);
        let change = row(&audit.html, "<code>role_changed</code>");
        assert!(change.contains(ADMIN_EMAIL), "{change}");
        // The subject is `<id> -> admin`, its `>` escaped.
        assert!(
            change.contains(&format!("{} -&#62; admin", w.user_id)),
            "{change}"
        );
        assert!(change.contains("127.0.0.1"), "{change}");

        // Pages of 50 as the API's, and a search by the exact address.
        let now = Utc::now();
        for i in 0..50 {
            let id = UserId::new(uuid::Uuid::new_v4());
            w.store
                .create_user(id, &format!("u{i}@example.com"), None, Role::User, now)
                .await
                .unwrap();
        }
        let first = w.get("/admin/users", Some(&w.admin)).await;
        assert_eq!(first.html.matches("Change role</button>").count(), 50);
        let start = first.html.find("/admin/users?after=").unwrap();
        let next = &first.html[start..start + first.html[start..].find('"').unwrap()];
        let second = w.get(next, Some(&w.admin)).await;
        assert_eq!(second.status, StatusCode::OK);
        assert_eq!(second.html.matches("Change role</button>").count(), 2);
        assert!(second.html.contains(">First page</a>"));
        let found = w
            .get("/admin/users?email=LIAM%40example.com", Some(&w.admin))
            .await;
        assert_eq!(found.html.matches("Change role</button>").count(), 1);
        assert!(found.html.contains(USER_EMAIL));
        let none = w
            .get("/admin/users?email=nobody%40example.com", Some(&w.admin))
            .await;
        assert!(none.html.contains("No users found"));
        w
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_queue_emails_gate_and_overview_pages_show_the_deployment() {
    on_each("admin figures", world, |w| async move {
        // A sign-up sends its verification email through the queue.
        let (status, body) = w
            .api
            .post(
                "/api/v1/auth/signup",
                &json!({"email": "ann@example.com", "password": "correct horse battery"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        eventually("the verification email sent", || async {
            let sent = EmailFilter {
                state: Some(EmailState::Sent),
                ..EmailFilter::default()
            };
            !w.store.emails(&sent, 10).await.unwrap().is_empty()
        })
        .await;
        let emails = w.get("/admin/emails", Some(&w.admin)).await;
        assert_eq!(emails.status, StatusCode::OK);
        let sent = row(&emails.html, "ann@example.com");
        assert!(sent.contains("verification"), "{sent}");
        assert!(
            sent.contains(r#"<span class="badge success">sent</span>"#),
            "{sent}"
        );
        let failed = w.get("/admin/emails?state=failed", Some(&w.admin)).await;
        assert!(!failed.html.contains("ann@example.com"));
        assert!(failed.html.contains("No emails"));

        // Two regime checks wait; a cleanup failed its only attempt.
        let now = Utc::now();
        for market in ["a", "b"] {
            let job = NewJob::new(JobKind::RegimeCheck, "{}").unique(market);
            w.store.enqueue(&job, now).await.unwrap().unwrap();
        }
        let mut doomed = NewJob::new(JobKind::Cleanup, "{}");
        doomed.max_attempts = 1;
        w.store.enqueue(&doomed, now).await.unwrap().unwrap();
        let lease = Duration::from_secs(60);
        let claimed = w
            .store
            .claim(&[JobKind::Cleanup], "test", lease, 1, now)
            .await
            .unwrap();
        let outcome = w
            .store
            .fail(
                claimed[0].id,
                "test",
                "disk full",
                RetryPolicy::default(),
                now,
            )
            .await
            .unwrap();
        assert_eq!(outcome, FailOutcome::DeadLettered);

        let queue = w.get("/admin/queue", Some(&w.admin)).await;
        assert_eq!(queue.status, StatusCode::OK);
        let checks = row(&queue.html, "<code>regime_check</code>");
        assert!(checks.contains(r#"<td class="num">2</td>"#), "{checks}");
        assert!(checks.contains("due "), "{checks}");
        let dead = row(&queue.html, "disk full");
        assert!(
            dead.contains("cleanup") && dead.contains("1 of 1"),
            "{dead}"
        );
        assert!(queue.html.contains("does not run the scheduler"));

        // A decision the gate made about a market.
        let inputs = GateInputs {
            exchange: nexus_core::ExchangeId::Paper,
            symbol: "BTC/USDT".parse().unwrap(),
            action: GateAction::Entry,
            regime: Some(Regime::Bear),
            confidence: Some(0.8),
            data_age_ms: Some(1_000),
            advisor: AdvisorInput::NotAsked,
        };
        let decision = Gatekeeper::new(GatePolicy::default()).decide(inputs, now);
        w.store.record(&decision).await.unwrap();
        let gate = w.get("/admin/gate", Some(&w.admin)).await;
        assert_eq!(gate.status, StatusCode::OK);
        let market = row(&gate.html, "paper BTC/USDT");
        for expected in ["bear", "80%", "blocked", "The bear regime blocks it"] {
            assert!(market.contains(expected), "{expected}: {market}");
        }

        // The overview counts them.
        let overview = w.get("/admin", Some(&w.admin)).await;
        assert_eq!(overview.status, StatusCode::OK);
        for (label, value) in [
            ("Users", "3"),
            ("Running bots", "0"),
            ("Queued jobs", "2"),
            ("Dead jobs", "1"),
            ("Emails failed", "0"),
        ] {
            assert_eq!(tile(&overview.html, label), value, "{label}");
        }
        assert!(overview.html.contains(r#"href="/admin/queue""#));

        // The pages with nothing yet say so.
        let billing = w.get("/admin/billing", Some(&w.admin)).await;
        assert!(billing.html.contains("No billing events"));
        let llm = w.get("/admin/llm", Some(&w.admin)).await;
        assert!(llm.html.contains("No calls in 30 days"));
        w
    })
    .await;
}
