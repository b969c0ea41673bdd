-- Qala's embedded schema. Coordinates are WGS84 (lon, lat); times are
-- RFC 3339 UTC text with millisecond precision, which sorts in time order.

CREATE TABLE issues (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    category       TEXT    NOT NULL,
    description    TEXT    NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    lon            REAL    NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat            REAL    NOT NULL CHECK (lat BETWEEN -90 AND 90),
    address        TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate')),
    -- The districts feature the location fell in when the issue was written.
    -- No foreign key: a re-imported districts layer must not cascade into issues.
    district_id    INTEGER,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL CHECK (updated_at >= created_at),
    votes          INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    -- Private: never part of any public output.
    reporter_email TEXT
);

CREATE INDEX issues_created_at ON issues (created_at);

CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY,
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    -- The canonical report the key was first used with; a retry must match it.
    request    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE features (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    layer      TEXT NOT NULL CHECK (layer IN ('districts', 'public_spaces', 'green_corridors', 'bike_routes')),
    -- A GeoJSON geometry object, validated before it is written.
    geometry   TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    min_lon    REAL NOT NULL,
    min_lat    REAL NOT NULL,
    max_lon    REAL NOT NULL,
    max_lat    REAL NOT NULL
);

CREATE INDEX features_by_layer ON features (layer, id);
