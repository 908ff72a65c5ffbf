//! The store conformance suite on PostgreSQL (`PLUGWAY_TEST_DATABASE_URL`).

// Tests may read the real clock and make random names.
#![allow(clippy::disallowed_methods)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use plugway_store_conformance as conformance;
use plugway_store_postgres::testing::TestDatabase;

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(db) = TestDatabase::create(stringify!($name)).await else { return };
                conformance::$name(&db.store).await;
                db.finish().await;
            }
        )*
    };
}

conformance::for_each_case!(conformance_tests);
conformance::for_each_vehicle_case!(conformance_tests);
conformance::for_each_roaming_case!(conformance_tests);
conformance::for_each_cluster_case!(conformance_tests);
conformance::for_each_ocpp201_case!(conformance_tests);
conformance::for_each_load_case!(conformance_tests);
conformance::for_each_meter_report_case!(conformance_tests);
conformance::for_each_operator_case!(conformance_tests);
conformance::for_each_revision_case!(conformance_tests);
