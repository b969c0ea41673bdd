//! GeoJSON geometry in and out, with the validation rules every write passes.
//!
//! Geometry is parsed by hand from `serde_json::Value` rather than through a
//! generic GeoJSON deserializer so that each broken rule gets its own error
//! code and a message that names the ring or position at fault, and so that
//! limits (vertex count, collection nesting) are enforced while walking the
//! input instead of after allocating all of it. Writing goes through the
//! `geojson` crate.
//!
//! Coordinates are `(lon, lat)` in WGS84 (RFC 7946). A third number (altitude)
//! is accepted, as the RFC allows, but not kept: Qala is a 2-D map.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::Value;

use crate::error::ValidationError;

pub mod bbox;

pub use bbox::BBox;

/// Most vertices one feature's geometry may have. A district boundary from a
/// city GIS has a few thousand; this leaves ample room while keeping one
/// request's work bounded.
pub const MAX_VERTICES: usize = 100_000;

/// How deep GeometryCollections may nest. RFC 7946 §3.1.8 advises against
/// nesting at all; one level of nesting is tolerated for older exports.
pub const MAX_COLLECTION_DEPTH: usize = 2;

const FIELD: &str = "geometry";

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("invalid_geometry", FIELD, message.into())
}

/// A validated WGS84 position.
///
/// ```
/// use qala_geodata::LonLat;
/// let arbat = LonLat::new(76.944, 43.262).unwrap();
/// assert_eq!(arbat.lon(), 76.944);
/// assert!(LonLat::new(f64::NAN, 43.0).is_err());
/// assert!(LonLat::new(76.9, 91.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Checks that both numbers are finite and in range (lon in [-180, 180], lat in [-90, 90]).
    pub fn new(lon: f64, lat: f64) -> Result<Self, ValidationError> {
        check_position(lon, lat, FIELD)?;
        Ok(Self { lon, lat })
    }

    /// Longitude in degrees east.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees north.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// As a `geo` point (x = lon, y = lat).
    pub fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// Checks one lon/lat pair: finite and within WGS84 range.
pub fn check_position(lon: f64, lat: f64, field: &'static str) -> Result<(), ValidationError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(ValidationError::new(
            "invalid_coordinate",
            field,
            "coordinates must be finite numbers",
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ValidationError::new(
            "invalid_coordinate",
            field,
            format!("longitude {lon} is outside [-180, 180]"),
        ));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ValidationError::new(
            "invalid_coordinate",
            field,
            format!("latitude {lat} is outside [-90, 90]"),
        ));
    }
    Ok(())
}

/// Parses and validates a GeoJSON geometry object.
///
/// ```
/// use qala_geodata::geometry::parse_geometry;
/// let ok = serde_json::json!({"type": "LineString", "coordinates": [[76.9, 43.2], [76.95, 43.25]]});
/// assert!(parse_geometry(&ok).is_ok());
/// let open_ring = serde_json::json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]});
/// assert_eq!(parse_geometry(&open_ring).unwrap_err().message, "ring 0 is not closed");
/// ```
pub fn parse_geometry(value: &Value) -> Result<Geometry<f64>, ValidationError> {
    let mut walker = Walker { vertices: 0 };
    let geometry = walker.geometry(value, 0)?;
    check_valid(&geometry)?;
    Ok(geometry)
}

/// Checks a geometry built in code (not parsed from GeoJSON) against the
/// same rules [`parse_geometry`] applies while parsing: finite, in-range
/// positions, lines of at least 2 positions, closed rings of at least 4,
/// the vertex cap, the collection nesting cap and OGC validity.
///
/// ```
/// use geo::{LineString, Polygon};
/// use qala_geodata::geometry::check_geometry;
/// let square = Polygon::new(LineString::from(vec![(0., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)]), vec![]);
/// assert!(check_geometry(&square.into()).is_ok());
/// let bowtie = Polygon::new(LineString::from(vec![(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)]), vec![]);
/// assert_eq!(check_geometry(&bowtie.into()).unwrap_err().code, "invalid_geometry");
/// ```
pub fn check_geometry(geometry: &Geometry<f64>) -> Result<(), ValidationError> {
    let mut vertices = 0;
    check_parts(geometry, 0, &mut vertices)?;
    check_valid(geometry)
}

fn check_parts(
    geometry: &Geometry<f64>,
    depth: usize,
    vertices: &mut usize,
) -> Result<(), ValidationError> {
    let line = |l: &LineString<f64>| {
        if l.0.len() < 2 {
            return Err(invalid("a LineString needs at least 2 positions"));
        }
        Ok(())
    };
    let polygon = |p: &Polygon<f64>| {
        for (i, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            if ring.0.len() < 4 {
                return Err(invalid(format!(
                    "ring {i} has {} positions; at least 4 are needed",
                    ring.0.len()
                )));
            }
            if ring.0.first() != ring.0.last() {
                return Err(invalid(format!("ring {i} is not closed")));
            }
        }
        Ok(())
    };
    match geometry {
        Geometry::GeometryCollection(collection) => {
            if depth >= MAX_COLLECTION_DEPTH {
                return Err(ValidationError::new(
                    "nesting_too_deep",
                    FIELD,
                    format!("GeometryCollections may nest at most {MAX_COLLECTION_DEPTH} deep"),
                ));
            }
            return collection
                .iter()
                .try_for_each(|member| check_parts(member, depth + 1, vertices));
        }
        Geometry::LineString(l) => line(l)?,
        Geometry::MultiLineString(m) => m.iter().try_for_each(line)?,
        Geometry::Polygon(p) => polygon(p)?,
        Geometry::MultiPolygon(m) => m.iter().try_for_each(polygon)?,
        _ => {}
    }
    use geo::CoordsIter;
    for c in geometry.coords_iter() {
        check_position(c.x, c.y, FIELD)?;
        *vertices += 1;
        if *vertices > MAX_VERTICES {
            return Err(ValidationError::new(
                "too_many_vertices",
                FIELD,
                format!("a feature may have at most {MAX_VERTICES} vertices"),
            ));
        }
    }
    Ok(())
}

/// The OGC simple-feature validity of a parsed geometry (self-intersections,
/// holes outside their shell, degenerate lines), as `geo` checks it.
fn check_valid(geometry: &Geometry<f64>) -> Result<(), ValidationError> {
    use geo::Validation;
    geometry
        .check_validation()
        .map_err(|e| invalid(format!("{} is not valid: {e}", type_name(geometry))))
}

/// The GeoJSON type name of a geometry.
pub fn type_name(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::LineString(_) | Geometry::Line(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

struct Walker {
    vertices: usize,
}

impl Walker {
    fn geometry(&mut self, value: &Value, depth: usize) -> Result<Geometry<f64>, ValidationError> {
        let object = value
            .as_object()
            .ok_or_else(|| invalid("geometry must be a JSON object"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("geometry needs a string \"type\""))?;
        for key in object.keys() {
            let allowed = match kind {
                "GeometryCollection" => matches!(key.as_str(), "type" | "geometries" | "bbox"),
                _ => matches!(key.as_str(), "type" | "coordinates" | "bbox"),
            };
            if !allowed {
                return Err(ValidationError::new(
                    "unknown_field",
                    FIELD,
                    format!("unknown member \"{key}\" in {kind} geometry"),
                ));
            }
        }
        if kind == "GeometryCollection" {
            if depth >= MAX_COLLECTION_DEPTH {
                return Err(ValidationError::new(
                    "nesting_too_deep",
                    FIELD,
                    format!("GeometryCollections may nest at most {MAX_COLLECTION_DEPTH} deep"),
                ));
            }
            let members = object
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("GeometryCollection needs a \"geometries\" array"))?;
            let parts = members
                .iter()
                .map(|member| self.geometry(member, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Geometry::GeometryCollection(parts.into()));
        }
        let coordinates = object
            .get("coordinates")
            .ok_or_else(|| invalid(format!("{kind} needs \"coordinates\"")))?;
        Ok(match kind {
            "Point" => Geometry::Point(Point(self.position(coordinates)?)),
            "MultiPoint" => Geometry::MultiPoint(MultiPoint(
                array(coordinates, "MultiPoint")?
                    .iter()
                    .map(|p| self.position(p).map(Point))
                    .collect::<Result<_, _>>()?,
            )),
            "LineString" => Geometry::LineString(self.line(coordinates)?),
            "MultiLineString" => Geometry::MultiLineString(MultiLineString(
                array(coordinates, "MultiLineString")?
                    .iter()
                    .map(|l| self.line(l))
                    .collect::<Result<_, _>>()?,
            )),
            "Polygon" => Geometry::Polygon(self.polygon(coordinates)?),
            "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
                array(coordinates, "MultiPolygon")?
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        self.polygon(p)
                            .map_err(|e| e.context(format_args!("polygon {i}")))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            other => return Err(invalid(format!("unknown geometry type \"{other}\""))),
        })
    }

    fn position(&mut self, value: &Value) -> Result<Coord<f64>, ValidationError> {
        let numbers = value
            .as_array()
            .ok_or_else(|| invalid("a position must be an array of numbers"))?;
        if !(2..=3).contains(&numbers.len()) {
            return Err(ValidationError::new(
                "invalid_coordinate",
                FIELD,
                format!("a position has 2 or 3 numbers, not {}", numbers.len()),
            ));
        }
        let mut xy = [0.0; 2];
        for (slot, number) in xy.iter_mut().zip(numbers) {
            *slot = number.as_f64().ok_or_else(|| {
                ValidationError::new(
                    "invalid_coordinate",
                    FIELD,
                    "position members must be numbers",
                )
            })?;
        }
        if let Some(z) = numbers.get(2)
            && !z.as_f64().is_some_and(f64::is_finite)
        {
            return Err(ValidationError::new(
                "invalid_coordinate",
                FIELD,
                "altitude must be a finite number",
            ));
        }
        check_position(xy[0], xy[1], FIELD)?;
        self.vertices += 1;
        if self.vertices > MAX_VERTICES {
            return Err(ValidationError::new(
                "too_many_vertices",
                FIELD,
                format!("a feature may have at most {MAX_VERTICES} vertices"),
            ));
        }
        Ok(Coord { x: xy[0], y: xy[1] })
    }

    fn positions(&mut self, value: &Value, what: &str) -> Result<Vec<Coord<f64>>, ValidationError> {
        array(value, what)?
            .iter()
            .map(|p| self.position(p))
            .collect()
    }

    fn line(&mut self, value: &Value) -> Result<LineString<f64>, ValidationError> {
        let coords = self.positions(value, "LineString")?;
        if coords.len() < 2 {
            return Err(invalid("a LineString needs at least 2 positions"));
        }
        Ok(LineString(coords))
    }

    fn polygon(&mut self, value: &Value) -> Result<Polygon<f64>, ValidationError> {
        let rings = array(value, "Polygon")?;
        if rings.is_empty() {
            return Err(invalid("a Polygon needs at least one ring"));
        }
        let mut checked = Vec::with_capacity(rings.len());
        for (i, ring) in rings.iter().enumerate() {
            let coords = self.positions(ring, "ring")?;
            if coords.len() < 4 {
                return Err(invalid(format!(
                    "ring {i} has {} positions; at least 4 are needed",
                    coords.len()
                )));
            }
            if coords.first() != coords.last() {
                return Err(invalid(format!("ring {i} is not closed")));
            }
            checked.push(LineString(coords));
        }
        let exterior = checked.remove(0);
        Ok(Polygon::new(exterior, checked))
    }
}

fn array<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, ValidationError> {
    value
        .as_array()
        .ok_or_else(|| invalid(format!("{what} coordinates must be an array")))
}

/// Writes a geometry as a GeoJSON geometry object.
pub fn geometry_to_json(geometry: &Geometry<f64>) -> Value {
    let geojson_geometry = geojson::Geometry::from(geometry);
    serde_json::to_value(&geojson_geometry).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_of(value: Value) -> (&'static str, String) {
        let e = parse_geometry(&value).unwrap_err();
        (e.code, e.message.into_owned())
    }

    #[test]
    fn a_point_round_trips_through_geojson() {
        let value = json!({"type": "Point", "coordinates": [76.944, 43.262]});
        let geometry = parse_geometry(&value).unwrap();
        assert_eq!(geometry_to_json(&geometry), value);
    }

    #[test]
    fn non_finite_coordinates_are_rejected() {
        assert_eq!(
            LonLat::new(f64::INFINITY, 0.0).unwrap_err().code,
            "invalid_coordinate"
        );
        assert_eq!(
            LonLat::new(0.0, f64::NAN).unwrap_err().code,
            "invalid_coordinate"
        );
    }

    #[test]
    fn longitude_outside_range_is_rejected() {
        let (code, message) = code_of(json!({"type": "Point", "coordinates": [180.5, 0]}));
        assert_eq!(code, "invalid_coordinate");
        assert!(message.contains("longitude"), "{message}");
    }

    #[test]
    fn latitude_outside_range_is_rejected() {
        let (code, message) = code_of(json!({"type": "Point", "coordinates": [0, -90.01]}));
        assert_eq!(code, "invalid_coordinate");
        assert!(message.contains("latitude"), "{message}");
    }

    #[test]
    fn positions_need_two_or_three_numbers() {
        assert_eq!(
            code_of(json!({"type": "Point", "coordinates": [1]})).0,
            "invalid_coordinate"
        );
        assert_eq!(
            code_of(json!({"type": "Point", "coordinates": [1, 2, 3, 4]})).0,
            "invalid_coordinate"
        );
        assert!(parse_geometry(&json!({"type": "Point", "coordinates": [1, 2, 3]})).is_ok());
    }

    #[test]
    fn position_members_must_be_numbers() {
        assert_eq!(
            code_of(json!({"type": "Point", "coordinates": ["76.9", 43.2]})).0,
            "invalid_coordinate"
        );
    }

    #[test]
    fn rings_must_be_closed() {
        let (code, message) =
            code_of(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}));
        assert_eq!(
            (code, message.as_str()),
            ("invalid_geometry", "ring 0 is not closed")
        );
    }

    #[test]
    fn rings_need_four_positions() {
        let (code, message) =
            code_of(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}));
        assert_eq!(code, "invalid_geometry");
        assert!(message.contains("at least 4"), "{message}");
    }

    #[test]
    fn self_intersecting_polygons_are_rejected() {
        let bow_tie =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]});
        let (code, message) = code_of(bow_tie);
        assert_eq!(code, "invalid_geometry");
        assert!(message.contains("not valid"), "{message}");
    }

    #[test]
    fn line_strings_need_two_positions() {
        assert_eq!(
            code_of(json!({"type": "LineString", "coordinates": [[0, 0]]})).0,
            "invalid_geometry"
        );
    }

    #[test]
    fn too_many_vertices_are_rejected() {
        let coords: Vec<Value> = (0..=MAX_VERTICES)
            .map(|i| json!([i as f64 * 1e-6, 0.0]))
            .collect();
        assert_eq!(
            code_of(json!({"type": "MultiPoint", "coordinates": coords})).0,
            "too_many_vertices"
        );
    }

    #[test]
    fn deeply_nested_collections_are_rejected() {
        let point = json!({"type": "Point", "coordinates": [0, 0]});
        let nested = json!({"type": "GeometryCollection", "geometries": [
            {"type": "GeometryCollection", "geometries": [
                {"type": "GeometryCollection", "geometries": [point]}]}]});
        assert_eq!(code_of(nested).0, "nesting_too_deep");
    }

    #[test]
    fn unknown_geometry_members_are_rejected() {
        let value = json!({"type": "Point", "coordinates": [0, 0], "radius": 3});
        assert_eq!(code_of(value).0, "unknown_field");
    }

    #[test]
    fn unknown_geometry_types_are_rejected() {
        assert_eq!(
            code_of(json!({"type": "Circle", "coordinates": [0, 0]})).0,
            "invalid_geometry"
        );
    }
}
