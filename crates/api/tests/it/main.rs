//! The HTTP API over a real socket, on SQLite and on PostgreSQL.

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod harness;

mod admin;
mod bad_input;
mod billing;
mod bookings;
mod charging;
mod charging_sessions;
mod content;
mod cpo_accounts;
mod graphql;
mod load_management;
mod network;
mod notifications;
mod ocpi;
mod ocpi_interop;
mod openapi;
mod plans;
mod razorpay;
mod revisions;
mod schema_mirrors;
mod search_index;
mod seed000;
mod seed001;
mod seed002;
mod seed003;
mod seed_endpoints;
mod sessions;
mod site_import;
mod topups;
mod vehicles;
