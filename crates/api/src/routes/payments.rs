//! Seed 001's payments, from the driver's wallet (the ledger): payment
//! options, paying a purchase, its status; the wallet; admins' credits.
//! Gateways (QPay, Razorpay) and top-ups come with the rest of the money work.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use plugway_domain::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::routes::charging::own_purchase;
use crate::AppState;
use plugway_app::{billing, payments, topups};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payment_options))
        .routes(routes!(pay))
        .routes(routes!(payment_status))
        .routes(routes!(my_wallet))
        .routes(routes!(credit))
        .routes(routes!(replenish))
        .routes(routes!(replenishment))
        .routes(routes!(gateway_callback_get, gateway_callback_post))
        .routes(routes!(razorpay_order))
        .routes(routes!(razorpay_verify))
        .routes(routes!(razorpay_webhook))
}

/// Body of a Razorpay order: a top-up amount, or a purchase to pay.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RazorpayOrderBody {
    /// Top-up amount, major units of the wallet currency.
    pub amount: Option<f64>,
    /// Or: the purchase to pay.
    pub purchase_id: Option<String>,
    /// With a purchase: a coupon code, credit points, or a bill made before.
    #[serde(flatten)]
    pub checkout: Checkout,
}

/// How a purchase is to be paid beyond the money: a bill made before with
/// `POST /api/v1/bills`, or a coupon code and credit points to bill now.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Checkout {
    /// A bill of this purchase from `POST /api/v1/bills`.
    pub bill_id: Option<String>,
    /// A coupon code.
    pub coupon_code: Option<String>,
    /// Credit points to spend.
    pub credits: Option<i64>,
}

/// The bill that `checkout` names or makes for `purchase`.
async fn checkout_bill(
    state: &AppState,
    user: UserId,
    purchase: &plugway_store::Purchase,
    checkout: &Checkout,
) -> ApiResult<plugway_store::Bill> {
    match &checkout.bill_id {
        Some(id) => state
            .store
            .find_bill(id)
            .await?
            .filter(|b| b.user_id == user && b.subject_id == purchase.id.to_text())
            .ok_or_else(|| ApiError::not_found("bill_not_found", "no such bill for this purchase")),
        None => billing::bill_purchase(
            state,
            user,
            purchase,
            checkout.coupon_code.as_deref(),
            checkout.credits.unwrap_or(0),
        )
        .await
        .map_err(ApiError::from),
    }
}

/// What the app's Razorpay checkout needs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RazorpayOrderView {
    /// Plugway's invoice id.
    pub invoice_id: String,
    /// Razorpay's order id.
    pub order_id: String,
    /// Minor units (paise).
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The key id for the checkout.
    pub key_id: String,
}

/// Creates a Razorpay order for a wallet top-up or a purchase (seed 000's
/// RazerpayOrder). Roles: any signed-in person (their own purchases).
#[utoipa::path(post, path = "/api/v1/payments/razorpay/orders", tag = "payments",
    request_body = RazorpayOrderBody,
    responses((status = 200, body = RazorpayOrderView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn razorpay_order(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<RazorpayOrderBody>,
) -> ApiResult<Json<RazorpayOrderView>> {
    let bill = match &body.purchase_id {
        Some(id) => {
            let purchase = own_purchase(&state, who.user.id, id).await?;
            Some(checkout_bill(&state, who.user.id, &purchase, &body.checkout).await?)
        }
        None => None,
    };
    let invoice = topups::razorpay_order(&state, who.user.id, body.amount, bill.as_ref()).await?;
    Ok(Json(RazorpayOrderView {
        invoice_id: invoice.id,
        order_id: invoice.gateway_invoice_id,
        amount: invoice.amount,
        currency: invoice.currency,
        key_id: state
            .razorpay
            .as_ref()
            .map(|r| r.key_id().to_owned())
            .unwrap_or_default(),
    }))
}

/// The checkout's result (seed 000's SignatureVerification).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RazorpayVerifyBody {
    /// Razorpay's order id.
    pub razorpay_order_id: String,
    /// Razorpay's payment id.
    pub razorpay_payment_id: String,
    /// HMAC-SHA256 of `order_id|payment_id` under the key secret, hex.
    pub razorpay_signature: String,
}

/// Verifies a checkout result and settles its order: a wrong signature is
/// `bad_signature` (400) and changes nothing; a right one makes Plugway ask
/// Razorpay what was captured. Roles: the order's owner.
#[utoipa::path(post, path = "/api/v1/payments/razorpay/verify", tag = "payments",
    request_body = RazorpayVerifyBody,
    responses((status = 200, body = PaymentStatus), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn razorpay_verify(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<RazorpayVerifyBody>,
) -> ApiResult<Json<PaymentStatus>> {
    let razorpay = state.razorpay.clone().ok_or_else(|| {
        ApiError::not_found("razorpay_not_configured", "Razorpay is not configured")
    })?;
    if !razorpay.payment_signature_ok(
        &body.razorpay_order_id,
        &body.razorpay_payment_id,
        &body.razorpay_signature,
    ) {
        return Err(ApiError::bad_request(
            "bad_signature",
            "the payment signature does not verify",
        ));
    }
    let invoice = state
        .store
        .find_gateway_invoice_by_gateway_id("razorpay", &body.razorpay_order_id)
        .await?
        .filter(|i| i.user_id == who.user.id)
        .ok_or_else(|| ApiError::not_found("invoice_not_found", "no such order"))?;
    let status = topups::settle(&state, &invoice).await?;
    let amount = plugway_domain::Currency::parse(&invoice.currency)
        .map(|c| c.to_major(invoice.amount))
        .unwrap_or_default();
    Ok(Json(PaymentStatus { status, amount }))
}

/// Razorpay's webhook (`payment.captured`, `order.paid`), signed with
/// `X-Razorpay-Signature` over the raw body; a wrong signature is
/// `bad_signature` (400). Anyone may call; only Razorpay can sign.
#[utoipa::path(post, path = "/api/v1/payments/razorpay/webhook", tag = "payments",
    params(("X-Razorpay-Signature" = String, Header)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = crate::routes::Message), (status = 400, body = ErrorBody)))]
async fn razorpay_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<crate::routes::Message>> {
    let razorpay = state.razorpay.clone().ok_or_else(|| {
        ApiError::not_found("razorpay_not_configured", "Razorpay is not configured")
    })?;
    let signature = headers
        .get("x-razorpay-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !razorpay.webhook_signature_ok(&body, signature) {
        return Err(ApiError::bad_request(
            "bad_signature",
            "the webhook signature does not verify",
        ));
    }
    let event: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("invalid_json", "the webhook body is not JSON"))?;
    let order = event
        .pointer("/payload/payment/entity/order_id")
        .or_else(|| event.pointer("/payload/order/entity/id"))
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let Some(invoice) = state
        .store
        .find_gateway_invoice_by_gateway_id("razorpay", order)
        .await?
    else {
        // Not ours (or not an order event): acknowledged, so Razorpay stops retrying.
        return Ok(Json(crate::routes::Message::new("ignored")));
    };
    let status = topups::settle(&state, &invoice).await?;
    Ok(Json(crate::routes::Message::new(status)))
}

/// Body of `replenish` (seed 001).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplenishBody {
    /// Major units of the wallet currency.
    pub amount: f64,
    /// `QPAY`.
    pub option: String,
}

/// Seed 001's reply: where to pay.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPayment {
    /// `QPAY`.
    pub option: String,
    /// Ask `/customer/replenishment` with it.
    pub invoice_id: String,
    /// Open it to pay.
    pub url: String,
}

/// Seed 001: tops up the wallet through a gateway. The wallet is credited
/// (and a REPLENISHMENT event sent) once the gateway confirms the payment.
/// Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/customer/replenish", tag = "payments",
    request_body = ReplenishBody,
    responses((status = 200, body = GatewayPayment), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replenish(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<ReplenishBody>,
) -> ApiResult<Json<GatewayPayment>> {
    let invoice = topups::replenish(&state, who.user.id, body.amount, &body.option).await?;
    Ok(Json(GatewayPayment {
        option: body.option,
        invoice_id: invoice.id,
        url: invoice.url,
    }))
}

/// Seed 001: a top-up's status, checked with the gateway now.
/// Roles: the top-up's owner.
#[utoipa::path(post, path = "/api/v1/customer/replenishment", tag = "payments",
    request_body = StatusBody,
    responses((status = 200, body = PaymentStatus), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replenishment(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<StatusBody>,
) -> ApiResult<Json<PaymentStatus>> {
    let invoice = state
        .store
        .find_gateway_invoice(&body.invoice_id)
        .await?
        .filter(|i| i.user_id == who.user.id)
        .ok_or_else(|| ApiError::not_found("invoice_not_found", "no such invoice"))?;
    let status = topups::settle(&state, &invoice).await?;
    let amount = plugway_domain::Currency::parse(&invoice.currency)
        .map(|c| c.to_major(invoice.amount))
        .unwrap_or_default();
    Ok(Json(PaymentStatus { status, amount }))
}

async fn callback(
    state: &AppState,
    gateway: &str,
    invoice: &str,
) -> ApiResult<Json<crate::routes::Message>> {
    let invoice = state
        .store
        .find_gateway_invoice(invoice)
        .await?
        .filter(|i| i.gateway == gateway)
        .ok_or_else(|| ApiError::not_found("invoice_not_found", "no such invoice"))?;
    let status = topups::settle(state, &invoice).await?;
    Ok(Json(crate::routes::Message::new(status)))
}

/// The gateway's callback when an invoice is paid (QPay calls it with GET).
/// It proves nothing by itself: Plugway asks the gateway what was paid.
/// Anyone may call.
#[utoipa::path(get, path = "/api/v1/payments/{gateway}/callback/{invoice}", tag = "payments",
    params(("gateway" = String, Path), ("invoice" = String, Path)),
    responses((status = 200, body = crate::routes::Message), (status = 404, body = ErrorBody)))]
async fn gateway_callback_get(
    State(state): State<AppState>,
    Path((gateway, invoice)): Path<(String, String)>,
) -> ApiResult<Json<crate::routes::Message>> {
    callback(&state, &gateway, &invoice).await
}

/// The same, for gateways that POST.
#[utoipa::path(post, path = "/api/v1/payments/{gateway}/callback/{invoice}", tag = "payments",
    params(("gateway" = String, Path), ("invoice" = String, Path)),
    responses((status = 200, body = crate::routes::Message), (status = 404, body = ErrorBody)))]
async fn gateway_callback_post(
    State(state): State<AppState>,
    Path((gateway, invoice)): Path<(String, String)>,
) -> ApiResult<Json<crate::routes::Message>> {
    callback(&state, &gateway, &invoice).await
}

/// One way to pay (seed 001).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOption {
    /// `EVM` (the wallet) or `QPAY`.
    pub option: String,
    /// Icon name.
    pub icon: String,
    /// Shown to the driver.
    pub title: String,
    /// Not offered now.
    pub disabled: bool,
}

/// Seed 001: the ways to pay. The wallet (`EVM`) is open; QPay is listed
/// disabled unless its gateway is configured. Anyone may call.
#[utoipa::path(get, path = "/api/v1/payment-options", tag = "payments",
    responses((status = 200, body = [PaymentOption])))]
async fn payment_options(State(state): State<AppState>) -> Json<Vec<PaymentOption>> {
    let qpay = state
        .payments
        .as_ref()
        .is_some_and(|p| p.gateway.option() == "QPAY");
    Json(vec![
        PaymentOption {
            option: "EVM".into(),
            icon: "wallet".into(),
            title: "Wallet".into(),
            disabled: false,
        },
        PaymentOption {
            option: "QPAY".into(),
            icon: "qpay".into(),
            title: "QPay".into(),
            disabled: !qpay,
        },
    ])
}

/// Body of `pay`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayBody {
    /// `EVM` (the wallet) or `QPAY`.
    pub option: String,
    /// A coupon, credit points or a bill (canonical additions).
    #[serde(flatten)]
    pub checkout: Checkout,
}

/// Seed 001's reply to paying from the wallet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletPayment {
    /// `EVM`.
    pub option: String,
    /// The purchase id.
    pub invoice_id: String,
    /// The wallet's balance after paying, major units.
    pub new_balance: f64,
}

/// Seed 001: pays a purchase. `EVM` pays from the wallet at once (once per
/// purchase, however often asked: a repeat answers the same);
/// `insufficient_funds` (409) when the wallet holds too little.
/// Roles: the purchase's driver.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/pay", tag = "payments",
    params(("id" = String, Path)), request_body = PayBody,
    responses((status = 200, body = PayReply), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn pay(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<PayBody>,
) -> ApiResult<Json<PayReply>> {
    let purchase = own_purchase(&state, who.user.id, &id).await?;
    plugway_app::billing::ensure_payable(&purchase)?;
    match body.option.as_str() {
        "EVM" => {
            let bill = match body.checkout.bill_id {
                Some(_) => {
                    Some(checkout_bill(&state, who.user.id, &purchase, &body.checkout).await?)
                }
                None => None,
            };
            let balance = payments::pay_from_wallet(
                &state,
                who.user.id,
                &purchase,
                bill,
                body.checkout.coupon_code.as_deref(),
                body.checkout.credits.unwrap_or(0),
            )
            .await?;
            Ok(Json(PayReply::Wallet(WalletPayment {
                option: "EVM".into(),
                invoice_id: purchase.id.to_text(),
                new_balance: state.settings.wallet_currency.to_major(balance),
            })))
        }
        "QPAY" => {
            if purchase.payment_status != "unpaid" {
                return Err(ApiError::conflict("already_paid", "this purchase is paid"));
            }
            let bill = checkout_bill(&state, who.user.id, &purchase, &body.checkout).await?;
            let invoice = topups::pay_bill(&state, who.user.id, &bill, "QPAY").await?;
            Ok(Json(PayReply::Gateway(GatewayPayment {
                option: "QPAY".into(),
                invoice_id: invoice.id,
                url: invoice.url,
            })))
        }
        _ => Err(ApiError::invalid_field("option", "must be EVM or QPAY")),
    }
}

/// Seed 001's reply to `pay`: the wallet's, or the gateway's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PayReply {
    /// `EVM`: paid now.
    Wallet(WalletPayment),
    /// `QPAY`: pay at the URL.
    Gateway(GatewayPayment),
}

/// Body of `status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    /// The invoice id `pay` gave.
    pub invoice_id: String,
}

/// Seed 001's payment status.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentStatus {
    /// pending, success, error or canceled.
    pub status: String,
    /// The purchase's amount, major units.
    pub amount: f64,
}

/// Seed 001: a purchase's payment status. Roles: the purchase's driver.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/status", tag = "payments",
    params(("id" = String, Path)), request_body = StatusBody,
    responses((status = 200, body = PaymentStatus), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn payment_status(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> ApiResult<Json<PaymentStatus>> {
    let purchase = own_purchase(&state, who.user.id, &id).await?;
    if body.invoice_id != purchase.id.to_text() {
        // A gateway invoice for this purchase: ask the gateway now.
        let not_found =
            || ApiError::not_found("invoice_not_found", "no such invoice for this purchase");
        let invoice = state
            .store
            .find_gateway_invoice(&body.invoice_id)
            .await?
            .filter(|i| i.user_id == who.user.id && i.purpose == "bill")
            .ok_or_else(not_found)?;
        // The invoice pays a bill; the bill must be this purchase's.
        let bill = match invoice.reference.as_deref() {
            Some(bill) => state.store.find_bill(bill).await?,
            None => None,
        };
        if bill.is_none_or(|b| b.subject_id != purchase.id.to_text()) {
            return Err(not_found());
        }
        let status = topups::settle(&state, &invoice).await?;
        return Ok(Json(PaymentStatus {
            status,
            amount: purchase.cost.currency.to_major(purchase.cost.total),
        }));
    }
    Ok(Json(PaymentStatus {
        status: match purchase.payment_status.as_str() {
            "paid" => "success",
            // Refunded in whole, or voided after a review: nothing is owed,
            // which seed 001 calls canceled.
            "refunded" | "void" => "canceled",
            _ => "pending",
        }
        .into(),
        amount: purchase.cost.currency.to_major(purchase.cost.total),
    }))
}

/// A wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    /// Balance, major units.
    pub balance: f64,
    /// ISO 4217.
    pub currency: String,
}

/// The caller's wallet (the ledger's balance).
#[utoipa::path(get, path = "/api/v1/wallet", tag = "payments",
    responses((status = 200, body = WalletView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn my_wallet(State(state): State<AppState>, who: SignedIn) -> ApiResult<Json<WalletView>> {
    let balance = state
        .store
        .account_balance(&plugway_app::wallet::wallet(&state, who.user.id))
        .await?;
    let currency = state.settings.wallet_currency;
    Ok(Json(WalletView {
        balance: currency.to_major(balance),
        currency: currency.code().to_owned(),
    }))
}

/// The `Idempotency-Key` header, scoped (`scope:key`) so keys of different
/// operations never collide; 422 when it is not 1 to 200 visible characters.
pub(crate) fn idempotency_key(headers: &HeaderMap, scope: &str) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "Idempotency-Key",
                        "must be 1 to 200 visible characters",
                    )
                })?;
            Ok(Some(format!("{scope}:{key}")))
        }
        None => Ok(None),
    }
}

/// Body of an admin's credit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreditBody {
    /// Major units, more than 0.
    pub amount: f64,
    /// Why (kept on the ledger entry).
    pub reason: String,
}

/// Credits a driver's wallet from the platform's promotions (goodwill,
/// credits). Send an `Idempotency-Key` header to make retries safe.
/// Roles: admins.
#[utoipa::path(post, path = "/api/v1/admin/wallets/{user}/credit", tag = "payments",
    params(("user" = String, Path, description = "the driver's account id"),
        ("Idempotency-Key" = Option<String>, Header)),
    request_body = CreditBody,
    responses((status = 200, body = WalletView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn credit(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(user): Path<String>,
    headers: HeaderMap,
    Json(body): Json<CreditBody>,
) -> ApiResult<Json<WalletView>> {
    let not_found = || ApiError::not_found("user_not_found", "no such account");
    let user: UserId = user.parse().map(UserId).map_err(|_| not_found())?;
    state.store.find_user(user).await?.ok_or_else(not_found)?;
    let currency = state.settings.wallet_currency;
    let amount = currency
        .to_minor(body.amount)
        .filter(|m| *m > 0 && *m <= 100_000_000_000)
        .ok_or_else(|| ApiError::invalid_field("amount", "must be a positive amount"))?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "reason",
            "must be 1 to 200 characters",
        ));
    }
    let key = idempotency_key(&headers, &format!("credit:{user}"))?;
    let balance = payments::credit_wallet(&state, user, amount, reason, key).await?;
    Ok(Json(WalletView {
        balance: currency.to_major(balance),
        currency: currency.code().to_owned(),
    }))
}
