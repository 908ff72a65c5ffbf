//! Starting and finishing a driver's session from the app (seed 001's
//! `/devices/{id}/start` and `/finish`): the commands to the charger, and the
//! wait for the charger's own StartTransaction or StopTransaction, which is
//! what really starts or ends a session (see `plugway-charging`).

use std::time::Duration;

use futures::StreamExt;
use plugway_domain::session::{SessionFailure, StartFailure};
use plugway_domain::{ChargingSessionId, EvseId, PurchaseId, SessionState, UserId};
use plugway_events::{ChargerCommand, GatewayError};
use plugway_store::{ChargingSession, StoreError};

use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::network::usable_evse;

/// How often a waiting request re-reads the session, besides the events that wake it.
const POLL: Duration = Duration::from_millis(500);

fn start_failed(why: StartFailure) -> AppError {
    let kind = match why {
        StartFailure::TimedOut => ErrorKind::TimedOut,
        StartFailure::ChargerOffline => ErrorKind::Unavailable,
        _ => ErrorKind::Conflict,
    };
    AppError::new(kind, why.code(), why.message())
}

fn failure_of(session: &ChargingSession) -> StartFailure {
    match session.failure {
        Some(SessionFailure::Start(why)) => why,
        _ => StartFailure::TimedOut,
    }
}

/// Starts a session for `user` on EVSE `id` and returns it once the charger
/// confirmed (Charging), or fails with the reason.
pub async fn start(state: &App, user: UserId, id: EvseId) -> AppResult<ChargingSession> {
    let (evse, site) = usable_evse(state, id).await?;
    let (Some(cp), Some(connector)) = (
        evse.fields.charge_point_id.clone(),
        evse.fields.ocpp_connector_id,
    ) else {
        return Err(AppError::conflict(
            "device_not_connected",
            "this device is not linked to a networked charger; start it at the charger",
        ));
    };
    if !state.chargers.is_connected(cp.as_str()) {
        return Err(start_failed(StartFailure::ChargerOffline));
    }
    let status = evse.status();
    if matches!(
        status,
        plugway_domain::EvseStatus::Outoforder
            | plugway_domain::EvseStatus::Inoperative
            | plugway_domain::EvseStatus::Removed
            | plugway_domain::EvseStatus::Planned
    ) {
        return Err(start_failed(StartFailure::ConnectorUnavailable));
    }
    // Another driver's booking keeps this EVSE; the driver's own is used.
    let booking = super::bookings::guard_start(state, user, id).await?;
    let engine = &state.sessions;
    let tag = engine.app_id_tag(user).await?;
    let session = engine
        .open_app_session(user, &evse, cp.clone(), connector, &tag, Some(site.host_id))
        .await
        .map_err(|e| match e {
            StoreError::Conflict(plugway_store::Conflict::ActiveSession) => AppError::conflict(
                "active_session",
                "you already have a session running; finish it first",
            ),
            StoreError::Conflict(plugway_store::Conflict::ConnectorBusy) => {
                AppError::conflict("connector_busy", "someone is charging on this device")
            }
            other => other.into(),
        })?;
    // Listen before asking, so the charger's answer cannot slip past.
    let mut updates = state
        .bus
        .subscribe(&format!("user.{user}.SESSION"))
        .await
        .map_err(AppError::internal)?;
    let command = ChargerCommand::RemoteStart {
        connector,
        id_tag: tag.as_str().to_owned(),
    };
    let answer = state.chargers.send(cp.as_str(), command).await;
    let refused = match answer {
        Ok(answer) if answer.accepted() => None,
        Ok(_) | Err(GatewayError::Rejected { .. }) => Some(StartFailure::Rejected),
        Err(GatewayError::Offline) => Some(StartFailure::ChargerOffline),
        Err(GatewayError::Timeout | GatewayError::Busy) => Some(StartFailure::TimedOut),
        Err(GatewayError::Invalid(why)) => return Err(AppError::internal(why)),
    };
    if let Some(why) = refused {
        engine.fail_start(session.id, why).await?;
        return Err(start_failed(why));
    }
    let deadline = tokio::time::Instant::now() + engine.settings().start_timeout;
    loop {
        let current = state
            .store
            .find_charging_session(session.id)
            .await?
            .ok_or_else(|| AppError::internal("session vanished"))?;
        match current.state {
            SessionState::Pending => {}
            SessionState::Failed => return Err(start_failed(failure_of(&current))),
            _ => {
                if let Some(b) = &booking {
                    super::bookings::started(state, b, current.id).await;
                }
                crate::notify::session_started(state, user, &current).await;
                return Ok(current);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            // The charger took the command but never started: maybe no
            // cable. A StartTransaction that still comes opens a session
            // of its own, so nothing charged goes unbilled.
            engine
                .fail_start(session.id, StartFailure::TimedOut)
                .await?;
            return Err(start_failed(StartFailure::TimedOut));
        }
        let _ = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + POLL),
            updates.next(),
        )
        .await;
    }
}

/// Asks the charger to stop the driver's session on EVSE `id` and returns
/// its purchase once the charger's StopTransaction arrived.
pub async fn finish(state: &App, user: UserId, id: EvseId) -> AppResult<PurchaseId> {
    let session = state
        .store
        .list_active_charging_sessions(Some(user), 100)
        .await?
        .into_iter()
        .find(|s| s.evse_id == Some(id))
        .ok_or_else(|| {
            AppError::not_found(
                "no_active_session",
                "you have no session running on this device",
            )
        })?;
    let engine = &state.sessions;
    let Some(transaction) = session.transaction_id else {
        return Err(AppError::conflict(
            "session_starting",
            "the charger has not started yet; try again in a moment",
        ));
    };
    let mut updates = state
        .bus
        .subscribe(&format!("user.{user}.SESSION"))
        .await
        .map_err(AppError::internal)?;
    if session.state != SessionState::Finishing {
        let command = ChargerCommand::RemoteStop {
            transaction_id: transaction,
        };
        let answer = state
            .chargers
            .send(session.charge_point_id.as_str(), command)
            .await;
        match answer {
            Ok(answer) if answer.accepted() => {}
            Ok(_) | Err(GatewayError::Rejected { .. }) => {
                return Err(AppError::conflict(
                    "charger_rejected",
                    "the charger refused to stop; stop it at the charger",
                ))
            }
            Err(GatewayError::Offline) => {
                return Err(AppError::new(
                    ErrorKind::Unavailable,
                    "charger_offline",
                    "the charger is offline; the session ends when it reports back or the cable is unplugged",
                ))
            }
            Err(GatewayError::Timeout | GatewayError::Busy) => {
                return Err(AppError::new(
                    ErrorKind::TimedOut,
                    "stop_timed_out",
                    "the charger did not answer; try again",
                ))
            }
            Err(GatewayError::Invalid(why)) => return Err(AppError::internal(why)),
        }
        engine.stop_requested(session.id).await?;
    }
    let purchase = wait_for_purchase(state, session.id, &mut updates).await?;
    crate::notify::session_finished(state, user, session.id, purchase).await;
    Ok(purchase)
}

async fn wait_for_purchase(
    state: &App,
    id: ChargingSessionId,
    updates: &mut plugway_events::Subscription,
) -> AppResult<PurchaseId> {
    let deadline = tokio::time::Instant::now() + state.sessions.settings().stop_timeout;
    loop {
        let current = state
            .store
            .find_charging_session(id)
            .await?
            .ok_or_else(|| AppError::internal("session vanished"))?;
        if let Some(purchase) = current.purchase_id {
            return Ok(purchase);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AppError::new(
                ErrorKind::TimedOut,
                "stop_timed_out",
                "the charger accepted the stop but has not reported it yet; the purchase appears in /purchases when it does",
            ));
        }
        let _ = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + POLL),
            updates.next(),
        )
        .await;
    }
}
