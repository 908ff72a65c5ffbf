//! Seed 000's calls, one handler each, and the table that routes and
//! documents them.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{on, MethodFilter};
use axum::Router;
use plugway_app::accounts::LegacyApp;
use plugway_domain::ConnectorStandard;
use plugway_store::NumberKind::{
    self, Account, Banner, Bill, Booking, Bookmark, Coupon, Evse, Nearby, Notification, Photo,
    Purchase, Site, Vehicle,
};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{Deprecated, OpenApi};

use super::{
    at, body_object, bookmark_owner, field_id, field_number, field_text, put, reply, Caller, Face,
    Field, LegacyError, LegacyResult, Params,
};
use crate::extract::UserAgent;
use crate::AppState;

/// Every id field a canonical reply may carry, and what it may name.
const IDS: &[Field] = &[
    (
        "id",
        &[
            Site,
            Evse,
            Photo,
            Nearby,
            Booking,
            Vehicle,
            Bill,
            Purchase,
            Notification,
            Coupon,
            Banner,
            Account,
        ],
    ),
    ("site_id", &[Site]),
    ("host_id", &[Account]),
    ("user_id", &[Account]),
    ("evse_id", &[Evse]),
    ("app_socket", &[Evse]),
    ("app_charger", &[Site]),
    ("vehicle_id", &[Vehicle]),
    ("purchase_id", &[Purchase]),
    ("booking_id", &[Booking]),
    ("socket_id", &[Evse]),
];

/// One documented call: method, path, handler and a line for the docs.
struct Call {
    method: Method,
    path: &'static str,
    summary: &'static str,
    handler: Handler,
}

/// What a call's handler is given: the face, the query string, the body
/// and the client's user agent.
struct Req {
    /// The call's path (`/customer/...` or `/host/...`): which app calls.
    path: &'static str,
    face: Face,
    params: Params,
    payload: Payload,
    agent: UserAgent,
}

/// A request's body with its content type.
struct Payload {
    headers: HeaderMap,
    bytes: Bytes,
}

impl Payload {
    /// The body as a JSON (or form) object; an empty body is an empty object.
    fn json(&self) -> LegacyResult<Map<String, Value>> {
        body_object(
            self.headers.get(axum::http::header::CONTENT_TYPE),
            &self.bytes,
        )
    }

    /// The body as `multipart/form-data`: its content type and bytes.
    fn multipart(self) -> LegacyResult<(String, Vec<u8>)> {
        let content_type = self
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.starts_with("multipart/form-data"))
            .ok_or_else(|| LegacyError::bad("body", "Send the image as multipart/form-data."))?;
        Ok((content_type.to_owned(), self.bytes.to_vec()))
    }
}

type Handler = fn(Req) -> futures::future::BoxFuture<'static, LegacyResult>;

macro_rules! call {
    ($method:ident $path:literal, $summary:literal, $handler:path) => {
        Call {
            method: Method::$method,
            path: $path,
            summary: $summary,
            handler: |req| Box::pin(async move { $handler(req).await }),
        }
    };
}

fn calls() -> Vec<Call> {
    vec![
        call!(POST "/customer/SendOtp/", "Sends an OTP to `phone`", send_otp),
        call!(POST "/customer/VerifyOtp/", "Signs a customer in with `phone` and `otp`: `customer_id` and `authkey`", verify_customer),
        call!(PUT "/customer/ReferalCheck/", "Applies the referral code `referalID`", referral),
        call!(GET "/customer/CustomerProfile/", "The customer's profile", customer_profile),
        call!(PUT "/customer/CustomerProfile/", "Edits the customer's name and email", edit_customer_profile),
        call!(PUT "/customer/CustomerPhoto/", "Replaces the profile photo (multipart `customer_image`)", set_profile_photo),
        call!(DELETE "/customer/CustomerPhoto/", "Removes the profile photo", remove_profile_photo),
        call!(GET "/customer/Bookmarks/", "The customer's bookmarked chargers", bookmarks),
        call!(GET "/customer/Bookmark/", "One bookmark (`favourite_ID`)", bookmark),
        call!(POST "/customer/EditBookmark/", "Bookmarks `favourite_charger`", add_bookmark),
        call!(DELETE "/customer/EditBookmark/", "Removes bookmark `favourite_ID`", remove_bookmark),
        call!(GET "/customer/AppointmentList/", "The customer's appointments", appointments),
        call!(GET "/customer/AppointmentDetail/", "One appointment (`app_ID`)", appointment),
        call!(POST "/customer/CreateAppointment/", "Books `app_socket` at `app_date_time` for `app_duration` hours", create_appointment),
        call!(PUT "/customer/AppointmentStatus/", "Sets appointment `app_ID`'s `app_status` (as the canonical rules allow)", appointment_status),
        call!(GET "/customer/VehicleList/", "The customer's vehicles", vehicles),
        call!(GET "/customer/Vehicle/", "One vehicle (`vehicle_id`)", vehicle),
        call!(POST "/customer/Vehicle/", "Adds a vehicle", create_vehicle),
        call!(PUT "/customer/Vehicle/", "Edits vehicle `vehicle_id`", edit_vehicle),
        call!(DELETE "/customer/Vehicle/", "Deletes vehicle `vehicle_id`", delete_vehicle),
        call!(PUT "/customer/VehiclePhoto/", "Replaces vehicle `vehicle_id`'s photo (multipart `vehicle_image`)", set_vehicle_photo),
        call!(DELETE "/customer/VehiclePhoto/", "Removes vehicle `vehicle_id`'s photo", remove_vehicle_photo),
        call!(GET "/customer/Coupons/", "Coupons on offer", coupons),
        call!(PUT "/customer/CheckCoupon/", "Checks `coupon_code` for the customer", check_coupon),
        call!(GET "/customer/Banners/", "Ads", banners),
        call!(GET "/customer/AppInfo/", "Privacy policy, terms, help, contact and credit value", app_info),
        call!(GET "/customer/AminitiesList/", "Amenities for the search filter", amenities),
        call!(GET "/customer/Notification/", "The customer's notifications", customer_notifications),
        call!(POST "/customer/Notification/", "Sending notifications is for admins (403 here)", post_notification),
        call!(POST "/customer/Rating/", "Rates charger `charger_id`", rate),
        call!(GET "/customer/SubscriptionTypeList/", "Plans on sale", plans),
        call!(PUT "/customer/Subscribe/", "Buys plan `type` at its price, from now (`start`/`end` are not the app's to choose)", subscribe),
        call!(PUT "/customer/UpdateCustomerCredit/", "Setting one's own credit is for admins (403 here)", update_credit),
        call!(GET "/customer/SearchView/", "Chargers drivers can see, matching `search`", search),
        call!(GET "/customer/RazerpayOrder/", "A Razorpay order of `amount` to top up the wallet", razorpay_order),
        call!(GET "/customer/SignatureVerification/", "Verifies a Razorpay payment's signature and credits the wallet once", razorpay_verify),
        call!(POST "/customer/CreateBill/", "Pays appointment `app_id`'s charging (coupon, credits, wallet)", create_bill),
        call!(POST "/host/SendOtp/", "Sends an OTP to `phone`", send_otp),
        call!(POST "/host/VerifyOtp/", "Signs a host in with `phone` and `otp`: `host_id` and `authkey`", verify_host),
        call!(PUT "/host/CheckReferal/", "Applies the referral code `referalID`", referral),
        call!(GET "/host/HostProfile/", "The host's profile", host_profile),
        call!(PUT "/host/EditHostProfile/", "Edits the host's profile", edit_host_profile),
        call!(PUT "/host/HostPhoto/", "Replaces the host's profile photo (multipart `host_image`)", set_profile_photo),
        call!(DELETE "/host/HostPhoto/", "Removes the host's profile photo", remove_profile_photo),
        call!(GET "/host/BookingHost/", "The host's chargers with their upcoming appointment counts", booking_host),
        call!(GET "/host/ChargerAppointments/", "Upcoming appointments at charger `charger_id`", charger_appointments),
        call!(GET "/host/AllAppointments/", "All the host's appointments", all_appointments),
        call!(GET "/host/MyEarning/", "The host's earnings and credits", my_earning),
        call!(GET "/host/TotalChargerEarning/", "Earnings of charger `charger_id`", charger_earning),
        call!(POST "/host/AddCharger/", "Adds a charger (a site, waiting for approval)", add_charger),
        call!(PUT "/host/EditCharger/", "Edits charger `charget_id`", edit_charger),
        call!(POST "/host/AddSocketToCharget/", "Adds a socket (an EVSE) to charger `charger_id`", add_socket),
        call!(PUT "/host/EditSocketToCharget/", "Edits socket `socket_id`", edit_socket),
        call!(POST "/host/AddPhotosToCharget/", "Adds photos (multipart `charger_photo`) to charger `Charger_id`", add_photos),
        call!(PUT "/host/DeletePhotosToCharget/", "Deletes photo `photo_id`; without it, signs out (as the document's logout)", delete_photo_or_logout),
        call!(POST "/host/AddNearby/", "Adds a nearby place to charger `charger_id`", add_nearby),
        call!(PUT "/host/AddNearby/", "Edits nearby place `Nearby_id`", edit_nearby),
        call!(PUT "/host/ChargerPhoto/", "Replaces charger `charger_id`'s brand logo (multipart `charger_brand_logo`)", set_charger_logo),
        call!(DELETE "/host/ChargerPhoto/", "Removes charger `charger_id`'s brand logo", remove_charger_logo),
        call!(GET "/host/ChargerDetail/", "Charger `charger_id` with its sockets, photos and nearby places", charger_detail),
        call!(GET "/host/Notification/", "The host's notifications", host_notifications),
        call!(POST "/host/Notification/", "Sending notifications is for admins (403 here)", post_notification),
        call!(GET "/host/Sockets/", "Socket types", sockets),
        call!(GET "/host/CreditType/", "Credit types", credit_types),
        call!(PUT "/host/UpdateHostCredit/", "Setting one's own credit is for admins (403 here)", update_credit),
    ]
}

fn filter(method: &Method) -> MethodFilter {
    match *method {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

/// The calls whose body is a photo: they take bodies up to the upload
/// limit, like the canonical uploads they forward to.
const UPLOADS: &[&str] = &[
    "/customer/CustomerPhoto/",
    "/customer/VehiclePhoto/",
    "/host/HostPhoto/",
    "/host/AddPhotosToCharget/",
    "/host/ChargerPhoto/",
];

/// The face's routes; `max_upload` bounds the photo calls' bodies (the
/// others keep the server's body limit).
pub fn router(max_upload: usize) -> Router<AppState> {
    let mut router = Router::new();
    for call in calls() {
        let handler = call.handler;
        let path = call.path;
        let mut on_call = on(
            filter(&call.method),
            move |face: Face, params: Params, agent: UserAgent, headers: HeaderMap, body: Bytes| async move {
                let payload = Payload {
                    headers,
                    bytes: body,
                };
                match handler(Req {
                    path,
                    face,
                    params,
                    payload,
                    agent,
                })
                .await
                {
                    Ok(response) => response,
                    Err(e) => axum::response::IntoResponse::into_response(e),
                }
            },
        );
        if UPLOADS.contains(&path) && matches!(call.method, Method::PUT | Method::POST) {
            on_call = on_call.layer(axum::extract::DefaultBodyLimit::max(max_upload));
        }
        router = router.route(path, on_call);
    }
    router
}

/// Adds the face's calls to the OpenAPI document, each deprecated.
pub fn document(doc: &mut OpenApi) {
    for call in calls() {
        let method = match call.method {
            Method::POST => HttpMethod::Post,
            Method::PUT => HttpMethod::Put,
            Method::DELETE => HttpMethod::Delete,
            _ => HttpMethod::Get,
        };
        let operation = OperationBuilder::new()
            .tag("legacy (seed 000)")
            .summary(Some(call.summary))
            .description(Some(
                "Seed 000's call, kept for its apps: query parameters and fields as the seed names \
                 them, `authkey` from VerifyOtp, integer ids. Deprecated: new clients use the \
                 canonical API. See docs/legacy-seed-000.md.",
            ))
            .deprecated(Some(Deprecated::True))
            .build();
        doc.paths
            .add_path_operation(call.path, vec![method], operation);
    }
}

fn ok(value: Value) -> LegacyResult {
    Ok(reply(StatusCode::OK, value))
}

fn created(value: Value) -> LegacyResult {
    Ok(reply(StatusCode::CREATED, value))
}

/// A page of the caller's own `uri` list (named by `id_param`'s account),
/// with the seed's numbers.
async fn own_list(face: &Face, params: &Params, id_param: &str, uri: &str) -> LegacyResult {
    let caller = face.caller(params, id_param).await?;
    let list = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("{uri}?{}", page_query(params)),
            None,
        )
        .await?;
    ok(renumbered(face, list).await?)
}

/// The page parameters the canonical lists take, passed through.
fn page_query(params: &Params) -> String {
    let mut parts = Vec::new();
    for name in ["page", "page_size"] {
        if let Some(v) = params.0.get(name) {
            parts.push(format!("{name}={}", urlencode(v)));
        }
    }
    parts.join("&")
}

fn urlencode(text: &str) -> String {
    // `x=<encoded>`, less its `x=`.
    serde_urlencoded::to_string([("x", text)])
        .map(|pair| pair.trim_start_matches("x=").to_owned())
        .unwrap_or_default()
}

/// The body's own-account field, if given, must name the caller.
fn same_account(body: &Map<String, Value>, field: &str, caller: &Caller) -> LegacyResult<()> {
    match field_number(body, field)? {
        Some(n) if (n - caller.number as f64).abs() > f64::EPSILON => Err(LegacyError::forbidden(
            "You do not have permission to perform this action.",
        )),
        _ => Ok(()),
    }
}

async fn renumbered(face: &Face, mut value: Value) -> LegacyResult<Value> {
    face.renumber(&mut value, IDS).await?;
    Ok(value)
}

// --- Signing in -----------------------------------------------------------

async fn send_otp(Req { face, params, .. }: Req) -> LegacyResult {
    let phone = params.text("phone")?;
    face.call(
        None,
        Method::POST,
        "/api/v1/user/otp-request",
        Some(json!({"phone": phone})),
    )
    .await?;
    ok(json!({"status": true, "message": "OTP sent", "phone": phone}))
}

async fn verify(face: Face, params: Params, agent: UserAgent, app: LegacyApp) -> LegacyResult {
    let phone = plugway_app::accounts::parse_phone(&face.state, params.text("phone")?)?;
    let otp = params.text("otp")?;
    let ip = face.peer_ip();
    let (user, authkey) =
        plugway_app::accounts::sign_in_for_authkey(&face.state, &phone, otp, ip, agent.0, app)
            .await?;
    let number = face.number_of(Account, &user.id.to_text()).await?;
    let id_field = match app {
        LegacyApp::Customer => "customer_id",
        LegacyApp::Host => "host_id",
    };
    let mut out = json!({
        "status": true,
        "message": "Login successful",
        "authkey": authkey,
        "phone": phone.as_str(),
        "name": user.name,
        "uuid": user.id.to_text(),
    });
    put(&mut out, id_field, json!(number));
    ok(out)
}

async fn verify_customer(
    Req {
        face,
        params,
        agent,
        ..
    }: Req,
) -> LegacyResult {
    verify(face, params, agent, LegacyApp::Customer).await
}

async fn verify_host(
    Req {
        face,
        params,
        agent,
        ..
    }: Req,
) -> LegacyResult {
    verify(face, params, agent, LegacyApp::Host).await
}

/// The account id parameter of the call's app.
fn id_param(path_is_host: bool) -> &'static str {
    if path_is_host {
        "host_id"
    } else {
        "customer_id"
    }
}

/// The caller of a call both apps make: the host app's (`host_id`) on
/// `/host/...`, the customer app's (`customer_id`) on `/customer/...`.
async fn either(face: &Face, params: &Params, path: &str) -> LegacyResult<Caller> {
    face.caller(params, id_param(path.starts_with("/host/")))
        .await
}

async fn referral(
    Req {
        path, face, params, ..
    }: Req,
) -> LegacyResult {
    let caller = either(&face, &params, path).await?;
    let code = params.text("referalID")?;
    match face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/user/referral",
            Some(json!({"referral_code": code})),
        )
        .await
    {
        Ok(view) => ok(json!({"status": true, "message": "Valid referral id", "referral": view})),
        Err(e)
            if e.status == StatusCode::NOT_FOUND
                || e.status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            ok(json!({"status": false, "message": "Invalid referral id"}))
        }
        Err(e) => Err(e),
    }
}

// --- Profiles -------------------------------------------------------------

async fn profile_of(face: &Face, caller: &Caller) -> LegacyResult<Value> {
    let mut view =
        serde_json::to_value(crate::routes::user::profile_view(&face.state, &caller.user).await?)
            .unwrap_or(Value::Null);
    if let Value::Object(map) = &mut view {
        map.insert("customer_id".into(), json!(caller.number));
        map.insert("uuid".into(), json!(caller.user.id.to_text()));
    }
    Ok(view)
}

async fn customer_profile(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    ok(profile_of(&face, &caller).await?)
}

async fn edit_customer_profile(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = payload.json()?;
    let name = field_text(&body, "name")
        .or_else(|| field_text(&body, "customer_name"))
        .or_else(|| caller.user.name.clone())
        .ok_or_else(|| LegacyError::bad("name", "This field is required."))?;
    let email = field_text(&body, "email")
        .or_else(|| field_text(&body, "customer_email"))
        .or_else(|| caller.user.email.as_ref().map(|e| e.as_str().to_owned()));
    face.call(
        Some(&caller),
        Method::POST,
        "/api/v1/customer/update-info",
        Some(json!({"name": name, "email": email})),
    )
    .await?;
    let (user, _) =
        plugway_app::accounts::authkey_holder(&face.state, params.text("authkey")?).await?;
    ok(profile_of(&face, &Caller { user, ..caller }).await?)
}

/// Both apps' profile photo is the account's own (`customer_id` or
/// `host_id` names it).
async fn set_profile_photo(
    Req {
        path,
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = either(&face, &params, path).await?;
    let view = face
        .call_raw(
            Some(&caller),
            Method::PUT,
            "/api/v1/user/me/photo",
            Some(payload.multipart()?),
        )
        .await?;
    ok(view)
}

async fn remove_profile_photo(
    Req {
        path, face, params, ..
    }: Req,
) -> LegacyResult {
    let caller = either(&face, &params, path).await?;
    ok(face
        .call(Some(&caller), Method::DELETE, "/api/v1/user/me/photo", None)
        .await?)
}

async fn host_profile(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let profile = match face
        .call(Some(&caller), Method::GET, "/api/v1/host/profile", None)
        .await
    {
        Ok(view) => view,
        // A host who has not filled the profile in yet.
        Err(e) if e.status == StatusCode::NOT_FOUND => Value::Null,
        Err(e) => return Err(e),
    };
    ok(json!({
        "host_id": caller.number,
        "uuid": caller.user.id.to_text(),
        "name": caller.user.name,
        "email": caller.user.email.as_deref(),
        "referral_code": caller.user.referral_code.as_str(),
        "profile": profile,
    }))
}

async fn edit_host_profile(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let body = payload.json()?;
    let view = face
        .call(
            Some(&caller),
            Method::PUT,
            "/api/v1/host/profile",
            Some(Value::Object(body)),
        )
        .await?;
    ok(view)
}

// --- Bookmarks ------------------------------------------------------------

/// Adds `favourite_ID` (the bookmark's number) to each bookmark object
/// (those with a `site_id`), before the ids are renumbered.
async fn with_bookmark_numbers(
    face: &Face,
    caller: &Caller,
    value: &mut Value,
) -> LegacyResult<()> {
    let items: Vec<&mut Map<String, Value>> = match value {
        Value::Object(map) if map.contains_key("results") => match map.get_mut("results") {
            Some(Value::Array(items)) => {
                items.iter_mut().filter_map(Value::as_object_mut).collect()
            }
            _ => Vec::new(),
        },
        Value::Object(map) => vec![map],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    };
    let user = caller.user.id.to_text();
    let refs: Vec<String> = items
        .iter()
        .filter_map(|m| m.get("site_id").and_then(Value::as_str))
        .map(|site| NumberKind::bookmark_ref(&user, site))
        .collect();
    let numbers = face.state.store.public_numbers(Bookmark, &refs).await?;
    for item in items {
        let Some(site) = item.get("site_id").and_then(Value::as_str) else {
            continue;
        };
        if let Some(n) = numbers.get(&NumberKind::bookmark_ref(&user, site)) {
            item.insert("favourite_ID".into(), json!(n));
            item.insert("favourite_customer".into(), json!(caller.number));
        }
    }
    Ok(())
}

async fn bookmarks(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let mut list = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/bookmarks?{}", page_query(&params)),
            None,
        )
        .await?;
    with_bookmark_numbers(&face, &caller, &mut list).await?;
    ok(renumbered(&face, list).await?)
}

/// The site of one of the caller's bookmarks; 404 for another's.
async fn bookmarked_site(face: &Face, caller: &Caller, number: i64) -> LegacyResult<String> {
    let reference = face.uuid_of(Bookmark, number).await?;
    match bookmark_owner(&reference) {
        Some((user, site)) if user == caller.user.id => Ok(site.to_owned()),
        _ => Err(LegacyError::not_found()),
    }
}

async fn bookmark(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let site = bookmarked_site(&face, &caller, params.number("favourite_ID")?).await?;
    let mut view = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/bookmarks/{site}"),
            None,
        )
        .await?;
    with_bookmark_numbers(&face, &caller, &mut view).await?;
    ok(renumbered(&face, view).await?)
}

async fn add_bookmark(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = payload.json()?;
    same_account(&body, "favourite_customer", &caller)?;
    let site = face
        .uuid_of(Site, field_id(&body, "favourite_charger")?)
        .await?;
    let mut view = face
        .call(
            Some(&caller),
            Method::PUT,
            &format!("/api/v1/bookmarks/{site}"),
            None,
        )
        .await?;
    if view.get("site_id").is_none() {
        view = json!({"site_id": site, "bookmark": view});
    }
    with_bookmark_numbers(&face, &caller, &mut view).await?;
    created(renumbered(&face, view).await?)
}

async fn remove_bookmark(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let site = bookmarked_site(&face, &caller, params.number("favourite_ID")?).await?;
    face.call(
        Some(&caller),
        Method::DELETE,
        &format!("/api/v1/bookmarks/{site}"),
        None,
    )
    .await?;
    ok(json!({"status": true, "message": "Bookmark removed"}))
}

// --- Appointments ---------------------------------------------------------

async fn appointments(Req { face, params, .. }: Req) -> LegacyResult {
    own_list(&face, &params, "customer_id", "/api/v1/bookings").await
}

async fn appointment(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let id = face.uuid_of(Booking, params.number("app_ID")?).await?;
    let view = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/bookings/{id}"),
            None,
        )
        .await?;
    ok(renumbered(&face, view).await?)
}

async fn create_appointment(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = payload.json()?;
    same_account(&body, "app_customer", &caller)?;
    let evse = face.uuid_of(Evse, field_id(&body, "app_socket")?).await?;
    let starts_at = field_text(&body, "app_date_time")
        .ok_or_else(|| LegacyError::bad("app_date_time", "This field is required."))?;
    let hours = field_number(&body, "app_duration")?
        .filter(|h| *h > 0.0 && *h <= 24.0)
        .ok_or_else(|| {
            LegacyError::bad(
                "app_duration",
                "Give the length in hours (more than 0, at most 24).",
            )
        })?;
    // The app's hours, in the canonical minutes (checked there: 5-minute steps).
    let minutes = (hours * 60.0).round() as i64;
    let mut request = json!({"evse_id": evse, "starts_at": starts_at, "duration_minutes": minutes});
    if !at(&Value::Object(body.clone()), "app_vehicle").is_null() {
        let vehicle = field_id(&body, "app_vehicle")?;
        put(
            &mut request,
            "vehicle_id",
            json!(face.uuid_of(Vehicle, vehicle).await?),
        );
    }
    let view = face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/bookings",
            Some(request),
        )
        .await?;
    created(renumbered(&face, view).await?)
}

async fn appointment_status(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let id = face.uuid_of(Booking, params.number("app_ID")?).await?;
    let body = payload.json()?;
    let status = field_text(&body, "app_status")
        .or_else(|| params.0.get("app_status").cloned())
        .ok_or_else(|| LegacyError::bad("app_status", "This field is required."))?;
    let view = face
        .call(
            Some(&caller),
            Method::PUT,
            &format!("/api/v1/bookings/{id}/status"),
            Some(json!({"status": status})),
        )
        .await?;
    ok(renumbered(&face, view).await?)
}

// --- Vehicles -------------------------------------------------------------

async fn vehicles(Req { face, params, .. }: Req) -> LegacyResult {
    own_list(&face, &params, "customer_id", "/api/v1/vehicles").await
}

async fn vehicle_uri(face: &Face, params: &Params, tail: &str) -> LegacyResult<String> {
    let id = face.uuid_of(Vehicle, params.number("vehicle_id")?).await?;
    Ok(format!("/api/v1/vehicles/{id}{tail}"))
}

async fn vehicle(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let uri = vehicle_uri(&face, &params, "").await?;
    let view = face.call(Some(&caller), Method::GET, &uri, None).await?;
    ok(renumbered(&face, view).await?)
}

/// The document's vehicle body in the canonical names (which already take
/// `vehicle_manufacture` and `vehicle_model`); `vehicle_customer` must be
/// the caller and `vehicle_image` is a photo path the app cannot set here.
fn vehicle_body(body: Map<String, Value>, caller: &Caller) -> LegacyResult<Value> {
    same_account(&body, "vehicle_customer", caller)?;
    let mut body = body;
    body.remove("vehicle_customer");
    body.remove("vehicle_image");
    Ok(Value::Object(body))
}

/// Seed 000's app adds a vehicle by make, model and type only; Plugway's
/// vehicles also say which connectors they take and their battery. A
/// vehicle added without them is taken to fit every connector standard
/// (nothing says it does not, so no charger is hidden from it) with a
/// battery of [`UNTOLD_BATTERY_WH`] for booking estimates, until the driver
/// says otherwise (docs/legacy-seed-000.md).
fn with_unknowns_filled(mut body: Value) -> Value {
    if at(&body, "connector_standards").is_null() {
        put(
            &mut body,
            "connector_standards",
            json!(ConnectorStandard::CODES),
        );
    }
    if at(&body, "battery_capacity_wh").is_null() {
        put(&mut body, "battery_capacity_wh", json!(UNTOLD_BATTERY_WH));
    }
    body
}

/// The battery a seed 000 vehicle is given when its app does not tell it.
const UNTOLD_BATTERY_WH: i64 = 100_000;

async fn create_vehicle(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = vehicle_body(payload.json()?, &caller)?;
    let body = with_unknowns_filled(body);
    let view = face
        .call(Some(&caller), Method::POST, "/api/v1/vehicles", Some(body))
        .await?;
    created(renumbered(&face, view).await?)
}

async fn edit_vehicle(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let uri = vehicle_uri(&face, &params, "").await?;
    let body = vehicle_body(payload.json()?, &caller)?;
    let view = face
        .call(Some(&caller), Method::PUT, &uri, Some(body))
        .await?;
    ok(renumbered(&face, view).await?)
}

async fn delete_vehicle(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let uri = vehicle_uri(&face, &params, "").await?;
    face.call(Some(&caller), Method::DELETE, &uri, None).await?;
    ok(json!({"status": true, "message": "Vehicle deleted"}))
}

async fn set_vehicle_photo(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let uri = vehicle_uri(&face, &params, "/photo").await?;
    let view = face
        .call_raw(Some(&caller), Method::PUT, &uri, Some(payload.multipart()?))
        .await?;
    ok(renumbered(&face, view).await?)
}

async fn remove_vehicle_photo(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let uri = vehicle_uri(&face, &params, "/photo").await?;
    let view = face.call(Some(&caller), Method::DELETE, &uri, None).await?;
    ok(renumbered(&face, view).await?)
}

// --- Content and reference lists --------------------------------------------

async fn public_list(face: &Face, uri: &str) -> LegacyResult {
    let list = face.call(None, Method::GET, uri, None).await?;
    ok(renumbered(face, list).await?)
}

async fn coupons(Req { face, params, .. }: Req) -> LegacyResult {
    // The coupons on offer are the canonical list a signed-in driver sees;
    // the document sends no authkey, so a signed-in caller's is used when given.
    if params.0.contains_key("authkey") {
        let caller = face.caller(&params, "customer_id").await?;
        let list = face
            .call(Some(&caller), Method::GET, "/api/v1/coupons", None)
            .await?;
        return ok(renumbered(&face, list).await?);
    }
    public_list(&face, "/api/v1/coupons").await
}

async fn banners(Req { face, .. }: Req) -> LegacyResult {
    public_list(&face, "/api/v1/banners").await
}

async fn app_info(Req { face, .. }: Req) -> LegacyResult {
    public_list(&face, "/api/v1/app-info").await
}

async fn amenities(Req { face, .. }: Req) -> LegacyResult {
    public_list(&face, "/api/v1/amenities").await
}

async fn plans(Req { face, params, .. }: Req) -> LegacyResult {
    // The plans on sale are a price list the app shows before anyone signs
    // in, and the document sends no authkey; the canonical list (seed 002's
    // contract) asks for a sign-in, so this reads the plans itself.
    let page = |name: &str| params.0.get(name).map(|_| params.number(name)).transpose();
    let (page, size, offset) = crate::routes::PageQuery {
        page: page("page")?,
        page_size: page("page_size")?,
    }
    .resolve()?;
    let count = face.state.store.count_plans().await?;
    let rows = face.state.store.list_plans(offset, size).await?;
    let list = crate::routes::Paginated::new(
        rows.iter().map(crate::routes::plans::plan_view).collect(),
        count,
        page,
        size,
    );
    ok(serde_json::to_value(list).map_err(|e| {
        LegacyError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?)
}

async fn credit_types(Req { face, .. }: Req) -> LegacyResult {
    public_list(&face, "/api/v1/credit-types").await
}

async fn sockets(_: Req) -> LegacyResult {
    // The socket types are the connector standards, numbered as the
    // reference lists number them (`socket_type` in AddSocketToCharget).
    let list: Vec<Value> = ConnectorStandard::ALL
        .iter()
        .map(
            |s| json!({"id": s.list_id(), "socket_type": s.code(), "description": s.description()}),
        )
        .collect();
    ok(Value::Array(list))
}

async fn check_coupon(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let code = params.text("coupon_code")?;
    ok(face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/coupons/check",
            Some(json!({"coupon_code": code})),
        )
        .await?)
}

async fn customer_notifications(Req { face, params, .. }: Req) -> LegacyResult {
    own_list(&face, &params, "customer_id", "/api/v1/notifications").await
}

async fn host_notifications(Req { face, params, .. }: Req) -> LegacyResult {
    own_list(&face, &params, "host_id", "/api/v1/notifications").await
}

async fn post_notification(_: Req) -> LegacyResult {
    Err(LegacyError::forbidden(
        "Notifications are sent by admins (POST /api/v1/admin/notifications); an app cannot post them.",
    ))
}

async fn update_credit(_: Req) -> LegacyResult {
    Err(LegacyError::forbidden(
        "Credits move only through the ledger: they are earned and spent, and an admin sets a balance \
         (PUT /api/v1/admin/users/{id}/credits).",
    ))
}

async fn rate(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = payload.json()?;
    same_account(&body, "rating_customer", &caller)?;
    let charger = match params.0.get("charger_id") {
        Some(_) => params.number("charger_id")?,
        None => field_id(&body, "rating_charger")?,
    };
    let site = face.uuid_of(Site, charger).await?;
    let rating = field_number(&body, "rating")?
        .ok_or_else(|| LegacyError::bad("rating", "This field is required."))?;
    // The apps send 4 or "4"; the canonical rating is a whole number of stars.
    if rating.fract() != 0.0 {
        return Err(LegacyError::bad("rating", "A valid integer is required."));
    }
    let rating = rating as i64;
    let view = face
        .call(
            Some(&caller),
            Method::PUT,
            &format!("/api/v1/sites/{site}/rating"),
            Some(json!({"rating": rating})),
        )
        .await?;
    ok(
        json!({"status": true, "charger_id": charger, "charger_rating": at(&view, "rating"), "rating_count": at(&view, "rating_count")}),
    )
}

async fn subscribe(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let plan = params.number("type")?;
    let view = face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/purchase-plan",
            Some(json!({"plan": plan})),
        )
        .await?;
    ok(view)
}

async fn search(Req { face, params, .. }: Req) -> LegacyResult {
    let mut query = page_query(&params);
    if let Some(text) = params.0.get("search").filter(|t| !t.trim().is_empty()) {
        query.push_str(&format!("&q={}", urlencode(text)));
    }
    let list = face
        .call(None, Method::GET, &format!("/api/v1/sites?{query}"), None)
        .await?;
    ok(renumbered(&face, list).await?)
}

// --- Payments -------------------------------------------------------------

async fn razorpay_order(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let amount: f64 = params
        .text("amount")?
        .trim()
        .parse()
        .map_err(|_| LegacyError::bad("amount", "A valid number is required."))?;
    ok(face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/payments/razorpay/orders",
            Some(json!({"amount": amount})),
        )
        .await?)
}

async fn razorpay_verify(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = json!({
        "razorpay_order_id": params.text("razorpay_order_id")?,
        "razorpay_payment_id": params.text("razorpay_payment_id")?,
        "razorpay_signature": params.text("razorpay_signature")?,
    });
    ok(face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/payments/razorpay/verify",
            Some(body),
        )
        .await?)
}

async fn create_bill(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "customer_id").await?;
    let body = payload.json()?;
    let app = match params.0.get("app_id") {
        Some(_) => params.number("app_id")?,
        None => field_id(&body, "bill_app")?,
    };
    let booking = face.uuid_of(Booking, app).await?;
    let view = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/bookings/{booking}"),
            None,
        )
        .await?;
    let session = at(&view, "session_id").as_str().ok_or_else(|| {
        LegacyError::new(
            StatusCode::CONFLICT,
            "nothing_to_bill",
            "This appointment has no charging session to bill yet.",
        )
    })?;
    let charging = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/sessions/{session}"),
            None,
        )
        .await?;
    // The session view is seed 001's, in camelCase.
    let purchase = at(&charging, "purchaseId")
        .as_str()
        .ok_or_else(|| {
            LegacyError::new(
                StatusCode::CONFLICT,
                "nothing_to_bill",
                "The charging session has not finished.",
            )
        })?
        .to_owned();
    let mut request = json!({"purchase_id": purchase});
    if !at(&Value::Object(body.clone()), "coupon").is_null() {
        // By number, only a coupon the app lists (Coupons/): an unlisted
        // one is used by its code alone, which its holder was given.
        let id = face.uuid_of(Coupon, field_id(&body, "coupon")?).await?;
        let coupon = face
            .state
            .store
            .find_coupon(&id)
            .await?
            .filter(|c| c.listed)
            .ok_or_else(LegacyError::not_found)?;
        put(&mut request, "coupon_code", json!(coupon.code.as_str()));
    }
    let bill = face
        .call(Some(&caller), Method::POST, "/api/v1/bills", Some(request))
        .await?;
    // Seed 000 paid bills from the wallet it topped up through Razorpay
    // (RazerpayOrder/SignatureVerification); its razerpay_* fields are not
    // a payment of their own and are not trusted.
    let pay = json!({"option": "EVM", "bill_id": at(&bill, "id")});
    let paid = face
        .call(
            Some(&caller),
            Method::POST,
            &format!("/api/v1/purchases/{purchase}/pay"),
            Some(pay),
        )
        .await?;
    // The bill as the payment left it (paid, with its method and time).
    let bill = face
        .call(
            Some(&caller),
            Method::GET,
            &format!(
                "/api/v1/bills/{}",
                at(&bill, "id").as_str().unwrap_or_default()
            ),
            None,
        )
        .await?;
    created(
        renumbered(
            &face,
            json!({"bill": bill, "payment": paid, "bill_app": app}),
        )
        .await?,
    )
}

// --- Hosts' chargers ------------------------------------------------------

async fn site_uri(face: &Face, number: i64, tail: &str) -> LegacyResult<String> {
    let id = face.uuid_of(Site, number).await?;
    Ok(format!("/api/v1/host/sites/{id}{tail}"))
}

/// `HH:MM[:SS]` → `HH:MM`.
fn clock(field: &str, text: &str) -> LegacyResult<String> {
    let t = text.trim();
    let hm = t.get(..5).unwrap_or(t);
    let ok = hm.len() == 5
        && hm.as_bytes().get(2) == Some(&b':')
        && hm
            .get(..2)
            .and_then(|h| h.parse::<u8>().ok())
            .is_some_and(|h| h < 24)
        && hm
            .get(3..)
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| m < 60);
    if ok {
        Ok(hm.to_owned())
    } else {
        Err(LegacyError::bad(
            field,
            "Time has wrong format. Use hh:mm[:ss].",
        ))
    }
}

/// The document's charger body as the canonical site input, over `base`
/// (the site as it is, for an edit). City and province come from the
/// address's last part when the app gives none; the country and currency
/// from the server's defaults.
fn site_input(face: &Face, body: &Map<String, Value>, base: Option<&Value>) -> LegacyResult<Value> {
    let from_base = |name: &str| base.and_then(|b| b.get(name)).cloned();
    let text = |name: &str, base_name: &str| -> Option<Value> {
        field_text(body, name)
            .map(Value::String)
            .or_else(|| from_base(base_name))
    };
    let name = text("charger_name", "name")
        .ok_or_else(|| LegacyError::bad("charger_name", "This field is required."))?;
    let address = text("charger_address", "address")
        .ok_or_else(|| LegacyError::bad("charger_address", "This field is required."))?;
    let locality = address
        .as_str()
        .and_then(|a| a.rsplit(',').next())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("-")
        .to_owned();
    let latitude = match field_number(body, "charger_latitude")? {
        Some(v) => json!(v),
        None => from_base("latitude")
            .ok_or_else(|| LegacyError::bad("charger_latitude", "This field is required."))?,
    };
    let longitude = match field_number(body, "charger_longitude")? {
        Some(v) => json!(v),
        None => from_base("longitude")
            .ok_or_else(|| LegacyError::bad("charger_longitude", "This field is required."))?,
    };
    let opening_hours = match (
        field_text(body, "charger_open"),
        field_text(body, "charger_close"),
    ) {
        (Some(open), Some(close)) => {
            let (open, close) = (
                clock("charger_open", &open)?,
                clock("charger_close", &close)?,
            );
            if open == close {
                json!({"twentyfourseven": true})
            } else {
                let days: Vec<Value> = (1..=7)
                    .map(|d| json!({"weekday": d, "period_begin": open, "period_end": close}))
                    .collect();
                json!({"twentyfourseven": false, "regular_hours": days})
            }
        }
        (None, None) => {
            from_base("opening_hours").unwrap_or_else(|| json!({"twentyfourseven": true}))
        }
        _ => {
            return Err(LegacyError::bad(
                "charger_close",
                "Give charger_open and charger_close together.",
            ))
        }
    };
    let settings = &face.state.settings;
    let country = match from_base("country_code") {
        Some(code) => code,
        None => json!(settings
            .default_region
            .map(|r| r.to_string())
            .ok_or_else(|| {
                LegacyError::bad(
                "charger_address",
                "The server has no default region (PLUGWAY_DEFAULT_REGION) to place the charger in."
            )
            })?),
    };
    Ok(json!({
        "name": name,
        "address": address,
        "city": from_base("city").unwrap_or_else(|| json!(locality)),
        "province": from_base("province").unwrap_or_else(|| json!(locality)),
        "country_code": country,
        "latitude": latitude,
        "longitude": longitude,
        "time_zone": from_base("time_zone"),
        "opening_hours": opening_hours,
        "facilities": from_base("facilities").unwrap_or_else(|| json!([])),
        "parking_types": from_base("parking_types").unwrap_or_else(|| json!([])),
        "parking_restrictions": from_base("parking_restrictions").unwrap_or_else(|| json!([])),
        "currency": from_base("currency").unwrap_or_else(|| json!(settings.wallet_currency.code())),
    }))
}

async fn add_charger(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let body = payload.json()?;
    same_account(&body, "charger_host", &caller)?;
    let input = site_input(&face, &body, None)?;
    let view = face
        .call(
            Some(&caller),
            Method::POST,
            "/api/v1/host/sites",
            Some(input),
        )
        .await?;
    created(charger_reply(&face, view).await?)
}

/// A site view as the document's charger: the canonical fields, renumbered,
/// with `charger_id` and the document's names beside them.
async fn charger_reply(face: &Face, view: Value) -> LegacyResult<Value> {
    let mut view = renumbered(face, view).await?;
    if let Value::Object(map) = &mut view {
        let copy = |from: &str| map.get(from).cloned().unwrap_or(Value::Null);
        let extra = [
            ("charger_id", copy("id")),
            ("charger_name", copy("name")),
            ("charger_address", copy("address")),
            ("charger_latitude", copy("latitude")),
            ("charger_longitude", copy("longitude")),
            ("charger_host", copy("host_id")),
            ("charger_rating", copy("rating")),
        ];
        for (k, v) in extra {
            map.insert(k.to_owned(), v);
        }
    }
    Ok(view)
}

async fn edit_charger(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let uri = site_uri(&face, params.number("charget_id")?, "").await?;
    let current = face.call(Some(&caller), Method::GET, &uri, None).await?;
    let body = payload.json()?;
    same_account(&body, "charger_host", &caller)?;
    let base = current.get("site").unwrap_or(&current).clone();
    let input = site_input(&face, &body, Some(&base))?;
    let view = face
        .call(Some(&caller), Method::PUT, &uri, Some(input))
        .await?;
    ok(charger_reply(&face, view).await?)
}

async fn charger_detail(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let uri = site_uri(&face, params.number("charger_id")?, "").await?;
    let view = face.call(Some(&caller), Method::GET, &uri, None).await?;
    ok(charger_reply(&face, view).await?)
}

/// The document's socket body as the canonical EVSE input: one EVSE of
/// `Socket_availabile` plugs (1 to 8) of `socket_type` (an id of
/// `/host/Sockets/`), each of `charger_capacity` kW, priced per kWh and per
/// hour.
/// The canonical EVSE input of a socket body. `current` is the EVSE as it
/// stands (for EditSocketToCharget): fields the body leaves out keep their
/// value, as Django's partial update does, instead of falling to defaults.
fn evse_input(
    body: &Map<String, Value>,
    code: &str,
    current: Option<&Value>,
) -> LegacyResult<Value> {
    let now = current.unwrap_or(&Value::Null);
    let first = at(now, "connectors").get(0).unwrap_or(&Value::Null);
    let type_id = match body.get("socket_type") {
        Some(_) => field_id(body, "socket_type")?,
        None => at(first, "standard")
            .as_str()
            .and_then(|code| ConnectorStandard::ALL.iter().find(|s| s.code() == code))
            .map(|s| i64::from(s.list_id()))
            .ok_or_else(|| LegacyError::bad("socket_type", "This field is required."))?,
    };
    let standard = ConnectorStandard::ALL
        .iter()
        .find(|s| i64::from(s.list_id()) == type_id)
        .ok_or_else(|| {
            LegacyError::bad(
                "socket_type",
                "Invalid pk - object does not exist. See /host/Sockets/.",
            )
        })?;
    let kw = field_number(body, "charger_capacity")?
        .or_else(|| at(first, "max_power_kw").as_f64())
        .ok_or_else(|| LegacyError::bad("charger_capacity", "This field is required."))?;
    if !(kw.is_finite() && kw > 0.0 && kw <= 1000.0) {
        return Err(LegacyError::bad(
            "charger_capacity",
            "Give the power in kW, above 0 and at most 1000.",
        ));
    }
    let plugs = field_number(body, "Socket_availabile")?
        .or_else(|| at(now, "connectors").as_array().map(|c| c.len() as f64))
        .unwrap_or(1.0);
    if plugs.fract() != 0.0 || !(1.0..=8.0).contains(&plugs) {
        return Err(LegacyError::bad(
            "Socket_availabile",
            "Give 1 to 8 sockets.",
        ));
    }
    let dc = matches!(standard.code(), c if c.starts_with("CCS") || c.contains("CHADEMO") || c.ends_with("_DC"));
    let (power_type, volts) = if dc {
        ("DC", 400.0)
    } else {
        ("AC_1_PHASE", 230.0)
    };
    let amps = ((kw * 1000.0) / volts).ceil().clamp(1.0, 1000.0);
    let connector = json!({
        "standard": standard.code(),
        "format": if dc { "CABLE" } else { "SOCKET" },
        "power_type": power_type,
        "max_voltage": volts as i64,
        "max_amperage": amps as i64,
        "max_power_kw": kw,
    });
    let prices = at(now, "prices");
    let price = |field: &str, canonical: &str| -> LegacyResult<f64> {
        Ok(field_number(body, field)?
            .or_else(|| at(prices, canonical).as_f64())
            .unwrap_or(0.0))
    };
    let mut input = json!({
        "evse_code": code,
        "prices": {
            "per_kwh": price("KWh_price", "per_kwh")?,
            "per_hour": price("hour_price", "per_hour")?,
            "waiting_per_minute": at(prices, "waiting_per_minute").as_f64().unwrap_or(0.0),
        },
        "connectors": vec![connector; plugs as usize],
    });
    // What the legacy body cannot say stays as it is.
    for kept in [
        "serial_number",
        "meter_type",
        "charge_point_id",
        "ocpp_connector_id",
        "capabilities",
        "payment_types",
    ] {
        if let Some(value) = now.get(kept).filter(|v| !v.is_null()) {
            put(&mut input, kept, value.clone());
        }
    }
    Ok(input)
}

/// EVSE `id` as its host sees it: the entry of its site's detail (the
/// canonical API has no GET of one EVSE; the site's GET checks the caller
/// manages it).
async fn current_evse(face: &Face, caller: &Caller, id: &str) -> LegacyResult<Value> {
    let evse_id = id
        .parse()
        .map(plugway_domain::EvseId)
        .map_err(|_| LegacyError::not_found())?;
    let evse = face
        .state
        .store
        .find_evse(evse_id)
        .await?
        .ok_or_else(LegacyError::not_found)?;
    let detail = face
        .call(
            Some(caller),
            Method::GET,
            &format!("/api/v1/host/sites/{}", evse.site_id.to_text()),
            None,
        )
        .await?;
    at(&detail, "evses")
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| at(e, "id").as_str() == Some(id))
        .cloned()
        .ok_or_else(LegacyError::not_found)
}

async fn add_socket(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let body = payload.json()?;
    let charger = field_id(&body, "charger_id")?;
    let uri = site_uri(&face, charger, "/evses").await?;
    // The code an EVSE shows: the socket's place in the charger, unique there.
    let sockets = face
        .call(
            Some(&caller),
            Method::GET,
            &site_uri(&face, charger, "").await?,
            None,
        )
        .await?;
    // The first S1, S2, ... no socket of the charger has (one may have
    // been deleted, so counting them is not enough).
    let taken: Vec<&str> = at(&sockets, "evses")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| at(e, "evse_code").as_str())
        .collect();
    let code = (1..)
        .map(|n| format!("S{n}"))
        .find(|c| !taken.contains(&c.as_str()))
        .unwrap_or_default();
    let input = evse_input(&body, &code, None)?;
    let view = face
        .call(Some(&caller), Method::POST, &uri, Some(input))
        .await?;
    let mut view = renumbered(&face, view).await?;
    let id = at(&view, "id").clone();
    put(&mut view, "socket_id", id);
    put(&mut view, "charger_id", json!(charger));
    created(view)
}

async fn edit_socket(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let number = params.number("socket_id")?;
    let id = face.uuid_of(Evse, number).await?;
    let body = payload.json()?;
    let current = current_evse(&face, &caller, &id).await?;
    let code = at(&current, "evse_code")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let input = evse_input(&body, &code, Some(&current))?;
    let view = face
        .call(
            Some(&caller),
            Method::PUT,
            &format!("/api/v1/host/evses/{id}"),
            Some(input),
        )
        .await?;
    let mut view = renumbered(&face, view).await?;
    put(&mut view, "socket_id", json!(number));
    ok(view)
}

async fn add_photos(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let (content_type, bytes) = payload.multipart()?;
    let (charger, rebuilt) =
        super::forms::take_field(&content_type, bytes.into(), &["Charger_id", "charger_id"])
            .await
            .map_err(|e| LegacyError::bad("body", e))?;
    let charger = match charger.or_else(|| params.0.get("charger_id").cloned()) {
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| LegacyError::bad("Charger_id", "A valid integer is required."))?,
        None => return Err(LegacyError::bad("Charger_id", "This field is required.")),
    };
    let uri = site_uri(&face, charger, "/photos").await?;
    let view = face
        .call_raw(Some(&caller), Method::POST, &uri, Some(rebuilt))
        .await?;
    created(renumbered(&face, view).await?)
}

async fn delete_photo_or_logout(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    match params.0.get("photo_id") {
        Some(_) => {
            let id = face.uuid_of(Photo, params.number("photo_id")?).await?;
            face.call(
                Some(&caller),
                Method::DELETE,
                &format!("/api/v1/host/photos/{id}"),
                None,
            )
            .await?;
            ok(json!({"status": true, "message": "Photo deleted"}))
        }
        // The document's "logout" is this URL without a photo.
        None => {
            face.call(Some(&caller), Method::POST, "/api/v1/auth/logout", None)
                .await?;
            ok(json!({"status": true, "message": "Logged out"}))
        }
    }
}

fn nearby_input(body: &Map<String, Value>) -> LegacyResult<Value> {
    let need = |name: &str| {
        field_text(body, name).ok_or_else(|| LegacyError::bad(name, "This field is required."))
    };
    Ok(json!({
        "kind": need("nearby_type")?,
        "name": need("nearby_name")?,
        "address": need("address")?,
        "image": field_text(body, "nearby_image"),
    }))
}

async fn add_nearby(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let body = payload.json()?;
    let uri = site_uri(&face, field_id(&body, "charger_id")?, "/nearby").await?;
    let view = face
        .call(
            Some(&caller),
            Method::POST,
            &uri,
            Some(nearby_input(&body)?),
        )
        .await?;
    created(renumbered(&face, view).await?)
}

async fn edit_nearby(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let id = face.uuid_of(Nearby, params.number("Nearby_id")?).await?;
    let body = payload.json()?;
    let view = face
        .call(
            Some(&caller),
            Method::PUT,
            &format!("/api/v1/host/nearby/{id}"),
            Some(nearby_input(&body)?),
        )
        .await?;
    ok(renumbered(&face, view).await?)
}

async fn set_charger_logo(
    Req {
        face,
        params,
        payload,
        ..
    }: Req,
) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let uri = site_uri(&face, params.number("charger_id")?, "/logo").await?;
    let view = face
        .call_raw(Some(&caller), Method::PUT, &uri, Some(payload.multipart()?))
        .await?;
    ok(charger_reply(&face, view).await?)
}

async fn remove_charger_logo(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let uri = site_uri(&face, params.number("charger_id")?, "/logo").await?;
    let view = face.call(Some(&caller), Method::DELETE, &uri, None).await?;
    ok(charger_reply(&face, view).await?)
}

// --- Hosts' appointments and earnings -----------------------------------------

async fn booking_host(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let view = face
        .call(
            Some(&caller),
            Method::GET,
            "/api/v1/host/booking-summary",
            None,
        )
        .await?;
    ok(renumbered(&face, view).await?)
}

async fn all_appointments(Req { face, params, .. }: Req) -> LegacyResult {
    own_list(&face, &params, "host_id", "/api/v1/host/bookings").await
}

async fn charger_appointments(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let charger = params.number("charger_id")?;
    let mut upcoming = Vec::new();
    for (_, list) in per_evse(&face, &caller, charger, |id| {
        format!("/api/v1/host/evses/{id}/bookings?status=upcoming")
    })
    .await?
    {
        let items = list.get("results").unwrap_or(&list);
        upcoming.extend(items.as_array().into_iter().flatten().cloned());
    }
    ok(renumbered(&face, Value::Array(upcoming)).await?)
}

/// For each EVSE of the caller's charger (site) number `charger`, its id
/// and the reply of `GET uri(id)`.
async fn per_evse(
    face: &Face,
    caller: &Caller,
    charger: i64,
    uri: impl Fn(&str) -> String,
) -> LegacyResult<Vec<(String, Value)>> {
    let site = face.uuid_of(Site, charger).await?;
    let detail = face
        .call(
            Some(caller),
            Method::GET,
            &format!("/api/v1/host/sites/{site}"),
            None,
        )
        .await?;
    let mut out = Vec::new();
    for evse in at(&detail, "evses").as_array().into_iter().flatten() {
        let Some(id) = at(evse, "id").as_str() else {
            continue;
        };
        out.push((
            id.to_owned(),
            face.call(Some(caller), Method::GET, &uri(id), None).await?,
        ));
    }
    Ok(out)
}

/// The seed's earnings are totals: from the day the account was made (the
/// canonical earnings default to the last 30 days), for this host (an
/// admin in the host app names itself).
fn all_time(caller: &Caller) -> String {
    let from = caller.user.created_at.format("%Y-%m-%d");
    format!("from={from}&host={}", caller.user.id.to_text())
}

async fn my_earning(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let earnings = face
        .call(
            Some(&caller),
            Method::GET,
            &format!("/api/v1/host/earnings?{}", all_time(&caller)),
            None,
        )
        .await?;
    let credits = face
        .call(Some(&caller), Method::GET, "/api/v1/credits", None)
        .await?;
    ok(json!({"earnings": earnings, "host_credit": credits}))
}

async fn charger_earning(Req { face, params, .. }: Req) -> LegacyResult {
    let caller = face.caller(&params, "host_id").await?;
    let charger = params.number("charger_id")?;
    let sockets: Vec<Value> = per_evse(&face, &caller, charger, |id| {
        format!("/api/v1/host/earnings?device={id}&{}", all_time(&caller))
    })
    .await?
    .into_iter()
    .map(|(id, earnings)| json!({"socket_id": id, "earnings": earnings}))
    .collect();
    ok(renumbered(&face, json!({"charger_id": charger, "sockets": sockets})).await?)
}
