//! Best-first k-nearest search over an R-tree of lon/lat points, with exact
//! geodesic distances (WGS84, Karney's algorithm through `geo`).
//!
//! The tree is walked nearest node first, ordered by a cheap lower bound of
//! the geodesic distance ([`lower_bound_m`]); a point's exact distance is
//! computed only when its bound comes up, so the search stops after `limit`
//! hits having measured little more than those hits. The answer is exactly
//! what measuring every point in the radius and sorting by (distance, id)
//! gives.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use geo::{Distance, Geodesic};
use rstar::{AABB, ParentNode, RTreeNode, RTreeObject};

use crate::geometry::LonLat;

/// The smallest radius of curvature of the WGS84 ellipsoid (the meridional
/// radius at the equator, a(1 − e²) = 6,335,439 m), rounded down. Every
/// small step on the ellipsoid is at least as long as the same step in
/// latitude and longitude on a sphere of this radius, so the great-circle
/// distance on this sphere never exceeds the geodesic distance.
const LOWER_BOUND_RADIUS_M: f64 = 6_335_400.0;

/// A distance in metres no greater than the geodesic distance from `center`
/// to any point of the lon/lat box `[west, south]..[east, north]` (degrees;
/// the box does not cross the antimeridian, the centre may be anywhere).
///
/// The haversine of the smallest latitude gap and the smallest longitude
/// gap (around the antimeridian if shorter), with the parallel of the box
/// nearest a pole, bounds the haversine of every point in the box from
/// below; the sphere's radius makes it a bound for the ellipsoid.
pub(crate) fn lower_bound_m(center: LonLat, lower: [f64; 2], upper: [f64; 2]) -> f64 {
    let (lon, lat) = (center.lon(), center.lat());
    let [west, south] = lower;
    let [east, north] = upper;
    let dlat = (south - lat).max(lat - north).max(0.0).to_radians();
    let dlon = if (west..=east).contains(&lon) {
        0.0
    } else {
        let eastward = (west - lon).rem_euclid(360.0);
        let westward = (lon - east).rem_euclid(360.0);
        eastward.min(westward).min(180.0).to_radians()
    };
    let cos_far = south.abs().max(north.abs()).to_radians().cos().max(0.0);
    let h = (dlat / 2.0).sin().powi(2)
        + lat.to_radians().cos().max(0.0) * cos_far * (dlon / 2.0).sin().powi(2);
    2.0 * LOWER_BOUND_RADIUS_M * h.clamp(0.0, 1.0).sqrt().asin()
}

/// What the search queue holds: a node or a point not yet measured (keyed
/// by its lower bound), or a point measured (keyed by its exact distance).
enum Item<'t, T: RTreeObject> {
    Node(&'t ParentNode<T>),
    Unmeasured(&'t T),
    Measured(&'t T, i64),
}

struct Queued<'t, T: RTreeObject> {
    metres: f64,
    item: Item<'t, T>,
}

impl<T: RTreeObject> Queued<'_, T> {
    /// Among equal distances, nodes and unmeasured points come before any
    /// measured point, so that every point at that distance is measured
    /// before the first is taken; measured points then come out by id.
    fn rank(&self) -> (u8, i64) {
        match self.item {
            Item::Node(_) => (0, 0),
            Item::Unmeasured(_) => (1, 0),
            Item::Measured(_, id) => (2, id),
        }
    }
}

impl<T: RTreeObject> PartialEq for Queued<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: RTreeObject> Eq for Queued<'_, T> {}
impl<T: RTreeObject> PartialOrd for Queued<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: RTreeObject> Ord for Queued<'_, T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) yields the nearest first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .metres
            .total_cmp(&self.metres)
            .then_with(|| other.rank().cmp(&self.rank()))
    }
}

/// The points of `root` within `radius_m` metres of `center`, nearest first
/// (ties by id), at most `limit`, each with its geodesic distance in metres.
/// `point` gives a leaf's id and position, or `None` to skip it (a filter).
pub(crate) fn k_nearest<'t, T>(
    root: &'t ParentNode<T>,
    center: LonLat,
    radius_m: f64,
    limit: usize,
    point: impl Fn(&'t T) -> Option<(i64, LonLat)>,
) -> Vec<(&'t T, f64)>
where
    T: RTreeObject<Envelope = AABB<[f64; 2]>>,
{
    let origin = center.point();
    let bound =
        |envelope: AABB<[f64; 2]>| lower_bound_m(center, envelope.lower(), envelope.upper());
    let mut found = Vec::new();
    let mut queue = BinaryHeap::new();
    queue.push(Queued {
        metres: 0.0,
        item: Item::Node(root),
    });
    while let Some(Queued { metres, item }) = queue.pop() {
        // Everything still queued is at least this far.
        if found.len() >= limit || metres > radius_m {
            break;
        }
        match item {
            Item::Node(node) => {
                for child in node.children() {
                    let (metres, item) = match child {
                        RTreeNode::Parent(parent) => (bound(parent.envelope()), Item::Node(parent)),
                        RTreeNode::Leaf(leaf) => (bound(leaf.envelope()), Item::Unmeasured(leaf)),
                    };
                    if metres <= radius_m {
                        queue.push(Queued { metres, item });
                    }
                }
            }
            Item::Unmeasured(leaf) => {
                if let Some((id, location)) = point(leaf) {
                    let metres = Geodesic.distance(origin, location.point());
                    if metres <= radius_m {
                        queue.push(Queued {
                            metres,
                            item: Item::Measured(leaf, id),
                        });
                    }
                }
            }
            Item::Measured(leaf, _) => found.push((leaf, metres)),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_lower_bound_never_exceeds_the_geodesic_distance() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200_000 {
            let center = LonLat::new(
                rng.random_range(-180.0..=180.0),
                rng.random_range(-90.0..=90.0),
            )
            .unwrap();
            // Near the centre most of the time (the case a search prunes),
            // anywhere on Earth otherwise.
            let spread = if rng.random_bool(0.7) { 0.05 } else { 360.0 };
            let lon = (center.lon() + rng.random_range(-spread..=spread) + 540.0).rem_euclid(360.0)
                - 180.0;
            let lat = (center.lat() + rng.random_range(-spread..=spread) / 2.0).clamp(-90.0, 90.0);
            let p = LonLat::new(lon, lat).unwrap();
            let exact = Geodesic.distance(center.point(), p.point());
            let bound = lower_bound_m(center, [lon, lat], [lon, lat]);
            assert!(
                bound <= exact,
                "{center:?} → {p:?}: bound {bound} > {exact}"
            );
            // Tight enough to prune: within 2 % of the exact distance.
            assert!(
                bound >= exact * 0.98 - 1e-6,
                "{center:?} → {p:?}: bound {bound} ≪ {exact}"
            );
        }
    }

    #[test]
    fn a_box_bound_is_no_more_than_any_corner_or_edge_point() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for _ in 0..20_000 {
            let center = LonLat::new(
                rng.random_range(-180.0..=180.0),
                rng.random_range(-89.0..=89.0),
            )
            .unwrap();
            let (west, south) = (
                rng.random_range(-180.0..170.0),
                rng.random_range(-90.0..80.0),
            );
            let (east, north) = (
                west + rng.random_range(0.0..10.0),
                south + rng.random_range(0.0..10.0),
            );
            let bound = lower_bound_m(center, [west, south], [east, north]);
            for _ in 0..8 {
                let p = LonLat::new(
                    rng.random_range(west..=east),
                    rng.random_range(south..=north),
                )
                .unwrap();
                assert!(bound <= Geodesic.distance(center.point(), p.point()));
            }
        }
    }
}
