-- Site load management (docs/load-management.md).
--
-- A site's power limit: the grid connection's limit, the margin kept free,
-- the least a session gets, what a charger that takes no profile is counted
-- at, and time-of-day periods (JSON: [{"from","to","max_power_w"}], site
-- local time) that replace the limit while they last. Watts throughout.
CREATE TABLE site_power_limits (
    site_id       TEXT PRIMARY KEY NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    max_power_w   BIGINT NOT NULL,
    margin_w      BIGINT NOT NULL,
    min_session_w BIGINT NOT NULL,
    fallback_w    BIGINT NOT NULL,
    schedule      TEXT NOT NULL,
    set_by        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Every sharing of a site's limit: why, the budget, and what each connector
-- was allowed, drew and answered (JSON: [{"charge_point_id", "connector_id",
-- "transaction_id", "allowed_w", "measured_w", "outcome"}]). The latest one
-- is what the chargers hold now. No foreign key to the site: the record
-- outlives it.
CREATE TABLE load_changes (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT,
    budget_w     BIGINT NOT NULL,
    allocations  TEXT NOT NULL
);
CREATE INDEX load_changes_site ON load_changes (site_id, id);

-- A charger's open transactions, found without reading its history.
CREATE INDEX transactions_open_cp ON transactions (charge_point_id) WHERE stopped_at IS NULL;
