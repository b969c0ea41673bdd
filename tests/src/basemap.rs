//! Small basemap archives for the basemap tests, built on the spot: a few
//! streets and a place name over central Almaty in the Protomaps schema
//! (tiles made with Qala's own MVT writer, `qala-tiles`), or plain raster
//! tiles; written as PMTiles (the `pmtiles` crate's writer) or MBTiles
//! (SQLite through sqlx, TMS row numbering). The browser test gets its
//! archive from the `qala-basemap-fixture` binary, which calls this.

use std::ops::RangeInclusive;
use std::path::Path;
use std::str::FromStr;

use geo::{Geometry, LineString, Point, Rect, coord, polygon};
use qala_tiles::{TileBuilder, TileFeature, TileId, TileOptions, gzip, tiles_covering};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// The attribution every fixture archive carries in its metadata.
pub const ATTRIBUTION: &str = "© OpenStreetMap contributors (Qala test basemap)";
/// West, south, east, north of the streets: central Almaty.
pub const BOUNDS: [f64; 4] = [76.80, 43.15, 77.05, 43.33];
/// The zoom levels stored.
pub const ZOOMS: RangeInclusive<u8> = 8..=13;
/// A tile inside the zoom range but far from Almaty: never stored.
pub const MISSING_TILE: (u8, u32, u32) = (8, 0, 0);

/// Vector or raster, and which raster format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tiles {
    /// Protomaps-schema MVT, gzip-compressed as stored.
    Vector,
    /// Uncompressed MVT (PMTiles only: `tile_compression` none).
    VectorUncompressed,
    /// PNG images.
    Png,
    /// JPEG images.
    Jpeg,
}

/// A street of the fixture: name, Russian name, Protomaps kind, line.
pub fn streets() -> Vec<(&'static str, &'static str, &'static str, LineString<f64>)> {
    vec![
        (
            "Abay Avenue",
            "проспект Абая",
            "major_road",
            LineString::from(vec![(76.80, 43.2405), (77.05, 43.2405)]),
        ),
        (
            "Dostyk Avenue",
            "проспект Достык",
            "major_road",
            LineString::from(vec![(76.9555, 43.15), (76.9555, 43.33)]),
        ),
        (
            "Tole Bi Street",
            "улица Толе би",
            "minor_road",
            LineString::from(vec![(76.80, 43.2545), (77.05, 43.2545)]),
        ),
        (
            "Baitursynuly Street",
            "улица Байтурсынулы",
            "minor_road",
            LineString::from(vec![(76.9205, 43.15), (76.9205, 43.33)]),
        ),
    ]
}

/// One MVT tile of the fixture (uncompressed), or `None` where it has nothing.
pub fn vector_tile(tile: TileId) -> Option<Vec<u8>> {
    let [w, s, e, n] = BOUNDS;
    let earth = Geometry::Polygon(polygon![
        (x: w - 0.1, y: s - 0.1), (x: e + 0.1, y: s - 0.1),
        (x: e + 0.1, y: n + 0.1), (x: w - 0.1, y: n + 0.1),
    ]);
    let streets: Vec<_> = streets()
        .into_iter()
        .map(|(name, name_ru, kind, line)| (name, name_ru, kind, Geometry::LineString(line)))
        .collect();
    let city = Geometry::Point(Point::new(76.9286, 43.2567));
    let mut builder = TileBuilder::new(tile, TileOptions::default()).ok()?;
    builder
        .add_layer(
            "earth",
            [TileFeature::new(&earth).with_property("kind", "earth")],
        )
        .ok()?;
    builder
        .add_layer(
            "roads",
            streets
                .iter()
                .enumerate()
                .map(|(i, (name, name_ru, kind, line))| {
                    TileFeature::new(line)
                        .with_id(i as u64 + 1)
                        .with_property("kind", *kind)
                        .with_property("name", *name)
                        .with_property("name:en", *name)
                        .with_property("name:ru", *name_ru)
                        .with_property("min_zoom", 8_i64)
                }),
        )
        .ok()?;
    builder
        .add_layer(
            "places",
            [TileFeature::new(&city)
                .with_property("kind", "locality")
                .with_property("name", "Almaty")
                .with_property("name:en", "Almaty")
                .with_property("name:ru", "Алматы")
                .with_property("min_zoom", 3_i64)
                .with_property("population_rank", 12_i64)],
        )
        .ok()?;
    Some(builder.encode())
}

/// A 256 px raster tile: a light colour that differs by zoom.
pub fn raster_tile(tile: TileId, format: image::ImageFormat) -> Vec<u8> {
    let shade = 200 + tile.z() * 4;
    let image = image::RgbImage::from_pixel(256, 256, image::Rgb([shade, 230, 210]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// Every stored tile of the fixture: (tile, bytes as stored).
pub fn tiles(kind: Tiles) -> Vec<(TileId, Vec<u8>)> {
    let [w, s, e, n] = BOUNDS;
    let bbox = Rect::new(coord! {x: w, y: s}, coord! {x: e, y: n});
    let mut out = Vec::new();
    for z in ZOOMS {
        for tile in tiles_covering(bbox, z).expect("valid bbox") {
            let bytes = match kind {
                Tiles::Vector => vector_tile(tile).map(|t| gzip(&t).expect("gzip")),
                Tiles::VectorUncompressed => vector_tile(tile),
                Tiles::Png => Some(raster_tile(tile, image::ImageFormat::Png)),
                Tiles::Jpeg => Some(raster_tile(tile, image::ImageFormat::Jpeg)),
            };
            if let Some(bytes) = bytes {
                out.push((tile, bytes));
            }
        }
    }
    out
}

fn vector_layers() -> serde_json::Value {
    json!([
        {"id": "earth", "fields": {"kind": "String"}},
        {"id": "roads", "fields": {"kind": "String", "name": "String"}},
        {"id": "places", "fields": {"kind": "String", "name": "String"}}
    ])
}

/// Writes the fixture as a PMTiles archive.
pub fn write_pmtiles(path: &Path, kind: Tiles) {
    use pmtiles::{Compression, PmTilesWriter, TileCoord, TileType};
    let (tile_type, compression) = match kind {
        Tiles::Vector => (TileType::Mvt, Compression::Gzip),
        Tiles::VectorUncompressed => (TileType::Mvt, Compression::None),
        Tiles::Png => (TileType::Png, Compression::None),
        Tiles::Jpeg => (TileType::Jpeg, Compression::None),
    };
    let mut metadata = json!({"name": "Qala test basemap", "attribution": ATTRIBUTION});
    if matches!(kind, Tiles::Vector | Tiles::VectorUncompressed) {
        metadata["vector_layers"] = vector_layers();
    }
    let [w, s, e, n] = BOUNDS;
    let file = std::fs::File::create(path).expect("create");
    let mut writer = PmTilesWriter::new(tile_type)
        .precompressed(compression)
        .min_zoom(*ZOOMS.start())
        .max_zoom(*ZOOMS.end())
        .bounds(w, s, e, n)
        .center((w + e) / 2.0, (s + n) / 2.0)
        .center_zoom(11)
        .metadata(metadata.to_string())
        .create(file)
        .expect("pmtiles writer");
    for (tile, bytes) in tiles(kind) {
        let coord = TileCoord::new(tile.z(), tile.x(), tile.y()).expect("coord");
        writer.add_tile(coord, &bytes).expect("add tile");
    }
    writer.finalize().expect("finalize");
}

/// Writes the fixture as an MBTiles archive (vector tiles gzip, as usual).
pub async fn write_mbtiles(path: &Path, kind: Tiles) {
    let format = match kind {
        Tiles::Vector | Tiles::VectorUncompressed => "pbf",
        Tiles::Png => "png",
        Tiles::Jpeg => "jpg",
    };
    let options = SqliteConnectOptions::from_str("sqlite://")
        .expect("options")
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("sqlite");
    for statement in [
        "CREATE TABLE metadata (name TEXT, value TEXT)",
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)",
        "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)",
    ] {
        sqlx::query(statement).execute(&pool).await.expect("schema");
    }
    let [w, s, e, n] = BOUNDS;
    let mut metadata = vec![
        ("name", "Qala test basemap".to_owned()),
        ("format", format.to_owned()),
        ("minzoom", ZOOMS.start().to_string()),
        ("maxzoom", ZOOMS.end().to_string()),
        ("bounds", format!("{w},{s},{e},{n}")),
        ("attribution", ATTRIBUTION.to_owned()),
    ];
    if format == "pbf" {
        metadata.push((
            "json",
            json!({"vector_layers": vector_layers()}).to_string(),
        ));
    }
    for (name, value) in metadata {
        sqlx::query("INSERT INTO metadata (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(value)
            .execute(&pool)
            .await
            .expect("metadata");
    }
    for (tile, bytes) in tiles(kind) {
        // MBTiles numbers rows from the south (TMS).
        let row = (1_u32 << tile.z()) - 1 - tile.y();
        sqlx::query(
            "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)",
        )
        .bind(i64::from(tile.z()))
        .bind(i64::from(tile.x()))
        .bind(i64::from(row))
        .bind(bytes)
        .execute(&pool)
        .await
        .expect("tile");
    }
    pool.close().await;
}
