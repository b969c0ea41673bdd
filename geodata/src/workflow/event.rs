//! A recorded change (status, re-route, correction) and its public form.

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

impl EventActor {
    /// The reporter, acting through their private link: a resident with no
    /// account (residents make no other change, so the public history can
    /// say it was the reporter).
    pub fn reporter() -> Self {
        Self {
            user_id: None,
            role: Role::Resident,
            department: None,
            name: None,
        }
    }

    /// Whether this is the reporter through the private link.
    pub fn is_reporter(&self) -> bool {
        self.role == Role::Resident && self.user_id.is_none()
    }
}

/// One entry of an issue's history: a change of its status, department,
/// category or location (any of them, one event), or (`from == to` with
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
    /// The department before and after, when this event re-routed the issue.
    pub department_change: Option<(Option<String>, Option<String>)>,
    /// The category code before and after, when this event corrected it.
    pub category_change: Option<(String, String)>,
    /// Whether this event corrected the location. Where it was is kept
    /// only in the audit log: a resident's first pin may be their home.
    pub moved: bool,
}

impl IssueEvent {
    /// Whether this event records another issue merged into this one.
    pub fn is_merge(&self) -> bool {
        self.from_status == self.to_status && self.duplicate_of.is_some()
    }

    /// The kind the public form gives: `duplicate_merged`,
    /// `status_changed` when the status changed, else `rerouted` when only
    /// the department changed, else `corrected`.
    pub fn kind(&self) -> &'static str {
        if self.is_merge() {
            "duplicate_merged"
        } else if self.from_status != self.to_status {
            "status_changed"
        } else if self.category_change.is_none() && !self.moved {
            "rerouted"
        } else {
            "corrected"
        }
    }

    /// The public form: no internal note, no user id, no old position; who
    /// acted is their role, department and (only if they opted in) name.
    /// `department` (`{"from", "to"}`), `category` (`{"from", "to"}`) and
    /// `moved: true` appear only when they changed.
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
        if self.actor.is_reporter() {
            v["by"]["reporter"] = json!(true);
        }
        v["kind"] = json!(self.kind());
        if self.is_merge() {
            v["duplicate"] = json!(self.duplicate_of);
            return v;
        }
        v["from_status"] = json!(self.from_status.as_str());
        v["to_status"] = json!(self.to_status.as_str());
        v["note"] = json!(self.note);
        v["duplicate_of"] = json!(self.duplicate_of);
        if let Some((from, to)) = &self.department_change {
            v["department"] = json!({"from": from, "to": to});
        }
        if let Some((from, to)) = &self.category_change {
            v["category"] = json!({"from": from, "to": to});
        }
        if self.moved {
            v["moved"] = json!(true);
        }
        v
    }
}
