-- Charging sessions, their purchases, and EVSE tariffs beyond the simple
-- prices on the EVSE row. Sessions and purchases keep plain ids of EVSEs and
-- hosts (no foreign keys): a deleted EVSE must not erase what was charged.

CREATE TABLE evse_tariffs (
    evse_id    TEXT PRIMARY KEY NOT NULL REFERENCES evses (id) ON DELETE CASCADE,
    tariff     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE charging_sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT,
    evse_id         TEXT,
    host_id         TEXT,
    charge_point_id TEXT NOT NULL,
    connector_id    BIGINT NOT NULL,
    id_tag          TEXT NOT NULL,
    origin          TEXT NOT NULL,
    state           TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    transaction_id  BIGINT,
    tariff          TEXT NOT NULL,
    meter_start_wh  BIGINT,
    last_meter_wh   BIGINT,
    last_meter_at   BIGINT,
    waiting         TEXT NOT NULL,
    failure         TEXT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    stopped_at      BIGINT,
    purchase_id     TEXT,
    updated_at      BIGINT NOT NULL
);
-- One active session per connector, whatever races the API and the charger run.
CREATE UNIQUE INDEX charging_sessions_connector_active
    ON charging_sessions (charge_point_id, connector_id) WHERE active = TRUE;
CREATE UNIQUE INDEX charging_sessions_transaction
    ON charging_sessions (transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX charging_sessions_user_active ON charging_sessions (user_id) WHERE active = TRUE;
CREATE INDEX charging_sessions_active ON charging_sessions (created_at) WHERE active = TRUE;

CREATE TABLE purchases (
    id                   TEXT PRIMARY KEY NOT NULL,
    session_id           TEXT NOT NULL,
    user_id              TEXT,
    host_id              TEXT,
    evse_id              TEXT,
    charge_point_id      TEXT NOT NULL,
    connector_id         BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    amount               BIGINT NOT NULL,
    tax                  BIGINT NOT NULL,
    energy_wh            BIGINT NOT NULL,
    cost                 TEXT NOT NULL,
    tariff               TEXT NOT NULL,
    started_at           BIGINT NOT NULL,
    stopped_at           BIGINT NOT NULL,
    payment_status       TEXT NOT NULL,
    feedback_score       BIGINT,
    feedback_description TEXT,
    feedback_at          BIGINT,
    created_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX purchases_session ON purchases (session_id);
CREATE INDEX purchases_user ON purchases (user_id, created_at);
CREATE INDEX purchases_host ON purchases (host_id, stopped_at);
