//! The storage port for OCPI roaming: the parties (partners) with their
//! tokens and roles, and the locations partner CPOs send us.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::{ChargingSessionId, EvseId, OcpiPartyId, PurchaseId, SiteId, UserId};

use crate::Result;

/// Where a party is in the credentials handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyState {
    /// Holds a token A from `plugway ocpi invite`, not yet used.
    Invited,
    /// The handshake is done: both sides hold a token for the other.
    Connected,
    /// It unregistered (or was unregistered): no token works any more.
    Unregistered,
}

impl PartyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Connected => "connected",
            Self::Unregistered => "unregistered",
        }
    }

    /// From the stored name.
    pub fn from_stored(text: &str) -> Option<Self> {
        match text {
            "invited" => Some(Self::Invited),
            "connected" => Some(Self::Connected),
            "unregistered" => Some(Self::Unregistered),
            _ => None,
        }
    }
}

/// A roaming partner.
#[derive(Debug, Clone, PartialEq)]
pub struct OcpiParty {
    /// Its id.
    pub id: OcpiPartyId,
    /// What the operator called it (`ocpi invite --name`), or its business name.
    pub name: String,
    /// Where it is in the handshake.
    pub state: PartyState,
    /// SHA-256 (hex) of the token it presents to us; `None` once unregistered.
    pub incoming_token_hash: Option<String>,
    /// The token we present to it (it issued it, so it is kept as issued).
    pub outgoing_token: Option<String>,
    /// Its versions endpoint.
    pub versions_url: Option<String>,
    /// Its 2.2.1 endpoints as JSON (`[{identifier, role, url}]`).
    pub endpoints_json: String,
    /// Its roles.
    pub roles: Vec<PartyRole>,
    /// When invited or connected first.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One role a party plays under one party code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRole {
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// Party id, upper case.
    pub party_code: String,
    /// "CPO", "EMSP", "HUB", ...
    pub role: String,
    /// Its business name.
    pub name: String,
    /// For a CPO role: the host account that owns its locations' sites.
    pub host_id: Option<UserId>,
}

/// What a finished (or renewed) handshake stores.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyConnection {
    /// SHA-256 of the token the party presents to us from now on.
    pub incoming_token_hash: String,
    /// The token we present to it from now on.
    pub outgoing_token: String,
    /// Its versions endpoint.
    pub versions_url: String,
    /// Its 2.2.1 endpoints as JSON.
    pub endpoints_json: String,
    /// Its roles (a CPO role's `host_id` is filled in by the store when
    /// the code had one, else by the caller).
    pub roles: Vec<PartyRole>,
}

/// A location a partner CPO sent, as it last stood.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerLocation {
    /// Owner's country code.
    pub country_code: String,
    /// Owner's party id.
    pub party_code: String,
    /// Its OCPI id.
    pub location_id: String,
    /// The site drivers see.
    pub site_id: SiteId,
    /// The OCPI Location as JSON, PATCHes merged in.
    pub object_json: String,
    /// Its `last_updated`.
    pub last_updated: DateTime<Utc>,
}

/// A token a partner eMSP pushed to us.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredToken {
    /// The eMSP's country code.
    pub country_code: String,
    /// The eMSP's party id.
    pub party_code: String,
    /// The token's uid.
    pub uid: String,
    /// RFID, APP_USER, AD_HOC_USER, OTHER.
    pub token_type: String,
    /// What chargers see (an id_tags key, upper case).
    pub id_tag: String,
    /// The OCPI Token as JSON.
    pub object_json: String,
    /// Its `last_updated`.
    pub last_updated: DateTime<Utc>,
    /// The eMSP's reference for the token's latest authorized start
    /// (START_SESSION or real-time authorization); kept apart from the
    /// token itself, which a PUT replaces.
    pub authorization_reference: Option<String>,
    /// When that authorization was given.
    pub authorized_at: Option<DateTime<Utc>>,
}

/// A partner eMSP's reservation on one of our chargers (RESERVE_NOW).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpiReservation {
    /// The eMSP.
    pub party: OcpiPartyId,
    /// Its reservation id.
    pub reservation_id: String,
    /// The charger holding it.
    pub charge_point_id: String,
    /// The id the charger knows it by.
    pub ocpp_reservation_id: i64,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// One of our drivers' sessions on a partner's charger.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverSession {
    /// Our id (the command's callback names it).
    pub id: String,
    /// The driver.
    pub user_id: UserId,
    /// The partner.
    pub party: OcpiPartyId,
    /// The CPO's country code.
    pub country_code: String,
    /// The CPO's party id.
    pub party_code: String,
    /// The location (the CPO's id).
    pub location_id: String,
    /// The EVSE (the CPO's uid).
    pub evse_uid: String,
    /// The CPO's session id, once it said.
    pub session_id: Option<String>,
    /// REQUESTED, ACCEPTED, REJECTED, FAILED, PENDING, ACTIVE, COMPLETED, INVALID.
    pub status: String,
    /// The CPO's latest Session object (JSON).
    pub object_json: Option<String>,
    /// The CDR (JSON), once received.
    pub cdr_json: Option<String>,
    /// When asked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Roaming parties and partner locations.
#[async_trait]
pub trait RoamingStore: Send + Sync {
    /// Stores a new party (invited, or connected with its roles).
    /// `Conflict(OcpiPartyCode)` when a role's code and role belong to
    /// another connected party; nothing is written then.
    async fn insert_ocpi_party(&self, party: &OcpiParty) -> Result<()>;
    /// A party.
    async fn find_ocpi_party(&self, id: OcpiPartyId) -> Result<Option<OcpiParty>>;
    /// The party that presents the token with this SHA-256.
    async fn find_ocpi_party_by_token(&self, token_hash: &str) -> Result<Option<OcpiParty>>;
    /// Every party, newest first.
    async fn list_ocpi_parties(&self) -> Result<Vec<OcpiParty>>;
    /// Stores a finished handshake (registration, or a token update): the
    /// party's new tokens, endpoints and roles, state connected. A role's
    /// code held by an unregistered party passes to this one, with its host
    /// account (so its locations stay one set); one held by another live
    /// party is `Conflict(OcpiPartyCode)` and nothing changes. `NotFound`
    /// when there is no such party in state `from` (an admin may have ended
    /// it while the handshake waited on the partner).
    async fn connect_ocpi_party(
        &self,
        id: OcpiPartyId,
        from: PartyState,
        connection: &PartyConnection,
        now: DateTime<Utc>,
    ) -> Result<OcpiParty>;
    /// Ends a party: both tokens cleared, state unregistered (its roles and
    /// locations stay, so a later registration takes them over), and the id
    /// tags of its drivers' tokens blocked at our chargers.
    async fn unregister_ocpi_party(&self, id: OcpiPartyId, now: DateTime<Utc>) -> Result<()>;
    /// The party role under this code, if a live party holds it.
    async fn find_party_role(
        &self,
        country_code: &str,
        party_code: &str,
        role: &str,
    ) -> Result<Option<(OcpiPartyId, PartyRole)>>;

    /// A partner location by its OCPI key.
    async fn find_partner_location(
        &self,
        country_code: &str,
        party_code: &str,
        location_id: &str,
    ) -> Result<Option<PartnerLocation>>;
    /// The partner location shown as this site, if it is one.
    async fn find_partner_location_by_site(&self, site: SiteId) -> Result<Option<PartnerLocation>>;
    /// Marks a site as a roaming partner's location.
    async fn set_site_partner(&self, site: SiteId, partner: &crate::PartnerOperator) -> Result<()>;
    /// Stores (or replaces) a partner location's object; its site must exist.
    async fn put_partner_location(&self, location: &PartnerLocation) -> Result<()>;
    /// Stores (or replaces) a partner's token.
    async fn put_ocpi_token(&self, token: &StoredToken) -> Result<()>;
    /// A partner's token by its OCPI key.
    async fn find_ocpi_token(
        &self,
        country_code: &str,
        party_code: &str,
        uid: &str,
        token_type: &str,
    ) -> Result<Option<StoredToken>>;
    /// The partner token a charger's id tag (upper case) stands for.
    async fn find_ocpi_token_by_id_tag(&self, id_tag: &str) -> Result<Option<StoredToken>>;

    /// Stores (or replaces) a partner's tariff (OCPI Tariff JSON).
    async fn put_partner_tariff(
        &self,
        country_code: &str,
        party_code: &str,
        tariff_id: &str,
        object_json: &str,
        last_updated: DateTime<Utc>,
    ) -> Result<()>;
    /// A partner's tariff (its JSON).
    async fn find_partner_tariff(
        &self,
        country_code: &str,
        party_code: &str,
        tariff_id: &str,
    ) -> Result<Option<String>>;
    /// Removes a partner's tariff; false when there was none.
    async fn delete_partner_tariff(
        &self,
        country_code: &str,
        party_code: &str,
        tariff_id: &str,
    ) -> Result<bool>;
    /// A partner's locations (to price again when a tariff changes).
    async fn list_partner_locations(
        &self,
        country_code: &str,
        party_code: &str,
    ) -> Result<Vec<PartnerLocation>>;

    /// Stores a new driver session.
    async fn insert_driver_session(&self, session: &DriverSession) -> Result<()>;
    /// Replaces a driver session's changing fields (session id, status,
    /// objects, updated_at). `NotFound`.
    async fn update_driver_session(&self, session: &DriverSession) -> Result<()>;
    /// A driver session by our id.
    async fn find_driver_session(&self, id: &str) -> Result<Option<DriverSession>>;
    /// A driver session by the CPO's session id.
    async fn find_driver_session_by_session(
        &self,
        country_code: &str,
        party_code: &str,
        session_id: &str,
    ) -> Result<Option<DriverSession>>;
    /// The driver's newest session at this EVSE that the CPO has not yet
    /// named (asked for, its Session not yet received).
    async fn find_unnamed_driver_session(
        &self,
        user: UserId,
        country_code: &str,
        party_code: &str,
        evse_uid: &str,
    ) -> Result<Option<DriverSession>>;
    /// A driver's sessions on partners' chargers, newest first (a real-time
    /// authorization that no session followed is not one).
    async fn list_driver_sessions(
        &self,
        user: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<DriverSession>>;

    /// The host accounts that stand for partner CPOs.
    async fn partner_hosts(&self) -> Result<Vec<UserId>>;

    /// A page of our own approved sites (partners' left out) whose
    /// `updated_at` is in `[from, to)`, oldest change first, and how many
    /// there are in all: the Locations we publish.
    async fn list_roaming_sites(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<SiteId>, i64)>;
    /// A page of the charging sessions on our chargers of `party`'s drivers
    /// (tokens under its eMSP codes) changed in `[from, to)`, oldest change
    /// first, and how many there are in all.
    async fn list_party_sessions(
        &self,
        party: OcpiPartyId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ChargingSessionId>, i64)>;
    /// The same for those sessions' purchases (their CDRs), neither held
    /// nor void, by when they were made.
    async fn list_party_purchases(
        &self,
        party: OcpiPartyId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<PurchaseId>, i64)>;
    /// The same for approved EVSEs at those sites (each has a Tariff).
    async fn list_roaming_evses(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<EvseId>, i64)>;
    /// The approved EVSEs at these sites.
    async fn list_roaming_evses_of(&self, sites: &[SiteId]) -> Result<Vec<EvseId>>;
    /// The sites with an EVSE linked to one of these charge points.
    async fn sites_of_charge_points(&self, charge_points: &[String]) -> Result<Vec<SiteId>>;

    /// What we last pushed to `party` in `module` (object id, digest), for
    /// those of `object_ids` we pushed at all.
    async fn ocpi_pushed_digests(
        &self,
        party: OcpiPartyId,
        module: &str,
        object_ids: &[String],
    ) -> Result<Vec<(String, String)>>;
    /// Notes that `party` now holds this version of an object (kept whole
    /// when `object` is given).
    async fn record_ocpi_push(
        &self,
        party: OcpiPartyId,
        module: &str,
        object_id: &str,
        digest: &str,
        object: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The object `party` holds, when it was kept whole.
    async fn ocpi_pushed_object(
        &self,
        party: OcpiPartyId,
        module: &str,
        object_id: &str,
    ) -> Result<Option<String>>;
    /// When we last pushed anything of `module` to `party`.
    async fn last_ocpi_push(
        &self,
        party: OcpiPartyId,
        module: &str,
    ) -> Result<Option<DateTime<Utc>>>;

    /// A page of our drivers' app id tags (`APP…`, with an account)
    /// changed in `[from, to)`, oldest change first, and how many there
    /// are in all: the Tokens we publish as an eMSP.
    async fn list_driver_app_tags(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<crate::IdTagRecord>, i64)>;

    /// Notes the eMSP's authorization of a token's next start.
    async fn set_ocpi_token_authorization(
        &self,
        id_tag: &str,
        reference: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Stores (or replaces) a partner's reservation.
    async fn put_ocpi_reservation(&self, reservation: &OcpiReservation) -> Result<()>;
    /// A partner's reservation by its id.
    async fn find_ocpi_reservation(
        &self,
        party: OcpiPartyId,
        reservation_id: &str,
    ) -> Result<Option<OcpiReservation>>;
    /// Forgets a partner's reservation; false when there was none.
    async fn delete_ocpi_reservation(
        &self,
        party: OcpiPartyId,
        reservation_id: &str,
    ) -> Result<bool>;
}
