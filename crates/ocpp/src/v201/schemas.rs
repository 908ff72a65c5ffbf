//! The official OCPP 2.0.1 JSON schemas (crates/ocpp/schemas), embedded
//! and compiled once, and what a payload that breaks one is answered with.

use std::collections::HashMap;
use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use crate::frame::{CallError, ErrorCode};

/// Which of an action's two schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The request (the CALL's payload).
    Request,
    /// The response (the CALLRESULT's payload).
    Response,
}

macro_rules! schemas {
    ($name:ident, $dir:literal, $($action:ident),* $(,)?) => {
        /// Every action with a schema, with its request and response schema text.
        const $name: &[(&str, &str, &str)] = &[
            $((
                stringify!($action),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/", $dir, "/", stringify!($action), "Request.json")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/", $dir, "/", stringify!($action), "Response.json")),
            )),*
        ];
    };
}

// The 1.6 Security Whitepaper's messages (edition 3), which 1.6's own
// schemas and rust-ocpp do not have.
schemas!(
    SECURITY16,
    "v16-security",
    CertificateSigned,
    DeleteCertificate,
    ExtendedTriggerMessage,
    GetInstalledCertificateIds,
    GetLog,
    InstallCertificate,
    LogStatusNotification,
    SecurityEventNotification,
    SignCertificate,
    SignedFirmwareStatusNotification,
    SignedUpdateFirmware,
);

schemas!(
    SCHEMAS,
    "v201",
    Authorize,
    BootNotification,
    CancelReservation,
    CertificateSigned,
    ChangeAvailability,
    ClearCache,
    ClearChargingProfile,
    ClearDisplayMessage,
    ClearVariableMonitoring,
    ClearedChargingLimit,
    CostUpdated,
    CustomerInformation,
    DataTransfer,
    DeleteCertificate,
    FirmwareStatusNotification,
    Get15118EVCertificate,
    GetBaseReport,
    GetCertificateStatus,
    GetChargingProfiles,
    GetCompositeSchedule,
    GetDisplayMessages,
    GetInstalledCertificateIds,
    GetLocalListVersion,
    GetLog,
    GetMonitoringReport,
    GetReport,
    GetTransactionStatus,
    GetVariables,
    Heartbeat,
    InstallCertificate,
    LogStatusNotification,
    MeterValues,
    NotifyChargingLimit,
    NotifyCustomerInformation,
    NotifyDisplayMessages,
    NotifyEVChargingNeeds,
    NotifyEVChargingSchedule,
    NotifyEvent,
    NotifyMonitoringReport,
    NotifyReport,
    PublishFirmware,
    PublishFirmwareStatusNotification,
    ReportChargingProfiles,
    RequestStartTransaction,
    RequestStopTransaction,
    ReservationStatusUpdate,
    ReserveNow,
    Reset,
    SecurityEventNotification,
    SendLocalList,
    SetChargingProfile,
    SetDisplayMessage,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetNetworkProfile,
    SetVariableMonitoring,
    SetVariables,
    SignCertificate,
    StatusNotification,
    TransactionEvent,
    TriggerMessage,
    UnlockConnector,
    UnpublishFirmware,
    UpdateFirmware,
);

/// Compiled validators, by action and part. A schema that does not parse
/// or compile would be a build defect; the unit test below compiles every
/// one, and one missing here checks as "no such action".
static VALIDATORS: LazyLock<HashMap<(&'static str, Part), Validator>> =
    LazyLock::new(|| compile(SCHEMAS));

/// The 1.6 Security Whitepaper's validators.
static VALIDATORS_16: LazyLock<HashMap<(&'static str, Part), Validator>> =
    LazyLock::new(|| compile(SECURITY16));

fn compile(
    schemas: &[(&'static str, &'static str, &'static str)],
) -> HashMap<(&'static str, Part), Validator> {
    let mut all = HashMap::new();
    for (action, request, response) in schemas {
        for (part, text) in [(Part::Request, request), (Part::Response, response)] {
            let compiled = serde_json::from_str::<Value>(text)
                .map_err(|e| e.to_string())
                .and_then(|schema| {
                    jsonschema::draft6::options()
                        .should_validate_formats(true)
                        .build(&schema)
                        .map_err(|e| e.to_string())
                });
            match compiled {
                Ok(validator) => {
                    all.insert((*action, part), validator);
                }
                Err(e) => {
                    tracing::error!(action, ?part, error = %e, "an OCPP schema does not compile")
                }
            }
        }
    }
    all
}

/// Whether `action` has a schema (is an OCPP 2.0.1 action at all).
pub fn is_action(action: &str) -> bool {
    SCHEMAS.iter().any(|(a, _, _)| *a == action)
}

/// Checks `payload` against `action`'s `part` schema; the CALLERROR to
/// answer with when it breaks it (the first rule broken, with where).
pub fn check(action: &str, part: Part, payload: &Value) -> Result<(), CallError> {
    check_in(&VALIDATORS, "OCPP 2.0.1", action, part, payload)
}

/// Whether `action` is one of the 1.6 Security Whitepaper's.
pub fn is_security16_action(action: &str) -> bool {
    SECURITY16.iter().any(|(a, _, _)| *a == action)
}

/// [`check`] for the 1.6 Security Whitepaper's messages.
pub fn check_security16(action: &str, part: Part, payload: &Value) -> Result<(), CallError> {
    check_in(&VALIDATORS_16, "OCPP 1.6 security", action, part, payload)
}

fn check_in(
    validators: &HashMap<(&'static str, Part), Validator>,
    what: &str,
    action: &str,
    part: Part,
    payload: &Value,
) -> Result<(), CallError> {
    let Some(validator) = validators.get(&(action, part)) else {
        return Err(CallError::new(
            ErrorCode::NotImplemented,
            format!("{action} is not an {what} action"),
        ));
    };
    match validator.iter_errors(payload).next() {
        None => Ok(()),
        Some(error) => {
            let code = match &error.kind {
                ValidationErrorKind::Required { .. }
                | ValidationErrorKind::MinItems { .. }
                | ValidationErrorKind::MaxItems { .. } => ErrorCode::OccurenceConstraintViolation,
                ValidationErrorKind::Type { .. } => ErrorCode::TypeConstraintViolation,
                ValidationErrorKind::AdditionalProperties { .. } => ErrorCode::FormationViolation,
                _ => ErrorCode::PropertyConstraintViolation,
            };
            let at = error.instance_path.to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            Err(CallError::new(code, format!("{at}: {error}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles_and_checks() {
        assert_eq!(SCHEMAS.len(), 64);
        assert_eq!(VALIDATORS_16.len(), 2 * SECURITY16.len());
        assert_eq!(
            check_security16("SignCertificate", Part::Request, &json!({"csr": "x"})),
            Ok(())
        );
        assert!(check_security16("SignCertificate", Part::Request, &json!({})).is_err());
        assert_eq!(
            VALIDATORS.len(),
            128,
            "a request and a response schema each"
        );
        for action in super::super::INBOUND
            .iter()
            .chain(super::super::OUTBOUND.iter())
        {
            assert!(is_action(action), "{action}");
        }
    }

    #[test]
    fn broken_payloads_get_the_codes_of_ocpp_j_201() {
        let ok = json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
        assert_eq!(check("BootNotification", Part::Request, &ok), Ok(()));
        let cases = [
            (
                json!({"reason": "PowerUp"}),
                "OccurrenceConstraintViolation",
            ),
            (
                json!({"reason": "PowerUp", "chargingStation": {"model": 5, "vendorName": "V"}}),
                "TypeConstraintViolation",
            ),
            (
                json!({"reason": "Sleepy", "chargingStation": {"model": "M", "vendorName": "V"}}),
                "PropertyConstraintViolation",
            ),
            (
                json!({"reason": "PowerUp", "chargingStation": {"model": "M".repeat(21), "vendorName": "V"}}),
                "PropertyConstraintViolation",
            ),
            (
                json!({"reason": "PowerUp", "extra": 1, "chargingStation": {"model": "M", "vendorName": "V"}}),
                "FormatViolation",
            ),
        ];
        for (payload, code) in cases {
            let error = check("BootNotification", Part::Request, &payload).unwrap_err();
            assert_eq!(
                error.code.as_str_201(),
                code,
                "{payload}: {}",
                error.description
            );
        }
        // customData may carry anything beside its vendorId.
        let custom = json!({"customData": {"vendorId": "acme", "anything": [1, 2]}});
        assert_eq!(check("Heartbeat", Part::Request, &custom), Ok(()));
        // Dates are checked as dates.
        let bad_time = json!({"timestamp": "yesterday", "connectorStatus": "Available", "evseId": 1, "connectorId": 1});
        assert!(check("StatusNotification", Part::Request, &bad_time).is_err());
        assert_eq!(
            check("Frobnicate", Part::Request, &json!({}))
                .unwrap_err()
                .code,
            ErrorCode::NotImplemented
        );
    }
}
