//! A lon/lat bounding box, as `?bbox=` and GeoJSON's `bbox` member give it.

use rstar::AABB;

use super::check_position;
use crate::error::ValidationError;

/// A lon/lat bounding box (RFC 7946 order: west, south, east, north).
///
/// `west > east` means the box crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Westmost longitude.
    pub west: f64,
    /// Southmost latitude.
    pub south: f64,
    /// Eastmost longitude.
    pub east: f64,
    /// Northmost latitude.
    pub north: f64,
}

impl BBox {
    /// Parses `west,south,east,north` as in `?bbox=`.
    ///
    /// ```
    /// use qala_geodata::BBox;
    /// let b = BBox::parse("76.9,43.2,77.0,43.3").unwrap();
    /// assert_eq!(b.north, 43.3);
    /// assert!(BBox::parse("76.9,43.3,77.0,43.2").is_err()); // south above north
    /// assert!(BBox::parse("nan,1,2,3").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("invalid_parameter", "bbox", m);
        let numbers = s
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("bbox must be four numbers: west,south,east,north".into()))?;
        let [west, south, east, north] = numbers[..] else {
            return Err(bad(
                "bbox must be four numbers: west,south,east,north".into()
            ));
        };
        check_position(west, south, "bbox")?;
        check_position(east, north, "bbox")?;
        if south > north {
            return Err(bad("bbox south must not be above north".into()));
        }
        Ok(Self {
            west,
            south,
            east,
            north,
        })
    }

    /// The box as one or two R-tree envelopes (two when it crosses the antimeridian).
    pub(crate) fn envelopes(self) -> Vec<AABB<[f64; 2]>> {
        if self.west <= self.east {
            vec![AABB::from_corners(
                [self.west, self.south],
                [self.east, self.north],
            )]
        } else {
            vec![
                AABB::from_corners([self.west, self.south], [180.0, self.north]),
                AABB::from_corners([-180.0, self.south], [self.east, self.north]),
            ]
        }
    }

    /// The smallest box around an envelope.
    pub(crate) fn from_envelope(e: &AABB<[f64; 2]>) -> Self {
        let ([west, south], [east, north]) = (e.lower(), e.upper());
        Self {
            west,
            south,
            east,
            north,
        }
    }
}
