//! Razorpay (seed 000's RazerpayOrder and SignatureVerification): an order
//! is created server-side (`POST /v1/orders`, HTTP Basic with the key id and
//! secret, amounts in the currency's minor units), the app's checkout pays
//! it, and the checkout's result is trusted only with a valid signature:
//! HMAC-SHA256 of `order_id|payment_id` under the key secret. Webhooks carry
//! `X-Razorpay-Signature`, HMAC-SHA256 of the raw body under the webhook
//! secret. `GET /v1/orders/{id}/payments` says what was captured.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

use std::sync::Arc;

use plugway_app::ports::payments::{
    CheckoutGateway, GatewayError, IssuedInvoice, PaymentCheck, PaymentGateway,
};

use crate::read_reply;

/// Razorpay settings.
#[derive(Debug, Clone)]
pub struct RazorpayConfig {
    /// `https://api.razorpay.com`.
    pub base_url: String,
    /// Key id (`rzp_live_...`), also given to the app's checkout.
    pub key_id: String,
    /// Key secret.
    pub key_secret: SecretString,
    /// Webhook secret (set in Razorpay's dashboard).
    pub webhook_secret: Option<SecretString>,
}

/// The Razorpay adapter.
#[derive(Debug)]
pub struct Razorpay {
    config: RazorpayConfig,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Order {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Refunds {
    #[serde(default)]
    items: Vec<RefundEntity>,
}

#[derive(Debug, Deserialize)]
struct RefundEntity {
    id: String,
    #[serde(default)]
    receipt: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Payments {
    #[serde(default)]
    items: Vec<Payment>,
}

#[derive(Debug, Deserialize)]
struct Payment {
    #[serde(default)]
    id: String,
    status: String,
    amount: i64,
    currency: String,
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(e.to_string())
}

/// `hex(HMAC-SHA256(key, message)) == signature`, compared in constant time.
fn hmac_hex_matches(key: &[u8], message: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(&expected).is_ok()
}

impl Razorpay {
    /// An adapter; no call is made until it is used.
    pub fn new(config: RazorpayConfig) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(unavailable)?;
        Ok(Self { config, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// An order's payments (`GET /v1/orders/{id}/payments`).
    async fn order_payments(&self, order_id: &str) -> Result<Payments, GatewayError> {
        let response = self
            .http
            .get(self.url(&format!("/v1/orders/{order_id}/payments")))
            .basic_auth(
                &self.config.key_id,
                Some(self.config.key_secret.expose_secret()),
            )
            .send()
            .await
            .map_err(unavailable)?;
        Self::read(response).await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
    ) -> Result<T, GatewayError> {
        read_reply("Razorpay", response).await
    }
}

#[async_trait]
impl PaymentGateway for Razorpay {
    fn option(&self) -> &'static str {
        "RAZORPAY"
    }

    async fn create_invoice(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
        description: &str,
        _callback_url: &str,
    ) -> Result<IssuedInvoice, GatewayError> {
        // Razorpay's receipt is at most 40 characters.
        let receipt: String = reference.chars().take(40).collect();
        let response = self
            .http
            .post(self.url("/v1/orders"))
            .basic_auth(
                &self.config.key_id,
                Some(self.config.key_secret.expose_secret()),
            )
            .json(
                &json!({"amount": amount, "currency": currency, "receipt": receipt,
                          "notes": {"description": description}}),
            )
            .send()
            .await
            .map_err(unavailable)?;
        let order: Order = Self::read(response).await?;
        Ok(IssuedInvoice {
            url: format!("razorpay:{}", order.id),
            gateway_invoice_id: order.id,
        })
    }

    /// Razorpay's refund API: the order's captured payment, its refunds (a
    /// retry finds its own by `receipt`), then `POST /v1/payments/{id}/refund`.
    async fn refund(
        &self,
        order_id: &str,
        amount: i64,
        reference: &str,
    ) -> Result<String, GatewayError> {
        let auth = (
            &self.config.key_id,
            Some(self.config.key_secret.expose_secret()),
        );
        let payments = self.order_payments(order_id).await?;
        let payment = payments
            .items
            .iter()
            .find(|p| p.status == "captured" || p.status == "refunded")
            .ok_or_else(|| GatewayError::Refused("the order has no captured payment".into()))?;
        let response = self
            .http
            .get(self.url(&format!("/v1/payments/{}/refunds", payment.id)))
            .basic_auth(auth.0, auth.1)
            .send()
            .await
            .map_err(unavailable)?;
        let refunds: Refunds = Self::read(response).await?;
        if let Some(done) = refunds
            .items
            .iter()
            .find(|r| r.receipt.as_deref() == Some(reference))
        {
            return Ok(done.id.clone());
        }
        let response = self
            .http
            .post(self.url(&format!("/v1/payments/{}/refund", payment.id)))
            .basic_auth(auth.0, auth.1)
            .json(&serde_json::json!({"amount": amount, "speed": "normal", "receipt": reference}))
            .send()
            .await
            .map_err(unavailable)?;
        let refund: RefundEntity = Self::read(response).await?;
        Ok(refund.id)
    }

    async fn check(&self, order_id: &str) -> Result<PaymentCheck, GatewayError> {
        let payments = self.order_payments(order_id).await?;
        let captured: Vec<&Payment> = payments
            .items
            .iter()
            .filter(|p| p.status == "captured")
            .collect();
        Ok(PaymentCheck {
            paid: !captured.is_empty(),
            paid_amount: captured
                .iter()
                .map(|p| p.amount)
                .fold(0i64, i64::saturating_add),
            currency: captured.first().map(|p| p.currency.clone()),
        })
    }
}

impl CheckoutGateway for Razorpay {
    /// The key id the app's checkout needs.
    fn key_id(&self) -> &str {
        &self.config.key_id
    }

    /// Whether a checkout result is Razorpay's: the signature of
    /// `order_id|payment_id` under the key secret.
    fn payment_signature_ok(&self, order_id: &str, payment_id: &str, signature: &str) -> bool {
        hmac_hex_matches(
            self.config.key_secret.expose_secret().as_bytes(),
            format!("{order_id}|{payment_id}").as_bytes(),
            signature,
        )
    }

    /// Whether a webhook body is Razorpay's (`X-Razorpay-Signature`).
    /// Without a configured webhook secret nothing is.
    fn webhook_signature_ok(&self, body: &[u8], signature: &str) -> bool {
        self.config.webhook_secret.as_ref().is_some_and(|secret| {
            hmac_hex_matches(secret.expose_secret().as_bytes(), body, signature)
        })
    }

    fn into_payment_gateway(self: Arc<Self>) -> Arc<dyn PaymentGateway> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex_of_order_and_payment() {
        let rzp = Razorpay::new(RazorpayConfig {
            base_url: "http://127.0.0.1:9".into(),
            key_id: "rzp_test_1".into(),
            key_secret: "secret".to_owned().into(),
            webhook_secret: Some("hook".to_owned().into()),
        })
        .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"order_1|pay_1");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(rzp.payment_signature_ok("order_1", "pay_1", &good));
        assert!(!rzp.payment_signature_ok("order_1", "pay_2", &good));
        assert!(!rzp.payment_signature_ok("order_1", "pay_1", "zz"));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"hook").unwrap();
        mac.update(b"{}");
        let hook = hex::encode(mac.finalize().into_bytes());
        assert!(rzp.webhook_signature_ok(b"{}", &hook));
        assert!(!rzp.webhook_signature_ok(b"{ }", &hook));
    }
}
