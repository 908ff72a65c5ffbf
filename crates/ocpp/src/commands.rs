//! The central system as a [`ChargerGateway`]: turns each command into its
//! OCPP 1.6 message, checks that against the request schema before it goes
//! out, then sends it through the connection's session and returns the
//! answer.

use plugway_domain::ChargePointId;
use plugway_events::{ChargerAnswer, ChargerCommand, GatewayError, Ocpp16Action};
use rust_ocpp::v1_6::messages as m;
use serde_json::Value;

use crate::frame::CallError;
use crate::validate::{decode_value, typed_only, validated};
use crate::{OcppState, OutboundError};

/// Checks `payload` as the request of `action`.
pub fn check_request(action: Ocpp16Action, payload: &Value) -> Result<(), CallError> {
    fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
        p: &Value,
    ) -> Result<(), CallError> {
        decode_value::<T>(p, typed_only).map(drop)
    }
    fn checked<T: serde::de::DeserializeOwned + serde::Serialize + validator::Validate>(
        p: &Value,
    ) -> Result<(), CallError> {
        decode_value::<T>(p, validated).map(drop)
    }
    match action {
        // The Security Whitepaper's: checked against its schemas.
        Ocpp16Action::CertificateSigned
        | Ocpp16Action::DeleteCertificate
        | Ocpp16Action::ExtendedTriggerMessage
        | Ocpp16Action::GetInstalledCertificateIds
        | Ocpp16Action::GetLog
        | Ocpp16Action::InstallCertificate
        | Ocpp16Action::SignedUpdateFirmware => crate::v201::schemas::check_security16(
            action.as_str(),
            crate::v201::schemas::Part::Request,
            payload,
        ),
        Ocpp16Action::CancelReservation => {
            typed::<m::cancel_reservation::CancelReservationRequest>(payload)
        }
        Ocpp16Action::ChangeAvailability => {
            typed::<m::change_availability::ChangeAvailabilityRequest>(payload)
        }
        Ocpp16Action::ChangeConfiguration => {
            checked::<m::change_configuration::ChangeConfigurationRequest>(payload)
        }
        Ocpp16Action::ClearCache => typed::<m::clear_cache::ClearCacheRequest>(payload),
        Ocpp16Action::ClearChargingProfile => {
            typed::<m::clear_charging_profile::ClearChargingProfileRequest>(payload)
        }
        Ocpp16Action::DataTransfer => checked::<m::data_transfer::DataTransferRequest>(payload),
        Ocpp16Action::GetCompositeSchedule => {
            typed::<m::get_composite_schedule::GetCompositeScheduleRequest>(payload)
        }
        // rust-ocpp's GetConfiguration rule limits the number of keys rather
        // than each key's length; check the schema's rule ourselves.
        Ocpp16Action::GetConfiguration => {
            let req =
                decode_value::<m::get_configuration::GetConfigurationRequest>(payload, typed_only)?;
            match req.key.iter().flatten().find(|k| k.chars().count() > 50) {
                Some(k) => Err(CallError::new(
                    crate::frame::ErrorCode::PropertyConstraintViolation,
                    format!("configuration key {k:?} is longer than 50 characters"),
                )),
                None => Ok(()),
            }
        }
        Ocpp16Action::GetDiagnostics => typed::<m::get_diagnostics::GetDiagnosticsRequest>(payload),
        Ocpp16Action::GetLocalListVersion => {
            typed::<m::get_local_list_version::GetLocalListVersionRequest>(payload)
        }
        Ocpp16Action::RemoteStartTransaction => {
            checked::<m::remote_start_transaction::RemoteStartTransactionRequest>(payload)
        }
        Ocpp16Action::RemoteStopTransaction => {
            typed::<m::remote_stop_transaction::RemoteStopTransactionRequest>(payload)
        }
        Ocpp16Action::ReserveNow => checked::<m::reserve_now::ReserveNowRequest>(payload),
        Ocpp16Action::Reset => typed::<m::reset::ResetRequest>(payload),
        Ocpp16Action::SendLocalList => typed::<m::send_local_list::SendLocalListRequest>(payload),
        Ocpp16Action::SetChargingProfile => {
            typed::<m::set_charging_profile::SetChargingProfileRequest>(payload)
        }
        Ocpp16Action::TriggerMessage => typed::<m::trigger_message::TriggerMessageRequest>(payload),
        Ocpp16Action::UnlockConnector => {
            typed::<m::unlock_connector::UnlockConnectorRequest>(payload)
        }
        Ocpp16Action::UpdateFirmware => {
            checked::<m::update_firmware::UpdateFirmwareRequest>(payload)
        }
    }
}

impl OcppState {
    /// Sends a command to a charger connected to this node.
    pub async fn send_local(
        &self,
        charge_point: &str,
        command: ChargerCommand,
    ) -> Result<ChargerAnswer, GatewayError> {
        let id = ChargePointId::parse(charge_point).map_err(|_| GatewayError::Offline)?;
        let (action, payload) = match self.registry.version(&id) {
            None => return Err(GatewayError::Offline),
            Some(crate::OcppVersion::V201) => {
                crate::v201::commands::request(self, &id, command).await?
            }
            Some(crate::OcppVersion::V16) => {
                if let ChargerCommand::Ocpp201 { action, .. } = &command {
                    return Err(GatewayError::Invalid(format!(
                        "{action} is an OCPP 2.0.1 command and {id} speaks OCPP 1.6"
                    )));
                }
                let (action, payload) = command.to_ocpp16();
                check_request(action, &payload)
                    .map_err(|e| GatewayError::Invalid(e.description))?;
                (action.as_str(), payload)
            }
        };
        self.registry
            .call(&id, action, payload)
            .await
            .map(ChargerAnswer)
            .map_err(|e| match e {
                OutboundError::Offline => GatewayError::Offline,
                OutboundError::Timeout => GatewayError::Timeout,
                OutboundError::Busy => GatewayError::Busy,
                OutboundError::Rejected { code, description } => {
                    GatewayError::Rejected { code, description }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_command_is_checked_against_its_schema() {
        let good = [
            ("CancelReservation", json!({"reservationId": 1})),
            (
                "ChangeAvailability",
                json!({"connectorId": 0, "type": "Inoperative"}),
            ),
            (
                "ChangeConfiguration",
                json!({"key": "HeartbeatInterval", "value": "60"}),
            ),
            ("ClearCache", json!({})),
            ("ClearChargingProfile", json!({})),
            ("DataTransfer", json!({"vendorId": "com.example"})),
            (
                "GetCompositeSchedule",
                json!({"connectorId": 1, "duration": 3600}),
            ),
            ("GetConfiguration", json!({"key": ["HeartbeatInterval"]})),
            (
                "GetDiagnostics",
                json!({"location": "ftp://example.com/diag"}),
            ),
            ("GetLocalListVersion", json!({})),
            (
                "RemoteStartTransaction",
                json!({"idTag": "TAG1", "connectorId": 1}),
            ),
            ("RemoteStopTransaction", json!({"transactionId": 7})),
            (
                "ReserveNow",
                json!({"connectorId": 1, "expiryDate": "2026-01-01T00:00:00Z", "idTag": "T", "reservationId": 1}),
            ),
            ("Reset", json!({"type": "Soft"})),
            (
                "SendLocalList",
                json!({"listVersion": 2, "updateType": "Full", "localAuthorizationList": [{"idTag": "T", "idTagInfo": {"status": "Accepted"}}]}),
            ),
            (
                "SetChargingProfile",
                json!({"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}}),
            ),
            (
                "TriggerMessage",
                json!({"requestedMessage": "StatusNotification", "connectorId": 1}),
            ),
            ("UnlockConnector", json!({"connectorId": 1})),
            (
                "UpdateFirmware",
                json!({"location": "https://example.com/fw.bin", "retrieveDate": "2026-01-01T00:00:00Z"}),
            ),
            // The Security Whitepaper's.
            (
                "CertificateSigned",
                json!({"certificateChain": "-----BEGIN CERTIFICATE-----"}),
            ),
            (
                "DeleteCertificate",
                json!({"certificateHashData": {"hashAlgorithm": "SHA256", "issuerNameHash": "a",
                    "issuerKeyHash": "b", "serialNumber": "c"}}),
            ),
            (
                "ExtendedTriggerMessage",
                json!({"requestedMessage": "SignChargePointCertificate"}),
            ),
            (
                "GetInstalledCertificateIds",
                json!({"certificateType": "CentralSystemRootCertificate"}),
            ),
            (
                "GetLog",
                json!({"logType": "SecurityLog", "requestId": 1, "log": {"remoteLocation": "https://example.com/logs"}}),
            ),
            (
                "InstallCertificate",
                json!({"certificateType": "ManufacturerRootCertificate", "certificate": "-----BEGIN CERTIFICATE-----"}),
            ),
            (
                "SignedUpdateFirmware",
                json!({"requestId": 1, "firmware": {"location": "https://example.com/fw.bin",
                    "retrieveDateTime": "2026-01-01T00:00:00Z", "signingCertificate": "x", "signature": "y"}}),
            ),
        ];
        assert_eq!(
            good.len(),
            Ocpp16Action::ALL.len(),
            "every outbound action has a case"
        );
        let check = |action: &str, payload: &Value| {
            let action = Ocpp16Action::parse(action).expect("an action the central system sends");
            check_request(action, payload)
        };
        for (action, payload) in good {
            assert!(
                check(action, &payload).is_ok(),
                "{action}: {:?}",
                check(action, &payload)
            );
        }
        assert!(check("Reset", &json!({"type": "Warm"})).is_err());
        assert!(check("RemoteStartTransaction", &json!({"idTag": "X".repeat(21)})).is_err());
        assert!(check("GetConfiguration", &json!({"key": ["K".repeat(51)]})).is_err());
        // Heartbeat is a charger's message: the central system never sends it.
        assert!(Ocpp16Action::parse("Heartbeat").is_none());
        assert!(check("ClearCache", &json!({"x": 1})).is_err());
    }
}
