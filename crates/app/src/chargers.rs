//! Commands an operator sends to a charge point by hand (reset, unlock,
//! configuration, ...): the command goes out through the charger gateway,
//! and the gateway's failures become the reasons an operator can act on;
//! and the CRM's changes to a customer, pushed to the charger's local list.

use plugway_domain::ChargePointId;
use plugway_events::{ChargerAnswer, ChargerCommand, GatewayError, Ocpp16Action};
use plugway_store::CrmCustomer;
use serde_json::Value;

use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};

/// Sends an operator's OCPP `action` with `payload` to `charge_point`
/// (which the caller has already checked the operator may command) and
/// returns the charger's answer. The action is one of the version the
/// charger last connected with: 1.6's for a 1.6 charger, 2.0.1's for a
/// 2.0.1 station (a 1.6 name sent to a 2.0.1 station is refused with the
/// name 2.0.1 gives it).
pub async fn send_operator_command(
    state: &App,
    charge_point: &ChargePointId,
    action: &str,
    payload: Value,
) -> AppResult<ChargerAnswer> {
    let version = state.store.ocpp_version(charge_point).await?;
    let command = if version.as_deref() == Some("2.0.1") {
        match plugway_events::ocpp201_action(action) {
            Some(action) => ChargerCommand::Ocpp201 {
                action: action.to_owned(),
                payload,
            },
            None => {
                let hint = plugway_events::ocpp201_successor(action)
                    .map(|a| format!("; 2.0.1 calls it {a}"))
                    .unwrap_or_default();
                return Err(AppError::new(
                    ErrorKind::InvalidField,
                    "invalid_command",
                    format!("{action} is not a command an OCPP 2.0.1 CSMS sends{hint}"),
                ));
            }
        }
    } else {
        let action = Ocpp16Action::parse(action).ok_or_else(|| {
            AppError::new(
                ErrorKind::InvalidField,
                "invalid_command",
                format!("{action} is not a command the central system sends"),
            )
        })?;
        ChargerCommand::Ocpp16 { action, payload }
    };
    state
        .chargers
        .send(charge_point.as_str(), command)
        .await
        .map_err(command_error)
}

/// Why a command got no answer, as the operator is told.
pub fn command_error(e: GatewayError) -> AppError {
    match e {
        GatewayError::Invalid(why) => {
            AppError::new(ErrorKind::InvalidField, "invalid_command", why)
        }
        GatewayError::Offline => {
            AppError::conflict("charge_point_offline", "the charge point is not connected")
        }
        GatewayError::Timeout => AppError::timed_out(
            "charge_point_timeout",
            "the charge point did not answer in time",
        ),
        GatewayError::Busy => AppError::unavailable(
            "charge_point_busy",
            "the charge point has too many commands queued",
        )
        .retry_after(5),
        GatewayError::Rejected { code, description } => AppError::upstream(
            "charge_point_error",
            format!("the charge point answered {code}: {description}"),
        ),
    }
}

/// Keeps the charger's local authorization list in step with the tag store:
/// a differential SendLocalList with the customer's new status, sent in the
/// background (the CRM's call does not wait for the charger). A charger that
/// is offline, or keeps no local list, simply misses it: the central
/// system's own answers to Authorize and StartTransaction stay authoritative.
pub fn push_local_list(state: &App, customer: &CrmCustomer) {
    // Versions only need to grow; seconds since the epoch do, within i32 until 2038.
    let version = i32::try_from(state.clock.now().timestamp()).unwrap_or(i32::MAX);
    let command = ChargerCommand::UpdateLocalList {
        version,
        id_tag: customer.id_tag.to_string(),
        blocked: customer.max_active_transactions_count == 0,
    };
    let (chargers, cp) = (state.chargers.clone(), customer.charge_point_id.to_string());
    if !chargers.is_connected(&cp) {
        return;
    }
    tokio::spawn(async move {
        match chargers.send(&cp, command).await {
            Ok(answer) => {
                tracing::info!(charge_point = cp, answer = ?answer.status(), "local list updated")
            }
            Err(e) => tracing::info!(charge_point = cp, error = %e, "local list not updated"),
        }
    });
}
