-- Invoices at payment gateways (QPay): settled once, whoever asks first
-- (the gateway's callback, the app's status check or the reconciler).

CREATE TABLE gateway_invoices (
    id                 TEXT PRIMARY KEY NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id),
    purpose            TEXT NOT NULL,
    reference          TEXT,
    gateway            TEXT NOT NULL,
    gateway_invoice_id TEXT NOT NULL,
    amount             INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    url                TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    settled_at         INTEGER
) STRICT;
CREATE UNIQUE INDEX gateway_invoices_gateway_id ON gateway_invoices (gateway, gateway_invoice_id);
CREATE INDEX gateway_invoices_pending ON gateway_invoices (created_at) WHERE status = 'pending';
