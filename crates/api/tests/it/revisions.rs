//! Revisions over HTTP: a host's material edits of an approved site or EVSE
//! wait for an admin while drivers keep seeing the approved listing;
//! operational edits and admins' edits apply at once; hosts reach only
//! their own revisions; bad input is refused and changes nothing.

use axum::http::StatusCode;
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};

use crate::harness::{
    api_key, approve_listing, assert_error, sign_in_host, Backend, Options, TestApp,
};

crate::on_both_backends!(
    a_renamed_site_goes_live_only_when_approved,
    rejected_withdrawn_and_evse_revisions,
    revisions_are_the_hosts_own_and_bad_input_changes_nothing,
);

const AT: (f64, f64) = (47.9186, 106.9176);

fn site_body(name: &str) -> Value {
    json!({
        "name": name,
        "address": "Peace Avenue 1",
        "city": "Ulaanbaatar",
        "province": "Ulaanbaatar",
        "country_code": "MN",
        "latitude": AT.0,
        "longitude": AT.1,
        "time_zone": "Asia/Ulaanbaatar",
        "facilities": ["CAFE"],
        "currency": "MNT"
    })
}

fn evse_body(code: &str, kw: f64, per_kwh: f64) -> Value {
    json!({
        "evse_code": code,
        "prices": {"per_kwh": per_kwh},
        "connectors": [{
            "standard": "TYPE_2", "format": "SOCKET", "power_type": "AC_3_PHASE",
            "max_voltage": 400, "max_amperage": 32, "max_power_kw": kw
        }]
    })
}

/// A listed (approved, visible) site with one approved EVSE.
async fn listed(app: &TestApp, host: &str, admin: &str, name: &str) -> (String, String) {
    let (status, site) = app
        .post("/api/v1/host/sites", site_body(name), Some(host))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            evse_body("E-1", 22.0, 500.0),
            Some(host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    let evse = evse["id"].as_str().unwrap().to_owned();
    approve_listing(app, admin, &site, &[&evse]).await;
    (site, evse)
}

fn search(q: &str) -> String {
    format!("/api/v1/sites?lat={}&lng={}&radius_km=5&q={q}", AT.0, AT.1)
}

async fn count(app: &TestApp, path: &str) -> i64 {
    let (status, page) = app.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["count"].as_i64().unwrap()
}

async fn driver_name(app: &TestApp, site: &str) -> String {
    let (status, view) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(view.get("pending_changes").is_none(), "{view}");
    assert!(view.get("revision").is_none(), "{view}");
    view["name"].as_str().unwrap().to_owned()
}

async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app.get("/api/v1/notifications", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_renamed_site_goes_live_only_when_approved(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, host_id) = sign_in_host(&app, "+97688300001", "Rev Power").await;
    let (site, _) = listed(&app, &host, &admin, "Old Market").await;
    let path = format!("/api/v1/host/sites/{site}");

    // The host renames it and changes its hours in one edit.
    let mut edit = site_body("New Harbour");
    edit["opening_hours"] = json!({"twentyfourseven": false, "regular_hours": [
        {"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}]});
    let (status, view) = app.put(&path, edit, Some(&host)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["name"], "Old Market", "{view}");
    assert_eq!(view["pending_changes"], json!({"name": "New Harbour"}));
    assert_eq!(view["revision"]["state"], "OPEN");
    assert_eq!(view["revision"]["version"], 1);
    assert_eq!(
        view["opening_hours"]["twentyfourseven"], false,
        "hours apply at once"
    );
    assert_eq!(view["approval"], "APPROVED");

    // Drivers still see (and find) the approved name.
    assert_eq!(driver_name(&app, &site).await, "Old Market");
    assert_eq!(count(&app, &search("old+market")).await, 1);
    assert_eq!(count(&app, &search("harbour")).await, 0);
    let (_, public) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(public["opening_hours"]["twentyfourseven"], false);

    // The host's pending counts, canonical and seed 003's, include it.
    let (_, pending) = app.get("/api/v1/host/pending", Some(&host)).await;
    assert_eq!(pending, json!({"pending_locations": 1, "pending_evses": 0}));
    let (status, seed) = app
        .get("/ocpi/cpo/2.2/locations/pending", Some(&host))
        .await;
    assert_eq!(status, StatusCode::OK, "{seed}");
    assert_eq!(
        seed,
        json!({"status": 200, "data": [{"pending_locations": 1, "pending_evses": 0}], "message": "Success"})
    );

    // The admin's queue shows the change beside the live value.
    let (status, queue) = app.get("/api/v1/admin/revisions", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["count"], 1);
    let entry = &queue["results"][0];
    assert_eq!(entry["kind"], "SITE");
    assert_eq!(entry["site_id"], site.as_str());
    assert_eq!(entry["host_id"], host_id.as_str());
    assert_eq!(entry["changes"], json!({"name": "New Harbour"}));
    assert_eq!(entry["current"], json!({"name": "Old Market"}));

    // A second edit, made from the live view, moves the address: it merges.
    let mut again = site_body("Old Market");
    again["address"] = json!("Harbour Road 2");
    let (status, view) = app.put(&path, again, Some(&host)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        view["pending_changes"],
        json!({"name": "New Harbour", "address": "Harbour Road 2"})
    );
    assert_eq!(view["revision"]["version"], 2);

    // The admin reviewed version 1: refused; no version at all: refused.
    let decide = format!("/api/v1/admin/sites/{site}/revision/approval");
    assert_error(
        &app.post(
            &decide,
            json!({"approval": "APPROVED", "version": 1}),
            Some(&admin),
        )
        .await,
        StatusCode::CONFLICT,
        "revision_changed",
    );
    assert_error(
        &app.post(&decide, json!({"approval": "APPROVED"}), Some(&admin))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(driver_name(&app, &site).await, "Old Market");

    let (status, view) = app
        .post(
            &decide,
            json!({"approval": "APPROVED", "version": 2}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["name"], "New Harbour");
    assert_eq!(view["address"], "Harbour Road 2");
    assert_eq!(view["pending_changes"], Value::Null);
    assert_eq!(view["revision"]["state"], "APPROVED");
    assert_eq!(driver_name(&app, &site).await, "New Harbour");
    assert_eq!(count(&app, &search("new+harbour")).await, 1);
    assert_eq!(count(&app, &search("market")).await, 0);
    let (_, pending) = app.get("/api/v1/host/pending", Some(&host)).await;
    assert_eq!(pending, json!({"pending_locations": 0, "pending_evses": 0}));
    let (_, seed) = app
        .get("/ocpi/cpo/2.2/locations/pending", Some(&host))
        .await;
    assert_eq!(seed["data"], "NO_PENDING_LOCATIONS_AND_EVSES");
    assert!(kinds(&app, &host)
        .await
        .contains(&"revision_approved".to_owned()));

    // An operational edit alone applies at once and opens nothing.
    let mut hours = site_body("New Harbour");
    hours["address"] = json!("Harbour Road 2");
    hours["facilities"] = json!(["CAFE", "WIFI"]);
    let (status, view) = app.put(&path, hours, Some(&host)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["pending_changes"], Value::Null);
    assert_eq!(view["facilities"], json!(["CAFE", "WIFI"]));
    let (_, public) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(public["facilities"], json!(["CAFE", "WIFI"]));

    // An admin's edit applies at once too.
    let mut by_admin = site_body("Harbour Station");
    by_admin["address"] = json!("Harbour Road 2");
    let (status, view) = app.put(&path, by_admin, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["name"], "Harbour Station");
    assert_eq!(driver_name(&app, &site).await, "Harbour Station");
    app.finish().await;
}

async fn rejected_withdrawn_and_evse_revisions(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host, _) = sign_in_host(&app, "+97688300011", "Rev Volts").await;
    let (site, evse) = listed(&app, &host, &admin, "Quiet Corner").await;
    let path = format!("/api/v1/host/sites/{site}");
    let decide = format!("/api/v1/admin/sites/{site}/revision/approval");

    // Rejected: a reason is required; the site stays as approved.
    let (_, view) = app.put(&path, site_body("Loud Corner"), Some(&host)).await;
    assert_eq!(view["revision"]["state"], "OPEN", "{view}");
    assert_error(
        &app.post(&decide, json!({"approval": "REJECTED"}), Some(&admin))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (status, view) = app
        .post(
            &decide,
            json!({"approval": "REJECTED", "reason": "The sign says Quiet Corner"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["name"], "Quiet Corner");
    assert_eq!(view["approval"], "APPROVED");
    assert_eq!(driver_name(&app, &site).await, "Quiet Corner");
    let (_, mine) = app.get(&path, Some(&host)).await;
    assert_eq!(mine["pending_changes"], Value::Null);
    assert_eq!(mine["revision"]["state"], "REJECTED");
    assert_eq!(mine["revision"]["reason"], "The sign says Quiet Corner");
    assert!(kinds(&app, &host)
        .await
        .contains(&"revision_rejected".to_owned()));

    // Withdrawn: then an approval of what the admin saw is a clear conflict.
    let (_, view) = app.put(&path, site_body("Loud Corner"), Some(&host)).await;
    let version = view["revision"]["version"].as_i64().unwrap();
    assert_eq!(version, 2, "versions keep growing across revisions");
    let withdraw = format!("{path}/revision");
    assert_eq!(
        app.delete(&withdraw, Some(&host)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, mine) = app.get(&path, Some(&host)).await;
    assert_eq!(mine["pending_changes"], Value::Null);
    assert_eq!(mine["revision"]["state"], "WITHDRAWN");
    assert_error(
        &app.post(
            &decide,
            json!({"approval": "APPROVED", "version": version}),
            Some(&admin),
        )
        .await,
        StatusCode::CONFLICT,
        "no_open_revision",
    );
    assert_error(
        &app.delete(&withdraw, Some(&host)).await,
        StatusCode::CONFLICT,
        "no_open_revision",
    );
    assert_eq!(driver_name(&app, &site).await, "Quiet Corner");

    // An EVSE's connectors are material, its prices are not.
    let evse_path = format!("/api/v1/host/evses/{evse}");
    let fast = format!(
        "/api/v1/sites?lat={}&lng={}&radius_km=5&min_power_kw=100",
        AT.0, AT.1
    );
    assert_eq!(count(&app, &fast).await, 0);
    let (status, view) = app
        .put(&evse_path, evse_body("E-1", 150.0, 650.0), Some(&host))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["prices"]["per_kwh"], 650.0);
    assert_eq!(view["connectors"][0]["max_power_kw"], 22.0);
    assert_eq!(
        view["pending_changes"]["connectors"][0]["max_power_kw"],
        150.0
    );
    assert_eq!(view["revision"]["state"], "OPEN");
    let evse_version = view["revision"]["version"].as_i64().unwrap();
    let (_, public) = app.get(&format!("/api/v1/sites/{site}"), None).await;
    assert_eq!(public["evses"][0]["prices"]["per_kwh"], 650.0);
    assert_eq!(public["max_power_kw"], 22.0);
    assert!(public["evses"][0].get("pending_changes").is_none());
    assert_eq!(count(&app, &fast).await, 0);
    let (_, pending) = app.get("/api/v1/host/pending", Some(&host)).await;
    assert_eq!(pending, json!({"pending_locations": 0, "pending_evses": 1}));
    // The host's site view shows the EVSE's pending change too.
    let (_, mine) = app.get(&path, Some(&host)).await;
    assert_eq!(mine["evses"][0]["revision"]["state"], "OPEN");
    let (_, queue) = app.get("/api/v1/admin/revisions", Some(&admin)).await;
    assert_eq!(queue["results"][0]["kind"], "EVSE");
    assert_eq!(
        queue["results"][0]["current"]["connectors"][0]["max_power_kw"],
        22.0
    );

    let (status, view) = app
        .post(
            &format!("/api/v1/admin/evses/{evse}/revision/approval"),
            json!({"approval": "APPROVED", "version": evse_version}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["connectors"][0]["max_power_kw"], 150.0);
    assert_eq!(view["revision"]["state"], "APPROVED");
    assert_eq!(count(&app, &fast).await, 1);
    app.finish().await;
}

async fn revisions_are_the_hosts_own_and_bad_input_changes_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (alice, _) = sign_in_host(&app, "+97688300021", "Alice Rev").await;
    let (bob, _) = sign_in_host(&app, "+97688300022", "Bob Rev").await;
    let driver = app.otp_sign_in("+97688300023").await;
    let driver = driver["token"].as_str().unwrap().to_owned();
    let (site, evse) = listed(&app, &alice, &admin, "Alice Lot").await;
    let path = format!("/api/v1/host/sites/{site}");
    let (_, view) = app
        .put(&path, site_body("Alice Garage"), Some(&alice))
        .await;
    assert_eq!(view["revision"]["state"], "OPEN", "{view}");
    let (_, view) = app
        .put(
            &format!("/api/v1/host/evses/{evse}"),
            evse_body("E-2", 22.0, 500.0),
            Some(&alice),
        )
        .await;
    assert_eq!(
        view["pending_changes"],
        json!({"evse_code": "E-2"}),
        "{view}"
    );

    // Bob sees none of it and withdraws nothing; his counts are his own.
    assert_error(
        &app.get(&path, Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.delete(&format!("{path}/revision"), Some(&bob)).await,
        StatusCode::NOT_FOUND,
        "site_not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/host/evses/{evse}/revision"), Some(&bob))
            .await,
        StatusCode::NOT_FOUND,
        "evse_not_found",
    );
    let (_, pending) = app.get("/api/v1/host/pending", Some(&bob)).await;
    assert_eq!(pending, json!({"pending_locations": 0, "pending_evses": 0}));
    // Only admins see the queue and decide.
    let decide = format!("/api/v1/admin/sites/{site}/revision/approval");
    for token in [&alice, &bob, &driver] {
        assert_error(
            &app.get("/api/v1/admin/revisions", Some(token)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &app.post(
                &decide,
                json!({"approval": "APPROVED", "version": 1}),
                Some(token),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    assert_error(
        &app.delete(&format!("{path}/revision"), Some(&driver)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        app.get("/api/v1/admin/revisions", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Bad decisions: each a 4xx with a code, and the revision stays open.
    for (body, status, code) in [
        (
            json!({"approval": "PENDING", "version": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"approval": "MAYBE", "version": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"approval": "APPROVED", "version": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"approval": "APPROVED", "version": "1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"approval": "APPROVED", "version": 1, "extra": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"approval": "APPROVED", "version": 9}),
            StatusCode::CONFLICT,
            "revision_changed",
        ),
    ] {
        assert_error(
            &app.post(&decide, body.clone(), Some(&admin)).await,
            status,
            code,
        );
    }
    let raw = app
        .http
        .post(app.url(&decide))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"approval\":")
        .send()
        .await
        .unwrap();
    assert_error(
        &crate::harness::read(raw).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        assert_error(
            &app.post(
                &format!("/api/v1/admin/sites/{bad}/revision/approval"),
                json!({"approval": "APPROVED", "version": 1}),
                Some(&admin),
            )
            .await,
            StatusCode::NOT_FOUND,
            "site_not_found",
        );
        assert_error(
            &app.post(
                &format!("/api/v1/admin/evses/{bad}/revision/approval"),
                json!({"approval": "APPROVED", "version": 1}),
                Some(&admin),
            )
            .await,
            StatusCode::NOT_FOUND,
            "evse_not_found",
        );
    }
    // A bad edit is refused whole: the open revision is as it was.
    let mut bad = site_body("Alice Elsewhere");
    bad["latitude"] = json!(123.0);
    assert_error(
        &app.put(&path, bad, Some(&alice)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    // A code the site's other EVSE already has: refused, nothing changes.
    let (status, other) = app
        .post(
            &format!("{path}/evses"),
            evse_body("E-9", 7.0, 100.0),
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let mut clash = evse_body("E-9", 22.0, 1.0);
    clash["prices"] = json!({"per_kwh": 1});
    assert_error(
        &app.put(&format!("/api/v1/host/evses/{evse}"), clash, Some(&alice))
            .await,
        StatusCode::CONFLICT,
        "evse_code_taken",
    );
    let (_, mine) = app.get(&path, Some(&alice)).await;
    assert_eq!(mine["pending_changes"], json!({"name": "Alice Garage"}));
    assert_eq!(mine["revision"]["version"], 1);
    let first = mine["evses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == evse.as_str())
        .unwrap();
    assert_eq!(first["prices"]["per_kwh"], 500.0);
    assert_eq!(first["pending_changes"], json!({"evse_code": "E-2"}));
    let (_, queue) = app.get("/api/v1/admin/revisions", Some(&admin)).await;
    assert_eq!(queue["count"], 2);

    // The host withdraws her own.
    assert_eq!(
        app.delete(&format!("/api/v1/host/evses/{evse}/revision"), Some(&alice))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, queue) = app.get("/api/v1/admin/revisions", Some(&admin)).await;
    assert_eq!(queue["count"], 1);

    // A rejected site edited by its host goes back to the admin's queue,
    // with the edit applied (it is not listed, so nothing waits).
    let (status, other_site) = app
        .post("/api/v1/host/sites", site_body("Alice Annex"), Some(&alice))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other_site}");
    let annex = other_site["id"].as_str().unwrap().to_owned();
    let (status, rejected) = app
        .post(
            &format!("/api/v1/admin/sites/{annex}/approval"),
            json!({"approval": "REJECTED", "reason": "no photos"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["approval"], "REJECTED");
    let (status, view) = app
        .put(
            &format!("/api/v1/host/sites/{annex}"),
            site_body("Alice Annex East"),
            Some(&alice),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["name"], "Alice Annex East");
    assert_eq!(view["approval"], "PENDING");
    assert_eq!(view["rejection_reason"], Value::Null);
    assert_eq!(view["pending_changes"], Value::Null);
    let (_, queue) = app
        .get("/api/v1/admin/sites?approval=PENDING", Some(&admin))
        .await;
    assert_eq!(queue["count"], 1);
    app.finish().await;
}
