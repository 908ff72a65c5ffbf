//! Payload checking against the OCPP 1.6 schemas, on top of rust-ocpp's
//! types. rust-ocpp's serde accepts unknown fields and leaves length limits
//! to an opt-in `validate()`; the official schemas forbid additional
//! properties. So a payload passes only if it deserializes, validates, and
//! no key was ignored on the way (an ignored key is one the type does not
//! know): `serde_ignored` reports those during the one deserialization.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::frame::{CallError, ErrorCode, Payload, Source};

/// Decodes and checks a CALL's payload; the CALLERROR to answer with if it
/// fails. A payload still in its received text is read from the text in
/// one pass (no `Value` tree is built); an edited one from its tree.
///
/// A payload the text read refuses is read again from its tree, and the
/// tree's verdict is the answer. Refusals are rare, so that costs nothing
/// that matters, and it keeps every answer what it was when payloads were
/// always trees: serde_json's reader refuses an enum field of the wrong
/// JSON type with a bare "expected value" (which would read as a
/// FormationViolation, where the tree says "invalid type", a
/// TypeConstraintViolation), and refuses a key given twice, which a tree
/// takes with its last value.
pub fn decode<T>(
    payload: &Payload<'_>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, CallError>
where
    T: DeserializeOwned,
{
    let read = match payload.source() {
        Source::Text(text) => {
            let from_text = read_typed(|on_unknown| {
                let mut de = serde_json::Deserializer::from_str(text);
                let typed = serde_ignored::deserialize(&mut de, on_unknown)?;
                // Nothing may follow the object (the frame parser sliced it
                // out, so nothing does).
                de.end()?;
                Ok(typed)
            });
            match from_text {
                Ok(read) => Ok(read),
                Err(_) => read_from_tree(payload.value()?),
            }
        }
        Source::Tree(tree) => read_from_tree(tree),
    };
    finish(read.map_err(classify)?, check)
}

/// [`decode`] for a payload held as a tree (a charger's answer to our CALL).
pub fn decode_value<T>(
    payload: &Value,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, CallError>
where
    T: DeserializeOwned,
{
    finish(read_from_tree(payload).map_err(classify)?, check)
}

/// A typed value and the path of the first key its type ignored.
type Read<T> = (T, Option<String>);

fn read_from_tree<T: DeserializeOwned>(tree: &Value) -> Result<Read<T>, serde_json::Error> {
    read_typed(|on_unknown| serde_ignored::deserialize(tree, on_unknown))
}

/// Runs `read` with a callback told of each key the type ignored. The path
/// of an unknown key is only written out when there is one.
fn read_typed<T>(
    read: impl FnOnce(&mut dyn FnMut(serde_ignored::Path<'_>)) -> Result<T, serde_json::Error>,
) -> Result<Read<T>, serde_json::Error> {
    let mut unknown: Option<String> = None;
    let typed = read(&mut |path| {
        unknown.get_or_insert_with(|| pointer(&path));
    })?;
    Ok((typed, unknown))
}

/// `check`s a value read, then refuses it if its type ignored a key (an
/// additional property, which the schemas forbid).
fn finish<T>(
    (typed, unknown): Read<T>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, CallError> {
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

    /// Decodes `v` from its text (as a frame brings it) and from its tree
    /// (as a quirk leaves it): both must give the same verdict.
    fn decode_both<T: DeserializeOwned>(
        v: &Value,
        check: fn(&T) -> Result<(), String>,
    ) -> Result<T, CallError> {
        let text = v.to_string();
        let from_text = decode(&Payload::from_text(&text), check);
        let from_tree = decode(&Payload::from(v.clone()), check);
        // Codes, not words: `validator` lists a rule's parameters in
        // hash-map order, which differs from one call to the next.
        let code = |r: &Result<T, CallError>| r.as_ref().err().map(|e| e.code);
        assert_eq!(code(&from_text), code(&from_tree), "{text}");
        from_text
    }

    fn boot(v: Value) -> Result<BootNotificationRequest, CallError> {
        decode_both(&v, validated)
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
        // A key twice is taken with its last value, from the text as from
        // a tree (as it always was).
        let twice = r#"{"chargePointVendor":"V","chargePointModel":"M","chargePointModel":"N"}"#;
        let boot = decode::<BootNotificationRequest>(&Payload::from_text(twice), validated)
            .expect("the last value is kept");
        assert_eq!(boot.charge_point_model, "N");
    }

    #[test]
    fn nested_unknown_keys_and_bad_enums_are_caught() {
        let base = json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
            "sampledValue": [{"value": "10", "measurand": "Energy.Active.Import.Register"}]}]});
        assert!(decode_both::<MeterValuesRequest>(&base, typed_only).is_ok());
        let mut nested = base.clone();
        nested["meterValue"][0]["sampledValue"][0]["bogus"] = json!("x");
        let err = decode_both::<MeterValuesRequest>(&nested, typed_only).unwrap_err();
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
            decode_both::<MeterValuesRequest>(&bad_enum, typed_only)
                .unwrap_err()
                .code,
            ErrorCode::PropertyConstraintViolation
        );
        // An enum of the wrong JSON type is a type fault, as it always was
        // (the text reader alone would say only "expected value").
        for wrong in [json!(5), json!([]), json!({}), json!(true)] {
            let mut bad = json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z",
                "sampledValue": [{"value": "10"}]}]});
            bad["meterValue"][0]["sampledValue"][0]["measurand"] = wrong.clone();
            let err = decode_both::<MeterValuesRequest>(&bad, typed_only).unwrap_err();
            assert_ne!(
                err.code,
                ErrorCode::FormationViolation,
                "{wrong}: {}",
                err.description
            );
        }
    }
}
