//! Every OCPI answer is wrapped: `{data, status_code, status_message,
//! timestamp}`. The HTTP status says whether the request reached the
//! module; the OCPI status says what the module made of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The OCPI status codes Plugway answers with (spec, "Status codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcpiStatus {
    /// 1000: done.
    Success,
    /// 2000: a client error without a more precise code.
    ClientError,
    /// 2001: invalid or missing parameters (a malformed object, a bad query).
    InvalidParameters,
    /// 2002: not enough information (e.g. a START_SESSION for an EVSE
    /// that needs a connector id).
    NotEnoughInformation,
    /// 2003: unknown location.
    UnknownLocation,
    /// 2004: unknown token.
    UnknownToken,
    /// 3000: a server error without a more precise code.
    ServerError,
    /// 3001: the partner's API could not be used (credentials handshake).
    UnableToUseClientApi,
    /// 3002: no version in common.
    UnsupportedVersion,
    /// 3003: no matching endpoints between the versions.
    NoMatchingEndpoints,
    /// 4001: a hub could not route the message (unknown receiver).
    UnknownReceiver,
}

impl OcpiStatus {
    /// The number on the wire.
    pub fn code(self) -> u16 {
        match self {
            Self::Success => 1000,
            Self::ClientError => 2000,
            Self::InvalidParameters => 2001,
            Self::NotEnoughInformation => 2002,
            Self::UnknownLocation => 2003,
            Self::UnknownToken => 2004,
            Self::ServerError => 3000,
            Self::UnableToUseClientApi => 3001,
            Self::UnsupportedVersion => 3002,
            Self::NoMatchingEndpoints => 3003,
            Self::UnknownReceiver => 4001,
        }
    }

    /// Whether a partner's answer with this number means success.
    pub fn is_success(code: u16) -> bool {
        (1000..2000).contains(&code)
    }
}

/// The response envelope. `data` is left out when there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// OCPI status code.
    pub status_code: u16,
    /// What happened, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the answer was made.
    #[serde(with = "crate::time")]
    pub timestamp: DateTime<Utc>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    /// A successful answer.
    pub fn success(data: T, now: DateTime<Utc>) -> Self {
        Self {
            data: Some(data),
            status_code: OcpiStatus::Success.code(),
            status_message: Some("Success".to_owned()),
            timestamp: now,
        }
    }
}

impl Envelope<()> {
    /// An answer without data (an error, or a success with nothing to say).
    pub fn status(status: OcpiStatus, message: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            data: None,
            status_code: status.code(),
            status_message: Some(message.into()),
            timestamp: now,
        }
    }
}
