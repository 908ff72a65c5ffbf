//! Firebase Cloud Messaging, HTTP v1 API.
//!
//! Authentication is OAuth 2.0 with a service account: a JWT signed with the
//! account's RSA key (RS256; `iss` = the account's e-mail, `scope` =
//! `https://www.googleapis.com/auth/firebase.messaging`, `aud` = its
//! `token_uri`, an hour's lifetime) is exchanged at `token_uri` for an
//! access token (the `urn:ietf:params:oauth:grant-type:jwt-bearer` grant).
//! The access token is cached until a minute before it expires and sent as
//! `Authorization: Bearer` to `POST {base}/v1/projects/{project}/messages:send`.
//!
//! Errors follow FCM's documented `ErrorCode`s: `UNREGISTERED` (404), and
//! `INVALID_ARGUMENT` (400) about the token, mean the token is dead;
//! `SENDER_ID_MISMATCH` (403) means it belongs to another project and will
//! never work with ours; 429, 500 and 503 are retried (honouring
//! `Retry-After`); 401 drops the cached access token and is retried.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use plugway_app::push::{PushError, PushGateway, PushMessage};

/// The OAuth scope FCM's HTTP v1 API needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Google's API host for FCM.
pub const FCM_BASE_URL: &str = "https://fcm.googleapis.com";
/// Google's OAuth token endpoint (service accounts name it as `token_uri`).
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// A refreshed access token is taken this long before its expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The fields of a Google service-account key file that FCM needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// The Firebase project.
    pub project_id: String,
    /// The account (the JWT's `iss`).
    pub client_email: String,
    /// PEM (PKCS#8) RSA private key.
    pub private_key: SecretString,
    /// Id of that key (the JWT's `kid`).
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// Where access tokens come from.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    GOOGLE_TOKEN_URL.into()
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a service-account key file's JSON.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let account: Self =
            serde_json::from_str(text).map_err(|e| format!("not a service-account key: {e}"))?;
        if account.project_id.trim().is_empty() || account.client_email.trim().is_empty() {
            return Err("project_id and client_email must not be empty".into());
        }
        EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
            .map_err(|e| format!("private_key is not a PEM RSA key: {e}"))?;
        Ok(account)
    }
}

/// The JWT-bearer assertion's claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// The service account.
    pub iss: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued (Unix seconds).
    pub iat: i64,
    /// Expires (Unix seconds), at most an hour after `iat`.
    pub exp: i64,
}

#[derive(Debug, Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default = "default_expiry")]
    expires_in: u64,
}

fn default_expiry() -> u64 {
    3600
}

struct CachedToken {
    token: SecretString,
    renew_at: Instant,
}

/// The FCM HTTP v1 adapter.
pub struct Fcm {
    account: ServiceAccount,
    key: EncodingKey,
    base_url: String,
    token_url: String,
    client: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for Fcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fcm")
            .field("account", &self.account)
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl Fcm {
    /// An adapter for `account`. `base_url` replaces FCM's API host and
    /// `token_url` the account's `token_uri` (both for tests and proxies).
    pub fn new(
        account: ServiceAccount,
        base_url: Option<String>,
        token_url: Option<String>,
    ) -> Result<Self, String> {
        let key = EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
            .map_err(|e| format!("private_key is not a PEM RSA key: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            token_url: token_url.unwrap_or_else(|| account.token_uri.clone()),
            base_url: base_url
                .unwrap_or_else(|| FCM_BASE_URL.into())
                .trim_end_matches('/')
                .to_owned(),
            account,
            key,
            client,
            token: Mutex::new(None),
        })
    }

    /// The signed JWT-bearer assertion, issued at `now` (Unix seconds).
    pub fn assertion(&self, now: i64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.account.private_key_id.clone();
        let claims = AssertionClaims {
            iss: self.account.client_email.clone(),
            scope: FCM_SCOPE.into(),
            // Google checks `aud` against its token endpoint; the account's
            // own `token_uri` is what its documentation says to use.
            aud: self.account.token_uri.clone(),
            iat: now,
            exp: now + 3600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }

    async fn access_token(&self) -> Result<SecretString, PushError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.token.clone());
        }
        // Google checks `iat` against real time, whatever clock the rest
        // of the system runs on.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let assertion = self
            .assertion(now)
            .map_err(|e| PushError::Rejected(format!("cannot sign the assertion: {e}")))?;
        let response = self
            .client
            .post(&self.token_url)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| retry(format!("token endpoint unreachable: {e}"), None))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            tracing::error!(%status, body = %text, "FCM access token refused; check [push] fcm_credentials_file");
            return Err(retry(format!("token endpoint answered {status}"), None));
        }
        let reply: TokenReply = response
            .json()
            .await
            .map_err(|e| retry(format!("token endpoint reply unreadable: {e}"), None))?;
        let lifetime = Duration::from_secs(reply.expires_in).saturating_sub(REFRESH_MARGIN);
        let token = SecretString::from(reply.access_token);
        *cached = Some(CachedToken {
            token: token.clone(),
            renew_at: Instant::now() + lifetime,
        });
        Ok(token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }
}

fn retry(reason: String, after: Option<Duration>) -> PushError {
    PushError::Retry { reason, after }
}

/// FCM's `ErrorCode` from an error body's details, with the body's status and message.
fn classify(status: reqwest::StatusCode, body: &Value, retry_after: Option<Duration>) -> PushError {
    let error = body.get("error").cloned().unwrap_or(Value::Null);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let details = error
        .get("details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let fcm_code = details
        .iter()
        .find_map(|d| d.get("errorCode").and_then(Value::as_str))
        .map(str::to_owned)
        .or_else(|| {
            error
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let about_token = details.iter().any(|d| {
        d.get("fieldViolations")
            .and_then(Value::as_array)
            .is_some_and(|v| {
                v.iter()
                    .any(|f| f.get("field").and_then(Value::as_str) == Some("message.token"))
            })
    }) || message.to_ascii_lowercase().contains("registration token");
    let why = format!("{status} {fcm_code}: {message}");
    match (status.as_u16(), fcm_code.as_str()) {
        // Only FCM's own word kills a token: a bare 404 may come from a
        // mistyped base URL or a proxy, and would unregister every device.
        (_, "UNREGISTERED") => PushError::DeadToken(why),
        (_, "SENDER_ID_MISMATCH") => PushError::DeadToken(why),
        (400, _) | (_, "INVALID_ARGUMENT") if about_token => PushError::DeadToken(why),
        (429 | 500 | 502 | 503 | 504, _) => retry(why, retry_after),
        (_, "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL") => retry(why, retry_after),
        _ => PushError::Rejected(why),
    }
}

#[async_trait]
impl PushGateway for Fcm {
    async fn send(&self, message: &PushMessage) -> Result<String, PushError> {
        let token = self.access_token().await?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.base_url, self.account.project_id
        );
        let body = json!({"message": {
            "token": message.token,
            "notification": {"title": message.title, "body": message.body},
            "data": message.data,
        }});
        let response = self
            .client
            .post(&url)
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| retry(format!("FCM unreachable: {e}"), None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(reply
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // The access token expired or was revoked early: get a new one.
            self.forget_token().await;
            return Err(retry(format!("FCM answered {status}"), None));
        }
        Err(classify(status, &reply, retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fcm_error(code: u16, status: &str, error_code: Option<&str>) -> Value {
        let mut details = vec![];
        if let Some(e) = error_code {
            details.push(json!({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": e}));
        }
        json!({"error": {"code": code, "message": "x", "status": status, "details": details}})
    }

    #[test]
    fn fcm_errors_are_classified_as_documented() {
        let s = reqwest::StatusCode::from_u16;
        assert!(matches!(
            classify(
                s(404).unwrap(),
                &fcm_error(404, "NOT_FOUND", Some("UNREGISTERED")),
                None
            ),
            PushError::DeadToken(_)
        ));
        assert!(matches!(
            classify(
                s(503).unwrap(),
                &fcm_error(503, "UNAVAILABLE", Some("UNAVAILABLE")),
                Some(Duration::from_secs(5))
            ),
            PushError::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            classify(
                s(429).unwrap(),
                &fcm_error(429, "RESOURCE_EXHAUSTED", Some("QUOTA_EXCEEDED")),
                None
            ),
            PushError::Retry { .. }
        ));
        // A bad payload is not the token's fault: never prune for it.
        assert!(matches!(
            classify(
                s(400).unwrap(),
                &fcm_error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT")),
                None
            ),
            PushError::Rejected(_)
        ));
        let bad_token = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "The registration token is not a valid FCM registration token",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]}});
        assert!(matches!(
            classify(s(400).unwrap(), &bad_token, None),
            PushError::DeadToken(_)
        ));
        assert!(matches!(
            classify(
                s(403).unwrap(),
                &fcm_error(403, "PERMISSION_DENIED", Some("SENDER_ID_MISMATCH")),
                None
            ),
            PushError::DeadToken(_)
        ));
    }
}
