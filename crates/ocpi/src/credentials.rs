//! The credentials module: the handshake that gives each party a token for
//! the other, and the roles each party plays.

use serde::{Deserialize, Serialize};

use crate::validate::{ci_string, country_code, each, party_id, string, Invalid, Validate};
use crate::versions::url;

/// One party's credentials for the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The token the other party must present to the sender of this object.
    pub token: String,
    /// The sender's versions endpoint.
    pub url: String,
    /// The roles the sender plays.
    pub roles: Vec<CredentialsRole>,
}

/// A role a party plays, under which party code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsRole {
    /// The role.
    pub role: Role,
    /// Who the party is.
    pub business_details: BusinessDetails,
    /// Party id (ISO 15118).
    pub party_id: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
}

/// The OCPI roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Charge point operator.
    Cpo,
    /// E-mobility service provider.
    Emsp,
    /// Roaming hub.
    Hub,
    /// National access point.
    Nap,
    /// Navigation service provider.
    Nsp,
    /// Other.
    Other,
    /// Smart charging service provider.
    Scsp,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpo => "CPO",
            Self::Emsp => "EMSP",
            Self::Hub => "HUB",
            Self::Nap => "NAP",
            Self::Nsp => "NSP",
            Self::Other => "OTHER",
            Self::Scsp => "SCSP",
        }
    }
}

/// A business, as partners show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessDetails {
    /// Its name.
    pub name: String,
    /// Its web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Its logo (an OCPI Image object, kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<serde_json::Value>,
}

impl Validate for BusinessDetails {
    fn validate(&self) -> Result<(), Invalid> {
        string("name", &self.name, 100)?;
        if self.name.trim().is_empty() {
            return Err(Invalid::new("name", "must not be empty"));
        }
        if let Some(website) = &self.website {
            url("website", website)?;
        }
        Ok(())
    }
}

impl Validate for CredentialsRole {
    fn validate(&self) -> Result<(), Invalid> {
        self.business_details
            .validate()
            .map_err(|e| e.within("business_details"))?;
        party_id("party_id", &self.party_id)?;
        country_code("country_code", &self.country_code)
    }
}

impl Validate for Credentials {
    fn validate(&self) -> Result<(), Invalid> {
        ci_string("token", &self.token, 64)?;
        url("url", &self.url)?;
        if self.roles.is_empty() {
            return Err(Invalid::new("roles", "must name at least one role"));
        }
        each("roles", &self.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credentials_object_of_the_spec_reads_and_validates() {
        let body = serde_json::json!({
            "token": "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2",
            "url": "https://example.com/ocpi/versions/",
            "roles": [{
                "role": "CPO", "party_id": "EXA", "country_code": "NL",
                "business_details": {"name": "Example Operator"}
            }]
        });
        let credentials: Credentials = serde_json::from_value(body).unwrap();
        credentials.validate().unwrap();
        assert_eq!(credentials.roles[0].role, Role::Cpo);
    }

    #[test]
    fn broken_credentials_name_their_field() {
        let mut credentials = Credentials {
            token: "t".into(),
            url: "ftp://x".into(),
            roles: vec![],
        };
        assert_eq!(credentials.validate().unwrap_err().field, "url");
        credentials.url = "https://x/ocpi/versions".into();
        assert_eq!(credentials.validate().unwrap_err().field, "roles");
        credentials.roles.push(CredentialsRole {
            role: Role::Emsp,
            business_details: BusinessDetails {
                name: "X".into(),
                website: None,
                logo: None,
            },
            party_id: "xx".into(),
            country_code: "NL".into(),
        });
        assert_eq!(
            credentials.validate().unwrap_err().field,
            "roles[0].party_id"
        );
    }
}
