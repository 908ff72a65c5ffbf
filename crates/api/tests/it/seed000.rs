//! Seed 000's legacy face over HTTP, exactly as the seed's apps call it:
//! literal paths with their trailing slash, parameters in the query string
//! (`customer_id`, `host_id`, `authkey`, ...), the document's bodies and
//! integer ids. One host and one customer walk the apps' main paths; then
//! every call is tried with another account's authkey and with bad input.

use std::sync::Arc;

use chrono::DurationRound;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{api_key, png, Backend, Options, TestApp};
use crate::razorpay::{fake_razorpay, hmac_hex, KEY_SECRET};
use plugway_domain::ApiKeyRole;

crate::on_both_backends!(
    a_host_lists_a_charger_and_a_customer_finds_books_rates_and_pays,
    another_accounts_authkey_and_bad_input_change_nothing,
    profiles_photos_referrals_and_edits_as_the_apps_send_them,
    create_bill_pays_a_booked_charging_once,
);

/// The seed's chargers stand in Ulaanbaatar and its AddCharger carries no
/// country: the server's default region places them.
fn mongolian() -> Options {
    let mut options = Options::default();
    options.settings.default_region = Some("MN".parse().unwrap());
    options
}

/// Sends one legacy call: `query` is the document's query string.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = if query.is_empty() {
        app.url(path)
    } else {
        app.url(&format!("{path}?{query}"))
    };
    let mut request = app.http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    crate::harness::read(request.send().await.unwrap()).await
}

/// (method, path) of every call seed 000's document sends an account id
/// (`customer_id`, `host_id`) to, with its authkey (some of the document's
/// lines are cut before the `authkey`).
fn documented_calls_with_authkey() -> Vec<(Method, String)> {
    let mut calls = Vec::new();
    for call in crate::seed_endpoints::seed000_calls() {
        if !(call.query.contains("customer_id") || call.query.contains("host_id")) {
            continue;
        }
        let method = Method::from_bytes(call.method.as_bytes()).unwrap_or(Method::GET);
        if !calls.contains(&(method.clone(), call.path.clone())) {
            calls.push((method, call.path));
        }
    }
    calls
}

/// Only the status of a legacy call.
async fn status_of(
    app: &TestApp,
    method: Method,
    path: &str,
    query: &str,
    body: Option<Value>,
) -> StatusCode {
    call(app, method, path, query, body).await.0
}

/// Signs in through the app's own SendOtp/VerifyOtp; returns the account's
/// number and authkey.
async fn sign_in(app: &TestApp, side: &str, phone: &str) -> (i64, String) {
    let q = format!("phone={}", phone.replace('+', "%2B"));
    let (status, sent) = call(app, Method::POST, &format!("/{side}/SendOtp/"), &q, None).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let otp = app.last_code(phone);
    let (status, signed) = call(
        app,
        Method::POST,
        &format!("/{side}/VerifyOtp/"),
        &format!("{q}&otp={otp}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let id_field = if side == "host" {
        "host_id"
    } else {
        "customer_id"
    };
    let number = signed[id_field]
        .as_i64()
        .unwrap_or_else(|| panic!("{id_field} in {signed}"));
    app.clock.advance(chrono::Duration::seconds(31));
    (number, signed["authkey"].as_str().unwrap().to_owned())
}

fn multipart_photo(field: &str, extra: Option<(&str, &str)>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().part(
        field.to_owned(),
        reqwest::multipart::Part::bytes(png(64, 48))
            .file_name("photo.png")
            .mime_str("image/png")
            .unwrap(),
    );
    if let Some((name, value)) = extra {
        form = form.text(name.to_owned(), value.to_owned());
    }
    form
}

/// A host with one approved charger of one socket; returns (host number,
/// host authkey, charger number, socket number).
async fn listed_charger(app: &TestApp, phone: &str) -> (i64, String, i64, i64) {
    let (host, key) = sign_in(app, "host", phone).await;
    let auth = format!("host_id={host}&authkey={key}");
    let (status, charger) = call(
        app,
        Method::POST,
        "/host/AddCharger/",
        &auth,
        Some(json!({
            "charger_name": "chdeee",
            "charger_longitude": 106.917,
            "charger_latitude": 47.918,
            "charger_open": "14:02:00",
            "charger_address": "Peace Avenue 17, Ulaanbaatar",
            "charger_close": "10:07:00",
            "charger_brand_logo": "/media/Images/defaultCharger.png",
            "charger_host": host,
            "power_available": "180,60",
            "Other_details": ""
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{charger}");
    let charger_id = charger["charger_id"].as_i64().unwrap();
    assert_eq!(charger["id"], charger_id);
    assert_eq!(charger["charger_host"], host);
    let (status, socket) = call(
        app,
        Method::POST,
        "/host/AddSocketToCharget/",
        &auth,
        Some(json!({"hour_price": 57.0, "KWh_price": 74.0, "charger_capacity": 22, "Socket_availabile": 2,
            "charger_id": charger_id, "socket_type": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{socket}");
    let socket_id = socket["socket_id"].as_i64().unwrap();
    assert_eq!(
        socket["connectors"].as_array().unwrap().len(),
        2,
        "{socket}"
    );

    // An admin approves the listing through the canonical API.
    let admin = api_key(app, ApiKeyRole::Admin).await;
    let site = charger["uuid"].as_str().unwrap();
    let evse = socket["uuid"].as_str().unwrap();
    crate::harness::approve_listing(app, &admin, site, &[evse]).await;
    (host, key, charger_id, socket_id)
}

async fn a_host_lists_a_charger_and_a_customer_finds_books_rates_and_pays(
    backend: Backend,
    name: &str,
) {
    let (fake, razorpay) = fake_razorpay().await;
    let options = Options {
        razorpay: Some(Arc::new(razorpay)),
        access_ttl: Some(chrono::Duration::days(1)),
        ..mongolian()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let (host, host_key, charger_id, socket_id) = listed_charger(&app, "+97688001001").await;
    let host_auth = format!("host_id={host}&authkey={host_key}");

    // Photos and a nearby place, as the host app sends them.
    let response = app
        .http
        .post(app.url(&format!("/host/AddPhotosToCharget/?{host_auth}")))
        .multipart(multipart_photo(
            "charger_photo",
            Some(("Charger_id", &charger_id.to_string())),
        ))
        .send()
        .await
        .unwrap();
    let (status, photos) = crate::harness::read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{photos}");
    let (status, nearby) = call(
        &app,
        Method::POST,
        "/host/AddNearby/",
        &host_auth,
        Some(json!({"nearby_type": "shop", "nearby_name": "retail shop",
            "nearby_image": "/media/Images/defaultCharger.png", "address": "u7rtutgooh", "charger_id": charger_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{nearby}");
    let (status, detail) = call(
        &app,
        Method::GET,
        "/host/ChargerDetail/",
        &format!("{host_auth}&charger_id={charger_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["charger_id"], charger_id);
    assert_eq!(detail["evses"][0]["id"], socket_id, "{detail}");
    assert_eq!(
        detail["photos"].as_array().map(Vec::len),
        Some(1),
        "{detail}"
    );
    assert!(detail["photos"][0]["id"].is_i64(), "{detail}");
    assert!(
        detail["nearby"][0]["id"].is_i64() || detail["nearby_places"][0]["id"].is_i64(),
        "{detail}"
    );

    // The customer finds it by name, bookmarks it, adds a vehicle, books it.
    let (customer, key) = sign_in(&app, "customer", "+97688001002").await;
    let auth = format!("customer_id={customer}&authkey={key}");
    let (status, found) = call(
        &app,
        Method::GET,
        "/customer/SearchView/",
        "search=chdeee",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["results"][0]["id"], charger_id, "{found}");
    let (status, profile) =
        call(&app, Method::GET, "/customer/CustomerProfile/", &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["customer_id"], customer);

    let (status, bookmark) = call(
        &app,
        Method::POST,
        "/customer/EditBookmark/",
        &auth,
        Some(json!({"favourite_charger": charger_id, "favourite_customer": customer})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bookmark}");
    let favourite = bookmark["favourite_ID"]
        .as_i64()
        .unwrap_or_else(|| panic!("{bookmark}"));
    let (status, list) = call(&app, Method::GET, "/customer/Bookmarks/", &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["results"][0]["favourite_ID"], favourite, "{list}");
    assert_eq!(list["results"][0]["site_id"], charger_id, "{list}");
    let (status, one) = call(
        &app,
        Method::GET,
        "/customer/Bookmark/",
        &format!("favourite_ID={favourite}&{auth}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");

    let (status, vehicle) = call(
        &app,
        Method::POST,
        "/customer/Vehicle/",
        &auth,
        // The document's body exactly: no connectors, no battery.
        Some(json!({"vehicle_image": "/media/Images/customer/vehicle/c1_7.png", "vehicle_manufacture": "556",
            "vehicle_model": "yhfj", "vehicle_type": "ytyi", "is_favourite": false, "vehicle_customer": customer})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{vehicle}");
    assert_eq!(
        (
            vehicle["connector_standards"].as_array().map(Vec::len),
            &vehicle["battery_capacity_wh"]
        ),
        (
            Some(plugway_domain::ConnectorStandard::CODES.len()),
            &json!(100_000)
        ),
        "untold connectors fit all, untold battery is 100 kWh: {vehicle}"
    );
    let vehicle_id = vehicle["id"].as_i64().unwrap();
    let (status, vehicles) = call(&app, Method::GET, "/customer/VehicleList/", &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{vehicles}");
    assert_eq!(vehicles["results"][0]["id"], vehicle_id);

    // Tomorrow at 16:00 UTC, inside the charger's 14:02–10:07 opening.
    let start = (app.clock_now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(16, 0, 0)
        .unwrap()
        .and_utc();
    let (status, booked) = call(
        &app,
        Method::POST,
        "/customer/CreateAppointment/",
        &auth,
        Some(json!({"app_customer": customer, "app_charger": charger_id,
            "app_date_time": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "app_duration": 1.0,
            "app_amt": 356456.0, "app_status": "Upcoming", "app_socket": socket_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let app_id = booked["id"].as_i64().unwrap();
    assert_eq!(booked["app_socket"], socket_id);
    assert_eq!(booked["app_charger"], charger_id);
    assert_eq!(booked["app_duration"], 1.0);
    let (status, detail) = call(
        &app,
        Method::GET,
        "/customer/AppointmentDetail/",
        &format!("app_ID={app_id}&{auth}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["app_status"], "Upcoming");
    let (status, list) = call(&app, Method::GET, "/customer/AppointmentList/", &auth, None).await;
    assert_eq!(
        (status, list["count"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{list}"
    );

    // The host sees it.
    let (status, all) = call(
        &app,
        Method::GET,
        "/host/AllAppointments/",
        &host_auth,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["results"][0]["id"], app_id, "{all}");
    let (status, at) = call(
        &app,
        Method::GET,
        "/host/ChargerAppointments/",
        &format!("{host_auth}&charger_id={charger_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{at}");
    assert_eq!(at[0]["id"], app_id, "{at}");
    let (status, summary) = call(&app, Method::GET, "/host/BookingHost/", &host_auth, None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");

    // Rating, as the document sends it.
    let (status, rated) = call(
        &app,
        Method::POST,
        "/customer/Rating/",
        &format!("{auth}&charger_id={charger_id}"),
        Some(json!({"rating": 4, "rating_customer": customer, "rating_charger": charger_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rated}");
    assert_eq!(rated["charger_rating"], 4.0);
    // The document writes this body as form fields (`rating=4, ...`): an
    // app that posts a form is read the same way (and rating again replaces).
    let response = app
        .http
        .post(app.url(&format!("/customer/Rating/?{auth}&charger_id={charger_id}")))
        .form(&[
            ("rating", "5"),
            ("rating_customer", &customer.to_string()),
            ("rating_charger", &charger_id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let (status, rated) = crate::harness::read(response).await;
    assert_eq!(
        (status, &rated["charger_rating"]),
        (StatusCode::OK, &json!(5.0)),
        "{rated}"
    );

    // A Razorpay top-up: the order, the fake's capture, the signature check.
    let (status, order) = call(
        &app,
        Method::GET,
        "/customer/RazerpayOrder/",
        &format!("{auth}&amount=100"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let forged = hmac_hex("wrong", format!("{order_id}|pay_9").as_bytes());
    let q = |sig: &str| {
        format!("{auth}&razorpay_order_id={order_id}&razorpay_payment_id=pay_9&razorpay_signature={sig}")
    };
    let (status, refused) = call(
        &app,
        Method::GET,
        "/customer/SignatureVerification/",
        &q(&forged),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], "bad_signature");
    assert!(refused["detail"].is_string());
    fake.capture(&order_id, "pay_9");
    let signature = hmac_hex(KEY_SECRET, format!("{order_id}|pay_9").as_bytes());
    let (status, paid) = call(
        &app,
        Method::GET,
        "/customer/SignatureVerification/",
        &q(&signature),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paid}");

    // With the wallet topped up, a plan on sale is bought; a coupon checks.
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (status, plan) = app
        .post(
            "/api/v1/plans",
            json!({"name": "Monthly", "amount": 50}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    let (_, on_sale) = call(
        &app,
        Method::GET,
        "/customer/SubscriptionTypeList/",
        "",
        None,
    )
    .await;
    assert_eq!(on_sale["results"][0]["id"], plan["id"], "{on_sale}");
    let (status, bought) = call(
        &app,
        Method::PUT,
        "/customer/Subscribe/",
        &format!("{auth}&type={}", plan["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bought}");
    assert_eq!(bought["data"]["plan_id"], plan["id"], "{bought}");
    let (status, coupon) = app
        .post(
            "/api/v1/admin/coupons",
            json!({"code": "WELCOME", "type": "Amount", "coupon_amount": 5}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{coupon}");
    let (status, valid) = call(
        &app,
        Method::PUT,
        "/customer/CheckCoupon/",
        &format!("{auth}&coupon_code=welcome"),
        None,
    )
    .await;
    assert_eq!(
        (status, &valid["status"]),
        (StatusCode::OK, &json!(true)),
        "{valid}"
    );
    let (_, invalid) = call(
        &app,
        Method::PUT,
        "/customer/CheckCoupon/",
        &format!("{auth}&coupon_code=NOPE"),
        None,
    )
    .await;
    assert_eq!(invalid["status"], false, "{invalid}");

    // Content lists answer without a key.
    for path in [
        "/customer/Coupons/",
        "/customer/Banners/",
        "/customer/AppInfo/",
        "/customer/AminitiesList/",
        "/customer/SubscriptionTypeList/",
        "/host/Sockets/",
        "/host/CreditType/",
    ] {
        let (status, body) = call(&app, Method::GET, path, "", None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, earning) = call(&app, Method::GET, "/host/MyEarning/", &host_auth, None).await;
    assert_eq!(status, StatusCode::OK, "{earning}");
    let (status, notes) = call(&app, Method::GET, "/customer/Notification/", &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{notes}");

    // The bookmark goes; the host signs out with the document's logout.
    assert_eq!(
        status_of(
            &app,
            Method::DELETE,
            "/customer/EditBookmark/",
            &format!("favourite_ID={favourite}&{auth}"),
            None
        )
        .await,
        StatusCode::OK
    );
    let (status, gone) = call(
        &app,
        Method::GET,
        "/customer/Bookmark/",
        &format!("favourite_ID={favourite}&{auth}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    let (status, out) = call(
        &app,
        Method::PUT,
        "/host/DeletePhotosToCharget/",
        &host_auth,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, ended) = call(&app, Method::GET, "/host/HostProfile/", &host_auth, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{ended}");
    app.finish().await;
}

async fn another_accounts_authkey_and_bad_input_change_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, mongolian()).await else {
        return;
    };
    let (host, host_key, charger_id, socket_id) = listed_charger(&app, "+97688001011").await;
    let (alice, alice_key) = sign_in(&app, "customer", "+97688001012").await;
    let (bob, bob_key) = sign_in(&app, "customer", "+97688001013").await;

    // Another account's authkey with this account's id: 403 on every call
    // the document sends an account to (read from the document itself), the
    // customer app's with Bob's key for Alice, the host app's with another
    // host's key for this host; the calls' own parameters are there too, so
    // nothing but the key is wrong.
    let (_, other_host_key, _, _) = listed_charger(&app, "+97688001014").await;
    let others = format!(
        "charger_id={charger_id}&charget_id={charger_id}&Charger_id={charger_id}&socket_id={socket_id}\
         &app_ID=1&app_id=1&vehicle_id=1&favourite_ID=1&photo_id=1&Nearby_id=1&referalID=X&coupon_code=X&type=1&amount=100"
    );
    let documented = documented_calls_with_authkey();
    assert!(
        documented.len() >= 50,
        "the document was read: {documented:?}"
    );
    for (method, path) in documented {
        let query = if path.starts_with("/host/") {
            format!("host_id={host}&authkey={other_host_key}&{others}")
        } else {
            format!("customer_id={alice}&authkey={bob_key}&{others}")
        };
        let (status, body) = call(&app, method.clone(), &path, &query, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
    // No authkey: 401. A customer's authkey in the host app: 403.
    assert_eq!(
        status_of(
            &app,
            Method::GET,
            "/customer/CustomerProfile/",
            &format!("customer_id={alice}"),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(
            &app,
            Method::GET,
            "/host/HostProfile/",
            &format!("host_id={alice}&authkey={alice_key}"),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // A customer cannot edit the host's charger even with its own valid key
    // and the host's number.
    assert_eq!(
        status_of(
            &app,
            Method::PUT,
            "/host/EditCharger/",
            &format!("host_id={host}&authkey={alice_key}&charget_id={charger_id}"),
            Some(json!({"charger_name": "mine"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );

    // A customer's own key does not open the host app's shared calls.
    for (method, path) in [
        (Method::PUT, "/host/CheckReferal/"),
        (Method::DELETE, "/host/HostPhoto/"),
    ] {
        let (status, body) = call(
            &app,
            method,
            path,
            &format!("customer_id={alice}&authkey={alice_key}&referalID=X"),
            None,
        )
        .await;
        assert!(status.is_client_error(), "{path}: {status} {body}");
    }
    // Alice's booking stays hers: Bob's own key with its number finds nothing,
    // and another host's key cannot edit this host's socket.
    let start = (app.clock_now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(16, 0, 0)
        .unwrap()
        .and_utc();
    let (status, booked) = call(
        &app,
        Method::POST,
        "/customer/CreateAppointment/",
        &format!("customer_id={alice}&authkey={alice_key}"),
        Some(json!({"app_socket": socket_id, "app_date_time": start.to_rfc3339(), "app_duration": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let app_id = booked["id"].as_i64().unwrap();
    for (method, path, body) in [
        (Method::GET, "/customer/AppointmentDetail/", None),
        (
            Method::PUT,
            "/customer/AppointmentStatus/",
            Some(json!({"app_status": "cancelled"})),
        ),
        (Method::POST, "/customer/CreateBill/", Some(json!({}))),
    ] {
        let q = format!("app_ID={app_id}&app_id={app_id}&customer_id={bob}&authkey={bob_key}");
        let (status, reply) = call(&app, method, path, &q, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {reply}");
    }
    let (_, still) = call(
        &app,
        Method::GET,
        "/customer/AppointmentDetail/",
        &format!("app_ID={app_id}&customer_id={alice}&authkey={alice_key}"),
        None,
    )
    .await;
    assert_eq!(still["app_status"], "Upcoming", "{still}");
    let other_host = sign_in(&app, "host", "+97688001014").await.0;
    let (status, reply) = call(
        &app,
        Method::PUT,
        "/host/EditSocketToCharget/",
        &format!("host_id={other_host}&authkey={other_host_key}&socket_id={socket_id}"),
        Some(json!({"charger_capacity": 1})),
    )
    .await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {reply}"
    );

    // Alice's bookmark and vehicle stay hers: Bob gets 404 with his own id.
    let alice_auth = format!("customer_id={alice}&authkey={alice_key}");
    let bob_auth = format!("customer_id={bob}&authkey={bob_key}");
    let (_, bookmark) = call(
        &app,
        Method::POST,
        "/customer/EditBookmark/",
        &alice_auth,
        Some(json!({"favourite_charger": charger_id})),
    )
    .await;
    let favourite = bookmark["favourite_ID"].as_i64().unwrap();
    assert_eq!(
        status_of(
            &app,
            Method::GET,
            "/customer/Bookmark/",
            &format!("favourite_ID={favourite}&{bob_auth}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(
            &app,
            Method::DELETE,
            "/customer/EditBookmark/",
            &format!("favourite_ID={favourite}&{bob_auth}"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    let (status, vehicle) = call(&app, Method::POST, "/customer/Vehicle/", &alice_auth,
        Some(json!({"vehicle_manufacture": "Kia", "vehicle_model": "EV6", "vehicle_type": "car", "connector_standards": ["CCS2"], "battery_capacity_wh": 77000}))).await;
    assert_eq!(status, StatusCode::CREATED, "{vehicle}");
    let vehicle_id = vehicle["id"].as_i64().unwrap();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (status, body) = call(
            &app,
            method.clone(),
            "/customer/Vehicle/",
            &format!("vehicle_id={vehicle_id}&{bob_auth}"),
            Some(json!({"vehicle_model": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {body}");
    }
    let (status, still) = call(
        &app,
        Method::GET,
        "/customer/Vehicle/",
        &format!("vehicle_id={vehicle_id}&{alice_auth}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &still["vehicle_model"]),
        (StatusCode::OK, &json!("EV6")),
        "{still}"
    );

    // Bad input: a clear 400/404/422 in the face's shape, never a 5xx.
    let host_auth = format!("host_id={host}&authkey={host_key}");
    let bad: Vec<(Method, &str, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/customer/CreateAppointment/",
            alice_auth.clone(),
            Some(json!({"app_socket": socket_id, "app_date_time": "soon", "app_duration": 1})),
        ),
        (
            Method::POST,
            "/customer/CreateAppointment/",
            alice_auth.clone(),
            Some(
                json!({"app_socket": socket_id, "app_date_time": "2030-01-01T10:00:00Z", "app_duration": "x"}),
            ),
        ),
        (
            Method::POST,
            "/customer/CreateAppointment/",
            alice_auth.clone(),
            Some(
                json!({"app_socket": 999_999, "app_date_time": "2030-01-01T10:00:00Z", "app_duration": 1}),
            ),
        ),
        (
            Method::GET,
            "/customer/AppointmentDetail/",
            format!("app_ID=abc&{alice_auth}"),
            None,
        ),
        (
            Method::GET,
            "/customer/Bookmark/",
            format!("favourite_ID=-1&{alice_auth}"),
            None,
        ),
        (
            Method::POST,
            "/customer/Rating/",
            format!("{alice_auth}&charger_id={charger_id}"),
            Some(json!({"rating": 9})),
        ),
        (
            Method::POST,
            "/customer/EditBookmark/",
            alice_auth.clone(),
            Some(json!({"favourite_charger": "one"})),
        ),
        (
            Method::POST,
            "/host/AddCharger/",
            host_auth.clone(),
            Some(json!({"charger_address": "x", "charger_latitude": 1, "charger_longitude": 1})),
        ),
        (
            Method::POST,
            "/host/AddCharger/",
            host_auth.clone(),
            Some(
                json!({"charger_name": "n", "charger_address": "x", "charger_latitude": 91, "charger_longitude": 1}),
            ),
        ),
        (
            Method::POST,
            "/host/AddCharger/",
            host_auth.clone(),
            Some(
                json!({"charger_name": "n", "charger_address": "x", "charger_latitude": 1, "charger_longitude": 1, "charger_open": "25:00", "charger_close": "10:00"}),
            ),
        ),
        (
            Method::POST,
            "/host/AddSocketToCharget/",
            host_auth.clone(),
            Some(json!({"charger_id": charger_id, "socket_type": 999, "charger_capacity": 22})),
        ),
        (
            Method::POST,
            "/host/AddSocketToCharget/",
            host_auth.clone(),
            Some(json!({"charger_id": charger_id, "socket_type": 2, "charger_capacity": -5})),
        ),
        (
            Method::PUT,
            "/host/EditSocketToCharget/",
            format!("{host_auth}&socket_id=nope"),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/host/ChargerDetail/",
            format!("{host_auth}&charger_id=424242"),
            None,
        ),
        (
            Method::POST,
            "/customer/VerifyOtp/",
            "phone=%2B97688001012&otp=000000".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/customer/SendOtp/",
            "phone=hello".to_owned(),
            None,
        ),
    ];
    let before = call(
        &app,
        Method::GET,
        "/host/ChargerDetail/",
        &format!("{host_auth}&charger_id={charger_id}"),
        None,
    )
    .await
    .1;
    for (method, path, query, body) in bad {
        let (status, reply) = call(&app, method.clone(), path, &query, body.clone()).await;
        assert!(
            status.is_client_error(),
            "{method} {path}?{query} {body:?}: {status} {reply}"
        );
        assert!(reply["detail"].is_string(), "{path}: {reply}");
    }
    // Garbage bodies too.
    let response = app
        .http
        .post(app.url(&format!("/host/AddCharger/?{host_auth}")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let after = call(
        &app,
        Method::GET,
        "/host/ChargerDetail/",
        &format!("{host_auth}&charger_id={charger_id}"),
        None,
    )
    .await
    .1;
    assert_eq!(before["evses"], after["evses"], "bad input changed nothing");
    let (_, sites) = call(&app, Method::GET, "/host/BookingHost/", &host_auth, None).await;
    assert!(
        !sites.to_string().contains("\"n\""),
        "no half-made charger: {sites}"
    );

    // The powers the document gave apps and Plugway does not.
    for (method, path, query) in [
        (
            Method::PUT,
            "/customer/UpdateCustomerCredit/",
            alice_auth.clone(),
        ),
        (Method::PUT, "/host/UpdateHostCredit/", host_auth.clone()),
        (Method::POST, "/customer/Notification/", String::new()),
        (Method::POST, "/host/Notification/", String::new()),
    ] {
        let (status, body) = call(
            &app,
            method,
            path,
            &query,
            Some(json!({"customer_credit": 466, "N_customer": 1, "N_Title": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    app.finish().await;
}

/// A PNG of noise that does not compress: a real photo's size.
fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let n = x
            .wrapping_mul(2_654_435_761)
            .wrapping_add(y.wrapping_mul(40_503))
            .rotate_left(13);
        image::Rgb([n as u8, (n >> 8) as u8, (n >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Sends a multipart photo under `field` to a legacy call.
async fn send_photo(
    app: &TestApp,
    method: Method,
    path: &str,
    query: &str,
    field: &str,
) -> (StatusCode, Value) {
    let request = app
        .http
        .request(method, app.url(&format!("{path}?{query}")))
        .multipart(multipart_photo(field, None));
    crate::harness::read(request.send().await.unwrap()).await
}

async fn profiles_photos_referrals_and_edits_as_the_apps_send_them(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, mongolian()).await else {
        return;
    };
    let (host, host_key, charger_id, socket_id) = listed_charger(&app, "+97688001021").await;
    let host_auth = format!("host_id={host}&authkey={host_key}");
    let (customer, key) = sign_in(&app, "customer", "+97688001022").await;
    let auth = format!("customer_id={customer}&authkey={key}");

    // Profiles: edits show on the next read; photos come and go.
    let (status, edited) = call(
        &app,
        Method::PUT,
        "/customer/CustomerProfile/",
        &auth,
        Some(json!({"name": "Bat", "email": "bat@example.mn"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (_, profile) = call(&app, Method::GET, "/customer/CustomerProfile/", &auth, None).await;
    assert_eq!(profile["name"], "Bat", "{profile}");
    for (path, query, field) in [
        ("/customer/CustomerPhoto/", &auth, "customer_image"),
        ("/host/HostPhoto/", &host_auth, "host_image"),
    ] {
        let (status, photo) = send_photo(&app, Method::PUT, path, query, field).await;
        assert_eq!(
            (status, &photo["has_photo"]),
            (StatusCode::OK, &json!(true)),
            "{path}: {photo}"
        );
        let (status, gone) = call(&app, Method::DELETE, path, query, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {gone}");
    }
    // A phone's photo is larger than the server's 64 KiB body limit for
    // JSON; the photo calls take the upload limit, as the canonical ones do.
    let big = noisy_png(240, 180);
    assert!(big.len() > 64 * 1024, "{} bytes", big.len());
    let form = reqwest::multipart::Form::new().part(
        "customer_image",
        reqwest::multipart::Part::bytes(big)
            .file_name("me.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = app
        .http
        .put(app.url(&format!("/customer/CustomerPhoto/?{auth}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, photo) = crate::harness::read(response).await;
    assert_eq!(
        (status, &photo["has_photo"]),
        (StatusCode::OK, &json!(true)),
        "{photo}"
    );
    let (status, host_profile) = call(
        &app,
        Method::PUT,
        "/host/EditHostProfile/",
        &host_auth,
        Some(json!({"owner_name": "Tenger LLC", "contact_name": "Tuya", "contact_number": "+97688001021",
            "contact_email": "tuya@example.mn"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{host_profile}");
    let (_, shown) = call(&app, Method::GET, "/host/HostProfile/", &host_auth, None).await;
    assert_eq!(shown["profile"]["owner_name"], "Tenger LLC", "{shown}");

    // Referrals: the host's code applies to the customer once; a made-up
    // code is the document's "Invalid referral id".
    let code = shown["referral_code"]
        .as_str()
        .unwrap_or_else(|| panic!("{shown}"))
        .to_owned();
    let (status, applied) = call(
        &app,
        Method::PUT,
        "/customer/ReferalCheck/",
        &format!("referalID={code}&{auth}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &applied["status"]),
        (StatusCode::OK, &json!(true)),
        "{applied}"
    );
    let (status, invalid) = call(
        &app,
        Method::PUT,
        "/host/CheckReferal/",
        &format!("referalID=NOPE0000&{host_auth}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &invalid["status"]),
        (StatusCode::OK, &json!(false)),
        "{invalid}"
    );

    // Vehicles: edit, photo on and off, delete.
    let (_, vehicle) = call(
        &app,
        Method::POST,
        "/customer/Vehicle/",
        &auth,
        Some(
            json!({"vehicle_manufacture": "Hyundai", "vehicle_model": "Kona", "vehicle_type": "car",
            "connector_standards": ["TYPE_2"], "battery_capacity_wh": 64000}),
        ),
    )
    .await;
    let vehicle_id = vehicle["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{vehicle}"));
    let v = format!("vehicle_id={vehicle_id}&{auth}");
    let (status, renamed) = call(
        &app,
        Method::PUT,
        "/customer/Vehicle/",
        &v,
        Some(json!({"vehicle_model": "Kona N"})),
    )
    .await;
    assert_eq!(
        (status, &renamed["vehicle_model"]),
        (StatusCode::OK, &json!("Kona N")),
        "{renamed}"
    );
    let (status, photo) = send_photo(
        &app,
        Method::PUT,
        "/customer/VehiclePhoto/",
        &v,
        "vehicle_image",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    assert_eq!(
        status_of(&app, Method::DELETE, "/customer/VehiclePhoto/", &v, None).await,
        StatusCode::OK
    );
    let (status, _) = call(&app, Method::DELETE, "/customer/Vehicle/", &v, None).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        status_of(&app, Method::GET, "/customer/Vehicle/", &v, None).await,
        StatusCode::NOT_FOUND
    );

    // A booking the customer cancels; CreateBill has no charging to bill.
    let start = (app.clock_now() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(16, 0, 0)
        .unwrap()
        .and_utc();
    let (status, booked) = call(&app, Method::POST, "/customer/CreateAppointment/", &auth,
        Some(json!({"app_socket": socket_id, "app_date_time": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "app_duration": 1}))).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let app_id = booked["id"].as_i64().unwrap();
    let (status, unbilled) = call(
        &app,
        Method::POST,
        "/customer/CreateBill/",
        &format!("{auth}&app_id={app_id}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, &unbilled["code"]),
        (StatusCode::CONFLICT, &json!("nothing_to_bill")),
        "{unbilled}"
    );
    let (status, cancelled) = call(
        &app,
        Method::PUT,
        "/customer/AppointmentStatus/",
        &format!("app_ID={app_id}&{auth}"),
        Some(json!({"app_status": "cancelled"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (_, detail) = call(
        &app,
        Method::GET,
        "/customer/AppointmentDetail/",
        &format!("app_ID={app_id}&{auth}"),
        None,
    )
    .await;
    assert_ne!(detail["app_status"], "Upcoming", "{detail}");

    // The host edits the charger, its socket, its nearby place and its logo,
    // and deletes a photo; the detail shows each change.
    let (status, renamed) = call(
        &app,
        Method::PUT,
        "/host/EditCharger/",
        &format!("{host_auth}&charget_id={charger_id}"),
        Some(json!({"charger_name": "Peace Avenue hub"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (status, socket) = call(
        &app,
        Method::PUT,
        "/host/EditSocketToCharget/",
        &format!("{host_auth}&socket_id={socket_id}"),
        Some(json!({"charger_capacity": 11, "socket_type": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{socket}");
    let (_, nearby) = call(&app, Method::POST, "/host/AddNearby/", &host_auth,
        Some(json!({"nearby_type": "cafe", "nearby_name": "Tea house", "address": "next door", "charger_id": charger_id}))).await;
    let nearby_id = nearby["id"].as_i64().unwrap_or_else(|| panic!("{nearby}"));
    let (status, moved) = call(&app, Method::PUT, "/host/AddNearby/", &format!("{host_auth}&Nearby_id={nearby_id}"),
        Some(json!({"nearby_type": "cafe", "nearby_name": "Tea house 2", "address": "next door", "charger_id": charger_id}))).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let c = format!("{host_auth}&charger_id={charger_id}");
    let (status, logo) = send_photo(
        &app,
        Method::PUT,
        "/host/ChargerPhoto/",
        &c,
        "charger_brand_logo",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{logo}");
    let response = app
        .http
        .post(app.url(&format!("/host/AddPhotosToCharget/?{host_auth}")))
        .multipart(multipart_photo(
            "charger_photo",
            Some(("Charger_id", &charger_id.to_string())),
        ))
        .send()
        .await
        .unwrap();
    let (_, photos) = crate::harness::read(response).await;
    let photo_id = photos[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{photos}"));
    assert_eq!(
        status_of(
            &app,
            Method::PUT,
            "/host/DeletePhotosToCharget/",
            &format!("{host_auth}&photo_id={photo_id}"),
            None
        )
        .await,
        StatusCode::OK
    );
    let (_, detail) = call(&app, Method::GET, "/host/ChargerDetail/", &c, None).await;
    // The charger is approved, so its new name waits for an admin; the
    // socket's prices apply at once and the edit kept what it did not name.
    assert_eq!(
        detail["pending_changes"]["name"], "Peace Avenue hub",
        "{detail}"
    );
    let evse = &detail["evses"][0];
    assert_eq!(evse["prices"]["per_kwh"], 74.0, "{evse}");
    assert_eq!(
        evse["pending_changes"]["connectors"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{evse}"
    );
    assert_eq!(
        evse["pending_changes"]["connectors"][0]["max_power_kw"], 11.0,
        "{evse}"
    );
    assert!(evse["pending_changes"].get("evse_code").is_none(), "{evse}");
    assert_eq!(
        detail["photos"].as_array().map(Vec::len),
        Some(0),
        "{detail}"
    );
    assert!(detail.to_string().contains("Tea house 2"), "{detail}");
    assert_eq!(
        status_of(&app, Method::DELETE, "/host/ChargerPhoto/", &c, None).await,
        StatusCode::OK
    );

    // Earnings per charger and the host's notifications answer.
    let (status, earning) = call(&app, Method::GET, "/host/TotalChargerEarning/", &c, None).await;
    assert_eq!(status, StatusCode::OK, "{earning}");
    let (status, notes) = call(&app, Method::GET, "/host/Notification/", &host_auth, None).await;
    assert_eq!(status, StatusCode::OK, "{notes}");
    app.finish().await;
}

/// CreateBill, for real: the customer books a socket of a charger that
/// speaks OCPP, charges in the slot (started from the same account in the
/// seed 001 app, since seed 000's apps have no start call), and pays the
/// appointment's charging with a coupon from the wallet, once.
async fn create_bill_pays_a_booked_charging_once(backend: Backend, name: &str) {
    let mut options = crate::charging_sessions::options();
    options.settings.default_region = Some("MN".parse().unwrap());
    options.access_ttl = Some(chrono::Duration::days(1));
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (_, _, evses, running) =
        crate::charging_sessions::charger_site(&app, &admin, "CP-LEGACY-1").await;
    let socket = app
        .store
        .public_number(plugway_store::NumberKind::Evse, &evses[0])
        .await
        .unwrap()
        .unwrap();
    let (customer, key) = sign_in(&app, "customer", "+97688001031").await;
    let auth = format!("customer_id={customer}&authkey={key}");
    let bearer = app.otp_sign_in("+97688001031").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, profile) = call(&app, Method::GET, "/customer/CustomerProfile/", &auth, None).await;
    let uuid = profile["uuid"].as_str().unwrap().to_owned();

    let start = (app.clock_now() + chrono::Duration::minutes(30))
        .duration_trunc(chrono::Duration::minutes(5))
        .unwrap();
    let (status, booked) = call(
        &app,
        Method::POST,
        "/customer/CreateAppointment/",
        &auth,
        Some(json!({"app_socket": socket, "app_date_time": start.to_rfc3339(), "app_duration": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let app_id = booked["id"].as_i64().unwrap();
    let bill = format!("{auth}&app_id={app_id}");
    let (status, early) = call(
        &app,
        Method::POST,
        "/customer/CreateBill/",
        &bill,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, &early["code"]),
        (StatusCode::CONFLICT, &json!("nothing_to_bill")),
        "{early}"
    );

    app.clock.advance(start - app.clock_now());
    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&bearer),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    // The simulated charger meters in real time: wait for energy to flow.
    let id = session["id"].as_str().unwrap();
    assert!(
        crate::charging_sessions::metered(&app, &bearer, id, 0.0).await,
        "the charger never metered"
    );
    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&bearer),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");

    // Money to pay with, and a coupon the app lists.
    let (status, wallet) = app
        .post(
            &format!("/api/v1/admin/wallets/{uuid}/credit"),
            json!({"amount": 100000, "reason": "test"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    let (status, coupon) = app
        .post(
            "/api/v1/admin/coupons",
            json!({"code": "VOLT10", "type": "Percentage", "percentage_off": 10, "max_amount": 100}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{coupon}");
    let (_, coupons) = call(&app, Method::GET, "/customer/Coupons/", "", None).await;
    let coupon = coupons["results"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{coupons}"));
    // An unlisted coupon is not usable by its number (numbers are easy to
    // guess; its code is what its holder was given).
    let (status, hidden) = app
        .post(
            "/api/v1/admin/coupons",
            json!({"code": "STAFF90", "type": "Percentage", "percentage_off": 90, "max_amount": 100000, "listed": false}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hidden}");
    let hidden = app
        .store
        .public_number(
            plugway_store::NumberKind::Coupon,
            hidden["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let (status, refused) = call(
        &app,
        Method::POST,
        "/customer/CreateBill/",
        &bill,
        Some(json!({"coupon": hidden})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");

    let (status, paid) = call(
        &app,
        Method::POST,
        "/customer/CreateBill/",
        &bill,
        Some(json!({"coupon": coupon, "bill_app": app_id, "bill_amount": 1.0})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["bill_app"], app_id);
    // Paid from the wallet, less the coupon's 10 %, through the ledger.
    let (amount, discount, due) = (
        paid["bill"]["bill_amount"].as_f64().unwrap(),
        paid["bill"]["discount"].as_f64().unwrap(),
        paid["bill"]["due"].as_f64().unwrap(),
    );
    assert!(
        amount > 0.0 && discount > 0.0 && (due - (amount - discount)).abs() < 0.005,
        "{paid}"
    );
    assert_eq!(paid["bill"]["status"], "paid", "{paid}");
    let (_, after) = app.get("/api/v1/wallet", Some(&bearer)).await;
    let balance = after["balance"].clone();
    assert_eq!(balance.as_f64(), Some(100000.0 - due), "{after} {paid}");
    // The app sends it again (a retry, a double tap): nothing more is taken.
    let (status, again) = call(
        &app,
        Method::POST,
        "/customer/CreateBill/",
        &bill,
        Some(json!({"coupon": coupon})),
    )
    .await;
    assert!(status.is_client_error(), "{status} {again}");
    let (_, still) = app.get("/api/v1/wallet", Some(&bearer)).await;
    assert_eq!(still["balance"], balance, "{still}");
    running.abort();
    app.finish().await;
}
