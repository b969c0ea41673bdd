//! Entries of the audit log: who did what to which record, with the record
//! before and after. The table is append-only in both databases (triggers
//! refuse UPDATE and DELETE), and every privileged write appends its entry in
//! its own transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who acted; `None` for the command line.
    pub actor: Option<i64>,
    /// What was done, e.g. `user.added`, `token.issued`.
    pub action: &'static str,
    /// To which record, e.g. `user:3`, `token:7`.
    pub target: String,
    /// The record before (never a secret).
    pub before: Option<Value>,
    /// The record after (never a secret).
    pub after: Option<Value>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The id, ascending in append order.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who acted; `None` for the command line.
    pub actor: Option<i64>,
    /// What was done.
    pub action: String,
    /// To which record.
    pub target: String,
    /// The record before.
    pub before: Option<Value>,
    /// The record after.
    pub after: Option<Value>,
}

/// Which entries to read: all filters must hold; ascending by id from after
/// `after_id`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor's entries.
    pub actor: Option<i64>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries with a greater id (paging).
    pub after_id: Option<i64>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// The actions the account store records.
pub mod action {
    /// A user was added.
    pub const USER_ADDED: &str = "user.added";
    /// A user was disabled or enabled.
    pub const USER_DISABLED: &str = "user.disabled";
    /// A user's role changed.
    pub const USER_ROLE_CHANGED: &str = "user.role_changed";
    /// A token was issued.
    pub const TOKEN_ISSUED: &str = "token.issued";
    /// A token was revoked.
    pub const TOKEN_REVOKED: &str = "token.revoked";
    /// A user's password was set (the hash is never recorded).
    pub const USER_PASSWORD_SET: &str = "user.password_set";
    /// A user signed in on the web (the session id is never recorded).
    pub const SESSION_LOGIN: &str = "session.login";
    /// A user signed out on the web.
    pub const SESSION_LOGOUT: &str = "session.logout";
    /// An issue's status changed (through the status workflow).
    pub const ISSUE_STATUS_CHANGED: &str = "issue.status_changed";
    /// A moderator hid an issue from every public output.
    pub const ISSUE_HIDDEN: &str = "issue.hidden";
    /// A moderator made a hidden issue public again.
    pub const ISSUE_UNHIDDEN: &str = "issue.unhidden";
    /// A moderator replaced an issue's public description.
    pub const ISSUE_REDACTED: &str = "issue.redacted";
    /// A moderator hid a photo.
    pub const PHOTO_HIDDEN: &str = "photo.hidden";
    /// A moderator made a hidden photo public again.
    pub const PHOTO_UNHIDDEN: &str = "photo.unhidden";
    /// Staff re-routed an issue to another department (with a public note).
    pub const ISSUE_REROUTED: &str = "issue.rerouted";
    /// Staff corrected an issue's category or location (district and
    /// department recomputed); `before` keeps the old position, which no
    /// public output shows.
    pub const ISSUE_CORRECTED: &str = "issue.corrected";
    /// A moderator hid a comment from every public output.
    pub const COMMENT_HIDDEN: &str = "comment.hidden";
    /// A moderator made a hidden comment public again.
    pub const COMMENT_UNHIDDEN: &str = "comment.unhidden";
}
