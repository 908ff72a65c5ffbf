//! The storage port for drivers' vehicles and profile photos (seed 000's
//! "Vehicle" and "Customer Photo").

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::ids::VehicleId;
use plugway_domain::vehicle::VehicleSpec;
use plugway_domain::UserId;

use crate::Result;

/// A driver's vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vehicle {
    /// Its id.
    pub id: VehicleId,
    /// The driver who owns it.
    pub user_id: UserId,
    /// What it is and how it charges.
    pub spec: VehicleSpec,
    /// The driver's favourite (at most one per driver, held by the database).
    pub is_favourite: bool,
    /// Key of its photo in the media store; `None` shows the default image.
    pub photo_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Storage for vehicles. Every call is scoped to the owner: another
/// driver's vehicle is `NotFound`, never read or changed.
#[async_trait]
pub trait VehicleStore: Send + Sync {
    /// Stores a new vehicle unless its owner already has `max` of them
    /// (`Conflict(VehicleLimit)`, nothing written). A favourite one
    /// takes the favourite mark from the owner's other vehicles in the same
    /// transaction.
    async fn insert_vehicle(&self, vehicle: &Vehicle, max: i64) -> Result<()>;
    /// The owner's vehicle with this id.
    async fn find_vehicle(&self, owner: UserId, id: VehicleId) -> Result<Option<Vehicle>>;
    /// The owner's vehicles: the favourite first, then oldest first.
    async fn list_vehicles(&self, owner: UserId, offset: i64, limit: i64) -> Result<Vec<Vehicle>>;
    /// How many vehicles the owner has.
    async fn count_vehicles(&self, owner: UserId) -> Result<i64>;
    /// Replaces a vehicle's spec and favourite mark; marking it favourite
    /// unmarks the owner's others in the same transaction. `NotFound`.
    async fn update_vehicle(
        &self,
        owner: UserId,
        id: VehicleId,
        spec: &VehicleSpec,
        favourite: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Makes the vehicle the owner's only favourite, atomically: racing
    /// calls leave exactly one favourite (the last to commit). `NotFound`.
    async fn set_favourite_vehicle(
        &self,
        owner: UserId,
        id: VehicleId,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Replaces (or with `None` removes) the vehicle's photo key and returns
    /// the previous one, so its files can be deleted. `NotFound`.
    async fn set_vehicle_photo(
        &self,
        owner: UserId,
        id: VehicleId,
        photo_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// Deletes the vehicle and returns it (for its photo's files); `None`
    /// when the owner has no such vehicle.
    async fn delete_vehicle(&self, owner: UserId, id: VehicleId) -> Result<Option<Vehicle>>;
}

/// Storage for drivers' profile photos.
#[async_trait]
pub trait ProfilePhotoStore: Send + Sync {
    /// The key of the account's profile photo; `None` shows the default.
    /// `NotFound` when there is no such account.
    async fn profile_photo(&self, user: UserId) -> Result<Option<String>>;
    /// Replaces (or with `None` removes) the account's profile photo key
    /// and returns the previous one. `NotFound` when there is no such account.
    async fn set_profile_photo(
        &self,
        user: UserId,
        photo_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
}
