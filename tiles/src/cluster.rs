//! Grid clustering of points for low zooms.
//!
//! The target tile's pixel space is cut into square cells of
//! [`ClusterOptions::cell_px`] tile units, aligned to the tile's corner. Only
//! points *inside* the tile (`0 <= x, y < extent`, no buffer) take part, so a
//! point is counted in exactly one tile per zoom and neighbouring tiles never
//! share a cluster. Each non-empty cell gives one [`ClusterItem`]: a
//! [`Cluster`] at the mean position of its members with their count and
//! their counts per group key, or, for a cell holding exactly one point, a
//! [`SinglePoint`] with that point's id so the caller can emit its full
//! properties.
//!
//! The group key is an opaque short string (for Qala, an issue status); the
//! crate only counts it.

use std::collections::HashMap;

use geo::Coord;

use crate::error::{Result, TileError};
use crate::mercator::lonlat_to_world;
use crate::tile_id::TileId;

/// How to cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// Cell size in tile units (of `extent`). 64 of 4096 is 4 screen pixels
    /// of a 256 px tile. The last row / column of cells is narrower when
    /// `cell_px` does not divide `extent`.
    pub cell_px: u32,
    /// The tile extent the output positions are in (must match the tile's).
    pub extent: u32,
    /// The highest zoom at which points are clustered; above it
    /// [`cluster_points`] returns every point as a [`SinglePoint`].
    pub max_cluster_zoom: u8,
}

impl Default for ClusterOptions {
    /// 64-unit cells of a 4096 extent, clustering up to z13 (z14+ shows single points).
    fn default() -> Self {
        Self {
            cell_px: 64,
            extent: 4096,
            max_cluster_zoom: 13,
        }
    }
}

impl ClusterOptions {
    /// Whether points are clustered at zoom `z`.
    #[must_use]
    pub fn clusters_at(&self, z: u8) -> bool {
        z <= self.max_cluster_zoom
    }

    fn validate(&self) -> Result<()> {
        if self.extent == 0 || self.cell_px == 0 || self.cell_px > self.extent {
            return Err(TileError::InvalidOptions(format!(
                "cluster cell_px must be in 1..=extent and extent > 0 (cell_px={}, extent={})",
                self.cell_px, self.extent
            )));
        }
        Ok(())
    }
}

/// One input point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterPoint<'a> {
    /// The caller's id for the point (carried through for single points).
    pub id: u64,
    /// Longitude in degrees (WGS84).
    pub lon: f64,
    /// Latitude in degrees (WGS84).
    pub lat: f64,
    /// A small category key (such as a status) to count per cluster.
    pub group: &'a str,
}

/// One output item: a single point or a cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterItem {
    /// A cell that holds exactly one point (or any point above `max_cluster_zoom`).
    Single(SinglePoint),
    /// A cell that holds two or more points.
    Cluster(Cluster),
}

impl ClusterItem {
    /// The position in tile pixels (x right, y down).
    #[must_use]
    pub fn position(&self) -> Coord<f64> {
        match self {
            Self::Single(s) => s.position,
            Self::Cluster(c) => c.position,
        }
    }

    /// How many input points this item stands for.
    #[must_use]
    pub fn point_count(&self) -> u64 {
        match self {
            Self::Single(_) => 1,
            Self::Cluster(c) => c.point_count,
        }
    }
}

/// A point that is shown on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct SinglePoint {
    /// The input point's id.
    pub id: u64,
    /// Its position in tile pixels (x right, y down).
    pub position: Coord<f64>,
    /// Its group key.
    pub group: String,
}

/// Two or more points shown as one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The mean of the members' positions in tile pixels (x right, y down);
    /// always inside the cell, hence inside the tile.
    pub position: Coord<f64>,
    /// The number of member points.
    pub point_count: u64,
    /// Member counts per group key, sorted by key; they add up to `point_count`.
    pub groups: Vec<(String, u64)>,
}

/// Clusters the points that fall inside `tile`; points outside it are ignored.
/// A point on a tile edge belongs to the tile east / south of it, except on
/// the world's east / south edge (lon 180, lat ≤ -85.0511), which belongs to
/// the last column / row, as in [`TileId::containing`].
///
/// The items come in cell order (row by row, north to south); their
/// [`ClusterItem::point_count`]s add up to the number of input points inside
/// the tile. Above `options.max_cluster_zoom` every point inside the tile is
/// returned as a [`SinglePoint`], in input order.
///
/// ```
/// use qala_tiles::cluster::{cluster_points, ClusterItem, ClusterOptions, ClusterPoint};
/// use qala_tiles::TileId;
/// let tile = TileId::containing(76.9, 43.25, 8)?;
/// let points = [
///     ClusterPoint { id: 1, lon: 76.9000, lat: 43.2500, group: "open" },
///     ClusterPoint { id: 2, lon: 76.9001, lat: 43.2501, group: "fixed" },
///     ClusterPoint { id: 3, lon: 0.0, lat: 0.0, group: "open" }, // not in this tile
/// ];
/// let items = cluster_points(tile, points, &ClusterOptions::default())?;
/// let [ClusterItem::Cluster(c)] = items.as_slice() else { panic!("one cluster") };
/// assert_eq!(c.point_count, 2);
/// assert_eq!(c.groups, vec![("fixed".to_string(), 1), ("open".to_string(), 1)]);
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
///
/// # Errors
/// [`TileError::InvalidOptions`] if `cell_px` is 0 or larger than `extent`.
pub fn cluster_points<'a>(
    tile: TileId,
    points: impl IntoIterator<Item = ClusterPoint<'a>>,
    options: &ClusterOptions,
) -> Result<Vec<ClusterItem>> {
    options.validate()?;
    let projector = Projector::new(tile, options.extent);
    if !options.clusters_at(tile.z()) {
        return Ok(points
            .into_iter()
            .filter_map(|p| {
                projector.pixel(p.lon, p.lat).map(|position| {
                    ClusterItem::Single(SinglePoint {
                        id: p.id,
                        position,
                        group: p.group.to_owned(),
                    })
                })
            })
            .collect());
    }

    let cells_per_side = options.extent.div_ceil(options.cell_px);
    let cell_px = f64::from(options.cell_px);
    let mut grid = Grid::new(cells_per_side);
    let mut groups = Interner::default();
    for p in points {
        let Some(pos) = projector.pixel(p.lon, p.lat) else {
            continue;
        };
        // pos is in [0, extent] (extent only on the world's east / south
        // edge), so the min keeps both cell indices < cells_per_side.
        let cx = ((pos.x / cell_px) as u32).min(cells_per_side - 1);
        let cy = ((pos.y / cell_px) as u32).min(cells_per_side - 1);
        let group = groups.intern(p.group);
        grid.cell(cy * cells_per_side + cx).add(pos, p.id, group);
    }
    Ok(grid.into_items(&groups))
}

/// Projects lon/lat into the tile's pixels, rejecting points outside the tile.
struct Projector {
    scale: f64,
    tx: f64,
    ty: f64,
    extent: f64,
    /// The largest x / y accepted: just below `extent`, except on the east /
    /// south edge of the world, which belongs to the last column / row (as in
    /// [`TileId::containing`]) so no point is lost.
    max_x: f64,
    max_y: f64,
    /// A loose lon/lat box around the tile: a cheap reject before the
    /// transcendental projection (the exact test is done in pixels).
    lon: (f64, f64),
    lat: (f64, f64),
}

impl Projector {
    fn new(tile: TileId, extent: u32) -> Self {
        let b = tile.lonlat_bounds();
        let last = (1_u32 << tile.z()) - 1;
        let e = f64::from(extent);
        let below_e = e.next_down();
        let slack_lon = b.width() * 1e-6;
        let slack_lat = b.height() * 1e-6 + 1e-9;
        Self {
            scale: f64::from(1_u32 << tile.z()),
            tx: f64::from(tile.x()),
            ty: f64::from(tile.y()),
            extent: e,
            max_x: if tile.x() == last { e } else { below_e },
            max_y: if tile.y() == last { e } else { below_e },
            lon: (b.min().x - slack_lon, b.max().x + slack_lon),
            // The top and bottom tile rows reach the poles after clamping.
            lat: (
                if tile.y() == last {
                    f64::NEG_INFINITY
                } else {
                    b.min().y - slack_lat
                },
                if tile.y() == 0 {
                    f64::INFINITY
                } else {
                    b.max().y + slack_lat
                },
            ),
        }
    }

    fn pixel(&self, lon: f64, lat: f64) -> Option<Coord<f64>> {
        // NaN fails these comparisons too, so it is rejected here.
        if !(lon >= self.lon.0 && lon <= self.lon.1 && lat >= self.lat.0 && lat <= self.lat.1) {
            return None;
        }
        let (wx, wy) = lonlat_to_world(lon, lat);
        let x = (wx * self.scale - self.tx) * self.extent;
        let y = (wy * self.scale - self.ty) * self.extent;
        (x >= 0.0 && x <= self.max_x && y >= 0.0 && y <= self.max_y).then_some(Coord { x, y })
    }
}

/// Group keys numbered in order of first appearance. A short linear scan
/// beats hashing for the handful of keys expected; a map takes over beyond.
#[derive(Default)]
struct Interner {
    keys: Vec<String>,
    map: HashMap<String, u32>,
}

impl Interner {
    const LINEAR_MAX: usize = 16;

    fn intern(&mut self, key: &str) -> u32 {
        if self.keys.len() <= Self::LINEAR_MAX {
            if let Some(i) = self.keys.iter().position(|k| k == key) {
                return i as u32;
            }
        } else if let Some(&i) = self.map.get(key) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(key.to_owned());
        if self.keys.len() > Self::LINEAR_MAX {
            if self.map.is_empty() {
                for (j, k) in self.keys.iter().enumerate() {
                    self.map.insert(k.clone(), j as u32);
                }
            } else {
                self.map.insert(key.to_owned(), i);
            }
        }
        i
    }
}

#[derive(Clone, Copy)]
struct Cell {
    sum: Coord<f64>,
    count: u64,
    /// The first member (enough to describe a one-point cell).
    first_pos: Coord<f64>,
    first_id: u64,
    first_group: u32,
    /// Index into `Grid::groups` of this cell's per-group counts, once it has two members.
    groups: Option<usize>,
}

/// Cells by index: a dense lookup table when the grid is small (the default
/// 64×64), a hash map otherwise (tiny cells would make the table huge).
struct Grid {
    slots: Slots,
    cells: Vec<(u32, Cell)>,
    /// Per-cell group counts as `(group, count)`, a short list per cell.
    groups: Vec<Vec<(u32, u64)>>,
}

enum Slots {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl Grid {
    const DENSE_MAX: u32 = 1 << 20;

    fn new(cells_per_side: u32) -> Self {
        let n = cells_per_side.saturating_mul(cells_per_side);
        let slots = if n <= Self::DENSE_MAX {
            Slots::Dense(vec![u32::MAX; n as usize])
        } else {
            Slots::Sparse(HashMap::new())
        };
        Self {
            slots,
            cells: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn cell(&mut self, index: u32) -> CellRef<'_> {
        let next = self.cells.len() as u32;
        let slot = match &mut self.slots {
            Slots::Dense(v) => {
                let s = &mut v[index as usize];
                if *s == u32::MAX {
                    *s = next;
                }
                *s
            }
            Slots::Sparse(m) => *m.entry(index).or_insert(next),
        };
        if slot == next {
            self.cells.push((
                index,
                Cell {
                    sum: Coord { x: 0.0, y: 0.0 },
                    count: 0,
                    first_pos: Coord { x: 0.0, y: 0.0 },
                    first_id: 0,
                    first_group: 0,
                    groups: None,
                },
            ));
        }
        CellRef {
            grid: self,
            slot: slot as usize,
        }
    }

    fn into_items(mut self, groups: &Interner) -> Vec<ClusterItem> {
        self.cells.sort_unstable_by_key(|(index, _)| *index);
        self.cells
            .iter()
            .map(|(_, cell)| {
                if cell.count == 1 {
                    return ClusterItem::Single(SinglePoint {
                        id: cell.first_id,
                        position: cell.first_pos,
                        group: groups.keys[cell.first_group as usize].clone(),
                    });
                }
                let n = cell.count as f64;
                let mut counts: Vec<(String, u64)> = cell
                    .groups
                    .map(|g| {
                        self.groups[g]
                            .iter()
                            .map(|&(k, c)| (groups.keys[k as usize].clone(), c))
                            .collect()
                    })
                    .unwrap_or_default();
                counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                ClusterItem::Cluster(Cluster {
                    position: Coord {
                        x: cell.sum.x / n,
                        y: cell.sum.y / n,
                    },
                    point_count: cell.count,
                    groups: counts,
                })
            })
            .collect()
    }
}

struct CellRef<'g> {
    grid: &'g mut Grid,
    slot: usize,
}

impl CellRef<'_> {
    fn add(self, pos: Coord<f64>, id: u64, group: u32) {
        let (_, cell) = &mut self.grid.cells[self.slot];
        cell.sum.x += pos.x;
        cell.sum.y += pos.y;
        cell.count += 1;
        if cell.count == 1 {
            cell.first_pos = pos;
            cell.first_id = id;
            cell.first_group = group;
            return;
        }
        let g = match cell.groups {
            Some(g) => g,
            None => {
                let g = self.grid.groups.len();
                self.grid.groups.push(vec![(cell.first_group, 1)]);
                cell.groups = Some(g);
                g
            }
        };
        let counts = &mut self.grid.groups[g];
        match counts.iter_mut().find(|(k, _)| *k == group) {
            Some((_, c)) => *c += 1,
            None => counts.push((group, 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::tile_id::lonlat_to_tile_pixel;

    const STATUSES: [&str; 3] = ["open", "in_progress", "fixed"];

    fn random_points(n: usize, seed: u64) -> Vec<(u64, f64, f64, &'static str)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                (
                    i as u64,
                    rng.random_range(76.0..78.0),
                    rng.random_range(42.5..44.0),
                    STATUSES[rng.random_range(0..STATUSES.len())],
                )
            })
            .collect()
    }

    fn inputs(pts: &[(u64, f64, f64, &'static str)]) -> Vec<ClusterPoint<'static>> {
        pts.iter()
            .map(|&(id, lon, lat, group)| ClusterPoint {
                id,
                lon,
                lat,
                group,
            })
            .collect()
    }

    #[test]
    fn cluster_counts_add_up_to_the_points_inside_the_tile() -> Result<()> {
        let pts = random_points(20_000, 7);
        for z in [6_u8, 8, 10, 12] {
            let opts = ClusterOptions::default();
            // A tile in the middle of the cloud, and its neighbour.
            let centre = TileId::containing(77.0, 43.25, z)?;
            for tile in [centre, TileId::new(z, centre.x() + 1, centre.y())?] {
                let inside = pts
                    .iter()
                    .filter(|&&(_, lon, lat, _)| {
                        let (x, y) = lonlat_to_tile_pixel(lon, lat, tile, 4096);
                        (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)
                    })
                    .count() as u64;
                let items = cluster_points(tile, inputs(&pts), &opts)?;
                let total: u64 = items.iter().map(ClusterItem::point_count).sum();
                assert_eq!(total, inside, "z{z} {tile}");
                for item in &items {
                    if let ClusterItem::Cluster(c) = item {
                        assert!(c.point_count >= 2);
                        let by_group: u64 = c.groups.iter().map(|(_, n)| n).sum();
                        assert_eq!(by_group, c.point_count);
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn neighbouring_tiles_share_no_point() -> Result<()> {
        let pts = random_points(5_000, 11);
        let z = 9;
        let covering = crate::tile_id::tiles_covering(
            geo::Rect::new(
                geo::coord! { x: 76.0, y: 42.5 },
                geo::coord! { x: 78.0, y: 44.0 },
            ),
            z,
        )?;
        let opts = ClusterOptions::default();
        let mut total = 0;
        for tile in covering {
            total += cluster_points(tile, inputs(&pts), &opts)?
                .iter()
                .map(ClusterItem::point_count)
                .sum::<u64>();
        }
        assert_eq!(total, pts.len() as u64);
        Ok(())
    }

    #[test]
    fn a_lone_point_in_its_cell_comes_back_with_its_id() -> Result<()> {
        let tile = TileId::containing(76.9, 43.25, 10)?;
        let items = cluster_points(
            tile,
            [ClusterPoint {
                id: 42,
                lon: 76.9,
                lat: 43.25,
                group: "open",
            }],
            &ClusterOptions::default(),
        )?;
        let [ClusterItem::Single(s)] = items.as_slice() else {
            panic!("expected one single point, got {items:?}");
        };
        assert_eq!((s.id, s.group.as_str()), (42, "open"));
        let (x, y) = lonlat_to_tile_pixel(76.9, 43.25, tile, 4096);
        assert!((s.position.x - x).abs() < 1e-9 && (s.position.y - y).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn a_cluster_sits_at_the_mean_of_its_members_inside_its_cell() -> Result<()> {
        let tile = TileId::new(1, 0, 0)?;
        let opts = ClusterOptions {
            cell_px: 4096,
            ..ClusterOptions::default()
        };
        let pts = [(1, -170.0, 80.0), (2, -10.0, 1.0), (3, -90.0, 40.0)];
        let items = cluster_points(
            tile,
            pts.iter().map(|&(id, lon, lat)| ClusterPoint {
                id,
                lon,
                lat,
                group: "g",
            }),
            &opts,
        )?;
        let [ClusterItem::Cluster(c)] = items.as_slice() else {
            panic!("one cell covers the tile");
        };
        let mean = pts.iter().fold((0.0, 0.0), |(sx, sy), &(_, lon, lat)| {
            let (x, y) = lonlat_to_tile_pixel(lon, lat, tile, 4096);
            (sx + x / 3.0, sy + y / 3.0)
        });
        assert!((c.position.x - mean.0).abs() < 1e-6 && (c.position.y - mean.1).abs() < 1e-6);
        assert_eq!(c.groups, vec![("g".to_string(), 3)]);
        Ok(())
    }

    #[test]
    fn above_the_max_cluster_zoom_every_point_is_single() -> Result<()> {
        let pts = random_points(2_000, 3);
        let tile = TileId::containing(77.0, 43.25, 14)?;
        let items = cluster_points(tile, inputs(&pts), &ClusterOptions::default())?;
        assert!(items.iter().all(|i| matches!(i, ClusterItem::Single(_))));
        Ok(())
    }

    #[test]
    fn many_group_keys_are_counted_correctly() -> Result<()> {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
        let tile = TileId::new(0, 0, 0)?;
        let opts = ClusterOptions {
            cell_px: 4096,
            ..ClusterOptions::default()
        };
        let items = cluster_points(
            tile,
            (0..400_u64).map(|i| ClusterPoint {
                id: i,
                lon: 10.0,
                lat: 10.0,
                group: &keys[(i % 40) as usize],
            }),
            &opts,
        )?;
        let [ClusterItem::Cluster(c)] = items.as_slice() else {
            panic!("one cluster");
        };
        assert_eq!(c.groups.len(), 40);
        assert!(c.groups.iter().all(|(_, n)| *n == 10));
        assert_eq!(c.groups[0].0, "k00");
        Ok(())
    }

    #[test]
    fn zero_cell_size_is_rejected() -> Result<()> {
        let tile = TileId::new(0, 0, 0)?;
        let opts = ClusterOptions {
            cell_px: 0,
            ..ClusterOptions::default()
        };
        assert!(matches!(
            cluster_points(tile, [], &opts),
            Err(TileError::InvalidOptions(_))
        ));
        Ok(())
    }

    #[test]
    fn points_on_the_east_and_south_edges_of_the_world_are_kept() -> Result<()> {
        let corner = ClusterPoint {
            id: 1,
            lon: 180.0,
            lat: -90.0,
            group: "g",
        };
        let tile = TileId::containing(corner.lon, corner.lat, 3)?;
        assert_eq!(tile, TileId::new(3, 7, 7)?);
        let items = cluster_points(tile, [corner], &ClusterOptions::default())?;
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].position(),
            Coord {
                x: 4096.0,
                y: 4096.0
            }
        );
        // … and is not counted by the western neighbour at the antimeridian.
        let west = cluster_points(TileId::new(3, 0, 7)?, [corner], &ClusterOptions::default())?;
        assert!(west.is_empty());
        Ok(())
    }

    #[test]
    fn points_in_the_top_row_beyond_max_latitude_are_clamped_into_it() -> Result<()> {
        let tile = TileId::new(3, 4, 0)?;
        let items = cluster_points(
            tile,
            [ClusterPoint {
                id: 1,
                lon: 1.0,
                lat: 89.9,
                group: "g",
            }],
            &ClusterOptions::default(),
        )?;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].position().y, 0.0);
        Ok(())
    }
}
