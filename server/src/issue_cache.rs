//! A bounded in-memory cache of issue rows that writes keep exact, so that
//! nearby, list and by-id answers read the database only on a miss.
//!
//! Every committed change to an issue reaches
//! [`AppState::issue_committed`](crate::state::AppState::issue_committed)
//! with the row as committed (this server's own writes, and on PostgreSQL
//! the other servers' through the change feed), which puts it here. A read
//! that missed fetches the rows from the store and offers them back with
//! the [`Ticket`] it took before fetching: if any write was applied in
//! between, the rows it read may be older than what the write put, and the
//! offer is dropped. That is the whole consistency argument: a row enters
//! the cache either from a commit, in commit order, or from a read that no
//! commit overtook.
//!
//! Eviction is least-recently-used by row. A row costs its `Issue` (about
//! 230 bytes), its strings (the description is at most 2,000 characters, a
//! few hundred bytes in practice) and about 60 bytes of list and map
//! bookkeeping: see `docs/benchmarks.md` for the measured cost.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;
use qala_geodata::Issue;

/// Rows held at most unless configured otherwise: the rows of the maps and
/// queues people have open, a small part of a big city's archive.
pub const DEFAULT_ISSUE_CACHE_ROWS: usize = 20_000;

/// The cache (cheap to share behind an `Arc`).
#[derive(Debug)]
pub struct IssueCache {
    inner: Option<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    rows: LruCache<i64, Arc<Issue>>,
    /// Writes applied so far: a read's ticket is this count when it began.
    writes: u64,
}

/// Taken before a read goes to the store; see [`IssueCache::offer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// What [`IssueCache::lookup`] found.
#[derive(Debug)]
pub struct Lookup {
    /// One slot per id asked for, in that order: the row, or `None` for a miss.
    pub rows: Vec<Option<Arc<Issue>>>,
    /// For offering the missed rows back once read.
    pub ticket: Ticket,
}

impl Lookup {
    /// The ids that missed, in the order asked.
    pub fn missing(&self, ids: &[i64]) -> Vec<i64> {
        ids.iter()
            .zip(&self.rows)
            .filter(|(_, row)| row.is_none())
            .map(|(id, _)| *id)
            .collect()
    }
}

impl IssueCache {
    /// A cache of at most `rows` rows; 0 turns it off (every read goes to the store).
    pub fn new(rows: usize) -> Self {
        Self {
            inner: NonZeroUsize::new(rows).map(|cap| {
                Mutex::new(Inner {
                    rows: LruCache::new(cap),
                    writes: 0,
                })
            }),
        }
    }

    /// The cached rows of `ids`, and a ticket for offering the rest back.
    pub fn lookup(&self, ids: &[i64]) -> Lookup {
        let Some(inner) = &self.inner else {
            return Lookup {
                rows: vec![None; ids.len()],
                ticket: Ticket(0),
            };
        };
        let mut inner = inner.lock();
        let rows = ids.iter().map(|id| inner.rows.get(id).cloned()).collect();
        Lookup {
            rows,
            ticket: Ticket(inner.writes),
        }
    }

    /// Caches rows read from the store after `ticket` was taken, unless a
    /// write was applied since (then they may be stale, and are dropped).
    pub fn offer(&self, ticket: Ticket, rows: &[Arc<Issue>]) {
        let Some(inner) = &self.inner else { return };
        let mut inner = inner.lock();
        if inner.writes != ticket.0 {
            return;
        }
        for row in rows {
            inner.rows.put(row.id, Arc::clone(row));
        }
    }

    /// Puts a committed row, replacing what was cached for it. Called for
    /// every committed change, in commit order.
    pub fn committed(&self, issue: &Issue) {
        let Some(inner) = &self.inner else { return };
        let row = Arc::new(issue.clone());
        let mut inner = inner.lock();
        inner.writes += 1;
        inner.rows.put(row.id, row);
    }

    /// Rows held now.
    pub fn len(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.lock().rows.len())
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Utc;
    use qala_geodata::category::parse_category;
    use qala_geodata::{IssueStatus, LonLat};

    use super::*;

    fn issue(id: i64, status: IssueStatus) -> Issue {
        let now = Utc::now();
        Issue {
            id,
            category: parse_category("pothole").unwrap(),
            description: format!("issue {id}"),
            location: LonLat::new(76.9, 43.25).unwrap(),
            address: None,
            status,
            district_id: None,
            created_at: now,
            updated_at: now,
            votes: 0,
            reporter_email: None,
            assigned_department: None,
            acknowledged_at: None,
            resolved_at: None,
            duplicate_of: None,
            hidden_at: None,
        }
    }

    fn status_of(cache: &IssueCache, id: i64) -> Option<IssueStatus> {
        cache.lookup(&[id]).rows[0].as_ref().map(|row| row.status)
    }

    #[test]
    fn a_read_offered_back_is_served_in_the_order_asked() {
        let cache = IssueCache::new(10);
        let lookup = cache.lookup(&[2, 1]);
        assert_eq!(lookup.missing(&[2, 1]), vec![2, 1]);
        let read = [1, 2].map(|id| Arc::new(issue(id, IssueStatus::Open)));
        cache.offer(lookup.ticket, &read);
        let again = cache.lookup(&[2, 3, 1]);
        let ids: Vec<Option<i64>> = again
            .rows
            .iter()
            .map(|r| r.as_ref().map(|r| r.id))
            .collect();
        assert_eq!(ids, vec![Some(2), None, Some(1)]);
        assert_eq!(again.missing(&[2, 3, 1]), vec![3]);
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_not_cached() {
        let cache = IssueCache::new(10);
        // A read misses and goes to the store, which still has the old row...
        let lookup = cache.lookup(&[1]);
        let stale = Arc::new(issue(1, IssueStatus::Open));
        // ...while a change commits and is applied.
        cache.committed(&issue(1, IssueStatus::InProgress));
        cache.offer(lookup.ticket, &[stale]);
        assert_eq!(status_of(&cache, 1), Some(IssueStatus::InProgress));
    }

    #[test]
    fn a_commit_replaces_the_cached_row() {
        let cache = IssueCache::new(10);
        let lookup = cache.lookup(&[1]);
        cache.offer(lookup.ticket, &[Arc::new(issue(1, IssueStatus::Open))]);
        cache.committed(&issue(1, IssueStatus::Resolved));
        assert_eq!(status_of(&cache, 1), Some(IssueStatus::Resolved));
    }

    #[test]
    fn the_least_recently_used_row_leaves_first() {
        let cache = IssueCache::new(2);
        for id in [1, 2] {
            cache.committed(&issue(id, IssueStatus::Open));
        }
        assert!(status_of(&cache, 1).is_some()); // 1 is now the more recent
        cache.committed(&issue(3, IssueStatus::Open));
        assert_eq!(cache.len(), 2);
        assert!(status_of(&cache, 2).is_none());
        assert!(status_of(&cache, 1).is_some());
    }

    #[test]
    fn a_cache_of_zero_rows_holds_nothing() {
        let cache = IssueCache::new(0);
        cache.committed(&issue(1, IssueStatus::Open));
        let lookup = cache.lookup(&[1]);
        cache.offer(lookup.ticket, &[Arc::new(issue(1, IssueStatus::Open))]);
        assert!(cache.is_empty());
        assert!(status_of(&cache, 1).is_none());
    }
}
