//! Tile addresses (`z/x/y`, XYZ scheme: row 0 is the northernmost) and the
//! maths that ties them to coordinates: tile bounds, projection of lon/lat
//! into a tile's pixel space, the tile containing a point and the tiles
//! covering a bounding box.

use std::fmt;

use geo::{Coord, Rect};

use crate::error::{Result, TileError};
use crate::mercator::{lonlat_to_world, world_to_lonlat};

/// The highest zoom level accepted by [`TileId::new`].
///
/// At z22 a tile is about 10 m wide at the equator and `2^22 · 4096 = 2^34`
/// pixels span the world, which `f64` still represents exactly.
pub const MAX_ZOOM: u8 = 22;

/// A validated tile address: zoom `z`, column `x` (west to east) and row `y`
/// (north to south), with `x, y < 2^z`.
///
/// ```
/// use qala_tiles::TileId;
/// let tile = TileId::new(3, 7, 0)?;
/// assert_eq!(tile.to_string(), "3/7/0");
/// assert!(TileId::new(3, 8, 0).is_err());
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// Validates and builds a tile address.
    ///
    /// # Errors
    /// [`TileError::ZoomOutOfRange`] if `z > MAX_ZOOM`,
    /// [`TileError::ColumnOutOfRange`] / [`TileError::RowOutOfRange`] if `x` / `y` is not below `2^z`.
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z, max: MAX_ZOOM });
        }
        let limit = 1_u64 << z;
        if u64::from(x) >= limit {
            return Err(TileError::ColumnOutOfRange { z, x, limit });
        }
        if u64::from(y) >= limit {
            return Err(TileError::RowOutOfRange { z, y, limit });
        }
        Ok(Self { z, x, y })
    }

    /// The zoom level.
    #[must_use]
    pub fn z(self) -> u8 {
        self.z
    }

    /// The column, counted from the antimeridian (lon -180) eastwards.
    #[must_use]
    pub fn x(self) -> u32 {
        self.x
    }

    /// The row, counted from the top (lat +85.05…) southwards.
    #[must_use]
    pub fn y(self) -> u32 {
        self.y
    }

    /// The number of tiles along one side of the world at zoom `z` (`2^z`).
    ///
    /// # Errors
    /// [`TileError::ZoomOutOfRange`] if `z > MAX_ZOOM`.
    pub fn tiles_per_side(z: u8) -> Result<u32> {
        check_zoom(z)?;
        Ok(1 << z)
    }

    /// The tile that contains `(lon, lat)` at zoom `z`.
    ///
    /// Latitude is clamped to `±MAX_LATITUDE` and longitude to `[-180, 180]`;
    /// points on the east edge (lon 180) or bottom edge belong to the last
    /// column / row, every other point on a tile edge to the tile east / south of it.
    ///
    /// ```
    /// use qala_tiles::TileId;
    /// let almaty = TileId::containing(76.9, 43.25, 8)?;
    /// assert_eq!((almaty.x(), almaty.y()), (182, 93));
    /// # Ok::<(), qala_tiles::TileError>(())
    /// ```
    ///
    /// # Errors
    /// [`TileError::NonFiniteCoordinate`] for NaN / infinite input,
    /// [`TileError::ZoomOutOfRange`] if `z > MAX_ZOOM`.
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self> {
        check_finite(lon, lat)?;
        check_zoom(z)?;
        let (wx, wy) = lonlat_to_world(lon.clamp(-180.0, 180.0), lat);
        let n = 1_u32 << z;
        Ok(Self {
            z,
            x: world_to_index(wx, n),
            y: world_to_index(wy, n),
        })
    }

    /// The tile's bounds in degrees (`x` = lon, `y` = lat; `min` is the south-west corner).
    ///
    /// ```
    /// use qala_tiles::TileId;
    /// let b = TileId::new(1, 0, 0)?.lonlat_bounds();
    /// assert_eq!((b.min().x, b.max().x), (-180.0, 0.0));
    /// assert!((b.max().y - 85.051_128_78).abs() < 1e-6 && b.min().y.abs() < 1e-9);
    /// # Ok::<(), qala_tiles::TileError>(())
    /// ```
    #[must_use]
    pub fn lonlat_bounds(self) -> Rect<f64> {
        self.lonlat_bounds_buffered(0, 1)
    }

    /// The tile's bounds in degrees grown by `buffer` pixels of a tile with
    /// `extent` pixels per side (clamped to the world). This is the envelope
    /// to query a spatial index with so features in the buffer are not lost.
    #[must_use]
    pub fn lonlat_bounds_buffered(self, buffer: u32, extent: u32) -> Rect<f64> {
        let (wx0, wy0, wx1, wy1) = self.world_bounds();
        let margin = world_margin(self.z, buffer, extent);
        let (lon0, lat1) = world_to_lonlat((wx0 - margin).max(0.0), (wy0 - margin).max(0.0));
        let (lon1, lat0) = world_to_lonlat((wx1 + margin).min(1.0), (wy1 + margin).min(1.0));
        Rect::new(Coord { x: lon0, y: lat0 }, Coord { x: lon1, y: lat1 })
    }

    /// Projects `(lon, lat)` into this tile's pixel space; see [`lonlat_to_tile_pixel`].
    #[must_use]
    pub fn pixel(self, lon: f64, lat: f64, extent: u32) -> (f64, f64) {
        lonlat_to_tile_pixel(lon, lat, self, extent)
    }

    /// `(west, north, east, south)` in world units (y down).
    fn world_bounds(self) -> (f64, f64, f64, f64) {
        let n = f64::from(1_u32 << self.z);
        (
            f64::from(self.x) / n,
            f64::from(self.y) / n,
            f64::from(self.x + 1) / n,
            f64::from(self.y + 1) / n,
        )
    }
}

impl fmt::Display for TileId {
    /// Formats as `z/x/y`, the order used in tile URLs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// Projects `(lon, lat)` degrees into the pixel space of `tile`: x grows right
/// (east), **y grows down** (south), `(0, 0)` is the tile's north-west corner
/// and `(extent, extent)` its south-east corner. Points outside the tile give
/// coordinates outside `[0, extent]`; latitude is clamped to `±MAX_LATITUDE`.
///
/// ```
/// use qala_tiles::{lonlat_to_tile_pixel, TileId};
/// let (x, y) = lonlat_to_tile_pixel(0.0, 0.0, TileId::new(1, 1, 1)?, 4096);
/// assert!(x.abs() < 1e-9 && y.abs() < 1e-9); // (0, 0) is that tile's top-left corner
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[must_use]
pub fn lonlat_to_tile_pixel(lon: f64, lat: f64, tile: TileId, extent: u32) -> (f64, f64) {
    let (wx, wy) = lonlat_to_world(lon, lat);
    world_to_tile_pixel(wx, wy, tile, extent)
}

/// Like [`lonlat_to_tile_pixel`], from world coordinates (the unit square,
/// y down: [`lonlat_to_world`]) for callers that keep positions projected.
/// The result is bit for bit the same as projecting from `(lon, lat)`.
///
/// ```
/// use qala_tiles::{lonlat_to_tile_pixel, world_to_tile_pixel, TileId};
/// use qala_tiles::mercator::lonlat_to_world;
/// let tile = TileId::containing(76.95, 43.24, 14)?;
/// let (wx, wy) = lonlat_to_world(76.95, 43.24);
/// assert_eq!(world_to_tile_pixel(wx, wy, tile, 4096), lonlat_to_tile_pixel(76.95, 43.24, tile, 4096));
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[must_use]
pub fn world_to_tile_pixel(wx: f64, wy: f64, tile: TileId, extent: u32) -> (f64, f64) {
    let n = f64::from(1_u32 << tile.z);
    let e = f64::from(extent);
    (
        (wx * n - f64::from(tile.x)) * e,
        (wy * n - f64::from(tile.y)) * e,
    )
}

/// Inverse of [`lonlat_to_tile_pixel`]: tile pixel `(x, y)` (y down) to `(lon, lat)` degrees.
#[must_use]
pub fn tile_pixel_to_lonlat(x: f64, y: f64, tile: TileId, extent: u32) -> (f64, f64) {
    let n = f64::from(1_u32 << tile.z);
    let e = f64::from(extent);
    world_to_lonlat(
        (x / e + f64::from(tile.x)) / n,
        (y / e + f64::from(tile.y)) / n,
    )
}

/// The tiles at zoom `z` whose area intersects `bbox` (degrees, `x` = lon,
/// `y` = lat), clamped to the world. Longitudes do not wrap: a bbox is never
/// taken to cross the antimeridian.
///
/// ```
/// use geo::{coord, Rect};
/// use qala_tiles::tiles_covering;
/// let almaty = Rect::new(coord! { x: 76.75, y: 43.15 }, coord! { x: 77.10, y: 43.40 });
/// let tiles: Vec<_> = tiles_covering(almaty, 10)?.collect();
/// assert_eq!(tiles.len(), 4); // 2 columns × 2 rows
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
///
/// # Errors
/// [`TileError::ZoomOutOfRange`] or [`TileError::NonFiniteCoordinate`].
pub fn tiles_covering(bbox: Rect<f64>, z: u8) -> Result<TileRange> {
    tiles_covering_buffered(bbox, z, 0, 1)
}

/// Like [`tiles_covering`], but also returns tiles whose *buffer* (`buffer`
/// pixels of `extent`) reaches `bbox`: exactly the tiles whose rendering can
/// show something inside `bbox`. Use it to invalidate cached tiles after a
/// write, with the same buffer and extent the tiles are rendered with.
///
/// # Errors
/// [`TileError::ZoomOutOfRange`] or [`TileError::NonFiniteCoordinate`].
pub fn tiles_covering_buffered(
    bbox: Rect<f64>,
    z: u8,
    buffer: u32,
    extent: u32,
) -> Result<TileRange> {
    check_zoom(z)?;
    let (min, max) = (bbox.min(), bbox.max());
    check_finite(min.x, min.y)?;
    check_finite(max.x, max.y)?;
    let n = 1_u32 << z;
    let margin = world_margin(z, buffer, extent);
    // North (max lat) gives the smallest world y.
    let (wx0, wy0) = lonlat_to_world(min.x.clamp(-180.0, 180.0), max.y);
    let (wx1, wy1) = lonlat_to_world(max.x.clamp(-180.0, 180.0), min.y);
    Ok(TileRange::new(
        z,
        world_to_index(wx0 - margin, n),
        world_to_index(wy0 - margin, n),
        world_to_index(wx1 + margin, n),
        world_to_index(wy1 + margin, n),
    ))
}

/// An iterator over a rectangle of tiles at one zoom, row by row (north to
/// south, west to east within a row). Made by [`tiles_covering`].
#[derive(Debug, Clone)]
pub struct TileRange {
    z: u8,
    min_x: u32,
    max_x: u32,
    max_y: u32,
    /// The next tile to yield, or `None` when exhausted.
    next: Option<(u32, u32)>,
}

impl TileRange {
    fn new(z: u8, min_x: u32, min_y: u32, max_x: u32, max_y: u32) -> Self {
        Self {
            z,
            min_x,
            max_x,
            max_y,
            next: Some((min_x, min_y)),
        }
    }

    /// The zoom level of every tile in the range.
    #[must_use]
    pub fn zoom(&self) -> u8 {
        self.z
    }

    fn remaining(&self) -> u64 {
        match self.next {
            None => 0,
            Some((x, y)) => {
                let width = u64::from(self.max_x - self.min_x) + 1;
                let full_rows = u64::from(self.max_y - y);
                full_rows * width + u64::from(self.max_x - x) + 1
            }
        }
    }
}

impl Iterator for TileRange {
    type Item = TileId;

    fn next(&mut self) -> Option<TileId> {
        let (x, y) = self.next?;
        self.next = if x < self.max_x {
            Some((x + 1, y))
        } else if y < self.max_y {
            Some((self.min_x, y + 1))
        } else {
            None
        };
        // Invariant: min/max were clamped to < 2^z, so the id is valid.
        Some(TileId { z: self.z, x, y })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.remaining()) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl ExactSizeIterator for TileRange {}

/// `buffer` pixels of a tile with `extent` pixels per side, in world units at zoom `z`.
fn world_margin(z: u8, buffer: u32, extent: u32) -> f64 {
    if buffer == 0 || extent == 0 {
        return 0.0;
    }
    f64::from(buffer) / f64::from(extent) / f64::from(1_u32 << z)
}

/// The tile index of a world coordinate, clamped to `[0, n - 1]`.
fn world_to_index(w: f64, n: u32) -> u32 {
    let i = (w * f64::from(n)).floor();
    if i <= 0.0 {
        0
    } else if i >= f64::from(n - 1) {
        n - 1
    } else {
        // In range and integral, so the cast is exact.
        i as u32
    }
}

fn check_zoom(z: u8) -> Result<()> {
    if z > MAX_ZOOM {
        Err(TileError::ZoomOutOfRange { z, max: MAX_ZOOM })
    } else {
        Ok(())
    }
}

fn check_finite(lon: f64, lat: f64) -> Result<()> {
    if lon.is_finite() && lat.is_finite() {
        Ok(())
    } else {
        Err(TileError::NonFiniteCoordinate { lon, lat })
    }
}

#[cfg(test)]
mod tests {
    use geo::{Intersects, coord};

    use super::*;
    use crate::mercator::MAX_LATITUDE;

    #[test]
    fn tile_id_accepts_the_corners_of_every_zoom() {
        for z in 0..=MAX_ZOOM {
            let last = (1_u32 << z) - 1;
            for (x, y) in [(0, 0), (last, 0), (0, last), (last, last)] {
                assert!(TileId::new(z, x, y).is_ok(), "{z}/{x}/{y}");
            }
        }
    }

    #[test]
    fn tile_id_rejects_a_zoom_above_22() {
        assert!(matches!(
            TileId::new(23, 0, 0),
            Err(TileError::ZoomOutOfRange { z: 23, max: 22 })
        ));
    }

    #[test]
    fn tile_id_rejects_a_column_or_row_of_two_to_the_z() {
        assert!(matches!(
            TileId::new(3, 8, 0),
            Err(TileError::ColumnOutOfRange {
                z: 3,
                x: 8,
                limit: 8
            })
        ));
        assert!(matches!(
            TileId::new(3, 0, 8),
            Err(TileError::RowOutOfRange {
                z: 3,
                y: 8,
                limit: 8
            })
        ));
        assert!(TileId::new(0, 1, 0).is_err());
        assert!(TileId::new(22, 1 << 22, 0).is_err());
    }

    #[test]
    fn the_corners_of_a_tile_project_to_pixel_zero_and_extent() -> Result<()> {
        let tile = TileId::new(14, 11_883, 6_053)?;
        let b = tile.lonlat_bounds();
        // North-west corner is (0, 0): y grows down.
        let (x, y) = lonlat_to_tile_pixel(b.min().x, b.max().y, tile, 4096);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6, "{x},{y}");
        let (x, y) = lonlat_to_tile_pixel(b.max().x, b.min().y, tile, 4096);
        assert!(
            (x - 4096.0).abs() < 1e-6 && (y - 4096.0).abs() < 1e-6,
            "{x},{y}"
        );
        Ok(())
    }

    #[test]
    fn lonlat_to_tile_pixel_and_back_round_trips() -> Result<()> {
        for z in [0_u8, 3, 8, 14, 22] {
            for &(lon, lat) in &[(76.91, 43.24), (-179.9, 84.9), (179.9, -84.9), (0.0, 0.0)] {
                let tile = TileId::containing(lon, lat, z)?;
                let (px, py) = lonlat_to_tile_pixel(lon, lat, tile, 4096);
                assert!((0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py));
                let (lon2, lat2) = tile_pixel_to_lonlat(px, py, tile, 4096);
                assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
            }
        }
        Ok(())
    }

    #[test]
    fn the_tile_containing_a_tile_centre_is_that_tile() -> Result<()> {
        for &(z, x, y) in &[
            (0, 0, 0),
            (3, 0, 0),
            (3, 7, 7),
            (8, 182, 94),
            (22, 3_000_000, 1),
        ] {
            let tile = TileId::new(z, x, y)?;
            let c = tile.lonlat_bounds().center();
            assert_eq!(TileId::containing(c.x, c.y, z)?, tile);
        }
        Ok(())
    }

    #[test]
    fn containing_clamps_the_poles_and_the_antimeridian() -> Result<()> {
        assert_eq!(TileId::containing(180.0, 90.0, 3)?, TileId::new(3, 7, 0)?);
        assert_eq!(TileId::containing(-180.0, -90.0, 3)?, TileId::new(3, 0, 7)?);
        assert_eq!(
            TileId::containing(0.0, MAX_LATITUDE, 22)?,
            TileId::new(22, 1 << 21, 0)?
        );
        assert!(matches!(
            TileId::containing(f64::NAN, 0.0, 3),
            Err(TileError::NonFiniteCoordinate { .. })
        ));
        Ok(())
    }

    #[test]
    fn tiles_covering_a_point_is_the_tile_containing_it() -> Result<()> {
        let p = coord! { x: 76.93, y: 43.26 };
        let tiles: Vec<_> = tiles_covering(Rect::new(p, p), 14)?.collect();
        assert_eq!(tiles, vec![TileId::containing(p.x, p.y, 14)?]);
        Ok(())
    }

    #[test]
    fn tiles_covering_a_bbox_is_the_full_rectangle_of_tiles() -> Result<()> {
        let bbox = Rect::new(coord! { x: 76.75, y: 43.15 }, coord! { x: 77.10, y: 43.40 });
        let range = tiles_covering(bbox, 12)?;
        assert_eq!(range.zoom(), 12);
        let len = range.len();
        let tiles: Vec<_> = range.collect();
        assert_eq!(tiles.len(), len);
        let nw = TileId::containing(76.75, 43.40, 12)?;
        let se = TileId::containing(77.10, 43.15, 12)?;
        let expected = (se.x() - nw.x() + 1) * (se.y() - nw.y() + 1);
        assert_eq!(tiles.len(), expected as usize);
        assert_eq!(tiles.first(), Some(&nw));
        assert_eq!(tiles.last(), Some(&se));
        // Every tile in the range really intersects the bbox.
        for t in &tiles {
            let b = t.lonlat_bounds();
            assert!(b.min().x <= 77.10 && b.max().x >= 76.75);
            assert!(b.min().y <= 43.40 && b.max().y >= 43.15);
        }
        Ok(())
    }

    #[test]
    fn tiles_covering_the_world_at_z2_is_all_16_tiles() -> Result<()> {
        let world = Rect::new(coord! { x: -180.0, y: -90.0 }, coord! { x: 180.0, y: 90.0 });
        assert_eq!(tiles_covering(world, 2)?.count(), 16);
        Ok(())
    }

    #[test]
    fn a_buffered_cover_adds_the_neighbours_whose_buffer_reaches_the_bbox() -> Result<()> {
        let tile = TileId::new(14, 11_883, 6_053)?;
        let b = tile.lonlat_bounds();
        // A point just inside the tile's west edge, 10 px of 4096 in.
        let (lon, lat) = tile_pixel_to_lonlat(10.0, 2048.0, tile, 4096);
        let p = Rect::new(coord! { x: lon, y: lat }, coord! { x: lon, y: lat });
        assert_eq!(tiles_covering(p, 14)?.count(), 1);
        let buffered: Vec<_> = tiles_covering_buffered(p, 14, 64, 4096)?.collect();
        assert_eq!(buffered.len(), 2);
        assert!(buffered.contains(&TileId::new(14, 11_882, 6_053)?));
        assert!(buffered.contains(&tile));
        assert!(b.intersects(&coord! { x: lon, y: lat }));
        Ok(())
    }

    #[test]
    fn buffered_lonlat_bounds_contain_the_plain_bounds() -> Result<()> {
        let tile = TileId::new(3, 0, 0)?;
        let plain = tile.lonlat_bounds();
        let buffered = tile.lonlat_bounds_buffered(64, 4096);
        // Clamped at the antimeridian and the top of the world.
        assert_eq!(buffered.min().x, -180.0);
        assert!((buffered.max().y - MAX_LATITUDE).abs() < 1e-6);
        assert!(buffered.max().x > plain.max().x && buffered.min().y < plain.min().y);
        Ok(())
    }
}
