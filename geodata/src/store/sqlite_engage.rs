//! [`EngageStore`] on SQLite, and the votes' part of a merge.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::engage::{
    COMMENT_COLUMNS, EngageStore, IDS_PER_QUERY, VoteOutcome, check_comment_moderation,
    comment_audit, newest_events, public_issue,
};
use super::rows::decode_time;
use super::sqlite::fetch_issue;
use super::sqlite_accounts::append_audit;
use super::sqlite_workflow::decode_event;
use super::workflow::{EVENT_COLUMNS, found};
use crate::account::Actor;
use crate::engage::{Comment, NewComment, VoterHash};
use crate::error::Result;
use crate::issue::{Issue, format_time};
use crate::moderation::{Moderation, ModerationAction};
use crate::workflow::IssueEvent;

fn decode_comment(row: &SqliteRow) -> Result<Comment> {
    Ok(Comment {
        id: row.try_get("id")?,
        issue_id: row.try_get("issue_id")?,
        body: row.try_get("body")?,
        author_name: row.try_get("author_name")?,
        author_user_id: row.try_get("author_user_id")?,
        created_at: decode_time(row.try_get("created_at")?)?,
        hidden_at: row
            .try_get::<Option<&str>, _>("hidden_at")?
            .map(decode_time)
            .transpose()?,
    })
}

async fn fetch_comment(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<Option<Comment>> {
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM issue_comments WHERE id = ?");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(decode_comment).transpose()
}

/// Inside a merge's transaction: `duplicate`'s voters become `target_id`'s
/// too (a voter of both counts once), and the target's count grows by the
/// duplicate's less the voters it already had. Votes without a voter row
/// (imported counts) carry over as they are.
pub(super) async fn merge_votes(
    conn: &mut sqlx::SqliteConnection,
    duplicate: &Issue,
    target_id: i64,
) -> Result<()> {
    let shared: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM issue_votes d JOIN issue_votes t
           ON t.issue_id = ? AND t.voter_hash = d.voter_hash WHERE d.issue_id = ?",
    )
    .bind(target_id)
    .bind(duplicate.id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO issue_votes (issue_id, voter_hash, created_at)
         SELECT ?, voter_hash, created_at FROM issue_votes WHERE issue_id = ?
         ON CONFLICT DO NOTHING",
    )
    .bind(target_id)
    .bind(duplicate.id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE issues SET votes = votes + ? WHERE id = ?")
        .bind((duplicate.votes - shared).max(0))
        .bind(target_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl EngageStore for SqliteStore {
    async fn vote(
        &self,
        issue_id: i64,
        voter: &VoterHash,
        now: DateTime<Utc>,
    ) -> Result<VoteOutcome> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        public_issue(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        let inserted = sqlx::query(
            "INSERT INTO issue_votes (issue_id, voter_hash, created_at) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(issue_id)
        .bind(voter.as_str())
        .bind(format_time(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let counted = inserted == 1;
        if counted {
            sqlx::query("UPDATE issues SET votes = votes + 1 WHERE id = ?")
                .bind(issue_id)
                .execute(&mut *tx)
                .await?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        public_issue(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        let sql = format!(
            "INSERT INTO issue_comments (issue_id, body, author_name, author_user_id, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING {COMMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(issue_id)
            .bind(comment.body())
            .bind(comment.author_name())
            .bind(author_user_id)
            .bind(format_time(now))
            .fetch_one(&mut *tx)
            .await?;
        let stored = decode_comment(&row)?;
        // In the comment's transaction: an unknown photo undoes the comment.
        super::sqlite_photos::attach_photos(
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
        fetch_comment(&mut conn, id).await
    }

    async fn issue_comments(&self, issue_id: i64, limit: usize) -> Result<Vec<Comment>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM issue_comments
             WHERE issue_id = ? AND hidden_at IS NULL ORDER BY id DESC LIMIT ?"
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let comment = check_comment_moderation(fetch_comment(&mut tx, id).await?, id, moderation)?;
        let update = match moderation.action() {
            ModerationAction::Unhide => sqlx::query(
                "UPDATE issue_comments SET hidden_at = NULL, hidden_reason = NULL WHERE id = ?",
            ),
            _ => sqlx::query(
                "UPDATE issue_comments SET hidden_at = ?, hidden_reason = ? WHERE id = ?",
            )
            .bind(format_time(now))
            .bind(moderation.reason()),
        };
        update.bind(id).execute(&mut *tx).await?;
        append_audit(&mut tx, &comment_audit(&comment, moderation, actor)).await?;
        let stored = fetch_comment(&mut tx, id).await?;
        tx.commit().await?;
        stored.ok_or_else(|| crate::Error::NotFound {
            what: "comment",
            id: id.to_string(),
        })
    }

    async fn recent_events(&self, issue_ids: &[i64], limit: usize) -> Result<Vec<IssueEvent>> {
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut batches = Vec::new();
        for chunk in issue_ids.chunks(IDS_PER_QUERY) {
            // One JSON array parameter: SQLite's bound-parameter limit is
            // far below a district's issues.
            let ids =
                serde_json::to_string(chunk).map_err(|e| crate::Error::Corrupt(e.to_string()))?;
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM issue_events
                 WHERE issue_id IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT ?"
            );
            let rows = sqlx::query(&sql)
                .bind(ids)
                .bind(limit_sql)
                .fetch_all(&self.pool)
                .await?;
            batches.push(rows.iter().map(decode_event).collect::<Result<Vec<_>>>()?);
        }
        Ok(newest_events(batches, limit))
    }
}
