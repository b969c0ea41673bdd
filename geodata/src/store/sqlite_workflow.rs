//! [`WorkflowStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::mail::{ChangedBy, tells_followers, update_data};
use super::rows::decode_time;
use super::sqlite::fetch_issue;
use super::sqlite_accounts::append_audit;
use super::sqlite_engage::merge_votes;
use super::sqlite_mail::notify_issue_followers;
use super::workflow::{
    EVENT_COLUMNS, EventRow, NewEvent, WorkflowStore, change_audits, check_rules,
    decode_department, decode_rule, found,
};
use crate::account::Actor;
use crate::error::Result;
use crate::issue::{Issue, format_time};
use crate::mail::MailKind;
use crate::workflow::{Amendment, Department, IssueEvent, RoutingRule, unknown_department};

pub(super) fn decode_event(row: &SqliteRow) -> Result<IssueEvent> {
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
        from_department: row.try_get("from_department")?,
        to_department: row.try_get("to_department")?,
        from_category: row.try_get("from_category")?,
        to_category: row.try_get("to_category")?,
        moved: row.try_get("moved")?,
    }
    .decode()
}

/// Writes an event; returns it as stored.
async fn insert_event(conn: &mut sqlx::SqliteConnection, e: &NewEvent<'_>) -> Result<IssueEvent> {
    let sql = format!(
        "INSERT INTO issue_events (issue_id, at, actor_user_id, actor_role, actor_department, actor_name, from_status, to_status, note, internal_note, duplicate_of, from_department, to_department, from_category, to_category, moved)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {EVENT_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(e.issue_id)
        .bind(format_time(e.at))
        .bind(e.actor.user_id)
        .bind(e.actor.role.as_str())
        .bind(e.actor.department.as_deref())
        .bind(e.actor.name.as_deref())
        .bind(e.from_status)
        .bind(e.to_status)
        .bind(e.note)
        .bind(e.internal_note)
        .bind(e.duplicate_of)
        .bind(e.from_department)
        .bind(e.to_department)
        .bind(e.from_category)
        .bind(e.to_category)
        .bind(e.moved)
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
        amendment: &Amendment,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Issue, IssueEvent)> {
        change(self, issue_id, amendment, ChangedBy::User(actor), now).await
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

/// A change in one transaction, by a user or by the reporter: the one
/// body of [`WorkflowStore::change_status`] and
/// [`super::MailStore::change_as_reporter`].
pub(super) async fn change(
    store: &SqliteStore,
    issue_id: i64,
    amendment: &Amendment,
    by: ChangedBy<'_>,
    now: DateTime<Utc>,
) -> Result<(Issue, IssueEvent)> {
    let change = amendment.change();
    // IMMEDIATE takes the write lock before the row is read: the check
    // below sees the row no other writer can change until commit.
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let issue = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
    let target = match change.duplicate_of() {
        Some(id) => fetch_issue(&mut tx, id).await?,
        None => None,
    };
    let next = amendment.check(&issue, target.as_ref(), now)?;
    if let Some(code) = change.department() {
        let known = sqlx::query("SELECT 1 FROM departments WHERE code = ?")
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(unknown_department(code).into());
        }
    }
    let who = by.event_actor(issue.assigned_department.as_deref());
    let event = insert_event(&mut tx, &NewEvent::change(&issue, &next, change, &who, now)).await?;
    // Before and after pictures, in the change's transaction.
    super::sqlite_photos::attach_photos(
        &mut tx,
        change.photos(),
        crate::photo::PhotoOwner::Update {
            issue_id,
            event_id: event.id,
        },
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE issues SET status = ?, updated_at = ?, acknowledged_at = ?, resolved_at = ?, duplicate_of = ?,
             category = ?, lon = ?, lat = ?, district_id = ?, assigned_department = ? WHERE id = ?",
    )
    .bind(next.status.as_str())
    .bind(format_time(next.updated_at))
    .bind(next.acknowledged_at.map(format_time))
    .bind(next.resolved_at.map(format_time))
    .bind(next.duplicate_of)
    .bind(next.category.code)
    .bind(next.location.lon())
    .bind(next.location.lat())
    .bind(next.district_id)
    .bind(next.assigned_department.as_deref())
    .bind(issue_id)
    .execute(&mut *tx)
    .await?;
    if let Some(target) = target.filter(|_| change.duplicate_of().is_some()) {
        // The duplicate's supporters now support the issue it duplicates
        // (each voter once), whose history records the merge.
        merge_votes(&mut tx, &issue, target.id).await?;
        sqlx::query("UPDATE issues SET updated_at = max(updated_at, ?) WHERE id = ?")
            .bind(format_time(now))
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        insert_event(&mut tx, &NewEvent::merge(&target, issue_id, &who, now)).await?;
    }
    for entry in change_audits(&issue, &next, change, by.user_id()) {
        append_audit(&mut tx, &entry).await?;
    }
    if tells_followers(&issue, &next, change) {
        let data = update_data(&issue, &next, change);
        notify_issue_followers(&mut tx, issue_id, MailKind::IssueUpdate, &data, now).await?;
    }
    let stored = found(fetch_issue(&mut tx, issue_id).await?, issue_id)?;
    tx.commit().await?;
    Ok((stored, event))
}
