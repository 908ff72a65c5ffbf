-- The charging network: host profiles, sites (OCPI locations), EVSEs,
-- photos, nearby places, bookmarks and ratings.
--
-- Search: a GiST index over the points of visible sites (`sites_geo`), so
-- a radius or box query reads only the sites inside the box. The filters a
-- driver picks are bit masks and counters on the site row
-- (recomputed whenever its EVSEs change), so one pass over the box's rows
-- answers them without joins. See docs/search.md.

CREATE TABLE host_profiles (
    user_id        TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    owner_name     TEXT NOT NULL,
    contact_name   TEXT NOT NULL,
    contact_number TEXT NOT NULL,
    contact_email  TEXT NOT NULL,
    logo           TEXT,
    party_id       TEXT,
    country_code   TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX host_profiles_party_id ON host_profiles (country_code, party_id)
    WHERE party_id IS NOT NULL;

CREATE TABLE sites (
    -- Kept for parity with SQLite (whose R*Tree needs an integer key).
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                   TEXT PRIMARY KEY NOT NULL,
    host_id              TEXT NOT NULL REFERENCES users (id),
    name                 TEXT NOT NULL,
    address              TEXT NOT NULL,
    city                 TEXT NOT NULL,
    province             TEXT NOT NULL,
    region               TEXT,
    postal_code          TEXT,
    country_code         TEXT NOT NULL,
    lat                  DOUBLE PRECISION NOT NULL,
    lng                  DOUBLE PRECISION NOT NULL,
    -- The point on the unit sphere: chord distances rank and cut by
    -- great-circle distance with arithmetic alone (docs/search.md).
    ux                   DOUBLE PRECISION NOT NULL,
    uy                   DOUBLE PRECISION NOT NULL,
    uz                   DOUBLE PRECISION NOT NULL,
    time_zone            TEXT NOT NULL,
    opening_hours        TEXT NOT NULL,
    always_open          BOOLEAN NOT NULL,
    facilities           BIGINT NOT NULL,
    parking_types        BIGINT NOT NULL,
    parking_restrictions BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    brand_logo           TEXT,
    published            BOOLEAN NOT NULL,
    approval             TEXT NOT NULL,
    rejection_reason     TEXT,
    rating_sum           BIGINT NOT NULL DEFAULT 0,
    rating_count         BIGINT NOT NULL DEFAULT 0,
    -- Derived from the EVSEs (see refresh in plugway-store-sql).
    visible              BOOLEAN NOT NULL DEFAULT FALSE,
    evse_count           BIGINT NOT NULL DEFAULT 0,
    max_power_w          BIGINT NOT NULL DEFAULT 0,
    standards            BIGINT NOT NULL DEFAULT 0,
    capabilities         BIGINT NOT NULL DEFAULT 0,
    payment_types        BIGINT NOT NULL DEFAULT 0,
    search_text          TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX sites_host ON sites (host_id, created_at);
CREATE INDEX sites_approval ON sites (approval, created_at);
CREATE INDEX sites_city ON sites (lower(province), lower(city));

-- A GiST index over the points of visible sites answers `point <@ box`.
CREATE INDEX sites_geo ON sites USING gist (point(lng, lat)) WHERE visible;

CREATE TABLE evses (
    id                       TEXT PRIMARY KEY NOT NULL,
    site_id                  TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    evse_code                TEXT NOT NULL,
    serial_number            TEXT,
    meter_type               TEXT,
    charge_point_id          TEXT REFERENCES charge_points (id) ON DELETE SET NULL,
    ocpp_connector_id        BIGINT,
    declared_status          TEXT NOT NULL,
    capabilities             BIGINT NOT NULL,
    payment_types            BIGINT NOT NULL,
    price_per_kwh            BIGINT NOT NULL,
    price_per_hour           BIGINT NOT NULL,
    waiting_price_per_minute BIGINT NOT NULL,
    -- The EVSE's plugs as JSON: always read with it, never searched alone.
    connectors               TEXT NOT NULL,
    approval                 TEXT NOT NULL,
    rejection_reason         TEXT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
-- (site_id, approval) first: the availability filter probes it once per candidate site.
CREATE INDEX evses_site ON evses (site_id, approval, created_at);
CREATE UNIQUE INDEX evses_evse_code ON evses (site_id, evse_code);
CREATE UNIQUE INDEX evses_ocpp_port ON evses (charge_point_id, ocpp_connector_id)
    WHERE charge_point_id IS NOT NULL;
CREATE INDEX evses_approval ON evses (approval, created_at);

CREATE TABLE site_photos (
    id           TEXT PRIMARY KEY NOT NULL,
    site_id      TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    thumb_key    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width        BIGINT NOT NULL,
    height       BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX site_photos_site ON site_photos (site_id, created_at);

CREATE TABLE nearby_places (
    id         TEXT PRIMARY KEY NOT NULL,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    image      TEXT,
    address    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX nearby_places_site ON nearby_places (site_id, created_at);

CREATE TABLE bookmarks (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, site_id)
);
CREATE INDEX bookmarks_user ON bookmarks (user_id, created_at);

CREATE TABLE ratings (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    score      BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, site_id)
);
