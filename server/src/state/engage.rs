//! The writes of residents' follow-up, through the same owner as every
//! other write: "me too" votes (the issue's count reaches the index, the
//! pyramid, the tiles, the row cache and live listeners through
//! [`AppState::issue_committed`]), comments, and their moderation.

use qala_geodata::account::{Actor, Role};
use qala_geodata::engage::{Comment, NewComment, VoterHash};
use qala_geodata::moderation::Moderation;
use qala_geodata::store::VoteOutcome;

use super::{AppState, WriteError, now_millis};

impl AppState {
    /// Records `voter`'s "me too" on an issue: the vote row and the issue's
    /// count in one transaction (a voter who already voted changes
    /// nothing: `counted: false`); then the issue's votes reach the index
    /// (the staff queue's `sort=votes`), the tiles (their `votes`
    /// property) and the caches. A hidden or unknown issue is `404`.
    /// Runs in a task of its own, like [`AppState::report_issue`].
    pub async fn vote(&self, issue_id: i64, voter: VoterHash) -> Result<VoteOutcome, WriteError> {
        let state = self.clone();
        let outcome = tokio::spawn(async move {
            let outcome = state.store.vote(issue_id, &voter, now_millis()).await?;
            if outcome.counted {
                state.issue_committed(&outcome.issue);
            }
            Ok::<_, qala_geodata::Error>(outcome)
        })
        .await??;
        Ok(outcome)
    }

    /// Stores a comment on a public issue (`author`: the signed-in
    /// account, kept privately), then hands it to
    /// [`AppState::comment_committed`]. Runs in a task of its own.
    pub async fn comment(
        &self,
        issue_id: i64,
        comment: NewComment,
        author: Option<i64>,
    ) -> Result<Comment, WriteError> {
        let state = self.clone();
        let stored = tokio::spawn(async move {
            let stored = state
                .store
                .add_comment(issue_id, &comment, author, now_millis())
                .await?;
            state.comment_committed(&stored);
            Ok::<_, qala_geodata::Error>(stored)
        })
        .await??;
        Ok(stored)
    }

    /// Hides or unhides a comment as `actor`: moderators whose scope covers
    /// the comment's issue, and admins (else [`WriteError::Forbidden`]).
    /// The store writes the comment and its audit entry in one transaction.
    pub async fn moderate_comment(
        &self,
        comment_id: i64,
        moderation: Moderation,
        actor: Actor,
    ) -> Result<Comment, WriteError> {
        if !matches!(actor.role, Role::Moderator | Role::Admin) {
            return Err(WriteError::Forbidden(format!(
                "a {} may not moderate comments",
                actor.role
            )));
        }
        let comment =
            self.store
                .comment(comment_id)
                .await?
                .ok_or_else(|| qala_geodata::Error::NotFound {
                    what: "comment",
                    id: comment_id.to_string(),
                })?;
        self.issue_in_scope(comment.issue_id, &actor).await?;
        let state = self.clone();
        let moderated = tokio::spawn(async move {
            let moderated = state
                .store
                .moderate_comment(comment_id, &moderation, &actor, now_millis())
                .await?;
            state.comment_committed(&moderated);
            Ok::<_, qala_geodata::Error>(moderated)
        })
        .await??;
        Ok(moderated)
    }

    /// Where every committed comment (new, hidden, unhidden) arrives: the
    /// hook for what follows a comment beyond the store, such as the live
    /// stream, which must send nothing for a comment whose `hidden_at` is
    /// set. The followers' mails are already in the outbox (the store
    /// queues them in the comment's transaction); feeds and histories read
    /// the store.
    pub fn comment_committed(&self, comment: &Comment) {
        tracing::debug!(
            comment = comment.id,
            issue = comment.issue_id,
            hidden = comment.hidden_at.is_some(),
            "comment committed"
        );
    }
}
