//! Seed 002's plans over HTTP, exactly as documented: admins' plan CRUD,
//! purchase and cancel with the seed's replies; the wallet charged through
//! the ledger once per cycle; renewals, lapses and expiry by the renewal
//! worker (run twice at once); plan benefits on a session's tariff; the
//! included kWh of a cycle taken off real sessions' purchases, once.

use chrono::Duration;
use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::plan::{cycle_key, CustomerPlanId};
use plugway_domain::{ApiKeyRole, Currency, MeterReading, Role, SiteTimeZone, Tariff, Usage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    seed_002_plans_answer_as_documented,
    purchase_and_cancel_answer_as_documented,
    renewals_charge_each_cycle_once_then_lapse_or_expire,
    plan_benefits_lower_a_sessions_price,
    included_energy_is_free_once_per_cycle,
);

async fn driver(app: &TestApp, phone: &str) -> (String, String) {
    let signed = app.otp_sign_in(phone).await;
    (
        signed["token"].as_str().unwrap().to_owned(),
        signed["userId"].as_str().unwrap().to_owned(),
    )
}

async fn fund(app: &TestApp, admin: &str, user: &str, amount: f64) {
    let reply = app
        .post(
            &format!("/api/v1/admin/wallets/{user}/credit"),
            json!({"amount": amount, "reason": "test"}),
            Some(admin),
        )
        .await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
}

/// The driver's wallet balance, major units, from the ledger.
async fn balance(app: &TestApp, user: &str) -> f64 {
    let wallet = AccountRef::of(
        AccountKind::DriverWallet,
        plugway_domain::UserId(user.parse().unwrap()),
        Currency::MNT,
    );
    Currency::MNT.to_major(app.store.account_balance(&wallet).await.unwrap())
}

async fn patch(app: &TestApp, path: &str, body: Value, token: &str) -> (StatusCode, Value) {
    crate::harness::read(
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

async fn create(app: &TestApp, admin: &str, body: Value) -> Value {
    let (status, plan) = app.post("/api/v1/plans/", body, Some(admin)).await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    plan
}

/// Only the seed's fields, to compare replies with the seed's examples.
fn seed_fields(v: &Value, fields: &[&str]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|f| ((*f).to_owned(), v[*f].clone()))
            .collect(),
    )
}

const PLAN_FIELDS: &[&str] = &[
    "id",
    "name",
    "amount",
    "payment_cycle",
    "total_valid_months",
    "is_cancellable",
];
const DATA_FIELDS: &[&str] = &[
    "id",
    "plan_id",
    "start_date",
    "end_date",
    "is_active",
    "plan_name",
    "plan_amount",
    "plan_months_validity",
    "plan_payment_cycle",
    "plan_cancellable",
];

async fn seed_002_plans_answer_as_documented(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, _) = driver(&app, "+97688002001").await;

    // Save Plan, as the seed sends it: 201 and the seed's reply.
    let bronze = create(
        &app,
        &admin,
        json!({"name": "Globalnet Bronze", "amount": 500}),
    )
    .await;
    let id = bronze["id"].as_i64().expect("an integer id");
    assert_eq!(
        seed_fields(&bronze, PLAN_FIELDS),
        json!({"id": id, "name": "Globalnet Bronze", "amount": "500.00", "payment_cycle": 30,
               "total_valid_months": 12, "is_cancellable": false})
    );
    create(
        &app,
        &admin,
        json!({"name": "Globalnet Sliver", "amount": 750}),
    )
    .await;
    let gold = create(
        &app,
        &admin,
        json!({"name": "Globalnet Gold", "amount": 1200, "is_cancellable": true}),
    )
    .await;
    assert_eq!(gold["amount"], "1200.00");
    assert_eq!(gold["is_cancellable"], true);
    let gold_id = gold["id"].as_i64().unwrap();
    // Decimal amounts with the currency's digits, as numbers or strings.
    let odd = create(
        &app,
        &admin,
        json!({"name": "Odd", "amount": 12.5, "payment_cycle": 7, "total_valid_months": 2}),
    )
    .await;
    assert_eq!(odd["amount"], "12.50");
    assert_eq!(odd["payment_cycle"], 7);
    let odd_id = odd["id"].as_i64().unwrap();

    // An admin person (superuser role) may too.
    let (admin_person, admin_id) = driver(&app, "+97688002009").await;
    app.store
        .set_role(
            admin_id.parse().map(plugway_domain::UserId).unwrap(),
            Role::Admin,
            app.clock_now(),
        )
        .await
        .unwrap();
    let by_person = app
        .post(
            "/api/v1/plans",
            json!({"name": "Staff", "amount": "99.99"}),
            Some(&admin_person),
        )
        .await;
    assert_eq!(by_person.0, StatusCode::CREATED, "{}", by_person.1);
    assert_eq!(by_person.1["amount"], "99.99");
    let staff_id = by_person.1["id"].as_i64().unwrap();

    // Superusers only.
    assert_error(
        &app.post(
            "/api/v1/plans/",
            json!({"name": "Mine", "amount": 1}),
            Some(&token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        app.post("/api/v1/plans/", json!({"name": "Mine", "amount": 1}), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/plans/", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Validation: clear 4xx, nothing stored.
    for (body, field) in [
        (json!({"name": "No amount"}), "amount"),
        (json!({"amount": 5}), "name"),
        (json!({"name": "  ", "amount": 5}), "name"),
        (json!({"name": "Cents", "amount": 12.345}), "amount"),
        (json!({"name": "Negative", "amount": -5}), "amount"),
        (json!({"name": "Zero", "amount": 0}), "amount"),
        (json!({"name": "Text", "amount": "lots"}), "amount"),
        (json!({"name": "Bool", "amount": true}), "amount"),
        (
            json!({"name": "Cycle", "amount": 5, "payment_cycle": 0}),
            "payment_cycle",
        ),
        (
            json!({"name": "Cycle", "amount": 5, "payment_cycle": 400}),
            "payment_cycle",
        ),
        (
            json!({"name": "Months", "amount": 5, "total_valid_months": -1}),
            "total_valid_months",
        ),
        (
            json!({"name": "Disc", "amount": 5, "discount_per_kwh": -1}),
            "discount_per_kwh",
        ),
    ] {
        let reply = app.post("/api/v1/plans/", body.clone(), Some(&admin)).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(reply.1["field"], field, "{body}: {}", reply.1);
    }
    let wrong_type = app
        .post(
            "/api/v1/plans/",
            json!({"name": "X", "amount": 5, "payment_cycle": 30.5}),
            Some(&admin),
        )
        .await;
    assert_error(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let not_json = crate::harness::read(
        app.http
            .post(app.url("/api/v1/plans/"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{nope")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&not_json, StatusCode::BAD_REQUEST, "invalid_json");

    // View All Plans: paginated like the seed, by id; any signed-in user.
    let (status, all) = app.get("/api/v1/plans/", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["count"], 5);
    assert_eq!(all["next"], Value::Null);
    assert_eq!(all["previous"], Value::Null);
    assert_eq!(
        seed_fields(&all["results"][0], PLAN_FIELDS),
        seed_fields(&bronze, PLAN_FIELDS)
    );
    assert_eq!(all["results"][1]["name"], "Globalnet Sliver");
    assert_eq!(all["results"][1]["amount"], "750.00");
    let (_, paged) = app
        .get("/api/v1/plans?page=2&page_size=2", Some(&token))
        .await;
    assert_eq!(
        (
            paged["count"].as_i64(),
            paged["next"].as_i64(),
            paged["previous"].as_i64()
        ),
        (Some(5), Some(3), Some(1))
    );
    assert_eq!(paged["results"][0]["id"], gold_id);

    // View Plan Details, with and without the trailing slash.
    for path in [
        format!("/api/v1/plans/{id}/"),
        format!("/api/v1/plans/{id}"),
    ] {
        let (status, one) = app.get(&path, Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(
            seed_fields(&one, PLAN_FIELDS),
            seed_fields(&bronze, PLAN_FIELDS)
        );
    }
    for missing in [
        "/api/v1/plans/999999/",
        "/api/v1/plans/abc",
        "/api/v1/plans/-1",
    ] {
        assert_error(
            &app.get(missing, Some(&token)).await,
            StatusCode::NOT_FOUND,
            "plan_not_found",
        );
    }

    // Update Plan (PUT), the seed's request and reply.
    let (status, updated) = app
        .put(
            &format!("/api/v1/plans/{gold_id}"),
            json!({"name": "Globalnet Gold", "amount": 1500}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        seed_fields(&updated, PLAN_FIELDS),
        json!({"id": gold_id, "name": "Globalnet Gold", "amount": "1500.00", "payment_cycle": 30,
               "total_valid_months": 12, "is_cancellable": true})
    );
    // PUT needs name and amount; PATCH takes any part.
    let partial_put = app
        .put(
            &format!("/api/v1/plans/{gold_id}"),
            json!({"amount": 1}),
            Some(&admin),
        )
        .await;
    assert_error(
        &partial_put,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (status, patched) = patch(
        &app,
        &format!("/api/v1/plans/{gold_id}/"),
        json!({"total_valid_months": 6, "waive_session_fee": true}),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["total_valid_months"], 6);
    assert_eq!(patched["amount"], "1500.00", "unchanged");
    assert_eq!(patched["waive_session_fee"], true);
    let bad_patch = patch(
        &app,
        &format!("/api/v1/plans/{gold_id}"),
        json!({"amount": 0}),
        &admin,
    )
    .await;
    assert_error(
        &bad_patch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (_, still) = app
        .get(&format!("/api/v1/plans/{gold_id}"), Some(&token))
        .await;
    assert_eq!(
        still["amount"], "1500.00",
        "a refused change changes nothing"
    );
    assert_error(
        &patch(
            &app,
            &format!("/api/v1/plans/{gold_id}"),
            json!({"amount": 2}),
            &token,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &patch(&app, "/api/v1/plans/999999", json!({"amount": 2}), &admin).await,
        StatusCode::NOT_FOUND,
        "plan_not_found",
    );

    // Delete Plan: 204; it no longer lists; a second delete is 404.
    assert_error(
        &app.delete(&format!("/api/v1/plans/{odd_id}"), Some(&token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, body) = app
        .delete(&format!("/api/v1/plans/{odd_id}"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    assert_error(
        &app.delete(&format!("/api/v1/plans/{odd_id}/"), Some(&admin))
            .await,
        StatusCode::NOT_FOUND,
        "plan_not_found",
    );
    assert_error(
        &app.get(&format!("/api/v1/plans/{odd_id}"), Some(&token))
            .await,
        StatusCode::NOT_FOUND,
        "plan_not_found",
    );
    let (_, after) = app.get("/api/v1/plans", Some(&token)).await;
    assert_eq!(after["count"], 4);
    assert!(after["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != odd_id));
    assert!(after["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == staff_id));
    app.finish().await;
}

async fn purchase_and_cancel_answer_as_documented(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let bronze = create(
        &app,
        &admin,
        json!({"name": "Globalnet Bronze", "amount": 500}),
    )
    .await;
    let gold = create(
        &app,
        &admin,
        json!({"name": "Globalnet Gold", "amount": 1200, "is_cancellable": true}),
    )
    .await;
    let (bronze_id, gold_id) = (bronze["id"].as_i64().unwrap(), gold["id"].as_i64().unwrap());
    let (token, user) = driver(&app, "+97688002101").await;
    let (other, _) = driver(&app, "+97688002102").await;
    fund(&app, &admin, &user, 1000.0).await;

    // Bad input and unknown plans: 4xx, nothing charged.
    assert_error(
        &app.post("/api/v1/purchase-plan/", json!({}), Some(&token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &app.post("/api/v1/purchase-plan/", json!({"plan": "x"}), Some(&token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &app.post(
            "/api/v1/purchase-plan/",
            json!({"plan": 999_999}),
            Some(&token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "plan_not_found",
    );
    assert_error(
        &app.post("/api/v1/purchase-plan/", json!({"plan": 1}), Some(&admin))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(balance(&app, &user).await, 1000.0);

    // Purchase Plan: 201 with the seed's reply; the first cycle is paid.
    let (status, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": bronze_id}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    assert_eq!(bought["message"], "Purchase Plan Successful");
    let data = &bought["data"];
    let cp_id = data["id"].as_i64().expect("an integer id");
    let start = app.clock_now().date_naive();
    let end = start + Duration::days(360);
    assert_eq!(
        seed_fields(data, DATA_FIELDS),
        json!({"id": cp_id, "plan_id": bronze_id, "start_date": start.format("%Y-%m-%d").to_string(),
               "end_date": end.format("%Y-%m-%d").to_string(), "is_active": true,
               "plan_name": "Globalnet Bronze", "plan_amount": 500.0, "plan_months_validity": 12,
               "plan_payment_cycle": 30, "plan_cancellable": false})
    );
    assert!(
        data["plan_amount"].is_f64(),
        "a JSON number, as the seed: {data}"
    );
    assert_eq!(balance(&app, &user).await, 500.0);
    let first = app
        .store
        .find_entry_by_key(&cycle_key(CustomerPlanId(cp_id), 1))
        .await
        .unwrap()
        .expect("the first cycle's entry");
    assert_eq!(first.kind, "plan_payment");
    assert!(app.store.verify_ledger().await.unwrap().is_clean());

    // One active subscription per plan: 409, not charged again.
    assert_error(
        &app.post(
            "/api/v1/purchase-plan",
            json!({"plan": bronze_id}),
            Some(&token),
        )
        .await,
        StatusCode::CONFLICT,
        "plan_already_active",
    );
    // Too little in the wallet: 409, nothing stored.
    assert_error(
        &app.post(
            "/api/v1/purchase-plan",
            json!({"plan": gold_id}),
            Some(&token),
        )
        .await,
        StatusCode::CONFLICT,
        "insufficient_funds",
    );
    assert_eq!(balance(&app, &user).await, 500.0);
    let (_, mine) = app.get("/api/v1/customer-plans", Some(&token)).await;
    assert_eq!(mine["count"], 1, "{mine}");

    // Cancel Plan on a plan that is not cancellable: the seed's reply, nothing changes.
    let (status, refused) = app
        .post(
            &format!("/api/v1/cancel-plan/{cp_id}"),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{refused}");
    assert_eq!(refused["message"], "Plan is not cancellable");
    assert_eq!(
        seed_fields(&refused["data"], DATA_FIELDS),
        seed_fields(data, DATA_FIELDS)
    );
    // Another driver's subscription is not there for them.
    assert_error(
        &app.post(
            &format!("/api/v1/cancel-plan/{cp_id}"),
            json!({}),
            Some(&other),
        )
        .await,
        StatusCode::NOT_FOUND,
        "customer_plan_not_found",
    );
    assert_error(
        &app.get(&format!("/api/v1/customer-plans/{cp_id}"), Some(&other))
            .await,
        StatusCode::NOT_FOUND,
        "customer_plan_not_found",
    );
    let (_, theirs) = app.get("/api/v1/customer-plans", Some(&other)).await;
    assert_eq!(theirs["count"], 0);
    assert_error(
        &app.post("/api/v1/cancel-plan/nope", json!({}), Some(&token))
            .await,
        StatusCode::NOT_FOUND,
        "customer_plan_not_found",
    );

    // A cancellable plan is cancelled: no further charges, inactive.
    fund(&app, &admin, &user, 1000.0).await;
    let (status, gold_bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": gold_id}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{gold_bought}");
    assert_eq!(balance(&app, &user).await, 300.0);
    let gold_cp = gold_bought["data"]["id"].as_i64().unwrap();
    let (status, cancelled) = app
        .post(
            &format!("/api/v1/cancel-plan/{gold_cp}/"),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cancelled}");
    assert_eq!(cancelled["message"], "Plan Cancelled Successfully");
    assert_eq!(cancelled["data"]["is_active"], false);
    assert_eq!(cancelled["data"]["status"], "cancelled");
    assert_eq!(cancelled["data"]["next_charge_at"], Value::Null);
    assert_eq!(cancelled["data"]["plan_cancellable"], true);
    let (_, again) = app
        .post(
            &format!("/api/v1/cancel-plan/{gold_cp}"),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(again["message"], "Plan is not active");
    // Nothing more is charged for it, even long after.
    app.clock.advance(Duration::days(45));
    let (token, _) = driver(&app, "+97688002101").await;
    fund(&app, &admin, &user, 5000.0).await;
    plugway_app::plans::run_due_subscriptions(&app.state)
        .await
        .unwrap();
    assert!(app
        .store
        .find_entry_by_key(&cycle_key(CustomerPlanId(gold_cp), 2))
        .await
        .unwrap()
        .is_none());
    // (The not-cancellable Bronze plan renewed once meanwhile.)
    assert_eq!(balance(&app, &user).await, 300.0 + 5000.0 - 500.0);
    let (_, mine) = app.get("/api/v1/customer-plans/", Some(&token)).await;
    assert_eq!(mine["count"], 2);
    assert_eq!(mine["results"][0]["id"], gold_cp, "newest first");
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    app.finish().await;
}

async fn renewals_charge_each_cycle_once_then_lapse_or_expire(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let monthly = create(
        &app,
        &admin,
        json!({"name": "Monthly", "amount": 100, "payment_cycle": 30, "total_valid_months": 3}),
    )
    .await;
    let daily = create(
        &app,
        &admin,
        json!({"name": "Daily", "amount": 10, "payment_cycle": 1, "total_valid_months": 2}),
    )
    .await;
    let (token, user) = driver(&app, "+97688002201").await;
    fund(&app, &admin, &user, 250.0).await;
    let (_, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": monthly["id"]}),
            Some(&token),
        )
        .await;
    let cp = CustomerPlanId(bought["data"]["id"].as_i64().unwrap());
    assert_eq!(balance(&app, &user).await, 150.0);
    // A deleted plan's subscribers keep their subscription.
    let (status, _) = app
        .delete(&format!("/api/v1/plans/{}", monthly["id"]), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let run = || plugway_app::plans::run_due_subscriptions(&app.state);
    assert_eq!(run().await.unwrap(), 0, "nothing due yet");

    // The second cycle: two workers sweep at once; it is charged once.
    app.clock.advance(Duration::days(30) + Duration::minutes(1));
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(balance(&app, &user).await, 50.0);
    let (token, _) = driver(&app, "+97688002201").await;
    assert!(app
        .store
        .find_entry_by_key(&cycle_key(cp, 2))
        .await
        .unwrap()
        .is_some());
    assert_eq!(run().await.unwrap(), 0, "and not again");
    assert_eq!(balance(&app, &user).await, 50.0);
    let (_, one) = app
        .get(&format!("/api/v1/customer-plans/{}", cp.0), Some(&token))
        .await;
    assert_eq!(one["cycles_paid"], 2, "{one}");
    assert_eq!(one["is_active"], true);
    // The driver was told, once.
    let (_, notes) = app.get("/api/v1/notifications", Some(&token)).await;
    let kinds: Vec<&str> = notes["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["plan_renewed"], "{notes}");

    // The third cycle finds 50 in the wallet: the subscription lapses.
    app.clock.advance(Duration::days(30));
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let (token, _) = driver(&app, "+97688002201").await;
    let (_, lapsed) = app
        .get(&format!("/api/v1/customer-plans/{}", cp.0), Some(&token))
        .await;
    assert_eq!(lapsed["is_active"], false, "{lapsed}");
    assert_eq!(lapsed["status"], "lapsed");
    assert_eq!(lapsed["ended_reason"], "insufficient_funds");
    assert_eq!(lapsed["cycles_paid"], 2);
    let (_, notes) = app.get("/api/v1/notifications", Some(&token)).await;
    assert_eq!(notes["results"][0]["kind"], "plan_expiring", "{notes}");
    assert_eq!(notes["results"][0]["title"], "Plan ended");
    assert_eq!(balance(&app, &user).await, 50.0, "nothing taken");
    assert!(app
        .store
        .find_entry_by_key(&cycle_key(cp, 3))
        .await
        .unwrap()
        .is_none());

    // A plan that runs its term: charged each cycle, then expired at its end.
    let (_, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": daily["id"]}),
            Some(&token),
        )
        .await;
    let daily_cp = bought["data"]["id"].as_i64().unwrap();
    assert_eq!(balance(&app, &user).await, 40.0);
    app.clock.advance(Duration::days(3));
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.unwrap() + b.unwrap(), 2, "one renewal, then the expiry");
    let (token, _) = driver(&app, "+97688002201").await;
    assert_eq!(balance(&app, &user).await, 30.0);
    let (_, expired) = app
        .get(&format!("/api/v1/customer-plans/{daily_cp}"), Some(&token))
        .await;
    assert_eq!(expired["status"], "expired", "{expired}");
    assert_eq!(expired["is_active"], false);
    assert_eq!(expired["cycles_paid"], 2);
    assert_eq!(run().await.unwrap(), 0);
    assert_eq!(balance(&app, &user).await, 30.0);
    // Ended subscriptions free the plan for a new purchase.
    let again = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": daily["id"]}),
            Some(&token),
        )
        .await;
    assert_eq!(again.0, StatusCode::CREATED, "{}", again.1);
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    app.finish().await;
}

/// The tariff the session engine freezes on a subscriber's session (the
/// one call both app starts and charger starts make): the plan's discount
/// and fee waiver apply while the subscription gives them, not before or
/// after.
async fn plan_benefits_lower_a_sessions_price(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let plan = create(
        &app,
        &admin,
        json!({"name": "Saver", "amount": 20, "is_cancellable": true, "payment_cycle": 30,
               "discount_per_kwh": 1.5, "waive_session_fee": true}),
    )
    .await;
    assert_eq!(plan["discount_per_kwh"], "1.50");
    let (token, user) = driver(&app, "+97688002301").await;
    let user_id = plugway_domain::UserId(user.parse().unwrap());
    fund(&app, &admin, &user, 100.0).await;

    let mut tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), 500, 0, 0);
    tariff.session_fee = 300;
    let start = app.clock_now();
    let usage = Usage {
        started_at: start,
        meter_start_wh: 0,
        readings: vec![MeterReading {
            at: start + Duration::hours(1),
            energy_wh: 10_000,
        }],
        ended_at: start + Duration::hours(1),
        waiting: Vec::new(),
    };
    let engine = &app.state.sessions;
    let before = engine
        .with_plan_benefits(user_id, tariff.clone())
        .await
        .unwrap();
    assert_eq!(before, tariff, "no plan, no change");
    assert_eq!(plugway_domain::price(&before, &usage).total, 5_300);

    let (status, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": plan["id"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    let with_plan = engine
        .with_plan_benefits(user_id, tariff.clone())
        .await
        .unwrap();
    assert_eq!(with_plan.energy_price_per_kwh, 350);
    assert_eq!(with_plan.session_fee, 0);
    assert_eq!(plugway_domain::price(&with_plan, &usage).total, 3_500);
    // Another driver's sessions are not discounted.
    let (_, other) = driver(&app, "+97688002302").await;
    let other_id = plugway_domain::UserId(other.parse().unwrap());
    assert_eq!(
        engine
            .with_plan_benefits(other_id, tariff.clone())
            .await
            .unwrap(),
        tariff
    );

    // Cancelled: the paid cycle keeps its benefits to its end, then none.
    let cp = bought["data"]["id"].as_i64().unwrap();
    let (_, cancelled) = app
        .post(
            &format!("/api/v1/cancel-plan/{cp}"),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(cancelled["message"], "Plan Cancelled Successfully");
    app.clock.advance(Duration::days(29));
    assert_eq!(
        engine
            .with_plan_benefits(user_id, tariff.clone())
            .await
            .unwrap(),
        with_plan
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        engine
            .with_plan_benefits(user_id, tariff.clone())
            .await
            .unwrap(),
        tariff
    );
    app.finish().await;
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw OCPP 1.6J charger: sends `action` and returns the CALLRESULT's
/// payload, skipping anything else the central system sends meanwhile.
async fn ocpp_call(ws: &mut Ws, id: &str, action: &str, payload: Value) -> Value {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(
        json!([2, id, action, payload]).to_string().into(),
    ))
    .await
    .unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("an answer in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v[0] == 3 && v[1] == id {
                return v[2].clone();
            }
            assert!(!(v[0] == 4 && v[1] == id), "{action} failed: {v}");
        }
    }
}

/// A charger `cp` of a new host, connected and booted, with an approved
/// site whose EVSE on connector 1 sells energy at 5.00 MNT per kWh.
async fn energy_charger(app: &TestApp, admin: &str, cp: &str) -> Ws {
    use base64::Engine;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (host, host_id) = crate::harness::sign_in_host(app, "+97688002401", "Kwh Host").await;
    let (status, created) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": cp, "owner_id": host_id}),
            Some(admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({"name": "Kwh", "address": "Peace Avenue 2", "city": "Ulaanbaatar",
                   "province": "Ulaanbaatar", "country_code": "mn", "latitude": 47.91,
                   "longitude": 106.91, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let (status, evse) = app
        .post(
            &format!("/api/v1/host/sites/{site}/evses"),
            json!({"evse_code": "K-1", "charge_point_id": cp, "ocpp_connector_id": 1,
                   "prices": {"per_kwh": 5},
                   "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                                   "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}]}),
            Some(&host),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{evse}");
    let evse = evse["id"].as_str().unwrap().to_owned();
    crate::harness::approve_listing(app, admin, &site, &[&evse]).await;

    let mut request = format!("{}/ocpp/{cp}", app.base.replace("http", "ws"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "ocpp1.6".parse().unwrap());
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{cp}:{}", created["password"].as_str().unwrap()));
    request
        .headers_mut()
        .insert("authorization", format!("Basic {basic}").parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(request).await.unwrap().0;
    let booted = ocpp_call(
        &mut ws,
        "boot",
        "BootNotification",
        json!({"chargePointVendor": "Plugway", "chargePointModel": "kwh"}),
    )
    .await;
    assert_eq!(booted["status"], "Accepted", "{booted}");
    ws
}

/// One session at the charger with the driver's tag: `wh` delivered. Returns
/// the StopTransaction payload (to repeat it) and the purchase as the
/// driver's app reads it.
async fn charge(
    app: &TestApp,
    ws: &mut Ws,
    tag: &str,
    wh: i64,
    token: &str,
    n: usize,
) -> (Value, Value) {
    // A new start each time (the same start again is a charger's repeat),
    // and half an hour of charging: up to 8 kWh on the 50 kW connector is
    // energy that could have flowed (a minute of it would be held).
    app.clock.advance(Duration::minutes(31));
    let now = app.clock_now();
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let started = ocpp_call(
        ws,
        &format!("start-{n}"),
        "StartTransaction",
        json!({"connectorId": 1, "idTag": tag, "meterStart": 1_000,
               "timestamp": stamp(now - Duration::minutes(30))}),
    )
    .await;
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    let tx = started["transactionId"].as_i64().unwrap();
    let stop = json!({"transactionId": tx, "meterStop": 1_000 + wh, "timestamp": stamp(now),
                      "reason": "EVDisconnected"});
    ocpp_call(ws, &format!("stop-{n}"), "StopTransaction", stop.clone()).await;
    let session = app
        .store
        .find_session_by_transaction(tx)
        .await
        .unwrap()
        .unwrap();
    let purchase = session.purchase_id.expect("priced at the stop");
    let (status, view) = app
        .get(&format!("/api/v1/purchases/{purchase}"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    (stop, view)
}

/// Real sessions at a real (raw OCPP) charger: a plan with 10 kWh a cycle
/// makes the first 6 kWh session's energy free, the second (8 kWh) gets
/// only the 4 kWh left, a repeated StopTransaction takes nothing more, and
/// after the renewal the allowance is whole again. 10 % tax on what is left.
async fn included_energy_is_free_once_per_cycle(backend: Backend, name: &str) {
    let options = Options {
        access_ttl: Some(Duration::days(365)),
        sessions: plugway_app::sessions::SessionSettings {
            service_tax_bps: 1_000,
            ..plugway_app::sessions::SessionSettings::default()
        },
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let plan = create(
        &app,
        &admin,
        json!({"name": "Ten free", "amount": 20, "payment_cycle": 30, "total_valid_months": 3,
               "included_kwh_per_cycle": 10}),
    )
    .await;
    assert_eq!(plan["included_kwh_per_cycle"], 10.0);
    let mut ws = energy_charger(&app, &admin, "KWH-CP").await;
    let (token, user) = driver(&app, "+97688002402").await;
    let user_id = plugway_domain::UserId(user.parse().unwrap());
    let tag = app.state.sessions.app_id_tag(user_id).await.unwrap();
    let tag = tag.as_str().to_owned();
    fund(&app, &admin, &user, 100.0).await;

    // Before the plan: 6 kWh at 5.00 = 30.00, + 10 % = 33.00.
    let (_, full) = charge(&app, &mut ws, &tag, 6_000, &token, 0).await;
    assert_eq!(full["amount"], 33.0, "{full}");
    assert_eq!(full["breakdown"]["includedEnergyCredit"], 0.0);

    let (status, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": plan["id"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    let cp = CustomerPlanId(bought["data"]["id"].as_i64().unwrap());

    // 6 of the 10 kWh: the energy is free, nothing to pay.
    let (_, first) = charge(&app, &mut ws, &tag, 6_000, &token, 1).await;
    assert_eq!(first["breakdown"]["energy"], 30.0, "{first}");
    assert_eq!(first["breakdown"]["includedEnergyCredit"], 30.0);
    assert_eq!(first["breakdown"]["subtotal"], 0.0);
    assert_eq!(first["amount"], 0.0);
    assert_eq!(app.store.plan_cycle_usage(cp, 1).await.unwrap(), 6_000);

    // 8 kWh with 4 left: 20.00 off 40.00, tax on the 20.00 left.
    let (stop, second) = charge(&app, &mut ws, &tag, 8_000, &token, 2).await;
    assert_eq!(second["breakdown"]["energy"], 40.0, "{second}");
    assert_eq!(second["breakdown"]["includedEnergyCredit"], 20.0);
    assert_eq!(second["breakdown"]["subtotal"], 20.0);
    assert_eq!(second["breakdown"]["tax"], 2.0);
    assert_eq!(second["amount"], 22.0);
    assert_eq!(app.store.plan_cycle_usage(cp, 1).await.unwrap(), 10_000);

    // The charger repeats the stop: the same purchase, nothing more used.
    ocpp_call(&mut ws, "stop-2-again", "StopTransaction", stop).await;
    assert_eq!(app.store.plan_cycle_usage(cp, 1).await.unwrap(), 10_000);
    assert_eq!(app.store.count_purchases(user_id).await.unwrap(), 3);

    // Used up: the next session in the cycle pays in full.
    let (_, third) = charge(&app, &mut ws, &tag, 2_000, &token, 3).await;
    assert_eq!(third["breakdown"]["includedEnergyCredit"], 0.0, "{third}");
    assert_eq!(third["amount"], 11.0);

    // Another driver, no plan: full price.
    let (other_token, other) = driver(&app, "+97688002403").await;
    let other_id = plugway_domain::UserId(other.parse().unwrap());
    let other_tag = app.state.sessions.app_id_tag(other_id).await.unwrap();
    let (_, theirs) = charge(&app, &mut ws, other_tag.as_str(), 6_000, &other_token, 4).await;
    assert_eq!(theirs["amount"], 33.0, "{theirs}");
    // And cannot read the subscriber's purchase.
    let hidden = app
        .get(
            &format!("/api/v1/purchases/{}", first["id"].as_str().unwrap()),
            Some(&other_token),
        )
        .await;
    assert_eq!(hidden.0, StatusCode::NOT_FOUND, "{}", hidden.1);

    // The renewal: cycle 2 is paid and its 10 kWh are whole again.
    app.clock.advance(Duration::days(30));
    plugway_app::plans::run_due_subscriptions(&app.state)
        .await
        .unwrap();
    let renewed = app.store.find_customer_plan(cp).await.unwrap().unwrap();
    assert_eq!(renewed.cycles_paid, 2);
    // (Signed in again: a month is longer than a device session.)
    let (token, _) = driver(&app, "+97688002402").await;
    let (_, fourth) = charge(&app, &mut ws, &tag, 3_000, &token, 5).await;
    assert_eq!(
        fourth["breakdown"]["includedEnergyCredit"], 15.0,
        "{fourth}"
    );
    assert_eq!(fourth["amount"], 0.0);
    assert_eq!(app.store.plan_cycle_usage(cp, 2).await.unwrap(), 3_000);
    assert_eq!(app.store.plan_cycle_usage(cp, 1).await.unwrap(), 10_000);

    let report = plugway_store::LedgerStore::verify_ledger(app.store.as_ref())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    app.finish().await;
}
