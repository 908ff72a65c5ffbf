-- OCPP 2.0.1 beside 1.6J (docs/ocpp.md).
--
-- The version a charge point last connected with ('1.6' or '2.0.1'),
-- negotiated from the subprotocols it offered.
ALTER TABLE charge_points ADD COLUMN ocpp_version TEXT;

-- Its OCPP security profile: 1 and 2 sign in with Basic auth (2 over TLS),
-- 3 with a client certificate issued by the configured station CA whose
-- common name is its id.
ALTER TABLE charge_points ADD COLUMN security_profile INTEGER NOT NULL DEFAULT 1;

-- A 2.0.1 station names its transactions itself (a string); our
-- transactions, sessions and purchases keep their integer id. One row
-- links the two, with the highest seqNo of the transaction's events seen,
-- and whether the start reading is still to come (the first event carried
-- no energy register: the first reading that arrives is the start).
CREATE TABLE ocpp201_transactions (
    charge_point_id TEXT NOT NULL REFERENCES charge_points (id),
    remote_id       TEXT NOT NULL,
    transaction_id  INTEGER NOT NULL UNIQUE REFERENCES transactions (id),
    last_seq_no     INTEGER NOT NULL,
    start_missing   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (charge_point_id, remote_id)
) STRICT;

-- The device model a 2.0.1 station reports (NotifyReport): one row per
-- component, variable and attribute, the last reported value.
CREATE TABLE device_model (
    charge_point_id    TEXT NOT NULL REFERENCES charge_points (id),
    component          TEXT NOT NULL,
    component_instance TEXT NOT NULL,
    evse_id            INTEGER NOT NULL,
    connector_id       INTEGER NOT NULL,
    variable           TEXT NOT NULL,
    variable_instance  TEXT NOT NULL,
    attribute_type     TEXT NOT NULL,
    value              TEXT,
    mutability         TEXT,
    data_type          TEXT,
    unit               TEXT,
    reported_at        INTEGER NOT NULL,
    PRIMARY KEY (charge_point_id, component, component_instance, evse_id, connector_id,
                 variable, variable_instance, attribute_type)
) STRICT;

-- What a station reports that is not a transaction, a status or a reading:
-- NotifyEvent, SecurityEventNotification, LogStatusNotification,
-- ReservationStatusUpdate, charging limits and needs, ... kept as received
-- (the payload's JSON) with a short summary to filter on.
CREATE TABLE station_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL REFERENCES charge_points (id),
    kind            TEXT NOT NULL,
    summary         TEXT,
    body            TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX station_events_cp ON station_events (charge_point_id, id);
