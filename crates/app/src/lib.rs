//! Plugway's application core: every use case of the platform, whichever
//! face asks for it (the HTTP API and its compatibility faces, GraphQL, the
//! OCPP central system, the CLI, the workers).
//!
//! A use case takes the [`App`] (the ports, the injected clock and id
//! generator, the settings) and domain types, and answers with domain types
//! or an [`AppError`], which names a reason, never a transport status. What
//! the core needs from the outside world it asks through the traits in
//! [`ports`] (and the storage port `plugway-store`, the event bus
//! `plugway-events`); the adapters that speak to real providers live in
//! `plugway-adapters` (and `plugway-media`, behind [`ports::images`]).
//!
//! The rooms:
//! - accounts and sign-in: [`accounts`], [`operators`], [`api_keys`],
//!   [`security`], [`ratelimit`];
//! - the network: [`network`], [`revisions`], [`search_index`],
//!   [`site_import`], [`images`], [`vehicles`];
//! - charging: [`sessions`] (the engine the OCPP face feeds), [`charging`]
//!   (drivers' start and finish), [`bookings`];
//! - money: [`wallet`], [`payments`], [`billing`], [`topups`], [`plans`];
//! - telling people: [`notify`], [`push`], [`live`], [`crm_outbox`];
//! - running in the background: [`workers`].

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod approvals;
pub mod billing;
pub mod bookings;
pub mod chargers;
pub mod charging;
pub mod console;
pub mod context;
pub mod crm_outbox;
pub mod earnings;
pub mod error;
pub mod event_access;
pub mod images;
pub mod live;
pub mod load;
pub mod network;
pub mod notify;
pub mod operators;
pub mod payments;
pub mod plans;
pub mod ports;
pub mod push;
pub mod ratelimit;
pub mod revisions;
pub mod roaming;
pub mod search_index;
pub mod security;
pub mod sessions;
pub mod site_import;
pub mod topups;
pub mod vehicles;
pub mod views;
pub mod wallet;
pub mod workers;

pub use context::{App, AppParts, AppSettings, NatsAccess};
pub use error::{AppError, AppResult, ErrorKind, Result};

/// This process's name among the nodes of a cluster: random, made once
/// (from the first app's id generator). Leases on background jobs and the
/// cluster's charger routing use it.
pub fn node_id(app: &App) -> &'static str {
    static NODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NODE.get_or_init(|| app.ids.new_uuid(app.clock.now()).simple().to_string())
}
