-- Drivers' vehicles (seed 000's "Vehicle") and profile photos.
-- A vehicle's connector standards are a mask of the ConnectorStandard list,
-- like an EVSE's, so a site search can take them as they are. At most one
-- favourite per driver is held here, by a partial unique index, not by
-- application code. Photos are media-store keys; NULL shows the default.

CREATE TABLE vehicles (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    make          TEXT NOT NULL,
    model         TEXT NOT NULL,
    vehicle_type  TEXT NOT NULL,
    standards     INTEGER NOT NULL CHECK (standards > 0),
    battery_wh    INTEGER NOT NULL CHECK (battery_wh > 0),
    max_ac_w      INTEGER CHECK (max_ac_w > 0),
    max_dc_w      INTEGER CHECK (max_dc_w > 0),
    licence_plate TEXT,
    is_favourite  INTEGER NOT NULL,
    photo_key     TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX vehicles_user ON vehicles (user_id, created_at);
CREATE UNIQUE INDEX vehicles_one_favourite ON vehicles (user_id) WHERE is_favourite = 1;

ALTER TABLE users ADD COLUMN photo_key TEXT;
