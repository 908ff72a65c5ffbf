-- Seed 003's CPO portal gets an API key role of its own (`portal`): it may
-- register charge point operators and upload the logo a registration named.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE api_keys_new (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'integration', 'portal')),
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
INSERT INTO api_keys_new (id, name, role, secret_hash, created_at, revoked_at)
    SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;

-- A registration that named its logo file (`logo`) waits here for the
-- portal to upload that file; the upload takes the claim.
CREATE TABLE operator_logo_claims (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    registered_at INTEGER NOT NULL
) STRICT;
CREATE INDEX operator_logo_claims_file ON operator_logo_claims (file_name, registered_at);
