//! The issues layer of the index: entries in the R-tree leaves with their
//! projected positions; paging, areas, nearby and grouped counts.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use geo::{BoundingRect, Intersects};
use rstar::{AABB, Envelope, RTree, RTreeObject, SelectionFunction};

use qala_tiles::mercator::lonlat_to_world;

use super::counts::IssueCounts;
use super::{Area, GroupKey, GroupValue};
use crate::geometry::{BBox, LonLat};
use crate::issue::{IssueEntry, IssueFilter};

mod paging;
mod queue;

pub use queue::VotesKey;

/// An R-tree leaf: an entry and its Web Mercator world position (the unit
/// square, y down), projected once here so that tiles, which place every
/// hit in tile pixels, skip a logarithm and a sine per point.
#[derive(Debug, Clone, PartialEq)]
struct IssueLeaf {
    entry: IssueEntry,
    world: [f64; 2],
}

impl From<IssueEntry> for IssueLeaf {
    fn from(entry: IssueEntry) -> Self {
        let (x, y) = lonlat_to_world(entry.location.lon(), entry.location.lat());
        Self {
            entry,
            world: [x, y],
        }
    }
}

impl RTreeObject for IssueLeaf {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.entry.xy())
    }
}

/// Finds one issue's leaf: descend only into nodes covering its position.
struct IssueAt {
    id: i64,
    xy: [f64; 2],
}

impl SelectionFunction<IssueLeaf> for IssueAt {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 2]>) -> bool {
        envelope.contains_point(&self.xy)
    }
    fn should_unpack_leaf(&self, leaf: &IssueLeaf) -> bool {
        leaf.entry.id == self.id
    }
}

/// The issues layer: an R-tree whose leaves are the entries themselves, and
/// each issue's position by id.
///
/// Keeping the entries (and their projected positions) in the leaves means an area query (a dense tile: tens
/// of thousands of hits) reads each hit where the tree finds it, next to its
/// neighbours, instead of looking every hit up by id in a separate map (a
/// cache miss per level of that map). Lookups by id go through `positions`
/// and one descent of the tree.
#[derive(Debug, Default)]
pub struct IssueIndex {
    tree: RTree<IssueLeaf, IssueTreeParams>,
    positions: BTreeMap<i64, [f64; 2]>,
    counts: IssueCounts,
}

/// Nodes of 6 to 16 children instead of rstar's default 3 to 6. A dense
/// tile reads every leaf under a few thousand nodes; with wider nodes there
/// are fewer of them to visit and each is one allocation read in order
/// (the dense z14 tile of the load test rendered 40 % faster; 32 children
/// was no better, 64 worse).
struct IssueTreeParams;

impl rstar::RTreeParams for IssueTreeParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

impl IssueIndex {
    /// Builds the index in one pass (bulk loading makes a better tree than repeated inserts).
    pub fn bulk_load(entries: Vec<IssueEntry>) -> Self {
        // The tree's bulk load is one thread's work; positions and counters
        // are built beside it (a million issues at start-up).
        let ((positions, counts), leaves) = rayon::join(
            || {
                let positions = entries.iter().map(|e| (e.id, e.xy())).collect();
                (positions, IssueCounts::from_entries(&entries))
            },
            || {
                entries
                    .iter()
                    .cloned()
                    .map(IssueLeaf::from)
                    .collect::<Vec<_>>()
            },
        );
        Self {
            tree: RTree::bulk_load_with_params(leaves),
            positions,
            counts,
        }
    }

    /// Adds or replaces an issue; returns the entry it replaced.
    pub fn upsert(&mut self, entry: IssueEntry) -> Option<IssueEntry> {
        let old = self.positions.insert(entry.id, entry.xy()).and_then(|xy| {
            self.tree
                .remove_with_selection_function(IssueAt { id: entry.id, xy })
        });
        if let Some(old) = &old {
            self.counts.remove(&old.entry);
        }
        self.counts.add(&entry);
        self.tree.insert(IssueLeaf::from(entry));
        old.map(|leaf| leaf.entry)
    }

    /// Removes an issue (hidden by a moderator); returns its entry, if it was indexed.
    pub fn remove(&mut self, id: i64) -> Option<IssueEntry> {
        let xy = self.positions.remove(&id)?;
        let old = self
            .tree
            .remove_with_selection_function(IssueAt { id, xy })
            .map(|leaf| leaf.entry)?;
        self.counts.remove(&old);
        Some(old)
    }

    /// Number of issues.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are no issues.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Extent of all issues, if any.
    pub fn bbox(&self) -> Option<BBox> {
        (!self.is_empty()).then(|| BBox::from_envelope(&self.tree.root().envelope()))
    }

    /// One issue's entry.
    pub fn get(&self, id: i64) -> Option<&IssueEntry> {
        let xy = *self.positions.get(&id)?;
        self.tree
            .locate_with_selection_function(IssueAt { id, xy })
            .next()
            .map(|leaf| &leaf.entry)
    }

    /// All matching issues in `area`, in no particular order.
    pub fn matching<'s>(
        &'s self,
        area: Area<'s>,
        filter: &'s IssueFilter,
    ) -> Box<dyn Iterator<Item = &'s IssueEntry> + 's> {
        match area {
            Area::Everywhere => Box::new(
                self.tree
                    .iter()
                    .map(|leaf| &leaf.entry)
                    .filter(move |e| filter.matches(e)),
            ),
            Area::BBox(bbox) => Box::new(
                bbox.envelopes()
                    .into_iter()
                    .flat_map(move |env| self.tree.locate_in_envelope_intersecting(env))
                    .map(|leaf| &leaf.entry)
                    .filter(move |e| filter.matches(e)),
            ),
            Area::Within(polygon) => {
                let envelope = polygon
                    .bounding_rect()
                    .map(|r| AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]));
                Box::new(
                    envelope
                        .into_iter()
                        .flat_map(move |env| self.tree.locate_in_envelope_intersecting(env))
                        .map(|leaf| &leaf.entry)
                        .filter(move |e| filter.matches(e))
                        .filter(move |e| polygon.intersects(&e.location.point())),
                )
            }
        }
    }

    /// Visits each matching issue in a box with its Web Mercator world
    /// position (the unit square, y down: what tiles are cut from), in no
    /// particular order, until `visit` breaks. The tree walks itself
    /// recursively, without an iterator's stack of pending nodes: the
    /// faster way when a dense tile takes every hit.
    pub fn visit_box_projected<'s, B>(
        &'s self,
        bbox: BBox,
        filter: &IssueFilter,
        mut visit: impl FnMut(&'s IssueEntry, [f64; 2]) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        // Checked once, not per issue: a tile without a filter takes every one.
        let everything = *filter == IssueFilter::default();
        for env in bbox.envelopes() {
            self.tree.locate_in_envelope_intersecting_int(env, |leaf| {
                if everything || filter.matches(&leaf.entry) {
                    visit(&leaf.entry, leaf.world)
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        }
        ControlFlow::Continue(())
    }

    /// Matching issues within `radius_m` metres (geodesic, WGS84 ellipsoid) of
    /// `center`, nearest first (ties by id), at most `limit`, with their
    /// distance in metres: a best-first search ([`super::nearest`]) that
    /// measures little more than the `limit` nearest.
    pub fn nearby(
        &self,
        center: LonLat,
        radius_m: f64,
        filter: &IssueFilter,
        limit: usize,
    ) -> Vec<(&IssueEntry, f64)> {
        super::nearest::k_nearest(
            self.tree.root(),
            center,
            radius_m,
            limit,
            |leaf: &IssueLeaf| {
                filter
                    .matches(&leaf.entry)
                    .then_some((leaf.entry.id, leaf.entry.location))
            },
        )
        .into_iter()
        .map(|(leaf, metres)| (&leaf.entry, metres))
        .collect()
    }

    /// Counts of matching issues grouped by `keys` (in that order): from
    /// the kept counts when they answer the filter (no time or department
    /// filter), else by a walk over the issues, only over the box of the
    /// district's issues when the filter names a district.
    pub fn count_by(
        &self,
        filter: &IssueFilter,
        keys: &[GroupKey],
    ) -> BTreeMap<Vec<GroupValue>, u64> {
        if IssueCounts::answer(filter) {
            return self.counts.count_by(filter, keys);
        }
        let area = match filter.district_id {
            Some(district) => match self.counts.extent(Some(district)) {
                Some(bbox) => Area::BBox(bbox),
                None => return BTreeMap::new(),
            },
            None => Area::Everywhere,
        };
        let mut counts = BTreeMap::new();
        for e in self.matching(area, filter) {
            let key = keys
                .iter()
                .map(|k| match k {
                    GroupKey::District => GroupValue::District(e.district_id),
                    GroupKey::Category => GroupValue::Category(e.category.code),
                    GroupKey::Status => GroupValue::Status(e.status),
                })
                .collect();
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests;
