//! The web app over HTTP, as a browser without scripts uses it: the account forms end to
//! end, CSRF, error pages, the page CSP, cached assets and the first page's weight. The
//! same flows in a real Chromium are the `browser` tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use nexus_server::api::{ApiState, AuthSettings};
use reqwest::StatusCode;

use crate::support::{Backend, Outbox, Served, TestDb};

struct World {
    url: String,
    outbox: Outbox,
    _served: Served,
    _db: TestDb,
}

async fn world() -> World {
    let db = TestDb::open(Backend::Sqlite).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let store = Arc::clone(&db.store);
    let sender = outbox.sender();
    let served = Served::start(|url| ApiState::new(store, sender, AuthSettings::new(url))).await;
    World {
        url: served.url.clone(),
        outbox,
        _served: served,
        _db: db,
    }
}

/// A browser without scripts: keeps cookies, follows no redirects, asks for HTML.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// An answer: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let resp = req
            .header("accept", "text/html,application/xhtml+xml")
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in resp.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// Posts a form with the CSRF cookie repeated in `_csrf`, as the pages' forms do.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.cookies.get("nexus_csrf").cloned().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let req = self.http.post(format!("{}{path}", self.base)).form(&form);
        self.send(req).await
    }
}

#[tokio::test]
async fn an_account_is_made_verified_and_signed_into_with_the_forms() {
    let w = world().await;
    let mut b = Browser::new(&w.url);
    let form = b.get("/signup").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(r#"<label for="f-email">Email</label>"#),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains(r#"<label for="f-password">Password</label>"#)
    );
    assert!(form.body.contains("Sign up</button>"));
    assert!(
        b.cookies.contains_key("nexus_csrf"),
        "a visitor's form gets a CSRF token"
    );

    // A weak password is shown beside its field, the address kept.
    let weak = b
        .post(
            "/signup",
            &[("email", "ann@example.com"), ("password", "short")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.body.contains(r#"id="f-password-error""#),
        "{}",
        weak.body
    );
    assert!(weak.body.contains(r#"value="ann@example.com""#));
    assert!(weak.body.contains(r#"aria-invalid="true""#));

    let sent = b
        .post(
            "/signup",
            &[
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.body.contains("Check your inbox"), "{}", sent.body);
    let token = w.outbox.token("ann@example.com", "Confirm");

    let verify = b.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(verify.status, StatusCode::OK);
    let verified = b
        .post(
            "/verify",
            &[("token", &token), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER);
    assert_eq!(verified.location.as_deref(), Some("/login"));
    let login = b.get("/login").await;
    assert!(
        login.body.contains("Your email address is confirmed"),
        "the flash shows once"
    );
    assert!(
        !b.get("/login")
            .await
            .body
            .contains("Your email address is confirmed")
    );

    let wrong = b
        .post(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains(r#"role="alert""#), "{}", wrong.body);

    let signed_in = b
        .post(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "correct horse battery"),
                ("next", "/app"),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location.as_deref(), Some("/app"));
    assert!(b.cookies.contains_key("nexus_session"));
    let app = b.get("/app").await;
    assert_eq!(app.status, StatusCode::OK);
    assert!(
        app.body.contains("ann@example.com"),
        "the header names who is signed in"
    );

    let out = b.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!b.cookies.contains_key("nexus_session"));
    let gate = b.get("/app?from=email").await;
    assert_eq!(gate.status, StatusCode::SEE_OTHER);
    assert_eq!(
        gate.location.as_deref(),
        Some("/login?next=%2Fapp%3Ffrom%3Demail"),
        "a visitor signs in first and comes back"
    );
}

#[tokio::test]
async fn a_form_without_the_csrf_token_changes_nothing() {
    let w = world().await;
    let mut b = Browser::new(&w.url);
    b.get("/signup").await;
    let req = b.http.post(format!("{}/signup", w.url)).form(&[
        ("email", "eve@example.com"),
        ("password", "correct horse battery"),
    ]);
    let forged = b.send(req).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("nothing was done"), "{}", forged.body);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        w.outbox.to("eve@example.com").is_empty(),
        "no account was asked for"
    );
}

#[tokio::test]
async fn errors_are_pages_for_browsers_and_json_for_the_api() {
    let w = world().await;
    let mut b = Browser::new(&w.url);
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found") && missing.body.contains("<main"));
    let api = b.get("/api/v1/no/such").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.body.starts_with('{'), "{}", api.body);
    // A client that does not ask for HTML keeps getting JSON errors.
    let plain = reqwest::get(format!("{}/no/such/page", w.url))
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn pages_forbid_inline_scripts_and_assets_are_cached_by_content() {
    let w = world().await;
    let mut b = Browser::new(&w.url);
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(home.headers["cache-control"], "no-store");
    assert!(!home.body.contains("<script>") && !home.body.contains(" style="));
    assert!(home.body.contains("Pricing") && home.body.contains("25 running bots"));
    let css = asset_urls(&home.body)
        .into_iter()
        .find(|u| u.ends_with(".css"))
        .expect("a stylesheet");
    let sheet = b.get(&css).await;
    assert_eq!(sheet.status, StatusCode::OK);
    assert_eq!(
        sheet.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(sheet.body.contains("--primary"));
    let stale = b.get("/assets/app.00000000.css").await;
    assert_eq!(
        stale.status,
        StatusCode::NOT_FOUND,
        "an old build's name is gone"
    );
}

/// The `/assets/…` URLs a page references.
fn asset_urls(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_first_page_with_its_css_and_scripts_is_under_100_kb_compressed() {
    let w = world().await;
    let http = reqwest::Client::new();
    let fetch = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", w.url);
        async move {
            let resp = http
                .get(url)
                .header("accept-encoding", "gzip, br")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let encoding = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (encoding, resp.bytes().await.unwrap().len())
        }
    };
    let page = reqwest::get(format!("{}/", w.url)).await.unwrap();
    let html = page.text().await.unwrap();
    let mut total = html.len();
    let assets = asset_urls(&html);
    assert_eq!(assets.len(), 3, "css, htmx and app.js: {assets:?}");
    for asset in assets {
        let (encoding, bytes) = fetch(asset.clone()).await;
        assert!(encoding.is_some(), "{asset} is sent compressed");
        total += bytes;
    }
    // The HTML itself is sent uncompressed: it holds the CSRF token (BREACH).
    println!("first page: {total} bytes transferred");
    assert!(total < 100 * 1024, "the first page weighs {total} bytes");
}
