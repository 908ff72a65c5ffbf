//! Approvals: hosts' new sites and EVSEs, and changes to approved ones,
//! waiting for an admin; the changes beside the live values, approve or
//! reject (with the reason the host is shown). The rules are the core's
//! ([`plugway_app::approvals`]), the same as the API's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use plugway_app::approvals::{self, Verdict};
use plugway_domain::{ApprovalState, EvseId, SiteId};
use plugway_store::{EvseListFilter, RevisionTarget, SiteListFilter};
use serde::Deserialize;
use serde_json::Value;

use super::layout::csrf_field;
use super::{when, ConsoleError, ConsoleResult, Person};
use crate::AppState;

/// Entries of each kind shown at once (the oldest first).
const SHOWN: i64 = 100;

/// `GET /console/approvals`.
pub async fn page(State(state): State<AppState>, person: Person) -> Response {
    person.page(
        "Approvals",
        "/console/approvals",
        body(&state, &person).await,
    )
}

async fn body(state: &AppState, person: &Person) -> ConsoleResult<Markup> {
    person.require_admin()?;
    let sites = state
        .store
        .list_sites(
            &SiteListFilter {
                host: None,
                approval: Some(ApprovalState::Pending),
                visible_only: false,
            },
            0,
            SHOWN,
        )
        .await?;
    let evses = state
        .store
        .list_evses(
            &EvseListFilter {
                host: None,
                location_name: None,
                approval: Some(ApprovalState::Pending),
                visible_only: false,
                order_by_location: false,
                descending: false,
            },
            0,
            SHOWN,
        )
        .await?;
    let open = state.store.list_open_revisions(None, 0, SHOWN).await?;
    let revisions = plugway_app::revisions::queue_views(state.store.as_ref(), &open).await?;
    Ok(html! {
        h1 { "Approvals" }
        section aria-labelledby="sites-title" {
            h2 #sites-title { "New sites (" (sites.len()) ")" }
            @if sites.is_empty() { p { "None waiting." } }
            @for site in &sites {
                article.review data-site=(site.id.to_text()) {
                    h3 { (site.fields.name) }
                    dl.facts {
                        dt { "Address" } dd { (site.fields.address) ", " (site.fields.city) ", " (site.fields.country_code) }
                        dt { "Where" } dd { (format!("{:.5}, {:.5}", site.fields.coordinates.lat, site.fields.coordinates.lng)) }
                        dt { "Host" } dd { a href={ "/console/people/" (site.host_id.to_text()) } { (site.host_id.to_text()) } }
                        dt { "Submitted" } dd { (when(site.created_at)) }
                    }
                    (decision_form(person, &format!("/console/approvals/sites/{}", site.id.to_text()), None))
                }
            }
        }
        section aria-labelledby="evses-title" {
            h2 #evses-title { "New EVSEs (" (evses.len()) ")" }
            @if evses.is_empty() { p { "None waiting." } }
            @for evse in &evses {
                article.review {
                    h3 { "EVSE " (evse.fields.evse_code) }
                    dl.facts {
                        dt { "Charger" } dd { (evse.fields.charge_point_id.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default())
                            @if let Some(c) = evse.fields.ocpp_connector_id { " #" (c) } }
                        dt { "Site" } dd { (evse.site_id.to_text()) }
                        dt { "Submitted" } dd { (when(evse.created_at)) }
                    }
                    (decision_form(person, &format!("/console/approvals/evses/{}", evse.id.to_text()), None))
                }
            }
        }
        section aria-labelledby="rev-title" {
            h2 #rev-title { "Changes to approved listings (" (revisions.len()) ")" }
            @if revisions.is_empty() { p { "None waiting." } }
            @for r in &revisions {
                @let (kind, target) = match &r.evse_id { Some(e) => ("evse", e.clone()), None => ("site", r.site_id.clone()) };
                article.review {
                    h3 { (r.site_name) @if r.evse_id.is_some() { " (an EVSE)" } " · version " (r.version) }
                    (side_by_side(&r.current, &r.changes))
                    (decision_form(person, &format!("/console/approvals/revisions/{kind}/{target}"), Some(r.version)))
                }
            }
        }
    })
}

/// The live values and the proposed ones, field by field.
fn side_by_side(current: &Value, changes: &Value) -> Markup {
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::from("—"),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    html! {
        table.diff {
            thead { tr { th scope="col" { "Field" } th scope="col" { "Now" } th scope="col" { "Proposed" } } }
            tbody {
                @if let Value::Object(fields) = changes {
                    @for (key, proposed) in fields {
                        tr { th scope="row" { (key) } td.old { (show(current.get(key))) } td.new { (show(Some(proposed))) } }
                    }
                }
            }
        }
    }
}

/// Approve and reject are two forms: the reason box belongs to the
/// rejection alone, so Enter in it can only reject, and an approval never
/// carries a reason by accident.
fn decision_form(person: &Person, action: &str, version: Option<i64>) -> Markup {
    html! {
        div.decisions {
            form.decision method="post" action=(action) {
                (csrf_field(person))
                @if let Some(v) = version { input type="hidden" name="version" value=(v); }
                input type="hidden" name="approval" value="APPROVED";
                button type="submit" { "Approve" }
            }
            form.decision method="post" action=(action) {
                (csrf_field(person))
                @if let Some(v) = version { input type="hidden" name="version" value=(v); }
                input type="hidden" name="approval" value="REJECTED";
                label { "Reason (shown to the host) " input type="text" name="reason" maxlength="500" required; }
                button.danger type="submit" { "Reject" }
            }
        }
    }
}

/// A decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    approval: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

fn done(result: ConsoleResult<()>, person: &Person) -> Response {
    match result {
        Ok(()) => Redirect::to("/console/approvals").into_response(),
        Err(e) => e.page(Some(person)),
    }
}

fn bad_id() -> ConsoleError {
    ConsoleError::new(StatusCode::NOT_FOUND, "There is no such listing.")
}

/// `POST /console/approvals/sites/{id}`.
pub async fn decide_site(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let result = async {
        person.check_csrf(&state, &form.csrf)?;
        person.require_admin()?;
        let id = SiteId(id.parse().map_err(|_| bad_id())?);
        let (approval, reason) = approvals::listing_decision(&form.approval, form.reason.as_deref())?;
        approvals::decide_site(&state, id, approval, reason.as_deref()).await?;
        tracing::info!(site = %id, approval = approval.code(), by = %person.user.id, "console decision");
        Ok(())
    }
    .await;
    done(result, &person)
}

/// `POST /console/approvals/evses/{id}`.
pub async fn decide_evse(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let result = async {
        person.check_csrf(&state, &form.csrf)?;
        person.require_admin()?;
        let id = EvseId(id.parse().map_err(|_| bad_id())?);
        let (approval, reason) =
            approvals::listing_decision(&form.approval, form.reason.as_deref())?;
        approvals::decide_evse(&state, id, approval, reason.as_deref()).await?;
        Ok(())
    }
    .await;
    done(result, &person)
}

/// `POST /console/approvals/revisions/{site|evse}/{id}`.
pub async fn decide_revision(
    State(state): State<AppState>,
    person: Person,
    Path((kind, id)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let result = async {
        person.check_csrf(&state, &form.csrf)?;
        person.require_admin()?;
        let version = match form.version.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                ConsoleError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The version must be a number.",
                )
            })?),
        };
        let verdict = Verdict::parse(&form.approval, version, form.reason.as_deref())?;
        let uuid = id.parse().map_err(|_| bad_id())?;
        let (target, site_id) = match kind.as_str() {
            "site" => (RevisionTarget::Site(SiteId(uuid)), SiteId(uuid)),
            "evse" => {
                let evse = state
                    .store
                    .find_evse(EvseId(uuid))
                    .await?
                    .ok_or_else(bad_id)?;
                (RevisionTarget::Evse(EvseId(uuid)), evse.site_id)
            }
            _ => return Err(bad_id()),
        };
        let site = state.store.find_site(site_id).await?.ok_or_else(bad_id)?;
        approvals::decide_revision(&state, target, &site.fields.name, verdict).await?;
        Ok(())
    }
    .await;
    done(result, &person)
}
