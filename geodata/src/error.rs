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
    /// Whether this means "the database cannot be reached right now" rather
    /// than "this request is wrong" or "a bug": something a client may retry
    /// (the API answers 503). Classified here so that callers need not know
    /// the database driver.
    pub fn is_unavailable(&self) -> bool {
        let Self::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08: connection exception; 57P0x: the server is
            // shutting down, starting up, or this connection was terminated.
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
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
}
