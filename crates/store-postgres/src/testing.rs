//! Test support: a private schema per test on the server named by
//! `PLUGWAY_TEST_DATABASE_URL`, so suites run in parallel on one database.
//! Without the variable the PostgreSQL tests say they are skipped; with
//! `CI=true` a missing or unreachable server fails them instead.

use plugway_store::Store;

use crate::{PostgresOptions, PostgresStore};

/// The variable that points tests at a PostgreSQL server.
pub const TEST_DATABASE_URL: &str = "PLUGWAY_TEST_DATABASE_URL";

/// A store on its own fresh schema; [`TestDatabase::finish`] drops it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The store, migrated.
    pub store: PostgresStore,
    /// The server URL.
    pub url: String,
    /// The schema, for a URL that points a second connection at it.
    pub schema: String,
}

impl TestDatabase {
    /// A fresh schema, or `None` (after saying so) when no server is
    /// configured outside CI. Panics in CI without a server: a skipped suite
    /// in CI would be a silent pass.
    #[allow(clippy::panic)]
    pub async fn create(test_name: &str) -> Option<Self> {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let url = match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.is_empty() => url,
            _ if in_ci => {
                panic!("{TEST_DATABASE_URL} is not set in CI: the PostgreSQL tests must run")
            }
            _ => {
                eprintln!(
                    "SKIPPED {test_name}: {TEST_DATABASE_URL} is not set, PostgreSQL tests skipped"
                );
                return None;
            }
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let options = PostgresOptions {
            max_connections: 4,
            schema: Some(schema.clone()),
        };
        match PostgresStore::open(&url, options).await {
            Ok(store) => Some(Self { store, url, schema }),
            Err(e) => panic!("cannot open a PostgreSQL test schema via {TEST_DATABASE_URL}: {e}"),
        }
    }

    /// Closes the store and drops the schema.
    pub async fn finish(self) {
        self.store.close().await;
        if let Ok(pool) = sqlx::PgPool::connect(&self.url).await {
            let _ = sqlx::query(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ))
            .execute(&pool)
            .await;
            pool.close().await;
        }
    }
}
