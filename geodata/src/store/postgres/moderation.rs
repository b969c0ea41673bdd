//! [`ModerationStore`] on PostgreSQL: the issue row is locked (`FOR
//! UPDATE`) and `issue_updated` appended to the change log, so other servers
//! re-read the issue (and drop a hidden one from their index).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::accounts::append_audit;
use super::feed::record_changes;
use super::wire::millis;
use super::{PostgresStore, fetch_issue};
use crate::account::Actor;
use crate::error::Result;
use crate::issue::Issue;
use crate::layer::LayerName;
use crate::moderation::{Moderation, ModerationAction};
use crate::store::moderation::{ModerationStore, check_moderation, moderation_audit};
use crate::store::workflow::found;

#[async_trait]
impl ModerationStore for PostgresStore {
    async fn moderate_issue(
        &self,
        issue_id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Issue> {
        let now = millis(now);
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT id FROM issues WHERE id = $1 FOR UPDATE")
            .bind(issue_id)
            .execute(&mut *tx)
            .await?;
        let issue = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        check_moderation(&issue, moderation)?;
        let update = match moderation.action() {
            ModerationAction::Hide => {
                sqlx::query("UPDATE issues SET hidden_at = $1, hidden_reason = $2 WHERE id = $3")
                    .bind(now)
                    .bind(moderation.reason())
            }
            ModerationAction::Unhide => sqlx::query(
                "UPDATE issues SET hidden_at = NULL, hidden_reason = NULL WHERE id = $1",
            ),
            ModerationAction::Redact(text) => {
                sqlx::query("UPDATE issues SET description = $1, redacted_at = $2 WHERE id = $3")
                    .bind(text.as_str())
                    .bind(now)
            }
        };
        update.bind(issue_id).execute(&mut *tx).await?;
        append_audit(&mut tx, &moderation_audit(&issue, moderation, actor)).await?;
        record_changes(&mut tx, "issue_updated", LayerName::Issues, &[issue_id]).await?;
        let stored = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        tx.commit().await?;
        Ok(stored)
    }
}
