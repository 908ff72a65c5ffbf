//! Drivers' vehicles and profile photos over HTTP: CRUD with seed 000's
//! field names, validation, ownership, the one-favourite rule under
//! parallel calls, photos (set, replace, remove, default image) and the
//! `vehicle_id` site search filter.

use std::io::Cursor;

use axum::http::StatusCode;
use futures::future::join_all;
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, read, Backend, Options, TestApp};

crate::on_both_backends!(
    vehicles_crud_with_seed_names,
    bad_vehicle_input_changes_nothing,
    other_drivers_vehicles_are_not_found,
    one_favourite_even_under_parallel_calls,
    profile_and_vehicle_photos,
    search_narrows_to_the_vehicles_connectors,
);

const DEFAULT_USER: &str = "/api/v1/media/defaults/user.png";
const DEFAULT_VEHICLE: &str = "/api/v1/media/defaults/vehicle.png";

async fn driver(app: &TestApp, phone: &str) -> String {
    app.otp_sign_in(phone).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ioniq() -> Value {
    json!({
        "make": "Hyundai",
        "model": "Ioniq 5",
        "vehicle_type": "car",
        "connector_standards": ["CCS2", "type_2"],
        "battery_capacity_wh": 77400,
        "max_ac_power_w": 11000,
        "max_dc_power_w": 220000,
        "licence_plate": " 1234 uba "
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, vehicle) = app.post("/api/v1/vehicles", body, Some(token)).await;
    assert_eq!(status, StatusCode::CREATED, "{vehicle}");
    vehicle
}

async fn list(app: &TestApp, token: &str) -> Value {
    let (status, page) = app.get("/api/v1/vehicles", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(
    app: &TestApp,
    path: &str,
    field: &str,
    bytes: Vec<u8>,
    token: &str,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg");
    let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
    let response = app
        .http
        .put(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// Status and content type of a media URL.
async fn fetch(app: &TestApp, url: &str) -> (StatusCode, String) {
    let response = app.http.get(app.url(url)).send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    if status == StatusCode::OK && content_type.starts_with("image/") {
        // It really is an image.
        image::load_from_memory(&bytes).unwrap();
    }
    (status, content_type)
}

async fn vehicles_crud_with_seed_names(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = driver(&app, "+97688110001").await;

    let first = create(&app, &ann, ioniq()).await;
    assert_eq!(first["make"], "Hyundai");
    assert_eq!(first["vehicle_manufacture"], "Hyundai");
    assert_eq!(first["vehicle_model"], "Ioniq 5");
    assert_eq!(first["connector_standards"], json!(["TYPE_2", "CCS2"]));
    assert_eq!(first["battery_capacity_wh"], 77400);
    assert_eq!(first["licence_plate"], "1234 UBA");
    assert_eq!(first["is_favourite"], false);
    assert_eq!(first["photo"], DEFAULT_VEHICLE);
    assert_eq!(first["vehicle_image"], DEFAULT_VEHICLE);
    assert_eq!(first["has_photo"], false);
    let first_id = first["id"].as_str().unwrap().to_owned();

    // Seed 000's own body, names and all (its image path and owner are
    // accepted and ignored), plus what the canonical API requires.
    let seed = create(
        &app,
        &ann,
        json!({
            "vehicle_image": "/media/Images/customer/vehicle/c1_7.png",
            "vehicle_manufacture": "556",
            "vehicle_model": "yhfj",
            "vehicle_type": "ytyi",
            "is_favourite": true,
            "vehicle_customer": 7,
            "connector_standards": ["CHADEMO"],
            "battery_capacity_wh": 40000
        }),
    )
    .await;
    assert_eq!(seed["make"], "556");
    assert_eq!(seed["model"], "yhfj");
    assert_eq!(seed["vehicle_type"], "ytyi");
    assert_eq!(seed["is_favourite"], true);
    assert_eq!(seed["vehicle_image"], DEFAULT_VEHICLE);
    assert_eq!(seed["max_dc_power_w"], Value::Null);
    let seed_id = seed["id"].as_str().unwrap().to_owned();

    // The favourite first.
    let page = list(&app, &ann).await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["id"], seed_id.as_str());
    assert_eq!(page["results"][1]["id"], first_id.as_str());
    let (_, small) = app
        .get("/api/v1/vehicles?page=2&page_size=1", Some(&ann))
        .await;
    assert_eq!(small["results"].as_array().unwrap().len(), 1);
    assert_eq!(small["results"][0]["id"], first_id.as_str());
    assert_eq!(small["previous"], 1);
    assert_eq!(small["next"], Value::Null);

    let (status, detail) = app
        .get(&format!("/api/v1/vehicles/{first_id}"), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail, first);

    // A partial edit: sent fields change, `null` clears, the rest stays.
    let (status, edited) = app
        .put(
            &format!("/api/v1/vehicles/{first_id}"),
            json!({"vehicle_model": "Ioniq 6", "licence_plate": null, "max_ac_power_w": 7400,
                   "is_favourite": true}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["model"], "Ioniq 6");
    assert_eq!(edited["licence_plate"], Value::Null);
    assert_eq!(edited["max_ac_power_w"], 7400);
    assert_eq!(edited["max_dc_power_w"], 220000);
    assert_eq!(edited["make"], "Hyundai");
    assert_eq!(edited["is_favourite"], true);
    // The edit moved the favourite mark.
    let page = list(&app, &ann).await;
    assert_eq!(page["results"][0]["id"], first_id.as_str());
    assert_eq!(page["results"][1]["is_favourite"], false);

    let (status, body) = app
        .delete(&format!("/api/v1/vehicles/{seed_id}"), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_error(
        &app.get(&format!("/api/v1/vehicles/{seed_id}"), Some(&ann))
            .await,
        StatusCode::NOT_FOUND,
        "vehicle_not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/vehicles/{seed_id}"), Some(&ann))
            .await,
        StatusCode::NOT_FOUND,
        "vehicle_not_found",
    );
    assert_eq!(list(&app, &ann).await["count"], 1);
    app.finish().await;
}

async fn bad_vehicle_input_changes_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = driver(&app, "+97688110002").await;
    assert_error(
        &app.post("/api/v1/vehicles", ioniq(), None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );

    let with = |change: Value| {
        let mut body = ioniq();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let refused = [
        (with(json!({"make": null})), "invalid_field", "make"),
        (with(json!({"make": "   "})), "invalid_field", "make"),
        (
            with(json!({"model": "m".repeat(61)})),
            "invalid_field",
            "model",
        ),
        (
            with(json!({"vehicle_type": "x".repeat(41)})),
            "invalid_field",
            "vehicle_type",
        ),
        (
            with(json!({"connector_standards": []})),
            "invalid_field",
            "connector_standards",
        ),
        (
            with(json!({"connector_standards": ["HDMI"]})),
            "invalid_field",
            "connector_standards",
        ),
        (
            with(json!({"battery_capacity_wh": 0})),
            "invalid_field",
            "battery_capacity_wh",
        ),
        (
            with(json!({"battery_capacity_wh": null})),
            "invalid_field",
            "battery_capacity_wh",
        ),
        (
            with(json!({"max_dc_power_w": -1})),
            "invalid_field",
            "max_dc_power_w",
        ),
        (
            with(json!({"licence_plate": "<b>x</b>"})),
            "invalid_field",
            "licence_plate",
        ),
        (
            with(json!({"battery_capacity_wh": 77.4})),
            "invalid_body",
            "battery_capacity_wh",
        ),
        (with(json!({"colour": "red"})), "invalid_body", "colour"),
        (
            with(json!({"vehicle_manufacture": "Kia"})),
            "invalid_body",
            "make",
        ),
    ];
    for (body, code, mentions) in refused {
        let reply = app.post("/api/v1/vehicles", body.clone(), Some(&ann)).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, code);
        assert!(
            reply.1["message"].as_str().unwrap().contains(mentions),
            "{body} -> {}",
            reply.1
        );
    }
    let (status, _) = app
        .http
        .post(app.url("/api/v1/vehicles"))
        .bearer_auth(&ann)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status.as_u16(), 400);
    assert_eq!(list(&app, &ann).await["count"], 0);

    // A bad edit leaves the vehicle as it was.
    let vehicle = create(&app, &ann, ioniq()).await;
    let path = format!("/api/v1/vehicles/{}", vehicle["id"].as_str().unwrap());
    for body in [
        json!({"connector_standards": []}),
        json!({"make": ""}),
        json!({"battery_capacity_wh": -5}),
        json!({"make": "Kia", "battery_capacity_wh": 0}),
    ] {
        let reply = app.put(&path, body, Some(&ann)).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }
    assert_eq!(app.get(&path, Some(&ann)).await.1, vehicle);
    for bad in ["/api/v1/vehicles/not-a-uuid", "/api/v1/vehicles/%20"] {
        assert_error(
            &app.get(bad, Some(&ann)).await,
            StatusCode::NOT_FOUND,
            "vehicle_not_found",
        );
    }
    assert_error(
        &app.get("/api/v1/vehicles?page_size=500", Some(&ann)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    // Twenty vehicles at most.
    for _ in 1..20 {
        create(&app, &ann, ioniq()).await;
    }
    let reply = app.post("/api/v1/vehicles", ioniq(), Some(&ann)).await;
    assert_error(&reply, StatusCode::CONFLICT, "vehicle_limit_reached");
    assert_eq!(list(&app, &ann).await["count"], 20);
    app.finish().await;
}

async fn other_drivers_vehicles_are_not_found(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = driver(&app, "+97688110003").await;
    let bob = driver(&app, "+97688110004").await;
    let vehicle = create(&app, &ann, ioniq()).await;
    let id = vehicle["id"].as_str().unwrap();
    let path = format!("/api/v1/vehicles/{id}");

    let not_found = |reply: (StatusCode, Value)| {
        assert_error(&reply, StatusCode::NOT_FOUND, "vehicle_not_found");
    };
    not_found(app.get(&path, Some(&bob)).await);
    not_found(app.put(&path, json!({"make": "Stolen"}), Some(&bob)).await);
    not_found(
        app.put(&format!("{path}/favourite"), json!({}), Some(&bob))
            .await,
    );
    not_found(app.delete(&format!("{path}/photo"), Some(&bob)).await);
    not_found(upload(&app, &format!("{path}/photo"), "photo", png(8, 8), &bob).await);
    not_found(app.delete(&path, Some(&bob)).await);
    not_found(
        app.get(
            &format!("/api/v1/sites?q=anything&vehicle_id={id}"),
            Some(&bob),
        )
        .await,
    );
    assert_eq!(list(&app, &bob).await["count"], 0);

    // Ann's vehicle is untouched.
    assert_eq!(app.get(&path, Some(&ann)).await.1, vehicle);
    assert_eq!(list(&app, &ann).await["count"], 1);
    assert_error(
        &app.get(&path, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    app.finish().await;
}

async fn one_favourite_even_under_parallel_calls(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = driver(&app, "+97688110005").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let mut body = ioniq();
        body["is_favourite"] = json!(i == 0);
        ids.push(
            create(&app, &ann, body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let calls = ids.iter().map(|id| {
        let path = format!("/api/v1/vehicles/{id}/favourite");
        let app = &app;
        let ann = &ann;
        async move { app.put(&path, json!({}), Some(ann)).await }
    });
    for (status, body) in join_all(calls).await {
        // Each call succeeds; its reply shows the state after it, which a
        // later call may already have changed.
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let page = list(&app, &ann).await;
    let favourites: Vec<&Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["is_favourite"] == true)
        .collect();
    assert_eq!(favourites.len(), 1, "{page}");
    assert_eq!(page["results"][0]["is_favourite"], true);

    // Making another the favourite moves the mark.
    let (status, _) = app
        .put(
            &format!("/api/v1/vehicles/{}/favourite", ids[3]),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = list(&app, &ann).await;
    assert_eq!(page["results"][0]["id"], ids[3].as_str());
    assert_eq!(
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["is_favourite"] == true)
            .count(),
        1
    );
    app.finish().await;
}

async fn profile_and_vehicle_photos(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = driver(&app, "+97688110006").await;

    // The profile shows the default until a photo is set.
    let (_, me) = app.get("/api/v1/user/me", Some(&ann)).await;
    assert_eq!(me["profile"]["photo"], DEFAULT_USER);
    assert_eq!(
        fetch(&app, DEFAULT_USER).await,
        (StatusCode::OK, "image/png".into())
    );
    assert_eq!(
        fetch(&app, DEFAULT_VEHICLE).await,
        (StatusCode::OK, "image/png".into())
    );
    assert_eq!(
        fetch(&app, "/api/v1/media/defaults/other.png").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, set) = upload(&app, "/api/v1/user/me/photo", "photo", png(400, 300), &ann).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let first = set["photo"].as_str().unwrap().to_owned();
    assert!(first.starts_with("/api/v1/media/users/"), "{first}");
    assert_eq!(set["has_photo"], true);
    assert_eq!(fetch(&app, &first).await.0, StatusCode::OK);
    assert_eq!(
        fetch(&app, set["photo_thumbnail"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );
    let (_, me) = app.get("/api/v1/user/me", Some(&ann)).await;
    assert_eq!(me["profile"]["photo"], first.as_str());
    let (_, info) = app
        .post(
            "/api/v1/customer/update-info",
            json!({"name": "Ann"}),
            Some(&ann),
        )
        .await;
    assert_eq!(info["photo"], first.as_str(), "{info}");

    // Seed 000's field name; the old files are deleted.
    let (status, replaced) = upload(
        &app,
        "/api/v1/user/me/photo",
        "customer_image",
        png(50, 50),
        &ann,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let second = replaced["photo"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(fetch(&app, &first).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fetch(&app, &second).await.0, StatusCode::OK);

    // Bad uploads change nothing.
    let reply = upload(
        &app,
        "/api/v1/user/me/photo",
        "photo",
        b"not an image".to_vec(),
        &ann,
    )
    .await;
    assert_error(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image_type",
    );
    let reply = upload(&app, "/api/v1/user/me/photo", "selfie", png(4, 4), &ann).await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (_, me) = app.get("/api/v1/user/me", Some(&ann)).await;
    assert_eq!(me["profile"]["photo"], second.as_str());

    let (status, removed) = app.delete("/api/v1/user/me/photo", Some(&ann)).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["photo"], DEFAULT_USER);
    assert_eq!(removed["has_photo"], false);
    assert_eq!(fetch(&app, &second).await.0, StatusCode::NOT_FOUND);
    let (_, me) = app.get("/api/v1/user/me", Some(&ann)).await;
    assert_eq!(me["profile"]["photo"], DEFAULT_USER);

    // A vehicle's photo: set, replace, remove; deleting the vehicle deletes it.
    let vehicle = create(&app, &ann, ioniq()).await;
    let path = format!("/api/v1/vehicles/{}", vehicle["id"].as_str().unwrap());
    let (status, with_photo) = upload(
        &app,
        &format!("{path}/photo"),
        "vehicle_image",
        png(64, 48),
        &ann,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{with_photo}");
    let v1 = with_photo["photo"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("/api/v1/media/vehicles/"), "{v1}");
    assert_eq!(with_photo["vehicle_image"], v1.as_str());
    assert_eq!(with_photo["has_photo"], true);
    assert_eq!(fetch(&app, &v1).await.0, StatusCode::OK);
    let (status, replaced) =
        upload(&app, &format!("{path}/photo"), "photo", png(32, 32), &ann).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let v2 = replaced["photo"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&app, &v1).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fetch(&app, &v2).await.0, StatusCode::OK);
    let mut truncated = png(64, 64);
    truncated.truncate(truncated.len() / 2);
    let reply = upload(&app, &format!("{path}/photo"), "photo", truncated, &ann).await;
    assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{}", reply.1);
    assert_eq!(app.get(&path, Some(&ann)).await.1["photo"], v2.as_str());

    let (status, cleared) = app.delete(&format!("{path}/photo"), Some(&ann)).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["photo"], DEFAULT_VEHICLE);
    assert_eq!(cleared["vehicle_image"], DEFAULT_VEHICLE);
    assert_eq!(fetch(&app, &v2).await.0, StatusCode::NOT_FOUND);

    let (_, again) = upload(&app, &format!("{path}/photo"), "photo", png(16, 16), &ann).await;
    let v3 = again["photo"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&path, Some(&ann)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(fetch(&app, &v3).await.0, StatusCode::NOT_FOUND);
    app.finish().await;
}

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
        "currency": "MNT"
    })
}

fn evse_body(code: &str, standard: &str) -> Value {
    json!({
        "evse_code": code,
        "meter_type": "DC",
        "prices": {"per_kwh": 500, "waiting_per_minute": 20},
        "connectors": [{
            "standard": standard, "format": "CABLE", "power_type": "DC",
            "max_voltage": 500, "max_amperage": 200, "max_power_kw": 60
        }]
    })
}

/// A listed site with one EVSE of `standard`; returns its id.
async fn listed_site(
    app: &TestApp,
    host: &str,
    admin: &str,
    name: &str,
    standard: &str,
    lat: f64,
) -> String {
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            site_body(name, lat, 106.9176),
            Some(host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            evse_body(&format!("{name}-1"), standard),
            Some(host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    crate::harness::approve_listing(app, admin, &site, &[evse["id"].as_str().unwrap()]).await;
    site
}

fn site_ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn search_narrows_to_the_vehicles_connectors(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, _) = crate::harness::sign_in_host(&app, "+97688110007", "Volt LLC").await;
    let type2 = listed_site(&app, &host, &admin, "Type2 Plaza", "TYPE_2", 47.9186).await;
    let chademo = listed_site(&app, &host, &admin, "Chademo Corner", "CHADEMO", 47.9190).await;
    let ccs2 = listed_site(&app, &host, &admin, "CCS Hub", "CCS2", 47.9195).await;

    let ann = driver(&app, "+97688110008").await;
    let vehicle = create(&app, &ann, ioniq()).await; // TYPE_2 + CCS2
    let id = vehicle["id"].as_str().unwrap();
    let around = "/api/v1/sites?lat=47.9186&lng=106.9176&radius_km=5";

    let (status, all) = app.get(around, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let mut everything = vec![type2.clone(), chademo.clone(), ccs2.clone()];
    everything.sort();
    assert_eq!(site_ids(&all), everything);

    let (status, fitting) = app
        .get(&format!("{around}&vehicle_id={id}"), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{fitting}");
    let mut expected = vec![type2.clone(), ccs2.clone()];
    expected.sort();
    assert_eq!(site_ids(&fitting), expected);
    assert_eq!(fitting["count"], 2);

    // With `standards` too: the standards both allow.
    let (_, both) = app
        .get(
            &format!("{around}&vehicle_id={id}&standards=CCS2,CHADEMO"),
            Some(&ann),
        )
        .await;
    assert_eq!(site_ids(&both), [ccs2]);
    let (status, none) = app
        .get(
            &format!("{around}&vehicle_id={id}&standards=CHADEMO"),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["count"], 0);
    assert!(none["results"].as_array().unwrap().is_empty());

    // Editing the vehicle's connectors changes what fits.
    let (status, _) = app
        .put(
            &format!("/api/v1/vehicles/{id}"),
            json!({"connector_standards": ["CHADEMO"]}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, now_fits) = app
        .get(&format!("{around}&vehicle_id={id}"), Some(&ann))
        .await;
    assert_eq!(site_ids(&now_fits), [chademo]);

    // The filter needs the owner.
    assert_error(
        &app.get(&format!("{around}&vehicle_id={id}"), None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_error(
        &app.get(&format!("{around}&vehicle_id=nope"), Some(&ann))
            .await,
        StatusCode::NOT_FOUND,
        "vehicle_not_found",
    );
    let standards = plugway_app::vehicles::vehicle_standards(
        &app.state,
        plugway_domain::UserId(uuid::Uuid::nil()),
        id.parse().map(plugway_domain::ids::VehicleId).unwrap(),
    )
    .await;
    assert!(standards.is_err());
    app.finish().await;
}
