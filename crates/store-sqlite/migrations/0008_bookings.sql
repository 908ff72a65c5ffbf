-- Bookings: a driver holds one EVSE for a half-open slot [starts_at, ends_at).
-- No two live bookings of an EVSE overlap: on SQLite the single writer
-- connection runs the overlap check and the insert in one transaction, so
-- nothing can slip between them.
-- `seq` numbers bookings for the OCPP reservation id chargers need.

CREATE TABLE bookings (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    user_id            TEXT NOT NULL REFERENCES users (id),
    evse_id            TEXT NOT NULL REFERENCES evses (id) ON DELETE CASCADE,
    site_id            TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    host_id            TEXT NOT NULL REFERENCES users (id),
    vehicle_id         TEXT,
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER NOT NULL CHECK (ends_at > starts_at),
    status             TEXT NOT NULL,
    live               INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    estimate           INTEGER NOT NULL,
    estimate_energy_wh INTEGER NOT NULL,
    cancelled_by       TEXT,
    cancel_reason      TEXT,
    session_id         TEXT,
    hold               TEXT NOT NULL,
    hold_attempt_at    INTEGER NOT NULL,
    reminded_at        INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX bookings_evse_live ON bookings (evse_id, starts_at) WHERE live = TRUE;
CREATE INDEX bookings_user ON bookings (user_id, starts_at);
CREATE INDEX bookings_host ON bookings (host_id, status, starts_at);
CREATE INDEX bookings_due ON bookings (status, starts_at);
