//! The one error type of the geodata crate.

use std::borrow::Cow;

/// The database driver's error, re-exported so callers can classify it
/// (e.g. "unavailable" versus "bug") without depending on sqlx.
pub use sqlx::Error as SqlxError;

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

/// Result with the geodata [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
