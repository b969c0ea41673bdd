//! The basemap's part of `/style.json`: its source (tiles served by this
//! server, the archive's attribution) and its layers, drawn under Qala's.
//! Protomaps-schema vector tiles get the `@protomaps/basemaps` "light"
//! layers vendored by `npm run vendor` (web/vendor/basemap/, one file per
//! language, fonts renamed to the ones [`super::glyphs`] serves, icon layers
//! left out: there is no sprite); other vector schemas a plain generic style
//! of their layers; raster tiles one raster layer.

use serde_json::{Value, json};

use super::{BasemapInfo, Schema};

/// The source id of the basemap in the style (the vendored layers name it).
pub const SOURCE: &str = "basemap";

/// Marks the layers that are the basemap's, so a client laying Qala over an
/// online style (`?basemap=URL`) can leave them out.
pub const METADATA_KEY: &str = "qala:basemap";

const PROTOMAPS_EN: &str = include_str!("../../../web/vendor/basemap/protomaps-light.en.json");
const PROTOMAPS_RU: &str = include_str!("../../../web/vendor/basemap/protomaps-light.ru.json");

/// Raster tiles are taken as 256 px (the MBTiles and PMTiles convention;
/// 512 px tiles still draw, only blurrier).
const RASTER_TILE_SIZE: u16 = 256;

/// The style source of the basemap, its tiles at `{base}/basemap/{z}/{x}/{y}`.
pub fn source(info: &BasemapInfo, base: &str) -> Value {
    let mut source = json!({
        "type": if info.format.is_vector() { "vector" } else { "raster" },
        "tiles": [format!("{base}/basemap/{{z}}/{{x}}/{{y}}")],
        "minzoom": info.min_zoom,
        "maxzoom": info.max_zoom,
    });
    if let Some(bounds) = info.bounds {
        source["bounds"] = json!(bounds);
    }
    if let Some(attribution) = &info.attribution {
        source["attribution"] = json!(attribution);
    }
    if !info.format.is_vector() {
        source["tileSize"] = json!(RASTER_TILE_SIZE);
    }
    source
}

/// The basemap's layers for the interface language `lang` (`en`, `ru`,
/// `kk`): place and street names in it where the tiles have them. Kazakh
/// is not among `@protomaps/basemaps`' languages: it gets the Russian
/// layers (the same script; local names where no Russian one is tagged).
pub fn layers(info: &BasemapInfo, lang: &str) -> Vec<Value> {
    let mut layers = match info.schema() {
        Schema::Protomaps => {
            let text = if lang == "en" {
                PROTOMAPS_EN
            } else {
                PROTOMAPS_RU
            };
            match serde_json::from_str::<Vec<Value>>(text) {
                Ok(layers) => layers,
                Err(e) => {
                    // Built in and checked by the tests: cannot happen in a
                    // tested build, and a map without basemap still works.
                    tracing::error!(error = %e, "the vendored basemap layers do not parse");
                    Vec::new()
                }
            }
        }
        Schema::Other => generic_layers(&info.vector_layers),
        Schema::Raster => vec![
            json!({"id": "basemap-background", "type": "background", "paint": {"background-color": "#f3f1ec"}}),
            json!({"id": "basemap-raster", "type": "raster", "source": SOURCE}),
        ],
    };
    for layer in &mut layers {
        if let Some(object) = layer.as_object_mut() {
            object.insert("metadata".into(), json!({ METADATA_KEY: true }));
        }
    }
    layers
}

/// A vector schema Qala has no style for: its polygons as light fills and
/// its lines as thin grey lines, so streets and blocks show; no labels
/// (which fields hold names is the schema's business).
fn generic_layers(vector_layers: &[String]) -> Vec<Value> {
    let mut layers = vec![
        json!({"id": "basemap-background", "type": "background", "paint": {"background-color": "#f3f1ec"}}),
    ];
    for name in vector_layers {
        layers.push(json!({
            "id": format!("basemap-{name}-fill"), "type": "fill", "source": SOURCE, "source-layer": name,
            "filter": ["==", ["geometry-type"], "Polygon"],
            "paint": {"fill-color": "#e4e1da", "fill-opacity": 0.6}
        }));
        layers.push(json!({
            "id": format!("basemap-{name}-line"), "type": "line", "source": SOURCE, "source-layer": name,
            "filter": ["==", ["geometry-type"], "LineString"],
            "paint": {"line-color": "#c2bcb1", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 16, 3]}
        }));
    }
    layers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::basemap::TileFormat;

    fn info(format: TileFormat, vector_layers: &[&str]) -> BasemapInfo {
        BasemapInfo {
            format,
            min_zoom: 0,
            max_zoom: 14,
            bounds: None,
            name: None,
            attribution: Some("© OpenStreetMap contributors".into()),
            vector_layers: vector_layers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn vendored_protomaps_layers_use_served_fonts_and_no_icons() {
        let info = info(TileFormat::Mvt, &["earth", "roads", "places"]);
        for lang in ["en", "ru", "kk"] {
            let layers = layers(&info, lang);
            assert!(layers.len() > 40, "{lang}: {} layers", layers.len());
            let text = serde_json::to_string(&layers).expect("json");
            assert!(!text.contains("icon-image"), "{lang}");
            assert!(!text.contains("Noto Sans"), "{lang}");
            assert!(text.contains(super::super::glyphs::DEFAULT_FONT), "{lang}");
            for layer in &layers {
                if let Some(source) = layer.get("source") {
                    assert_eq!(source, SOURCE);
                }
            }
        }
        let ru = serde_json::to_string(&layers(&info, "ru")).expect("json");
        assert!(ru.contains("name:ru"));
    }

    #[test]
    fn other_schemas_and_rasters_get_plain_layers() {
        let other = layers(&info(TileFormat::Mvt, &["transportation"]), "en");
        assert!(other.iter().any(|l| l["source-layer"] == "transportation"));
        let raster = layers(&info(TileFormat::Png, &[]), "en");
        assert_eq!(raster[1]["type"], "raster");
        let source = source(&info(TileFormat::Png, &[]), "http://x");
        assert_eq!(source["type"], "raster");
        assert_eq!(source["attribution"], "© OpenStreetMap contributors");
    }
}
