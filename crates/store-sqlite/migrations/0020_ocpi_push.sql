-- OCPI 2.2.1 roaming, second part (docs/ocpi.md).
--
-- What we last pushed to each partner, by module and object id: the
-- SHA-256 of the object as sent (without its last_updated). A change is
-- pushed only when the object differs from what the partner already has,
-- so a sweep after a restart, on any node, sends only what changed.
-- A Location is kept as sent (`object`): an EVSE we no longer publish, or
-- a whole location, is then sent again as REMOVED, as OCPI never deletes.
CREATE TABLE ocpi_pushed (
    party      TEXT NOT NULL REFERENCES ocpi_parties (id) ON DELETE CASCADE,
    module     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    digest     TEXT NOT NULL,
    object     TEXT,
    pushed_at  INTEGER NOT NULL,
    PRIMARY KEY (party, module, object_id)
) STRICT;

-- A partner eMSP's reservation on one of our chargers (RESERVE_NOW), so
-- that its CANCEL_RESERVATION finds the charger and the OCPP reservation id.
CREATE TABLE ocpi_reservations (
    party               TEXT NOT NULL REFERENCES ocpi_parties (id) ON DELETE CASCADE,
    reservation_id      TEXT NOT NULL,
    charge_point_id     TEXT NOT NULL,
    ocpp_reservation_id INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    PRIMARY KEY (party, reservation_id)
) STRICT;

-- The eMSP's authorization_reference for a token's latest start (from its
-- START_SESSION or a real-time authorization), carried in our Session and
-- CDR of that start.
ALTER TABLE ocpi_tokens ADD COLUMN authorization_reference TEXT;
ALTER TABLE ocpi_tokens ADD COLUMN authorized_at INTEGER;
