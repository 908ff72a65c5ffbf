-- The meter-data report (docs/ocpp.md, "Meter quirks"): per charger and
-- UTC day, the sampled values received, corrected by a meter quirk, and
-- read by no rule. Nodes add to the counts every few seconds.
CREATE TABLE meter_data_counts (
    charge_point_id TEXT NOT NULL,
    day             TEXT NOT NULL,
    received        BIGINT NOT NULL,
    corrected       BIGINT NOT NULL,
    unreadable      BIGINT NOT NULL,
    PRIMARY KEY (charge_point_id, day)
);
