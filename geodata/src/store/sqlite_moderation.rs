//! [`ModerationStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::moderation::{ModerationStore, check_moderation, moderation_audit};
use super::sqlite::fetch_issue;
use super::sqlite_accounts::append_audit;
use super::workflow::found;
use crate::account::Actor;
use crate::error::Result;
use crate::issue::{Issue, format_time};
use crate::moderation::{Moderation, ModerationAction};

#[async_trait]
impl ModerationStore for SqliteStore {
    async fn moderate_issue(
        &self,
        issue_id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Issue> {
        // IMMEDIATE takes the write lock before the row is read: the check
        // sees the state no other writer can change until commit.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let issue = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        check_moderation(&issue, moderation)?;
        let update = match moderation.action() {
            ModerationAction::Hide => {
                sqlx::query("UPDATE issues SET hidden_at = ?, hidden_reason = ? WHERE id = ?")
                    .bind(format_time(now))
                    .bind(moderation.reason())
            }
            ModerationAction::Unhide => {
                sqlx::query("UPDATE issues SET hidden_at = NULL, hidden_reason = NULL WHERE id = ?")
            }
            ModerationAction::Redact(text) => {
                sqlx::query("UPDATE issues SET description = ?, redacted_at = ? WHERE id = ?")
                    .bind(text.as_str())
                    .bind(format_time(now))
            }
        };
        update.bind(issue_id).execute(&mut *tx).await?;
        append_audit(&mut tx, &moderation_audit(&issue, moderation, actor)).await?;
        let stored = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        tx.commit().await?;
        Ok(stored)
    }
}
