//! `/style.json`: the MapLibre style, the one definition of how Qala's
//! layers are drawn: status colours and cluster styling included. The web
//! client reads the status colours back from it (legend, badges, bubbles)
//! and draws with it as it is.
//!
//! `?lang=en|ru|kk` picks the language of the labels. With a basemap
//! archive (`--basemap`) its source and layers come first, under Qala's
//! ([`crate::basemap::style`]); without one, Qala's own layers are the base:
//! a light background, districts with their names, green corridors, public
//! spaces. An online style (`--basemap-style`) is named in the metadata for
//! the client to lay this style over.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use geo::InteriorPoint;
use qala_geodata::LayerName;
use serde_json::{Map, Value, json};

use super::base_url;
use crate::basemap::glyphs::DEFAULT_FONT;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;

/// The interface languages labels come in.
const LANGUAGES: [&str; 3] = ["en", "ru", "kk"];
/// District labels carried in the style at most (a city has dozens).
const MAX_DISTRICT_LABELS: usize = 2000;
/// The style's metadata key naming the online basemap style.
const BASEMAP_STYLE_KEY: &str = "qala:basemap-style";
use crate::tiling::{POINT_COUNT, STATUS, VOTES, status_count_key};

/// Colours of issue statuses, in workflow order: the `issue-points` colours
/// of the style, which the web client reads back for its legend and badges.
pub const STATUS_COLOURS: [(&str, &str); 7] = [
    ("open", "#d7301f"),
    ("acknowledged", "#fc8d59"),
    ("in_progress", "#e6a700"),
    ("resolved", "#1a9850"),
    ("closed", "#6b6b6b"),
    ("rejected", "#3d3d3d"),
    ("duplicate", "#a6a6a6"),
];

/// Drawn for a status the style does not know.
const UNKNOWN_STATUS_COLOUR: &str = "#d7301f";

/// A single issue's colour: its status's.
fn status_colour() -> Value {
    let mut expression = vec![json!("match"), json!(["get", STATUS.key])];
    for (status, colour) in STATUS_COLOURS {
        expression.push(json!(status));
        expression.push(json!(colour));
    }
    expression.push(json!(UNKNOWN_STATUS_COLOUR));
    Value::Array(expression)
}

/// A cluster's colour: its most common status's. Cluster features carry
/// `status_<status>` counts; a status beats every other, or ties with it
/// and comes earlier in the workflow order.
fn cluster_colour() -> Value {
    let count = |status: &str| json!(["coalesce", ["get", status_count_key(status)], 0]);
    let mut expression = vec![json!("case")];
    for (status, colour) in STATUS_COLOURS {
        let mut beats_all = vec![json!("all")];
        for (other, _) in STATUS_COLOURS.iter().filter(|(o, _)| *o != status) {
            beats_all.push(json!([">=", count(status), count(other)]));
        }
        expression.push(Value::Array(beats_all));
        expression.push(json!(colour));
    }
    expression.push(json!(UNKNOWN_STATUS_COLOUR));
    Value::Array(expression)
}

/// A district name in `lang`: its `name_<lang>` property, else the next
/// best (Kazakh falls back to Russian), else `name`.
fn label_text(lang: &str) -> Value {
    match lang {
        "ru" => json!(["coalesce", ["get", "name_ru"], ["get", "name"]]),
        "kk" => json!([
            "coalesce",
            ["get", "name_kk"],
            ["get", "name_ru"],
            ["get", "name"]
        ]),
        _ => json!(["get", "name"]),
    }
}

/// The districts' label points (each inside its district, even a concave
/// one: `geo`'s interior point) with their names, as inline GeoJSON.
fn district_labels(state: &AppState) -> Value {
    let index = state.index.read();
    let features: Vec<Value> = index
        .layer(LayerName::Districts)
        .all()
        .filter_map(|feature| {
            let point = feature.geometry.interior_point()?;
            let mut properties = Map::new();
            for key in ["name", "name_ru", "name_kk"] {
                if let Some(Value::String(name)) = feature.properties.get(key) {
                    properties.insert(key.into(), json!(name));
                }
            }
            properties.contains_key("name").then(|| {
                json!({"type": "Feature", "properties": properties,
                       "geometry": {"type": "Point", "coordinates": [point.x(), point.y()]}})
            })
        })
        .take(MAX_DISTRICT_LABELS)
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// The style: Qala's own sources and layers, over the basemap if there is one.
pub(super) async fn style(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let lang = params.text("lang").unwrap_or_else(|| "en".to_owned());
    params.finish()?;
    if !LANGUAGES.contains(&lang.as_str()) {
        return Err(ApiError {
            field: Some("lang".into()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                "lang must be en, ru or kk",
            )
        });
    }
    let base = base_url(&state, &headers)?;
    let mut body = qala_style(&state, &base, &lang);
    if let Some(basemap) = &state.basemap {
        use crate::basemap::style as basemap_style;
        body["sources"][basemap_style::SOURCE] = basemap_style::source(&basemap.info, &base);
        let mut layers = basemap_style::layers(&basemap.info, &lang);
        let qala = body["layers"].as_array().cloned().unwrap_or_default();
        layers.extend(
            qala.into_iter()
                .filter(|l| l["id"] != "background")
                .map(|mut l| {
                    // The basemap paints the land: the districts become a light tint.
                    if l["id"] == "districts-fill" {
                        l["paint"]["fill-opacity"] = json!(0.12);
                    }
                    l
                }),
        );
        body["layers"] = Value::Array(layers);
    }
    if let Some(url) = &state.config.basemap_style {
        body["metadata"] = json!({ BASEMAP_STYLE_KEY: url });
    }
    Ok(axum::Json(body).into_response())
}

/// Qala's own style: a light base from its reference layers, issues on top.
fn qala_style(state: &AppState, base: &str, lang: &str) -> Value {
    let center = {
        let index = state.index.read();
        index
            .layer(LayerName::Districts)
            .summary(LayerName::Districts)
            .bbox
            .map_or([0.0, 0.0], |b| {
                [(b.west + b.east) / 2.0, (b.south + b.north) / 2.0]
            })
    };
    json!({
        "version": 8,
        "name": "Qala",
        "center": center,
        "zoom": 11,
        // Served by this server from the vendored fonts ([`crate::basemap::glyphs`]).
        "glyphs": format!("{base}/fonts/{{fontstack}}/{{range}}.pbf"),
        "sources": {
            "qala-reference": {"type": "vector", "url": format!("{base}/tiles/districts,public_spaces,green_corridors,bike_routes.json")},
            "qala-district-labels": {"type": "geojson", "data": district_labels(state)},
            "qala-issues": {"type": "vector", "url": format!("{base}/tiles/issues.json")}
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f3f1ec"}},
            {"id": "districts-fill", "type": "fill", "source": "qala-reference", "source-layer": "districts",
             "paint": {"fill-color": "#dfe6ee", "fill-opacity": 0.6}},
            {"id": "public-spaces", "type": "fill", "source": "qala-reference", "source-layer": "public_spaces",
             "filter": ["==", ["geometry-type"], "Polygon"], "paint": {"fill-color": "#9ccf8a", "fill-outline-color": "#5e9e4c"}},
            {"id": "green-corridors", "type": "line", "source": "qala-reference", "source-layer": "green_corridors",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": "#3c9a5f", "line-opacity": 0.55, "line-width": ["interpolate", ["linear"], ["zoom"], 10, 3, 16, 14]}},
            {"id": "bike-routes", "type": "line", "source": "qala-reference", "source-layer": "bike_routes",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": "#2b6cb0", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.5, 16, 4], "line-dasharray": [2, 1]}},
            {"id": "districts-outline", "type": "line", "source": "qala-reference", "source-layer": "districts",
             "paint": {"line-color": "#5a6b7d", "line-width": 1.5}},
            {"id": "district-labels", "type": "symbol", "source": "qala-district-labels",
             "layout": {"text-field": label_text(lang), "text-font": [DEFAULT_FONT], "text-size": ["interpolate", ["linear"], ["zoom"], 10, 12, 15, 16],
                        "text-max-width": 8, "text-letter-spacing": 0.04, "text-transform": "uppercase"},
             "paint": {"text-color": "#4a5868", "text-halo-color": "#ffffff", "text-halo-width": 1.5}},
            {"id": "public-space-points", "type": "circle", "source": "qala-reference", "source-layer": "public_spaces",
             "filter": ["==", ["geometry-type"], "Point"], "paint": {"circle-color": "#2f855a", "circle-radius": 5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5}},
            {"id": "issue-clusters", "type": "circle", "source": "qala-issues", "source-layer": "issues",
             "filter": ["has", POINT_COUNT.key],
             // Small dots: the web client's count bubbles carry the numbers,
             // these show where the issues are.
             "paint": {
                "circle-color": cluster_colour(), "circle-opacity": 0.85, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
                "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", POINT_COUNT.key]], 1, 3, 4, 5, 20, 9]}},
            {"id": "issue-points", "type": "circle", "source": "qala-issues", "source-layer": "issues",
             "filter": ["!", ["has", POINT_COUNT.key]],
             // An issue many residents said "me too" to is drawn larger: by
             // the square root of its votes, so 4 votes add 2 px at street
             // zoom and 100 add 10.
             "paint": {"circle-color": status_colour(), "circle-radius": ["interpolate", ["linear"], ["zoom"],
                           10, ["+", 3, ["*", 0.5, ["sqrt", ["coalesce", ["get", VOTES.key], 0]]]],
                           16, ["+", 7, ["sqrt", ["coalesce", ["get", VOTES.key], 0]]]],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}}
        ]
    })
}
