//! The NATS bus against real servers: the shared one at
//! `PLUGWAY_TEST_NATS_URL`, and nats-servers of the tests' own for restarts
//! and operator-mode authorization.

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod auth;
mod bus;
mod restart;
mod support;
