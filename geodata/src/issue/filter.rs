//! What the index keeps of an issue, and the attribute filter every issue
//! query shares.

use chrono::{DateTime, Utc};

use super::{Issue, IssueStatus};
use crate::category::Category;
use crate::geometry::LonLat;

/// What the index keeps of an issue: what filters, stats and tiles need.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueEntry {
    /// Issue id.
    pub id: i64,
    /// Location.
    pub location: LonLat,
    /// Status.
    pub status: IssueStatus,
    /// Category.
    pub category: &'static Category,
    /// District feature id.
    pub district_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The department it is assigned to (see [`department_code`]).
    pub assigned_department: Option<&'static str>,
    /// "Me too" votes, saturating at `u16::MAX` (see [`entry_votes`]): what
    /// `sort=votes` orders by.
    pub votes: u16,
}

/// An issue's votes as the index keeps them. A `u16` fits the padding the
/// entry already had after its status byte, so the entry stays 80 bytes
/// (a `u32` would make it 88: 8 MB more per million issues). Beyond 65,535
/// votes (far more than any city issue gathers) issues sort as equals,
/// oldest first.
pub fn entry_votes(votes: i64) -> u16 {
    u16::try_from(votes.max(0)).unwrap_or(u16::MAX)
}

/// A department code shared by every entry that names it: codes are few
/// (city data), so each distinct code is allocated once for the life of the
/// process instead of once per issue among a million.
pub fn department_code(code: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static CODES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut codes = CODES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = codes.get(code) {
        return known;
    }
    let new: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.insert(new);
    new
}

impl From<&Issue> for IssueEntry {
    fn from(issue: &Issue) -> Self {
        Self {
            id: issue.id,
            location: issue.location,
            status: issue.status,
            category: issue.category,
            district_id: issue.district_id,
            created_at: issue.created_at,
            assigned_department: issue.assigned_department.as_deref().map(department_code),
            votes: entry_votes(issue.votes),
        }
    }
}

/// Attribute filters shared by every issue query (list, nearby, stats, tiles).
///
/// `Hash` and `Eq` because a filter is part of a tile's cache key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IssueFilter {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<IssueStatus>,
    /// Any of these category codes (empty: all).
    pub categories: Vec<&'static str>,
    /// Only issues of this district.
    pub district_id: Option<i64>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    /// Only issues assigned to this department.
    pub assigned_to: Option<String>,
    /// Only issues in a staff member's scope (`assigned_to=me`).
    pub scope: Option<Scope>,
}

/// A scoped actor's departments and districts: an issue is in scope when
/// its department or its district is one of them (as `Actor::covers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Department codes.
    pub departments: Vec<String>,
    /// District feature ids.
    pub districts: Vec<i64>,
}

impl Scope {
    /// Whether an issue assigned to `department` in `district` is in scope.
    pub fn covers(&self, department: Option<&str>, district: Option<i64>) -> bool {
        department.is_some_and(|d| self.departments.iter().any(|own| own == d))
            || district.is_some_and(|d| self.districts.contains(&d))
    }

    /// Whether nothing is in scope.
    pub fn is_empty(&self) -> bool {
        self.departments.is_empty() && self.districts.is_empty()
    }
}

impl IssueFilter {
    /// Whether an issue passes the filter.
    pub fn matches(&self, e: &IssueEntry) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && (self.categories.is_empty() || self.categories.contains(&e.category.code))
            && self.district_id.is_none_or(|d| e.district_id == Some(d))
            && self.since.is_none_or(|t| e.created_at >= t)
            && self.until.is_none_or(|t| e.created_at < t)
            && self
                .assigned_to
                .as_deref()
                .is_none_or(|d| e.assigned_department == Some(d))
            && self
                .scope
                .as_ref()
                .is_none_or(|s| s.covers(e.assigned_department, e.district_id))
    }

    /// The same filter for every status: what a queue's per-status counts
    /// are taken over.
    pub fn any_status(&self) -> Self {
        Self {
            statuses: Vec::new(),
            ..self.clone()
        }
    }
}

impl IssueEntry {
    /// The position as R-tree coordinates (lon, lat).
    pub(crate) fn xy(&self) -> [f64; 2] {
        [self.location.lon(), self.location.lat()]
    }
}
