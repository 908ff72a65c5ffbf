//! The GraphQL types of seed 003: `Location`, `Evse`, `Connector` and the
//! `{id code description}` items of the code lists, rendered from our sites
//! and EVSEs.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::{ApprovalState, SiteId};
use plugway_store::{Evse, Site};

use super::gql_error;
use crate::AppState;
use plugway_app::search_index::SearchHit;
use plugway_app::views::{evse_in_view, media_url};

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An item of a code list: its list id, wire code and description.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CodeItem {
    /// Position in its list, from 1.
    pub id: i32,
    /// Wire code ("CAFE").
    pub code: String,
    /// For people ("Cafe").
    pub description: String,
}

macro_rules! code_items {
    ($items:expr) => {
        $items
            .iter()
            .map(|item| CodeItem {
                id: i32::try_from(item.list_id()).unwrap_or(i32::MAX),
                code: item.code().to_owned(),
                description: item.description().to_owned(),
            })
            .collect::<Vec<_>>()
    };
}

/// A location (site).
#[derive(Debug, Clone)]
pub struct LocationNode {
    site: Arc<Site>,
    /// Its EVSEs, when loaded with the location; else loaded on demand.
    evses: Option<Vec<Evse>>,
    drivers_view: bool,
    distance_m: Option<f64>,
}

/// An EVSE with its location.
#[derive(Debug, Clone)]
pub struct EvseNode {
    evse: Evse,
    site: Arc<Site>,
    drivers_view: bool,
}

/// A connector of an EVSE.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Connector", rename_fields = "snake_case")]
pub struct ConnectorNode {
    /// Its id.
    pub id: ID,
    /// Its EVSE's uid.
    pub evse_uid: ID,
    /// Position on the EVSE, from 1.
    pub connector_id: i32,
    /// Plug standard code (TYPE_2, CCS2, ...).
    pub standard: String,
    /// SOCKET or CABLE.
    pub format: String,
    /// AC, AC_1_PHASE, ..., DC.
    pub power_type: String,
    /// Volts.
    pub max_voltage: i32,
    /// Amperes.
    pub max_amperage: i32,
    /// Watts.
    pub max_electric_power: i64,
    /// The standard's description.
    pub connector_type: String,
    /// Price per kWh in the location's currency (major units).
    pub rate_setting: f64,
    /// The EVSE's OCPI status.
    pub status: String,
    /// When created (RFC 3339).
    pub date_created: String,
    /// Last change (RFC 3339).
    pub date_modified: String,
}

/// Locations in the order given, each with its EVSEs.
pub(super) fn location_nodes(
    loaded: Vec<(Site, Vec<Evse>)>,
    drivers_view: bool,
) -> Vec<LocationNode> {
    loaded
        .into_iter()
        .map(|(site, evses)| LocationNode {
            evses: Some(evses),
            site: Arc::new(site),
            drivers_view,
            distance_m: None,
        })
        .collect()
}

/// Search results (drivers' view), with their distances.
pub(super) fn found_nodes(loaded: Vec<(Site, Vec<Evse>)>, hits: &[SearchHit]) -> Vec<LocationNode> {
    let distances: HashMap<SiteId, Option<f64>> =
        hits.iter().map(|h| (h.site_id, h.distance_m)).collect();
    loaded
        .into_iter()
        .map(|(site, evses)| LocationNode {
            distance_m: distances.get(&site.id).copied().flatten(),
            site: Arc::new(site),
            evses: Some(evses),
            drivers_view: true,
        })
        .collect()
}

/// EVSEs in the order given, each with its site (EVSEs whose site is gone
/// are left out).
pub(super) fn evse_nodes(evses: Vec<Evse>, sites: Vec<Site>, drivers_view: bool) -> Vec<EvseNode> {
    let sites: HashMap<SiteId, Arc<Site>> =
        sites.into_iter().map(|s| (s.id, Arc::new(s))).collect();
    evses
        .into_iter()
        .filter_map(|evse| {
            let site = sites.get(&evse.site_id)?.clone();
            Some(EvseNode {
                evse,
                site,
                drivers_view,
            })
        })
        .collect()
}

/// A location (an OCPI location: one address with chargers).
#[Object(name = "Location", rename_fields = "snake_case")]
impl LocationNode {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.site.id.to_text())
    }

    /// Its public number: the stable integer `location(id:)` also takes.
    async fn number(&self) -> Option<i64> {
        self.site.number
    }

    /// The host (charge point operator) that owns it.
    async fn cpo_owner_id(&self) -> ID {
        ID(self.site.host_id.to_text())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.site.fields.name
    }

    /// Street address.
    async fn address(&self) -> &str {
        &self.site.fields.address
    }

    /// Latitude, WGS 84.
    async fn address_lat(&self) -> f64 {
        self.site.fields.coordinates.lat
    }

    /// Longitude, WGS 84.
    async fn address_lng(&self) -> f64 {
        self.site.fields.coordinates.lng
    }

    /// Kilometres from the searched position (the find_ev queries with a
    /// position only).
    async fn distance(&self) -> Option<f64> {
        self.distance_m.map(|m| m.round() / 1000.0)
    }

    /// City.
    async fn city(&self) -> &str {
        &self.site.fields.city
    }

    /// Province.
    async fn province(&self) -> &str {
        &self.site.fields.province
    }

    /// Region.
    async fn region(&self) -> Option<&str> {
        self.site.fields.region.as_deref()
    }

    /// Postal code.
    async fn postal_code(&self) -> Option<&str> {
        self.site.fields.postal_code.as_deref()
    }

    /// ISO 3166-1 alpha-2 country code.
    async fn country_code(&self) -> &str {
        &self.site.fields.country_code
    }

    /// Photo URLs, oldest first.
    async fn images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let state = ctx.data::<AppState>()?;
        let photos = state
            .store
            .list_site_photos(self.site.id)
            .await
            .map_err(|e| gql_error(e.into()))?;
        Ok(photos.iter().map(|p| media_url(&p.key)).collect())
    }

    /// Published by its host and approved.
    async fn publish(&self) -> bool {
        self.site.fields.published && self.site.approval == ApprovalState::Approved
    }

    /// When created (RFC 3339).
    async fn date_created(&self) -> String {
        timestamp(self.site.created_at)
    }

    /// Last change (RFC 3339).
    async fn date_modified(&self) -> String {
        timestamp(self.site.updated_at)
    }

    /// Its EVSEs (drivers see approved ones only), oldest first.
    async fn evses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EvseNode>> {
        let evses = match &self.evses {
            Some(evses) => evses.clone(),
            None => {
                let state = ctx.data::<AppState>()?;
                state
                    .store
                    .list_site_evses(&[self.site.id])
                    .await
                    .map_err(|e| gql_error(e.into()))?
                    .into_iter()
                    .filter(|e| evse_in_view(e, self.drivers_view))
                    .collect()
            }
        };
        Ok(evses
            .into_iter()
            .map(|evse| EvseNode {
                evse,
                site: self.site.clone(),
                drivers_view: self.drivers_view,
            })
            .collect())
    }

    /// Amenities.
    async fn facilities(&self) -> Vec<CodeItem> {
        code_items!(self.site.fields.facilities)
    }

    /// Who may park.
    async fn parking_restrictions(&self) -> Vec<CodeItem> {
        code_items!(self.site.fields.parking_restrictions)
    }

    /// Indoor or outdoor.
    async fn parking_types(&self) -> Vec<CodeItem> {
        code_items!(self.site.fields.parking_types)
    }
}

/// An EVSE: what a driver charges at, with one or more connectors.
#[Object(name = "Evse", rename_fields = "snake_case")]
impl EvseNode {
    /// Its id.
    async fn uid(&self) -> ID {
        ID(self.evse.id.to_text())
    }

    /// Its public number: a stable integer id.
    async fn number(&self) -> Option<i64> {
        self.evse.number
    }

    /// Its number at the location (OCPI evse_id).
    async fn evse_id(&self) -> &str {
        &self.evse.fields.evse_code
    }

    /// Serial number.
    async fn serial_number(&self) -> Option<&str> {
        self.evse.fields.serial_number.as_deref()
    }

    /// AC or DC meter.
    async fn meter_type(&self) -> Option<&str> {
        self.evse.fields.meter_type.as_deref()
    }

    /// OCPI status (AVAILABLE, CHARGING, ...): live when linked to an OCPP
    /// charge point.
    async fn status(&self) -> &'static str {
        self.evse.status().code()
    }

    /// Its location's id.
    async fn cpo_location_id(&self) -> ID {
        ID(self.evse.site_id.to_text())
    }

    /// The OCPP charge point it is, while that is connected.
    async fn current_ws_connection_id(&self) -> Option<String> {
        self.evse
            .fields
            .charge_point_id
            .as_ref()
            .filter(|_| self.evse.charger_connected)
            .map(|c| c.to_string())
    }

    /// Always null (one server).
    async fn server_id(&self) -> Option<String> {
        None
    }

    /// When created (RFC 3339).
    async fn date_created(&self) -> String {
        timestamp(self.evse.created_at)
    }

    /// Last change (RFC 3339).
    async fn date_modified(&self) -> String {
        timestamp(self.evse.updated_at)
    }

    /// What it can do beyond charging.
    async fn capabilities(&self) -> Vec<CodeItem> {
        code_items!(self.evse.fields.capabilities)
    }

    /// Payment types it takes.
    async fn payment_types(&self) -> Vec<CodeItem> {
        code_items!(self.evse.fields.payment_types)
    }

    /// Its connectors.
    async fn connectors(&self) -> Vec<ConnectorNode> {
        let e = &self.evse;
        let status = e.status().code();
        let rate = self.site.fields.currency.to_major(e.fields.price_per_kwh);
        e.fields
            .connectors
            .iter()
            .enumerate()
            .map(|(i, c)| ConnectorNode {
                id: ID(c.id.0.hyphenated().to_string()),
                evse_uid: ID(e.id.to_text()),
                connector_id: i32::try_from(i + 1).unwrap_or(i32::MAX),
                standard: c.standard.code().to_owned(),
                format: c.format.code().to_owned(),
                power_type: c.power_type.code().to_owned(),
                max_voltage: c.max_voltage,
                max_amperage: c.max_amperage,
                max_electric_power: c.max_power_w,
                connector_type: c.standard.description().to_owned(),
                rate_setting: rate,
                status: status.to_owned(),
                date_created: timestamp(e.created_at),
                date_modified: timestamp(e.updated_at),
            })
            .collect()
    }

    /// Its location.
    async fn locations(&self) -> LocationNode {
        LocationNode {
            site: self.site.clone(),
            evses: None,
            drivers_view: self.drivers_view,
            distance_m: None,
        }
    }
}
