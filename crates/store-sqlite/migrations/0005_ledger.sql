-- The double-entry ledger. Entries and postings are never updated or
-- deleted (corrections are new entries); an account's balance is kept with
-- it for the overdraft check under a row lock, and `plugway ledger verify`
-- proves it equals the sum of its postings.

CREATE TABLE ledger_accounts (
    key            TEXT PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL,
    owner_id       TEXT,
    currency       TEXT NOT NULL,
    allow_negative INTEGER NOT NULL,
    balance        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id) WHERE owner_id IS NOT NULL;

CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    reference       TEXT NOT NULL,
    idempotency_key TEXT,
    at              INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ledger_entries_idempotency ON ledger_entries (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX ledger_entries_reference ON ledger_entries (reference);

CREATE TABLE ledger_postings (
    entry_id    TEXT NOT NULL REFERENCES ledger_entries (id),
    account_key TEXT NOT NULL REFERENCES ledger_accounts (key),
    amount      INTEGER NOT NULL,
    PRIMARY KEY (entry_id, account_key)
) STRICT;
CREATE INDEX ledger_postings_account ON ledger_postings (account_key, entry_id);
