//! MBTiles archives (SQLite, spec 1.3), read with sqlx: the `metadata`
//! table gives the format, zoom range, bounds, attribution and (in its
//! `json` row) the vector layers; `tiles` rows are numbered TMS-style, y
//! from the south, so the row is flipped from the XYZ y asked for.

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::{BasemapError, BasemapInfo, StoredTile, TileFormat, clean_text, vector_layer_ids};

/// Connections reading tiles at once: SQLite reads in parallel.
const READERS: u32 = 4;

/// An open MBTiles archive.
pub(super) struct MbTilesArchive {
    pool: SqlitePool,
}

impl MbTilesArchive {
    pub(super) async fn open(path: &Path) -> Result<(Self, BasemapInfo), BasemapError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .read_only(true)
            .immutable(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await?;
        let rows = sqlx::query("SELECT name, value FROM metadata")
            .fetch_all(&pool)
            .await?;
        let mut meta = std::collections::HashMap::new();
        for row in rows {
            let name: String = row.try_get(0)?;
            let value: Option<String> = row.try_get(1)?;
            if let Some(value) = value {
                meta.insert(name, value);
            }
        }
        let get = |key: &str| meta.get(key).map(String::as_str);
        let format = get("format")
            .and_then(TileFormat::from_mbtiles)
            .ok_or_else(|| {
                BasemapError::Unsupported(format!(
                    "MBTiles format {:?} is not served (pbf, png, jpg or webp are)",
                    get("format").unwrap_or("")
                ))
            })?;
        let zoom = |key: &str| get(key).and_then(|v| v.trim().parse::<u8>().ok());
        // The spec makes the zoom range optional: the tiles say.
        let (min_zoom, max_zoom) = match (zoom("minzoom"), zoom("maxzoom")) {
            (Some(min), Some(max)) => (min, max),
            _ => {
                let row = sqlx::query("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles")
                    .fetch_one(&pool)
                    .await?;
                let min: Option<i64> = row.try_get(0)?;
                let max: Option<i64> = row.try_get(1)?;
                let clamp = |v: Option<i64>| v.and_then(|v| u8::try_from(v).ok()).unwrap_or(0);
                (clamp(min), clamp(max))
            }
        };
        let bounds = get("bounds").and_then(|text| {
            let numbers: Vec<f64> = text
                .split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect();
            <[f64; 4]>::try_from(numbers).ok()
        });
        let json: serde_json::Value = get("json")
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let info = BasemapInfo {
            format,
            min_zoom,
            max_zoom,
            bounds,
            name: clean_text(get("name")),
            attribution: clean_text(get("attribution")),
            vector_layers: vector_layer_ids(&json),
        };
        Ok((Self { pool }, info))
    }

    pub(super) async fn tile(
        &self,
        z: u8,
        x: u32,
        y: u32,
    ) -> Result<Option<StoredTile>, BasemapError> {
        let tms_row = (1_u32 << z) - 1 - y;
        let data: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
        )
        .bind(i64::from(z))
        .bind(i64::from(x))
        .bind(i64::from(tms_row))
        .fetch_optional(&self.pool)
        .await?;
        Ok(data
            .flatten()
            .filter(|d| !d.is_empty())
            .map(|data| StoredTile {
                // Vector MBTiles are conventionally gzip; the bytes say.
                gzip: data.starts_with(&[0x1f, 0x8b]),
                data: data.into(),
            }))
    }
}
