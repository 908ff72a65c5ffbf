//! Conformance cases for [`plugway_store::ClusterStore`]: leases on
//! background jobs, settings shared by every node.

use plugway_store::Store;

use super::{new_id, t0};

/// Calls `$m!(case, ...)` with every cluster case.
#[macro_export]
macro_rules! for_each_cluster_case {
    ($m:ident) => {
        $m!(
            a_worker_lease_has_one_holder_until_it_lapses,
            a_shared_setting_keeps_its_first_value,
        );
    };
}

/// A job's lease: one holder at a time, renewed by it, taken over by
/// another only once it lapsed.
pub async fn a_worker_lease_has_one_holder_until_it_lapses(store: &dyn Store) {
    let job = format!("job-{}", new_id().simple());
    let minute = chrono::Duration::minutes(1);
    assert!(store
        .try_worker_lease(&job, "node-a", t0(), t0() + minute)
        .await
        .unwrap());
    assert!(
        !store
            .try_worker_lease(&job, "node-b", t0(), t0() + minute)
            .await
            .unwrap(),
        "held by another"
    );
    assert!(
        store
            .try_worker_lease(&job, "node-a", t0() + minute / 2, t0() + minute * 2)
            .await
            .unwrap(),
        "renewed by its holder"
    );
    assert!(
        !store
            .try_worker_lease(&job, "node-b", t0() + minute, t0() + minute * 3)
            .await
            .unwrap(),
        "the renewal holds past the first term"
    );
    assert!(
        store
            .try_worker_lease(&job, "node-b", t0() + minute * 3, t0() + minute * 4)
            .await
            .unwrap(),
        "taken over once lapsed"
    );
    assert!(!store
        .try_worker_lease(&job, "node-a", t0() + minute * 3, t0() + minute * 4)
        .await
        .unwrap());
}

/// The first node's value of a shared setting stands; later ones read it.
pub async fn a_shared_setting_keeps_its_first_value(store: &dyn Store) {
    let name = format!("setting-{}", new_id().simple());
    assert_eq!(
        store.claim_shared_setting(&name, "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.claim_shared_setting(&name, "second").await.unwrap(),
        "first",
        "a second node is told the first's"
    );
}
