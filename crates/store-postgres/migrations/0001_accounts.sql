-- Accounts, phones, OTPs, sessions, refresh tokens, API keys.
-- Times are Unix milliseconds; ids are UUID text (see plugway-store-sql).

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT,
    email         TEXT,
    role          TEXT NOT NULL CHECK (role IN ('driver', 'host', 'admin')),
    password_hash TEXT,
    referral_code TEXT NOT NULL,
    referred_by   TEXT REFERENCES users (id),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_referral_code ON users (referral_code);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE phones (
    phone       TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified    BOOLEAN NOT NULL DEFAULT FALSE,
    is_primary  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    verified_at BIGINT
);
CREATE INDEX phones_user ON phones (user_id);
-- At most one primary phone per account.
CREATE UNIQUE INDEX phones_one_primary ON phones (user_id) WHERE is_primary;

CREATE TABLE otps (
    id          TEXT PRIMARY KEY NOT NULL,
    phone       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
CREATE INDEX otps_phone_created ON otps (phone, created_at);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE push_tokens (
    token      TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX push_tokens_user ON push_tokens (user_id);
CREATE INDEX push_tokens_session ON push_tokens (session_id);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'integration')),
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
