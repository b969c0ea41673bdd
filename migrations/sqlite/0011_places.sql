-- A new reference layer, `places`: named streets, addresses and landmarks a
-- city imports (e.g. from OpenStreetMap), so that place search finds them.
--
-- SQLite cannot alter a CHECK constraint, so `features` is rebuilt with the
-- new list (https://www.sqlite.org/lang_altertable.html, "making other kinds
-- of table schema changes"). No other table, trigger or view refers to
-- `features`. sqlx runs this file in one transaction.

CREATE TABLE features_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    layer      TEXT NOT NULL CHECK (layer IN ('districts', 'public_spaces', 'green_corridors', 'bike_routes', 'places')),
    -- A GeoJSON geometry object, validated before it is written.
    geometry   TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    min_lon    REAL NOT NULL,
    min_lat    REAL NOT NULL,
    max_lon    REAL NOT NULL,
    max_lat    REAL NOT NULL
);

-- Ids are kept: issues, mail subscriptions and the change feed name features
-- by id.
INSERT INTO features_new (id, layer, geometry, properties, min_lon, min_lat, max_lon, max_lat)
    SELECT id, layer, geometry, properties, min_lon, min_lat, max_lon, max_lat FROM features;

-- AUTOINCREMENT never hands out an id twice, also one of a feature deleted
-- by an earlier layer replacement: carry the counter over.
DELETE FROM sqlite_sequence WHERE name = 'features_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'features_new', seq FROM sqlite_sequence WHERE name = 'features';

DROP TABLE features;
ALTER TABLE features_new RENAME TO features;

CREATE INDEX features_by_layer ON features (layer, id);
