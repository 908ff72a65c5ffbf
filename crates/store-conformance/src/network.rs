//! Conformance cases for [`plugway_store::NetworkStore`].

use chrono::Duration;
use futures::future::join_all;
use plugway_domain::{
    ApprovalState, BoundingBox, Capability, ChargePointId, ConnectorFormat, ConnectorId,
    ConnectorStandard, Coordinates, Currency, EvseId, EvseStatus, Facility, NearbyId, OpeningHours,
    ParkingType, PaymentType, PhotoId, PowerType, SiteId, SiteTimeZone, UserId,
};
use plugway_store::{
    ConnectorFields, Evse, EvseFields, EvseListFilter, HostProfile, NearbyPlace, Nearness,
    NewChargePoint, Site, SiteFields, SiteFilter, SiteListFilter, SitePhoto, StatusReport, Store,
    StoreError, MAX_PHOTOS_PER_SITE,
};

use super::{make_user, new_id, t0};

fn site_fields(name: &str, lat: f64, lng: f64) -> SiteFields {
    SiteFields {
        name: name.into(),
        address: "1 Peace Avenue".into(),
        city: "Ulaanbaatar".into(),
        province: "Ulaanbaatar".into(),
        region: None,
        postal_code: Some("14200".into()),
        country_code: "MN".into(),
        coordinates: Coordinates::new(lat, lng).unwrap(),
        time_zone: SiteTimeZone::parse("Asia/Ulaanbaatar").unwrap(),
        opening_hours: OpeningHours::always(),
        facilities: vec![Facility::Cafe, Facility::Wifi],
        parking_types: vec![ParkingType::Outdoor],
        parking_restrictions: vec![],
        currency: Currency::parse("MNT").unwrap(),
        published: true,
    }
}

pub(crate) fn new_site(host: UserId, name: &str, lat: f64, lng: f64) -> Site {
    Site::pending(SiteId(new_id()), host, site_fields(name, lat, lng), t0())
}

pub(super) fn evse_fields(code: &str, standard: ConnectorStandard, watts: i64) -> EvseFields {
    EvseFields {
        evse_code: code.into(),
        serial_number: None,
        meter_type: Some("DC".into()),
        charge_point_id: None,
        ocpp_connector_id: None,
        declared_status: EvseStatus::Available,
        capabilities: vec![Capability::QrReader],
        payment_types: vec![PaymentType::Gcash],
        price_per_kwh: 50_000,
        price_per_hour: 0,
        waiting_price_per_minute: 1_000,
        connectors: vec![ConnectorFields {
            id: ConnectorId(new_id()),
            standard,
            format: ConnectorFormat::Cable,
            power_type: PowerType::Dc,
            max_voltage: 500,
            max_amperage: 300,
            max_power_w: watts,
        }],
    }
}

fn new_evse(site: SiteId, fields: EvseFields) -> Evse {
    Evse::pending(EvseId(new_id()), site, fields, t0())
}

/// A visible site with one approved EVSE.
pub(super) async fn visible_site(
    store: &dyn Store,
    host: UserId,
    name: &str,
    at: (f64, f64),
    evse: EvseFields,
) -> (Site, Evse) {
    let site = new_site(host, name, at.0, at.1);
    store.insert_site(&site).await.unwrap();
    let evse = new_evse(site.id, evse);
    store.insert_evse(&evse).await.unwrap();
    let later = t0() + Duration::minutes(1);
    store
        .set_site_approval(site.id, ApprovalState::Approved, None, later)
        .await
        .unwrap();
    store
        .set_evse_approval(evse.id, ApprovalState::Approved, None, later)
        .await
        .unwrap();
    (site, evse)
}

/// A charge point owned by `host`.
async fn host_charger(store: &dyn Store, id: &str, host: UserId) -> ChargePointId {
    let cp = ChargePointId::parse(id).unwrap();
    store
        .create_charge_point(&NewChargePoint {
            id: cp.clone(),
            password_hash: None,
            owner: Some(host),
            created_at: t0(),
        })
        .await
        .unwrap();
    cp
}

/// Connector 1 reports `status`.
fn status_report(status: &str) -> StatusReport {
    StatusReport {
        connector_id: 1,
        status: status.into(),
        error_code: "NoError".into(),
        info: None,
        vendor_id: None,
        vendor_error_code: None,
        timestamp: t0(),
        received_at: t0(),
    }
}

fn around(lat: f64, lng: f64, km: f64) -> SiteFilter {
    SiteFilter {
        boxes: BoundingBox::around(Coordinates::new(lat, lng).unwrap(), km * 1000.0)
            .split_at_antimeridian(),
        limit: 1000,
        ..SiteFilter::default()
    }
}

async fn found(store: &dyn Store, filter: &SiteFilter) -> Vec<SiteId> {
    let mut ids: Vec<SiteId> = store
        .search_site_candidates(filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

/// Sites and EVSEs round-trip; approval makes a site visible; its summary
/// follows its EVSEs; codes and OCPP ports are unique.
pub async fn sites_and_evses_follow_approval(store: &dyn Store) {
    let host = make_user(store, "+97688110001").await;
    let site = new_site(host.id, "Central", 47.918, 106.917);
    store.insert_site(&site).await.unwrap();
    let stored = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!(stored.fields, site.fields);
    assert_eq!(stored.approval, ApprovalState::Pending);
    assert!(!stored.visible);

    let fast = new_evse(site.id, evse_fields("E1", ConnectorStandard::Ccs2, 150_000));
    store.insert_evse(&fast).await.unwrap();
    let slow = new_evse(site.id, evse_fields("E2", ConnectorStandard::Type2, 22_000));
    store.insert_evse(&slow).await.unwrap();
    let dup = new_evse(site.id, evse_fields("E1", ConnectorStandard::Type2, 22_000));
    assert!(matches!(
        store.insert_evse(&dup).await,
        Err(StoreError::Conflict(plugway_store::Conflict::EvseCode))
    ));
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (1, 2));
    assert!(found(store, &around(47.918, 106.917, 5.0)).await.is_empty());

    let later = t0() + Duration::minutes(5);
    store
        .set_site_approval(site.id, ApprovalState::Approved, None, later)
        .await
        .unwrap();
    // Approved site, but no approved EVSE yet: still hidden.
    assert!(!store.find_site(site.id).await.unwrap().unwrap().visible);
    store
        .set_evse_approval(slow.id, ApprovalState::Approved, None, later)
        .await
        .unwrap();
    let shown = store.find_site(site.id).await.unwrap().unwrap();
    assert!(shown.visible);
    assert_eq!(shown.max_power_w, 22_000);
    assert_eq!(
        found(store, &around(47.918, 106.917, 5.0)).await,
        vec![site.id]
    );
    store
        .set_evse_approval(fast.id, ApprovalState::Approved, None, later)
        .await
        .unwrap();
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().max_power_w,
        150_000
    );
    let counts = store.pending_counts(None).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (0, 0));

    let evses = store.list_site_evses(&[site.id]).await.unwrap();
    assert_eq!(
        evses.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![fast.id, slow.id]
    );
    assert_eq!(evses[0].fields, fast.fields);
    assert_eq!(evses[0].status(), EvseStatus::Available);

    // Editing and deleting EVSEs keeps the summary in step.
    let mut edited = fast.fields.clone();
    edited.connectors[0].max_power_w = 60_000;
    store.update_evse(fast.id, &edited, later).await.unwrap();
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().max_power_w,
        60_000
    );
    store.delete_evse(fast.id).await.unwrap();
    store.delete_evse(slow.id).await.unwrap();
    assert!(!store.find_site(site.id).await.unwrap().unwrap().visible);
    assert!(matches!(
        store.delete_evse(slow.id).await,
        Err(StoreError::NotFound)
    ));

    // An OCPP connector is one EVSE only.
    let cp = host_charger(store, "CP-NET-1", host.id).await;
    let mut linked = evse_fields("E3", ConnectorStandard::Ccs2, 50_000);
    linked.charge_point_id = Some(cp.clone());
    linked.ocpp_connector_id = Some(1);
    store
        .insert_evse(&new_evse(site.id, linked.clone()))
        .await
        .unwrap();
    let on_port = store.find_evse_by_port(&cp, 1).await.unwrap().unwrap();
    assert_eq!(on_port.fields.evse_code, "E3");
    assert!(store.find_evse_by_port(&cp, 2).await.unwrap().is_none());
    linked.evse_code = "E4".into();
    assert!(matches!(
        store.insert_evse(&new_evse(site.id, linked)).await,
        Err(StoreError::Conflict(plugway_store::Conflict::EvsePort))
    ));

    // Site edits are stored; unknown ids are NotFound.
    let mut fields = site.fields.clone();
    fields.name = "Central Station".into();
    store.update_site(site.id, &fields, later).await.unwrap();
    assert_eq!(
        store.find_site(site.id).await.unwrap().unwrap().fields.name,
        "Central Station"
    );
    assert!(matches!(
        store.update_site(SiteId(new_id()), &fields, later).await,
        Err(StoreError::NotFound)
    ));
    let listed = store
        .list_sites(
            &SiteListFilter {
                host: Some(host.id),
                ..SiteListFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        store
            .count_sites(&SiteListFilter {
                host: Some(UserId(new_id())),
                ..SiteListFilter::default()
            })
            .await
            .unwrap(),
        0
    );
}

/// The search honours the box and every filter the store applies.
pub async fn site_search_filters(store: &dyn Store) {
    let host = make_user(store, "+97688110002").await;
    let (a, evse_a) = visible_site(
        store,
        host.id,
        "Alpha Mall",
        (47.90, 106.90),
        evse_fields("A1", ConnectorStandard::Ccs2, 150_000),
    )
    .await;
    let mut slow = evse_fields("B1", ConnectorStandard::Type2, 22_000);
    slow.declared_status = EvseStatus::Charging;
    slow.payment_types = vec![PaymentType::Maya];
    slow.capabilities = vec![Capability::CreditDebitPayable, Capability::QrReader];
    let (b, _) = visible_site(store, host.id, "Bravo 100% Cafe", (47.95, 106.95), slow).await;
    let (far, _) = visible_site(
        store,
        host.id,
        "Far Away",
        (49.0, 105.0),
        evse_fields("F1", ConnectorStandard::Ccs2, 50_000),
    )
    .await;
    let mut both = vec![a.id, b.id];
    both.sort();

    assert_eq!(found(store, &around(47.92, 106.92, 10.0)).await, both);
    let mut all = vec![a.id, b.id, far.id];
    all.sort();
    assert_eq!(
        found(
            store,
            &SiteFilter {
                limit: 100,
                ..SiteFilter::default()
            }
        )
        .await,
        all
    );

    let near = |f: fn(&mut SiteFilter)| {
        let mut filter = around(47.92, 106.92, 10.0);
        f(&mut filter);
        filter
    };
    assert_eq!(
        found(
            store,
            &near(|f| f.standards_any = ConnectorStandard::Ccs2.bit())
        )
        .await,
        vec![a.id]
    );
    assert_eq!(
        found(store, &near(|f| f.min_power_w = 100_000)).await,
        vec![a.id]
    );
    assert_eq!(
        found(
            store,
            &near(|f| f.payment_types_any = PaymentType::Maya.bit())
        )
        .await,
        vec![b.id]
    );
    assert_eq!(
        found(
            store,
            &near(|f| f.capabilities_all =
                Capability::CreditDebitPayable.bit() | Capability::QrReader.bit())
        )
        .await,
        vec![b.id]
    );
    assert_eq!(
        found(
            store,
            &near(|f| f.facilities_all = Facility::Cafe.bit() | Facility::Wifi.bit())
        )
        .await,
        both
    );
    assert!(
        found(store, &near(|f| f.facilities_all = Facility::Pool.bit()))
            .await
            .is_empty()
    );
    assert_eq!(
        found(
            store,
            &near(|f| f.parking_types_any = ParkingType::Outdoor.bit())
        )
        .await,
        both
    );
    assert!(found(
        store,
        &near(|f| f.parking_types_any = ParkingType::Indoor.bit())
    )
    .await
    .is_empty());
    assert_eq!(
        found(store, &near(|f| f.city = Some("ULAANBAATAR".into()))).await,
        both
    );
    assert!(found(store, &near(|f| f.province = Some("Darkhan".into())))
        .await
        .is_empty());
    // Text: every term must match; LIKE wildcards in input match literally.
    assert_eq!(
        found(
            store,
            &near(|f| f.terms = vec!["bravo".into(), "cafe".into()])
        )
        .await,
        vec![b.id]
    );
    assert_eq!(
        found(store, &near(|f| f.terms = vec!["100%".into()])).await,
        vec![b.id]
    );
    assert!(found(store, &near(|f| f.terms = vec!["1_0".into()]))
        .await
        .is_empty());
    assert_eq!(
        found(store, &near(|f| f.terms = vec!["150kw".into()])).await,
        vec![a.id]
    );
    // Availability: declared for unlinked EVSEs.
    assert_eq!(
        found(store, &near(|f| f.available_now = true)).await,
        vec![a.id]
    );

    // Ranked pages: the database orders by distance, cuts at the radius, counts.
    let centre = Coordinates::new(47.92, 106.92).unwrap();
    let ranked = |km: f64, offset: i64, limit: i64, standards: i64| {
        let mut filter = around(47.92, 106.92, km);
        filter.standards_any = standards;
        let reach = Nearness {
            centre: centre.unit_vector(),
            max_chord2: plugway_domain::network::chord2_for_distance(km * 1000.0),
        };
        async move {
            store
                .search_sites_ranked(&filter, &reach, offset, limit)
                .await
                .unwrap()
        }
    };
    let page = ranked(10.0, 0, 10, 0).await;
    assert_eq!(page.total, 2);
    assert_eq!(
        page.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![a.id, b.id]
    );
    assert!(page.hits[0].chord2 < page.hits[1].chord2);
    let second = ranked(10.0, 1, 1, 0).await;
    assert_eq!(
        (second.total, second.hits.len(), second.hits[0].id),
        (2, 1, b.id)
    );
    let past = ranked(10.0, 5, 10, 0).await;
    assert_eq!((past.total, past.hits.len()), (2, 0));
    // a is 2.7 km away, b 4.0 km: a 3 km radius keeps a only.
    let near_only = ranked(3.0, 0, 10, 0).await;
    assert_eq!(
        (
            near_only.total,
            near_only.hits.iter().map(|h| h.id).collect::<Vec<_>>()
        ),
        (1, vec![a.id])
    );
    let ccs = ranked(10.0, 0, 10, ConnectorStandard::Ccs2.bit()).await;
    assert_eq!((ccs.total, ccs.hits.len()), (1, 1));

    // Across the antimeridian: two boxes, one merged page.
    let (east, _) = visible_site(
        store,
        host.id,
        "Antimeridian East",
        (0.0, 179.99),
        evse_fields("X1", ConnectorStandard::Type2, 7_000),
    )
    .await;
    let (west, _) = visible_site(
        store,
        host.id,
        "Antimeridian West",
        (0.0, -179.995),
        evse_fields("X2", ConnectorStandard::Type2, 7_000),
    )
    .await;
    let edge = Coordinates::new(0.0, 179.999).unwrap();
    let filter = SiteFilter {
        boxes: BoundingBox::around(edge, 5_000.0).split_at_antimeridian(),
        limit: 10,
        ..SiteFilter::default()
    };
    assert_eq!(filter.boxes.len(), 2);
    let reach = Nearness {
        centre: edge.unit_vector(),
        max_chord2: plugway_domain::network::chord2_for_distance(5_000.0),
    };
    let both = store
        .search_sites_ranked(&filter, &reach, 0, 10)
        .await
        .unwrap();
    assert_eq!(both.total, 2);
    // West, 0.67 km away across the line, is nearer than east at 1.0 km.
    assert_eq!(
        both.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![west.id, east.id]
    );
    let second = store
        .search_sites_ranked(&filter, &reach, 1, 1)
        .await
        .unwrap();
    assert_eq!(
        (
            second.total,
            second.hits.iter().map(|h| h.id).collect::<Vec<_>>()
        ),
        (2, vec![east.id])
    );

    // Ratings feed min_rating.
    let rater = make_user(store, "+97688110003").await;
    store.rate_site(rater.id, a.id, 2, t0()).await.unwrap();
    store.rate_site(rater.id, b.id, 5, t0()).await.unwrap();
    let mut rated = around(47.92, 106.92, 10.0);
    rated.min_rating = Some(4.0);
    assert_eq!(found(store, &rated).await, vec![b.id]);

    // Linked to OCPP: live status counts, and only while connected.
    let cp = host_charger(store, "CP-NET-2", host.id).await;
    let mut live = evse_a.fields.clone();
    live.charge_point_id = Some(cp.clone());
    live.ocpp_connector_id = Some(1);
    store.update_evse(evse_a.id, &live, t0()).await.unwrap();
    assert!(found(store, &near(|f| f.available_now = true))
        .await
        .is_empty());
    store
        .record_status(&cp, &status_report("Available"))
        .await
        .unwrap();
    assert!(found(store, &near(|f| f.available_now = true))
        .await
        .is_empty());
    store.set_connected(&cp, true, t0()).await.unwrap();
    assert_eq!(
        found(store, &near(|f| f.available_now = true)).await,
        vec![a.id]
    );
    let evse = store.find_evse(evse_a.id).await.unwrap().unwrap();
    assert_eq!(evse.status(), EvseStatus::Available);

    // EVSE listing (seed 003's `evse` query).
    let listed = store
        .list_evses(
            &EvseListFilter {
                location_name: Some("ALPHA".into()),
                visible_only: true,
                ..EvseListFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![evse_a.id]
    );
    let by_name = store
        .list_evses(
            &EvseListFilter {
                order_by_location: true,
                descending: true,
                ..EvseListFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        by_name.first().map(|e| e.fields.evse_code.as_str()),
        Some("F1")
    );
    assert_eq!(
        store.cities_in_province("ulaanbaatar").await.unwrap(),
        vec!["Ulaanbaatar".to_owned()]
    );
}

/// Photos (with the per-site limit), nearby places, bookmarks and ratings.
pub async fn photos_nearby_bookmarks_ratings(store: &dyn Store) {
    let host = make_user(store, "+97688110004").await;
    let (site, _) = visible_site(
        store,
        host.id,
        "Photo Spot",
        (47.9, 106.9),
        evse_fields("P1", ConnectorStandard::Type2, 7_000),
    )
    .await;
    let photo = |i: i64| SitePhoto {
        id: PhotoId(new_id()),
        site_id: site.id,
        key: format!("sites/x/{i}.jpg"),
        thumb_key: format!("sites/x/{i}.thumb.jpg"),
        content_type: "image/jpeg".into(),
        width: 640,
        height: 480,
        bytes: 1000,
        created_at: t0() + Duration::seconds(i),
    };
    let first: Vec<SitePhoto> = (0..MAX_PHOTOS_PER_SITE - 1).map(photo).collect();
    store.insert_site_photos(&first).await.unwrap();
    let over = vec![photo(100), photo(101)];
    assert!(matches!(
        store.insert_site_photos(&over).await,
        Err(StoreError::Conflict(plugway_store::Conflict::PhotoLimit))
    ));
    assert_eq!(
        store.list_site_photos(site.id).await.unwrap().len(),
        first.len()
    );
    let mut replacement = first[0].clone();
    replacement.key = "sites/x/new.jpg".into();
    let old = store.replace_site_photo(&replacement).await.unwrap();
    assert_eq!(old.key, first[0].key);
    assert_eq!(
        store
            .find_site_photo(first[0].id)
            .await
            .unwrap()
            .unwrap()
            .key,
        "sites/x/new.jpg"
    );
    assert_eq!(
        store.delete_site_photo(first[1].id).await.unwrap().id,
        first[1].id
    );
    assert!(matches!(
        store.delete_site_photo(first[1].id).await,
        Err(StoreError::NotFound)
    ));

    let mut place = NearbyPlace {
        id: NearbyId(new_id()),
        site_id: site.id,
        kind: "shop".into(),
        name: "Retail".into(),
        image: None,
        address: "next door".into(),
        created_at: t0(),
    };
    store.insert_nearby(&place).await.unwrap();
    place.name = "Retail shop".into();
    store.update_nearby(&place).await.unwrap();
    assert_eq!(
        store.list_nearby(site.id).await.unwrap(),
        vec![place.clone()]
    );
    store.delete_nearby(place.id).await.unwrap();
    assert!(store.find_nearby(place.id).await.unwrap().is_none());

    let driver = make_user(store, "+97688110005").await;
    assert!(store.add_bookmark(driver.id, site.id, t0()).await.unwrap());
    assert!(!store.add_bookmark(driver.id, site.id, t0()).await.unwrap());
    assert_eq!(store.count_bookmarks(driver.id).await.unwrap(), 1);
    assert_eq!(
        store.list_bookmarks(driver.id, 0, 10).await.unwrap(),
        vec![(site.id, t0())]
    );
    assert_eq!(
        store.find_bookmark(driver.id, site.id).await.unwrap(),
        Some(t0())
    );
    assert!(store.remove_bookmark(driver.id, site.id).await.unwrap());
    assert!(!store.remove_bookmark(driver.id, site.id).await.unwrap());
    assert!(matches!(
        store.add_bookmark(driver.id, SiteId(new_id()), t0()).await,
        Err(StoreError::NotFound)
    ));

    // One rating per driver (re-rating replaces it); many drivers at once all count.
    store.rate_site(driver.id, site.id, 1, t0()).await.unwrap();
    store.rate_site(driver.id, site.id, 4, t0()).await.unwrap();
    assert_eq!(
        store.find_rating(driver.id, site.id).await.unwrap(),
        Some(4)
    );
    let mut raters = Vec::new();
    for i in 0..10 {
        raters.push(make_user(store, &format!("+9768812{i:04}")).await);
    }
    let results = join_all(
        raters
            .iter()
            .map(|r| store.rate_site(r.id, site.id, 5, t0())),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let rated = store.find_site(site.id).await.unwrap().unwrap();
    assert_eq!((rated.rating_count, rated.rating_sum), (11, 54));
    assert!(matches!(
        store.rate_site(driver.id, SiteId(new_id()), 3, t0()).await,
        Err(StoreError::NotFound)
    ));

    // Deleting the site removes its children and hands back the media keys.
    let keys = store.delete_site(site.id).await.unwrap();
    assert_eq!(keys.len(), (first.len() - 1) * 2);
    assert!(store.find_site(site.id).await.unwrap().is_none());
    assert!(store.list_site_photos(site.id).await.unwrap().is_empty());
}

/// Host profiles: upsert, unique party ids, logos; host names reach search.
pub async fn host_profiles(store: &dyn Store) {
    let host = make_user(store, "+97688110006").await;
    let mut profile = HostProfile {
        user_id: host.id,
        owner_name: "Solarius".into(),
        contact_name: "CEO".into(),
        contact_number: "09123456782".into(),
        contact_email: "ceo@example.com".into(),
        logo: None,
        party_id: Some("SOL".into()),
        country_code: Some("PH".into()),
        ocpp_ready: None,
        created_at: t0(),
        updated_at: t0(),
    };
    store.upsert_host_profile(&profile).await.unwrap();
    assert_eq!(
        store.find_host_profile(host.id).await.unwrap(),
        Some(profile.clone())
    );
    // ocpp_ready is kept, and replaced by an upsert like the other fields.
    for ready in [Some(true), Some(false), None] {
        profile.ocpp_ready = ready;
        store.upsert_host_profile(&profile).await.unwrap();
        assert_eq!(
            store.find_host_profile(host.id).await.unwrap(),
            Some(profile.clone())
        );
    }
    let other = make_user(store, "+97688110007").await;
    let clash = HostProfile {
        user_id: other.id,
        ..profile.clone()
    };
    assert!(matches!(
        store.upsert_host_profile(&clash).await,
        Err(StoreError::Conflict(plugway_store::Conflict::PartyId))
    ));
    assert_eq!(
        store
            .set_host_logo(host.id, Some("hosts/a/logo.png"), t0())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_host_logo(host.id, None, t0())
            .await
            .unwrap()
            .as_deref(),
        Some("hosts/a/logo.png")
    );
    assert!(matches!(
        store.set_host_logo(other.id, None, t0()).await,
        Err(StoreError::NotFound)
    ));

    let (site, _) = visible_site(
        store,
        host.id,
        "Plain Name",
        (10.0, 10.0),
        evse_fields("H1", ConnectorStandard::Type2, 7_000),
    )
    .await;
    let text = |t: &str| SiteFilter {
        terms: vec![t.into()],
        limit: 10,
        ..SiteFilter::default()
    };
    assert_eq!(found(store, &text("solarius")).await, vec![site.id]);
    profile.owner_name = "Lunaris".into();
    store.upsert_host_profile(&profile).await.unwrap();
    store.refresh_host_sites(host.id).await.unwrap();
    assert!(found(store, &text("solarius")).await.is_empty());
    assert_eq!(found(store, &text("lunaris")).await, vec![site.id]);
    assert_eq!(
        store
            .set_site_brand_logo(site.id, Some("sites/b/logo.png"), t0())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_site(site.id)
            .await
            .unwrap()
            .unwrap()
            .brand_logo
            .as_deref(),
        Some("sites/b/logo.png")
    );
}

/// The bulk path derives the same columns as the one-by-one path.
pub async fn bulk_insert_matches_one_by_one(store: &dyn Store) {
    let host = make_user(store, "+97688110008").await;
    store
        .upsert_host_profile(&HostProfile {
            user_id: host.id,
            owner_name: "Bulkco".into(),
            contact_name: "B".into(),
            contact_number: "1".into(),
            contact_email: "b@example.com".into(),
            logo: None,
            party_id: None,
            country_code: None,
            ocpp_ready: None,
            created_at: t0(),
            updated_at: t0(),
        })
        .await
        .unwrap();
    let approved = |site: &Site, code: &str, watts: i64| {
        let mut e = new_evse(
            site.id,
            evse_fields(code, ConnectorStandard::Chademo, watts),
        );
        e.approval = ApprovalState::Approved;
        e
    };
    let mut listed = new_site(host.id, "Bulk Listed", 30.0, 30.0);
    listed.approval = ApprovalState::Approved;
    let listed_evses = vec![
        approved(&listed, "B1", 50_000),
        approved(&listed, "B2", 100_000),
    ];
    let pending = new_site(host.id, "Bulk Pending", 30.01, 30.0);
    let pending_evses = vec![new_evse(
        pending.id,
        evse_fields("P1", ConnectorStandard::Chademo, 50_000),
    )];
    store
        .insert_sites_bulk(&[
            (listed.clone(), listed_evses.clone()),
            (pending.clone(), pending_evses),
        ])
        .await
        .unwrap();
    let (one_by_one, _) = visible_site(
        store,
        host.id,
        "Bulk Listed",
        (30.0, 30.02),
        evse_fields("B1", ConnectorStandard::Chademo, 100_000),
    )
    .await;

    let bulk = store.find_site(listed.id).await.unwrap().unwrap();
    let single = store.find_site(one_by_one.id).await.unwrap().unwrap();
    assert!(bulk.visible && single.visible);
    assert_eq!(bulk.max_power_w, single.max_power_w);
    assert!(!store.find_site(pending.id).await.unwrap().unwrap().visible);
    assert_eq!(store.list_site_evses(&[listed.id]).await.unwrap().len(), 2);
    let mut expected = vec![listed.id, one_by_one.id];
    expected.sort();
    let chademo = SiteFilter {
        standards_any: ConnectorStandard::Chademo.bit(),
        terms: vec!["bulkco".into(), "100kw".into()],
        ..around(30.0, 30.0, 5.0)
    };
    assert_eq!(found(store, &chademo).await, expected);
    let counts = store.pending_counts(Some(host.id)).await.unwrap();
    assert_eq!((counts.sites, counts.evses), (1, 1));
    // After a bulk load the planner's statistics are refreshed; the data stays.
    store.refresh_statistics().await.unwrap();
    assert_eq!(found(store, &chademo).await, expected);
}

/// The change feed (migration 0015): every change to a site, its EVSEs or a
/// charger's live state is logged in the same transaction; a repeated
/// status is not; the feed reads in order, by number and prunes.
pub async fn network_changes_are_logged_with_each_change(store: &dyn Store) {
    let (start, _) = store.network_change_bounds().await.unwrap();
    let since =
        |after: i64| async move { store.network_changes_after(after, 1_000).await.unwrap() };
    let host = make_user(store, "+97688110077").await;
    let (site, evse) = visible_site(
        store,
        host.id,
        "Feed",
        (47.9, 106.9),
        evse_fields("F1", ConnectorStandard::Ccs2, 50_000),
    )
    .await;
    let changes = since(start).await;
    assert!(!changes.is_empty());
    assert!(changes
        .iter()
        .all(|c| c.site == Some(site.id) && c.charge_point.is_none()));
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    let (newest, oldest) = store.network_change_bounds().await.unwrap();
    assert_eq!(newest, changes.last().unwrap().seq);
    assert!(oldest.is_some_and(|o| o <= changes[0].seq));

    // A rating changes the site row: logged.
    let rater = make_user(store, "+97688110078").await;
    store.rate_site(rater.id, site.id, 4, t0()).await.unwrap();
    let after_rating = since(newest).await;
    assert!(after_rating.iter().any(|c| c.site == Some(site.id)));
    let newest = after_rating.last().unwrap().seq;

    // A linked charger's connection and connector status are logged once
    // per real change.
    let cp = host_charger(store, "CP-FEED-1", host.id).await;
    let mut linked = evse.fields.clone();
    linked.charge_point_id = Some(cp.clone());
    linked.ocpp_connector_id = Some(1);
    store.update_evse(evse.id, &linked, t0()).await.unwrap();
    let newest = since(newest).await.last().unwrap().seq;
    store
        .record_status(&cp, &status_report("Available"))
        .await
        .unwrap();
    store
        .record_status(&cp, &status_report("Available"))
        .await
        .unwrap();
    store.set_connected(&cp, true, t0()).await.unwrap();
    store.set_connected(&cp, true, t0()).await.unwrap();
    store
        .record_status(&cp, &status_report("Charging"))
        .await
        .unwrap();
    let live = since(newest).await;
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live
        .iter()
        .all(|c| c.charge_point.as_ref() == Some(&cp) && c.site.is_none()));

    // By number, including numbers that do not exist.
    let wanted = vec![live[0].seq, live[2].seq, live[2].seq + 1_000_000];
    let picked = store.network_changes_in(&wanted).await.unwrap();
    assert_eq!(picked, vec![live[0].clone(), live[2].clone()]);

    // Deleting the site is logged; pruning drops what is behind.
    store.delete_site(site.id).await.unwrap();
    let gone = since(live[2].seq).await;
    assert!(gone.iter().any(|c| c.site == Some(site.id)));
    let last = gone.last().unwrap().seq;
    let pruned = store.prune_network_changes(live[2].seq).await.unwrap();
    assert!(pruned >= 3);
    let (newest, oldest) = store.network_change_bounds().await.unwrap();
    assert_eq!(newest, last);
    assert!(oldest.is_some_and(|o| o > live[2].seq));
    assert!(store
        .network_changes_in(&[live[0].seq])
        .await
        .unwrap()
        .is_empty());
}

/// The ids of visible sites page in id order.
pub async fn visible_site_ids_page_in_order(store: &dyn Store) {
    let host = make_user(store, "+97688110079").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (site, _) = visible_site(
            store,
            host.id,
            &format!("Paged {i}"),
            (47.0 + f64::from(i) / 10.0, 106.0),
            evse_fields(&format!("P{i}"), ConnectorStandard::Type2, 22_000),
        )
        .await;
        ids.push(site.id);
    }
    // A hidden one is not listed.
    let hidden = new_site(host.id, "Hidden", 47.5, 106.5);
    store.insert_site(&hidden).await.unwrap();
    ids.sort();
    let first = store.visible_site_ids(None, 3).await.unwrap();
    let rest = store
        .visible_site_ids(first.last().copied(), 3)
        .await
        .unwrap();
    let all: Vec<SiteId> = first.iter().chain(rest.iter()).copied().collect();
    let ours: Vec<SiteId> = all.into_iter().filter(|id| ids.contains(id)).collect();
    assert_eq!(ours, ids);
    let texts = store.site_search_texts(&[ids[0], hidden.id]).await.unwrap();
    assert_eq!(texts.len(), 2);
    assert!(texts
        .iter()
        .any(|(id, text)| *id == ids[0] && text.contains("paged")));
}
