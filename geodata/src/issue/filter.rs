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
}

impl IssueFilter {
    /// Whether an issue passes the filter.
    pub fn matches(&self, e: &IssueEntry) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && (self.categories.is_empty() || self.categories.contains(&e.category.code))
            && self.district_id.is_none_or(|d| e.district_id == Some(d))
            && self.since.is_none_or(|t| e.created_at >= t)
            && self.until.is_none_or(|t| e.created_at < t)
    }
}

impl IssueEntry {
    /// The position as R-tree coordinates (lon, lat).
    pub(crate) fn xy(&self) -> [f64; 2] {
        [self.location.lon(), self.location.lat()]
    }
}
