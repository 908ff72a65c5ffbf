//! PostgreSQL adapter for the Plugway store: production, and several nodes
//! sharing one database.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use plugway_store::{Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pooled connection idle this long is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// The PostgreSQL store. Reads and writes share one pool; `writer` and
/// `reader` name the same pool so the shared SQL can address either.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    writer: PgPool,
    reader: PgPool,
}

/// How the pool is sized and where it points.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections in the pool.
    pub max_connections: u32,
    /// A schema to use instead of `public` (created if missing). Tests give
    /// each case its own so they run in parallel on one database.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            schema: None,
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`) and applies pending migrations.
    pub async fn open(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        if let Some(schema) = &options.schema {
            // Schemas come from our own code (tests), never from input; still,
            // refuse anything but a plain identifier before quoting it.
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Other(format!("bad schema name {schema:?}")));
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await
                .map_err(plugway_store_sql::map_err)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&admin)
                .await
                .map_err(plugway_store_sql::map_err)?;
            admin.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            // sqlx pings every connection before handing it out: a round
            // trip to the server for each statement. Only a connection idle
            // for a while is checked now (one the server or the network
            // may have closed meanwhile); a busy one goes straight out.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_WHEN_IDLE_FOR {
                        return Ok(true);
                    }
                    // A failed ping closes the connection hard and the
                    // pool hands out another.
                    sqlx::Connection::ping(conn).await?;
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(plugway_store_sql::map_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
        })
    }

    /// Applies pending migrations and closes (for `plugway migrate`).
    pub async fn migrate(url: &str) -> Result<(), StoreError> {
        let store = Self::open(
            url,
            PostgresOptions {
                max_connections: 2,
                schema: None,
            },
        )
        .await?;
        store.close().await;
        Ok(())
    }
}

plugway_store_sql::impl_sql_store!(PostgresStore, sqlx::Postgres);
plugway_store_sql::impl_sql_content_store!(PostgresStore, sqlx::Postgres);
plugway_store_sql::impl_sql_vehicle_store!(PostgresStore, sqlx::Postgres);
plugway_store_sql::impl_sql_number_store!(PostgresStore);
plugway_store_sql::impl_sql_roaming_store!(PostgresStore, sqlx::Postgres);
plugway_store_sql::impl_sql_cluster_store!(PostgresStore);
plugway_store_sql::impl_sql_ocpp201_store!(PostgresStore);
plugway_store_sql::impl_sql_load_store!(PostgresStore, sqlx::Postgres);
plugway_store_sql::impl_sql_meter_report_store!(PostgresStore);
// Answered from the partial GiST index `sites_geo` (migration 0003).
plugway_store_sql::impl_sql_network_store!(
    PostgresStore,
    sqlx::Postgres,
    "point(s.lng, s.lat) <@ box(point(CAST($3 AS DOUBLE PRECISION), CAST($1 AS DOUBLE PRECISION)), \
     point(CAST($4 AS DOUBLE PRECISION), CAST($2 AS DOUBLE PRECISION)))"
);

// Beside the network store: revisions write sites through its helpers.
plugway_store_sql::impl_sql_revision_store!(PostgresStore, sqlx::Postgres);

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> plugway_store::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(plugway_store_sql::map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.writer.close().await;
    }

    async fn refresh_statistics(&self) -> plugway_store::Result<()> {
        sqlx::query("ANALYZE")
            .execute(&self.writer)
            .await
            .map_err(plugway_store_sql::map_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
