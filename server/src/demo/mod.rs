//! `qala demo`: loads a city folder (Almaty unless told otherwise) into a
//! store and adds synthetic issues, through the same validation and district
//! assignment as every other write.

use std::collections::HashMap;

use qala_geodata::store::{ImportMode, IssueRecord};
use qala_geodata::workflow::Routing;
use qala_geodata::{LayerName, LonLat, NewIssue, SpatialIndex, Store};

use crate::city::City;
use crate::progress::Progress;
use crate::state::district_code;

pub mod generator;
pub mod texts;

pub use generator::{DemoIssue, demo_now, issues};

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

/// Loads `city`'s reference layers and `issues` synthetic issues
/// (deterministic for `seed`) into a database that has no districts yet.
///
/// A database with districts is refused rather than mixed with demo data:
/// issues written earlier would keep pointing at districts that no longer exist.
pub async fn load(
    store: &dyn Store,
    city: &City,
    issues: usize,
    seed: u64,
) -> anyhow::Result<DemoSummary> {
    if !store.features(LayerName::Districts).await?.is_empty() {
        anyhow::bail!("the database already has districts; load the demo into a fresh database");
    }
    let mut features = 0;
    let mut stored_districts = Vec::new();
    for (layer, validated) in city.layers() {
        let stored = store
            .import_features(layer, validated, ImportMode::Replace)
            .await?;
        features += stored.len();
        if layer == LayerName::Districts {
            stored_districts = stored;
        }
    }

    // Departments are city data; every issue is routed as the API routes it.
    store
        .replace_departments(city.departments(), city.routing_rules())
        .await?;
    let routing = Routing::new(city.routing_rules());

    // Districts are assigned the way the API assigns them: point in polygon.
    let districts = SpatialIndex::new(
        Vec::new(),
        HashMap::from([(LayerName::Districts, stored_districts)]),
    );
    let mut progress = Progress::new("demo issues", issues as u64);
    let mut batch = Vec::with_capacity(BATCH.min(issues));
    for demo in generator::issues(city, issues, seed) {
        let location = LonLat::new(demo.lon, demo.lat)?;
        let report = NewIssue::new(
            demo.category.code,
            &demo.description,
            location,
            demo.address,
            None,
        )?;
        let district_id = districts.district_for(location)?;
        let department = routing.department_for(
            demo.category.code,
            district_id.and_then(|id| district_code(&districts, id)),
        );
        batch.push(
            IssueRecord::new(
                report,
                demo.status,
                district_id,
                demo.created_at,
                demo.updated_at,
            )?
            .with_department(department),
        );
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
