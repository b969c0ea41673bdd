//! Simplification and snapping to the integer tile grid, in tile pixel space.
//!
//! A tile is drawn at roughly one screen pixel per 16 tile units (4096 units
//! for a 256 px tile), so detail below about 1 tile unit is invisible. Lines
//! and rings are simplified with Ramer–Douglas–Peucker at a tolerance in
//! tile units (default [`DEFAULT_TOLERANCE`] = 1); the implementation here
//! is `geo::Simplify`'s algorithm on squared distances, because `geo`'s
//! `hypot` per position was a third of the polygon benchmark. Because the
//! tolerance is in tile units, the ground tolerance halves with every zoom
//! level: this *is* the per-zoom simplification.
//!
//! Then every coordinate is rounded to the integer grid MVT stores. Rounding
//! can break polygons, so each ring is cleaned (repeated positions and
//! zero-width spikes removed), rings with fewer than 4 positions or zero area
//! are dropped (a dropped exterior drops its polygon), and the polygon is
//! checked for validity (an exact integer check with the rules of
//! `geo::Validation`, see the private `validity` module). If the simplified
//! polygon is invalid the unsimplified one is snapped instead; if that is
//! invalid too, the simplified rings are repaired with a `geo::BooleanOps`
//! union (even–odd) and re-snapped, a few rounds at most, keeping only the
//! parts that come out valid. No invalid ring is ever emitted.

use geo::{
    BooleanOps, Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint,
    MultiPolygon, Point, Polygon,
};

use crate::ring::{clean_open_ring, close, drop_collapsed_rings, open_coords};
use crate::validity::is_valid_polygon;

/// The default simplification tolerance, in tile units (of a 4096 extent).
pub const DEFAULT_TOLERANCE: f64 = 1.0;

/// Simplifies (if `tolerance > 0`) and snaps any geometry in tile pixels to
/// integer tile coordinates; `None` when nothing survives.
///
/// Output types: points keep their type, lines become a `MultiLineString`,
/// polygons a `MultiPolygon` (every polygon valid per `geo::Validation`), a
/// `GeometryCollection` is handled member by member. Coordinates are rounded
/// half away from zero and saturate at the `i32` range (clip first).
///
/// ```
/// use geo::{line_string, Geometry};
/// use qala_tiles::simplify::simplify_and_snap;
/// // The middle position is 0.3 units off the straight line: it goes.
/// let line = Geometry::LineString(line_string![(x: 0.2, y: 0.0), (x: 50.0, y: 0.3), (x: 100.4, y: 0.0)]);
/// let Some(Geometry::MultiLineString(snapped)) = simplify_and_snap(&line, 1.0) else { panic!() };
/// assert_eq!(snapped.0[0], line_string![(x: 0, y: 0), (x: 100, y: 0)]);
/// ```
#[must_use]
pub fn simplify_and_snap(geometry: &Geometry<f64>, tolerance: f64) -> Option<Geometry<i32>> {
    let out = match geometry {
        Geometry::Point(p) => Geometry::Point(snap_point(*p)),
        Geometry::MultiPoint(mp) => {
            Geometry::MultiPoint(MultiPoint(mp.iter().map(|p| snap_point(*p)).collect()))
        }
        Geometry::Line(l) => lines(
            std::iter::once(&LineString(vec![l.start, l.end])),
            tolerance,
        ),
        Geometry::LineString(ls) => lines(std::iter::once(ls), tolerance),
        Geometry::MultiLineString(mls) => lines(mls.iter(), tolerance),
        Geometry::Polygon(p) => polygons(std::iter::once(p), tolerance),
        Geometry::MultiPolygon(mp) => polygons(mp.iter(), tolerance),
        Geometry::Rect(r) => polygons(std::iter::once(&r.to_polygon()), tolerance),
        Geometry::Triangle(t) => polygons(std::iter::once(&t.to_polygon()), tolerance),
        Geometry::GeometryCollection(gc) => Geometry::GeometryCollection(GeometryCollection(
            gc.iter()
                .filter_map(|g| simplify_and_snap(g, tolerance))
                .collect(),
        )),
    };
    let empty = match &out {
        Geometry::MultiPoint(mp) => mp.0.is_empty(),
        Geometry::MultiLineString(mls) => mls.0.is_empty(),
        Geometry::MultiPolygon(mp) => mp.0.is_empty(),
        Geometry::GeometryCollection(gc) => gc.0.is_empty(),
        _ => false,
    };
    (!empty).then_some(out)
}

/// Rounds a point to the integer grid.
#[must_use]
pub fn snap_point(point: Point<f64>) -> Point<i32> {
    Point(to_i32(point.0))
}

/// Simplifies and snaps a line string; `None` if fewer than two distinct
/// positions remain (MVT needs at least one `LineTo`).
#[must_use]
pub fn simplify_line_string(line: &LineString<f64>, tolerance: f64) -> Option<LineString<i32>> {
    let simplified;
    let line = if tolerance > 0.0 {
        simplified = LineString(rdp(&line.0, tolerance));
        &simplified
    } else {
        line
    };
    let mut out: Vec<Coord<i32>> = Vec::with_capacity(line.0.len());
    for &c in &line.0 {
        let c = to_i32(round(c));
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    (out.len() >= 2).then_some(LineString(out))
}

/// Simplifies and snaps a polygon. Every polygon returned is valid (by the
/// rules of `geo::Validation`); the result is empty when the polygon collapses at this
/// resolution, and may hold several parts when a repair splits it.
///
/// ```
/// use geo::polygon;
/// use qala_tiles::simplify::simplify_polygon;
/// let tiny = polygon![(x: 0.1, y: 0.1), (x: 0.4, y: 0.1), (x: 0.4, y: 0.4)];
/// assert!(simplify_polygon(&tiny, 1.0).is_empty()); // collapses to one grid point
/// let square = polygon![(x: 0.1, y: 0.1), (x: 10.4, y: 0.0), (x: 10.0, y: 9.6), (x: 0.0, y: 10.0)];
/// let snapped = simplify_polygon(&square, 1.0);
/// assert_eq!(snapped[0].exterior().0.len(), 5);
/// ```
#[must_use]
pub fn simplify_polygon(polygon: &Polygon<f64>, tolerance: f64) -> Vec<Polygon<i32>> {
    // Rings are snapped but not yet filtered: a figure-eight has zero signed
    // area yet two good lobes, so collapsed-by-area rings still go to repair.
    let simplified = (tolerance > 0.0).then(|| snap_rings(&simplify_rings(polygon, tolerance)));
    if let Some(p) = simplified.as_ref().and_then(drop_collapsed_rings)
        && is_valid_polygon(&p)
    {
        return vec![polygon_to_i32(&p)];
    }
    let snapped = snap_rings(polygon);
    if snapped.exterior().0.len() < 4 {
        return Vec::new();
    }
    if let Some(p) = drop_collapsed_rings(&snapped)
        && is_valid_polygon(&p)
    {
        return vec![polygon_to_i32(&p)];
    }
    // Repair the simplified rings if there are any: fewer positions, and
    // the level of detail this zoom should show.
    let start = simplified
        .filter(|p| p.exterior().0.len() >= 4)
        .unwrap_or(snapped);
    repair(start)
}

/// How many times [`repair`] re-runs the overlay on parts that snapping broke again.
const REPAIR_ROUNDS: usize = 4;

/// Lets the overlay untangle snapped rings (even–odd fill), snaps its output
/// and keeps the valid parts. The overlay puts crossings off the grid, and
/// rounding them can tangle a part again, so such parts go round again, a
/// few times at most; what is still invalid then is dropped.
fn repair(polygon: Polygon<f64>) -> Vec<Polygon<i32>> {
    let empty = MultiPolygon::<f64>::new(Vec::new());
    let mut out = Vec::new();
    let mut pending = vec![polygon];
    for _ in 0..REPAIR_ROUNDS {
        let mut again = Vec::new();
        for p in &pending {
            for part in p.union(&empty) {
                let snapped = snap_rings(&part);
                match drop_collapsed_rings(&snapped) {
                    Some(v) if is_valid_polygon(&v) => out.push(polygon_to_i32(&v)),
                    _ if snapped.exterior().0.len() >= 4 => again.push(snapped),
                    _ => {}
                }
            }
        }
        if again.is_empty() {
            break;
        }
        pending = again;
    }
    out
}

/// Every ring rounded to the grid and cleaned, none dropped yet.
fn snap_rings(polygon: &Polygon<f64>) -> Polygon<f64> {
    Polygon::new(
        snap_ring(polygon.exterior()),
        polygon.interiors().iter().map(snap_ring).collect(),
    )
}

/// Ramer–Douglas–Peucker on an open polyline: keeps the first and last
/// positions and every position farther than `tolerance` from the chord of
/// its span (compared squared, so no square roots).
fn rdp(coords: &[Coord<f64>], tolerance: f64) -> Vec<Coord<f64>> {
    let n = coords.len();
    if n <= 2 {
        return coords.to_vec();
    }
    let tol2 = tolerance * tolerance;
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0, n - 1)];
    while let Some((a, b)) = stack.pop() {
        let (mut max_d2, mut far) = (0.0, a);
        for (i, &c) in coords.iter().enumerate().take(b).skip(a + 1) {
            let d2 = segment_distance2(c, coords[a], coords[b]);
            if d2 > max_d2 {
                max_d2 = d2;
                far = i;
            }
        }
        if max_d2 > tol2 {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    coords
        .iter()
        .zip(keep)
        .filter_map(|(&c, k)| k.then_some(c))
        .collect()
}

/// Squared distance from `p` to the segment `a–b`.
fn segment_distance2(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    };
    let (ex, ey) = (p.x - (a.x + t * dx), p.y - (a.y + t * dy));
    ex * ex + ey * ey
}

/// RDP on a closed ring: split at the position farthest from the first one
/// (so the two halves have proper chords) and simplify each half.
fn simplify_ring(ring: &LineString<f64>, tolerance: f64) -> LineString<f64> {
    let open = open_coords(ring);
    if open.len() <= 3 {
        return ring.clone();
    }
    let first = open[0];
    let far = open
        .iter()
        .enumerate()
        .map(|(i, &c)| (i, (c.x - first.x).powi(2) + (c.y - first.y).powi(2)))
        .fold(
            (0, 0.0),
            |best, cur| if cur.1 > best.1 { cur } else { best },
        )
        .0;
    let mut out = rdp(&open[..=far], tolerance);
    let mut second: Vec<Coord<f64>> = open[far..].to_vec();
    second.push(first);
    let second = rdp(&second, tolerance);
    // Skip the shared split position and the closing one.
    out.extend_from_slice(&second[1..second.len() - 1]);
    close(out)
}

fn simplify_rings(polygon: &Polygon<f64>, tolerance: f64) -> Polygon<f64> {
    Polygon::new(
        simplify_ring(polygon.exterior(), tolerance),
        polygon
            .interiors()
            .iter()
            .map(|r| simplify_ring(r, tolerance))
            .collect(),
    )
}

fn lines<'a>(lines: impl Iterator<Item = &'a LineString<f64>>, tolerance: f64) -> Geometry<i32> {
    Geometry::MultiLineString(MultiLineString(
        lines
            .filter_map(|l| simplify_line_string(l, tolerance))
            .collect(),
    ))
}

fn polygons<'a>(polygons: impl Iterator<Item = &'a Polygon<f64>>, tolerance: f64) -> Geometry<i32> {
    Geometry::MultiPolygon(MultiPolygon(
        polygons
            .flat_map(|p| simplify_polygon(p, tolerance))
            .collect(),
    ))
}

/// Rounds a ring to the grid and removes repeated positions and spikes; the
/// result is closed but may be too short or flat.
fn snap_ring(ring: &LineString<f64>) -> LineString<f64> {
    let mut coords: Vec<Coord<f64>> = open_coords(ring).iter().map(|&c| round(c)).collect();
    clean_open_ring(&mut coords);
    close(coords)
}

fn round(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x.round(),
        y: c.y.round(),
    }
}

/// `as` saturates out-of-range floats (and maps NaN to 0), which is the
/// documented behaviour for unclipped input.
fn to_i32(c: Coord<f64>) -> Coord<i32> {
    Coord {
        x: c.x.round() as i32,
        y: c.y.round() as i32,
    }
}

fn polygon_to_i32(p: &Polygon<f64>) -> Polygon<i32> {
    let ring = |r: &LineString<f64>| LineString(r.0.iter().map(|&c| to_i32(c)).collect());
    Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
}

#[cfg(test)]
mod tests {
    use geo::{Area, MapCoords, Validation, polygon};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn random_jagged_polygons_come_out_valid_per_geo_validation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1234);
        let mut kept = 0;
        for _ in 0..400 {
            let (cx, cy) = (rng.random_range(0.0..50.0), rng.random_range(0.0..50.0));
            let r = rng.random_range(1.0..40.0);
            let n = rng.random_range(5..80);
            let ring = |rng: &mut ChaCha8Rng, r: f64| {
                LineString::from(
                    (0..n)
                        .map(|i| {
                            let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
                            let rr = r * rng.random_range(0.3..1.0);
                            (cx + rr * a.cos(), cy + rr * a.sin())
                        })
                        .collect::<Vec<_>>(),
                )
            };
            let exterior = ring(&mut rng, r);
            let holes = if rng.random_bool(0.5) {
                vec![ring(&mut rng, r * 0.25)]
            } else {
                vec![]
            };
            let p = Polygon::new(exterior, holes);
            for tolerance in [0.0, 0.5, 1.0, 4.0] {
                for q in simplify_polygon(&p, tolerance) {
                    kept += 1;
                    let q = as_f64(&q);
                    assert!(q.is_valid(), "{q:?}: {:?}", q.validation_errors());
                }
            }
        }
        assert!(kept > 1000, "most polygons survive ({kept})");
    }

    fn as_f64(p: &Polygon<i32>) -> Polygon<f64> {
        p.map_coords(|c| Coord {
            x: f64::from(c.x),
            y: f64::from(c.y),
        })
    }

    #[test]
    fn snapped_polygons_have_integer_coordinates_and_stay_valid() {
        // A wobbly circle with many sub-unit wiggles and a hole.
        let n = 400;
        let ring = |r: f64, cx: f64, cy: f64| -> Vec<(f64, f64)> {
            (0..n)
                .map(|i| {
                    let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
                    let wobble = if i % 2 == 0 { 0.3 } else { -0.3 };
                    (cx + (r + wobble) * a.cos(), cy + (r + wobble) * a.sin())
                })
                .collect()
        };
        let p = Polygon::new(
            LineString::from(ring(500.0, 1000.0, 1000.0)),
            vec![LineString::from(ring(100.0, 1000.0, 1000.0))],
        );
        let out = simplify_polygon(&p, 1.0);
        assert_eq!(out.len(), 1);
        let q = as_f64(&out[0]);
        assert!(q.is_valid(), "{:?}", q.validation_errors());
        assert_eq!(q.interiors().len(), 1);
        assert!(
            q.exterior().0.len() < 400,
            "simplification removed the wiggles"
        );
        let rel = (q.unsigned_area() - p.unsigned_area()).abs() / p.unsigned_area();
        assert!(rel < 0.01, "area changed by {rel}");
    }

    #[test]
    fn rings_that_collapse_on_the_grid_are_dropped() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)],
            interiors: [[(x: 10.1, y: 10.1), (x: 10.3, y: 10.2), (x: 10.2, y: 10.4)]],
        );
        let out = simplify_polygon(&p, 1.0);
        assert_eq!(out.len(), 1);
        assert!(out[0].interiors().is_empty());
    }

    #[test]
    fn a_polygon_that_snaps_into_a_self_intersection_is_repaired_or_dropped() {
        // Two lobes joined by a sliver thinner than a grid unit: snapping makes
        // the ring touch itself along a line.
        let p = polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 4.8), (x: 20.0, y: 4.8),
            (x: 20.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 10.0), (x: 20.0, y: 10.0),
            (x: 20.0, y: 5.2), (x: 10.0, y: 5.2), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0),
        ];
        for tolerance in [0.0, 1.0, 3.0] {
            for q in simplify_polygon(&p, tolerance) {
                let q = as_f64(&q);
                assert!(q.is_valid(), "{:?}", q.validation_errors());
            }
        }
    }

    #[test]
    fn a_bow_tie_is_repaired_into_valid_parts() {
        let bow =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 10.0)];
        let out = simplify_polygon(&bow, 0.0);
        assert!(!out.is_empty());
        for q in &out {
            assert!(as_f64(q).is_valid());
        }
    }

    #[test]
    fn lines_lose_repeated_points_and_too_short_lines_vanish() {
        let l = LineString::from(vec![(0.1, 0.1), (0.2, 0.2), (5.0, 5.0), (5.2, 5.1)]);
        assert_eq!(
            simplify_line_string(&l, 0.0),
            Some(LineString::from(vec![(0, 0), (5, 5)]))
        );
        let dot = LineString::from(vec![(0.1, 0.1), (0.3, 0.2)]);
        assert_eq!(simplify_line_string(&dot, 1.0), None);
    }

    #[test]
    fn rdp_keeps_the_ends_and_the_positions_beyond_the_tolerance() {
        let pts: Vec<Coord<f64>> = [(0.0, 0.0), (1.0, 0.4), (2.0, 3.0), (3.0, 0.2), (4.0, 0.0)]
            .iter()
            .map(|&(x, y)| Coord { x, y })
            .collect();
        let out = rdp(&pts, 1.0);
        assert_eq!(out, vec![pts[0], pts[2], pts[4]]);
        assert_eq!(rdp(&pts, 0.1), pts);
    }

    #[test]
    fn ring_simplification_matches_geo_simplify_on_a_wiggly_ring() {
        use geo::Simplify;
        let n = 300;
        let ring = LineString::from(
            (0..n)
                .map(|i| {
                    let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
                    let r = 100.0 + if i % 3 == 0 { 0.5 } else { 0.0 };
                    (r * a.cos(), r * a.sin())
                })
                .collect::<Vec<_>>(),
        );
        let ours = simplify_ring(&ring, 1.0);
        let theirs = Polygon::new(ring.clone(), vec![]).simplify(1.0);
        // Different split points give slightly different but equally faithful rings.
        let area = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).unsigned_area();
        assert!((area(&ours) - area(theirs.exterior())).abs() / area(&ring) < 0.01);
        assert!(
            ours.0.len() < ring.0.len() / 3,
            "{} positions left",
            ours.0.len()
        );
        assert_eq!(ours.0.first(), ours.0.last());
    }

    #[test]
    fn points_are_rounded_to_the_nearest_unit() {
        assert_eq!(snap_point(Point::new(1.5, -2.4)), Point::new(2, -2));
    }
}
