//! What every request handler shares: the store and the serving index.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use qala_geodata::{LayerName, SpatialIndex, Store};

/// Shared application state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The system of record.
    pub store: Arc<dyn Store>,
    /// The serving index, updated after every committed write.
    pub index: Arc<RwLock<SpatialIndex>>,
}

impl AppState {
    /// Builds the serving index from the store.
    pub async fn load(store: Arc<dyn Store>) -> qala_geodata::Result<Self> {
        let issues = store.issue_entries().await?;
        let mut layers = HashMap::new();
        for layer in LayerName::REFERENCE {
            layers.insert(layer, store.features(layer).await?);
        }
        let index = SpatialIndex::new(issues, layers);
        tracing::info!(issues = index.issues.len(), "spatial index built");
        Ok(Self {
            store,
            index: Arc::new(RwLock::new(index)),
        })
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
