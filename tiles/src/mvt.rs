//! Mapbox Vector Tile 2.1 encoding: a [`TileBuilder`] that takes features in
//! lon/lat (or already in tile pixels), projects, clips, simplifies, snaps,
//! fixes polygon winding and writes the protobuf.
//!
//! The protobuf itself is written by [`fast_mvt`] (a maintained, integer-only
//! MVT writer on `geo-types` 0.7, the same `geo-types` as `geo` 0.33): it
//! writes feature ids, all typed values, multi-part geometries as one
//! feature, several layers per tile, and deduplicates keys and values per
//! layer. Everything before the integer geometry (projection, clipping,
//! simplification, validity) is this crate's. Layers of single points with
//! fixed keys can skip the per-value hashing through
//! [`TileBuilder::point_layer`] (see [`crate::point_layer`]).
//!
//! Winding: MVT 2.1 wants exterior rings with a *positive* area by the
//! surveyor's formula in tile coordinates (y down), which is clockwise on
//! screen, and interior rings negative. The builder orients every ring that
//! way (the encoder would re-check it too).
//!
//! Empty output: layers that end up without features (everything clipped or
//! collapsed) are left out, so a tile with nothing visible encodes to **zero
//! bytes**, which is itself a valid, layer-less MVT (an empty protobuf
//! message). A server can answer such a tile with an empty body or 204.

use std::borrow::Cow;
use std::num::NonZeroU32;

use fast_mvt::{MvtGeometry, MvtLayerBuilder};
use geo::{
    Coord, Geometry, LineString, MapCoords, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon, Rect,
};

use crate::clip::{DEFAULT_BUFFER, clip_bounds, clip_geometry};
use crate::error::{Result, TileError};
use crate::point_layer::PointLayer;
use crate::simplify::{DEFAULT_TOLERANCE, simplify_and_snap};
use crate::tile_id::{TileId, lonlat_to_tile_pixel};
use crate::value::PropertyValue;

/// The MVT extent almost every client expects.
pub const DEFAULT_EXTENT: u32 = 4096;

/// Tile geometry settings, in tile units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileOptions {
    /// Tile units per side (4096 by convention).
    pub extent: u32,
    /// How far (tile units) beyond the tile edge geometry is kept, so lines
    /// and polygon outlines have no seams and symbols at the edge render.
    pub buffer: u32,
    /// Simplification tolerance in tile units; `0.0` switches it off
    /// (positions are still snapped to the grid).
    pub tolerance: f64,
}

impl Default for TileOptions {
    /// Extent 4096, buffer 64, tolerance 1.
    fn default() -> Self {
        Self {
            extent: DEFAULT_EXTENT,
            buffer: DEFAULT_BUFFER,
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

impl TileOptions {
    fn validate(&self) -> Result<()> {
        // Tile coordinates must fit i32 with the buffer on both sides.
        let max = u64::from(i32::MAX as u32);
        if self.extent == 0 || u64::from(self.extent) + 2 * u64::from(self.buffer) > max {
            return Err(TileError::InvalidOptions(format!(
                "extent must be > 0 and extent + 2·buffer must fit in i32 (extent={}, buffer={})",
                self.extent, self.buffer
            )));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(TileError::InvalidOptions(format!(
                "tolerance must be finite and >= 0 (got {})",
                self.tolerance
            )));
        }
        Ok(())
    }
}

/// One feature to put in a layer.
///
/// ```
/// use geo::{point, Geometry};
/// use qala_tiles::mvt::TileFeature;
/// let geometry = Geometry::Point(point! { x: 76.95, y: 43.24 });
/// let feature = TileFeature::new(&geometry)
///     .with_id(17)
///     .with_property("status", "open")
///     .with_property("votes", 3_u64);
/// assert_eq!(feature.properties.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TileFeature<'a> {
    /// The MVT feature id (MapLibre uses it for feature state).
    pub id: Option<u64>,
    /// The geometry: `(lon, lat)` degrees for [`TileBuilder::add_layer`],
    /// tile pixels (x right, y down) for [`TileBuilder::add_pixel_layer`].
    pub geometry: Cow<'a, Geometry<f64>>,
    /// Properties in order; keys and values are deduplicated per layer.
    pub properties: Vec<(Cow<'a, str>, PropertyValue<'a>)>,
}

impl<'a> TileFeature<'a> {
    /// A feature borrowing its geometry, without id or properties.
    #[must_use]
    pub fn new(geometry: &'a Geometry<f64>) -> Self {
        Self {
            id: None,
            geometry: Cow::Borrowed(geometry),
            properties: Vec::new(),
        }
    }

    /// A feature owning its geometry (for geometry made on the fly, such as cluster points).
    #[must_use]
    pub fn owned(geometry: Geometry<f64>) -> Self {
        Self {
            id: None,
            geometry: Cow::Owned(geometry),
            properties: Vec::new(),
        }
    }

    /// Sets the feature id.
    #[must_use]
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// Appends a property.
    #[must_use]
    pub fn with_property(
        mut self,
        key: impl Into<Cow<'a, str>>,
        value: impl Into<PropertyValue<'a>>,
    ) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// Builds one vector tile, layer by layer.
///
/// ```
/// use geo::{point, Geometry};
/// use qala_tiles::{TileBuilder, TileFeature, TileId, TileOptions};
/// let tile = TileId::containing(76.95, 43.24, 14)?;
/// let pothole = Geometry::Point(point! { x: 76.95, y: 43.24 });
/// let mut builder = TileBuilder::new(tile, TileOptions::default())?;
/// let written = builder.add_layer(
///     "issues",
///     [TileFeature::new(&pothole).with_id(1).with_property("status", "open")],
/// )?;
/// assert_eq!(written, 1);
/// let bytes: Vec<u8> = builder.encode();
/// assert!(!bytes.is_empty());
///
/// // Nothing inside the tile: zero bytes.
/// let mut empty = TileBuilder::new(TileId::new(14, 0, 0)?, TileOptions::default())?;
/// empty.add_layer("issues", [TileFeature::new(&pothole)])?;
/// assert!(empty.encode().is_empty());
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[derive(Debug)]
pub struct TileBuilder {
    tile: TileId,
    options: TileOptions,
    clip: Rect<f64>,
    /// Encoded layers so far; concatenated framed layers form a tile.
    bytes: Vec<u8>,
    /// Every name added (written or left out as empty), to refuse duplicates.
    names: Vec<String>,
    layers_written: usize,
}

/// The coordinate space of the features given to a layer.
#[derive(Clone, Copy)]
enum Space {
    LonLat,
    Pixels,
}

impl TileBuilder {
    /// Starts an empty tile.
    ///
    /// # Errors
    /// [`TileError::InvalidOptions`] for an extent of 0, a buffer so large
    /// that coordinates overflow `i32`, or a negative / non-finite tolerance.
    pub fn new(tile: TileId, options: TileOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self {
            tile,
            options,
            clip: clip_bounds(options.extent, options.buffer),
            bytes: Vec::new(),
            names: Vec::new(),
            layers_written: 0,
        })
    }

    /// The tile being built.
    #[must_use]
    pub fn tile(&self) -> TileId {
        self.tile
    }

    /// The options the tile is built with.
    #[must_use]
    pub fn options(&self) -> TileOptions {
        self.options
    }

    /// Adds a layer of features whose geometry is in `(lon, lat)` degrees.
    /// Returns the number of MVT features written (0 means the layer was left out).
    ///
    /// Each feature is projected into the tile, clipped to the buffered tile,
    /// simplified, snapped and written with its id and properties. A
    /// `GeometryCollection` becomes up to three features (points, lines,
    /// polygons) sharing the id and properties.
    ///
    /// # Errors
    /// [`TileError::EmptyLayerName`], [`TileError::DuplicateLayer`], or
    /// [`TileError::Encode`] if the encoder refuses the data; on error the
    /// layer is not added and the tile is unchanged.
    pub fn add_layer<'a>(
        &mut self,
        name: &str,
        features: impl IntoIterator<Item = TileFeature<'a>>,
    ) -> Result<usize> {
        self.add(name, features, Space::LonLat)
    }

    /// Like [`Self::add_layer`], for geometry already in this tile's pixel
    /// space (x right, y down, `0..extent`), such as cluster output. It is
    /// clipped, simplified and snapped the same way.
    ///
    /// # Errors
    /// As [`Self::add_layer`].
    pub fn add_pixel_layer<'a>(
        &mut self,
        name: &str,
        features: impl IntoIterator<Item = TileFeature<'a>>,
    ) -> Result<usize> {
        self.add(name, features, Space::Pixels)
    }

    /// Starts a [`PointLayer`] for this tile: single points with fixed keys,
    /// written without the generic feature path (see [`crate::point_layer`]).
    /// Add it back with [`Self::add_point_layer`].
    ///
    /// # Errors
    /// [`TileError::EmptyLayerName`].
    pub fn point_layer(&self, name: &str, keys: &[&str]) -> Result<PointLayer> {
        PointLayer::new(name, keys, self.tile, self.options.extent, self.clip)
    }

    /// Adds a finished [`PointLayer`]; returns the number of features written
    /// (0 means the layer was left out, as with [`Self::add_layer`]).
    ///
    /// # Errors
    /// [`TileError::DuplicateLayer`].
    pub fn add_point_layer(&mut self, layer: PointLayer) -> Result<usize> {
        if self.names.contains(&layer.name) {
            return Err(TileError::DuplicateLayer(layer.name));
        }
        self.names.push(layer.name.clone());
        let written = layer.len();
        if written > 0 {
            layer.write_into(&mut self.bytes);
            self.layers_written += 1;
        }
        Ok(written)
    }

    /// The number of layers written so far (layers left out as empty do not count).
    #[must_use]
    pub fn layer_count(&self) -> usize {
        self.layers_written
    }

    /// Whether nothing has been written (the tile would encode to zero bytes).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The uncompressed MVT bytes; zero bytes if no layer has a feature.
    #[must_use]
    pub fn encode(self) -> Vec<u8> {
        self.bytes
    }

    fn add<'a>(
        &mut self,
        name: &str,
        features: impl IntoIterator<Item = TileFeature<'a>>,
        space: Space,
    ) -> Result<usize> {
        if name.is_empty() {
            return Err(TileError::EmptyLayerName);
        }
        if self.names.iter().any(|n| n == name) {
            return Err(TileError::DuplicateLayer(name.to_owned()));
        }
        let mut layer = MvtLayerBuilder::new(name).map_err(encode_error)?;
        // Invariant: validate() guarantees extent > 0.
        if let Some(extent) = NonZeroU32::new(self.options.extent) {
            layer.extent(extent);
        }
        let mut written = 0;
        for feature in features {
            for geometry in self.prepare(&feature.geometry, space) {
                let mut fb = layer.feature(&geometry).map_err(encode_error)?;
                fb.id(feature.id);
                for (key, value) in &feature.properties {
                    fb.tag_ref(key, value.as_mvt()).map_err(encode_error)?;
                }
                layer = fb.end();
                written += 1;
            }
        }
        self.names.push(name.to_owned());
        if written > 0 {
            self.bytes.extend_from_slice(&layer.encode());
            self.layers_written += 1;
        }
        Ok(written)
    }

    /// Projection → clip → simplify + snap → winding, split by dimension
    /// (an MVT feature has one geometry type).
    fn prepare(&self, geometry: &Geometry<f64>, space: Space) -> Vec<MvtGeometry> {
        // Points are most of a dense tile: project, test and snap them
        // without the allocations of the general pipeline (same result).
        if let Geometry::Point(p) = geometry {
            let pixel = match space {
                Space::Pixels => *p,
                Space::LonLat => {
                    let (x, y) = lonlat_to_tile_pixel(p.x(), p.y(), self.tile, self.options.extent);
                    Point::new(x, y)
                }
            };
            return crate::clip::clip_point(pixel, self.clip)
                .map(|inside| vec![MvtGeometry::Point(crate::simplify::snap_point(inside))])
                .unwrap_or_default();
        }
        let projected;
        let pixels = match space {
            Space::Pixels => geometry,
            Space::LonLat => {
                let (tile, extent) = (self.tile, self.options.extent);
                projected = geometry.map_coords(|c| {
                    let (x, y) = lonlat_to_tile_pixel(c.x, c.y, tile, extent);
                    Coord { x, y }
                });
                &projected
            }
        };
        let Some(clipped) = clip_geometry(pixels, self.clip) else {
            return Vec::new();
        };
        let Some(snapped) = simplify_and_snap(&clipped, self.options.tolerance) else {
            return Vec::new();
        };
        let mut parts = Parts::default();
        parts.collect(snapped);
        parts.into_geometries()
    }
}

fn encode_error(e: fast_mvt::MvtError) -> TileError {
    TileError::Encode(e.to_string())
}

/// Snapped geometry sorted into MVT's three geometry types.
#[derive(Default)]
struct Parts {
    points: Vec<Point<i32>>,
    lines: Vec<LineString<i32>>,
    polygons: Vec<Polygon<i32>>,
}

impl Parts {
    fn collect(&mut self, g: Geometry<i32>) {
        match g {
            Geometry::Point(p) => self.points.push(p),
            Geometry::MultiPoint(mp) => self.points.extend(mp.0),
            Geometry::LineString(ls) => self.lines.push(ls),
            Geometry::MultiLineString(mls) => self.lines.extend(mls.0),
            Geometry::Polygon(p) => self.polygons.push(orient(p)),
            Geometry::MultiPolygon(mp) => self.polygons.extend(mp.0.into_iter().map(orient)),
            Geometry::GeometryCollection(gc) => gc.0.into_iter().for_each(|g| self.collect(g)),
            // simplify_and_snap never returns these; convert defensively anyway.
            Geometry::Line(l) => self.lines.push(LineString(vec![l.start, l.end])),
            Geometry::Rect(r) => self.polygons.push(orient(r.to_polygon())),
            Geometry::Triangle(t) => self.polygons.push(orient(t.to_polygon())),
        }
    }

    fn into_geometries(mut self) -> Vec<MvtGeometry> {
        let mut out = Vec::with_capacity(1);
        match self.points.len() {
            0 => {}
            1 => out.extend(self.points.pop().map(MvtGeometry::Point)),
            _ => out.push(MvtGeometry::MultiPoint(MultiPoint(self.points))),
        }
        match self.lines.len() {
            0 => {}
            1 => out.extend(self.lines.pop().map(MvtGeometry::LineString)),
            _ => out.push(MvtGeometry::MultiLineString(MultiLineString(self.lines))),
        }
        match self.polygons.len() {
            0 => {}
            1 => out.extend(self.polygons.pop().map(MvtGeometry::Polygon)),
            _ => out.push(MvtGeometry::MultiPolygon(MultiPolygon(self.polygons))),
        }
        out
    }
}

/// Twice the signed area (surveyor's formula) of an integer ring, in i64 so
/// it cannot overflow for any i32 coordinates of a tile.
fn signed_area2(ring: &LineString<i32>) -> i64 {
    ring.0
        .windows(2)
        .map(|w| i64::from(w[0].x) * i64::from(w[1].y) - i64::from(w[1].x) * i64::from(w[0].y))
        .sum()
}

/// MVT 2.1 winding: exterior positive (clockwise on screen, y down), holes negative.
fn orient(mut p: Polygon<i32>) -> Polygon<i32> {
    if signed_area2(p.exterior()) < 0 {
        p.exterior_mut(|r| r.0.reverse());
    }
    p.interiors_mut(|holes| {
        for h in holes {
            if signed_area2(h) > 0 {
                h.0.reverse();
            }
        }
    });
    p
}
