-- The message log, compacted: a charge point's frames of one write batch
-- share one row (a block; format in plugway_store::log_block) instead of a
-- row and two index entries per frame. A block spans at most a minute; the
-- purge deletes whole blocks by their newest frame. Existing frames move
-- over as one-frame blocks, in their order.
CREATE TABLE ocpp_log_blocks (
    id              INTEGER PRIMARY KEY,
    charge_point_id TEXT NOT NULL,
    frames          INTEGER NOT NULL,
    last_at         INTEGER NOT NULL,
    body            TEXT NOT NULL
) STRICT;
INSERT INTO ocpp_log_blocks (charge_point_id, frames, last_at, body)
    SELECT charge_point_id, 1, at,
           direction || ' ' || at || ' ' || length(CAST(frame AS BLOB)) || char(10) || frame || char(10)
    FROM ocpp_log ORDER BY id;
DROP TABLE ocpp_log;
CREATE INDEX ocpp_log_blocks_cp ON ocpp_log_blocks (charge_point_id, id);
CREATE INDEX ocpp_log_blocks_at ON ocpp_log_blocks (last_at);
