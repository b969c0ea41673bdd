//! [`WorkflowStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::rows::decode_time;
use super::sqlite::fetch_issue;
use super::sqlite_accounts::append_audit;
use super::workflow::{
    EventRow, WorkflowStore, check_rules, decode_department, decode_rule, found, status_audit,
};
use crate::account::Actor;
use crate::error::Result;
use crate::issue::{Issue, format_time};
use crate::workflow::{
    Department, EventActor, IssueEvent, RoutingRule, StatusChange, apply, check_transition,
};

const EVENT_COLUMNS: &str = "id, issue_id, at, actor_user_id, actor_role, actor_department, actor_name, from_status, to_status, note, internal_note, duplicate_of";

fn decode_event(row: &SqliteRow) -> Result<IssueEvent> {
    EventRow {
        id: row.try_get("id")?,
        issue_id: row.try_get("issue_id")?,
        at: decode_time(row.try_get("at")?)?,
        actor_user_id: row.try_get("actor_user_id")?,
        actor_role: row.try_get("actor_role")?,
        actor_department: row.try_get("actor_department")?,
        actor_name: row.try_get("actor_name")?,
        from_status: row.try_get("from_status")?,
        to_status: row.try_get("to_status")?,
        note: row.try_get("note")?,
        internal_note: row.try_get("internal_note")?,
        duplicate_of: row.try_get("duplicate_of")?,
    }
    .decode()
}

/// Writes an event; returns it as stored.
#[allow(clippy::too_many_arguments)]
async fn insert_event(
    conn: &mut sqlx::SqliteConnection,
    issue: &Issue,
    next: &Issue,
    actor: &EventActor,
    note: Option<&str>,
    internal_note: Option<&str>,
    duplicate_of: Option<i64>,
    at: DateTime<Utc>,
) -> Result<IssueEvent> {
    let sql = format!(
        "INSERT INTO issue_events (issue_id, at, actor_user_id, actor_role, actor_department, actor_name, from_status, to_status, note, internal_note, duplicate_of)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {EVENT_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(issue.id)
        .bind(format_time(at))
        .bind(actor.user_id)
        .bind(actor.role.as_str())
        .bind(actor.department.as_deref())
        .bind(actor.name.as_deref())
        .bind(issue.status.as_str())
        .bind(next.status.as_str())
        .bind(note)
        .bind(internal_note)
        .bind(duplicate_of)
        .fetch_one(&mut *conn)
        .await?;
    decode_event(&row)
}

#[async_trait]
impl WorkflowStore for SqliteStore {
    async fn replace_departments(
        &self,
        departments: &[Department],
        rules: &[RoutingRule],
    ) -> Result<()> {
        check_rules(departments, rules)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM routing_rules")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM departments")
            .execute(&mut *tx)
            .await?;
        for d in departments {
            sqlx::query(
                "INSERT INTO departments (code, name_kk, name_ru, name_en) VALUES (?, ?, ?, ?)",
            )
            .bind(d.code())
            .bind(&d.names().kk)
            .bind(&d.names().ru)
            .bind(&d.names().en)
            .execute(&mut *tx)
            .await?;
        }
        for r in rules {
            sqlx::query(
                "INSERT INTO routing_rules (category, district_code, department) VALUES (?, ?, ?)",
            )
            .bind(r.category())
            .bind(r.district_code())
            .bind(r.department())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn departments(&self) -> Result<Vec<Department>> {
        let rows =
            sqlx::query("SELECT code, name_kk, name_ru, name_en FROM departments ORDER BY code")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                decode_department(
                    row.try_get("code")?,
                    row.try_get("name_kk")?,
                    row.try_get("name_ru")?,
                    row.try_get("name_en")?,
                )
            })
            .collect()
    }

    async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
        let rows = sqlx::query("SELECT category, district_code, department FROM routing_rules ORDER BY category, district_code")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                decode_rule(
                    row.try_get("category")?,
                    row.try_get("district_code")?,
                    row.try_get("department")?,
                )
            })
            .collect()
    }

    async fn change_status(
        &self,
        issue_id: i64,
        change: &StatusChange,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Issue, IssueEvent)> {
        // IMMEDIATE takes the write lock before the row is read: the check
        // below sees the status no other writer can change until commit.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let issue = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        let target = match change.duplicate_of() {
            Some(id) => fetch_issue(&mut tx, id).await?,
            None => None,
        };
        check_transition(&issue, change, target.as_ref(), now)?;
        let next = apply(&issue, change, now);
        let who = EventActor::of(actor, issue.assigned_department.as_deref());
        let event = insert_event(
            &mut tx,
            &issue,
            &next,
            &who,
            change.note(),
            change.internal_note(),
            change.duplicate_of(),
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE issues SET status = ?, updated_at = ?, acknowledged_at = ?, resolved_at = ?, duplicate_of = ? WHERE id = ?",
        )
        .bind(next.status.as_str())
        .bind(format_time(next.updated_at))
        .bind(next.acknowledged_at.map(format_time))
        .bind(next.resolved_at.map(format_time))
        .bind(next.duplicate_of)
        .bind(issue_id)
        .execute(&mut *tx)
        .await?;
        if let Some(target) = target.filter(|_| change.duplicate_of().is_some()) {
            // The duplicate's supporters now support the issue it duplicates,
            // whose history records the merge.
            sqlx::query(
                "UPDATE issues SET votes = votes + ?, updated_at = max(updated_at, ?) WHERE id = ?",
            )
            .bind(issue.votes)
            .bind(format_time(now))
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
            insert_event(
                &mut tx,
                &target,
                &target,
                &who,
                None,
                None,
                Some(issue_id),
                now,
            )
            .await?;
        }
        append_audit(&mut tx, &status_audit(&issue, &next, change, actor)).await?;
        let stored = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
        tx.commit().await?;
        Ok((stored, event))
    }

    async fn issue_events(&self, issue_id: i64) -> Result<Vec<IssueEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM issue_events WHERE issue_id = ? ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(issue_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_event).collect()
    }
}
