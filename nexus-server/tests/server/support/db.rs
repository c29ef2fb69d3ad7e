//! One test's database: a SQLite file in a temporary folder, or a fresh PostgreSQL schema
//! that is dropped when the [`TestDb`] drops, even when the test panicked.

use std::path::Path;
use std::sync::Arc;

use nexus_store::vault::{Keyring, MasterKey};
use nexus_store::{PostgresStore, SqliteStore, Store};

/// Where a test's data lives.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL server's URL; each test gets its own schema in it.
    Postgres(String),
}

pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// Holds the SQLite file, the outbox and whatever else a test writes.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL schema, dropped with this (`None` on SQLite).
    schema: Option<Schema>,
}

impl TestDb {
    pub async fn open(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keyring::new(MasterKey::generate(), Vec::new());
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("nexus.db").display());
                let store = SqliteStore::open(&url, keys).await.unwrap();
                Self {
                    store: Arc::new(store),
                    dir,
                    schema: None,
                }
            }
            Backend::Postgres(url) => {
                let schema = Schema {
                    name: format!("t_{}", uuid::Uuid::new_v4().simple()),
                    url,
                };
                let store = PostgresStore::open_in_schema(&schema.url, &schema.name, keys)
                    .await
                    .unwrap_or_else(|e| panic!("NEXUS_TEST_POSTGRES_URL is set but {e}"));
                Self {
                    store: Arc::new(store),
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The PostgreSQL server's URL and this test's schema (`None` on SQLite).
    pub fn postgres_schema(&self) -> Option<(&str, &str)> {
        self.schema
            .as_ref()
            .map(|s| (s.url.as_str(), s.name.as_str()))
    }

    /// Another store on the same data (another instance of a deployment), with a master
    /// key of its own.
    pub async fn another_store(&self) -> Arc<dyn Store> {
        let keys = Keyring::new(MasterKey::generate(), Vec::new());
        match &self.schema {
            None => {
                let url = format!("sqlite://{}", self.dir.path().join("nexus.db").display());
                Arc::new(SqliteStore::open(&url, keys).await.unwrap())
            }
            Some(schema) => Arc::new(
                PostgresStore::open_in_schema(&schema.url, &schema.name, keys)
                    .await
                    .unwrap(),
            ),
        }
    }
}

/// A PostgreSQL schema of one test's own, dropped when this drops.
pub struct Schema {
    url: String,
    name: String,
}

impl Schema {
    /// A new, empty schema on the server at `url`.
    pub fn empty(url: &str) -> Self {
        let schema = Self {
            url: url.to_owned(),
            name: format!("t_{}", uuid::Uuid::new_v4().simple()),
        };
        let (server, name) = (schema.url.clone(), schema.name.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
                let sql = format!("CREATE SCHEMA {name}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            });
        })
        .join()
        .unwrap();
        schema
    }

    /// A database URL whose connections use this schema (libpq's `options`).
    pub fn url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.url, self.name
        )
    }
}

impl Drop for Schema {
    /// Drops the schema on a thread of its own: `Drop` cannot await, and it may run while a
    /// panic unwinds through the test's runtime. A lock timeout keeps a task that died
    /// holding a lock from hanging the suite; a schema that cannot be dropped is reported,
    /// not fatal (the next run does not reuse its name).
    fn drop(&mut self) {
        let url = std::mem::take(&mut self.url);
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&url).await?;
                    sqlx::query("SET lock_timeout = '10s'")
                        .execute(&mut conn)
                        .await?;
                    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await?;
                    conn.close().await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
                .map_err(|e| std::io::Error::other(format!("{name}: {e}")))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => super::skipped("dropping a test schema", &e.to_string()),
            Err(_) => super::skipped("dropping a test schema", "its thread panicked"),
        }
    }
}
