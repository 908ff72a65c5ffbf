//! Conformance cases for [`plugway_store::MeterReportStore`].

use chrono::NaiveDate;
use plugway_store::{MeterDataCounts, Store};

use super::make_charge_point;

/// Calls `$m!(case, ...)` with every meter-report case.
#[macro_export]
macro_rules! for_each_meter_report_case {
    ($m:ident) => {
        $m!(meter_data_counts_add_up_per_charger_and_day,);
    };
}

fn counts(received: i64, corrected: i64, unreadable: i64) -> MeterDataCounts {
    MeterDataCounts {
        received,
        corrected,
        unreadable,
    }
}

/// Counts from several flushes (several nodes) add up per charger and
/// day; a report starts at its day and lists oldest first.
pub async fn meter_data_counts_add_up_per_charger_and_day(store: &dyn Store) {
    let a = make_charge_point(store, "MR-A").await;
    let b = make_charge_point(store, "MR-B").await;
    let day1 = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let day2 = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    store
        .add_meter_data_counts(
            day1,
            &[(a.clone(), counts(10, 2, 1)), (b.clone(), counts(5, 0, 0))],
        )
        .await
        .unwrap();
    store
        .add_meter_data_counts(day1, &[(a.clone(), counts(3, 1, 0))])
        .await
        .unwrap();
    store
        .add_meter_data_counts(day2, &[(a.clone(), counts(4, 0, 4))])
        .await
        .unwrap();
    let report = store.meter_data_report(&a, day1).await.unwrap();
    let days: Vec<(NaiveDate, MeterDataCounts)> =
        report.into_iter().map(|d| (d.day, d.counts)).collect();
    assert_eq!(days, [(day1, counts(13, 3, 1)), (day2, counts(4, 0, 4))]);
    let later = store.meter_data_report(&a, day2).await.unwrap();
    assert_eq!(later.len(), 1);
    let other = store.meter_data_report(&b, day1).await.unwrap();
    assert_eq!(other.first().map(|d| d.counts), Some(counts(5, 0, 0)));
    store.add_meter_data_counts(day2, &[]).await.unwrap();
}
