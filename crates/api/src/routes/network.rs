//! The host side of the network: the host profile, sites, EVSEs, photos,
//! logos and nearby places, and the admin's approvals.
//!
//! A host sees and edits only their own sites: another host's site is "not
//! found", so its existence does not leak. Admins (people or keys) reach
//! every site. New sites and EVSEs wait for an admin's approval before
//! drivers see them, and so do a host's material changes to approved ones
//! (revisions: `routes::revisions`, docs/revisions.md).

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use plugway_app::ports::images::{StoredImage, StoredImageKeys};
use plugway_domain::network::clean_text;
use plugway_domain::{ApprovalState, EvseId, NearbyId, PhotoId, RevisionId, Role, SiteId, UserId};
use plugway_store::{
    Evse, HostProfile, NearbyPlace, Site, SiteListFilter, SitePhoto, StoreError,
    MAX_PHOTOS_PER_SITE,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, OperatorAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::images::{discard, drop_logo, replace_image, store_images};
use plugway_app::network::{
    self, check_charge_point_link, country_code, EvseInput, SiteInput, MAX_EVSES_PER_SITE,
};
use plugway_app::revisions;
use plugway_app::views::{media_url, EvseView, NearbyView, PhotoView, SiteView};

/// Photos one upload may carry (seed 003: "maximum of five").
pub const MAX_PHOTOS_PER_UPLOAD: usize = 5;

/// The router.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_photos))
        .routes(routes!(replace_photo, delete_photo))
        .routes(routes!(set_site_logo, remove_site_logo))
        .routes(routes!(set_host_logo, remove_host_logo))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(create_site, list_sites))
        .routes(routes!(get_site, update_site, delete_site))
        .routes(routes!(create_evse))
        .routes(routes!(update_evse, delete_evse))
        .routes(routes!(create_nearby))
        .routes(routes!(update_nearby, delete_nearby))
        .routes(routes!(pending))
        .routes(routes!(admin_sites))
        .routes(routes!(approve_site))
        .routes(routes!(approve_evse))
        .merge(uploads)
}

/// A host's profile as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostProfileInput {
    /// The business that owns the chargers.
    pub owner_name: String,
    /// Who to contact.
    pub contact_name: String,
    /// Their number.
    pub contact_number: String,
    /// Their e-mail.
    pub contact_email: String,
    /// OCPI party id (3 letters or digits).
    #[serde(default)]
    pub party_id: Option<String>,
    /// OCPI country code (2 letters); required with party_id.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Whether the chargers speak OCPP (seed 003's `ocpp_ready`); left as
    /// it was when absent.
    #[serde(default)]
    pub ocpp_ready: Option<bool>,
}

/// A host's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostProfileView {
    /// The host's account.
    pub user_id: String,
    /// Business name.
    pub owner_name: String,
    /// Contact.
    pub contact_name: String,
    /// Contact number.
    pub contact_number: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// OCPI party id.
    pub party_id: Option<String>,
    /// OCPI country code.
    pub country_code: Option<String>,
    /// Whether the chargers speak OCPP; null when never said.
    pub ocpp_ready: Option<bool>,
}

impl From<&HostProfile> for HostProfileView {
    fn from(p: &HostProfile) -> Self {
        Self {
            user_id: p.user_id.to_text(),
            owner_name: p.owner_name.clone(),
            contact_name: p.contact_name.clone(),
            contact_number: p.contact_number.clone(),
            contact_email: p.contact_email.clone(),
            logo_url: p.logo.as_deref().map(media_url),
            party_id: p.party_id.clone(),
            country_code: p.country_code.clone(),
            ocpp_ready: p.ocpp_ready,
        }
    }
}

/// The caller's host profile.
#[utoipa::path(get, path = "/api/v1/host/profile", tag = "network",
    responses((status = 200, body = HostProfileView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<HostProfileView>> {
    let profile = state
        .store
        .find_host_profile(me.user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("no_host_profile", "you have no host profile yet"))?;
    Ok(Json(HostProfileView::from(&profile)))
}

/// Creates or updates the caller's host profile. A driver who creates one
/// becomes a host (their sites still need an admin's approval).
#[utoipa::path(put, path = "/api/v1/host/profile", tag = "network", request_body = HostProfileInput,
    responses((status = 200, body = HostProfileView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_profile(
    State(state): State<AppState>,
    me: SignedIn,
    Json(input): Json<HostProfileInput>,
) -> ApiResult<Json<HostProfileView>> {
    let now = state.clock.now();
    let party_id = match input.party_id.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            let p = p.to_ascii_uppercase();
            if p.len() != 3 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ApiError::invalid_field(
                    "party_id",
                    "must be 3 letters or digits",
                ));
            }
            Some(p)
        }
        _ => None,
    };
    let country = input
        .country_code
        .as_deref()
        .map(country_code)
        .transpose()?;
    if party_id.is_some() && country.is_none() {
        return Err(ApiError::invalid_field(
            "country_code",
            "is required with party_id",
        ));
    }
    let email = plugway_domain::Email::parse(&input.contact_email)?;
    let existing = state.store.find_host_profile(me.user.id).await?;
    let profile = HostProfile {
        user_id: me.user.id,
        owner_name: clean_text("owner_name", &input.owner_name, 120, false)?,
        contact_name: clean_text("contact_name", &input.contact_name, 120, false)?,
        contact_number: clean_text("contact_number", &input.contact_number, 32, false)?,
        contact_email: email.as_str().to_owned(),
        logo: existing.as_ref().and_then(|p| p.logo.clone()),
        party_id,
        country_code: country,
        ocpp_ready: input
            .ocpp_ready
            .or(existing.as_ref().and_then(|p| p.ocpp_ready)),
        created_at: existing.as_ref().map_or(now, |p| p.created_at),
        updated_at: now,
    };
    state
        .store
        .upsert_host_profile(&profile)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::conflict(
                "party_id_taken",
                "another host uses this party id in this country",
            ),
            other => other.into(),
        })?;
    if me.user.role == Role::Driver {
        state.store.set_role(me.user.id, Role::Host, now).await?;
    }
    // The host's name is part of their sites' searchable text.
    state.store.refresh_host_sites(me.user.id).await?;
    Ok(Json(HostProfileView::from(&profile)))
}

/// Admins may act for a host.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForHost {
    /// The host to create the site for (admins only; hosts create their own).
    pub host_id: Option<String>,
}

/// The site, if the caller may manage it; another host's site is not found.
pub async fn managed_site(state: &AppState, who: &OperatorAccess, id: SiteId) -> ApiResult<Site> {
    Ok(plugway_app::access::managed_site(state, who.manager(), id).await?)
}

pub(crate) fn site_not_found() -> ApiError {
    plugway_app::access::site_not_found().into()
}

pub(crate) fn parse_site_id(text: &str) -> ApiResult<SiteId> {
    text.parse().map(SiteId).map_err(|_| site_not_found())
}

pub(crate) fn parse_evse_id(text: &str) -> ApiResult<EvseId> {
    text.parse()
        .map(EvseId)
        .map_err(|_| ApiError::not_found("evse_not_found", "no such EVSE"))
}

/// A host's or admin's full view of a site, with its revisions.
pub(crate) async fn site_view(state: &AppState, site_id: SiteId) -> ApiResult<SiteView> {
    let mut view = network::site_detail(state.store.as_ref(), site_id, false, state.clock.now())
        .await?
        .ok_or_else(site_not_found)?;
    revisions::attach_to_sites(state.store.as_ref(), std::slice::from_mut(&mut view)).await?;
    Ok(view)
}

/// Creates a site; it waits for an admin's approval before drivers see it.
#[utoipa::path(post, path = "/api/v1/host/sites", tag = "network", params(ForHost),
    request_body = crate::schemas::SiteInput,
    responses((status = 201, body = crate::schemas::SiteView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_site(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(for_host): Query<ForHost>,
    Json(input): Json<SiteInput>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let host = match (who.host(), for_host.host_id.as_deref()) {
        (Some(host), None) => host,
        (Some(_), Some(_)) => {
            return Err(ApiError::forbidden(
                "hosts create sites for themselves only",
            ))
        }
        (None, Some(text)) => {
            let id = text
                .parse()
                .map(UserId)
                .map_err(|_| ApiError::invalid_field("host_id", "is not an account id"))?;
            let user = state.store.find_user(id).await?;
            if !user.is_some_and(|u| u.role == Role::Host) {
                return Err(ApiError::invalid_field("host_id", "no host with this id"));
            }
            id
        }
        (None, None) => {
            return Err(ApiError::invalid_field(
                "host_id",
                "admins give the host the site belongs to",
            ))
        }
    };
    let fields = input.into_fields()?;
    let now = state.clock.now();
    let site = Site::pending(SiteId(state.ids.new_uuid(now)), host, fields, now);
    state.store.insert_site(&site).await?;
    Ok((StatusCode::CREATED, Json(site_view(&state, site.id).await?)))
}

/// Filters of the operator's site list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteListQuery {
    /// PENDING, APPROVED or REJECTED.
    pub approval: Option<String>,
}

/// The caller's sites (a host's own; an admin's: all), newest first.
#[utoipa::path(get, path = "/api/v1/host/sites", tag = "network", params(PageQuery, SiteListQuery),
    responses((status = 200, body = Paginated<crate::schemas::SiteView>)),
    security(("bearer" = [])))]
async fn list_sites(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(page): Query<PageQuery>,
    Query(query): Query<SiteListQuery>,
) -> ApiResult<Json<Paginated<SiteView>>> {
    let filter = SiteListFilter {
        host: who.host(),
        approval: query
            .approval
            .as_deref()
            .map(|a| ApprovalState::parse("approval", a))
            .transpose()?,
        visible_only: false,
    };
    list_page(&state, &filter, page).await
}

async fn list_page(
    state: &AppState,
    filter: &SiteListFilter,
    page: PageQuery,
) -> ApiResult<Json<Paginated<SiteView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_sites(filter).await?;
    let sites = state.store.list_sites(filter, offset, size).await?;
    let loaded = network::with_evses(state.store.as_ref(), sites, false).await?;
    let mut views = network::render(&loaded, &[], state.clock.now());
    revisions::attach_to_sites(state.store.as_ref(), &mut views).await?;
    Ok(Json(Paginated::new(views, count, page, size)))
}

/// One of the caller's sites, with photos and nearby places.
#[utoipa::path(get, path = "/api/v1/host/sites/{id}", tag = "network",
    responses((status = 200, body = crate::schemas::SiteView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_site(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<SiteView>> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    Ok(Json(site_view(&state, site.id).await?))
}

/// Replaces a site's fields. An admin's edit applies at once. A host's
/// edit of an approved site applies its operational fields (hours,
/// amenities, parking, publishing) at once and holds its material ones
/// (name, address, position, zone, currency) for an admin's review, merged
/// into the site's open revision (`pending_changes`); drivers keep seeing
/// the approved values. A host's edit of a pending site applies at once; of
/// a rejected one too, and sends it back to review (docs/revisions.md).
#[utoipa::path(put, path = "/api/v1/host/sites/{id}", tag = "network", request_body = crate::schemas::SiteInput,
    responses((status = 200, body = crate::schemas::SiteView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_site(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<SiteInput>,
) -> ApiResult<Json<SiteView>> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let fields = input.into_fields()?;
    let now = state.clock.now();
    if who.host().is_some() {
        state
            .store
            .host_edit_site(site.id, &fields, RevisionId(state.ids.new_uuid(now)), now)
            .await?;
    } else {
        state.store.update_site(site.id, &fields, now).await?;
    }
    Ok(Json(site_view(&state, site.id).await?))
}

/// Deletes a site with its EVSEs, photos, nearby places, bookmarks and ratings.
#[utoipa::path(delete, path = "/api/v1/host/sites/{id}", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_site(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let keys = state.store.delete_site(site.id).await?;
    for pair in keys.chunks(2) {
        // The rows are gone; a failed file delete leaves an orphan, not a
        // broken site, so it is logged rather than failing the request.
        if let [key, thumb] = pair {
            if let Err(e) = state
                .media
                .delete_image(&StoredImageKeys {
                    key,
                    thumb_key: thumb,
                })
                .await
            {
                tracing::warn!(error = %e, "could not delete a photo of a deleted site");
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn evse_conflict(e: StoreError) -> ApiError {
    plugway_app::network::evse_conflict(e).into()
}

/// Adds an EVSE to a site; it waits for an admin's approval.
#[utoipa::path(post, path = "/api/v1/host/sites/{id}/evses", tag = "network",
    request_body = crate::schemas::EvseInput,
    responses((status = 201, body = crate::schemas::EvseView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_evse(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<EvseInput>,
) -> ApiResult<(StatusCode, Json<EvseView>)> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let existing = state.store.list_site_evses(&[site.id]).await?;
    if existing.len() >= MAX_EVSES_PER_SITE {
        return Err(ApiError::conflict(
            "too_many_evses",
            format!("a site has at most {MAX_EVSES_PER_SITE} EVSEs"),
        ));
    }
    let fields = input.into_fields(site.fields.currency, &[], &state)?;
    check_charge_point_link(&state, site.host_id, &fields).await?;
    let now = state.clock.now();
    let evse = Evse::pending(EvseId(state.ids.new_uuid(now)), site.id, fields, now);
    state
        .store
        .insert_evse(&evse)
        .await
        .map_err(evse_conflict)?;
    let stored = state
        .store
        .find_evse(evse.id)
        .await?
        .ok_or_else(|| ApiError::internal("the EVSE vanished after insert"))?;
    Ok((
        StatusCode::CREATED,
        Json(revisions::evse_operator_view(state.store.as_ref(), &stored, &site).await?),
    ))
}

/// An EVSE the caller manages (its host, or an admin); 404 otherwise.
pub(crate) async fn managed_evse(
    state: &AppState,
    who: &OperatorAccess,
    id: &str,
) -> ApiResult<(Site, Evse)> {
    let id = parse_evse_id(id)?;
    Ok(plugway_app::access::managed_evse(state, who.manager(), id).await?)
}

/// Replaces an EVSE's fields (connector ids are kept by position). As for
/// sites, a host's edit of an approved EVSE applies its operational fields
/// (OCPP link, declared status, capabilities, payment types, prices) at
/// once and holds its material ones (code, serial number, meter type,
/// connectors) for an admin's review.
#[utoipa::path(put, path = "/api/v1/host/evses/{id}", tag = "network", request_body = crate::schemas::EvseInput,
    responses((status = 200, body = crate::schemas::EvseView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_evse(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<EvseInput>,
) -> ApiResult<Json<EvseView>> {
    let (site, evse) = managed_evse(&state, &who, &id).await?;
    let fields = input.into_fields(site.fields.currency, &evse.fields.connectors, &state)?;
    check_charge_point_link(&state, site.host_id, &fields).await?;
    let now = state.clock.now();
    if who.host().is_some() {
        state
            .store
            .host_edit_evse(evse.id, &fields, RevisionId(state.ids.new_uuid(now)), now)
            .await
            .map_err(evse_conflict)?;
    } else {
        state
            .store
            .update_evse(evse.id, &fields, now)
            .await
            .map_err(evse_conflict)?;
    }
    let stored = state
        .store
        .find_evse(evse.id)
        .await?
        .ok_or_else(|| ApiError::not_found("evse_not_found", "no such EVSE"))?;
    Ok(Json(
        revisions::evse_operator_view(state.store.as_ref(), &stored, &site).await?,
    ))
}

/// Removes an EVSE.
#[utoipa::path(delete, path = "/api/v1/host/evses/{id}", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_evse(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (_, evse) = managed_evse(&state, &who, &id).await?;
    state.store.delete_evse(evse.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(e.status(), "invalid_multipart", e.body_text())
}

/// Reads the image files of a multipart body under any of `names`.
pub(crate) async fn read_files(
    multipart: &mut Multipart,
    names: &[&str],
    max_files: usize,
) -> ApiResult<Vec<bytes::Bytes>> {
    let files = read_named_files(multipart, names, max_files).await?;
    Ok(files.into_iter().map(|(_, bytes)| bytes).collect())
}

/// Like [`read_files`], with each file's name as the client sent it.
pub(crate) async fn read_named_files(
    multipart: &mut Multipart,
    names: &[&str],
    max_files: usize,
) -> ApiResult<Vec<(Option<String>, bytes::Bytes)>> {
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if !names.contains(&name.as_str()) {
            return Err(ApiError::invalid_field(
                "file",
                format!(
                    "unexpected form field {name:?}; send the image as {:?}",
                    names.first().copied().unwrap_or_default()
                ),
            ));
        }
        if files.len() == max_files {
            return Err(ApiError::invalid_field(
                "file",
                format!("send at most {max_files} files at once"),
            ));
        }
        let file_name = field.file_name().map(str::to_owned);
        files.push((file_name, field.bytes().await.map_err(multipart_error)?));
    }
    if files.is_empty() {
        return Err(ApiError::invalid_field(
            "file",
            format!(
                "send an image in the form field {:?}",
                names.first().copied().unwrap_or_default()
            ),
        ));
    }
    Ok(files)
}

fn photo_record(state: &AppState, site: SiteId, image: &StoredImage) -> SitePhoto {
    let now = state.clock.now();
    SitePhoto {
        id: PhotoId(state.ids.new_uuid(now)),
        site_id: site,
        key: image.key.clone(),
        thumb_key: image.thumb_key.clone(),
        content_type: image.content_type.clone(),
        width: i64::from(image.width),
        height: i64::from(image.height),
        bytes: i64::try_from(image.bytes).unwrap_or(i64::MAX),
        created_at: now,
    }
}

/// Adds up to five photos to a site (multipart form, field `photos`, or
/// `location_photos` as seed 003 names it). JPEG, PNG or WebP; the type is
/// read from the bytes; metadata (EXIF, GPS) is removed.
#[utoipa::path(post, path = "/api/v1/host/sites/{id}/photos", tag = "network",
    request_body(content_type = "multipart/form-data", description = "`photos`: 1 to 5 image files"),
    responses((status = 201, body = [crate::schemas::PhotoView]), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload_photos(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Vec<PhotoView>>)> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let files = read_files(
        &mut multipart,
        // Seed 003 names the part location_photos, seed 000 charger_photo.
        &["photos", "location_photos", "charger_photo"],
        MAX_PHOTOS_PER_UPLOAD,
    )
    .await?;
    let photos = add_site_photos(&state, &site, files).await?;
    Ok((
        StatusCode::CREATED,
        Json(photos.iter().map(PhotoView::from).collect()),
    ))
}

/// Stores image files as new photos of `site` (already checked to be the
/// caller's), within the per-site limit.
pub(crate) async fn add_site_photos(
    state: &AppState,
    site: &Site,
    files: Vec<bytes::Bytes>,
) -> ApiResult<Vec<SitePhoto>> {
    let have = state.store.list_site_photos(site.id).await?.len();
    if have + files.len() > usize::try_from(MAX_PHOTOS_PER_SITE).unwrap_or(usize::MAX) {
        return Err(photo_limit());
    }
    let images = store_images(state, &format!("sites/{}", site.id), files).await?;
    let photos: Vec<SitePhoto> = images
        .iter()
        .map(|i| photo_record(state, site.id, i))
        .collect();
    if let Err(e) = state.store.insert_site_photos(&photos).await {
        discard(state, &images).await;
        return Err(match e {
            StoreError::Conflict(_) => photo_limit(),
            other => other.into(),
        });
    }
    Ok(photos)
}

fn photo_limit() -> ApiError {
    ApiError::conflict(
        "too_many_photos",
        format!("a site keeps at most {MAX_PHOTOS_PER_SITE} photos; delete some first"),
    )
}

/// The photo, if the caller may manage its site; otherwise not found.
pub(crate) async fn managed_photo(
    state: &AppState,
    who: &OperatorAccess,
    id: &str,
) -> ApiResult<SitePhoto> {
    let not_found = || ApiError::not_found("photo_not_found", "no such photo");
    let id = id.parse().map(PhotoId).map_err(|_| not_found())?;
    let photo = state
        .store
        .find_site_photo(id)
        .await?
        .ok_or_else(not_found)?;
    managed_site(state, who, photo.site_id)
        .await
        .map_err(|_| not_found())?;
    Ok(photo)
}

/// Replaces one photo's image (multipart, field `photo` or `location_photo`).
#[utoipa::path(put, path = "/api/v1/host/photos/{id}", tag = "network",
    request_body(content_type = "multipart/form-data", description = "`photo`: one image file"),
    responses((status = 200, body = crate::schemas::PhotoView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replace_photo(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<Json<PhotoView>> {
    let photo = managed_photo(&state, &who, &id).await?;
    let files = read_files(&mut multipart, &["photo", "location_photo"], 1).await?;
    let updated = replace_photo_image(&state, &photo, files).await?;
    Ok(Json(PhotoView::from(&updated)))
}

/// Replaces the image of `photo` (already checked to be the caller's) with
/// the one file in `files`; the old image is deleted.
pub(crate) async fn replace_photo_image(
    state: &AppState,
    photo: &SitePhoto,
    files: Vec<bytes::Bytes>,
) -> ApiResult<SitePhoto> {
    let images = store_images(state, &format!("sites/{}", photo.site_id), files).await?;
    let Some(image) = images.first() else {
        return Err(ApiError::invalid_field("photo", "send one image"));
    };
    let mut updated = photo_record(state, photo.site_id, image);
    updated.id = photo.id;
    updated.created_at = photo.created_at;
    let old = match state.store.replace_site_photo(&updated).await {
        Ok(old) => old,
        Err(e) => {
            discard(state, &images).await;
            return Err(e.into());
        }
    };
    let _ = state
        .media
        .delete_image(&StoredImageKeys {
            key: &old.key,
            thumb_key: &old.thumb_key,
        })
        .await;
    Ok(updated)
}

/// Deletes a photo.
#[utoipa::path(delete, path = "/api/v1/host/photos/{id}", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_photo(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let photo = managed_photo(&state, &who, &id).await?;
    let old = state.store.delete_site_photo(photo.id).await?;
    let _ = state
        .media
        .delete_image(&StoredImageKeys {
            key: &old.key,
            thumb_key: &old.thumb_key,
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A logo's URL after upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoView {
    /// The logo.
    pub url: String,
    /// Its thumbnail.
    pub thumbnail_url: String,
}

/// Sets a site's brand logo (multipart, field `logo`).
#[utoipa::path(put, path = "/api/v1/host/sites/{id}/logo", tag = "network",
    request_body(content_type = "multipart/form-data", description = "`logo`: one image file"),
    responses((status = 200, body = LogoView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_site_logo(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<Json<LogoView>> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    // Seed 000's ChargerPhoto names the part charger_brand_logo.
    let files = read_files(&mut multipart, &["logo", "charger_brand_logo"], 1).await?;
    let images = store_images(&state, &format!("sites/{}", site.id), files).await?;
    let Some(image) = images.first() else {
        return Err(ApiError::invalid_field("logo", "send one image"));
    };
    let old = state
        .store
        .set_site_brand_logo(site.id, Some(&image.key), state.clock.now())
        .await?;
    drop_logo(&state, old).await;
    Ok(Json(LogoView {
        url: media_url(&image.key),
        thumbnail_url: media_url(&image.thumb_key),
    }))
}

/// Removes a site's brand logo (apps then show their default).
#[utoipa::path(delete, path = "/api/v1/host/sites/{id}/logo", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_site_logo(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let old = state
        .store
        .set_site_brand_logo(site.id, None, state.clock.now())
        .await?;
    drop_logo(&state, old).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the caller's host logo (multipart, field `logo`, or `cpo_logo` as seed 003 names it).
#[utoipa::path(put, path = "/api/v1/host/profile/logo", tag = "network",
    request_body(content_type = "multipart/form-data", description = "`logo`: one image file"),
    responses((status = 200, body = LogoView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_host_logo(
    State(state): State<AppState>,
    me: SignedIn,
    mut multipart: Multipart,
) -> ApiResult<Json<LogoView>> {
    Ok(Json(
        upload_host_logo(&state, me.user.id, &mut multipart).await?,
    ))
}

/// Stores the one image of `multipart` (field `logo` or `cpo_logo`) as the
/// host's logo, replacing (and deleting) the previous one.
pub(crate) async fn upload_host_logo(
    state: &AppState,
    host: UserId,
    multipart: &mut Multipart,
) -> ApiResult<LogoView> {
    if state.store.find_host_profile(host).await?.is_none() {
        return Err(ApiError::not_found(
            "no_host_profile",
            "create your host profile first",
        ));
    }
    let files = read_files(multipart, &["logo", "cpo_logo"], 1).await?;
    set_host_logo_files(state, host, files).await
}

/// Stores the one image of `files` as the host's logo, replacing (and
/// deleting) the previous one.
pub(crate) async fn set_host_logo_files(
    state: &AppState,
    host: UserId,
    files: Vec<bytes::Bytes>,
) -> ApiResult<LogoView> {
    let now = state.clock.now();
    let image = replace_image(
        state,
        &format!("hosts/{host}"),
        "logo",
        files,
        |key| async move {
            state
                .store
                .set_host_logo(host, Some(key.as_str()), now)
                .await
        },
    )
    .await?;
    Ok(LogoView {
        url: media_url(&image.key),
        thumbnail_url: media_url(&image.thumb_key),
    })
}

/// Removes the caller's host logo.
#[utoipa::path(delete, path = "/api/v1/host/profile/logo", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_host_logo(State(state): State<AppState>, me: SignedIn) -> ApiResult<StatusCode> {
    let old = state
        .store
        .set_host_logo(me.user.id, None, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::not_found("no_host_profile", "you have no host profile")
            }
            other => other.into(),
        })?;
    drop_logo(&state, old).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A nearby place as sent (seed 000's AddNearby).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NearbyInput {
    /// "shop", "cafe", "restaurant", ...
    pub kind: String,
    /// Its name.
    pub name: String,
    /// An image URL.
    #[serde(default)]
    pub image: Option<String>,
    /// Its address.
    pub address: String,
}

fn nearby_record(
    state: &AppState,
    id: NearbyId,
    site: SiteId,
    input: NearbyInput,
) -> ApiResult<NearbyPlace> {
    let image = match input.image {
        Some(url) if !url.trim().is_empty() => {
            let url = clean_text("image", &url, 500, false)?;
            if !(url.starts_with("https://") || url.starts_with('/')) {
                return Err(ApiError::invalid_field(
                    "image",
                    "must be an https URL or a path on this server",
                ));
            }
            Some(url)
        }
        _ => None,
    };
    Ok(NearbyPlace {
        id,
        site_id: site,
        kind: clean_text("kind", &input.kind, 40, false)?.to_lowercase(),
        name: clean_text("name", &input.name, 120, false)?,
        image,
        address: clean_text("address", &input.address, 300, false)?,
        created_at: state.clock.now(),
    })
}

/// Adds a place near a site.
#[utoipa::path(post, path = "/api/v1/host/sites/{id}/nearby", tag = "network", request_body = NearbyInput,
    responses((status = 201, body = crate::schemas::NearbyView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_nearby(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<NearbyInput>,
) -> ApiResult<(StatusCode, Json<NearbyView>)> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    if state.store.list_nearby(site.id).await?.len() >= 50 {
        return Err(ApiError::conflict(
            "too_many_nearby",
            "a site lists at most 50 nearby places",
        ));
    }
    let place = nearby_record(
        &state,
        NearbyId(state.ids.new_uuid(state.clock.now())),
        site.id,
        input,
    )?;
    state.store.insert_nearby(&place).await?;
    Ok((StatusCode::CREATED, Json(NearbyView::from(&place))))
}

async fn managed_nearby(
    state: &AppState,
    who: &OperatorAccess,
    id: &str,
) -> ApiResult<NearbyPlace> {
    let not_found = || ApiError::not_found("nearby_not_found", "no such nearby place");
    let id = id.parse().map(NearbyId).map_err(|_| not_found())?;
    let place = state.store.find_nearby(id).await?.ok_or_else(not_found)?;
    managed_site(state, who, place.site_id)
        .await
        .map_err(|_| not_found())?;
    Ok(place)
}

/// Edits a nearby place.
#[utoipa::path(put, path = "/api/v1/host/nearby/{id}", tag = "network", request_body = NearbyInput,
    responses((status = 200, body = crate::schemas::NearbyView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_nearby(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<NearbyInput>,
) -> ApiResult<Json<NearbyView>> {
    let old = managed_nearby(&state, &who, &id).await?;
    let mut place = nearby_record(&state, old.id, old.site_id, input)?;
    place.created_at = old.created_at;
    state.store.update_nearby(&place).await?;
    Ok(Json(NearbyView::from(&place)))
}

/// Removes a nearby place.
#[utoipa::path(delete, path = "/api/v1/host/nearby/{id}", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_nearby(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let place = managed_nearby(&state, &who, &id).await?;
    state.store.delete_nearby(place.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pending approvals (seed 003's names).
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingView {
    /// Sites waiting for approval.
    pub pending_locations: i64,
    /// EVSEs waiting for approval.
    pub pending_evses: i64,
}

/// What waits for an admin's approval: the host's own, or (for admins) everyone's.
#[utoipa::path(get, path = "/api/v1/host/pending", tag = "network",
    responses((status = 200, body = PendingView)),
    security(("bearer" = [])))]
async fn pending(
    State(state): State<AppState>,
    who: OperatorAccess,
) -> ApiResult<Json<PendingView>> {
    let counts = state.store.pending_counts(who.host()).await?;
    Ok(Json(PendingView {
        pending_locations: counts.sites,
        pending_evses: counts.evses,
    }))
}

/// Every site, for the back office (filter by approval to find the queue).
#[utoipa::path(get, path = "/api/v1/admin/sites", tag = "admin", params(PageQuery, SiteListQuery),
    responses((status = 200, body = Paginated<crate::schemas::SiteView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_sites(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Query(page): Query<PageQuery>,
    Query(query): Query<SiteListQuery>,
) -> ApiResult<Json<Paginated<SiteView>>> {
    let filter = SiteListFilter {
        host: None,
        approval: query
            .approval
            .as_deref()
            .map(|a| ApprovalState::parse("approval", a))
            .transpose()?,
        visible_only: false,
    };
    list_page(&state, &filter, page).await
}

/// An admin's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// APPROVED or REJECTED (PENDING puts it back in the queue).
    pub approval: String,
    /// Why, for a rejection (shown to the host).
    #[serde(default)]
    pub reason: Option<String>,
}

impl Decision {
    fn parse(self) -> ApiResult<(ApprovalState, Option<String>)> {
        Ok(plugway_app::approvals::listing_decision(
            &self.approval,
            self.reason.as_deref(),
        )?)
    }
}

/// Approves or rejects a site.
#[utoipa::path(post, path = "/api/v1/admin/sites/{id}/approval", tag = "admin", request_body = Decision,
    responses((status = 200, body = crate::schemas::SiteView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn approve_site(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(decision): Json<Decision>,
) -> ApiResult<Json<SiteView>> {
    let id = parse_site_id(&id)?;
    let (approval, reason) = decision.parse()?;
    plugway_app::approvals::decide_site(&state, id, approval, reason.as_deref()).await?;
    Ok(Json(site_view(&state, id).await?))
}

/// Approves or rejects an EVSE.
#[utoipa::path(post, path = "/api/v1/admin/evses/{id}/approval", tag = "admin", request_body = Decision,
    responses((status = 200, body = crate::schemas::EvseView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn approve_evse(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(decision): Json<Decision>,
) -> ApiResult<Json<EvseView>> {
    let id = parse_evse_id(&id)?;
    let (approval, reason) = decision.parse()?;
    plugway_app::approvals::decide_evse(&state, id, approval, reason.as_deref()).await?;
    let not_found = || ApiError::not_found("evse_not_found", "no such EVSE");
    let evse = state.store.find_evse(id).await?.ok_or_else(not_found)?;
    let site = state
        .store
        .find_site(evse.site_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(
        revisions::evse_operator_view(state.store.as_ref(), &evse, &site).await?,
    ))
}
