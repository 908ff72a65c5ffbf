//! Revisions as hosts and admins see them: a host's changes to an approved
//! site or EVSE, rendered in the same field names as the site and EVSE
//! views (and as `SiteInput` / `EvseInput`), so a client shows "from → to"
//! without a second vocabulary. Drivers never see any of this: their views
//! leave `pending_changes` and `revision` out. See docs/revisions.md.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use plugway_domain::{EvseId, RevisionState, SiteId};
use plugway_store::{Evse, EvseChanges, Revision, RevisionChanges, Site, SiteChanges, Store};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::AppResult;
use crate::views::{connector_views, EvseView, RevisionStatusView, SiteView};

/// A revision in the admin's queue, with the live values it would replace.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionView {
    /// Its id.
    pub id: String,
    /// SITE or EVSE.
    pub kind: String,
    /// The site (an EVSE revision's too).
    pub site_id: String,
    /// The EVSE, for an EVSE revision.
    pub evse_id: Option<String>,
    /// The site's host.
    pub host_id: String,
    /// The site's (approved) name, to tell queue entries apart.
    pub site_name: String,
    /// The version to approve.
    pub version: i64,
    /// OPEN, APPROVED, REJECTED or WITHDRAWN.
    pub state: RevisionState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The proposed values of the fields that change.
    pub changes: Value,
    /// The live (approved) values of the same fields.
    pub current: Value,
    /// When first proposed.
    pub created_at: DateTime<Utc>,
    /// Last edit or decision.
    pub updated_at: DateTime<Utc>,
    /// When approved, rejected or withdrawn.
    pub decided_at: Option<DateTime<Utc>>,
}

/// Site changes in the site view's field names.
pub fn site_changes_view(c: &SiteChanges) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert(key.to_owned(), v);
        }
    };
    put("name", c.name.as_ref().map(|v| json!(v)));
    put("address", c.address.as_ref().map(|v| json!(v)));
    put("city", c.city.as_ref().map(|v| json!(v)));
    put("province", c.province.as_ref().map(|v| json!(v)));
    put("region", c.region.as_ref().map(|v| json!(v)));
    put("postal_code", c.postal_code.as_ref().map(|v| json!(v)));
    put("country_code", c.country_code.as_ref().map(|v| json!(v)));
    put("latitude", c.coordinates.map(|p| json!(p.lat)));
    put("longitude", c.coordinates.map(|p| json!(p.lng)));
    put("time_zone", c.time_zone.map(|z| json!(z.name())));
    put("currency", c.currency.map(|cur| json!(cur.code())));
    Value::Object(out)
}

/// EVSE changes in the EVSE view's field names.
pub fn evse_changes_view(c: &EvseChanges) -> Value {
    let mut out = Map::new();
    if let Some(v) = &c.evse_code {
        out.insert("evse_code".into(), json!(v));
    }
    if let Some(v) = &c.serial_number {
        out.insert("serial_number".into(), json!(v));
    }
    if let Some(v) = &c.meter_type {
        out.insert("meter_type".into(), json!(v));
    }
    if let Some(v) = &c.connectors {
        out.insert("connectors".into(), json!(connector_views(v)));
    }
    Value::Object(out)
}

/// A revision's changes in its listing's view names.
pub fn changes_view(changes: &RevisionChanges) -> Value {
    match changes {
        RevisionChanges::Site(c) => site_changes_view(c),
        RevisionChanges::Evse(c) => evse_changes_view(c),
    }
}

/// The keys of `changes`, with their values in `all` (the live listing).
fn same_keys(changes: &Value, all: Value) -> Value {
    match (changes, all) {
        (Value::Object(keys), Value::Object(mut all)) => Value::Object(
            keys.keys()
                .filter_map(|k| all.remove(k).map(|v| (k.clone(), v)))
                .collect(),
        ),
        _ => Value::Object(Map::new()),
    }
}

/// The open revision's changes, or null.
fn pending(r: Option<&Revision>) -> Option<Value> {
    r.filter(|r| r.state == RevisionState::Open)
        .map(|r| changes_view(&r.changes))
}

/// Fills in `pending_changes` and `revision` of operator views of sites
/// (and of the EVSEs inside them), from one query.
pub async fn attach_to_sites(store: &dyn Store, views: &mut [SiteView]) -> AppResult<()> {
    let ids: Vec<SiteId> = views.iter().filter_map(|v| v.id.parse().ok()).collect();
    let mut sites: HashMap<SiteId, Revision> = HashMap::new();
    let mut evses: HashMap<EvseId, Revision> = HashMap::new();
    for r in store.latest_revisions(&ids).await? {
        match r.evse_id {
            Some(evse) => evses.insert(evse, r),
            None => sites.insert(r.site_id, r),
        };
    }
    for view in views.iter_mut() {
        let latest = view.id.parse().ok().and_then(|id| sites.remove(&id));
        view.pending_changes = Some(pending(latest.as_ref()));
        view.revision = Some(latest.as_ref().map(RevisionStatusView::from));
        for evse in &mut view.evses {
            let latest = evse.id.parse().ok().and_then(|id| evses.remove(&id));
            set_evse(evse, latest.as_ref());
        }
    }
    Ok(())
}

fn set_evse(view: &mut EvseView, latest: Option<&Revision>) {
    view.pending_changes = Some(pending(latest));
    view.revision = Some(latest.map(RevisionStatusView::from));
}

/// An operator's view of one EVSE, with its revision.
pub async fn evse_operator_view(
    store: &dyn Store,
    evse: &Evse,
    site: &Site,
) -> AppResult<EvseView> {
    let mut view = EvseView::new(evse, site.fields.currency);
    let latest = store
        .latest_revisions(&[site.id])
        .await?
        .into_iter()
        .find(|r| r.evse_id == Some(evse.id));
    set_evse(&mut view, latest.as_ref());
    Ok(view)
}

/// The admin's view of revisions, with the live values beside the
/// proposed ones (sites and EVSEs loaded in two queries).
pub async fn queue_views(
    store: &dyn Store,
    revisions: &[Revision],
) -> AppResult<Vec<RevisionView>> {
    let mut ids: Vec<SiteId> = revisions.iter().map(|r| r.site_id).collect();
    ids.sort();
    ids.dedup();
    let sites: HashMap<SiteId, Site> = store
        .find_sites(&ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let evses: HashMap<EvseId, Evse> = if revisions.iter().any(|r| r.evse_id.is_some()) {
        store
            .list_site_evses(&ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(revisions
        .iter()
        .map(|r| {
            let changes = changes_view(&r.changes);
            let site = sites.get(&r.site_id);
            let live = match r.evse_id {
                Some(evse) => evses
                    .get(&evse)
                    .map(|e| evse_changes_view(&EvseChanges::all_of(&e.fields))),
                None => site.map(|s| site_changes_view(&SiteChanges::all_of(&s.fields))),
            };
            RevisionView {
                id: r.id.to_text(),
                kind: if r.evse_id.is_some() { "EVSE" } else { "SITE" }.to_owned(),
                site_id: r.site_id.to_text(),
                evse_id: r.evse_id.map(EvseId::to_text),
                host_id: r.host_id.to_text(),
                site_name: site.map(|s| s.fields.name.clone()).unwrap_or_default(),
                version: r.version,
                state: r.state,
                reason: r.reason.clone(),
                current: live.map_or_else(|| Value::Object(Map::new()), |l| same_keys(&changes, l)),
                changes,
                created_at: r.created_at,
                updated_at: r.updated_at,
                decided_at: r.decided_at,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use plugway_domain::Coordinates;

    #[test]
    fn changes_use_the_view_names_and_keep_cleared_fields() {
        let changes = SiteChanges {
            name: Some("New".into()),
            postal_code: Some(None),
            coordinates: Some(Coordinates::new(1.5, 2.5).unwrap()),
            ..SiteChanges::default()
        };
        let view = site_changes_view(&changes);
        assert_eq!(
            view,
            json!({"name": "New", "postal_code": null, "latitude": 1.5, "longitude": 2.5})
        );
        let current = same_keys(
            &view,
            json!({"name": "Old", "address": "x", "postal_code": "1", "latitude": 0.0, "longitude": 0.0}),
        );
        assert_eq!(
            current,
            json!({"name": "Old", "postal_code": "1", "latitude": 0.0, "longitude": 0.0})
        );
    }
}
