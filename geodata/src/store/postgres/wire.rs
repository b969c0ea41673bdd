//! Values on their way into and out of PostgreSQL: text it cannot hold,
//! geometry as WKB, times at the precision both stores keep.

use chrono::{DateTime, SubsecRound, Utc};
use geo::Geometry;
use geozero::wkb::Wkb;
use geozero::{CoordDimensions, ToGeo, ToWkb};
use serde_json::Value;

use crate::error::{Error, Result, ValidationError};
use crate::store::IssueRecord;

/// Millisecond precision, as the SQLite store keeps (`format_time`), so both
/// stores return the same instant for the same input.
pub(super) fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// PostgreSQL text cannot hold U+0000; say so as a validation error rather
/// than fail inside the database.
pub(super) fn check_text(value: &str, field: &'static str) -> Result<(), ValidationError> {
    if value.contains('\0') {
        Err(ValidationError::new(
            "invalid_text",
            field,
            "text must not contain the NUL character (U+0000)",
        ))
    } else {
        Ok(())
    }
}

pub(super) fn check_json_text(value: &Value) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => check_text(s, "properties"),
        Value::Array(items) => items.iter().try_for_each(check_json_text),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(k, "properties")?;
            check_json_text(v)
        }),
        _ => Ok(()),
    }
}

pub(super) fn check_record_text(r: &IssueRecord) -> Result<(), ValidationError> {
    let report = r.report();
    check_text(report.category().code, "properties.category")?;
    check_text(report.description(), "properties.description")?;
    if let Some(address) = report.address() {
        check_text(address, "properties.address")?;
    }
    if let Some(email) = report.reporter_email() {
        check_text(email, "properties.reporter_email")?;
    }
    Ok(())
}

/// `geometry` as OGC WKB (two dimensions, as Qala keeps them).
pub(super) fn to_wkb(geometry: &Geometry<f64>) -> Result<Vec<u8>, ValidationError> {
    geometry.to_wkb(CoordDimensions::xy()).map_err(|e| {
        ValidationError::new(
            "invalid_geometry",
            "geometry",
            format!("the geometry cannot be encoded as WKB: {e}"),
        )
    })
}

pub(super) fn from_wkb(bytes: &[u8]) -> Result<Geometry<f64>> {
    Wkb(bytes)
        .to_geo()
        .map_err(|e| Error::Corrupt(format!("bad WKB geometry: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{
        Coord, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
        Polygon,
    };

    #[test]
    fn every_geometry_type_round_trips_through_wkb_exactly() {
        let ring = |x: f64, y: f64, d: f64| {
            LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
        };
        let with_hole = Polygon::new(ring(76.9, 43.2, 0.1), vec![ring(76.93, 43.23, 0.01)]);
        let point = Point::new(76.944_123_456_789, 43.262_987_654_321);
        let line = LineString::from(vec![(76.9, 43.2), (76.95, 43.25), (77.0, 43.21)]);
        let geometries: Vec<Geometry<f64>> = vec![
            point.into(),
            line.clone().into(),
            with_hole.clone().into(),
            MultiPoint::new(vec![point, Point::new(-179.999_999, -89.5)]).into(),
            MultiLineString::new(vec![line.clone(), ring(0.0, 0.0, 1.0)]).into(),
            MultiPolygon::new(vec![
                with_hole.clone(),
                Polygon::new(ring(1.0, 1.0, 0.5), vec![]),
            ])
            .into(),
            Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                with_hole.into(),
                point.into(),
                Geometry::GeometryCollection(GeometryCollection::new_from(vec![line.into()])),
            ])),
        ];
        for g in geometries {
            let bytes = to_wkb(&g).unwrap();
            assert_eq!(from_wkb(&bytes).unwrap(), g);
        }
        let c = Coord { x: 1.0, y: 2.0 };
        assert_eq!(
            to_wkb(&Point::from(c).into()).unwrap().len(),
            21,
            "a 2D point is 21 bytes of WKB"
        );
    }

    #[test]
    fn text_with_nul_is_a_validation_error() {
        assert_eq!(check_text("a\0b", "x").unwrap_err().code, "invalid_text");
        assert!(check_text("Алматы", "x").is_ok());
        let nested = serde_json::json!({"a": [{"b\0": 1}]});
        assert_eq!(check_json_text(&nested).unwrap_err().code, "invalid_text");
    }

    #[test]
    fn times_keep_milliseconds_and_drop_the_rest() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(
            millis(t),
            DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap()
        );
        let before_1970 = DateTime::from_timestamp(-1, 999_999_999).unwrap();
        assert_eq!(
            crate::issue::format_time(millis(before_1970)),
            crate::issue::format_time(before_1970)
        );
    }
}
