//! The staff queue's extras on the issues layer: most votes first (with a
//! cursor of votes and id) and counts per status.

use std::cmp::Reverse;

use super::IssueIndex;
use crate::index::Area;
use crate::issue::{IssueFilter, IssueStatus};

/// A place in the order "most votes first, ties oldest first": an issue's
/// votes (as the index keeps them, see [`crate::issue::filter::entry_votes`])
/// and id. The last one of a page is where the next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VotesKey {
    /// Votes.
    pub votes: u16,
    /// Issue id (ids grow with the time of reporting).
    pub id: i64,
}

impl VotesKey {
    /// Sorts ascending in the page order.
    fn order(self) -> (Reverse<u16>, i64) {
        (Reverse(self.votes), self.id)
    }
}

impl IssueIndex {
    /// Matching issues in `area`, most votes first, ties oldest first,
    /// strictly after `after` in that order, at most `limit`.
    ///
    /// A keyset page: an issue whose votes change between two pages may move
    /// across the cursor (seen twice or not at all), as any list ordered by
    /// a value that changes.
    pub fn page_by_votes(
        &self,
        area: Area<'_>,
        filter: &IssueFilter,
        after: Option<VotesKey>,
        limit: usize,
    ) -> Vec<VotesKey> {
        let mut keys: Vec<VotesKey> = self
            .matching(area, filter)
            .map(|e| VotesKey {
                votes: e.votes,
                id: e.id,
            })
            .filter(|k| after.is_none_or(|a| k.order() > a.order()))
            .collect();
        // The `limit` first in linear time, then only those sorted.
        if keys.len() > limit {
            keys.select_nth_unstable_by_key(limit, |k| k.order());
            keys.truncate(limit);
        }
        keys.sort_unstable_by_key(|k| k.order());
        keys
    }

    /// Matching issues in `area` per status, every status listed (zero
    /// included), in the workflow's order.
    pub fn count_by_status(&self, area: Area<'_>, filter: &IssueFilter) -> Vec<(IssueStatus, u64)> {
        let mut counts: Vec<(IssueStatus, u64)> =
            IssueStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for e in self.matching(area, filter) {
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == e.status) {
                slot.1 += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::parse_category;
    use crate::geometry::LonLat;
    use crate::issue::IssueEntry;
    use crate::issue::Scope;
    use chrono::{TimeZone, Utc};

    fn entry(id: i64, votes: u16) -> IssueEntry {
        IssueEntry {
            id,
            location: LonLat::new(76.9, 43.2).unwrap(),
            status: IssueStatus::Open,
            category: parse_category("pothole").unwrap(),
            district_id: None,
            created_at: Utc.timestamp_opt(1_700_000_000 + id, 0).unwrap(),
            assigned_department: None,
            votes,
        }
    }

    #[test]
    fn the_index_entry_stays_eighty_bytes() {
        // Memory per million issues is a tracked budget (docs/benchmarks.md):
        // the votes fit the padding after the status.
        assert_eq!(std::mem::size_of::<IssueEntry>(), 80);
    }

    #[test]
    fn votes_pages_go_most_votes_first_then_oldest_and_cover_every_issue_once() {
        let votes = [3, 0, 7, 3, 3, 0, 7, 1, 65_535, 2];
        let entries = votes
            .iter()
            .enumerate()
            .map(|(i, v)| entry(i as i64 + 1, *v))
            .collect();
        let index = IssueIndex::bulk_load(entries);
        let all = IssueFilter::default();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = index.page_by_votes(Area::Everywhere, &all, after, 3);
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            after = page.last().copied();
            seen.extend(page.iter().map(|k| k.id));
        }
        assert_eq!(seen, vec![9, 3, 7, 1, 4, 5, 10, 8, 2, 6]);
    }

    #[test]
    fn status_counts_list_every_status() {
        let mut done = entry(2, 0);
        done.status = IssueStatus::Resolved;
        let index = IssueIndex::bulk_load(vec![entry(1, 0), done, entry(3, 0)]);
        let counts = index.count_by_status(Area::Everywhere, &IssueFilter::default());
        assert_eq!(counts.len(), IssueStatus::ALL.len());
        assert!(counts.contains(&(IssueStatus::Open, 2)));
        assert!(counts.contains(&(IssueStatus::Resolved, 1)));
        assert!(counts.contains(&(IssueStatus::Closed, 0)));
    }

    #[test]
    fn a_scope_takes_its_departments_or_its_districts() {
        let mut roads = entry(1, 0);
        roads.assigned_department = Some(crate::issue::filter::department_code("roads"));
        let mut in_three = entry(2, 0);
        in_three.district_id = Some(3);
        let mut elsewhere = entry(3, 0);
        elsewhere.district_id = Some(4);
        elsewhere.assigned_department = Some(crate::issue::filter::department_code("parks"));
        let index = IssueIndex::bulk_load(vec![roads, in_three, elsewhere, entry(4, 0)]);
        let filter = IssueFilter {
            scope: Some(Scope {
                departments: vec!["roads".into()],
                districts: vec![3],
            }),
            ..Default::default()
        };
        assert_eq!(index.page(Area::Everywhere, &filter, None, 10), vec![1, 2]);
    }
}
