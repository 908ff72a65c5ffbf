-- Several nodes on one database (docs/cluster.md).
--
-- A lease per background job that one node at a time must run (the OCPI
-- pusher first): held by `holder` until `until`, renewed by it, taken
-- over by another node once it lapses.
CREATE TABLE worker_leases (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;

-- Settings every node must share, stored by the first node that starts:
-- a node whose own differs refuses to start (the server secret's
-- fingerprint: tokens signed by one node must verify on every other).
CREATE TABLE shared_settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Per-address rate limits shared by the nodes (GCRA: the theoretical
-- arrival time of the next request per key, milliseconds), so an address
-- spread over nodes is cut at one node's count. Keys whose time has passed
-- hold nothing and are pruned.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    tat INTEGER NOT NULL
) STRICT;
