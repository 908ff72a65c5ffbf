//! The back office's content for the apps: seed 000's banners ("Ads"), app
//! info (privacy policy, terms, contact, help, currency, tax and credit
//! value) and the amenities list used by the search filter. Reading is
//! public; changing is for admins (an admin person or an admin API key).

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_app::ports::images::StoredImageKeys;
use plugway_domain::notifications::{clean_long_text, web_url, BannerId};
use plugway_domain::Facility;
use plugway_store::{AmenitySetting, AppInfo, Banner, HelpEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::network::read_files;
use crate::AppState;
use plugway_app::images::store_images;
use plugway_app::views::media_url;

/// Longest privacy policy or terms, characters.
pub const MAX_POLICY_CHARS: usize = 20_000;
/// Longest contact text, characters.
pub const MAX_CONTACT_CHARS: usize = 2_000;
/// Longest help question, characters.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest help answer, characters.
pub const MAX_ANSWER_CHARS: usize = 5_000;
/// Longest banner title, characters.
pub const MAX_BANNER_TITLE_CHARS: usize = 200;
/// Most banners kept.
pub const MAX_BANNERS: usize = 200;
/// Most help entries kept.
pub const MAX_HELP_ENTRIES: usize = 500;

/// The router.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(set_banner_image, remove_banner_image))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    OpenApiRouter::new()
        .routes(routes!(banners))
        .routes(routes!(admin_list_banners, admin_create_banner))
        .routes(routes!(
            admin_get_banner,
            admin_update_banner,
            admin_delete_banner
        ))
        .routes(routes!(app_info))
        .routes(routes!(admin_set_app_info))
        .routes(routes!(admin_list_help, admin_create_help))
        .routes(routes!(
            admin_get_help,
            admin_update_help,
            admin_delete_help
        ))
        .routes(routes!(amenities))
        .routes(routes!(admin_list_amenities))
        .routes(routes!(admin_set_amenity))
        .merge(uploads)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------- banners

/// A banner as the app shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BannerView {
    /// Its id.
    pub id: String,
    /// Headline (also the image's alternative text).
    #[schema(example = "Charge for half price this weekend")]
    pub title: String,
    /// Where a tap goes, or null.
    #[schema(example = "https://plugway.example/offers/weekend")]
    pub link_url: Option<String>,
    /// The image, or null before one is uploaded.
    #[schema(example = "/api/v1/media/banners/01963b7e-0000-7000-8000-000000000001/banner-1.jpg")]
    pub image_url: Option<String>,
    /// Its thumbnail.
    pub thumbnail_url: Option<String>,
    /// Order, lowest first.
    pub position: i64,
}

/// A banner as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminBannerView {
    /// What the app sees.
    #[serde(flatten)]
    pub banner: BannerView,
    /// Switched on.
    pub active: bool,
    /// Shown from (RFC 3339), or null.
    pub valid_from: Option<String>,
    /// Shown until (RFC 3339, exclusive), or null.
    pub valid_until: Option<String>,
    /// Shown to drivers right now.
    pub shown_now: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

fn banner_view(b: &Banner) -> BannerView {
    BannerView {
        id: b.id.to_text(),
        title: b.title.clone(),
        link_url: b.link_url.clone(),
        image_url: b.image_key.as_deref().map(media_url),
        thumbnail_url: b
            .image_key
            .as_deref()
            .and_then(plugway_app::ports::images::thumbnail_key)
            .map(|k| media_url(&k)),
        position: b.position,
    }
}

fn admin_banner_view(b: &Banner, now: DateTime<Utc>) -> AdminBannerView {
    AdminBannerView {
        banner: banner_view(b),
        active: b.active,
        valid_from: b.valid_from.map(time),
        valid_until: b.valid_until.map(time),
        shown_now: b.shown_at(now),
        created_at: time(b.created_at),
        updated_at: time(b.updated_at),
    }
}

/// The active banners within their validity window, by position (seed 000's
/// Banners). Anyone may call.
#[utoipa::path(get, path = "/api/v1/banners", tag = "content",
    responses((status = 200, body = [BannerView])))]
async fn banners(State(state): State<AppState>) -> ApiResult<Json<Vec<BannerView>>> {
    let now = state.clock.now();
    let all = state.store.list_banners().await?;
    Ok(Json(
        all.iter()
            .filter(|b| b.shown_at(now))
            .map(banner_view)
            .collect(),
    ))
}

/// A banner as an admin sends it (create, or replace on PUT; the image is
/// uploaded separately).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"title": "Charge for half price this weekend",
    "link_url": "https://plugway.example/offers/weekend", "position": 1, "active": true,
    "valid_from": "2026-06-01T00:00:00Z", "valid_until": "2026-06-03T00:00:00Z"}))]
pub struct BannerInput {
    /// Headline, 1 to 200 characters.
    pub title: String,
    /// An http(s) URL a tap opens.
    #[serde(default)]
    pub link_url: Option<String>,
    /// Order, 0 to 10000, lowest first (default 0).
    #[serde(default)]
    pub position: Option<i64>,
    /// Switched on (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Shown from (RFC 3339).
    #[serde(default)]
    pub valid_from: Option<DateTime<Utc>>,
    /// Shown until (RFC 3339, exclusive; after `valid_from`).
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

/// The checked fields of a banner input, applied to `banner`.
fn apply_banner(input: &BannerInput, banner: &mut Banner) -> ApiResult<()> {
    banner.title = clean_long_text("title", &input.title, MAX_BANNER_TITLE_CHARS, false, false)?;
    banner.link_url = match input.link_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) => Some(web_url("link_url", url)?),
    };
    let position = input.position.unwrap_or(0);
    if !(0..=10_000).contains(&position) {
        return Err(ApiError::invalid_field(
            "position",
            "must be from 0 to 10000",
        ));
    }
    banner.position = position;
    banner.active = input.active.unwrap_or(true);
    if let (Some(from), Some(until)) = (input.valid_from, input.valid_until) {
        if until <= from {
            return Err(ApiError::invalid_field(
                "valid_until",
                "must be after valid_from",
            ));
        }
    }
    banner.valid_from = input.valid_from;
    banner.valid_until = input.valid_until;
    Ok(())
}

fn banner_not_found() -> ApiError {
    ApiError::not_found("banner_not_found", "no such banner")
}

fn parse_banner(id: &str) -> ApiResult<BannerId> {
    id.parse().map_err(|_| banner_not_found())
}

async fn find_banner(state: &AppState, id: &str) -> ApiResult<Banner> {
    state
        .store
        .find_banner(parse_banner(id)?)
        .await?
        .ok_or_else(banner_not_found)
}

/// Every banner, shown or not (admins only).
#[utoipa::path(get, path = "/api/v1/admin/banners", tag = "content",
    responses((status = 200, body = [AdminBannerView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_list_banners(
    State(state): State<AppState>,
    _admin: AdminAccess,
) -> ApiResult<Json<Vec<AdminBannerView>>> {
    let now = state.clock.now();
    let all = state.store.list_banners().await?;
    Ok(Json(
        all.iter().map(|b| admin_banner_view(b, now)).collect(),
    ))
}

/// Creates a banner (admins only); upload its image with
/// `PUT /api/v1/admin/banners/{id}/image`.
#[utoipa::path(post, path = "/api/v1/admin/banners", tag = "content",
    request_body = BannerInput,
    responses((status = 201, body = AdminBannerView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_create_banner(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(input): Json<BannerInput>,
) -> ApiResult<(StatusCode, Json<AdminBannerView>)> {
    let now = state.clock.now();
    let mut banner = Banner {
        id: BannerId(state.ids.new_uuid(now)),
        title: String::new(),
        link_url: None,
        image_key: None,
        position: 0,
        active: true,
        valid_from: None,
        valid_until: None,
        created_at: now,
        updated_at: now,
    };
    apply_banner(&input, &mut banner)?;
    if state.store.list_banners().await?.len() >= MAX_BANNERS {
        return Err(ApiError::conflict(
            "too_many_banners",
            format!("at most {MAX_BANNERS} banners; delete old ones first"),
        ));
    }
    state.store.insert_banner(&banner).await?;
    Ok((StatusCode::CREATED, Json(admin_banner_view(&banner, now))))
}

/// One banner (admins only).
#[utoipa::path(get, path = "/api/v1/admin/banners/{id}", tag = "content",
    params(("id" = String, Path, description = "The banner's id")),
    responses((status = 200, body = AdminBannerView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_get_banner(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminBannerView>> {
    let banner = find_banner(&state, &id).await?;
    Ok(Json(admin_banner_view(&banner, state.clock.now())))
}

/// Replaces a banner's fields (admins only; its image stays).
#[utoipa::path(put, path = "/api/v1/admin/banners/{id}", tag = "content",
    params(("id" = String, Path, description = "The banner's id")),
    request_body = BannerInput,
    responses((status = 200, body = AdminBannerView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_update_banner(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(input): Json<BannerInput>,
) -> ApiResult<Json<AdminBannerView>> {
    let mut banner = find_banner(&state, &id).await?;
    apply_banner(&input, &mut banner)?;
    let now = state.clock.now();
    banner.updated_at = now;
    state.store.update_banner(&banner).await?;
    Ok(Json(admin_banner_view(&banner, now)))
}

async fn drop_image(state: &AppState, key: Option<String>) {
    if let Some(key) = key {
        if let Some(thumb) = plugway_app::ports::images::thumbnail_key(&key) {
            let keys = StoredImageKeys {
                key: &key,
                thumb_key: &thumb,
            };
            if let Err(e) = state.media.delete_image(&keys).await {
                tracing::warn!(error = %e, "could not delete a banner's old image");
            }
        }
    }
}

/// Deletes a banner and its image (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/banners/{id}", tag = "content",
    params(("id" = String, Path, description = "The banner's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_delete_banner(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let deleted = state
        .store
        .delete_banner(parse_banner(&id)?)
        .await?
        .ok_or_else(banner_not_found)?;
    drop_image(&state, deleted.image_key).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a banner's image (admins only; multipart, field `image`): JPEG, PNG
/// or WebP, read from the bytes, metadata removed, with a thumbnail.
#[utoipa::path(put, path = "/api/v1/admin/banners/{id}/image", tag = "content",
    params(("id" = String, Path, description = "The banner's id")),
    request_body(content_type = "multipart/form-data", description = "`image`: one image file"),
    responses((status = 200, body = AdminBannerView), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_banner_image(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<Json<AdminBannerView>> {
    let banner = find_banner(&state, &id).await?;
    let files = read_files(&mut multipart, &["image"], 1).await?;
    let images = store_images(&state, &format!("banners/{}", banner.id), files).await?;
    let Some(image) = images.first() else {
        return Err(ApiError::invalid_field("image", "send one image"));
    };
    let now = state.clock.now();
    let old = match state
        .store
        .set_banner_image(banner.id, Some(&image.key), now)
        .await
    {
        Ok(old) => old,
        Err(e) => {
            // The banner went away meanwhile: do not keep an orphan image.
            drop_image(&state, Some(image.key.clone())).await;
            return Err(e.into());
        }
    };
    drop_image(&state, old).await;
    let banner = find_banner(&state, &id).await?;
    Ok(Json(admin_banner_view(&banner, now)))
}

/// Removes a banner's image (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/banners/{id}/image", tag = "content",
    params(("id" = String, Path, description = "The banner's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_banner_image(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let banner = find_banner(&state, &id).await?;
    let old = state
        .store
        .set_banner_image(banner.id, None, state.clock.now())
        .await?;
    drop_image(&state, old).await;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- app info

/// One help entry, in seed 000's AppInfo shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelpItem {
    /// Its id.
    #[schema(example = 1)]
    pub id: i64,
    /// The question.
    #[serde(rename = "Question")]
    #[schema(example = "How to charge")]
    pub question: String,
    /// The answer.
    #[serde(rename = "Answer")]
    #[schema(example = "Scan the charger's code and tap Start")]
    pub answer: String,
    /// When it was written (RFC 3339).
    #[serde(rename = "Date_time")]
    #[schema(example = "2020-11-11T12:54:19Z")]
    pub date_time: String,
}

fn help_item(h: &HelpEntry) -> HelpItem {
    HelpItem {
        id: h.id,
        question: h.question.clone(),
        answer: h.answer.clone(),
        date_time: time(h.created_at),
    }
}

/// Seed 000's AppInfo object.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppInfoView {
    /// Privacy policy.
    #[serde(rename = "PrivacyPolicy")]
    #[schema(example = "privacy policy test")]
    pub privacy_policy: String,
    /// Terms and conditions.
    #[serde(rename = "TermsCondition")]
    #[schema(example = "terms condition... test")]
    pub terms_condition: String,
    /// The wallet currency (ISO 4217).
    #[serde(rename = "AppCurrency")]
    #[schema(example = "USD")]
    pub app_currency: String,
    /// The service tax on charging, percent.
    #[serde(rename = "Service_tax")]
    #[schema(example = 1.0)]
    pub service_tax: f64,
    /// What one credit point is worth, major units of the wallet currency.
    #[serde(rename = "AppCreditValue")]
    #[schema(example = 1.0)]
    pub app_credit_value: f64,
    /// How to reach the operator.
    #[serde(rename = "ContactUs")]
    #[schema(example = "hello")]
    pub contact_us: String,
    /// Questions and answers.
    #[serde(rename = "Help")]
    pub help: Vec<HelpItem>,
}

/// Seed 000's AppInfo, exactly: a JSON array holding one object with the
/// privacy policy, terms, currency, service tax (percent), credit point value,
/// contact and help. Anyone may call.
#[utoipa::path(get, path = "/api/v1/app-info", tag = "content",
    responses((status = 200, body = [AppInfoView])))]
async fn app_info(State(state): State<AppState>) -> ApiResult<Json<Vec<AppInfoView>>> {
    let info = state.store.app_info().await?;
    let help = state.store.list_help().await?;
    let currency = state.settings.wallet_currency;
    Ok(Json(vec![AppInfoView {
        privacy_policy: info.privacy_policy,
        terms_condition: info.terms,
        app_currency: currency.code().to_owned(),
        service_tax: state.sessions.settings().service_tax_bps as f64 / 100.0,
        app_credit_value: currency.to_major(state.settings.credit_point_value),
        contact_us: info.contact_us,
        help: help.iter().map(help_item).collect(),
    }]))
}

/// The app's texts as an admin sends them (seed 000's names are accepted
/// too). Each may be empty.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"privacy_policy": "We keep only what charging needs.",
    "terms_condition": "Pay for what you charge.", "contact_us": "support@plugway.example"}))]
pub struct AppInfoInput {
    /// Privacy policy, at most 20000 characters.
    #[serde(alias = "PrivacyPolicy")]
    pub privacy_policy: String,
    /// Terms and conditions, at most 20000 characters.
    #[serde(alias = "TermsCondition", alias = "terms")]
    pub terms_condition: String,
    /// Contact, at most 2000 characters.
    #[serde(alias = "ContactUs")]
    pub contact_us: String,
}

/// Replaces the privacy policy, terms and contact (admins only). The
/// currency, tax and credit value come from configuration; help entries
/// from `/api/v1/admin/help`.
#[utoipa::path(put, path = "/api/v1/admin/app-info", tag = "content",
    request_body = AppInfoInput,
    responses((status = 200, body = [AppInfoView]), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_set_app_info(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(input): Json<AppInfoInput>,
) -> ApiResult<Json<Vec<AppInfoView>>> {
    let info = AppInfo {
        privacy_policy: clean_long_text(
            "privacy_policy",
            &input.privacy_policy,
            MAX_POLICY_CHARS,
            true,
            true,
        )?,
        terms: clean_long_text(
            "terms_condition",
            &input.terms_condition,
            MAX_POLICY_CHARS,
            true,
            true,
        )?,
        contact_us: clean_long_text(
            "contact_us",
            &input.contact_us,
            MAX_CONTACT_CHARS,
            true,
            true,
        )?,
        updated_at: Some(state.clock.now()),
    };
    state.store.set_app_info(&info).await?;
    app_info(State(state)).await
}

/// A help entry as an admin sends it (seed 000's names accepted too).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"question": "How to charge", "answer": "Scan the charger's code and tap Start"}))]
pub struct HelpInput {
    /// 1 to 500 characters.
    #[serde(alias = "Question")]
    pub question: String,
    /// 1 to 5000 characters.
    #[serde(alias = "Answer")]
    pub answer: String,
}

fn checked_help(input: &HelpInput) -> ApiResult<(String, String)> {
    Ok((
        clean_long_text("question", &input.question, MAX_QUESTION_CHARS, false, true)?,
        clean_long_text("answer", &input.answer, MAX_ANSWER_CHARS, false, true)?,
    ))
}

fn help_not_found() -> ApiError {
    ApiError::not_found("help_not_found", "no such help entry")
}

async fn find_help(state: &AppState, id: &str) -> ApiResult<HelpEntry> {
    let id: i64 = id.trim().parse().map_err(|_| help_not_found())?;
    state.store.find_help(id).await?.ok_or_else(help_not_found)
}

/// Every help entry (admins only; the app reads them in `/api/v1/app-info`).
#[utoipa::path(get, path = "/api/v1/admin/help", tag = "content",
    responses((status = 200, body = [HelpItem]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_list_help(
    State(state): State<AppState>,
    _admin: AdminAccess,
) -> ApiResult<Json<Vec<HelpItem>>> {
    let all = state.store.list_help().await?;
    Ok(Json(all.iter().map(help_item).collect()))
}

/// Adds a help entry (admins only).
#[utoipa::path(post, path = "/api/v1/admin/help", tag = "content",
    request_body = HelpInput,
    responses((status = 201, body = HelpItem), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_create_help(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(input): Json<HelpInput>,
) -> ApiResult<(StatusCode, Json<HelpItem>)> {
    let (question, answer) = checked_help(&input)?;
    if state.store.list_help().await?.len() >= MAX_HELP_ENTRIES {
        return Err(ApiError::conflict(
            "too_many_help_entries",
            format!("at most {MAX_HELP_ENTRIES} help entries"),
        ));
    }
    let entry = state
        .store
        .insert_help(&question, &answer, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(help_item(&entry))))
}

/// One help entry (admins only).
#[utoipa::path(get, path = "/api/v1/admin/help/{id}", tag = "content",
    params(("id" = i64, Path, description = "The entry's id")),
    responses((status = 200, body = HelpItem), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_get_help(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<HelpItem>> {
    Ok(Json(help_item(&find_help(&state, &id).await?)))
}

/// Replaces a help entry's question and answer (admins only).
#[utoipa::path(put, path = "/api/v1/admin/help/{id}", tag = "content",
    params(("id" = i64, Path, description = "The entry's id")),
    request_body = HelpInput,
    responses((status = 200, body = HelpItem), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_update_help(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(input): Json<HelpInput>,
) -> ApiResult<Json<HelpItem>> {
    let mut entry = find_help(&state, &id).await?;
    let (question, answer) = checked_help(&input)?;
    entry.question = question;
    entry.answer = answer;
    entry.updated_at = state.clock.now();
    state.store.update_help(&entry).await?;
    Ok(Json(help_item(&entry)))
}

/// Deletes a help entry (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/help/{id}", tag = "content",
    params(("id" = i64, Path, description = "The entry's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_delete_help(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let entry = find_help(&state, &id).await?;
    if state.store.delete_help(entry.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(help_not_found())
    }
}

// ---------------------------------------------------------------- amenities

/// An amenity drivers can filter the search by (a site facility code).
#[derive(Debug, Serialize, ToSchema)]
pub struct AmenityView {
    /// Stable numeric id (the facility's list id).
    #[schema(example = 16)]
    pub id: u32,
    /// The code to send in the search's `facilities` filter.
    #[schema(example = "WIFI")]
    pub code: String,
    /// Name to show.
    #[schema(example = "Wi-Fi")]
    pub name: String,
    /// Icon, or null.
    pub icon_url: Option<String>,
}

/// An amenity as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAmenityView {
    /// What drivers see.
    #[serde(flatten)]
    pub amenity: AmenityView,
    /// The code's own description (shown when no name is set).
    pub default_name: String,
    /// Left out of the public list.
    pub hidden: bool,
}

fn amenity_views(settings: &[AmenitySetting]) -> Vec<AdminAmenityView> {
    Facility::ALL
        .iter()
        .map(|f| {
            let setting = settings.iter().find(|s| s.code == f.code());
            AdminAmenityView {
                amenity: AmenityView {
                    id: f.list_id(),
                    code: f.code().to_owned(),
                    name: setting
                        .and_then(|s| s.display_name.clone())
                        .unwrap_or_else(|| f.description().to_owned()),
                    icon_url: setting.and_then(|s| s.icon_url.clone()),
                },
                default_name: f.description().to_owned(),
                hidden: setting.is_some_and(|s| s.hidden),
            }
        })
        .collect()
}

/// Seed 000's amenities list for the search filter: the facility codes
/// search filters on (`facilities=WIFI,CAFE`), with names and icons.
/// Anyone may call.
#[utoipa::path(get, path = "/api/v1/amenities", tag = "content",
    responses((status = 200, body = [AmenityView])))]
async fn amenities(State(state): State<AppState>) -> ApiResult<Json<Vec<AmenityView>>> {
    let settings = state.store.list_amenity_settings().await?;
    Ok(Json(
        amenity_views(&settings)
            .into_iter()
            .filter(|a| !a.hidden)
            .map(|a| a.amenity)
            .collect(),
    ))
}

/// Every amenity, hidden ones too (admins only).
#[utoipa::path(get, path = "/api/v1/admin/amenities", tag = "content",
    responses((status = 200, body = [AdminAmenityView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_list_amenities(
    State(state): State<AppState>,
    _admin: AdminAccess,
) -> ApiResult<Json<Vec<AdminAmenityView>>> {
    let settings = state.store.list_amenity_settings().await?;
    Ok(Json(amenity_views(&settings)))
}

/// An amenity's label as an admin sets it (replacing the previous one).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Free Wi-Fi", "icon_url": "https://cdn.plugway.example/icons/wifi.png", "hidden": false}))]
pub struct AmenityInput {
    /// Name to show, 1 to 100 characters; null for the code's own description.
    #[serde(default)]
    pub name: Option<String>,
    /// An http(s) icon URL, or null.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Leave it out of the public list (default false).
    #[serde(default)]
    pub hidden: Option<bool>,
}

/// Sets an amenity's name, icon and visibility (admins only). `code` is a
/// facility code (`WIFI`, `BANKS%2FATM`) or its numeric id; an unknown one is 404.
#[utoipa::path(put, path = "/api/v1/admin/amenities/{code}", tag = "content",
    params(("code" = String, Path, description = "A facility code or its numeric id")),
    request_body = AmenityInput,
    responses((status = 200, body = AdminAmenityView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_set_amenity(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(code): Path<String>,
    Json(input): Json<AmenityInput>,
) -> ApiResult<Json<AdminAmenityView>> {
    let code = code.trim();
    let facility = Facility::ALL
        .iter()
        .copied()
        .find(|f| f.code().eq_ignore_ascii_case(code) || f.list_id().to_string() == code)
        .ok_or_else(|| ApiError::not_found("amenity_not_found", "no such amenity"))?;
    let setting = AmenitySetting {
        code: facility.code().to_owned(),
        display_name: match input.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(clean_long_text("name", name, 100, false, false)?),
        },
        icon_url: match input.icon_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(web_url("icon_url", url)?),
        },
        hidden: input.hidden.unwrap_or(false),
        updated_at: state.clock.now(),
    };
    state.store.set_amenity_setting(&setting).await?;
    amenity_views(std::slice::from_ref(&setting))
        .into_iter()
        .find(|a| a.amenity.code == setting.code)
        .map(Json)
        .ok_or_else(|| ApiError::internal("amenity vanished"))
}
