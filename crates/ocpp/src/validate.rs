//! Payload checking against the OCPP 1.6 schemas, on top of rust-ocpp's
//! types. rust-ocpp's serde accepts unknown fields and leaves length limits
//! to an opt-in `validate()`; the official schemas forbid additional
//! properties. So a payload passes only if it deserializes, validates, and
//! re-serializes without losing a key (a lost key is one the type does not
//! know).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::frame::{CallError, ErrorCode};

/// Decodes and checks a payload; the CALLERROR to answer with if it fails.
pub fn decode<T>(
    payload: &Value,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, CallError>
where
    T: DeserializeOwned + Serialize,
{
    // Deserialize from the borrowed value: no copy of the payload.
    let typed = T::deserialize(payload).map_err(classify)?;
    check(&typed).map_err(|e| CallError::new(ErrorCode::PropertyConstraintViolation, e))?;
    let round_trip = serde_json::to_value(&typed)
        .map_err(|e| CallError::new(ErrorCode::InternalError, e.to_string()))?;
    if let Some(path) = unknown_key(payload, &round_trip, String::new()) {
        return Err(CallError::new(
            ErrorCode::FormationViolation,
            format!("additional property {path} is not allowed"),
        ));
    }
    Ok(typed)
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

/// The first key of `input` that is missing from `known` (recursively), as a path.
fn unknown_key(input: &Value, known: &Value, path: String) -> Option<String> {
    match (input, known) {
        (Value::Object(i), Value::Object(k)) => i.iter().find_map(|(key, v)| {
            let here = format!("{path}/{key}");
            match k.get(key) {
                // A null the type read as "absent" is a type error, not an unknown key.
                None if v.is_null() => None,
                None => Some(here),
                Some(kv) => unknown_key(v, kv, here),
            }
        }),
        (Value::Array(i), Value::Array(k)) => i
            .iter()
            .zip(k.iter())
            .enumerate()
            .find_map(|(n, (iv, kv))| unknown_key(iv, kv, format!("{path}/{n}"))),
        _ => None,
    }
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
