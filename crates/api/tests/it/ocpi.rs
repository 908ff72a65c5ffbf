//! OCPI 2.2.1 between two Plugway platforms over real HTTP, on SQLite and
//! PostgreSQL: platform A invites, platform B registers with it (`connect`),
//! B pages through A's locations and tariffs, B (as a CPO) pushes a
//! location to A's receiver, which drivers of A then find; bad objects,
//! foreign party codes and dead tokens are refused; B unregisters. Seed
//! 003's webhooks land in the same place. (The independent partner,
//! extrawest-ocpi, drives Plugway in `ocpi_interop.rs`.)

use axum::http::StatusCode;
use base64::Engine as _;
use plugway_ocpi::Validate;
use serde_json::{json, Value};

use crate::harness::{api_key, sign_in_host, Backend, Options, TestApp};

crate::on_both_backends!(two_platforms_roam, seed003_webhooks_add_partner_locations);

/// Ulaanbaatar.
pub(crate) const CENTRE: (f64, f64) = (47.9186, 106.9176);

pub(crate) fn platform(party_id: &str) -> Options {
    let mut options = Options::default();
    options.settings.ocpi.country_code = "MN".into();
    options.settings.ocpi.party_id = party_id.into();
    options.settings.ocpi.name = format!("Platform {party_id}");
    options.settings.ocpi.page_limit = 50;
    options
}

/// An OCPI request with `Authorization: Token base64(token)`.
async fn ocpi(
    app: &TestApp,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        app.url(url)
    };
    let mut request = app
        .http
        .request(method, url)
        .header(
            "authorization",
            format!(
                "Token {}",
                base64::engine::general_purpose::STANDARD.encode(token)
            ),
        )
        .header("x-correlation-id", "test-correlation");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert!(
        body["timestamp"].is_string(),
        "every answer is an envelope: {body}"
    );
    (
        StatusCode::from_u16(status.as_u16()).unwrap(),
        body,
        headers,
    )
}

/// A host's approved site with two EVSEs (a CCS2 50 kW, a type 2 22 kW).
pub(crate) async fn listed_site(
    app: &TestApp,
    admin: &str,
    phone: &str,
    name: &str,
    lat: f64,
) -> String {
    let (token, _) = sign_in_host(app, phone, name).await;
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({"name": name, "address": "Peace Avenue 1", "city": "Ulaanbaatar",
                   "province": "Ulaanbaatar", "country_code": "mn", "latitude": lat,
                   "longitude": CENTRE.1, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT",
                   "facilities": ["CAFE", "POOL"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let mut evses = Vec::new();
    for (code, standard, power, kw) in [
        ("A1", "CCS2", "DC", 50.0),
        ("A2", "TYPE_2", "AC_3_PHASE", 22.0),
    ] {
        let (status, evse) = app
            .post(
                &format!("/api/v1/host/sites/{site}/evses"),
                json!({"evse_code": code, "capabilities": ["CREDIT_DEBIT_PAYABLE"],
                       "prices": {"per_kwh": 450.0, "waiting_per_minute": 10},
                       "connectors": [{"standard": standard, "format": "CABLE", "power_type": power,
                                       "max_voltage": 400, "max_amperage": 125, "max_power_kw": kw}]}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{evse}");
        evses.push(evse["id"].as_str().unwrap().to_owned());
    }
    let refs: Vec<&str> = evses.iter().map(String::as_str).collect();
    crate::harness::approve_listing(app, admin, &site, &refs).await;
    site
}

/// Follows `Link: <...>; rel="next"` from `path` with pages of `limit`;
/// every object validated. Returns the objects and the page count.
async fn pull(app: &TestApp, path: &str, token: &str, limit: i64) -> (Vec<Value>, usize) {
    let mut url = app.url(&format!("{path}?limit={limit}"));
    let mut objects = Vec::new();
    let mut pages = 0;
    let mut total = None;
    loop {
        let (status, body, headers) = ocpi(app, reqwest::Method::GET, &url, token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status_code"], 1000);
        assert_eq!(headers["x-correlation-id"], "test-correlation");
        let page_total: i64 = headers["x-total-count"].to_str().unwrap().parse().unwrap();
        assert_eq!(*total.get_or_insert(page_total), page_total);
        assert_eq!(headers["x-limit"].to_str().unwrap(), limit.to_string());
        let page = body["data"].as_array().unwrap();
        assert!(page.len() as i64 <= limit);
        objects.extend(page.iter().cloned());
        pages += 1;
        match headers.get("link") {
            Some(link) => {
                let link = link.to_str().unwrap();
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                url = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
            }
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(objects.len() as i64, total.unwrap());
    (objects, pages)
}

fn partner_location(id: &str, status: &str) -> Value {
    json!({
        "country_code": "MN", "party_id": "PWB", "id": id, "publish": true,
        "name": "Partner Plaza", "address": "Chinggis Avenue 5", "city": "Ulaanbaatar",
        "country": "MNG",
        "coordinates": {"latitude": "47.920000", "longitude": "106.917600"},
        "evses": [{
            "uid": "B-1", "evse_id": "MN*PWB*E1", "status": status,
            "connectors": [{"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE",
                            "power_type": "DC", "max_voltage": 920, "max_amperage": 400,
                            "max_electric_power": 150000, "last_updated": "2026-12-01T10:00:00Z"}],
            "last_updated": "2026-12-01T10:00:00Z"
        }],
        "facilities": ["RESTAURANT", "AIRPORT"],
        "time_zone": "Asia/Ulaanbaatar",
        "last_updated": "2026-12-01T10:00:00Z"
    })
}

async fn two_platforms_roam(backend: Backend, name: &str) {
    let Some(a) = TestApp::spawn(backend, &format!("{name}_a"), platform("PWA")).await else {
        return;
    };
    let Some(b) = TestApp::spawn(backend, &format!("{name}_b"), platform("PWB")).await else {
        a.finish().await;
        return;
    };
    let admin = api_key(&a, plugway_domain::ApiKeyRole::Admin).await;
    let first = listed_site(&a, &admin, "+97688001001", "North", CENTRE.0).await;
    let second = listed_site(&a, &admin, "+97688001002", "South", CENTRE.0 - 0.01).await;

    // A invites B; B registers with A over HTTP (both directions of the
    // handshake run: A calls B's versions back with B's token). Both
    // through the admin API.
    let (status, invitation) = a
        .post(
            "/api/v1/admin/ocpi/invitations",
            json!({"name": "platform B"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    assert_eq!(invitation["versions_url"], a.url("/ocpi/versions"));
    assert_eq!(invitation["party"]["state"], "invited");
    let token_a = invitation["token"].as_str().unwrap().to_owned();
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::GET,
        "/ocpi/2.2.1/cpo/locations",
        &token_a,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "token A opens only the handshake: {body}"
    );
    let admin_b = api_key(&b, plugway_domain::ApiKeyRole::Admin).await;
    let (status, refused) = b
        .post(
            "/api/v1/admin/ocpi/connections",
            json!({"versions_url": "http://127.0.0.1:9/ocpi/versions", "token": "x"}),
            Some(&admin_b),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_GATEWAY,
        "an unreachable partner: {refused}"
    );
    let (status, connected) = b
        .post(
            "/api/v1/admin/ocpi/connections",
            json!({"versions_url": a.url("/ocpi/versions"), "token": token_a, "name": "platform A"}),
            Some(&admin_b),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{connected}");
    assert_eq!(connected["state"], "connected");
    assert!(connected.get("token").is_none() && !connected.to_string().contains(&token_a));
    let party_on_b = plugway_app::roaming::parties::find(
        &b.state,
        connected["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap();
    let roles: Vec<String> = party_on_b
        .roles
        .iter()
        .map(|r| format!("{} {}/{}", r.role, r.country_code, r.party_code))
        .collect();
    assert_eq!(roles, ["CPO MN/PWA", "EMSP MN/PWA"]);
    let token_for_a = party_on_b.outgoing_token.clone().unwrap();
    let (_, parties_on_a) = a.get("/api/v1/admin/ocpi/parties", Some(&admin)).await;
    let parties_on_a = parties_on_a.as_array().unwrap();
    assert_eq!(parties_on_a.len(), 1);
    assert_eq!(parties_on_a[0]["state"], "connected");
    assert_eq!(parties_on_a[0]["name"], "platform B");
    assert_eq!(parties_on_a[0]["roles"][0]["party_id"], "PWB");
    assert_eq!(parties_on_a[0]["endpoints"].as_array().unwrap().len(), 13);
    let (status, _) = a.get("/api/v1/admin/ocpi/parties", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The token A holds for calling B works at B.
    let token_for_b = a.store.list_ocpi_parties().await.unwrap()[0]
        .outgoing_token
        .clone()
        .unwrap();
    let (status, _, _) = ocpi(
        &b,
        reqwest::Method::GET,
        "/ocpi/versions",
        &token_for_b,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Token A died with the handshake; a second registration is refused.
    let (status, _, _) = ocpi(&a, reqwest::Method::GET, "/ocpi/versions", &token_a, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::POST,
        "/ocpi/2.2.1/credentials",
        &token_for_a,
        Some(json!({"token": "x", "url": b.url("/ocpi/versions"), "roles": []})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "the spec's answer to a second POST: {body}"
    );
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::GET,
        "/ocpi/2.2.1/credentials",
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["token"], token_for_a.as_str());
    assert_eq!(body["data"]["url"], a.url("/ocpi/versions"));

    // Every endpoint A's details announce is routed: the senders and
    // credentials answer, the receiver's base takes the object's path.
    let (status, details, _) =
        ocpi(&a, reqwest::Method::GET, "/ocpi/2.2.1", &token_for_a, None).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    let endpoints = details["data"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 13);
    for endpoint in endpoints {
        let url = endpoint["url"].as_str().unwrap();
        let receiver = endpoint["role"] == "RECEIVER";
        let (method, url, body, expected) = match endpoint["identifier"].as_str().unwrap() {
            "locations" if receiver => (
                reqwest::Method::GET,
                format!("{url}/MN/PWB/none"),
                None,
                2003,
            ),
            "tokens" if receiver => (
                reqwest::Method::GET,
                format!("{url}/MN/PWB/none"),
                None,
                2004,
            ),
            "commands" => (
                reqwest::Method::POST,
                format!("{url}/START_SESSION"),
                Some(json!({})),
                2001,
            ),
            "sessions" if receiver => (
                reqwest::Method::PATCH,
                format!("{url}/MN/PWB/none"),
                Some(json!({})),
                2001,
            ),
            "cdrs" if receiver => (reqwest::Method::POST, url.to_owned(), Some(json!({})), 2001),
            "tariffs" if receiver => (
                reqwest::Method::PUT,
                format!("{url}/MN/PWB/none"),
                Some(json!({})),
                2001,
            ),
            _ => (reqwest::Method::GET, url.to_owned(), None, 1000),
        };
        let (_, body, _) = ocpi(&a, method, &url, &token_for_a, body).await;
        assert_eq!(body["status_code"], expected, "{url}: {body}");
    }

    // A pushes its locations and tariffs to B as they change: all of them
    // at the first pass, then only what the change feed names, only when it
    // differs from what B holds.
    let mut pushing = plugway_app::roaming::push::PushState::default();
    let report = plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    assert_eq!((report.pushed, report.failed), (6, 0), "{report:?}");
    let at_b = |site: String| {
        let store = b.store.clone();
        async move {
            let held = store
                .find_partner_location("MN", "PWA", &site)
                .await
                .unwrap()
                .expect("B holds A's location");
            serde_json::from_str::<Value>(&held.object_json).unwrap()
        }
    };
    assert_eq!(at_b(first.clone()).await["name"], "North");
    let idle = plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    assert_eq!(idle.pushed, 0, "nothing changed: {idle:?}");
    let site = a
        .store
        .find_site(first.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut fields = site.fields.clone();
    fields.name = "North Gate".into();
    a.store
        .update_site(site.id, &fields, a.clock_now())
        .await
        .unwrap();
    let edited = plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    assert_eq!(
        (edited.pushed, edited.failed),
        (1, 0),
        "only the edited location: {edited:?}"
    );
    assert_eq!(at_b(first.clone()).await["name"], "North Gate");
    assert_eq!(at_b(second.clone()).await["name"], "South");

    // B pages through A's locations and tariffs, one per page.
    let (locations, pages) = pull(&a, "/ocpi/2.2.1/cpo/locations", &token_for_a, 1).await;
    assert_eq!(pages, 2);
    let ids: Vec<&str> = locations
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()));
    for location in &locations {
        let parsed: plugway_ocpi::Location = serde_json::from_value(location.clone()).unwrap();
        parsed.validate().unwrap();
        assert_eq!(
            (parsed.country_code.as_str(), parsed.party_id.as_str()),
            ("MN", "PWA")
        );
        assert_eq!(parsed.country, "MNG");
        assert_eq!(
            parsed.facilities.as_deref().unwrap(),
            ["CAFE"],
            "POOL has no OCPI word"
        );
        let evses = parsed.evses.unwrap();
        assert_eq!(evses.len(), 2);
        let standards: Vec<&str> = evses
            .iter()
            .map(|e| e.connectors[0].standard.as_str())
            .collect();
        assert_eq!(standards, ["IEC_62196_T2_COMBO", "IEC_62196_T2"]);
        assert_eq!(evses[0].connectors[0].max_electric_power, Some(50_000));
        assert_eq!(evses[0].status, "AVAILABLE");
    }
    let (tariffs, _) = pull(&a, "/ocpi/2.2.1/cpo/tariffs", &token_for_a, 3).await;
    assert_eq!(tariffs.len(), 4);
    for tariff in &tariffs {
        let parsed: plugway_ocpi::Tariff = serde_json::from_value(tariff.clone()).unwrap();
        parsed.validate().unwrap();
        assert_eq!(parsed.currency, "MNT");
        let prices: Vec<(&str, f64)> = parsed.elements[0]
            .price_components
            .iter()
            .map(|c| (c.dimension.as_str(), c.price))
            .collect();
        assert_eq!(prices, [("ENERGY", 450.0), ("PARKING_TIME", 600.0)]);
    }
    // One location, one EVSE of it; a date window; bad paging.
    let (status, one, _) = ocpi(
        &a,
        reqwest::Method::GET,
        &format!("/ocpi/2.2.1/cpo/locations/{first}"),
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let uid = one["data"]["evses"][0]["uid"].as_str().unwrap();
    let (status, evse, _) = ocpi(
        &a,
        reqwest::Method::GET,
        &format!("/ocpi/2.2.1/cpo/locations/{first}/{uid}"),
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(
        (status, evse["data"]["uid"].as_str()),
        (StatusCode::OK, Some(uid))
    );
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::GET,
        "/ocpi/2.2.1/cpo/locations/00000000-0000-0000-0000-000000000000",
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(
        (status, body["status_code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(2003))
    );
    let (_, body, headers) = ocpi(
        &a,
        reqwest::Method::GET,
        "/ocpi/2.2.1/cpo/locations?date_from=2100-01-01T00:00:00Z",
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 0);
    assert_eq!(headers["x-total-count"], "0");
    for bad in ["limit=-1", "offset=x", "date_from=yesterday"] {
        let (status, body, _) = ocpi(
            &a,
            reqwest::Method::GET,
            &format!("/ocpi/2.2.1/cpo/locations?{bad}"),
            &token_for_a,
            None,
        )
        .await;
        assert_eq!(
            (status, body["status_code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(2001)),
            "{bad}"
        );
    }

    // B, as a CPO, pushes a location to A's receiver; A's drivers find it.
    let receiver = "/ocpi/2.2.1/emsp/locations/MN/PWB/LOC-1";
    let mut broken = partner_location("LOC-1", "AVAILABLE");
    broken["coordinates"]["latitude"] = json!("95.000000");
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::PUT,
        receiver,
        &token_for_a,
        Some(broken),
    )
    .await;
    assert_eq!(
        (status, body["status_code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(2001)),
        "{body}"
    );
    let (status, body, _) = ocpi(&a, reqwest::Method::GET, receiver, &token_for_a, None).await;
    assert_eq!(
        (status, body["status_code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(2003)),
        "nothing stored"
    );
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::PUT,
        receiver,
        &token_for_a,
        Some(partner_location("LOC-1", "AVAILABLE")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another party's codes are not B's to write.
    let mut foreign = partner_location("LOC-9", "AVAILABLE");
    foreign["party_id"] = json!("XYZ");
    let (status, _, _) = ocpi(
        &a,
        reqwest::Method::PUT,
        "/ocpi/2.2.1/emsp/locations/MN/XYZ/LOC-9",
        &token_for_a,
        Some(foreign),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let driver = a.otp_sign_in("+97688001009").await;
    let driver = driver["token"].as_str().unwrap().to_owned();
    let near = format!(
        "/api/v1/sites?lat={}&lng={}&radius_km=5",
        CENTRE.0, CENTRE.1
    );
    let (status, page) = a.get(&near, Some(&driver)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let partner = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Partner Plaza")
        .unwrap_or_else(|| panic!("the partner's location is found: {page}"))
        .clone();
    assert_eq!(partner["evses"][0]["status"], "AVAILABLE");
    assert_eq!(partner["max_power_kw"], 150.0);
    assert_eq!(partner["facilities"], json!(["RESTAURANTS"]));
    assert_eq!(
        partner["partner"],
        json!({"country_code": "MN", "party_id": "PWB", "name": "Platform PWB"}),
        "marked as the partner's"
    );
    let own = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "North Gate")
        .unwrap();
    assert_eq!(own["partner"], Value::Null);
    // Its EVSE starts charging: a PATCH, seen by drivers.
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::PATCH,
        &format!("{receiver}/B-1"),
        &token_for_a,
        Some(json!({"status": "CHARGING", "last_updated": "2026-12-01T11:00:00Z"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::PATCH,
        &format!("{receiver}/B-1"),
        &token_for_a,
        Some(json!({"status": "CHARGING"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a PATCH without last_updated: {body}"
    );
    let (_, body, _) = ocpi(
        &a,
        reqwest::Method::GET,
        &format!("{receiver}/B-1"),
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(body["data"]["status"], "CHARGING");
    assert_eq!(body["data"]["last_updated"], "2026-12-01T11:00:00Z");
    let partner_site = partner["id"].as_str().unwrap();
    let (_, detail) = a
        .get(&format!("/api/v1/sites/{partner_site}"), Some(&driver))
        .await;
    assert_eq!(detail["evses"][0]["status"], "CHARGING", "{detail}");
    // A's own locations never include the partner's.
    let (locations, _) = pull(&a, "/ocpi/2.2.1/cpo/locations", &token_for_a, 10).await;
    assert_eq!(locations.len(), 2);

    // Garbage gets OCPI's answer, not a plain-text one.
    let response = a
        .http
        .put(a.url(receiver))
        .header(
            "authorization",
            format!(
                "Token {}",
                base64::engine::general_purpose::STANDARD.encode(&token_for_a)
            ),
        )
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status_code"], 2001);
    // The raw token works too (OCPI 2.1.1 style); a made-up one does not.
    let raw = a
        .http
        .get(a.url("/ocpi/versions"))
        .header("authorization", format!("Token {token_for_a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 200);
    let (status, body, _) = ocpi(&a, reqwest::Method::GET, "/ocpi/versions", "made-up", None).await;
    assert_eq!(
        (status, body["status_code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(2000))
    );

    // An EVSE A stops publishing stays at B as REMOVED; so do all of a
    // location A stops publishing, unpublished (OCPI never deletes).
    let gone = a
        .store
        .list_site_evses(&[second.parse().unwrap()])
        .await
        .unwrap()[0]
        .id;
    a.store.delete_evse(gone).await.unwrap();
    let removed = plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    assert_eq!((removed.pushed, removed.failed), (1, 0), "{removed:?}");
    let held = at_b(second.clone()).await;
    let statuses: Vec<(&str, &str)> = held["evses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["uid"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    let gone = gone.to_text();
    assert_eq!(statuses.len(), 2, "{held}");
    assert!(statuses.contains(&(gone.as_str(), "REMOVED")), "{held}");
    a.store
        .set_site_approval(
            first.parse().unwrap(),
            plugway_domain::ApprovalState::Rejected,
            Some("closed"),
            a.clock_now(),
        )
        .await
        .unwrap();
    plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    let held = at_b(first.clone()).await;
    assert_eq!(held["publish"], false, "{held}");
    assert!(
        held["evses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "REMOVED"),
        "{held}"
    );
    let quiet = plugway_app::roaming::push::pass(&a.state, &mut pushing)
        .await
        .unwrap();
    assert_eq!(quiet.pushed, 0, "a removal is sent once: {quiet:?}");

    // B unregisters: its token stops working at A.
    let (status, body, _) = ocpi(
        &a,
        reqwest::Method::DELETE,
        "/ocpi/2.2.1/credentials",
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = ocpi(
        &a,
        reqwest::Method::GET,
        "/ocpi/versions",
        &token_for_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    a.finish().await;
    b.finish().await;
}

/// A connected CPO party on `app` with the given token (its token C),
/// without a partner server: the webhook test needs only the party.
async fn connected_cpo(app: &TestApp, token: &str, party_code: &str) {
    let invitation = plugway_app::roaming::parties::invite(&app.state, Some("portal CPO"))
        .await
        .unwrap();
    app.store
        .connect_ocpi_party(
            invitation.party.id,
            plugway_store::PartyState::Invited,
            &plugway_store::PartyConnection {
                incoming_token_hash: plugway_domain::secret::secret_digest(token),
                outgoing_token: "unused".into(),
                versions_url: "http://127.0.0.1:9/ocpi/versions".into(),
                endpoints_json: "[]".into(),
                roles: vec![plugway_store::PartyRole {
                    country_code: "PH".into(),
                    party_code: party_code.into(),
                    role: "CPO".into(),
                    name: "Solarius".into(),
                    host_id: Some(plugway_domain::UserId(uuid::Uuid::new_v4())),
                }],
            },
            app.clock_now(),
        )
        .await
        .unwrap();
}

async fn seed003_webhooks_add_partner_locations(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, platform("PWA")).await else {
        return;
    };
    connected_cpo(&app, "CPO_TOKEN_C-solarius", "SOL").await;
    connected_cpo(&app, "CPO_TOKEN_C-other", "OTH").await;
    let post = |path: &'static str, token: &'static str, body: Value| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(app.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::harness::read(response).await
        }
    };
    let evse = |uid: &str| {
        json!({"uid": uid, "status": "AVAILABLE", "meter_type": "AC", "kwh": 7,
               "connectors": [{"standard": "CHADEMO", "format": "SOCKET", "power_type": "AC",
                               "max_voltage": 230, "max_amperage": 16, "max_electric_power": 3680}],
               "capabilities": ["CREDIT_DEBIT_PAYABLE", "QR_READER"], "payment_types": ["GCASH", "MAYA"]})
    };
    // The document's body, as written.
    let body = json!({"locations": [{
        "name": "Yan-Yan's Store", "address": "BLK 137 LOT 3, Phase 2, Cabuyao, Laguna",
        "lat": "14.12345", "lng": "121.12345",
        "evses": [evse("123456689"), evse("123")],
        "facilities": ["CINEMA", "CAFE"], "parking_types": ["INDOOR"],
        "parking_restrictions": ["CUSTOMERS", "DISABLED"]
    }]});
    let path = "/ocpi/cpo/api/v1/webhook/locations/PH/SOL";
    let (status, reply) = post(path, "CPO_TOKEN_C-solarius", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["message"], "Success");
    let number = reply["data"][0]["location_id"]
        .as_i64()
        .expect("an integer id");
    // The stored location is the site with that number, found by drivers.
    let (status, site) = app.get(&format!("/api/v1/sites/{number}"), None).await;
    let site = if status == StatusCode::OK {
        site
    } else {
        let id = app
            .store
            .numbered_ref(plugway_store::NumberKind::Site, number)
            .await
            .unwrap()
            .unwrap();
        app.get(&format!("/api/v1/sites/{id}"), None).await.1
    };
    assert_eq!(site["name"], "Yan-Yan's Store", "{site}");
    assert_eq!(site["evses"].as_array().unwrap().len(), 2);
    assert_eq!(site["visible"], true);
    assert_eq!(site["partner"]["party_id"], "SOL");
    assert_eq!(site["partner"]["name"], "Solarius");

    // Add an EVSE to it by number; replace one by uid.
    let mut third = evse("777");
    third["location_id"] = json!(number);
    let (status, reply) = post(
        "/ocpi/cpo/api/v1/webhook/evse/PH/SOL",
        "CPO_TOKEN_C-solarius",
        third,
    )
    .await;
    assert_eq!(
        (status, &reply["data"]),
        (StatusCode::OK, &json!("SUCCESS")),
        "{reply}"
    );
    let site_id = site["id"].as_str().unwrap();
    let (_, site) = app.get(&format!("/api/v1/sites/{site_id}"), None).await;
    assert_eq!(site["evses"].as_array().unwrap().len(), 3);

    // Refusals, each changing nothing.
    let (status, reply) = post(path, "wrong-token", body.clone()).await;
    assert_eq!(
        (status, reply["status"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    let (status, _) = post(
        "/ocpi/cpo/api/v1/webhook/locations/PH/OTH",
        "CPO_TOKEN_C-solarius",
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another party's code");
    let mut bad = body.clone();
    bad["locations"][0]["lat"] = json!("north");
    let (status, reply) = post(path, "CPO_TOKEN_C-solarius", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("locations[0].lat"),
        "{reply}"
    );
    let mut bad = body.clone();
    bad["locations"][0]["evses"][1]["connectors"][0]["standard"] = json!("PLUG");
    let (status, _) = post(path, "CPO_TOKEN_C-solarius", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut foreign = evse("888");
    foreign["location_id"] = json!(number);
    let (status, _) = post(
        "/ocpi/cpo/api/v1/webhook/evse/PH/OTH",
        "CPO_TOKEN_C-other",
        foreign,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another operator's location is not found"
    );
    let mut unknown = evse("889");
    unknown["location_id"] = json!(999_999);
    let (status, _) = post(
        "/ocpi/cpo/api/v1/webhook/evse/PH/SOL",
        "CPO_TOKEN_C-solarius",
        unknown,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, site) = app.get(&format!("/api/v1/sites/{site_id}"), None).await;
    assert_eq!(site["evses"].as_array().unwrap().len(), 3);
    let near = "/api/v1/sites?lat=14.12345&lng=121.12345&radius_km=5";
    let (_, page) = app.get(near, None).await;
    assert_eq!(
        page["results"].as_array().unwrap().len(),
        1,
        "only the one location: {page}"
    );
    app.finish().await;
}
