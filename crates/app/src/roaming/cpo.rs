//! Our network as a CPO shows it to roaming partners: each approved site
//! of ours is an OCPI Location (its approved EVSEs with their live status),
//! each approved EVSE's prices a Tariff whose id is the EVSE's uid.
//! Partners' own locations, which we keep as sites too, are never sent
//! back out as ours.

use chrono::{DateTime, Utc};
use plugway_domain::{ApprovalState, SiteId};
use plugway_ocpi::locations::{Connector, Evse as OcpiEvse, Location};
use plugway_ocpi::tariffs::{PriceComponent, Tariff, TariffElement};
use plugway_ocpi::BusinessDetails;
use plugway_store::{Evse, Site};

use super::mapping;
use crate::context::App;
use crate::error::{AppError, AppResult};

/// What a partner asked for when it pages through a module.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest {
    /// Objects to skip.
    pub offset: i64,
    /// Objects per page; our maximum when absent or larger.
    pub limit: Option<i64>,
    /// Only objects changed at or after this.
    pub date_from: Option<DateTime<Utc>>,
    /// Only objects changed before this.
    pub date_to: Option<DateTime<Utc>>,
}

impl PageRequest {
    /// The page size used: the partner's, capped by ours.
    pub fn limit(&self, max: i64) -> i64 {
        self.limit.map_or(max, |l| l.clamp(0, max))
    }
}

/// One page of a module's objects.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The objects.
    pub items: Vec<T>,
    /// How many there are in all (`X-Total-Count`).
    pub total: i64,
    /// Where this page starts.
    pub offset: i64,
    /// The page size used (`X-Limit`).
    pub limit: i64,
}

/// The OCPI status 2003 error.
pub fn unknown_location() -> AppError {
    AppError::not_found(
        "ocpi_unknown_location",
        "no location of this platform has this id",
    )
}

pub(crate) fn check_window(request: &PageRequest) -> AppResult<()> {
    if request.offset < 0 {
        return Err(super::parties::invalid("offset: must not be negative"));
    }
    if request.limit.is_some_and(|l| l < 0) {
        return Err(super::parties::invalid("limit: must not be negative"));
    }
    if let (Some(from), Some(to)) = (request.date_from, request.date_to) {
        if from > to {
            return Err(super::parties::invalid(
                "date_from: must not be after date_to",
            ));
        }
    }
    Ok(())
}

/// A page of our Locations.
pub async fn locations(app: &App, request: PageRequest) -> AppResult<Page<Location>> {
    check_window(&request)?;
    let limit = request.limit(app.settings.ocpi.page_limit);
    let (ids, total) = app
        .store
        .list_roaming_sites(request.date_from, request.date_to, request.offset, limit)
        .await?;
    let items = load_locations(app, &ids).await?;
    Ok(Page {
        items,
        total,
        offset: request.offset,
        limit,
    })
}

/// Loads sites with their approved EVSEs as Locations, in the order asked.
async fn load_locations(app: &App, ids: &[SiteId]) -> AppResult<Vec<Location>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sites = app.store.find_sites(ids).await?;
    let evses = app.store.list_site_evses(ids).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(site) = sites.iter().find(|s| s.id == *id) {
            let mine: Vec<&Evse> = evses
                .iter()
                .filter(|e| e.site_id == *id && e.approval == ApprovalState::Approved)
                .collect();
            out.push(location_of(app, site, &mine));
        }
    }
    Ok(out)
}

/// One of our Locations by its OCPI id (the site's id).
pub async fn location(app: &App, id: &str) -> AppResult<Location> {
    let site_id: SiteId = id.parse().map_err(|_| unknown_location())?;
    let partners = app.store.partner_hosts().await?;
    let site = app
        .store
        .find_site(site_id)
        .await?
        .filter(|s| s.approval == ApprovalState::Approved && !partners.contains(&s.host_id))
        .ok_or_else(unknown_location)?;
    load_locations(app, &[site.id])
        .await?
        .pop()
        .ok_or_else(unknown_location)
}

/// A site of ours as an OCPI Location.
pub fn location_of(app: &App, site: &Site, evses: &[&Evse]) -> Location {
    let ours = &app.settings.ocpi;
    let f = &site.fields;
    let last_updated = evses
        .iter()
        .map(|e| e.updated_at)
        .fold(site.updated_at, DateTime::max);
    let hours = serde_json::to_value(&f.opening_hours)
        .ok()
        .map(|mut hours| {
            // Ours keeps closed days as dates; OCPI wants periods.
            if let Some(obj) = hours.as_object_mut() {
                let closings: Vec<serde_json::Value> = f
                    .opening_hours
                    .exceptional_closings
                    .iter()
                    .map(|day| {
                        let next = day.succ_opt().unwrap_or(*day);
                        serde_json::json!({
                            "period_begin": format!("{day}T00:00:00Z"),
                            "period_end": format!("{next}T00:00:00Z"),
                        })
                    })
                    .collect();
                obj.insert("exceptional_closings".into(), closings.into());
            }
            hours
        });
    let place = mapping::place(f);
    Location {
        country_code: ours.country_code.clone(),
        party_id: ours.party_id.clone(),
        id: site.id.to_text(),
        publish: site.visible,
        publish_allowed_to: None,
        name: Some(place.name),
        address: place.address,
        city: place.city,
        postal_code: place.postal_code,
        state: place.state,
        country: place.country,
        coordinates: place.coordinates,
        related_locations: None,
        parking_type: None,
        evses: Some(evses.iter().map(|e| evse_of(app, e)).collect()),
        directions: None,
        operator: Some(BusinessDetails {
            name: mapping::fit(&ours.name, 100),
            website: ours.website.clone(),
            logo: None,
        }),
        suboperator: None,
        owner: None,
        facilities: Some(mapping::facilities(&f.facilities)).filter(|v| !v.is_empty()),
        time_zone: f.time_zone.name().to_owned(),
        opening_times: hours,
        charging_when_closed: Some(true),
        images: None,
        energy_mix: None,
        last_updated,
    }
}

fn evse_of(app: &App, evse: &Evse) -> OcpiEvse {
    let f = &evse.fields;
    OcpiEvse {
        uid: evse.id.to_text(),
        evse_id: Some(emi3_evse_id(app, evse)),
        status: mapping::status(evse.status()).to_owned(),
        status_schedule: None,
        capabilities: Some(mapping::capabilities(
            &f.capabilities,
            f.charge_point_id.is_some(),
        ))
        .filter(|c| !c.is_empty()),
        connectors: f
            .connectors
            .iter()
            .map(|c| Connector {
                id: c.id.to_text(),
                standard: mapping::connector_type(c.standard, c.power_type).to_owned(),
                format: c.format.code().to_owned(),
                power_type: mapping::power_type(c.power_type).to_owned(),
                max_voltage: i64::from(c.max_voltage),
                max_amperage: i64::from(c.max_amperage),
                max_electric_power: Some(c.max_power_w),
                tariff_ids: Some(vec![evse.id.to_text()]),
                terms_and_conditions: None,
                last_updated: evse.updated_at,
            })
            .collect(),
        floor_level: None,
        coordinates: None,
        physical_reference: Some(mapping::fit(&f.evse_code, 16)),
        directions: None,
        parking_restrictions: None,
        images: None,
        last_updated: evse.updated_at,
    }
}

/// An EVSE's eMI3 id, `CC*PID*E<number>` (its public number: stable,
/// unique, never reused).
pub fn emi3_evse_id(app: &App, evse: &Evse) -> String {
    let ours = &app.settings.ocpi;
    let outlet = evse
        .number
        .map_or_else(|| evse.id.0.simple().to_string(), |n| n.to_string());
    format!("{}*{}*E{}", ours.country_code, ours.party_id, outlet)
}

/// A page of our Tariffs (one per approved EVSE).
pub async fn tariffs(app: &App, request: PageRequest) -> AppResult<Page<Tariff>> {
    check_window(&request)?;
    let limit = request.limit(app.settings.ocpi.page_limit);
    let (ids, total) = app
        .store
        .list_roaming_evses(request.date_from, request.date_to, request.offset, limit)
        .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(evse) = app.store.find_evse(id).await? else {
            continue;
        };
        let Some(site) = app.store.find_site(evse.site_id).await? else {
            continue;
        };
        items.push(tariff_of(app, &site, &evse));
    }
    Ok(Page {
        items,
        total,
        offset: request.offset,
        limit,
    })
}

/// An EVSE's prices as an OCPI Tariff: per kWh (ENERGY), per hour of
/// charging (TIME) and per hour of waiting after it (PARKING_TIME), as the
/// session engine prices them.
pub fn tariff_of(app: &App, site: &Site, evse: &Evse) -> Tariff {
    let currency = site.fields.currency;
    let f = &evse.fields;
    let mut components = Vec::new();
    let mut component = |dimension: &str, minor: i64, step_size: i64| {
        if minor > 0 {
            components.push(PriceComponent {
                dimension: dimension.to_owned(),
                price: currency.to_major(minor),
                vat: None,
                step_size,
            });
        }
    };
    component("ENERGY", f.price_per_kwh, 1);
    component("TIME", f.price_per_hour, 1);
    component(
        "PARKING_TIME",
        f.waiting_price_per_minute.saturating_mul(60),
        60,
    );
    if components.is_empty() {
        // A free EVSE still has a tariff with one element (the spec's
        // minimum): energy at no cost.
        components.push(PriceComponent {
            dimension: "ENERGY".into(),
            price: 0.0,
            vat: None,
            step_size: 1,
        });
    }
    Tariff {
        country_code: app.settings.ocpi.country_code.clone(),
        party_id: app.settings.ocpi.party_id.clone(),
        id: evse.id.to_text(),
        currency: currency.code().to_owned(),
        tariff_type: None,
        tariff_alt_text: None,
        elements: vec![TariffElement {
            price_components: components,
            restrictions: None,
        }],
        last_updated: evse.updated_at.max(site.updated_at),
    }
}

/// The Locations of those of these sites that we publish (approved, ours),
/// each with its site.
pub async fn locations_of(app: &App, sites: &[SiteId]) -> AppResult<Vec<(SiteId, Location)>> {
    let partners = app.store.partner_hosts().await?;
    let ours: Vec<SiteId> = app
        .store
        .find_sites(sites)
        .await?
        .into_iter()
        .filter(|s| s.approval == ApprovalState::Approved && !partners.contains(&s.host_id))
        .map(|s| s.id)
        .collect();
    let locations = load_locations(app, &ours).await?;
    Ok(ours.into_iter().zip(locations).collect())
}

/// The Tariffs of the published EVSEs at these sites, each with its site.
pub async fn tariffs_of(app: &App, sites: &[SiteId]) -> AppResult<Vec<(SiteId, Tariff)>> {
    let mut out = Vec::new();
    for id in app.store.list_roaming_evses_of(sites).await? {
        let Some(evse) = app.store.find_evse(id).await? else {
            continue;
        };
        let Some(site) = app.store.find_site(evse.site_id).await? else {
            continue;
        };
        out.push((site.id, tariff_of(app, &site, &evse)));
    }
    Ok(out)
}
