//! What OCPP 2.0.1 adds to a charge point's records: the version it speaks,
//! the link between a station's own transaction ids (strings) and ours, the
//! device model it reports, and the events it sends that are neither a
//! transaction, a status nor a reading.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::ChargePointId;

use crate::Result;

/// A 2.0.1 station's transaction, linked to ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTransaction {
    /// The station's `transactionId`.
    pub remote_id: String,
    /// Our transaction's id.
    pub transaction_id: i64,
    /// The highest `seqNo` of its TransactionEvents seen.
    pub last_seq_no: i64,
    /// Its first event carried no energy register: the transaction's
    /// start reading is the first one that arrives.
    pub start_missing: bool,
}

/// One attribute of one variable of a station's device model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceVariable {
    /// The component's name (`EVSE`, `SecurityCtrlr`, ...).
    pub component: String,
    /// Its instance, empty when it has none.
    pub component_instance: String,
    /// The EVSE it belongs to, 0 when none.
    pub evse_id: i64,
    /// The connector it belongs to, 0 when none.
    pub connector_id: i64,
    /// The variable's name.
    pub variable: String,
    /// Its instance, empty when it has none.
    pub variable_instance: String,
    /// `Actual`, `Target`, `MinSet` or `MaxSet`.
    pub attribute_type: String,
    /// The value as reported (absent for write-only ones).
    pub value: Option<String>,
    /// `ReadOnly`, `WriteOnly` or `ReadWrite`.
    pub mutability: Option<String>,
    /// The characteristics' data type.
    pub data_type: Option<String>,
    /// The characteristics' unit.
    pub unit: Option<String>,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
}

/// Something a station reported, kept as received.
#[derive(Debug, Clone, PartialEq)]
pub struct StationEvent {
    /// Its id (0 before it is stored).
    pub id: i64,
    /// The charge point.
    pub charge_point_id: ChargePointId,
    /// The action it came in (`NotifyEvent`, `SecurityEventNotification`, ...).
    pub kind: String,
    /// A short line to filter and list by (the security event's type, the
    /// log upload's status, ...).
    pub summary: Option<String>,
    /// The payload, as JSON text.
    pub body: String,
    /// When it happened, by the station's clock.
    pub occurred_at: DateTime<Utc>,
    /// When it reached us.
    pub received_at: DateTime<Utc>,
}

/// OCPP 2.0.1's records.
#[async_trait]
pub trait Ocpp201Store: Send + Sync {
    /// Records the OCPP version `charge_point` connected with.
    async fn set_ocpp_version(&self, charge_point: &ChargePointId, version: &str) -> Result<()>;
    /// The version it last connected with.
    async fn ocpp_version(&self, charge_point: &ChargePointId) -> Result<Option<String>>;
    /// Sets its security profile (1 to 3); false when there is no such
    /// charge point.
    async fn set_security_profile(
        &self,
        charge_point: &ChargePointId,
        profile: i64,
    ) -> Result<bool>;
    /// Links the station's `remote_id` to our `transaction_id` at `seq_no`
    /// (with its start reading still to come when `start_missing`), unless
    /// it is linked already; the link as it stands, or None when
    /// `transaction_id` is linked to another of the station's ids.
    async fn link_remote_transaction(
        &self,
        charge_point: &ChargePointId,
        remote_id: &str,
        transaction_id: i64,
        seq_no: i64,
        start_missing: bool,
    ) -> Result<Option<RemoteTransaction>>;
    /// Sets the start reading of an open transaction whose first event had
    /// none (its link's `start_missing`), once; true when it was set.
    async fn settle_start_reading(
        &self,
        charge_point: &ChargePointId,
        remote_id: &str,
        meter_start: i64,
    ) -> Result<bool>;
    /// Records the token an open transaction turned out to be for (its
    /// first event had none, or one that was refused), with the verdict.
    async fn authorize_remote_transaction(
        &self,
        transaction_id: i64,
        id_tag: &str,
        auth_status: &str,
    ) -> Result<()>;
    /// The link of the station's `remote_id`.
    async fn find_remote_transaction(
        &self,
        charge_point: &ChargePointId,
        remote_id: &str,
    ) -> Result<Option<RemoteTransaction>>;
    /// The id `charge_point` (a 2.0.1 station) gave our transaction.
    async fn remote_transaction_id(
        &self,
        charge_point: &ChargePointId,
        transaction_id: i64,
    ) -> Result<Option<String>>;
    /// Raises the highest `seqNo` seen for the station's `remote_id`.
    async fn note_seq_no(
        &self,
        charge_point: &ChargePointId,
        remote_id: &str,
        seq_no: i64,
    ) -> Result<()>;
    /// Stores reported device model attributes (the last report of each wins).
    async fn upsert_device_model(
        &self,
        charge_point: &ChargePointId,
        variables: &[DeviceVariable],
    ) -> Result<()>;
    /// The stored device model, ordered by component, variable and
    /// attribute, optionally of one component only; a page of `limit`.
    async fn list_device_model(
        &self,
        charge_point: &ChargePointId,
        component: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<DeviceVariable>>;
    /// Stores a station's event; its id.
    async fn record_station_event(&self, event: &StationEvent) -> Result<i64>;
    /// Deletes station events that reached us before `before`; how many.
    async fn purge_station_events(&self, before: DateTime<Utc>) -> Result<u64>;
    /// A charge point's events, newest first, optionally of one kind, with
    /// ids below `before` when given.
    async fn list_station_events(
        &self,
        charge_point: &ChargePointId,
        kind: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StationEvent>>;
}
