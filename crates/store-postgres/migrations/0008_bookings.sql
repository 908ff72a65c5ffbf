-- Bookings: a driver holds one EVSE for a half-open slot [starts_at, ends_at).
-- No two live bookings of an EVSE overlap, whatever races: the exclusion
-- constraint below refuses the second of two overlapping inserts even when
-- both checked first and saw nothing. (btree_gist lets `=` on the EVSE id
-- share a GiST index with `&&` on the range.)
-- `seq` numbers bookings for the OCPP reservation id chargers need.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE bookings (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                 TEXT PRIMARY KEY NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id),
    evse_id            TEXT NOT NULL REFERENCES evses (id) ON DELETE CASCADE,
    site_id            TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    host_id            TEXT NOT NULL REFERENCES users (id),
    vehicle_id         TEXT,
    starts_at          BIGINT NOT NULL,
    ends_at            BIGINT NOT NULL CHECK (ends_at > starts_at),
    status             TEXT NOT NULL,
    live               BOOLEAN NOT NULL,
    currency           TEXT NOT NULL,
    estimate           BIGINT NOT NULL,
    estimate_energy_wh BIGINT NOT NULL,
    cancelled_by       TEXT,
    cancel_reason      TEXT,
    session_id         TEXT,
    hold               TEXT NOT NULL,
    hold_attempt_at    BIGINT NOT NULL,
    reminded_at        BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        evse_id WITH =,
        int8range(starts_at, ends_at) WITH &&
    ) WHERE (live)
);
CREATE INDEX bookings_user ON bookings (user_id, starts_at);
CREATE INDEX bookings_host ON bookings (host_id, status, starts_at);
CREATE INDEX bookings_due ON bookings (status, starts_at);
