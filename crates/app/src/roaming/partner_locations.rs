//! Partner CPOs' locations (our eMSP side): what a partner pushes to our
//! locations receiver (PUT and PATCH of a Location, an EVSE or a
//! Connector), and what seed 003's CPO portal webhooks add.
//!
//! The partner's object, as it last stood, is kept as sent (PATCHes merge
//! into it). Drivers see it as a site of the partner's own host account,
//! approved at once (the partner vouches for it), with its EVSEs; the
//! site's and EVSEs' ids are derived from the OCPI keys, so a push retried
//! after a crash finds what the first try wrote instead of duplicating it.
//! Search shows it with the partner's name as its operator.
//!
//! Prices of partner EVSEs stay 0 here until the partner's Tariffs are
//! received (docs/ocpi.md says what is left).

use plugway_domain::network::clean_text;
use plugway_domain::{
    ApprovalState, Capability, ConnectorFormat, ConnectorId, ConnectorStandard, Coordinates,
    Currency, EvseId, EvseStatus, Facility, OpeningHours, ParkingRestriction, ParkingType,
    PaymentType, PowerType, SiteId, SiteTimeZone, UserId,
};
use plugway_ocpi::locations::{Connector, Evse as OcpiEvse, Location};
use plugway_ocpi::Validate;
use plugway_store::{
    ConnectorFields, Evse, EvseFields, OcpiParty, PartnerLocation, PartnerOperator, Site,
    SiteFields,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::mapping;
use super::parties::invalid;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::network::{MAX_CONNECTORS_PER_EVSE, MAX_EVSES_PER_SITE};

/// An id derived from a key: the same key gives the same id on every node
/// and every retry.
fn derived(kind: &str, key: &str) -> Uuid {
    let digest = Sha256::digest(format!("plugway-ocpi:{kind}:{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn site_id_for(country_code: &str, party_code: &str, location_id: &str) -> SiteId {
    // CiStrings compare without case.
    SiteId(derived(
        "location",
        &format!(
            "{country_code}/{party_code}/{}",
            location_id.to_ascii_uppercase()
        ),
    ))
}

pub(crate) fn evse_id_for(site: SiteId, uid: &str) -> EvseId {
    EvseId(derived(
        "evse",
        &format!("{site}/{}", uid.to_ascii_uppercase()),
    ))
}

fn connector_id_for(evse: EvseId, id: &str) -> ConnectorId {
    ConnectorId(derived(
        "connector",
        &format!("{evse}/{}", id.to_ascii_uppercase()),
    ))
}

/// The owner of a partner's sites: the host account that stands for it,
/// and the mark drivers see.
#[derive(Debug, Clone)]
struct Owner {
    host: UserId,
    mark: PartnerOperator,
}

/// A party may write only under its own CPO codes: answers the host
/// account that shows them.
async fn own_cpo_host(app: &App, party: &OcpiParty, cc: &str, pid: &str) -> AppResult<Owner> {
    let role = super::parties::own_role(app, party, cc, pid, plugway_ocpi::Role::Cpo).await?;
    Ok(Owner {
        host: role.host_id.ok_or_else(|| {
            AppError::internal(format!("the CPO role {cc}/{pid} has no host account"))
        })?,
        mark: PartnerOperator {
            country_code: cc.to_owned(),
            party_id: pid.to_owned(),
            name: role.name,
        },
    })
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The site fields a partner's Location reads as.
fn site_fields(app: &App, location: &Location, cc: &str) -> AppResult<SiteFields> {
    let (lat, lng) = location
        .coordinates
        .degrees()
        .ok_or_else(|| invalid("coordinates: not numbers"))?;
    let coordinates = Coordinates::new(lat, lng).map_err(|e| invalid(e.message))?;
    let name = location
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&location.address);
    let hours = match &location.opening_times {
        None => OpeningHours::always(),
        Some(value) => {
            #[derive(Deserialize)]
            struct Hours {
                twentyfourseven: bool,
                #[serde(default)]
                regular_hours: Vec<plugway_domain::RegularHours>,
            }
            let hours: Hours = serde_json::from_value(value.clone())
                .map_err(|e| invalid(format!("opening_times: {e}")))?;
            let hours = OpeningHours {
                twentyfourseven: hours.twentyfourseven,
                regular_hours: hours.regular_hours,
                exceptional_closings: Vec::new(),
            };
            hours
                .validate()
                .map_err(|e| invalid(format!("opening_times: {}", e.message)))?;
            hours
        }
    };
    let mut restrictions: Vec<ParkingRestriction> = location
        .evses
        .iter()
        .flatten()
        .flat_map(|e| e.parking_restrictions.iter().flatten())
        .filter_map(|r| ParkingRestriction::from_code(r))
        .collect();
    restrictions.sort();
    restrictions.dedup();
    let text = |field: &'static str, value: &str, max| {
        clean_text(field, value, max, false).map_err(|e| invalid(e.message))
    };
    Ok(SiteFields {
        name: text("name", name, 120)?,
        address: text("address", &location.address, 300)?,
        city: text("city", &location.city, 100)?,
        province: text(
            "state",
            location.state.as_deref().unwrap_or(&location.city),
            100,
        )?,
        region: None,
        postal_code: location
            .postal_code
            .clone()
            .filter(|p| !p.trim().is_empty()),
        country_code: mapping::alpha2(&location.country).unwrap_or(cc).to_owned(),
        coordinates,
        // A zone this build does not know reads as UTC: the hours are
        // then off, the location is still found.
        time_zone: SiteTimeZone::parse(&location.time_zone).unwrap_or_else(|_| SiteTimeZone::utc()),
        opening_hours: hours,
        facilities: mapping::our_facilities(location.facilities.as_deref().unwrap_or_default()),
        parking_types: Vec::new(),
        parking_restrictions: restrictions,
        currency: app.settings.wallet_currency,
        published: location.publish,
    })
}

/// The EVSE fields a partner's EVSE reads as; `None` when none of its
/// connectors is one a car plugs into.
fn evse_fields(id: EvseId, evse: &OcpiEvse, prices: Option<Prices>) -> Option<EvseFields> {
    let connectors: Vec<ConnectorFields> = evse
        .connectors
        .iter()
        .filter_map(|c| {
            let standard = mapping::connector_standard(&c.standard)?;
            Some(ConnectorFields {
                id: connector_id_for(id, &c.id),
                standard,
                format: ConnectorFormat::from_code(&c.format).unwrap_or(ConnectorFormat::Socket),
                power_type: mapping::power(&c.power_type),
                max_voltage: i32::try_from(c.max_voltage).unwrap_or(i32::MAX),
                max_amperage: i32::try_from(c.max_amperage).unwrap_or(i32::MAX),
                max_power_w: c.power_w(),
            })
        })
        .take(MAX_CONNECTORS_PER_EVSE)
        .collect();
    if connectors.is_empty() {
        return None;
    }
    let dc = connectors.iter().any(|c| c.power_type == PowerType::Dc);
    Some(EvseFields {
        evse_code: mapping::fit(&evse.uid, 48),
        serial_number: None,
        meter_type: Some(if dc { "DC" } else { "AC" }.to_owned()),
        charge_point_id: None,
        ocpp_connector_id: None,
        declared_status: mapping::our_status(&evse.status),
        capabilities: mapping::our_capabilities(evse.capabilities.as_deref().unwrap_or_default()),
        payment_types: Vec::new(),
        price_per_kwh: prices.map_or(0, |p| p.per_kwh),
        price_per_hour: prices.map_or(0, |p| p.per_hour),
        waiting_price_per_minute: prices.map_or(0, |p| p.waiting_per_minute),
        connectors,
    })
}

/// What a partner's tariff shows drivers: its first element's energy,
/// time and parking prices, in minor units of its currency. (The CDR,
/// not this, is what the driver pays; restrictions and flat fees are left
/// to it.)
#[derive(Debug, Clone, Copy)]
struct Prices {
    currency: Currency,
    per_kwh: i64,
    per_hour: i64,
    waiting_per_minute: i64,
}

fn prices_of(tariff: &plugway_ocpi::Tariff) -> Option<Prices> {
    let currency = Currency::parse(&tariff.currency).ok()?;
    let components = &tariff.elements.first()?.price_components;
    let price = |dimension: &str| {
        components
            .iter()
            .find(|c| c.dimension == dimension)
            .and_then(|c| currency.to_minor(c.price))
            .unwrap_or(0)
    };
    Some(Prices {
        currency,
        per_kwh: price("ENERGY"),
        per_hour: price("TIME"),
        waiting_per_minute: (price("PARKING_TIME") + 30) / 60,
    })
}

/// The prices of each tariff a location's connectors name, as stored.
async fn location_prices(
    app: &App,
    cc: &str,
    pid: &str,
    location: &Location,
) -> AppResult<std::collections::HashMap<String, Prices>> {
    let mut out = std::collections::HashMap::new();
    let ids: std::collections::BTreeSet<&String> = location
        .evses
        .iter()
        .flatten()
        .flat_map(|e| e.connectors.iter())
        .flat_map(|c| c.tariff_ids.iter().flatten())
        .collect();
    for id in ids {
        if let Some(text) = app.store.find_partner_tariff(cc, pid, id).await? {
            let tariff: plugway_ocpi::Tariff =
                serde_json::from_str(&text).map_err(AppError::internal)?;
            if let Some(prices) = prices_of(&tariff) {
                out.insert(id.clone(), prices);
            }
        }
    }
    Ok(out)
}

/// Writes what drivers see of a partner location: its site (created
/// approved, or updated), its EVSEs (added, updated, or removed when the
/// location no longer has them).
async fn write_site(
    app: &App,
    owner: &Owner,
    site_id: SiteId,
    fields: SiteFields,
    evses: Vec<(EvseId, EvseFields)>,
) -> AppResult<()> {
    let now = app.clock.now();
    let host = owner.host;
    match app.store.find_site(site_id).await? {
        Some(site) if site.host_id != host => {
            return Err(AppError::forbidden(
                "this location belongs to another operator",
            ));
        }
        Some(_) => app.store.update_site(site_id, &fields, now).await?,
        None => {
            app.store
                .insert_site(&Site::pending(site_id, host, fields, now))
                .await?;
            app.store
                .set_site_approval(site_id, ApprovalState::Approved, None, now)
                .await?;
        }
    }
    app.store.set_site_partner(site_id, &owner.mark).await?;
    let before = app.store.list_site_evses(&[site_id]).await?;
    for gone in before
        .iter()
        .filter(|e| !evses.iter().any(|(id, _)| *id == e.id))
    {
        app.store.delete_evse(gone.id).await?;
    }
    for (id, fields) in evses {
        if before.iter().any(|e| e.id == id) {
            app.store.update_evse(id, &fields, now).await?;
        } else {
            app.store
                .insert_evse(&Evse::pending(id, site_id, fields, now))
                .await?;
            app.store
                .set_evse_approval(id, ApprovalState::Approved, None, now)
                .await?;
        }
    }
    Ok(())
}

/// Checks a whole Location and stores it with its site.
async fn store_location(
    app: &App,
    owner: &Owner,
    cc: &str,
    pid: &str,
    location: &Location,
) -> AppResult<SiteId> {
    location.validate().map_err(invalid)?;
    let site_id = site_id_for(cc, pid, &location.id);
    let mut fields = site_fields(app, location, cc)?;
    let tariffs = location_prices(app, cc, pid, location).await?;
    // The site's prices are in one currency: the first priced EVSE's.
    let priced = |e: &OcpiEvse| {
        e.connectors
            .iter()
            .flat_map(|c| c.tariff_ids.iter().flatten())
            .find_map(|id| tariffs.get(id).copied())
    };
    if let Some(first) = location.evses.iter().flatten().find_map(priced) {
        fields.currency = first.currency;
    }
    let currency = fields.currency;
    let evses: Vec<(EvseId, EvseFields)> = location
        .evses
        .iter()
        .flatten()
        .filter_map(|e| {
            let id = evse_id_for(site_id, &e.uid);
            let prices = priced(e).filter(|p| p.currency == currency);
            evse_fields(id, e, prices).map(|f| (id, f))
        })
        .take(MAX_EVSES_PER_SITE)
        .collect();
    write_site(app, owner, site_id, fields, evses).await?;
    app.store
        .put_partner_location(&PartnerLocation {
            country_code: cc.to_owned(),
            party_code: pid.to_owned(),
            location_id: location.id.clone(),
            site_id,
            object_json: serde_json::to_string(location).map_err(AppError::internal)?,
            last_updated: location.last_updated,
        })
        .await?;
    Ok(site_id)
}

/// Which object of a location a request names.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The owner's country code (from the URL).
    pub country_code: &'a str,
    /// The owner's party id (from the URL).
    pub party_id: &'a str,
    /// The location.
    pub location_id: &'a str,
    /// An EVSE of it.
    pub evse_uid: Option<&'a str>,
    /// A connector of that EVSE.
    pub connector_id: Option<&'a str>,
}

fn read<T: serde::de::DeserializeOwned>(what: &str, body: Value) -> AppResult<T> {
    serde_json::from_value(body).map_err(|e| invalid(format!("{what}: {e}")))
}

async fn stored(app: &App, t: &Target<'_>) -> AppResult<Option<(PartnerLocation, Location)>> {
    let Some(row) = app
        .store
        .find_partner_location(t.country_code, t.party_id, t.location_id)
        .await?
    else {
        return Ok(None);
    };
    let location: Location = serde_json::from_str(&row.object_json).map_err(AppError::internal)?;
    Ok(Some((row, location)))
}

fn unknown() -> AppError {
    super::cpo::unknown_location()
}

/// PUT: a whole Location, EVSE or Connector (by `target`'s depth).
pub async fn put(app: &App, party: &OcpiParty, t: Target<'_>, body: Value) -> AppResult<()> {
    let owner = own_cpo_host(app, party, t.country_code, t.party_id).await?;
    let location = match (t.evse_uid, t.connector_id) {
        (None, _) => {
            let location: Location = read("Location", body)?;
            if !same(&location.country_code, t.country_code)
                || !same(&location.party_id, t.party_id)
                || !same(&location.id, t.location_id)
            {
                return Err(invalid(
                    "country_code, party_id and id must be those of the URL",
                ));
            }
            location
        }
        (Some(uid), None) => {
            let evse: OcpiEvse = read("EVSE", body)?;
            if !same(&evse.uid, uid) {
                return Err(invalid("uid: must be the one of the URL"));
            }
            let (_, mut location) = stored(app, &t).await?.ok_or_else(unknown)?;
            location.last_updated = location.last_updated.max(evse.last_updated);
            let evses = location.evses.get_or_insert_with(Vec::new);
            match evses.iter_mut().find(|e| same(&e.uid, uid)) {
                Some(slot) => *slot = evse,
                None => evses.push(evse),
            }
            location
        }
        (Some(uid), Some(connector_id)) => {
            let connector: Connector = read("Connector", body)?;
            if !same(&connector.id, connector_id) {
                return Err(invalid("id: must be the one of the URL"));
            }
            let (_, mut location) = stored(app, &t).await?.ok_or_else(unknown)?;
            location.last_updated = location.last_updated.max(connector.last_updated);
            let evse = location
                .evses
                .iter_mut()
                .flatten()
                .find(|e| same(&e.uid, uid))
                .ok_or_else(unknown)?;
            evse.last_updated = evse.last_updated.max(connector.last_updated);
            match evse
                .connectors
                .iter_mut()
                .find(|c| same(&c.id, connector_id))
            {
                Some(slot) => *slot = connector,
                None => evse.connectors.push(connector),
            }
            location
        }
    };
    store_location(app, &owner, t.country_code, t.party_id, &location).await?;
    Ok(())
}

/// PATCH: merges the fields sent into the stored Location, EVSE or
/// Connector. It must carry `last_updated` (the spec's rule), which also
/// becomes the parents' `last_updated`.
pub async fn patch(app: &App, party: &OcpiParty, t: Target<'_>, body: Value) -> AppResult<()> {
    let owner = own_cpo_host(app, party, t.country_code, t.party_id).await?;
    let (changes, last_updated) =
        super::patch_fields(body, &["country_code", "party_id", "id", "uid"])?;
    let (_, location) = stored(app, &t).await?.ok_or_else(unknown)?;
    let mut object = serde_json::to_value(&location).map_err(AppError::internal)?;
    let stamp = Value::String(plugway_ocpi::time::format(last_updated));
    if let Some(obj) = object.as_object_mut() {
        obj.insert("last_updated".into(), stamp.clone());
    }
    let target = match t.evse_uid {
        None => Some(&mut object),
        Some(uid) => {
            let evse = object
                .get_mut("evses")
                .and_then(Value::as_array_mut)
                .and_then(|evses| {
                    evses.iter_mut().find(|e| {
                        e.get("uid")
                            .and_then(Value::as_str)
                            .is_some_and(|u| same(u, uid))
                    })
                })
                .ok_or_else(unknown)?;
            match t.connector_id {
                None => Some(evse),
                Some(connector_id) => {
                    if let Some(obj) = evse.as_object_mut() {
                        obj.insert("last_updated".into(), stamp.clone());
                    }
                    evse.get_mut("connectors")
                        .and_then(Value::as_array_mut)
                        .and_then(|cs| {
                            cs.iter_mut().find(|c| {
                                c.get("id")
                                    .and_then(Value::as_str)
                                    .is_some_and(|i| same(i, connector_id))
                            })
                        })
                }
            }
        }
    };
    let target = target.ok_or_else(unknown)?;
    let Some(fields) = target.as_object_mut() else {
        return Err(AppError::internal("a stored OCPI object is not an object"));
    };
    for (key, value) in changes {
        fields.insert(key, value);
    }
    let location: Location = read("Location after the PATCH", object)?;
    store_location(app, &owner, t.country_code, t.party_id, &location).await?;
    Ok(())
}

/// GET: the stored Location, EVSE or Connector, as the partner left it.
pub async fn get(app: &App, party: &OcpiParty, t: Target<'_>) -> AppResult<Value> {
    own_cpo_host(app, party, t.country_code, t.party_id).await?;
    let (_, location) = stored(app, &t).await?.ok_or_else(unknown)?;
    let value = match (t.evse_uid, t.connector_id) {
        (None, _) => serde_json::to_value(&location),
        (Some(uid), connector) => {
            let evse = location
                .evses
                .iter()
                .flatten()
                .find(|e| same(&e.uid, uid))
                .ok_or_else(unknown)?;
            match connector {
                None => serde_json::to_value(evse),
                Some(id) => serde_json::to_value(
                    evse.connectors
                        .iter()
                        .find(|c| same(&c.id, id))
                        .ok_or_else(unknown)?,
                ),
            }
        }
    };
    value.map_err(AppError::internal)
}

/// A location in seed 003's webhook: its own field names and code lists
/// (which are Plugway's), coordinates as decimal strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLocation {
    /// Display name.
    pub name: String,
    /// One-line address.
    pub address: String,
    /// Latitude, a decimal string ("14.12345").
    pub lat: String,
    /// Longitude, a decimal string.
    pub lng: String,
    /// Its EVSEs.
    #[serde(default)]
    pub evses: Vec<SeedEvse>,
    /// Facility codes.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Parking type codes (INDOOR, OUTDOOR).
    #[serde(default)]
    pub parking_types: Vec<String>,
    /// Parking restriction codes.
    #[serde(default)]
    pub parking_restrictions: Vec<String>,
}

/// An EVSE in seed 003's webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEvse {
    /// The location's number (the EVSE webhook only).
    #[serde(default)]
    pub location_id: Option<i64>,
    /// Unique within the operator.
    pub uid: String,
    /// AVAILABLE, CHARGING, ...
    pub status: String,
    /// AC or DC.
    #[serde(default)]
    pub meter_type: Option<String>,
    /// The EVSE's rated power, kW (kept nowhere: each connector says its own).
    #[serde(default)]
    pub kwh: Option<f64>,
    /// Its connectors.
    pub connectors: Vec<SeedConnector>,
    /// Capability codes (seed 003's).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Payment type codes.
    #[serde(default)]
    pub payment_types: Vec<String>,
}

/// A connector in seed 003's webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConnector {
    /// TYPE_1, TYPE_2, CHADEMO, GBT, CCS1, CCS2, TESLA, DOMESTIC.
    pub standard: String,
    /// SOCKET or CABLE.
    pub format: String,
    /// AC, AC_1_PHASE, ..., DC.
    pub power_type: String,
    /// Volts.
    pub max_voltage: i64,
    /// Amperes.
    pub max_amperage: i64,
    /// Watts (OCPI's unit; volts × amperes when absent).
    #[serde(default)]
    pub max_electric_power: Option<i64>,
}

fn seed_evse_fields(id: EvseId, e: &SeedEvse, at: &str) -> AppResult<EvseFields> {
    let field = |name: &str| format!("{at}.{name}");
    let uid = clean_text("uid", &e.uid, 36, false)
        .map_err(|x| invalid(format!("{}: {}", field("uid"), x.message)))?;
    if e.connectors.is_empty() || e.connectors.len() > MAX_CONNECTORS_PER_EVSE {
        return Err(invalid(format!(
            "{}: give 1 to {MAX_CONNECTORS_PER_EVSE} connectors",
            field("connectors")
        )));
    }
    if e.kwh
        .is_some_and(|k| !(k.is_finite() && (0.0..=1000.0).contains(&k)))
    {
        return Err(invalid(format!(
            "{}: must be from 0 to 1000 kW",
            field("kwh")
        )));
    }
    let mut connectors = Vec::with_capacity(e.connectors.len());
    for (i, c) in e.connectors.iter().enumerate() {
        let at = format!("{at}.connectors[{i}]");
        let bad = |name: &str, message: String| invalid(format!("{at}.{name}: {message}"));
        let standard = ConnectorStandard::parse("standard", &c.standard)
            .map_err(|x| bad("standard", x.message))?;
        let format =
            ConnectorFormat::parse("format", &c.format).map_err(|x| bad("format", x.message))?;
        let power_type = PowerType::parse("power_type", &c.power_type)
            .map_err(|x| bad("power_type", x.message))?;
        if !(1..=2000).contains(&c.max_voltage) {
            return Err(bad("max_voltage", "must be from 1 to 2000 volts".into()));
        }
        if !(1..=1000).contains(&c.max_amperage) {
            return Err(bad("max_amperage", "must be from 1 to 1000 amperes".into()));
        }
        let power = c
            .max_electric_power
            .unwrap_or(c.max_voltage * c.max_amperage);
        if !(1..=1_000_000).contains(&power) {
            return Err(bad("max_electric_power", "must be from 1 W to 1 MW".into()));
        }
        connectors.push(ConnectorFields {
            id: connector_id_for(id, &i.to_string()),
            standard,
            format,
            power_type,
            max_voltage: i32::try_from(c.max_voltage).unwrap_or(i32::MAX),
            max_amperage: i32::try_from(c.max_amperage).unwrap_or(i32::MAX),
            max_power_w: power,
        });
    }
    let status = EvseStatus::parse("status", &e.status)
        .map_err(|x| invalid(format!("{}: {}", field("status"), x.message)))?;
    Ok(EvseFields {
        evse_code: uid,
        serial_number: None,
        meter_type: match e.meter_type.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => {
                Some(clean_text("meter_type", m, 16, false).map_err(|x| invalid(x.message))?)
            }
        },
        charge_point_id: None,
        ocpp_connector_id: None,
        declared_status: status,
        capabilities: Capability::parse_list("capabilities", &e.capabilities)
            .map_err(|x| invalid(format!("{}: {}", field("capabilities"), x.message)))?,
        payment_types: PaymentType::parse_list("payment_types", &e.payment_types)
            .map_err(|x| invalid(format!("{}: {}", field("payment_types"), x.message)))?,
        price_per_kwh: 0,
        price_per_hour: 0,
        waiting_price_per_minute: 0,
        connectors,
    })
}

fn seed_site_fields(app: &App, l: &SeedLocation, cc: &str, at: &str) -> AppResult<SiteFields> {
    let coordinate = |name: &str, text: &str| {
        text.trim()
            .parse::<f64>()
            .map_err(|_| invalid(format!("{at}.{name}: must be a decimal number as a string")))
    };
    let coordinates = Coordinates::new(coordinate("lat", &l.lat)?, coordinate("lng", &l.lng)?)
        .map_err(|e| invalid(format!("{at}: {}", e.message)))?;
    let text = |field: &'static str, value: &str, max| {
        clean_text(field, value, max, false).map_err(|e| invalid(format!("{at}.{}", e.message)))
    };
    let address = text("address", &l.address, 300)?;
    Ok(SiteFields {
        name: text("name", &l.name, 120)?,
        // The seed's address is one line: it is also where the city goes.
        city: address.clone(),
        province: address.clone(),
        address,
        region: None,
        postal_code: None,
        country_code: cc.to_owned(),
        coordinates,
        time_zone: SiteTimeZone::utc(),
        opening_hours: OpeningHours::always(),
        facilities: Facility::parse_list("facilities", &l.facilities)
            .map_err(|e| invalid(format!("{at}.{}", e.message)))?,
        parking_types: ParkingType::parse_list("parking_types", &l.parking_types)
            .map_err(|e| invalid(format!("{at}.{}", e.message)))?,
        parking_restrictions: ParkingRestriction::parse_list(
            "parking_restrictions",
            &l.parking_restrictions,
        )
        .map_err(|e| invalid(format!("{at}.{}", e.message)))?,
        currency: app.settings.wallet_currency,
        published: true,
    })
}

/// The OCPI Location a seed-003 location is kept as (so that it is one set
/// with pushed ones: GET and PATCH see it).
async fn keep_as_ocpi(
    app: &App,
    cc: &str,
    pid: &str,
    location_id: &str,
    site_id: SiteId,
) -> AppResult<()> {
    let site = app.store.find_site(site_id).await?.ok_or_else(unknown)?;
    let evses = app.store.list_site_evses(&[site_id]).await?;
    let refs: Vec<&Evse> = evses.iter().collect();
    let mut location = super::cpo::location_of(app, &site, &refs);
    location.country_code = cc.to_owned();
    location.party_id = pid.to_owned();
    location.id = location_id.to_owned();
    location.operator = None;
    for (evse, ours) in location.evses.iter_mut().flatten().zip(&evses) {
        evse.uid = ours.fields.evse_code.clone();
        for (i, c) in evse.connectors.iter_mut().enumerate() {
            c.id = i.to_string();
            c.tariff_ids = None;
        }
        evse.capabilities = None;
    }
    app.store
        .put_partner_location(&PartnerLocation {
            country_code: cc.to_owned(),
            party_code: pid.to_owned(),
            location_id: location_id.to_owned(),
            site_id,
            object_json: serde_json::to_string(&location).map_err(AppError::internal)?,
            last_updated: location.last_updated,
        })
        .await?;
    Ok(())
}

/// Seed 003's "Webhook Add Location": adds the locations (all checked
/// before any is written) and answers their numbers.
pub async fn seed_add_locations(
    app: &App,
    party: &OcpiParty,
    cc: &str,
    pid: &str,
    locations: Vec<SeedLocation>,
) -> AppResult<Vec<i64>> {
    let owner = own_cpo_host(app, party, cc, pid).await?;
    if locations.is_empty() || locations.len() > 100 {
        return Err(invalid("locations: give 1 to 100 locations"));
    }
    let now = app.clock.now();
    let mut checked = Vec::with_capacity(locations.len());
    for (i, l) in locations.iter().enumerate() {
        let at = format!("locations[{i}]");
        // The seed's locations carry no id: each one is new.
        let location_id = app.ids.new_uuid(now).to_string();
        let site_id = site_id_for(cc, pid, &location_id);
        let fields = seed_site_fields(app, l, cc, &at)?;
        if l.evses.len() > MAX_EVSES_PER_SITE {
            return Err(invalid(format!("{at}.evses: at most {MAX_EVSES_PER_SITE}")));
        }
        let mut evses = Vec::with_capacity(l.evses.len());
        for (j, e) in l.evses.iter().enumerate() {
            let id = evse_id_for(site_id, &e.uid);
            if evses.iter().any(|(other, _)| *other == id) {
                return Err(invalid(format!(
                    "{at}.evses[{j}].uid: repeats another EVSE's uid"
                )));
            }
            evses.push((id, seed_evse_fields(id, e, &format!("{at}.evses[{j}]"))?));
        }
        checked.push((location_id, site_id, fields, evses));
    }
    let mut numbers = Vec::with_capacity(checked.len());
    for (location_id, site_id, fields, evses) in checked {
        write_site(app, &owner, site_id, fields, evses).await?;
        keep_as_ocpi(app, cc, pid, &location_id, site_id).await?;
        let site = app.store.find_site(site_id).await?.ok_or_else(unknown)?;
        numbers.push(
            site.number
                .ok_or_else(|| AppError::internal("a stored site has no number"))?,
        );
    }
    Ok(numbers)
}

/// Seed 003's "Webhook Add EVSE": adds (or replaces, by uid) an EVSE of a
/// location the party added, named by its number.
pub async fn seed_add_evse(
    app: &App,
    party: &OcpiParty,
    cc: &str,
    pid: &str,
    evse: SeedEvse,
) -> AppResult<()> {
    let owner = own_cpo_host(app, party, cc, pid).await?;
    let number = evse
        .location_id
        .ok_or_else(|| invalid("location_id: give the number of the location"))?;
    let site_id = app
        .store
        .numbered_ref(plugway_store::NumberKind::Site, number)
        .await?
        .and_then(|r| r.parse::<SiteId>().ok())
        .ok_or_else(unknown)?;
    let row = app
        .store
        .find_partner_location_by_site(site_id)
        .await?
        .filter(|l| l.country_code == cc && l.party_code == pid)
        .ok_or_else(unknown)?;
    let site = app.store.find_site(site_id).await?.ok_or_else(unknown)?;
    let id = evse_id_for(site_id, &evse.uid);
    let fields = seed_evse_fields(id, &evse, "evse")?;
    let mut evses: Vec<(EvseId, EvseFields)> = app
        .store
        .list_site_evses(&[site_id])
        .await?
        .into_iter()
        .filter(|e| e.id != id)
        .map(|e| (e.id, e.fields))
        .collect();
    if evses.len() >= MAX_EVSES_PER_SITE {
        return Err(invalid(format!(
            "location_id: the location has {MAX_EVSES_PER_SITE} EVSEs already"
        )));
    }
    evses.push((id, fields));
    write_site(app, &owner, site_id, site.fields, evses).await?;
    keep_as_ocpi(app, cc, pid, &row.location_id, site_id).await
}

/// What pulling a partner's locations did.
#[derive(Debug, Clone, Default)]
pub struct PullReport {
    /// Locations stored (new or updated).
    pub stored: usize,
    /// Locations refused, with why (nothing of them was stored).
    pub refused: Vec<String>,
    /// Pages read.
    pub pages: usize,
}

/// Pages through a partner CPO's locations sender and stores each location
/// under its owner's code (which must be one of the partner's CPO roles);
/// a bad object is reported and skipped, the rest are kept.
pub async fn pull(app: &App, party: &OcpiParty) -> AppResult<PullReport> {
    use plugway_ocpi::{InterfaceRole, ModuleId};
    if party.state != plugway_store::PartyState::Connected {
        return Err(AppError::conflict(
            "ocpi_not_connected",
            "the partner is not connected",
        ));
    }
    let token = party.outgoing_token.clone().ok_or_else(|| {
        AppError::conflict("ocpi_not_connected", "we hold no token for this partner")
    })?;
    let Some(base) = super::parties::endpoint(party, ModuleId::Locations, InterfaceRole::Sender)
    else {
        return Err(AppError::conflict(
            "ocpi_no_locations_sender",
            "the partner offers no locations sender to pull from",
        ));
    };
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    let mut url = Some(format!("{base}?limit={}", app.settings.ocpi.page_limit));
    let mut report = PullReport::default();
    while let Some(next) = url.take() {
        report.pages += 1;
        if report.pages > 10_000 {
            return Err(AppError::upstream(
                "ocpi_partner_unusable",
                "the partner's paging does not end",
            ));
        }
        let reply = super::parties::call(
            app,
            crate::ports::ocpi::OcpiMethod::Get,
            &next,
            &token,
            None,
            &correlation,
            None,
        )
        .await?;
        if !reply.succeeded() {
            return Err(AppError::upstream(
                "ocpi_partner_unusable",
                format!(
                    "the partner's locations: HTTP {}, OCPI status {}",
                    reply.http_status, reply.status_code
                ),
            ));
        }
        let Value::Array(objects) = reply.data else {
            return Err(AppError::upstream(
                "ocpi_partner_unusable",
                "the partner's locations page is not a list",
            ));
        };
        for object in objects {
            let label = object
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let outcome = async {
                let location: Location = read("Location", object)?;
                let cc = location.country_code.to_ascii_uppercase();
                let pid = location.party_id.to_ascii_uppercase();
                let owner = own_cpo_host(app, party, &cc, &pid).await?;
                store_location(app, &owner, &cc, &pid, &location).await
            }
            .await;
            match outcome {
                Ok(_) => report.stored += 1,
                Err(e) => report.refused.push(format!("{label}: {}", e.message)),
            }
        }
        // Our token goes only where the partner's own endpoint is.
        url = reply.next_page.filter(|next| same_origin(next, &base));
    }
    tracing::info!(party = %party.id, stored = report.stored, refused = report.refused.len(), "pulled a partner's locations");
    Ok(report)
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    let origin = |url: &str| -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        Some(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ))
    };
    origin(a).is_some() && origin(a) == origin(b)
}

/// Where a request names a partner's tariff.
#[derive(Debug, Clone, Copy)]
pub struct TariffKey<'a> {
    /// The CPO's country code.
    pub country_code: &'a str,
    /// The CPO's party id.
    pub party_id: &'a str,
    /// The tariff's id.
    pub tariff_id: &'a str,
}

/// Prices again every stored location of the party code that names
/// `tariff_id`.
async fn reprice(app: &App, owner: &Owner, cc: &str, pid: &str, tariff_id: &str) -> AppResult<()> {
    for row in app.store.list_partner_locations(cc, pid).await? {
        let location: Location =
            serde_json::from_str(&row.object_json).map_err(AppError::internal)?;
        let names = location
            .evses
            .iter()
            .flatten()
            .flat_map(|e| e.connectors.iter())
            .any(|c| c.tariff_ids.iter().flatten().any(|t| t == tariff_id));
        if names {
            store_location(app, owner, cc, pid, &location).await?;
        }
    }
    Ok(())
}

/// PUT: a partner's tariff; its EVSEs show its prices from now on.
pub async fn put_tariff(
    app: &App,
    party: &OcpiParty,
    key: TariffKey<'_>,
    body: Value,
) -> AppResult<()> {
    let owner = own_cpo_host(app, party, key.country_code, key.party_id).await?;
    let tariff: plugway_ocpi::Tariff = read("Tariff", body)?;
    tariff.validate().map_err(invalid)?;
    if !same(&tariff.country_code, key.country_code)
        || !same(&tariff.party_id, key.party_id)
        || tariff.id != key.tariff_id
    {
        return Err(invalid(
            "country_code, party_id and id must be those of the URL",
        ));
    }
    let json = serde_json::to_string(&tariff).map_err(AppError::internal)?;
    app.store
        .put_partner_tariff(
            key.country_code,
            key.party_id,
            key.tariff_id,
            &json,
            tariff.last_updated,
        )
        .await?;
    reprice(app, &owner, key.country_code, key.party_id, key.tariff_id).await
}

/// DELETE: the tariff no longer applies; its EVSEs show no price.
pub async fn delete_tariff(app: &App, party: &OcpiParty, key: TariffKey<'_>) -> AppResult<()> {
    let owner = own_cpo_host(app, party, key.country_code, key.party_id).await?;
    if !app
        .store
        .delete_partner_tariff(key.country_code, key.party_id, key.tariff_id)
        .await?
    {
        return Err(AppError::not_found(
            "ocpi_unknown_tariff",
            "no tariff of yours has this id",
        ));
    }
    reprice(app, &owner, key.country_code, key.party_id, key.tariff_id).await
}

/// GET: the tariff as the partner left it.
pub async fn get_tariff(app: &App, party: &OcpiParty, key: TariffKey<'_>) -> AppResult<Value> {
    own_cpo_host(app, party, key.country_code, key.party_id).await?;
    let text = app
        .store
        .find_partner_tariff(key.country_code, key.party_id, key.tariff_id)
        .await?
        .ok_or_else(|| {
            AppError::not_found("ocpi_unknown_tariff", "no tariff of yours has this id")
        })?;
    serde_json::from_str(&text).map_err(AppError::internal)
}
