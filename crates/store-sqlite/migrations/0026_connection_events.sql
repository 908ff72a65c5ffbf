-- Each charge point's connection history for the operator console: when
-- it connected and disconnected (and why), and every refused handshake
-- with its reason. The id is kept as presented, so a refusal may name no
-- charge point (hence no foreign key). Purged with the message log.
CREATE TABLE connection_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    reason          TEXT,
    remote_addr     TEXT,
    ocpp_version    TEXT,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX connection_events_cp ON connection_events (charge_point_id, at);
-- The admins' list of refusals, any id, newest first.
CREATE INDEX connection_events_refused ON connection_events (at) WHERE kind = 'refused';
-- The purge deletes by time whatever the kind.
CREATE INDEX connection_events_at ON connection_events (at);
