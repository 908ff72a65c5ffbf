//! Seed 003's GraphQL API at /graphql: the seed's own query documents over
//! data created through REST, who sees what, Basic API-key credentials, the
//! search filters, bad arguments and the depth and complexity guards.

use axum::http::StatusCode;
use base64::Engine;
use plugway_domain::{ApiKeyRole, PhotoId, SiteId};
use plugway_store::SitePhoto;
use serde_json::{json, Value};

use crate::harness::{Backend, Options, TestApp};

crate::on_both_backends!(
    the_seed_documents_return_what_rest_created,
    hosts_see_their_own_and_drivers_the_listed,
    find_ev_takes_basic_api_keys_and_refuses_strangers,
    filters_and_distance_narrow_the_search,
    bad_arguments_and_abusive_queries_are_refused,
);

/// Makati, the seed's example position.
const MAKATI: (f64, f64) = (14.559192, 121.017516);

// The seed's query documents, verbatim.

const SEED_EVSE: &str = r#"query Evse {
	evse(location_name: "Fi", order_by: "location", order: "DESC") {
		uid
		evse_id
		serial_number
		meter_type
		status
		cpo_location_id
		current_ws_connection_id
		server_id
		date_created
		capabilities {
			id
			code
			description
		}
		payment_types {
			id
			code
			description
		}
		connectors {
			id
			evse_uid
			connector_id
			standard
			format
			power_type
			max_voltage
			max_amperage
			max_electric_power
			connector_type
			rate_setting
			status
			date_created
			date_modified
		}
		locations {
			id
			cpo_owner_id
			name
			address
			address_lat
			address_lng
			city
			region
			postal_code
			country_code
			images
			publish
			date_created
			date_modified
			facilities {
				id
				code
				description
			}
			parking_restrictions {
				id
				code
				description
			}
			parking_types {
				id
				code
				description
			}
		}
	}
}"#;

const SEED_LOCATIONS: &str = r#"query Locations {
	locations(limit: 10, offset: 0) {
		id
		cpo_owner_id
		name
		address
		address_lat
		address_lng
		city
		region
		postal_code
		country_code
		images
		publish
		date_created
		date_modified
		evses {
			uid
			evse_id
			serial_number
			meter_type
			status
			cpo_location_id
			current_ws_connection_id
			server_id
			date_created
			connectors {
				id
				evse_uid
				connector_id
				standard
				format
				power_type
				max_voltage
				max_amperage
				max_electric_power
				connector_type
				rate_setting
				status
				date_created
				date_modified
			}
			capabilities {
				id
				code
				description
			}
			payment_types {
				id
				code
				description
			}
		}
		facilities {
			id
			code
			description
		}
		parking_restrictions {
			id
			code
			description
		}
		parking_types {
			id
			code
			description
		}
	}
}"#;

const SEED_FIND_EV_LOCATIONS: &str = r#"query Find_ev_locations {
	find_ev_locations {
		id
		cpo_owner_id
		name
		address
		address_lat
		address_lng
		distance
		city
		region
		postal_code
		country_code
		images
		publish
		date_created
		date_modified
		evses {
			uid
			evse_id
			serial_number
			meter_type
			status
			cpo_location_id
			current_ws_connection_id
			server_id
			date_created
			capabilities {
				id
				code
				description
			}
			payment_types {
				id
				code
				description
			}
			connectors {
				id
				evse_uid
				connector_id
				standard
				format
				power_type
				max_voltage
				max_amperage
				max_electric_power
				connector_type
				rate_setting
				status
				date_created
				date_modified
			}
		}
		facilities {
			id
			code
			description
		}
		parking_restrictions {
			id
			code
			description
		}
		parking_types {
			id
			code
			description
		}
	}
}"#;

/// The seed's selection set of its location-returning queries (the Location
/// query and find_ev_filter_locations share it).
const LOCATION_SELECTION: &str = r#"{
		id
		cpo_owner_id
		name
		address
		distance
		address_lat
		address_lng
		city
		province
		region
		postal_code
		country_code
		images
		publish
		date_created
		date_modified
		evses {
			uid
			evse_id
			serial_number
			meter_type
			status
			cpo_location_id
			current_ws_connection_id
			server_id
			date_created
			connectors {
				id
				evse_uid
				connector_id
				standard
				format
				power_type
				max_voltage
				max_amperage
				max_electric_power
				connector_type
				rate_setting
				status
				date_created
				date_modified
			}
			capabilities {
				id
				code
				description
			}
			payment_types {
				id
				code
				description
			}
		}
		facilities {
			id
			code
			description
		}
		parking_restrictions {
			id
			code
			description
		}
		parking_types {
			id
			code
			description
		}
	}"#;

fn seed_find_ev_filter_locations() -> String {
    format!(
        "query Find_ev_filter_locations {{\n\tfind_ev_filter_locations(lat: 14.559192, lng: 121.017516) {LOCATION_SELECTION}\n}}"
    )
}

fn seed_location(id: &str) -> String {
    format!("query Location {{\n\tlocation(id: {id}) {LOCATION_SELECTION}\n}}")
}

const LOCATION_KEYS: &[&str] = &[
    "id",
    "cpo_owner_id",
    "name",
    "address",
    "distance",
    "address_lat",
    "address_lng",
    "city",
    "province",
    "region",
    "postal_code",
    "country_code",
    "images",
    "publish",
    "date_created",
    "date_modified",
    "evses",
    "facilities",
    "parking_restrictions",
    "parking_types",
];

const EVSE_KEYS: &[&str] = &[
    "uid",
    "evse_id",
    "serial_number",
    "meter_type",
    "status",
    "cpo_location_id",
    "current_ws_connection_id",
    "server_id",
    "date_created",
    "connectors",
    "capabilities",
    "payment_types",
];

const CONNECTOR_KEYS: &[&str] = &[
    "id",
    "evse_uid",
    "connector_id",
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    "connector_type",
    "rate_setting",
    "status",
    "date_created",
    "date_modified",
];

#[track_caller]
fn assert_keys(object: &Value, keys: &[&str]) {
    let mut have: Vec<&str> = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = keys.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    assert_eq!(have, want, "{object}");
}

/// How a GraphQL request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// `Basic base64(name:key)`.
    Basic(&'a str),
    /// A raw Authorization header.
    Header(&'a str),
}

/// POSTs a GraphQL request; asserts HTTP 200 and returns the body.
async fn gql(app: &TestApp, query: &str, auth: Auth<'_>) -> Value {
    gql_vars(app, query, json!({}), auth).await
}

async fn gql_vars(app: &TestApp, query: &str, variables: Value, auth: Auth<'_>) -> Value {
    let mut request = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    request = match auth {
        Auth::None => request,
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Basic(key) => request.header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("emsp:{key}"))
            ),
        ),
        Auth::Header(value) => request.header("authorization", value),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// The data of a successful reply.
#[track_caller]
fn data(reply: &Value) -> &Value {
    assert!(reply.get("errors").is_none(), "{reply}");
    &reply["data"]
}

/// The first error's `extensions.code` (the data must be null).
#[track_caller]
fn error_code(reply: &Value) -> String {
    assert!(reply["data"].is_null(), "{reply}");
    let error = &reply["errors"][0];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{reply}"
    );
    error["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| {
            item.get("id")
                .or_else(|| item.get("uid"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn key(app: &TestApp, role: ApiKeyRole) -> String {
    crate::harness::api_key(app, role).await
}

/// Signs a person in; returns their token and account id.
async fn person(app: &TestApp, phone: &str) -> (String, String) {
    let signed = app.otp_sign_in(phone).await;
    (
        signed["token"].as_str().unwrap().to_owned(),
        signed["userId"].as_str().unwrap().to_owned(),
    )
}

/// Signs a person in and makes them a host.
async fn host(app: &TestApp, phone: &str) -> (String, String) {
    crate::harness::sign_in_host(app, phone, "Solarius").await
}

struct SiteSpec<'a> {
    name: &'a str,
    at: (f64, f64),
    city: &'a str,
    facilities: &'a [&'a str],
    parking_types: &'a [&'a str],
}

impl<'a> SiteSpec<'a> {
    fn new(name: &'a str, at: (f64, f64)) -> Self {
        Self {
            name,
            at,
            city: "Makati",
            facilities: &["CAFE", "WIFI"],
            parking_types: &["INDOOR"],
        }
    }
}

async fn create_site(app: &TestApp, token: &str, spec: &SiteSpec<'_>) -> String {
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({
                "name": spec.name,
                "address": "Ayala Avenue 6750",
                "city": spec.city,
                "province": "Metro Manila",
                "region": "NCR",
                "postal_code": "1226",
                "country_code": "PH",
                "latitude": spec.at.0,
                "longitude": spec.at.1,
                "time_zone": "Asia/Manila",
                "facilities": spec.facilities,
                "parking_types": spec.parking_types,
                "parking_restrictions": ["CUSTOMERS", "DISABLED"],
                "currency": "PHP"
            }),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    // Lists order by creation time: keep the times apart.
    app.clock.advance(chrono::Duration::seconds(1));
    site["id"].as_str().unwrap().to_owned()
}

async fn create_evse(app: &TestApp, token: &str, site: &str, code: &str) -> String {
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            json!({
                "evse_code": code,
                "serial_number": format!("SN-{code}"),
                "meter_type": "AC",
                "capabilities": ["QR_READER", "CREDIT_DEBIT_PAYABLE"],
                "payment_types": ["GCASH", "MAYA"],
                "prices": {"per_kwh": 12.5},
                "connectors": [
                    {"standard": "TYPE_2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                     "max_voltage": 400, "max_amperage": 32, "max_power_kw": 22},
                    {"standard": "CHADEMO", "format": "CABLE", "power_type": "DC",
                     "max_voltage": 500, "max_amperage": 125, "max_power_kw": 50}
                ]
            }),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    app.clock.advance(chrono::Duration::seconds(1));
    evse["id"].as_str().unwrap().to_owned()
}

async fn approve(app: &TestApp, admin: &str, site: &str, evses: &[&str]) {
    crate::harness::approve_listing(app, admin, site, evses).await
}

/// A site with one EVSE, approved; returns (site, evse).
async fn listed(app: &TestApp, token: &str, admin: &str, spec: &SiteSpec<'_>) -> (String, String) {
    let site = create_site(app, token, spec).await;
    let evse = create_evse(app, token, &site, &format!("{}-1", &spec.name[..3])).await;
    approve(app, admin, &site, &[&evse]).await;
    (site, evse)
}

async fn the_seed_documents_return_what_rest_created(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let (token, host_id) = host(&app, "+97688000101").await;
    let fiesta = SiteSpec::new("Fiesta Mall", MAKATI);
    let (site, evse) = listed(&app, &token, &admin, &fiesta).await;
    let filinvest = SiteSpec::new("Filinvest Hub", (MAKATI.0 + 0.01, MAKATI.1));
    let (site2, evse2) = listed(&app, &token, &admin, &filinvest).await;
    let greenbelt = SiteSpec::new("Greenbelt", (MAKATI.0 + 0.02, MAKATI.1));
    let (_, evse3) = listed(&app, &token, &admin, &greenbelt).await;
    app.store
        .insert_site_photos(&[SitePhoto {
            id: PhotoId(uuid::Uuid::new_v4()),
            site_id: SiteId(site.parse().unwrap()),
            key: "sites/front.jpg".into(),
            thumb_key: "sites/front-thumb.jpg".into(),
            content_type: "image/jpeg".into(),
            width: 640,
            height: 480,
            bytes: 1000,
            created_at: app.clock_now(),
        }])
        .await
        .unwrap();

    // Locations: the host's own, newest first, every field the seed selects.
    let reply = gql(&app, SEED_LOCATIONS, Auth::Bearer(&token)).await;
    let locations = &data(&reply)["locations"];
    assert_eq!(locations.as_array().unwrap().len(), 3, "{reply}");
    let fiesta_view = locations
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == site.as_str())
        .unwrap();
    let mut keys: Vec<&str> = LOCATION_KEYS.to_vec();
    keys.retain(|k| *k != "distance" && *k != "province");
    assert_keys(fiesta_view, &keys);
    assert_eq!(fiesta_view["cpo_owner_id"], host_id.as_str());
    assert_eq!(fiesta_view["name"], "Fiesta Mall");
    assert_eq!(fiesta_view["address"], "Ayala Avenue 6750");
    assert_eq!(fiesta_view["address_lat"], MAKATI.0);
    assert_eq!(fiesta_view["address_lng"], MAKATI.1);
    assert_eq!(fiesta_view["city"], "Makati");
    assert_eq!(fiesta_view["region"], "NCR");
    assert_eq!(fiesta_view["postal_code"], "1226");
    assert_eq!(fiesta_view["country_code"], "PH");
    assert_eq!(
        fiesta_view["images"],
        json!(["/api/v1/media/sites/front.jpg"])
    );
    assert_eq!(fiesta_view["publish"], true);
    for field in ["date_created", "date_modified"] {
        let text = fiesta_view[field].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap();
    }
    assert_eq!(
        fiesta_view["facilities"],
        json!([{"id": 2, "code": "CAFE", "description": "Cafe"},
               {"id": 16, "code": "WIFI", "description": "Wi-Fi"}])
    );
    assert_eq!(
        fiesta_view["parking_restrictions"],
        json!([{"id": 3, "code": "DISABLED", "description": "Disabled drivers only"},
               {"id": 4, "code": "CUSTOMERS", "description": "Customers only"}])
    );
    assert_eq!(
        fiesta_view["parking_types"],
        json!([{"id": 1, "code": "INDOOR", "description": "Indoor"}])
    );
    let e = &fiesta_view["evses"][0];
    assert_keys(e, EVSE_KEYS);
    assert_eq!(e["uid"], evse.as_str());
    assert_eq!(e["evse_id"], "Fie-1");
    assert_eq!(e["serial_number"], "SN-Fie-1");
    assert_eq!(e["meter_type"], "AC");
    assert_eq!(e["status"], "AVAILABLE");
    assert_eq!(e["cpo_location_id"], site.as_str());
    assert!(e["current_ws_connection_id"].is_null());
    assert!(e["server_id"].is_null());
    assert_eq!(
        e["capabilities"],
        json!([{"id": 1, "code": "CREDIT_DEBIT_PAYABLE", "description": "Credit/debit card payment"},
               {"id": 2, "code": "QR_READER", "description": "QR code reader"}])
    );
    assert_eq!(
        e["payment_types"],
        json!([{"id": 1, "code": "GCASH", "description": "GCash"},
               {"id": 2, "code": "MAYA", "description": "Maya"}])
    );
    let connectors = e["connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 2);
    let c = &connectors[1];
    assert_keys(c, CONNECTOR_KEYS);
    assert_eq!(c["evse_uid"], evse.as_str());
    assert_eq!(c["connector_id"], 2);
    assert_eq!(connectors[0]["connector_id"], 1);
    assert_eq!(c["standard"], "CHADEMO");
    assert_eq!(c["format"], "CABLE");
    assert_eq!(c["power_type"], "DC");
    assert_eq!(c["max_voltage"], 500);
    assert_eq!(c["max_amperage"], 125);
    assert_eq!(c["max_electric_power"], 50_000);
    assert_eq!(c["connector_type"], "CHADEMO");
    assert_eq!(connectors[0]["connector_type"], "Type 2");
    assert_eq!(c["rate_setting"], 12.5);
    assert_eq!(c["status"], "AVAILABLE");
    assert!(c["id"].as_str().is_some_and(|id| !id.is_empty()));
    chrono::DateTime::parse_from_rfc3339(c["date_modified"].as_str().unwrap()).unwrap();

    // Evse: names containing "Fi", by location name, descending.
    let reply = gql(&app, SEED_EVSE, Auth::Bearer(&admin)).await;
    let evses = &data(&reply)["evse"];
    assert_eq!(ids(evses), [evse2.as_str(), evse.as_str()], "{reply}");
    assert_eq!(evses[0]["locations"]["id"], site2.as_str());
    assert_eq!(evses[0]["locations"]["name"], "Filinvest Hub");
    assert_eq!(
        evses[1]["locations"]["images"],
        json!(["/api/v1/media/sites/front.jpg"])
    );
    let mut keys = EVSE_KEYS.to_vec();
    keys.push("locations");
    assert_keys(&evses[0], &keys);
    // Ascending by creation is the default order.
    let reply = gql(&app, "{ evse { uid } }", Auth::Bearer(&token)).await;
    assert_eq!(
        ids(&data(&reply)["evse"]),
        [evse.as_str(), evse2.as_str(), evse3.as_str()]
    );

    // Find_ev_filter_locations: Basic with an API key, nearest first, with
    // the distance in km.
    let integration = key(&app, ApiKeyRole::Integration).await;
    let reply = gql(
        &app,
        &seed_find_ev_filter_locations(),
        Auth::Basic(&integration),
    )
    .await;
    let found = &data(&reply)["find_ev_filter_locations"];
    assert_eq!(found.as_array().unwrap().len(), 3, "{reply}");
    assert_eq!(found[0]["id"], site.as_str());
    assert_eq!(found[1]["id"], site2.as_str());
    assert_keys(&found[0], LOCATION_KEYS);
    assert_eq!(found[0]["distance"], 0.0);
    let d = found[1]["distance"].as_f64().unwrap();
    assert!((1.0..1.2).contains(&d), "{d}");
    assert_eq!(found[0]["province"], "Metro Manila");
    assert_eq!(found[0]["evses"][0]["uid"], evse.as_str());

    // Find_ev_locations without arguments: the listed sites, newest first.
    let reply = gql(&app, SEED_FIND_EV_LOCATIONS, Auth::Basic(&admin)).await;
    let listed_sites = &data(&reply)["find_ev_locations"];
    assert_eq!(listed_sites.as_array().unwrap().len(), 3);
    assert_eq!(listed_sites[2]["id"], site.as_str());
    assert!(listed_sites[0]["distance"].is_null());

    // Location: the public number the canonical API shows finds the site,
    // as the seed asks it (`location(id: 755)`); a number never given and
    // the UUID's own form find what they should.
    let (status, rest_view) = app
        .get(&format!("/api/v1/host/sites/{site}"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{rest_view}");
    let number = rest_view["number"]
        .as_i64()
        .expect("the site view shows its number");
    let reply = gql(
        &app,
        &seed_location(&number.to_string()),
        Auth::Bearer(&token),
    )
    .await;
    assert_eq!(data(&reply)["location"]["id"], site.as_str(), "{reply}");
    let reply = gql(
        &app,
        &format!("{{ location(id: {number}) {{ number evses {{ number }} }} }}"),
        Auth::Bearer(&token),
    )
    .await;
    assert_eq!(data(&reply)["location"]["number"], number, "{reply}");
    assert!(
        data(&reply)["location"]["evses"][0]["number"].is_i64(),
        "{reply}"
    );
    let reply = gql(&app, &seed_location("755"), Auth::Bearer(&token)).await;
    assert_eq!(data(&reply), &json!({"location": null}));
    let reply = gql(
        &app,
        &seed_location(&format!("\"{site}\"")),
        Auth::Bearer(&token),
    )
    .await;
    let one = &data(&reply)["location"];
    assert_keys(one, LOCATION_KEYS);
    assert_eq!(one["id"], site.as_str());
    assert_eq!(one["province"], "Metro Manila");
    assert!(one["distance"].is_null());
    assert_eq!(
        one["evses"][0]["connectors"][0]["max_electric_power"],
        22_000
    );

    // The same query over GET (credentials in the header, not the URL).
    let response = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "{ locations(limit: 1) { id } }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(data(&reply)["locations"].as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn hosts_see_their_own_and_drivers_the_listed(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin_key = key(&app, ApiKeyRole::Admin).await;
    let (alice, _) = host(&app, "+97688000111").await;
    let (bob, _) = host(&app, "+97688000112").await;
    let (driver, _) = person(&app, "+97688000113").await;
    let (admin_person, admin_id) = person(&app, "+97688000114").await;
    let (status, body) = app
        .put(
            &format!("/api/v1/admin/users/{admin_id}/role"),
            json!({"role": "admin"}),
            Some(&admin_key),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Alice's site waits for approval; Bob's is listed.
    let pending = create_site(&app, &alice, &SiteSpec::new("Alabang Pending", MAKATI)).await;
    let pending_evse = create_evse(&app, &alice, &pending, "A-1").await;
    let (listed_site, listed_evse) =
        listed(&app, &bob, &admin_key, &SiteSpec::new("Bonifacio", MAKATI)).await;
    // An unapproved EVSE at Bob's listed site.
    let bob_pending_evse = create_evse(&app, &bob, &listed_site, "B-2").await;

    let query = "{ locations { id publish evses { uid } } }";
    let mine = gql(&app, query, Auth::Bearer(&alice)).await;
    let mine = &data(&mine)["locations"];
    assert_eq!(ids(mine), [pending.as_str()]);
    assert_eq!(mine[0]["publish"], false);
    assert_eq!(ids(&mine[0]["evses"]), [pending_evse.as_str()]);

    let bobs = gql(&app, query, Auth::Bearer(&bob)).await;
    let bobs = &data(&bobs)["locations"];
    assert_eq!(ids(bobs), [listed_site.as_str()]);
    assert_eq!(
        ids(&bobs[0]["evses"]),
        [listed_evse.as_str(), bob_pending_evse.as_str()]
    );

    let drivers = gql(&app, query, Auth::Bearer(&driver)).await;
    let drivers = &data(&drivers)["locations"];
    assert_eq!(ids(drivers), [listed_site.as_str()]);
    assert_eq!(ids(&drivers[0]["evses"]), [listed_evse.as_str()]);

    for admin in [&admin_person, &admin_key] {
        let all = gql(&app, query, Auth::Bearer(admin)).await;
        assert_eq!(
            ids(&data(&all)["locations"]),
            [listed_site.as_str(), pending.as_str()]
        );
    }

    // One location: a host's own in any state; not another host's; drivers
    // only listed ones.
    let one = |id: &str| format!("{{ location(id: \"{id}\") {{ id evses {{ uid }} }} }}");
    let reply = gql(&app, &one(&pending), Auth::Bearer(&alice)).await;
    assert_eq!(data(&reply)["location"]["id"], pending.as_str());
    let reply = gql(&app, &one(&pending), Auth::Bearer(&bob)).await;
    assert!(data(&reply)["location"].is_null(), "{reply}");
    let reply = gql(&app, &one(&pending), Auth::Bearer(&driver)).await;
    assert!(data(&reply)["location"].is_null(), "{reply}");
    let reply = gql(&app, &one(&listed_site), Auth::Bearer(&driver)).await;
    assert_eq!(
        ids(&data(&reply)["location"]["evses"]),
        [listed_evse.as_str()]
    );
    let reply = gql(&app, &one("not-a-uuid"), Auth::Bearer(&driver)).await;
    assert!(data(&reply)["location"].is_null(), "{reply}");

    // EVSEs likewise, and an EVSE's location shows its EVSEs by the same rule.
    let query = "{ evse { uid locations { id evses { uid } } } }";
    let reply = gql(&app, query, Auth::Bearer(&alice)).await;
    assert_eq!(ids(&data(&reply)["evse"]), [pending_evse.as_str()]);
    let reply = gql(&app, query, Auth::Bearer(&driver)).await;
    let evses = &data(&reply)["evse"];
    assert_eq!(ids(evses), [listed_evse.as_str()]);
    assert_eq!(ids(&evses[0]["locations"]["evses"]), [listed_evse.as_str()]);
    let reply = gql(&app, query, Auth::Bearer(&bob)).await;
    let evses = &data(&reply)["evse"];
    assert_eq!(
        ids(evses),
        [listed_evse.as_str(), bob_pending_evse.as_str()]
    );
    assert_eq!(
        ids(&evses[0]["locations"]["evses"]),
        [listed_evse.as_str(), bob_pending_evse.as_str()]
    );
    let reply = gql(&app, query, Auth::Bearer(&admin_key)).await;
    assert_eq!(data(&reply)["evse"].as_array().unwrap().len(), 3);

    // The find_ev queries show what drivers see, whoever asks.
    let query = "{ find_ev_locations { id evses { uid } } }";
    let reply = gql(&app, query, Auth::Bearer(&alice)).await;
    let found = &data(&reply)["find_ev_locations"];
    assert_eq!(ids(found), [listed_site.as_str()]);
    assert_eq!(ids(&found[0]["evses"]), [listed_evse.as_str()]);
    app.finish().await;
}

async fn find_ev_takes_basic_api_keys_and_refuses_strangers(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let integration = key(&app, ApiKeyRole::Integration).await;
    let (token, _) = host(&app, "+97688000121").await;
    let (site, _) = listed(&app, &token, &admin, &SiteSpec::new("Rockwell", MAKATI)).await;
    let (driver, _) = person(&app, "+97688000122").await;
    let query = "{ find_ev_filter_locations(lat: 14.559192, lng: 121.017516) { id } }";

    for auth in [
        Auth::Basic(&integration),
        Auth::Basic(&admin),
        Auth::Bearer(&driver),
        Auth::Bearer(&integration),
    ] {
        let reply = gql(&app, query, auth).await;
        assert_eq!(
            ids(&data(&reply)["find_ev_filter_locations"]),
            [site.as_str()]
        );
    }
    let (status, created) = app
        .post(
            "/api/v1/admin/api-keys",
            json!({"name": "old crm", "role": "integration"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let revoked = created["key"].as_str().unwrap().to_owned();
    let reply = gql(&app, query, Auth::Basic(&revoked)).await;
    assert_eq!(
        ids(&data(&reply)["find_ev_filter_locations"]),
        [site.as_str()]
    );
    let id = created["id"].as_str().unwrap();
    let (status, _) = app
        .delete(&format!("/api/v1/admin/api-keys/{id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let bad_basic = base64::engine::general_purpose::STANDARD.encode("no-colon-here");
    for (auth, what) in [
        (Auth::None, "no credentials"),
        (
            Auth::Basic("pwk_00000000000000000000000000000000_nope"),
            "unknown key",
        ),
        (Auth::Basic(&revoked), "revoked key"),
        (Auth::Basic(&driver), "a JWT as the Basic password"),
        (Auth::Bearer("not-a-token"), "a bad bearer token"),
        (
            Auth::Header(&format!("Basic {bad_basic}")),
            "Basic without a password",
        ),
        (Auth::Header("Digest abc"), "another scheme"),
    ] {
        let reply = gql(&app, query, auth).await;
        assert_eq!(error_code(&reply), "UNAUTHENTICATED", "{what}: {reply}");
    }
    // The seed's Bearer queries take Bearer only.
    for query in [
        "{ locations { id } }",
        "{ evse { uid } }",
        "{ location(id: 755) { id } }",
    ] {
        let reply = gql(&app, query, Auth::Basic(&integration)).await;
        assert_eq!(error_code(&reply), "UNAUTHENTICATED", "{query}: {reply}");
        let reply = gql(&app, query, Auth::None).await;
        assert_eq!(error_code(&reply), "UNAUTHENTICATED", "{query}: {reply}");
    }
    app.finish().await;
}

async fn filters_and_distance_narrow_the_search(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let (token, _) = host(&app, "+97688000131").await;
    // A: here, cafe and wifi, indoor. B: 5 km north, cafe only, outdoor, in
    // another city. C: 30 km north, cafe and wifi.
    let (a, _) = listed(&app, &token, &admin, &SiteSpec::new("Ayala", MAKATI)).await;
    let b_spec = SiteSpec {
        city: "Mandaluyong",
        facilities: &["CAFE"],
        parking_types: &["OUTDOOR"],
        ..SiteSpec::new("Boni", (MAKATI.0 + 0.045, MAKATI.1))
    };
    let (b, _) = listed(&app, &token, &admin, &b_spec).await;
    let (c, _) = listed(
        &app,
        &token,
        &admin,
        &SiteSpec::new("Caloocan", (MAKATI.0 + 0.27, MAKATI.1)),
    )
    .await;
    // Pending sites are never found.
    create_site(&app, &token, &SiteSpec::new("Draft", MAKATI)).await;

    let search = r#"query Search($distance: Float, $city: String, $facilities: [String!],
            $capabilities: [String!], $payment_types: [String!], $parking_types: [String!]) {
        find_ev_filter_locations(lat: 14.559192, lng: 121.017516, distance: $distance,
            city: $city, facilities: $facilities, capabilities: $capabilities,
            payment_types: $payment_types, parking_types: $parking_types) { id distance }
    }"#;
    let find = |variables: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = gql_vars(app, search, variables, Auth::Basic(&admin)).await;
            ids(&data(&reply)["find_ev_filter_locations"])
        }
    };
    assert_eq!(find(json!({})).await, [a.as_str(), b.as_str()]);
    assert_eq!(
        find(json!({"distance": 50})).await,
        [a.as_str(), b.as_str(), c.as_str()]
    );
    assert_eq!(
        find(json!({"distance": 50, "facilities": ["CAFE", "WIFI"]})).await,
        [a.as_str(), c.as_str()]
    );
    assert_eq!(find(json!({"facilities": ["wifi"]})).await, [a.as_str()]);
    assert_eq!(
        find(json!({"parking_types": ["OUTDOOR"]})).await,
        [b.as_str()]
    );
    assert_eq!(
        find(json!({"distance": 50, "city": "mandaluyong"})).await,
        [b.as_str()]
    );
    assert_eq!(
        find(json!({"capabilities": ["QR_READER"], "payment_types": ["MAYA"]})).await,
        [a.as_str(), b.as_str()]
    );
    assert!(find(json!({"capabilities": ["PRIVILEGE_AND_LOYALTY"]}))
        .await
        .is_empty());
    assert!(find(json!({"distance": 1})).await == [a.as_str()]);

    let reply = gql_vars(&app, search, json!({"distance": 50}), Auth::Basic(&admin)).await;
    let distances: Vec<f64> = data(&reply)["find_ev_filter_locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!((4.8..5.2).contains(&distances[1]), "{distances:?}");
    assert!((29.0..31.0).contains(&distances[2]), "{distances:?}");

    // Bad filters.
    for (variables, field) in [
        (json!({"facilities": ["SAUNA"]}), "facilities"),
        (json!({"payment_types": ["BITCOIN"]}), "payment_types"),
        (json!({"distance": 500}), "distance"),
        (json!({"distance": 0}), "distance"),
    ] {
        let reply = gql_vars(&app, search, variables.clone(), Auth::Basic(&admin)).await;
        assert_eq!(error_code(&reply), "BAD_USER_INPUT", "{variables}: {reply}");
        assert_eq!(reply["errors"][0]["extensions"]["field"], field, "{reply}");
    }
    let reply = gql(
        &app,
        "{ find_ev_filter_locations(lat: 95, lng: 121) { id } }",
        Auth::Basic(&admin),
    )
    .await;
    assert_eq!(error_code(&reply), "BAD_USER_INPUT", "{reply}");
    let reply = gql(
        &app,
        "{ find_ev_filter_locations(lng: 121) { id } }",
        Auth::Basic(&admin),
    )
    .await;
    assert!(
        reply["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("lat"),
        "{reply}"
    );

    // find_ev_locations: everything listed, newest first; or around a point.
    let reply = gql(&app, "{ find_ev_locations { id } }", Auth::Basic(&admin)).await;
    assert_eq!(
        ids(&data(&reply)["find_ev_locations"]),
        [c.as_str(), b.as_str(), a.as_str()]
    );
    let reply = gql(
        &app,
        "{ find_ev_locations(lat: 14.559192, lng: 121.017516, distance: 10) { id distance } }",
        Auth::Basic(&admin),
    )
    .await;
    assert_eq!(
        ids(&data(&reply)["find_ev_locations"]),
        [a.as_str(), b.as_str()]
    );
    let reply = gql(
        &app,
        "{ find_ev_locations(limit: 1) { id } }",
        Auth::Basic(&admin),
    )
    .await;
    assert_eq!(ids(&data(&reply)["find_ev_locations"]), [c.as_str()]);
    let reply = gql(
        &app,
        "{ find_ev_locations(lat: 14.5) { id } }",
        Auth::Basic(&admin),
    )
    .await;
    assert_eq!(error_code(&reply), "BAD_USER_INPUT", "{reply}");
    app.finish().await;
}

async fn bad_arguments_and_abusive_queries_are_refused(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let (token, _) = host(&app, "+97688000141").await;
    listed(&app, &token, &admin, &SiteSpec::new("Glorietta", MAKATI)).await;

    for (query, field) in [
        (r#"{ evse(order: "UP") { uid } }"#, "order"),
        (r#"{ evse(order_by: "name") { uid } }"#, "order_by"),
        ("{ evse(limit: 101) { uid } }", "limit"),
        ("{ evse(limit: 0) { uid } }", "limit"),
        ("{ evse(offset: -1) { uid } }", "offset"),
        ("{ locations(limit: 500) { id } }", "limit"),
        ("{ locations(offset: -5) { id } }", "offset"),
    ] {
        let reply = gql(&app, query, Auth::Bearer(&token)).await;
        assert_eq!(error_code(&reply), "BAD_USER_INPUT", "{query}: {reply}");
        assert_eq!(reply["errors"][0]["extensions"]["field"], field, "{reply}");
    }
    // Case does not matter for order and order_by.
    let reply = gql(
        &app,
        r#"{ evse(order: "desc", order_by: "LOCATION", limit: 100) { uid } }"#,
        Auth::Bearer(&token),
    )
    .await;
    assert_eq!(data(&reply)["evse"].as_array().unwrap().len(), 1);

    // Depth: 12 levels pass, 13 are refused before anything runs.
    let nest = |levels: usize| {
        // The leaf: `id` of a location, `uid` of an EVSE.
        let mut inner = String::from(if levels % 2 == 1 { "uid" } else { "id" });
        // evse -> locations -> evses -> locations ... alternating.
        for level in (1..levels).rev() {
            let field = if level % 2 == 1 { "locations" } else { "evses" };
            inner = format!("{field} {{ {inner} }}");
        }
        format!("{{ evse {{ {inner} }} }}")
    };
    let ok = gql(&app, &nest(11), Auth::Bearer(&token)).await;
    assert!(data(&ok)["evse"].is_array(), "{ok}");
    let deep = gql(&app, &nest(12), Auth::Bearer(&token)).await;
    assert!(deep["data"].is_null(), "{deep}");
    assert!(
        deep["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{deep}"
    );
    // Too many fields, through aliases.
    let wide: String = (0..700)
        .map(|i| format!("l{i}: locations(limit: 1) {{ id name city }} "))
        .collect();
    let wide = gql(&app, &format!("{{ {wide} }}"), Auth::Bearer(&token)).await;
    assert!(wide["data"].is_null(), "{wide}");
    assert!(
        wide["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{wide}"
    );

    // Introspection stays on, including the deep standard query of tools.
    let reply = gql(&app, INTROSPECTION, Auth::None).await;
    let types = data(&reply)["__schema"]["types"].as_array().unwrap();
    let location = types.iter().find(|t| t["name"] == "Location").unwrap();
    let fields: Vec<&str> = location["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"cpo_owner_id") && fields.contains(&"parking_restrictions"));
    let query = types.iter().find(|t| t["name"] == "QueryRoot").unwrap();
    let args: Vec<&str> = query["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "find_ev_filter_locations")
        .unwrap()["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"payment_types") && args.contains(&"parking_types"),
        "{args:?}"
    );
    // ... but the deeper limit is for introspection alone.
    let mixed = format!("{{ __typename {} }}", &nest(12)[1..nest(12).len() - 1]);
    let reply = gql(&app, &mixed, Auth::Bearer(&token)).await;
    assert!(reply["data"].is_null(), "{reply}");

    // Syntax errors and non-JSON bodies.
    let reply = gql(&app, "{ locations { id ", Auth::Bearer(&token)).await;
    assert!(reply["errors"][0]["message"].is_string(), "{reply}");
    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body("{ locations { id } }")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let response = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    app.finish().await;
}

/// graphql-js's `getIntrospectionQuery()`, as GraphiQL and code generators send it.
const INTROSPECTION: &str = r#"query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}"#;
