//! A change resolved by the server against the issue it read: the new
//! district and department of a re-route or correction, and what they rest
//! on, so that the store can refuse them when the row it locks no longer
//! matches (another change committed in between).

use chrono::{DateTime, Utc};

use super::change::nothing_to_change;
use super::{IssueChange, apply, check_transition};
use crate::category::Category;
use crate::error::ValidationError;
use crate::geometry::LonLat;
use crate::issue::{Issue, IssueStatus};

/// What the server's decisions rest on: the issue's category, location,
/// district and department as it read them (its scope check and the new
/// district and department were computed from these).
#[derive(Debug, Clone, PartialEq)]
struct Basis {
    category: &'static str,
    location: LonLat,
    district_id: Option<i64>,
    department: Option<String>,
}

impl Basis {
    fn of(issue: &Issue) -> Self {
        Self {
            category: issue.category.code,
            location: issue.location,
            district_id: issue.district_id,
            department: issue.assigned_department.clone(),
        }
    }
}

/// Where a re-route or a correction puts an issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Category after.
    pub category: &'static Category,
    /// Location after.
    pub location: LonLat,
    /// District after (recomputed when the location moved).
    pub district_id: Option<i64>,
    /// Department after.
    pub department: Option<String>,
}

/// An [`IssueChange`] resolved against the issue as the server read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Amendment {
    change: IssueChange,
    read: Basis,
    target: Option<Placement>,
}

/// The refusal of a change whose issue changed after the server read it.
fn conflict() -> ValidationError {
    ValidationError::new(
        "conflict",
        "body",
        "the issue changed meanwhile; reload it and try again",
    )
}

impl Amendment {
    /// Resolves `change` against `read`, the issue as the caller read it.
    /// A moved location gets its district from `district_for` (whose
    /// `outside_city` is blamed on `location`); the department is the one
    /// `change` names, else, when the routing's inputs (category or
    /// district) changed, `department_for(category, district)` (the routing
    /// rules, as for a new report), else the issue's own: a move within
    /// its district keeps a department chosen by hand.
    pub fn new(
        change: IssueChange,
        read: &Issue,
        district_for: impl FnOnce(LonLat) -> Result<Option<i64>, ValidationError>,
        department_for: impl FnOnce(&'static Category, Option<i64>) -> Option<String>,
    ) -> Result<Self, ValidationError> {
        let target = if change.amends() {
            let category = change.category().unwrap_or(read.category);
            let location = change.location().unwrap_or(read.location);
            let district_id = if location == read.location {
                read.district_id
            } else {
                district_for(location).map_err(|e| e.with_field("location"))?
            };
            let rerouted = category.code != read.category.code || district_id != read.district_id;
            let department = match change.department() {
                Some(code) => Some(code.to_owned()),
                None if rerouted => department_for(category, district_id),
                None => read.assigned_department.clone(),
            };
            Some(Placement {
                category,
                location,
                district_id,
                department,
            })
        } else {
            None
        };
        Ok(Self {
            change,
            read: Basis::of(read),
            target,
        })
    }

    /// The change as requested.
    pub fn change(&self) -> &IssueChange {
        &self.change
    }

    /// Where the issue goes, for a re-route or correction.
    pub fn target(&self) -> Option<&Placement> {
        self.target.as_ref()
    }

    /// Checks this amendment against `issue` as the store holds it locked
    /// (and `duplicate_target`, the issue `duplicate_of` names, as read in
    /// the same transaction) and returns the issue after it. Errors:
    /// `conflict` (409) when the category, location, district or department
    /// differ from what the server read; `invalid_transition` (409) for a
    /// status the table refuses, or a re-route or correction of a closed,
    /// rejected or duplicate issue; `nothing_to_change` (422) when nothing
    /// would change; and what [`check_transition`] refuses.
    pub fn check(
        &self,
        issue: &Issue,
        duplicate_target: Option<&Issue>,
        now: DateTime<Utc>,
    ) -> Result<Issue, ValidationError> {
        if Basis::of(issue) != self.read {
            return Err(conflict());
        }
        if self.target.is_some()
            && matches!(
                issue.status,
                IssueStatus::Closed | IssueStatus::Rejected | IssueStatus::Duplicate
            )
        {
            return Err(ValidationError::new(
                "invalid_transition",
                "status",
                format!(
                    "a {} issue cannot be re-routed or corrected",
                    issue.status.as_str()
                ),
            ));
        }
        check_transition(issue, &self.change, duplicate_target, now)?;
        let mut next = apply(issue, &self.change, now);
        if let Some(target) = &self.target {
            next.category = target.category;
            next.location = target.location;
            next.district_id = target.district_id;
            next.assigned_department.clone_from(&target.department);
        }
        let changed = next.status != issue.status
            || next.category.code != issue.category.code
            || next.location != issue.location
            || next.assigned_department != issue.assigned_department;
        if !changed {
            return Err(nothing_to_change(
                "the issue already has this department, category and location",
            ));
        }
        Ok(next)
    }
}
