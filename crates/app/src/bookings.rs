//! Bookings (seed 000's appointments): making them, cancelling them, the
//! guard that keeps other drivers off a booked EVSE, and the background
//! work that moves them along (no-shows, completion, reminders, holding the
//! connector on the charger with OCPP ReserveNow and releasing it with
//! CancelReservation).
//!
//! The background work is a sweep every few seconds. Each step claims its
//! rows with one `UPDATE ... RETURNING` in the database (see
//! `plugway_store::BookingStore`), so with several nodes each booking's
//! reminder, hold and release is handled by exactly one of them, and a node
//! that dies mid-hold leaves a lease that expires for another to retry.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use plugway_domain::booking::{
    self, check_cancel, expected_energy_wh, Actor, BookingRefusal, BookingStatus, Slot,
};
use plugway_domain::{BookingId, ChargingSessionId, EvseId, UserId};
use plugway_events::{ChargerAnswer, ChargerCommand, GatewayError};
use plugway_store::{Booking, HoldState, StatusChange, StoreError};

use crate::context::App;
use crate::error::{AppError, AppResult};

/// How long a node owns a hold or release it claimed before another may retry.
const LEASE: i64 = 60;
/// Wait before asking an offline or refusing charger again.
const RETRY: i64 = 30;

/// What a driver asks for.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// The EVSE.
    pub evse: EvseId,
    /// Start of the slot.
    pub starts_at: DateTime<Utc>,
    /// Length of the slot in minutes.
    pub duration_minutes: i64,
    /// The driver's vehicle: it must fit one of the EVSE's connectors, and
    /// its battery caps the energy estimate.
    pub vehicle: Option<plugway_domain::ids::VehicleId>,
}

fn refusal(r: &BookingRefusal) -> AppError {
    AppError::conflict(r.code(), r.to_string())
}

fn booking_not_found() -> AppError {
    AppError::not_found("booking_not_found", "no such booking")
}

/// Books a slot: the EVSE must be usable, the site open through the whole
/// slot, and the slot free. The estimate is the tariff applied to the
/// energy the EVSE (and battery) can deliver in the slot.
#[tracing::instrument(skip_all, fields(user = %user, evse = %req.evse), err(Debug))]
pub async fn create(state: &App, user: UserId, req: BookingRequest) -> AppResult<Booking> {
    let policy = state.settings.bookings;
    let now = state.clock.now();
    let slot = Slot::new(req.starts_at, req.duration_minutes, now, &policy)
        .map_err(|e| AppError::invalid_field(e.field, e.message))?;
    let (evse, site) = crate::network::usable_evse(state, req.evse).await?;
    if !slot.within_hours(&site.fields.opening_hours, &site.fields.time_zone) {
        return Err(AppError::conflict(
            "site_closed",
            "the site is not open for the whole slot; see its opening hours",
        ));
    }
    let vehicle = match req.vehicle {
        Some(id) => Some(super::vehicles::owned_vehicle(state, user, id).await?),
        None => None,
    };
    if let Some(v) = &vehicle {
        let fits = evse
            .fields
            .connectors
            .iter()
            .any(|c| v.spec.standards().contains(&c.standard));
        if !fits {
            return Err(AppError::conflict(
                "vehicle_incompatible",
                "none of this device's connectors fits the vehicle",
            ));
        }
    }
    let tariff = state.sessions.tariff_for_evse(&evse).await?;
    let battery = vehicle.as_ref().map(|v| v.spec.battery_wh());
    let energy = expected_energy_wh(&slot, evse.max_power_w(), battery);
    let cost = booking::estimate(&tariff, &slot, energy);
    let networked =
        evse.fields.charge_point_id.is_some() && evse.fields.ocpp_connector_id.is_some();
    let record = Booking {
        id: BookingId(state.ids.new_uuid(now)),
        seq: 0,
        user_id: user,
        evse_id: evse.id,
        site_id: site.id,
        host_id: site.host_id,
        vehicle_id: vehicle.map(|v| v.id.to_string()),
        slot,
        status: BookingStatus::Upcoming,
        currency: cost.currency,
        estimate: cost.total,
        estimate_energy_wh: energy,
        cancelled_by: None,
        cancel_reason: None,
        session_id: None,
        hold: if networked {
            HoldState::Pending
        } else {
            HoldState::None
        },
        hold_attempt_at: now,
        reminded_at: None,
        created_at: now,
        updated_at: now,
    };
    let stored = state
        .store
        .insert_booking(&record, policy.max_live_per_driver)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(plugway_store::Conflict::BookingOverlap) => AppError::conflict(
                "slot_taken",
                "this device is already booked for part of that time",
            ),
            StoreError::Conflict(plugway_store::Conflict::BookingLimit) => AppError::conflict(
                "booking_limit",
                format!(
                    "you can hold at most {} upcoming bookings",
                    policy.max_live_per_driver
                ),
            ),
            other => other.into(),
        })?;
    tracing::info!(booking = %stored.id, "booking made");
    super::notify::booking_confirmed(state, &stored).await;
    Ok(stored)
}

/// The booking if `user` made it, or hosts its site, or is an admin (`None`
/// for user means an admin caller).
pub async fn visible(
    state: &App,
    id: BookingId,
    user: Option<UserId>,
) -> AppResult<(Booking, Actor)> {
    let booking = state
        .store
        .find_booking(id)
        .await?
        .ok_or_else(booking_not_found)?;
    match user {
        None => Ok((booking, Actor::Host)),
        Some(u) if booking.user_id == u => Ok((booking, Actor::Driver)),
        Some(u) if booking.host_id == u => Ok((booking, Actor::Host)),
        Some(_) => Err(booking_not_found()),
    }
}

/// Cancels a booking for the driver (until the deadline) or the host/admin
/// (until the start). Cancelling twice answers the cancelled booking.
#[tracing::instrument(skip_all, fields(booking = %id), err(Debug))]
pub async fn cancel(
    state: &App,
    id: BookingId,
    caller: Option<UserId>,
    reason: Option<String>,
) -> AppResult<Booking> {
    let (booking, actor) = visible(state, id, caller).await?;
    if booking.status == BookingStatus::Cancelled {
        return Ok(booking);
    }
    let now = state.clock.now();
    check_cancel(
        booking.status,
        booking.slot.starts_at,
        actor,
        now,
        &state.settings.bookings,
    )
    .map_err(|r| refusal(&r))?;
    let by = match (actor, caller) {
        (Actor::Driver, _) => "driver",
        (Actor::Host, Some(_)) => "host",
        (Actor::Host, None) => "admin",
    };
    let change = StatusChange {
        cancelled_by: Some(by.to_owned()),
        reason,
        session_id: None,
    };
    let cancelled = state
        .store
        .set_booking_status(
            id,
            &[BookingStatus::Upcoming],
            BookingStatus::Cancelled,
            &change,
            now,
        )
        .await?;
    match cancelled {
        Some(b) => {
            tracing::info!(by, "booking cancelled");
            super::notify::booking_cancelled(state, &b).await;
            Ok(b)
        }
        // Moved meanwhile (started, expired): report what it is now.
        None => {
            let current = visible(state, id, caller).await?.0;
            Err(refusal(&BookingRefusal::WrongState(
                current.status.as_str(),
            )))
        }
    }
}

/// Before a driver starts on an EVSE: refuses when another driver's booking
/// holds it now, and returns the driver's own booking if it is theirs.
pub async fn guard_start(state: &App, user: UserId, evse: EvseId) -> AppResult<Option<Booking>> {
    let now = state.clock.now();
    let holding = state
        .store
        .booking_holding(evse, now, state.settings.bookings.hold_lead)
        .await?;
    match holding {
        Some(b) if b.user_id != user => Err(AppError::conflict(
            "device_reserved",
            format!(
                "this device is booked until {}",
                b.slot.ends_at.to_rfc3339()
            ),
        )),
        Some(b) if b.status == BookingStatus::Upcoming => Ok(Some(b)),
        _ => Ok(None),
    }
}

/// The driver's session started in their slot: the booking is in progress.
pub async fn started(state: &App, booking: &Booking, session: ChargingSessionId) {
    let change = StatusChange {
        session_id: Some(session),
        ..StatusChange::default()
    };
    match state
        .store
        .set_booking_status(
            booking.id,
            &[BookingStatus::Upcoming],
            BookingStatus::InProgress,
            &change,
            state.clock.now(),
        )
        .await
    {
        Ok(_) => tracing::info!(booking = %booking.id, session = %session, "booking in progress"),
        Err(e) => {
            tracing::warn!(booking = %booking.id, error = %e, "could not mark the booking started")
        }
    }
}

/// One pass of the background work; returns how many bookings it moved.
pub async fn sweep(state: &App) -> AppResult<usize> {
    let policy = state.settings.bookings;
    let now = state.clock.now();
    let mut moved = 0;
    for b in state
        .store
        .expire_no_shows(now, policy.no_show_grace)
        .await?
    {
        tracing::info!(booking = %b.id, "booking expired: no-show");
        super::notify::booking_cancelled(state, &b).await;
        moved += 1;
    }
    moved += state.store.complete_used_bookings(now).await?.len();
    for b in state
        .store
        .claim_reminders(now, policy.reminder_lead)
        .await?
    {
        remind(state, &b).await;
        moved += 1;
    }
    // Chargers are asked side by side: each call may take the OCPP
    // timeout, and one after another they could outlast the lease.
    let lease = Duration::seconds(LEASE);
    let holds = state
        .store
        .claim_holds(now, policy.hold_lead, lease)
        .await?;
    moved += holds.len();
    for done in join_all(holds.iter().map(|b| hold(state, b, now))).await {
        done?;
    }
    let releases = state.store.claim_releases(now, lease).await?;
    moved += releases.len();
    for done in join_all(releases.iter().map(|b| release(state, b, now))).await {
        done?;
    }
    Ok(moved)
}

async fn remind(state: &App, booking: &Booking) {
    tracing::info!(booking = %booking.id, user = %booking.user_id, "booking reminder");
    super::notify::booking_reminder(state, booking).await;
}

/// The charger's connector and the driver's id tag, when the EVSE is on a
/// networked charger.
async fn target(state: &App, booking: &Booking) -> AppResult<Option<(String, i64)>> {
    let evse = state.store.find_evse(booking.evse_id).await?;
    Ok(evse.and_then(|e| {
        e.fields
            .charge_point_id
            .zip(e.fields.ocpp_connector_id)
            .map(|(cp, c)| (cp.as_str().to_owned(), c))
    }))
}

/// Sends ReserveNow: the reservation lasts until the no-show deadline, and
/// only the driver's app tag may use it.
async fn hold(state: &App, booking: &Booking, now: DateTime<Utc>) -> AppResult<()> {
    let Some((cp, connector)) = target(state, booking).await? else {
        state
            .store
            .set_hold(booking.id, HoldState::None, now)
            .await?;
        return Ok(());
    };
    let tag = state.sessions.app_id_tag(booking.user_id).await?;
    let expiry = booking.slot.starts_at + state.settings.bookings.no_show_grace;
    let command = ChargerCommand::ReserveNow {
        connector,
        expiry,
        id_tag: tag.as_str().to_owned(),
        reservation_id: booking::reservation_id(booking.seq),
    };
    let answer = state.chargers.send(&cp, command).await;
    let status = answer_status(&answer);
    if status.as_deref() == Some("Accepted") {
        tracing::info!(booking = %booking.id, charge_point = %cp, "booking held on the charger");
        state
            .store
            .set_hold(booking.id, HoldState::Held, now)
            .await?;
    } else {
        // Offline, occupied, faulted: the slot is still ours in the
        // database; ask again shortly, until the slot starts.
        tracing::info!(booking = %booking.id, charge_point = %cp, answer = ?status, "charger did not take the reservation; will retry");
        state
            .store
            .set_hold(
                booking.id,
                HoldState::Pending,
                now + Duration::seconds(RETRY),
            )
            .await?;
    }
    Ok(())
}

/// Sends CancelReservation for a booking that is no longer live.
async fn release(state: &App, booking: &Booking, now: DateTime<Utc>) -> AppResult<()> {
    let Some((cp, _)) = target(state, booking).await? else {
        state
            .store
            .set_hold(booking.id, HoldState::None, now)
            .await?;
        return Ok(());
    };
    let command = ChargerCommand::CancelReservation {
        reservation_id: booking::reservation_id(booking.seq),
    };
    let answer = state.chargers.send(&cp, command).await;
    match (&answer, answer_status(&answer).as_deref()) {
        // Rejected means the charger has no such reservation any more
        // (expired or used): nothing left to release either way.
        (Ok(_), Some("Accepted" | "Rejected")) | (Err(GatewayError::Rejected { .. }), _) => {
            tracing::info!(booking = %booking.id, charge_point = %cp, "reservation released");
            state
                .store
                .set_hold(booking.id, HoldState::Released, now)
                .await?;
        }
        _ => {
            state
                .store
                .set_hold(booking.id, HoldState::Held, now + Duration::seconds(RETRY))
                .await?;
        }
    }
    Ok(())
}

fn answer_status(answer: &Result<ChargerAnswer, GatewayError>) -> Option<String> {
    answer
        .as_ref()
        .ok()
        .and_then(ChargerAnswer::status)
        .map(str::to_owned)
}

/// Runs [`sweep`] every `every` until the process ends.
pub async fn run(state: App, every: StdDuration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::warn!(error = %e.message, "booking sweep failed; next pass retries");
        }
    }
}
