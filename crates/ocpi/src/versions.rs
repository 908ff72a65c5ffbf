//! The versions module: which OCPI versions a party speaks (`GET
//! /ocpi/versions`) and, per version, which modules it offers in which
//! role (`GET /ocpi/2.2.1`).

use serde::{Deserialize, Serialize};

use crate::validate::{string, Invalid, Validate};

/// One version a party speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// "2.2.1".
    pub version: String,
    /// Its details.
    pub url: String,
}

/// The modules of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDetails {
    /// "2.2.1".
    pub version: String,
    /// What the party offers.
    pub endpoints: Vec<Endpoint>,
}

/// One module in one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The module.
    pub identifier: ModuleId,
    /// The role the party plays in it.
    pub role: InterfaceRole,
    /// Where it is.
    pub url: String,
}

/// The OCPI modules (2.2.1 "ModuleID").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleId {
    /// CDRs.
    Cdrs,
    /// Smart charging.
    #[serde(rename = "chargingprofiles")]
    ChargingProfiles,
    /// Remote commands.
    Commands,
    /// The handshake.
    Credentials,
    /// Hub client info.
    #[serde(rename = "hubclientinfo")]
    HubClientInfo,
    /// Locations.
    Locations,
    /// Sessions.
    Sessions,
    /// Tariffs.
    Tariffs,
    /// Tokens.
    Tokens,
}

/// Whether the party sends or receives the module's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InterfaceRole {
    /// Owns the objects: others pull them from it.
    Sender,
    /// Takes pushed objects.
    Receiver,
}

impl VersionDetails {
    /// The URL of `module` in `role`, if the party offers it.
    pub fn endpoint(&self, module: ModuleId, role: InterfaceRole) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|e| e.identifier == module && e.role == role)
            .map(|e| e.url.as_str())
    }
}

impl Validate for VersionDetails {
    fn validate(&self) -> Result<(), Invalid> {
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            url(&format!("endpoints[{i}].url"), &endpoint.url)?;
        }
        Ok(())
    }
}

/// An http(s) URL of at most 255 characters.
pub fn url(field: &str, value: &str) -> Result<(), Invalid> {
    string(field, value, 255)?;
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    if !scheme_ok || value.contains(char::is_whitespace) {
        return Err(Invalid::new(field, "must be an http(s) URL"));
    }
    Ok(())
}
