//! [`EngageStore`] on PostgreSQL, and the votes' part of a merge. A
//! counted vote appends `issue_updated` to the change log, so other
//! servers re-read the issue (its votes in their index and tiles).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::accounts::append_audit;
use super::feed::record_changes;
use super::wire::millis;
use super::workflow::decode_event;
use super::{PostgresStore, fetch_issue};
use crate::account::Actor;
use crate::engage::{Comment, NewComment, VoterHash};
use crate::error::{Error, Result};
use crate::issue::Issue;
use crate::layer::LayerName;
use crate::moderation::{Moderation, ModerationAction};
use crate::store::engage::{
    COMMENT_COLUMNS, EngageStore, IDS_PER_QUERY, VoteOutcome, check_comment_moderation,
    comment_audit, newest_events, public_issue,
};
use crate::store::workflow::{EVENT_COLUMNS, found};
use crate::workflow::IssueEvent;

fn decode_comment(row: &PgRow) -> Result<Comment> {
    Ok(Comment {
        id: row.try_get("id")?,
        issue_id: row.try_get("issue_id")?,
        body: row.try_get("body")?,
        author_name: row.try_get("author_name")?,
        author_user_id: row.try_get("author_user_id")?,
        created_at: row.try_get("created_at")?,
        hidden_at: row.try_get("hidden_at")?,
    })
}

async fn fetch_comment(conn: &mut PgConnection, id: i64, lock: bool) -> Result<Option<Comment>> {
    let sql = format!(
        "SELECT {COMMENT_COLUMNS} FROM issue_comments WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(decode_comment).transpose()
}

/// Inside a merge's transaction (both issues locked): `duplicate`'s
/// voters become `target_id`'s too (a voter of both counts once), and the
/// target's count grows by the duplicate's less the voters it already
/// had. Votes without a voter row (imported counts) carry over as they are.
pub(super) async fn merge_votes(
    conn: &mut PgConnection,
    duplicate: &Issue,
    target_id: i64,
) -> Result<()> {
    let shared: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM issue_votes d JOIN issue_votes t
           ON t.issue_id = $1 AND t.voter_hash = d.voter_hash WHERE d.issue_id = $2",
    )
    .bind(target_id)
    .bind(duplicate.id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO issue_votes (issue_id, voter_hash, created_at)
         SELECT $1, voter_hash, created_at FROM issue_votes WHERE issue_id = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(target_id)
    .bind(duplicate.id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE issues SET votes = votes + $1 WHERE id = $2")
        .bind((duplicate.votes - shared).max(0))
        .bind(target_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Locks an issue's row and reads it: it must be public.
async fn lock_public_issue(conn: &mut PgConnection, issue_id: i64) -> Result<Issue> {
    sqlx::query("SELECT id FROM issues WHERE id = $1 FOR UPDATE")
        .bind(issue_id)
        .execute(&mut *conn)
        .await?;
    public_issue(fetch_issue(conn, issue_id).await?, issue_id)
}

#[async_trait]
impl EngageStore for PostgresStore {
    async fn vote(
        &self,
        issue_id: i64,
        voter: &VoterHash,
        now: DateTime<Utc>,
    ) -> Result<VoteOutcome> {
        let mut tx = self.pool.begin().await?;
        lock_public_issue(&mut tx, issue_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO issue_votes (issue_id, voter_hash, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(issue_id)
        .bind(voter.as_str())
        .bind(millis(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let counted = inserted == 1;
        if counted {
            sqlx::query("UPDATE issues SET votes = votes + 1 WHERE id = $1")
                .bind(issue_id)
                .execute(&mut *tx)
                .await?;
            record_changes(&mut tx, "issue_updated", LayerName::Issues, &[issue_id]).await?;
        }
        let issue = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        tx.commit().await?;
        Ok(VoteOutcome { issue, counted })
    }

    async fn add_comment(
        &self,
        issue_id: i64,
        comment: &NewComment,
        author_user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Comment> {
        let mut tx = self.pool.begin().await?;
        // Key share: the issue cannot be hidden under this comment until it commits.
        sqlx::query("SELECT id FROM issues WHERE id = $1 FOR KEY SHARE")
            .bind(issue_id)
            .execute(&mut *tx)
            .await?;
        public_issue(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        let sql = format!(
            "INSERT INTO issue_comments (issue_id, body, author_name, author_user_id, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING {COMMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(issue_id)
            .bind(comment.body())
            .bind(comment.author_name())
            .bind(author_user_id)
            .bind(millis(now))
            .fetch_one(&mut *tx)
            .await?;
        let stored = decode_comment(&row)?;
        // In the comment's transaction: an unknown photo undoes the comment.
        super::photos::attach_photos(
            &mut tx,
            comment.photos(),
            crate::photo::PhotoOwner::Comment {
                issue_id,
                comment_id: stored.id,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn comment(&self, id: i64) -> Result<Option<Comment>> {
        let mut conn = self.pool.acquire().await?;
        fetch_comment(&mut conn, id, false).await
    }

    async fn issue_comments(&self, issue_id: i64, limit: usize) -> Result<Vec<Comment>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM issue_comments
             WHERE issue_id = $1 AND hidden_at IS NULL ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(issue_id)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let mut comments = rows
            .iter()
            .map(decode_comment)
            .collect::<Result<Vec<_>>>()?;
        comments.reverse();
        Ok(comments)
    }

    async fn moderate_comment(
        &self,
        id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Comment> {
        let mut tx = self.pool.begin().await?;
        let comment =
            check_comment_moderation(fetch_comment(&mut tx, id, true).await?, id, moderation)?;
        let update = match moderation.action() {
            ModerationAction::Unhide => sqlx::query(
                "UPDATE issue_comments SET hidden_at = NULL, hidden_reason = NULL WHERE id = $1",
            ),
            _ => sqlx::query(
                "UPDATE issue_comments SET hidden_at = $2, hidden_reason = $3 WHERE id = $1",
            ),
        };
        let update = match moderation.action() {
            ModerationAction::Unhide => update.bind(id),
            _ => update.bind(id).bind(millis(now)).bind(moderation.reason()),
        };
        update.execute(&mut *tx).await?;
        append_audit(&mut tx, &comment_audit(&comment, moderation, actor)).await?;
        let stored = fetch_comment(&mut tx, id, false).await?;
        tx.commit().await?;
        stored.ok_or_else(|| Error::NotFound {
            what: "comment",
            id: id.to_string(),
        })
    }

    async fn recent_events(&self, issue_ids: &[i64], limit: usize) -> Result<Vec<IssueEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM issue_events
             WHERE issue_id = ANY($1) ORDER BY id DESC LIMIT $2"
        );
        let mut batches = Vec::new();
        for chunk in issue_ids.chunks(IDS_PER_QUERY) {
            let rows = sqlx::query(&sql)
                .bind(chunk)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await?;
            batches.push(rows.iter().map(decode_event).collect::<Result<Vec<_>>>()?);
        }
        Ok(newest_events(batches, limit))
    }
}
