//! The one error type of the geodata crate.

use std::borrow::Cow;

/// A rule that input broke: a machine-readable code, a sentence for people and,
/// where it applies, the input field at fault.
///
/// Codes are stable API: clients match on them, so a new rule gets a new code
/// rather than a reworded message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Stable code such as `invalid_geometry` or `outside_city`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: Cow<'static, str>,
    /// The input field at fault (`geometry`, `properties.category`, a query parameter, …).
    pub field: Option<Cow<'static, str>>,
}

impl ValidationError {
    /// A rule broken by a named field.
    pub fn new(
        code: &'static str,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// Prefixes the message with where the rule was broken, e.g. `feature 3: …`.
    #[must_use]
    pub fn context(mut self, prefix: impl std::fmt::Display) -> Self {
        self.message = Cow::Owned(format!("{prefix}: {}", self.message));
        self
    }

    /// The same rule, blamed on another input field (a rule shared by two
    /// request shapes, e.g. `outside_city` for a report's `geometry` and a
    /// correction's `location`).
    #[must_use]
    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(Cow::Borrowed(field));
        self
    }
}

/// Everything that can go wrong in the geodata crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke a validation rule; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The requested record does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of record (`issue`, `district`, …).
        what: &'static str,
        /// The identifier that was asked for.
        id: String,
    },
    /// An `Idempotency-Key` was reused with a different request body.
    #[error("idempotency key was already used for a different request")]
    IdempotencyConflict,
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The start-up snapshot of a SQLite database could not be read.
    #[error("database error reading the start-up snapshot: {0}")]
    Snapshot(#[from] rusqlite::Error),
    /// The commit of a group of writes failed (see SQLite's group commit):
    /// they may or may not be on disk, so the client retries with its
    /// idempotency key.
    #[error("the commit of a group of writes failed: {0}")]
    CommitFailed(String),
    /// Schema migrations could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names no supported database.
    #[error("unsupported database URL \"{0}\": use sqlite://FILE or postgres://USER@HOST/DATABASE")]
    UnsupportedDatabase(String),
    /// The PostgreSQL server lacks the PostGIS extension (or this user may not
    /// create it); the message says how to install it.
    #[error("PostGIS extension missing: {0}")]
    PostgisMissing(String),
    /// Stored data could not be decoded (a bug or a hand-edited database).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl Error {
    /// Whether this means "storage cannot take this right now" rather than
    /// "this request is wrong" or "a bug": the database is out of reach, or
    /// its disk is full, read-only or failing. Something a client may retry
    /// once the operator has fixed the fault (the API answers 503).
    /// Classified here so that callers need not know the database driver.
    pub fn is_unavailable(&self) -> bool {
        let e = match self {
            Self::Database(e) => e,
            Self::CommitFailed(_) => return true,
            _ => return false,
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    sqlite_unavailable(sqlite)
                } else {
                    db.code().is_some_and(|c| postgres_unavailable(&c))
                }
            }
            _ => false,
        }
    }
}

/// SQLite's primary result codes (the low byte of the extended code
/// `code()` gives) that say the storage failed, not the statement.
fn sqlite_unavailable(e: &sqlx::sqlite::SqliteError) -> bool {
    /// The database stayed locked past the busy timeout.
    const BUSY: i64 = 5;
    /// The file (or its directory, or the file system) is read-only.
    const READONLY: i64 = 8;
    /// The operating system reported an I/O error.
    const IOERR: i64 = 10;
    /// The disk is full (or the database reached `max_page_count`).
    const FULL: i64 = 13;
    /// The file, its journal or its WAL could not be opened.
    const CANTOPEN: i64 = 14;
    use sqlx::error::DatabaseError;
    e.code()
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| matches!(c & 0xff, BUSY | READONLY | IOERR | FULL | CANTOPEN))
}

/// PostgreSQL SQLSTATEs that say the server cannot take the request now:
/// class 08 (connection exception), 57P0x (shutting down, starting up,
/// this connection terminated), class 53 (insufficient resources: disk
/// full, out of memory, too many connections), class 58 (system error:
/// I/O), and 25006 (a read-only transaction: a standby or a database set
/// read-only).
fn postgres_unavailable(code: &str) -> bool {
    ["08", "57P", "53", "58"]
        .iter()
        .any(|class| code.starts_with(class))
        || code == "25006"
}

/// Result with the geodata [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_a_bug_is_not() {
        assert!(Error::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(Error::Database(sqlx::Error::Io(io)).is_unavailable());
        assert!(!Error::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!Error::Corrupt("x".into()).is_unavailable());
        assert!(!Error::IdempotencyConflict.is_unavailable());
    }

    /// Real SQLite errors: a write refused as read-only is storage failing,
    /// a broken constraint or a syntax error is not.
    #[tokio::test]
    async fn sqlite_storage_faults_are_unavailable_and_statement_errors_are_not() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let run = async |conn: &mut sqlx::SqliteConnection, sql: &str| {
            Error::from(sqlx::query(sql).execute(conn).await.unwrap_err())
        };
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(
            !run(&mut conn, "INSERT INTO t VALUES (1), (1)")
                .await
                .is_unavailable()
        );
        assert!(!run(&mut conn, "SELEKT 1").await.is_unavailable());
        sqlx::query("PRAGMA query_only = ON")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(
            run(&mut conn, "INSERT INTO t VALUES (2)")
                .await
                .is_unavailable()
        );
    }

    #[test]
    fn postgres_storage_states_are_unavailable() {
        for code in ["08006", "57P01", "53100", "58030", "25006"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "25P02"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
    }
}
