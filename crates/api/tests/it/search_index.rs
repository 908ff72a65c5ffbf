//! The in-memory search index: it answers every search exactly as the
//! database does, and a search sees every change committed before it began,
//! also changes made through another node.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use plugway_api::routes::discovery::{build_search, SearchQuery};
use plugway_api::routes::{PageQuery, Paginated};
use plugway_app::network;
use plugway_app::search_index::{SearchIndex, SearchIndexSettings};
use plugway_app::search_index::{SearchPage, SearchRequest};
use plugway_domain::network::RegularHours;
use plugway_domain::{
    ApprovalState, BoundingBox, Capability, ChargePointId, Clock, ConnectorFormat, ConnectorId,
    ConnectorStandard, Coordinates, Currency, EvseId, EvseStatus, Facility, OpeningHours,
    ParkingType, PaymentType, PowerType, SiteId, SiteTimeZone,
};
use plugway_store::{
    ConnectorFields, Evse, EvseFields, NewChargePoint, Site, SiteFields, SiteFilter, StatusReport,
    Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use plugway_domain::ApiKeyRole;

use crate::harness::{api_key, approve_listing, sign_in_host, Backend, Options, TestApp};

crate::on_both_backends!(
    the_index_answers_as_the_database_does,
    a_search_sees_changes_committed_before_it_on_any_node,
    http_search_on_the_index_answers_what_the_database_path_does,
);

/// Ulaanbaatar.
const CENTRE: (f64, f64) = (47.9186, 106.9176);

fn pick<T: Copy>(rng: &mut StdRng, all: &[T], p: f64) -> Vec<T> {
    all.iter().copied().filter(|_| rng.gen_bool(p)).collect()
}

fn uuid(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

fn status_report(connector_id: i64, status: &str) -> StatusReport {
    StatusReport {
        connector_id,
        status: status.into(),
        error_code: "NoError".into(),
        info: None,
        vendor_id: None,
        vendor_error_code: None,
        timestamp: Utc::now(),
        received_at: Utc::now(),
    }
}

/// A random network of `n` sites around the centre: mixed approval,
/// filters, hours, ratings and live states, some chargers linked to OCPP.
async fn random_network(store: &dyn Store, rng: &mut StdRng, n: usize) {
    let host = plugway_store_conformance::make_user(store, "+97688220001").await;
    let mut chargers = Vec::new();
    for i in 0..5 {
        let cp = ChargePointId::parse(&format!("IDX-CP-{i}")).unwrap();
        store
            .create_charge_point(&NewChargePoint {
                id: cp.clone(),
                password_hash: None,
                owner: Some(host.id),
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        chargers.push((cp, 0_i64));
    }
    let mut batch = Vec::new();
    for i in 0..n {
        let lat = CENTRE.0 + rng.gen_range(-0.3..0.3);
        let lng = CENTRE.1 + rng.gen_range(-0.4..0.4);
        let hours = if rng.gen_bool(0.7) {
            OpeningHours::always()
        } else {
            OpeningHours {
                twentyfourseven: false,
                regular_hours: (1..=5)
                    .map(|weekday| RegularHours {
                        weekday,
                        period_begin: "08:00".into(),
                        period_end: if rng.gen_bool(0.5) { "18:00" } else { "02:00" }.into(),
                    })
                    .collect(),
                exceptional_closings: vec![],
            }
        };
        let mut site = Site::pending(
            SiteId(uuid(rng)),
            host.id,
            SiteFields {
                name: format!("Site {i} {}", ["Mall", "Park", "Tower", "Depot"][i % 4]),
                address: format!("Street {}", i % 17),
                city: ["Ulaanbaatar", "Darkhan", "Erdenet"][i % 3].into(),
                province: ["Ulaanbaatar", "Selenge"][i % 2].into(),
                region: None,
                postal_code: None,
                country_code: "MN".into(),
                coordinates: Coordinates::new(lat, lng).unwrap(),
                time_zone: SiteTimeZone::parse("Asia/Ulaanbaatar").unwrap(),
                opening_hours: hours,
                facilities: pick(rng, Facility::ALL, 0.3),
                parking_types: pick(rng, ParkingType::ALL, 0.5),
                parking_restrictions: vec![],
                currency: Currency::parse("MNT").unwrap(),
                published: rng.gen_bool(0.95),
            },
            Utc::now(),
        );
        site.approval = if rng.gen_bool(0.9) {
            ApprovalState::Approved
        } else {
            ApprovalState::Pending
        };
        let mut evses = Vec::new();
        for e in 0..rng.gen_range(1..=3) {
            let standard = ConnectorStandard::ALL[rng.gen_range(0..ConnectorStandard::ALL.len())];
            let linked = rng.gen_bool(0.2).then(|| {
                let slot = rng.gen_range(0..chargers.len());
                chargers[slot].1 += 1;
                (chargers[slot].0.clone(), chargers[slot].1)
            });
            let mut evse = Evse::pending(
                EvseId(uuid(rng)),
                site.id,
                EvseFields {
                    evse_code: format!("E{i}-{e}"),
                    serial_number: None,
                    meter_type: None,
                    charge_point_id: linked.as_ref().map(|l| l.0.clone()),
                    ocpp_connector_id: linked.as_ref().map(|l| l.1),
                    declared_status: EvseStatus::ALL[rng.gen_range(0..EvseStatus::ALL.len())],
                    capabilities: pick(rng, Capability::ALL, 0.3),
                    payment_types: pick(rng, PaymentType::ALL, 0.3),
                    price_per_kwh: 500,
                    price_per_hour: 0,
                    waiting_price_per_minute: 0,
                    connectors: vec![ConnectorFields {
                        id: ConnectorId(uuid(rng)),
                        standard,
                        format: ConnectorFormat::Cable,
                        power_type: PowerType::Dc,
                        max_voltage: 400,
                        max_amperage: 100,
                        max_power_w: [7_400, 22_000, 50_000, 150_000][rng.gen_range(0..4)],
                    }],
                },
                Utc::now(),
            );
            if rng.gen_bool(0.85) {
                evse.approval = ApprovalState::Approved;
            }
            evses.push(evse);
        }
        batch.push((site, evses));
    }
    let ids: Vec<SiteId> = batch.iter().map(|(s, _)| s.id).collect();
    store.insert_sites_bulk(&batch).await.unwrap();
    // Ratings, and live states on the linked chargers.
    let rated: Vec<(usize, SiteId)> = ids
        .iter()
        .copied()
        .enumerate()
        .filter(|_| rng.gen_bool(0.3))
        .collect();
    for (k, id) in rated {
        let rater = plugway_store_conformance::make_user(store, &format!("+9768823{:04}", k)).await;
        store
            .rate_site(rater.id, id, rng.gen_range(1..=5), Utc::now())
            .await
            .unwrap();
    }
    for (cp, ports) in &chargers {
        for port in 1..=*ports {
            let status = ["Available", "Charging", "Faulted"][rng.gen_range(0..3)];
            store
                .record_status(cp, &status_report(port, status))
                .await
                .unwrap();
        }
        if rng.gen_bool(0.7) {
            store.set_connected(cp, true, Utc::now()).await.unwrap();
        }
    }
}

fn random_request(rng: &mut StdRng) -> SearchRequest {
    let point = |rng: &mut StdRng| {
        Coordinates::new(
            CENTRE.0 + rng.gen_range(-0.2..0.2),
            CENTRE.1 + rng.gen_range(-0.2..0.2),
        )
        .unwrap()
    };
    let mut request = SearchRequest::default();
    match rng.gen_range(0..4) {
        0 | 1 => {
            request.center = Some(point(rng));
            request.radius_m = rng.gen_range(500.0..30_000.0);
        }
        2 => {
            let (a, b) = (point(rng), point(rng));
            request.bbox = Some(
                BoundingBox::new(
                    a.lat.min(b.lat),
                    a.lng.min(b.lng),
                    a.lat.max(b.lat),
                    a.lng.max(b.lng),
                )
                .unwrap(),
            );
        }
        _ => {}
    }
    let mask = |rng: &mut StdRng, bits: i64| {
        if rng.gen_bool(0.3) {
            rng.gen_range(1..bits)
        } else {
            0
        }
    };
    request.filter = SiteFilter {
        standards_any: mask(rng, 1 << ConnectorStandard::ALL.len()),
        facilities_all: if rng.gen_bool(0.2) {
            Facility::ALL[rng.gen_range(0..Facility::ALL.len())].bit()
        } else {
            0
        },
        capabilities_all: if rng.gen_bool(0.2) {
            Capability::ALL[rng.gen_range(0..Capability::ALL.len())].bit()
        } else {
            0
        },
        payment_types_any: mask(rng, 1 << PaymentType::ALL.len()),
        parking_types_any: mask(rng, 1 << ParkingType::ALL.len()),
        min_power_w: if rng.gen_bool(0.3) { 50_000 } else { 0 },
        city: rng.gen_bool(0.2).then(|| "DARKHAN".to_owned()),
        province: rng.gen_bool(0.2).then(|| "selenge".to_owned()),
        terms: if rng.gen_bool(0.2) {
            vec!["mall".into()]
        } else {
            vec![]
        },
        available_now: rng.gen_bool(0.3),
        min_rating: rng.gen_bool(0.2).then(|| rng.gen_range(1.0..5.0)),
        ..SiteFilter::default()
    };
    request.open_now = rng.gen_bool(0.3);
    request
}

async fn the_index_answers_as_the_database_does(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(20261123);
    random_network(app.store.as_ref(), &mut rng, 400).await;
    let index = SearchIndex::new(app.store.clone(), SearchIndexSettings::default());
    index.catch_up().await.unwrap();
    assert!(index.len() > 250, "visible sites indexed: {}", index.len());
    // A Tuesday 20:00 in Ulaanbaatar: some sites are shut.
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    let mut non_empty = 0;
    for round in 0..300 {
        let request = random_request(&mut rng);
        let offset = if rng.gen_bool(0.3) {
            rng.gen_range(0..30)
        } else {
            0
        };
        let limit = rng.gen_range(1..25);
        let db = network::search(app.store.as_ref(), now, request.clone(), offset, limit)
            .await
            .unwrap();
        let (mem, sites) = index.search(now, &request, offset, limit);
        assert_eq!(mem.total, db.total, "round {round}: {request:?}");
        let ids = |p: &SearchPage| p.hits.iter().map(|h| h.site_id).collect::<Vec<_>>();
        // Without a centre or a box the index orders by id; the database's
        // ranked query orders by a chord from the origin that is 1 only up
        // to rounding, so there only the count is compared.
        if request.center.is_some() || request.bbox.is_some() || request.open_now {
            assert_eq!(ids(&mem), ids(&db), "round {round}: {request:?}");
        }
        assert_eq!(sites.len(), mem.hits.len());
        for (a, b) in mem.hits.iter().zip(&db.hits) {
            match (a.distance_m, b.distance_m) {
                (Some(x), Some(y)) => assert!((x - y).abs() < 0.01),
                (x, y) => assert_eq!(x.is_some(), y.is_some()),
            }
        }
        non_empty += usize::from(db.total > 0);
    }
    // The comparison is only worth something if searches found sites.
    assert!(non_empty > 100, "only {non_empty} searches found anything");
    app.finish().await;
}

async fn a_search_sees_changes_committed_before_it_on_any_node(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    // A second node: its own index over the same database.
    let other = SearchIndex::new(app.store.clone(), SearchIndexSettings::default());
    let mut rng = StdRng::seed_from_u64(7);
    random_network(app.store.as_ref(), &mut rng, 40).await;
    other.catch_up().await.unwrap();
    let before = other.len();
    let near = |radius_m: f64| SearchRequest {
        center: Some(Coordinates::new(CENTRE.0, CENTRE.1).unwrap()),
        radius_m,
        ..SearchRequest::default()
    };
    let now = Utc::now();

    // A host lists a new site through this node's HTTP API and an admin
    // approves it: the other node finds it in its very next search.
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, _) = sign_in_host(&app, "+97688229001", "Feed Energy").await;
    let site_body = json!({
        "name": "Fresh Feed Station", "address": "Peace Avenue 9", "city": "Ulaanbaatar",
        "province": "Ulaanbaatar", "country_code": "MN", "latitude": CENTRE.0,
        "longitude": CENTRE.1, "currency": "MNT"
    });
    let (status, site) = app
        .post("/api/v1/host/sites", site_body.clone(), Some(&host))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site_id = site["id"].as_str().unwrap().to_owned();
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site_id}/evses"),
            json!({
                "evse_code": "FF-1",
                "prices": {"per_kwh": 500},
                "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                                "max_voltage": 500, "max_amperage": 200, "max_power_kw": 120}]
            }),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    let evse_id = evse["id"].as_str().unwrap().to_owned();
    let mut terms = near(500.0);
    terms.filter.terms = vec!["fresh".into()];
    other.catch_up().await.unwrap();
    assert_eq!(
        other.search(now, &terms, 0, 10).0.total,
        0,
        "pending: not listed"
    );
    approve_listing(&app, &admin, &site_id, &[&evse_id]).await;
    other.catch_up().await.unwrap();
    let (page, sites) = other.search(now, &terms, 0, 10);
    assert_eq!(page.total, 1);
    assert_eq!(sites[0].site.id.to_text(), site_id);
    assert_eq!(other.len(), before + 1);
    // And this node's own search over HTTP says the same, at once.
    let url = format!(
        "/api/v1/sites?lat={}&lng={}&radius_km=1&q=fresh",
        CENTRE.0, CENTRE.1
    );
    let (status, found) = app.get(&url, None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["count"], 1, "{found}");

    // A rename (by an admin: a host's would wait for review) is seen at
    // once; the old name no longer matches.
    let mut renamed_body = site_body.clone();
    renamed_body["name"] = json!("Renamed Feed Station");
    let (status, body) = app
        .put(
            &format!("/api/v1/host/sites/{site_id}"),
            renamed_body,
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, found) = app.get(&url, None).await;
    assert_eq!(found["count"], 0, "{found}");
    other.catch_up().await.unwrap();
    let mut renamed = near(500.0);
    renamed.filter.terms = vec!["renamed".into()];
    assert_eq!(other.search(now, &renamed, 0, 10).0.total, 1);

    // Live state: the EVSE is linked to a charger; "available now" follows
    // the charger's connection and status as the store records them.
    let cp = ChargePointId::parse("IDX-LIVE").unwrap();
    app.store
        .create_charge_point(&NewChargePoint {
            id: cp.clone(),
            password_hash: None,
            owner: None,
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    let stored = app
        .store
        .find_evse(EvseId(uuid::Uuid::parse_str(&evse_id).unwrap()))
        .await
        .unwrap()
        .unwrap();
    let mut linked = stored.fields.clone();
    linked.charge_point_id = Some(cp.clone());
    linked.ocpp_connector_id = Some(1);
    app.store
        .update_evse(stored.id, &linked, Utc::now())
        .await
        .unwrap();
    let mut available = renamed.clone();
    available.filter.available_now = true;
    other.catch_up().await.unwrap();
    assert_eq!(
        other.search(now, &available, 0, 10).0.total,
        0,
        "no status yet"
    );
    app.store
        .record_status(&cp, &status_report(1, "Available"))
        .await
        .unwrap();
    app.store
        .set_connected(&cp, true, Utc::now())
        .await
        .unwrap();
    other.catch_up().await.unwrap();
    assert_eq!(
        other.search(now, &available, 0, 10).0.total,
        1,
        "connected and available"
    );
    app.store
        .record_status(&cp, &status_report(1, "Charging"))
        .await
        .unwrap();
    other.catch_up().await.unwrap();
    assert_eq!(other.search(now, &available, 0, 10).0.total, 0, "busy");

    // Deleting the site takes it out.
    let (status, body) = app
        .delete(&format!("/api/v1/host/sites/{site_id}"), Some(&host))
        .await;
    assert!(status.is_success(), "{status} {body}");
    other.catch_up().await.unwrap();
    assert_eq!(other.search(now, &renamed, 0, 10).0.total, 0);
    assert_eq!(other.len(), before);
    app.finish().await;
}

/// `GET /api/v1/sites` on the index writes each site from its cached JSON
/// (`IndexedSite::view_json`); the body must be exactly what the database
/// path serializes: every field of every site, the distances, `open_now` at
/// the request's time, and the page frame.
async fn http_search_on_the_index_answers_what_the_database_path_does(
    backend: Backend,
    name: &str,
) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(31);
    random_network(app.store.as_ref(), &mut rng, 300).await;
    app.state.search_index().warm().await.unwrap();
    assert!(app.state.search_index().is_loaded());
    const FILTERS: [&str; 8] = [
        "",
        "&standards=CCS2,TYPE_2",
        "&min_power_kw=50",
        "&available_now=true",
        "&open_now=true",
        "&q=mall",
        "&city=Darkhan&min_rating=2",
        "&parking_types=INDOOR",
    ];
    let mut compared = 0;
    let mut queries = Vec::new();
    for round in 0..60 {
        let query = format!(
            "lat={:.5}&lng={:.5}&radius_km={}&page={}&page_size={}{}",
            CENTRE.0 + rng.gen_range(-0.2..0.2),
            CENTRE.1 + rng.gen_range(-0.2..0.2),
            rng.gen_range(1..30),
            rng.gen_range(1..=3),
            rng.gen_range(1..=25),
            FILTERS[rng.gen_range(0..FILTERS.len())],
        );
        // Between rounds the clock moves through the day, so `open_now`
        // (written per request on the index path) changes.
        app.clock
            .advance(chrono::Duration::minutes(rng.gen_range(0..400)));
        compared += http_search_matches_database(&app, &query, round).await;
        queries.push(query);
    }
    // Ratings and live states change: the sites' kept JSON must follow.
    let shown: Vec<SiteId> = app
        .store
        .visible_site_ids(None, 400)
        .await
        .unwrap()
        .into_iter()
        .take(60)
        .collect();
    for (k, id) in shown.iter().enumerate() {
        let rater =
            plugway_store_conformance::make_user(app.store.as_ref(), &format!("+9768824{k:04}"))
                .await;
        app.store
            .rate_site(rater.id, *id, 1 + (k % 5) as i64, Utc::now())
            .await
            .unwrap();
    }
    for i in 0..5 {
        let cp = ChargePointId::parse(&format!("IDX-CP-{i}")).unwrap();
        for port in 1..=4 {
            let status = ["Charging", "Available", "Faulted"][(i + port as usize) % 3];
            app.store
                .record_status(&cp, &status_report(port, status))
                .await
                .unwrap();
        }
        app.store
            .set_connected(&cp, i % 2 == 0, Utc::now())
            .await
            .unwrap();
    }
    for (round, query) in queries.iter().enumerate() {
        compared += http_search_matches_database(&app, query, 100 + round).await;
    }
    // A page far past the end is empty, not a failure.
    let (status, body) = app
        .get(
            &format!(
                "/api/v1/sites?lat={}&lng={}&page={}&page_size=1",
                CENTRE.0,
                CENTRE.1,
                i64::MAX
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"], json!([]), "{body}");
    assert_eq!(body["next"], Value::Null, "{body}");
    assert!(compared > 200, "only {compared} sites compared");
    app.finish().await;
}

/// Runs `query` on `GET /api/v1/sites` (on the index) and as the database
/// path renders it, asserts the two replies are the same JSON value, and
/// returns how many sites the page held.
async fn http_search_matches_database(app: &TestApp, query: &str, round: usize) -> usize {
    let now = app.clock.now();
    let (status, body) = app.get(&format!("/api/v1/sites?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uri: axum::http::Uri = format!("/?{query}").parse().unwrap();
    let axum::extract::Query(q) = axum::extract::Query::<SearchQuery>::try_from_uri(&uri).unwrap();
    let axum::extract::Query(paging) =
        axum::extract::Query::<PageQuery>::try_from_uri(&uri).unwrap();
    let (page, size, offset) = paging.resolve().unwrap();
    let request = build_search(q).unwrap();
    let found = network::search(
        app.store.as_ref(),
        now,
        request,
        offset as usize,
        size as usize,
    )
    .await
    .unwrap();
    let ids: Vec<SiteId> = found.hits.iter().map(|h| h.site_id).collect();
    let loaded = network::load_sites(app.store.as_ref(), &ids, true)
        .await
        .unwrap();
    let views = network::render(&loaded, &found.hits, now);
    let expected =
        serde_json::to_value(Paginated::new(views, found.total as i64, page, size)).unwrap();
    assert_eq!(body, expected, "round {round}: {query}");
    body["results"].as_array().map_or(0, Vec::len)
}
