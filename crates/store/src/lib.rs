//! The storage port. The API and services speak only these traits; each
//! database adapter (`plugway-store-sqlite`, `plugway-store-postgres`)
//! implements them and proves it in its tests by running the conformance
//! suite of `plugway-store-conformance`.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

mod billing;
mod bookings;
mod charging;
mod charging_sessions;
mod cluster;
mod content;
mod ledger;
mod load;
pub mod log_block;
mod meter_report;
mod network;
mod numbers;
mod ocpp201;
mod payments;
mod plan_usage;
mod plans;
mod records;
mod revisions;
mod roaming;
mod vehicles;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::{
    ApiKeyId, Email, OtpId, PersonName, PhoneNumber, ReferralCode, Role, SessionId, TokenId,
    UserId, Username,
};

pub use billing::*;
pub use bookings::*;
pub use charging::*;
pub use charging_sessions::*;
pub use cluster::*;
pub use content::*;
pub use ledger::*;
pub use load::*;
pub use meter_report::*;
pub use network::*;
pub use numbers::*;
pub use ocpp201::*;
pub use payments::*;
pub use plan_usage::*;
pub use plans::*;
pub use records::*;
pub use revisions::*;
pub use roaming::*;
pub use vehicles::*;

/// What a write collided with: a uniqueness rule, or a rule of the data
/// (funds, limits, a row that changed under the write). Its [`as_str`]
/// names it in snake_case (never user data).
///
/// [`as_str`]: Conflict::as_str
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    /// The driver already has a live session.
    ActiveSession,
    /// The bill was already refunded in whole.
    AlreadyRefunded,
    /// An API key with this id exists.
    ApiKey,
    /// The driver holds the most live bookings allowed.
    BookingLimit,
    /// The EVSE is booked for an overlapping slot.
    BookingOverlap,
    /// A charge point with this id exists.
    ChargePoint,
    /// The charge point already has a customer with this id tag.
    ChargePointUser,
    /// A session is live on the connector.
    ConnectorBusy,
    /// A coupon with this code exists.
    CouponCode,
    /// The coupon has no uses left.
    CouponExhausted,
    /// A bill used the coupon, so it cannot be deleted.
    CouponInUse,
    /// The driver used the coupon as often as allowed.
    CouponUserLimit,
    /// An EVSE with this code exists.
    EvseCode,
    /// Another EVSE is linked to this charge point connector.
    EvsePort,
    /// Two writes raced for the favourite vehicle; retry.
    FavouriteVehicle,
    /// The id tag exists.
    IdTag,
    /// An entry with this idempotency key exists.
    IdempotencyKey,
    /// The account holds too little.
    InsufficientFunds,
    /// An OCPI party code and role belong to another live roaming party.
    OcpiPartyCode,
    /// An operator with this OCPI party id exists.
    PartyId,
    /// The phone is verified on another account.
    Phone,
    /// The listing has the most photos allowed.
    PhotoLimit,
    /// The plan allowance changed under the write; retry.
    PlanAllowanceChanged,
    /// The driver already has this plan.
    PlanAlreadyActive,
    /// The subscription changed under the write.
    PlanChanged,
    /// The session already has a purchase.
    Purchase,
    /// The referral code clashed; retry with another.
    ReferralCode,
    /// A refund is already under way.
    Refund,
    /// The refund is more than what is left of the payment.
    RefundExceedsPayment,
    /// A refund with this idempotency key exists.
    RefundKey,
    /// The revision changed since it was read.
    RevisionChanged,
    /// The revision is no longer open.
    RevisionClosed,
    /// A session with this charger transaction exists.
    SessionTransaction,
    /// The subject already has a paid bill.
    SubjectPaid,
    /// The token exists.
    Token,
    /// Another uniqueness rule.
    Unique,
    /// The username is taken.
    Username,
    /// The driver has the most vehicles allowed.
    VehicleLimit,
    /// A customer with this CRM id exists.
    ZohoCustomerId,
}

impl Conflict {
    /// Its snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActiveSession => "active_session",
            Self::AlreadyRefunded => "already_refunded",
            Self::ApiKey => "api_key",
            Self::BookingLimit => "booking_limit",
            Self::BookingOverlap => "booking_overlap",
            Self::ChargePoint => "charge_point",
            Self::ChargePointUser => "charge_point_user",
            Self::ConnectorBusy => "connector_busy",
            Self::CouponCode => "coupon_code",
            Self::CouponExhausted => "coupon_exhausted",
            Self::CouponInUse => "coupon_in_use",
            Self::CouponUserLimit => "coupon_user_limit",
            Self::EvseCode => "evse_code",
            Self::EvsePort => "evse_port",
            Self::FavouriteVehicle => "favourite_vehicle",
            Self::IdTag => "id_tag",
            Self::IdempotencyKey => "idempotency_key",
            Self::InsufficientFunds => "insufficient_funds",
            Self::OcpiPartyCode => "ocpi_party_code",
            Self::PartyId => "party_id",
            Self::Phone => "phone",
            Self::PhotoLimit => "photo_limit",
            Self::PlanAllowanceChanged => "plan_allowance_changed",
            Self::PlanAlreadyActive => "plan_already_active",
            Self::PlanChanged => "plan_changed",
            Self::Purchase => "purchase",
            Self::ReferralCode => "referral_code",
            Self::Refund => "refund",
            Self::RefundExceedsPayment => "refund_exceeds_payment",
            Self::RefundKey => "refund_key",
            Self::RevisionChanged => "revision_changed",
            Self::RevisionClosed => "revision_closed",
            Self::SessionTransaction => "session_transaction",
            Self::SubjectPaid => "subject_paid",
            Self::Token => "token",
            Self::Unique => "unique",
            Self::Username => "username",
            Self::VehicleLimit => "vehicle_limit",
            Self::ZohoCustomerId => "zoho_customer_id",
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a storage call can fail with. Adapters map their driver's errors here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule or a rule of the data was hit.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The database could not be reached or is shutting down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Other(String),
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Accounts and their phones.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates an account owning `phone` as its primary phone. An unverified
    /// claim on the phone by another account is taken over (a verified phone
    /// proves ownership; an unverified one proves nothing). Fails with
    /// `Conflict(Phone)` when the phone is verified on any account, or
    /// `Conflict(ReferralCode)` on a (vanishingly rare) code clash.
    async fn create_user(
        &self,
        user: &NewUser,
        phone: &PhoneNumber,
        verified: bool,
    ) -> Result<User>;
    /// The account with this id.
    async fn find_user(&self, id: UserId) -> Result<Option<User>>;
    /// The account whose referral code this is.
    async fn find_user_by_referral_code(&self, code: &ReferralCode) -> Result<Option<User>>;
    /// Accounts, newest first.
    async fn list_users(&self, offset: i64, limit: i64) -> Result<Vec<User>>;
    /// Number of accounts.
    async fn count_users(&self) -> Result<i64>;
    /// Replaces name and e-mail.
    async fn update_profile(
        &self,
        id: UserId,
        name: &PersonName,
        email: Option<&Email>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Replaces the password hash. One its owner chose clears
    /// `password_must_change`; a temporary one an admin had sent sets it
    /// and, in the same transaction, ends every session of the account.
    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &str,
        set_by: PasswordSetBy,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Creates a seed 003 CPO account in one transaction: a host signing in
    /// with `username` (no phone: the profile's contact number is contact
    /// data, not a sign-in) and its host profile. `user.role` should be
    /// [`Role::Host`]; `profile.user_id` must be `user.id`. Fails with
    /// `Conflict(Username)` when the username is taken,
    /// `Conflict(ReferralCode)` on a code clash or `Conflict(PartyId)`,
    /// and then writes nothing.
    async fn create_operator(
        &self,
        user: &NewUser,
        username: &Username,
        password_must_change: bool,
        profile: &HostProfile,
    ) -> Result<User>;
    /// The account that signs in with this username.
    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>>;
    /// Changes the account's role.
    async fn set_role(&self, id: UserId, role: Role, now: DateTime<Utc>) -> Result<()>;
    /// Records who referred this account; false when one was already recorded.
    async fn set_referred_by(
        &self,
        id: UserId,
        referrer: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Counts a failed password sign-in and returns the new count.
    async fn increment_failed_logins(&self, id: UserId) -> Result<i64>;
    /// Blocks password sign-in until `until` and resets the failure count.
    async fn lock_password_login(&self, id: UserId, until: DateTime<Utc>) -> Result<()>;
    /// Resets the failure count after a good sign-in.
    async fn clear_failed_logins(&self, id: UserId) -> Result<()>;

    /// Who holds this phone, verified or not.
    async fn find_phone(&self, phone: &PhoneNumber) -> Result<Option<PhoneClaim>>;
    /// The phones of an account, primary first.
    async fn list_phones(&self, user: UserId) -> Result<Vec<PhoneClaim>>;
    /// Adds an unverified phone to an account (taking over another account's
    /// unverified claim). `Conflict(Phone)` when it is verified elsewhere;
    /// a no-op when the account already has it.
    async fn add_phone(&self, user: UserId, phone: &PhoneNumber, now: DateTime<Utc>) -> Result<()>;
    /// Removes an unverified claim so another account can be made for the phone.
    async fn release_unverified_phone(&self, phone: &PhoneNumber) -> Result<()>;
    /// Marks the account's claim on the phone verified. `NotFound` if the
    /// account has no such phone.
    async fn verify_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Makes the phone the account's primary one. `NotFound` if it has no such phone.
    async fn make_primary_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Stores a push notification token for a device session (replacing the
    /// session's previous one; a token moving to another user moves with it).
    async fn upsert_push_token(
        &self,
        user: UserId,
        session: SessionId,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The push tokens of an account's sessions that are not revoked (a
    /// signed-out device must not be sent anything).
    async fn list_push_tokens(&self, user: UserId) -> Result<Vec<String>>;
}

/// One-time passwords (stored hashed).
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Stores a newly sent code.
    async fn insert_otp(&self, otp: &OtpRecord) -> Result<()>;
    /// The newest code for the phone, if any.
    async fn latest_otp(&self, phone: &PhoneNumber) -> Result<Option<OtpRecord>>;
    /// How many codes the phone was sent since `since`.
    async fn count_otps_since(&self, phone: &PhoneNumber, since: DateTime<Utc>) -> Result<i64>;
    /// Spends one try on the code if it has tries left and is unused;
    /// returns the tries used so far, or `None` when it had none left.
    /// Atomic, so parallel guesses cannot exceed the limit.
    async fn take_otp_attempt(&self, id: OtpId, max_attempts: i64) -> Result<Option<i64>>;
    /// Marks the code used; false when it already was (single use).
    async fn consume_otp(&self, id: OtpId, now: DateTime<Utc>) -> Result<bool>;
}

/// Device sessions and their refresh tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens a session.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// A session by id.
    async fn find_session(&self, id: SessionId) -> Result<Option<Session>>;
    /// The account's open sessions, newest first.
    async fn list_active_sessions(&self, user: UserId) -> Result<Vec<Session>>;
    /// Closes a session (idempotent).
    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<()>;
    /// Closes every open session of the account but `keep`; returns how many.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// Records a refresh token issued in a session.
    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<()>;
    /// Spends a refresh token. Exactly one caller ever gets `Fresh` for a
    /// token; later callers get `AlreadyUsed` (the reuse signal).
    async fn use_refresh_token(&self, id: TokenId, now: DateTime<Utc>) -> Result<RefreshTokenUse>;
    /// Whether a refresh token of `session` other than `except` has ever
    /// been spent (the session's client has taken a rotated token).
    async fn other_refresh_token_spent(&self, session: SessionId, except: TokenId) -> Result<bool>;
}

/// API keys (stored hashed).
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()>;
    /// A key by id.
    async fn find_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>>;
    /// All keys, newest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Revokes a key; `NotFound` if there is none.
    async fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<()>;
}

/// Everything Plugway stores, behind one object.
#[async_trait]
pub trait Store:
    UserStore
    + OtpStore
    + SessionStore
    + ApiKeyStore
    + ChargingStore
    + ChargingSessionStore
    + LedgerStore
    + PaymentStore
    + BillingStore
    + BookingStore
    + NetworkStore
    + NotificationStore
    + ContentStore
    + PlanStore
    + VehicleStore
    + ProfilePhotoStore
    + PlanUsageStore
    + RevisionStore
    + NumberStore
    + RoamingStore
    + ClusterStore
    + Ocpp201Store
    + LoadStore
    + MeterReportStore
    + std::fmt::Debug
{
    /// Round-trips to the database: readiness.
    async fn ping(&self) -> Result<()>;
    /// Closes the pool, waiting for checked-out connections (graceful shutdown).
    async fn close(&self);
    /// Refreshes the query planner's statistics (`ANALYZE`), e.g. after a
    /// bulk load, so plans match the data.
    async fn refresh_statistics(&self) -> Result<()>;
    /// Which backend this is ("sqlite", "postgres"), for logs and metrics.
    fn backend(&self) -> &'static str;
}
