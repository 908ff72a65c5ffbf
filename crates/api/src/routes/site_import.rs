//! `POST /api/v1/host/sites/import`: sites with their EVSEs from a CSV file
//! (seed 003's "Register Locations through CSV", on the canonical API). The
//! format and the all-or-nothing rules are in
//! [`plugway_app::site_import`] and `docs/import.md`.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugway_domain::UserId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::OperatorAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};
use crate::routes::network::ForHost;
use crate::AppState;
use plugway_app::site_import::{self, ImportError, Report, RowError, MAX_BYTES};

/// The router; uploads may be up to `max_upload_bytes` (the file itself at
/// most [`MAX_BYTES`]).
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_sites))
        .layer(DefaultBodyLimit::max(max_upload_bytes))
}

/// What an import created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedView {
    /// Sites created (pending approval).
    pub sites: usize,
    /// EVSEs created (pending approval).
    pub evses: usize,
    /// The new sites' ids, in file order.
    pub site_ids: Vec<String>,
}

/// A file that was not imported, with its problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportErrorBody {
    /// `invalid_csv` (422: the file has problems) or `import_conflict`
    /// (409: a row clashed with existing data while writing; what was
    /// written was removed).
    #[schema(example = "invalid_csv")]
    pub code: String,
    /// For people.
    pub message: String,
    /// The first 100 problems, in file order.
    #[schema(value_type = Vec<crate::schemas::RowError>)]
    pub errors: Vec<RowError>,
    /// How many problems were found in all.
    pub error_count: usize,
}

/// The failure of an import request.
#[derive(Debug)]
pub enum ImportFailure {
    /// The request itself was refused.
    Request(ApiError),
    /// The import ran and failed.
    Import(ImportError),
}

impl From<ApiError> for ImportFailure {
    fn from(e: ApiError) -> Self {
        Self::Request(e)
    }
}

impl From<plugway_app::AppError> for ImportFailure {
    fn from(e: plugway_app::AppError) -> Self {
        Self::Request(e.into())
    }
}

fn report_response(status: StatusCode, code: &str, report: Report) -> Response {
    let body = ImportErrorBody {
        code: code.to_owned(),
        message: report.summary(),
        errors: report.errors,
        error_count: report.error_count,
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ImportFailure {
    fn into_response(self) -> Response {
        let failure = match self {
            Self::Request(e) => return e.into_response(),
            Self::Import(failure) => failure,
        };
        match failure {
            ImportError::Invalid(report) => {
                report_response(StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv", report)
            }
            ImportError::Conflict(report) => {
                report_response(StatusCode::CONFLICT, "import_conflict", report)
            }
            ImportError::Failed(e) => ApiError::from(e).into_response(),
        }
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(e.status(), "invalid_multipart", e.body_text())
}

/// The one file of the form, read chunk by chunk up to [`MAX_BYTES`].
pub(crate) async fn read_csv(multipart: &mut Multipart) -> ApiResult<Vec<u8>> {
    let mut file: Option<Vec<u8>> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            return Err(ApiError::invalid_field(
                "file",
                format!("unexpected form field {name:?}; send the CSV as \"file\""),
            ));
        }
        if file.is_some() {
            return Err(ApiError::invalid_field("file", "send one file at a time"));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if (bytes.len() + chunk.len()) as u64 > MAX_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    format!(
                        "a CSV file may have at most {} MiB; split it",
                        MAX_BYTES / 1024 / 1024
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
    }
    file.ok_or_else(|| {
        ApiError::invalid_field("file", "send the CSV file in the form field \"file\"")
    })
}

/// Whose sites these will be: a host imports for themselves; an admin names
/// the host with `host_id`.
pub(crate) async fn importing_host(
    state: &AppState,
    who: &OperatorAccess,
    for_host: &ForHost,
) -> ApiResult<UserId> {
    match (who.host(), for_host.host_id.as_deref()) {
        (Some(host), None) => Ok(host),
        (Some(_), Some(_)) => Err(ApiError::forbidden(
            "hosts import sites for themselves only",
        )),
        (None, Some(text)) => Ok(site_import::find_host(state, text, "host_id").await?),
        (None, None) => Err(ApiError::invalid_field(
            "host_id",
            "admins give the host the sites belong to",
        )),
    }
}

/// Imports sites with their EVSEs from a CSV file (multipart, field `file`;
/// one row per EVSE, rows sharing `site_ref` form a site; see
/// docs/import.md). All or nothing: the whole file is checked first, and
/// if any row is bad nothing is created and the reply lists the problems
/// (`{row, column, code, message}`, row = line in the file). Created sites
/// and EVSEs wait for an admin's approval.
#[utoipa::path(post, path = "/api/v1/host/sites/import", tag = "network", params(ForHost),
    request_body(content_type = "multipart/form-data",
        description = "`file`: the CSV file (at most 20 MiB, 50,000 rows)"),
    responses((status = 201, body = ImportedView),
        (status = 403, body = ErrorBody),
        (status = 409, body = ImportErrorBody, description = "a row clashed with existing data; nothing was kept"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ImportErrorBody, description = "the file has problems (`invalid_csv`); nothing was imported")),
    security(("bearer" = [])))]
async fn import_sites(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(for_host): Query<ForHost>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<ImportedView>), ImportFailure> {
    let host = importing_host(&state, &who, &for_host).await?;
    let file = read_csv(&mut multipart).await?;
    let summary = site_import::import(&state, host, std::io::Cursor::new(file), |_| {})
        .await
        .map_err(ImportFailure::Import)?;
    Ok((
        StatusCode::CREATED,
        Json(ImportedView {
            sites: summary.sites,
            evses: summary.evses,
            site_ids: summary.site_ids.iter().map(|id| id.to_text()).collect(),
        }),
    ))
}
