//! Seed 003's REST paths (`/ocpi/cpo/...`): the seed's envelope and field
//! names over the canonical services; Basic API-key credentials; hosts kept
//! apart; errors in the envelope, never 500.

use axum::http::StatusCode;
use base64::Engine;
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};

use crate::harness::{
    api_key, approve_listing, png, read, sign_in_host, Backend, Options, TestApp,
};

crate::on_both_backends!(
    filters_and_cities_take_basic_api_keys,
    details_pending_and_logo,
    location_photos_upload_and_update,
    csv_upload_answers_in_the_envelope,
);

const FILTERS: &str = "/ocpi/cpo/2.2/filters";
const DETAILS: &str = "/ocpi/cpo/2.2/details";
const PENDING: &str = "/ocpi/cpo/2.2/locations/pending";
const PHOTOS: &str = "/ocpi/cpo/api/v1/locations/photos/uploads";
const CSV: &str = "/ocpi/cpo/api/v2/locations/uploads/csv";
const LOGO_UPLOAD: &str = "/ocpi/cpo/2.2/cpo/upload";
const LOGO_PICK: &str = "/ocpi/cpo/2.2/cpo/logo/upload";

/// The example file of docs/import.md: 2 sites, 3 EVSEs.
const EXAMPLE: &str = include_str!("../../../../docs/examples/sites.csv");

fn success() -> Value {
    json!({"status": 200, "data": [], "message": "Success"})
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("emsp:{key}"))
    )
}

async fn get_with(app: &TestApp, path: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    read(request.send().await.unwrap()).await
}

/// Asserts an error in the seed's envelope.
#[track_caller]
fn assert_face_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["status"], status.as_u16(), "{}", reply.1);
    assert_eq!(reply.1["data"], Value::Null, "{}", reply.1);
    assert_eq!(reply.1["code"], code, "{}", reply.1);
    assert!(
        reply.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        reply.1
    );
}

fn site_body(name: &str, province: &str, city: &str) -> Value {
    json!({
        "name": name,
        "address": "Rizal Avenue 1",
        "city": city,
        "province": province,
        "country_code": "PH",
        "latitude": 14.8386,
        "longitude": 120.2842,
        "time_zone": "Asia/Manila",
        "facilities": ["CAFE"],
        "parking_types": ["OUTDOOR"],
        "currency": "PHP"
    })
}

fn evse_body(code: &str) -> Value {
    json!({
        "evse_code": code,
        "meter_type": "AC",
        "capabilities": ["QR_READER"],
        "payment_types": ["GCASH"],
        "prices": {"per_kwh": 20},
        "connectors": [{
            "standard": "TYPE_2", "format": "SOCKET", "power_type": "AC_3_PHASE",
            "max_voltage": 400, "max_amperage": 32, "max_power_kw": 22
        }]
    })
}

async fn create_site(app: &TestApp, token: &str, body: Value) -> String {
    let (status, site) = app.post("/api/v1/host/sites", body, Some(token)).await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    site["id"].as_str().unwrap().to_owned()
}

async fn create_evse(app: &TestApp, token: &str, site: &str, code: &str) -> String {
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            evse_body(code),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    evse["id"].as_str().unwrap().to_owned()
}

/// Sends a multipart form: `files` under `field`, and the text fields.
async fn send_form(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    field: &str,
    files: Vec<Vec<u8>>,
    texts: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (i, bytes) in files.into_iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(format!("photo{i}.png"));
        form = form.part(field.to_owned(), part);
    }
    for (name, value) in texts {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    read(
        app.http
            .request(method, app.url(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn patch_json(app: &TestApp, path: &str, body: Value, token: &str) -> (StatusCode, Value) {
    read(
        app.http
            .patch(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn site_photos(app: &TestApp, token: &str, site: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/host/sites/{site}"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["photos"].as_array().unwrap().clone()
}

async fn filters_and_cities_take_basic_api_keys(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let integration = api_key(&app, ApiKeyRole::Integration).await;
    let driver = app.otp_sign_in("+97688003001").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Basic with any key role, and Bearer, get the same envelope.
    for auth in [
        basic(&integration),
        basic(&admin),
        format!("Bearer {driver}"),
    ] {
        let (status, body) = get_with(&app, FILTERS, Some(&auth)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], 200);
        assert_eq!(body["message"], "Success");
        assert_eq!(
            body["data"]["connector_types"][0],
            json!({"id": 1, "code": "TYPE_1", "description": "Type 1"})
        );
        let codes: Vec<&str> = body["data"]["connector_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"CHADEMO") && codes.contains(&"GBT"),
            "{codes:?}"
        );
        for list in [
            "facilities",
            "capabilities",
            "payment_types",
            "parking_types",
            "parking_restrictions",
        ] {
            let entries = body["data"][list].as_array().unwrap();
            assert!(!entries.is_empty(), "{list}");
            for key in ["id", "code", "description"] {
                assert!(entries[0].get(key).is_some(), "{list}: {}", entries[0]);
            }
        }
    }

    // No valid key, no entry; the refusal is in the envelope.
    let revoked_like = "pwk_00000000000000000000000000000000_nope";
    let no_colon = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("no-colon-here")
    );
    for auth in [
        None,
        Some(basic(revoked_like)),
        Some(basic(&driver)),
        Some(basic("password")),
        Some(no_colon),
        Some("Digest abc".to_owned()),
    ] {
        let reply = get_with(&app, FILTERS, auth.as_deref()).await;
        assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{auth:?}: {}", reply.1);
        assert_eq!(reply.1["status"], 401, "{}", reply.1);
        assert_eq!(reply.1["data"], Value::Null);
        assert!(reply.1["code"].is_string(), "{}", reply.1);
    }
    let cities = "/ocpi/cpo/2.2/filters/cities/Zambales";
    assert_face_error(
        &get_with(&app, cities, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );

    // Cities: of listed locations only.
    let (host, _) = sign_in_host(&app, "+97688003002", "Zambales Power").await;
    let site = create_site(
        &app,
        &host,
        site_body("Olongapo Hub", "Zambales", "Olongapo"),
    )
    .await;
    let evse = create_evse(&app, &host, &site, "OLO-1").await;
    let (status, body) = get_with(&app, cities, Some(&basic(&integration))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": 200, "data": [], "message": "Success"})
    );
    approve_listing(&app, &admin, &site, &[&evse]).await;
    let (status, body) = get_with(&app, cities, Some(&basic(&integration))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": 200, "data": [{"city": "Olongapo"}], "message": "Success"})
    );
    let reply = get_with(
        &app,
        "/ocpi/cpo/2.2/filters/cities/%20",
        Some(&basic(&integration)),
    )
    .await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.finish().await;
}

async fn details_pending_and_logo(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, _) = sign_in_host(&app, "+97688003011", "EV Company").await;
    let (other, _) = sign_in_host(&app, "+97688003012", "Other Power").await;
    let driver = app.otp_sign_in("+97688003013").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Details: the host profile under the seed's names.
    let (status, body) = app.get(DETAILS, Some(&host)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": 200, "message": "Success", "data": {
            "party_id": null,
            "cpo_owner_name": "EV Company",
            "contact_name": "Contact",
            "contact_number": "+97699112233",
            "contact_email": "ops@example.com",
            "logo": null,
            "username": null,
            "ocpp_ready": null
        }})
    );
    assert_face_error(
        &app.get(DETAILS, Some(&driver)).await,
        StatusCode::NOT_FOUND,
        "no_host_profile",
    );
    assert_face_error(
        &app.get(DETAILS, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );

    // Pending: nothing yet is the seed's string.
    let nothing =
        json!({"status": 200, "data": "NO_PENDING_LOCATIONS_AND_EVSES", "message": "Success"});
    assert_eq!(
        app.get(PENDING, Some(&host)).await,
        (StatusCode::OK, nothing.clone())
    );
    let site = create_site(&app, &host, site_body("Subic Bay", "Zambales", "Subic")).await;
    let a = create_evse(&app, &host, &site, "SB-1").await;
    let b = create_evse(&app, &host, &site, "SB-2").await;
    let counts = |sites: i64, evses: i64| json!({"status": 200, "data": [{"pending_locations": sites, "pending_evses": evses}], "message": "Success"});
    assert_eq!(
        app.get(PENDING, Some(&host)).await,
        (StatusCode::OK, counts(1, 2))
    );
    // Another host's are not theirs; an admin sees everyone's.
    let other_site = create_site(&app, &other, site_body("Iba", "Zambales", "Iba")).await;
    assert_eq!(
        app.get(PENDING, Some(&host)).await,
        (StatusCode::OK, counts(1, 2))
    );
    assert_eq!(
        app.get(PENDING, Some(&other)).await,
        (StatusCode::OK, counts(1, 0))
    );
    assert_eq!(
        app.get(PENDING, Some(&admin)).await,
        (StatusCode::OK, counts(2, 2))
    );
    assert_face_error(
        &app.get(PENDING, Some(&driver)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    approve_listing(&app, &admin, &site, &[&a, &b]).await;
    assert_eq!(
        app.get(PENDING, Some(&host)).await,
        (StatusCode::OK, nothing)
    );
    assert_eq!(
        app.get(PENDING, Some(&admin)).await,
        (StatusCode::OK, counts(1, 0))
    );

    // Logo upload: the details then carry its URL.
    let reply = send_form(
        &app,
        reqwest::Method::POST,
        LOGO_UPLOAD,
        &host,
        "cpo_logo",
        vec![png(200, 100)],
        &[],
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, success()));
    let (_, body) = app.get(DETAILS, Some(&host)).await;
    let first_logo = body["data"]["logo"].as_str().unwrap().to_owned();
    assert!(
        first_logo.starts_with("/api/v1/media/hosts/"),
        "{first_logo}"
    );
    let (status, _) = app.get(&first_logo, None).await;
    assert_eq!(status, StatusCode::OK);
    let reply = send_form(
        &app,
        reqwest::Method::POST,
        LOGO_UPLOAD,
        &driver,
        "cpo_logo",
        vec![png(20, 20)],
        &[],
    )
    .await;
    assert_face_error(&reply, StatusCode::NOT_FOUND, "no_host_profile");
    let reply = send_form(
        &app,
        reqwest::Method::POST,
        LOGO_UPLOAD,
        &host,
        "cpo_logo",
        vec![b"not an image".to_vec()],
        &[],
    )
    .await;
    assert!(reply.0.is_client_error(), "{reply:?}");
    assert_eq!(reply.1["status"], reply.0.as_u16());

    // Picking the logo: the current one, or one of the host's photos...
    let pick = |logo: &str| json!({ "logo": logo });
    let file_name = first_logo.rsplit('/').next().unwrap().to_owned();
    for value in [&first_logo, &file_name] {
        let reply = patch_json(&app, LOGO_PICK, pick(value), &host).await;
        assert_eq!(reply, (StatusCode::OK, success()), "{value}");
    }
    let reply = send_form(
        &app,
        reqwest::Method::POST,
        PHOTOS,
        &host,
        "location_photos",
        vec![png(300, 200)],
        &[("location_id", &site)],
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, success()));
    let photo_url = site_photos(&app, &host, &site).await[0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = patch_json(&app, LOGO_PICK, pick(&photo_url), &host).await;
    assert_eq!(reply, (StatusCode::OK, success()));
    let (_, body) = app.get(DETAILS, Some(&host)).await;
    let logo = body["data"]["logo"].as_str().unwrap();
    assert!(
        logo.starts_with("/api/v1/media/hosts/") && logo != first_logo,
        "{logo}"
    );
    // ...and nothing else: another host's photo, an unknown file, bad bodies.
    let reply = patch_json(&app, LOGO_PICK, pick(&photo_url), &other).await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    for value in ["filename.png", "", "../../etc/passwd"] {
        let reply = patch_json(&app, LOGO_PICK, pick(value), &host).await;
        assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }
    let reply = patch_json(&app, LOGO_PICK, json!({"logo": 5}), &host).await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let _ = other_site;
    app.finish().await;
}

async fn location_photos_upload_and_update(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (host, _) = sign_in_host(&app, "+97688003021", "Photo Power").await;
    let (other, _) = sign_in_host(&app, "+97688003022", "Other Power").await;
    let site = create_site(
        &app,
        &host,
        site_body("Olongapo Hub", "Zambales", "Olongapo"),
    )
    .await;
    let post = reqwest::Method::POST;

    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        vec![png(800, 600), png(300, 900)],
        &[("location_id", &site)],
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, success()));
    let photos = site_photos(&app, &host, &site).await;
    assert_eq!(photos.len(), 2, "{photos:?}");
    let mut widths: Vec<i64> = photos
        .iter()
        .map(|p| p["width"].as_i64().unwrap())
        .collect();
    widths.sort_unstable();
    assert_eq!(widths, vec![300, 800]);

    // Update one by id.
    let photo = photos[0]["id"].as_str().unwrap().to_owned();
    let path = format!("{PHOTOS}/{photo}");
    let reply = send_form(
        &app,
        reqwest::Method::PATCH,
        &path,
        &host,
        "location_photo",
        vec![png(640, 480)],
        &[],
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, success()));
    let after = site_photos(&app, &host, &site).await;
    let updated = after.iter().find(|p| p["id"] == photo.as_str()).unwrap();
    assert_eq!(updated["width"], 640);
    assert_ne!(updated["url"], photos[0]["url"]);

    // Another host's location and photo are refused, and change nothing.
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &other,
        "location_photos",
        vec![png(50, 50)],
        &[("location_id", &site)],
    )
    .await;
    assert_face_error(&reply, StatusCode::NOT_FOUND, "site_not_found");
    let reply = send_form(
        &app,
        reqwest::Method::PATCH,
        &path,
        &other,
        "location_photo",
        vec![png(50, 50)],
        &[],
    )
    .await;
    assert_face_error(&reply, StatusCode::NOT_FOUND, "photo_not_found");
    assert_eq!(site_photos(&app, &host, &site).await, after);

    // Bad forms: no location, too many files, no file, not an image, an
    // unknown location, no form at all.
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        vec![png(50, 50)],
        &[],
    )
    .await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(reply.1["field"], "location_id");
    let six = (0..6).map(|_| png(20, 20)).collect();
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        six,
        &[("location_id", &site)],
    )
    .await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        vec![],
        &[("location_id", &site)],
    )
    .await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        vec![b"GIF89a not really".to_vec()],
        &[("location_id", &site)],
    )
    .await;
    assert!(reply.0.is_client_error(), "{reply:?}");
    assert_eq!(reply.1["status"], reply.0.as_u16(), "{}", reply.1);
    assert_eq!(reply.1["data"], Value::Null);
    let reply = send_form(
        &app,
        post.clone(),
        PHOTOS,
        &host,
        "location_photos",
        vec![png(20, 20)],
        &[("location_id", "not-a-location")],
    )
    .await;
    assert_face_error(&reply, StatusCode::NOT_FOUND, "site_not_found");
    let reply = read(
        app.http
            .post(app.url(PHOTOS))
            .bearer_auth(&host)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_face_error(&reply, StatusCode::BAD_REQUEST, "invalid_multipart");
    let reply = send_form(
        &app,
        reqwest::Method::PATCH,
        &format!("{PHOTOS}/nope"),
        &host,
        "location_photo",
        vec![png(20, 20)],
        &[],
    )
    .await;
    assert_face_error(&reply, StatusCode::NOT_FOUND, "photo_not_found");
    assert_eq!(site_photos(&app, &host, &site).await, after);
    app.finish().await;
}

async fn upload_csv(app: &TestApp, token: &str, csv: &str) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("sites.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    read(
        app.http
            .post(app.url(CSV))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn site_count(app: &TestApp, token: &str) -> i64 {
    let (status, body) = app.get("/api/v1/host/sites", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["count"].as_i64().unwrap()
}

async fn csv_upload_answers_in_the_envelope(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (host, _) = sign_in_host(&app, "+97688003031", "CSV Power").await;
    let driver = app.otp_sign_in("+97688003032").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        upload_csv(&app, &host, EXAMPLE).await,
        (StatusCode::OK, success())
    );
    assert_eq!(site_count(&app, &host).await, 2);
    assert_eq!(
        app.get(PENDING, Some(&host)).await.1["data"],
        json!([{"pending_locations": 2, "pending_evses": 3}])
    );

    // A bad file: nothing imported, its problems listed.
    let bad = EXAMPLE.replacen("latitude", "lattitude", 1);
    let reply = upload_csv(&app, &host, &bad).await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv");
    assert!(reply.1["error_count"].as_u64().unwrap() >= 1, "{}", reply.1);
    assert!(!reply.1["errors"].as_array().unwrap().is_empty());
    assert_face_error(
        &upload_csv(&app, &host, "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    );
    assert_eq!(site_count(&app, &host).await, 2);

    // Wrong form field, a driver, no credentials.
    let form = reqwest::multipart::Form::new().text("csv", "x");
    let reply = read(
        app.http
            .post(app.url(CSV))
            .bearer_auth(&host)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_face_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_face_error(
        &upload_csv(&app, &driver, EXAMPLE).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let reply = read(app.http.post(app.url(CSV)).send().await.unwrap()).await;
    assert_face_error(&reply, StatusCode::UNAUTHORIZED, "missing_credentials");
    app.finish().await;
}
