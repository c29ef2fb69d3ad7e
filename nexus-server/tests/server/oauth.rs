//! Sign-in with Google end to end: the real server on port 0 (SQLite, and PostgreSQL when
//! `NEXUS_TEST_POSTGRES_URL` is set) against a local stand-in for Google's OpenID Connect
//! endpoints (a poem server checking the client, the redirect URL and PKCE, and signing ID
//! tokens with a fixed test key).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus_core::ports::accounts::Role;
use nexus_core::{Secret, UserId};
use nexus_server::api::{ApiState, AuthSettings};
use nexus_server::auth::limits::{Allowance, AuthLimits};
use nexus_server::auth::oidc::{GoogleConfig, GoogleOidc};
use nexus_server::auth::passwords;
use nexus_store::Store;
use poem::web::{Data, Form, Json};
use poem::{EndpointExt, IntoResponse, Response, Route, get, handler, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Backend, Bound, Http, Outbox, Served, TestDb, code, on_each};

/// A 2048-bit RSA key made for these tests only (`openssl genrsa -traditional 2048`).
const TEST_KEY: &str = "\
-----BEGIN RSA PRIVATE KEY-----
MIIEpQIBAAKCAQEAzHSz+c7auEZaml65trDTV/dTaVAL2N3MmPPPviWvp35TOUO0
1NarJt4HYomQQsicuhvHlcHH3BFUlhArLQISzWYQ2Mf1+xIOunKYrXTuUS5B3vqc
XYzijtELXHeQSfEcE0hF4ytfIYTDLB67/MSSHwGpeUinmqKQxNotbfR9IcoZK6K1
BGMRqbw8M/IL2x+CeQw9swG4j6mu9E7kt+bJ6FEGOWehX7m2bFHAda17c2DJNRj1
x0DQHSuIm8WyibjOoCPJ7My4OwbJQkpOJwSOS23zaD2GQXwiUnykwzljvEeN2oXb
ApzD+csNqbs0B8Ep5bdi94v1qD0tgZqhYiC4BwIDAQABAoIBAA5YB60Nx/F9WhY8
xrmxnnosQLQBk3szqwrLXCFCd+1/zYCV0UYiCLWRhndxdZIB4gulLvOWOe/PYB2m
ZRO4yASUqwznu8hRWYAs0az6/aHrZV//5ArPe1uQAJnhoi6rKuWSwKMcjrAwJhiJ
JXYpJ6PjlCC3/1jixoD7r4voca5Lj9TszDPsMP1Isz/7fpayDDBK5BicGyd1TVLl
uOW9MoeWUPwk3nItu0DoyLKTCEgKbFCuVC52jDMzpC1EQzo9Jg8rRmf1gOfcpeKx
7Vkj2IAfY3W9kEgiQSGj5UxZc62aZ9tTHWlxS2bs3ssAJAcu3r55fXAejThItsXd
CAE9r9kCgYEA7AHQSxyg90i0Fj6rzR6MOE0dRli126ARLXcc7LHdARihS2OphUSf
VU0x+PzOEPvgkChK5XJHOMCnESnlFCMSyMAVq3yaTA8LRedEaDovssejWEY8oTZP
VTgVm85+1z+5x0opgWwtWZ4Ha/cnAy6F1rRNcST5segqaHqOzU9KnOkCgYEA3cam
yFU384aybfMK/XFwZSW9TEpCTKtrguESBVeXrzYRrGN66QSuv140pxNBkP3/zKNs
8MO8AHpEkFaUbrZb6r39PCExwK44dTjUEEYqe6gslgpUX7qy+wsupT2pqtslkQQs
Y24j8VkHshL/vcfIQEVhTP/GBHP+EpoOr0On128CgYEAntpZqTUL42Y8UPy+BsKY
/wxouADd54ZGCaQzA950M1iwuF3MrLcTyAa9rCn9SdE/xchZITdaWQjTauoYFwXE
jvs7msGz2Z4GqHaRxNXlZSCbAb/E733uyB2H7ed/2MI7+bghV8vIepmzxSgGSk32
KB4UQiPxLZ5nbQuRMwA76IECgYEA1kUzKMUlLNWMGSzEBoCOfjtLPKVWjyrj0ezQ
83ZgqDkONEddHjuW9m/3YSD6rTKq7bVL8Qa74p4/FlGAUcNA5XkwbOMJZcct5xvD
0AFq1FR013YddOw2NtTj+WStQ9U943FrzZlBgtJo3AT9MAgREv+1daZ9VBoZdTGB
VJaCWGMCgYEArFd4dgh0iZ/jVl68QA1lhkCBMU1WNSpIg8UC9ei7wvIBBvu0mCUj
N7HQsy4oo0MSsgN43onWEjJNgTmXlOP9sd+VHLJ64LHrM4stvDWgnjDBJvgZqhsG
1GT9St+QoD7+4LXlZcIoDoPE5IOFTN1YNsLQuWL6wu5LXzKNUmSzR+s=
-----END RSA PRIVATE KEY-----
";

const CLIENT_ID: &str = "nexus-test.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-mock-client-secret";

/// What the test told the provider about an authorization code it "issued".
struct Grant {
    /// The `code_challenge` from the authorization URL.
    challenge: String,
    /// The ID token's claims.
    claims: Value,
    /// A change to the signed token: it no longer verifies.
    tamper: bool,
}

/// The stand-in for Google.
struct Provider {
    url: String,
    redirect_uri: String,
    key: EncodingKey,
    /// The key id of the published key, and of the keys tokens are signed with.
    kid: Mutex<String>,
    grants: Mutex<HashMap<String, Grant>>,
    jwks_fetches: AtomicUsize,
    /// When set, the token endpoint answers with this status.
    token_failure: Mutex<Option<u16>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn oauth_error(status: u16, error: &str) -> Response {
    Json(json!({ "error": error, "error_description": "refused by the mock" }))
        .with_status(poem::http::StatusCode::from_u16(status).unwrap())
        .into_response()
}

#[handler]
fn token_endpoint(
    Data(p): Data<&Arc<Provider>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(status) = *p.token_failure.lock().unwrap() {
        return oauth_error(status, "server_error");
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return oauth_error(401, "invalid_client");
    }
    if field("grant_type") != "authorization_code" {
        return oauth_error(400, "unsupported_grant_type");
    }
    if field("redirect_uri") != p.redirect_uri {
        return oauth_error(400, "redirect_uri_mismatch");
    }
    // A code works once.
    let Some(grant) = p.grants.lock().unwrap().remove(field("code")) else {
        return oauth_error(400, "invalid_grant");
    };
    let verifier = field("code_verifier");
    if verifier.len() < 43 || b64(&Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return oauth_error(400, "invalid_grant");
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(p.kid.lock().unwrap().clone());
    let mut id_token = jsonwebtoken::encode(&header, &grant.claims, &p.key).unwrap();
    if grant.tamper {
        let mut claims = grant.claims.clone();
        claims["email"] = json!("mallory@example.com");
        let parts: Vec<&str> = id_token.split('.').collect();
        let payload = b64(claims.to_string().as_bytes());
        id_token = format!("{}.{payload}.{}", parts[0], parts[2]);
    }
    Json(json!({
        "access_token": "ya29.mock-access-token",
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": 3599,
        "scope": "openid email",
    }))
    .into_response()
}

#[handler]
fn jwks_endpoint(Data(p): Data<&Arc<Provider>>) -> Json<Value> {
    p.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let mut jwk = Jwk::from_encoding_key(&p.key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(p.kid.lock().unwrap().clone());
    Json(serde_json::to_value(JwkSet { keys: vec![jwk] }).unwrap())
}

impl Provider {
    async fn start(redirect_uri: String) -> Arc<Self> {
        let acceptor = nexus_server::server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = poem::listener::Acceptor::local_addr(&acceptor)[0]
            .as_socket_addr()
            .copied()
            .unwrap();
        let provider = Arc::new(Self {
            url: format!("http://{addr}"),
            redirect_uri,
            key: EncodingKey::from_rsa_pem(TEST_KEY.as_bytes()).unwrap(),
            kid: Mutex::new("key-1".into()),
            grants: Mutex::new(HashMap::new()),
            jwks_fetches: AtomicUsize::new(0),
            token_failure: Mutex::new(None),
        });
        let app = Route::new()
            .at("/token", post(token_endpoint))
            .at("/certs", get(jwks_endpoint))
            .data(Arc::clone(&provider));
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        provider
    }

    fn config(&self) -> GoogleConfig {
        let mut config = GoogleConfig::new(CLIENT_ID, Secret::new(CLIENT_SECRET));
        config.auth_url = format!("{}/auth", self.url);
        config.token_url = format!("{}/token", self.url);
        config.jwks_url = format!("{}/certs", self.url);
        config.issuer = self.url.clone();
        config
    }

    /// An authorization code for the sign-in that `begun` started, whose ID token has
    /// these claims.
    fn grant(&self, begun: &Begun, claims: Value, tamper: bool) -> String {
        let code = format!("4/mock-code-{}", uuid::Uuid::new_v4().simple());
        self.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                challenge: begun.params["code_challenge"].clone(),
                claims,
                tamper,
            },
        );
        code
    }

    /// The claims Google would sign for `sub` / `email` in the sign-in `begun`.
    fn claims(&self, begun: &Begun, sub: &str, email: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.url,
            "azp": CLIENT_ID,
            "aud": CLIENT_ID,
            "sub": sub,
            "email": email,
            "email_verified": true,
            "nonce": begun.params["nonce"],
            "iat": now,
            "exp": now + 3600,
        })
    }
}

/// The API server over a test database, with Google's local stand-in. Fields drop in
/// order: the server stops before its database is removed.
struct Running {
    _served: Served,
    url: String,
    store: Arc<dyn Store>,
    provider: Arc<Provider>,
    http: reqwest::Client,
    outbox: Outbox,
    _db: TestDb,
}

async fn start(backend: Backend, google: bool) -> Running {
    let db = TestDb::open(backend).await;
    let bound = Bound::new().await;
    let public_url = bound.url.clone();
    let provider = Provider::start(format!("{public_url}/api/v1/auth/oauth/google/callback")).await;
    let outbox = Outbox::new(&db.path().join("outbox"));
    let mut state = ApiState::new(
        Arc::clone(&db.store),
        outbox.sender(),
        AuthSettings::new(public_url.clone()),
    );
    // Every request comes from 127.0.0.1: room for all of them.
    let plenty = Allowance {
        burst: 1000,
        period: Duration::from_secs(60),
    };
    state.limits = AuthLimits::new(plenty, plenty);
    if google {
        let oidc = GoogleOidc::new(provider.config(), &public_url).unwrap();
        state = state.with_oidc(Arc::new(oidc));
    }
    Running {
        _served: bound.serve(state),
        url: public_url,
        http: Http::new("").client,
        store: Arc::clone(&db.store),
        provider,
        outbox,
        _db: db,
    }
}

async fn on_both<F, Fut>(name: &str, test: F)
where
    F: Fn(Running) -> Fut,
    Fut: std::future::Future<Output = Running>,
{
    on_each(name, |backend| start(backend, true), test).await;
}

/// A callback's query string.
type Query<'a> = &'a [(&'a str, &'a str)];

/// A sign-in started with `GET …/start`: the authorization URL's parameters and the state
/// cookie.
struct Begun {
    location: String,
    params: HashMap<String, String>,
    cookie: String,
    set_cookie: String,
}

/// A callback's answer.
struct Answer {
    status: StatusCode,
    body: Value,
    set_cookies: Vec<String>,
    location: Option<String>,
}

impl Running {
    async fn begin(&self) -> Begun {
        let resp = self
            .http
            .get(format!("{}/api/v1/auth/oauth/google/start", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let set_cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("nexus_oauth_state="))
            .unwrap();
        let cookie = set_cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("nexus_oauth_state=")
            .to_owned();
        let params = reqwest::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        Begun {
            location,
            params,
            cookie,
            set_cookie,
        }
    }

    /// The browser coming back from Google with `query`, carrying `cookie` (the state
    /// cookie's value) if any.
    async fn callback(&self, query: &[(&str, &str)], cookie: Option<&str>) -> Answer {
        self.callback_accepting(query, cookie, "application/json")
            .await
    }

    /// The same, from a client accepting `accept` (a browser: `text/html`).
    async fn callback_accepting(
        &self,
        query: &[(&str, &str)],
        cookie: Option<&str>,
        accept: &str,
    ) -> Answer {
        let mut req = self
            .http
            .get(format!("{}/api/v1/auth/oauth/google/callback", self.url))
            .header("accept", accept)
            .query(query);
        if let Some(cookie) = cookie {
            req = req.header("cookie", format!("nexus_oauth_state={cookie}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let body = resp.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            body,
            set_cookies,
            location,
        }
    }

    /// The whole sign-in: start, Google grants a code for `claims` (made from the begun
    /// sign-in), the browser comes back with it.
    async fn sign_in_with(&self, claims: impl Fn(&Begun) -> Value, tamper: bool) -> Answer {
        let begun = self.begin().await;
        let code = self.provider.grant(&begun, claims(&begun), tamper);
        let state = begun.params["state"].clone();
        self.callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
            .await
    }

    async fn sign_in(&self, sub: &str, email: &str) -> Answer {
        self.sign_in_with(|b| self.provider.claims(b, sub, email), false)
            .await
    }

    async fn me(&self, token: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}/api/v1/me", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn password_login(&self, email: &str, password: &str) -> StatusCode {
        self.http
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Confirms linking a Google identity with `token` (and `password`).
    async fn link(&self, token: &str, password: Option<&str>) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/auth/oauth/google/link", self.url))
            .json(&json!({ "token": token, "password": password }))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap_or(Value::Null))
    }

    /// The audit log's actions (and details), oldest first.
    async fn audit(&self) -> Vec<(String, Value)> {
        let mut records = self.store.recent(200, None).await.unwrap();
        records.reverse();
        records
            .into_iter()
            .map(|r| {
                (
                    r.event.action.as_str().to_owned(),
                    serde_json::from_str(&r.event.details).unwrap(),
                )
            })
            .collect()
    }
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_goes_on_to_the_app_or_back_to_sign_in_with_what_happened() {
    on_both(
        "a_browser_goes_on_to_the_app_or_back_to_sign_in_with_what_happened",
        |s| async move {
            let begun = s.begin().await;
            let code = s.provider.grant(
                &begun,
                s.provider.claims(&begun, "4242", "browser@example.com"),
                false,
            );
            let state = begun.params["state"].clone();
            let query = [("code", code.as_str()), ("state", state.as_str())];
            let html = "text/html,application/xhtml+xml";
            let answer = s
                .callback_accepting(&query, Some(&begun.cookie), html)
                .await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER);
            assert_eq!(answer.location.as_deref(), Some("/app"));
            assert!(
                answer
                    .set_cookies
                    .iter()
                    .any(|c| c.starts_with("nexus_session=") && c.contains("HttpOnly")),
                "{:?}",
                answer.set_cookies
            );
            // The same state again: refused, and the browser is told so on the sign-in page.
            let again = s
                .callback_accepting(&query, Some(&begun.cookie), html)
                .await;
            assert_eq!(again.status, StatusCode::SEE_OTHER);
            assert_eq!(again.location.as_deref(), Some("/login"));
            assert!(
                again
                    .set_cookies
                    .iter()
                    .any(|c| c.starts_with("nexus_flash=")),
                "{:?}",
                again.set_cookies
            );
            assert!(
                !again
                    .set_cookies
                    .iter()
                    .any(|c| c.starts_with("nexus_session=")),
                "no session for a refused sign-in"
            );
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_sign_in_creates_a_verified_account_with_a_working_session() {
    on_both(
        "google_sign_in_creates_a_verified_account_with_a_working_session",
        |s| async move {
            let begun = s.begin().await;
            let p = &begun.params;
            assert!(
                begun
                    .location
                    .starts_with(&format!("{}/auth?", s.provider.url)),
                "{}",
                begun.location
            );
            assert_eq!(p["response_type"], "code");
            assert_eq!(p["client_id"], CLIENT_ID);
            assert_eq!(p["redirect_uri"], s.provider.redirect_uri);
            assert_eq!(p["scope"], "openid email");
            assert_eq!(p["code_challenge_method"], "S256");
            assert_eq!(p["code_challenge"].len(), 43, "base64url of a SHA-256");
            for random in ["state", "nonce"] {
                assert!(p[random].len() >= 43, "{random}: {}", p[random]);
            }
            assert_eq!(begun.cookie, p["state"]);
            for attribute in [
                "HttpOnly",
                "SameSite=Lax",
                "Path=/api/v1/auth/oauth/google",
                "Max-Age=600",
            ] {
                assert!(begun.set_cookie.contains(attribute), "{}", begun.set_cookie);
            }
            assert!(!begun.location.contains(CLIENT_SECRET));

            let code = s.provider.grant(
                &begun,
                s.provider
                    .claims(&begun, "10769150350006150715113082367", "alice@example.com"),
                false,
            );
            let state = p["state"].clone();
            let answer = s
                .callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let token = answer.body["token"].as_str().unwrap().to_owned();
            assert!(answer.body["csrf_token"].as_str().unwrap().len() >= 43);
            assert!(answer.body["expires_at"].is_string());
            let cookies = answer.set_cookies.join("\n");
            assert!(
                cookies.contains(&format!("nexus_session={token}")),
                "{cookies}"
            );
            assert!(cookies.contains("nexus_csrf="), "{cookies}");
            assert!(
                answer
                    .set_cookies
                    .iter()
                    .any(|c| c.starts_with("nexus_oauth_state=;") && c.contains("Max-Age=0")),
                "the state cookie is cleared: {cookies}"
            );
            for secret in [CLIENT_SECRET, "ya29.mock-access-token"] {
                assert!(!answer.body.to_string().contains(secret));
                assert!(!cookies.contains(secret));
            }

            let (status, me) = s.me(&token).await;
            assert_eq!(status, StatusCode::OK, "{me}");
            assert_eq!(me["email"], "alice@example.com");
            assert_eq!(me["email_verified"], true);
            assert_eq!(me["role"], "user");
            let alice = me["id"].as_str().unwrap().to_owned();
            // No password: a password sign-in cannot get in.
            assert_eq!(
                s.password_login("alice@example.com", "").await,
                StatusCode::UNAUTHORIZED
            );

            // The same state again (a replay) is refused, even with its cookie.
            let replay = s
                .callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(
                (replay.status, code_of(&replay)),
                (StatusCode::BAD_REQUEST, "invalid_oauth_state")
            );

            // Signing in again finds the same account (by Google's subject, even if the
            // address changed at Google).
            let again = s
                .sign_in("10769150350006150715113082367", "alice.new@example.com")
                .await;
            assert_eq!(again.status, StatusCode::OK, "{}", again.body);
            let (_, me) = s.me(again.body["token"].as_str().unwrap()).await;
            assert_eq!(me["id"], alice.as_str());
            assert_eq!(me["email"], "alice@example.com");

            let audit = s.audit().await;
            let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(
                actions,
                [
                    "sign_up",
                    "sign_in",
                    "sign_in_failed",
                    "sign_in_failed",
                    "sign_in"
                ],
                "{audit:?}"
            );
            assert_eq!(audit[0].1["provider"], "google");
            assert_eq!(audit[1].1["account"], "created");
            assert_eq!(audit[4].1["account"], "existing");
            let log = format!("{audit:?}");
            for secret in [CLIENT_SECRET, &code, &state, &token] {
                assert!(!log.contains(secret), "the audit log has a secret: {log}");
            }
            s
        },
    )
    .await;
}

fn code_of(answer: &Answer) -> &str {
    code(&answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_identity_is_linked_to_an_existing_account_only_when_its_owner_confirms() {
    on_both(
        "a_google_identity_is_linked_to_an_existing_account_only_when_its_owner_confirms",
        |s| async move {
            let now = chrono::Utc::now();
            let hash = passwords::hash(Secret::new("correct horse")).await.unwrap();
            let bob = UserId::new(uuid::Uuid::new_v4());
            s.store
                .create_user(bob, "Bob@Example.com", Some(&hash), Role::User, now)
                .await
                .unwrap();
            s.store.mark_email_verified(bob, now).await.unwrap();

            // A Google account with Bob's address does not get into Bob's account.
            let answer = s.sign_in("bob-google-id", "bob@example.com").await;
            assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
            assert_eq!(code(&answer.body), "link_required");
            assert!(
                answer
                    .set_cookies
                    .iter()
                    .all(|c| !c.starts_with("nexus_session=")),
                "no session: {:?}",
                answer.set_cookies
            );
            let link_token = answer.body["link_token"].as_str().unwrap().to_owned();
            // The browser's token needs Bob's password.
            for password in [None, Some("wrong horse")] {
                let (status, body) = s.link(&link_token, password).await;
                assert_eq!(
                    (status, code(&body)),
                    (StatusCode::UNAUTHORIZED, "invalid_credentials"),
                    "{password:?}"
                );
            }
            // The link emailed to the address is enough on its own.
            let emailed = s.outbox.token("Bob@Example.com", "Confirm signing in");
            let (status, session) = s.link(&emailed, None).await;
            assert_eq!(status, StatusCode::OK, "{session}");
            let (_, me) = s.me(session["token"].as_str().unwrap()).await;
            assert_eq!(me["id"], bob.to_string(), "linked, not a new account");
            let (status, body) = s.link(&link_token, Some("correct horse")).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "invalid_token"),
                "the browser's token died with the emailed one"
            );
            let (status, _) = s.link(&emailed, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "used once");
            assert!(
                s.outbox
                    .to("Bob@Example.com")
                    .iter()
                    .any(|m| m["subject"].as_str().unwrap().contains("was linked")),
                "Bob is told"
            );
            // From now on Google signs in to Bob's account; his password still works.
            let answer = s.sign_in("bob-google-id", "bob@example.com").await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let (_, me) = s.me(answer.body["token"].as_str().unwrap()).await;
            assert_eq!(me["id"], bob.to_string());
            assert_eq!(
                s.password_login("bob@example.com", "correct horse").await,
                StatusCode::OK
            );

            // Dan confirms with his password instead of the email.
            let dan = UserId::new(uuid::Uuid::new_v4());
            s.store
                .create_user(dan, "dan@example.com", Some(&hash), Role::User, now)
                .await
                .unwrap();
            s.store.mark_email_verified(dan, now).await.unwrap();
            let answer = s.sign_in("dan-google-id", "dan@example.com").await;
            assert_eq!(answer.status, StatusCode::CONFLICT);
            let (status, session) = s
                .link(
                    answer.body["link_token"].as_str().unwrap(),
                    Some("correct horse"),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{session}");
            let (_, me) = s.me(session["token"].as_str().unwrap()).await;
            assert_eq!(me["id"], dan.to_string());

            // An address someone signed up with but never verified: Google's verified owner
            // takes the account over, and the unproven password stops working.
            let carol = UserId::new(uuid::Uuid::new_v4());
            s.store
                .create_user(carol, "carol@example.com", Some(&hash), Role::User, now)
                .await
                .unwrap();
            let (session, _) = {
                let answer = s.sign_in("carol-google-id", "carol@example.com").await;
                assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
                (answer.body["token"].as_str().unwrap().to_owned(), ())
            };
            let (_, me) = s.me(&session).await;
            assert_eq!(me["id"], carol.to_string());
            assert_eq!(me["email_verified"], true);
            assert_eq!(
                s.password_login("carol@example.com", "correct horse").await,
                StatusCode::UNAUTHORIZED,
                "the password of whoever signed up unverified no longer works"
            );

            let audit = s.audit().await;
            let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
            let linked: Vec<&Value> = audit
                .iter()
                .filter(|(a, _)| a == "identity_linked")
                .map(|(_, d)| d)
                .collect();
            assert_eq!(linked.len(), 2, "{actions:?}");
            assert_eq!(linked[0]["confirmed_by"], "email");
            assert_eq!(linked[1]["confirmed_by"], "password");
            let replaced = audit
                .iter()
                .find(|(a, _)| a == "email_verified")
                .map(|(_, d)| d)
                .unwrap();
            assert_eq!(replaced["password_replaced"], true, "{actions:?}");
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_work_once_and_only_in_the_browser_that_started() {
    on_both(
        "states_work_once_and_only_in_the_browser_that_started",
        |s| async move {
            let begun = s.begin().await;
            let state = begun.params["state"].clone();
            let code = s.provider.grant(
                &begun,
                s.provider
                    .claims(&begun, "dave-google-id", "dave@example.com"),
                false,
            );
            let cases: [(Query, Option<&str>, &str); 5] = [
                (&[("code", &code)], Some(&begun.cookie), "no state"),
                (&[("code", &code), ("state", &state)], None, "no cookie"),
                (
                    &[("code", &code), ("state", &state)],
                    Some("another-browsers-state"),
                    "another browser's cookie",
                ),
                (
                    &[("code", &code), ("state", "forged")],
                    Some("forged"),
                    "a state the server never issued",
                ),
                (
                    &[("code", &code), ("state", &state)],
                    Some(""),
                    "an empty cookie",
                ),
            ];
            for (query, cookie, case) in cases {
                let answer = s.callback(query, cookie).await;
                assert_eq!(
                    (answer.status, code_of(&answer)),
                    (StatusCode::BAD_REQUEST, "invalid_oauth_state"),
                    "{case}: {}",
                    answer.body
                );
            }
            // None of those used the state up: the real browser finishes.
            let answer = s
                .callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let again = s
                .callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(
                (again.status, code_of(&again)),
                (StatusCode::BAD_REQUEST, "invalid_oauth_state")
            );
            assert!(
                message(&again.body).contains("already used"),
                "{}",
                again.body
            );

            // The user said no at Google: the state is used up, nothing signed in.
            let begun = s.begin().await;
            let state = begun.params["state"].clone();
            let denied = s
                .callback(
                    &[("error", "access_denied"), ("state", &state)],
                    Some(&begun.cookie),
                )
                .await;
            assert_eq!(
                (denied.status, code_of(&denied)),
                (StatusCode::UNAUTHORIZED, "oauth_failed")
            );
            assert!(
                message(&denied.body).contains("access_denied"),
                "{}",
                denied.body
            );
            let after = s
                .callback(&[("code", "x"), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(after.status, StatusCode::BAD_REQUEST);

            let failures = s
                .audit()
                .await
                .into_iter()
                .filter(|(a, _)| a == "sign_in_failed")
                .count();
            assert_eq!(failures, 8, "every refusal is in the audit log");
            s
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_that_fail_verification_are_refused() {
    on_both(
        "id_tokens_that_fail_verification_are_refused",
        |s| async move {
            let p = &s.provider;
            let sub = "erin-google-id";
            let email = "erin@example.com";
            let with = |change: fn(&mut Value)| {
                move |b: &Begun| {
                    let mut claims = p.claims(b, sub, email);
                    change(&mut claims);
                    claims
                }
            };
            let cases: [(&str, Answer, &str); 6] = [
                (
                    "wrong audience",
                    s.sign_in_with(
                        with(|c| c["aud"] = json!("someone-else.apps.googleusercontent.com")),
                        false,
                    )
                    .await,
                    "aud",
                ),
                (
                    "bad signature",
                    s.sign_in_with(with(|_| {}), true).await,
                    "signature",
                ),
                (
                    "wrong issuer",
                    s.sign_in_with(
                        with(|c| c["iss"] = json!("https://evil.example.com")),
                        false,
                    )
                    .await,
                    "iss",
                ),
                (
                    "expired",
                    s.sign_in_with(
                        with(|c| {
                            let past = chrono::Utc::now().timestamp() - 3600;
                            c["exp"] = json!(past);
                        }),
                        false,
                    )
                    .await,
                    "expired",
                ),
                (
                    "another sign-in's nonce",
                    s.sign_in_with(with(|c| c["nonce"] = json!("replayed-nonce")), false)
                        .await,
                    "nonce",
                ),
                (
                    "no subject",
                    s.sign_in_with(
                        with(|c| {
                            c.as_object_mut().unwrap().remove("sub");
                        }),
                        false,
                    )
                    .await,
                    "sub",
                ),
            ];
            for (case, answer, why) in &cases {
                assert_eq!(
                    (answer.status, code_of(answer)),
                    (StatusCode::UNAUTHORIZED, "oauth_failed"),
                    "{case}: {}",
                    answer.body
                );
                assert!(
                    message(&answer.body).contains(why),
                    "{case}: {}",
                    answer.body
                );
                assert!(!answer.body.to_string().contains(CLIENT_SECRET));
                assert!(
                    !answer
                        .set_cookies
                        .iter()
                        .any(|c| c.starts_with("nexus_session=")),
                    "{case}: no session"
                );
            }

            // Google has not verified the address.
            let unverified = s
                .sign_in_with(with(|c| c["email_verified"] = json!(false)), false)
                .await;
            assert_eq!(
                (unverified.status, code_of(&unverified)),
                (StatusCode::FORBIDDEN, "email_not_verified")
            );

            // A code whose PKCE challenge is not this sign-in's: the provider refuses it.
            let begun = s.begin().await;
            let code = p.grant(&begun, p.claims(&begun, sub, email), false);
            p.grants.lock().unwrap().get_mut(&code).unwrap().challenge = "not-the-challenge".into();
            let state = begun.params["state"].clone();
            let refused = s
                .callback(&[("code", &code), ("state", &state)], Some(&begun.cookie))
                .await;
            assert_eq!(
                (refused.status, code_of(&refused)),
                (StatusCode::UNAUTHORIZED, "oauth_failed")
            );
            assert!(
                message(&refused.body).contains("invalid_grant"),
                "{}",
                refused.body
            );
            assert!(!refused.body.to_string().contains(&code));

            // The provider is down: try again later.
            *p.token_failure.lock().unwrap() = Some(503);
            let down = s.sign_in(sub, email).await;
            assert_eq!(
                (down.status, code_of(&down)),
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            );
            *p.token_failure.lock().unwrap() = None;

            // Nobody got an account out of any of it.
            assert!(s.store.user_by_email(email).await.unwrap().is_none());

            // The provider rotates its key: the unknown key id makes the server fetch the
            // keys again, and the sign-in works.
            let fetches = p.jwks_fetches.load(Ordering::SeqCst);
            *p.kid.lock().unwrap() = "key-2".into();
            let rotated = s.sign_in(sub, email).await;
            assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
            assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), fetches + 1);
            // Cached: the next sign-in fetches nothing.
            assert_eq!(s.sign_in(sub, email).await.status, StatusCode::OK);
            assert_eq!(p.jwks_fetches.load(Ordering::SeqCst), fetches + 1);
            s
        },
    )
    .await;
}

#[tokio::test]
async fn without_a_client_id_and_secret_google_sign_in_is_not_found() {
    let s = start(Backend::Sqlite, false).await;
    for path in ["start", "callback?code=x&state=y"] {
        let resp = s
            .http
            .get(format!("{}/api/v1/auth/oauth/google/{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "oauth_not_configured", "{path}");
    }
}
