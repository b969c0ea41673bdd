//! The status workflow's storage: departments and routing rules (city
//! data), status changes and the issue history. A trait of its own, so that
//! other parts of the store (accounts) grow beside it without touching it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Actor, NewAuditEntry, action};
use crate::error::{Error, Result, ValidationError};
use crate::issue::Issue;
use crate::workflow::{Department, IssueEvent, RoutingRule, StatusChange};

/// Workflow storage; every method commits before it returns.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Replaces every department and routing rule in one transaction. Each
    /// rule must name one of `departments` (else `unknown_department`).
    async fn replace_departments(
        &self,
        departments: &[Department],
        rules: &[RoutingRule],
    ) -> Result<()>;

    /// Every department, by code.
    async fn departments(&self) -> Result<Vec<Department>>;

    /// Every routing rule.
    async fn routing_rules(&self) -> Result<Vec<RoutingRule>>;

    /// Changes an issue's status in one transaction: the row is read locked
    /// (`FOR UPDATE`, or under SQLite's `BEGIN IMMEDIATE`), the transition
    /// checked against it ([`crate::workflow::check_transition`]), the event
    /// written and the row updated; a duplicate's votes move to the issue
    /// it duplicates, which records the merge in its own history. Returns
    /// the updated issue and its new event. Nothing is written on error:
    /// [`Error::NotFound`] for an unknown issue, [`Error::Invalid`] for a
    /// transition the workflow refuses.
    async fn change_status(
        &self,
        issue_id: i64,
        change: &StatusChange,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Issue, IssueEvent)>;

    /// An issue's history, oldest first (empty for an unknown issue).
    async fn issue_events(&self, issue_id: i64) -> Result<Vec<IssueEvent>>;
}

/// Every rule names one of the departments.
pub(super) fn check_rules(departments: &[Department], rules: &[RoutingRule]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        if !departments.iter().any(|d| d.code() == rule.department()) {
            return Err(Error::Invalid(
                ValidationError::new(
                    "unknown_department",
                    "department",
                    format!("no department has the code {:?}", rule.department()),
                )
                .context(format_args!("routing rule {i}")),
            ));
        }
    }
    Ok(())
}

/// The row read inside the transaction, or [`Error::NotFound`].
pub(super) fn found(issue: Option<Issue>, id: i64) -> Result<Issue> {
    issue.ok_or_else(|| Error::NotFound {
        what: "issue",
        id: id.to_string(),
    })
}

/// The audit entry of a status change, written by each backend's
/// `change_status` inside its transaction (so it commits or rolls back with
/// the change). The internal note stays out: the event row keeps it, and
/// the audit records who moved what from where to where.
pub(crate) fn status_audit(
    before: &Issue,
    after: &Issue,
    change: &StatusChange,
    actor: &Actor,
) -> NewAuditEntry {
    let state = |issue: &Issue| {
        serde_json::json!({
            "status": issue.status.as_str(),
            "assigned_department": issue.assigned_department,
            "duplicate_of": issue.duplicate_of,
        })
    };
    let mut after_json = state(after);
    if let Some(note) = change.note() {
        after_json["note"] = note.into();
    }
    NewAuditEntry {
        actor: Some(actor.user_id),
        action: action::ISSUE_STATUS_CHANGED,
        target: format!("issue:{}", before.id),
        before: Some(state(before)),
        after: Some(after_json),
    }
}

/// The columns of an `issue_events` row, decoded the same way by both stores.
pub(super) struct EventRow {
    pub id: i64,
    pub issue_id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_role: String,
    pub actor_department: Option<String>,
    pub actor_name: Option<String>,
    pub from_status: String,
    pub to_status: String,
    pub note: Option<String>,
    pub internal_note: Option<String>,
    pub duplicate_of: Option<i64>,
}

impl EventRow {
    pub fn decode(self) -> Result<IssueEvent> {
        let corrupt = |e: ValidationError| Error::Corrupt(e.to_string());
        Ok(IssueEvent {
            id: self.id,
            issue_id: self.issue_id,
            at: self.at,
            actor: crate::workflow::EventActor {
                user_id: self.actor_user_id,
                role: crate::account::Role::parse(&self.actor_role).map_err(corrupt)?,
                department: self.actor_department,
                name: self.actor_name,
            },
            from_status: crate::issue::IssueStatus::parse(&self.from_status).map_err(corrupt)?,
            to_status: crate::issue::IssueStatus::parse(&self.to_status).map_err(corrupt)?,
            note: self.note,
            internal_note: self.internal_note,
            duplicate_of: self.duplicate_of,
        })
    }
}

/// A department row's columns into a [`Department`].
pub(super) fn decode_department(
    code: &str,
    kk: String,
    ru: String,
    en: String,
) -> Result<Department> {
    Department::new(code, crate::workflow::DepartmentNames { kk, ru, en })
        .map_err(|e| Error::Corrupt(e.to_string()))
}

/// A routing rule row's columns into a [`RoutingRule`].
pub(super) fn decode_rule(
    category: &str,
    district: Option<&str>,
    department: &str,
) -> Result<RoutingRule> {
    RoutingRule::new(category, district, department).map_err(|e| Error::Corrupt(e.to_string()))
}
