//! Razorpay orders and checkout verification (seed 000's RazerpayOrder and
//! SignatureVerification), against a local fake Razorpay that speaks its
//! orders API; signatures are HMAC-SHA256 as Razorpay documents them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::harness::{assert_error, Backend, Options, TestApp};
use plugway_adapters::razorpay::{Razorpay, RazorpayConfig};

crate::on_both_backends!(razorpay_pays_once_and_only_with_a_valid_signature);

const KEY_ID: &str = "rzp_test_plugway";
pub(crate) const KEY_SECRET: &str = "rzp-secret";
const WEBHOOK_SECRET: &str = "rzp-webhook";

/// An order: amount (minor units), currency, its payments.
type FakeOrder = (i64, String, Vec<Value>);

#[derive(Clone, Default)]
pub(crate) struct FakeRazorpay {
    orders: Arc<Mutex<HashMap<String, FakeOrder>>>,
    /// Refunds by payment id.
    refunds: Arc<Mutex<HashMap<String, Vec<Value>>>>,
}

/// `GET /v1/payments/{id}/refunds`: a collection of refund entities.
async fn payment_refunds(
    State(fake): State<FakeRazorpay>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (AxumStatus, Json<Value>) {
    if !basic_ok(&headers) {
        return (AxumStatus::UNAUTHORIZED, Json(json!({})));
    }
    let items = fake
        .refunds
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_default();
    (
        AxumStatus::OK,
        Json(json!({"entity": "collection", "count": items.len(), "items": items})),
    )
}

/// `POST /v1/payments/{id}/refund`: refunds at most what is left of a
/// captured payment, as Razorpay does.
async fn refund_payment(
    State(fake): State<FakeRazorpay>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    if !basic_ok(&headers) {
        return (AxumStatus::UNAUTHORIZED, Json(json!({})));
    }
    let captured = fake
        .orders
        .lock()
        .unwrap()
        .values()
        .flat_map(|(_, _, payments)| payments.clone())
        .find(|p| p["id"] == id.as_str());
    let Some(payment) = captured else {
        return (
            AxumStatus::BAD_REQUEST,
            Json(
                json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "The id provided does not exist"}}),
            ),
        );
    };
    let amount = body["amount"].as_i64().unwrap();
    let mut refunds = fake.refunds.lock().unwrap();
    let done = refunds.entry(id.clone()).or_default();
    let refunded: i64 = done.iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    if refunded + amount > payment["amount"].as_i64().unwrap() {
        return (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": {"code": "BAD_REQUEST_ERROR",
                "description": "The refund amount provided is greater than amount captured"}})),
        );
    }
    let refund = json!({"id": format!("rfnd_{}", done.len() + 1), "entity": "refund", "amount": amount,
        "currency": payment["currency"], "payment_id": id, "receipt": body["receipt"], "status": "processed"});
    done.push(refund.clone());
    (AxumStatus::OK, Json(refund))
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY_ID}:{KEY_SECRET}"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn create_order(
    State(fake): State<FakeRazorpay>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    if !basic_ok(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(
                json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
            ),
        );
    }
    let amount = body["amount"].as_i64().unwrap();
    let currency = body["currency"].as_str().unwrap().to_owned();
    assert!(body["receipt"].as_str().unwrap().len() <= 40);
    let id = format!("order_{}", uuid::Uuid::new_v4().simple());
    fake.orders
        .lock()
        .unwrap()
        .insert(id.clone(), (amount, currency.clone(), vec![]));
    (
        AxumStatus::OK,
        Json(
            json!({"id": id, "entity": "order", "amount": amount, "amount_paid": 0,
        "currency": currency, "receipt": body["receipt"], "status": "created"}),
        ),
    )
}

async fn order_payments(
    State(fake): State<FakeRazorpay>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (AxumStatus, Json<Value>) {
    if !basic_ok(&headers) {
        return (AxumStatus::UNAUTHORIZED, Json(json!({})));
    }
    let orders = fake.orders.lock().unwrap();
    match orders.get(&id) {
        Some((_, _, payments)) => (
            AxumStatus::OK,
            Json(json!({"entity": "collection", "count": payments.len(), "items": payments})),
        ),
        None => (
            AxumStatus::BAD_REQUEST,
            Json(
                json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "The id provided does not exist"}}),
            ),
        ),
    }
}

impl FakeRazorpay {
    pub(crate) fn capture(&self, order: &str, payment: &str) {
        let mut orders = self.orders.lock().unwrap();
        let (amount, currency, payments) = orders.get_mut(order).unwrap();
        payments.push(json!({"id": payment, "entity": "payment", "amount": *amount, "currency": currency.clone(),
            "status": "captured", "order_id": order}));
    }
}

pub(crate) fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

async fn webhook(app: &TestApp, body: &Value, key: &str) -> (StatusCode, Value) {
    let raw = body.to_string();
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/payments/razorpay/webhook"))
        .header("content-type", "application/json")
        .header("x-razorpay-signature", hmac_hex(key, raw.as_bytes()))
        .body(raw)
        .send()
        .await
        .unwrap();
    crate::harness::read(response).await
}

/// A fake Razorpay on a free port, and the adapter that talks to it.
pub(crate) async fn fake_razorpay() -> (FakeRazorpay, Razorpay) {
    let fake = FakeRazorpay::default();
    let server = Router::new()
        .route("/v1/orders", post(create_order))
        .route("/v1/orders/{id}/payments", get(order_payments))
        .route("/v1/payments/{id}/refunds", get(payment_refunds))
        .route("/v1/payments/{id}/refund", post(refund_payment))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
    let razorpay = Razorpay::new(RazorpayConfig {
        base_url: format!("http://{addr}"),
        key_id: KEY_ID.into(),
        key_secret: KEY_SECRET.to_owned().into(),
        webhook_secret: Some(WEBHOOK_SECRET.to_owned().into()),
    })
    .unwrap();
    (fake, razorpay)
}

async fn razorpay_pays_once_and_only_with_a_valid_signature(backend: Backend, name: &str) {
    let (fake, razorpay) = fake_razorpay().await;
    let options = Options {
        razorpay: Some(Arc::new(razorpay)),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let driver = app.otp_sign_in("+97688000701").await;
    let token = driver["token"].as_str().unwrap().to_owned();

    // A top-up order.
    let (status, order) = app
        .post(
            "/api/v1/payments/razorpay/orders",
            json!({"amount": 750}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["keyId"], KEY_ID);
    assert_eq!(order["amount"], 75_000, "minor units");
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let neither = app
        .post("/api/v1/payments/razorpay/orders", json!({}), Some(&token))
        .await;
    assert_eq!(neither.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", neither.1);

    // A forged checkout result changes nothing.
    let forged = app
        .post("/api/v1/payments/razorpay/verify", json!({"razorpay_order_id": order_id,
            "razorpay_payment_id": "pay_1", "razorpay_signature": hmac_hex("wrong", format!("{order_id}|pay_1").as_bytes())}), Some(&token))
        .await;
    assert_error(&forged, StatusCode::BAD_REQUEST, "bad_signature");
    assert_eq!(
        app.get("/api/v1/wallet", Some(&token)).await.1["balance"],
        0.0
    );

    // Captured at Razorpay, verified with the right signature: credited.
    fake.capture(&order_id, "pay_1");
    let signature = hmac_hex(KEY_SECRET, format!("{order_id}|pay_1").as_bytes());
    let verify = json!({"razorpay_order_id": order_id, "razorpay_payment_id": "pay_1", "razorpay_signature": signature});
    let (status, verified) = app
        .post(
            "/api/v1/payments/razorpay/verify",
            verify.clone(),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["status"], "success");
    // The same again, and Razorpay's webhook for it: credited once.
    app.post("/api/v1/payments/razorpay/verify", verify, Some(&token))
        .await;
    let captured = json!({"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_1", "order_id": order_id, "amount": 75_000, "status": "captured"}}}});
    let (status, said) = webhook(&app, &captured, WEBHOOK_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{said}");
    assert_eq!(
        app.get("/api/v1/wallet", Some(&token)).await.1["balance"],
        750.0
    );
    let bad_hook = webhook(&app, &captured, "not-the-secret").await;
    assert_error(&bad_hook, StatusCode::BAD_REQUEST, "bad_signature");

    // A purchase paid by webhook alone (the app never came back).
    let purchase =
        crate::topups::purchase_for(&app, driver["userId"].as_str().unwrap(), 9_900).await;
    let (_, order) = app
        .post(
            "/api/v1/payments/razorpay/orders",
            json!({"purchase_id": purchase}),
            Some(&token),
        )
        .await;
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    fake.capture(&order_id, "pay_2");
    let paid = json!({"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_2", "order_id": order_id}}}});
    let (_, said) = webhook(&app, &paid, WEBHOOK_SECRET).await;
    assert_eq!(said["message"], "success");
    let (_, detail) = app
        .get(&format!("/api/v1/purchases/{purchase}"), Some(&token))
        .await;
    assert_eq!(detail["status"], "paid");
    assert_eq!(
        app.get("/api/v1/wallet", Some(&token)).await.1["balance"],
        750.0
    );
    let again = app
        .post(
            "/api/v1/payments/razorpay/orders",
            json!({"purchase_id": purchase}),
            Some(&token),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "already_paid");

    // An admin refunds part of it back through Razorpay; a retry with the
    // same key refunds once; more than was paid is refused by Plugway.
    let admin = crate::harness::api_key(&app, plugway_domain::ApiKeyRole::Admin).await;
    let path = format!("/api/v1/admin/purchases/{purchase}/refunds");
    let refund = |body: Value| {
        let key = body["reason"].as_str().map(str::to_owned);
        app.post_once(&path, body, &admin, key)
    };
    let back = json!({"amount": 40, "destination": "gateway", "reason": "short session"});
    let (status, first) = refund(back.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (
            first["status"].as_str(),
            first["gateway_refund_id"].as_str()
        ),
        (Some("succeeded"), Some("rfnd_1"))
    );
    let (_, retried) = refund(back).await;
    assert_eq!(retried["id"], first["id"]);
    assert_eq!(
        fake.refunds.lock().unwrap()["pay_2"].len(),
        1,
        "Razorpay refunded once"
    );
    assert_error(
        &refund(json!({"amount": 60, "destination": "gateway", "reason": "too much"})).await,
        StatusCode::CONFLICT,
        "refund_exceeds_payment",
    );
    assert_eq!(
        app.get("/api/v1/wallet", Some(&token)).await.1["balance"],
        750.0,
        "a gateway refund does not touch the wallet"
    );
    let report = plugway_store::LedgerStore::verify_ledger(app.store.as_ref())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    app.finish().await;
}
