//! Review of hosts' changes to approved sites and EVSEs (revisions): the
//! admin's queue and decisions, beside the existing `.../approval`
//! endpoints and in their shape, and the host's withdrawal.
//!
//! A host edits through the ordinary `PUT /api/v1/host/sites/{id}` and
//! `PUT /api/v1/host/evses/{id}`; their views carry `pending_changes` and
//! `revision`. A host reaches only its own listings' revisions (another
//! host's are "not found"); only admins decide. See docs/revisions.md.

use axum::extract::State;
use axum::http::StatusCode;
use plugway_store::RevisionTarget;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, OperatorAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::network::{
    managed_evse, managed_site, parse_evse_id, parse_site_id, site_not_found, site_view,
};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::approvals::{self, open_revision, revision_error, Verdict};
use plugway_app::revisions::{self, RevisionView};
use plugway_app::views::{EvseView, SiteView};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_revisions))
        .routes(routes!(decide_site_revision))
        .routes(routes!(decide_evse_revision))
        .routes(routes!(withdraw_site_revision))
        .routes(routes!(withdraw_evse_revision))
}

/// An admin's decision on a revision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionDecision {
    /// APPROVED (apply the changes) or REJECTED (keep the listing as it is).
    pub approval: String,
    /// The revision's version the admin reviewed (its `version`); required
    /// to approve, so changes the host made since are never approved
    /// unseen. Optional for a rejection.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, for a rejection (shown to the host).
    #[serde(default)]
    pub reason: Option<String>,
}

impl RevisionDecision {
    fn parse(self) -> ApiResult<Verdict> {
        Ok(Verdict::parse(
            &self.approval,
            self.version,
            self.reason.as_deref(),
        )?)
    }
}

async fn decide(
    state: &AppState,
    of: RevisionTarget,
    site_name: &str,
    decision: RevisionDecision,
) -> ApiResult<()> {
    let verdict = decision.parse()?;
    approvals::decide_revision(state, of, site_name, verdict).await?;
    Ok(())
}

/// Changes waiting for review (sites' and EVSEs'), oldest first, each with
/// the live values it would replace.
#[utoipa::path(get, path = "/api/v1/admin/revisions", tag = "admin", params(PageQuery),
    responses((status = 200, body = Paginated<crate::schemas::RevisionView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_revisions(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<RevisionView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_open_revisions(None).await?;
    let open = state.store.list_open_revisions(None, offset, size).await?;
    let views = revisions::queue_views(state.store.as_ref(), &open).await?;
    Ok(Json(Paginated::new(views, count, page, size)))
}

/// Approves (applies, with the site's search data, in one transaction) or
/// rejects the site's open revision.
#[utoipa::path(post, path = "/api/v1/admin/sites/{id}/revision/approval", tag = "admin",
    request_body = RevisionDecision,
    responses((status = 200, body = crate::schemas::SiteView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decide_site_revision(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(decision): Json<RevisionDecision>,
) -> ApiResult<Json<SiteView>> {
    let id = parse_site_id(&id)?;
    let site = state
        .store
        .find_site(id)
        .await?
        .ok_or_else(site_not_found)?;
    decide(
        &state,
        RevisionTarget::Site(id),
        &site.fields.name,
        decision,
    )
    .await?;
    Ok(Json(site_view(&state, id).await?))
}

/// Approves or rejects the EVSE's open revision.
#[utoipa::path(post, path = "/api/v1/admin/evses/{id}/revision/approval", tag = "admin",
    request_body = RevisionDecision,
    responses((status = 200, body = crate::schemas::EvseView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decide_evse_revision(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(decision): Json<RevisionDecision>,
) -> ApiResult<Json<EvseView>> {
    let id = parse_evse_id(&id)?;
    let not_found = || ApiError::not_found("evse_not_found", "no such EVSE");
    let evse = state.store.find_evse(id).await?.ok_or_else(not_found)?;
    let site = state
        .store
        .find_site(evse.site_id)
        .await?
        .ok_or_else(not_found)?;
    decide(
        &state,
        RevisionTarget::Evse(id),
        &site.fields.name,
        decision,
    )
    .await?;
    let evse = state.store.find_evse(id).await?.ok_or_else(not_found)?;
    Ok(Json(
        revisions::evse_operator_view(state.store.as_ref(), &evse, &site).await?,
    ))
}

/// Withdraws the site's open revision: the proposed changes are dropped
/// and the approved site stays as it is.
#[utoipa::path(delete, path = "/api/v1/host/sites/{id}/revision", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn withdraw_site_revision(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let site = managed_site(&state, &who, parse_site_id(&id)?).await?;
    let open = open_revision(&state, RevisionTarget::Site(site.id)).await?;
    state
        .store
        .withdraw_revision(open.id, state.clock.now())
        .await
        .map_err(|e| ApiError::from(revision_error(e)))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraws the EVSE's open revision.
#[utoipa::path(delete, path = "/api/v1/host/evses/{id}/revision", tag = "network",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn withdraw_evse_revision(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (_, evse) = managed_evse(&state, &who, &id).await?;
    let open = open_revision(&state, RevisionTarget::Evse(evse.id)).await?;
    state
        .store
        .withdraw_revision(open.id, state.clock.now())
        .await
        .map_err(|e| ApiError::from(revision_error(e)))?;
    Ok(StatusCode::NO_CONTENT)
}
