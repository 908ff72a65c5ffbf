//! Test support: see `plugway_events::testing`.

pub use plugway_events::testing::*;
