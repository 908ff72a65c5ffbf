//! Conformance cases for [`plugway_store::BookingStore`].

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::booking::{BookingStatus, Slot};
use plugway_domain::{BookingId, ChargingSessionId, ConnectorStandard, Currency};
use plugway_store::{Booking, BookingFilter, HoldState, StatusChange, Store, StoreError};

use super::network::{evse_fields, visible_site};
use super::{make_user, new_id, t0};

fn booking(
    user: &plugway_store::User,
    site: &plugway_store::Site,
    evse: &plugway_store::Evse,
    start_min: i64,
    minutes: i64,
) -> Booking {
    let starts_at = t0() + Duration::minutes(start_min);
    Booking {
        id: BookingId(new_id()),
        seq: 0,
        user_id: user.id,
        evse_id: evse.id,
        site_id: site.id,
        host_id: site.host_id,
        vehicle_id: None,
        slot: Slot {
            starts_at,
            ends_at: starts_at + Duration::minutes(minutes),
        },
        status: BookingStatus::Upcoming,
        currency: Currency::parse("USD").unwrap(),
        estimate: 1_000,
        estimate_energy_wh: 10_000,
        cancelled_by: None,
        cancel_reason: None,
        session_id: None,
        hold: HoldState::Pending,
        hold_attempt_at: t0(),
        reminded_at: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// 50 drivers race for overlapping slots of one EVSE: exactly one wins,
/// every other gets `booking_overlap`; back-to-back slots and other EVSEs
/// are unaffected; a cancelled booking frees its slot.
pub async fn bookings_never_overlap_under_racing_inserts(store: &dyn Store) {
    let host = make_user(store, "+97688000001").await;
    let (site, evse) = visible_site(
        store,
        host.id,
        "Racing",
        (47.9, 106.9),
        evse_fields("E1", ConnectorStandard::Ccs2, 22_000),
    )
    .await;
    let mut drivers = Vec::new();
    for i in 0..50 {
        drivers.push(make_user(store, &format!("+9768810{i:04}")).await);
    }
    // Each driver asks for a different slot, all sharing 10:00-10:05.
    let attempts = drivers.iter().enumerate().map(|(i, d)| {
        let (k, m) = (i as i64 % 5, i as i64 % 3);
        let b = booking(d, &site, &evse, 600 - k * 5, 15 + k * 5 + m * 5);
        async move { store.insert_booking(&b, 5).await }
    });
    let results = join_all(attempts).await;
    let won: Vec<&Booking> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "exactly one of 50 overlapping bookings wins");
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    StoreError::Conflict(plugway_store::Conflict::BookingOverlap)
                ),
                "{e:?}"
            );
        }
    }
    let winner = won[0].clone();
    assert!(winner.seq > 0);
    assert_eq!(
        store.find_booking(winner.id).await.unwrap().as_ref(),
        Some(&winner)
    );
    // Back to back is fine.
    let after = booking(
        &drivers[1],
        &site,
        &evse,
        (winner.slot.ends_at - t0()).num_minutes(),
        30,
    );
    store.insert_booking(&after, 5).await.unwrap();
    // Cancelling frees the slot.
    let cancelled = store
        .set_booking_status(
            winner.id,
            &[BookingStatus::Upcoming],
            BookingStatus::Cancelled,
            &StatusChange {
                cancelled_by: Some("driver".into()),
                ..StatusChange::default()
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(cancelled.hold, HoldState::None, "nothing was held");
    // Twice is a no-op: the compare-and-set sees it moved.
    assert!(store
        .set_booking_status(
            winner.id,
            &[BookingStatus::Upcoming],
            BookingStatus::Cancelled,
            &StatusChange::default(),
            t0()
        )
        .await
        .unwrap()
        .is_none());
    let again = booking(&drivers[2], &site, &evse, 600, 15);
    store.insert_booking(&again, 5).await.unwrap();

    // The per-driver limit.
    let d = &drivers[3];
    for k in 0..2 {
        store
            .insert_booking(&booking(d, &site, &evse, 2000 + k * 60, 15), 2)
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .insert_booking(&booking(d, &site, &evse, 3000, 15), 2)
            .await,
        Err(StoreError::Conflict(plugway_store::Conflict::BookingLimit))
    ));
}

/// Lists, counts, the job claims (each claimed once), holds and releases.
pub async fn booking_jobs_claim_each_booking_once(store: &dyn Store) {
    let host = make_user(store, "+97688000002").await;
    let driver = make_user(store, "+97688000003").await;
    let (site, evse) = visible_site(
        store,
        host.id,
        "Jobs",
        (47.9, 106.9),
        evse_fields("E1", ConnectorStandard::Ccs2, 22_000),
    )
    .await;
    let soon = store
        .insert_booking(&booking(&driver, &site, &evse, 60, 30), 5)
        .await
        .unwrap();
    let later = store
        .insert_booking(&booking(&driver, &site, &evse, 600, 30), 5)
        .await
        .unwrap();

    let mine = BookingFilter {
        user: Some(driver.id),
        ..BookingFilter::default()
    };
    let listed = store.list_bookings(&mine, 0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![soon.id, later.id]
    );
    assert_eq!(store.count_bookings(&mine).await.unwrap(), 2);
    let hosts = BookingFilter {
        host: Some(host.id),
        statuses: vec![BookingStatus::Upcoming],
        ..BookingFilter::default()
    };
    assert_eq!(store.count_bookings(&hosts).await.unwrap(), 2);
    assert_eq!(
        store.upcoming_booking_counts(host.id).await.unwrap(),
        vec![(evse.id, 2)]
    );
    assert!(store
        .list_bookings(
            &BookingFilter {
                user: Some(host.id),
                ..BookingFilter::default()
            },
            0,
            10
        )
        .await
        .unwrap()
        .is_empty());

    // Reminders: 30 minutes ahead, claimed once even by racing nodes.
    let now = t0() + Duration::minutes(35);
    let claims = join_all((0..4).map(|_| store.claim_reminders(now, Duration::minutes(30)))).await;
    let claimed: Vec<BookingId> = claims
        .into_iter()
        .flat_map(|c| c.unwrap())
        .map(|b| b.id)
        .collect();
    assert_eq!(claimed, vec![soon.id]);

    // Holds: 10 minutes ahead, leased.
    let now = t0() + Duration::minutes(52);
    let claims = join_all(
        (0..4).map(|_| store.claim_holds(now, Duration::minutes(10), Duration::seconds(30))),
    )
    .await;
    let claimed: Vec<Booking> = claims.into_iter().flat_map(|c| c.unwrap()).collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, soon.id);
    // Leased: nobody else gets it until the lease ends.
    assert!(store
        .claim_holds(now, Duration::minutes(10), Duration::seconds(30))
        .await
        .unwrap()
        .is_empty());
    store.set_hold(soon.id, HoldState::Held, now).await.unwrap();
    assert!(store
        .booking_holding(evse.id, now, Duration::minutes(10))
        .await
        .unwrap()
        .is_some_and(|b| b.id == soon.id));
    assert!(store
        .booking_holding(evse.id, t0() + Duration::minutes(40), Duration::minutes(10))
        .await
        .unwrap()
        .is_none());

    // Starting consumes the hold; the session ending completes it.
    let session = ChargingSessionId(new_id());
    let started = store
        .set_booking_status(
            soon.id,
            &[BookingStatus::Upcoming],
            BookingStatus::InProgress,
            &StatusChange {
                session_id: Some(session),
                ..StatusChange::default()
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.hold, HoldState::Consumed);
    assert_eq!(started.session_id, Some(session));
    let done = store
        .complete_used_bookings(t0() + Duration::minutes(91))
        .await
        .unwrap();
    assert_eq!(done.iter().map(|b| b.id).collect::<Vec<_>>(), vec![soon.id]);

    // A held booking that lapses is released once.
    let now = t0() + Duration::minutes(592);
    let held = store
        .claim_holds(now, Duration::minutes(10), Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    store
        .set_hold(later.id, HoldState::Held, now)
        .await
        .unwrap();
    let expired = store
        .expire_no_shows(t0() + Duration::minutes(616), Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(
        expired.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![later.id]
    );
    assert_eq!(expired[0].status, BookingStatus::NoShow);
    let releases = join_all(
        (0..3).map(|_| store.claim_releases(t0() + Duration::minutes(616), Duration::seconds(30))),
    )
    .await;
    let released: Vec<Booking> = releases.into_iter().flat_map(|c| c.unwrap()).collect();
    assert_eq!(released.len(), 1);
    store
        .set_hold(later.id, HoldState::Released, t0() + Duration::minutes(616))
        .await
        .unwrap();
    let by_status = store.count_bookings_by_status(&mine).await.unwrap();
    assert!(by_status.contains(&(BookingStatus::Completed, 1)));
    assert!(by_status.contains(&(BookingStatus::NoShow, 1)));
}
