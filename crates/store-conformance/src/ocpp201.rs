//! Conformance cases for [`plugway_store::Ocpp201Store`]: the version a
//! charge point speaks, 2.0.1 transaction ids linked to ours, the device
//! model, a station's events.

use plugway_store::{DeviceVariable, NewTransaction, StationEvent, Store};

use super::{make_charge_point, new_id, t0};

/// Calls `$m!(case, ...)` with every OCPP 2.0.1 case.
#[macro_export]
macro_rules! for_each_ocpp201_case {
    ($m:ident) => {
        $m!(
            a_charge_point_remembers_its_ocpp_version,
            a_station_transaction_links_once_and_counts_its_events,
            the_device_model_keeps_the_last_report_of_each_attribute,
            station_events_list_newest_first_by_kind,
        );
    };
}

fn unique_cp() -> String {
    format!("V201-{}", &new_id().simple().to_string()[..12])
}

/// Unset until it connects; then the last version it spoke.
pub async fn a_charge_point_remembers_its_ocpp_version(store: &dyn Store) {
    let cp = make_charge_point(store, &unique_cp()).await;
    assert_eq!(store.ocpp_version(&cp).await.unwrap(), None);
    store.set_ocpp_version(&cp, "2.0.1").await.unwrap();
    assert_eq!(
        store.ocpp_version(&cp).await.unwrap().as_deref(),
        Some("2.0.1")
    );
    store.set_ocpp_version(&cp, "1.6").await.unwrap();
    let found = store.find_charge_point(&cp).await.unwrap().unwrap();
    assert_eq!(found.ocpp_version.as_deref(), Some("1.6"));
    assert_eq!(found.security_profile, 1, "Basic auth until told otherwise");
    assert!(store.set_security_profile(&cp, 3).await.unwrap());
    let found = store.find_charge_point(&cp).await.unwrap().unwrap();
    assert_eq!(found.security_profile, 3);
    let nobody = plugway_domain::ChargePointId::parse("NOBODY-V201").unwrap();
    assert!(!store.set_security_profile(&nobody, 3).await.unwrap());
}

/// The station's id maps to one of ours, the first link wins, and the
/// highest seqNo only rises.
pub async fn a_station_transaction_links_once_and_counts_its_events(store: &dyn Store) {
    let cp = make_charge_point(store, &unique_cp()).await;
    let open = |n: i64| NewTransaction {
        charge_point_id: cp.clone(),
        connector_id: 1,
        id_tag: format!("TAG{n}"),
        meter_start: 0,
        started_at: t0() + chrono::Duration::seconds(n),
        reservation_id: None,
        auth_status: "Accepted".to_owned(),
        received_at: t0(),
    };
    let first = store.start_transaction(&open(1)).await.unwrap();
    let second = store.start_transaction(&open(2)).await.unwrap();
    assert_eq!(
        store.find_remote_transaction(&cp, "tx-a").await.unwrap(),
        None
    );
    let linked = store
        .link_remote_transaction(&cp, "tx-a", first.id, 0, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            linked.transaction_id,
            linked.last_seq_no,
            linked.start_missing
        ),
        (first.id, 0, false)
    );
    let again = store
        .link_remote_transaction(&cp, "tx-a", second.id, 5, true)
        .await
        .unwrap();
    assert_eq!(again.as_ref(), Some(&linked), "the first link stands");
    // Our transaction already belongs to another of the station's ids.
    assert_eq!(
        store
            .link_remote_transaction(&cp, "tx-b", first.id, 0, false)
            .await
            .unwrap(),
        None
    );
    store.note_seq_no(&cp, "tx-a", 3).await.unwrap();
    store.note_seq_no(&cp, "tx-a", 2).await.unwrap();
    let found = store.find_remote_transaction(&cp, "tx-a").await.unwrap();
    assert_eq!(found.map(|f| f.last_seq_no), Some(3));
    assert_eq!(
        store
            .remote_transaction_id(&cp, first.id)
            .await
            .unwrap()
            .as_deref(),
        Some("tx-a")
    );
    assert_eq!(
        store.remote_transaction_id(&cp, second.id).await.unwrap(),
        None
    );

    // A start reading that came late is set once, on the open transaction.
    let late = store
        .link_remote_transaction(&cp, "tx-c", second.id, 0, true)
        .await
        .unwrap()
        .unwrap();
    assert!(late.start_missing);
    assert!(store.settle_start_reading(&cp, "tx-c", 4200).await.unwrap());
    assert!(!store.settle_start_reading(&cp, "tx-c", 9999).await.unwrap());
    let settled = store.find_transaction(second.id).await.unwrap().unwrap();
    assert_eq!(settled.meter_start, 4200);
    assert!(
        !store
            .find_remote_transaction(&cp, "tx-c")
            .await
            .unwrap()
            .unwrap()
            .start_missing
    );
    // So is the token a tokenless start turned out to be for.
    store
        .authorize_remote_transaction(second.id, "late-card", "Accepted")
        .await
        .unwrap();
    let authorized = store.find_transaction(second.id).await.unwrap().unwrap();
    assert_eq!(
        (authorized.id_tag.as_str(), authorized.auth_status.as_str()),
        ("late-card", "Accepted")
    );
    assert_eq!(
        store
            .count_active_transactions_for_tag("LATE-CARD")
            .await
            .unwrap(),
        1,
        "counted under its tag from now on"
    );
    // Another station may use the same id for its own transaction.
    let other = make_charge_point(store, &unique_cp()).await;
    assert_eq!(
        store.find_remote_transaction(&other, "tx-a").await.unwrap(),
        None
    );
    assert_eq!(
        store.remote_transaction_id(&other, first.id).await.unwrap(),
        None
    );
}

fn variable(component: &str, name: &str, value: &str, at: i64) -> DeviceVariable {
    DeviceVariable {
        component: component.to_owned(),
        component_instance: String::new(),
        evse_id: 0,
        connector_id: 0,
        variable: name.to_owned(),
        variable_instance: String::new(),
        attribute_type: "Actual".to_owned(),
        value: Some(value.to_owned()),
        mutability: Some("ReadOnly".to_owned()),
        data_type: Some("string".to_owned()),
        unit: None,
        reported_at: t0() + chrono::Duration::seconds(at),
    }
}

/// A later report of the same attribute replaces it; pages and a filter by
/// component.
pub async fn the_device_model_keeps_the_last_report_of_each_attribute(store: &dyn Store) {
    let cp = make_charge_point(store, &unique_cp()).await;
    store
        .upsert_device_model(
            &cp,
            &[
                variable("SecurityCtrlr", "SecurityProfile", "1", 0),
                variable("ChargingStation", "Model", "X1", 0),
                variable("ChargingStation", "VendorName", "Acme", 0),
            ],
        )
        .await
        .unwrap();
    store
        .upsert_device_model(&cp, &[variable("SecurityCtrlr", "SecurityProfile", "2", 9)])
        .await
        .unwrap();
    let all = store.list_device_model(&cp, None, 0, 10).await.unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|v| {
            (
                v.component.as_str(),
                v.variable.as_str(),
                v.value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ChargingStation", "Model", Some("X1")),
            ("ChargingStation", "VendorName", Some("Acme")),
            ("SecurityCtrlr", "SecurityProfile", Some("2")),
        ]
    );
    assert_eq!(all[2].reported_at, t0() + chrono::Duration::seconds(9));
    let page = store.list_device_model(&cp, None, 1, 1).await.unwrap();
    assert_eq!(page, all[1..2]);
    let security = store
        .list_device_model(&cp, Some("SecurityCtrlr"), 0, 10)
        .await
        .unwrap();
    assert_eq!(security, all[2..]);
}

/// Newest first, one kind or all, paged by id.
pub async fn station_events_list_newest_first_by_kind(store: &dyn Store) {
    let cp = make_charge_point(store, &unique_cp()).await;
    let mut ids = Vec::new();
    for (n, kind) in ["NotifyEvent", "SecurityEventNotification", "NotifyEvent"]
        .into_iter()
        .enumerate()
    {
        let event = StationEvent {
            id: 0,
            charge_point_id: cp.clone(),
            kind: kind.to_owned(),
            summary: Some(format!("event {n}")),
            body: format!("{{\"n\":{n}}}"),
            occurred_at: t0(),
            received_at: t0(),
        };
        ids.push(store.record_station_event(&event).await.unwrap());
    }
    let all = store
        .list_station_events(&cp, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]]
    );
    assert_eq!(all[0].body, "{\"n\":2}");
    let notify = store
        .list_station_events(&cp, Some("NotifyEvent"), None, 10)
        .await
        .unwrap();
    assert_eq!(
        notify.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[0]]
    );
    let older = store
        .list_station_events(&cp, None, Some(ids[2]), 1)
        .await
        .unwrap();
    assert_eq!(older.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[1]]);
    // Retention: what reached us before the cut goes.
    assert!(
        store
            .purge_station_events(t0() + chrono::Duration::seconds(1))
            .await
            .unwrap()
            >= 3
    );
    assert!(store
        .list_station_events(&cp, None, None, 10)
        .await
        .unwrap()
        .is_empty());
}
