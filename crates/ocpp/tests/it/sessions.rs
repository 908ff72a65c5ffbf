//! What a charger's own messages do to charging sessions: a start with an
//! RFID card is a session too, waiting time follows the connector status,
//! repeats from a charger that was offline are not counted twice, and a new
//! transaction on a connector closes a session whose stop never came.

use chrono::Utc;
use plugway_domain::{IdTag, IdTagState, SessionState};
use plugway_ocpp::OcppConfig;
use plugway_store::{IdTagRecord, SessionOrigin};
use serde_json::json;

use crate::{Backend, Csms};

crate::on_both_backends!(
    an_rfid_start_is_a_session_priced_once,
    a_register_that_rolls_over_and_resets_bills_the_true_energy,
    a_transaction_on_a_held_connector_closes_the_stale_session,
    a_connector_available_without_a_stop_closes_its_session,
);

fn at(offset_secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A card that belongs to a new driver account; returns the account id.
async fn card(csms: &Csms, tag: &str, phone: &str) -> plugway_domain::UserId {
    let user = plugway_store_conformance::make_user(csms.store.as_ref(), phone).await;
    csms.store
        .upsert_id_tag(&IdTagRecord {
            state: IdTagState {
                id_tag: IdTag::parse(tag).unwrap(),
                parent_id_tag: None,
                expiry: None,
                max_active_transactions: -1,
            },
            user: Some(user.id),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    user.id
}

async fn an_rfid_start_is_a_session_priced_once(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    // One instant for every timestamp this charger reports, so the spans
    // the test asserts do not grow with how slowly the machine runs it.
    let base = Utc::now();
    let at = |offset_secs: i64| {
        (base + chrono::Duration::seconds(offset_secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    csms.add("CP-RFID").await;
    let driver = card(&csms, "CARD1", "+97688001001").await;
    let mut cp = csms.connect("CP-RFID").await;
    cp.boot().await;

    // An unknown card starts nothing but the transaction the charger needs.
    let refused = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 2, "idTag": "NOBODY", "meterStart": 0, "timestamp": at(0)}),
        )
        .await;
    assert_eq!(refused["idTagInfo"]["status"], "Invalid");
    let refused_tx = refused["transactionId"].as_i64().unwrap();
    assert!(csms
        .store
        .find_session_by_transaction(refused_tx)
        .await
        .unwrap()
        .is_none());

    let start =
        json!({"connectorId": 1, "idTag": "card1", "meterStart": 1000, "timestamp": at(-600)});
    let tx = cp.ok("StartTransaction", start.clone()).await["transactionId"]
        .as_i64()
        .unwrap();
    let session = csms
        .store
        .find_session_by_transaction(tx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id, Some(driver));
    assert_eq!(session.origin, SessionOrigin::Charger);
    assert_eq!(session.state, SessionState::Charging);
    assert_eq!(session.meter_start_wh, Some(1000));
    // The charger lost our answer and sends the start again (as chargers
    // do after being offline): the same transaction, still one session.
    assert_eq!(
        cp.ok("StartTransaction", start).await["transactionId"].as_i64(),
        Some(tx)
    );
    assert_eq!(
        csms.store
            .list_active_charging_sessions(Some(driver), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // The car stops drawing, then draws again: one waiting span, closed.
    cp.ok("StatusNotification", json!({"connectorId": 1, "errorCode": "NoError", "status": "SuspendedEV", "timestamp": at(-300)})).await;
    let waiting = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, SessionState::Suspended);
    assert_eq!(waiting.waiting.len(), 1);
    cp.ok("StatusNotification", json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": at(-240)})).await;
    let resumed = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resumed.state, SessionState::Charging);
    assert!(resumed.waiting[0].end.is_some());

    cp.ok(
        "MeterValues",
        json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": at(-120),
        "sampledValue": [{"value": "4.5", "unit": "kWh"}]}]}),
    )
    .await;
    let stop = json!({"transactionId": tx, "meterStop": 6000, "timestamp": at(0), "reason": "EVDisconnected"});
    cp.ok("StopTransaction", stop.clone()).await;
    let finished = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.state, SessionState::Finished);
    let purchase = csms
        .store
        .find_purchase(finished.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(purchase.cost.energy_wh, 5000);
    assert_eq!(purchase.cost.waiting_seconds, 60);
    // The stop again (a queued repeat): still one purchase, the same one.
    cp.ok("StopTransaction", stop).await;
    assert_eq!(csms.store.count_purchases(driver).await.unwrap(), 1);
    assert_eq!(
        csms.store
            .find_charging_session(session.id)
            .await
            .unwrap()
            .unwrap()
            .purchase_id,
        Some(purchase.id)
    );
    csms.finish().await;
}

/// A meter near its 7-digit wrap rolls over mid-session, and later
/// restarts from 0 after a reboot: the purchase is what actually flowed.
async fn a_register_that_rolls_over_and_resets_bills_the_true_energy(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let base = Utc::now();
    let at = |offset_secs: i64| {
        (base + chrono::Duration::seconds(offset_secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    csms.add("CP-WRAP").await;
    let driver = card(&csms, "CARD9", "+97688001009").await;
    let mut cp = csms.connect("CP-WRAP").await;
    cp.boot().await;
    cp.ok(
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    )
    .await;
    let start =
        json!({"connectorId": 1, "idTag": "CARD9", "meterStart": 995_000, "timestamp": at(-600)});
    let tx = cp.ok("StartTransaction", start).await["transactionId"]
        .as_i64()
        .unwrap();
    // +4.5 kWh; through the 1,000,000 Wh wrap, +0.5 + 0.3 kWh; a reboot
    // resets the register to 0 (that step adds nothing), +0.2 kWh; the stop
    // at 700, +0.5 kWh.
    for (offset, wh) in [(-500, 999_500), (-400, 300), (-300, 0), (-200, 200)] {
        cp.ok(
            "MeterValues",
            json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": at(offset),
            "sampledValue": [{"value": wh.to_string(), "unit": "Wh"}]}]}),
        )
        .await;
    }
    let stop =
        json!({"transactionId": tx, "meterStop": 700, "timestamp": at(0), "reason": "Local"});
    cp.ok("StopTransaction", stop).await;
    let session = csms
        .store
        .find_session_by_transaction(tx)
        .await
        .unwrap()
        .unwrap();
    let purchase = csms
        .store
        .find_purchase(session.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(purchase.cost.energy_wh, 4_500 + 800 + 200 + 500);
    assert_eq!(purchase.payment_status, "unpaid", "{purchase:?}");
    assert_eq!(purchase.user_id, Some(driver));
    csms.finish().await;
}

async fn a_transaction_on_a_held_connector_closes_the_stale_session(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP-REBOOT").await;
    let driver = card(&csms, "CARD2", "+97688001002").await;
    let mut cp = csms.connect("CP-REBOOT").await;
    cp.boot().await;
    let first = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "CARD2", "meterStart": 0, "timestamp": at(-900)}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    cp.ok(
        "MeterValues",
        json!({"connectorId": 1, "transactionId": first, "meterValue": [{"timestamp": at(-800),
        "sampledValue": [{"value": "2000"}]}]}),
    )
    .await;
    // The charger lost power, forgot the transaction and starts a new one
    // on the same connector: the old session is closed at its last reading.
    cp.boot().await;
    let second = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "CARD2", "meterStart": 2000, "timestamp": at(0)}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    let old = csms
        .store
        .find_session_by_transaction(first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.state, SessionState::Finished);
    let purchase = csms
        .store
        .find_purchase(old.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(purchase.cost.energy_wh, 2000);
    let new = csms
        .store
        .find_session_by_transaction(second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.state, SessionState::Charging);
    assert_eq!(
        csms.store
            .list_active_charging_sessions(Some(driver), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    csms.finish().await;
}

async fn a_connector_available_without_a_stop_closes_its_session(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP-LOST").await;
    let driver = card(&csms, "CARD3", "+97688001003").await;
    let mut cp = csms.connect("CP-LOST").await;
    cp.boot().await;
    let tx = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "CARD3", "meterStart": 100, "timestamp": at(-600)}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    cp.ok(
        "MeterValues",
        json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": at(-60),
        "sampledValue": [{"value": "3100"}]}]}),
    )
    .await;
    // An Available the connector leaves again within the grace changes nothing.
    cp.ok("StatusNotification", json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": at(0)})).await;
    cp.ok(
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": at(0)}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let session = csms
        .store
        .find_session_by_transaction(tx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.state,
        SessionState::Charging,
        "the connector is in use again"
    );
    // The charger rebooted and forgot the transaction: Available, and no stop.
    cp.boot().await;
    cp.ok("StatusNotification", json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": at(1)})).await;
    let mut closed = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let s = csms
            .store
            .find_session_by_transaction(tx)
            .await
            .unwrap()
            .unwrap();
        if s.state == SessionState::Finished {
            closed = Some(s);
            break;
        }
    }
    let closed = closed.expect("the orphaned session was closed");
    let purchase = csms
        .store
        .find_purchase(closed.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        purchase.cost.energy_wh, 3000,
        "priced up to the last stored reading"
    );
    assert_eq!(csms.store.count_purchases(driver).await.unwrap(), 1);
    csms.finish().await;
}
