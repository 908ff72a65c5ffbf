//! The driver's profile photo (seed 000's "Customer Photo") and the default
//! images shown when no photo is set.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::network::read_files;
use crate::AppState;
use plugway_app::vehicles;

/// The default profile image (a grey silhouette, 256x256 PNG).
const DEFAULT_USER_PNG: &[u8] = include_bytes!("../../assets/default-user.png");
/// The default vehicle image (a grey car, 256x256 PNG).
const DEFAULT_VEHICLE_PNG: &[u8] = include_bytes!("../../assets/default-vehicle.png");

/// The router.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(set_photo, remove_photo))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(default_image))
        .merge(uploads)
}

/// The driver's profile photo.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "photo": "/api/v1/media/defaults/user.png",
    "photo_thumbnail": "/api/v1/media/defaults/user.png",
    "has_photo": false
}))]
pub struct ProfilePhotoView {
    /// The photo's URL; the default image when none is set.
    pub photo: String,
    /// Its thumbnail (the default image when none is set).
    pub photo_thumbnail: String,
    /// Whether a photo is set.
    pub has_photo: bool,
}

/// Sets the caller's profile photo (multipart, one image in the field
/// `photo`, or `customer_image` as seed 000 names it): JPEG, PNG or WebP,
/// with the limits and checks of host logos; metadata (EXIF, GPS) is
/// removed. The previous photo is deleted. Roles: any signed-in person.
#[utoipa::path(put, path = "/api/v1/user/me/photo", tag = "accounts",
    request_body(content_type = "multipart/form-data", description = "`photo`: one image file"),
    responses((status = 200, body = ProfilePhotoView),
        (status = 400, body = ErrorBody, description = "not a decodable image, or too many pixels"),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "no file, or another form field")),
    security(("bearer" = [])))]
async fn set_photo(
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> ApiResult<Json<ProfilePhotoView>> {
    // Seed 000's apps name the part customer_image or host_image.
    let files = read_files(
        &mut multipart,
        &["photo", "customer_image", "host_image"],
        1,
    )
    .await?;
    let (photo, photo_thumbnail) = vehicles::set_profile_photo(&state, me.user.id, files).await?;
    Ok(Json(ProfilePhotoView {
        photo,
        photo_thumbnail,
        has_photo: true,
    }))
}

/// Removes the caller's profile photo ("set it to default"): the photo's
/// files are deleted and `photo` is the default image again.
/// Roles: any signed-in person.
#[utoipa::path(delete, path = "/api/v1/user/me/photo", tag = "accounts",
    responses((status = 200, body = ProfilePhotoView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_photo(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<ProfilePhotoView>> {
    vehicles::remove_profile_photo(&state, me.user.id).await?;
    let (photo, photo_thumbnail) = vehicles::profile_photo_urls(&state, me.user.id).await?;
    Ok(Json(ProfilePhotoView {
        photo,
        photo_thumbnail,
        has_photo: false,
    }))
}

/// A default image: `user.png` (profiles) or `vehicle.png` (vehicles).
/// Anyone may fetch them; they are cached for a day.
#[utoipa::path(get, path = "/api/v1/media/defaults/{file}", tag = "discovery",
    params(("file" = String, Path, description = "`user.png` or `vehicle.png`")),
    responses((status = 200, description = "the PNG image", content_type = "image/png"),
        (status = 404, body = ErrorBody)))]
async fn default_image(Path(file): Path<String>) -> ApiResult<Response> {
    let bytes = match file.as_str() {
        "user.png" => DEFAULT_USER_PNG,
        "vehicle.png" => DEFAULT_VEHICLE_PNG,
        _ => return Err(ApiError::not_found("media_not_found", "no such file")),
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            // Not immutable: the default image may be redrawn in a release.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}
