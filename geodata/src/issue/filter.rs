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
    }
}

impl IssueEntry {
    /// The position as R-tree coordinates (lon, lat).
    pub(crate) fn xy(&self) -> [f64; 2] {
        [self.location.lon(), self.location.lat()]
    }
}
