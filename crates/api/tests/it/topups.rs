//! Wallet top-ups through QPay (seed 001's replenish), against a local fake
//! QPay that speaks its v2 merchant API: Basic-auth token, invoices, payment
//! checks. A callback proves nothing until QPay's own check agrees.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_error, Backend, Options, TestApp};
use plugway_adapters::qpay::{QPay, QPayConfig};
use plugway_app::ports::payments::GatewaySetup;

crate::on_both_backends!(
    a_top_up_credits_the_wallet_once_and_only_when_qpay_says_paid,
    the_reconciler_settles_a_payment_whose_callback_never_came,
    a_purchase_paid_through_qpay_is_paid_once,
    a_bill_payment_that_does_not_match_is_a_payment_fail,
);

const CLIENT: &str = "PLUGWAY_MERCHANT";
const SECRET: &str = "qpay-secret";

#[derive(Default)]
struct FakeInvoice {
    amount: f64,
    paid: Option<(f64, &'static str)>,
    /// Refunded through `DELETE /v2/payment/refund/{payment_id}`.
    refunded: bool,
}

#[derive(Clone, Default)]
struct FakeQPay {
    invoices: Arc<Mutex<HashMap<String, FakeInvoice>>>,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl FakeQPay {
    fn pay(&self, invoice: &str, amount: f64, currency: &'static str) {
        self.invoices.lock().unwrap().get_mut(invoice).unwrap().paid = Some((amount, currency));
    }
    fn only_invoice(&self) -> String {
        self.invoices.lock().unwrap().keys().next().unwrap().clone()
    }
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        self.tokens.lock().unwrap().contains(&bearer)
    }
}

async fn token(State(fake): State<FakeQPay>, headers: HeaderMap) -> (AxumStatus, Json<Value>) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"error": "NO_CREDENDIALS"})),
        );
    }
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    fake.tokens.lock().unwrap().push(token.clone());
    (
        AxumStatus::OK,
        Json(
            json!({"token_type": "bearer", "access_token": token, "expires_in": 86400,
                    "refresh_token": "refresh", "refresh_expires_in": 172800}),
        ),
    )
}

async fn invoice(
    State(fake): State<FakeQPay>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    if !fake.authorized(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"error": "AUTHENTICATION_FAILED"})),
        );
    }
    for field in [
        "invoice_code",
        "sender_invoice_no",
        "invoice_receiver_code",
        "invoice_description",
        "amount",
        "callback_url",
    ] {
        if body.get(field).is_none() {
            return (
                AxumStatus::BAD_REQUEST,
                Json(json!({"error": format!("{field} is required")})),
            );
        }
    }
    assert_eq!(body["invoice_code"], "PLUGWAY_INVOICE");
    assert!(body["callback_url"]
        .as_str()
        .unwrap()
        .contains("/api/v1/payments/qpay/callback/"));
    let id = uuid::Uuid::new_v4().to_string();
    fake.invoices.lock().unwrap().insert(
        id.clone(),
        FakeInvoice {
            amount: body["amount"].as_f64().unwrap(),
            paid: None,
            refunded: false,
        },
    );
    (
        AxumStatus::OK,
        Json(
            json!({"invoice_id": id, "qr_text": "0002010102", "qr_image": "iVBOR",
                    "qPay_shortUrl": format!("https://qpay.example/s/{id}"), "urls": []}),
        ),
    )
}

async fn check(
    State(fake): State<FakeQPay>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    if !fake.authorized(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"error": "AUTHENTICATION_FAILED"})),
        );
    }
    assert_eq!(body["object_type"], "INVOICE");
    let invoices = fake.invoices.lock().unwrap();
    let Some(invoice) = invoices.get(body["object_id"].as_str().unwrap_or_default()) else {
        return (
            AxumStatus::NOT_FOUND,
            Json(json!({"error": "INVOICE_NOTFOUND"})),
        );
    };
    let _ = invoice.amount;
    let status = if invoice.refunded { "REFUNDED" } else { "PAID" };
    let payment_id = format!("pay-{}", body["object_id"].as_str().unwrap_or_default());
    let rows: Vec<Value> = invoice
        .paid
        .iter()
        .map(|(amount, currency)| {
            json!({"payment_id": payment_id, "payment_status": status,
            "payment_amount": amount.to_string(), "trx_fee": "0.00", "payment_currency": currency,
            "payment_wallet": "0fc9b71c", "payment_type": "P2P"})
        })
        .collect();
    let paid: f64 = invoice.paid.iter().map(|(a, _)| a).sum();
    (
        AxumStatus::OK,
        Json(json!({"count": rows.len(), "paid_amount": paid, "rows": rows})),
    )
}

/// `DELETE /v2/payment/refund/{payment_id}`: refunds a whole paid payment once.
async fn refund(
    State(fake): State<FakeQPay>,
    headers: HeaderMap,
    axum::extract::Path(payment_id): axum::extract::Path<String>,
) -> (AxumStatus, Json<Value>) {
    if !fake.authorized(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"error": "AUTHENTICATION_FAILED"})),
        );
    }
    let mut invoices = fake.invoices.lock().unwrap();
    let invoice = payment_id
        .strip_prefix("pay-")
        .and_then(|id| invoices.get_mut(id))
        .filter(|i| i.paid.is_some());
    match invoice {
        None => (
            AxumStatus::NOT_FOUND,
            Json(json!({"error": "PAYMENT_NOTFOUND"})),
        ),
        Some(i) if i.refunded => (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": "PAYMENT_ALREADY_REFUNDED"})),
        ),
        Some(i) => {
            i.refunded = true;
            (AxumStatus::OK, Json(json!({"msg": "refunded"})))
        }
    }
}

async fn fake_qpay() -> (FakeQPay, SocketAddr) {
    let fake = FakeQPay::default();
    let app = Router::new()
        .route("/v2/auth/token", post(token))
        .route("/v2/invoice", post(invoice))
        .route("/v2/payment/check", post(check))
        .route(
            "/v2/payment/refund/{payment_id}",
            axum::routing::delete(refund),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (fake, addr)
}

async fn app_with_qpay(backend: Backend, name: &str) -> Option<(TestApp, FakeQPay)> {
    let (fake, addr) = fake_qpay().await;
    let gateway = QPay::new(QPayConfig {
        base_url: format!("http://{addr}"),
        client_id: CLIENT.into(),
        client_secret: SECRET.to_owned().into(),
        invoice_code: "PLUGWAY_INVOICE".into(),
    })
    .unwrap();
    let options = Options {
        payments: Some(GatewaySetup {
            gateway: Arc::new(gateway),
            callback_base: "http://plugway.test".into(),
        }),
        ..Options::default()
    };
    let app = TestApp::spawn(backend, name, options).await?;
    Some((app, fake))
}

async fn balance(app: &TestApp, token: &str) -> f64 {
    app.get("/api/v1/wallet", Some(token)).await.1["balance"]
        .as_f64()
        .unwrap()
}

async fn a_top_up_credits_the_wallet_once_and_only_when_qpay_says_paid(
    backend: Backend,
    name: &str,
) {
    let Some((app, fake)) = app_with_qpay(backend, name).await else {
        return;
    };
    let driver = app.otp_sign_in("+97688000601").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let (_, options) = app.get("/api/v1/payment-options", None).await;
    assert_eq!(options[1]["option"], "QPAY");
    assert_eq!(options[1]["disabled"], false);

    let bad = app
        .post(
            "/api/v1/customer/replenish",
            json!({"amount": -5, "option": "QPAY"}),
            Some(&token),
        )
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    let (status, topup) = app
        .post(
            "/api/v1/customer/replenish",
            json!({"amount": 5000, "option": "QPAY"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{topup}");
    assert_eq!(topup["option"], "QPAY");
    assert!(topup["url"]
        .as_str()
        .unwrap()
        .starts_with("https://qpay.example/s/"));
    let invoice = topup["invoiceId"].as_str().unwrap().to_owned();
    let callback = format!("/api/v1/payments/qpay/callback/{invoice}");

    // A forged callback (nothing paid at QPay) credits nothing.
    let (status, said) = app.get(&callback, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(said["message"], "pending");
    let (_, pending) = app
        .post(
            "/api/v1/customer/replenishment/",
            json!({"invoiceId": invoice}),
            Some(&token),
        )
        .await;
    assert_eq!(pending, json!({"status": "pending", "amount": 5000.0}));
    assert_eq!(balance(&app, &token).await, 0.0);

    // Paid at QPay: the callback settles it; replayed, it credits once.
    fake.pay(&fake.only_invoice(), 5000.0, "MNT");
    for _ in 0..3 {
        let (status, said) = app.get(&callback, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(said["message"], "success");
    }
    assert_eq!(balance(&app, &token).await, 5000.0);
    let (_, done) = app
        .post(
            "/api/v1/customer/replenishment",
            json!({"invoiceId": invoice}),
            Some(&token),
        )
        .await;
    assert_eq!(done["status"], "success");
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert_eq!(me["profile"]["balance"], 5000.0);

    // Another driver cannot read this top-up.
    let other = app.otp_sign_in("+97688000602").await;
    let theirs = app
        .post(
            "/api/v1/customer/replenishment",
            json!({"invoiceId": invoice}),
            Some(other["token"].as_str().unwrap()),
        )
        .await;
    assert_error(&theirs, StatusCode::NOT_FOUND, "invoice_not_found");
    let unknown = app.get("/api/v1/payments/qpay/callback/nope", None).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "invoice_not_found");

    // QPay reports a payment that does not match the invoice: not credited.
    let (_, second) = app
        .post(
            "/api/v1/customer/replenish",
            json!({"amount": 3000, "option": "QPAY"}),
            Some(&token),
        )
        .await;
    let second_id = second["invoiceId"].as_str().unwrap().to_owned();
    let gateway_id = {
        let ids: Vec<String> = fake.invoices.lock().unwrap().keys().cloned().collect();
        ids.into_iter()
            .find(|id| fake.invoices.lock().unwrap()[id].paid.is_none())
            .unwrap()
    };
    fake.pay(&gateway_id, 30.0, "MNT");
    let (_, said) = app
        .get(&format!("/api/v1/payments/qpay/callback/{second_id}"), None)
        .await;
    assert_eq!(said["message"], "error");
    assert_eq!(balance(&app, &token).await, 5000.0);

    let report = plugway_store::LedgerStore::verify_ledger(app.store.as_ref())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    app.finish().await;
}

async fn the_reconciler_settles_a_payment_whose_callback_never_came(backend: Backend, name: &str) {
    let Some((app, fake)) = app_with_qpay(backend, name).await else {
        return;
    };
    let driver = app.otp_sign_in("+97688000611").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let (_, topup) = app
        .post(
            "/api/v1/customer/replenish",
            json!({"amount": 2500, "option": "QPAY"}),
            Some(&token),
        )
        .await;
    assert!(topup["invoiceId"].is_string(), "{topup}");
    fake.pay(&fake.only_invoice(), 2500.0, "MNT");
    // No callback: the reconciler checks invoices older than its interval.
    app.clock.advance(chrono::Duration::seconds(60));
    let job = tokio::spawn(plugway_app::topups::reconcile(
        app.state.clone(),
        Duration::from_millis(100),
    ));
    let mut credited = 0.0;
    for _ in 0..50 {
        credited = balance(&app, &token).await;
        if credited > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    job.abort();
    assert_eq!(credited, 2500.0);
    app.finish().await;
}

/// A finished session's purchase of `total_minor` MNT for `user`, straight
/// in the store (the charging flow itself is tested in charging_sessions).
pub async fn purchase_for(app: &TestApp, user: &str, total_minor: i64) -> String {
    use plugway_domain::tariff::{price, MeterReading, Tariff, Usage};
    use plugway_domain::{
        ChargePointId, ChargingSessionId, Currency, PurchaseId, SessionState, SiteTimeZone, UserId,
    };
    let user = UserId(user.parse().unwrap());
    let now = chrono::Utc::now();
    // 1 kWh at `total_minor` per kWh.
    let tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), total_minor, 0, 0);
    let cost = price(
        &tariff,
        &Usage {
            started_at: now - chrono::Duration::minutes(30),
            meter_start_wh: 0,
            readings: vec![MeterReading {
                at: now,
                energy_wh: 1000,
            }],
            ended_at: now,
            waiting: vec![],
        },
    );
    assert_eq!(cost.total, total_minor);
    let session = plugway_store::ChargingSession {
        id: ChargingSessionId(uuid::Uuid::now_v7()),
        user_id: Some(user),
        evse_id: None,
        host_id: None,
        charge_point_id: ChargePointId::parse("CP-PAY").unwrap(),
        connector_id: 1,
        id_tag: "APPX".into(),
        origin: plugway_store::SessionOrigin::App,
        state: SessionState::Pending,
        transaction_id: None,
        tariff: tariff.clone(),
        meter_start_wh: Some(0),
        last_meter_wh: None,
        last_meter_at: None,
        waiting: vec![],
        failure: None,
        created_at: now,
        started_at: Some(now),
        stopped_at: None,
        purchase_id: None,
        updated_at: now,
    };
    app.store
        .create_charging_session(&session, 10)
        .await
        .unwrap();
    let purchase = plugway_store::Purchase {
        id: PurchaseId(uuid::Uuid::now_v7()),
        session_id: session.id,
        user_id: Some(user),
        host_id: None,
        evse_id: None,
        charge_point_id: session.charge_point_id.clone(),
        connector_id: 1,
        cost,
        tariff,
        started_at: now,
        stopped_at: now,
        payment_status: "unpaid".into(),
        feedback_score: None,
        feedback_description: None,
        feedback_at: None,
        created_at: now,
        hold_reason: None,
    };
    let mut finished = session.clone();
    finished.state = SessionState::Finished;
    app.store
        .finish_charging_session(&finished, &purchase)
        .await
        .unwrap()
        .id
        .to_text()
}

async fn a_purchase_paid_through_qpay_is_paid_once(backend: Backend, name: &str) {
    let Some((app, fake)) = app_with_qpay(backend, name).await else {
        return;
    };
    let driver = app.otp_sign_in("+97688000621").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let purchase = purchase_for(&app, driver["userId"].as_str().unwrap(), 4200).await;
    let pay = format!("/api/v1/purchases/{purchase}/pay");
    let (status, first) = app
        .post(&pay, json!({"option": "QPAY"}), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["option"], "QPAY");
    let invoice = first["invoiceId"].as_str().unwrap().to_owned();
    let status_path = format!("/api/v1/purchases/{purchase}/status");
    let (_, pending) = app
        .post(&status_path, json!({"invoiceId": invoice}), Some(&token))
        .await;
    assert_eq!(pending["status"], "pending");
    // The driver opens a second invoice, then pays both at QPay.
    let (_, second) = app
        .post(&pay, json!({"option": "QPAY"}), Some(&token))
        .await;
    let second_invoice = second["invoiceId"].as_str().unwrap().to_owned();
    let gateway_ids: Vec<String> = fake.invoices.lock().unwrap().keys().cloned().collect();
    // 4,200 minor units are 42.00 tögrög, as QPay counts them.
    for id in &gateway_ids {
        fake.pay(id, 42.0, "MNT");
    }
    for _ in 0..2 {
        let (_, paid) = app
            .post(&status_path, json!({"invoiceId": invoice}), Some(&token))
            .await;
        assert_eq!(paid["status"], "success");
    }
    let (_, detail) = app
        .get(&format!("/api/v1/purchases/{purchase}"), Some(&token))
        .await;
    assert_eq!(detail["status"], "paid");
    // The second payment found the purchase paid: it went to the wallet.
    let (_, also) = app
        .get(
            &format!("/api/v1/payments/qpay/callback/{second_invoice}"),
            None,
        )
        .await;
    assert_eq!(also["message"], "success");
    assert_eq!(balance(&app, &token).await, 42.0);
    let again = app
        .post(&pay, json!({"option": "QPAY"}), Some(&token))
        .await;
    assert_error(&again, StatusCode::CONFLICT, "already_paid");

    // An admin refunds it back through QPay: whole payments only, once.
    let admin = crate::harness::api_key(&app, plugway_domain::ApiKeyRole::Admin).await;
    let path = format!("/api/v1/admin/purchases/{purchase}/refunds");
    let refund = |body: Value| {
        let key = body["reason"].as_str().map(str::to_owned);
        app.post_once(&path, body, &admin, key)
    };
    assert_error(
        &refund(json!({"amount": 10, "destination": "gateway", "reason": "part"})).await,
        StatusCode::CONFLICT,
        "partial_refund_unsupported",
    );
    let whole = json!({"destination": "gateway", "reason": "charger fault"});
    let (status, first) = refund(whole.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "succeeded");
    let refunded: Vec<bool> = fake
        .invoices
        .lock()
        .unwrap()
        .values()
        .map(|i| i.refunded)
        .collect();
    assert_eq!(
        refunded.iter().filter(|r| **r).count(),
        1,
        "one QPay payment refunded"
    );
    let (_, retried) = refund(whole).await;
    assert_eq!(retried["id"], first["id"]);
    let (_, detail) = app
        .get(&format!("/api/v1/purchases/{purchase}"), Some(&token))
        .await;
    assert_eq!(detail["status"], "refunded");
    let (_, canceled) = app
        .post(&status_path, json!({"invoiceId": purchase}), Some(&token))
        .await;
    assert_eq!(canceled["status"], "canceled", "seed 001's word for it");
    assert_eq!(
        balance(&app, &token).await,
        42.0,
        "the wallet is not touched"
    );
    let report = plugway_store::LedgerStore::verify_ledger(app.store.as_ref())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    app.finish().await;
}

async fn a_bill_payment_that_does_not_match_is_a_payment_fail(backend: Backend, name: &str) {
    use futures::StreamExt;
    let Some((app, fake)) = app_with_qpay(backend, name).await else {
        return;
    };
    let driver = app.otp_sign_in("+97688000631").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let user = driver["userId"].as_str().unwrap().to_owned();
    let purchase = purchase_for(&app, &user, 4200).await;
    let mut payments = app
        .state
        .bus
        .subscribe(&format!("user.{user}.PAYMENT"))
        .await
        .unwrap();
    let (_, opened) = app
        .post(
            &format!("/api/v1/purchases/{purchase}/pay"),
            json!({"option": "QPAY"}),
            Some(&token),
        )
        .await;
    let invoice = opened["invoiceId"].as_str().unwrap().to_owned();
    // QPay reports 10.00 paid on a 42.00 invoice: nothing is booked.
    fake.pay(&fake.only_invoice(), 10.0, "MNT");
    let (_, said) = app
        .post(
            &format!("/api/v1/purchases/{purchase}/status"),
            json!({"invoiceId": invoice}),
            Some(&token),
        )
        .await;
    assert_eq!(said["status"], "error", "the invoice's own status");
    let event = tokio::time::timeout(Duration::from_secs(10), payments.next())
        .await
        .expect("a PAYMENT event in time")
        .expect("the subscription ended");
    let body: Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(
        body["status"], "fail",
        "seed 001's word for a failed payment: {body}"
    );
    let (_, detail) = app
        .get(&format!("/api/v1/purchases/{purchase}"), Some(&token))
        .await;
    assert_eq!(detail["status"], "unpaid");
    app.finish().await;
}
