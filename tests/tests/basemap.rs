//! The basemap end to end: archives built in the test (PMTiles and MBTiles,
//! vector and raster), served under /basemap/{z}/{x}/{y} with TileJSON, and
//! composed under Qala's layers in /style.json with local glyphs; without a
//! basemap, the style's own readable base (district labels).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::path::Path;

use geo::Contains;
use pbf_font_tools::prost::Message;
use qala_tests::basemap::{ATTRIBUTION, MISSING_TILE, Tiles, ZOOMS, write_mbtiles, write_pmtiles};
use qala_tests::mvt::{decode, prop_str};
use qala_tests::{Backend, TestApp, unlimited_config};
use reqwest::header::HeaderMap;
use serde_json::Value;

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, _, body) = fetch(app, path, &[]).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

async fn serving(archive: &Path) -> TestApp {
    let config = qala_server::ServerConfig {
        basemap: Some(archive.to_owned()),
        ..unlimited_config()
    };
    TestApp::with_config(&Backend::Sqlite, config).await
}

/// The XYZ tile holding Abay Avenue × Dostyk Avenue at `z`.
fn crossing(z: u8) -> String {
    let tile = qala_tiles::TileId::containing(76.9555, 43.2405, z).unwrap();
    format!("/basemap/{}/{}/{}", tile.z(), tile.x(), tile.y())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Every string in a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The style points at nothing but this server: every URL in it is local.
fn assert_all_urls_local(app: &TestApp, style: &Value) {
    let mut all = Vec::new();
    strings(style, &mut all);
    for s in all.iter().filter(|s| s.contains("://")) {
        assert!(s.starts_with(&app.base), "a URL off this server: {s}");
    }
}

/// Errors outside the archive's reach, whatever it holds.
async fn check_tile_addresses(app: &TestApp) {
    let (z, x, y) = MISSING_TILE;
    let (status, headers, body) = fetch(app, &format!("/basemap/{z}/{x}/{y}"), &[]).await;
    assert_eq!(status, 204, "a tile in the zoom range but not stored");
    assert!(body.is_empty());
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    for (path, expected) in [
        (format!("/basemap/{}/0/0", ZOOMS.end() + 1), 404),
        (format!("/basemap/{}/0/0", ZOOMS.start() - 1), 404),
        ("/basemap/8/256/0".to_owned(), 400),
        ("/basemap/8/0/256".to_owned(), 400),
        ("/basemap/30/0/0".to_owned(), 400),
        ("/basemap/x/0/0".to_owned(), 400),
        ("/basemap/8/0/0.png".to_owned(), 400),
        ("/basemap/8/0/0?foo=1".to_owned(), 400),
    ] {
        let (status, _, body) = fetch(app, &path, &[]).await;
        assert_eq!(
            status,
            expected,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert!(error["error"]["code"].is_string(), "{path}: {error}");
    }
}

/// A vector archive: tiles at several zooms (gzip as stored, or unzipped
/// for a client that does not take gzip), ETags, TileJSON and the style.
async fn check_vector(app: &TestApp, stored_gzip: bool) {
    for z in [*ZOOMS.start(), 10, *ZOOMS.end()] {
        let path = crossing(z);
        let (status, headers, body) = fetch(app, &path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        let mvt = if stored_gzip {
            assert_eq!(headers["content-encoding"], "gzip", "{path}");
            gunzip(&body)
        } else {
            assert!(headers.get("content-encoding").is_none(), "{path}");
            body
        };
        let layers = decode(&mvt);
        let names: Vec<String> = layers["roads"]
            .iter()
            .filter_map(|f| prop_str(f, "name"))
            .collect();
        assert!(names.contains(&"Abay Avenue".to_owned()), "z{z}: {names:?}");
        assert!(
            names.contains(&"Dostyk Avenue".to_owned()),
            "z{z}: {names:?}"
        );
        if z <= 10 {
            // The city's point lies in the crossing's tile at low zoom.
            assert_eq!(
                prop_str(&layers["places"][0], "name:ru").as_deref(),
                Some("Алматы")
            );
        }
    }
    // No Accept-Encoding: the same tile, unzipped.
    let (status, headers, plain) = fetch(app, &crossing(12), &[]).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none());
    assert!(decode(&plain).contains_key("roads"));

    // Revalidation.
    let (_, headers, _) = fetch(app, &crossing(12), &[("accept-encoding", "gzip")]).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let (status, headers, body) = fetch(app, &crossing(12), &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    let (status, _, _) = fetch(app, &crossing(12), &[("if-none-match", "\"other\"")]).await;
    assert_eq!(status, 200);
    let (_, other, _) = fetch(app, &crossing(13), &[]).await;
    assert_ne!(
        other["etag"].to_str().unwrap(),
        etag,
        "tiles differ, so do ETags"
    );

    check_tile_addresses(app).await;

    let tilejson = json(app, "/basemap.json").await;
    assert_eq!(tilejson["attribution"], ATTRIBUTION);
    assert_eq!(tilejson["minzoom"], *ZOOMS.start());
    assert_eq!(tilejson["maxzoom"], *ZOOMS.end());
    assert_eq!(
        tilejson["tiles"][0],
        format!("{}/basemap/{{z}}/{{x}}/{{y}}", app.base)
    );
    let layer_ids: Vec<&str> = tilejson["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(layer_ids, ["earth", "roads", "places"]);

    for lang in ["en", "ru", "kk"] {
        let style = json(app, &format!("/style.json?lang={lang}")).await;
        let source = &style["sources"]["basemap"];
        assert_eq!(source["type"], "vector");
        assert_eq!(source["attribution"], ATTRIBUTION);
        assert_eq!(source["maxzoom"], *ZOOMS.end());
        assert_eq!(source["tiles"][0], tilejson["tiles"][0]);
        let layers = style["layers"].as_array().unwrap();
        let position = |id: &str| {
            layers
                .iter()
                .position(|l| l["id"] == id)
                .unwrap_or_else(|| panic!("{lang}: no layer {id}"))
        };
        // The basemap under everything of Qala's.
        let last_basemap = layers
            .iter()
            .rposition(|l| l["source"] == "basemap" || l["metadata"]["qala:basemap"] == true)
            .unwrap();
        let first_qala = layers
            .iter()
            .position(|l| l["source"].as_str().is_some_and(|s| s.starts_with("qala-")))
            .unwrap();
        assert!(
            last_basemap < first_qala,
            "{lang}: a basemap layer above Qala's"
        );
        assert!(position("earth") < position("roads_major"));
        assert!(position("roads_major") < position("districts-fill"));
        assert!(position("roads_labels_major") < position("issue-points"));
        assert_eq!(
            layers.iter().filter(|l| l["type"] == "background").count(),
            1
        );
        assert!(
            !serde_json::to_string(&style)
                .unwrap()
                .contains("icon-image"),
            "no sprite, no icons"
        );
        let labels = serde_json::to_string(&layers[position("roads_labels_major")]).unwrap();
        let wanted = if lang == "en" { "name:en" } else { "name:ru" };
        assert!(labels.contains(wanted), "{lang}: {labels}");
        assert_glyphs_served(app, &style).await;
        assert_all_urls_local(app, &style);
    }
}

/// `glyphs` is this server, and every font stack a layer names is served.
async fn assert_glyphs_served(app: &TestApp, style: &Value) {
    let template = style["glyphs"].as_str().unwrap();
    assert_eq!(
        template,
        format!("{}/fonts/{{fontstack}}/{{range}}.pbf", app.base)
    );
    let mut stacks = std::collections::BTreeSet::new();
    for layer in style["layers"].as_array().unwrap() {
        if let Some(font) = layer["layout"].get("text-font") {
            let mut names = Vec::new();
            strings(font, &mut names);
            // Expressions hold operators too ("case", "literal"…): font names have spaces.
            stacks.extend(names.into_iter().filter(|n| n.contains(' ')));
        }
    }
    assert!(!stacks.is_empty());
    for stack in stacks {
        let path = format!("/fonts/{}/1024-1279.pbf", stack.replace(' ', "%20"));
        let (status, headers, body) = fetch(app, &path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], "application/x-protobuf");
        let glyphs = pbf_font_tools::Glyphs::decode(&body[..]).unwrap();
        assert_eq!(
            glyphs.stacks[0].name, stack,
            "the stack asked for is the font served"
        );
        assert!(
            glyphs.stacks[0]
                .glyphs
                .iter()
                .any(|g| g.id == u32::from('Ә')),
            "{stack}: Kazakh Ә"
        );
    }
}

async fn check_raster(app: &TestApp, content_type: &str, format: image::ImageFormat) {
    for z in [*ZOOMS.start(), *ZOOMS.end()] {
        let (status, headers, body) =
            fetch(app, &crossing(z), &[("accept-encoding", "gzip")]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], content_type);
        assert!(
            headers.get("content-encoding").is_none(),
            "images are not gzipped"
        );
        let image = image::load_from_memory_with_format(&body, format).unwrap();
        assert_eq!((image.width(), image.height()), (256, 256));
    }
    check_tile_addresses(app).await;
    let style = json(app, "/style.json").await;
    let source = &style["sources"]["basemap"];
    assert_eq!(source["type"], "raster");
    assert_eq!(source["tileSize"], 256);
    assert_eq!(source["attribution"], ATTRIBUTION);
    let layers = style["layers"].as_array().unwrap();
    let raster = layers.iter().position(|l| l["type"] == "raster").unwrap();
    let districts = layers
        .iter()
        .position(|l| l["id"] == "districts-fill")
        .unwrap();
    assert!(raster < districts);
    assert!(
        json(app, "/basemap.json")
            .await
            .get("vector_layers")
            .is_none()
    );
    assert_all_urls_local(app, &style);
}

#[tokio::test]
async fn pmtiles_vector_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("almaty.pmtiles");
    write_pmtiles(&path, Tiles::Vector);
    check_vector(&serving(&path).await, true).await;
}

#[tokio::test]
async fn pmtiles_vector_archive_stored_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("almaty.pmtiles");
    write_pmtiles(&path, Tiles::VectorUncompressed);
    check_vector(&serving(&path).await, false).await;
}

#[tokio::test]
async fn mbtiles_vector_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("almaty.mbtiles");
    write_mbtiles(&path, Tiles::Vector).await;
    check_vector(&serving(&path).await, true).await;
}

#[tokio::test]
async fn mbtiles_png_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("almaty.mbtiles");
    write_mbtiles(&path, Tiles::Png).await;
    check_raster(&serving(&path).await, "image/png", image::ImageFormat::Png).await;
}

#[tokio::test]
async fn pmtiles_jpeg_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("almaty.pmtiles");
    write_pmtiles(&path, Tiles::Jpeg);
    check_raster(
        &serving(&path).await,
        "image/jpeg",
        image::ImageFormat::Jpeg,
    )
    .await;
}

#[tokio::test]
async fn a_file_that_is_no_archive_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.pmtiles");
    std::fs::write(&path, "these are not tiles, just some text").unwrap();
    let error = qala_server::basemap::Basemap::open(&path)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("neither a PMTiles nor an MBTiles"),
        "{error}"
    );
    let url = format!("sqlite://{}", dir.path().join("qala.db").display());
    let store = qala_geodata::connect(&url).await.unwrap();
    let config = qala_server::ServerConfig {
        basemap: Some(path.clone()),
        ..unlimited_config()
    };
    let error = qala_server::AppState::load(store, config)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("opening the basemap"), "{error}");
}

#[tokio::test]
async fn without_a_basemap_the_style_draws_a_readable_base() {
    let app = TestApp::demo(&Backend::Sqlite, 0).await;
    let (status, _, _) = fetch(&app, "/basemap/10/0/0", &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch(&app, "/basemap.json", &[]).await;
    assert_eq!(status, 404);
    let districts = json(&app, "/api/v1/layers/districts/features?limit=100").await;
    let districts = districts["features"].as_array().unwrap().clone();
    assert!(districts.len() > 3);

    for (lang, field) in [("en", "name"), ("ru", "name_ru"), ("kk", "name_kk")] {
        let style = json(&app, &format!("/style.json?lang={lang}")).await;
        assert!(style["sources"].get("basemap").is_none());
        let layers = style["layers"].as_array().unwrap();
        let id = |l: &Value| l["id"].as_str().unwrap().to_owned();
        let ids: Vec<String> = layers.iter().map(id).collect();
        assert_eq!(ids[0], "background");
        // The base: a light background, green fills, corridors as lines, names.
        let background = layers[0]["paint"]["background-color"].as_str().unwrap();
        assert!(
            u32::from_str_radix(&background[1..3], 16).unwrap() > 0xe0,
            "light: {background}"
        );
        for (layer, kind) in [
            ("public-spaces", "fill"),
            ("green-corridors", "line"),
            ("districts-outline", "line"),
            ("district-labels", "symbol"),
        ] {
            let layer = layers.iter().find(|l| l["id"] == layer).unwrap();
            assert_eq!(layer["type"], kind);
        }
        let position = |name: &str| ids.iter().position(|i| i == name).unwrap();
        assert!(position("district-labels") < position("issue-points"));
        let label_layer = &layers[position("district-labels")];
        let text = serde_json::to_string(&label_layer["layout"]["text-field"]).unwrap();
        assert!(text.contains(&format!("\"{field}\"")), "{lang}: {text}");
        // One label per district, inside it, with its names.
        let labels = style["sources"]["qala-district-labels"]["data"]["features"]
            .as_array()
            .unwrap();
        assert_eq!(labels.len(), districts.len());
        for district in &districts {
            let name = &district["properties"]["name"];
            let label = labels
                .iter()
                .find(|l| &l["properties"]["name"] == name)
                .unwrap_or_else(|| panic!("no label for {name}"));
            assert_eq!(label["properties"][field], district["properties"][field]);
            assert_eq!(district["geometry"]["type"], "Polygon");
            let ring: Vec<(f64, f64)> = district["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            let polygon = geo::Polygon::new(geo::LineString::from(ring), vec![]);
            let c = &label["geometry"]["coordinates"];
            let point = geo::Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            assert!(polygon.contains(&point), "{name}'s label is outside it");
        }
        assert_glyphs_served(&app, &style).await;
        assert_all_urls_local(&app, &style);
        assert!(style.get("metadata").is_none());
    }
    let (status, _, body) = fetch(&app, "/style.json?lang=de", &[]).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn glyph_ranges_are_checked_and_empty_where_the_font_has_nothing() {
    let app = TestApp::empty(&Backend::Sqlite).await;
    let (status, _, body) = fetch(&app, "/fonts/DejaVu%20Sans%20Book/19968-20223.pbf", &[]).await;
    assert_eq!(status, 200);
    let glyphs = pbf_font_tools::Glyphs::decode(&body[..]).unwrap();
    assert!(
        glyphs.stacks[0].glyphs.is_empty(),
        "no CJK in DejaVu Sans: an empty range"
    );
    // A stack the server does not have is drawn with its default font.
    let (status, _, body) = fetch(&app, "/fonts/Noto%20Sans%20Regular/0-255.pbf", &[]).await;
    assert_eq!(status, 200);
    let glyphs = pbf_font_tools::Glyphs::decode(&body[..]).unwrap();
    assert!(
        glyphs.stacks[0]
            .glyphs
            .iter()
            .any(|g| g.id == u32::from('A'))
    );
    for path in [
        "/fonts/DejaVu%20Sans%20Book/0-256.pbf",
        "/fonts/DejaVu%20Sans%20Book/100-355.pbf",
        "/fonts/DejaVu%20Sans%20Book/65536-65791.pbf",
    ] {
        let (status, _, _) = fetch(&app, path, &[]).await;
        assert_eq!(status, 400, "{path}");
    }
    let (status, _, _) = fetch(&app, "/fonts/DejaVu%20Sans%20Book/0-255", &[]).await;
    assert_eq!(status, 404);
    let long = "A".repeat(300);
    let (status, _, _) = fetch(&app, &format!("/fonts/{long}/0-255.pbf"), &[]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_online_basemap_style_is_named_in_the_style() {
    let config = qala_server::ServerConfig {
        basemap_style: Some("https://tiles.example.org/styles/light.json".into()),
        ..unlimited_config()
    };
    let app = TestApp::with_config(&Backend::Sqlite, config).await;
    let style = json(&app, "/style.json").await;
    assert_eq!(
        style["metadata"]["qala:basemap-style"],
        "https://tiles.example.org/styles/light.json"
    );
    assert!(style["sources"].get("basemap").is_none());
}
