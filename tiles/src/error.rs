//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong in `qala-tiles`.
///
/// Geometry problems inside a feature (rings that collapse, points outside the
/// tile) are *not* errors: such parts are dropped silently, because a tile is a
/// lossy view of the data. Errors are reserved for bad addresses, bad options
/// and encoder limits.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TileError {
    /// The zoom level is above [`crate::MAX_ZOOM`].
    #[error("zoom {z} is out of range (0..={max})")]
    ZoomOutOfRange {
        /// The zoom that was asked for.
        z: u8,
        /// The highest supported zoom.
        max: u8,
    },
    /// The column is not below `2^z`.
    #[error("tile column x={x} is out of range at zoom {z} (must be < {limit})")]
    ColumnOutOfRange {
        /// The zoom level.
        z: u8,
        /// The column that was asked for.
        x: u32,
        /// `2^z`, the exclusive upper bound.
        limit: u64,
    },
    /// The row is not below `2^z`.
    #[error("tile row y={y} is out of range at zoom {z} (must be < {limit})")]
    RowOutOfRange {
        /// The zoom level.
        z: u8,
        /// The row that was asked for.
        y: u32,
        /// `2^z`, the exclusive upper bound.
        limit: u64,
    },
    /// A longitude or latitude was NaN or infinite.
    #[error("coordinate is not finite: lon={lon}, lat={lat}")]
    NonFiniteCoordinate {
        /// Longitude in degrees.
        lon: f64,
        /// Latitude in degrees.
        lat: f64,
    },
    /// Tile or cluster options that cannot work (for example an extent of 0).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A layer name was empty (MVT requires a name).
    #[error("layer name must not be empty")]
    EmptyLayerName,
    /// The same layer name was added twice to one tile.
    #[error("layer {0:?} was already added to this tile")]
    DuplicateLayer(String),
    /// The MVT encoder refused the data (for example more than 2^32 distinct values).
    #[error("MVT encoding failed: {0}")]
    Encode(String),
    /// Compression failed (only possible through an I/O error of the in-memory writer).
    #[error("compression failed: {0}")]
    Compression(#[from] std::io::Error),
}

/// `Result` with [`TileError`].
pub type Result<T> = std::result::Result<T, TileError>;
