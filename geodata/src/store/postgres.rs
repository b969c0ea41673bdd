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

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use geo::Geometry;
use geozero::wkb::Wkb;
use geozero::{CoordDimensions, ToGeo, ToWkb};
use serde_json::{Map, Value};
use sqlx::migrate::{MigrateDatabase, MigrateError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ChangeFeed, CreatedIssue, ImportMode, IssueRecord, Store, stream_rows};
use crate::category::parse_category;
use crate::error::{Error, Result, ValidationError};
use crate::geometry::LonLat;
use crate::index::IssueEntry;
use crate::issue::{Issue, IssueStatus};
use crate::layer::{Feature, LayerName, NewFeature};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections per process: enough for concurrent requests and a streaming
/// export or two, few enough that several replicas fit under the server's
/// default `max_connections` of 100.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection before it fails (the API
/// answers 503) instead of queueing without bound.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows per bulk INSERT: large enough that round trips do not matter, small
/// enough that one statement's arrays stay a few megabytes.
const BATCH_ROWS: usize = 10_000;
/// Bytes of WKB per bulk feature INSERT, for layers of large polygons.
const BATCH_BYTES: usize = 32 << 20;
/// The extension the schema needs.
const POSTGIS: &str = "postgis";

const ISSUE_COLUMNS: &str = "id, category, description, ST_X(location) AS lon, ST_Y(location) AS lat, address, status, district_id, created_at, updated_at, votes, reporter_email";
const FEATURE_COLUMNS: &str =
    "id, layer, ST_AsBinary(geometry) AS wkb, properties::text AS properties";

/// The PostgreSQL/PostGIS implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// What a [`Change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// An issue was created; `entity_id` is its id.
    IssueCreated,
    /// A feature was added to a reference layer; `entity_id` is its id.
    FeatureCreated,
    /// Every feature of a layer was deleted (an import in replace mode); the
    /// features that replace them follow as `FeatureCreated`.
    LayerReplaced,
}

impl ChangeKind {
    fn parse(s: &str) -> Result<Self> {
        match s {
            "issue_created" => Ok(Self::IssueCreated),
            "feature_created" => Ok(Self::FeatureCreated),
            "layer_replaced" => Ok(Self::LayerReplaced),
            other => Err(Error::Corrupt(format!("unknown change kind {other:?}"))),
        }
    }
}

/// One entry of the change log that replicas follow to keep their in-memory
/// index current.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position in the log; increases in commit order.
    pub seq: i64,
    /// What happened.
    pub kind: ChangeKind,
    /// The issue or feature concerned (none for [`ChangeKind::LayerReplaced`]).
    pub entity_id: Option<i64>,
    /// The layer concerned (`issues` for issues).
    pub layer: LayerName,
    /// When the writing transaction started.
    pub at: DateTime<Utc>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…` or `postgresql://…`), creating the
    /// database if it does not exist, checks that PostGIS is available and
    /// brings the schema up to date.
    ///
    /// A server without the PostGIS package fails with
    /// [`Error::PostgisMissing`], which says how to install it.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("qala");
        let pool = match pool(options.clone()).await {
            // invalid_catalog_name: no such database.
            Err(e) if has_sqlstate(&e, "3D000") => {
                // Like the SQLite file, the database is created on first start.
                tracing::info!("creating database");
                match Postgres::create_database(url).await {
                    // duplicate_database: another replica starting at the same time won.
                    Err(e) if has_sqlstate(&e, "42P04") => {}
                    other => other?,
                }
                pool(options).await?
            }
            other => other?,
        };
        let server_major = require_extension(&pool, POSTGIS).await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| classify_migrate_error(e, Some(server_major)))?;
        Ok(Self { pool })
    }

    /// Every change with a sequence number above `seq`, ascending (all of
    /// them: pass the last `seq` seen, or 0 for the whole log).
    ///
    /// Sequence numbers appear in commit order, so reading `seq > last` after
    /// each `qala_changes` notification (its payload is the highest new seq)
    /// misses nothing; gaps are rolled-back writes.
    pub async fn changes_since(&self, seq: i64) -> Result<Vec<Change>> {
        let rows = sqlx::query(
            "SELECT seq, kind, entity_id, layer, at FROM changes WHERE seq > $1 ORDER BY seq",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let layer: String = row.try_get("layer")?;
                Ok(Change {
                    seq: row.try_get("seq")?,
                    kind: ChangeKind::parse(&kind)?,
                    entity_id: row.try_get("entity_id")?,
                    layer: LayerName::parse(&layer).map_err(|e| Error::Corrupt(e.to_string()))?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }
}

async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// Whether `e` is a database error with SQLSTATE `code`.
fn has_sqlstate(e: &sqlx::Error, code: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
}

/// The error that says how to get PostGIS onto the server.
fn postgis_missing(server_major: Option<i32>, what: &str) -> Error {
    let package = server_major.map_or_else(
        || "postgresql-<version>-postgis-3".to_owned(),
        |major| format!("postgresql-{major}-postgis-3"),
    );
    Error::PostgisMissing(format!(
        "{what}. Install PostGIS on the database server (Debian/Ubuntu: apt-get install {package}), \
         then run CREATE EXTENSION postgis; in this database as a superuser"
    ))
}

/// Fails with [`Error::PostgisMissing`] unless `extension` is installed in the
/// database or available on the server for the first migration to create;
/// returns the server's major version.
async fn require_extension(pool: &PgPool, extension: &str) -> Result<i32> {
    let (installed, available, major): (bool, bool, i32) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1),
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1),
                current_setting('server_version_num')::int / 10000",
    )
    .bind(extension)
    .fetch_one(pool)
    .await?;
    if installed || available {
        Ok(major)
    } else {
        Err(postgis_missing(
            Some(major),
            &format!("the PostgreSQL {major} server has no {extension} extension installed"),
        ))
    }
}

/// Turns the failure of `CREATE EXTENSION postgis` in the first migration into
/// [`Error::PostgisMissing`]; other migration errors pass through.
fn classify_migrate_error(e: MigrateError, server_major: Option<i32>) -> Error {
    let db_error = match &e {
        MigrateError::Execute(db) | MigrateError::ExecuteMigration(db, _) => Some(db),
        _ => None,
    };
    if let Some(sqlx::Error::Database(db)) = db_error {
        let message = db.message();
        let about_extension = message.contains("extension");
        match db.code().as_deref() {
            // No control file: "could not open extension control file" (up to
            // PostgreSQL 15, undefined_file) or "extension … is not available"
            // (16 and later, feature_not_supported).
            Some("58P01" | "0A000") if about_extension => {
                return postgis_missing(server_major, &format!("the server said: {message}"));
            }
            Some("42501") if about_extension => {
                return Error::PostgisMissing(format!(
                    "the server has PostGIS but this database user may not create the extension \
                     ({message}); ask a superuser to run CREATE EXTENSION postgis; in this database"
                ));
            }
            _ => {}
        }
    }
    Error::Migrate(e)
}

/// Millisecond precision, as the SQLite store keeps (`format_time`), so both
/// stores return the same instant for the same input.
fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// PostgreSQL text cannot hold U+0000; say so as a validation error rather
/// than fail inside the database.
fn check_text(value: &str, field: &'static str) -> Result<(), ValidationError> {
    if value.contains('\0') {
        Err(ValidationError::new(
            "invalid_text",
            field,
            "text must not contain the NUL character (U+0000)",
        ))
    } else {
        Ok(())
    }
}

fn check_json_text(value: &Value) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => check_text(s, "properties"),
        Value::Array(items) => items.iter().try_for_each(check_json_text),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(k, "properties")?;
            check_json_text(v)
        }),
        _ => Ok(()),
    }
}

fn check_record_text(r: &IssueRecord) -> Result<(), ValidationError> {
    check_text(r.report.category.code, "properties.category")?;
    check_text(&r.report.description, "properties.description")?;
    if let Some(address) = &r.report.address {
        check_text(address, "properties.address")?;
    }
    if let Some(email) = &r.report.reporter_email {
        check_text(email, "properties.reporter_email")?;
    }
    Ok(())
}

/// `geometry` as OGC WKB (two dimensions, as Qala keeps them).
fn to_wkb(geometry: &Geometry<f64>) -> Result<Vec<u8>, ValidationError> {
    geometry.to_wkb(CoordDimensions::xy()).map_err(|e| {
        ValidationError::new(
            "invalid_geometry",
            "geometry",
            format!("the geometry cannot be encoded as WKB: {e}"),
        )
    })
}

fn from_wkb(bytes: &[u8]) -> Result<Geometry<f64>> {
    Wkb(bytes)
        .to_geo()
        .map_err(|e| Error::Corrupt(format!("bad WKB geometry: {e}")))
}

fn corrupt(e: ValidationError) -> Error {
    Error::Corrupt(e.to_string())
}

fn decode_issue(row: &PgRow) -> Result<Issue> {
    let category: String = row.try_get("category")?;
    let status: String = row.try_get("status")?;
    Ok(Issue {
        id: row.try_get("id")?,
        category: parse_category(&category).map_err(corrupt)?,
        description: row.try_get("description")?,
        location: LonLat::new(row.try_get("lon")?, row.try_get("lat")?).map_err(corrupt)?,
        address: row.try_get("address")?,
        status: IssueStatus::parse(&status).map_err(corrupt)?,
        district_id: row.try_get("district_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        votes: row.try_get("votes")?,
        reporter_email: row.try_get("reporter_email")?,
    })
}

fn decode_entry(row: &PgRow) -> Result<IssueEntry> {
    let category: String = row.try_get("category")?;
    let status: String = row.try_get("status")?;
    Ok(IssueEntry {
        id: row.try_get("id")?,
        location: LonLat::new(row.try_get("lon")?, row.try_get("lat")?).map_err(corrupt)?,
        status: IssueStatus::parse(&status).map_err(corrupt)?,
        category: parse_category(&category).map_err(corrupt)?,
        district_id: row.try_get("district_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn decode_feature(row: &PgRow) -> Result<Feature> {
    let layer: String = row.try_get("layer")?;
    let wkb: Vec<u8> = row.try_get("wkb")?;
    let properties: String = row.try_get("properties")?;
    Ok(Feature {
        id: row.try_get("id")?,
        layer: LayerName::parse(&layer).map_err(corrupt)?,
        geometry: from_wkb(&wkb)?,
        properties: serde_json::from_str::<Map<String, Value>>(&properties)
            .map_err(|e| Error::Corrupt(format!("bad feature properties: {e}")))?,
    })
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

/// Appends one change per id, in the order of `ids`.
async fn record_changes(
    conn: &mut PgConnection,
    kind: &str,
    layer: LayerName,
    ids: &[i64],
) -> Result<()> {
    // Ten times a data batch: eight bytes a row, and each statement is one
    // notification, so fewer is better.
    for chunk in ids.chunks(BATCH_ROWS * 10) {
        sqlx::query(
            "INSERT INTO changes (kind, entity_id, layer)
             SELECT $1, id, $2 FROM UNNEST($3::int8[]) WITH ORDINALITY AS t(id, ord) ORDER BY ord",
        )
        .bind(kind)
        .bind(layer.as_str())
        .bind(chunk)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn fetch_issue(conn: &mut PgConnection, id: i64) -> Result<Option<Issue>> {
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
            serde_json::to_string(&record.report).map_err(|e| Error::Corrupt(e.to_string()))?;
        // Two attempts: the second only runs if the key's row vanished
        // between a conflict and the read that follows it.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            if let Some(key) = idempotency_key
                && let Some(earlier) = replay(&mut tx, key, &request).await?
            {
                return Ok(earlier);
            }
            let sql = format!(
                "INSERT INTO issues (category, description, location, address, status, district_id, created_at, updated_at, votes, reporter_email)
                 VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5, $6, $7, $8, $9, 0, $10)
                 RETURNING {ISSUE_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(record.category().code)
                .bind(&record.report.description)
                .bind(record.location().lon())
                .bind(record.location().lat())
                .bind(&record.report.address)
                .bind(record.status.as_str())
                .bind(record.district_id)
                .bind(millis(record.created_at))
                .bind(millis(record.updated_at))
                .bind(&record.report.reporter_email)
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
                .bind(millis(record.created_at))
                .fetch_optional(&mut *tx)
                .await?;
                if inserted.is_none() {
                    // The other request won: drop this issue, answer with its.
                    tx.rollback().await?;
                    let mut conn = self.pool.acquire().await?;
                    if let Some(earlier) = replay(&mut conn, key, &request).await? {
                        return Ok(earlier);
                    }
                    continue;
                }
            }
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
            for r in chunk {
                categories.push(r.category().code);
                descriptions.push(r.report.description.as_str());
                lons.push(r.location().lon());
                lats.push(r.location().lat());
                addresses.push(r.report.address.as_deref());
                statuses.push(r.status.as_str());
                districts.push(r.district_id);
                created.push(millis(r.created_at));
                updated.push(millis(r.updated_at));
                emails.push(r.report.reporter_email.as_deref());
            }
            sqlx::query(
                "INSERT INTO issues (id, category, description, location, address, status, district_id, created_at, updated_at, votes, reporter_email)
                 SELECT id, category, description, ST_SetSRID(ST_MakePoint(lon, lat), 4326), address, status, district_id, created_at, updated_at, 0, reporter_email
                 FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::text[], $8::int8[], $9::timestamptz[], $10::timestamptz[], $11::text[])
                   AS t(id, category, description, lon, lat, address, status, district_id, created_at, updated_at, reporter_email)",
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
            "SELECT id, category, ST_X(location) AS lon, ST_Y(location) AS lat, status, district_id, created_at FROM issues ORDER BY id",
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
            format!("SELECT {ISSUE_COLUMNS} FROM issues ORDER BY id"),
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
            if geo::BoundingRect::bounding_rect(&feature.geometry).is_none() {
                return Err(Error::Invalid(ValidationError::new(
                    "invalid_geometry",
                    "geometry",
                    "an empty geometry has no place on the map",
                )));
            }
            let object = Value::Object(feature.properties.clone());
            check_json_text(&object).map_err(at)?;
            wkbs.push(to_wkb(&feature.geometry).map_err(at)?);
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
                geometry: feature.geometry.clone(),
                properties: feature.properties.clone(),
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

/// The channel the `changes` trigger notifies on.
const CHANGES_CHANNEL: &str = "qala_changes";

#[async_trait]
impl ChangeFeed for PostgresStore {
    async fn last_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    fn follow(&self, after: i64, poll: Duration) -> BoxStream<'static, Change> {
        let store = self.clone();
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut last = after;
            let mut listener: Option<PgListener> = None;
            loop {
                if listener.is_none() {
                    listener = match PgListener::connect_with(&store.pool).await {
                        Ok(mut l) => match l.listen(CHANGES_CHANNEL).await {
                            Ok(()) => Some(l),
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot LISTEN for changes; polling");
                                None
                            }
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot connect to listen for changes; polling");
                            None
                        }
                    };
                }
                // Wake on a notification, or after `poll` regardless: the
                // catch-up below is what guarantees nothing is missed.
                match listener.as_mut() {
                    Some(l) => match tokio::time::timeout(poll, l.try_recv()).await {
                        Ok(Ok(Some(_))) | Err(_) => {}
                        // The connection was lost (None) or failed: reconnect next round.
                        Ok(Ok(None)) | Ok(Err(_)) => listener = None,
                    },
                    None => tokio::time::sleep(poll).await,
                }
                match store.changes_since(last).await {
                    Ok(changes) => {
                        for change in changes {
                            last = change.seq;
                            if tx.send(change).await.is_err() {
                                return; // nobody follows any more
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, after = last, "catching up on changes failed; will retry")
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        ReceiverStream::new(rx).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{
        Coord, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
        Polygon,
    };
    use std::borrow::Cow;

    /// A database error as the server would send it, for classification tests.
    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        message: &'static str,
    }

    impl std::fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn migration_failure(code: &'static str, message: &'static str) -> MigrateError {
        MigrateError::ExecuteMigration(
            sqlx::Error::Database(Box::new(FakeDbError { code, message })),
            1,
        )
    }

    #[test]
    fn a_missing_postgis_control_file_says_how_to_install_postgis() {
        // PostgreSQL 15's words for CREATE EXTENSION without the package.
        let e = classify_migrate_error(
            migration_failure(
                "58P01",
                "could not open extension control file \"/usr/share/postgresql/15/extension/postgis.control\": No such file or directory",
            ),
            Some(15),
        );
        let Error::PostgisMissing(message) = &e else {
            panic!("expected PostgisMissing, got {e:?}")
        };
        assert!(
            message.contains("apt-get install postgresql-15-postgis-3"),
            "{message}"
        );
        assert!(message.contains("CREATE EXTENSION postgis"), "{message}");
        assert!(
            e.to_string().starts_with("PostGIS extension missing:"),
            "{e}"
        );
    }

    #[test]
    fn an_unavailable_extension_in_newer_servers_says_how_to_install_postgis() {
        // PostgreSQL 16 and later.
        let e = classify_migrate_error(
            migration_failure("0A000", "extension \"postgis\" is not available"),
            None,
        );
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
    }

    #[test]
    fn a_user_who_may_not_create_postgis_is_told_to_ask_a_superuser() {
        let e = classify_migrate_error(
            migration_failure("42501", "permission denied to create extension \"postgis\""),
            None,
        );
        let Error::PostgisMissing(message) = &e else {
            panic!("expected PostgisMissing, got {e:?}")
        };
        assert!(message.contains("superuser"), "{message}");
    }

    #[test]
    fn other_migration_failures_stay_migration_errors() {
        let e = classify_migrate_error(
            migration_failure("42P07", "relation \"issues\" already exists"),
            None,
        );
        assert!(matches!(e, Error::Migrate(_)), "{e:?}");
        let e = classify_migrate_error(MigrateError::VersionMissing(3), None);
        assert!(matches!(e, Error::Migrate(_)), "{e:?}");
    }

    #[test]
    fn every_geometry_type_round_trips_through_wkb_exactly() {
        let ring = |x: f64, y: f64, d: f64| {
            LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
        };
        let with_hole = Polygon::new(ring(76.9, 43.2, 0.1), vec![ring(76.93, 43.23, 0.01)]);
        let point = Point::new(76.944_123_456_789, 43.262_987_654_321);
        let line = LineString::from(vec![(76.9, 43.2), (76.95, 43.25), (77.0, 43.21)]);
        let geometries: Vec<Geometry<f64>> = vec![
            point.into(),
            line.clone().into(),
            with_hole.clone().into(),
            MultiPoint::new(vec![point, Point::new(-179.999_999, -89.5)]).into(),
            MultiLineString::new(vec![line.clone(), ring(0.0, 0.0, 1.0)]).into(),
            MultiPolygon::new(vec![
                with_hole.clone(),
                Polygon::new(ring(1.0, 1.0, 0.5), vec![]),
            ])
            .into(),
            Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                with_hole.into(),
                point.into(),
                Geometry::GeometryCollection(GeometryCollection::new_from(vec![line.into()])),
            ])),
        ];
        for g in geometries {
            let bytes = to_wkb(&g).unwrap();
            assert_eq!(from_wkb(&bytes).unwrap(), g);
        }
        let c = Coord { x: 1.0, y: 2.0 };
        assert_eq!(
            to_wkb(&Point::from(c).into()).unwrap().len(),
            21,
            "a 2D point is 21 bytes of WKB"
        );
    }

    #[test]
    fn text_with_nul_is_a_validation_error() {
        assert_eq!(check_text("a\0b", "x").unwrap_err().code, "invalid_text");
        assert!(check_text("Алматы", "x").is_ok());
        let nested = serde_json::json!({"a": [{"b\0": 1}]});
        assert_eq!(check_json_text(&nested).unwrap_err().code, "invalid_text");
    }

    #[test]
    fn times_keep_milliseconds_and_drop_the_rest() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(
            millis(t),
            DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap()
        );
        let before_1970 = DateTime::from_timestamp(-1, 999_999_999).unwrap();
        assert_eq!(
            crate::issue::format_time(millis(before_1970)),
            crate::issue::format_time(before_1970)
        );
    }

    /// Against a real server when `QALA_TEST_POSTGRES_URL` is set: an
    /// extension the server does not have is reported as PostGIS missing,
    /// both by the check before migrating and from the server's own error.
    #[tokio::test]
    async fn a_server_without_the_extension_gets_the_install_advice() {
        let Ok(url) = std::env::var("QALA_TEST_POSTGRES_URL") else {
            eprintln!("skipping PostgreSQL: QALA_TEST_POSTGRES_URL not set");
            return;
        };
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let e = require_extension(&pool, "qala_no_such_extension")
            .await
            .unwrap_err();
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
        assert!(e.to_string().contains("apt-get install postgresql-"), "{e}");

        // The real error of CREATE EXTENSION for a package that is not there,
        // classified as a migration would see it. Inside a transaction that is
        // rolled back, so nothing changes even if it unexpectedly succeeded.
        let mut tx = pool.begin().await.unwrap();
        let server_error = sqlx::query("CREATE EXTENSION qala_no_such_extension")
            .execute(&mut *tx)
            .await
            .unwrap_err();
        drop(tx);
        let e = classify_migrate_error(MigrateError::ExecuteMigration(server_error, 1), Some(15));
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
    }
}
