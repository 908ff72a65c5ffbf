//! The store conformance suite on SQLite (always runs: SQLite is embedded).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use plugway_store::conformance;
use plugway_store_sqlite::SqliteStore;

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plugway.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    (dir, store)
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_dir, store) = fresh().await;
                conformance::$name(&store).await;
                plugway_store::Store::close(&store).await;
            }
        )*
    };
}

conformance::for_each_case!(conformance_tests);

#[tokio::test]
async fn reopening_applies_no_migration_twice_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plugway.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    let user = conformance::make_user(&store, "+97686661488").await;
    plugway_store::Store::close(&store).await;
    let again = SqliteStore::open(&url).await.unwrap();
    let found = plugway_store::UserStore::find_user(&again, user.id)
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(user.id));
}
