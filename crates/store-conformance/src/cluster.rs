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
            a_released_lease_is_free_at_once,
            a_shared_setting_keeps_its_first_value,
            a_shared_rate_limit_lets_a_burst_through_then_paces,
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

/// A lease given up is free for another at once; only its holder can give
/// it up.
pub async fn a_released_lease_is_free_at_once(store: &dyn Store) {
    let job = format!("job-{}", new_id().simple());
    let hour = chrono::Duration::hours(1);
    assert!(store
        .try_worker_lease(&job, "node-a", t0(), t0() + hour)
        .await
        .unwrap());
    assert!(
        !store.release_worker_lease(&job, "node-b").await.unwrap(),
        "not node-b's to give up"
    );
    assert!(!store
        .try_worker_lease(&job, "node-b", t0(), t0() + hour)
        .await
        .unwrap());
    assert!(store.release_worker_lease(&job, "node-a").await.unwrap());
    assert!(
        store
            .try_worker_lease(&job, "node-b", t0(), t0() + hour)
            .await
            .unwrap(),
        "free before its term ends"
    );
    assert!(!store.release_worker_lease(&job, "node-a").await.unwrap());
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

/// The shared per-key limit: a burst, then one per interval; keys apart.
pub async fn a_shared_rate_limit_lets_a_burst_through_then_paces(store: &dyn Store) {
    let key = format!("otp_send:{}", new_id().simple());
    let other = format!("otp_send:{}", new_id().simple());
    let second = chrono::Duration::seconds(1);
    for _ in 0..3 {
        assert_eq!(
            store.take_rate_limit(&key, t0(), 6_000, 3).await.unwrap(),
            None
        );
    }
    let wait = store.take_rate_limit(&key, t0(), 6_000, 3).await.unwrap();
    assert_eq!(wait, Some(6_000), "the fourth waits one interval");
    assert_eq!(
        store.take_rate_limit(&other, t0(), 6_000, 3).await.unwrap(),
        None
    );
    // One interval later, one more; not two.
    let later = t0() + second * 6;
    assert_eq!(
        store.take_rate_limit(&key, later, 6_000, 3).await.unwrap(),
        None
    );
    assert!(store
        .take_rate_limit(&key, later, 6_000, 3)
        .await
        .unwrap()
        .is_some());
    // Long after, the key holds nothing and is pruned.
    let much_later = t0() + second * 3_600;
    assert!(store.prune_rate_limits(much_later).await.unwrap() >= 2);
    assert_eq!(
        store
            .take_rate_limit(&key, much_later, 6_000, 3)
            .await
            .unwrap(),
        None
    );
}
