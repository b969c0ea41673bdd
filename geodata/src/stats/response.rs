//! Response times as public figures: per district, department or category,
//! how long the city took to acknowledge and to resolve issues, and how many
//! open issues are older than their category's target
//! ([`Category::target_days`]).
//!
//! Pure: the rows come from the store ([`crate::store::StatsStore`]) and
//! `now` from the caller, so the figures can be tested with fixed times.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::category::Category;
use crate::error::ValidationError;
use crate::issue::IssueStatus;

/// What the figures need of one stored issue; no text a resident wrote and
/// no contact, so nothing private can leak into them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRow {
    /// The issue's category (its target and code).
    pub category: &'static Category,
    /// Current status.
    pub status: IssueStatus,
    /// The district feature id the issue lies in.
    pub district_id: Option<i64>,
    /// The department code it was routed to.
    pub department: Option<String>,
    /// When it was reported.
    pub created_at: DateTime<Utc>,
    /// When staff first acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it was last resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseGroupBy {
    /// The district an issue lies in.
    District,
    /// The department it was routed to.
    Department,
    /// Its category (the default: targets are per category).
    #[default]
    Category,
}

impl ResponseGroupBy {
    /// The API spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Department => "department",
            Self::Category => "category",
        }
    }

    /// Parses the API spelling (`group_by`).
    ///
    /// ```
    /// use qala_geodata::stats::ResponseGroupBy;
    /// assert_eq!(ResponseGroupBy::parse("district").unwrap(), ResponseGroupBy::District);
    /// assert_eq!(ResponseGroupBy::parse("status").unwrap_err().code, "invalid_parameter");
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        [Self::District, Self::Department, Self::Category]
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "invalid_parameter",
                    "group_by",
                    format!(
                        "cannot group response times by {s:?}; use district, department or category"
                    ),
                )
            })
    }
}

/// One group's key. Issues outside every district, or not routed to any
/// department, form a group of their own (`None`), which sorts first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResponseKey {
    /// A district feature id.
    District(Option<i64>),
    /// A department code.
    Department(Option<String>),
    /// A category code.
    Category(&'static str),
}

/// How many durations a figure is over, and their median and 90th
/// percentile in seconds (`None` when there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    /// How many issues the figure covers.
    pub count: usize,
    /// The nearest-rank 50th percentile.
    pub median_seconds: Option<i64>,
    /// The nearest-rank 90th percentile.
    pub p90_seconds: Option<i64>,
}

impl Durations {
    fn of(mut seconds: Vec<i64>) -> Self {
        seconds.sort_unstable();
        Self {
            count: seconds.len(),
            median_seconds: nearest_rank(&seconds, 50),
            p90_seconds: nearest_rank(&seconds, 90),
        }
    }
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseGroup {
    /// Which group.
    pub key: ResponseKey,
    /// Reported → first acknowledged, over issues acknowledged at least once.
    pub acknowledge: Durations,
    /// Reported → resolved, over issues now resolved or closed that carry a
    /// resolution time (closing without resolving records none).
    pub resolve: Durations,
    /// Issues open, acknowledged or in progress.
    pub open: u64,
    /// Of those, how many are older than their category's target at `now`.
    pub overdue: u64,
}

/// The nearest-rank percentile of ascending `sorted` values: the value at
/// rank ⌈p/100 × n⌉ (1-based, at least 1), so always one of the values and
/// never an interpolation. The median of an even count is therefore the
/// lower of the two middle values. `None` for no values; `percent` above
/// 100 is taken as 100.
///
/// ```
/// use qala_geodata::stats::nearest_rank;
/// assert_eq!(nearest_rank(&[], 50), None);
/// assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
/// assert_eq!(nearest_rank(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
/// ```
#[must_use]
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    let n = sorted.len();
    let percent = percent.min(100) as usize;
    let rank = (percent * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[derive(Debug, Default)]
struct Tally {
    acknowledge: Vec<i64>,
    resolve: Vec<i64>,
    open: u64,
    overdue: u64,
}

/// Accumulates [`ResponseRow`]s into groups, one row at a time, so the
/// store can stream them.
#[derive(Debug)]
pub struct ResponseTally {
    group_by: ResponseGroupBy,
    now: DateTime<Utc>,
    groups: BTreeMap<ResponseKey, Tally>,
}

impl ResponseTally {
    /// An empty tally; `now` decides which open issues are overdue.
    #[must_use]
    pub fn new(group_by: ResponseGroupBy, now: DateTime<Utc>) -> Self {
        Self {
            group_by,
            now,
            groups: BTreeMap::new(),
        }
    }

    /// Counts one issue into its group.
    pub fn add(&mut self, row: &ResponseRow) {
        let key = match self.group_by {
            ResponseGroupBy::District => ResponseKey::District(row.district_id),
            ResponseGroupBy::Department => ResponseKey::Department(row.department.clone()),
            ResponseGroupBy::Category => ResponseKey::Category(row.category.code),
        };
        let tally = self.groups.entry(key).or_default();
        // A clock step back must not turn into a negative response time.
        let since_created = |at: DateTime<Utc>| (at - row.created_at).num_seconds().max(0);
        if let Some(at) = row.acknowledged_at {
            tally.acknowledge.push(since_created(at));
        }
        if let (IssueStatus::Resolved | IssueStatus::Closed, Some(at)) =
            (row.status, row.resolved_at)
        {
            tally.resolve.push(since_created(at));
        }
        if matches!(
            row.status,
            IssueStatus::Open | IssueStatus::Acknowledged | IssueStatus::InProgress
        ) {
            tally.open += 1;
            let target = Duration::days(i64::from(row.category.target_days));
            if self.now - row.created_at > target {
                tally.overdue += 1;
            }
        }
    }

    /// The figures, one per group that has at least one issue, by key.
    #[must_use]
    pub fn finish(self) -> Vec<ResponseGroup> {
        self.groups
            .into_iter()
            .map(|(key, t)| ResponseGroup {
                key,
                acknowledge: Durations::of(t.acknowledge),
                resolve: Durations::of(t.resolve),
                open: t.open,
                overdue: t.overdue,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::parse_category;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::hours(hours)
    }

    fn row(category: &str, status: IssueStatus, created: i64) -> ResponseRow {
        ResponseRow {
            category: parse_category(category).unwrap(),
            status,
            district_id: None,
            department: None,
            created_at: at(created),
            acknowledged_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn nearest_rank_of_empty_one_odd_and_even_counts() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[], 90), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[7], 0), Some(7));
        // Odd: the middle value; p90 of 5 is rank ⌈4.5⌉ = 5.
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 90), Some(5));
        // Even: the lower middle value, never an average.
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50), Some(20));
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 90), Some(40));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten, 100), Some(10));
        assert_eq!(nearest_rank(&ten, 250), Some(10));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
    }

    #[test]
    fn durations_sort_their_values_first() {
        let d = Durations::of(vec![30, 10, 20]);
        assert_eq!(
            d,
            Durations {
                count: 3,
                median_seconds: Some(20),
                p90_seconds: Some(30)
            }
        );
        assert_eq!(Durations::of(Vec::new()), Durations::default());
    }

    #[test]
    fn acknowledge_resolve_open_and_overdue_per_category() {
        let mut acked = row("snow_ice", IssueStatus::Acknowledged, 0);
        acked.acknowledged_at = Some(at(2));
        let mut resolved = row("snow_ice", IssueStatus::Resolved, 10);
        resolved.acknowledged_at = Some(at(14));
        resolved.resolved_at = Some(at(40));
        let mut closed_unresolved = row("snow_ice", IssueStatus::Closed, 0);
        closed_unresolved.acknowledged_at = Some(at(1));
        // Reopened: its earlier resolution no longer counts.
        let mut reopened = row("snow_ice", IssueStatus::Open, 100);
        reopened.resolved_at = None;
        let rejected = row("snow_ice", IssueStatus::Rejected, 0);
        let pothole = row("pothole", IssueStatus::InProgress, 0);

        // now = 148h: snow_ice target is 48h, pothole 336h.
        let mut tally = ResponseTally::new(ResponseGroupBy::Category, at(148));
        for r in [
            &acked,
            &resolved,
            &closed_unresolved,
            &reopened,
            &rejected,
            &pothole,
        ] {
            tally.add(r);
        }
        let groups = tally.finish();
        assert_eq!(groups.len(), 2);
        let pothole = &groups[0];
        assert_eq!(pothole.key, ResponseKey::Category("pothole"));
        assert_eq!((pothole.open, pothole.overdue), (1, 0));
        assert_eq!(pothole.acknowledge.count, 0);
        let snow = &groups[1];
        assert_eq!(snow.key, ResponseKey::Category("snow_ice"));
        // Acknowledged after 2h, 4h and 1h → sorted 1, 2, 4 hours.
        assert_eq!(
            snow.acknowledge,
            Durations {
                count: 3,
                median_seconds: Some(2 * 3600),
                p90_seconds: Some(4 * 3600)
            }
        );
        assert_eq!(
            snow.resolve,
            Durations {
                count: 1,
                median_seconds: Some(30 * 3600),
                p90_seconds: Some(30 * 3600)
            }
        );
        // Open-like: acked (148h old, overdue) and reopened (exactly 48h: not older).
        assert_eq!((snow.open, snow.overdue), (2, 1));
    }

    #[test]
    fn groups_by_district_and_department_with_a_group_for_none() {
        let mut a = row("litter", IssueStatus::Open, 0);
        a.district_id = Some(3);
        a.department = Some("roads".into());
        let b = row("litter", IssueStatus::Open, 0);
        let mut by_district = ResponseTally::new(ResponseGroupBy::District, at(1));
        let mut by_department = ResponseTally::new(ResponseGroupBy::Department, at(1));
        for r in [&a, &b] {
            by_district.add(r);
            by_department.add(r);
        }
        let keys = |g: Vec<ResponseGroup>| g.into_iter().map(|g| g.key).collect::<Vec<_>>();
        assert_eq!(
            keys(by_district.finish()),
            [ResponseKey::District(None), ResponseKey::District(Some(3))]
        );
        assert_eq!(
            keys(by_department.finish()),
            [
                ResponseKey::Department(None),
                ResponseKey::Department(Some("roads".into()))
            ]
        );
    }
}
