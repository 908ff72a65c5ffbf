//! Conformance cases for [`plugway_store::ChargingSessionStore`].

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::session::{SessionFailure, StartFailure};
use plugway_domain::tariff::{price, Tariff, Usage};
use plugway_domain::{
    ChargePointId, ChargingSessionId, ConnectorStandard, Currency, PurchaseId, SessionState,
    SiteTimeZone, UserId,
};
use plugway_store::{ChargingSession, Purchase, SessionOrigin, Store, StoreError, WaitingSpan};

use super::network::{evse_fields, visible_site};
use super::{make_user, new_id, t0};

fn tariff() -> Tariff {
    Tariff::simple(
        Currency::parse("MNT").unwrap(),
        SiteTimeZone::parse("Asia/Ulaanbaatar").unwrap(),
        50_000,
        0,
        1_000,
    )
}

pub(crate) fn pending(user: Option<UserId>, cp: &str, connector: i64) -> ChargingSession {
    ChargingSession {
        id: ChargingSessionId(new_id()),
        user_id: user,
        evse_id: None,
        host_id: None,
        charge_point_id: ChargePointId::parse(cp).unwrap(),
        connector_id: connector,
        id_tag: "APP1".into(),
        origin: SessionOrigin::App,
        state: SessionState::Pending,
        transaction_id: None,
        tariff: tariff(),
        meter_start_wh: None,
        last_meter_wh: None,
        last_meter_at: None,
        waiting: vec![],
        failure: None,
        created_at: t0(),
        started_at: None,
        stopped_at: None,
        purchase_id: None,
        updated_at: t0(),
    }
}

pub(crate) fn purchase_for(
    s: &ChargingSession,
    host: Option<UserId>,
    wh: i64,
    stop_after_min: i64,
) -> Purchase {
    let started = t0();
    let stopped = t0() + Duration::minutes(stop_after_min);
    let cost = price(
        &s.tariff,
        &Usage {
            started_at: started,
            meter_start_wh: 0,
            readings: vec![plugway_domain::tariff::MeterReading {
                at: stopped,
                energy_wh: wh,
            }],
            ended_at: stopped,
            waiting: vec![],
        },
    );
    Purchase {
        id: PurchaseId(new_id()),
        session_id: s.id,
        user_id: s.user_id,
        host_id: host,
        evse_id: s.evse_id,
        charge_point_id: s.charge_point_id.clone(),
        connector_id: s.connector_id,
        cost,
        tariff: s.tariff.clone(),
        started_at: started,
        stopped_at: stopped,
        payment_status: "unpaid".into(),
        feedback_score: None,
        feedback_description: None,
        feedback_at: None,
        created_at: stopped,
        hold_reason: None,
    }
}

/// One active session per connector, `max` per driver, also under races;
/// finished sessions free both.
pub async fn charging_sessions_hold_connectors_and_drivers(store: &dyn Store) {
    let driver = make_user(store, "+97688110001").await;
    let first = pending(Some(driver.id), "CP-S1", 1);
    store.create_charging_session(&first, 1).await.unwrap();
    let found = store
        .find_charging_session(first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, first);

    // Same connector, another driver: busy.
    let other = make_user(store, "+97688110002").await;
    match store
        .create_charging_session(&pending(Some(other.id), "CP-S1", 1), 1)
        .await
    {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::ConnectorBusy),
        other => panic!("expected connector_busy, got {other:?}"),
    }
    // Same driver, another connector: at the limit.
    match store
        .create_charging_session(&pending(Some(driver.id), "CP-S1", 2), 1)
        .await
    {
        Err(StoreError::Conflict(c)) => assert_eq!(c, plugway_store::Conflict::ActiveSession),
        other => panic!("expected active_session, got {other:?}"),
    }
    // With a limit of two it may.
    let second = pending(Some(driver.id), "CP-S1", 2);
    store.create_charging_session(&second, 2).await.unwrap();

    // Racing starts of one driver on eight connectors: exactly one wins.
    let racer = make_user(store, "+97688110003").await;
    let attempts: Vec<ChargingSession> = (1..=8)
        .map(|c| pending(Some(racer.id), "CP-S2", c))
        .collect();
    let results = join_all(attempts.iter().map(|s| store.create_charging_session(s, 1))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        store
            .list_active_charging_sessions(Some(racer.id), 100)
            .await
            .unwrap()
            .len(),
        1
    );

    // Compare and set: a writer with a stale state loses.
    let mut charging = first.clone();
    charging.state = SessionState::Charging;
    charging.transaction_id = Some(4242);
    charging.meter_start_wh = Some(100);
    charging.started_at = Some(t0());
    charging.waiting = vec![WaitingSpan {
        start: t0(),
        end: None,
    }];
    assert!(store
        .update_charging_session(&charging, SessionState::Pending)
        .await
        .unwrap());
    assert!(!store
        .update_charging_session(&charging, SessionState::Pending)
        .await
        .unwrap());
    let by_tx = store
        .find_session_by_transaction(4242)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_tx, charging);
    let on_connector = store
        .active_session_on_connector(&charging.charge_point_id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on_connector.id, first.id);

    // A failed session frees the connector.
    let mut failed = charging.clone();
    failed.state = SessionState::Failed;
    failed.failure = Some(SessionFailure::Start(StartFailure::TimedOut));
    assert!(store
        .update_charging_session(&failed, SessionState::Charging)
        .await
        .unwrap());
    assert!(store
        .active_session_on_connector(&failed.charge_point_id, 1)
        .await
        .unwrap()
        .is_none());
    store
        .create_charging_session(&pending(Some(other.id), "CP-S1", 1), 1)
        .await
        .unwrap();
    let all = store
        .list_active_charging_sessions(None, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "second, the racer's and other's");
}

/// What the session ticker reads each round: the sessions written since
/// its last read, those that finished included, oldest `updated_at` first.
pub async fn sessions_written_since_a_moment_are_listed_active_or_finished(store: &dyn Store) {
    let driver = make_user(store, "+97688110021").await;
    let other = make_user(store, "+97688110022").await;
    let mut old = pending(Some(driver.id), "CP-S9", 1);
    old.updated_at = t0() - Duration::minutes(5);
    store.create_charging_session(&old, 10).await.unwrap();
    let mut fresh = pending(Some(other.id), "CP-S9", 2);
    fresh.updated_at = t0() + Duration::seconds(2);
    store.create_charging_session(&fresh, 10).await.unwrap();
    let since = |at| async move {
        store
            .list_charging_sessions_updated_since(at, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.state))
            .collect::<Vec<_>>()
    };
    assert_eq!(since(t0()).await, vec![(fresh.id, SessionState::Pending)]);
    assert_eq!(
        since(t0() + Duration::seconds(2)).await,
        vec![(fresh.id, SessionState::Pending)],
        "a write at the moment itself counts"
    );
    // The old one fails now: it is listed again, after the fresh one,
    // although it is no longer active.
    let mut failed = old.clone();
    failed.state = SessionState::Failed;
    failed.failure = Some(SessionFailure::Start(StartFailure::TimedOut));
    failed.updated_at = t0() + Duration::seconds(3);
    assert!(store
        .update_charging_session(&failed, SessionState::Pending)
        .await
        .unwrap());
    assert_eq!(
        since(t0()).await,
        vec![
            (fresh.id, SessionState::Pending),
            (old.id, SessionState::Failed)
        ]
    );
    assert!(since(t0() + Duration::seconds(4)).await.is_empty());
    let first = store
        .list_charging_sessions_updated_since(t0() - Duration::hours(1), 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "the limit holds");
}

/// Finishing writes one purchase, however often; purchases list, take
/// feedback and add up into the host's earnings.
pub async fn finished_sessions_have_one_purchase_and_earnings(store: &dyn Store) {
    let driver = make_user(store, "+97688110011").await;
    let host = make_user(store, "+97688110012").await;
    let mut priced = Vec::new();
    for (n, wh) in [(1, 10_000), (2, 20_000), (3, 5_000)] {
        let mut s = pending(Some(driver.id), "CP-S3", n);
        s.host_id = Some(host.id);
        store.create_charging_session(&s, 10).await.unwrap();
        s.state = SessionState::Charging;
        s.transaction_id = Some(9000 + n);
        assert!(store
            .update_charging_session(&s, SessionState::Pending)
            .await
            .unwrap());
        let p = purchase_for(&s, Some(host.id), wh, 30 * n);
        let mut done = s.clone();
        done.state = SessionState::Finished;
        done.stopped_at = Some(p.stopped_at);
        let stored = store.finish_charging_session(&done, &p).await.unwrap();
        assert_eq!(stored, p);
        // The charger repeats its StopTransaction: the first purchase stands.
        let again = purchase_for(&s, Some(host.id), wh + 1, 30 * n);
        assert_eq!(
            store
                .finish_charging_session(&done, &again)
                .await
                .unwrap()
                .id,
            p.id
        );
        let session = store.find_charging_session(s.id).await.unwrap().unwrap();
        assert_eq!(session.state, SessionState::Finished);
        assert_eq!(session.purchase_id, Some(p.id));
        assert!(store
            .active_session_on_connector(&s.charge_point_id, n)
            .await
            .unwrap()
            .is_none());
        priced.push(p);
    }
    assert_eq!(priced[0].cost.total, 500_000, "10 kWh at 50,000 per kWh");

    assert_eq!(store.count_purchases(driver.id).await.unwrap(), 3);
    let page = store.list_purchases(driver.id, 0, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![priced[2].id, priced[1].id],
        "newest first"
    );
    assert_eq!(
        store.list_purchases(driver.id, 2, 2).await.unwrap().len(),
        1
    );
    assert_eq!(store.count_purchases(host.id).await.unwrap(), 0);

    store
        .set_purchase_feedback(priced[0].id, 4, "quick and clean", t0())
        .await
        .unwrap();
    let p = store.find_purchase(priced[0].id).await.unwrap().unwrap();
    assert_eq!(p.feedback_score, Some(4));
    assert_eq!(p.feedback_description.as_deref(), Some("quick and clean"));
    assert!(matches!(
        store
            .set_purchase_feedback(PurchaseId(new_id()), 4, "", t0())
            .await,
        Err(StoreError::NotFound)
    ));

    let from = t0() - Duration::days(1);
    let to = t0() + Duration::days(1);
    let rows = store
        .host_earnings(Some(host.id), None, from, to, false)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].sessions, 3);
    assert_eq!(rows[0].energy_wh, 35_000);
    assert_eq!(
        rows[0].amount,
        priced.iter().map(|p| p.cost.total).sum::<i64>()
    );
    assert_eq!(rows[0].currency, "MNT");
    assert_eq!(rows[0].day, t0().timestamp() / 86_400);
    assert_eq!(
        (rows[0].paid_sessions, rows[0].paid_amount, rows[0].paid_tax),
        (0, 0, 0),
        "nothing is paid yet"
    );
    let listed = store
        .list_host_purchases(host.id, None, from, to, 0, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    assert!(store
        .host_earnings(Some(driver.id), None, from, to, false)
        .await
        .unwrap()
        .is_empty());
}

/// A purchase held for review keeps its reason, earns nothing until it is
/// released at a corrected cost (then unpaid, accruing), and is reviewed
/// once: a second review, or one of a purchase never held, finds nothing.
pub async fn held_purchases_are_reviewed_once_and_do_not_accrue(store: &dyn Store) {
    let driver = make_user(store, "+97688110021").await;
    let host = make_user(store, "+97688110022").await;
    let mut held = Vec::new();
    for n in [1, 2] {
        let mut s = pending(Some(driver.id), "CP-HOLD", n);
        s.host_id = Some(host.id);
        store.create_charging_session(&s, 10).await.unwrap();
        let mut p = purchase_for(&s, Some(host.id), 1_000_000_000, 1);
        p.payment_status = "held".into();
        p.hold_reason = Some("more than the connector delivers".into());
        let mut done = s.clone();
        done.state = SessionState::Finished;
        done.stopped_at = Some(p.stopped_at);
        let stored = store.finish_charging_session(&done, &p).await.unwrap();
        assert_eq!(stored.hold_reason, p.hold_reason);
        held.push((s, stored));
    }
    let (from, to) = (t0() - Duration::days(1), t0() + Duration::days(1));
    let accrued =
        |rows: Vec<plugway_store::EarningsRow>| rows.iter().map(|r| r.sessions).sum::<i64>();
    assert_eq!(
        accrued(
            store
                .host_earnings(Some(host.id), None, from, to, false)
                .await
                .unwrap()
        ),
        0
    );

    assert_eq!(
        store
            .count_host_held_purchases(Some(host.id), None, from, to)
            .await
            .unwrap(),
        2
    );
    let corrected = purchase_for(&held[0].0, Some(host.id), 2_000, 1).cost;
    let released = store
        .review_held_purchase(held[0].1.id, Some(&corrected), &[], t0())
        .await
        .unwrap()
        .expect("held, so reviewed");
    assert_eq!(
        (released.payment_status.as_str(), released.cost),
        ("unpaid", corrected)
    );
    assert_eq!(
        released.hold_reason, held[0].1.hold_reason,
        "the reason stays as the record"
    );
    let voided = store
        .review_held_purchase(held[1].1.id, None, &[], t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(voided.payment_status, "void");
    // Once only; never a purchase that was not held.
    assert!(store
        .review_held_purchase(held[0].1.id, None, &[], t0())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .review_held_purchase(held[1].1.id, Some(&corrected), &[], t0())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .review_held_purchase(PurchaseId(new_id()), None, &[], t0())
        .await
        .unwrap()
        .is_none());
    let stored = store.find_purchase(held[0].1.id).await.unwrap().unwrap();
    assert_eq!(stored, released);
    assert_eq!(
        store
            .count_host_held_purchases(Some(host.id), None, from, to)
            .await
            .unwrap(),
        0,
        "released and voided: none held"
    );
    let rows = store
        .host_earnings(Some(host.id), None, from, to, false)
        .await
        .unwrap();
    assert_eq!(
        accrued(rows.clone()),
        1,
        "the released one accrues, the void one does not: {rows:?}"
    );
    assert_eq!(rows.iter().map(|r| r.energy_wh).sum::<i64>(), 2_000);
}

/// An EVSE's full tariff is stored, replaced and cleared.
pub async fn evse_tariffs_are_set_and_cleared(store: &dyn Store) {
    let host = make_user(store, "+97688110021").await;
    let (_, evse) = visible_site(
        store,
        host.id,
        "Tariff Plaza",
        (47.9, 106.9),
        evse_fields("T-1", ConnectorStandard::Ccs2, 50_000),
    )
    .await;
    assert!(store.find_evse_tariff(evse.id).await.unwrap().is_none());
    let mut t = tariff();
    t.session_fee = 2_000;
    t.tax_basis_points = 1_000;
    store
        .set_evse_tariff(evse.id, Some(&t), t0())
        .await
        .unwrap();
    assert_eq!(
        store.find_evse_tariff(evse.id).await.unwrap(),
        Some(t.clone())
    );
    t.session_fee = 3_000;
    store
        .set_evse_tariff(evse.id, Some(&t), t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_evse_tariff(evse.id)
            .await
            .unwrap()
            .unwrap()
            .session_fee,
        3_000
    );
    store.set_evse_tariff(evse.id, None, t0()).await.unwrap();
    assert!(store.find_evse_tariff(evse.id).await.unwrap().is_none());
}
