//! Nothing acknowledged is lost: meter values a charger got an answer for
//! are in the database after the server is killed with SIGKILL mid-flood.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugway_domain::ChargePointId;
use plugway_store::{ChargingStore, Store};

use crate::Server;

#[tokio::test]
async fn kill_9_during_a_meter_value_flood_loses_nothing_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--ocpp-auto-register"]);
    let base = format!("{}/ocpp", server.base.replace("http", "ws"));
    let chargers = 8;
    let answered: Vec<Arc<AtomicU64>> =
        (0..chargers).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let until = Instant::now() + Duration::from_secs(30);
    let floods: Vec<_> = (0..chargers)
        .map(|n| {
            let config = plugway_sim::SimConfig::new(&base, &format!("DUR-{n}"), None);
            let count = answered[n].clone();
            tokio::spawn(async move {
                let _ = plugway_sim::flood(&config, until, |_| {
                    count.fetch_add(1, Ordering::SeqCst);
                })
                .await;
            })
        })
        .collect();
    // Let the flood run, then kill the server without warning.
    while answered
        .iter()
        .map(|a| a.load(Ordering::SeqCst))
        .sum::<u64>()
        < 500
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    for f in floods {
        f.await.unwrap();
    }
    let store = plugway_store_sqlite::SqliteStore::open(&format!(
        "sqlite://{}/data/plugway.db",
        dir.path().display()
    ))
    .await
    .unwrap();
    let mut total = 0;
    for (n, count) in answered.iter().enumerate() {
        let acknowledged = count.load(Ordering::SeqCst);
        let stored = store
            .count_meter_samples(&ChargePointId::parse(&format!("DUR-{n}")).unwrap())
            .await
            .unwrap();
        let stored = u64::try_from(stored).unwrap();
        // At most one more than answered: the one whose answer the kill cut off.
        assert!(
            stored >= acknowledged && stored <= acknowledged + 1,
            "DUR-{n}: answered {acknowledged}, stored {stored}"
        );
        total += acknowledged;
    }
    assert!(total >= 500);
    store.close().await;
}
