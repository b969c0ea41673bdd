//! The change log: every write appends to the `changes` table in its
//! transaction and PostgreSQL notifies channel `qala_changes` at commit;
//! servers sharing the database follow it to keep their index current.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgListener};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{BATCH_ROWS, PostgresStore};
use crate::error::{Error, Result};
use crate::layer::LayerName;
use crate::store::ChangeFeed;

/// What a [`Change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// An issue was created; `entity_id` is its id.
    IssueCreated,
    /// An issue changed (its status); `entity_id` is its id.
    IssueUpdated,
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
            "issue_updated" => Ok(Self::IssueUpdated),
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
}

impl PostgresStore {
    /// Every change with a sequence number above `seq`, ascending (all of
    /// them: pass the last `seq` seen, or 0 for the whole log).
    ///
    /// Sequence numbers appear in commit order, so reading `seq > last` after
    /// each `qala_changes` notification (its payload is the highest new seq)
    /// misses nothing; gaps are rolled-back writes.
    pub async fn changes_since(&self, seq: i64) -> Result<Vec<Change>> {
        let rows = sqlx::query(
            "SELECT seq, kind, entity_id, layer FROM changes WHERE seq > $1 ORDER BY seq",
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
                })
            })
            .collect()
    }
}

/// Appends one change per id, in the order of `ids`.
pub(super) async fn record_changes(
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
