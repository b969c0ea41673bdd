//! What every request handler shares: the store, the serving index and tiles.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use qala_geodata::{Issue, IssueEntry, LayerName, SpatialIndex, Store};

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
}

impl AppState {
    /// Builds the serving index and the tile state from the store.
    pub async fn load(store: Arc<dyn Store>, config: ServerConfig) -> anyhow::Result<Self> {
        // Read before the snapshot: changes committed while it loads are
        // replayed by the follower (applying one twice is harmless).
        let seq = match store.change_feed() {
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
        let state = Self {
            store,
            index: Arc::new(RwLock::new(index)),
            tiles: Arc::new(tiles),
            config: Arc::new(config),
        };
        if let Some(seq) = seq {
            crate::sync::spawn(state.clone(), seq);
        }
        Ok(state)
    }

    /// Brings the index and tiles up to date with an issue the store
    /// committed. Idempotent: the change feed may report this server's own
    /// writes again.
    pub fn issue_committed(&self, issue: &Issue) {
        let entry = IssueEntry::from(issue);
        let old = self.index.write().issues.upsert(entry.clone());
        if old.is_none() {
            self.tiles.issue_added(&entry);
        }
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
