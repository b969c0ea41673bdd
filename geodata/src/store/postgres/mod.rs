//! The production store: PostgreSQL with PostGIS.
//!
//! Same behaviour as the SQLite store (the contract tests in
//! `geodata/tests/store_contract.rs` run against both), with the data in
//! PostGIS types: issue locations are `geometry(Point, 4326)`, reference
//! features `geometry(Geometry, 4326)`, both GiST-indexed, and the database
//! itself refuses invalid or empty feature geometry and geometry that does not
//! fit its layer (`migrations/postgres/`).
//!
//! Geometry travels as OGC WKB (`ST_GeomFromWKB` in, `ST_AsBinary` out),
//! encoded and decoded with [`geozero`]: it converts `geo-types` geometries
//! directly in both directions (`ToWkb`, `Wkb(..).to_geo()`), covers every
//! OGC type including nested collections, is widely used across the georust
//! ecosystem and actively released, and with default features off brings in
//! little besides the WKB code. (The newer `wkb` crate works on `geo-traits`
//! and would need conversion glue back into `geo` types.) Issue locations go
//! in as two numbers through `ST_MakePoint` and come back with `ST_X`/`ST_Y`.
//!
//! Bulk writes (`insert_issues`, `import_features`) send columns as arrays
//! that `UNNEST` turns into rows, 10,000 rows per statement, all in one
//! transaction. Ids are drawn from the table's sequence first, so the ids
//! returned are in input order by construction.
//!
//! Every write also appends to the `changes` table in its transaction (one row
//! per created issue or feature, one per replaced layer) and PostgreSQL
//! notifies channel `qala_changes` at commit; see [`PostgresStore::changes_since`].
//!
//! `setup` opens the database (PostGIS check, migrations), `feed` is the
//! change log, `wire` encodes values for the database; this module is the store.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{PgPool, Row};

use super::rows::{EntryRow, FeatureRow, IssueRow};
use super::{ChangeFeed, CreatedIssue, ImportMode, IssueRecord, Store, stream_rows};
use crate::error::{Error, Result, ValidationError};
use crate::issue::{Issue, IssueEntry};
use crate::layer::{Feature, LayerName, NewFeature};
use crate::photo::PhotoOwner;

// `pub(super)` so that other store writes (status changes) can call
// `accounts::append_audit` in their own transactions.
pub(super) mod accounts;
mod engage;
mod feed;
pub(super) mod mail;
mod moderation;
mod photos;
mod setup;
mod stats;
mod wire;
pub(super) mod workflow;

use feed::record_changes;
pub use feed::{Change, ChangeKind};
use wire::{check_json_text, check_record_text, check_text, from_wkb, millis, to_wkb};

/// Rows per bulk INSERT: large enough that round trips do not matter, small
/// enough that one statement's arrays stay a few megabytes.
const BATCH_ROWS: usize = 10_000;
/// Bytes of WKB per bulk feature INSERT, for layers of large polygons.
const BATCH_BYTES: usize = 32 << 20;

const ISSUE_COLUMNS: &str = "id, category, description, ST_X(location) AS lon, ST_Y(location) AS lat, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department, acknowledged_at, resolved_at, duplicate_of, hidden_at";
const FEATURE_COLUMNS: &str =
    "id, layer, ST_AsBinary(geometry) AS wkb, properties::text AS properties";

/// The PostgreSQL/PostGIS implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…` or `postgresql://…`), creating the
    /// database if it does not exist, checks that PostGIS is available and
    /// brings the schema up to date.
    ///
    /// A server without the PostGIS package fails with
    /// [`Error::PostgisMissing`], which says how to install it.
    pub async fn open(url: &str) -> Result<Self> {
        Ok(Self {
            pool: setup::open_pool(url).await?,
        })
    }
}

pub(super) fn decode_issue(row: &PgRow) -> Result<Issue> {
    IssueRow {
        id: row.try_get("id")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        address: row.try_get("address")?,
        status: row.try_get("status")?,
        district_id: row.try_get("district_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        votes: row.try_get("votes")?,
        reporter_email: row.try_get("reporter_email")?,
        assigned_department: row.try_get("assigned_department")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        resolved_at: row.try_get("resolved_at")?,
        duplicate_of: row.try_get("duplicate_of")?,
        hidden_at: row.try_get("hidden_at")?,
    }
    .decode()
}

fn decode_entry(row: &PgRow) -> Result<IssueEntry> {
    EntryRow {
        id: row.try_get("id")?,
        category: row.try_get("category")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        status: row.try_get("status")?,
        district_id: row.try_get("district_id")?,
        created_at: row.try_get("created_at")?,
        assigned_department: row.try_get("assigned_department")?,
        votes: row.try_get("votes")?,
    }
    .decode()
}

fn decode_feature(row: &PgRow) -> Result<Feature> {
    let wkb: &[u8] = row.try_get("wkb")?;
    FeatureRow {
        id: row.try_get("id")?,
        layer: row.try_get("layer")?,
        geometry: from_wkb(wkb)?,
        properties: row.try_get("properties")?,
    }
    .decode()
}

/// Draws `n` ids from `table`'s id sequence, ascending.
async fn next_ids(conn: &mut PgConnection, table: &str, n: usize) -> Result<Vec<i64>> {
    let n = i64::try_from(n).map_err(|e| Error::Corrupt(e.to_string()))?;
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
    )
    .bind(table)
    .bind(n)
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

pub(super) async fn fetch_issue(conn: &mut PgConnection, id: i64) -> Result<Option<Issue>> {
    let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(decode_issue).transpose()
}

/// The issue an idempotency key was first used for, if the key is known;
/// [`Error::IdempotencyConflict`] if it was used for another report.
async fn replay(conn: &mut PgConnection, key: &str, request: &str) -> Result<Option<CreatedIssue>> {
    let row = sqlx::query("SELECT issue_id, request FROM idempotency_keys WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let earlier_request: String = row.try_get("request")?;
    if earlier_request != request {
        return Err(Error::IdempotencyConflict);
    }
    let issue_id: i64 = row.try_get("issue_id")?;
    let issue = fetch_issue(conn, issue_id).await?.ok_or_else(|| {
        Error::Corrupt(format!(
            "idempotency key points at missing issue {issue_id}"
        ))
    })?;
    Ok(Some(CreatedIssue {
        issue,
        created: false,
    }))
}

/// Why the features of one batch broke a CHECK: the first offending feature
/// (numbered across the whole import) and what PostGIS says about it.
async fn explain_rejected_features(
    pool: &PgPool,
    layer: LayerName,
    wkbs: &[Vec<u8>],
    first_index: usize,
) -> Result<Option<ValidationError>> {
    let row = sqlx::query(
        "SELECT ord, ST_IsEmpty(g) AS empty, ST_IsValidReason(g) AS reason,
                qala_geometry_fits_layer($2, g) AS fits, GeometryType(g) AS kind
         FROM (SELECT ord, ST_GeomFromWKB(w, 4326) AS g
               FROM UNNEST($1::bytea[]) WITH ORDINALITY AS t(w, ord)) AS s
         WHERE ST_IsEmpty(g) OR NOT ST_IsValid(g) OR NOT qala_geometry_fits_layer($2, g)
         ORDER BY ord LIMIT 1",
    )
    .bind(wkbs)
    .bind(layer.as_str())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let ord: i64 = row.try_get("ord")?;
    let index = first_index + usize::try_from(ord - 1).unwrap_or_default();
    let empty: bool = row.try_get("empty")?;
    let fits: bool = row.try_get("fits")?;
    let reason: String = row.try_get("reason")?;
    let kind: String = row.try_get("kind")?;
    let message = if empty {
        "an empty geometry has no place on the map".to_owned()
    } else if !fits {
        format!(
            "a {kind} does not belong in the {layer} layer (allowed: {})",
            layer.geometry_types().join(", ")
        )
    } else {
        format!("the geometry is not valid: {reason}")
    };
    Ok(Some(
        ValidationError::new("invalid_geometry", "geometry", message)
            .context(format_args!("feature {index}")),
    ))
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_issue(
        &self,
        record: &IssueRecord,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedIssue> {
        check_record_text(record)?;
        if let Some(key) = idempotency_key {
            check_text(key, "Idempotency-Key")?;
        }
        // The canonical form of the report: a retry must send the same report
        // to get the same issue back.
        let request =
            serde_json::to_string(record.report()).map_err(|e| Error::Corrupt(e.to_string()))?;
        // Two attempts: the second only runs if the key's row vanished
        // between a conflict and the read that follows it.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            if let Some(key) = idempotency_key
                && let Some(earlier) = replay(&mut tx, key, &request).await?
            {
                // The retry gets a private link of its own: the first
                // answer, which carried one, may be what was lost.
                if let Some(follow_up) = record.follow_up() {
                    let hash = follow_up.token.hash();
                    mail::insert_token(&mut tx, earlier.issue.id, &hash, record.created_at())
                        .await?;
                    tx.commit().await?;
                }
                return Ok(earlier);
            }
            let sql = format!(
                "INSERT INTO issues (category, description, location, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department)
                 VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5, $6, $7, $8, $9, 0, $10, $11)
                 RETURNING {ISSUE_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(record.category().code)
                .bind(record.report().description())
                .bind(record.location().lon())
                .bind(record.location().lat())
                .bind(record.report().address())
                .bind(record.status().as_str())
                .bind(record.district_id())
                .bind(millis(record.created_at()))
                .bind(millis(record.updated_at()))
                .bind(record.report().reporter_email())
                .bind(record.assigned_department())
                .fetch_one(&mut *tx)
                .await?;
            let issue = decode_issue(&row)?;
            if let Some(key) = idempotency_key {
                // A concurrent request with the same key makes this wait until
                // that one commits (then nothing is inserted) or rolls back.
                let inserted: Option<String> = sqlx::query_scalar(
                    "INSERT INTO idempotency_keys (key, issue_id, request, created_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING key",
                )
                .bind(key)
                .bind(issue.id)
                .bind(&request)
                .bind(millis(record.created_at()))
                .fetch_optional(&mut *tx)
                .await?;
                if inserted.is_none() {
                    // The other request won: drop this issue, answer with its.
                    tx.rollback().await?;
                    let mut conn = self.pool.acquire().await?;
                    if let Some(earlier) = replay(&mut conn, key, &request).await? {
                        if let Some(follow_up) = record.follow_up() {
                            let hash = follow_up.token.hash();
                            let at = record.created_at();
                            mail::insert_token(&mut conn, earlier.issue.id, &hash, at).await?;
                        }
                        return Ok(earlier);
                    }
                    continue;
                }
            }
            mail::report_written(&mut tx, &issue, record.follow_up(), record.created_at()).await?;
            // After the key: a retry racing its first attempt waits on the
            // key and replays, rather than finding the photos taken.
            photos::attach_photos(
                &mut tx,
                record.report().photos(),
                PhotoOwner::Report { issue_id: issue.id },
                record.created_at(),
            )
            .await?;
            record_changes(&mut tx, "issue_created", LayerName::Issues, &[issue.id]).await?;
            tx.commit().await?;
            return Ok(CreatedIssue {
                issue,
                created: true,
            });
        }
        Err(Error::Corrupt(
            "idempotency key was reported taken but could not be read".to_owned(),
        ))
    }

    async fn insert_issues(&self, records: &[IssueRecord]) -> Result<Vec<i64>> {
        for (i, r) in records.iter().enumerate() {
            check_record_text(r).map_err(|e| e.context(format_args!("record {i}")))?;
        }
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(records.len());
        for chunk in records.chunks(BATCH_ROWS) {
            let chunk_ids = next_ids(&mut tx, "issues", chunk.len()).await?;
            let mut categories = Vec::with_capacity(chunk.len());
            let mut descriptions = Vec::with_capacity(chunk.len());
            let mut lons = Vec::with_capacity(chunk.len());
            let mut lats = Vec::with_capacity(chunk.len());
            let mut addresses = Vec::with_capacity(chunk.len());
            let mut statuses = Vec::with_capacity(chunk.len());
            let mut districts = Vec::with_capacity(chunk.len());
            let mut created = Vec::with_capacity(chunk.len());
            let mut updated = Vec::with_capacity(chunk.len());
            let mut emails = Vec::with_capacity(chunk.len());
            let mut departments = Vec::with_capacity(chunk.len());
            for r in chunk {
                categories.push(r.category().code);
                descriptions.push(r.report().description());
                lons.push(r.location().lon());
                lats.push(r.location().lat());
                addresses.push(r.report().address());
                statuses.push(r.status().as_str());
                districts.push(r.district_id());
                created.push(millis(r.created_at()));
                updated.push(millis(r.updated_at()));
                emails.push(r.report().reporter_email());
                departments.push(r.assigned_department());
            }
            sqlx::query(
                "INSERT INTO issues (id, category, description, location, address, status, district_id, created_at, updated_at, votes, reporter_email, assigned_department)
                 SELECT id, category, description, ST_SetSRID(ST_MakePoint(lon, lat), 4326), address, status, district_id, created_at, updated_at, 0, reporter_email, assigned_department
                 FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::text[], $8::int8[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[])
                   AS t(id, category, description, lon, lat, address, status, district_id, created_at, updated_at, reporter_email, assigned_department)",
            )
            .bind(&chunk_ids)
            .bind(&categories)
            .bind(&descriptions)
            .bind(&lons)
            .bind(&lats)
            .bind(&addresses)
            .bind(&statuses)
            .bind(&districts)
            .bind(&created)
            .bind(&updated)
            .bind(&emails)
            .bind(&departments)
            .execute(&mut *tx)
            .await?;
            ids.extend(chunk_ids);
        }
        record_changes(&mut tx, "issue_created", LayerName::Issues, &ids).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn issue(&self, id: i64) -> Result<Option<Issue>> {
        let mut conn = self.pool.acquire().await?;
        fetch_issue(&mut conn, id).await
    }

    async fn issues_by_id(&self, ids: &[i64]) -> Result<Vec<Issue>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        let sql = format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE id = ANY($1)");
        for chunk in ids.chunks(BATCH_ROWS) {
            let mut rows = sqlx::query(&sql).bind(chunk).fetch(&self.pool);
            while let Some(row) = rows.next().await {
                let issue = decode_issue(&row?)?;
                found.insert(issue.id, issue);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn issue_entries(&self) -> Result<Vec<IssueEntry>> {
        // Decoded as the rows arrive: a million rows never sit in memory twice.
        // In id order, as SQLite gives them: the index is bulk-loaded in this
        // order and writes a tile's points in tree order, so servers on one
        // database (and both stores) give a tile the same bytes and ETag.
        let mut rows = sqlx::query(
            "SELECT id, category, ST_X(location) AS lon, ST_Y(location) AS lat, status, district_id, created_at, assigned_department, votes FROM issues WHERE hidden_at IS NULL ORDER BY id",
        )
        .fetch(&self.pool);
        let mut entries = Vec::new();
        while let Some(row) = rows.next().await {
            entries.push(decode_entry(&row?)?);
        }
        Ok(entries)
    }

    fn stream_issues(&self) -> BoxStream<'static, Result<Issue>> {
        stream_rows(
            self.pool.clone(),
            format!("SELECT {ISSUE_COLUMNS} FROM issues WHERE hidden_at IS NULL ORDER BY id"),
            None,
            decode_issue,
        )
    }

    async fn import_features(
        &self,
        layer: LayerName,
        features: &[NewFeature],
        mode: ImportMode,
    ) -> Result<Vec<Feature>> {
        if layer == LayerName::Issues {
            return Err(Error::Invalid(ValidationError::new(
                "read_only_layer",
                "layer",
                "the issues layer is written through the issues API, not imported",
            )));
        }
        // Everything that can be checked without the database, first: the
        // same message as the SQLite store for an empty geometry.
        let mut wkbs = Vec::with_capacity(features.len());
        let mut properties = Vec::with_capacity(features.len());
        for (i, feature) in features.iter().enumerate() {
            let at = |e: ValidationError| e.context(format_args!("feature {i}"));
            if geo::BoundingRect::bounding_rect(feature.geometry()).is_none() {
                return Err(Error::Invalid(ValidationError::new(
                    "invalid_geometry",
                    "geometry",
                    "an empty geometry has no place on the map",
                )));
            }
            let object = Value::Object(feature.properties().clone());
            check_json_text(&object).map_err(at)?;
            wkbs.push(to_wkb(feature.geometry()).map_err(at)?);
            properties.push(object.to_string());
        }

        let mut tx = self.pool.begin().await?;
        if mode == ImportMode::Replace {
            sqlx::query("DELETE FROM features WHERE layer = $1")
                .bind(layer.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let mut ids = Vec::with_capacity(features.len());
        let mut start = 0;
        while start < features.len() {
            // Up to BATCH_ROWS features, fewer when they are large.
            let mut end = start;
            let mut bytes = 0;
            while end < features.len()
                && end - start < BATCH_ROWS
                && (end == start || bytes + wkbs[end].len() <= BATCH_BYTES)
            {
                bytes += wkbs[end].len();
                end += 1;
            }
            let batch_ids = next_ids(&mut tx, "features", end - start).await?;
            let inserted = sqlx::query(
                "INSERT INTO features (id, layer, geometry, properties)
                 SELECT id, $1, ST_GeomFromWKB(wkb, 4326), properties::jsonb
                 FROM UNNEST($2::int8[], $3::bytea[], $4::text[]) AS t(id, wkb, properties)",
            )
            .bind(layer.as_str())
            .bind(&batch_ids)
            .bind(&wkbs[start..end])
            .bind(&properties[start..end])
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_check_violation() => {
                    drop(tx);
                    let explained =
                        explain_rejected_features(&self.pool, layer, &wkbs[start..end], start)
                            .await?;
                    return Err(match explained {
                        Some(invalid) => Error::Invalid(invalid),
                        None => Error::Database(sqlx::Error::Database(db)),
                    });
                }
                Err(e) => return Err(e.into()),
            }
            ids.extend(batch_ids);
            start = end;
        }
        if mode == ImportMode::Replace {
            sqlx::query("INSERT INTO changes (kind, layer) VALUES ('layer_replaced', $1)")
                .bind(layer.as_str())
                .execute(&mut *tx)
                .await?;
        }
        record_changes(&mut tx, "feature_created", layer, &ids).await?;
        tx.commit().await?;
        Ok(ids
            .into_iter()
            .zip(features)
            .map(|(id, feature)| Feature {
                id,
                layer,
                geometry: feature.geometry().clone(),
                properties: feature.properties().clone(),
            })
            .collect())
    }

    async fn features(&self, layer: LayerName) -> Result<Vec<Feature>> {
        let sql = format!("SELECT {FEATURE_COLUMNS} FROM features WHERE layer = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(layer.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_feature).collect()
    }

    fn stream_features(&self, layer: LayerName) -> BoxStream<'static, Result<Feature>> {
        stream_rows(
            self.pool.clone(),
            format!("SELECT {FEATURE_COLUMNS} FROM features WHERE layer = $1 ORDER BY id"),
            Some(layer.as_str()),
            decode_feature,
        )
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn change_feed(&self) -> Option<&dyn ChangeFeed> {
        Some(self)
    }
}
