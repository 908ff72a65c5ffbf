//! The charging network over HTTP: a host lists a site, an admin approves
//! it, a driver finds, bookmarks and rates it; hosts are kept apart; bad
//! input is refused.

use axum::http::StatusCode;
use chrono::Datelike;
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, png, read, Backend, Options, TestApp};

crate::on_both_backends!(
    host_lists_admin_approves_driver_finds,
    hosts_are_kept_apart,
    bad_network_input_is_refused,
    search_by_hours_text_and_rating,
    live_status_comes_from_the_charger,
);

/// Ulaanbaatar, Sükhbaatar Square.
const CENTRE: (f64, f64) = (47.9186, 106.9176);

fn site_body(name: &str, lat: f64, lng: f64) -> Value {
    json!({
        "name": name,
        "address": "Peace Avenue 1",
        "city": "Ulaanbaatar",
        "province": "Ulaanbaatar",
        "country_code": "mn",
        "latitude": lat,
        "longitude": lng,
        "time_zone": "Asia/Ulaanbaatar",
        "facilities": ["CAFE", "WIFI"],
        "parking_types": ["OUTDOOR"],
        "currency": "MNT"
    })
}

fn evse_body(code: &str, standard: &str, kw: f64) -> Value {
    json!({
        "evse_code": code,
        "meter_type": "DC",
        "capabilities": ["QR_READER"],
        "payment_types": ["GCASH"],
        "prices": {"per_kwh": 500.5, "waiting_per_minute": 20},
        "connectors": [{
            "standard": standard, "format": "CABLE", "power_type": "DC",
            "max_voltage": 500, "max_amperage": 200, "max_power_kw": kw
        }]
    })
}

async fn host(app: &TestApp, phone: &str, owner: &str) -> (String, String) {
    crate::harness::sign_in_host(app, phone, owner).await
}

async fn create_site(app: &TestApp, token: &str, body: Value) -> String {
    let (status, site) = app.post("/api/v1/host/sites", body, Some(token)).await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    assert_eq!(site["approval"], "PENDING");
    assert_eq!(site["visible"], false);
    site["id"].as_str().unwrap().to_owned()
}

async fn create_evse(app: &TestApp, token: &str, site: &str, body: Value) -> String {
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            body,
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    evse["id"].as_str().unwrap().to_owned()
}

async fn approve(app: &TestApp, admin: &str, site: &str, evses: &[&str]) {
    crate::harness::approve_listing(app, admin, site, evses).await
}

/// A listed site with one approved EVSE; returns (site id, evse id).
async fn listed_site(
    app: &TestApp,
    token: &str,
    admin: &str,
    body: Value,
    evse: Value,
) -> (String, String) {
    let site = create_site(app, token, body).await;
    let evse = create_evse(app, token, &site, evse).await;
    approve(app, admin, &site, &[&evse]).await;
    (site, evse)
}

async fn upload(
    app: &TestApp,
    path: &str,
    field: &str,
    files: Vec<Vec<u8>>,
    token: &str,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (i, bytes) in files.into_iter().enumerate() {
        // The name says .jpg on purpose: the type comes from the bytes.
        let part = reqwest::multipart::Part::bytes(bytes).file_name(format!("photo{i}.jpg"));
        form = form.part(field.to_owned(), part);
    }
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn host_lists_admin_approves_driver_finds(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, host_id) = host(&app, "+97688000001", "Solar Charge LLC").await;
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert!(me.is_object());

    // The host builds a site: two EVSEs, photos, a nearby place.
    let site = create_site(&app, &token, site_body("Central Tower", CENTRE.0, CENTRE.1)).await;
    let fast = create_evse(&app, &token, &site, evse_body("UB-01", "CCS2", 150.0)).await;
    let slow = create_evse(&app, &token, &site, evse_body("UB-02", "TYPE_2", 22.0)).await;
    let (status, photos) = upload(
        &app,
        &format!("/api/v1/host/sites/{site}/photos"),
        "photos",
        vec![png(800, 600), png(300, 900)],
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{photos}");
    assert_eq!(photos.as_array().unwrap().len(), 2);
    assert_eq!(photos[0]["width"], 800);
    let (status, place) = app
        .post(
            &format!("/api/v1/host/sites/{site}/nearby"),
            json!({"kind": "Cafe", "name": "Tom N Toms", "address": "next door"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{place}");
    let (_, pending) = app.get("/api/v1/host/pending", Some(&token)).await;
    assert_eq!(pending, json!({"pending_locations": 1, "pending_evses": 2}));

    // Not listed before approval.
    let map = format!(
        "/api/v1/devices/by-location?bottom-left-longitude={}&bottom-left-latitude={}&upper-right-longitude={}&upper-right-latitude={}",
        CENTRE.1 - 0.1, CENTRE.0 - 0.1, CENTRE.1 + 0.1, CENTRE.0 + 0.1
    );
    let (status, devices) = app.get(&map, None).await;
    assert_eq!(status, StatusCode::OK, "{devices}");
    assert_eq!(devices, json!([]));
    assert_error(
        &app.get(&format!("/api/v1/sites/{site}"), None).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );

    // The admin's queue shows it; approval lists it.
    let (_, queue) = app
        .get("/api/v1/admin/sites?approval=PENDING", Some(&admin))
        .await;
    assert_eq!(ids(&queue), vec![site.clone()]);
    approve(&app, &admin, &site, &[&fast, &slow]).await;
    let (_, pending) = app
        .get("/api/v1/admin/sites?approval=PENDING", Some(&admin))
        .await;
    assert_eq!(pending["count"], 0);

    // Seed 001's map, exactly.
    let (_, devices) = app.get(&map, None).await;
    let devices = devices.as_array().unwrap().clone();
    assert_eq!(devices.len(), 2);
    let first = &devices[0];
    for key in [
        "_id",
        "deviceNumber",
        "price",
        "waitingPrice",
        "location",
        "state",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert_eq!(first["location"], json!([CENTRE.1, CENTRE.0]));
    assert_eq!(first["state"], "Idle");
    assert_eq!(first["price"], 500.5);
    assert_eq!(first["waitingPrice"], 20.0);

    // A driver searches by radius, text and filters.
    let driver = app.otp_sign_in("+97688000002").await;
    let driver = driver["token"].as_str().unwrap().to_owned();
    let near = format!(
        "/api/v1/sites?lat={}&lng={}&radius_km=5",
        CENTRE.0 + 0.01,
        CENTRE.1
    );
    let (status, page) = app.get(&near, Some(&driver)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), vec![site.clone()]);
    let hit = &page["results"][0];
    let distance = hit["distance_m"].as_f64().unwrap();
    assert!((1100.0..1125.0).contains(&distance), "{distance}");
    assert_eq!(hit["max_power_kw"], 150.0);
    assert_eq!(hit["status"], "AVAILABLE");
    assert_eq!(hit["evses"].as_array().unwrap().len(), 2);
    assert!(
        hit.get("photos").is_none(),
        "lists leave photos to the detail"
    );
    for (query, expected) in [
        ("&standards=CCS2,CHADEMO", 1),
        ("&standards=GBT", 0),
        ("&min_power_kw=100", 1),
        ("&min_power_kw=200", 0),
        ("&facilities=CAFE,WIFI", 1),
        ("&facilities=POOL", 0),
        ("&payment_types=GCASH", 1),
        ("&capabilities=QR_READER", 1),
        ("&capabilities=QR_READER,CREDIT_DEBIT_PAYABLE", 0),
        ("&parking_types=indoor", 0),
        ("&city=ulaanbaatar", 1),
        ("&available_now=true", 1),
        ("&q=solar+tower", 1),
        ("&q=150kw", 1),
        ("&q=darkhan", 0),
    ] {
        let (status, page) = app.get(&format!("{near}{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(page["count"], expected, "{query}: {page}");
    }
    let (_, far) = app
        .get("/api/v1/sites?lat=49.0&lng=105.0&radius_km=10", None)
        .await;
    assert_eq!(far["count"], 0);
    let (_, by_text) = app.get("/api/v1/sites?q=central", None).await;
    assert_eq!(ids(&by_text), vec![site.clone()]);
    assert!(by_text["results"][0].get("distance_m").is_none());

    // The detail: photos (served with caching), nearby, prices.
    let (status, detail) = app
        .get(
            &format!("/api/v1/sites/{site}?lat={}&lng={}", CENTRE.0, CENTRE.1),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["distance_m"], 0.0);
    assert_eq!(detail["nearby"][0]["name"], "Tom N Toms");
    assert_eq!(detail["evses"][0]["prices"]["minor"]["per_kwh"], 50050);
    let photo_url = detail["photos"][0]["url"].as_str().unwrap().to_owned();
    let thumb_url = detail["photos"][1]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo = app.http.get(app.url(&photo_url)).send().await.unwrap();
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert!(photo.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = photo.headers()["etag"].clone();
    let bytes = photo.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (800, 600));
    let again = app
        .http
        .get(app.url(&photo_url))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let thumb = app
        .http
        .get(app.url(&thumb_url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert!(
        thumb.width() <= 320 && thumb.height() <= 320,
        "{}x{}",
        thumb.width(),
        thumb.height()
    );

    // Bookmarks.
    let mark = format!("/api/v1/bookmarks/{site}");
    assert_eq!(
        app.put(&mark, json!({}), Some(&driver)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.put(&mark, json!({}), Some(&driver)).await.0,
        StatusCode::OK
    );
    let (_, marks) = app.get("/api/v1/bookmarks", Some(&driver)).await;
    assert_eq!(marks["count"], 1);
    assert_eq!(marks["results"][0]["site"]["name"], "Central Tower");
    let (status, one) = app.get(&mark, Some(&driver)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["site"]["photos"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.delete(&mark, Some(&driver)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.delete(&mark, Some(&driver)).await,
        StatusCode::NOT_FOUND,
        "bookmark_not_found",
    );
    assert_error(
        &app.get("/api/v1/bookmarks", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );

    // Ratings: one per driver, the average kept on the site.
    let rating = format!("/api/v1/sites/{site}/rating");
    let (_, r) = app.put(&rating, json!({"rating": 2}), Some(&driver)).await;
    assert_eq!(
        r,
        json!({"rating": 2.0, "rating_count": 1, "your_rating": 2})
    );
    let (_, r) = app.put(&rating, json!({"rating": 4}), Some(&driver)).await;
    assert_eq!(r["rating_count"], 1);
    let other = app.otp_sign_in("+97688000003").await;
    let (_, r) = app
        .put(
            &rating,
            json!({"rating": 5}),
            Some(other["token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        r,
        json!({"rating": 4.5, "rating_count": 2, "your_rating": 5})
    );
    let (_, page) = app.get(&format!("{near}&min_rating=4.5"), None).await;
    assert_eq!(page["count"], 1);

    // The host's profile and listing.
    let (_, profile) = app.get("/api/v1/host/profile", Some(&token)).await;
    assert_eq!(profile["user_id"], host_id);
    let (_, mine) = app.get("/api/v1/host/sites", Some(&token)).await;
    assert_eq!(ids(&mine), vec![site.clone()]);
    assert_eq!(mine["results"][0]["approval"], "APPROVED");

    // Deleting the site removes it everywhere, photos included.
    assert_eq!(
        app.delete(&format!("/api/v1/host/sites/{site}"), Some(&token))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, devices) = app.get(&map, None).await;
    assert_eq!(devices, json!([]));
    assert_eq!(
        app.http
            .get(app.url(&photo_url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.finish().await;
}

async fn hosts_are_kept_apart(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (alice, alice_id) = host(&app, "+97688000011", "Alice Power").await;
    let (bob, _) = host(&app, "+97688000012", "Bob Volts").await;
    let driver = app.otp_sign_in("+97688000013").await;
    let driver = driver["token"].as_str().unwrap().to_owned();

    let site = create_site(&app, &alice, site_body("Alice's", CENTRE.0, CENTRE.1)).await;
    let evse = create_evse(&app, &alice, &site, evse_body("A-1", "TYPE_2", 22.0)).await;
    let nearby = app
        .post(
            &format!("/api/v1/host/sites/{site}/nearby"),
            json!({"kind": "shop", "name": "Shop", "address": "there"}),
            Some(&alice),
        )
        .await;
    let nearby = nearby.1["id"].as_str().unwrap().to_owned();

    // Bob sees nothing of Alice's and can change none of it.
    let site_path = format!("/api/v1/host/sites/{site}");
    assert_error(
        &app.get(&site_path, Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.put(&site_path, site_body("Bob's now", 0.0, 0.0), Some(&bob))
            .await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.delete(&site_path, Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.post(
            &format!("{site_path}/evses"),
            evse_body("B-1", "TYPE_2", 7.0),
            Some(&bob),
        )
        .await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.put(
            &format!("/api/v1/host/evses/{evse}"),
            evse_body("B-1", "TYPE_2", 7.0),
            Some(&bob),
        )
        .await,
        StatusCode::NOT_FOUND,
        "evse_not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/host/evses/{evse}"), Some(&bob))
            .await,
        StatusCode::NOT_FOUND,
        "evse_not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/host/nearby/{nearby}"), Some(&bob))
            .await,
        StatusCode::NOT_FOUND,
        "nearby_not_found",
    );
    let (status, _) = upload(
        &app,
        &format!("{site_path}/photos"),
        "photos",
        vec![png(10, 10)],
        &bob,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, bobs) = app.get("/api/v1/host/sites", Some(&bob)).await;
    assert_eq!(bobs["count"], 0);
    let (_, pending) = app.get("/api/v1/host/pending", Some(&bob)).await;
    assert_eq!(pending, json!({"pending_locations": 0, "pending_evses": 0}));
    // Bob cannot link Alice's... or anyone's unowned charge point.
    let mut linked = evse_body("A-2", "TYPE_2", 22.0);
    linked["charge_point_id"] = json!("CP-NOT-MINE");
    linked["ocpp_connector_id"] = json!(1);
    assert_error(
        &app.post(&format!("{site_path}/evses"), linked, Some(&alice))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    // Drivers are not hosts; hosts and drivers are not admins.
    assert_error(
        &app.get("/api/v1/host/sites", Some(&driver)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post(
            "/api/v1/host/sites",
            site_body("x", 1.0, 1.0),
            Some(&driver),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post(
            &format!("/api/v1/admin/sites/{site}/approval"),
            json!({"approval": "APPROVED"}),
            Some(&alice),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // Hosts create for themselves only; admins say for whom.
    assert_error(
        &app.post(
            &format!("/api/v1/host/sites?host_id={alice_id}"),
            site_body("x", 1.0, 1.0),
            Some(&bob),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post("/api/v1/host/sites", site_body("x", 1.0, 1.0), Some(&admin))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (status, made) = app
        .post(
            &format!("/api/v1/host/sites?host_id={alice_id}"),
            site_body("By admin", 1.0, 1.0),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["host_id"], alice_id);
    let (_, all) = app.get("/api/v1/host/sites", Some(&admin)).await;
    assert_eq!(all["count"], 2);

    // A rejection needs a reason and hides nothing that was not listed.
    assert_error(
        &app.post(
            &format!("/api/v1/admin/sites/{site}/approval"),
            json!({"approval": "REJECTED"}),
            Some(&admin),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (_, rejected) = app
        .post(
            &format!("/api/v1/admin/sites/{site}/approval"),
            json!({"approval": "REJECTED", "reason": "photos missing"}),
            Some(&admin),
        )
        .await;
    assert_eq!(rejected["rejection_reason"], "photos missing");
    assert_error(
        &app.get(&format!("/api/v1/sites/{site}"), Some(&driver))
            .await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    app.finish().await;
}

async fn bad_network_input_is_refused(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (token, _) = host(&app, "+97688000021", "Edge Cases").await;
    let mut bad_site = Vec::new();
    for (field, value) in [
        ("latitude", json!(91.0)),
        ("longitude", json!(-181.0)),
        ("facilities", json!(["SAUNA"])),
        ("currency", json!("EURO")),
        ("country_code", json!("MNG")),
        ("time_zone", json!("Mars/Olympus")),
        ("name", json!("   ")),
        (
            "opening_hours",
            json!({"twentyfourseven": false, "regular_hours": [{"weekday": 8, "period_begin": "08:00", "period_end": "18:00"}]}),
        ),
    ] {
        let mut body = site_body("Edge", 1.0, 1.0);
        body[field] = value;
        bad_site.push((field, body));
    }
    let mut unknown = site_body("Edge", 1.0, 1.0);
    unknown["surprise"] = json!(1);
    bad_site.push(("unknown field", unknown));
    for (field, body) in bad_site {
        let reply = app.post("/api/v1/host/sites", body, Some(&token)).await;
        assert!(
            reply.0 == StatusCode::BAD_REQUEST || reply.0 == StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {reply:?}"
        );
        assert!(
            reply.1["code"].is_string() && reply.1["message"].is_string(),
            "{field}: {reply:?}"
        );
    }
    let (_, mine) = app.get("/api/v1/host/sites", Some(&token)).await;
    assert_eq!(mine["count"], 0, "bad input changed nothing");

    let site = create_site(&app, &token, site_body("Edge", 1.0, 1.0)).await;
    let evses = format!("/api/v1/host/sites/{site}/evses");
    for (field, patch) in [
        ("connectors", json!({"connectors": []})),
        (
            "standard",
            json!({"connectors": [{"standard": "SCHUKO", "format": "SOCKET", "power_type": "AC", "max_voltage": 230, "max_amperage": 16, "max_power_kw": 3.7}]}),
        ),
        (
            "max_power_kw",
            json!({"connectors": [{"standard": "TYPE_2", "format": "SOCKET", "power_type": "AC", "max_voltage": 230, "max_amperage": 16, "max_power_kw": 0}]}),
        ),
        ("prices", json!({"prices": {"per_kwh": -1}})),
        ("ocpp_connector_id", json!({"charge_point_id": "CP1"})),
        ("status", json!({"status": "SLEEPING"})),
    ] {
        let mut body = evse_body("E-1", "TYPE_2", 22.0);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = app.post(&evses, body, Some(&token)).await;
        assert_eq!(
            reply.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            reply.1
        );
        assert!(reply.1["code"].is_string(), "{field}");
    }
    create_evse(&app, &token, &site, evse_body("E-1", "TYPE_2", 22.0)).await;
    assert_error(
        &app.post(&evses, evse_body("E-1", "TYPE_2", 22.0), Some(&token))
            .await,
        StatusCode::CONFLICT,
        "evse_code_taken",
    );

    // Uploads: the bytes decide, not the name; limits hold.
    let photos = format!("/api/v1/host/sites/{site}/photos");
    let (status, body) = upload(
        &app,
        &photos,
        "photos",
        vec![b"GIF89a not really".to_vec()],
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = upload(&app, &photos, "photos", vec![png(4, 4); 6], &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = upload(&app, &photos, "selfie", vec![png(4, 4)], &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut truncated = png(64, 64);
    truncated.truncate(60);
    let (status, body) = upload(&app, &photos, "photos", vec![truncated], &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, detail) = app
        .get(&format!("/api/v1/host/sites/{site}"), Some(&token))
        .await;
    assert_eq!(detail["photos"], json!([]));

    // Driver queries.
    for path in [
        "/api/v1/devices/by-location?bottom-left-longitude=10&bottom-left-latitude=50&upper-right-longitude=11&upper-right-latitude=40",
        "/api/v1/devices/by-location?bottom-left-longitude=10",
        "/api/v1/devices/by-location?bottom-left-longitude=x&bottom-left-latitude=1&upper-right-longitude=2&upper-right-latitude=3",
        "/api/v1/sites",
        "/api/v1/sites?lat=10",
        "/api/v1/sites?lat=10&lng=10&radius_km=500",
        "/api/v1/sites?lat=10&lng=10&min_rating=9",
        "/api/v1/sites?lat=10&lng=10&standards=PLUG",
        "/api/v1/sites?lat=10&lng=10&page=0",
    ] {
        let reply = app.get(path, None).await;
        assert!(reply.0 == StatusCode::BAD_REQUEST || reply.0 == StatusCode::UNPROCESSABLE_ENTITY, "{path}: {reply:?}");
        assert!(reply.1["code"].is_string(), "{path}");
    }
    assert_error(
        &app.get("/api/v1/sites/not-a-uuid", None).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.get("/api/v1/media/sites/x/../../etc", None).await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    assert_error(
        &app.get("/api/v1/media/etc/x/passwd", None).await,
        StatusCode::NOT_FOUND,
        "media_not_found",
    );
    let driver = app.otp_sign_in("+97688000022").await;
    assert_error(
        &app.put(
            &format!("/api/v1/sites/{site}/rating"),
            json!({"rating": 6}),
            Some(driver["token"].as_str().unwrap()),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    app.finish().await;
}

async fn search_by_hours_text_and_rating(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, _) = host(&app, "+97688000031", "Night Owl").await;
    let today = i64::from(app.clock_now().weekday().number_from_monday());
    let tomorrow = today % 7 + 1;
    let hours = |weekday: i64| {
        json!({"twentyfourseven": false, "regular_hours": [
            {"weekday": weekday, "period_begin": "00:00", "period_end": "24:00"}
        ]})
    };
    let mut open = site_body("Open Today", CENTRE.0, CENTRE.1);
    open["time_zone"] = json!("UTC");
    open["opening_hours"] = hours(today);
    let mut closed = site_body("Closed Today", CENTRE.0 + 0.01, CENTRE.1);
    closed["time_zone"] = json!("UTC");
    closed["opening_hours"] = hours(tomorrow);
    let always = site_body("Always Open", CENTRE.0 + 0.02, CENTRE.1);
    let (open, _) = listed_site(&app, &token, &admin, open, evse_body("O-1", "TYPE_2", 22.0)).await;
    let (closed, _) = listed_site(
        &app,
        &token,
        &admin,
        closed,
        evse_body("C-1", "TYPE_2", 22.0),
    )
    .await;
    let (always, _) = listed_site(
        &app,
        &token,
        &admin,
        always,
        evse_body("A-1", "TYPE_2", 22.0),
    )
    .await;

    let near = format!("/api/v1/sites?lat={}&lng={}", CENTRE.0, CENTRE.1);
    let (_, all) = app.get(&near, None).await;
    // Nearest first.
    assert_eq!(
        ids(&all),
        vec![open.clone(), closed.clone(), always.clone()]
    );
    assert_eq!(all["results"][1]["open_now"], false);
    let (_, now) = app.get(&format!("{near}&open_now=true"), None).await;
    assert_eq!(ids(&now), vec![open.clone(), always.clone()]);

    // Paging keeps the order and the links.
    let (_, first) = app.get(&format!("{near}&page_size=2"), None).await;
    assert_eq!(
        (
            first["count"].clone(),
            first["next"].clone(),
            first["previous"].clone()
        ),
        (json!(3), json!(2), json!(null))
    );
    let (_, second) = app.get(&format!("{near}&page_size=2&page=2"), None).await;
    assert_eq!(ids(&second), vec![always.clone()]);

    // Text search: all words, in any field, case-insensitive; host names too.
    let (_, owl) = app.get("/api/v1/sites?q=NIGHT+owl+today", None).await;
    let mut expected = vec![open.clone(), closed.clone()];
    expected.sort();
    let mut got = ids(&owl);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(owl["count"], 2);
    let (_, none) = app.get("/api/v1/sites?q=night+owl+tomorrow", None).await;
    assert_eq!(none["count"], 0);

    // Cities by province (seed 003's shape).
    let (_, cities) = app.get("/api/v1/reference/cities/Ulaanbaatar", None).await;
    assert_eq!(cities, json!([{"city": "Ulaanbaatar"}]));
    let (_, filters) = app.get("/api/v1/reference/filters", None).await;
    assert_eq!(
        filters["connector_types"][0],
        json!({"id": 1, "code": "TYPE_1", "description": "Type 1"})
    );
    assert_eq!(
        filters["connector_types"][3],
        json!({"id": 4, "code": "GBT", "description": "GBT"})
    );
    assert_eq!(filters["facilities"].as_array().unwrap().len(), 16);
    app.finish().await;
}

/// An EVSE linked to an OCPP charger shows the charger's own status
/// (StatusNotification), in OCPI's terms and seed 001's, and the
/// availability filter follows it; a charger that goes away is shown as
/// out of use.
async fn live_status_comes_from_the_charger(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, host_id) = host(&app, "+97688000041", "Live Power").await;
    let running = crate::harness::start_simulator(&app, &admin, "LIVE-1", Some(&host_id)).await;
    let mut linked = evse_body("L-1", "CCS2", 50.0);
    linked["charge_point_id"] = json!("LIVE-1");
    linked["ocpp_connector_id"] = json!(1);
    let (site, _) = listed_site(
        &app,
        &token,
        &admin,
        site_body("Live", CENTRE.0, CENTRE.1),
        linked,
    )
    .await;

    let map = format!(
        "/api/v1/devices/by-location?bottom-left-longitude={}&bottom-left-latitude={}&upper-right-longitude={}&upper-right-latitude={}",
        CENTRE.1 - 0.1, CENTRE.0 - 0.1, CENTRE.1 + 0.1, CENTRE.0 + 0.1
    );
    let available = format!(
        "/api/v1/sites?lat={}&lng={}&available_now=true",
        CENTRE.0, CENTRE.1
    );
    // The simulator reports its connectors Available after booting.
    let mut state = Value::Null;
    for _ in 0..100 {
        state = app.get(&map, None).await.1[0]["state"].clone();
        if state == "Idle" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "Idle");
    let (_, detail) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(detail["evses"][0]["status"], "AVAILABLE");
    assert_eq!(app.get(&available, None).await.1["count"], 1);

    // The charger goes away: unknown to OCPI, out of use to the app, not available.
    running.abort();
    let mut state = Value::Null;
    for _ in 0..100 {
        state = app.get(&map, None).await.1[0]["state"].clone();
        if state == "Repair" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "Repair");
    let (_, detail) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(detail["evses"][0]["status"], "UNKNOWN");
    assert_eq!(app.get(&available, None).await.1["count"], 0);
    app.finish().await;
}
