//! A cluster pyramid: the grid cells of [`cluster_points`](crate::cluster_points)
//! kept up to date for every clustering zoom at once.
//!
//! Clustering a low-zoom tile from scratch visits every point under it (a
//! million for a city-wide z8 tile). The pyramid instead keeps, for each zoom
//! up to `max_cluster_zoom`, the aggregate of every non-empty cell (count,
//! coordinate sums, counts per group, smallest id), updated in O(zooms) per
//! inserted point, so a cluster tile is at most `(extent / cell_px)²` lookups.
//! Cells are aligned with tile cells (tile origins are multiples of the
//! extent, and `cell_px` divides it), so the output is the same clustering
//! `cluster_points` computes for the same points.

use std::collections::HashMap;

/// The cells of one zoom. foldhash rather than std's SipHash: building the
/// pyramid of ten million issues takes 14 lookups per issue, a large part
/// of the start-up. Seeded at random per map, as std's is, since where
/// issues lie (and so the keys) is up to whoever reports them.
type Level = HashMap<(u32, u32), Cell, foldhash::fast::RandomState>;

use geo::Coord;

use crate::cluster::{Cluster, ClusterItem, ClusterOptions, SinglePoint};
use crate::error::{Result, TileError};
use crate::mercator::lonlat_to_world;
use crate::tile_id::TileId;

#[derive(Debug, Clone, PartialEq)]
struct Cell {
    count: u64,
    /// Sums of world-pixel coordinates at the cell's zoom; the mean is the
    /// cluster's position.
    sum: Coord<f64>,
    /// Smallest member id: the member itself when the cell has only one.
    min_id: u64,
    min_group: usize,
    /// Members per group, indexed like the pyramid's group names.
    groups: Vec<u64>,
}

/// Counts a point into its cell of one zoom's level.
fn add_to(
    level: &mut Level,
    key: (u32, u32),
    px: Coord<f64>,
    id: u64,
    group: usize,
    group_count: usize,
) {
    let cell = level.entry(key).or_insert_with(|| Cell {
        count: 0,
        sum: Coord { x: 0.0, y: 0.0 },
        min_id: id,
        min_group: group,
        groups: vec![0; group_count],
    });
    cell.count += 1;
    cell.sum = cell.sum + px;
    cell.groups[group] += 1;
    if id <= cell.min_id {
        cell.min_id = id;
        cell.min_group = group;
    }
}

/// Cluster aggregates for zooms `0..=max_cluster_zoom`.
///
/// ```
/// use qala_tiles::{ClusterItem, ClusterOptions, TileId};
/// use qala_tiles::pyramid::ClusterPyramid;
///
/// let mut pyramid = ClusterPyramid::new(ClusterOptions::default(), vec!["open".into(), "fixed".into()])?;
/// pyramid.insert(1, 76.945, 43.255, 0)?;
/// pyramid.insert(2, 76.946, 43.256, 1)?;
/// let tile = TileId::containing(76.945, 43.255, 8)?;
/// let items = pyramid.tile(tile).expect("z8 clusters");
/// assert_eq!(items.iter().map(ClusterItem::point_count).sum::<u64>(), 2);
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClusterPyramid {
    options: ClusterOptions,
    group_names: Vec<String>,
    /// `levels[z]`: cells keyed by `(cell x, cell y)` in the world grid at zoom z.
    levels: Vec<Level>,
}

impl ClusterPyramid {
    /// An empty pyramid; points are assigned to one of `group_names` by index.
    ///
    /// # Errors
    /// [`TileError::InvalidOptions`] if `cell_px` does not divide `extent`
    /// (cells would straddle tiles) or the zoom is beyond [`MAX_ZOOM`](crate::MAX_ZOOM).
    pub fn new(options: ClusterOptions, group_names: Vec<String>) -> Result<Self> {
        if options.cell_px == 0
            || !options.extent.is_multiple_of(options.cell_px)
            || options.max_cluster_zoom > crate::MAX_ZOOM
        {
            return Err(TileError::InvalidOptions(format!(
                "a pyramid needs cell_px dividing extent and max_cluster_zoom <= {} (cell_px={}, extent={}, zoom={})",
                crate::MAX_ZOOM,
                options.cell_px,
                options.extent,
                options.max_cluster_zoom
            )));
        }
        let levels = vec![Level::default(); usize::from(options.max_cluster_zoom) + 1];
        Ok(Self {
            options,
            group_names,
            levels,
        })
    }

    /// The options the pyramid clusters with.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    /// World-pixel coordinates at zoom `z` of a point at world coordinates
    /// `world` ([`lonlat_to_world`], computed once per point for all zooms).
    fn world_px(&self, world: (f64, f64), z: usize) -> Coord<f64> {
        let scale = f64::from(1_u32 << z) * f64::from(self.options.extent);
        Coord {
            x: world.0 * scale,
            y: world.1 * scale,
        }
    }

    fn cell_of(&self, px: Coord<f64>, z: usize) -> (u32, u32) {
        let cells_per_side = (1_u64 << z) * u64::from(self.options.extent / self.options.cell_px);
        let last = u32::try_from(cells_per_side - 1).unwrap_or(u32::MAX);
        let cell = f64::from(self.options.cell_px);
        // Saturating float-to-int casts, then the clamp keeps the world's
        // east/south edge in the last cell, as `TileId::containing` does.
        (
            ((px.x / cell) as u32).min(last),
            ((px.y / cell) as u32).min(last),
        )
    }

    fn check(&self, lon: f64, lat: f64, group: usize) -> Result<()> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(TileError::NonFiniteCoordinate { lon, lat });
        }
        if group >= self.group_names.len() {
            return Err(TileError::InvalidOptions(format!(
                "group {group} is not one of the pyramid's groups"
            )));
        }
        Ok(())
    }

    /// Adds a point.
    ///
    /// # Errors
    /// A non-finite coordinate or an unknown group.
    pub fn insert(&mut self, id: u64, lon: f64, lat: f64, group: usize) -> Result<()> {
        self.check(lon, lat, group)?;
        let world = lonlat_to_world(lon, lat);
        for z in 0..self.levels.len() {
            let (key, px) = self.cell_at(world, z);
            add_to(
                &mut self.levels[z],
                key,
                px,
                id,
                group,
                self.group_names.len(),
            );
        }
        Ok(())
    }

    /// Adds many points, as [`insert`](Self::insert) of each in turn would
    /// (the same cells, sums and smallest ids), but one zoom per thread of
    /// the rayon pool: building the pyramid of a million issues at start-up.
    /// Points are `(id, lon, lat, group)`.
    ///
    /// # Errors
    /// A non-finite coordinate or an unknown group; then nothing is added.
    pub fn insert_all(&mut self, points: &[(u64, f64, f64, usize)]) -> Result<()> {
        use rayon::prelude::*;
        for &(_, lon, lat, group) in points {
            self.check(lon, lat, group)?;
        }
        let world: Vec<(f64, f64)> = points
            .par_iter()
            .map(|&(_, lon, lat, _)| lonlat_to_world(lon, lat))
            .collect();
        let mut levels = std::mem::take(&mut self.levels);
        let group_count = self.group_names.len();
        levels.par_iter_mut().enumerate().for_each(|(z, level)| {
            for (&(id, _, _, group), &w) in points.iter().zip(&world) {
                let (key, px) = self.cell_at(w, z);
                add_to(level, key, px, id, group, group_count);
            }
        });
        self.levels = levels;
        Ok(())
    }

    /// The cell at zoom `z` of a point at world coordinates `world`, and the
    /// point's world-pixel position at that zoom.
    fn cell_at(&self, world: (f64, f64), z: usize) -> ((u32, u32), Coord<f64>) {
        let px = self.world_px(world, z);
        (self.cell_of(px, z), px)
    }

    /// Moves a point already in the pyramid from group `from` to group `to`
    /// (an issue whose status changed): the counts per group change, the
    /// cells and their positions do not. `lon`/`lat` must be the position
    /// the point was inserted at.
    ///
    /// # Errors
    /// A non-finite coordinate, an unknown group, or a point that is not in
    /// the pyramid under `from` (nothing is changed then).
    pub fn change_group(
        &mut self,
        id: u64,
        lon: f64,
        lat: f64,
        from: usize,
        to: usize,
    ) -> Result<()> {
        self.check(lon, lat, from)?;
        self.check(lon, lat, to)?;
        let keys: Vec<(u32, u32)> = (0..self.levels.len())
            .map(|z| self.cell_at(lonlat_to_world(lon, lat), z).0)
            .collect();
        // Checked on every level first, so a wrong call changes nothing.
        let present = keys
            .iter()
            .zip(&self.levels)
            .all(|(key, level)| level.get(key).is_some_and(|c| c.groups[from] > 0));
        if !present {
            return Err(TileError::InvalidOptions(format!(
                "point {id} is not in the pyramid under group {from}"
            )));
        }
        for (key, level) in keys.iter().zip(&mut self.levels) {
            if let Some(cell) = level.get_mut(key) {
                cell.groups[from] -= 1;
                cell.groups[to] += 1;
                if cell.min_id == id {
                    cell.min_group = to;
                }
            }
        }
        Ok(())
    }

    /// The clustered items of a tile, in tile pixels, or `None` above the
    /// clustering zooms. Cells with one point come back as that point.
    pub fn tile(&self, tile: TileId) -> Option<Vec<ClusterItem>> {
        let level = self.levels.get(usize::from(tile.z()))?;
        let per_tile = self.options.extent / self.options.cell_px;
        let (x0, y0) = (tile.x() * per_tile, tile.y() * per_tile);
        let origin = Coord {
            x: f64::from(tile.x()) * f64::from(self.options.extent),
            y: f64::from(tile.y()) * f64::from(self.options.extent),
        };
        let mut items = Vec::new();
        for cy in y0..y0 + per_tile {
            for cx in x0..x0 + per_tile {
                let Some(cell) = level.get(&(cx, cy)) else {
                    continue;
                };
                if cell.count == 0 {
                    continue;
                }
                let n = cell.count as f64;
                let position = Coord {
                    x: cell.sum.x / n - origin.x,
                    y: cell.sum.y / n - origin.y,
                };
                items.push(if cell.count == 1 {
                    ClusterItem::Single(SinglePoint {
                        id: cell.min_id,
                        position,
                        group: self.group_names[cell.min_group].clone(),
                    })
                } else {
                    ClusterItem::Cluster(Cluster {
                        position,
                        point_count: cell.count,
                        groups: self
                            .group_names
                            .iter()
                            .zip(&cell.groups)
                            .filter(|(_, c)| **c > 0)
                            .map(|(name, c)| (name.clone(), *c))
                            .collect(),
                    })
                });
            }
        }
        Some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterPoint, cluster_points};
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_pyramid_clusters_like_cluster_points() {
        let groups = ["open".to_string(), "resolved".to_string()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let points: Vec<(u64, f64, f64, usize)> = (1..=5_000)
            .map(|id| {
                (
                    id,
                    rng.random_range(76.75..77.10),
                    rng.random_range(43.15..43.40),
                    rng.random_range(0..2),
                )
            })
            .collect();
        let mut pyramid = ClusterPyramid::new(ClusterOptions::default(), groups.to_vec()).unwrap();
        for (id, lon, lat, g) in &points {
            pyramid.insert(*id, *lon, *lat, *g).unwrap();
        }
        for z in [0, 5, 9, 12, 13] {
            let tile = TileId::containing(76.93, 43.26, z).unwrap();
            let expected = cluster_points(
                tile,
                points.iter().map(|(id, lon, lat, g)| ClusterPoint {
                    id: *id,
                    lon: *lon,
                    lat: *lat,
                    group: &groups[*g],
                }),
                &ClusterOptions::default(),
            )
            .unwrap();
            let got = pyramid.tile(tile).unwrap();
            assert_eq!(got.len(), expected.len(), "z{z}");
            let total: u64 = got.iter().map(ClusterItem::point_count).sum();
            assert_eq!(
                total,
                expected.iter().map(ClusterItem::point_count).sum::<u64>(),
                "z{z}"
            );
            for (a, b) in got.iter().zip(&expected) {
                assert_eq!(a.point_count(), b.point_count(), "z{z}");
                assert!(
                    (a.position().x - b.position().x).abs() < 1e-6
                        && (a.position().y - b.position().y).abs() < 1e-6
                );
            }
        }
        assert!(pyramid.tile(TileId::new(14, 0, 0).unwrap()).is_none());
    }

    #[test]
    fn changing_a_points_group_equals_inserting_it_in_the_new_group() {
        let groups = vec!["open".to_string(), "resolved".to_string()];
        let points = [(1, 76.945, 43.255), (2, 76.946, 43.256), (3, 76.90, 43.22)];
        let mut changed = ClusterPyramid::new(ClusterOptions::default(), groups.clone()).unwrap();
        let mut fresh = ClusterPyramid::new(ClusterOptions::default(), groups).unwrap();
        for (id, lon, lat) in points {
            changed.insert(id, lon, lat, 0).unwrap();
            fresh.insert(id, lon, lat, usize::from(id != 2)).unwrap();
        }
        changed.change_group(1, 76.945, 43.255, 0, 1).unwrap();
        changed.change_group(3, 76.90, 43.22, 0, 1).unwrap();
        // Not under group 0 any more: refused, nothing changes.
        assert!(changed.change_group(3, 76.90, 43.22, 0, 1).is_err());
        assert!(changed.change_group(9, 10.0, 10.0, 0, 1).is_err());
        for z in [0, 8, 12, 13] {
            let tile = TileId::containing(76.945, 43.255, z).unwrap();
            assert_eq!(
                format!("{:?}", changed.tile(tile)),
                format!("{:?}", fresh.tile(tile)),
                "z{z}"
            );
        }
    }

    #[test]
    fn adding_points_all_at_once_equals_adding_them_one_by_one() {
        let groups = vec!["open".to_string(), "resolved".to_string()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Ids out of order and repeated positions, so sums and smallest ids
        // depend on the order cells are filled in.
        let points: Vec<(u64, f64, f64, usize)> = (0..3_000)
            .map(|_| {
                (
                    rng.random_range(1..1_000),
                    rng.random_range(76.9..76.95),
                    rng.random_range(43.22..43.26),
                    rng.random_range(0..2),
                )
            })
            .chain([(7, 76.93, 43.24, 1), (3, 76.93, 43.24, 0)])
            .collect();
        let mut one_by_one =
            ClusterPyramid::new(ClusterOptions::default(), groups.clone()).unwrap();
        for &(id, lon, lat, g) in &points {
            one_by_one.insert(id, lon, lat, g).unwrap();
        }
        let mut at_once = ClusterPyramid::new(ClusterOptions::default(), groups).unwrap();
        at_once.insert_all(&points).unwrap();
        let sorted = |p: &ClusterPyramid| -> Vec<std::collections::BTreeMap<(u32, u32), Cell>> {
            p.levels
                .iter()
                .map(|l| l.clone().into_iter().collect())
                .collect()
        };
        assert_eq!(sorted(&at_once), sorted(&one_by_one));
        // A bad point anywhere refuses the whole batch.
        let mut refused = ClusterPyramid::new(ClusterOptions::default(), vec!["a".into()]).unwrap();
        assert!(
            refused
                .insert_all(&[(1, 76.9, 43.2, 0), (2, f64::NAN, 0.0, 0)])
                .is_err()
        );
        assert!(refused.levels.iter().all(HashMap::is_empty));
    }

    #[test]
    fn bad_points_are_refused() {
        let mut pyramid = ClusterPyramid::new(ClusterOptions::default(), vec!["a".into()]).unwrap();
        assert!(pyramid.insert(1, f64::NAN, 0.0, 0).is_err());
        assert!(pyramid.insert(1, 0.0, 0.0, 3).is_err());
    }
}
