-- Notifications and their push outbox (one delivery per notification and
-- device token), and the back office's content: banners, app info, help
-- entries and amenity labels. Times are Unix milliseconds.

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    read_at    INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE push_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    token           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
) STRICT;
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX push_deliveries_token ON push_deliveries (token) WHERE status = 'pending';
CREATE INDEX push_deliveries_notification ON push_deliveries (notification_id);

CREATE TABLE banners (
    id          TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    link_url    TEXT,
    image_key   TEXT,
    position    INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    valid_from  INTEGER,
    valid_until INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- One row: the app's texts.
CREATE TABLE app_info (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    privacy_policy TEXT NOT NULL,
    terms          TEXT NOT NULL,
    contact_us     TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE help_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE amenity_settings (
    code         TEXT PRIMARY KEY NOT NULL,
    display_name TEXT,
    icon_url     TEXT,
    hidden       INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
) STRICT;
