//! [`AccountStore`] on SQLite. Times are RFC 3339 text, as for issues.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::accounts::{
    AccountStore, SessionActor, email_taken, scope_required, session_entry, token_entry,
    token_is_live, user_entry,
};
use super::rows::decode_time;
use super::sqlite::SqliteStore;
use crate::account::{
    Actor, ApiToken, AuditEntry, AuditFilter, NewAuditEntry, NewUser, Role, TokenHash, User, action,
};
use crate::error::{Error, Result};
use crate::issue::format_time;

const USER_COLUMNS: &str = "id, email, display_name, show_name, role, disabled, created_at";
const TOKEN_COLUMNS: &str = "id, user_id, label, created_at, expires_at, revoked_at";

/// Appends one entry to the audit log inside the caller's transaction, so
/// the entry commits or rolls back with the change it describes. Every
/// privileged write on SQLite goes through here (status changes too, later).
pub(crate) async fn append_audit(
    conn: &mut SqliteConnection,
    entry: &NewAuditEntry,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor_id, action, target, before_json, after_json)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(format_time(Utc::now()))
    .bind(entry.actor)
    .bind(entry.action)
    .bind(&entry.target)
    .bind(entry.before.as_ref().map(ToString::to_string))
    .bind(entry.after.as_ref().map(ToString::to_string))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

fn optional_time(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<&str>, _>(column)?
        .map(decode_time)
        .transpose()
}

fn decode_token(row: &SqliteRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        label: row.try_get("label")?,
        created_at: decode_time(row.try_get("created_at")?)?,
        expires_at: optional_time(row, "expires_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
    })
}

fn decode_role(s: &str) -> Result<Role> {
    Role::parse(s).map_err(|e| Error::Corrupt(e.to_string()))
}

fn parse_json(text: Option<String>) -> Result<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Corrupt(e.to_string())))
        .transpose()
}

/// A user row and their scopes.
async fn decode_user(conn: &mut SqliteConnection, row: &SqliteRow) -> Result<User> {
    let id: i64 = row.try_get("id")?;
    let scopes = sqlx::query(
        "SELECT department, district_id FROM user_scopes WHERE user_id = ? ORDER BY department, district_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut departments = Vec::new();
    let mut districts = Vec::new();
    for scope in &scopes {
        if let Some(d) = scope.try_get::<Option<String>, _>("department")? {
            departments.push(d);
        }
        if let Some(d) = scope.try_get::<Option<i64>, _>("district_id")? {
            districts.push(d);
        }
    }
    Ok(User {
        id,
        email: row.try_get("email")?,
        role: decode_role(row.try_get("role")?)?,
        departments,
        districts,
        display_name: row.try_get("display_name")?,
        show_name: row.try_get("show_name")?,
        disabled: row.try_get("disabled")?,
        created_at: decode_time(row.try_get("created_at")?)?,
    })
}

async fn fetch_user(conn: &mut SqliteConnection, id: i64) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "user",
            id: id.to_string(),
        })?;
    decode_user(conn, &row).await
}

async fn fetch_token(conn: &mut SqliteConnection, id: i64) -> Result<ApiToken> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "token",
            id: id.to_string(),
        })?;
    decode_token(&row)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: &NewUser, by: Option<i64>) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, display_name, show_name, role, disabled, created_at)
             VALUES (?, ?, ?, ?, 0, ?) RETURNING id",
        )
        .bind(user.email())
        .bind(user.display_name())
        .bind(user.show_name())
        .bind(user.role().as_str())
        .bind(format_time(Utc::now()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                email_taken(user.email())
            } else {
                e.into()
            }
        })?;
        for department in user.departments() {
            sqlx::query("INSERT INTO user_scopes (user_id, department) VALUES (?, ?)")
                .bind(id)
                .bind(department)
                .execute(&mut *tx)
                .await?;
        }
        for district in user.districts() {
            sqlx::query("INSERT INTO user_scopes (user_id, district_id) VALUES (?, ?)")
                .bind(id)
                .bind(district)
                .execute(&mut *tx)
                .await?;
        }
        let stored = fetch_user(&mut tx, id).await?;
        append_audit(&mut tx, &user_entry(action::USER_ADDED, by, None, &stored)).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn users(&self) -> Result<Vec<User>> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(decode_user(&mut conn, row).await?);
        }
        Ok(users)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = ?");
        let row = sqlx::query(&sql)
            // Lower-cased as stored (SQLite's lower() knows ASCII only).
            .bind(email.trim().to_lowercase())
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => Ok(Some(decode_user(&mut conn, &row).await?)),
            None => Ok(None),
        }
    }

    async fn set_disabled(&self, user_id: i64, disabled: bool, by: Option<i64>) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = fetch_user(&mut tx, user_id).await?;
        if before.disabled == disabled {
            return Ok(before);
        }
        sqlx::query("UPDATE users SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let after = fetch_user(&mut tx, user_id).await?;
        if disabled {
            revoke_all_sessions(&mut tx, user_id).await?;
        }
        let entry = user_entry(action::USER_DISABLED, by, Some(&before), &after);
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_role(&self, user_id: i64, role: Role, by: Option<i64>) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = fetch_user(&mut tx, user_id).await?;
        if before.role == role {
            return Ok(before);
        }
        let has_scopes = !before.departments.is_empty() || !before.districts.is_empty();
        if role.is_scoped() && !has_scopes {
            return Err(scope_required(role));
        }
        if !role.is_scoped() {
            sqlx::query("DELETE FROM user_scopes WHERE user_id = ?")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let after = fetch_user(&mut tx, user_id).await?;
        let entry = user_entry(action::USER_ROLE_CHANGED, by, Some(&before), &after);
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &TokenHash,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
        by: Option<i64>,
    ) -> Result<ApiToken> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        fetch_user(&mut tx, user_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, token_hash, label, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(user_id)
        .bind(token_hash.as_str())
        .bind(label)
        .bind(format_time(Utc::now()))
        .bind(expires_at.map(format_time))
        .fetch_one(&mut *tx)
        .await?;
        let token = fetch_token(&mut tx, id).await?;
        append_audit(
            &mut tx,
            &token_entry(action::TOKEN_ISSUED, by, None, &token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn revoke_token(&self, token_id: i64, by: Option<i64>) -> Result<ApiToken> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = fetch_token(&mut tx, token_id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ?")
            .bind(format_time(Utc::now()))
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        let after = fetch_token(&mut tx, token_id).await?;
        let entry = token_entry(action::TOKEN_REVOKED, by, Some(&before), &after);
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_token).collect()
    }

    async fn actor_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Actor>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT t.token_hash, t.expires_at, t.revoked_at, u.id, u.email, u.display_name,
                    u.show_name, u.role, u.disabled, u.created_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?",
        )
        .bind(token_hash.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored = TokenHash::from_stored(row.try_get("token_hash")?);
        let live = token_is_live(
            optional_time(&row, "expires_at")?,
            optional_time(&row, "revoked_at")?,
            row.try_get("disabled")?,
            now,
        );
        if !token_hash.matches(stored.as_str()) || !live {
            return Ok(None);
        }
        Ok(Some(decode_user(&mut conn, &row).await?.actor()))
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut builder = sqlx::QueryBuilder::new(
            "SELECT id, at, actor_id, action, target, before_json, after_json FROM audit_log WHERE 1 = 1",
        );
        if let Some(a) = &filter.action {
            builder.push(" AND action = ").push_bind(a.clone());
        }
        if let Some(a) = filter.actor {
            builder.push(" AND actor_id = ").push_bind(a);
        }
        if let Some(t) = filter.since {
            builder.push(" AND at >= ").push_bind(format_time(t));
        }
        if let Some(id) = filter.after_id {
            builder.push(" AND id > ").push_bind(id);
        }
        builder.push(" ORDER BY id");
        if filter.limit > 0 {
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            builder.push(" LIMIT ").push_bind(limit);
        }
        let rows = builder.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: decode_time(row.try_get("at")?)?,
                    actor: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    before: parse_json(row.try_get("before_json")?)?,
                    after: parse_json(row.try_get("after_json")?)?,
                })
            })
            .collect()
    }

    async fn set_password(&self, user_id: i64, phc: &str, by: Option<i64>) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user = fetch_user(&mut tx, user_id).await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(phc)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let entry = NewAuditEntry {
            actor: by,
            action: action::USER_PASSWORD_SET,
            target: format!("user:{}", user.id),
            before: None,
            after: None,
        };
        append_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login_candidate(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(email) = ?");
        let row = sqlx::query(&sql)
            .bind(email.trim().to_lowercase())
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => {
                let hash: Option<String> = row.try_get("password_hash")?;
                Ok(Some((decode_user(&mut conn, &row).await?, hash)))
            }
            None => Ok(None),
        }
    }

    async fn create_session(
        &self,
        user_id: i64,
        session: &TokenHash,
        csrf: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(session.as_str())
        .bind(user_id)
        .bind(csrf.as_str())
        .bind(format_time(Utc::now()))
        .bind(format_time(expires_at))
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, &session_entry(action::SESSION_LOGIN, user_id)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn actor_by_session(
        &self,
        session: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionActor>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT s.id_hash, s.csrf_hash, s.expires_at, s.revoked_at, u.id, u.email,
                    u.display_name, u.show_name, u.role, u.disabled, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = ?",
        )
        .bind(session.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored = TokenHash::from_stored(row.try_get("id_hash")?);
        let live = token_is_live(
            optional_time(&row, "expires_at")?,
            optional_time(&row, "revoked_at")?,
            row.try_get("disabled")?,
            now,
        );
        if !session.matches(stored.as_str()) || !live {
            return Ok(None);
        }
        let csrf_hash = TokenHash::from_stored(row.try_get("csrf_hash")?);
        let actor = decode_user(&mut conn, &row).await?.actor();
        Ok(Some(SessionActor { actor, csrf_hash }))
    }

    async fn revoke_session(&self, session: &TokenHash) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user_id: Option<i64> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = ?
             WHERE id_hash = ? AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(format_time(Utc::now()))
        .bind(session.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            return Ok(false);
        };
        append_audit(&mut tx, &session_entry(action::SESSION_LOGOUT, user_id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_sessions_of(&self, user_id: i64) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        revoke_all_sessions(&mut conn, user_id).await
    }
}

/// Revokes every live session of a user, inside the caller's transaction
/// when there is one (disabling a user).
async fn revoke_all_sessions(conn: &mut SqliteConnection, user_id: i64) -> Result<u64> {
    let done =
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(format_time(Utc::now()))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}
