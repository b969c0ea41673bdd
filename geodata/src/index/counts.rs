//! Issue counts by district, category, status and creation time, kept
//! current by every change to the issues layer, so that counting needs no
//! walk over the issues: a city has a few hundred cells (districts x
//! categories x statuses), whatever the number of issues, and each cell
//! keeps its issues' creation times sorted, so a time window is two binary
//! searches per cell (8 bytes or so per issue). Beside them, the box each
//! district's issues lie in, so that a count the cells cannot answer (by
//! department or staff scope) walks one district's box instead of the city.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{GroupKey, GroupValue};
use crate::geometry::BBox;
use crate::issue::{IssueEntry, IssueFilter, IssueStatus};

/// One cell of the counts: the attributes counts can be grouped and
/// filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Cell {
    district: Option<i64>,
    category: &'static str,
    status: IssueStatus,
}

impl Cell {
    fn of(e: &IssueEntry) -> Self {
        Self {
            district: e.district_id,
            category: e.category.code,
            status: e.status,
        }
    }

    fn value(&self, key: GroupKey) -> GroupValue {
        match key {
            GroupKey::District => GroupValue::District(self.district),
            GroupKey::Category => GroupValue::Category(self.category),
            GroupKey::Status => GroupValue::Status(self.status),
        }
    }
}

/// The issues of each (district, category, status) cell, as their
/// creation times in ascending order (equal times side by side); cells that
/// fall empty are dropped, so two counts of the same issues are equal.
#[derive(Debug, Clone, Default)]
pub struct IssueCounts {
    /// foldhash: every issue is counted into its cell at start-up (ten
    /// million lookups at city scale), and the keys are few and ours.
    cells: HashMap<Cell, Vec<DateTime<Utc>>, foldhash::fast::RandomState>,
    /// A box around every issue of each district (by the issue's own
    /// `district_id`, which a redrawn district layer does not change). It
    /// only grows while the server runs: still around every issue after
    /// one moves or leaves, if larger than needed.
    extents: HashMap<Option<i64>, BBox, foldhash::fast::RandomState>,
}

impl IssueCounts {
    /// Counts many issues in at once (sorting each cell once, not per issue).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a IssueEntry>) -> Self {
        let mut counts = Self::default();
        for e in entries {
            counts
                .cells
                .entry(Cell::of(e))
                .or_default()
                .push(e.created_at);
            counts.extend_extent(e);
        }
        for times in counts.cells.values_mut() {
            times.sort_unstable();
        }
        counts
    }

    /// Counts an issue in.
    pub fn add(&mut self, e: &IssueEntry) {
        let times = self.cells.entry(Cell::of(e)).or_default();
        // New reports are the newest: this is nearly always the end.
        let at = times.partition_point(|t| *t <= e.created_at);
        times.insert(at, e.created_at);
        self.extend_extent(e);
    }

    fn extend_extent(&mut self, e: &IssueEntry) {
        let (lon, lat) = (e.location.lon(), e.location.lat());
        self.extents
            .entry(e.district_id)
            .and_modify(|b| {
                b.west = b.west.min(lon);
                b.south = b.south.min(lat);
                b.east = b.east.max(lon);
                b.north = b.north.max(lat);
            })
            .or_insert(BBox {
                west: lon,
                south: lat,
                east: lon,
                north: lat,
            });
    }

    /// A box holding every issue of `district`, if it has any.
    pub fn extent(&self, district: Option<i64>) -> Option<BBox> {
        self.extents.get(&district).copied()
    }

    /// Counts an issue out (one that was counted in as it is).
    pub fn remove(&mut self, e: &IssueEntry) {
        let cell = Cell::of(e);
        if let Some(times) = self.cells.get_mut(&cell) {
            let at = times.partition_point(|t| *t < e.created_at);
            if times.get(at) == Some(&e.created_at) {
                times.remove(at);
            }
            if times.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Whether the counts alone answer `filter`: it restricts district,
    /// category, status and creation time only (department and a staff
    /// scope need the issues).
    pub fn answer(filter: &IssueFilter) -> bool {
        let IssueFilter {
            statuses: _,
            categories: _,
            district_id: _,
            since: _,
            until: _,
            assigned_to,
            scope,
        } = filter;
        assigned_to.is_none() && scope.is_none()
    }

    /// Counts of the issues `filter` matches, grouped by `keys` (in that
    /// order), for a filter the counts [`answer`](Self::answer); groups
    /// with no issue are left out, as a count over the issues leaves them.
    pub fn count_by(
        &self,
        filter: &IssueFilter,
        keys: &[GroupKey],
    ) -> BTreeMap<Vec<GroupValue>, u64> {
        let mut counts = BTreeMap::new();
        for (cell, times) in &self.cells {
            let matches = (filter.statuses.is_empty() || filter.statuses.contains(&cell.status))
                && (filter.categories.is_empty() || filter.categories.contains(&cell.category))
                && filter.district_id.is_none_or(|d| cell.district == Some(d));
            if !matches {
                continue;
            }
            // `since` is inclusive, `until` exclusive, as IssueFilter::matches.
            let from = filter
                .since
                .map_or(0, |t| times.partition_point(|c| *c < t));
            let to = filter
                .until
                .map_or(times.len(), |t| times.partition_point(|c| *c < t));
            let n = to.saturating_sub(from) as u64;
            if n > 0 {
                let key = keys.iter().map(|k| cell.value(*k)).collect();
                *counts.entry(key).or_insert(0) += n;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use rand::{Rng, SeedableRng};

    use super::super::IssueIndex;
    use super::*;
    use crate::category::CATEGORIES;
    use crate::geometry::LonLat;

    fn random_entry(rng: &mut impl Rng, id: i64) -> IssueEntry {
        IssueEntry {
            id,
            location: LonLat::new(rng.random_range(76.8..77.0), rng.random_range(43.2..43.3))
                .unwrap(),
            status: IssueStatus::ALL[rng.random_range(0..IssueStatus::ALL.len())],
            category: &CATEGORIES[rng.random_range(0..4)],
            district_id: [None, Some(1), Some(2), Some(3)][rng.random_range(0..4)],
            created_at: Utc
                .timestamp_opt(1_700_000_000 + rng.random_range(0..1_000), 0)
                .unwrap(),
            assigned_department: [None, Some("roads")][rng.random_range(0..2)],
            votes: 0,
        }
    }

    /// Counts by walking every issue: what the kept counts must equal.
    fn recount(
        issues: &BTreeMap<i64, IssueEntry>,
        filter: &IssueFilter,
        keys: &[GroupKey],
    ) -> BTreeMap<Vec<GroupValue>, u64> {
        let mut counts = BTreeMap::new();
        for e in issues.values().filter(|e| filter.matches(e)) {
            let key = keys.iter().map(|k| Cell::of(e).value(*k)).collect();
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn kept_counts_equal_a_full_recount_after_any_interleaving_of_writes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut shadow: BTreeMap<i64, IssueEntry> = (1..=300)
            .map(|id| (id, random_entry(&mut rng, id)))
            .collect();
        let mut index = IssueIndex::bulk_load(shadow.values().cloned().collect());
        let mut next_id = 301;
        let filters = [
            IssueFilter::default(),
            IssueFilter {
                statuses: vec![IssueStatus::Open, IssueStatus::Resolved],
                ..IssueFilter::default()
            },
            IssueFilter {
                district_id: Some(2),
                categories: vec![CATEGORIES[1].code],
                ..IssueFilter::default()
            },
            // Time windows, answered by the cells' sorted times.
            IssueFilter {
                district_id: Some(3),
                since: Some(Utc.timestamp_opt(1_700_000_500, 0).unwrap()),
                ..IssueFilter::default()
            },
            IssueFilter {
                until: Some(Utc.timestamp_opt(1_700_000_300, 0).unwrap()),
                ..IssueFilter::default()
            },
            // A window whose ends fall on issues' own times (ties on both).
            IssueFilter {
                categories: vec![CATEGORIES[0].code],
                since: Some(Utc.timestamp_opt(1_700_000_250, 0).unwrap()),
                until: Some(Utc.timestamp_opt(1_700_000_750, 0).unwrap()),
                ..IssueFilter::default()
            },
            // An empty window.
            IssueFilter {
                since: Some(Utc.timestamp_opt(1_700_000_600, 0).unwrap()),
                until: Some(Utc.timestamp_opt(1_700_000_600, 0).unwrap()),
                ..IssueFilter::default()
            },
            // Not answered by the cells: walks the city.
            IssueFilter {
                assigned_to: Some("roads".into()),
                ..IssueFilter::default()
            },
        ];
        let key_sets: [&[GroupKey]; 4] = [
            &[],
            &[GroupKey::District],
            &[GroupKey::Status, GroupKey::Category],
            &[GroupKey::District, GroupKey::Category, GroupKey::Status],
        ];
        for step in 0..3_000 {
            match rng.random_range(0..4) {
                // A report.
                0 => {
                    let e = random_entry(&mut rng, next_id);
                    next_id += 1;
                    shadow.insert(e.id, e.clone());
                    assert!(index.upsert(e).is_none());
                }
                // A status change, re-route or move of an existing issue.
                1 | 2 => {
                    let Some(id) = shadow
                        .keys()
                        .nth(rng.random_range(0..shadow.len().max(1)))
                        .copied()
                    else {
                        continue;
                    };
                    let e = random_entry(&mut rng, id);
                    shadow.insert(id, e.clone());
                    assert!(index.upsert(e).is_some());
                }
                // A hide (or an unknown id, which changes nothing).
                _ => {
                    let id = rng.random_range(1..next_id + 5);
                    assert_eq!(index.remove(id).is_some(), shadow.remove(&id).is_some());
                }
            }
            if step % 50 == 0 {
                for filter in &filters {
                    for keys in key_sets {
                        assert_eq!(
                            index.count_by(filter, keys),
                            recount(&shadow, filter, keys),
                            "step {step}, {filter:?} by {keys:?}"
                        );
                    }
                }
            }
        }
        // Down to nothing: every cell is gone again.
        for id in shadow.keys() {
            index.remove(*id);
        }
        assert!(
            index
                .count_by(&IssueFilter::default(), &[GroupKey::Status])
                .is_empty()
        );
    }
}
