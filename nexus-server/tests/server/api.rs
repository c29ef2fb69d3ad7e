//! The HTTP API, in process through poem's test client.

use std::sync::Arc;

use nexus_server::api;
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{SqliteStore, Store};
use poem::http::StatusCode;
use poem::test::TestClient;

use crate::support::{Backend, TestDb};

/// A SQLite store of its own, for tests that close it or reach past it to its pool.
async fn store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    let url = format!("sqlite://{}", dir.path().join("api.db").display());
    let keys = Keyring::new(MasterKey::generate(), Vec::new());
    Arc::new(SqliteStore::open(&url, keys).await.unwrap())
}

fn state(store: Arc<dyn Store>) -> Arc<api::ApiState> {
    Arc::new(api::ApiState::new(
        store,
        Arc::new(nexus_server::email::LogSender::default()),
        api::AuthSettings::new("http://127.0.0.1:8080"),
    ))
}

async fn client() -> (TestClient<impl poem::Endpoint>, TestDb) {
    let db = TestDb::open(Backend::Sqlite).await;
    (TestClient::new(api::app(state(Arc::clone(&db.store)))), db)
}

#[tokio::test]
async fn health_and_readiness_answer_ok_with_the_version() {
    let (client, _dir) = client().await;
    for path in ["/healthz", "/readyz"] {
        let resp = client.get(path).send().await;
        resp.assert_status_is_ok();
        let json = resp.json().await;
        let body = json.value().object();
        body.get("status").assert_string("ok");
        body.get("version").assert_string(env!("CARGO_PKG_VERSION"));
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_get_a_json_error_with_a_stable_code() {
    let (client, _dir) = client().await;
    let resp = client.get("/api/v1/nothing-here").send().await;
    resp.assert_status(StatusCode::NOT_FOUND);
    resp.assert_content_type("application/json; charset=utf-8");
    let json = resp.json().await;
    json.value().object().get("code").assert_string("not_found");

    let resp = client.post("/healthz").send().await;
    resp.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    let json = resp.json().await;
    json.value()
        .object()
        .get("code")
        .assert_string("method_not_allowed");
}

#[tokio::test]
async fn the_openapi_document_and_docs_ui_are_served() {
    let (client, _dir) = client().await;
    let resp = client.get("/openapi.json").send().await;
    resp.assert_status_is_ok();
    let json = resp.json().await;
    let spec = json.value().object();
    spec.get("openapi").assert_string("3.0.0");
    let paths = spec.get("paths").object();
    paths
        .get("/healthz")
        .object()
        .get("get")
        .object()
        .get("operationId")
        .assert_string("health");
    paths
        .get("/readyz")
        .object()
        .get("get")
        .object()
        .get("operationId")
        .assert_string("ready");

    let resp = client.get("/docs").send().await;
    resp.assert_status_is_ok();
    let html = resp.0.into_body().into_string().await.unwrap();
    assert!(
        html.contains("swagger-ui"),
        "the docs page loads Swagger UI"
    );
}

#[tokio::test]
async fn readiness_fails_with_a_json_error_when_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    store.close().await;
    let client = TestClient::new(api::app(state(store)));
    let resp = client.get("/readyz").send().await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let json = resp.json().await;
    let body = json.value().object();
    body.get("code").assert_string("database_unavailable");
    body.get("message")
        .assert_string("the sqlite database does not answer");
    // Liveness does not depend on the database.
    client.get("/healthz").send().await.assert_status_is_ok();
}

/// `docs/openapi.json` is the published contract SDKs are generated from: it must match
/// what the server serves. Regenerate with `NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-server`.
#[test]
fn the_committed_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let current = format!("{}\n", api::spec_json());
    if std::env::var_os("NEXUS_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "docs/openapi.json is out of date: run NEXUS_UPDATE_OPENAPI=1 cargo test -p nexus-server"
    );
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let client = TestClient::new(api::app(state(store)));
    let resp = client.get("/readyz").send().await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let json = resp.json().await;
    json.value()
        .object()
        .get("code")
        .assert_string("migrations_pending");
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text_format() {
    use nexus_core::ports::JobQueue;
    use nexus_core::ports::jobs::{JobKind, NewJob};
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    store
        .enqueue(
            &NewJob {
                kind: JobKind::Cleanup,
                payload: "{}".into(),
                unique_key: None,
                priority: 0,
                // Due two minutes ago: it has waited that long.
                run_at: Some(chrono::Utc::now() - chrono::Duration::minutes(2)),
                max_attempts: 3,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let client = TestClient::new(api::app(state(store)));
    client.get("/healthz").send().await.assert_status_is_ok();
    client.get("/healthz").send().await.assert_status_is_ok();
    client
        .get("/nowhere")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let resp = client.get("/metrics").send().await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(
        text.contains("nexus_http_requests_total{method=\"GET\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("nexus_http_requests_total{method=\"GET\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("nexus_http_request_duration_seconds_count 3"),
        "{text}"
    );
    assert!(
        text.contains("nexus_jobs_queued{type=\"cleanup\"} 1"),
        "{text}"
    );
    // Orders appear once there is one (see tests/trades.rs).
    assert!(
        text.contains("# TYPE nexus_job_duration_seconds histogram"),
        "{text}"
    );
    // Series with known labels exist from the first scrape, at 0.
    for line in [
        "nexus_jobs_queued{type=\"email\"} 0",
        "nexus_jobs_dead{type=\"email\"} 0",
        "nexus_jobs_oldest_age_seconds{type=\"email\"} 0",
        "nexus_gate_decisions_total{allowed=\"true\"} 0",
        "nexus_gate_decisions_total{allowed=\"false\"} 0",
        "nexus_task_panics_total{task=\"worker\"} 0",
        "nexus_signals_total{strategy=\"webhook\"} 0",
        "nexus_plans_total{outcome=\"planned\"} 0",
        "nexus_scheduler_leader 0",
        "nexus_exchange_errors_total{exchange=\"binance\",class=\"rate_limited\"} 0",
        "nexus_exchange_errors_total{exchange=\"kraken\",class=\"outcome_unknown\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    let waited: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("nexus_jobs_oldest_age_seconds{type=\"cleanup\"} "))
        .unwrap_or_else(|| panic!("no age for cleanup in {text}"))
        .parse()
        .unwrap();
    assert!((120.0..600.0).contains(&waited), "{waited}");
    let build = text
        .lines()
        .find(|l| l.starts_with("nexus_build_info{"))
        .unwrap_or_else(|| panic!("no build info in {text}"));
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
            && build.contains("commit=\"")
            && build.ends_with(" 1"),
        "{build}"
    );
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let db = TestDb::open(Backend::Sqlite).await;
    let mut state = api::ApiState::new(
        Arc::clone(&db.store),
        Arc::new(nexus_server::email::LogSender::default()),
        api::AuthSettings::new("http://127.0.0.1:8080"),
    );
    state.metrics_token = Some(nexus_core::Secret::new("scrape-me-0123456789"));
    let client = TestClient::new(api::app(Arc::new(state)));
    let resp = client.get("/metrics").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    let body = resp.0.into_body().into_string().await.unwrap();
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    client
        .get("/metrics")
        .header("authorization", "Bearer scrape-me-012345678X")
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let resp = client
        .get("/metrics")
        .header("authorization", "Bearer scrape-me-0123456789")
        .send()
        .await;
    resp.assert_status_is_ok();
    assert!(
        resp.0
            .into_body()
            .into_string()
            .await
            .unwrap()
            .contains("nexus_build_info")
    );
}

/// Every kind of response carries the security headers; `/api/` answers are not cached;
/// HSTS only when the public URL is https.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = store(&dir).await;
    let plain = TestClient::new(api::app(state(Arc::clone(&store))));
    let https = TestClient::new(api::app(Arc::new(api::ApiState::new(
        store,
        Arc::new(nexus_server::email::LogSender::default()),
        api::AuthSettings::new("https://nexus.example.com"),
    ))));
    for (client, hsts) in [(&plain, false), (&https, true)] {
        let signup = serde_json::json!({"email": format!("{hsts}@example.com"),
            "password": "correct horse battery"});
        let answers = [
            (
                "signup (JSON)",
                client
                    .post("/api/v1/auth/signup")
                    .body_json(&signup)
                    .send()
                    .await,
                202,
                true,
            ),
            (
                "unauthorised",
                client.get("/api/v1/bots").send().await,
                401,
                true,
            ),
            (
                "API 404",
                client.get("/api/v1/nothing-here").send().await,
                404,
                true,
            ),
            ("404", client.get("/nowhere").send().await, 404, false),
            ("health", client.get("/healthz").send().await, 200, false),
            (
                "openapi",
                client.get("/openapi.json").send().await,
                200,
                false,
            ),
            ("docs", client.get("/docs").send().await, 200, false),
            (
                "too large",
                client
                    .post("/api/v1/auth/login")
                    .body(vec![b'x'; 100_000])
                    .send()
                    .await,
                413,
                true,
            ),
        ];
        for (what, resp, status, api) in answers {
            let headers = resp.0.headers();
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(resp.0.status().as_u16(), status, "{what}");
            assert_eq!(
                header("x-content-type-options").as_deref(),
                Some("nosniff"),
                "{what}"
            );
            assert_eq!(
                header("referrer-policy").as_deref(),
                Some("no-referrer"),
                "{what}"
            );
            assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
            let csp = header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
            // The docs page runs Swagger UI's inline script: its policy must allow that.
            assert_eq!(
                csp.contains("default-src 'none'"),
                what != "docs",
                "{what}: {csp}"
            );
            assert_eq!(
                header("cache-control").as_deref(),
                api.then_some("no-store"),
                "{what}"
            );
            assert_eq!(
                header("strict-transport-security").as_deref(),
                hsts.then_some("max-age=63072000; includeSubDomains"),
                "{what}"
            );
        }
    }
}
