//! Seed 000's banners ("Ads"), AppInfo and amenities list over HTTP on both
//! databases, with the admins' editing of each.

use plugway_domain::{ApiKeyRole, Currency};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, png, read, Backend, Options, TestApp};

crate::on_both_backends!(
    banners_show_active_ones_in_their_window_by_position,
    banner_images_are_uploaded_served_and_removed,
    app_info_answers_seed_000s_shape,
    help_entries_are_managed_by_admins,
    amenities_list_facility_codes_with_admin_labels,
);

async fn driver_token(app: &TestApp, phone: &str) -> String {
    app.otp_sign_in(phone).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn put_image(
    app: &TestApp,
    path: &str,
    field: &str,
    bytes: Vec<u8>,
    token: &str,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("banner.png");
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

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn banners_show_active_ones_in_their_window_by_position(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let now = app.clock_now();
    let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let create = |body: Value| app.post("/api/v1/admin/banners", body, Some(&admin));

    for body in [
        json!({"title": "Second", "position": 2, "link_url": "https://plugway.example/b"}),
        json!({"title": "First", "position": 1}),
        json!({"title": "Switched off", "position": 0, "active": false}),
        json!({"title": "Later", "position": 0, "valid_from": at(2)}),
        json!({"title": "Over", "position": 0, "valid_from": at(-3), "valid_until": at(-1)}),
        json!({"title": "Today only", "position": 3, "valid_from": at(-1), "valid_until": at(1)}),
    ] {
        let (status, created) = create(body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let (status, shown) = app.get("/api/v1/banners", None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(titles(&shown), ["First", "Second", "Today only"]);
    assert_eq!(shown[1]["link_url"], "https://plugway.example/b");
    assert_eq!(shown[1]["image_url"], Value::Null);

    app.clock.advance(chrono::Duration::hours(3));
    let (_, shown) = app.get("/api/v1/banners", None).await;
    assert_eq!(titles(&shown), ["Later", "First", "Second"]);

    let (_, all) = app.get("/api/v1/admin/banners", Some(&admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 6);
    let off = all
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"] == "Switched off")
        .unwrap();
    assert_eq!(
        (off["active"].clone(), off["shown_now"].clone()),
        (json!(false), json!(false))
    );
    let id = off["id"].as_str().unwrap().to_owned();

    // Switch it on and move it last.
    let (status, updated) = app
        .put(
            &format!("/api/v1/admin/banners/{id}"),
            json!({"title": "Back on", "position": 9, "active": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["shown_now"], true);
    let (_, shown) = app.get("/api/v1/banners", None).await;
    assert_eq!(titles(&shown), ["Later", "First", "Second", "Back on"]);

    // Validation changes nothing.
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (
            json!({"title": "T", "link_url": "javascript:alert(1)"}),
            "link_url",
        ),
        (json!({"title": "T", "link_url": "https://"}), "link_url"),
        (json!({"title": "T", "position": -1}), "position"),
        (
            json!({"title": "T", "valid_from": at(5), "valid_until": at(4)}),
            "valid_until",
        ),
    ] {
        let reply = app
            .put(
                &format!("/api/v1/admin/banners/{id}"),
                body.clone(),
                Some(&admin),
            )
            .await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(reply.1["field"], field);
        assert_error(
            &create(body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    let bad_time = create(json!({"title": "T", "valid_from": "tomorrow"})).await;
    assert!(bad_time.0.is_client_error(), "{bad_time:?}");
    let (_, again) = app
        .get(&format!("/api/v1/admin/banners/{id}"), Some(&admin))
        .await;
    assert_eq!(again["title"], "Back on");

    // Admins only.
    let driver = driver_token(&app, "+97688000901").await;
    assert_error(
        &app.post(
            "/api/v1/admin/banners",
            json!({"title": "Mine"}),
            Some(&driver),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.get("/api/v1/admin/banners", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_error(
        &app.delete(&format!("/api/v1/admin/banners/{id}"), Some(&driver))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let (status, _) = app
        .delete(&format!("/api/v1/admin/banners/{id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for reply in [
        app.get(&format!("/api/v1/admin/banners/{id}"), Some(&admin))
            .await,
        app.delete(&format!("/api/v1/admin/banners/{id}"), Some(&admin))
            .await,
        app.get("/api/v1/admin/banners/not-a-uuid", Some(&admin))
            .await,
    ] {
        assert_error(&reply, StatusCode::NOT_FOUND, "banner_not_found");
    }
    let (_, shown) = app.get("/api/v1/banners", None).await;
    assert_eq!(titles(&shown), ["Later", "First", "Second"]);
    app.finish().await;
}

async fn banner_images_are_uploaded_served_and_removed(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let driver = driver_token(&app, "+97688000902").await;
    let (_, banner) = app
        .post(
            "/api/v1/admin/banners",
            json!({"title": "Picture"}),
            Some(&admin),
        )
        .await;
    let id = banner["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/banners/{id}/image");

    assert_error(
        &put_image(&app, &path, "image", png(64, 32), &driver).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &put_image(&app, &path, "image", b"not an image".to_vec(), &admin).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image_type",
    );
    assert_error(
        &put_image(&app, &path, "photo", png(64, 32), &admin).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &put_image(
            &app,
            &format!("/api/v1/admin/banners/{}/image", uuid::Uuid::new_v4()),
            "image",
            png(64, 32),
            &admin,
        )
        .await,
        StatusCode::NOT_FOUND,
        "banner_not_found",
    );

    let (status, with_image) = put_image(&app, &path, "image", png(64, 32), &admin).await;
    assert_eq!(status, StatusCode::OK, "{with_image}");
    let url = with_image["image_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("/api/v1/media/banners/{id}/")),
        "{url}"
    );
    let (_, shown) = app.get("/api/v1/banners", None).await;
    assert_eq!(shown[0]["image_url"], url.as_str());
    let served = app.http.get(app.url(&url)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    let thumb = shown[0]["thumbnail_url"].as_str().unwrap().to_owned();
    assert_eq!(
        app.http.get(app.url(&thumb)).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A new image replaces (and deletes) the old one.
    let (_, replaced) = put_image(&app, &path, "image", png(32, 32), &admin).await;
    let new_url = replaced["image_url"].as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    assert_eq!(
        app.http.get(app.url(&url)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Deleting the banner deletes its image.
    let (status, _) = app
        .delete(&format!("/api/v1/admin/banners/{id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.http
            .get(app.url(&new_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

async fn app_info_answers_seed_000s_shape(backend: Backend, name: &str) {
    let mut options = Options::default();
    options.settings.wallet_currency = Currency::parse("USD").unwrap();
    options.settings.credit_point_value = 150;
    options.sessions.service_tax_bps = 100;
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let driver = driver_token(&app, "+97688000903").await;

    let (status, info) = app.get("/api/v1/app-info", None).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(
        info,
        json!([{"PrivacyPolicy": "", "TermsCondition": "", "AppCurrency": "USD",
            "Service_tax": 1.0, "AppCreditValue": 1.5, "ContactUs": "", "Help": []}])
    );

    let body = json!({"PrivacyPolicy": "privacy policy test\nsecond line",
        "TermsCondition": "terms condition... test", "ContactUs": "hello"});
    assert_error(
        &app.put("/api/v1/admin/app-info", body.clone(), Some(&driver))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, updated) = app.put("/api/v1/admin/app-info", body, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, help) = app
        .post(
            "/api/v1/admin/help",
            json!({"Question": "How to charge", "Answer": "Charge Through Bluetooth Connectivity"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{help}");

    let (_, info) = app.get("/api/v1/app-info", None).await;
    let object = info[0].as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "AppCreditValue",
            "AppCurrency",
            "ContactUs",
            "Help",
            "PrivacyPolicy",
            "Service_tax",
            "TermsCondition"
        ]
    );
    assert_eq!(info.as_array().unwrap().len(), 1);
    assert_eq!(object["PrivacyPolicy"], "privacy policy test\nsecond line");
    assert_eq!(object["TermsCondition"], "terms condition... test");
    assert_eq!(object["ContactUs"], "hello");
    let item = &object["Help"][0];
    assert!(item["id"].is_i64(), "{item}");
    assert_eq!(item["Question"], "How to charge");
    assert_eq!(item["Answer"], "Charge Through Bluetooth Connectivity");
    chrono::DateTime::parse_from_rfc3339(item["Date_time"].as_str().unwrap()).unwrap();

    // Bounded lengths; a refused edit changes nothing.
    for body in [
        json!({"privacy_policy": "x".repeat(20_001), "terms_condition": "", "contact_us": ""}),
        json!({"privacy_policy": "", "terms_condition": "", "contact_us": "x".repeat(2_001)}),
        json!({"privacy_policy": "a\u{0}b", "terms_condition": "", "contact_us": ""}),
    ] {
        assert_error(
            &app.put("/api/v1/admin/app-info", body, Some(&admin)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    let missing = app
        .put(
            "/api/v1/admin/app-info",
            json!({"privacy_policy": "only"}),
            Some(&admin),
        )
        .await;
    assert!(missing.0.is_client_error(), "{missing:?}");
    let (_, after) = app.get("/api/v1/app-info", None).await;
    assert_eq!(after[0]["ContactUs"], "hello");
    app.finish().await;
}

async fn help_entries_are_managed_by_admins(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let driver = driver_token(&app, "+97688000904").await;
    let mut ids = Vec::new();
    for (q, a) in [
        ("How to charge?", "Plug in."),
        ("How to pay?", "From the wallet."),
    ] {
        let (status, entry) = app
            .post(
                "/api/v1/admin/help",
                json!({"question": q, "answer": a}),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{entry}");
        ids.push(entry["id"].as_i64().unwrap());
    }
    assert!(ids[1] > ids[0]);
    let (status, updated) = app
        .put(
            &format!("/api/v1/admin/help/{}", ids[0]),
            json!({"question": "How do I charge?", "answer": "Plug in,\nthen tap Start."}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, one) = app
        .get(&format!("/api/v1/admin/help/{}", ids[0]), Some(&admin))
        .await;
    assert_eq!(one["Answer"], "Plug in,\nthen tap Start.");
    let (_, list) = app.get("/api/v1/admin/help", Some(&admin)).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    for (body, field) in [
        (json!({"question": "", "answer": "A"}), "question"),
        (
            json!({"question": "Q", "answer": "x".repeat(5_001)}),
            "answer",
        ),
        (
            json!({"question": "x".repeat(501), "answer": "A"}),
            "question",
        ),
    ] {
        let reply = app
            .post("/api/v1/admin/help", body.clone(), Some(&admin))
            .await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(reply.1["field"], field);
        assert_error(
            &app.put(
                &format!("/api/v1/admin/help/{}", ids[1]),
                body,
                Some(&admin),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    assert_error(
        &app.post(
            "/api/v1/admin/help",
            json!({"question": "Q", "answer": "A"}),
            Some(&driver),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.get("/api/v1/admin/help", Some(&driver)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, _) = app
        .delete(&format!("/api/v1/admin/help/{}", ids[1]), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/api/v1/admin/help/{}", ids[1]),
        "/api/v1/admin/help/abc".to_owned(),
        "/api/v1/admin/help/99999".to_owned(),
    ] {
        assert_error(
            &app.get(&path, Some(&admin)).await,
            StatusCode::NOT_FOUND,
            "help_not_found",
        );
    }
    let (_, info) = app.get("/api/v1/app-info", None).await;
    let help = info[0]["Help"].as_array().unwrap();
    assert_eq!(help.len(), 1);
    assert_eq!(help[0]["id"], ids[0]);
    assert_eq!(help[0]["Question"], "How do I charge?");
    app.finish().await;
}

async fn amenities_list_facility_codes_with_admin_labels(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let driver = driver_token(&app, "+97688000905").await;
    let (status, list) = app.get("/api/v1/amenities", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let (_, filters) = app.get("/api/v1/reference/filters", None).await;
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(&list),
        codes(&filters["facilities"]),
        "the search filter's codes"
    );
    let wifi = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "WIFI")
        .unwrap();
    assert_eq!(
        wifi,
        &json!({"id": 16, "code": "WIFI", "name": "Wi-Fi", "icon_url": null})
    );

    let (status, set) = app
        .put(
            "/api/v1/admin/amenities/wifi",
            json!({"name": "Free Wi-Fi", "icon_url": "https://cdn.plugway.example/wifi.png"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["default_name"], "Wi-Fi");
    // By numeric id, and a code with a slash (percent-encoded).
    let (status, _) = app
        .put(
            "/api/v1/admin/amenities/3",
            json!({"hidden": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, banks) = app
        .put(
            "/api/v1/admin/amenities/BANKS%2FATM",
            json!({"name": "ATM"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{banks}");
    assert_eq!(banks["code"], "BANKS/ATM");

    let (_, list) = app.get("/api/v1/amenities", None).await;
    assert_eq!(list.as_array().unwrap().len(), 15, "CINEMA is hidden");
    assert!(!codes(&list).contains(&"CINEMA".to_owned()));
    let wifi = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "WIFI")
        .unwrap();
    assert_eq!(
        (wifi["name"].clone(), wifi["icon_url"].clone()),
        (
            json!("Free Wi-Fi"),
            json!("https://cdn.plugway.example/wifi.png")
        )
    );
    let (_, all) = app.get("/api/v1/admin/amenities", Some(&admin)).await;
    let cinema = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "CINEMA")
        .unwrap();
    assert_eq!(cinema["hidden"], true);

    assert_error(
        &app.put(
            "/api/v1/admin/amenities/JACUZZI",
            json!({"name": "x"}),
            Some(&admin),
        )
        .await,
        StatusCode::NOT_FOUND,
        "amenity_not_found",
    );
    assert_error(
        &app.put("/api/v1/admin/amenities/99", json!({}), Some(&admin))
            .await,
        StatusCode::NOT_FOUND,
        "amenity_not_found",
    );
    for body in [
        json!({"icon_url": "ftp://x/y.png"}),
        json!({"name": "x".repeat(101)}),
    ] {
        assert_error(
            &app.put("/api/v1/admin/amenities/WIFI", body, Some(&admin))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    assert_error(
        &app.put(
            "/api/v1/admin/amenities/WIFI",
            json!({"name": "Mine"}),
            Some(&driver),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, list) = app.get("/api/v1/amenities", None).await;
    let wifi = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "WIFI")
        .unwrap();
    assert_eq!(wifi["name"], "Free Wi-Fi", "refused edits change nothing");
    app.finish().await;
}
