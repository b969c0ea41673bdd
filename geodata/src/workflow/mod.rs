//! The status workflow: which status may follow which (one table,
//! [`TRANSITIONS`]), a validated [`IssueChange`] (a status change, a
//! re-route, a correction of category or location, or several at once),
//! the [`Amendment`] the server resolves it into, the recorded
//! [`IssueEvent`] and its public form, and routing issues to a
//! [`Department`].

use chrono::{DateTime, Duration, Utc};

use crate::error::ValidationError;
use crate::issue::{Issue, IssueStatus};

mod amend;
mod change;
mod event;
mod routing;

pub use amend::{Amendment, Placement};
pub use change::{ChangeParts, IssueChange, MAX_NOTE_CHARS, StatusChange};
pub use event::{EventActor, IssueEvent};
pub use routing::{
    Department, DepartmentNames, FALLBACK_CATEGORY, RESERVED_CODE, Routing, RoutingRule,
};

/// How long after it was resolved an issue may be reopened.
pub const REOPEN_WINDOW_DAYS: i64 = 30;

/// What a transition needs besides its two statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing more.
    None,
    /// A public note saying why (rejections).
    Note,
    /// `duplicate_of`: another existing issue that is not itself a duplicate.
    DuplicateTarget,
    /// Within [`REOPEN_WINDOW_DAYS`] of `resolved_at`.
    ReopenWindow,
}

use IssueStatus::{Acknowledged, Closed, Duplicate, InProgress, Open, Rejected, Resolved};

/// Every allowed transition: from, to, and what it requires. Anything not
/// listed is an `invalid_transition`.
pub const TRANSITIONS: [(IssueStatus, IssueStatus, Requirement); 11] = [
    (Open, Acknowledged, Requirement::None),
    (Acknowledged, InProgress, Requirement::None),
    (InProgress, Resolved, Requirement::None),
    (Resolved, Closed, Requirement::None),
    (Open, Rejected, Requirement::Note),
    (Acknowledged, Rejected, Requirement::Note),
    (Open, Duplicate, Requirement::DuplicateTarget),
    (Acknowledged, Duplicate, Requirement::DuplicateTarget),
    (InProgress, Duplicate, Requirement::DuplicateTarget),
    (Resolved, Duplicate, Requirement::DuplicateTarget),
    (Resolved, Open, Requirement::ReopenWindow),
];

/// Whether a role may change statuses (and re-route or correct issues) at
/// all: staff (within their scope, see [`crate::account::Actor::covers`]),
/// admins and integrations (the city's own systems). Residents, moderators
/// and planners may not.
pub fn may_change_status(role: crate::account::Role) -> bool {
    use crate::account::Role;
    matches!(role, Role::Staff | Role::Admin | Role::Integration)
}

/// What [`TRANSITIONS`] requires of `from → to`, or `None` if it is not allowed.
pub fn requirement(from: IssueStatus, to: IssueStatus) -> Option<Requirement> {
    TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map(|(_, _, r)| *r)
}

/// The refusal of a department code no department has (422).
pub(crate) fn unknown_department(code: &str) -> ValidationError {
    ValidationError::new(
        "unknown_department",
        "department",
        format!("no department has the code {code:?}; GET /api/v1/departments lists them"),
    )
}

fn invalid_transition(from: IssueStatus, to: IssueStatus, why: &str) -> ValidationError {
    ValidationError::new(
        "invalid_transition",
        "status",
        format!(
            "an issue cannot go from {from} to {to}{why}",
            from = from.as_str(),
            to = to.as_str()
        ),
    )
}

/// Checks the status part of `change` (none: nothing to check) against
/// `issue` as it is now. `target` is the issue
/// `change.duplicate_of()` names, as read in the same transaction (`None`
/// if it does not exist). Errors: `invalid_transition` (the server's 409)
/// when the table forbids it or the reopen window has passed;
/// `note_required` and `invalid_duplicate` (422) for a missing or wrong
/// detail.
pub fn check_transition(
    issue: &Issue,
    change: &IssueChange,
    target: Option<&Issue>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    let Some(to) = change.status() else {
        return Ok(());
    };
    let from = issue.status;
    match requirement(from, to) {
        None => Err(invalid_transition(from, to, "")),
        Some(Requirement::None) => Ok(()),
        Some(Requirement::Note) => match change.note() {
            Some(_) => Ok(()),
            None => Err(ValidationError::new(
                "note_required",
                "note",
                "a rejection needs a public note saying why",
            )),
        },
        Some(Requirement::DuplicateTarget) => {
            let bad = |message: String| {
                ValidationError::new("invalid_duplicate", "duplicate_of", message)
            };
            let Some(target_id) = change.duplicate_of() else {
                return Err(bad("marking a duplicate needs duplicate_of".into()));
            };
            if target_id == issue.id {
                return Err(bad("an issue cannot be a duplicate of itself".into()));
            }
            match target {
                None => Err(bad(format!("issue {target_id} does not exist"))),
                Some(t) if t.id != target_id => {
                    Err(bad(format!("issue {target_id} does not exist")))
                }
                Some(t) if t.status == Duplicate => Err(bad(format!(
                    "issue {target_id} is itself a duplicate; name the issue it duplicates"
                ))),
                Some(_) => Ok(()),
            }
        }
        Some(Requirement::ReopenWindow) => {
            let within = issue
                .resolved_at
                .is_some_and(|at| now - at <= Duration::days(REOPEN_WINDOW_DAYS));
            if within {
                Ok(())
            } else {
                Err(invalid_transition(
                    from,
                    to,
                    &format!(" more than {REOPEN_WINDOW_DAYS} days after it was resolved"),
                ))
            }
        }
    }
}

/// The issue after the status part of an allowed `change` at `now`:
/// `updated_at` and, when the status changes, the status, the first
/// `acknowledged_at`, `resolved_at` (cleared on reopening) and
/// `duplicate_of`. (A re-route or correction is placed by
/// [`Amendment::check`].)
pub fn apply(issue: &Issue, change: &IssueChange, now: DateTime<Utc>) -> Issue {
    let mut next = issue.clone();
    next.updated_at = now.max(issue.updated_at);
    let Some(status) = change.status() else {
        return next;
    };
    next.status = status;
    match status {
        Acknowledged => {
            next.acknowledged_at.get_or_insert(now);
        }
        Resolved => next.resolved_at = Some(now),
        Open => next.resolved_at = None,
        Duplicate => next.duplicate_of = change.duplicate_of(),
        InProgress | Closed | Rejected => {}
    }
    next
}

#[cfg(test)]
mod amend_tests;
#[cfg(test)]
mod tests;
