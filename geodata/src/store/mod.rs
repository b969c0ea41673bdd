//! Storage: the system of record behind the in-memory index.
//!
//! [`Store`] is what the server and the CLI call; [`connect`] picks the
//! implementation from the database URL. The embedded SQLite store is the
//! default; [`PostgresStore`] keeps the same data in PostgreSQL with PostGIS.
//! Both turn their rows into domain values through one shared decoding
//! (`rows`), and take complete rows to insert as [`IssueRecord`]s.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::{Error, Result};
use crate::issue::{Issue, IssueEntry};
use crate::layer::{Feature, LayerName, NewFeature};

mod accounts;
mod engage;
mod mail;
mod moderation;
mod photos;
mod postgres;
mod record;
mod rows;
mod sqlite;
// Its `append_audit` is for every privileged SQLite write in this module tree.
mod sqlite_accounts;
mod sqlite_engage;
mod sqlite_group_commit;
mod sqlite_mail;
mod sqlite_moderation;
mod sqlite_photos;
mod sqlite_snapshot;
mod sqlite_stats;
mod sqlite_workflow;
mod stats;
mod workflow;

pub use accounts::{AccountStore, SessionActor};
pub use engage::{EngageStore, VoteOutcome};
pub use mail::MailStore;
pub use moderation::ModerationStore;
pub use photos::PhotoStore;
pub use postgres::{Change, ChangeKind, PostgresStore};
pub use record::IssueRecord;
pub use sqlite::SqliteStore;
pub use stats::StatsStore;
pub use workflow::WorkflowStore;

/// The result of [`Store::create_issue`].
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedIssue {
    /// The stored issue.
    pub issue: Issue,
    /// False when an `Idempotency-Key` matched an earlier request and its issue was returned.
    pub created: bool,
}

/// Whether an import adds to a layer or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Keep existing features, add the new ones.
    Append,
    /// Delete the layer's features first (in the same transaction).
    Replace,
}

/// The system of record. Every write commits before it returns, so a caller
/// that got `Ok` may acknowledge the write.
#[async_trait]
pub trait Store:
    AccountStore
    + WorkflowStore
    + StatsStore
    + ModerationStore
    + MailStore
    + EngageStore
    + PhotoStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Stores a new report. With an idempotency key seen before for the same
    /// report, returns the earlier issue instead of creating another; for a
    /// different report, fails with [`Error::IdempotencyConflict`].
    async fn create_issue(
        &self,
        record: &IssueRecord,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedIssue>;

    /// Inserts many issues in one transaction, all or nothing; returns their ids in order.
    async fn insert_issues(&self, records: &[IssueRecord]) -> Result<Vec<i64>>;

    /// One issue.
    async fn issue(&self, id: i64) -> Result<Option<Issue>>;

    /// Issues by id, in the order of `ids` (missing ids are skipped).
    async fn issues_by_id(&self, ids: &[i64]) -> Result<Vec<Issue>>;

    /// What the index needs of every issue not hidden by a moderator, to
    /// build it at start.
    async fn issue_entries(&self) -> Result<Vec<IssueEntry>>;

    /// Every issue not hidden by a moderator, ascending by id, streamed
    /// (constant memory): what exports publish.
    fn stream_issues(&self) -> BoxStream<'static, Result<Issue>>;

    /// Validated features into a reference layer in one transaction; returns
    /// the stored features of this import.
    async fn import_features(
        &self,
        layer: LayerName,
        features: &[NewFeature],
        mode: ImportMode,
    ) -> Result<Vec<Feature>>;

    /// Every feature of a reference layer.
    async fn features(&self, layer: LayerName) -> Result<Vec<Feature>>;

    /// Every feature of a reference layer, ascending by id, streamed.
    fn stream_features(&self, layer: LayerName) -> BoxStream<'static, Result<Feature>>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;

    /// Whether the database takes writes now: a probe that fails as a
    /// write would on a full disk, a read-only file or a failing disk,
    /// writing nothing that stays. By default the same as [`Store::ping`]
    /// (a server that answers decides itself whether it takes writes).
    async fn check_writes(&self) -> Result<()> {
        self.ping().await
    }

    /// The log of committed changes, where the database is shared by several
    /// servers (PostgreSQL); `None` for an embedded database only this
    /// process writes.
    fn change_feed(&self) -> Option<&dyn ChangeFeed> {
        None
    }
}

/// Committed changes in commit order, so that every server sharing a
/// database keeps its index current with writes made through the others.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The sequence number of the last committed change (0 if none).
    async fn last_seq(&self) -> Result<i64>;

    /// Every change after `after`, as it commits: read on each notification
    /// and at least every `poll`, so changes made while this server's
    /// connection was down arrive once it is back. The stream never ends by
    /// itself; database errors are logged and retried.
    fn follow(&self, after: i64, poll: std::time::Duration) -> BoxStream<'static, Change>;
}

/// Streams the rows of `sql` (with at most one text parameter) through a
/// bounded channel from a task of its own, so the stream owns no borrow of
/// the pool and memory stays constant however many rows there are. The first
/// error ends the stream. Shared by both stores' exports.
fn stream_rows<DB, T>(
    pool: sqlx::Pool<DB>,
    sql: String,
    bind: Option<&'static str>,
    decode: fn(&DB::Row) -> Result<T>,
) -> BoxStream<'static, Result<T>>
where
    DB: sqlx::Database,
    T: Send + 'static,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(async move {
        let mut query = sqlx::query::<DB>(&sql);
        if let Some(value) = bind {
            query = query.bind(value);
        }
        let mut rows = query.fetch(&pool);
        while let Some(row) = rows.next().await {
            let item = row.map_err(Error::from).and_then(|r| decode(&r));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx).boxed()
}

/// Opens (creating if needed) the database at `url` and brings its schema up to date.
///
/// `sqlite://path` (or `sqlite::memory:`) selects the embedded store;
/// `postgres://…` or `postgresql://…` selects PostgreSQL with PostGIS.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(Error::UnsupportedDatabase(url.to_owned()))
    }
}
