//! Payload checking against the OCPP 1.6 schemas, on top of rust-ocpp's
//! types. rust-ocpp's serde accepts unknown fields and leaves length limits
//! to an opt-in `validate()`; the official schemas forbid additional
//! properties. So a payload passes only if it deserializes, validates, and
//! no key was ignored on the way (an ignored key is one the type does not
//! know): `serde_ignored` reports those during the one deserialization.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::frame::{CallError, ErrorCode};

/// Decodes and checks a payload; the CALLERROR to answer with if it fails.
pub fn decode<T>(
    payload: &Value,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, CallError>
where
    T: DeserializeOwned,
{
    // Deserialize from the borrowed value: no copy of the payload, and the
    // path of an unknown key is only written out when there is one.
    let mut unknown: Option<String> = None;
    let typed: T = serde_ignored::deserialize(payload, |path| {
        unknown.get_or_insert_with(|| pointer(&path));
    })
    .map_err(classify)?;
    check(&typed).map_err(|e| CallError::new(ErrorCode::PropertyConstraintViolation, e))?;
    if let Some(path) = unknown {
        return Err(CallError::new(
            ErrorCode::FormationViolation,
            format!("additional property {path} is not allowed"),
        ));
    }
    Ok(typed)
}

/// A key's path as a JSON pointer (`/meterValue/0/sampledValue/0/bogus`).
fn pointer(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}/{index}", pointer(parent)),
        Path::Map { parent, key } => format!("{}/{key}", pointer(parent)),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => pointer(parent),
    }
}

/// `validator`'s check as a `decode` check.
pub fn validated<T: validator::Validate>(value: &T) -> Result<(), String> {
    value
        .validate()
        .map_err(|e| e.to_string().replace('\n', "; "))
}

/// No check beyond the types.
pub fn typed_only<T>(_: &T) -> Result<(), String> {
    Ok(())
}

/// Serde's message says which rule broke; map it to the spec's error codes.
fn classify(e: serde_json::Error) -> CallError {
    let text = e.to_string();
    let code = if text.starts_with("missing field") {
        ErrorCode::OccurenceConstraintViolation
    } else if text.starts_with("invalid type") {
        ErrorCode::TypeConstraintViolation
    } else if text.starts_with("unknown variant") || text.starts_with("invalid value") {
        ErrorCode::PropertyConstraintViolation
    } else {
        ErrorCode::FormationViolation
    };
    CallError::new(code, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_ocpp::v1_6::messages::boot_notification::BootNotificationRequest;
    use rust_ocpp::v1_6::messages::meter_values::MeterValuesRequest;
    use serde_json::json;

    fn boot(v: Value) -> Result<BootNotificationRequest, CallError> {
        decode(&v, validated)
    }

    #[test]
    fn each_fault_gets_its_code() {
        assert!(boot(json!({"chargePointVendor": "V", "chargePointModel": "M"})).is_ok());
        let code = |v| boot(v).unwrap_err().code;
        assert_eq!(
            code(json!({"chargePointVendor": "V"})),
            ErrorCode::OccurenceConstraintViolation
        );
        assert_eq!(
            code(json!({"chargePointVendor": 5, "chargePointModel": "M"})),
            ErrorCode::TypeConstraintViolation
        );
        assert_eq!(
            code(json!({"chargePointVendor": "V".repeat(21), "chargePointModel": "M"})),
            ErrorCode::PropertyConstraintViolation
        );
        assert_eq!(
            code(json!({"chargePointVendor": "V", "chargePointModel": "M", "extra": 1})),
            ErrorCode::FormationViolation
        );
    }

    #[test]
    fn nested_unknown_keys_and_bad_enums_are_caught() {
        let base = json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
            "sampledValue": [{"value": "10", "measurand": "Energy.Active.Import.Register"}]}]});
        assert!(decode::<MeterValuesRequest>(&base, typed_only).is_ok());
        let mut nested = base.clone();
        nested["meterValue"][0]["sampledValue"][0]["bogus"] = json!("x");
        let err = decode::<MeterValuesRequest>(&nested, typed_only).unwrap_err();
        assert_eq!(err.code, ErrorCode::FormationViolation);
        assert!(
            err.description
                .contains("/meterValue/0/sampledValue/0/bogus"),
            "{}",
            err.description
        );
        let mut bad_enum = base;
        bad_enum["meterValue"][0]["sampledValue"][0]["measurand"] = json!("Energy");
        assert_eq!(
            decode::<MeterValuesRequest>(&bad_enum, typed_only)
                .unwrap_err()
                .code,
            ErrorCode::PropertyConstraintViolation
        );
    }
}
