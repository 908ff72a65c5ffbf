//! Seed 000's coupons, bills and credits over HTTP, with admins' coupon
//! management, credit settings, referral rewards and refunds; the books
//! verify after each.

use plugway_domain::ApiKeyRole;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, Backend, Options, TestApp};
use crate::topups::purchase_for;

crate::on_both_backends!(
    coupons_are_checked_billed_and_limited,
    credits_referral_rewards_and_refunds,
    a_hundred_parallel_payments_never_overspend_one_wallet,
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

async fn set(app: &TestApp, user: &str, body: Value, key: &str) -> (StatusCode, Value) {
    app.put(
        &format!("/api/v1/admin/users/{user}/credits"),
        body,
        Some(key),
    )
    .await
}

async fn check(app: &TestApp, token: &str, code: &str) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/coupons/check",
            json!({"coupon_code": code}),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// 100 purchases of 1.00 paid at once from a wallet holding 50.00: exactly
/// 50 are paid, the others are 409 `insufficient_funds`, nothing is lost.
async fn a_hundred_parallel_payments_never_overspend_one_wallet(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, user) = driver(&app, "+97688000721").await;
    fund(&app, &admin, &user, 50.0).await;
    let mut purchases = Vec::new();
    for _ in 0..100 {
        purchases.push(purchase_for(&app, &user, 100).await);
    }
    let paths: Vec<String> = purchases
        .iter()
        .map(|p| format!("/api/v1/purchases/{p}/pay"))
        .collect();
    let replies = futures::future::join_all(
        paths
            .iter()
            .map(|path| app.post(path, json!({"option": "EVM"}), Some(&token))),
    )
    .await;
    let paid = replies.iter().filter(|r| r.0 == StatusCode::OK).count();
    let refused = replies
        .iter()
        .filter(|r| r.0 == StatusCode::CONFLICT && r.1["code"] == "insufficient_funds")
        .count();
    assert_eq!(
        (paid, refused),
        (50, 50),
        "{:?}",
        replies.iter().find(|r| r.0 != StatusCode::OK)
    );
    let (_, wallet) = app.get("/api/v1/wallet", Some(&token)).await;
    assert_eq!(wallet["balance"], 0.0);
    let (_, bills) = app.get("/api/v1/bills?page_size=100", Some(&token)).await;
    assert_eq!(bills["count"], 50, "only paid checkouts leave a bill");
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    app.finish().await;
}

async fn coupons_are_checked_billed_and_limited(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (token, user) = driver(&app, "+97688000701").await;
    let (other_token, _) = driver(&app, "+97688000702").await;

    // Admins make coupons; bad terms change nothing.
    let create = |body: Value| app.post("/api/v1/admin/coupons", body, Some(&admin));
    let pct = create(
        json!({"code": "pct10", "type": "Percentage", "percentage_off": 10,
        "max_amount": 3, "description": "10% off, at most 3"}),
    )
    .await;
    assert_eq!(pct.0, StatusCode::CREATED, "{}", pct.1);
    assert_eq!(pct.1["code"], "PCT10");
    let one = create(
        json!({"code": "ONLYONE", "type": "Amount", "coupon_amount": 5,
        "min_amount_limit": 20, "max_uses": 1, "listed": false}),
    )
    .await;
    assert_eq!(one.0, StatusCode::CREATED, "{}", one.1);
    let past = create(json!({"code": "OLD", "type": "Amount", "coupon_amount": 1,
        "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2020-02-01T00:00:00Z"}))
    .await;
    assert_eq!(past.0, StatusCode::CREATED);
    for (bad, field) in [
        (
            json!({"code": "X1X", "type": "Gift", "coupon_amount": 1}),
            "type",
        ),
        (
            json!({"code": "X2X", "type": "Percentage", "percentage_off": 101}),
            "percentage_off",
        ),
        (json!({"code": "X3X", "type": "Amount"}), "coupon_amount"),
        (
            json!({"code": "x", "type": "Amount", "coupon_amount": 1}),
            "code",
        ),
        (
            json!({"code": "X4X", "type": "Amount", "coupon_amount": 1, "max_uses": 0}),
            "max_uses",
        ),
    ] {
        let reply = create(bad).await;
        assert_eq!(
            reply.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            reply.1
        );
        assert!(
            reply.1["message"].as_str().unwrap().contains(field),
            "{}",
            reply.1
        );
    }
    assert_error(
        &create(json!({"code": "Pct10", "type": "Amount", "coupon_amount": 1})).await,
        StatusCode::CONFLICT,
        "coupon_code_taken",
    );
    assert_eq!(
        create(json!({"code": "NOPE1", "type": "Amount", "coupon_amount": 1}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_error(
        &app.post(
            "/api/v1/admin/coupons",
            json!({"code": "MINE", "type": "Amount", "coupon_amount": 1}),
            Some(&token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // The public list: listed and usable now only.
    let (_, list) = app.get("/api/v1/coupons", None).await;
    let codes: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"PCT10") && !codes.contains(&"ONLYONE") && !codes.contains(&"OLD"));

    // Seed 000's check replies, word for word.
    assert_eq!(
        check(&app, &token, "pct10").await,
        json!({"status": true, "message": "Valid Coupon", "type": "Percentage",
            "percentage_off": 10.0, "max_amount": 3.0})
    );
    assert_eq!(
        check(&app, &token, "onlyone").await,
        json!({"status": true, "message": "Valid Coupon", "type": "Amount",
            "coupon_amount": 5.0, "min_amount_limit": 20.0})
    );
    for code in ["NOSUCH", "OLD", "?"] {
        assert_eq!(
            check(&app, &token, code).await,
            json!({"status": false, "message": "Invalid Coupon code"})
        );
    }

    // A bill with the percentage coupon: 10% of 50.00 is 5.00, capped at 3.00.
    fund(&app, &admin, &user, 100.0).await;
    let purchase = purchase_for(&app, &user, 5_000).await;
    let bill = app
        .post(
            "/api/v1/bills",
            json!({"purchase_id": purchase, "coupon_code": "PCT10"}),
            Some(&token),
        )
        .await;
    assert_eq!(bill.0, StatusCode::CREATED, "{}", bill.1);
    assert_eq!(
        (
            bill.1["bill_amount"].as_f64(),
            bill.1["discount"].as_f64(),
            bill.1["due"].as_f64()
        ),
        (Some(50.0), Some(3.0), Some(47.0))
    );
    assert_error(
        &app.get(
            &format!("/api/v1/bills/{}", bill.1["id"].as_str().unwrap()),
            Some(&other_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "bill_not_found",
    );
    let paid = app
        .post(
            &format!("/api/v1/purchases/{purchase}/pay"),
            json!({"option": "EVM", "bill_id": bill.1["id"]}),
            Some(&token),
        )
        .await;
    assert_eq!(paid.0, StatusCode::OK, "{}", paid.1);
    assert_eq!(paid.1["newBalance"], 53.0);
    // Paying again answers the same and moves nothing.
    let again = app
        .post(
            &format!("/api/v1/purchases/{purchase}/pay"),
            json!({"option": "EVM"}),
            Some(&token),
        )
        .await;
    assert_eq!(again.1["newBalance"], 53.0);
    assert_eq!(
        check(&app, &token, "PCT10").await,
        json!({"status": false, "message": "You have exceeded usage limit"})
    );
    let (_, bills) = app.get("/api/v1/bills", Some(&token)).await;
    assert_eq!(bills["count"], 1);
    assert_eq!(bills["results"][0]["status"], "paid");

    // The minimum order, then the one use of ONLYONE, then nobody else.
    let small = purchase_for(&app, &user, 1_000).await;
    assert_error(
        &app.post(
            &format!("/api/v1/purchases/{small}/pay"),
            json!({"option": "EVM", "coupon_code": "ONLYONE"}),
            Some(&token),
        )
        .await,
        StatusCode::CONFLICT,
        "coupon_below_minimum",
    );
    let big = purchase_for(&app, &user, 2_500).await;
    let used = app
        .post(
            &format!("/api/v1/purchases/{big}/pay"),
            json!({"option": "EVM", "coupon_code": "ONLYONE"}),
            Some(&token),
        )
        .await;
    assert_eq!(used.1["newBalance"], 53.0 - 20.0, "{}", used.1);
    assert_eq!(
        check(&app, &other_token, "ONLYONE").await,
        json!({"status": false, "message": "Sorry,the coupon can not be used by anymore users"})
    );
    let (_, admin_view) = app
        .get(
            &format!("/api/v1/admin/coupons/{}", one.1["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(admin_view["used"], 1);
    assert_error(
        &app.delete(
            &format!("/api/v1/admin/coupons/{}", one.1["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await,
        StatusCode::CONFLICT,
        "coupon_in_use",
    );
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    app.finish().await;
}

async fn credits_referral_rewards_and_refunds(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (referrer_token, _referrer) = driver(&app, "+97688000711").await;
    let (token, user) = driver(&app, "+97688000712").await;

    // Seed 000's UpdateCustomerCredit is an admin's act, not the driver's.
    assert_error(
        &set(&app, &user, json!({"customer_credit": 466}), &token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        set(
            &app,
            &user,
            json!({"customer_credit": 5, "type": "bribe"}),
            &admin
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let credited = set(
        &app,
        &user,
        json!({"customer_credit": 466, "host_credit": 12, "type": "compensation"}),
        &admin,
    )
    .await;
    assert_eq!(credited.0, StatusCode::OK, "{}", credited.1);
    assert_eq!(
        (
            credited.1["customer_credit"].as_i64(),
            credited.1["host_credit"].as_i64()
        ),
        (Some(466), Some(12))
    );
    let (_, types) = app.get("/api/v1/credit-types", None).await;
    assert!(types
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == "referral"));

    // The driver was referred.
    let (_, code) = app
        .get("/api/v1/user/referral", Some(&referrer_token))
        .await;
    let applied = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": code["referral_code"]}),
            Some(&token),
        )
        .await;
    assert_eq!(applied.0, StatusCode::OK, "{}", applied.1);

    // Points pay at 1.00 each: 30.00 of 40.00 with 10 points.
    fund(&app, &admin, &user, 100.0).await;
    let first = purchase_for(&app, &user, 4_000).await;
    assert_error(
        &app.post(
            &format!("/api/v1/purchases/{first}/pay"),
            json!({"option": "EVM", "credits": 41}),
            Some(&token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let paid = app
        .post(
            &format!("/api/v1/purchases/{first}/pay"),
            json!({"option": "EVM", "credits": 10}),
            Some(&token),
        )
        .await;
    assert_eq!(paid.1["newBalance"], 70.0, "{}", paid.1);
    let (_, mine) = app.get("/api/v1/credits", Some(&token)).await;
    assert_eq!(
        (
            mine["customer_credit"].as_i64(),
            mine["credit_value"].as_f64()
        ),
        (Some(456), Some(1.0))
    );
    // The first paid session rewards the referrer once; the second does not.
    let second = purchase_for(&app, &user, 2_000).await;
    let paid = app
        .post(
            &format!("/api/v1/purchases/{second}/pay"),
            json!({"option": "EVM"}),
            Some(&token),
        )
        .await;
    assert_eq!(paid.1["newBalance"], 50.0);
    let (_, theirs) = app.get("/api/v1/credits", Some(&referrer_token)).await;
    assert_eq!(theirs["customer_credit"], 50);

    // Refunds: an admin's, in parts, never beyond what was paid in money.
    let refund = |purchase: String, body: Value, key: Option<&'static str>| {
        let path = format!("/api/v1/admin/purchases/{purchase}/refunds");
        let (app, admin) = (&app, admin.clone());
        async move {
            app.post_once(&path, body, &admin, key.map(str::to_owned))
                .await
        }
    };
    let part = refund(
        second.clone(),
        json!({"amount": 5, "reason": "slow charger"}),
        Some("r-1"),
    )
    .await;
    assert_eq!(part.0, StatusCode::CREATED, "{}", part.1);
    assert_eq!(part.1["status"], "succeeded");
    let retried = refund(
        second.clone(),
        json!({"amount": 5, "reason": "slow charger"}),
        Some("r-1"),
    )
    .await;
    assert_eq!(
        retried.1["id"], part.1["id"],
        "a retried refund is the same refund"
    );
    assert_error(
        &refund(
            second.clone(),
            json!({"amount": 15.01, "reason": "too much"}),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "refund_exceeds_payment",
    );
    assert_error(
        &refund(second.clone(), json!({"reason": "all of it"}), None).await,
        StatusCode::CONFLICT,
        "already_refunded",
    );
    assert_error(
        &refund(second.clone(), json!({"amount": -1, "reason": "x"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (_, wallet) = app.get("/api/v1/wallet", Some(&token)).await;
    assert_eq!(wallet["balance"], 55.0);
    // A whole refund gives the points back too.
    let whole = refund(first.clone(), json!({"reason": "charger fault"}), None).await;
    assert_eq!(whole.0, StatusCode::CREATED, "{}", whole.1);
    assert_eq!(whole.1["amount"], 30.0);
    let (_, wallet) = app.get("/api/v1/wallet", Some(&token)).await;
    assert_eq!(wallet["balance"], 85.0);
    let (_, mine) = app.get("/api/v1/credits", Some(&token)).await;
    assert_eq!(mine["customer_credit"], 466);
    let (_, purchase) = app
        .get(&format!("/api/v1/purchases/{first}"), Some(&token))
        .await;
    assert_eq!(purchase["status"], "refunded");
    let (_, listed) = app
        .get(
            &format!("/api/v1/admin/purchases/{second}/refunds"),
            Some(&admin),
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_error(
        &app.post(
            &format!("/api/v1/admin/purchases/{second}/refunds"),
            json!({"reason": "mine"}),
            Some(&token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    app.finish().await;
}
