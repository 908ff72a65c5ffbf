-- Seed 003's CPO portal gets an API key role of its own (`portal`): it may
-- register charge point operators and upload the logo a registration named.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'integration', 'portal'));

-- A registration that named its logo file (`logo`) waits here for the
-- portal to upload that file; the upload takes the claim.
CREATE TABLE operator_logo_claims (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    registered_at BIGINT NOT NULL
);
CREATE INDEX operator_logo_claims_file ON operator_logo_claims (file_name, registered_at);
