-- Subscription plans (seed 002) and drivers' subscriptions to them. Ids
-- are integers because seed 002 shows them so. A subscription keeps the
-- plan's terms as bought; a deleted plan is only deactivated, so its
-- subscribers keep working. Renewals are claimed under a lease
-- (lease_until) so one worker of many charges each cycle, and each cycle's
-- ledger entry has its own idempotency key.

CREATE TABLE plans (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    payment_cycle_days    BIGINT NOT NULL,
    total_valid_months    BIGINT NOT NULL,
    is_cancellable        BOOLEAN NOT NULL,
    discount_per_kwh      BIGINT NOT NULL,
    included_wh_per_cycle BIGINT NOT NULL,
    waive_session_fee     BOOLEAN NOT NULL,
    active                BOOLEAN NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX plans_active ON plans (id) WHERE active = TRUE;

CREATE TABLE customer_plans (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id               TEXT NOT NULL REFERENCES users (id),
    plan_id               BIGINT NOT NULL REFERENCES plans (id),
    name                  TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    payment_cycle_days    BIGINT NOT NULL,
    total_valid_months    BIGINT NOT NULL,
    is_cancellable        BOOLEAN NOT NULL,
    discount_per_kwh      BIGINT NOT NULL,
    included_wh_per_cycle BIGINT NOT NULL,
    waive_session_fee     BOOLEAN NOT NULL,
    status                TEXT NOT NULL,
    started_at            BIGINT NOT NULL,
    end_at                BIGINT NOT NULL,
    cycles_paid           BIGINT NOT NULL,
    next_charge_at        BIGINT,
    paid_until            BIGINT NOT NULL,
    lease_until           BIGINT NOT NULL,
    ended_reason          TEXT,
    ended_at              BIGINT,
    updated_at            BIGINT NOT NULL
);
-- One running subscription per driver and plan.
CREATE UNIQUE INDEX customer_plans_one_active ON customer_plans (user_id, plan_id) WHERE status = 'active';
CREATE INDEX customer_plans_user ON customer_plans (user_id, id);
-- What the renewal worker scans: running subscriptions by their next work.
CREATE INDEX customer_plans_due ON customer_plans (next_charge_at) WHERE status = 'active';
CREATE INDEX customer_plans_end ON customer_plans (end_at) WHERE status = 'active';
