//! The tokens module's object: a driver's means of authorization (an RFID
//! card, an app user) issued by an eMSP.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::{ci_string, country_code, opt_string, party_id, string, Invalid, Validate};

/// OCPI 2.2.1 TokenType.
pub const TOKEN_TYPES: &[&str] = &["AD_HOC_USER", "APP_USER", "OTHER", "RFID"];
/// OCPI 2.2.1 WhitelistType.
pub const WHITELIST_TYPES: &[&str] = &["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"];

/// A token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The issuing eMSP's country code.
    pub country_code: String,
    /// The issuing eMSP's party id.
    pub party_id: String,
    /// The id the charger sees (an RFID UID), unique per eMSP and type.
    pub uid: String,
    /// A [`TOKEN_TYPES`] item.
    #[serde(rename = "type")]
    pub token_type: String,
    /// The driver's contract (eMA id).
    pub contract_id: String,
    /// Printed on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_number: Option<String>,
    /// The issuing company.
    pub issuer: String,
    /// Groups tokens of one driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Whether it may be used.
    pub valid: bool,
    /// A [`WHITELIST_TYPES`] item.
    pub whitelist: String,
    /// ISO 639-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile_type: Option<String>,
    /// Kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_contract: Option<serde_json::Value>,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

impl Validate for Token {
    fn validate(&self) -> Result<(), Invalid> {
        country_code("country_code", &self.country_code)?;
        party_id("party_id", &self.party_id)?;
        ci_string("uid", &self.uid, 36)?;
        if !TOKEN_TYPES.contains(&self.token_type.as_str()) {
            return Err(Invalid::new(
                "type",
                "must be AD_HOC_USER, APP_USER, OTHER or RFID",
            ));
        }
        ci_string("contract_id", &self.contract_id, 36)?;
        opt_string("visual_number", self.visual_number.as_deref(), 64)?;
        string("issuer", &self.issuer, 64)?;
        if let Some(group) = &self.group_id {
            ci_string("group_id", group, 36)?;
        }
        if !WHITELIST_TYPES.contains(&self.whitelist.as_str()) {
            return Err(Invalid::new(
                "whitelist",
                "must be ALWAYS, ALLOWED, ALLOWED_OFFLINE or NEVER",
            ));
        }
        opt_string("language", self.language.as_deref(), 2)
    }
}

/// OCPI 2.2.1 AllowedType: an eMSP's real-time answer about a token.
pub const ALLOWED_TYPES: &[&str] = &["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"];

/// Where a token would be used (the body of a real-time authorization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationReferences {
    /// The CPO's location id.
    pub location_id: String,
    /// EVSEs of it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uids: Option<Vec<String>>,
}

impl Validate for LocationReferences {
    fn validate(&self) -> Result<(), Invalid> {
        ci_string("location_id", &self.location_id, 36)?;
        for uid in self.evse_uids.iter().flatten() {
            ci_string("evse_uids", uid, 36)?;
        }
        Ok(())
    }
}

/// An eMSP's answer to `POST .../tokens/{uid}/authorize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationInfo {
    /// An [`ALLOWED_TYPES`] item.
    pub allowed: String,
    /// The token as the eMSP holds it.
    pub token: Token,
    /// Where it was authorized, when the request said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationReferences>,
    /// The eMSP's reference, to be carried in the Session and CDR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    /// A message for the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
}

impl Validate for AuthorizationInfo {
    fn validate(&self) -> Result<(), Invalid> {
        if !ALLOWED_TYPES.contains(&self.allowed.as_str()) {
            return Err(Invalid::new(
                "allowed",
                "must be ALLOWED, BLOCKED, EXPIRED, NO_CREDIT or NOT_ALLOWED",
            ));
        }
        self.token.validate().map_err(|e| e.within("token"))?;
        if let Some(reference) = &self.authorization_reference {
            ci_string("authorization_reference", reference, 36)?;
        }
        if let Some(location) = &self.location {
            location.validate().map_err(|e| e.within("location"))?;
        }
        Ok(())
    }
}
