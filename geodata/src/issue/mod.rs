//! City issues: the stored issue and its status; what a resident reports
//! ([`report`]); and what the index keeps of each and how queries filter
//! them ([`filter`]).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::error::ValidationError;
use crate::geometry::LonLat;

pub mod filter;
pub mod public;
pub mod report;

pub use filter::{IssueEntry, IssueFilter, Scope};
pub use public::PublicFeature;
pub use report::{
    MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS, NewIssue, TextProblem, json_error, public_text,
};

/// Where an issue is in its life (the FixMyStreet / Open311 vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    /// Reported, nobody has looked yet.
    Open,
    /// Seen by staff.
    Acknowledged,
    /// Someone is working on it.
    InProgress,
    /// Fixed.
    Resolved,
    /// Closed without a fix being needed.
    Closed,
    /// Not something the city will act on.
    Rejected,
    /// Another issue reports the same problem.
    Duplicate,
}

impl IssueStatus {
    /// Every status, in workflow order.
    pub const ALL: [IssueStatus; 7] = [
        Self::Open,
        Self::Acknowledged,
        Self::InProgress,
        Self::Resolved,
        Self::Closed,
        Self::Rejected,
        Self::Duplicate,
    ];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Duplicate => "duplicate",
        }
    }

    /// Parses the API spelling.
    ///
    /// ```
    /// use qala_geodata::IssueStatus;
    /// assert_eq!(IssueStatus::parse("in_progress").unwrap(), IssueStatus::InProgress);
    /// assert!(IssueStatus::parse("done").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "invalid_status",
                "status",
                format!("unknown status \"{s}\"; one of open, acknowledged, in_progress, resolved, closed, rejected, duplicate"),
            )
        })
    }
}

/// A stored issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Server-assigned identifier.
    pub id: i64,
    /// Category (from the catalogue).
    pub category: &'static Category,
    /// What the resident wrote.
    pub description: String,
    /// Where the problem is.
    pub location: LonLat,
    /// Optional street address the resident gave.
    pub address: Option<String>,
    /// Current status.
    pub status: IssueStatus,
    /// The district (a feature id of the `districts` layer) the location fell in when written.
    pub district_id: Option<i64>,
    /// When it was reported.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// "Me too" count.
    pub votes: i64,
    /// Private contact of the reporter: never part of any public output.
    pub reporter_email: Option<String>,
    /// The department the issue was routed to (see [`crate::workflow::Routing`]).
    pub assigned_department: Option<String>,
    /// When staff first acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was last resolved (cleared when reopened).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The issue this one duplicates (status `duplicate`).
    pub duplicate_of: Option<i64>,
    /// When a moderator hid it: a hidden issue is in no public output.
    pub hidden_at: Option<DateTime<Utc>>,
}

/// RFC 3339 in UTC with millisecond precision and a `Z`: fixed width, so the
/// stored text sorts in time order.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_time(s: &str, field: &'static str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ValidationError::new(
                "invalid_parameter",
                field,
                format!("{field} must be an RFC 3339 timestamp such as 2026-05-01T00:00:00Z ({e})"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_as_text() {
        let a = parse_time("2026-01-02T03:04:05Z", "since").unwrap();
        let b = parse_time("2026-01-02T03:04:05.5+00:00", "since").unwrap();
        assert!(format_time(a) < format_time(b));
        assert!(parse_time("yesterday", "since").is_err());
    }
}
