//! OCPP-J framing (OCPP 1.6 JSON, section 4): CALL `[2, id, action, payload]`,
//! CALLRESULT `[3, id, payload]`, CALLERROR `[4, id, code, description, details]`.

use serde_json::{json, Value};

/// Longest message id the spec allows.
pub const MAX_ID_LEN: usize = 36;

/// CALLERROR codes of OCPP-J 1.6, spelled as the 1.6 spec spells them
/// (`FormationViolation`, `OccurenceConstraintViolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The action is not known.
    NotImplemented,
    /// The action is known but not supported (e.g. sent in the wrong direction).
    NotSupported,
    /// Something went wrong on our side.
    InternalError,
    /// The payload is incomplete (or a frame broke the protocol).
    ProtocolError,
    /// Not allowed (e.g. before registration).
    SecurityError,
    /// The frame or payload is syntactically wrong.
    FormationViolation,
    /// A field holds a value it may not.
    PropertyConstraintViolation,
    /// A required field is missing (or occurs wrongly).
    OccurenceConstraintViolation,
    /// A field has the wrong JSON type.
    TypeConstraintViolation,
    /// Anything else.
    GenericError,
    /// The frame is not a valid RPC message (bad JSON, not an array, no
    /// usable message id). 1.6 calls this a FormationViolation.
    RpcFrameworkError,
    /// The message type number is not 2, 3 or 4. 1.6 calls this a
    /// ProtocolError.
    MessageTypeNotSupported,
}

impl ErrorCode {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotImplemented => "NotImplemented",
            Self::NotSupported => "NotSupported",
            Self::InternalError => "InternalError",
            Self::ProtocolError => "ProtocolError",
            Self::SecurityError => "SecurityError",
            Self::FormationViolation => "FormationViolation",
            Self::PropertyConstraintViolation => "PropertyConstraintViolation",
            Self::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            Self::TypeConstraintViolation => "TypeConstraintViolation",
            Self::GenericError => "GenericError",
            Self::RpcFrameworkError => "FormationViolation",
            Self::MessageTypeNotSupported => "ProtocolError",
        }
    }

    /// The wire form in OCPP-J 2.0.1, which fixed two spellings and split
    /// framing errors out (OCPP-J 2.0.1, 4.3).
    pub fn as_str_201(self) -> &'static str {
        match self {
            Self::FormationViolation => "FormatViolation",
            Self::OccurenceConstraintViolation => "OccurrenceConstraintViolation",
            Self::RpcFrameworkError => "RpcFrameworkError",
            Self::MessageTypeNotSupported => "MessageTypeNotSupported",
            other => other.as_str(),
        }
    }

    /// The wire form in `version`.
    pub fn wire(self, version: crate::OcppVersion) -> &'static str {
        match version {
            crate::OcppVersion::V16 => self.as_str(),
            crate::OcppVersion::V201 => self.as_str_201(),
        }
    }
}

/// A CALLERROR to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// Code.
    pub code: ErrorCode,
    /// Description for people.
    pub description: String,
}

impl CallError {
    /// An error with a code and description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// A frame as received.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A request.
    Call {
        /// Message id.
        id: String,
        /// Action name.
        action: String,
        /// Payload object.
        payload: Value,
    },
    /// An answer to our CALL.
    CallResult {
        /// The id of our CALL.
        id: String,
        /// Payload object.
        payload: Value,
    },
    /// An error answer to our CALL.
    CallError {
        /// The id of our CALL.
        id: String,
        /// Error code as sent (1.6 and 2.0 spellings alike).
        code: String,
        /// Description.
        description: String,
    },
}

/// Why a frame could not be read: the error to answer with, and the id
/// to answer to when one could be recovered.
#[derive(Debug, Clone, PartialEq)]
pub struct BadFrame {
    /// The message id, if the frame had a usable one.
    pub id: Option<String>,
    /// What to answer.
    pub error: CallError,
}

/// Reads one text frame.
pub fn parse(text: &str) -> Result<Frame, BadFrame> {
    let bad = |id: Option<String>, code, msg: &str| BadFrame {
        id,
        error: CallError::new(code, msg),
    };
    let value: Value = serde_json::from_str(text).map_err(|_| {
        bad(
            None,
            ErrorCode::RpcFrameworkError,
            "the frame is not valid JSON",
        )
    })?;
    let Value::Array(items) = value else {
        return Err(bad(
            None,
            ErrorCode::RpcFrameworkError,
            "a frame must be a JSON array",
        ));
    };
    let mut items = items.into_iter();
    let kind = items.next().and_then(|v| v.as_u64());
    let id = match items.next() {
        Some(Value::String(id)) => id,
        _ => {
            return Err(bad(
                None,
                ErrorCode::RpcFrameworkError,
                "the message id must be a string",
            ))
        }
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(bad(
            Some(id),
            ErrorCode::RpcFrameworkError,
            "the message id must be 1 to 36 characters",
        ));
    }
    // Move the parts out of the array rather than copying them.
    let mut parts = items;
    match (kind, parts.next(), parts.next(), parts.next()) {
        (Some(2), Some(Value::String(action)), Some(payload), None) => {
            if !payload.is_object() {
                return Err(bad(
                    Some(id),
                    ErrorCode::FormationViolation,
                    "the payload must be a JSON object",
                ));
            }
            Ok(Frame::Call {
                id,
                action,
                payload,
            })
        }
        (Some(3), Some(payload), None, None) => Ok(Frame::CallResult { id, payload }),
        (Some(4), Some(Value::String(code)), Some(Value::String(description)), _) => {
            Ok(Frame::CallError {
                id,
                code,
                description,
            })
        }
        (Some(2..=4), _, _, _) => Err(bad(
            Some(id),
            ErrorCode::FormationViolation,
            "the frame has the wrong fields for its type",
        )),
        _ => Err(bad(
            Some(id),
            ErrorCode::MessageTypeNotSupported,
            "the message type must be 2, 3 or 4",
        )),
    }
}

/// Whether any string in `value` (keys included) holds a NUL character:
/// valid JSON and within every OCPP schema, but no text column stores it
/// (PostgreSQL refuses it), so it is refused at the edge as bad input.
pub fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// A CALL frame.
pub fn call(id: &str, action: &str, payload: &Value) -> String {
    json!([2, id, action, payload]).to_string()
}

/// A CALLRESULT frame.
pub fn call_result(id: &str, payload: &Value) -> String {
    json!([3, id, payload]).to_string()
}

/// A CALLERROR frame (OCPP 1.6 spelling).
pub fn call_error(id: &str, error: &CallError) -> String {
    call_error_in(crate::OcppVersion::V16, id, error)
}

/// A CALLERROR frame in `version`'s spelling.
pub fn call_error_in(version: crate::OcppVersion, id: &str, error: &CallError) -> String {
    json!([4, id, error.code.wire(version), error.description, {}]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_garbage_gets_the_right_code() {
        assert_eq!(
            parse(r#"[2,"1","Heartbeat",{}]"#).unwrap(),
            Frame::Call {
                id: "1".into(),
                action: "Heartbeat".into(),
                payload: json!({})
            }
        );
        assert!(matches!(
            parse(r#"[3,"1",{"a":1}]"#).unwrap(),
            Frame::CallResult { .. }
        ));
        assert!(matches!(
            parse(r#"[4,"1","NotSupported","no",{}]"#).unwrap(),
            Frame::CallError { .. }
        ));
        let cases = [
            ("nope", None, ErrorCode::RpcFrameworkError),
            ("{}", None, ErrorCode::RpcFrameworkError),
            (
                "[2, 5, \"Heartbeat\", {}]",
                None,
                ErrorCode::RpcFrameworkError,
            ),
            (
                r#"[2,"1","Heartbeat",[]]"#,
                Some("1"),
                ErrorCode::FormationViolation,
            ),
            (
                r#"[2,"1","Heartbeat"]"#,
                Some("1"),
                ErrorCode::FormationViolation,
            ),
            (
                r#"[9,"1",{}]"#,
                Some("1"),
                ErrorCode::MessageTypeNotSupported,
            ),
        ];
        for (text, id, code) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.id.as_deref(), id, "{text}");
            assert_eq!(err.error.code, code, "{text}");
        }
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37));
        assert_eq!(
            parse(&long).unwrap_err().error.code,
            ErrorCode::RpcFrameworkError
        );
        // 1.6 answers framing errors as it always did; 2.0.1 in its words.
        let bad = parse("nope").unwrap_err().error;
        assert_eq!(
            call_error_in(crate::OcppVersion::V16, "-1", &bad),
            r#"[4,"-1","FormationViolation","the frame is not valid JSON",{}]"#
        );
        assert_eq!(
            call_error_in(crate::OcppVersion::V201, "-1", &bad),
            r#"[4,"-1","RpcFrameworkError","the frame is not valid JSON",{}]"#
        );
        let bad = parse(r#"[9,"1",{}]"#).unwrap_err().error;
        assert_eq!(bad.code.as_str(), "ProtocolError");
        assert_eq!(bad.code.as_str_201(), "MessageTypeNotSupported");
        let missing = CallError::new(ErrorCode::OccurenceConstraintViolation, "x");
        assert_eq!(missing.code.as_str_201(), "OccurrenceConstraintViolation");
    }

    #[test]
    fn frames_serialize_as_the_spec_shows() {
        assert_eq!(
            call("a", "Reset", &json!({"type": "Soft"})),
            r#"[2,"a","Reset",{"type":"Soft"}]"#
        );
        assert_eq!(call_result("a", &json!({})), r#"[3,"a",{}]"#);
        let e = CallError::new(ErrorCode::NotImplemented, "unknown action");
        assert_eq!(
            call_error("a", &e),
            r#"[4,"a","NotImplemented","unknown action",{}]"#
        );
    }
}
