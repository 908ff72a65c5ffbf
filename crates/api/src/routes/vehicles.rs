//! Seed 000's vehicles in the canonical API: a driver's own vehicles, their
//! photos and their favourite. Seed 000's field names (`vehicle_manufacture`,
//! `vehicle_model`, `vehicle_image`) are accepted on input and sent on
//! output beside the canonical ones. Another driver's vehicle answers 404.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::vehicle::{VehicleParts, VehicleSpec};
use plugway_store::Vehicle;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::network::read_files;
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::vehicles::{self, parse_vehicle_id, photo_urls, DEFAULT_VEHICLE_PHOTO};

/// The router.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(set_photo, remove_photo))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, update, delete))
        .routes(routes!(favourite))
        .merge(uploads)
}

/// Tells an absent field from an explicit `null` (which clears it).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A vehicle as sent. On create, `make`, `model`, `vehicle_type`,
/// `connector_standards` and `battery_capacity_wh` are required; on edit
/// every field is optional and only those sent change (`null` clears an
/// optional one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "make": "Hyundai", "model": "Ioniq 5", "vehicle_type": "car",
    "connector_standards": ["TYPE_2", "CCS2"], "battery_capacity_wh": 77400,
    "max_ac_power_w": 11000, "max_dc_power_w": 220000,
    "licence_plate": "1234 UBA", "is_favourite": true
}))]
pub struct VehicleInput {
    /// Manufacturer, 1 to 60 characters (seed 000: `vehicle_manufacture`).
    #[serde(alias = "vehicle_manufacture")]
    pub make: Option<String>,
    /// Model, 1 to 60 characters (seed 000: `vehicle_model`).
    #[serde(alias = "vehicle_model")]
    pub model: Option<String>,
    /// Free text up to 40 characters; apps should offer `car`, `van`,
    /// `suv`, `truck`, `bus`, `motorbike`, `scooter`.
    pub vehicle_type: Option<String>,
    /// Connector standards it can charge from (codes of
    /// `/api/v1/reference/filters`' `connector_types`), at least one.
    pub connector_standards: Option<Vec<String>>,
    /// Usable battery capacity in watt-hours (77.4 kWh is 77400).
    pub battery_capacity_wh: Option<i64>,
    /// Most AC power it takes, watts.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_ac_power_w: Option<Option<i64>>,
    /// Most DC power it takes, watts.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_dc_power_w: Option<Option<i64>>,
    /// Licence plate: letters, digits, spaces, hyphens, up to 16 (stored upper case).
    #[serde(default, deserialize_with = "nullable", alias = "license_plate")]
    #[schema(value_type = Option<String>)]
    pub licence_plate: Option<Option<String>>,
    /// Make it the driver's only favourite (`false` unmarks it).
    pub is_favourite: Option<bool>,
    /// Seed 000 sends the image's path here; accepted and ignored: the
    /// photo changes only through `PUT /api/v1/vehicles/{id}/photo`.
    #[schema(value_type = Option<String>)]
    pub vehicle_image: Option<serde_json::Value>,
    /// Seed 000 sends the owner here; accepted and ignored: the owner is
    /// always the caller.
    #[schema(value_type = Option<String>)]
    pub vehicle_customer: Option<serde_json::Value>,
}

fn required<T>(field: &'static str, value: Option<T>) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid_field(field, "is required"))
}

impl VehicleInput {
    /// A new vehicle's spec and favourite mark.
    fn into_new(self) -> ApiResult<(VehicleSpec, bool)> {
        let spec = VehicleSpec::new(VehicleParts {
            make: required("make", self.make)?,
            model: required("model", self.model)?,
            vehicle_type: required("vehicle_type", self.vehicle_type)?,
            standards: required("connector_standards", self.connector_standards)?,
            battery_wh: required("battery_capacity_wh", self.battery_capacity_wh)?,
            max_ac_w: self.max_ac_power_w.flatten(),
            max_dc_w: self.max_dc_power_w.flatten(),
            licence_plate: self.licence_plate.flatten(),
        })?;
        Ok((spec, self.is_favourite.unwrap_or(false)))
    }

    /// `current` with the fields sent changed, checked anew.
    fn merge(self, current: &Vehicle) -> ApiResult<(VehicleSpec, bool)> {
        let mut parts = current.spec.to_parts();
        if let Some(v) = self.make {
            parts.make = v;
        }
        if let Some(v) = self.model {
            parts.model = v;
        }
        if let Some(v) = self.vehicle_type {
            parts.vehicle_type = v;
        }
        if let Some(v) = self.connector_standards {
            parts.standards = v;
        }
        if let Some(v) = self.battery_capacity_wh {
            parts.battery_wh = v;
        }
        if let Some(v) = self.max_ac_power_w {
            parts.max_ac_w = v;
        }
        if let Some(v) = self.max_dc_power_w {
            parts.max_dc_w = v;
        }
        if let Some(v) = self.licence_plate {
            parts.licence_plate = v;
        }
        let spec = VehicleSpec::new(parts)?;
        Ok((spec, self.is_favourite.unwrap_or(current.is_favourite)))
    }
}

/// A vehicle as the driver sees it. Seed 000's names are sent too.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "make": "Hyundai", "model": "Ioniq 5",
    "vehicle_type": "car", "connector_standards": ["TYPE_2", "CCS2"],
    "battery_capacity_wh": 77400, "max_ac_power_w": 11000, "max_dc_power_w": 220000,
    "licence_plate": "1234 UBA", "is_favourite": true,
    "photo": "/api/v1/media/defaults/vehicle.png",
    "photo_thumbnail": "/api/v1/media/defaults/vehicle.png", "has_photo": false,
    "created_at": "2026-11-23T10:00:00Z", "updated_at": "2026-11-23T10:00:00Z",
    "vehicle_manufacture": "Hyundai", "vehicle_model": "Ioniq 5",
    "vehicle_image": "/api/v1/media/defaults/vehicle.png"
}))]
pub struct VehicleView {
    /// Its id.
    pub id: String,
    /// Manufacturer.
    pub make: String,
    /// Model.
    pub model: String,
    /// Type (free text).
    pub vehicle_type: String,
    /// Connector standards it charges from.
    pub connector_standards: Vec<String>,
    /// Usable battery capacity, Wh.
    pub battery_capacity_wh: i64,
    /// Most AC power, W.
    pub max_ac_power_w: Option<i64>,
    /// Most DC power, W.
    pub max_dc_power_w: Option<i64>,
    /// Licence plate.
    pub licence_plate: Option<String>,
    /// The driver's favourite (at most one is).
    pub is_favourite: bool,
    /// Its photo's URL; the default image when none was set.
    pub photo: String,
    /// The photo's thumbnail (the default image when none was set).
    pub photo_thumbnail: String,
    /// Whether a photo was set (false: `photo` is the default image).
    pub has_photo: bool,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
    /// Seed 000's name for `make`.
    pub vehicle_manufacture: String,
    /// Seed 000's name for `model`.
    pub vehicle_model: String,
    /// Seed 000's name for `photo`.
    pub vehicle_image: String,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<&Vehicle> for VehicleView {
    fn from(v: &Vehicle) -> Self {
        let (photo, photo_thumbnail) = photo_urls(v.photo_key.as_deref(), DEFAULT_VEHICLE_PHOTO);
        Self {
            id: v.id.to_text(),
            make: v.spec.make().to_owned(),
            model: v.spec.model().to_owned(),
            vehicle_type: v.spec.vehicle_type().to_owned(),
            connector_standards: v
                .spec
                .standards()
                .iter()
                .map(|s| s.code().to_owned())
                .collect(),
            battery_capacity_wh: v.spec.battery_wh(),
            max_ac_power_w: v.spec.max_ac_w(),
            max_dc_power_w: v.spec.max_dc_w(),
            licence_plate: v.spec.licence_plate().map(str::to_owned),
            is_favourite: v.is_favourite,
            vehicle_image: photo.clone(),
            photo,
            photo_thumbnail,
            has_photo: v.photo_key.is_some(),
            created_at: time(v.created_at),
            updated_at: time(v.updated_at),
            vehicle_manufacture: v.spec.make().to_owned(),
            vehicle_model: v.spec.model().to_owned(),
        }
    }
}

/// The caller's vehicles, the favourite first, then oldest first.
/// Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/vehicles", tag = "vehicles", params(PageQuery),
    responses((status = 200, body = Paginated<VehicleView>), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "bad page or page_size")),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<VehicleView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_vehicles(me.user.id).await?;
    let items = state.store.list_vehicles(me.user.id, offset, size).await?;
    let views = items.iter().map(VehicleView::from).collect();
    Ok(Json(Paginated::new(views, count, page, size)))
}

/// Adds a vehicle. With `is_favourite: true` it becomes the only favourite.
/// Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/vehicles", tag = "vehicles", request_body = VehicleInput,
    responses((status = 201, body = VehicleView), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`vehicle_limit_reached`: 20 vehicles already"),
        (status = 422, body = ErrorBody, description = "a field is missing or invalid")),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    Json(input): Json<VehicleInput>,
) -> ApiResult<(StatusCode, Json<VehicleView>)> {
    let (spec, favourite) = input.into_new()?;
    let vehicle = vehicles::create(&state, me.user.id, spec, favourite).await?;
    Ok((StatusCode::CREATED, Json(VehicleView::from(&vehicle))))
}

/// One of the caller's vehicles. Roles: any signed-in person (their own).
#[utoipa::path(get, path = "/api/v1/vehicles/{id}", tag = "vehicles",
    params(("id" = String, Path, description = "The vehicle's id")),
    responses((status = 200, body = VehicleView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`")),
    security(("bearer" = [])))]
async fn detail(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<VehicleView>> {
    let vehicle = vehicles::owned_vehicle(&state, me.user.id, parse_vehicle_id(&id)?).await?;
    Ok(Json(VehicleView::from(&vehicle)))
}

/// Changes the fields sent (absent fields stay, `null` clears an optional
/// one). Roles: any signed-in person (their own).
#[utoipa::path(put, path = "/api/v1/vehicles/{id}", tag = "vehicles", request_body = VehicleInput,
    params(("id" = String, Path, description = "The vehicle's id")),
    responses((status = 200, body = VehicleView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Json(input): Json<VehicleInput>,
) -> ApiResult<Json<VehicleView>> {
    let id = parse_vehicle_id(&id)?;
    let current = vehicles::owned_vehicle(&state, me.user.id, id).await?;
    let (spec, favourite) = input.merge(&current)?;
    let vehicle = vehicles::update(&state, me.user.id, id, &spec, favourite).await?;
    Ok(Json(VehicleView::from(&vehicle)))
}

/// Deletes a vehicle and its photo. Roles: any signed-in person (their own).
#[utoipa::path(delete, path = "/api/v1/vehicles/{id}", tag = "vehicles",
    params(("id" = String, Path, description = "The vehicle's id")),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`")),
    security(("bearer" = [])))]
async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    vehicles::delete(&state, me.user.id, parse_vehicle_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes the vehicle the caller's only favourite (the previous favourite
/// is unmarked in the same transaction). Roles: any signed-in person.
#[utoipa::path(put, path = "/api/v1/vehicles/{id}/favourite", tag = "vehicles",
    params(("id" = String, Path, description = "The vehicle's id")),
    responses((status = 200, body = VehicleView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`")),
    security(("bearer" = [])))]
async fn favourite(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<VehicleView>> {
    let vehicle = vehicles::set_favourite(&state, me.user.id, parse_vehicle_id(&id)?).await?;
    Ok(Json(VehicleView::from(&vehicle)))
}

/// Sets the vehicle's photo (multipart, one image in the field `photo`, or
/// `vehicle_image` as seed 000 names it): JPEG, PNG or WebP, checked and
/// re-encoded as host logos are. The previous photo is deleted.
#[utoipa::path(put, path = "/api/v1/vehicles/{id}/photo", tag = "vehicles",
    params(("id" = String, Path, description = "The vehicle's id")),
    request_body(content_type = "multipart/form-data", description = "`photo`: one image file"),
    responses((status = 200, body = VehicleView),
        (status = 400, body = ErrorBody, description = "not a decodable image, or too many pixels"),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "no file, or another form field")),
    security(("bearer" = [])))]
async fn set_photo(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<Json<VehicleView>> {
    let id = parse_vehicle_id(&id)?;
    // Ownership before reading the body: another's vehicle stores nothing.
    vehicles::owned_vehicle(&state, me.user.id, id).await?;
    let files = read_files(&mut multipart, &["photo", "vehicle_image"], 1).await?;
    let vehicle = vehicles::set_vehicle_photo(&state, me.user.id, id, files).await?;
    Ok(Json(VehicleView::from(&vehicle)))
}

/// Removes the vehicle's photo; `photo` is the default image again.
#[utoipa::path(delete, path = "/api/v1/vehicles/{id}/photo", tag = "vehicles",
    params(("id" = String, Path, description = "The vehicle's id")),
    responses((status = 200, body = VehicleView),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`")),
    security(("bearer" = [])))]
async fn remove_photo(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<VehicleView>> {
    let vehicle =
        vehicles::remove_vehicle_photo(&state, me.user.id, parse_vehicle_id(&id)?).await?;
    Ok(Json(VehicleView::from(&vehicle)))
}
