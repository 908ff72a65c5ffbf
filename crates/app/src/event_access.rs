//! Where a driver's app listens for its live events (seed 001's `nats`
//! object). With NATS in operator mode each sign-in mints credentials that
//! may subscribe to the driver's own topic only; without per-user
//! authorization the app gets the server and topic but no credentials; with
//! events in process the server is empty and the app listens on
//! `/api/v1/user/events` instead.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use plugway_domain::UserId;
use secrecy::ExposeSecret;

use crate::context::App;
use crate::error::{AppError, AppResult};

/// The `nats` object of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverNats {
    /// Server URL(s); empty when events stay in process.
    pub servers: String,
    /// The subject prefix of the driver's events (`{topic}.CHARGING`, ...).
    pub topic: String,
    /// The user JWT; empty without per-user credentials.
    pub user: String,
    /// The nkey seed that signs the server's nonce; empty without per-user
    /// credentials.
    pub pass: String,
    /// The same as a NATS `.creds` file, with credentials.
    pub creds: Option<String>,
    /// When the credentials expire, with credentials.
    pub expires_at: Option<DateTime<Utc>>,
}

impl DriverNats {
    /// Where to listen, without credentials.
    fn without_credentials(servers: String, topic: String) -> Self {
        Self {
            servers,
            topic,
            user: String::new(),
            pass: String::new(),
            creds: None,
            expires_at: None,
        }
    }
}

/// The driver's NATS access, with fresh credentials where they are minted.
pub fn driver_nats(state: &App, user: UserId) -> AppResult<DriverNats> {
    let id = user.to_text();
    let Some(access) = &state.nats else {
        return Ok(DriverNats::without_credentials(
            String::new(),
            format!("user.{id}"),
        ));
    };
    let topic = format!("{}.user.{id}", access.prefix);
    let Some(signer) = &access.signer else {
        return Ok(DriverNats::without_credentials(
            access.servers.clone(),
            topic,
        ));
    };
    let permissions = plugway_events::nats_auth::driver_permissions(&access.prefix, &id)
        .map_err(AppError::internal)?;
    let now = SystemTime::from(state.clock.now());
    let expires = now + access.ttl;
    let credentials = signer
        .user_credentials(&format!("driver-{id}"), &permissions, now, Some(expires))
        .map_err(AppError::internal)?;
    Ok(DriverNats {
        servers: access.servers.clone(),
        topic,
        user: credentials.jwt.clone(),
        pass: credentials.seed.expose_secret().to_owned(),
        creds: Some(credentials.creds_file().expose_secret().to_owned()),
        expires_at: Some(DateTime::<Utc>::from(expires)),
    })
}
