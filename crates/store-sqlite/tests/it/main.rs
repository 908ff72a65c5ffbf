//! The store conformance suite on SQLite (always runs: SQLite is embedded).

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use plugway_store_conformance as conformance;
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
conformance::for_each_vehicle_case!(conformance_tests);
conformance::for_each_roaming_case!(conformance_tests);
conformance::for_each_cluster_case!(conformance_tests);
conformance::for_each_ocpp201_case!(conformance_tests);
conformance::for_each_load_case!(conformance_tests);
conformance::for_each_meter_report_case!(conformance_tests);
conformance::for_each_operator_case!(conformance_tests);
conformance::for_each_revision_case!(conformance_tests);

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

/// Migration 0027 moves the per-frame message log into blocks: every frame
/// comes back in its order with its time, whatever it holds.
#[tokio::test]
async fn the_message_log_moves_into_blocks_at_migration_0027() {
    use std::str::FromStr as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plugway.db", dir.path().display());
    let migrations = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
    let mut before = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    let earlier: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 27)
        .cloned()
        .collect();
    assert_eq!(earlier.len(), 26);
    before.migrations = earlier.into();
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    before.run(&pool).await.unwrap();
    for (cp, direction, frame, at) in conformance::LEGACY_LOG_FRAMES {
        sqlx::query(
            "INSERT INTO ocpp_log (charge_point_id, direction, frame, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(cp)
        .bind(direction)
        .bind(frame)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let store = SqliteStore::open(&url).await.unwrap();
    conformance::legacy_log_frames_survive_migration_0027(&store).await;
    plugway_store::Store::close(&store).await;
}

/// `verify_ledger` finds what tampering did: a balance that no longer
/// matches its postings, an entry that no longer sums to zero, a wallet
/// below zero.
#[tokio::test]
async fn ledger_verify_finds_tampered_books() {
    use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
    use plugway_store::LedgerStore as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plugway.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    let driver = conformance::make_user(&store, "+97686661400").await;
    let mnt = plugway_domain::Currency::parse("MNT").unwrap();
    let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, mnt);
    let clearing = AccountRef::platform(AccountKind::GatewayClearing, mnt);
    let postings = Balanced::new(&[
        Posting {
            account: wallet,
            amount: 500,
        },
        Posting {
            account: clearing,
            amount: -500,
        },
    ])
    .unwrap();
    store
        .post_entry(&plugway_store::NewJournalEntry {
            id: "e1".into(),
            kind: "top_up".into(),
            reference: "inv-1".into(),
            idempotency_key: None,
            postings,
            at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert!(store.verify_ledger().await.unwrap().is_clean());
    plugway_store::Store::close(&store).await;

    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE ledger_postings SET amount = 400 WHERE account_key = ?")
        .bind(wallet.key())
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE ledger_accounts SET balance = -7 WHERE key = ?")
        .bind(wallet.key())
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let store = SqliteStore::open(&url).await.unwrap();
    let report = store.verify_ledger().await.unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.unbalanced_entries, ["e1"]);
    assert_eq!(report.mismatched_balances, [(wallet.key(), -7, 400)]);
    assert_eq!(report.negative_balances, [(wallet.key(), -7)]);
    plugway_store::Store::close(&store).await;
}
