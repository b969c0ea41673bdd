//! PMTiles v3 archives, read with the `pmtiles` crate over a memory map:
//! the header gives the tile type, compression, zoom range and bounds; the
//! JSON metadata the attribution and vector layers.

use std::path::Path;

use pmtiles::{AsyncPmTilesReader, Compression, MmapBackend, TileCoord, TileType};

use super::{BasemapError, BasemapInfo, StoredTile, TileFormat, clean_text, vector_layer_ids};

/// An open PMTiles archive.
pub(super) struct PmTilesArchive {
    reader: AsyncPmTilesReader<MmapBackend>,
    gzip: bool,
}

impl PmTilesArchive {
    pub(super) async fn open(path: &Path) -> Result<(Self, BasemapInfo), BasemapError> {
        let reader = AsyncPmTilesReader::new_with_path(path).await?;
        let header = reader.get_header();
        let format = match header.tile_type {
            TileType::Mvt => TileFormat::Mvt,
            TileType::Png => TileFormat::Png,
            TileType::Jpeg => TileFormat::Jpeg,
            TileType::Webp => TileFormat::Webp,
            other => {
                return Err(BasemapError::Unsupported(format!(
                    "PMTiles tiles of type {other:?} are not served (MVT, PNG, JPEG or WebP are)"
                )));
            }
        };
        // Tiles are passed on as stored: gzip is what every browser accepts.
        let gzip = match header.tile_compression {
            Compression::Gzip => true,
            Compression::None => false,
            // An unknown compression in an image archive means none.
            Compression::Unknown if !format.is_vector() => false,
            other => {
                return Err(BasemapError::Unsupported(format!(
                    "PMTiles tile compression {other:?} is not served: \
                     convert the archive with gzip tile compression \
                     (`pmtiles convert` keeps MBTiles' gzip)"
                )));
            }
        };
        // An archive without metadata has none (the reader says "invalid").
        let metadata: serde_json::Value = match reader.get_metadata().await {
            Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
            Err(pmtiles::PmtError::InvalidMetadata) => serde_json::Value::Null,
            Err(e) => return Err(e.into()),
        };
        let text = |key: &str| clean_text(metadata.get(key).and_then(|v| v.as_str()));
        let info = BasemapInfo {
            format,
            min_zoom: header.min_zoom,
            max_zoom: header.max_zoom,
            bounds: Some([
                header.min_longitude,
                header.min_latitude,
                header.max_longitude,
                header.max_latitude,
            ]),
            name: text("name"),
            attribution: text("attribution"),
            vector_layers: vector_layer_ids(&metadata),
        };
        Ok((Self { reader, gzip }, info))
    }

    pub(super) async fn tile(
        &self,
        z: u8,
        x: u32,
        y: u32,
    ) -> Result<Option<StoredTile>, BasemapError> {
        let coord = TileCoord::new(z, x, y)?;
        Ok(self
            .reader
            .get_tile(coord)
            .await?
            .filter(|data| !data.is_empty())
            .map(|data| StoredTile {
                data,
                gzip: self.gzip,
            }))
    }
}
