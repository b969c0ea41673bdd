//! An exact, fast validity check for snapped (integer-valued) polygons.
//!
//! `geo::Validation` compares every segment of a ring with every other one
//! (O(n²) per ring) and dominated the polygon benchmark, so snapped polygons
//! are checked here instead with a sweep over segments sorted by x and exact
//! integer orientation tests (i128, no rounding). The rules are those of
//! `geo::Validation` for polygons, or stricter:
//!
//! - a ring must be simple: segments that do not follow each other in the
//!   ring may not meet at all, and consecutive ones may only share their
//!   common vertex (no zero-width spike back along the same line);
//! - two different rings may touch at points but never cross or share a
//!   stretch of boundary;
//! - every hole lies inside the exterior, and no hole inside another.
//!
//! Tests check that whatever passes here also passes `geo::Validation`.

use std::cmp::Ordering;

use geo::{Coord, LineString, Polygon};

type P = (i64, i64);

/// Whether `polygon` (integer-valued coordinates, closed rings of at least 4
/// positions) is valid. Non-integral or non-finite coordinates are refused.
pub(crate) fn is_valid_polygon(polygon: &Polygon<f64>) -> bool {
    let mut rings: Vec<Vec<P>> = Vec::with_capacity(1 + polygon.interiors().len());
    for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
        match to_points(ring) {
            Some(r) if r.len() >= 4 => rings.push(r),
            _ => return false,
        }
    }
    boundaries_are_clean(&rings) && holes_are_placed(&rings)
}

fn to_points(ring: &LineString<f64>) -> Option<Vec<P>> {
    ring.0.iter().map(|&c| to_point(c)).collect()
}

fn to_point(c: Coord<f64>) -> Option<P> {
    let ok = |v: f64| v.is_finite() && v.fract() == 0.0 && v.abs() < 2_f64.powi(53);
    (ok(c.x) && ok(c.y)).then_some((c.x as i64, c.y as i64))
}

#[derive(Clone, Copy)]
struct Seg {
    a: P,
    b: P,
    ring: usize,
    idx: usize,
    /// Segments in this segment's ring.
    ring_len: usize,
    min_x: i64,
    max_x: i64,
    min_y: i64,
    max_y: i64,
}

/// How two segments meet.
#[derive(PartialEq, Eq)]
enum Meet {
    None,
    /// In exactly one point (a touch, or two segments sharing a vertex).
    Point,
    /// Crossing properly or overlapping along a stretch.
    More,
}

fn boundaries_are_clean(rings: &[Vec<P>]) -> bool {
    let mut segs = Vec::with_capacity(rings.iter().map(Vec::len).sum());
    for (ring, pts) in rings.iter().enumerate() {
        let ring_len = pts.len() - 1;
        for (idx, w) in pts.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            if a == b {
                return false;
            }
            segs.push(Seg {
                a,
                b,
                ring,
                idx,
                ring_len,
                min_x: a.0.min(b.0),
                max_x: a.0.max(b.0),
                min_y: a.1.min(b.1),
                max_y: a.1.max(b.1),
            });
        }
    }
    segs.sort_unstable_by_key(|s| s.min_x);
    for (i, s) in segs.iter().enumerate() {
        for t in &segs[i + 1..] {
            if t.min_x > s.max_x {
                break;
            }
            if t.min_y > s.max_y || t.max_y < s.min_y {
                continue;
            }
            let meet = meet(s, t);
            if meet == Meet::None {
                continue;
            }
            let ok = if s.ring != t.ring {
                meet == Meet::Point
            } else if consecutive(s, t) {
                // They share a vertex; anything more is a spike.
                meet == Meet::Point
            } else {
                false
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

fn consecutive(s: &Seg, t: &Seg) -> bool {
    let (i, j, n) = (s.idx, t.idx, s.ring_len);
    i.abs_diff(j) == 1 || (i == 0 && j == n - 1) || (j == 0 && i == n - 1)
}

fn orient(a: P, b: P, c: P) -> Ordering {
    let cross = i128::from(b.0 - a.0) * i128::from(c.1 - a.1)
        - i128::from(b.1 - a.1) * i128::from(c.0 - a.0);
    cross.cmp(&0)
}

/// `p` on segment `a–b`, given that the three are collinear.
fn within(p: P, a: P, b: P) -> bool {
    p.0 >= a.0.min(b.0) && p.0 <= a.0.max(b.0) && p.1 >= a.1.min(b.1) && p.1 <= a.1.max(b.1)
}

fn meet(s: &Seg, t: &Seg) -> Meet {
    let d1 = orient(t.a, t.b, s.a);
    let d2 = orient(t.a, t.b, s.b);
    let d3 = orient(s.a, s.b, t.a);
    let d4 = orient(s.a, s.b, t.b);
    use Ordering::Equal;
    if d1 == Equal && d2 == Equal {
        // Collinear: compare the projections on the longer axis.
        let key = |p: P| {
            if s.max_x - s.min_x >= s.max_y - s.min_y {
                p.0
            } else {
                p.1
            }
        };
        let (s0, s1) = minmax(key(s.a), key(s.b));
        let (t0, t1) = minmax(key(t.a), key(t.b));
        let lo = s0.max(t0);
        let hi = s1.min(t1);
        return match lo.cmp(&hi) {
            Ordering::Less => Meet::More,
            Equal => Meet::Point,
            Ordering::Greater => Meet::None,
        };
    }
    if d1 != Equal && d2 != Equal && d3 != Equal && d4 != Equal {
        return if d1 != d2 && d3 != d4 {
            Meet::More
        } else {
            Meet::None
        };
    }
    // Not collinear, and some endpoint is on the other segment's line: they
    // meet in at most one point, if that endpoint lies within the segment.
    let touches = (d1 == Equal && within(s.a, t.a, t.b))
        || (d2 == Equal && within(s.b, t.a, t.b))
        || (d3 == Equal && within(t.a, s.a, s.b))
        || (d4 == Equal && within(t.b, s.a, s.b));
    if touches { Meet::Point } else { Meet::None }
}

fn minmax(a: i64, b: i64) -> (i64, i64) {
    if a <= b { (a, b) } else { (b, a) }
}

#[derive(PartialEq, Eq)]
enum Loc {
    Inside,
    Outside,
    Boundary,
}

/// Where `p` is relative to the closed ring `ring` (crossing number, exact).
fn locate(p: P, ring: &[P]) -> Loc {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if orient(a, b, p) == Ordering::Equal && within(p, a, b) {
            return Loc::Boundary;
        }
        if (a.1 > p.1) != (b.1 > p.1) {
            // x of the edge at height p.1, compared exactly: p.x < a.x + (p.y-a.y)(b.x-a.x)/(b.y-a.y).
            let lhs = i128::from(p.0 - a.0) * i128::from(b.1 - a.1);
            let rhs = i128::from(p.1 - a.1) * i128::from(b.0 - a.0);
            let left_of_edge = if b.1 > a.1 { lhs < rhs } else { lhs > rhs };
            if left_of_edge {
                inside = !inside;
            }
        }
    }
    if inside { Loc::Inside } else { Loc::Outside }
}

/// Where ring `r` lies relative to ring `other`, judged by its first vertex
/// not on `other` (rings that do not cross lie wholly on one side); `None`
/// if every vertex is on `other`.
fn side(r: &[P], other: &[P]) -> Option<Loc> {
    r.iter()
        .map(|&p| locate(p, other))
        .find(|l| *l != Loc::Boundary)
}

fn holes_are_placed(rings: &[Vec<P>]) -> bool {
    let (exterior, holes) = (&rings[0], &rings[1..]);
    for (i, h) in holes.iter().enumerate() {
        if side(h, exterior) != Some(Loc::Inside) {
            return false;
        }
        for g in &holes[i + 1..] {
            if side(h, g) != Some(Loc::Outside) || side(g, h) != Some(Loc::Outside) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use geo::{LineString, Validation, polygon};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn a_square_with_a_hole_is_valid() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 2.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 4.0)]],
        );
        assert!(is_valid_polygon(&p));
    }

    #[test]
    fn a_bow_tie_is_invalid() {
        let p =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 10.0)];
        assert!(!is_valid_polygon(&p));
    }

    #[test]
    fn a_ring_through_the_same_vertex_twice_is_invalid() {
        let p = polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 5.0, y: 5.0), (x: 10.0, y: 10.0),
            (x: 0.0, y: 10.0), (x: 5.0, y: 5.0),
        ];
        assert!(!is_valid_polygon(&p));
        assert!(!p.is_valid());
    }

    #[test]
    fn a_collinear_spike_is_invalid() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 5.0, y: 0.0), (x: 5.0, y: 5.0)];
        assert!(!is_valid_polygon(&p));
    }

    #[test]
    fn a_hole_touching_the_exterior_at_one_point_is_valid_but_not_along_a_line() {
        let touch = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 0.0, y: 5.0), (x: 4.0, y: 3.0), (x: 4.0, y: 7.0)]],
        );
        assert!(is_valid_polygon(&touch));
        assert!(touch.is_valid());
        let line = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 0.0, y: 2.0), (x: 4.0, y: 2.0), (x: 4.0, y: 7.0), (x: 0.0, y: 7.0)]],
        );
        assert!(!is_valid_polygon(&line));
        assert!(!line.is_valid());
    }

    #[test]
    fn holes_outside_the_exterior_or_inside_each_other_are_invalid() {
        let outside = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 20.0, y: 2.0), (x: 24.0, y: 2.0), (x: 24.0, y: 4.0)]],
        );
        assert!(!is_valid_polygon(&outside));
        let nested = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [
                [(x: 1.0, y: 1.0), (x: 9.0, y: 1.0), (x: 9.0, y: 9.0), (x: 1.0, y: 9.0)],
                [(x: 3.0, y: 3.0), (x: 5.0, y: 3.0), (x: 5.0, y: 5.0)],
            ],
        );
        assert!(!is_valid_polygon(&nested));
        assert!(!nested.is_valid());
    }

    #[test]
    fn whatever_passes_here_passes_geo_validation() {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let mut passed = 0;
        for _ in 0..3_000 {
            let n = rng.random_range(4..14);
            let ring = |rng: &mut ChaCha8Rng, lo: f64, hi: f64| {
                LineString::from(
                    (0..n)
                        .map(|_| {
                            (
                                rng.random_range(lo..hi).round(),
                                rng.random_range(lo..hi).round(),
                            )
                        })
                        .collect::<Vec<_>>(),
                )
            };
            let exterior = ring(&mut rng, 0.0, 12.0);
            let holes = if rng.random_bool(0.3) {
                vec![ring(&mut rng, 3.0, 9.0)]
            } else {
                vec![]
            };
            let p = Polygon::new(exterior, holes);
            if is_valid_polygon(&p) {
                passed += 1;
                assert!(p.is_valid(), "{p:?}: {:?}", p.validation_errors());
            }
        }
        assert!(
            passed > 50,
            "the sample should contain valid polygons ({passed})"
        );
    }
}
