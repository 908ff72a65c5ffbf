//! Conformance cases for [`plugway_store::LoadStore`]: a site's power
//! limit, the record of its sharings, a charger's open transactions.

use chrono::{Duration, NaiveTime};
use plugway_domain::load::{LimitPeriod, PowerLimit};
use plugway_store::{LoadAllocation, LoadChange, NewTransaction, SitePowerLimit, Store};

use super::{make_charge_point, make_user, t0};
use crate::network::new_site;

/// Calls `$m!(case, ...)` with every load management case.
#[macro_export]
macro_rules! for_each_load_case {
    ($m:ident) => {
        $m!(
            a_site_power_limit_is_set_replaced_and_removed,
            sharings_list_newest_first_in_pages,
            open_transactions_of_a_charger,
        );
    };
}

fn limit(max_power_w: i64) -> PowerLimit {
    PowerLimit {
        max_power_w,
        margin_w: 1_000,
        min_session_w: 4_000,
        fallback_w: 8_000,
        schedule: vec![LimitPeriod {
            from: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            to: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            max_power_w: 64_000,
        }],
    }
}

/// One limit per site: set, replaced whole, listed, removed once.
pub async fn a_site_power_limit_is_set_replaced_and_removed(store: &dyn Store) {
    let host = make_user(store, "+97688110901").await;
    let site = new_site(host.id, "Grid", 47.9, 106.9);
    store.insert_site(&site).await.unwrap();
    assert_eq!(store.find_power_limit(site.id).await.unwrap(), None);
    let first = SitePowerLimit {
        site_id: site.id,
        limit: limit(32_000),
        set_by: format!("user:{}", host.id),
        updated_at: t0(),
    };
    store.set_power_limit(&first).await.unwrap();
    assert_eq!(
        store.find_power_limit(site.id).await.unwrap(),
        Some(first.clone())
    );
    let second = SitePowerLimit {
        limit: PowerLimit {
            schedule: vec![],
            ..limit(63_000)
        },
        set_by: "api_key:k1".to_owned(),
        updated_at: t0() + Duration::minutes(1),
        ..first
    };
    store.set_power_limit(&second).await.unwrap();
    assert_eq!(
        store.find_power_limit(site.id).await.unwrap(),
        Some(second.clone())
    );
    assert!(store.list_power_limits().await.unwrap().contains(&second));
    assert!(store.delete_power_limit(site.id).await.unwrap());
    assert!(!store.delete_power_limit(site.id).await.unwrap());
    assert_eq!(store.find_power_limit(site.id).await.unwrap(), None);
}

/// Sharings come back whole, newest first, a page at a time.
pub async fn sharings_list_newest_first_in_pages(store: &dyn Store) {
    let host = make_user(store, "+97688110902").await;
    let site = new_site(host.id, "Grid", 47.9, 106.9);
    store.insert_site(&site).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..5 {
        let change = LoadChange {
            id: 0,
            site_id: site.id,
            at: t0() + Duration::seconds(n),
            reason: if n == 0 {
                "limit_set"
            } else {
                "session_started"
            }
            .to_owned(),
            requested_by: (n == 0).then(|| format!("user:{}", host.id)),
            budget_w: 31_000,
            allocations: vec![LoadAllocation {
                charge_point_id: "CP-LOAD".to_owned(),
                connector_id: 1,
                transaction_id: (n > 0).then_some(n),
                allowed_w: 1_000 * n,
                measured_w: None,
                outcome: "accepted".to_owned(),
            }],
        };
        let id = store.append_load_change(&change).await.unwrap();
        ids.push((id, change));
    }
    assert!(ids.windows(2).all(|w| w[0].0 < w[1].0), "ids grow");
    let page = store.list_load_changes(site.id, None, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    let (newest_id, newest) = ids.last().unwrap();
    assert_eq!(
        page[0],
        LoadChange {
            id: *newest_id,
            ..newest.clone()
        }
    );
    let rest = store
        .list_load_changes(site.id, Some(page[1].id), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2].reason, "limit_set");
    assert_eq!(rest[2].requested_by, Some(format!("user:{}", host.id)));
    let other = new_site(host.id, "Other", 47.9, 106.9);
    assert!(store
        .list_load_changes(other.id, None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Only the transactions that have not stopped, oldest first.
pub async fn open_transactions_of_a_charger(store: &dyn Store) {
    let cp = make_charge_point(store, "CP-LOAD-OPEN").await;
    let open = |n: i64| NewTransaction {
        charge_point_id: cp.clone(),
        connector_id: n,
        id_tag: format!("LT{n}"),
        meter_start: 0,
        started_at: t0() + Duration::seconds(n),
        reservation_id: None,
        auth_status: "Accepted".to_owned(),
        received_at: t0(),
    };
    let a = store.start_transaction(&open(1)).await.unwrap();
    let b = store.start_transaction(&open(2)).await.unwrap();
    store
        .stop_transaction(
            a.id,
            &plugway_store::TransactionStop {
                meter_stop: 10,
                stopped_at: t0() + Duration::minutes(5),
                reason: None,
                id_tag: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.open_transaction_ids(&cp).await.unwrap(), vec![b.id]);
}
