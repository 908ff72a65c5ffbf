//! Calls to roaming partners' OCPI endpoints. The core decides what is
//! asked of whom with which token ([`crate::roaming`]); the adapter only
//! carries the request: the `Authorization: Token` header, the request and
//! correlation ids, the routing headers, the envelope.

use async_trait::async_trait;

/// An HTTP method a partner is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcpiMethod {
    /// Read.
    Get,
    /// Create (credentials, CDRs, commands).
    Post,
    /// Replace.
    Put,
    /// Merge.
    Patch,
    /// Remove.
    Delete,
}

/// One call to a partner.
#[derive(Debug, Clone)]
pub struct OcpiRequest<'a> {
    /// Method.
    pub method: OcpiMethod,
    /// The full URL (from the partner's versions or details).
    pub url: &'a str,
    /// The token the partner gave us (sent base64-encoded).
    pub token: &'a str,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
    /// `OCPI-from-*` (our party code) and `OCPI-to-*` (theirs), for hubs.
    pub route: Option<OcpiRoute>,
    /// `X-Request-ID`: new for every call.
    pub request_id: String,
    /// `X-Correlation-ID`: the same across the calls of one exchange.
    pub correlation_id: String,
}

/// The party codes of a call, for the routing headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpiRoute {
    /// Our country code.
    pub from_country_code: String,
    /// Our party id.
    pub from_party_id: String,
    /// Theirs.
    pub to_country_code: String,
    /// Theirs.
    pub to_party_id: String,
}

/// What a partner answered.
#[derive(Debug, Clone)]
pub struct OcpiReply {
    /// The HTTP status.
    pub http_status: u16,
    /// The envelope's `status_code` (0 when the body was no envelope).
    pub status_code: u16,
    /// The envelope's `status_message`.
    pub status_message: Option<String>,
    /// The envelope's `data` (null when absent).
    pub data: serde_json::Value,
    /// The `Location` header (a CDR's URL), when given.
    pub location: Option<String>,
    /// The next page's URL, from `Link: <url>; rel="next"`.
    pub next_page: Option<String>,
}

impl OcpiReply {
    /// Whether the partner took it: 2xx and an OCPI success code.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.http_status)
            && plugway_ocpi::envelope::OcpiStatus::is_success(self.status_code)
    }
}

/// Why a call got no answer to read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OcpiCallError {
    /// Not reachable, timed out, or the URL is not one we call.
    #[error("the partner could not be reached: {0}")]
    Unreachable(String),
    /// It answered something that is not an OCPI envelope.
    #[error("the partner's answer is not an OCPI response: {0}")]
    NotOcpi(String),
}

/// Calls partners.
#[async_trait]
pub trait OcpiClient: Send + Sync + std::fmt::Debug {
    /// Makes one call and reads the envelope.
    async fn call(&self, request: OcpiRequest<'_>) -> Result<OcpiReply, OcpiCallError>;
}

/// For set-ups without roaming (and tests that never call out): every call
/// fails as unreachable.
#[derive(Debug, Default)]
pub struct NoOcpiClient;

#[async_trait]
impl OcpiClient for NoOcpiClient {
    async fn call(&self, request: OcpiRequest<'_>) -> Result<OcpiReply, OcpiCallError> {
        Err(OcpiCallError::Unreachable(format!(
            "no OCPI client is configured (calling {})",
            request.url
        )))
    }
}
