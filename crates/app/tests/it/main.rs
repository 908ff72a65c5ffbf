//! The core's integration tests: one binary (house style).

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod architecture;
