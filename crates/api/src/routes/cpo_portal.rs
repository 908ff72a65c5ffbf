//! Seed 003's REST paths (`/ocpi/cpo/...`) as a compatibility face over the
//! canonical API: the same services, the seed's literal paths and field
//! names, and its envelope `{"status": 200, "data": ..., "message": "Success"}`.
//!
//! | Seed 003 | Canonical |
//! |---|---|
//! | `GET /ocpi/cpo/2.2/filters` | `GET /api/v1/reference/filters` |
//! | `GET /ocpi/cpo/2.2/filters/cities/{province_name}` | `GET /api/v1/reference/cities/{province}` |
//! | `GET /ocpi/cpo/2.2/details` | `GET /api/v1/host/profile` |
//! | `GET /ocpi/cpo/2.2/locations/pending` | `GET /api/v1/host/pending` |
//! | `POST /ocpi/cpo/api/v1/locations/photos/uploads` | `POST /api/v1/host/sites/{id}/photos` |
//! | `PATCH /ocpi/cpo/api/v1/locations/photos/uploads/{photo_id}` | `PUT /api/v1/host/photos/{id}` |
//! | `POST /ocpi/cpo/api/v2/locations/uploads/csv` | `POST /api/v1/host/sites/import` |
//! | `POST /ocpi/cpo/2.2/cpo/upload` | `PUT /api/v1/host/profile/logo` |
//! | `PATCH /ocpi/cpo/2.2/cpo/logo/upload` | (none: picks one of the host's stored images as the logo) |
//! | `POST /ocpi/cpo/2.2/register` | (none: admins make operators only here; a signed-in person becomes a host with `PUT /api/v1/host/profile`) |
//! | `POST /ocpi/cpo/api/auth/v1/login` | `POST /api/v1/auth/token` (a phone instead of a username) |
//! | `GET /ocpi/cpo/api/auth/v1/refresh` | `POST /api/v1/auth/refresh` (the token in the body) |
//! | `POST /ocpi/cpo/api/auth/v1/logout` | `POST /api/v1/auth/logout` |
//! | `POST /ocpi/cpo/api/auth/v1/change-old-password` | `POST /api/v1/auth/change-password` |
//!
//! The CPO account routes (the last five) are in
//! [`crate::routes::cpo_accounts`], which says how each is authenticated.
//!
//! Credentials: where the seed says "Basic TOKEN" (filters, cities), HTTP
//! Basic whose password is an API key of any role, or any Bearer credential
//! (registering an operator takes an admin's); where it says "Bearer
//! TOKEN", our bearer credential (a person's access token or an API key).
//! Who may do what is as on the canonical API: a host manages only their
//! own locations (another host's is "not found"), an admin any.
//!
//! Errors use the same envelope with the HTTP status, `data: null`, and our
//! stable `code` (and `field`, and for a rejected CSV file `errors` and
//! `error_count`) beside it:
//! `{"status": 400, "data": null, "message": "...", "code": "..."}`.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugway_domain::UserId;
use plugway_store::SiteListFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{BasicOrBearer, OperatorAccess, SignedIn};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::routes::discovery::{self, City, Filters};
use crate::routes::network::{self as host_network, ForHost, PendingView, MAX_PHOTOS_PER_UPLOAD};
use crate::routes::site_import::{importing_host, read_csv};
use crate::AppState;
use plugway_app::site_import::{self, ImportError, Report, RowError};
use plugway_app::views::media_url;

/// Sites read per page while looking for a host's image.
const PAGE: i64 = 100;

/// The `data` of seed 003's "no pending approvals" reply.
pub const NO_PENDING: &str = "NO_PENDING_LOCATIONS_AND_EVSES";

/// The router; upload routes take bodies up to `max_upload_bytes`.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_location_photos))
        .routes(routes!(update_location_photo))
        .routes(routes!(upload_locations_csv))
        .routes(routes!(upload_cpo_logo))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(default_filters))
        .routes(routes!(cities_by_province))
        .routes(routes!(cpo_details))
        .routes(routes!(pending_locations))
        .routes(routes!(update_cpo_logo))
        .merge(crate::routes::cpo_accounts::router())
        .merge(uploads)
}

/// Seed 003's reply envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// The HTTP status, repeated.
    #[schema(example = 200)]
    pub status: u16,
    /// The result.
    pub data: T,
    /// "Success", or what went wrong.
    #[schema(example = "Success")]
    pub message: String,
}

/// A failure in seed 003's envelope, with our stable code beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvelopeError {
    /// The HTTP status, repeated.
    #[schema(example = 400)]
    pub status: u16,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub data: Option<()>,
    /// What went wrong, for people.
    pub message: String,
    /// Stable, machine-readable, snake_case (as on the canonical API).
    #[schema(example = "invalid_field")]
    pub code: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A rejected CSV file's first 100 problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::schemas::RowError>>)]
    pub errors: Option<Vec<RowError>>,
    /// A rejected CSV file's number of problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_count: Option<usize>,
}

/// A failed request of this face.
#[derive(Debug)]
pub struct FaceError {
    error: ApiError,
    report: Option<Report>,
}

impl From<ApiError> for FaceError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            report: None,
        }
    }
}

impl From<plugway_app::AppError> for FaceError {
    fn from(error: plugway_app::AppError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<MultipartRejection> for FaceError {
    fn from(rejection: MultipartRejection) -> Self {
        ApiError::new(
            rejection.status(),
            "invalid_multipart",
            rejection.body_text(),
        )
        .into()
    }
}

impl From<ImportError> for FaceError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(report) => Self {
                error: ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_csv",
                    report.summary(),
                ),
                report: Some(report),
            },
            ImportError::Conflict(report) => Self {
                error: ApiError::conflict("import_conflict", report.summary()),
                report: Some(report),
            },
            ImportError::Failed(error) => error.into(),
        }
    }
}

impl IntoResponse for FaceError {
    fn into_response(self) -> Response {
        let (errors, error_count) = match self.report {
            Some(r) => (Some(r.errors), Some(r.error_count)),
            None => (None, None),
        };
        let body = EnvelopeError {
            status: self.error.status.as_u16(),
            data: None,
            message: self.error.message,
            code: self.error.code.to_owned(),
            field: self.error.field.map(std::borrow::Cow::into_owned),
            errors,
            error_count,
        };
        let mut response = (self.error.status, axum::Json(body)).into_response();
        if let Some(secs) = self.error.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// A reply of this face.
pub type FaceResult<T> = Result<Json<Envelope<T>>, FaceError>;

pub(crate) fn success<T>(data: T) -> FaceResult<T> {
    Ok(Json(Envelope {
        status: 200,
        data,
        message: "Success".to_owned(),
    }))
}

/// Seed 003's `"data": []`.
fn done() -> FaceResult<Vec<String>> {
    success(Vec::new())
}

/// The default filters: connector types, facilities, capabilities, payment
/// types, parking types and restrictions, ... (each `{id, code, description}`).
#[utoipa::path(get, path = "/ocpi/cpo/2.2/filters", tag = "seed 003",
    responses((status = 200, body = Envelope<Filters>), (status = 401, body = EnvelopeError)),
    security(("basic" = []), ("bearer" = [])))]
async fn default_filters(caller: Result<BasicOrBearer, ApiError>) -> FaceResult<Filters> {
    caller?;
    success(discovery::reference_filters())
}

/// The cities with listed chargers in a province.
#[utoipa::path(get, path = "/ocpi/cpo/2.2/filters/cities/{province_name}", tag = "seed 003",
    params(("province_name" = String, Path, description = "e.g. Zambales")),
    responses((status = 200, body = Envelope<Vec<City>>), (status = 401, body = EnvelopeError),
        (status = 422, body = EnvelopeError)),
    security(("basic" = []), ("bearer" = [])))]
async fn cities_by_province(
    State(state): State<AppState>,
    caller: Result<BasicOrBearer, ApiError>,
    province: Result<Path<String>, ApiError>,
) -> FaceResult<Vec<City>> {
    caller?;
    let Path(province) = province?;
    success(discovery::cities_in(&state, &province).await?)
}

/// The signed-in host's CPO details.
#[derive(Debug, Serialize, ToSchema)]
pub struct CpoDetails {
    /// OCPI party id (null when the host has none).
    pub party_id: Option<String>,
    /// The business that owns the chargers.
    pub cpo_owner_name: String,
    /// Who to contact.
    pub contact_name: String,
    /// Their number.
    pub contact_number: String,
    /// Their e-mail.
    pub contact_email: String,
    /// The logo's URL, or null.
    pub logo: Option<String>,
    /// The sign-in name, for operators registered with
    /// `POST /ocpi/cpo/2.2/register` (null for phone accounts).
    pub username: Option<String>,
    /// Whether the chargers speak OCPP (null when never said).
    pub ocpp_ready: Option<bool>,
}

/// The signed-in host's details (their host profile).
#[utoipa::path(get, path = "/ocpi/cpo/2.2/details", tag = "seed 003",
    responses((status = 200, body = Envelope<CpoDetails>), (status = 401, body = EnvelopeError),
        (status = 404, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn cpo_details(
    State(state): State<AppState>,
    me: Result<SignedIn, ApiError>,
) -> FaceResult<CpoDetails> {
    let me = me?;
    let profile = state
        .store
        .find_host_profile(me.user.id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found("no_host_profile", "you have no host profile yet"))?;
    success(CpoDetails {
        party_id: profile.party_id,
        cpo_owner_name: profile.owner_name,
        contact_name: profile.contact_name,
        contact_number: profile.contact_number,
        contact_email: profile.contact_email,
        logo: profile.logo.as_deref().map(media_url),
        username: me.user.username.as_ref().map(|u| u.as_str().to_owned()),
        ocpp_ready: profile.ocpp_ready,
    })
}

/// Pending approvals: the counts, or seed 003's
/// `"NO_PENDING_LOCATIONS_AND_EVSES"` when there are none.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PendingData {
    /// One entry with the counts.
    Counts(Vec<PendingView>),
    /// `"NO_PENDING_LOCATIONS_AND_EVSES"`.
    Nothing(String),
}

/// Locations and EVSEs waiting for approval: the host's own, or (for
/// admins) everyone's.
#[utoipa::path(get, path = "/ocpi/cpo/2.2/locations/pending", tag = "seed 003",
    responses((status = 200, body = Envelope<PendingData>), (status = 401, body = EnvelopeError),
        (status = 403, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn pending_locations(
    State(state): State<AppState>,
    who: Result<OperatorAccess, ApiError>,
) -> FaceResult<PendingData> {
    let who = who?;
    let counts = state
        .store
        .pending_counts(who.host())
        .await
        .map_err(ApiError::from)?;
    if counts.sites == 0 && counts.evses == 0 {
        return success(PendingData::Nothing(NO_PENDING.to_owned()));
    }
    success(PendingData::Counts(vec![PendingView {
        pending_locations: counts.sites,
        pending_evses: counts.evses,
    }]))
}

/// Reads seed 003's photo form: `location_id` and 1 to 5 `location_photos`.
async fn read_photo_form(
    multipart: &mut Multipart,
) -> Result<(String, Vec<bytes::Bytes>), ApiError> {
    let mut location = None;
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(host_network::multipart_error)?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "location_id" => {
                let text = field.text().await.map_err(host_network::multipart_error)?;
                location = Some(text.trim().to_owned());
            }
            "location_photos" | "photos" => {
                if files.len() == MAX_PHOTOS_PER_UPLOAD {
                    return Err(ApiError::invalid_field(
                        "location_photos",
                        format!("send at most {MAX_PHOTOS_PER_UPLOAD} files at once"),
                    ));
                }
                files.push(field.bytes().await.map_err(host_network::multipart_error)?);
            }
            other => {
                return Err(ApiError::invalid_field(
                    "location_photos",
                    format!(
                        "unexpected form field {other:?}; send location_id and location_photos"
                    ),
                ))
            }
        }
    }
    let location = location
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::invalid_field("location_id", "is required"))?;
    if files.is_empty() {
        return Err(ApiError::invalid_field(
            "location_photos",
            format!("send 1 to {MAX_PHOTOS_PER_UPLOAD} images"),
        ));
    }
    Ok((location, files))
}

/// Adds 1 to 5 photos to a location (multipart: `location_photos`, the
/// files, and `location_id`). JPEG, PNG or WebP; metadata is removed.
#[utoipa::path(post, path = "/ocpi/cpo/api/v1/locations/photos/uploads", tag = "seed 003",
    request_body(content_type = "multipart/form-data",
        description = "`location_photos`: 1 to 5 image files; `location_id`: the location"),
    responses((status = 200, body = Envelope<Vec<String>>), (status = 400, body = EnvelopeError),
        (status = 404, body = EnvelopeError), (status = 409, body = EnvelopeError),
        (status = 413, body = EnvelopeError), (status = 415, body = EnvelopeError),
        (status = 422, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn upload_location_photos(
    State(state): State<AppState>,
    who: Result<OperatorAccess, ApiError>,
    multipart: Result<Multipart, MultipartRejection>,
) -> FaceResult<Vec<String>> {
    let who = who?;
    let mut multipart = multipart?;
    let (location, files) = read_photo_form(&mut multipart).await?;
    let site =
        host_network::managed_site(&state, &who, host_network::parse_site_id(&location)?).await?;
    host_network::add_site_photos(&state, &site, files).await?;
    done()
}

/// Replaces one location photo's image (multipart: `location_photo`).
#[utoipa::path(patch, path = "/ocpi/cpo/api/v1/locations/photos/uploads/{photo_id}", tag = "seed 003",
    params(("photo_id" = String, Path, description = "The photo")),
    request_body(content_type = "multipart/form-data", description = "`location_photo`: one image file"),
    responses((status = 200, body = Envelope<Vec<String>>), (status = 400, body = EnvelopeError),
        (status = 404, body = EnvelopeError), (status = 413, body = EnvelopeError),
        (status = 415, body = EnvelopeError), (status = 422, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn update_location_photo(
    State(state): State<AppState>,
    who: Result<OperatorAccess, ApiError>,
    id: Result<Path<String>, ApiError>,
    multipart: Result<Multipart, MultipartRejection>,
) -> FaceResult<Vec<String>> {
    let who = who?;
    let Path(id) = id?;
    let mut multipart = multipart?;
    let photo = host_network::managed_photo(&state, &who, &id).await?;
    let files = host_network::read_files(&mut multipart, &["location_photo", "photo"], 1).await?;
    host_network::replace_photo_image(&state, &photo, files).await?;
    done()
}

/// Registers locations with their EVSEs from a CSV file (multipart: `file`;
/// the format is docs/import.md's). All or nothing; a rejected file's
/// problems come in `errors`.
#[utoipa::path(post, path = "/ocpi/cpo/api/v2/locations/uploads/csv", tag = "seed 003",
    params(ForHost),
    request_body(content_type = "multipart/form-data", description = "`file`: the CSV file"),
    responses((status = 200, body = Envelope<Vec<String>>), (status = 403, body = EnvelopeError),
        (status = 409, body = EnvelopeError), (status = 413, body = EnvelopeError),
        (status = 422, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn upload_locations_csv(
    State(state): State<AppState>,
    who: Result<OperatorAccess, ApiError>,
    for_host: Result<Query<ForHost>, ApiError>,
    multipart: Result<Multipart, MultipartRejection>,
) -> FaceResult<Vec<String>> {
    let who = who?;
    let Query(for_host) = for_host?;
    let mut multipart = multipart?;
    let host = importing_host(&state, &who, &for_host).await?;
    let file = read_csv(&mut multipart).await?;
    site_import::import(&state, host, std::io::Cursor::new(file), |_| {}).await?;
    done()
}

/// Uploads a logo (multipart: `cpo_logo`). With a signed-in operator's
/// Bearer token, it is theirs. With the CPO portal's Basic credentials (a
/// `portal` or admin API key as the password, as right after `register`),
/// it becomes the logo of the operator whose registration of the last day
/// named a file of this name (`logo`), once;
/// `no_registration_awaits_this_logo` (404) when none did.
#[utoipa::path(post, path = "/ocpi/cpo/2.2/cpo/upload", tag = "seed 003",
    request_body(content_type = "multipart/form-data", description = "`cpo_logo`: one image file"),
    responses((status = 200, body = Envelope<Vec<String>>), (status = 400, body = EnvelopeError),
        (status = 404, body = EnvelopeError), (status = 413, body = EnvelopeError),
        (status = 415, body = EnvelopeError), (status = 422, body = EnvelopeError)),
    security(("bearer" = []), ("basic" = [])))]
async fn upload_cpo_logo(
    State(state): State<AppState>,
    me: Result<SignedIn, ApiError>,
    portal: Result<BasicOrBearer, ApiError>,
    multipart: Result<Multipart, MultipartRejection>,
) -> FaceResult<Vec<String>> {
    if portal.is_ok_and(|caller| caller.0.principal().is_portal_key()) {
        let mut multipart = multipart?;
        let mut files =
            host_network::read_named_files(&mut multipart, &["cpo_logo", "logo"], 1).await?;
        let Some((Some(file_name), file)) = files.pop() else {
            return Err(ApiError::invalid_field(
                "cpo_logo",
                "send the logo as a file, with its file name",
            )
            .into());
        };
        plugway_app::operators::attach_registered_logo(&state, &file_name, file).await?;
        return done();
    }
    let me = me?;
    let mut multipart = multipart?;
    host_network::upload_host_logo(&state, me.user.id, &mut multipart).await?;
    done()
}

/// The image to make the host's logo.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LogoChoice {
    /// One of the host's stored images: its URL (`/api/v1/media/...`, or
    /// absolute), its key, or its file name (e.g. `photo-<uuid>.png`).
    pub logo: String,
}

/// Makes one of the signed-in host's stored images (their current logo,
/// a photo or brand logo of one of their locations) their logo; anything
/// else is refused.
#[utoipa::path(patch, path = "/ocpi/cpo/2.2/cpo/logo/upload", tag = "seed 003",
    request_body = LogoChoice,
    responses((status = 200, body = Envelope<Vec<String>>), (status = 400, body = EnvelopeError),
        (status = 404, body = EnvelopeError), (status = 422, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn update_cpo_logo(
    State(state): State<AppState>,
    me: Result<SignedIn, ApiError>,
    choice: Result<Json<LogoChoice>, ApiError>,
) -> FaceResult<Vec<String>> {
    let me = me?;
    let Json(choice) = choice?;
    adopt_logo(&state, me.user.id, &choice.logo).await?;
    done()
}

/// The media key (or bare file name) a `logo` value names.
fn wanted_key(value: &str) -> &str {
    let value = value.trim();
    let value = value.split(['?', '#']).next().unwrap_or_default();
    match value.rsplit_once("/api/v1/media/") {
        Some((_, key)) => key,
        None => value.trim_start_matches('/'),
    }
}

/// Whether the stored `key` is the file `wanted` names (a key, or a bare
/// file name).
fn names(key: &str, wanted: &str) -> bool {
    !wanted.is_empty()
        && (key == wanted || (!wanted.contains('/') && key.rsplit('/').next() == Some(wanted)))
}

async fn adopt_logo(state: &AppState, host: UserId, value: &str) -> Result<(), ApiError> {
    let profile =
        state.store.find_host_profile(host).await?.ok_or_else(|| {
            ApiError::not_found("no_host_profile", "create your host profile first")
        })?;
    let wanted = wanted_key(value);
    let not_yours = || {
        ApiError::invalid_field(
            "logo",
            "is not one of your uploaded images (upload it with POST /ocpi/cpo/2.2/cpo/upload)",
        )
    };
    if wanted.is_empty() {
        return Err(ApiError::invalid_field("logo", "is required"));
    }
    if profile.logo.as_deref().is_some_and(|k| names(k, wanted)) {
        return Ok(());
    }
    // The host's locations' photos and brand logos; the chosen one is
    // copied, so the logo and the photo stay independent.
    let filter = SiteListFilter {
        host: Some(host),
        ..SiteListFilter::default()
    };
    let mut offset = 0;
    loop {
        let sites = state.store.list_sites(&filter, offset, PAGE).await?;
        for site in &sites {
            let mut keys: Vec<String> = state
                .store
                .list_site_photos(site.id)
                .await?
                .into_iter()
                .map(|p| p.key)
                .collect();
            keys.extend(site.brand_logo.clone());
            if let Some(key) = keys.iter().find(|k| names(k, wanted)) {
                let object = state
                    .media
                    .get(key)
                    .await
                    .map_err(plugway_app::AppError::from)?;
                host_network::set_host_logo_files(state, host, vec![object.bytes]).await?;
                return Ok(());
            }
        }
        if i64::try_from(sites.len()).unwrap_or(0) < PAGE {
            return Err(not_yours());
        }
        offset += PAGE;
    }
}

#[cfg(test)]
mod tests {
    use super::{names, wanted_key};

    #[test]
    fn logo_values_name_stored_keys() {
        let key = "sites/abc/photo-1.png";
        for value in [
            "photo-1.png",
            "sites/abc/photo-1.png",
            "/api/v1/media/sites/abc/photo-1.png",
            "https://plugway.example/api/v1/media/sites/abc/photo-1.png?x=1",
        ] {
            assert!(names(key, wanted_key(value)), "{value}");
        }
        for value in [
            "",
            "photo-2.png",
            "sites/other/photo-1.png",
            "abc/photo-1.png",
        ] {
            assert!(!names(key, wanted_key(value)), "{value}");
        }
    }
}
