//! The core's one error type. A use case fails for a reason the caller can
//! act on ([`ErrorKind`]), named by a stable snake_case `code` and explained
//! by a human `message`. It carries no transport status: each face maps the
//! kind to its own (HTTP status in `plugway-api`, an OCPI status, a
//! CALLERROR). Causes of internal failures are logged here, never carried.

use plugway_domain::{PhoneError, ValidationError};
use plugway_store::StoreError;

/// Why a use case failed, as the caller should treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is malformed (a bad id, an unreadable file).
    BadRequest,
    /// One input field is invalid (`field` names it).
    InvalidField,
    /// No valid credentials (or expired ones).
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// No such resource (or not one the caller may see).
    NotFound,
    /// The current state of things forbids it (taken, already done,
    /// insufficient funds, a slot in use).
    Conflict,
    /// Too many attempts; `retry_after` says when to try again.
    RateLimited,
    /// A part we depend on is down (database, charger offline, no SMS
    /// provider); try again later.
    Unavailable,
    /// An outside service (a payment gateway, the SMS provider) refused or
    /// failed.
    Upstream,
    /// A charger or provider did not answer in time.
    TimedOut,
    /// An upload is larger than allowed.
    TooLarge,
    /// An upload is of a type we do not take.
    UnsupportedType,
    /// A bug or an unexpected failure on our side.
    Internal,
}

/// A failed use case.
#[derive(Debug, Clone)]
pub struct AppError {
    /// How to treat it.
    pub kind: ErrorKind,
    /// Stable, machine-readable, snake_case.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<&'static str>,
    /// Seconds to wait before trying again (rate limits, outages).
    pub retry_after: Option<u64>,
}

/// `Result` with [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    /// An error of a kind, with code and message.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// The request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    /// No valid credentials.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, message)
    }

    /// Not allowed (code `forbidden`).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    /// No such resource.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    /// The state of things forbids it.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// Too many attempts; try again in `retry_after_secs` (at least 1).
    pub fn rate_limited(
        code: &'static str,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorKind::RateLimited, code, message)
        }
    }

    /// Something we depend on is down.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, code, message)
    }

    /// An outside service refused or failed.
    pub fn upstream(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, code, message)
    }

    /// A charger or provider did not answer in time.
    pub fn timed_out(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TimedOut, code, message)
    }

    /// Our failure; the cause is logged here and not carried.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(
            ErrorKind::Internal,
            "internal",
            "something went wrong on our side",
        )
    }

    /// The same error under a more specific code.
    pub fn with_code(self, code: &'static str) -> Self {
        Self { code, ..self }
    }

    /// The same error with a hint of when to try again.
    pub fn retry_after(self, secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..self
        }
    }

    /// One bad field.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(
                ErrorKind::InvalidField,
                "invalid_field",
                format!("{field}: {}", message.into()),
            )
        }
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        Self::invalid_field(e.field, e.message)
    }
}

impl From<PhoneError> for AppError {
    fn from(e: PhoneError) -> Self {
        Self::invalid_field("phone", e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("not_found", "no such resource"),
            StoreError::Conflict(what) => {
                Self::conflict("conflict", format!("{what} is already taken"))
            }
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                Self::unavailable("unavailable", "the database is unavailable; try again")
                    .retry_after(5)
            }
            StoreError::Other(cause) => Self::internal(cause),
        }
    }
}

/// `Result` with [`AppError`], for signatures that read better with one parameter.
pub type AppResult<T> = std::result::Result<T, AppError>;
