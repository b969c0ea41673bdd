//! Every visible issue's index entry from a SQLite file in one pass, for
//! building the serving index at start-up.
//!
//! Why not through the sqlx pool like every other read: sqlx runs SQLite on
//! a worker thread and hands each row to the async side one at a time
//! (a channel message, a wake-up and a copied row apiece). At a million
//! rows that handoff was about 4 of a 5 s start-up, while SQLite itself
//! steps through the table in about 1 s. Here one blocking task steps the
//! statement with rusqlite (same SQLite library, see the workspace
//! manifest) and decodes in place, through the same [`EntryRow`] as the
//! sqlx path, so both give identical entries.
//!
//! A single `SELECT` reads one consistent snapshot (a WAL read
//! transaction), whatever other connections commit meanwhile.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::rows::{EntryRow, decode_time};
use crate::error::{Error, Result};
use crate::issue::IssueEntry;

/// The columns of an index entry, for visible issues in id order.
pub(super) const ENTRY_QUERY: &str = "SELECT id, category, lon, lat, status, district_id, created_at, assigned_department, votes FROM issues WHERE hidden_at IS NULL ORDER BY id";

/// Reads every visible issue's entry from the database file at `path`
/// (blocking: call it from a blocking task).
pub(super) fn issue_entries(path: &Path) -> Result<Vec<IssueEntry>> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    // `sqlite::memory:` is, to sqlx, a shared-cache in-memory database it
    // names `file:sqlx-in-memory-N`; opened the same way, this connection
    // sees the pool's data (the contract tests check it does).
    if path.to_string_lossy().starts_with("file:sqlx-in-memory-") {
        flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // As the pool's connections: wait out a writer's checkpoint rather than fail.
    conn.busy_timeout(Duration::from_secs(10))?;
    let mut statement = conn.prepare(ENTRY_QUERY)?;
    let mut rows = statement.query([])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        entries.push(
            EntryRow {
                id: row.get(0)?,
                category: text(row, 1)?,
                lon: row.get(2)?,
                lat: row.get(3)?,
                status: text(row, 4)?,
                district_id: row.get(5)?,
                created_at: decode_time(text(row, 6)?)?,
                assigned_department: row.get_ref(7)?.as_str_or_null()?,
                votes: row.get(8)?,
            }
            .decode()?,
        );
    }
    Ok(entries)
}

/// A text column, borrowed from the row (no copy per row).
fn text<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> Result<&'r str> {
    Ok(row.get_ref(column)?.as_str()?)
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        Self::Corrupt(e.to_string())
    }
}
