//! OCPP-J framing (OCPP 1.6 JSON, section 4): CALL `[2, id, action, payload]`,
//! CALLRESULT `[3, id, payload]`, CALLERROR `[4, id, code, description, details]`.

use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::Value;

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

/// A frame as received. A CALL's payload stays the text it came as
/// ([`Payload`]): the hot actions decode their typed request straight from
/// it, without building a `Value` tree first.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    /// A request.
    Call {
        /// Message id.
        id: String,
        /// Action name.
        action: String,
        /// Payload object.
        payload: Payload<'a>,
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

/// Why a payload sliced out of a frame cannot be read as a tree. Slicing
/// checks JSON's grammar only, so these pass it (and were refused as "not
/// valid JSON" when a frame was parsed whole): nesting deeper than
/// serde_json builds trees (128 levels), a lone UTF-16 surrogate escape, a
/// number out of range.
const UNREADABLE: &str =
    "the payload cannot be read: nested over 128 levels deep, a lone surrogate escape, or a number out of range";

/// A CALL's payload: a JSON object, kept as the text it was received as.
/// [`crate::validate::decode`] reads a typed request from the text in one
/// pass; [`Payload::value`] builds the `Value` tree, once, for the handlers
/// that read it as a tree (2.0.1's schema checks, the Security
/// Whitepaper's messages). A payload a quirk edited is a tree from then on.
#[derive(Debug, Clone)]
pub struct Payload<'a> {
    source: Source<'a>,
    /// The tree of `source`'s text, built on first use; `None` when it
    /// cannot be one ([`UNREADABLE`]).
    tree: OnceLock<Option<Value>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Source<'a> {
    Text(&'a str),
    Tree(Value),
}

impl<'a> Payload<'a> {
    /// A payload from its JSON text (as [`parse`] found it in a frame).
    pub fn from_text(text: &'a str) -> Self {
        Self {
            source: Source::Text(text),
            tree: OnceLock::new(),
        }
    }

    pub(crate) fn source(&self) -> &Source<'a> {
        &self.source
    }

    /// The payload as a tree; a CALLERROR when it cannot be one (see
    /// [`UNREADABLE`]).
    pub fn value(&self) -> Result<&Value, CallError> {
        let tree = match &self.source {
            Source::Tree(tree) => Some(tree),
            Source::Text(text) => self
                .tree
                .get_or_init(|| serde_json::from_str(text).ok())
                .as_ref(),
        };
        tree.ok_or_else(|| CallError::new(ErrorCode::FormationViolation, UNREADABLE))
    }

    /// Edits the payload as a tree (a quirk removing fields); nothing
    /// happens when it cannot be one, and decoding it then
    /// says so.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Value) -> R) -> Option<R> {
        if let Source::Text(_) = self.source {
            // The tree `value` builds (or built) becomes the source: moved
            // out, not copied.
            self.value().ok()?;
            self.source = Source::Tree(self.tree.take().flatten()?);
        }
        let Source::Tree(tree) = &mut self.source else {
            return None;
        };
        Some(f(tree))
    }

    /// Whether any string in it (keys included) holds a NUL character; see
    /// [`contains_nul`]. In the text that includes a value that a repeated
    /// key then replaces (a tree keeps only the last): the frame held a NUL
    /// either way.
    pub fn contains_nul(&self) -> bool {
        match &self.source {
            Source::Tree(tree) => contains_nul(tree),
            Source::Text(text) => text_has_nul_escape(text),
        }
    }
}

impl From<Value> for Payload<'static> {
    fn from(tree: Value) -> Self {
        Self {
            source: Source::Tree(tree),
            tree: OnceLock::new(),
        }
    }
}

impl PartialEq for Payload<'_> {
    /// Equal when they hold the same JSON.
    fn eq(&self, other: &Self) -> bool {
        match (self.value(), other.value()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Whether valid JSON `text` has a string holding NUL. A raw control
/// character is not valid JSON inside a string, so NUL can only come as the
/// escape `\u0000`; a backslash occurs only inside strings, as the start of
/// an escape, so stepping over each escape finds every one.
fn text_has_nul_escape(text: &str) -> bool {
    // Bytes, not `str` slices: it must not panic on text that is not JSON.
    let mut rest = text.as_bytes();
    while let Some(backslash) = rest.iter().position(|&b| b == b'\\') {
        // What is escaped: for \uXXXX, the `u` and its hex digits (which
        // hold no backslash).
        let escaped = rest.get(backslash + 1..).unwrap_or_default();
        if escaped.starts_with(b"u0000") {
            return true;
        }
        rest = escaped.get(1..).unwrap_or_default();
    }
    false
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

/// Reads one text frame. The frame's elements are sliced out of the text
/// (`RawValue`) and read one by one; a CALL's payload is left as text.
pub fn parse(text: &str) -> Result<Frame<'_>, BadFrame> {
    let bad = |id: Option<String>, code, msg: &str| BadFrame {
        id,
        error: CallError::new(code, msg),
    };
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| {
        // Only the error path pays for telling the two apart.
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            bad(
                None,
                ErrorCode::RpcFrameworkError,
                "a frame must be a JSON array",
            )
        } else {
            bad(
                None,
                ErrorCode::RpcFrameworkError,
                "the frame is not valid JSON",
            )
        }
    })?;
    let string = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
    let kind = items
        .first()
        .and_then(|raw| serde_json::from_str::<u64>(raw.get()).ok());
    let Some(id) = items.get(1).copied().and_then(string) else {
        return Err(bad(
            None,
            ErrorCode::RpcFrameworkError,
            "the message id must be a string",
        ));
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(bad(
            Some(id),
            ErrorCode::RpcFrameworkError,
            "the message id must be 1 to 36 characters",
        ));
    }
    let wrong_fields = |id| {
        bad(
            Some(id),
            ErrorCode::FormationViolation,
            "the frame has the wrong fields for its type",
        )
    };
    match (kind, items.get(2..).unwrap_or_default()) {
        (Some(2), [action, payload]) => {
            let Some(action) = string(action) else {
                return Err(wrong_fields(id));
            };
            // A RawValue is the value's text without surrounding space.
            if !payload.get().starts_with('{') {
                return Err(bad(
                    Some(id),
                    ErrorCode::FormationViolation,
                    "the payload must be a JSON object",
                ));
            }
            Ok(Frame::Call {
                id,
                action,
                payload: Payload::from_text(payload.get()),
            })
        }
        (Some(3), [payload]) => match serde_json::from_str(payload.get()) {
            Ok(payload) => Ok(Frame::CallResult { id, payload }),
            Err(_) => Err(bad(Some(id), ErrorCode::FormationViolation, UNREADABLE)),
        },
        (Some(4), [code, description, ..]) => match (string(code), string(description)) {
            (Some(code), Some(description)) => Ok(Frame::CallError {
                id,
                code,
                description,
            }),
            _ => Err(wrong_fields(id)),
        },
        (Some(2..=4), _) => Err(wrong_fields(id)),
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
    array(&(2, id, action, payload))
}

/// A CALLRESULT frame.
pub fn call_result(id: &str, payload: &Value) -> String {
    array(&(3, id, payload))
}

/// A CALLERROR frame (OCPP 1.6 spelling).
pub fn call_error(id: &str, error: &CallError) -> String {
    call_error_in(crate::OcppVersion::V16, id, error)
}

/// A CALLERROR frame in `version`'s spelling.
pub fn call_error_in(version: crate::OcppVersion, id: &str, error: &CallError) -> String {
    let details = serde_json::Map::new();
    array(&(4, id, error.code.wire(version), &error.description, details))
}

/// A tuple written as the JSON array it serializes to, without building a
/// `Value` first.
fn array(parts: &impl serde::Serialize) -> String {
    // Strings, numbers and `Value`s always serialize.
    serde_json::to_string(parts).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_parse_and_garbage_gets_the_right_code() {
        assert_eq!(
            parse(r#"[2,"1","Heartbeat",{}]"#).unwrap(),
            Frame::Call {
                id: "1".into(),
                action: "Heartbeat".into(),
                payload: json!({}).into()
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
    fn a_payload_finds_nul_in_its_text_as_in_its_tree() {
        let cases = [
            (r#"{"a":"x\u0000y"}"#, true),
            (r#"{"a\u0000":1}"#, true),
            // An escaped backslash followed by the letters u0000 is text.
            (r#"{"a":"\\u0000"}"#, false),
            (r#"{"a":"\\\u0000"}"#, true),
            (r#"{"a":"\u00001"}"#, true),
            (r#"{"a":"\u0001","b":"\n"}"#, false),
            (r#"{"a":"\\"}"#, false),
            ("{}", false),
        ];
        for (text, nul) in cases {
            let tree: Value = serde_json::from_str(text).unwrap();
            assert_eq!(contains_nul(&tree), nul, "tree of {text}");
            assert_eq!(Payload::from_text(text).contains_nul(), nul, "{text}");
        }
    }

    #[test]
    fn a_payload_is_read_as_a_tree_once_and_edited_as_one() {
        let text = r#"{"connectorId":1,"extra":{"x":[1,2]}}"#;
        let mut payload = Payload::from_text(text);
        assert_eq!(payload.value().unwrap()["connectorId"], json!(1));
        assert_eq!(
            payload,
            Payload::from(json!({"connectorId": 1, "extra": {"x": [1, 2]}}))
        );
        let removed = payload.edit(|tree| tree.as_object_mut().unwrap().remove("extra").is_some());
        assert_eq!(removed, Some(true));
        assert_eq!(payload.value().unwrap(), &json!({"connectorId": 1}));
        // Deeper than a tree is built: the frame is read (its text is
        // sliced, not built), and the payload answers a FormationViolation.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let frame = format!(r#"[2,"7","DataTransfer",{{"data":{deep}}}]"#);
        let parsed = parse(&frame).expect("a frame");
        assert!(matches!(parsed, Frame::Call { .. }), "{parsed:?}");
        let Frame::Call { id, payload, .. } = parsed else {
            return;
        };
        assert_eq!(id, "7");
        assert_eq!(
            payload.value().unwrap_err().code,
            ErrorCode::FormationViolation
        );
        // A lone surrogate passes the slicing too, and not the tree.
        let lone = parse(r#"[2,"8","DataTransfer",{"vendorId":"\ud800"}]"#).expect("sliced");
        assert!(
            matches!(&lone, Frame::Call { payload, .. } if payload.value().is_err()),
            "{lone:?}"
        );
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
