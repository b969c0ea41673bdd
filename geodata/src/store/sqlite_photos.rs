//! [`PhotoStore`] on SQLite, and [`attach_photos`] for the writes that
//! carry photos.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use super::photos::{
    PHOTO_COLUMNS, PhotoRow, PhotoStore, attached, check_photo_moderation, photo_audit,
    unknown_photo,
};
use super::sqlite_accounts::append_audit;
use crate::account::Actor;
use crate::error::Result;
use crate::issue::format_time;
use crate::moderation::Moderation;
use crate::photo::{NewPhoto, Photo, PhotoKey, PhotoOwner};

fn decode_photo(row: &SqliteRow) -> Result<Photo> {
    PhotoRow {
        id: row.try_get("id")?,
        sha256: row.try_get("sha256")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        issue_id: row.try_get("issue_id")?,
        event_id: row.try_get("event_id")?,
        comment_id: row.try_get("comment_id")?,
        kind: row.try_get("kind")?,
        hidden: row.try_get("hidden")?,
    }
    .decode()
}

async fn fetch_photo(conn: &mut SqliteConnection, id: i64) -> Result<Option<Photo>> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(decode_photo).transpose()
}

/// Attaches the pending photos named by `keys` to `owner`, inside the
/// caller's transaction (or savepoint), in the order given. A key that
/// names no pending photo (unknown, attached already, swept) is
/// `422 unknown_photo` and the caller's transaction must roll back: the
/// owner is never written with some of its photos missing.
///
/// Reports (`create_in`) and staff updates (`change_status`) call it;
/// comments call it with [`PhotoOwner::Comment`] once their row exists.
pub(crate) async fn attach_photos(
    conn: &mut SqliteConnection,
    keys: &[PhotoKey],
    owner: PhotoOwner,
    now: DateTime<Utc>,
) -> Result<()> {
    for (position, key) in keys.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        let updated = sqlx::query(
            "UPDATE photos SET issue_id = ?, event_id = ?, comment_id = ?, kind = ?, position = ?, attached_at = ?
             WHERE key_hash = ? AND issue_id IS NULL",
        )
        .bind(owner.issue_id())
        .bind(owner.event_id())
        .bind(owner.comment_id())
        .bind(owner.kind().as_str())
        .bind(position)
        .bind(format_time(now))
        .bind(key.hash())
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(unknown_photo());
        }
    }
    Ok(())
}

#[async_trait]
impl PhotoStore for SqliteStore {
    async fn insert_photo(&self, photo: &NewPhoto, now: DateTime<Utc>) -> Result<Photo> {
        let sql = format!(
            "INSERT INTO photos (key_hash, sha256, width, height, created_at) VALUES (?, ?, ?, ?, ?)
             RETURNING {PHOTO_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(photo.key.hash())
            .bind(&photo.sha256)
            .bind(i64::from(photo.width))
            .bind(i64::from(photo.height))
            .bind(format_time(now))
            .fetch_one(&self.pool)
            .await?;
        decode_photo(&row)
    }

    async fn photo(&self, id: i64) -> Result<Option<Photo>> {
        let mut conn = self.pool.acquire().await?;
        fetch_photo(&mut conn, id).await
    }

    async fn issue_photos(&self, issue_id: i64) -> Result<Vec<Photo>> {
        let sql = format!(
            "SELECT {PHOTO_COLUMNS} FROM photos p WHERE issue_id = ? AND hidden_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM issue_comments c WHERE c.id = p.comment_id AND c.hidden_at IS NOT NULL)
             ORDER BY attached_at, position, id"
        );
        let rows = sqlx::query(&sql)
            .bind(issue_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_photo).collect()
    }

    async fn photo_servable(&self, sha256: &str) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM photos p JOIN issues i ON i.id = p.issue_id
             WHERE p.sha256 = ? AND p.hidden_at IS NULL AND i.hidden_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM issue_comments c WHERE c.id = p.comment_id AND c.hidden_at IS NOT NULL) LIMIT 1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn moderate_photo(
        &self,
        photo_id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Photo> {
        // IMMEDIATE: the no-op check reads what no other writer can change
        // before this commits.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let photo = attached(fetch_photo(&mut tx, photo_id).await?, photo_id)?;
        let hide = check_photo_moderation(&photo, moderation)?;
        let update = if hide {
            sqlx::query("UPDATE photos SET hidden_at = ?, hidden_reason = ? WHERE id = ?")
                .bind(format_time(now))
                .bind(moderation.reason())
        } else {
            sqlx::query("UPDATE photos SET hidden_at = NULL, hidden_reason = NULL WHERE id = ?")
        };
        update.bind(photo_id).execute(&mut *tx).await?;
        append_audit(
            &mut tx,
            &photo_audit(&photo, hide, moderation.reason(), actor),
        )
        .await?;
        let stored = attached(fetch_photo(&mut tx, photo_id).await?, photo_id)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete_stale_photos(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM photos WHERE issue_id IS NULL AND created_at < ?")
            .bind(format_time(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }

    async fn photo_hashes(&self) -> Result<HashSet<String>> {
        let hashes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT sha256 FROM photos")
            .fetch_all(&self.pool)
            .await?;
        Ok(hashes.into_iter().collect())
    }
}
