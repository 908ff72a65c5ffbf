//! The meter-data report: per charger and day, how many sampled values
//! came in, how many a meter quirk corrected, and how many no rule reads
//! (docs/ocpp.md, "Meter quirks"). Nodes add their counts every few
//! seconds; the report sums them.

use async_trait::async_trait;
use chrono::NaiveDate;
use plugway_domain::ChargePointId;

use crate::Result;

/// Counts of sampled values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeterDataCounts {
    /// Sampled values received (MeterValues, StopTransaction's
    /// transactionData, 2.0.1 TransactionEvent and MeterValues).
    pub received: i64,
    /// Of those, values a meter quirk corrected.
    pub corrected: i64,
    /// Of those, values no rule reads (not a number, an unknown unit):
    /// stored, never billed.
    pub unreadable: i64,
}

impl MeterDataCounts {
    /// Adds `other` (saturating).
    pub fn add(&mut self, other: &MeterDataCounts) {
        self.received = self.received.saturating_add(other.received);
        self.corrected = self.corrected.saturating_add(other.corrected);
        self.unreadable = self.unreadable.saturating_add(other.unreadable);
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        *self == MeterDataCounts::default()
    }
}

/// One day of a charger's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDataDay {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Its counts.
    pub counts: MeterDataCounts,
}

/// Storage for the meter-data report.
#[async_trait]
pub trait MeterReportStore: Send + Sync {
    /// Adds each charger's counts to its row of `day`, in one transaction.
    async fn add_meter_data_counts(
        &self,
        day: NaiveDate,
        counts: &[(ChargePointId, MeterDataCounts)],
    ) -> Result<()>;
    /// A charger's days from `from` on, oldest first.
    async fn meter_data_report(
        &self,
        charge_point: &ChargePointId,
        from: NaiveDate,
    ) -> Result<Vec<MeterDataDay>>;
}
