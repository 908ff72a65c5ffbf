//! The commands module: what an eMSP asks a CPO to do at a charger, the
//! CPO's synchronous answer, and the asynchronous result it POSTs to the
//! eMSP's `response_url` once the charger has answered.

use serde::{Deserialize, Serialize};

use crate::tokens::Token;
use crate::validate::{ci_string, Invalid, Validate};
use crate::versions::url;

/// START_SESSION.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct StartSession {
    /// Where the result goes.
    pub response_url: String,
    /// The driver's token.
    pub token: Token,
    /// Which location.
    pub location_id: String,
    /// Which EVSE (required unless the location has one).
    #[serde(default)]
    pub evse_uid: Option<String>,
    /// Which connector.
    #[serde(default)]
    pub connector_id: Option<String>,
    /// The eMSP's reference, repeated in the session and CDR.
    #[serde(default)]
    pub authorization_reference: Option<String>,
}

/// STOP_SESSION.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct StopSession {
    /// Where the result goes.
    pub response_url: String,
    /// The session (its id at the CPO).
    pub session_id: String,
}

/// UNLOCK_CONNECTOR.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct UnlockConnector {
    /// Where the result goes.
    pub response_url: String,
    /// Which location.
    pub location_id: String,
    /// Which EVSE.
    pub evse_uid: String,
    /// Which connector.
    pub connector_id: String,
}

/// RESERVE_NOW.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ReserveNow {
    /// Where the result goes.
    pub response_url: String,
    /// The driver's token.
    pub token: Token,
    /// Until when.
    #[serde(with = "crate::time")]
    pub expiry_date: chrono::DateTime<chrono::Utc>,
    /// The eMSP's id of the reservation.
    pub reservation_id: String,
    /// Which location.
    pub location_id: String,
    /// Which EVSE.
    #[serde(default)]
    pub evse_uid: Option<String>,
    /// The eMSP's reference.
    #[serde(default)]
    pub authorization_reference: Option<String>,
}

/// CANCEL_RESERVATION.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CancelReservation {
    /// Where the result goes.
    pub response_url: String,
    /// The eMSP's id of the reservation.
    pub reservation_id: String,
}

/// The CPO's synchronous answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// ACCEPTED, NOT_SUPPORTED, REJECTED, UNKNOWN_SESSION.
    pub result: String,
    /// Seconds the eMSP should wait for the result.
    pub timeout: i64,
    /// Why, for people (DisplayText list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<serde_json::Value>,
}

/// The result the CPO POSTs to `response_url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    /// ACCEPTED, CANCELED_RESERVATION, EVSE_OCCUPIED, EVSE_INOPERATIVE,
    /// FAILED, NOT_SUPPORTED, REJECTED, TIMEOUT, UNKNOWN_RESERVATION.
    pub result: String,
    /// Why, for people (DisplayText list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<serde_json::Value>,
}

/// One English DisplayText list, as `message` fields take.
pub fn display_text(text: &str) -> serde_json::Value {
    serde_json::json!([{"language": "en", "text": text.chars().take(512).collect::<String>()}])
}

impl Validate for StartSession {
    fn validate(&self) -> Result<(), Invalid> {
        url("response_url", &self.response_url)?;
        self.token.validate().map_err(|e| e.within("token"))?;
        ci_string("location_id", &self.location_id, 36)?;
        if let Some(uid) = &self.evse_uid {
            ci_string("evse_uid", uid, 36)?;
        }
        if let Some(id) = &self.connector_id {
            ci_string("connector_id", id, 36)?;
        }
        if let Some(reference) = &self.authorization_reference {
            ci_string("authorization_reference", reference, 36)?;
        }
        Ok(())
    }
}

impl Validate for StopSession {
    fn validate(&self) -> Result<(), Invalid> {
        url("response_url", &self.response_url)?;
        ci_string("session_id", &self.session_id, 36)
    }
}

impl Validate for UnlockConnector {
    fn validate(&self) -> Result<(), Invalid> {
        url("response_url", &self.response_url)?;
        ci_string("location_id", &self.location_id, 36)?;
        ci_string("evse_uid", &self.evse_uid, 36)?;
        ci_string("connector_id", &self.connector_id, 36)
    }
}

impl Validate for ReserveNow {
    fn validate(&self) -> Result<(), Invalid> {
        url("response_url", &self.response_url)?;
        self.token.validate().map_err(|e| e.within("token"))?;
        ci_string("reservation_id", &self.reservation_id, 36)?;
        ci_string("location_id", &self.location_id, 36)?;
        if let Some(uid) = &self.evse_uid {
            ci_string("evse_uid", uid, 36)?;
        }
        Ok(())
    }
}

impl Validate for CancelReservation {
    fn validate(&self) -> Result<(), Invalid> {
        url("response_url", &self.response_url)?;
        ci_string("reservation_id", &self.reservation_id, 36)
    }
}
