//! Pages of issue ids in id order (oldest or newest first) for lists:
//! a walk of the id-ordered positions where it pays, the tree otherwise.

use geo::{BoundingRect, Intersects};
use rstar::Envelope;

use super::IssueIndex;
use crate::index::Area;
use crate::issue::IssueFilter;

impl IssueIndex {
    /// Ids of matching issues in `area`, ascending, after the cursor `after`,
    /// at most `limit`.
    pub fn page(
        &self,
        area: Area<'_>,
        filter: &IssueFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Vec<i64> {
        let after = after.unwrap_or(i64::MIN);
        if *filter == IssueFilter::default() {
            let in_id_order = self.positions.range(after.saturating_add(1)..);
            match area {
                // Every issue: the id-ordered positions are the answer.
                Area::Everywhere => return in_id_order.take(limit).map(|(id, _)| *id).collect(),
                area => {
                    if let Some(ids) = walk_in_id_order(in_id_order, &area, limit) {
                        return ids;
                    }
                }
            }
        }
        let mut ids: Vec<i64> = self
            .matching(area, filter)
            .filter(|e| e.id > after)
            .map(|e| e.id)
            .collect();
        // The `limit` smallest in linear time, then only those sorted.
        if ids.len() > limit {
            ids.select_nth_unstable(limit);
            ids.truncate(limit);
        }
        ids.sort_unstable();
        ids
    }

    /// Like [`IssueIndex::page`], newest (highest id) first: ids below
    /// `before`, descending.
    pub fn page_newest(
        &self,
        area: Area<'_>,
        filter: &IssueFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Vec<i64> {
        let before = before.unwrap_or(i64::MAX);
        if *filter == IssueFilter::default() {
            let in_id_order = self.positions.range(..before).rev();
            if let Some(ids) = walk_in_id_order(in_id_order, &area, limit) {
                return ids;
            }
        }
        let mut ids: Vec<i64> = self
            .matching(area, filter)
            .filter(|e| e.id < before)
            .map(|e| e.id)
            .collect();
        // The `limit` largest in linear time, then only those sorted.
        if ids.len() > limit {
            ids.select_nth_unstable_by(limit, |a, b| b.cmp(a));
            ids.truncate(limit);
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }
}

/// Ids walked in id order, per row of a page, before an area's page gives
/// up walking and collects the area from the tree instead.
const WALK_PER_ROW: usize = 32;

/// The first `limit` ids (in the order given) whose position lies in
/// `area`, found by walking ids in order, or `None` if that takes more than
/// [`WALK_PER_ROW`] ids per row asked for.
///
/// Why: a page of a box at the city centre holds a few percent of all
/// issues, and a district a tenth to a third of them, so the first hundred
/// in id order are a few hundred to a few thousand ids into the walk
/// (microseconds, a point-in-polygon test only for the ids inside the
/// district's envelope), while the tree would hand over every issue in the
/// area (70,000 in the busiest z14 tile, 290,000 in the busiest district at
/// a million issues) to pick the smallest ids from. A sparse area gives up
/// early and takes the tree, which is then cheap; either way the answer is
/// the same.
fn walk_in_id_order<'a>(
    ids: impl Iterator<Item = (&'a i64, &'a [f64; 2])>,
    area: &Area<'_>,
    limit: usize,
) -> Option<Vec<i64>> {
    let mut found = Vec::with_capacity(limit.min(1024));
    if limit == 0 {
        return Some(found);
    }
    let inside = Inside::new(area)?;
    for (walked, (id, xy)) in ids.enumerate() {
        if walked >= limit.saturating_mul(WALK_PER_ROW) {
            return None;
        }
        if inside.contains(xy) {
            found.push(*id);
            if found.len() == limit {
                break;
            }
        }
    }
    Some(found)
}

/// The test of one walked position against a page's area.
enum Inside<'a> {
    Everywhere,
    Envelopes(Vec<rstar::AABB<[f64; 2]>>),
    /// The polygon's envelope first, so only the points near it are tested
    /// against its rings.
    Polygon(&'a geo::MultiPolygon<f64>, geo::Rect<f64>),
}

impl<'a> Inside<'a> {
    /// `None` for a polygon without an envelope (empty): the tree answers.
    fn new(area: &Area<'a>) -> Option<Self> {
        Some(match *area {
            Area::Everywhere => Self::Everywhere,
            Area::BBox(bbox) => Self::Envelopes(bbox.envelopes()),
            Area::Within(polygon) => Self::Polygon(polygon, polygon.bounding_rect()?),
        })
    }

    /// Whether a position (lon, lat, as the index keeps them) is inside.
    fn contains(&self, xy: &[f64; 2]) -> bool {
        match self {
            Self::Everywhere => true,
            Self::Envelopes(envelopes) => envelopes.iter().any(|env| env.contains_point(xy)),
            Self::Polygon(polygon, envelope) => {
                let [x, y] = *xy;
                let (min, max) = (envelope.min(), envelope.max());
                (min.x..=max.x).contains(&x)
                    && (min.y..=max.y).contains(&y)
                    && polygon.intersects(&geo::Point::new(x, y))
            }
        }
    }
}
