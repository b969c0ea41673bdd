//! Group commit of new reports on SQLite.
//!
//! A SQLite commit with `synchronous=FULL` waits for the disk to flush the
//! write-ahead log: about 6 ms on the virtual disk the benchmarks ran on,
//! so reports committed one by one top out near 160 a second however many
//! clients send them. Here every report is handed to one writer task; it
//! takes whatever reports are waiting (up to [`MAX_BATCH`]), stores each
//! inside its own savepoint of one transaction and commits them together,
//! one flush for all. A report is acknowledged only after that commit, so
//! "on disk before acknowledged" holds for each.
//!
//! Nothing waits for a batch to fill: while one batch is being flushed, the
//! reports that arrive queue up and form the next one, so a lone report is
//! committed at once and a crowd shares flushes.
//!
//! A report that fails its own checks (an idempotency key reused for
//! another report) rolls back to its savepoint and the others go on. If the
//! batch fails before its commit (a full or failing disk: SQLite may then
//! have rolled the whole transaction back), nothing of it was committed and
//! each report is tried again alone, so each gets its own answer. If the
//! commit itself fails, every report of the batch is answered
//! [`Error::CommitFailed`] (a 503: the client retries with its
//! idempotency key).

use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::sqlite::create_in;
use super::{CreatedIssue, IssueRecord};
use crate::error::{Error, Result};

/// Most reports committed together. Large enough that a burst of clients
/// shares a flush, small enough that one batch holds the write lock only a
/// few milliseconds beyond its flush.
pub(super) const MAX_BATCH: usize = 64;

/// Reports waiting for the writer at most; beyond this, senders wait.
const QUEUE: usize = 1024;

/// The handle reports are sent through; cloned with the store.
#[derive(Debug, Clone)]
pub(super) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    record: IssueRecord,
    key: Option<String>,
    reply: oneshot::Sender<Result<CreatedIssue>>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime. It ends when
    /// the last handle is dropped.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write(pool, queue));
        Self { jobs }
    }

    /// Stores a report with the others waiting, and answers once it is
    /// committed (or refused).
    pub(super) async fn create_issue(
        &self,
        record: &IssueRecord,
        key: Option<&str>,
    ) -> Result<CreatedIssue> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            record: record.clone(),
            key: key.map(str::to_owned),
            reply,
        };
        let stopped = || Error::CommitFailed("the SQLite writer has stopped".into());
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer: one batch at a time, until every handle is gone.
async fn write(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&pool, std::mem::take(&mut batch)).await;
    }
}

/// Commits one batch and answers each of its reports.
async fn commit(pool: &SqlitePool, jobs: Vec<Job>) {
    match together(pool, &jobs).await {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                // A client that hung up is not an error: its report stands.
                let _ = job.reply.send(answer);
            }
        }
        Err(Failed::BeforeCommit(e)) => {
            if jobs.len() > 1 {
                tracing::warn!(error = %e, reports = jobs.len(), "a group of reports failed; storing each alone");
            }
            for job in jobs {
                let answer = alone(pool, &job).await;
                let _ = job.reply.send(answer);
            }
        }
        Err(Failed::AtCommit(e)) => {
            tracing::warn!(error = %e, reports = jobs.len(), "the commit of a group of reports failed");
            for job in jobs {
                let _ = job.reply.send(Err(Error::CommitFailed(e.to_string())));
            }
        }
    }
}

enum Failed {
    /// Nothing of the batch was committed.
    BeforeCommit(Error),
    /// The commit failed: the reports may or may not be on disk.
    AtCommit(Error),
}

/// Every report of the batch in one transaction, each in a savepoint.
async fn together(
    pool: &SqlitePool,
    jobs: &[Job],
) -> std::result::Result<Vec<Result<CreatedIssue>>, Failed> {
    let before = |e: sqlx::Error| Failed::BeforeCommit(e.into());
    // IMMEDIATE takes the write lock up front, so each key lookup and
    // insert sees one consistent database even with other writers.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(before)?;
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut savepoint = tx.begin().await.map_err(before)?;
        match create_in(&mut savepoint, &job.record, job.key.as_deref()).await {
            Ok(created) => {
                savepoint.commit().await.map_err(before)?;
                answers.push(Ok(created));
            }
            // The storage failed, not this report: SQLite may have rolled
            // back the whole transaction, so the batch is given up.
            Err(e) if e.is_unavailable() => return Err(Failed::BeforeCommit(e)),
            Err(e) => {
                savepoint.rollback().await.map_err(before)?;
                answers.push(Err(e));
            }
        }
    }
    tx.commit().await.map_err(|e| Failed::AtCommit(e.into()))?;
    Ok(answers)
}

/// One report in a transaction of its own.
async fn alone(pool: &SqlitePool, job: &Job) -> Result<CreatedIssue> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let created = create_in(&mut tx, &job.record, job.key.as_deref()).await?;
    tx.commit().await?;
    Ok(created)
}
