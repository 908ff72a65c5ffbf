//! `plugway import sites FILE.csv --host ...` against a SQLite data
//! directory: the example file of docs/import.md imports whole; a bad file
//! imports nothing and says why on stderr.

use std::path::{Path, PathBuf};

use chrono::Utc;
use plugway_domain::{IdGenerator, PhoneNumber, RandomIds, ReferralCode, Role, UserId};
use plugway_store::{NetworkStore, NewUser, SiteListFilter, Store, UserStore};
use plugway_store_sqlite::SqliteStore;

use crate::plugway;

const PHONE: &str = "+97686661488";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/sites.csv")
}

async fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&format!("sqlite://{}/data/plugway.db", dir.display()))
        .await
        .unwrap()
}

/// A migrated data dir with one account of `role` holding `PHONE`.
async fn data_dir_with_account(role: Role) -> (tempfile::TempDir, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let out = plugway(&["migrate", "--data-dir", "data"], dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = open(dir.path()).await;
    let id = UserId(RandomIds.new_uuid(Utc::now()));
    let user = store
        .create_user(
            &NewUser {
                id,
                name: Some("Host".into()),
                email: None,
                role,
                password_hash: None,
                referral_code: ReferralCode::generate(&mut rand::thread_rng()),
                created_at: Utc::now(),
            },
            &PhoneNumber::parse(PHONE, None).unwrap(),
            true,
        )
        .await
        .unwrap();
    store.close().await;
    (dir, user.id)
}

async fn site_count(dir: &Path, host: UserId) -> i64 {
    let store = open(dir).await;
    let count = store
        .count_sites(&SiteListFilter {
            host: Some(host),
            approval: None,
            visible_only: false,
        })
        .await
        .unwrap();
    store.close().await;
    count
}

#[tokio::test]
async fn the_example_file_imports_with_a_summary() {
    let (dir, host) = data_dir_with_account(Role::Host).await;
    let file = example();
    let out = plugway(
        &[
            "import",
            "sites",
            file.to_str().unwrap(),
            "--host",
            PHONE,
            "--data-dir",
            "data",
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 2 sites with 3 EVSEs"),
        "summary: {stdout}"
    );
    assert!(
        !stdout.contains("checking"),
        "no progress bar when stdout is not a terminal: {stdout}"
    );
    assert_eq!(site_count(dir.path(), host).await, 2);

    // By account id too.
    let out = plugway(
        &[
            "import",
            "sites",
            file.to_str().unwrap(),
            "--host",
            &host.to_text(),
            "--data-dir",
            "data",
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(site_count(dir.path(), host).await, 4);
}

#[tokio::test]
async fn a_bad_file_imports_nothing_and_reports_on_stderr() {
    let (dir, host) = data_dir_with_account(Role::Host).await;
    let text = std::fs::read_to_string(example()).unwrap();
    // Line 4 (the second site's first row) gets an impossible latitude.
    let bad = text.replace("14.2434", "142.434");
    assert_ne!(bad, text);
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, bad).unwrap();
    let out = plugway(
        &[
            "import",
            "sites",
            path.to_str().unwrap(),
            "--host",
            PHONE,
            "--data-dir",
            "data",
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 4, latitude:") && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    assert_eq!(site_count(dir.path(), host).await, 0);

    // Only hosts own sites.
    let (driver_dir, _) = data_dir_with_account(Role::Driver).await;
    let out = plugway(
        &[
            "import",
            "sites",
            example().to_str().unwrap(),
            "--host",
            PHONE,
            "--data-dir",
            "data",
        ],
        driver_dir.path(),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--host: ") && stderr.contains("not a host"),
        "{stderr}"
    );
}
