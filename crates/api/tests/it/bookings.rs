//! Bookings over HTTP, end to end with a simulated OCPP charger: a driver
//! books, racing bookings of the same slot get 409, the host sees the
//! bookings, the charger is sent ReserveNow before the slot and keeps other
//! drivers off, the driver starts on it; cancellation rules, no-shows and
//! the release of the charger's reservation.

use chrono::{DateTime, Duration, DurationRound, Utc};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::charging_sessions::{charger_site, options};
use crate::harness::{api_key, assert_error, sign_in_host, Backend, Options, TestApp};
use plugway_domain::ApiKeyRole;

crate::on_both_backends!(
    a_driver_books_the_charger_holds_it_and_the_driver_starts,
    cancellation_rules_no_shows_and_releases,
);

/// The charging tests' options, with tokens that outlive the clock's jumps.
fn booking_options() -> Options {
    Options {
        access_ttl: Some(Duration::days(1)),
        ..options()
    }
}

/// A slot start `minutes` after the app's clock, on the 5-minute grid.
fn slot_start(app: &TestApp, minutes: i64) -> DateTime<Utc> {
    (app.clock_now() + Duration::minutes(minutes))
        .duration_trunc(Duration::minutes(5))
        .unwrap()
}

async fn book(
    app: &TestApp,
    token: &str,
    evse: &str,
    start: DateTime<Utc>,
    minutes: i64,
) -> (StatusCode, Value) {
    app.post(
        "/api/v1/bookings",
        json!({"evse_id": evse, "starts_at": start.to_rfc3339(), "duration_minutes": minutes}),
        Some(token),
    )
    .await
}

/// The OCPP frames Plugway exchanged with `cp` (the log is written
/// asynchronously, so this waits until `wanted` shows up or 5 s pass).
async fn frames_with(app: &TestApp, token: &str, cp: &str, wanted: &str) -> Vec<String> {
    let mut frames = Vec::new();
    for _ in 0..100 {
        let (status, log) = app
            .get(
                &format!("/api/v1/charge-points/{cp}/messages?limit=200"),
                Some(token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{log}");
        frames = log
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["frame"].as_str().unwrap().to_owned())
            .collect();
        if frames.iter().any(|f| f.contains(wanted)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    frames
}

/// Moves the app's clock to `at` (forward only).
fn set_clock(app: &TestApp, at: DateTime<Utc>) {
    let by = at - app.clock_now();
    assert!(by >= Duration::zero(), "the clock only moves forward");
    app.clock.advance(by);
}

/// The kinds of the notifications of the person signed in with `token`,
/// newest first, for the booking `booking`.
async fn notified(app: &TestApp, token: &str, booking: &str) -> Vec<String> {
    let (status, list) = app.get("/api/v1/notifications", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["data"]["booking_id"] == booking)
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn sweep(app: &TestApp) -> usize {
    plugway_app::bookings::sweep(&app.state).await.unwrap()
}

async fn a_driver_books_the_charger_holds_it_and_the_driver_starts(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, booking_options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host_token, _, evses, running) = charger_site(&app, &admin, "CP-BOOK-1").await;
    let ann = app.otp_sign_in("+97688000601").await;
    let ann = ann["token"].as_str().unwrap().to_owned();
    let bob = app.otp_sign_in("+97688000602").await;
    let bob = bob["token"].as_str().unwrap().to_owned();
    let cat = app.otp_sign_in("+97688000603").await;
    let cat = cat["token"].as_str().unwrap().to_owned();

    // Ann books connector 1 for an hour, an hour from now.
    let start = slot_start(&app, 60);
    let (status, booking) = book(&app, &ann, &evses[0], start, 60).await;
    assert_eq!(status, StatusCode::CREATED, "{booking}");
    assert_eq!(booking["status"], "upcoming");
    assert_eq!(booking["app_status"], "Upcoming");
    assert_eq!(booking["duration_minutes"], 60);
    assert_eq!(booking["currency"], "MNT");
    // 50 kW for an hour at 500.5 per kWh: the estimate prices the energy.
    assert_eq!(booking["estimate_energy_wh"], 50_000);
    assert!(
        booking["estimate_minor"].as_i64().unwrap() >= 2_502_500,
        "{booking}"
    );
    assert_eq!(booking["held_on_charger"], false);
    let ann_booking = booking["id"].as_str().unwrap().to_owned();

    // Bob wants an overlapping half hour: taken.
    let clash = book(&app, &bob, &evses[0], start + Duration::minutes(30), 60).await;
    assert_error(&clash, StatusCode::CONFLICT, "slot_taken");
    // Back to back is fine, and so is the other connector at the same time.
    let (status, after) = book(&app, &bob, &evses[0], start + Duration::minutes(60), 30).await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    let (status, _) = book(&app, &bob, &evses[1], start, 60).await;
    assert_eq!(status, StatusCode::CREATED);

    // 20 requests from two drivers race for one slot: exactly one wins.
    let race_start = start + Duration::hours(3);
    let racing = (0..20).map(|i| {
        let token = if i % 2 == 0 { bob.clone() } else { cat.clone() };
        let app = &app;
        let evse = evses[0].clone();
        async move { book(app, &token, &evse, race_start, 30).await }
    });
    let results = join_all(racing).await;
    let won = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(won, 1, "{results:?}");
    for r in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_error(r, StatusCode::CONFLICT, "slot_taken");
    }

    // Bad input changes nothing.
    let off_grid = book(&app, &ann, &evses[0], start + Duration::minutes(241), 30).await;
    assert_error(&off_grid, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let past = book(&app, &ann, &evses[0], slot_start(&app, -60), 30).await;
    assert_error(&past, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let huge = book(&app, &ann, &evses[0], start, 9_000_000_000_000_000).await;
    assert_error(&huge, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let unknown = book(&app, &ann, "not-an-id", start, 30).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "device_not_found");

    // With a vehicle: it must fit a connector (CCS2 here), and its battery
    // caps the energy the estimate assumes; someone else's is not found.
    let vehicle = |standard: &str, battery: i64| {
        json!({"make": "Hyundai", "model": "Ioniq 5", "vehicle_type": "car",
               "connector_standards": [standard], "battery_capacity_wh": battery})
    };
    let (status, chademo) = app
        .post("/api/v1/vehicles", vehicle("CHADEMO", 40_000), Some(&cat))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chademo}");
    let (_, ccs) = app
        .post("/api/v1/vehicles", vehicle("CCS2", 40_000), Some(&cat))
        .await;
    let with_vehicle = |vehicle: &Value, at: DateTime<Utc>| {
        json!({"evse_id": evses[0], "starts_at": at.to_rfc3339(), "duration_minutes": 60,
               "vehicle_id": vehicle["id"]})
    };
    let misfit = app
        .post(
            "/api/v1/bookings",
            with_vehicle(&chademo, start + Duration::hours(5)),
            Some(&cat),
        )
        .await;
    assert_error(&misfit, StatusCode::CONFLICT, "vehicle_incompatible");
    let not_hers = app
        .post(
            "/api/v1/bookings",
            with_vehicle(&ccs, start + Duration::hours(5)),
            Some(&ann),
        )
        .await;
    assert_error(&not_hers, StatusCode::NOT_FOUND, "vehicle_not_found");
    let (status, fitted) = app
        .post(
            "/api/v1/bookings",
            with_vehicle(&ccs, start + Duration::hours(5)),
            Some(&cat),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fitted}");
    assert_eq!(
        fitted["estimate_energy_wh"], 40_000,
        "the battery caps 50 kWh: {fitted}"
    );
    assert_eq!(fitted["vehicle_id"], ccs["id"]);
    let cancelled = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", fitted["id"].as_str().unwrap()),
            json!({}),
            Some(&cat),
        )
        .await;
    assert_eq!(cancelled.0, StatusCode::OK);

    // The driver's list and detail; Bob cannot see Ann's booking.
    let (_, mine) = app.get("/api/v1/bookings", Some(&ann)).await;
    assert_eq!(mine["count"], 1, "{mine}");
    let (status, _) = app
        .get(&format!("/api/v1/bookings/{ann_booking}"), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK);
    let theirs = app
        .get(&format!("/api/v1/bookings/{ann_booking}"), Some(&bob))
        .await;
    assert_error(&theirs, StatusCode::NOT_FOUND, "booking_not_found");

    // The host sees them: per status, per charger, and upcoming per EVSE.
    let (status, all) = app.get("/api/v1/host/bookings", Some(&host_token)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["counts"]["upcoming"], 4, "{all}");
    assert_eq!(all["counts"]["cancelled"], 1, "{all}");
    assert_eq!(all["count"], 5, "all statuses when none is asked for");
    let (_, upcoming) = app
        .get("/api/v1/host/bookings?status=upcoming", Some(&host_token))
        .await;
    assert_eq!(upcoming["count"], 4, "{upcoming}");
    let (_, summary) = app
        .get("/api/v1/host/booking-summary", Some(&host_token))
        .await;
    let first = summary
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["evse_id"] == evses[0].as_str())
        .unwrap();
    assert_eq!(first["upcoming"], 3, "{summary}");
    let (_, on_evse) = app
        .get(
            &format!("/api/v1/host/evses/{}/bookings", evses[0]),
            Some(&host_token),
        )
        .await;
    assert_eq!(on_evse["count"], 3, "{on_evse}");
    assert_eq!(on_evse["results"][0]["id"], ann_booking.as_str());
    let (other_host, _) = sign_in_host(&app, "+97688000699", "Elsewhere").await;
    let hidden = app
        .get(
            &format!("/api/v1/host/evses/{}/bookings", evses[0]),
            Some(&other_host),
        )
        .await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "evse_not_found");
    let drivers_cannot = app.get("/api/v1/host/bookings", Some(&ann)).await;
    assert_eq!(drivers_cannot.0, StatusCode::FORBIDDEN);
    // Anyone signed in sees when the EVSE is taken, not by whom.
    let (_, availability) = app
        .get(
            &format!("/api/v1/evses/{}/availability", evses[0]),
            Some(&cat),
        )
        .await;
    assert_eq!(
        availability["busy"].as_array().unwrap().len(),
        3,
        "{availability}"
    );
    assert!(availability["busy"][0].get("user_id").is_none());

    // Nothing is held before the lead time.
    assert_eq!(sweep(&app).await, 0);
    // Five minutes before the start the charger is asked to hold it.
    set_clock(&app, start - Duration::minutes(5));
    assert!(sweep(&app).await >= 1);
    // Holds go out side by side: wait for connector 1's own ReserveNow
    // (its payload's keys come sorted: connectorId, then expiryDate).
    let frames = frames_with(
        &app,
        &host_token,
        "CP-BOOK-1",
        "\"connectorId\":1,\"expiryDate\"",
    )
    .await;
    let reserve = frames
        .iter()
        .find(|f| f.contains("\"ReserveNow\"") && f.contains("\"connectorId\":1"))
        .unwrap_or_else(|| panic!("no ReserveNow for connector 1 in {frames:?}"));
    assert!(reserve.contains("\"reservationId\""), "{reserve}");
    assert!(
        reserve.contains("\"idTag\":\"APP"),
        "the driver's app tag: {reserve}"
    );
    let (_, held) = app
        .get(&format!("/api/v1/bookings/{ann_booking}"), Some(&ann))
        .await;
    assert_eq!(held["held_on_charger"], true, "{held}");
    // A second node's sweep does not send it again.
    assert_eq!(sweep(&app).await, 0);
    // Ann was told when she booked and reminded before the start, once.
    assert_eq!(
        notified(&app, &ann, &ann_booking).await,
        vec!["booking_reminder", "booking_confirmed"]
    );

    // Cat cannot start on the held connector; Ann can.
    let refused = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&cat),
        )
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "device_reserved");
    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (_, started) = app
        .get(&format!("/api/v1/bookings/{ann_booking}"), Some(&ann))
        .await;
    assert_eq!(started["status"], "in_progress", "{started}");
    assert_eq!(started["session_id"], session["id"]);
    // The charger's StartTransaction used the reservation.
    let frames = frames_with(&app, &host_token, "CP-BOOK-1", "\"StartTransaction\"").await;
    assert!(
        frames
            .iter()
            .any(|f| f.contains("StartTransaction") && f.contains("reservationId")),
        "{frames:?}"
    );

    // Finishing the session completes the booking.
    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    sweep(&app).await;
    let (_, done) = app
        .get(&format!("/api/v1/bookings/{ann_booking}"), Some(&ann))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, all) = app
        .get("/api/v1/host/bookings?status=completed", Some(&host_token))
        .await;
    assert_eq!(all["counts"]["completed"], 1, "{all}");
    assert_eq!(all["count"], 1);

    running.abort();
    app.finish().await;
}

async fn cancellation_rules_no_shows_and_releases(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, booking_options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host_token, _, evses, running) = charger_site(&app, &admin, "CP-BOOK-2").await;
    let ann = app.otp_sign_in("+97688000611").await;
    let ann = ann["token"].as_str().unwrap().to_owned();

    let start = slot_start(&app, 120);
    let (_, early) = book(&app, &ann, &evses[0], start, 30).await;
    let (_, late) = book(&app, &ann, &evses[0], start + Duration::hours(2), 30).await;
    let (_, hosts) = book(&app, &ann, &evses[1], start, 30).await;
    let (_, lapsing) = book(&app, &ann, &evses[1], start + Duration::hours(1), 30).await;
    let id = |b: &Value| b["id"].as_str().unwrap().to_owned();

    // People may only set `cancelled`.
    let refused = app
        .put(
            &format!("/api/v1/bookings/{}/status", id(&early)),
            json!({"app_status": "Completed"}),
            Some(&ann),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "status_not_settable",
    );
    let nonsense = app
        .put(
            &format!("/api/v1/bookings/{}/status", id(&early)),
            json!({"status": "finished-ish"}),
            Some(&ann),
        )
        .await;
    assert_error(&nonsense, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

    // Seed 000's status update cancels before the deadline; twice is fine.
    let (status, cancelled) = app
        .put(
            &format!("/api/v1/bookings/{}/status", id(&early)),
            json!({"app_status": "Cancelled"}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelled_by"], "driver");
    let (status, again) = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", id(&early)),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(
        (status, again["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    // Its slot is free again.
    let bob = app.otp_sign_in("+97688000612").await;
    let bob = bob["token"].as_str().unwrap().to_owned();
    let (status, _) = book(&app, &bob, &evses[0], start, 30).await;
    assert_eq!(status, StatusCode::CREATED);

    // Within 30 minutes of the start the driver can no longer cancel; the
    // host still can, with a reason.
    set_clock(&app, start - Duration::minutes(20));
    let too_late = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", id(&hosts)),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_error(
        &too_late,
        StatusCode::CONFLICT,
        "cancellation_deadline_passed",
    );
    let (status, by_host) = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", id(&hosts)),
            json!({"reason": "maintenance"}),
            Some(&host_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_host}");
    assert_eq!(by_host["cancelled_by"], "host");
    assert_eq!(by_host["cancel_reason"], "maintenance");
    // The driver hears of the host's cancellation, the host of the driver's.
    assert_eq!(
        notified(&app, &ann, &id(&hosts)).await,
        vec!["booking_cancelled", "booking_confirmed"]
    );
    assert_eq!(
        notified(&app, &host_token, &id(&early)).await,
        vec!["booking_cancelled"]
    );
    let bad_reason = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", id(&late)),
            json!({"reason": "x".repeat(501)}),
            Some(&host_token),
        )
        .await;
    assert_error(
        &bad_reason,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    // `lapsing` is held on the charger, then nobody comes: a no-show 15
    // minutes after its start, and the reservation is cancelled on the charger.
    let lapse_start = start + Duration::hours(1);
    set_clock(&app, lapse_start - Duration::minutes(5));
    sweep(&app).await;
    let (_, held) = app
        .get(&format!("/api/v1/bookings/{}", id(&lapsing)), Some(&ann))
        .await;
    assert_eq!(held["held_on_charger"], true, "{held}");
    set_clock(&app, lapse_start + Duration::minutes(16));
    sweep(&app).await;
    let (_, gone) = app
        .get(&format!("/api/v1/bookings/{}", id(&lapsing)), Some(&ann))
        .await;
    assert_eq!(gone["status"], "no_show", "{gone}");
    assert_eq!(gone["held_on_charger"], false, "released: {gone}");
    assert_eq!(
        notified(&app, &ann, &id(&lapsing)).await[0],
        "booking_cancelled"
    );
    let frames = frames_with(&app, &host_token, "CP-BOOK-2", "CancelReservation").await;
    assert!(
        frames.iter().any(|f| f.contains("\"CancelReservation\"")),
        "{frames:?}"
    );
    // A started booking cannot be cancelled; an expired one neither.
    let over = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", id(&lapsing)),
            json!({}),
            Some(&host_token),
        )
        .await;
    assert_error(&over, StatusCode::CONFLICT, "booking_state");

    let (_, mine) = app
        .get("/api/v1/bookings?status=cancelled,no_show", Some(&ann))
        .await;
    assert_eq!(mine["count"], 3, "{mine}");
    let bad_filter = app.get("/api/v1/bookings?status=done", Some(&ann)).await;
    assert_error(
        &bad_filter,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    running.abort();
    app.finish().await;
}
