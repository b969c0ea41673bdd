//! `qala demo`: loads the Almaty demo city into a store, through the same
//! validation and district assignment as every other write.

use std::collections::HashMap;

use qala_geodata::store::{ImportMode, IssueRecord};
use qala_geodata::{LayerName, LonLat, NewFeature, NewIssue, SpatialIndex, Store, ValidationError};

use crate::progress::Progress;

pub mod almaty;

/// Issues inserted per transaction: big enough to be fast, small enough that
/// a million issues never sit in memory at once.
const BATCH: usize = 10_000;

/// What was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// Reference-layer features written.
    pub features: usize,
    /// Issues written.
    pub issues: usize,
}

/// Loads the demo city's four reference layers and `issues` synthetic issues
/// (deterministic for `seed`) into a database that has no districts yet.
///
/// A database with districts is refused rather than mixed with demo data:
/// issues written earlier would keep pointing at districts that no longer exist.
pub async fn load(store: &dyn Store, issues: usize, seed: u64) -> anyhow::Result<DemoSummary> {
    if !store.features(LayerName::Districts).await?.is_empty() {
        anyhow::bail!("the database already has districts; load the demo into a fresh database");
    }
    let city = almaty::layers();
    let mut features = 0;
    let mut stored_districts = Vec::new();
    for (layer, demo_features) in [
        (LayerName::Districts, &city.districts),
        (LayerName::PublicSpaces, &city.public_spaces),
        (LayerName::GreenCorridors, &city.green_corridors),
        (LayerName::BikeRoutes, &city.bike_routes),
    ] {
        let validated = demo_features
            .iter()
            .map(|f| NewFeature::new(layer, f.geometry.clone(), f.properties.clone()))
            .collect::<Result<Vec<_>, ValidationError>>()?;
        let stored = store
            .import_features(layer, &validated, ImportMode::Replace)
            .await?;
        features += stored.len();
        if layer == LayerName::Districts {
            stored_districts = stored;
        }
    }

    // Districts are assigned the way the API assigns them: point in polygon.
    let districts = SpatialIndex::new(
        Vec::new(),
        HashMap::from([(LayerName::Districts, stored_districts)]),
    );
    let mut progress = Progress::new("demo issues", issues as u64);
    let mut batch = Vec::with_capacity(BATCH.min(issues));
    for demo in almaty::issues(&city, issues, seed) {
        let location = LonLat::new(demo.lon, demo.lat)?;
        let report = NewIssue::new(
            demo.category,
            &demo.description,
            location,
            demo.address,
            None,
        )?;
        let status = qala_geodata::IssueStatus::parse(demo.status)?;
        let district_id = districts.district_of(location).map(|d| d.id);
        batch.push(IssueRecord::new(
            report,
            status,
            district_id,
            demo.created_at,
            demo.updated_at,
        )?);
        if batch.len() == BATCH {
            store.insert_issues(&batch).await?;
            progress.inc(batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.insert_issues(&batch).await?;
        progress.inc(batch.len() as u64);
    }
    progress.finish();
    Ok(DemoSummary { features, issues })
}
