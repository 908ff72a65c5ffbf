//! Calls to roaming partners' OCPI 2.2.1 endpoints over HTTP, behind the
//! core's [`OcpiClient`] port.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use plugway_app::ports::ocpi::{OcpiCallError, OcpiClient, OcpiMethod, OcpiReply, OcpiRequest};

/// The largest partner answer read (a page of locations is well below).
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// An HTTP client for partners, with a timeout per call.
#[derive(Debug, Clone)]
pub struct HttpOcpiClient {
    client: reqwest::Client,
}

impl HttpOcpiClient {
    /// A client whose calls give up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A partner's redirect would carry our token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "plugway/",
                env!("CARGO_PKG_VERSION"),
                " (OCPI 2.2.1)"
            ))
            .build()?;
        Ok(Self { client })
    }
}

#[async_trait]
impl OcpiClient for HttpOcpiClient {
    async fn call(&self, r: OcpiRequest<'_>) -> Result<OcpiReply, OcpiCallError> {
        let url = reqwest::Url::parse(r.url)
            .map_err(|e| OcpiCallError::Unreachable(format!("`{}` is not a URL: {e}", r.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OcpiCallError::Unreachable(format!(
                "`{}` is not an http(s) URL",
                r.url
            )));
        }
        let method = match r.method {
            OcpiMethod::Get => reqwest::Method::GET,
            OcpiMethod::Post => reqwest::Method::POST,
            OcpiMethod::Put => reqwest::Method::PUT,
            OcpiMethod::Patch => reqwest::Method::PATCH,
            OcpiMethod::Delete => reqwest::Method::DELETE,
        };
        // 2.2.1 sends the token base64-encoded (2.1.1 sent it raw; both
        // are read by partners that follow the errata).
        let token = base64::engine::general_purpose::STANDARD.encode(r.token);
        let mut request = self
            .client
            .request(method, url)
            .header("authorization", format!("Token {token}"))
            .header("x-request-id", &r.request_id)
            .header("x-correlation-id", &r.correlation_id);
        if let Some(route) = &r.route {
            request = request
                .header("ocpi-from-country-code", &route.from_country_code)
                .header("ocpi-from-party-id", &route.from_party_id)
                .header("ocpi-to-country-code", &route.to_country_code)
                .header("ocpi-to-party-id", &route.to_party_id);
        }
        if let Some(body) = &r.body {
            request = request.json(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| OcpiCallError::Unreachable(e.to_string()))?;
        let http_status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let next_page = response
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find(|link| link.contains("rel=\"next\""))
            .and_then(|link| link.split(';').next())
            .map(|url| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            });
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| OcpiCallError::Unreachable(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(OcpiCallError::NotOcpi("the answer is too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            OcpiCallError::NotOcpi(format!(
                "HTTP {http_status}, not JSON ({e}): {}",
                String::from_utf8_lossy(bytes.get(..200).unwrap_or(&bytes))
            ))
        })?;
        let status_code = body
            .get("status_code")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0);
        Ok(OcpiReply {
            http_status,
            status_code,
            status_message: body
                .get("status_message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            data: body.get("data").cloned().unwrap_or(serde_json::Value::Null),
            location,
            next_page,
        })
    }
}
