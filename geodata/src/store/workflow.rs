//! The status workflow's storage: departments and routing rules (city
//! data), changes to issues (status, re-route, correction) and the issue
//! history. A trait of its own, so that
//! other parts of the store (accounts) grow beside it without touching it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Actor, NewAuditEntry, action};
use crate::error::{Error, Result, ValidationError};
use crate::issue::Issue;
use crate::workflow::{Amendment, Department, EventActor, IssueChange, IssueEvent, RoutingRule};

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

    /// Changes an issue (status, department, category, location) in one
    /// transaction: the row is read locked (`FOR UPDATE`, or under SQLite's
    /// `BEGIN IMMEDIATE`), the amendment checked against it
    /// ([`Amendment::check`]: the row still as the server read it, the
    /// transition allowed), a department named explicitly checked against
    /// the departments table, the event and the audit entries written and
    /// the row updated; a duplicate's votes move to the issue it
    /// duplicates, which records the merge in its own history. Returns the
    /// updated issue and its new event. Nothing is written on error:
    /// [`Error::NotFound`] for an unknown issue, [`Error::Invalid`] for a
    /// change the workflow refuses.
    async fn change_status(
        &self,
        issue_id: i64,
        amendment: &Amendment,
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
                crate::workflow::unknown_department(rule.department())
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

/// The audit entries of a change, written by each backend's
/// `change_status` inside its transaction (so they commit or roll back with
/// the change): `issue.status_changed` when the status changed, and
/// `issue.corrected` when the category or location changed (with the
/// district and department, and the old position, which only the audit
/// keeps), else `issue.rerouted` when the department changed. The
/// internal note stays out: the event row keeps it, and the audit records
/// who moved what from where to where (`actor` is the user; none for the
/// reporter, whose entries say `"by": "reporter"`).
pub(crate) fn change_audits(
    before: &Issue,
    after: &Issue,
    change: &IssueChange,
    actor: Option<i64>,
) -> Vec<NewAuditEntry> {
    use serde_json::{Value, json};
    let entry = |action, state: &dyn Fn(&Issue) -> Value| {
        let mut after_json = state(after);
        if let Some(note) = change.note() {
            after_json["note"] = note.into();
        }
        if actor.is_none() {
            // No user: the reporter, through the private link.
            after_json["by"] = "reporter".into();
        }
        NewAuditEntry {
            actor,
            action,
            target: format!("issue:{}", before.id),
            before: Some(state(before)),
            after: Some(after_json),
        }
    };
    let mut entries = Vec::new();
    if before.status != after.status {
        entries.push(entry(action::ISSUE_STATUS_CHANGED, &|issue| {
            json!({
                "status": issue.status.as_str(),
                "assigned_department": issue.assigned_department,
                "duplicate_of": issue.duplicate_of,
            })
        }));
    }
    let corrected =
        before.category.code != after.category.code || before.location != after.location;
    if corrected {
        entries.push(entry(action::ISSUE_CORRECTED, &|issue| {
            json!({
                "category": issue.category.code,
                "location": {"lon": issue.location.lon(), "lat": issue.location.lat()},
                "district_id": issue.district_id,
                "assigned_department": issue.assigned_department,
            })
        }));
    } else if before.assigned_department != after.assigned_department {
        entries.push(entry(
            action::ISSUE_REROUTED,
            &|issue| json!({"assigned_department": issue.assigned_department}),
        ));
    }
    entries
}

/// An `issue_events` row to insert, the same for both stores.
pub(super) struct NewEvent<'a> {
    pub issue_id: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a EventActor,
    pub from_status: &'static str,
    pub to_status: &'static str,
    pub note: Option<&'a str>,
    pub internal_note: Option<&'a str>,
    pub duplicate_of: Option<i64>,
    /// Both `None` unless the department changed.
    pub from_department: Option<&'a str>,
    pub to_department: Option<&'a str>,
    /// Both `None` unless the category changed.
    pub from_category: Option<&'static str>,
    pub to_category: Option<&'static str>,
    pub moved: bool,
}

impl<'a> NewEvent<'a> {
    /// The event of `change` taking `before` to `after`.
    pub fn change(
        before: &'a Issue,
        after: &'a Issue,
        change: &'a IssueChange,
        actor: &'a EventActor,
        at: DateTime<Utc>,
    ) -> Self {
        let rerouted = before.assigned_department != after.assigned_department;
        let recategorised = before.category.code != after.category.code;
        Self {
            issue_id: before.id,
            at,
            actor,
            from_status: before.status.as_str(),
            to_status: after.status.as_str(),
            note: change.note(),
            internal_note: change.internal_note(),
            duplicate_of: change.duplicate_of(),
            from_department: before.assigned_department.as_deref().filter(|_| rerouted),
            to_department: after.assigned_department.as_deref().filter(|_| rerouted),
            from_category: recategorised.then_some(before.category.code),
            to_category: recategorised.then_some(after.category.code),
            moved: before.location != after.location,
        }
    }

    /// The event recording `duplicate` merged into `target`.
    pub fn merge(
        target: &'a Issue,
        duplicate: i64,
        actor: &'a EventActor,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            issue_id: target.id,
            at,
            actor,
            from_status: target.status.as_str(),
            to_status: target.status.as_str(),
            note: None,
            internal_note: None,
            duplicate_of: Some(duplicate),
            from_department: None,
            to_department: None,
            from_category: None,
            to_category: None,
            moved: false,
        }
    }
}

/// The columns of `issue_events`, in the order both stores insert and read them.
pub(super) const EVENT_COLUMNS: &str = "id, issue_id, at, actor_user_id, actor_role, actor_department, actor_name, from_status, to_status, note, internal_note, duplicate_of, from_department, to_department, from_category, to_category, moved";

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
    pub from_department: Option<String>,
    pub to_department: Option<String>,
    pub from_category: Option<String>,
    pub to_category: Option<String>,
    pub moved: bool,
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
            department_change: (self.from_department.is_some() || self.to_department.is_some())
                .then_some((self.from_department, self.to_department)),
            category_change: self.from_category.zip(self.to_category),
            moved: self.moved,
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
