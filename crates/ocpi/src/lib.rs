//! OCPI 2.2.1 on the wire (github.com/ocpi/ocpi, tag 2.2.1 with the d2
//! errata): the objects Plugway exchanges with roaming partners, the
//! response envelope, the status codes, and the checks that make a
//! partner's object trustworthy before anything of it is stored.
//!
//! Deserializing checks the shape (required fields, enum values, types);
//! [`Validate::validate`] then checks what serde cannot (string lengths,
//! CiString characters, coordinates, at least one connector). A failure of
//! either is OCPI status 2001 at the face.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod commands;
pub mod credentials;
pub mod envelope;
pub mod locations;
pub mod sessions;
pub mod tariffs;
pub mod time;
pub mod tokens;
pub mod validate;
pub mod versions;

pub use credentials::{BusinessDetails, Credentials, CredentialsRole, Role};
pub use envelope::{Envelope, OcpiStatus};
pub use locations::{Connector, Evse, GeoLocation, Location};
pub use tariffs::Tariff;
pub use tokens::Token;
pub use validate::{Invalid, Validate};
pub use versions::{Endpoint, InterfaceRole, ModuleId, Version, VersionDetails};

/// The one OCPI version Plugway speaks.
pub const VERSION: &str = "2.2.1";
