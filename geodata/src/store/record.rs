//! A complete issue row to insert, validated as a whole.

use chrono::{DateTime, Utc};

use crate::category::Category;
use crate::error::ValidationError;
use crate::geometry::LonLat;
use crate::issue::{IssueStatus, NewIssue};
use crate::mail::ReportFollowUp;

/// A complete issue row to insert, for bulk loads (demo data, migrations from
/// other systems) where status and times are given rather than "now".
///
/// The fields are private so that every record went through
/// [`IssueRecord::new`] (or [`IssueRecord::new_report`]): what the database's
/// CHECK constraints would refuse is refused here first, as a validation error.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRecord {
    report: NewIssue,
    status: IssueStatus,
    district_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    assigned_department: Option<String>,
    follow_up: Option<ReportFollowUp>,
}

impl IssueRecord {
    /// A record with the given status and times; `updated_at` must not be
    /// before `created_at`.
    pub fn new(
        report: NewIssue,
        status: IssueStatus,
        district_id: Option<i64>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        if updated_at < created_at {
            return Err(ValidationError::new(
                "invalid_time",
                "updated_at",
                "updated_at must not be before created_at",
            ));
        }
        Ok(Self {
            report,
            status,
            district_id,
            created_at,
            updated_at,
            assigned_department: None,
            follow_up: None,
        })
    }

    /// A fresh report: status `open`, created and updated now.
    pub fn new_report(report: NewIssue, district_id: Option<i64>) -> Self {
        // Millisecond precision: what is stored is exactly what is returned.
        let now =
            DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now);
        Self {
            report,
            status: IssueStatus::Open,
            district_id,
            created_at: now,
            updated_at: now,
            assigned_department: None,
            follow_up: None,
        }
    }

    /// A record that skips [`IssueRecord::new`]'s rules, for tests of the
    /// stores' own defences (the schema's CHECK constraints) only.
    #[cfg(feature = "test-support")]
    pub fn new_unchecked(
        report: NewIssue,
        status: IssueStatus,
        district_id: Option<i64>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            report,
            status,
            district_id,
            created_at,
            updated_at,
            assigned_department: None,
            follow_up: None,
        }
    }

    /// The record routed to `department` (see [`crate::workflow::Routing`]).
    #[must_use]
    pub fn with_department(mut self, department: Option<&str>) -> Self {
        self.assigned_department = department.map(str::to_owned);
        self
    }

    /// The record with what its reporter gets: the private link's token
    /// and, with an email, the follow and its confirmation mail, written in
    /// the issue's transaction (see [`crate::store::MailStore`]).
    #[must_use]
    pub fn with_follow_up(mut self, follow_up: ReportFollowUp) -> Self {
        self.follow_up = Some(follow_up);
        self
    }

    /// What the reporter gets besides the issue, if anything.
    pub fn follow_up(&self) -> Option<&ReportFollowUp> {
        self.follow_up.as_ref()
    }

    /// The department the issue is assigned to.
    pub fn assigned_department(&self) -> Option<&str> {
        self.assigned_department.as_deref()
    }

    /// The validated report.
    pub fn report(&self) -> &NewIssue {
        &self.report
    }

    /// Status.
    pub fn status(&self) -> IssueStatus {
        self.status
    }

    /// District the location lies in.
    pub fn district_id(&self) -> Option<i64> {
        self.district_id
    }

    /// Reported at.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Last changed at (not before `created_at`).
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    pub(super) fn category(&self) -> &'static Category {
        self.report.category()
    }

    pub(super) fn location(&self) -> LonLat {
        self.report.location()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_may_not_change_before_it_was_made() {
        let report = NewIssue::new(
            "pothole",
            "Deep hole",
            LonLat::new(76.93, 43.25).unwrap(),
            None,
            None,
        )
        .unwrap();
        let created = DateTime::from_timestamp_millis(1_767_225_600_000).unwrap();
        let earlier = created - chrono::Duration::milliseconds(1);
        let e = IssueRecord::new(report.clone(), IssueStatus::Open, None, created, earlier)
            .unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_time", Some("updated_at"))
        );
        let same =
            IssueRecord::new(report, IssueStatus::Resolved, Some(3), created, created).unwrap();
        assert_eq!(same.status(), IssueStatus::Resolved);
        assert_eq!(same.district_id(), Some(3));
    }
}
