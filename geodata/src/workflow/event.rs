//! A recorded status change and its public form.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::account::{Actor, Role};
use crate::issue::{IssueStatus, format_time};

/// Who made a change, as recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventActor {
    /// The user's id: private, for the audit and staff views only.
    pub user_id: Option<i64>,
    /// Their role.
    pub role: Role,
    /// The department they acted for, if they work for one.
    pub department: Option<String>,
    /// Their name, only if they opted in to be named publicly.
    pub name: Option<String>,
}

impl EventActor {
    /// How `actor` is recorded acting on an issue assigned to `assigned`:
    /// for that department if it is one of theirs, else their first.
    pub fn of(actor: &Actor, assigned: Option<&str>) -> Self {
        let department = assigned
            .filter(|a| actor.departments.iter().any(|d| d == a))
            .map(str::to_owned)
            .or_else(|| actor.departments.first().cloned());
        Self {
            user_id: Some(actor.user_id),
            role: actor.role,
            department,
            // A blank name is no name; the history keeps at most 200 characters.
            name: actor
                .public_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(200).collect()),
        }
    }
}

/// One entry of an issue's history: a status change, or (`from == to` with
/// `duplicate_of` set) another issue merged into this one as its duplicate,
/// where `duplicate_of` names that other issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueEvent {
    /// Event id (ascending in the order events were written).
    pub id: i64,
    /// The issue.
    pub issue_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: EventActor,
    /// Status before.
    pub from_status: IssueStatus,
    /// Status after.
    pub to_status: IssueStatus,
    /// Public note.
    pub note: Option<String>,
    /// Private note: never public.
    pub internal_note: Option<String>,
    /// For a change to `duplicate`: the issue this one duplicates; for a
    /// merge (`from == to`): the duplicate merged into this one.
    pub duplicate_of: Option<i64>,
}

impl IssueEvent {
    /// Whether this event records another issue merged into this one.
    pub fn is_merge(&self) -> bool {
        self.from_status == self.to_status && self.duplicate_of.is_some()
    }

    /// The public form: no internal note, no user id; who acted is their
    /// role, department and (only if they opted in) name.
    pub fn to_public_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "at": format_time(self.at),
            "by": {
                "role": self.actor.role.as_str(),
                "department": self.actor.department,
                "name": self.actor.name,
            },
        });
        if self.is_merge() {
            v["kind"] = json!("duplicate_merged");
            v["duplicate"] = json!(self.duplicate_of);
        } else {
            v["kind"] = json!("status_changed");
            v["from_status"] = json!(self.from_status.as_str());
            v["to_status"] = json!(self.to_status.as_str());
            v["note"] = json!(self.note);
            v["duplicate_of"] = json!(self.duplicate_of);
        }
        v
    }
}
