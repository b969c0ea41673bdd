//! A static picture of where an issue is: its district's outline with the
//! point marked, as inline SVG path data. No script, no tiles, nothing
//! fetched: it shows wherever the HTML does.

use geo::MultiPolygon;
use qala_geodata::LonLat;

/// The picture's side in SVG units.
pub const SIZE: f64 = 240.0;
/// Margin inside the picture.
const MARGIN: f64 = 12.0;
/// Vertices kept per ring at most (a district outline does not need more
/// to be recognised; a long ring is sampled evenly).
const MAX_RING_POINTS: usize = 400;

/// What the template draws: the outline's path data (empty without a
/// district) and the point, in SVG units.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    /// `d` of one path: every ring of the district.
    pub outline: String,
    /// The position.
    pub point: (f64, f64),
}

/// Projects the district and the point (equirectangular, longitude shrunk
/// by cos(latitude), north up) into a [`SIZE`] square with a margin.
pub fn draw(district: Option<&MultiPolygon<f64>>, at: LonLat) -> Drawing {
    let k = at.lat().to_radians().cos().max(0.01);
    let rings: Vec<Vec<(f64, f64)>> = district
        .map(|mp| {
            mp.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .map(|ring| ring.coords().map(|c| (c.x, c.y)).collect())
                .collect()
        })
        .unwrap_or_default();
    let mut west = at.lon();
    let mut east = at.lon();
    let mut south = at.lat();
    let mut north = at.lat();
    for &(x, y) in rings.iter().flatten() {
        west = west.min(x);
        east = east.max(x);
        south = south.min(y);
        north = north.max(y);
    }
    // Without an outline, a box of about a kilometre around the point.
    let span = ((east - west) * k).max(north - south).max(0.01);
    let scale = (SIZE - 2.0 * MARGIN) / span;
    let cx = (west + east) / 2.0;
    let cy = (south + north) / 2.0;
    let project = |x: f64, y: f64| {
        (
            SIZE / 2.0 + (x - cx) * k * scale,
            SIZE / 2.0 - (y - cy) * scale,
        )
    };
    let mut outline = String::new();
    for ring in &rings {
        let step = ring.len().div_ceil(MAX_RING_POINTS).max(1);
        for (i, &(x, y)) in ring.iter().step_by(step).enumerate() {
            let (px, py) = project(x, y);
            let command = if i == 0 { 'M' } else { 'L' };
            outline.push_str(&format!("{command}{px:.1} {py:.1}"));
        }
        outline.push('Z');
    }
    Drawing {
        outline,
        point: project(at.lon(), at.lat()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    #[test]
    fn the_point_and_the_outline_fit_the_square() {
        let square = Polygon::new(
            LineString::from(vec![
                (76.9, 43.2),
                (77.0, 43.2),
                (77.0, 43.3),
                (76.9, 43.3),
                (76.9, 43.2),
            ]),
            vec![],
        );
        let at = LonLat::new(76.95, 43.25).unwrap();
        let drawing = draw(Some(&MultiPolygon(vec![square])), at);
        assert!(drawing.outline.starts_with('M') && drawing.outline.ends_with('Z'));
        assert_eq!(drawing.point, (SIZE / 2.0, SIZE / 2.0));
        let alone = draw(None, at);
        assert_eq!(
            (alone.outline.as_str(), alone.point),
            ("", (SIZE / 2.0, SIZE / 2.0))
        );
    }
}
