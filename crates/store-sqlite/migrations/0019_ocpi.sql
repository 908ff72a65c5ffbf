-- OCPI 2.2.1 roaming (docs/ocpi.md).
--
-- A party is a roaming partner. `incoming_token_hash` is the SHA-256 of the
-- token the party presents to us (token A while it is invited, then the
-- token of the handshake); the token itself is never kept. The token we
-- present to the party (`outgoing_token`) must be sent as it is, so it is
-- kept as the party issued it. Unregistering clears both.
CREATE TABLE ocpi_parties (
    id                  TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('invited', 'connected', 'unregistered')),
    incoming_token_hash TEXT,
    outgoing_token      TEXT,
    versions_url        TEXT,
    endpoints           TEXT NOT NULL DEFAULT '[]',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ocpi_parties_incoming_token ON ocpi_parties (incoming_token_hash)
    WHERE incoming_token_hash IS NOT NULL;

-- The roles a party plays, each under a party code. A code and role belong
-- to one party at a time: a party may only write objects under its own
-- codes. A partner CPO's locations are sites of a host account of their
-- own (`host_id`), so that drivers' search shows them with everything else.
CREATE TABLE ocpi_party_roles (
    country_code TEXT NOT NULL,
    party_code   TEXT NOT NULL,
    role         TEXT NOT NULL,
    party        TEXT NOT NULL REFERENCES ocpi_parties (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    host_id      TEXT REFERENCES users (id),
    PRIMARY KEY (country_code, party_code, role)
) STRICT;
CREATE INDEX ocpi_party_roles_party ON ocpi_party_roles (party);

-- A partner CPO's location as it last sent it (PATCHes merge into it);
-- its site is what drivers see.
CREATE TABLE ocpi_partner_locations (
    country_code TEXT NOT NULL,
    party_code   TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    site_id      TEXT NOT NULL UNIQUE REFERENCES sites (id) ON DELETE CASCADE,
    object       TEXT NOT NULL,
    last_updated INTEGER NOT NULL,
    PRIMARY KEY (country_code, party_code, location_id)
) STRICT;

-- Tokens partner eMSPs push to us (our CPO side). `id_tag` is what a
-- charger sees: the uid itself when OCPP 1.6 can carry it (20 characters),
-- else a short tag derived from it; it is also an id_tags row, so chargers
-- authorize a whitelisted token like any other tag.
CREATE TABLE ocpi_tokens (
    country_code TEXT NOT NULL,
    party_code   TEXT NOT NULL,
    uid          TEXT NOT NULL,
    token_type   TEXT NOT NULL,
    id_tag       TEXT NOT NULL UNIQUE,
    object       TEXT NOT NULL,
    last_updated INTEGER NOT NULL,
    PRIMARY KEY (country_code, party_code, uid, token_type)
) STRICT;

-- Messages to partners (a session's changes, a CDR) go through the outbox;
-- a key makes enqueueing the same message twice a no-op.
ALTER TABLE outbox ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX outbox_dedup ON outbox (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX outbox_kind_due ON outbox (kind, next_attempt_at) WHERE delivered_at IS NULL;

-- A partner CPO's location is marked with whose it is (JSON: country_code,
-- party_id, name), so drivers' search shows it as the partner's.
ALTER TABLE sites ADD COLUMN roaming_operator TEXT;

-- Our drivers' sessions on partners' chargers (our eMSP side): asked for
-- with START_SESSION, then told by the partner (its Session, its CDR).
-- A CDR is paid from the driver's wallet once (the ledger's key).
CREATE TABLE ocpi_driver_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    party        TEXT NOT NULL REFERENCES ocpi_parties (id),
    country_code TEXT NOT NULL,
    party_code   TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    evse_uid     TEXT NOT NULL,
    session_id   TEXT,
    status       TEXT NOT NULL,
    object       TEXT,
    cdr          TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ocpi_driver_sessions_session ON ocpi_driver_sessions (country_code, party_code, session_id)
    WHERE session_id IS NOT NULL;
CREATE INDEX ocpi_driver_sessions_user ON ocpi_driver_sessions (user_id, created_at);

-- Tariffs partner CPOs push (our eMSP side): the prices their EVSEs show.
CREATE TABLE ocpi_partner_tariffs (
    country_code TEXT NOT NULL,
    party_code   TEXT NOT NULL,
    tariff_id    TEXT NOT NULL,
    object       TEXT NOT NULL,
    last_updated INTEGER NOT NULL,
    PRIMARY KEY (country_code, party_code, tariff_id)
) STRICT;
