//! Conformance cases for [`plugway_store::RevisionStore`]: a host's changes
//! to an approved site or EVSE wait for review, merge, and go live (search
//! included) only when approved.

use chrono::Duration;
use plugway_domain::{
    ApprovalState, BoundingBox, ConnectorStandard, Coordinates, EvseId, OpeningHours, RevisionId,
    RevisionState, SiteId, UserId,
};
use plugway_store::{
    Evse, EvseChanges, RevisionChanges, RevisionTarget, Site, SiteChanges, SiteFilter, Store,
    StoreError,
};

use super::network::{evse_fields, visible_site};
use super::{make_user, new_id, t0};

/// Calls `$m!(case, ...)` with every revision case (kept apart from
/// [`crate::for_each_case!`] so the lists merge without conflicts).
#[macro_export]
macro_rules! for_each_revision_case {
    ($m:ident) => {
        $m!(
            material_site_edits_wait_for_review_and_merge,
            withdrawn_and_rejected_revisions_change_nothing,
            evse_revisions_hold_connectors_until_approved,
            edits_of_unlisted_listings_apply_directly,
        );
    };
}

fn rid() -> RevisionId {
    RevisionId(new_id())
}

/// Sites search finds around `at` (5 km) whose text has every term.
async fn found(store: &dyn Store, at: (f64, f64), terms: &[&str], min_power_w: i64) -> Vec<SiteId> {
    let filter = SiteFilter {
        boxes: BoundingBox::around(Coordinates::new(at.0, at.1).unwrap(), 5_000.0)
            .split_at_antimeridian(),
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        min_power_w,
        limit: 100,
        ..SiteFilter::default()
    };
    let mut ids: Vec<SiteId> = store
        .search_site_candidates(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

async fn listed(store: &dyn Store, host: UserId, name: &str, at: (f64, f64)) -> (Site, Evse) {
    let (site, evse) = visible_site(
        store,
        host,
        name,
        at,
        evse_fields("R1", ConnectorStandard::Type2, 22_000),
    )
    .await;
    let site = store.find_site(site.id).await.unwrap().unwrap();
    let evse = store.find_evse(evse.id).await.unwrap().unwrap();
    assert!(site.visible);
    (site, evse)
}

fn site_changes(r: &plugway_store::Revision) -> &SiteChanges {
    match &r.changes {
        RevisionChanges::Site(c) => c,
        RevisionChanges::Evse(_) => panic!("an EVSE revision: {r:?}"),
    }
}

/// A host renames and moves an approved site: the live row (and search)
/// keeps the approved name and place, operational fields apply at once,
/// a second edit merges into the same revision under a new version, a
/// decision on an old version is refused, and approval applies the
/// changes with the search columns recomputed.
pub async fn material_site_edits_wait_for_review_and_merge(store: &dyn Store) {
    let host = make_user(store, "+97688220001").await;
    let old_at = (47.918, 106.917);
    let new_at = (47.700, 106.500);
    let (site, _) = listed(store, host.id, "Zaisan Hub", old_at).await;
    let later = t0() + Duration::minutes(10);

    let mut edit = site.fields.clone();
    edit.name = "Khan Uul Plaza".into();
    edit.coordinates = Coordinates::new(new_at.0, new_at.1).unwrap();
    edit.opening_hours = OpeningHours {
        twentyfourseven: false,
        ..OpeningHours::always()
    };
    edit.published = true;
    let first = store
        .host_edit_site(site.id, &edit, rid(), later)
        .await
        .unwrap()
        .expect("material changes open a revision");
    assert_eq!(first.state, RevisionState::Open);
    assert_eq!(first.version, 1);
    assert_eq!(first.host_id, host.id);
    assert_eq!(first.target(), RevisionTarget::Site(site.id));
    let changes = site_changes(&first);
    assert_eq!(changes.name.as_deref(), Some("Khan Uul Plaza"));
    assert_eq!(changes.coordinates, Some(edit.coordinates));
    assert_eq!(changes.address, None, "unchanged fields are not proposed");

    // Drivers still find the approved name at the approved place; the
    // hours (operational) changed at once.
    let live = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!(live.fields.name, "Zaisan Hub");
    assert_eq!(live.fields.coordinates, site.fields.coordinates);
    assert!(!live.fields.opening_hours.twentyfourseven);
    assert_eq!(live.approval, ApprovalState::Approved);
    assert!(live.visible);
    assert_eq!(found(store, old_at, &["zaisan"], 0).await, vec![site.id]);
    assert!(found(store, old_at, &["khan"], 0).await.is_empty());
    assert!(found(store, new_at, &[], 0).await.is_empty());
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (1, 0));
    assert_eq!(
        store
            .open_revision(RevisionTarget::Site(site.id))
            .await
            .unwrap(),
        Some(first.clone())
    );

    // A second edit from the live view changes the address: it merges.
    let mut again = live.fields.clone();
    again.address = "Zaisan Street 5".into();
    let merged = store
        .host_edit_site(site.id, &again, rid(), later + Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.id, first.id, "one open revision per site");
    assert_eq!(merged.version, 2);
    let changes = site_changes(&merged);
    assert_eq!(changes.name.as_deref(), Some("Khan Uul Plaza"));
    assert_eq!(changes.address.as_deref(), Some("Zaisan Street 5"));
    assert_eq!(changes.coordinates, Some(edit.coordinates));
    assert_eq!(store.count_open_revisions(Some(host.id)).await.unwrap(), 1);
    assert_eq!(
        store
            .list_open_revisions(None, 0, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![first.id]
    );

    // The admin reviewed version 1; the host has edited since.
    assert!(matches!(
        store.approve_revision(first.id, 1, later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionChanged
        ))
    ));
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().fields.name,
        "Zaisan Hub",
        "a refused decision changes nothing"
    );

    let approved = store
        .approve_revision(first.id, 2, later + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(approved.state, RevisionState::Approved);
    assert_eq!(approved.decided_at, Some(later + Duration::minutes(2)));
    let now_live = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!(now_live.fields.name, "Khan Uul Plaza");
    assert_eq!(now_live.fields.address, "Zaisan Street 5");
    assert_eq!(now_live.fields.coordinates, edit.coordinates);
    assert!(!now_live.fields.opening_hours.twentyfourseven);
    assert!(now_live.visible);
    // Search moved with it: the text and the spatial index both.
    assert_eq!(
        found(store, new_at, &["khan", "uul"], 0).await,
        vec![site.id]
    );
    assert!(found(store, new_at, &["zaisan", "hub"], 0).await.is_empty());
    assert!(found(store, old_at, &[], 0).await.is_empty());
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (0, 0));
    assert!(store
        .open_revision(RevisionTarget::Site(site.id))
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store.approve_revision(first.id, 2, later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionClosed
        ))
    ));
    let latest = store.latest_revisions(&[site.id]).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].state, RevisionState::Approved);

    // An edit that changes nothing material opens nothing.
    let mut hours_only = now_live.fields.clone();
    hours_only.published = false;
    assert!(store
        .host_edit_site(site.id, &hours_only, rid(), later + Duration::minutes(3))
        .await
        .unwrap()
        .is_none());
    assert!(!store.find_site(site.id).await.unwrap().unwrap().visible);
    assert!(matches!(
        store
            .host_edit_site(SiteId(new_id()), &hours_only, rid(), later)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Withdrawn and rejected revisions leave the site as it was; a decision
/// after the host withdrew is a clear conflict; versions keep growing
/// across revisions, so an old version never names new content.
pub async fn withdrawn_and_rejected_revisions_change_nothing(store: &dyn Store) {
    let host = make_user(store, "+97688220002").await;
    let at = (47.9, 106.9);
    let (site, _) = listed(store, host.id, "Sansar Point", at).await;
    let later = t0() + Duration::minutes(10);
    assert!(site.fields.postal_code.is_some());

    let mut edit = site.fields.clone();
    edit.name = "Sansar Point Two".into();
    edit.postal_code = None;
    let first = store
        .host_edit_site(site.id, &edit, rid(), later)
        .await
        .unwrap()
        .unwrap();
    // A cleared field is a change too, and survives storage.
    assert_eq!(site_changes(&first).postal_code, Some(None));

    let withdrawn = store.withdraw_revision(first.id, later).await.unwrap();
    assert_eq!(withdrawn.state, RevisionState::Withdrawn);
    assert!(matches!(
        store.approve_revision(first.id, 1, later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionClosed
        ))
    ));
    assert!(matches!(
        store.withdraw_revision(first.id, later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionClosed
        ))
    ));
    let live = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!(live.fields.name, "Sansar Point");
    assert!(live.fields.postal_code.is_some());
    assert_eq!(store.pending_counts(Some(host.id)).await.unwrap().sites, 0);

    // Proposed again: a new revision, with the next version.
    let second = store
        .host_edit_site(site.id, &edit, rid(), later + Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.version, 2);
    assert!(matches!(
        store.reject_revision(second.id, Some(1), "no", later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionChanged
        ))
    ));
    let rejected = store
        .reject_revision(
            second.id,
            Some(2),
            "That is not the name on the sign",
            later,
        )
        .await
        .unwrap();
    assert_eq!(rejected.state, RevisionState::Rejected);
    assert_eq!(
        rejected.reason.as_deref(),
        Some("That is not the name on the sign")
    );
    assert_eq!(
        store.find_revision(second.id).await.unwrap(),
        Some(rejected.clone())
    );
    let live = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!(live.fields.name, "Sansar Point");
    assert_eq!(live.approval, ApprovalState::Approved);
    assert_eq!(found(store, at, &["sansar"], 0).await, vec![site.id]);
    // The host's view shows the latest: the rejection and its reason.
    let latest = store.latest_revisions(&[site.id]).await.unwrap();
    assert_eq!(latest, vec![rejected]);
    assert!(matches!(
        store.reject_revision(second.id, None, "again", later).await,
        Err(StoreError::Conflict(
            plugway_store::Conflict::RevisionClosed
        ))
    ));
    assert!(matches!(
        store.approve_revision(rid(), 1, later).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.find_revision(rid()).await.unwrap().is_none());
    assert_eq!(store.count_open_revisions(None).await.unwrap(), 0);

    // Deleting the site deletes its revisions.
    store.delete_site(site.id).await.unwrap();
    assert!(store.find_revision(second.id).await.unwrap().is_none());
}

/// An EVSE's connectors are material: a faster connector is not searchable
/// until approved; prices apply at once; a proposed code another EVSE has
/// is refused and the whole edit with it.
pub async fn evse_revisions_hold_connectors_until_approved(store: &dyn Store) {
    let host = make_user(store, "+97688220003").await;
    let at = (47.95, 106.95);
    let (site, evse) = listed(store, host.id, "Bayanzurkh", at).await;
    let other = Evse::pending(
        EvseId(new_id()),
        site.id,
        evse_fields("R2", ConnectorStandard::Type2, 7_000),
        t0(),
    );
    store.insert_evse(&other).await.unwrap();
    let later = t0() + Duration::minutes(10);

    let mut edit = evse.fields.clone();
    edit.connectors[0].max_power_w = 150_000;
    edit.connectors[0].standard = ConnectorStandard::Ccs2;
    edit.price_per_kwh = 65_000;
    let revision = store
        .host_edit_evse(evse.id, &edit, rid(), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revision.target(), RevisionTarget::Evse(evse.id));
    assert_eq!(revision.site_id, site.id);
    let RevisionChanges::Evse(changes) = &revision.changes else {
        panic!("{revision:?}")
    };
    assert_eq!(changes.connectors.as_ref(), Some(&edit.connectors));
    assert_eq!(changes.evse_code, None);

    let live = store.find_evse(evse.id).await.unwrap().unwrap();
    assert_eq!(live.fields.price_per_kwh, 65_000, "prices apply at once");
    assert_eq!(live.fields.connectors, evse.fields.connectors);
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().max_power_w,
        22_000
    );
    assert!(found(store, at, &[], 100_000).await.is_empty());
    // One pending EVSE (`other`, new) and one with an open revision.
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (0, 2));

    // A code the site's other EVSE has: refused, and the price in the same
    // edit is not applied either.
    let mut clash = live.fields.clone();
    clash.evse_code = "R2".into();
    clash.price_per_kwh = 1;
    assert!(matches!(
        store.host_edit_evse(evse.id, &clash, rid(), later).await,
        Err(StoreError::Conflict(plugway_store::Conflict::EvseCode))
    ));
    assert_eq!(
        store
            .find_evse(evse.id)
            .await
            .unwrap()
            .unwrap()
            .fields
            .price_per_kwh,
        65_000
    );

    let approved = store
        .approve_revision(revision.id, revision.version, later)
        .await
        .unwrap();
    assert_eq!(approved.state, RevisionState::Approved);
    let live = store.find_evse(evse.id).await.unwrap().unwrap();
    assert_eq!(live.fields.connectors, edit.connectors);
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().max_power_w,
        150_000
    );
    assert_eq!(found(store, at, &["150kw"], 100_000).await, vec![site.id]);
    let latest = store.latest_revisions(&[site.id]).await.unwrap();
    assert_eq!(latest.len(), 1, "the EVSE's; the site has none");
    assert_eq!(latest[0].evse_id, Some(evse.id));

    // Deleting the EVSE deletes its revisions.
    let mut code = live.fields.clone();
    code.evse_code = "R9".into();
    let open = store
        .host_edit_evse(evse.id, &code, rid(), later)
        .await
        .unwrap()
        .unwrap();
    let RevisionChanges::Evse(EvseChanges { evse_code, .. }) = &open.changes else {
        panic!("{open:?}")
    };
    assert_eq!(evse_code.as_deref(), Some("R9"));
    store.delete_evse(evse.id).await.unwrap();
    assert!(store.find_revision(open.id).await.unwrap().is_none());
}

/// A pending listing takes a host's edit as it is; a rejected one too, and
/// goes back to pending; a direct edit withdraws a revision left open when
/// an admin put an approved site back in the queue.
pub async fn edits_of_unlisted_listings_apply_directly(store: &dyn Store) {
    let host = make_user(store, "+97688220004").await;
    let (listed_site, evse) = listed(store, host.id, "Yarmag", (47.85, 106.8)).await;
    let later = t0() + Duration::minutes(10);

    let pending = Site::pending(SiteId(new_id()), host.id, listed_site.fields.clone(), t0());
    store.insert_site(&pending).await.unwrap();
    let mut edit = pending.fields.clone();
    edit.name = "Yarmag Two".into();
    assert!(store
        .host_edit_site(pending.id, &edit, rid(), later)
        .await
        .unwrap()
        .is_none());
    let stored = store.find_site(pending.id).await.unwrap().unwrap();
    assert_eq!(stored.fields.name, "Yarmag Two");
    assert_eq!(stored.approval, ApprovalState::Pending);

    store
        .set_site_approval(pending.id, ApprovalState::Rejected, Some("blurry"), later)
        .await
        .unwrap();
    edit.name = "Yarmag Three".into();
    assert!(store
        .host_edit_site(pending.id, &edit, rid(), later)
        .await
        .unwrap()
        .is_none());
    let stored = store.find_site(pending.id).await.unwrap().unwrap();
    assert_eq!(stored.fields.name, "Yarmag Three");
    assert_eq!(stored.approval, ApprovalState::Pending);
    assert_eq!(stored.rejection_reason, None);

    // The same for a rejected EVSE.
    store
        .set_evse_approval(evse.id, ApprovalState::Rejected, Some("photo?"), later)
        .await
        .unwrap();
    let mut fields = evse.fields.clone();
    fields.connectors[0].max_power_w = 11_000;
    assert!(store
        .host_edit_evse(evse.id, &fields, rid(), later)
        .await
        .unwrap()
        .is_none());
    let stored = store.find_evse(evse.id).await.unwrap().unwrap();
    assert_eq!(stored.fields.connectors[0].max_power_w, 11_000);
    assert_eq!(stored.approval, ApprovalState::Pending);
    assert_eq!(stored.rejection_reason, None);

    // An open revision, then the admin puts the site back in the queue:
    // the host's next edit applies directly and replaces the revision.
    let mut renamed = listed_site.fields.clone();
    renamed.name = "Yarmag Renamed".into();
    let open = store
        .host_edit_site(listed_site.id, &renamed, rid(), later)
        .await
        .unwrap()
        .unwrap();
    store
        .set_site_approval(listed_site.id, ApprovalState::Pending, None, later)
        .await
        .unwrap();
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!(counts.sites, 2, "a listing is counted once: {counts:?}");
    renamed.name = "Yarmag Final".into();
    assert!(store
        .host_edit_site(listed_site.id, &renamed, rid(), later)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .find_site(listed_site.id)
            .await
            .unwrap()
            .unwrap()
            .fields
            .name,
        "Yarmag Final"
    );
    assert_eq!(
        store.find_revision(open.id).await.unwrap().unwrap().state,
        RevisionState::Withdrawn
    );
}
