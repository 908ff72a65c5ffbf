-- The central system: charge points, connectors, id tags and CRM customers,
-- transactions, meter samples, the OCPP message log and the outbox.

CREATE TABLE charge_points (
    id                       TEXT PRIMARY KEY NOT NULL,
    password_hash            TEXT,
    owner_id                 TEXT REFERENCES users (id),
    booted                   INTEGER NOT NULL DEFAULT 0,
    vendor                   TEXT,
    model                    TEXT,
    serial_number            TEXT,
    charge_box_serial_number TEXT,
    firmware_version         TEXT,
    iccid                    TEXT,
    imsi                     TEXT,
    meter_type               TEXT,
    meter_serial_number      TEXT,
    last_boot_at             INTEGER,
    last_heartbeat_at        INTEGER,
    connected                INTEGER NOT NULL DEFAULT 0,
    firmware_status          TEXT,
    firmware_status_at       INTEGER,
    diagnostics_status       TEXT,
    diagnostics_status_at    INTEGER,
    created_at               INTEGER NOT NULL
) STRICT;
CREATE INDEX charge_points_owner ON charge_points (owner_id, id);

CREATE TABLE connectors (
    charge_point_id   TEXT NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    connector_id      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    error_code        TEXT NOT NULL,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    timestamp         INTEGER NOT NULL,
    received_at       INTEGER NOT NULL,
    PRIMARY KEY (charge_point_id, connector_id)
) STRICT;

CREATE TABLE connector_status_history (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id   TEXT NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    connector_id      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    error_code        TEXT NOT NULL,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    timestamp         INTEGER NOT NULL,
    received_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX connector_status_history_cp ON connector_status_history (charge_point_id, connector_id, id);

CREATE TABLE id_tags (
    tag_key                 TEXT PRIMARY KEY NOT NULL,
    id_tag                  TEXT NOT NULL,
    parent_id_tag           TEXT,
    expiry                  INTEGER,
    max_active_transactions INTEGER NOT NULL,
    user_id                 TEXT REFERENCES users (id),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;

CREATE TABLE crm_customers (
    id                            INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id               TEXT NOT NULL REFERENCES charge_points (id),
    application                   TEXT NOT NULL,
    zoho_customer_id              TEXT NOT NULL,
    id_tag                        TEXT NOT NULL REFERENCES id_tags (tag_key),
    max_active_transactions_count INTEGER NOT NULL,
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX crm_customers_charge_point_id ON crm_customers (charge_point_id);
CREATE UNIQUE INDEX crm_customers_zoho_customer_id ON crm_customers (zoho_customer_id);

CREATE TABLE transactions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL REFERENCES charge_points (id),
    connector_id    INTEGER NOT NULL,
    id_tag          TEXT NOT NULL,
    tag_key         TEXT NOT NULL,
    meter_start     INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    reservation_id  INTEGER,
    auth_status     TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    meter_stop      INTEGER,
    stopped_at      INTEGER,
    stop_reason     TEXT,
    stop_id_tag     TEXT
) STRICT;
-- A charger that re-sends a StartTransaction gets the same transaction.
CREATE UNIQUE INDEX transactions_dedupe ON transactions (charge_point_id, connector_id, started_at, tag_key);
CREATE INDEX transactions_cp ON transactions (charge_point_id, id);
CREATE INDEX transactions_active_tag ON transactions (tag_key) WHERE stopped_at IS NULL;

CREATE TABLE meter_samples (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL,
    connector_id    INTEGER NOT NULL,
    transaction_id  INTEGER,
    timestamp       INTEGER NOT NULL,
    value           TEXT NOT NULL,
    context         TEXT,
    format          TEXT,
    measurand       TEXT,
    phase           TEXT,
    location        TEXT,
    unit            TEXT
) STRICT;
CREATE INDEX meter_samples_tx ON meter_samples (transaction_id, id) WHERE transaction_id IS NOT NULL;

CREATE TABLE ocpp_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL,
    direction       TEXT NOT NULL,
    frame           TEXT NOT NULL,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX ocpp_log_cp ON ocpp_log (charge_point_id, id);
CREATE INDEX ocpp_log_at ON ocpp_log (at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
