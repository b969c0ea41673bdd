//! Residents' follow-up in storage: "me too" votes, comments and their
//! moderation, and the recent public history of a set of issues (what the
//! Atom feeds read). A trait of its own beside the workflow's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Actor, NewAuditEntry};
use crate::engage::{Comment, NewComment, VoterHash, comment_audit_action};
use crate::error::{Error, Result, ValidationError};
use crate::issue::Issue;
use crate::moderation::{Moderation, ModerationAction};
use crate::workflow::IssueEvent;

/// What a "me too" did.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteOutcome {
    /// The issue as stored after the vote.
    pub issue: Issue,
    /// False when this voter had already voted (nothing was written).
    pub counted: bool,
}

/// Follow-up storage; every write commits before it returns.
#[async_trait]
pub trait EngageStore: Send + Sync {
    /// Records `voter`'s "me too" on an issue and adds it to the issue's
    /// `votes`, in one transaction; a voter who already voted changes
    /// nothing (`counted: false`). [`Error::NotFound`] for an unknown or
    /// hidden issue.
    async fn vote(
        &self,
        issue_id: i64,
        voter: &VoterHash,
        now: DateTime<Utc>,
    ) -> Result<VoteOutcome>;

    /// Stores a comment on an issue (`author_user_id`: the signed-in
    /// account, private). [`Error::NotFound`] for an unknown or hidden
    /// issue.
    async fn add_comment(
        &self,
        issue_id: i64,
        comment: &NewComment,
        author_user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Comment>;

    /// One comment, hidden or not.
    async fn comment(&self, id: i64) -> Result<Option<Comment>>;

    /// An issue's comments that are not hidden, the newest `limit`, oldest
    /// first.
    async fn issue_comments(&self, issue_id: i64, limit: usize) -> Result<Vec<Comment>>;

    /// Hides or unhides a comment as `actor` with its audit entry, in one
    /// transaction; hiding a hidden comment is `already_hidden`, unhiding a
    /// visible one `not_hidden`. [`Error::NotFound`] for an unknown comment.
    async fn moderate_comment(
        &self,
        id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Comment>;

    /// The newest `limit` history events of `issue_ids`, newest first: the
    /// store half of a feed over an area (the ids come from the index).
    async fn recent_events(&self, issue_ids: &[i64], limit: usize) -> Result<Vec<IssueEvent>>;
}

/// The issue read inside a follow-up's transaction: [`Error::NotFound`]
/// unless it exists and is public (a hidden issue takes no votes or
/// comments, and says no more than an unknown one).
pub(super) fn public_issue(issue: Option<Issue>, id: i64) -> Result<Issue> {
    issue
        .filter(|issue| issue.hidden_at.is_none())
        .ok_or_else(|| Error::NotFound {
            what: "issue",
            id: id.to_string(),
        })
}

/// The comment read inside its moderation's transaction, checked: it must
/// exist, and the moderation must change it.
pub(super) fn check_comment_moderation(
    comment: Option<Comment>,
    id: i64,
    moderation: &Moderation,
) -> Result<Comment> {
    let comment = comment.ok_or_else(|| Error::NotFound {
        what: "comment",
        id: id.to_string(),
    })?;
    let refused = |code, message: &'static str| {
        Err(Error::Invalid(ValidationError::new(
            code, "action", message,
        )))
    };
    match moderation.action() {
        ModerationAction::Hide if comment.hidden_at.is_some() => {
            refused("already_hidden", "the comment is already hidden")
        }
        ModerationAction::Unhide if comment.hidden_at.is_none() => {
            refused("not_hidden", "the comment is not hidden")
        }
        _ => Ok(comment),
    }
}

/// The audit entry of a comment's moderation (the body stays out: the
/// comment row keeps it).
pub(super) fn comment_audit(
    comment: &Comment,
    moderation: &Moderation,
    actor: &Actor,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(actor.user_id),
        action: comment_audit_action(moderation),
        target: format!("comment:{}", comment.id),
        before: Some(serde_json::json!({
            "hidden": comment.hidden_at.is_some(),
            "issue_id": comment.issue_id,
        })),
        after: Some(serde_json::json!({
            "hidden": comment.hidden_at.is_none(),
            "reason": moderation.reason(),
        })),
    }
}

/// The columns of `issue_comments`, in the order both stores read them.
pub(super) const COMMENT_COLUMNS: &str =
    "id, issue_id, body, author_name, author_user_id, created_at, hidden_at";

/// At most this many ids per statement when reading events by issue id.
pub(super) const IDS_PER_QUERY: usize = 10_000;

/// `batches` of events (each newest first) merged into the newest `limit`.
pub(super) fn newest_events(batches: Vec<Vec<IssueEvent>>, limit: usize) -> Vec<IssueEvent> {
    let mut all: Vec<IssueEvent> = batches.into_iter().flatten().collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.id));
    all.truncate(limit);
    all
}
