//! Pages of issue ids in id order (oldest or newest first) for lists:
//! a walk of the id-ordered positions where it pays, the tree otherwise.

use rstar::Envelope;

use super::IssueIndex;
use crate::geometry::BBox;
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
                Area::BBox(bbox) => {
                    if let Some(ids) = walk_in_id_order(in_id_order, bbox, limit) {
                        return ids;
                    }
                }
                Area::Within(_) => {}
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
        if let (Area::BBox(bbox), true) = (area, *filter == IssueFilter::default()) {
            let in_id_order = self.positions.range(..before).rev();
            if let Some(ids) = walk_in_id_order(in_id_order, bbox, limit) {
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

/// Ids walked in id order, per row of a page, before a box's page gives
/// up walking and collects the box from the tree instead.
const WALK_PER_ROW: usize = 32;

/// The first `limit` ids (in the order given) whose position lies in `bbox`,
/// found by walking ids in order, or `None` if that takes more than
/// [`WALK_PER_ROW`] ids per row asked for.
///
/// Why: a page of a box at the city centre holds a few percent of all
/// issues, so the first hundred in id order are a few thousand ids into the
/// walk (microseconds), while the tree would hand over every issue in the
/// box (70,000 in the busiest z14 tile at a million issues) to pick the
/// smallest ids from. A sparse box gives up early and takes the tree, which
/// is then cheap; either way the answer is the same.
fn walk_in_id_order<'a>(
    ids: impl Iterator<Item = (&'a i64, &'a [f64; 2])>,
    bbox: BBox,
    limit: usize,
) -> Option<Vec<i64>> {
    let envelopes = bbox.envelopes();
    let mut found = Vec::with_capacity(limit.min(1024));
    if limit == 0 {
        return Some(found);
    }
    for (walked, (id, xy)) in ids.enumerate() {
        if walked >= limit.saturating_mul(WALK_PER_ROW) {
            return None;
        }
        if envelopes.iter().any(|env| env.contains_point(xy)) {
            found.push(*id);
            if found.len() == limit {
                break;
            }
        }
    }
    Some(found)
}
