//! One test suite, two databases: every test runs against a SQLite file, and against
//! PostgreSQL when `NEXUS_TEST_POSTGRES_URL` is set (each test in its own schema, so tests
//! run in parallel). Unset: the PostgreSQL half prints that it was skipped. Set but
//! unreachable: it fails.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.
#![allow(missing_docs)] // A test harness, not an API.

mod activity;
mod advisor;
mod alerts;
mod billing;
mod bots;
mod codec;
mod credentials;
mod emails;
mod files;
mod jobs;
mod leader;
mod notify;
mod oauth;
mod paper;
mod positions;
mod records;
mod sessions;
mod signatures;
mod users;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};

/// Where one test's database lives; `open` can be called again (with other keys) to
/// reopen the same data.
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl Db {
    pub async fn open(&self, keys: Keyring) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(&sqlite_url(dir), keys).await.unwrap()),
            Self::Postgres { url, schema } => Arc::new(
                PostgresStore::open_in_schema(url, schema, keys)
                    .await
                    .unwrap_or_else(|e| panic!("NEXUS_TEST_POSTGRES_URL is set but {e}")),
            ),
        }
    }

    /// Runs `sql` on the test's database directly, past the store (to plant a bad row).
    pub async fn execute(&self, sql: &'static str) {
        self.try_execute(sql).await.unwrap();
    }

    /// Runs `sql` as [`Db::execute`] does, with the database's answer.
    pub async fn try_execute(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(dir) => {
                let pool = sqlx::SqlitePool::connect(&sqlite_url(dir)).await.unwrap();
                let done = sqlx::query(sql).execute(&pool).await.map(drop);
                pool.close().await;
                done
            }
            Self::Postgres { url, schema } => {
                let pool = pg_pool(url, schema).await;
                let done = sqlx::query(sql).execute(&pool).await.map(drop);
                pool.close().await;
                done
            }
        }
    }

    /// Migrates the test's (new) database as far as a release whose last migration was
    /// `version` left it, so that a later migration's move of its data can be checked.
    pub async fn migrate_to(&self, version: i64) {
        match self {
            Self::Sqlite(dir) => {
                let url = format!("{}?mode=rwc", sqlite_url(dir));
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                nexus_store::sqlite::MIGRATOR
                    .run_to(version, &pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            Self::Postgres { url, schema } => {
                let admin = sqlx::PgPool::connect(url).await.unwrap();
                let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let pool = pg_pool(url, schema).await;
                nexus_store::postgres::MIGRATOR
                    .run_to(version, &pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }

    /// The count `sql` (a `SELECT COUNT(*) …`) reads on the test's database, past the store.
    pub async fn count(&self, sql: &'static str) -> i64 {
        match self {
            Self::Sqlite(dir) => {
                let pool = sqlx::SqlitePool::connect(&sqlite_url(dir)).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            Self::Postgres { url, schema } => {
                let pool = pg_pool(url, schema).await;
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
        }
    }

    pub async fn drop_schema(&self) {
        if let Self::Postgres { url, schema } = self {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// The test's SQLite file.
fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("nexus.db").display())
}

/// A pool on the test's PostgreSQL schema, past the store.
async fn pg_pool(url: &str, schema: &str) -> sqlx::PgPool {
    let options = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap()
        .options([("search_path", schema)]);
    sqlx::PgPool::connect_with(options).await.unwrap()
}

pub fn keys() -> Keyring {
    Keyring::new(MasterKey::generate(), Vec::new())
}

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    test(Db::Sqlite(tempfile::tempdir().unwrap())).await;
}

pub async fn on_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        // Straight to stderr: the test harness captures eprintln!, and a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "skipped {name} on PostgreSQL: NEXUS_TEST_POSTGRES_URL is unset"
        );
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    test(Db::Postgres {
        url: url.clone(),
        schema: schema.clone(),
    })
    .await;
    Db::Postgres { url, schema }.drop_schema().await;
}

/// Defines a test run on both databases: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::on_sqlite($body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::on_postgres(stringify!($name), $body).await;
            }
        }
    };
}
