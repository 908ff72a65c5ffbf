-- Subscription plans (seed 002) and drivers' subscriptions to them. Ids
-- are integers because seed 002 shows them so. A subscription keeps the
-- plan's terms as bought; a deleted plan is only deactivated, so its
-- subscribers keep working. Renewals are claimed under a lease
-- (lease_until) so one worker of many charges each cycle, and each cycle's
-- ledger entry has its own idempotency key.

CREATE TABLE plans (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT NOT NULL,
    amount                INTEGER NOT NULL,
    currency              TEXT NOT NULL,
    payment_cycle_days    INTEGER NOT NULL,
    total_valid_months    INTEGER NOT NULL,
    is_cancellable        INTEGER NOT NULL,
    discount_per_kwh      INTEGER NOT NULL,
    included_wh_per_cycle INTEGER NOT NULL,
    waive_session_fee     INTEGER NOT NULL,
    active                INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX plans_active ON plans (id) WHERE active = TRUE;

CREATE TABLE customer_plans (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id               TEXT NOT NULL REFERENCES users (id),
    plan_id               INTEGER NOT NULL REFERENCES plans (id),
    name                  TEXT NOT NULL,
    amount                INTEGER NOT NULL,
    currency              TEXT NOT NULL,
    payment_cycle_days    INTEGER NOT NULL,
    total_valid_months    INTEGER NOT NULL,
    is_cancellable        INTEGER NOT NULL,
    discount_per_kwh      INTEGER NOT NULL,
    included_wh_per_cycle INTEGER NOT NULL,
    waive_session_fee     INTEGER NOT NULL,
    status                TEXT NOT NULL,
    started_at            INTEGER NOT NULL,
    end_at                INTEGER NOT NULL,
    cycles_paid           INTEGER NOT NULL,
    next_charge_at        INTEGER,
    paid_until            INTEGER NOT NULL,
    lease_until           INTEGER NOT NULL,
    ended_reason          TEXT,
    ended_at              INTEGER,
    updated_at            INTEGER NOT NULL
) STRICT;
-- One running subscription per driver and plan.
CREATE UNIQUE INDEX customer_plans_one_active ON customer_plans (user_id, plan_id) WHERE status = 'active';
CREATE INDEX customer_plans_user ON customer_plans (user_id, id);
-- What the renewal worker scans: running subscriptions by their next work.
CREATE INDEX customer_plans_due ON customer_plans (next_charge_at) WHERE status = 'active';
CREATE INDEX customer_plans_end ON customer_plans (end_at) WHERE status = 'active';
