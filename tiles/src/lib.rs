//! # qala-tiles
//!
//! Vector tiles for Qala, as a pure library: geometries (`geo::Geometry<f64>`
//! with `(lon, lat)` WGS84 coordinates) and properties in, Mapbox Vector Tile
//! 2.1 bytes out. No HTTP, no SQL, no Qala domain types.
//!
//! - [`tile_id`]: `z/x/y` addresses, tile bounds, projection into a tile's
//!   pixels, the tiles covering a bbox (for cache invalidation);
//! - [`mercator`]: the Web Mercator formulas underneath;
//! - [`clip`]: clipping to the tile plus a buffer, in tile pixels;
//! - [`simplify`]: per-zoom simplification and snapping to the integer grid,
//!   never emitting an invalid polygon;
//! - [`cluster`]: grid clustering of points for low zooms;
//! - [`finest`]: clustering points already in tile units on the finest
//!   grid that fits a limit (the crowded single-point tile);
//! - [`mvt`]: the [`TileBuilder`] that ties it together and encodes;
//! - [`point_layer`]: the fast path for layers of single points with fixed keys;
//! - [`value`]: typed property values, shared by both writers;
//! - [`compress`](mod@compress): gzip / brotli, so a tile is compressed once.
//!
//! Coordinates in tile pixel space have x to the right and **y down**, with
//! `(0, 0)` at the tile's north-west corner and `(extent, extent)` (4096 by
//! default) at its south-east corner.
//!
//! ```
//! use geo::{polygon, Geometry};
//! use qala_tiles::{gzip, TileBuilder, TileFeature, TileId, TileOptions};
//!
//! let park = Geometry::Polygon(polygon![
//!     (x: 76.940, y: 43.230), (x: 76.950, y: 43.230),
//!     (x: 76.950, y: 43.240), (x: 76.940, y: 43.240),
//! ]);
//! let tile = TileId::containing(76.945, 43.235, 13)?;
//! let mut builder = TileBuilder::new(tile, TileOptions::default())?;
//! builder.add_layer("parks", [TileFeature::new(&park).with_id(7).with_property("name", "Central Park")])?;
//! let mvt = builder.encode();
//! let stored = gzip(&mvt)?;
//! assert!(!stored.is_empty());
//! # Ok::<(), qala_tiles::TileError>(())
//! ```

pub mod clip;
pub mod cluster;
pub mod compress;
mod error;
pub mod finest;
pub mod mercator;
pub mod mvt;
pub mod point_layer;
pub mod pyramid;
mod ring;
pub mod simplify;
pub mod tile_id;
mod validity;
pub mod value;

pub use cluster::{ClusterItem, ClusterOptions, ClusterPoint, cluster_points};
pub use compress::{Compression, brotli, compress, gzip};
pub use error::{Result, TileError};
pub use mvt::{TileBuilder, TileFeature, TileOptions};
pub use point_layer::{PointLayer, PointWriter};
pub use tile_id::{
    MAX_ZOOM, TileId, TileRange, lonlat_to_tile_pixel, tile_pixel_to_lonlat, tiles_covering,
    tiles_covering_buffered, world_to_tile_pixel,
};
pub use value::PropertyValue;
