-- A new reference layer, `places`: named streets, addresses and landmarks a
-- city imports (e.g. from OpenStreetMap), of any geometry type, so that place
-- search finds them.

ALTER TABLE features DROP CONSTRAINT features_layer_check;
ALTER TABLE features ADD CONSTRAINT features_layer_check
    CHECK (layer IN ('districts', 'public_spaces', 'green_corridors', 'bike_routes', 'places'));

ALTER TABLE changes DROP CONSTRAINT changes_layer_check;
ALTER TABLE changes ADD CONSTRAINT changes_layer_check
    CHECK (layer IN ('issues', 'districts', 'public_spaces', 'green_corridors', 'bike_routes', 'places'));

-- The same rule as LayerName::check_fits, now with `places` (points, lines
-- and polygons alike). Replacing the function leaves the CHECK that calls it
-- in place; every stored row already satisfied the older, narrower rule.
CREATE OR REPLACE FUNCTION qala_geometry_fits_layer(layer text, g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT AS $$
    SELECT coalesce(bool_and(CASE layer
        WHEN 'districts'       THEN GeometryType(d.geom) = 'POLYGON'
        WHEN 'public_spaces'   THEN GeometryType(d.geom) IN ('POLYGON', 'POINT')
        WHEN 'green_corridors' THEN GeometryType(d.geom) IN ('LINESTRING', 'POLYGON')
        WHEN 'bike_routes'     THEN GeometryType(d.geom) = 'LINESTRING'
        WHEN 'places'          THEN GeometryType(d.geom) IN ('POINT', 'LINESTRING', 'POLYGON')
        ELSE false END), false)
    FROM ST_Dump(g) AS d
$$;
