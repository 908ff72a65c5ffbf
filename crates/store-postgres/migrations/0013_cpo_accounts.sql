-- Seed 003's CPO accounts: operators sign in with a username and a password
-- instead of a phone. Usernames are case-insensitive, so they are stored
-- lower-cased (the CHECK holds the store to that) and the unique index
-- makes them unique whatever the case typed. Accounts without one keep NULL.
ALTER TABLE users ADD COLUMN username TEXT CHECK (username = lower(username));
CREATE UNIQUE INDEX users_username ON users (username);

-- A temporary password (one the platform generated and sent by SMS) must be
-- changed before the account may do anything else; changing it clears this.
ALTER TABLE users ADD COLUMN password_must_change BOOLEAN NOT NULL DEFAULT FALSE;

-- Seed 003's `ocpp_ready`: whether the operator said its chargers speak
-- OCPP. NULL when never said (profiles made with PUT /api/v1/host/profile).
ALTER TABLE host_profiles ADD COLUMN ocpp_ready BOOLEAN;
