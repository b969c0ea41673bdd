//! Clipping in tile pixel space (x right, y down) to the tile square grown
//! by a buffer, so lines and polygon edges that cross a tile border render
//! without seams: with the default 64 px buffer of a 4096 extent, the clip
//! square is `[-64, 4160]²`.
//!
//! - Points outside the square are dropped (points on its edge are kept).
//! - Lines are clipped segment by segment (Liang–Barsky) and the pieces that
//!   stay connected are stitched back, giving a `MultiLineString`.
//! - Polygons are first cut down with Sutherland–Hodgman per ring (cheap, and
//!   it keeps coordinates near the tile, so the overlay below keeps its
//!   precision even for a country-sized polygon at z22), then intersected with
//!   the square by `geo::BooleanOps`, whose overlay (`i_overlay`, OGC mode)
//!   returns *valid* polygons: holes kept, zero-width bridges that
//!   Sutherland–Hodgman leaves along the border removed, collapsed rings
//!   dropped. Polygons entirely inside the square skip the overlay; only
//!   their collapsed rings (fewer than 4 positions or zero area) are dropped.

use geo::{
    BooleanOps, BoundingRect, Coord, Geometry, GeometryCollection, LineString, MultiLineString,
    MultiPoint, MultiPolygon, Point, Polygon, Rect,
};

use crate::ring::{close, drop_collapsed_rings, open_coords};

/// The default buffer around a tile, in tile pixels of a 4096 extent.
pub const DEFAULT_BUFFER: u32 = 64;

/// The clip square for a tile: `[-buffer, extent + buffer]` on both axes, in tile pixels.
///
/// ```
/// use qala_tiles::clip::clip_bounds;
/// let b = clip_bounds(4096, 64);
/// assert_eq!((b.min().x, b.max().y), (-64.0, 4160.0));
/// ```
#[must_use]
pub fn clip_bounds(extent: u32, buffer: u32) -> Rect<f64> {
    let lo = -f64::from(buffer);
    let hi = f64::from(extent) + f64::from(buffer);
    Rect::new(Coord { x: lo, y: lo }, Coord { x: hi, y: hi })
}

/// Clips any geometry (tile pixels) to `bounds`; `None` when nothing is left.
///
/// Lines come back as a `MultiLineString`, polygons as a `MultiPolygon`,
/// points keep their type; `Line`, `Rect` and `Triangle` are treated as the
/// line string / polygon they describe; a `GeometryCollection` is clipped
/// member by member.
///
/// ```
/// use geo::{line_string, Geometry};
/// use qala_tiles::clip::{clip_bounds, clip_geometry};
/// let line = Geometry::LineString(line_string![(x: -1000.0, y: 10.0), (x: 100.0, y: 10.0)]);
/// let Some(Geometry::MultiLineString(clipped)) = clip_geometry(&line, clip_bounds(4096, 64)) else {
///     panic!("the line crosses the tile");
/// };
/// assert_eq!(clipped.0[0].0[0].x, -64.0);
/// ```
#[must_use]
pub fn clip_geometry(geometry: &Geometry<f64>, bounds: Rect<f64>) -> Option<Geometry<f64>> {
    let clipped = match geometry {
        Geometry::Point(p) => clip_point(*p, bounds).map(Geometry::Point)?,
        Geometry::MultiPoint(mp) => Geometry::MultiPoint(MultiPoint(
            mp.iter().filter_map(|p| clip_point(*p, bounds)).collect(),
        )),
        Geometry::Line(l) => {
            Geometry::MultiLineString(clip_line_string(&LineString(vec![l.start, l.end]), bounds))
        }
        Geometry::LineString(ls) => Geometry::MultiLineString(clip_line_string(ls, bounds)),
        Geometry::MultiLineString(mls) => Geometry::MultiLineString(MultiLineString(
            mls.iter()
                .flat_map(|ls| clip_line_string(ls, bounds).0)
                .collect(),
        )),
        Geometry::Polygon(p) => Geometry::MultiPolygon(clip_polygon(p, bounds)),
        Geometry::MultiPolygon(mp) => Geometry::MultiPolygon(MultiPolygon(
            mp.iter().flat_map(|p| clip_polygon(p, bounds).0).collect(),
        )),
        Geometry::Rect(r) => Geometry::MultiPolygon(clip_polygon(&r.to_polygon(), bounds)),
        Geometry::Triangle(t) => Geometry::MultiPolygon(clip_polygon(&t.to_polygon(), bounds)),
        Geometry::GeometryCollection(gc) => Geometry::GeometryCollection(GeometryCollection(
            gc.iter().filter_map(|g| clip_geometry(g, bounds)).collect(),
        )),
    };
    (!is_empty(&clipped)).then_some(clipped)
}

/// The point if it lies inside `bounds` (edges included).
#[must_use]
pub fn clip_point(point: Point<f64>, bounds: Rect<f64>) -> Option<Point<f64>> {
    contains(bounds, point.0).then_some(point)
}

/// Clips a line string to `bounds` (Liang–Barsky per segment); the parts
/// inside come back in order, each with at least two positions.
#[must_use]
pub fn clip_line_string(line: &LineString<f64>, bounds: Rect<f64>) -> MultiLineString<f64> {
    let mut parts = Vec::new();
    let Some(bb) = line.bounding_rect() else {
        return MultiLineString(parts);
    };
    if !intersects(bb, bounds) {
        return MultiLineString(parts);
    }
    if contains_rect(bounds, bb) {
        if line.0.len() >= 2 {
            parts.push(line.clone());
        }
        return MultiLineString(parts);
    }
    let mut run: Vec<Coord<f64>> = Vec::new();
    for seg in line.0.windows(2) {
        match clip_segment(seg[0], seg[1], bounds) {
            Some((a, b)) => {
                // A segment that starts where the previous one ended (both
                // inside) continues the run; anything else starts a new one.
                if run.last() != Some(&a) {
                    flush(&mut run, &mut parts);
                    run.push(a);
                }
                if run.last() != Some(&b) {
                    run.push(b);
                }
            }
            None => flush(&mut run, &mut parts),
        }
    }
    flush(&mut run, &mut parts);
    MultiLineString(parts)
}

/// Clips a polygon to `bounds`. The result is valid (per `geo::Validation`)
/// whenever the input is, keeps the holes that reach into `bounds` and has no
/// collapsed rings.
///
/// ```
/// use geo::{polygon, Validation};
/// use qala_tiles::clip::{clip_bounds, clip_polygon};
/// let p = polygon!(
///     exterior: [(x: -500.0, y: -500.0), (x: 500.0, y: -500.0), (x: 500.0, y: 500.0), (x: -500.0, y: 500.0)],
///     interiors: [[(x: 100.0, y: 100.0), (x: 200.0, y: 100.0), (x: 200.0, y: 200.0), (x: 100.0, y: 200.0)]],
/// );
/// let clipped = clip_polygon(&p, clip_bounds(4096, 64));
/// assert_eq!(clipped.0.len(), 1);
/// assert_eq!(clipped.0[0].interiors().len(), 1);
/// assert!(clipped.is_valid());
/// ```
#[must_use]
pub fn clip_polygon(polygon: &Polygon<f64>, bounds: Rect<f64>) -> MultiPolygon<f64> {
    let Some(bb) = polygon.exterior().bounding_rect() else {
        return MultiPolygon(Vec::new());
    };
    if !intersects(bb, bounds) {
        return MultiPolygon(Vec::new());
    }
    if contains_rect(bounds, bb) {
        return MultiPolygon(drop_collapsed_rings(polygon).into_iter().collect());
    }
    let exterior = sutherland_hodgman(open_coords(polygon.exterior()), bounds);
    if exterior.len() < 3 {
        return MultiPolygon(Vec::new());
    }
    let holes = polygon
        .interiors()
        .iter()
        .filter(|h| h.bounding_rect().is_some_and(|hb| intersects(hb, bounds)))
        .map(|h| sutherland_hodgman(open_coords(h), bounds))
        .filter(|h| h.len() >= 3)
        .map(close)
        .collect();
    let pre_clipped = Polygon::new(close(exterior), holes);
    // The overlay turns the pre-clipped rings (which may touch themselves
    // along the border) into valid polygons.
    let result = pre_clipped.intersection(&bounds.to_polygon());
    MultiPolygon(result.0.iter().filter_map(drop_collapsed_rings).collect())
}

fn flush(run: &mut Vec<Coord<f64>>, parts: &mut Vec<LineString<f64>>) {
    if run.len() >= 2 {
        parts.push(LineString(std::mem::take(run)));
    } else {
        run.clear();
    }
}

/// Liang–Barsky: the part of segment `a → b` inside `r`, or `None`.
/// Ends that are inside are returned bit-for-bit unchanged, which is what
/// lets [`clip_line_string`] stitch consecutive segments by equality.
fn clip_segment(a: Coord<f64>, b: Coord<f64>, r: Rect<f64>) -> Option<(Coord<f64>, Coord<f64>)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (min, max) = (r.min(), r.max());
    let mut t0 = 0.0_f64;
    let mut t1 = 1.0_f64;
    for (p, q) in [
        (-dx, a.x - min.x),
        (dx, max.x - a.x),
        (-dy, a.y - min.y),
        (dy, max.y - a.y),
    ] {
        if p == 0.0 {
            // Parallel to this edge: entirely outside or irrelevant.
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return None;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return None;
                }
                t1 = t1.min(t);
            }
        }
    }
    let start = if t0 > 0.0 {
        clamp_to(
            Coord {
                x: a.x + t0 * dx,
                y: a.y + t0 * dy,
            },
            r,
        )
    } else {
        a
    };
    let end = if t1 < 1.0 {
        clamp_to(
            Coord {
                x: a.x + t1 * dx,
                y: a.y + t1 * dy,
            },
            r,
        )
    } else {
        b
    };
    Some((start, end))
}

/// Sutherland–Hodgman: clips an open ring against the four edges of `r`.
/// The output is an open ring inside `r`; for concave input it may run
/// along the border twice (zero-width bridges), which the overlay removes.
fn sutherland_hodgman(ring: &[Coord<f64>], r: Rect<f64>) -> Vec<Coord<f64>> {
    let (min, max) = (r.min(), r.max());
    let mut current: Vec<Coord<f64>> = ring.to_vec();
    let mut next: Vec<Coord<f64>> = Vec::with_capacity(ring.len() + 8);
    // Each edge: is a point inside, and where does segment p→q cross the edge.
    let edges: [(Edge, f64); 4] = [
        (Edge::Left, min.x),
        (Edge::Right, max.x),
        (Edge::Top, min.y),
        (Edge::Bottom, max.y),
    ];
    for (edge, v) in edges {
        next.clear();
        let Some(&last) = current.last() else {
            break;
        };
        let mut prev = last;
        let mut prev_in = edge.inside(prev, v);
        for &c in &current {
            let c_in = edge.inside(c, v);
            if c_in {
                if !prev_in {
                    next.push(edge.intersect(prev, c, v));
                }
                next.push(c);
            } else if prev_in {
                next.push(edge.intersect(prev, c, v));
            }
            prev = c;
            prev_in = c_in;
        }
        std::mem::swap(&mut current, &mut next);
    }
    current
}

#[derive(Clone, Copy)]
enum Edge {
    Left,
    Right,
    Top,
    Bottom,
}

impl Edge {
    fn inside(self, c: Coord<f64>, v: f64) -> bool {
        match self {
            Self::Left => c.x >= v,
            Self::Right => c.x <= v,
            Self::Top => c.y >= v,
            Self::Bottom => c.y <= v,
        }
    }

    /// Where `p → q` crosses the edge line (the two are on opposite sides).
    fn intersect(self, p: Coord<f64>, q: Coord<f64>, v: f64) -> Coord<f64> {
        match self {
            Self::Left | Self::Right => {
                let t = (v - p.x) / (q.x - p.x);
                Coord {
                    x: v,
                    y: p.y + t * (q.y - p.y),
                }
            }
            Self::Top | Self::Bottom => {
                let t = (v - p.y) / (q.y - p.y);
                Coord {
                    x: p.x + t * (q.x - p.x),
                    y: v,
                }
            }
        }
    }
}

/// Rounding in `a + t·d` can overshoot an edge by an ulp; pull it back.
fn clamp_to(c: Coord<f64>, r: Rect<f64>) -> Coord<f64> {
    Coord {
        x: c.x.clamp(r.min().x, r.max().x),
        y: c.y.clamp(r.min().y, r.max().y),
    }
}

fn contains(r: Rect<f64>, c: Coord<f64>) -> bool {
    c.x >= r.min().x && c.x <= r.max().x && c.y >= r.min().y && c.y <= r.max().y
}

fn contains_rect(outer: Rect<f64>, inner: Rect<f64>) -> bool {
    contains(outer, inner.min()) && contains(outer, inner.max())
}

fn intersects(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && a.max().x >= b.min().x
        && a.min().y <= b.max().y
        && a.max().y >= b.min().y
}

fn is_empty(g: &Geometry<f64>) -> bool {
    match g {
        Geometry::MultiPoint(mp) => mp.0.is_empty(),
        Geometry::MultiLineString(mls) => mls.0.is_empty(),
        Geometry::MultiPolygon(mp) => mp.0.is_empty(),
        Geometry::GeometryCollection(gc) => gc.0.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use geo::{Area, Validation, coord, line_string, polygon};

    use super::*;

    fn bounds() -> Rect<f64> {
        clip_bounds(4096, 64)
    }

    #[test]
    fn points_outside_the_buffered_square_are_dropped() {
        let b = bounds();
        assert!(clip_point(Point::new(-64.0, 4160.0), b).is_some());
        assert!(clip_point(Point::new(-64.1, 0.0), b).is_none());
        assert!(clip_point(Point::new(100.0, 5000.0), b).is_none());
        let mp = Geometry::MultiPoint(MultiPoint(vec![
            Point::new(1.0, 1.0),
            Point::new(-1000.0, 1.0),
        ]));
        let Some(Geometry::MultiPoint(kept)) = clip_geometry(&mp, b) else {
            panic!("one point is inside");
        };
        assert_eq!(kept.0, vec![Point::new(1.0, 1.0)]);
    }

    #[test]
    fn a_line_leaving_and_reentering_the_tile_becomes_two_parts() {
        // Goes right out of the tile, back in lower down.
        let line = line_string![
            (x: 4000.0, y: 100.0),
            (x: 5000.0, y: 100.0),
            (x: 5000.0, y: 200.0),
            (x: 4000.0, y: 200.0),
            (x: 3000.0, y: 200.0),
        ];
        let parts = clip_line_string(&line, bounds());
        assert_eq!(parts.0.len(), 2);
        assert_eq!(
            parts.0[0].0,
            vec![
                coord! { x: 4000.0, y: 100.0 },
                coord! { x: 4160.0, y: 100.0 }
            ]
        );
        assert_eq!(
            parts.0[1].0,
            vec![
                coord! { x: 4160.0, y: 200.0 },
                coord! { x: 4000.0, y: 200.0 },
                coord! { x: 3000.0, y: 200.0 },
            ]
        );
    }

    #[test]
    fn a_line_crossing_the_whole_tile_is_cut_at_both_buffer_edges() {
        let line = line_string![(x: -10_000.0, y: -10_000.0), (x: 10_000.0, y: 10_000.0)];
        let parts = clip_line_string(&line, bounds());
        assert_eq!(
            parts.0,
            vec![line_string![(x: -64.0, y: -64.0), (x: 4160.0, y: 4160.0)]]
        );
    }

    #[test]
    fn a_line_outside_the_tile_disappears() {
        let line = line_string![(x: -1000.0, y: -1000.0), (x: -500.0, y: 5000.0)];
        assert!(clip_line_string(&line, bounds()).0.is_empty());
        assert!(clip_geometry(&Geometry::LineString(line), bounds()).is_none());
    }

    #[test]
    fn clipping_a_polygon_keeps_its_holes_and_stays_valid() {
        let p = polygon!(
            exterior: [(x: -1000.0, y: -1000.0), (x: 2000.0, y: -1000.0), (x: 2000.0, y: 2000.0), (x: -1000.0, y: 2000.0)],
            interiors: [
                [(x: 100.0, y: 100.0), (x: 300.0, y: 100.0), (x: 300.0, y: 300.0), (x: 100.0, y: 300.0)],
                // This hole straddles the clip edge: it becomes a notch in the exterior.
                [(x: -200.0, y: 500.0), (x: 0.0, y: 500.0), (x: 0.0, y: 700.0), (x: -200.0, y: 700.0)],
                // This hole is entirely outside the clip square.
                [(x: -900.0, y: -900.0), (x: -800.0, y: -900.0), (x: -800.0, y: -800.0), (x: -900.0, y: -800.0)],
            ],
        );
        let clipped = clip_polygon(&p, bounds());
        assert!(clipped.is_valid(), "{:?}", clipped.validation_errors());
        assert_eq!(clipped.0.len(), 1);
        assert_eq!(clipped.0[0].interiors().len(), 1);
        // Clipped area = 2064² − 200² (hole) − 64·200 (notch).
        let expected = 2064.0 * 2064.0 - 200.0 * 200.0 - 64.0 * 200.0;
        assert!((clipped.unsigned_area() - expected).abs() < 1e-6);
    }

    #[test]
    fn clipping_drops_collapsed_rings() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)],
            interiors: [
                // Zero area: all on a line.
                [(x: 10.0, y: 10.0), (x: 20.0, y: 10.0), (x: 30.0, y: 10.0)],
                // Too few positions.
                [(x: 40.0, y: 40.0), (x: 50.0, y: 50.0)],
            ],
        );
        let clipped = clip_polygon(&p, bounds());
        assert_eq!(clipped.0.len(), 1);
        assert!(clipped.0[0].interiors().is_empty());

        let flat = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 20.0, y: 0.0)];
        assert!(clip_polygon(&flat, bounds()).0.is_empty());
        // A flat polygon across the border collapses too.
        let flat = polygon![(x: -100.0, y: 0.0), (x: 10.0, y: 0.0), (x: 20.0, y: 0.0)];
        assert!(clip_polygon(&flat, bounds()).0.is_empty());
    }

    #[test]
    fn a_concave_polygon_split_by_the_border_becomes_valid_parts() {
        // A "U" whose bottom is outside the tile: its two arms are separate inside.
        let u = polygon![
            (x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 4300.0), (x: 300.0, y: 4300.0),
            (x: 300.0, y: 0.0), (x: 400.0, y: 0.0), (x: 400.0, y: 4500.0), (x: 0.0, y: 4500.0),
        ];
        let clipped = clip_polygon(&u, bounds());
        assert!(clipped.is_valid(), "{:?}", clipped.validation_errors());
        assert_eq!(clipped.0.len(), 2);
        let expected = 2.0 * 100.0 * 4160.0;
        assert!((clipped.unsigned_area() - expected).abs() < 1e-6);
    }

    #[test]
    fn a_polygon_covering_the_tile_becomes_the_clip_square() {
        let big = Rect::new(coord! { x: -1e9, y: -1e9 }, coord! { x: 1e9, y: 1e9 }).to_polygon();
        let clipped = clip_polygon(&big, bounds());
        assert_eq!(clipped.0.len(), 1);
        assert!((clipped.unsigned_area() - 4224.0 * 4224.0).abs() < 1e-6);
    }
}
