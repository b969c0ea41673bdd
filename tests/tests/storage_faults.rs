//! Storage faults: a full SQLite database and an unreachable PostgreSQL.
//! Writes answer `503 storage_unavailable` with `Retry-After`, nothing is
//! half written, reads from memory go on, `/healthz` says what fails, and
//! service comes back by itself, without a restart, once the fault is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use qala_geodata::store::SqliteStore;
use qala_tests::{
    Backend, Proxy, TestApp, TestDatabase, assert_storage_unavailable, report_body, within,
};
use serde_json::{Value, json};
use sqlx::{Connection, SqliteConnection};

/// Pages the test frees to give the full database room again.
const FILLER_PAGES: u32 = 64;

/// POSTs a report with an `Idempotency-Key`: status, `Retry-After`, body.
async fn report(app: &TestApp, body: &Value, key: &str) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/issues"))
        .header("content-type", "application/geo+json")
        .header("idempotency-key", key)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    qala_tests::answer_with_retry_after(response).await
}

async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

/// What really is in the database: issues, idempotency keys, keys that
/// point at no issue; and whether SQLite finds the file sound.
async fn stored(conn: &mut SqliteConnection) -> (i64, i64, i64) {
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    (
        scalar(conn, "SELECT count(*) FROM issues").await,
        scalar(conn, "SELECT count(*) FROM idempotency_keys").await,
        scalar(
            conn,
            "SELECT count(*) FROM idempotency_keys k LEFT JOIN issues i ON i.id = k.issue_id WHERE i.id IS NULL",
        )
        .await,
    )
}

/// SQLite with a full "disk". Root (as CI runs) ignores file permissions, so
/// a read-only file is no fault for it, and a small tmpfs cannot be mounted
/// without privileges; the database is instead capped at its size with
/// `PRAGMA max_page_count` on every server connection
/// ([`SqliteStore::open_capped`]). A write then fails inside SQLite with
/// `SQLITE_FULL` exactly where it would on a full disk, and SQLite rolls
/// the whole transaction back by itself, the very path that used to leave
/// a pooled connection counted as inside a transaction. The test frees the
/// space again by deleting a filler table through a connection of its own,
/// as an operator would free disk space.
#[tokio::test]
async fn a_full_sqlite_database_refuses_writes_with_503_and_recovers_without_restart() {
    let _files = FILES.lock().await;
    let database = TestDatabase::new(&Backend::Sqlite);
    drop(SqliteStore::open(&database.url).await.unwrap());
    let mut conn = SqliteConnection::connect(&database.url).await.unwrap();
    sqlx::query("CREATE TABLE filler (b BLOB NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {FILLER_PAGES})
         INSERT INTO filler SELECT zeroblob(4000) FROM n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(scalar(&mut conn, "PRAGMA freelist_count").await, 0);
    // Some room left (the health probe needs eight pages): writes succeed,
    // then the "disk" fills.
    let pages = u32::try_from(scalar(&mut conn, "PRAGMA page_count").await).unwrap();
    let store = SqliteStore::open_capped(&database.url, pages + 16)
        .await
        .unwrap();
    let app = TestApp::over(Arc::new(store), database).await;
    assert_eq!(app.get("/healthz").await.0, 200);

    // Identical reports append to the same tables: once one needs a page
    // beyond the cap, so does every retry of it.
    let body = report_body(
        76.95,
        43.24,
        "pothole",
        &"A deep pothole by the bus stop. ".repeat(30),
    );
    let mut acknowledged = Vec::new();
    let (key, status, retry_after, refused) = loop {
        assert!(
            acknowledged.len() < 1000,
            "the capped database never filled"
        );
        let key = format!("report-{}", acknowledged.len());
        let (status, retry_after, created) = report(&app, &body, &key).await;
        if status != 201 {
            break (key, status, retry_after, created);
        }
        acknowledged.push(created["id"].as_i64().unwrap());
    };
    assert!(!acknowledged.is_empty(), "the first write failed already");
    assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    // The fault lasts: retries (same key, as a client should) fail alike,
    // and whichever pooled connection they get answers the same.
    for _ in 0..10 {
        let (status, retry_after, refused) = report(&app, &body, &key).await;
        assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    }
    let (status, health) = app.get("/healthz").await;
    assert_eq!(
        (status, health),
        (
            503,
            json!({"status": "degraded", "database": "up", "writes": "failing"})
        )
    );

    // Nothing half written: no issue without its key, no key without its
    // issue, and the index holds what was acknowledged, no more.
    let n = i64::try_from(acknowledged.len()).unwrap();
    assert_eq!(stored(&mut conn).await, (n, n, 0));
    let (status, stats) = app.get("/api/v1/stats/issues?group_by=status").await;
    assert_eq!((status, &stats["total"]), (200, &json!(n)), "{stats}");
    // Reads go on.
    let (status, issue) = app
        .get(&format!("/api/v1/issues/{}", acknowledged[0]))
        .await;
    assert_eq!((status, &issue["id"]), (200, &json!(acknowledged[0])));
    let (status, nearby) = app
        .get("/api/v1/issues/nearby?lon=76.95&lat=43.24&radius=50&limit=1000")
        .await;
    assert_eq!(status, 200, "{nearby}");
    assert_eq!(
        nearby["features"].as_array().unwrap().len(),
        acknowledged.len()
    );

    // Space comes back.
    sqlx::query("DELETE FROM filler")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        app.get("/healthz").await,
        (
            200,
            json!({"status": "ok", "database": "up", "writes": "ok"})
        )
    );
    // The refused report, retried, is created once; then every pooled
    // connection takes writes again (more writes than the pool has
    // connections, one after another).
    let (status, _, created) = report(&app, &body, &key).await;
    assert_eq!(status, 201, "{created}");
    acknowledged.push(created["id"].as_i64().unwrap());
    for i in 0..20 {
        let (status, _, created) = report(&app, &body, &format!("after-{i}")).await;
        assert_eq!(status, 201, "write {i} after the fault: {created}");
        acknowledged.push(created["id"].as_i64().unwrap());
    }
    let n = i64::try_from(acknowledged.len()).unwrap();
    assert_eq!(stored(&mut conn).await, (n, n, 0));
    let (_, stats) = app.get("/api/v1/stats/issues?group_by=status").await;
    assert_eq!(stats["total"], json!(n));
}

/// The SQLite tests take turns: the file size limit of
/// [`a_failing_sqlite_disk_refuses_writes_with_503_and_recovers_without_restart`]
/// holds for the whole process. (The PostgreSQL test writes no file.)
static FILES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A file size limit of zero for this process while it lives: every write
/// to a file fails with `EFBIG`. Lifted on drop, also when a test fails.
struct NoFileWrites(rustix::process::Rlimit);

impl NoFileWrites {
    fn start() -> Self {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let before = getrlimit(Resource::Fsize);
        let none = Rlimit {
            current: Some(0),
            maximum: before.maximum,
        };
        setrlimit(Resource::Fsize, none).unwrap();
        Self(before)
    }
}

impl Drop for NoFileWrites {
    fn drop(&mut self) {
        let before = rustix::process::Rlimit {
            current: self.0.current,
            maximum: self.0.maximum,
        };
        rustix::process::setrlimit(rustix::process::Resource::Fsize, before).unwrap();
    }
}

/// SQLite on a disk that refuses to write: the process's file size limit
/// (`RLIMIT_FSIZE`, which binds root too) is lowered to zero, so the kernel
/// refuses every write to a file with `EFBIG` and SQLite fails the COMMIT
/// (the WAL append) with `SQLITE_IOERR_WRITE`, as on a failing disk. SQLite
/// then rolls the whole transaction back by itself, sqlx's own ROLLBACK
/// fails, and the connection used to go back to the pool still counted as
/// inside a transaction: every later write on it failed with "attempted to
/// call begin_with at non-zero transaction depth" until a restart. (The
/// kernel sends `SIGXFSZ` too, which would end the process: a handler is
/// installed.) Reading needs no write, so reads go on.
#[tokio::test]
async fn a_failing_sqlite_disk_refuses_writes_with_503_and_recovers_without_restart() {
    use tokio::signal::unix::{SignalKind, signal};
    /// SIGXFSZ on Linux.
    const SIGXFSZ: i32 = 25;

    let _files = FILES.lock().await;
    let _ignored = signal(SignalKind::from_raw(SIGXFSZ)).unwrap();
    let app = TestApp::empty(&Backend::Sqlite).await;
    let mut conn = SqliteConnection::connect(&app.database.url).await.unwrap();
    let body = report_body(76.95, 43.24, "pothole", "A deep pothole by the bus stop");
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let (status, _, created) = report(&app, &body, &format!("before-{i}")).await;
        assert_eq!(status, 201, "{created}");
        acknowledged.push(created["id"].as_i64().unwrap());
    }

    // Mapped and sized before the fault: SQLite grows its shared-memory
    // file on a connection's first read.
    assert_eq!(stored(&mut conn).await, (3, 3, 0));
    let fault = NoFileWrites::start();
    for _ in 0..10 {
        let (status, retry_after, refused) = report(&app, &body, "during").await;
        assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    }
    let (status, health) = app.get("/healthz").await;
    assert_eq!(
        (status, &health["writes"]),
        (503, &json!("failing")),
        "{health}"
    );
    let n = i64::try_from(acknowledged.len()).unwrap();
    assert_eq!(stored(&mut conn).await, (n, n, 0));
    let (status, issue) = app
        .get(&format!("/api/v1/issues/{}", acknowledged[0]))
        .await;
    assert_eq!((status, &issue["id"]), (200, &json!(acknowledged[0])));

    drop(fault);
    assert_eq!(app.get("/healthz").await.0, 200);
    let (status, _, created) = report(&app, &body, "during").await;
    assert_eq!(status, 201, "{created}");
    acknowledged.push(created["id"].as_i64().unwrap());
    for i in 0..20 {
        let (status, _, created) = report(&app, &body, &format!("after-{i}")).await;
        assert_eq!(status, 201, "write {i} after the fault: {created}");
        acknowledged.push(created["id"].as_i64().unwrap());
    }
    let n = i64::try_from(acknowledged.len()).unwrap();
    assert_eq!(stored(&mut conn).await, (n, n, 0));
}

/// GETs the issues layer's export: status and body bytes (`None` for a
/// body cut off; status 0 when the connection closed before any status).
async fn export(app: &TestApp) -> (u16, Option<Vec<u8>>) {
    let Ok(response) = app
        .client
        .get(app.url("/api/v1/layers/issues/export.geojson"))
        .send()
        .await
    else {
        return (0, None);
    };
    let status = response.status().as_u16();
    (status, response.bytes().await.ok().map(|b| b.to_vec()))
}

/// PostgreSQL out of reach: the connection between this server and the
/// database is cut at a TCP proxy (the shared database server keeps running).
#[tokio::test]
async fn an_unreachable_postgres_refuses_writes_and_exports_with_503_and_recovers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = TestDatabase::new(&backend);
    {
        let store = qala_geodata::connect(&database.url).await.unwrap();
        let city = qala_server::city::City::almaty().unwrap();
        qala_server::demo::load(store.as_ref(), &city, 50, 7)
            .await
            .unwrap();
    }
    let (proxy, proxied) = Proxy::in_front_of(&database.url).await;
    let store = qala_geodata::connect(&proxied).await.unwrap();
    let app = TestApp::over(store, database).await;
    let body = report_body(76.95, 43.24, "litter", "Bins overflowing");

    proxy.cut();
    let (status, retry_after, refused) = report(&app, &body, "while-cut").await;
    assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    let (status, bytes) = export(&app).await;
    let error: Value = serde_json::from_slice(&bytes.unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "an export the database cannot start is a 503 in the error shape"
    );
    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health["database"].as_str()), (503, Some("down")));

    proxy.restore();
    let healthy = within(Duration::from_secs(15), async || {
        app.get("/healthz").await.0 == 200
    })
    .await;
    assert!(healthy.is_some(), "health did not recover");
    let (status, _, created) = report(&app, &body, "while-cut").await;
    assert_eq!(status, 201, "{created}");
    let (status, bytes) = export(&app).await;
    assert_eq!(status, 200);
    let exported: Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
    assert_eq!(exported["features"].as_array().unwrap().len(), 51);
}
