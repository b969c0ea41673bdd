//! The embedded store: SQLite in WAL mode with `synchronous=FULL`, so a
//! committed transaction survives a crash or power loss.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::rows::{FeatureRow, IssueRow, decode_optional_time, decode_time};
use super::sqlite_group_commit::GroupCommit;
use super::{CreatedIssue, ImportMode, IssueRecord, Store, stream_rows};
use crate::error::{Error, Result};
use crate::geometry::{geometry_to_json, parse_geometry};
use crate::issue::{Issue, IssueEntry, format_time};
use crate::layer::{Feature, LayerName, NewFeature};
use crate::photo::PhotoOwner;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

const ISSUE_COLUMNS: &str = "id, category, description, lon, lat, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department, acknowledged_at, resolved_at, duplicate_of, hidden_at";

/// Rows per multi-row INSERT in bulk loads; 13 columns × 70 rows stays under
/// SQLite's default limit of 999 bound parameters... of older builds.
const BULK_ROWS: usize = 70;

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// New reports go through one writer that commits them in groups.
    reports: GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if missing) the database and runs migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, None).await
    }

    /// Opens the database capped at `max_pages` pages (`PRAGMA
    /// max_page_count` on every connection): a write that needs a page
    /// beyond it fails with `SQLITE_FULL`, as on a full disk, and succeeds
    /// again once pages are freed. A quota; the storage-fault tests use it
    /// to fill the "disk" where mounting a small file system is not
    /// allowed (the cap cannot be set below the current size).
    pub async fn open_capped(url: &str, max_pages: u32) -> Result<Self> {
        Self::open_with(url, Some(max_pages)).await
    }

    async fn open_with(url: &str, max_pages: Option<u32>) -> Result<Self> {
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(pages) = max_pages {
            options = options.pragma("max_page_count", pages.to_string());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let reports = GroupCommit::start(pool.clone());
        Ok(Self { pool, reports })
    }
}

/// Whether a connection handed back to the pool may serve again: only if
/// no transaction is left open on it. Every write path holds its
/// transaction in an sqlx `Transaction`, whose drop queues a ROLLBACK; but
/// on `SQLITE_FULL` or `SQLITE_IOERR` SQLite may already have rolled the
/// whole transaction back by itself, that ROLLBACK then fails ("no
/// transaction is active") and sqlx still counts the connection as inside
/// one, so every later `BEGIN` on it fails ("attempted to call begin_with
/// at non-zero transaction depth") until a restart. Such a connection is
/// closed instead (the pool opens a fresh one when needed), and this holds
/// for every write path, present and future.
async fn leaves_no_transaction(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<bool> {
    use sqlx::Connection;
    // The queued ROLLBACK runs before the ping on the connection's worker.
    conn.ping().await?;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a SQLite connection left inside a failed transaction");
    }
    Ok(clean)
}

pub(super) fn decode_issue(row: &SqliteRow) -> Result<Issue> {
    IssueRow {
        id: row.try_get("id")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        address: row.try_get("address")?,
        status: row.try_get("status")?,
        district_id: row.try_get("district_id")?,
        created_at: decode_time(row.try_get("created_at")?)?,
        updated_at: decode_time(row.try_get("updated_at")?)?,
        votes: row.try_get("votes")?,
        reporter_email: row.try_get("reporter_email")?,
        assigned_department: row.try_get("assigned_department")?,
        acknowledged_at: decode_optional_time(row.try_get("acknowledged_at")?)?,
        resolved_at: decode_optional_time(row.try_get("resolved_at")?)?,
        duplicate_of: row.try_get("duplicate_of")?,
        hidden_at: decode_optional_time(row.try_get("hidden_at")?)?,
    }
    .decode()
}

/// Geometry is kept as GeoJSON text and parsed (and so checked again) on the way out.
fn decode_feature(row: &SqliteRow) -> Result<Feature> {
    let geometry: &str = row.try_get("geometry")?;
    let geometry_json: Value =
        serde_json::from_str(geometry).map_err(|e| Error::Corrupt(e.to_string()))?;
    FeatureRow {
        id: row.try_get("id")?,
        layer: row.try_get("layer")?,
        geometry: parse_geometry(&geometry_json).map_err(|e| Error::Corrupt(e.to_string()))?,
        properties: row.try_get("properties")?,
    }
    .decode()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

async fn insert_issue(conn: &mut sqlx::SqliteConnection, r: &IssueRecord) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO issues (category, description, lon, lat, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
    )
    .bind(r.category().code)
    .bind(r.report().description())
    .bind(r.location().lon())
    .bind(r.location().lat())
    .bind(r.report().address())
    .bind(r.status().as_str())
    .bind(r.district_id())
    .bind(format_time(r.created_at()))
    .bind(format_time(r.updated_at()))
    .bind(r.report().reporter_email())
    .bind(r.assigned_department())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub(super) async fn fetch_issue(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
) -> Result<Option<Issue>> {
    let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE id = ?");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(decode_issue).transpose()
}

/// Stores a report inside the caller's transaction (or savepoint): the
/// idempotency key's earlier issue if the key was used for this same
/// report, else a new issue and its key. The caller commits; see
/// [`super::sqlite_group_commit`].
pub(super) async fn create_in(
    conn: &mut sqlx::SqliteConnection,
    record: &IssueRecord,
    idempotency_key: Option<&str>,
) -> Result<CreatedIssue> {
    // The canonical form of the report: a retry must send the same report
    // to get the same issue back.
    let request =
        serde_json::to_string(record.report()).map_err(|e| Error::Corrupt(e.to_string()))?;
    if let Some(key) = idempotency_key {
        let earlier: Option<(i64, String)> =
            sqlx::query_as("SELECT issue_id, request FROM idempotency_keys WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((issue_id, earlier_request)) = earlier {
            if earlier_request != request {
                return Err(Error::IdempotencyConflict);
            }
            let issue = fetch_issue(conn, issue_id).await?.ok_or_else(|| {
                Error::Corrupt(format!(
                    "idempotency key points at missing issue {issue_id}"
                ))
            })?;
            // The retry gets a private link of its own: the first answer,
            // which carried one, may be what was lost.
            if let Some(follow_up) = record.follow_up() {
                let hash = follow_up.token.hash();
                super::sqlite_mail::insert_token(conn, issue_id, &hash, record.created_at())
                    .await?;
            }
            return Ok(CreatedIssue {
                issue,
                created: false,
            });
        }
    }
    let id = insert_issue(conn, record).await?;
    // In the report's savepoint: an unknown photo undoes the whole report.
    super::sqlite_photos::attach_photos(
        conn,
        record.report().photos(),
        PhotoOwner::Report { issue_id: id },
        record.created_at(),
    )
    .await?;
    if let Some(key) = idempotency_key {
        sqlx::query(
            "INSERT INTO idempotency_keys (key, issue_id, request, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(key)
        .bind(id)
        .bind(&request)
        .bind(format_time(record.created_at()))
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::IdempotencyConflict
            } else {
                e.into()
            }
        })?;
    }
    let issue = fetch_issue(conn, id)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("issue {id} vanished inside its transaction")))?;
    super::sqlite_mail::report_written(conn, &issue, record.follow_up(), record.created_at())
        .await?;
    Ok(CreatedIssue {
        issue,
        created: true,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_issue(
        &self,
        record: &IssueRecord,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedIssue> {
        self.reports.create_issue(record, idempotency_key).await
    }

    async fn insert_issues(&self, records: &[IssueRecord]) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut ids = Vec::with_capacity(records.len());
        for chunk in records.chunks(BULK_ROWS) {
            let mut builder = sqlx::QueryBuilder::new(
                "INSERT INTO issues (category, description, lon, lat, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department) ",
            );
            builder.push_values(chunk, |mut b, r| {
                b.push_bind(r.category().code)
                    .push_bind(r.report().description())
                    .push_bind(r.location().lon())
                    .push_bind(r.location().lat())
                    .push_bind(r.report().address())
                    .push_bind(r.status().as_str())
                    .push_bind(r.district_id())
                    .push_bind(format_time(r.created_at()))
                    .push_bind(format_time(r.updated_at()))
                    .push_bind(0_i64)
                    .push_bind(r.report().reporter_email())
                    .push_bind(r.assigned_department());
            });
            builder.push(" RETURNING id");
            let chunk_ids: Vec<i64> = builder.build_query_scalar().fetch_all(&mut *tx).await?;
            ids.extend(chunk_ids);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn issue(&self, id: i64) -> Result<Option<Issue>> {
        let mut conn = self.pool.acquire().await?;
        fetch_issue(&mut conn, id).await
    }

    async fn issues_by_id(&self, ids: &[i64]) -> Result<Vec<Issue>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        // SQLite's bound-parameter limit: look ids up in slices.
        for chunk in ids.chunks(500) {
            let mut builder = sqlx::QueryBuilder::new(format!(
                "SELECT {ISSUE_COLUMNS} FROM issues WHERE id IN ("
            ));
            let mut separated = builder.separated(", ");
            for id in chunk {
                separated.push_bind(*id);
            }
            builder.push(")");
            for row in builder.build().fetch_all(&self.pool).await? {
                let issue = decode_issue(&row)?;
                found.insert(issue.id, issue);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn issue_entries(&self) -> Result<Vec<IssueEntry>> {
        let path = self.pool.connect_options().get_filename().to_owned();
        tokio::task::spawn_blocking(move || super::sqlite_snapshot::issue_entries(&path))
            .await
            .map_err(|e| Error::Corrupt(format!("the snapshot reader failed: {e}")))?
    }

    fn stream_issues(&self) -> BoxStream<'static, Result<Issue>> {
        let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE hidden_at IS NULL ORDER BY id");
        stream_rows(self.pool.clone(), sql, None, decode_issue)
    }

    async fn import_features(
        &self,
        layer: LayerName,
        features: &[NewFeature],
        mode: ImportMode,
    ) -> Result<Vec<Feature>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if mode == ImportMode::Replace {
            sqlx::query("DELETE FROM features WHERE layer = ?")
                .bind(layer.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let mut stored = Vec::with_capacity(features.len());
        for feature in features {
            use geo::BoundingRect;
            let Some(rect) = feature.geometry().bounding_rect() else {
                return Err(Error::Invalid(crate::error::ValidationError::new(
                    "invalid_geometry",
                    "geometry",
                    "an empty geometry has no place on the map",
                )));
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO features (layer, geometry, properties, min_lon, min_lat, max_lon, max_lat)
                 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(layer.as_str())
            .bind(geometry_to_json(feature.geometry()).to_string())
            .bind(Value::Object(feature.properties().clone()).to_string())
            .bind(rect.min().x)
            .bind(rect.min().y)
            .bind(rect.max().x)
            .bind(rect.max().y)
            .fetch_one(&mut *tx)
            .await?;
            stored.push(Feature {
                id,
                layer,
                geometry: feature.geometry().clone(),
                properties: feature.properties().clone(),
            });
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn features(&self, layer: LayerName) -> Result<Vec<Feature>> {
        let rows = sqlx::query(
            "SELECT id, layer, geometry, properties FROM features WHERE layer = ? ORDER BY id",
        )
        .bind(layer.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_feature).collect()
    }

    fn stream_features(&self, layer: LayerName) -> BoxStream<'static, Result<Feature>> {
        const SQL: &str =
            "SELECT id, layer, geometry, properties FROM features WHERE layer = ? ORDER BY id";
        stream_rows(
            self.pool.clone(),
            SQL.to_owned(),
            Some(layer.as_str()),
            decode_feature,
        )
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A real, durable write that needs pages of its own: a row of eight
    /// pages (overflow pages; more than a report's row, its key and their
    /// index entries can need at once), deleted again in the same
    /// transaction, committed to the WAL with `synchronous=FULL`. It fails as a report would on a
    /// full disk or database cap (`SQLITE_FULL`), a read-only file
    /// (`SQLITE_READONLY`) or a failing disk (`SQLITE_IOERR`); `BEGIN
    /// IMMEDIATE; ROLLBACK` alone writes nothing and would pass. It leaves
    /// no row behind.
    async fn check_writes(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO storage_probe (filler) SELECT zeroblob(8 * page_size) FROM pragma_page_size()",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM storage_probe")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
