//! Revisions: a host's changes to the material fields of an approved site
//! or EVSE, held for an admin's review while drivers keep seeing the
//! approved version.
//!
//! Which fields are material is decided here, once, for every face (REST,
//! seed 003, imports): [`SiteChanges::between`] and [`EvseChanges::between`]
//! destructure the whole field struct, so a new field does not compile until
//! someone classifies it. Why the split is where it is: docs/revisions.md.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::{
    Coordinates, Currency, EvseId, RevisionId, RevisionState, SiteId, SiteTimeZone, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{ConnectorFields, EvseFields, Result, SiteFields};

/// Reads a present JSON value (`null` included) as `Some`, so that a
/// missing key (no change) and `null` (clear the field) stay apart.
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Proposed values of a site's material fields: only the fields that
/// change (`None`: unchanged). Where people drive to and what the listing
/// is called; changes here go through an admin when the site is approved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SiteChanges {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Province or state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Region; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub region: Option<Option<String>>,
    /// Postal code; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub postal_code: Option<Option<String>>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    /// Its zone (opening hours are read in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<SiteTimeZone>,
    /// The currency every price of the site is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// `Some(new)` when it differs from `old`.
fn changed<T: PartialEq + Clone>(old: &T, new: &T) -> Option<T> {
    (old != new).then(|| new.clone())
}

impl SiteChanges {
    /// The material fields in which `edit` differs from `live`. The
    /// operational fields (hours, amenities, parking, publishing) are
    /// named and left out on purpose: the host changes them at once.
    pub fn between(live: &SiteFields, edit: &SiteFields) -> Self {
        let SiteFields {
            name,
            address,
            city,
            province,
            region,
            postal_code,
            country_code,
            coordinates,
            time_zone,
            currency,
            opening_hours: _,
            facilities: _,
            parking_types: _,
            parking_restrictions: _,
            published: _,
        } = edit;
        Self {
            name: changed(&live.name, name),
            address: changed(&live.address, address),
            city: changed(&live.city, city),
            province: changed(&live.province, province),
            region: changed(&live.region, region),
            postal_code: changed(&live.postal_code, postal_code),
            country_code: changed(&live.country_code, country_code),
            coordinates: changed(&live.coordinates, coordinates),
            time_zone: changed(&live.time_zone, time_zone),
            currency: changed(&live.currency, currency),
        }
    }

    /// Every material field of `fields`, as if all changed.
    pub fn all_of(fields: &SiteFields) -> Self {
        Self {
            name: Some(fields.name.clone()),
            address: Some(fields.address.clone()),
            city: Some(fields.city.clone()),
            province: Some(fields.province.clone()),
            region: Some(fields.region.clone()),
            postal_code: Some(fields.postal_code.clone()),
            country_code: Some(fields.country_code.clone()),
            coordinates: Some(fields.coordinates),
            time_zone: Some(fields.time_zone),
            currency: Some(fields.currency),
        }
    }

    /// No field changes.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// These changes with `newer`'s on top: a field `newer` changes takes
    /// its value, the others keep this one's.
    pub fn merge(self, newer: Self) -> Self {
        Self {
            name: newer.name.or(self.name),
            address: newer.address.or(self.address),
            city: newer.city.or(self.city),
            province: newer.province.or(self.province),
            region: newer.region.or(self.region),
            postal_code: newer.postal_code.or(self.postal_code),
            country_code: newer.country_code.or(self.country_code),
            coordinates: newer.coordinates.or(self.coordinates),
            time_zone: newer.time_zone.or(self.time_zone),
            currency: newer.currency.or(self.currency),
        }
    }

    /// Writes the changed fields into `fields`.
    pub fn apply_to(&self, fields: &mut SiteFields) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *target = v.clone();
            }
        }
        set(&mut fields.name, &self.name);
        set(&mut fields.address, &self.address);
        set(&mut fields.city, &self.city);
        set(&mut fields.province, &self.province);
        set(&mut fields.region, &self.region);
        set(&mut fields.postal_code, &self.postal_code);
        set(&mut fields.country_code, &self.country_code);
        set(&mut fields.coordinates, &self.coordinates);
        set(&mut fields.time_zone, &self.time_zone);
        set(&mut fields.currency, &self.currency);
    }

    /// `edit` with the material fields of `live`: what a host's edit of an
    /// approved site changes at once.
    pub fn keep_material(live: &SiteFields, edit: &SiteFields) -> SiteFields {
        let mut out = edit.clone();
        Self::all_of(live).apply_to(&mut out);
        out
    }
}

/// Proposed values of an EVSE's material fields (`None`: unchanged): what
/// the charger is (its label and hardware) and what it can plug into.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvseChanges {
    /// Display number / OCPI evse_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_code: Option<String>,
    /// Serial number; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub serial_number: Option<Option<String>>,
    /// Meter type; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub meter_type: Option<Option<String>>,
    /// The whole connector list (standards, formats, power).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectors: Option<Vec<ConnectorFields>>,
}

impl EvseChanges {
    /// The material fields in which `edit` differs from `live`. The OCPP
    /// link, declared status, capabilities, payment types and prices are
    /// operational: the host changes them at once.
    pub fn between(live: &EvseFields, edit: &EvseFields) -> Self {
        let EvseFields {
            evse_code,
            serial_number,
            meter_type,
            connectors,
            charge_point_id: _,
            ocpp_connector_id: _,
            declared_status: _,
            capabilities: _,
            payment_types: _,
            price_per_kwh: _,
            price_per_hour: _,
            waiting_price_per_minute: _,
        } = edit;
        Self {
            evse_code: changed(&live.evse_code, evse_code),
            serial_number: changed(&live.serial_number, serial_number),
            meter_type: changed(&live.meter_type, meter_type),
            connectors: changed(&live.connectors, connectors),
        }
    }

    /// Every material field of `fields`, as if all changed.
    pub fn all_of(fields: &EvseFields) -> Self {
        Self {
            evse_code: Some(fields.evse_code.clone()),
            serial_number: Some(fields.serial_number.clone()),
            meter_type: Some(fields.meter_type.clone()),
            connectors: Some(fields.connectors.clone()),
        }
    }

    /// No field changes.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// These changes with `newer`'s on top (see [`SiteChanges::merge`]).
    pub fn merge(self, newer: Self) -> Self {
        Self {
            evse_code: newer.evse_code.or(self.evse_code),
            serial_number: newer.serial_number.or(self.serial_number),
            meter_type: newer.meter_type.or(self.meter_type),
            connectors: newer.connectors.or(self.connectors),
        }
    }

    /// Writes the changed fields into `fields`.
    pub fn apply_to(&self, fields: &mut EvseFields) {
        if let Some(v) = &self.evse_code {
            fields.evse_code = v.clone();
        }
        if let Some(v) = &self.serial_number {
            fields.serial_number = v.clone();
        }
        if let Some(v) = &self.meter_type {
            fields.meter_type = v.clone();
        }
        if let Some(v) = &self.connectors {
            fields.connectors = v.clone();
        }
    }

    /// `edit` with the material fields of `live` (see [`SiteChanges::keep_material`]).
    pub fn keep_material(live: &EvseFields, edit: &EvseFields) -> EvseFields {
        let mut out = edit.clone();
        Self::all_of(live).apply_to(&mut out);
        out
    }
}

/// What a revision proposes.
#[derive(Debug, Clone, PartialEq)]
pub enum RevisionChanges {
    /// Changes to a site.
    Site(SiteChanges),
    /// Changes to an EVSE.
    Evse(EvseChanges),
}

/// Which listing a revision is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevisionTarget {
    /// A site (its own fields, not its EVSEs').
    Site(SiteId),
    /// An EVSE.
    Evse(EvseId),
}

/// A host's proposed changes to an approved site or EVSE.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Its id.
    pub id: RevisionId,
    /// The site (for an EVSE revision: the EVSE's site).
    pub site_id: SiteId,
    /// The EVSE, for an EVSE revision.
    pub evse_id: Option<EvseId>,
    /// The site's host.
    pub host_id: UserId,
    /// What it proposes.
    pub changes: RevisionChanges,
    /// Grows with every edit of the listing's revisions (a merge or a new
    /// revision), so (listing, version) names exactly what an admin saw.
    pub version: i64,
    /// Open, approved, rejected or withdrawn.
    pub state: RevisionState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When first proposed.
    pub created_at: DateTime<Utc>,
    /// Last edit or decision.
    pub updated_at: DateTime<Utc>,
    /// When approved, rejected or withdrawn.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Revision {
    /// The listing it is of.
    pub fn target(&self) -> RevisionTarget {
        match self.evse_id {
            Some(evse) => RevisionTarget::Evse(evse),
            None => RevisionTarget::Site(self.site_id),
        }
    }
}

/// Review of hosts' changes to approved sites and EVSEs.
///
/// Errors of the decisions: `NotFound` (no such revision or listing),
/// `Conflict(RevisionClosed)` (it is no longer open: withdrawn or
/// decided), `Conflict(RevisionChanged)` (its version is not the one
/// given: the host edited it since), and the listing's own conflicts
/// (`Conflict(EvseCode)`, `Conflict(EvsePort)`) when applying it
/// would break them; a failed decision changes nothing.
#[async_trait]
pub trait RevisionStore: Send + Sync {
    /// A host's edit of a site, in one transaction with the site row locked:
    /// a pending site takes every field; a rejected one too and goes back
    /// to pending; an approved one takes the operational fields at once and
    /// its material changes go into its open revision (merged into it, or a
    /// new one with id `revision`). A direct edit withdraws an open revision
    /// (the edit replaces it). Returns the open revision after the edit.
    async fn host_edit_site(
        &self,
        id: SiteId,
        fields: &SiteFields,
        revision: RevisionId,
        now: DateTime<Utc>,
    ) -> Result<Option<Revision>>;
    /// The same for an EVSE, by the EVSE's own approval.
    /// `Conflict(EvseCode)` when a proposed code is another EVSE's of the site.
    async fn host_edit_evse(
        &self,
        id: EvseId,
        fields: &EvseFields,
        revision: RevisionId,
        now: DateTime<Utc>,
    ) -> Result<Option<Revision>>;
    /// A revision.
    async fn find_revision(&self, id: RevisionId) -> Result<Option<Revision>>;
    /// The open revision of a site or EVSE.
    async fn open_revision(&self, of: RevisionTarget) -> Result<Option<Revision>>;
    /// The latest revision (highest version, any state) of each of these
    /// sites and of each of their EVSEs.
    async fn latest_revisions(&self, sites: &[SiteId]) -> Result<Vec<Revision>>;
    /// Open revisions (of one host, or all), oldest first.
    async fn list_open_revisions(
        &self,
        host: Option<UserId>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Revision>>;
    /// How many `list_open_revisions` pages through.
    async fn count_open_revisions(&self, host: Option<UserId>) -> Result<i64>;
    /// Applies an open revision whose version is `version` to its listing,
    /// recomputing the site's search columns, in one transaction.
    async fn approve_revision(
        &self,
        id: RevisionId,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<Revision>;
    /// Rejects an open revision (at `version`, when given), with the reason
    /// shown to the host. The listing stays as it is.
    async fn reject_revision(
        &self,
        id: RevisionId,
        version: Option<i64>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Revision>;
    /// The host takes an open revision back.
    async fn withdraw_revision(&self, id: RevisionId, now: DateTime<Utc>) -> Result<Revision>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use plugway_domain::OpeningHours;

    fn fields() -> SiteFields {
        SiteFields {
            name: "Central".into(),
            address: "1 Peace Avenue".into(),
            city: "Ulaanbaatar".into(),
            province: "Ulaanbaatar".into(),
            region: Some("Central".into()),
            postal_code: None,
            country_code: "MN".into(),
            coordinates: Coordinates::new(47.9, 106.9).unwrap(),
            time_zone: SiteTimeZone::parse("Asia/Ulaanbaatar").unwrap(),
            opening_hours: OpeningHours::always(),
            facilities: vec![],
            parking_types: vec![],
            parking_restrictions: vec![],
            currency: Currency::MNT,
            published: true,
        }
    }

    #[test]
    fn only_material_fields_are_changes_and_they_merge() {
        let live = fields();
        let mut edit = live.clone();
        edit.published = false;
        edit.opening_hours.twentyfourseven = false;
        assert!(SiteChanges::between(&live, &edit).is_empty());
        edit.name = "Central Tower".into();
        edit.region = None;
        let first = SiteChanges::between(&live, &edit);
        assert_eq!(first.name.as_deref(), Some("Central Tower"));
        assert_eq!(first.region, Some(None));
        assert_eq!(first.address, None);

        // A second edit made from the live view changes the address only;
        // the name it repeats is the live one, so the proposal keeps its own.
        let mut second = live.clone();
        second.address = "2 Peace Avenue".into();
        let merged = first.merge(SiteChanges::between(&live, &second));
        assert_eq!(merged.name.as_deref(), Some("Central Tower"));
        assert_eq!(merged.address.as_deref(), Some("2 Peace Avenue"));

        let mut applied = live.clone();
        merged.apply_to(&mut applied);
        assert_eq!(applied.name, "Central Tower");
        assert_eq!(applied.region, None);
        assert!(
            applied.published,
            "operational fields are not in a revision"
        );

        let kept = SiteChanges::keep_material(&live, &edit);
        assert_eq!(kept.name, "Central");
        assert!(!kept.published);
    }
}
