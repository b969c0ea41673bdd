//! Vector tiles from the in-memory index: rendering, the cluster pyramid
//! that keeps low-zoom issue tiles fast, and the cache that writes invalidate.

use parking_lot::RwLock;
use qala_geodata::{BBox, IssueEntry, IssueStatus, LayerName, SpatialIndex};
use qala_tiles::pyramid::ClusterPyramid;
use qala_tiles::{ClusterOptions, MAX_ZOOM, TileId};

mod cache;
mod crowded;
mod dense;
mod issue_layer;
mod render;

pub use cache::{EncodedTile, TileCache, Variant};
pub use render::{TileRequest, layer_fields, render};
// The issues layer's keys, for the style that draws them.
pub(crate) use issue_layer::{POINT_COUNT, STATUS, VOTES, status_count_key};

/// A `geo` rectangle in degrees as the index's box.
fn bbox_of(rect: geo::Rect<f64>) -> BBox {
    BBox {
        west: rect.min().x,
        south: rect.min().y,
        east: rect.max().x,
        north: rect.max().y,
    }
}

/// Runs tile work (rendering, compressing) on rayon's pool, off the async
/// workers, and waits for it. The render splits a dense tile across that
/// same pool, so the thread that takes the job works on it too: one
/// hand-over per tile instead of a blocking thread that waits on the pool.
///
/// # Errors
/// The message of a panic in `work` (caught: rayon would abort the process).
pub async fn on_cpu_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, result) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        // The request may have gone away; then nobody waits for the tile.
        let _ = done.send(outcome);
    });
    match result.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(panic
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "tile work panicked".to_owned())),
        Err(_) => Err("tile work was dropped".to_owned()),
    }
}

/// Tile buffer in tile units (of 4096): features this close outside a tile are drawn in it too.
pub const BUFFER: u32 = 64;
/// Tile extent in tile units.
pub const EXTENT: u32 = 4096;
/// Cluster grid cell in tile units: 256 of 4096 is 32 px of a 512 px tile,
/// about the distance at which map readers see separate circles.
pub const CLUSTER_CELL: u32 = 256;

/// How tiles are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileSettings {
    /// From this zoom up issues are single points; below it they are clustered.
    pub single_point_zoom: u8,
    /// Bytes the tile cache may hold (0: no cache).
    pub cache_bytes: usize,
}

impl Default for TileSettings {
    fn default() -> Self {
        Self {
            single_point_zoom: 14,
            cache_bytes: 256 << 20,
        }
    }
}

/// The index of a status among the pyramid's groups.
pub(crate) fn status_group(status: IssueStatus) -> usize {
    IssueStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

/// Tile state shared by all requests.
#[derive(Debug)]
pub struct TileService {
    /// `None` when clustering is off (`single_point_zoom` 0).
    pyramid: Option<RwLock<ClusterPyramid>>,
    /// How issues are clustered below the single-point zoom, by the pyramid
    /// and on the fly for filtered tiles.
    cluster_options: ClusterOptions,
    /// Rendered tiles.
    pub cache: TileCache,
    /// Settings.
    pub settings: TileSettings,
}

impl TileService {
    /// Builds the cluster options and the cluster pyramid from the issues
    /// already in the index.
    pub fn new(index: &SpatialIndex, settings: TileSettings) -> qala_tiles::Result<Self> {
        // Clustered zooms are those below the single-point zoom; tiles stop at
        // MAX_ZOOM, and so does the pyramid.
        let cluster_options = ClusterOptions {
            max_cluster_zoom: settings
                .single_point_zoom
                .min(MAX_ZOOM + 1)
                .saturating_sub(1),
            cell_px: CLUSTER_CELL,
            extent: EXTENT,
        };
        let pyramid = if settings.single_point_zoom == 0 {
            None
        } else {
            Some(RwLock::new(build_pyramid(&cluster_options, index)?))
        };
        Ok(Self {
            pyramid,
            cluster_options,
            cache: TileCache::new(settings.cache_bytes),
            settings,
        })
    }

    /// Cluster options in force (also what filtered cluster tiles use).
    pub fn cluster_options(&self) -> &ClusterOptions {
        &self.cluster_options
    }

    /// Clustering happens at this zoom.
    pub fn clusters_at(&self, z: u8) -> bool {
        z < self.settings.single_point_zoom
    }

    /// Records a committed new issue: pyramid, then the cached tiles it shows in.
    pub fn issue_added(&self, entry: &IssueEntry) {
        if let Some(pyramid) = &self.pyramid
            && let Err(e) = insert(&mut pyramid.write(), entry)
        {
            tracing::error!(error = %e, id = entry.id, "issue not added to the cluster pyramid");
        }
        self.cache
            .invalidate(LayerName::Issues, tiles_showing_point(entry));
    }

    /// Records a committed change to an indexed issue (status, category,
    /// department, location): the pyramid's counts, then the cached tiles
    /// showing it where it was and where it is. A moved issue (a corrected
    /// location) rebuilds the pyramid from `index`, which already holds it
    /// at its new place: a cell keeps its smallest id, not every id, so a
    /// point cannot be taken out of its old cells (corrections are rare).
    /// The caller holds the index lock across this.
    pub fn issue_changed(&self, old: &IssueEntry, new: &IssueEntry, index: &SpatialIndex) {
        let moved = old.location != new.location;
        if let Some(pyramid) = &self.pyramid {
            if moved {
                match build_pyramid(&self.cluster_options, index) {
                    Ok(rebuilt) => *pyramid.write() = rebuilt,
                    Err(e) => {
                        tracing::error!(error = %e, id = new.id, "cluster pyramid not rebuilt after a move");
                    }
                }
            } else if old.status != new.status {
                let id = u64::try_from(new.id).unwrap_or(0);
                let changed = pyramid.write().change_group(
                    id,
                    new.location.lon(),
                    new.location.lat(),
                    status_group(old.status),
                    status_group(new.status),
                );
                if let Err(e) = changed {
                    tracing::error!(error = %e, id = new.id, "issue change not applied to the cluster pyramid");
                }
            }
        }
        let mut tiles = tiles_showing_point(old);
        if moved {
            tiles.extend(tiles_showing_point(new));
        }
        self.cache.invalidate(LayerName::Issues, tiles);
    }

    /// Records an issue gone from the index (hidden by a moderator): the
    /// pyramid is rebuilt from `index` (a cell keeps its smallest id, not
    /// every id, so a point cannot be taken out of it; moderation is rare),
    /// then the cached tiles that showed the issue are dropped. The caller
    /// holds the index lock across this, so no write lands in between.
    pub fn issue_removed(&self, entry: &IssueEntry, index: &SpatialIndex) {
        if let Some(pyramid) = &self.pyramid {
            match build_pyramid(&self.cluster_options, index) {
                Ok(rebuilt) => *pyramid.write() = rebuilt,
                Err(e) => {
                    tracing::error!(error = %e, id = entry.id, "cluster pyramid not rebuilt after a removal");
                }
            }
        }
        self.cache
            .invalidate(LayerName::Issues, tiles_showing_point(entry));
    }

    /// The pyramid (for rendering unfiltered cluster tiles).
    pub(crate) fn pyramid(&self) -> Option<&RwLock<ClusterPyramid>> {
        self.pyramid.as_ref()
    }
}

/// A pyramid of every issue in the index.
fn build_pyramid(
    options: &ClusterOptions,
    index: &SpatialIndex,
) -> qala_tiles::Result<ClusterPyramid> {
    let groups = IssueStatus::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let mut pyramid = ClusterPyramid::new(options.clone(), groups)?;
    let points: Vec<_> = index
        .issues
        .matching(qala_geodata::Area::Everywhere, &Default::default())
        .map(pyramid_point)
        .collect();
    pyramid.insert_all(&points)?;
    Ok(pyramid)
}

fn insert(pyramid: &mut ClusterPyramid, e: &IssueEntry) -> qala_tiles::Result<()> {
    let (id, lon, lat, group) = pyramid_point(e);
    pyramid.insert(id, lon, lat, group)
}

/// An issue as the pyramid takes it: `(id, lon, lat, group)`.
fn pyramid_point(e: &IssueEntry) -> (u64, f64, f64, usize) {
    (
        u64::try_from(e.id).unwrap_or(0),
        e.location.lon(),
        e.location.lat(),
        status_group(e.status),
    )
}

/// Every tile, at every zoom, whose buffered area contains the point.
fn tiles_showing_point(entry: &IssueEntry) -> Vec<TileId> {
    let (lon, lat) = (entry.location.lon(), entry.location.lat());
    let point = geo::Rect::new(
        geo::coord! { x: lon, y: lat },
        geo::coord! { x: lon, y: lat },
    );
    (0..=MAX_ZOOM)
        .filter_map(|z| qala_tiles::tiles_covering_buffered(point, z, BUFFER, EXTENT).ok())
        .flatten()
        .collect()
}
