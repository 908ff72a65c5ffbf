-- Revisions: a host's changes to the material fields (name, address,
-- position, connectors...) of an approved site or EVSE, waiting for an
-- admin while drivers keep seeing the approved row (docs/revisions.md).
--
-- One table for both kinds: `evse_id` is NULL for a site's own revision.
-- `changes` is JSON holding only the fields that change. Closed revisions
-- are kept, so the host can read why one was rejected.
CREATE TABLE listing_revisions (
    id         TEXT PRIMARY KEY NOT NULL,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    evse_id    TEXT REFERENCES evses (id) ON DELETE CASCADE,
    changes    TEXT NOT NULL,
    -- Grows with every edit of the listing's revisions, so an admin's
    -- decision names exactly the content they reviewed.
    version    INTEGER NOT NULL CHECK (version > 0),
    state      TEXT NOT NULL CHECK (state IN ('OPEN', 'APPROVED', 'REJECTED', 'WITHDRAWN')),
    reason     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    decided_at INTEGER
) STRICT;
-- One open revision per site and per EVSE; the pending counts probe these.
CREATE UNIQUE INDEX listing_revisions_open_site ON listing_revisions (site_id)
    WHERE state = 'OPEN' AND evse_id IS NULL;
CREATE UNIQUE INDEX listing_revisions_open_evse ON listing_revisions (evse_id)
    WHERE state = 'OPEN' AND evse_id IS NOT NULL;
-- Versions never repeat within a listing (and the latest is found by it).
CREATE UNIQUE INDEX listing_revisions_version
    ON listing_revisions (site_id, COALESCE(evse_id, ''), version);
-- The admin's queue, oldest first.
CREATE INDEX listing_revisions_queue ON listing_revisions (state, created_at);
