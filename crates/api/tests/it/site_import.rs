//! CSV import of sites with their EVSEs (`POST /api/v1/host/sites/import`):
//! a good file creates everything, a bad one nothing, with a report of
//! rows and columns; hosts import only for themselves.

use axum::http::StatusCode;
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};

use crate::harness::{assert_error, read, Backend, Options, TestApp};

crate::on_both_backends!(
    a_good_file_creates_sites_and_evses,
    one_bad_row_imports_nothing,
    duplicates_and_clashes_leave_nothing,
    hosts_import_only_for_themselves,
    empty_files_and_bad_headers_are_refused,
);

const PATH: &str = "/api/v1/host/sites/import";

/// The example file of docs/import.md: 2 sites, 3 EVSEs.
const EXAMPLE: &str = include_str!("../../../../docs/examples/sites.csv");

const HEADER: &str = "site_ref,name,address,city,province,country_code,latitude,longitude,time_zone,currency,evse_code,charge_point_id,ocpp_connector_id,price_per_kwh,connector_standard,connector_format,connector_power_type,connector_max_voltage,connector_max_amperage,connector_max_power_kw";

/// A row of a file with `HEADER`.
fn row(site: &str, lat: &str, evse: &str, cp: &str, connector: &str, power_type: &str) -> String {
    format!(
        "{site},Site {site},Peace Avenue 1,Ulaanbaatar,Ulaanbaatar,MN,{lat},106.9,Asia/Ulaanbaatar,MNT,{evse},{cp},{connector},500,CCS2,CABLE,{power_type},500,200,60"
    )
}

fn file(rows: &[String]) -> String {
    let mut text = String::from(HEADER);
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.push('\n');
    text
}

async fn key(app: &TestApp, role: ApiKeyRole) -> String {
    crate::harness::api_key(app, role).await
}

/// Signs a person in and makes them a host; their token and account id.
async fn host(app: &TestApp, phone: &str) -> (String, String) {
    crate::harness::sign_in_host(app, phone, &format!("Owner {phone}")).await
}

/// Uploads `csv` as the multipart field `file`.
async fn upload(app: &TestApp, path: &str, token: &str, csv: &str) -> (StatusCode, Value) {
    let boundary = "plugway-import-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sites.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    read(
        app.http
            .post(app.url(path))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The host's sites (all pages we need: tests make few).
async fn sites(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, page) = app
        .get("/api/v1/host/sites?page_size=100", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["results"].as_array().unwrap().clone()
}

/// Asserts a 422 `invalid_csv` report holding `(row, column, code)`.
#[track_caller]
fn assert_reported(reply: &(StatusCode, Value), row: u64, column: Option<&str>, code: &str) {
    assert_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv");
    let errors = reply.1["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["row"] == row
            && e["column"].as_str() == column
            && e["code"] == code
            && e["message"].as_str().is_some_and(|m| !m.is_empty())),
        "no ({row}, {column:?}, {code}) in {}",
        reply.1
    );
    assert_eq!(
        reply.1["error_count"].as_u64().unwrap() as usize,
        errors.len()
    );
}

async fn a_good_file_creates_sites_and_evses(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (token, host_id) = host(&app, "+97686661488").await;
    let (status, body) = upload(&app, PATH, &token, EXAMPLE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["sites"], 2);
    assert_eq!(body["evses"], 3);
    let ids: Vec<&str> = body["site_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);

    let listed = sites(&app, &token).await;
    assert_eq!(listed.len(), 2);
    let glorietta = listed
        .iter()
        .find(|s| s["id"] == ids[0])
        .expect("the first site of the file");
    assert_eq!(glorietta["name"], "Glorietta 4 Parking");
    assert_eq!(glorietta["host_id"], host_id.as_str());
    assert_eq!(glorietta["approval"], "PENDING");
    assert_eq!(glorietta["time_zone"], "Asia/Manila");
    assert_eq!(glorietta["facilities"], json!(["CAFE", "MALL", "RESTROOM"]));
    assert_eq!(glorietta["postal_code"], "1224");
    let evses = glorietta["evses"].as_array().unwrap();
    assert_eq!(evses.len(), 2);
    let dc = evses.iter().find(|e| e["evse_code"] == "GL-02").unwrap();
    assert_eq!(dc["approval"], "PENDING");
    assert_eq!(dc["prices"]["minor"]["per_kwh"], 2400);
    assert_eq!(dc["connectors"].as_array().unwrap().len(), 2);
    assert_eq!(dc["connectors"][1]["standard"], "CHADEMO");
    assert_eq!(dc["connectors"][0]["max_power_kw"], 120.0);
    let nuvali = listed.iter().find(|s| s["id"] == ids[1]).unwrap();
    assert_eq!(nuvali["name"], "Solenad 3, Nuvali", "quoted cell");
    assert_eq!(
        nuvali["facilities"],
        json!(["PARKING_LOT", "RESTAURANTS"]),
        "`;` separates codes too"
    );
    assert_eq!(nuvali["evses"][0]["connectors"][0]["max_power_kw"], 7.4);

    // An admin imports for a host by naming them.
    let admin = key(&app, ApiKeyRole::Admin).await;
    let csv = file(&[row("ub", "47.9", "E1", "", "", "DC")]);
    let (status, body) = upload(&app, &format!("{PATH}?host_id={host_id}"), &admin, &csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(sites(&app, &token).await.len(), 3);
    assert_error(
        &upload(&app, PATH, &admin, &csv).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    app.finish().await;
}

async fn one_bad_row_imports_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (token, _) = host(&app, "+97686661489").await;
    let csv = file(&[
        row("a", "47.9", "E1", "", "", "DC"),
        row("b", "47.8", "E1", "", "", "DC"),
        row("c", "95", "E1", "", "", "DC"),
        row("c", "", "E2", "", "", "DC"),
        row("d", "47.7", "E1", "", "", "PLASMA"),
        row("e", "north", "E1", "", "", "DC"),
    ]);
    let reply = upload(&app, PATH, &token, &csv).await;
    // Line 1 is the header: the third data row is line 4.
    assert_reported(&reply, 4, Some("latitude"), "invalid_field");
    assert_reported(&reply, 6, Some("connector_power_type"), "invalid_field");
    assert_reported(&reply, 7, Some("latitude"), "invalid_number");
    assert_eq!(reply.1["error_count"], 3, "{}", reply.1);
    assert!(
        reply.1["message"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{}",
        reply.1
    );
    assert!(sites(&app, &token).await.is_empty(), "nothing was imported");

    // A later row of a group may repeat the site's cells, not change them.
    let mut changed = row("a", "47.9", "E2", "", "", "DC");
    changed = changed.replace("Peace Avenue 1", "Peace Avenue 2");
    let reply = upload(
        &app,
        PATH,
        &token,
        &file(&[row("a", "47.9", "E1", "", "", "DC"), changed]),
    )
    .await;
    assert_reported(&reply, 3, Some("address"), "site_mismatch");
    assert!(sites(&app, &token).await.is_empty());
    app.finish().await;
}

async fn duplicates_and_clashes_leave_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (token, host_id) = host(&app, "+97686661490").await;

    // The same EVSE code twice in one site (in another site it is fine).
    let csv = file(&[
        row("a", "47.9", "E1", "", "", "DC"),
        row("b", "47.8", "E1", "", "", "DC"),
        row("a", "47.9", "E1", "", "", "DC"),
    ]);
    let reply = upload(&app, PATH, &token, &csv).await;
    assert_reported(&reply, 4, Some("evse_code"), "duplicate_evse_code");
    assert_eq!(reply.1["error_count"], 1, "{}", reply.1);
    assert!(sites(&app, &token).await.is_empty());

    // Charge points: only the host's, each OCPP connector once.
    let admin = key(&app, ApiKeyRole::Admin).await;
    let (status, body) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "CP-IMPORT-1", "owner_id": host_id}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let csv = file(&[
        row("a", "47.9", "E1", "CP-IMPORT-1", "1", "DC"),
        row("a", "47.9", "E2", "CP-IMPORT-1", "1", "DC"),
        row("b", "47.8", "E1", "CP-NOT-MINE", "1", "DC"),
        row("b", "47.8", "E2", "CP-IMPORT-1", "", "DC"),
    ]);
    let reply = upload(&app, PATH, &token, &csv).await;
    assert_reported(
        &reply,
        3,
        Some("ocpp_connector_id"),
        "duplicate_charge_point_connector",
    );
    assert_reported(&reply, 5, Some("ocpp_connector_id"), "invalid_field");
    assert!(sites(&app, &token).await.is_empty());
    let reply = upload(
        &app,
        PATH,
        &token,
        &file(&[row("b", "47.8", "E1", "CP-NOT-MINE", "1", "DC")]),
    )
    .await;
    assert_reported(&reply, 2, Some("charge_point_id"), "invalid_field");

    // A connector already linked outside the file: found before writing,
    // reported by row, and nothing of the file is written.
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({
                "name": "By hand", "address": "Peace Avenue 3", "city": "Ulaanbaatar",
                "province": "Ulaanbaatar", "country_code": "MN", "latitude": 47.91,
                "longitude": 106.91, "currency": "MNT"
            }),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{}/evses", site["id"].as_str().unwrap()),
            json!({
                "evse_code": "H1", "charge_point_id": "CP-IMPORT-1", "ocpp_connector_id": 2,
                "prices": {"per_kwh": 400},
                "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                    "max_voltage": 500, "max_amperage": 200, "max_power_kw": 60}]
            }),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    let csv = file(&[
        row("a", "47.9", "E1", "CP-IMPORT-1", "1", "DC"),
        row("a", "47.9", "E2", "", "", "DC"),
        row("b", "47.8", "E1", "CP-IMPORT-1", "2", "DC"),
    ]);
    let reply = upload(&app, PATH, &token, &csv).await;
    assert_error(&reply, StatusCode::CONFLICT, "import_conflict");
    let error = &reply.1["errors"][0];
    assert_eq!(error["row"], 4, "{}", reply.1);
    assert_eq!(error["column"], "charge_point_id");
    assert_eq!(error["code"], "charge_point_connector_taken");
    let left = sites(&app, &token).await;
    assert_eq!(left.len(), 1, "only the site made by hand: {left:?}");
    assert_eq!(left[0]["name"], "By hand");

    // With the clash gone, the same file imports.
    let csv = csv.replace("CP-IMPORT-1,2", "CP-IMPORT-1,3");
    let (status, body) = upload(&app, PATH, &token, &csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["sites"].as_u64(), body["evses"].as_u64()),
        (Some(2), Some(3))
    );
    app.finish().await;
}

async fn hosts_import_only_for_themselves(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (alice, _) = host(&app, "+97686661491").await;
    let (bob, bob_id) = host(&app, "+97686661492").await;
    let csv = file(&[row("a", "47.9", "E1", "", "", "DC")]);
    assert_error(
        &upload(&app, &format!("{PATH}?host_id={bob_id}"), &alice, &csv).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let driver = app.otp_sign_in("+97686661493").await;
    let driver_id = driver["userId"].as_str().unwrap().to_owned();
    let driver = driver["token"].as_str().unwrap();
    assert_error(
        &upload(&app, PATH, driver, &csv).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let anonymous = read(
        app.http
            .post(app.url(PATH))
            .body(csv.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED, "{}", anonymous.1);
    assert!(sites(&app, &bob).await.is_empty());
    assert!(sites(&app, &alice).await.is_empty());
    // An admin may only import for a host.
    let admin = key(&app, ApiKeyRole::Admin).await;
    let reply = upload(&app, &format!("{PATH}?host_id={driver_id}"), &admin, &csv).await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.finish().await;
}

async fn empty_files_and_bad_headers_are_refused(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let (token, _) = host(&app, "+97686661494").await;
    assert_reported(&upload(&app, PATH, &token, "").await, 1, None, "empty_file");
    assert_reported(
        &upload(&app, PATH, &token, HEADER).await,
        2,
        None,
        "no_rows",
    );
    // A file without a header: its first row is read as one, and fails.
    let headless = row("a", "47.9", "E1", "", "", "DC");
    let reply = upload(&app, PATH, &token, &headless).await;
    assert_reported(&reply, 1, Some("site_ref"), "missing_column");
    let reply = upload(
        &app,
        PATH,
        &token,
        &file(&[row("a", "47.9", "E1", "", "", "DC")]).replace("latitude", "lattitude"),
    )
    .await;
    assert_reported(&reply, 1, Some("lattitude"), "unknown_column");
    assert_reported(&reply, 1, Some("latitude"), "missing_column");
    // Header names are case-insensitive.
    let (status, body) = upload(
        &app,
        PATH,
        &token,
        &file(&[row("a", "47.9", "E1", "", "", "DC")]).replacen("site_ref", "SITE_REF", 1),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A row with a cell too many.
    let reply = upload(
        &app,
        PATH,
        &token,
        &file(&[format!("{},extra", row("z", "47.9", "E1", "", "", "DC"))]),
    )
    .await;
    assert_reported(&reply, 2, None, "malformed_row");
    // No file in the form.
    let empty_form = read(
        app.http
            .post(app.url(PATH))
            .bearer_auth(&token)
            .header("content-type", "multipart/form-data; boundary=x")
            .body("--x--\r\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(
        &empty_form,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(sites(&app, &token).await.len(), 1);
    app.finish().await;
}
