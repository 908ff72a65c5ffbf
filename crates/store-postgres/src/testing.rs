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
        shared_extensions(&url).await;
        // Unique across runs and processes, whatever a test's clock says.
        #[allow(clippy::disallowed_methods)]
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
    /// (`DROP SCHEMA … CASCADE` would also drop an extension created in it:
    /// see [`shared_extensions`].)
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

/// Creates the extensions the migrations use (`btree_gist`, migration 0008)
/// in `public`, once per server, before any test schema exists. An
/// extension is one per database: created by a migration running inside a
/// test schema it would live in that schema, and dropping that schema when
/// its test ends would take the extension, and the booking constraints of
/// every other test schema with it, from tests still running. The
/// migration's `IF NOT EXISTS` then finds it and does nothing.
async fn shared_extensions(url: &str) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    let Ok(pool) = sqlx::PgPool::connect(url).await else {
        // Opening the test schema reports an unreachable server.
        return;
    };
    // Tests and test binaries start side by side: serialise on an
    // advisory lock so that two do not race to create it.
    let created = async {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243001)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
    .await;
    match created {
        Ok(()) => DONE.store(true, std::sync::atomic::Ordering::Release),
        Err(e) => eprintln!("could not create btree_gist in public: {e}"),
    }
    pool.close().await;
}
