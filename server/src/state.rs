//! What every request handler shares (the store, the serving index and
//! tiles), and the one owner of every write: each goes through a method
//! here that validates, commits, then updates the index, the cluster
//! pyramid and the tile cache, in that order.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use qala_geodata::store::{CreatedIssue, IssueRecord};
use qala_geodata::{Feature, Issue, IssueEntry, LayerName, NewIssue, SpatialIndex, Store};

use crate::tiling::{TileService, TileSettings};

/// Server settings beyond the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// How tiles are made and cached.
    pub tiles: TileSettings,
    /// The URL clients reach this server at (for absolute links in TileJSON
    /// and the style); when absent, taken from the request's `Host`.
    pub public_url: Option<String>,
}

/// Shared application state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The system of record.
    pub store: Arc<dyn Store>,
    /// The serving index, updated after every committed write.
    pub index: Arc<RwLock<SpatialIndex>>,
    /// Tile rendering state and cache.
    pub tiles: Arc<TileService>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// The position in the store's change log read before the index was
    /// loaded (`None` for a store without one): whoever follows the log to
    /// keep this state current starts after it.
    pub loaded_after_seq: Option<i64>,
}

/// Why a write through [`AppState`] failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The store refused or failed (validation, idempotency conflict, database).
    #[error(transparent)]
    Data(#[from] qala_geodata::Error),
    /// The task that commits the write and applies it panicked or was cancelled.
    #[error("the write task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl AppState {
    /// Builds the serving index and the tile state from the store.
    pub async fn load(store: Arc<dyn Store>, config: ServerConfig) -> anyhow::Result<Self> {
        // Read before the snapshot: changes committed while it loads are
        // replayed by the follower (applying one twice is harmless).
        let loaded_after_seq = match store.change_feed() {
            Some(feed) => Some(feed.last_seq().await?),
            None => None,
        };
        let issues = store.issue_entries().await?;
        let mut layers = HashMap::new();
        for layer in LayerName::REFERENCE {
            layers.insert(layer, store.features(layer).await?);
        }
        let index = SpatialIndex::new(issues, layers);
        let tiles = TileService::new(&index, config.tiles)?;
        tracing::info!(issues = index.issues.len(), "spatial index built");
        Ok(Self {
            store,
            index: Arc::new(RwLock::new(index)),
            tiles: Arc::new(tiles),
            config: Arc::new(config),
            loaded_after_seq,
        })
    }

    /// Reports an issue: assigns its district (outside every district of a
    /// city that has them: `outside_city`), commits it with its
    /// idempotency key, then brings index and tiles up to date
    /// ([`AppState::issue_committed`]).
    ///
    /// The commit and what follows run in a task of their own: if the
    /// client hangs up, the caller's future is dropped, but a committed
    /// issue must still reach the index.
    pub async fn report_issue(
        &self,
        report: NewIssue,
        idempotency_key: Option<String>,
    ) -> Result<CreatedIssue, WriteError> {
        let district_id = self
            .index
            .read()
            .district_for(report.location())
            .map_err(qala_geodata::Error::from)?;
        let state = self.clone();
        let created = tokio::spawn(async move {
            let record = IssueRecord::new_report(report, district_id);
            let created = state
                .store
                .create_issue(&record, idempotency_key.as_deref())
                .await?;
            if created.created {
                state.issue_committed(&created.issue);
            }
            Ok::<_, qala_geodata::Error>(created)
        })
        .await??;
        Ok(created)
    }

    /// Brings the index, the cluster pyramid and the tile cache, in that
    /// order, up to date with an issue the store committed. Idempotent: the
    /// change feed may report this server's own writes again, and an id
    /// already indexed has nothing new to draw.
    pub fn issue_committed(&self, issue: &Issue) {
        let entry = IssueEntry::from(issue);
        let old = self.index.write().issues.upsert(entry.clone());
        if old.is_none() {
            self.tiles.issue_added(&entry);
        }
    }

    /// Swaps a reference layer committed in the store into the index, then
    /// drops its cached tiles: the one place a layer is replaced.
    pub fn layer_replaced(&self, layer: LayerName, features: Vec<Feature>) {
        self.index.write().replace_layer(layer, features);
        self.tiles.cache.invalidate_layer(layer);
    }

    /// District id → name, for labelling issues in long exports without
    /// holding the index lock for the whole export.
    pub fn district_names(&self) -> Arc<HashMap<i64, String>> {
        let index = self.index.read();
        Arc::new(
            index
                .layer(LayerName::Districts)
                .all()
                .filter_map(|f| Some((f.id, f.name()?.to_owned())))
                .collect(),
        )
    }
}
