//! The storage port for the charging network: host profiles, sites (OCPI
//! locations), EVSEs with their connectors, photos, nearby places,
//! bookmarks, ratings and the search that drivers run.
//!
//! Search is split in two on purpose. The store answers the part an index
//! makes cheap (the spatial box, the filters kept as bit masks on the site
//! row, text, availability) with [`SiteCandidate`]s; the caller computes
//! exact distances, applies opening hours, sorts and pages, then loads the
//! page's rows. That keeps the SQL identical in shape on both backends and
//! the geometry in one tested place (`plugway_domain::network`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::{
    ApprovalState, BoundingBox, Capability, ChargePointId, ConnectorFormat, ConnectorId,
    ConnectorStandard, Coordinates, Currency, EvseId, EvseStatus, Facility, NearbyId, OpeningHours,
    ParkingRestriction, ParkingType, PaymentType, PhotoId, PowerType, SiteId, SiteTimeZone, UserId,
};
use serde::{Deserialize, Serialize};

use crate::Result;

/// The most photos one site keeps.
pub const MAX_PHOTOS_PER_SITE: i64 = 20;

/// A host's (CPO's) public profile.
#[derive(Debug, Clone, PartialEq)]
pub struct HostProfile {
    /// The host's account.
    pub user_id: UserId,
    /// The business that owns the chargers (seed 003 `cpo_owner_name`).
    pub owner_name: String,
    /// Who to call.
    pub contact_name: String,
    /// Their number, as given.
    pub contact_number: String,
    /// Their e-mail.
    pub contact_email: String,
    /// Media key of the logo.
    pub logo: Option<String>,
    /// OCPI party id (3 characters), unique within the country code.
    pub party_id: Option<String>,
    /// OCPI country code (ISO 3166-1 alpha-2).
    pub country_code: Option<String>,
    /// Seed 003's `ocpp_ready`: whether the operator said its chargers
    /// speak OCPP; `None` when never said.
    pub ocpp_ready: Option<bool>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The fields of a site that its host edits.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteFields {
    /// Display name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Province or state.
    pub province: String,
    /// Region (optional, as in seed 003).
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country_code: String,
    /// Where it is.
    pub coordinates: Coordinates,
    /// Its zone, for opening hours.
    pub time_zone: SiteTimeZone,
    /// When it is open.
    pub opening_hours: OpeningHours,
    /// Amenities.
    pub facilities: Vec<Facility>,
    /// Indoor or outdoor.
    pub parking_types: Vec<ParkingType>,
    /// Who may park.
    pub parking_restrictions: Vec<ParkingRestriction>,
    /// The currency its prices are in.
    pub currency: Currency,
    /// The host wants it listed (it still needs approval).
    pub published: bool,
}

/// Whose a roaming partner's location is: drivers see it marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerOperator {
    /// The partner CPO's country code.
    pub country_code: String,
    /// Its OCPI party id.
    pub party_id: String,
    /// Its business name.
    pub name: String,
}

/// A site as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Its public number (stable, never reused; see `NumberStore`); `None`
    /// until the database stored it.
    pub number: Option<i64>,
    /// The host that owns it.
    pub host_id: UserId,
    /// Host-edited fields.
    pub fields: SiteFields,
    /// Media key of the brand logo.
    pub brand_logo: Option<String>,
    /// Admin approval.
    pub approval: ApprovalState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Sum of the ratings.
    pub rating_sum: i64,
    /// Number of ratings.
    pub rating_count: i64,
    /// Derived: approved, published and with at least one approved EVSE.
    pub visible: bool,
    /// Derived: the highest connector power among approved EVSEs, in watts.
    pub max_power_w: i64,
    /// A roaming partner's location: whose; `None` for our own.
    pub partner: Option<PartnerOperator>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Site {
    /// A new site of `host`, waiting for approval, not yet rated.
    pub fn pending(id: SiteId, host_id: UserId, fields: SiteFields, now: DateTime<Utc>) -> Self {
        Self {
            id,
            number: None,
            host_id,
            fields,
            brand_logo: None,
            approval: ApprovalState::Pending,
            rejection_reason: None,
            rating_sum: 0,
            rating_count: 0,
            visible: false,
            max_power_w: 0,
            partner: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The average rating, if anyone rated it.
    pub fn rating(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }
}

/// One connector (plug) of an EVSE. Kept with its EVSE: it is always read
/// with it, and the live status belongs to the EVSE (OCPI's model: an EVSE
/// charges one vehicle at a time, whichever of its connectors is used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorFields {
    /// Its id.
    pub id: ConnectorId,
    /// Plug standard.
    pub standard: ConnectorStandard,
    /// Socket or cable.
    pub format: ConnectorFormat,
    /// AC/DC.
    pub power_type: PowerType,
    /// Volts.
    pub max_voltage: i32,
    /// Amperes.
    pub max_amperage: i32,
    /// Watts.
    pub max_power_w: i64,
}

/// The fields of an EVSE that its host edits.
#[derive(Debug, Clone, PartialEq)]
pub struct EvseFields {
    /// Display number / OCPI evse_id, unique within the site.
    pub evse_code: String,
    /// Serial number.
    pub serial_number: Option<String>,
    /// "AC" or "DC" meter, as seed 003 says.
    pub meter_type: Option<String>,
    /// The OCPP charge point it is, if it is connected to us.
    pub charge_point_id: Option<ChargePointId>,
    /// Its OCPP connector id on that charge point.
    pub ocpp_connector_id: Option<i64>,
    /// Status the host declares for an EVSE that is not linked to OCPP.
    pub declared_status: EvseStatus,
    /// Capabilities.
    pub capabilities: Vec<Capability>,
    /// Payment types accepted at the EVSE.
    pub payment_types: Vec<PaymentType>,
    /// Price per kWh, minor units of the site's currency.
    pub price_per_kwh: i64,
    /// Price per hour of charging, minor units.
    pub price_per_hour: i64,
    /// Price per minute of waiting (idle) after charging ends, minor units.
    pub waiting_price_per_minute: i64,
    /// Its connectors, at least one.
    pub connectors: Vec<ConnectorFields>,
}

/// An EVSE as stored, with its live state.
#[derive(Debug, Clone, PartialEq)]
pub struct Evse {
    /// Its id.
    pub id: EvseId,
    /// Its public number (stable, never reused; see `NumberStore`); `None`
    /// until the database stored it.
    pub number: Option<i64>,
    /// Its site.
    pub site_id: SiteId,
    /// Host-edited fields.
    pub fields: EvseFields,
    /// Admin approval.
    pub approval: ApprovalState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// The OCPP status of the linked connector, if one was reported.
    pub ocpp_status: Option<String>,
    /// Whether the linked charge point is connected now.
    pub charger_connected: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Evse {
    /// A new EVSE of `site`, waiting for approval.
    pub fn pending(id: EvseId, site_id: SiteId, fields: EvseFields, now: DateTime<Utc>) -> Self {
        Self {
            id,
            number: None,
            site_id,
            fields,
            approval: ApprovalState::Pending,
            rejection_reason: None,
            ocpp_status: None,
            charger_connected: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// The status a driver sees: live from OCPP when linked, else declared.
    pub fn status(&self) -> EvseStatus {
        if self.fields.charge_point_id.is_some() {
            EvseStatus::from_ocpp(self.ocpp_status.as_deref(), self.charger_connected)
        } else {
            self.fields.declared_status
        }
    }

    /// The highest connector power, in watts.
    pub fn max_power_w(&self) -> i64 {
        self.fields
            .connectors
            .iter()
            .map(|c| c.max_power_w)
            .max()
            .unwrap_or(0)
    }
}

/// A stored site photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePhoto {
    /// Its id.
    pub id: PhotoId,
    /// Its site.
    pub site_id: SiteId,
    /// Media key of the image.
    pub key: String,
    /// Media key of the thumbnail.
    pub thumb_key: String,
    /// MIME type.
    pub content_type: String,
    /// Pixels.
    pub width: i64,
    /// Pixels.
    pub height: i64,
    /// Stored size.
    pub bytes: i64,
    /// When uploaded (photos list oldest first).
    pub created_at: DateTime<Utc>,
}

/// A place near a site (seed 000's "nearby").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearbyPlace {
    /// Its id.
    pub id: NearbyId,
    /// Its site.
    pub site_id: SiteId,
    /// "shop", "cafe", ...
    pub kind: String,
    /// Its name.
    pub name: String,
    /// An image URL or media key.
    pub image: Option<String>,
    /// Its address.
    pub address: String,
    /// When added.
    pub created_at: DateTime<Utc>,
}

/// The filters of a driver's search that the store applies.
#[derive(Debug, Clone, Default)]
pub struct SiteFilter {
    /// Boxes not crossing the antimeridian (see `BoundingBox::split_at_antimeridian`);
    /// empty means anywhere.
    pub boxes: Vec<BoundingBox>,
    /// Any of these standards (mask, 0 = any).
    pub standards_any: i64,
    /// All of these facilities (mask).
    pub facilities_all: i64,
    /// All of these capabilities (mask).
    pub capabilities_all: i64,
    /// Any of these payment types (mask, 0 = any).
    pub payment_types_any: i64,
    /// Any of these parking types (mask, 0 = any).
    pub parking_types_any: i64,
    /// At least this power on some connector, in watts.
    pub min_power_w: i64,
    /// City, compared case-insensitively.
    pub city: Option<String>,
    /// Province, compared case-insensitively.
    pub province: Option<String>,
    /// Words that must all appear in the site's text (name, address, city,
    /// host, powers); lower case, at most [`SiteFilter::MAX_TERMS`].
    pub terms: Vec<String>,
    /// Only sites with an EVSE available now.
    pub available_now: bool,
    /// Only sites rated at least this (1–5) on average.
    pub min_rating: Option<f64>,
    /// Upper bound on candidates returned (the caller pages within them).
    pub limit: i64,
    /// Return each candidate's opening hours (only an "open now" search
    /// needs them; parsing them for every candidate would cost time).
    pub with_hours: bool,
}

impl SiteFilter {
    /// The most text terms a search uses.
    pub const MAX_TERMS: usize = 5;
}

/// A site matching a [`SiteFilter`], with what the caller needs to finish
/// the search without loading the whole row.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteCandidate {
    /// The site.
    pub id: SiteId,
    /// Where it is.
    pub coordinates: Coordinates,
    /// Its opening hours when asked for (`SiteFilter::with_hours`), unless
    /// it is open around the clock.
    pub opening_hours: Option<OpeningHours>,
    /// Its zone.
    pub time_zone: SiteTimeZone,
}

/// Where a ranked search measures from, on the unit sphere
/// (`Coordinates::unit_vector`), and how far it reaches (a squared chord,
/// `chord2_for_distance`; 4.0 or more reaches everywhere).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearness {
    /// The centre.
    pub centre: [f64; 3],
    /// The squared chord of the radius.
    pub max_chord2: f64,
}

/// One page of a ranked search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RankedSites {
    /// Matches in all pages.
    pub total: i64,
    /// This page, nearest first.
    pub hits: Vec<RankedSite>,
}

/// A site in a ranked page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedSite {
    /// The site.
    pub id: SiteId,
    /// Where it is.
    pub coordinates: Coordinates,
    /// Its squared unit-sphere chord to the centre.
    pub chord2: f64,
}

/// Which sites to list (back office and GraphQL).
#[derive(Debug, Clone, Default)]
pub struct SiteListFilter {
    /// One host's sites only.
    pub host: Option<UserId>,
    /// In this approval state only.
    pub approval: Option<ApprovalState>,
    /// Only sites drivers can see.
    pub visible_only: bool,
}

/// Which EVSEs to list (seed 003's `evse` query).
#[derive(Debug, Clone, Default)]
pub struct EvseListFilter {
    /// One host's EVSEs only.
    pub host: Option<UserId>,
    /// Site name contains this (case-insensitive).
    pub location_name: Option<String>,
    /// In this approval state only.
    pub approval: Option<ApprovalState>,
    /// Only EVSEs drivers can see (approved, at a visible site).
    pub visible_only: bool,
    /// Sort by site name instead of creation time.
    pub order_by_location: bool,
    /// Descending.
    pub descending: bool,
}

/// Pending approvals (seed 003's counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingCounts {
    /// Sites waiting for approval, or for review of an open revision.
    pub sites: i64,
    /// EVSEs waiting for approval, or for review of an open revision.
    pub evses: i64,
}

/// The charging network.
#[async_trait]
pub trait NetworkStore: Send + Sync {
    /// Creates or replaces a host profile. `Conflict(PartyId)` when another
    /// host has the same country code and party id.
    async fn upsert_host_profile(&self, profile: &HostProfile) -> Result<()>;
    /// A host profile.
    async fn find_host_profile(&self, user: UserId) -> Result<Option<HostProfile>>;
    /// Sets or clears the host's logo; returns the previous key.
    async fn set_host_logo(
        &self,
        user: UserId,
        logo: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// Remembers that `user`'s registration named its logo file
    /// `file_name` (seed 003's register, then `cpo/upload`); replaces an
    /// earlier claim of the same operator.
    async fn claim_operator_logo(
        &self,
        user: UserId,
        file_name: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Takes the newest claim on `file_name` made at `since` or later: the
    /// operator whose logo it is. Each claim is taken once.
    async fn take_operator_logo_claim(
        &self,
        file_name: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<UserId>>;

    /// Stores a new site (pending approval).
    async fn insert_site(&self, site: &Site) -> Result<()>;
    /// Replaces a site's host-edited fields at once (an admin's edit; a
    /// host's goes through `RevisionStore::host_edit_site`). `NotFound` if
    /// there is no such site.
    async fn update_site(&self, id: SiteId, fields: &SiteFields, now: DateTime<Utc>) -> Result<()>;
    /// Deletes a site with its EVSEs, photos, nearby places, bookmarks and
    /// ratings; returns the media keys that the caller should delete.
    async fn delete_site(&self, id: SiteId) -> Result<Vec<String>>;
    /// A site.
    async fn find_site(&self, id: SiteId) -> Result<Option<Site>>;
    /// Sites by id, in no particular order; missing ones are left out.
    async fn find_sites(&self, ids: &[SiteId]) -> Result<Vec<Site>>;
    /// Sites, newest first.
    async fn list_sites(
        &self,
        filter: &SiteListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Site>>;
    /// How many `list_sites` pages through.
    async fn count_sites(&self, filter: &SiteListFilter) -> Result<i64>;
    /// Approves or rejects a site.
    async fn set_site_approval(
        &self,
        id: SiteId,
        approval: ApprovalState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Sets or clears the brand logo; returns the previous key.
    async fn set_site_brand_logo(
        &self,
        id: SiteId,
        logo: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// Recomputes the derived columns of a host's sites (after the host's
    /// name changed, which site text search covers).
    async fn refresh_host_sites(&self, host: UserId) -> Result<()>;

    /// Inserts many sites with their EVSEs in one transaction (imports and
    /// the search benchmark's generated network), with the same derived
    /// columns the one-by-one path computes. Callers chunk large inputs.
    async fn insert_sites_bulk(&self, sites: &[(Site, Vec<Evse>)]) -> Result<()>;
    /// Stores a new EVSE (pending approval). `Conflict(EvseCode)` when the
    /// site has one with the same code, `Conflict(EvsePort)` when the OCPP
    /// connector is already an EVSE.
    async fn insert_evse(&self, evse: &Evse) -> Result<()>;
    /// Replaces an EVSE's host-edited fields at once (an admin's edit; a
    /// host's goes through `RevisionStore::host_edit_evse`).
    async fn update_evse(&self, id: EvseId, fields: &EvseFields, now: DateTime<Utc>) -> Result<()>;
    /// Deletes an EVSE.
    async fn delete_evse(&self, id: EvseId) -> Result<()>;
    /// An EVSE with its live state.
    async fn find_evse(&self, id: EvseId) -> Result<Option<Evse>>;
    /// The EVSE that is this OCPP charge point's connector, if any.
    async fn find_evse_by_port(
        &self,
        charge_point: &ChargePointId,
        connector_id: i64,
    ) -> Result<Option<Evse>>;
    /// The EVSEs of these sites, oldest first within a site.
    async fn list_site_evses(&self, sites: &[SiteId]) -> Result<Vec<Evse>>;
    /// EVSEs across sites.
    async fn list_evses(
        &self,
        filter: &EvseListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Evse>>;
    /// Approves or rejects an EVSE.
    async fn set_evse_approval(
        &self,
        id: EvseId,
        approval: ApprovalState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Pending sites and EVSEs (of one host, or all); a site or EVSE with an
    /// open revision counts as pending (once).
    async fn pending_counts(&self, host: Option<UserId>) -> Result<PendingCounts>;

    /// Adds photos to a site, all or none; `Conflict(PhotoLimit)` when the
    /// site would hold more than [`MAX_PHOTOS_PER_SITE`].
    async fn insert_site_photos(&self, photos: &[SitePhoto]) -> Result<()>;
    /// A site's photos, oldest first.
    async fn list_site_photos(&self, site: SiteId) -> Result<Vec<SitePhoto>>;
    /// A photo.
    async fn find_site_photo(&self, id: PhotoId) -> Result<Option<SitePhoto>>;
    /// Replaces a photo's image; returns the old one.
    async fn replace_site_photo(&self, photo: &SitePhoto) -> Result<SitePhoto>;
    /// Deletes a photo; returns it.
    async fn delete_site_photo(&self, id: PhotoId) -> Result<SitePhoto>;

    /// Adds a nearby place.
    async fn insert_nearby(&self, place: &NearbyPlace) -> Result<()>;
    /// Replaces a nearby place's fields.
    async fn update_nearby(&self, place: &NearbyPlace) -> Result<()>;
    /// Removes a nearby place.
    async fn delete_nearby(&self, id: NearbyId) -> Result<()>;
    /// A nearby place.
    async fn find_nearby(&self, id: NearbyId) -> Result<Option<NearbyPlace>>;
    /// A site's nearby places, oldest first.
    async fn list_nearby(&self, site: SiteId) -> Result<Vec<NearbyPlace>>;

    /// Bookmarks a site; false when it already was.
    async fn add_bookmark(&self, user: UserId, site: SiteId, now: DateTime<Utc>) -> Result<bool>;
    /// Removes a bookmark; false when there was none.
    async fn remove_bookmark(&self, user: UserId, site: SiteId) -> Result<bool>;
    /// When the user bookmarked the site, if they did.
    async fn find_bookmark(&self, user: UserId, site: SiteId) -> Result<Option<DateTime<Utc>>>;
    /// A user's bookmarks, newest first.
    async fn list_bookmarks(
        &self,
        user: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(SiteId, DateTime<Utc>)>>;
    /// How many bookmarks the user has.
    async fn count_bookmarks(&self, user: UserId) -> Result<i64>;

    /// Records the user's rating of a site (1–5), replacing their earlier
    /// one, and keeps the site's sum and count in step in one transaction.
    async fn rate_site(
        &self,
        user: UserId,
        site: SiteId,
        score: i64,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The user's rating of a site.
    async fn find_rating(&self, user: UserId, site: SiteId) -> Result<Option<i64>>;

    /// Sites drivers can see that match the filter (see the module docs).
    async fn search_site_candidates(&self, filter: &SiteFilter) -> Result<Vec<SiteCandidate>>;
    /// Sites drivers can see that match the filter, nearest to `near` first
    /// and within its reach, one page of them and the total: the database
    /// ranks, cuts and counts, so only the page leaves it.
    async fn search_sites_ranked(
        &self,
        filter: &SiteFilter,
        near: &Nearness,
        offset: i64,
        limit: i64,
    ) -> Result<RankedSites>;
    /// The distinct cities of visible sites in a province, sorted.
    async fn cities_in_province(&self, province: &str) -> Result<Vec<String>>;

    /// The ids of sites drivers can see, in id order, after `after`: how a
    /// search index loads the whole network a page at a time.
    async fn visible_site_ids(&self, after: Option<SiteId>, limit: i64) -> Result<Vec<SiteId>>;
    /// The lower-case text that text search matches, per site (sites not
    /// found are left out).
    async fn site_search_texts(&self, ids: &[SiteId]) -> Result<Vec<(SiteId, String)>>;
    /// The change feed (migration 0015): changes with a sequence above
    /// `after`, oldest first, at most `limit`.
    async fn network_changes_after(&self, after: i64, limit: i64) -> Result<Vec<NetworkChange>>;
    /// The changes with these sequences (those that exist), oldest first:
    /// how a reader looks again for numbers it saw skipped.
    async fn network_changes_in(&self, seqs: &[i64]) -> Result<Vec<NetworkChange>>;
    /// The highest sequence in the change feed (0 when it is empty) and the
    /// lowest one still kept (`None` when it is empty).
    async fn network_change_bounds(&self) -> Result<(i64, Option<i64>)>;
    /// Drops the changes up to and including `seq`; returns how many.
    async fn prune_network_changes(&self, seq: i64) -> Result<u64>;
}

/// One committed change that search may need to see: a site (or one of its
/// EVSEs) changed, or the live state of a charge point did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkChange {
    /// Its position in the feed; increasing, though on PostgreSQL a lower
    /// one can commit after a higher one.
    pub seq: i64,
    /// The site that changed.
    pub site: Option<SiteId>,
    /// The charge point whose connection or connector status changed.
    pub charge_point: Option<ChargePointId>,
}
