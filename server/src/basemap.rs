//! The basemap: streets, water and place names drawn under Qala's layers,
//! served from a local tile archive (`qala serve --basemap FILE`) so the map
//! needs nothing from the internet. PMTiles ([`pmtiles`]) and MBTiles
//! ([`mbtiles`]) archives of vector (MVT) or raster (PNG, JPEG, WebP) tiles;
//! the glyphs its labels need ([`glyphs`]); its part of `/style.json`
//! ([`style`]).

use std::path::Path;

use bytes::Bytes;

pub mod glyphs;
mod mbtiles;
mod pmtiles;
pub mod style;

/// The most characters of an archive's attribution kept: it is shown on the
/// map, and an archive is the operator's file, not a resident's input, so
/// this only guards against a mistaken one.
const MAX_ATTRIBUTION: usize = 1000;
/// The most vector layer names read from an archive's metadata.
const MAX_VECTOR_LAYERS: usize = 200;

/// What a basemap archive's tiles are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// Mapbox Vector Tiles.
    Mvt,
    /// PNG images.
    Png,
    /// JPEG images.
    Jpeg,
    /// WebP images.
    Webp,
}

impl TileFormat {
    /// The media type tiles are served as.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mvt => "application/vnd.mapbox-vector-tile",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    /// Whether MapLibre draws these tiles with a vector (not raster) source.
    pub fn is_vector(self) -> bool {
        self == Self::Mvt
    }

    /// The MBTiles `format` metadata value's meaning (`pbf`, `png`, …).
    fn from_mbtiles(format: &str) -> Option<Self> {
        Some(match format.to_ascii_lowercase().as_str() {
            "pbf" | "mvt" => Self::Mvt,
            "png" => Self::Png,
            "jpg" | "jpeg" => Self::Jpeg,
            "webp" => Self::Webp,
            _ => return None,
        })
    }
}

/// The vector schema a basemap's tiles follow, which decides its layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The Protomaps basemap schema (`earth`, `water`, `roads`, `places`, …):
    /// drawn with the vendored `@protomaps/basemaps` layers.
    Protomaps,
    /// Another schema (OpenMapTiles, a custom one): drawn with a plain
    /// generic style of its vector layers.
    Other,
    /// Raster tiles.
    Raster,
}

/// What the style and the TileJSON say about a basemap.
#[derive(Debug, Clone, PartialEq)]
pub struct BasemapInfo {
    /// The tiles' format.
    pub format: TileFormat,
    /// Lowest zoom with tiles.
    pub min_zoom: u8,
    /// Highest zoom with tiles (MapLibre overzooms beyond it).
    pub max_zoom: u8,
    /// West, south, east, north, when the archive says.
    pub bounds: Option<[f64; 4]>,
    /// The archive's name, if any.
    pub name: Option<String>,
    /// Who the data is from ("© OpenStreetMap contributors"): shown by the
    /// map's attribution control.
    pub attribution: Option<String>,
    /// The vector layers' names (empty for raster tiles).
    pub vector_layers: Vec<String>,
}

impl BasemapInfo {
    /// The schema, from the format and the vector layers' names.
    pub fn schema(&self) -> Schema {
        if !self.format.is_vector() {
            return Schema::Raster;
        }
        let has = |name: &str| self.vector_layers.iter().any(|l| l == name);
        if has("earth") && has("roads") {
            Schema::Protomaps
        } else {
            Schema::Other
        }
    }
}

/// One stored tile, as stored.
#[derive(Debug, Clone)]
pub struct StoredTile {
    /// The bytes.
    pub data: Bytes,
    /// Whether they are gzip-compressed (an MVT archive's usual way).
    pub gzip: bool,
}

/// Why a basemap could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The archive.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither a PMTiles nor an MBTiles (SQLite) file.
    #[error("{0} is neither a PMTiles nor an MBTiles archive")]
    UnknownKind(String),
    /// The PMTiles reader refused the archive or failed to read it.
    #[error("PMTiles: {0}")]
    PmTiles(#[from] ::pmtiles::PmtError),
    /// SQLite failed reading the MBTiles archive.
    #[error("MBTiles: {0}")]
    Sqlite(#[from] sqlx::Error),
    /// The archive is readable but not something Qala can serve.
    #[error("{0}")]
    Unsupported(String),
}

enum Archive {
    // Boxed: the reader is large, and there is one archive per server.
    PmTiles(Box<pmtiles::PmTilesArchive>),
    MbTiles(mbtiles::MbTilesArchive),
}

/// An open basemap archive.
pub struct Basemap {
    archive: Archive,
    /// What it holds.
    pub info: BasemapInfo,
}

impl std::fmt::Debug for Basemap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Basemap")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Basemap {
    /// Opens an archive, PMTiles or MBTiles, told apart by its first bytes.
    pub async fn open(path: &Path) -> Result<Self, BasemapError> {
        let io = |source| BasemapError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut magic = [0_u8; 16];
        {
            use tokio::io::AsyncReadExt;
            let mut file = tokio::fs::File::open(path).await.map_err(io)?;
            file.read_exact(&mut magic).await.map_err(io)?;
        }
        let (archive, info) = if magic.starts_with(b"PMTiles") {
            let (archive, info) = pmtiles::PmTilesArchive::open(path).await?;
            (Archive::PmTiles(Box::new(archive)), info)
        } else if magic.starts_with(b"SQLite format 3\0") {
            let (archive, info) = mbtiles::MbTilesArchive::open(path).await?;
            (Archive::MbTiles(archive), info)
        } else {
            return Err(BasemapError::UnknownKind(path.display().to_string()));
        };
        if info.min_zoom > info.max_zoom || info.max_zoom > qala_tiles::MAX_ZOOM {
            return Err(BasemapError::Unsupported(format!(
                "the archive's zoom range {}-{} is not within 0-{}",
                info.min_zoom,
                info.max_zoom,
                qala_tiles::MAX_ZOOM
            )));
        }
        Ok(Self { archive, info })
    }

    /// The tile at z/x/y (XYZ numbering, y from the north), if stored.
    /// The caller checks z/x/y are a tile within the zoom range.
    pub async fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<StoredTile>, BasemapError> {
        match &self.archive {
            Archive::PmTiles(a) => a.tile(z, x, y).await,
            Archive::MbTiles(a) => a.tile(z, x, y).await,
        }
    }
}

/// An attribution or name from an archive: trimmed, bounded, absent if empty.
fn clean_text(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_ATTRIBUTION).collect())
}

/// The vector layer ids of a TileJSON-like `vector_layers` array.
fn vector_layer_ids(json: &serde_json::Value) -> Vec<String> {
    json.get("vector_layers")
        .and_then(|v| v.as_array())
        .map(|layers| {
            layers
                .iter()
                .filter_map(|l| l.get("id").and_then(|id| id.as_str()))
                .take(MAX_VECTOR_LAYERS)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
