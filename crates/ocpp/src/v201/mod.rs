//! OCPP 2.0.1 beside 1.6J on the same endpoint (docs/ocpp.md).
//!
//! A connection that negotiated `ocpp2.0.1` is framed, logged, registered
//! and reached exactly as a 1.6 one ([`crate::server`]); only its payloads
//! differ. Each payload is checked against the official schema
//! ([`schemas`]), requests from the station are handled here
//! ([`handlers`]) and drive the same charging engine as 1.6's, and the
//! central system's commands are put in 2.0.1's words ([`commands`]).

pub mod commands;
pub mod handlers;
pub mod schemas;

/// Actions a station sends to the CSMS.
pub const INBOUND: [&str; 25] = [
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "DataTransfer",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
];

/// Actions the CSMS sends to a station (the commands API takes each).
pub const OUTBOUND: [&str; 40] = plugway_events::OCPP201_ACTIONS;
