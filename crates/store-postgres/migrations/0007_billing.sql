-- Coupons, bills and refunds. A bill splits an order (a purchase now,
-- a booking later) into what a coupon, credit points and money pay; it is
-- paid in the same database transaction as its ledger entry and its coupon
-- use, so a coupon's limits hold under racing checkouts. Refunds reserve
-- their amount on the bill before any money moves, so the refunds of a
-- bill never exceed what was paid.

CREATE TABLE coupons (
    id             TEXT PRIMARY KEY NOT NULL,
    code           TEXT NOT NULL,
    description    TEXT NOT NULL,
    value          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    valid_from     BIGINT,
    valid_until    BIGINT,
    max_uses       BIGINT,
    per_user_limit BIGINT NOT NULL,
    active         BOOLEAN NOT NULL,
    listed         BOOLEAN NOT NULL,
    used           BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX coupons_code ON coupons (code);

CREATE TABLE bills (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    subject_kind  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    host_id       TEXT,
    currency      TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    discount      BIGINT NOT NULL,
    coupon_id     TEXT REFERENCES coupons (id),
    credits       BIGINT NOT NULL,
    credits_value BIGINT NOT NULL,
    due           BIGINT NOT NULL,
    status        TEXT NOT NULL,
    method        TEXT,
    payment_ref   TEXT,
    refunded      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    paid_at       BIGINT
);
CREATE INDEX bills_user ON bills (user_id, created_at);
CREATE INDEX bills_subject ON bills (subject_kind, subject_id);
CREATE UNIQUE INDEX bills_paid_subject ON bills (subject_kind, subject_id) WHERE status = 'paid';

CREATE TABLE coupon_uses (
    coupon_id TEXT NOT NULL REFERENCES coupons (id),
    user_id   TEXT NOT NULL,
    bill_id   TEXT PRIMARY KEY NOT NULL REFERENCES bills (id),
    at        BIGINT NOT NULL
);
CREATE INDEX coupon_uses_user ON coupon_uses (coupon_id, user_id);

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY NOT NULL,
    bill_id           TEXT NOT NULL REFERENCES bills (id),
    user_id           TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    destination       TEXT NOT NULL,
    whole             BOOLEAN NOT NULL,
    status            TEXT NOT NULL,
    gateway_refund_id TEXT,
    reason            TEXT NOT NULL,
    idempotency_key   TEXT,
    created_at        BIGINT NOT NULL,
    settled_at        BIGINT
);
CREATE INDEX refunds_bill ON refunds (bill_id, created_at);
CREATE UNIQUE INDEX refunds_idempotency ON refunds (idempotency_key) WHERE idempotency_key IS NOT NULL;
