-- The included energy of a subscription's cycle that sessions have used
-- (plan benefit `included_wh_per_cycle`). One row per subscription and
-- cycle, so a renewal (a new cycle) starts from nothing. Rows change only
-- in the transaction that stores a session's purchase, under the check
-- used_wh + wh <= the subscription's allowance, so the allowance is never
-- exceeded however many sessions end at once.
CREATE TABLE customer_plan_usage (
    customer_plan_id INTEGER NOT NULL REFERENCES customer_plans (id),
    cycle            INTEGER NOT NULL,
    used_wh          INTEGER NOT NULL CHECK (used_wh >= 0),
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (customer_plan_id, cycle)
) STRICT;

-- What each session took from which allowance: at most once per session
-- and subscription (a repeated StopTransaction takes nothing more).
CREATE TABLE customer_plan_usage_sessions (
    session_id       TEXT NOT NULL REFERENCES charging_sessions (id),
    customer_plan_id INTEGER NOT NULL REFERENCES customer_plans (id),
    cycle            INTEGER NOT NULL,
    wh               INTEGER NOT NULL CHECK (wh > 0),
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (session_id, customer_plan_id)
) STRICT;
CREATE INDEX customer_plan_usage_sessions_plan ON customer_plan_usage_sessions (customer_plan_id, cycle);
