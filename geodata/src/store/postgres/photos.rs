//! [`PhotoStore`] on PostgreSQL, and [`attach_photos`] for the writes that
//! carry photos. Photos change no issue's place or index entry, so they
//! append nothing to the change log: every server reads them from here.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::PostgresStore;
use super::accounts::append_audit;
use super::wire::{check_text, millis};
use crate::account::Actor;
use crate::error::Result;
use crate::moderation::Moderation;
use crate::photo::{NewPhoto, Photo, PhotoKey, PhotoOwner};
use crate::store::photos::{
    PHOTO_COLUMNS, PhotoRow, PhotoStore, attached, check_photo_moderation, photo_audit,
    unknown_photo,
};

fn decode_photo(row: &PgRow) -> Result<Photo> {
    PhotoRow {
        id: row.try_get("id")?,
        sha256: row.try_get("sha256")?,
        width: i64::from(row.try_get::<i32, _>("width")?),
        height: i64::from(row.try_get::<i32, _>("height")?),
        issue_id: row.try_get("issue_id")?,
        event_id: row.try_get("event_id")?,
        comment_id: row.try_get("comment_id")?,
        kind: row.try_get("kind")?,
        hidden: row.try_get("hidden")?,
    }
    .decode()
}

async fn fetch_photo(conn: &mut PgConnection, id: i64, lock: bool) -> Result<Option<Photo>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = $1{lock}");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(decode_photo).transpose()
}

/// Attaches the pending photos named by `keys` to `owner`, inside the
/// caller's transaction, in the order given. A key that names no pending
/// photo (unknown, attached already, swept) is `422 unknown_photo` and the
/// caller's transaction must roll back. Two writes racing for one key:
/// the second waits on the row lock, then finds it attached.
///
/// Reports (`create_issue`) and staff updates (`change_status`) call it;
/// comments call it with [`PhotoOwner::Comment`] once their row exists.
pub(crate) async fn attach_photos(
    conn: &mut PgConnection,
    keys: &[PhotoKey],
    owner: PhotoOwner,
    now: DateTime<Utc>,
) -> Result<()> {
    for (position, key) in keys.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        let updated = sqlx::query(
            "UPDATE photos SET issue_id = $1, event_id = $2, comment_id = $3, kind = $4, position = $5, attached_at = $6
             WHERE key_hash = $7 AND issue_id IS NULL",
        )
        .bind(owner.issue_id())
        .bind(owner.event_id())
        .bind(owner.comment_id())
        .bind(owner.kind().as_str())
        .bind(position)
        .bind(millis(now))
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
impl PhotoStore for PostgresStore {
    async fn insert_photo(&self, photo: &NewPhoto, now: DateTime<Utc>) -> Result<Photo> {
        let size = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let sql = format!(
            "INSERT INTO photos (key_hash, sha256, width, height, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING {PHOTO_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(photo.key.hash())
            .bind(&photo.sha256)
            .bind(size(photo.width))
            .bind(size(photo.height))
            .bind(millis(now))
            .fetch_one(&self.pool)
            .await?;
        decode_photo(&row)
    }

    async fn photo(&self, id: i64) -> Result<Option<Photo>> {
        let mut conn = self.pool.acquire().await?;
        fetch_photo(&mut conn, id, false).await
    }

    async fn issue_photos(&self, issue_id: i64) -> Result<Vec<Photo>> {
        let sql = format!(
            "SELECT {PHOTO_COLUMNS} FROM photos p WHERE issue_id = $1 AND hidden_at IS NULL
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
             WHERE p.sha256 = $1 AND p.hidden_at IS NULL AND i.hidden_at IS NULL
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
        check_text(moderation.reason(), "reason")?;
        let mut tx = self.pool.begin().await?;
        let photo = attached(fetch_photo(&mut tx, photo_id, true).await?, photo_id)?;
        let hide = check_photo_moderation(&photo, moderation)?;
        let update = if hide {
            sqlx::query("UPDATE photos SET hidden_at = $2, hidden_reason = $3 WHERE id = $1")
                .bind(photo_id)
                .bind(millis(now))
                .bind(moderation.reason())
        } else {
            sqlx::query("UPDATE photos SET hidden_at = NULL, hidden_reason = NULL WHERE id = $1")
                .bind(photo_id)
        };
        update.execute(&mut *tx).await?;
        append_audit(
            &mut tx,
            &photo_audit(&photo, hide, moderation.reason(), actor),
        )
        .await?;
        let stored = attached(fetch_photo(&mut tx, photo_id, false).await?, photo_id)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete_stale_photos(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM photos WHERE issue_id IS NULL AND created_at < $1")
            .bind(cutoff)
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
