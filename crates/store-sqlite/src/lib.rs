//! SQLite adapter for the Plugway store: the embedded default.
//!
//! Writes go through a pool of exactly one connection: SQLite allows one
//! writer at a time anyway, and queuing writers in the pool instead of in
//! SQLite's lock avoids `SQLITE_BUSY` upgrades under load. Reads use a
//! separate pool and run in parallel thanks to WAL.
//! Neither pool pings a connection before handing it out (sqlx's default):
//! a connection to a local file does not go stale, and each ping was one
//! more round trip to the connection's thread for every statement.
//! `synchronous = FULL`: a transaction is on disk when its commit returns, so
//! nothing acknowledged is lost even on power loss, not only on `kill -9`.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use plugway_store::{Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many connections serve reads.
const READERS: u32 = 8;
/// Bytes of the database file each reader may map (SQLite maps at most
/// the file's size).
const READER_MMAP_BYTES: u64 = 1 << 30;
/// Page cache per reader: negative means KiB in SQLite's `cache_size`.
const READER_CACHE_KIB: i64 = -16_384;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await
            .map_err(plugway_store_sql::map_err)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // Readers map the file (no copy per page read) and keep a larger
            // page cache: searches touch many pages of the site table.
            .connect_lazy_with(
                base.read_only(true)
                    .pragma("mmap_size", READER_MMAP_BYTES.to_string())
                    .pragma("cache_size", READER_CACHE_KIB.to_string()),
            );
        Ok(Self { writer, reader })
    }

    /// Applies pending migrations and closes (for `plugway migrate`).
    pub async fn migrate(url: &str) -> Result<(), StoreError> {
        let store = Self::open(url).await?;
        store.close().await;
        Ok(())
    }
}

plugway_store_sql::impl_sql_store!(SqliteStore, sqlx::Sqlite);
plugway_store_sql::impl_sql_content_store!(SqliteStore, sqlx::Sqlite);
plugway_store_sql::impl_sql_vehicle_store!(SqliteStore, sqlx::Sqlite);
plugway_store_sql::impl_sql_number_store!(SqliteStore);
plugway_store_sql::impl_sql_roaming_store!(SqliteStore, sqlx::Sqlite);
plugway_store_sql::impl_sql_cluster_store!(SqliteStore);
plugway_store_sql::impl_sql_ocpp201_store!(SqliteStore);
plugway_store_sql::impl_sql_load_store!(SqliteStore, sqlx::Sqlite);
plugway_store_sql::impl_sql_meter_report_store!(SqliteStore);
// The R*Tree holds 32-bit floats rounded outwards, so this is a superset of
// the box; callers check exact positions.
plugway_store_sql::impl_sql_network_store!(
    SqliteStore,
    sqlx::Sqlite,
    "s.seq IN (SELECT id FROM site_geo WHERE max_lat >= $1 AND min_lat <= $2 AND max_lng >= $3 AND min_lng <= $4)"
);

// Beside the network store: revisions write sites through its helpers.
plugway_store_sql::impl_sql_revision_store!(SqliteStore, sqlx::Sqlite);

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> plugway_store::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(plugway_store_sql::map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        // Checkpoint so the main file holds everything and the WAL is small.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
        }
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
        "sqlite"
    }
}
