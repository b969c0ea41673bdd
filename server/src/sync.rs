//! Keeping this server's index and tiles current with writes made through
//! other servers on the same database (PostgreSQL's change log, followed by
//! LISTEN/NOTIFY with a catch-up read, see [`qala_geodata::ChangeFeed`]).

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use qala_geodata::LayerName;
use qala_geodata::store::{Change, ChangeKind};

use crate::state::AppState;

/// How often the feed re-reads the log even without a notification: the
/// bound on how late a change made while the connection was down arrives.
const POLL: Duration = Duration::from_millis(500);
/// Pause before retrying to read changed records from a database that failed.
const RETRY: Duration = Duration::from_millis(250);

/// Follows the change log from `after` for as long as the process runs (no-op
/// for stores without a change feed). `qala serve` starts it with
/// [`AppState::loaded_after_seq`], so nothing committed while the index was
/// loading is missed.
pub fn spawn(state: AppState, after: i64) {
    let Some(feed) = state.store.change_feed() else {
        return;
    };
    // Changes arrive in bursts (an import, a demo load): applied in batches.
    let mut batches = feed.follow(after, POLL).ready_chunks(1000);
    tokio::spawn(async move {
        while let Some(batch) = batches.next().await {
            apply(&state, &batch).await;
        }
    });
}

async fn apply(state: &AppState, batch: &[Change]) {
    let issue_ids: Vec<i64> = batch
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::IssueCreated | ChangeKind::IssueUpdated))
        .filter_map(|c| c.entity_id)
        .collect();
    let layers: BTreeSet<LayerName> = batch
        .iter()
        .filter(|c| !matches!(c.kind, ChangeKind::IssueCreated | ChangeKind::IssueUpdated))
        .map(|c| c.layer)
        .collect();
    // The log said these committed: keep trying until they are read, or a
    // database hiccup here would lose them for good.
    for chunk in issue_ids.chunks(500) {
        loop {
            match state.store.issues_by_id(chunk).await {
                Ok(issues) => {
                    issues.iter().for_each(|issue| state.issue_committed(issue));
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading changed issues failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
    for layer in layers {
        loop {
            match state.store.features(layer).await {
                Ok(features) => {
                    state.layer_replaced(layer, features);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, %layer, "reading a changed layer failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}
