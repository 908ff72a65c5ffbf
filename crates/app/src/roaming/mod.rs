//! Roaming over OCPI 2.2.1, both roles (docs/ocpi.md).
//!
//! - [`parties`]: who our partners are, the credentials handshake in both
//!   directions (a party registers with us with the token A that `plugway
//!   ocpi invite` issued; `plugway ocpi connect` registers us with a party),
//!   and telling a request's party from its token.
//! - [`cpo`]: our network as a CPO shows it to partners: our sites as OCPI
//!   Locations, our EVSE prices as Tariffs, paged.
//! - [`partner_locations`]: partner CPOs' locations, pushed to us (OCPI's
//!   locations receiver, or seed 003's webhooks), kept as sites that
//!   drivers find in search, marked as the partner's.
//!
//! The OCPI face (`plugway-api`'s `routes::ocpi`) does the transport: the
//! `Authorization: Token` header, the envelope, paging headers.

pub mod commands;
pub mod cpo;
pub mod driver_tokens;
pub mod emsp;
pub mod mapping;
pub mod parties;
pub mod partner_locations;
pub mod push;
pub mod realtime;
pub mod sessions;
pub mod tokens;

use chrono::{DateTime, Utc};
use plugway_ocpi::{BusinessDetails, CredentialsRole, Role};
use serde_json::{Map, Value};

use crate::error::AppResult;

/// A value as one segment of a partner's URL (uids may hold `/`, `?`, `#`).
pub(crate) fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A PATCH body as OCPI's receivers take it: a JSON object of the fields
/// to change, carrying `last_updated` (the spec's rule), changing none of
/// the object's `identity` fields. Answers the fields and that time.
pub(crate) fn patch_fields(
    body: Value,
    identity: &[&str],
) -> AppResult<(Map<String, Value>, DateTime<Utc>)> {
    let Value::Object(changes) = body else {
        return Err(parties::invalid(
            "a PATCH body is a JSON object of the fields to change",
        ));
    };
    let last_updated = changes
        .get("last_updated")
        .and_then(Value::as_str)
        .and_then(plugway_ocpi::time::parse)
        .ok_or_else(|| parties::invalid("last_updated: a PATCH must carry it"))?;
    if let Some(key) = identity.iter().find(|key| changes.contains_key(**key)) {
        return Err(parties::invalid(format!(
            "{key}: an object's identity cannot be patched"
        )));
    }
    Ok((changes, last_updated))
}

/// Who we are in OCPI, and where partners reach us.
#[derive(Debug, Clone)]
pub struct OcpiSettings {
    /// Our ISO 3166-1 alpha-2 country code (upper case).
    pub country_code: String,
    /// Our party id: three upper-case letters or digits.
    pub party_id: String,
    /// Our business name, as partners show it.
    pub name: String,
    /// Our web site, if any.
    pub website: Option<String>,
    /// The URL partners reach this server at (scheme, host, port; no
    /// trailing slash). Our versions endpoint is `{public_url}/ocpi/versions`.
    pub public_url: String,
    /// Page size when a partner asks for none (and the most we send).
    pub page_limit: i64,
}

impl Default for OcpiSettings {
    fn default() -> Self {
        Self {
            country_code: "ZZ".into(),
            party_id: "PLW".into(),
            name: "Plugway".into(),
            website: None,
            public_url: "http://127.0.0.1:8080".into(),
            page_limit: 100,
        }
    }
}

impl OcpiSettings {
    /// Our versions endpoint.
    pub fn versions_url(&self) -> String {
        format!("{}/ocpi/versions", self.public_url)
    }

    /// The base of our 2.2.1 endpoints.
    pub fn base_url(&self) -> String {
        format!("{}/ocpi/{}", self.public_url, plugway_ocpi::VERSION)
    }

    /// The roles we play, both under our one party code.
    pub fn roles(&self) -> Vec<CredentialsRole> {
        [Role::Cpo, Role::Emsp]
            .into_iter()
            .map(|role| CredentialsRole {
                role,
                business_details: BusinessDetails {
                    name: self.name.clone(),
                    website: self.website.clone(),
                    logo: None,
                },
                party_id: self.party_id.clone(),
                country_code: self.country_code.clone(),
            })
            .collect()
    }
}
