//! Drivers' vehicles and profile photos (seed 000's "Vehicle" and
//! "Customer Photo"): ownership, the one-favourite rule, the per-driver
//! cap, photos through the shared media store, and the connector standards
//! a vehicle accepts (for search and booking).

use plugway_domain::ids::VehicleId;
use plugway_domain::vehicle::{VehicleSpec, MAX_VEHICLES_PER_USER};
use plugway_domain::{ConnectorStandard, UserId};
use plugway_store::{StoreError, Vehicle};

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::images::{drop_logo, replace_image};
use crate::views::media_url;

/// The image shown for a driver without a profile photo (served by
/// `GET /api/v1/media/defaults/user.png`).
pub const DEFAULT_USER_PHOTO: &str = "/api/v1/media/defaults/user.png";
/// The image shown for a vehicle without a photo (served by
/// `GET /api/v1/media/defaults/vehicle.png`).
pub const DEFAULT_VEHICLE_PHOTO: &str = "/api/v1/media/defaults/vehicle.png";

/// The 404 for a vehicle the caller does not have (someone else's included).
pub fn vehicle_not_found() -> AppError {
    AppError::not_found("vehicle_not_found", "no such vehicle")
}

/// Reads a vehicle id from a path or query; a malformed one is simply not found.
pub fn parse_vehicle_id(text: &str) -> AppResult<VehicleId> {
    text.trim()
        .parse()
        .map(VehicleId)
        .map_err(|_| vehicle_not_found())
}

/// A photo's URL and its thumbnail's, or the default image for both.
pub fn photo_urls(key: Option<&str>, default: &str) -> (String, String) {
    match key {
        Some(key) => {
            let thumb = crate::ports::images::thumbnail_key(key).unwrap_or_else(|| key.to_owned());
            (media_url(key), media_url(&thumb))
        }
        None => (default.to_owned(), default.to_owned()),
    }
}

/// The caller's vehicle, or 404.
pub async fn owned_vehicle(state: &App, owner: UserId, id: VehicleId) -> AppResult<Vehicle> {
    state
        .store
        .find_vehicle(owner, id)
        .await?
        .ok_or_else(vehicle_not_found)
}

/// The connector standards `user`'s vehicle `vehicle` can charge from
/// (never empty); 404 `vehicle_not_found` when it is not theirs. For search
/// filters and for booking a connector the vehicle fits.
pub async fn vehicle_standards(
    state: &App,
    user: UserId,
    vehicle: VehicleId,
) -> AppResult<Vec<ConnectorStandard>> {
    Ok(owned_vehicle(state, user, vehicle)
        .await?
        .spec
        .standards()
        .to_vec())
}

fn limit_reached() -> AppError {
    AppError::conflict(
        "vehicle_limit_reached",
        format!("a driver may keep at most {MAX_VEHICLES_PER_USER} vehicles; delete one first"),
    )
}

/// Adds a vehicle for `owner`; a favourite one becomes the only favourite.
/// 409 `vehicle_limit_reached` past [`MAX_VEHICLES_PER_USER`].
pub async fn create(
    state: &App,
    owner: UserId,
    spec: VehicleSpec,
    favourite: bool,
) -> AppResult<Vehicle> {
    let now = state.clock.now();
    let vehicle = Vehicle {
        id: VehicleId(state.ids.new_uuid(now)),
        user_id: owner,
        spec,
        is_favourite: favourite,
        photo_key: None,
        created_at: now,
        updated_at: now,
    };
    match state
        .store
        .insert_vehicle(&vehicle, MAX_VEHICLES_PER_USER)
        .await
    {
        Ok(()) => Ok(vehicle),
        Err(StoreError::Conflict(plugway_store::Conflict::VehicleLimit)) => Err(limit_reached()),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a vehicle's spec and favourite mark.
pub async fn update(
    state: &App,
    owner: UserId,
    id: VehicleId,
    spec: &VehicleSpec,
    favourite: bool,
) -> AppResult<Vehicle> {
    match state
        .store
        .update_vehicle(owner, id, spec, favourite, state.clock.now())
        .await
    {
        Ok(()) => owned_vehicle(state, owner, id).await,
        Err(StoreError::NotFound) => Err(vehicle_not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Makes the vehicle the owner's only favourite.
pub async fn set_favourite(state: &App, owner: UserId, id: VehicleId) -> AppResult<Vehicle> {
    match state
        .store
        .set_favourite_vehicle(owner, id, state.clock.now())
        .await
    {
        Ok(()) => owned_vehicle(state, owner, id).await,
        Err(StoreError::NotFound) => Err(vehicle_not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the vehicle and its photo's files.
pub async fn delete(state: &App, owner: UserId, id: VehicleId) -> AppResult<()> {
    let deleted = state
        .store
        .delete_vehicle(owner, id)
        .await?
        .ok_or_else(vehicle_not_found)?;
    drop_logo(state, deleted.photo_key).await;
    Ok(())
}

/// Stores the one image of `files` as the vehicle's photo, deleting the
/// previous photo's files.
pub async fn set_vehicle_photo(
    state: &App,
    owner: UserId,
    id: VehicleId,
    files: Vec<bytes::Bytes>,
) -> AppResult<Vehicle> {
    // Check first, so nothing is stored for a vehicle that is not theirs.
    owned_vehicle(state, owner, id).await?;
    let now = state.clock.now();
    let prefix = format!("vehicles/{id}");
    replace_image(state, &prefix, "vehicle_image", files, |key| async move {
        state
            .store
            .set_vehicle_photo(owner, id, Some(key.as_str()), now)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => vehicle_not_found(),
                other => other.into(),
            })
    })
    .await?;
    owned_vehicle(state, owner, id).await
}

/// Removes the vehicle's photo (its files too); the default image shows again.
pub async fn remove_vehicle_photo(state: &App, owner: UserId, id: VehicleId) -> AppResult<Vehicle> {
    let old = state
        .store
        .set_vehicle_photo(owner, id, None, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => vehicle_not_found(),
            other => other.into(),
        })?;
    drop_logo(state, old).await;
    owned_vehicle(state, owner, id).await
}

/// The URL of the driver's profile photo (and its thumbnail), or the
/// default image.
pub async fn profile_photo_urls(state: &App, user: UserId) -> AppResult<(String, String)> {
    let key = state.store.profile_photo(user).await?;
    Ok(photo_urls(key.as_deref(), DEFAULT_USER_PHOTO))
}

/// Stores the one image of `files` as the driver's profile photo, deleting
/// the previous photo's files; returns the new URLs.
pub async fn set_profile_photo(
    state: &App,
    user: UserId,
    files: Vec<bytes::Bytes>,
) -> AppResult<(String, String)> {
    let now = state.clock.now();
    let image = replace_image(
        state,
        &format!("users/{user}"),
        "photo",
        files,
        |key| async move {
            state
                .store
                .set_profile_photo(user, Some(key.as_str()), now)
                .await
        },
    )
    .await?;
    Ok(photo_urls(Some(&image.key), DEFAULT_USER_PHOTO))
}

/// Removes the driver's profile photo (its files too); the default image
/// shows again.
pub async fn remove_profile_photo(state: &App, user: UserId) -> AppResult<()> {
    let old = state
        .store
        .set_profile_photo(user, None, state.clock.now())
        .await?;
    drop_logo(state, old).await;
    Ok(())
}
