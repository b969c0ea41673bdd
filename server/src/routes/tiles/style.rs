//! `/style.json`: the MapLibre style, the one definition of how Qala's
//! layers are drawn: status colours and cluster styling included. The web
//! client reads the status colours back from it (legend, badges, bubbles)
//! and draws with it as it is.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use qala_geodata::LayerName;
use serde_json::{Value, json};

use super::base_url;
use crate::state::AppState;
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

/// The style: Qala's own sources and layers on a plain background.
pub(super) async fn style(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = match base_url(&state, &headers) {
        Ok(base) => base,
        Err(e) => return e.into_response(),
    };
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
    let body = json!({
        "version": 8,
        "name": "Qala",
        "center": center,
        "zoom": 11,
        "sources": {
            "qala-reference": {"type": "vector", "url": format!("{base}/tiles/districts,public_spaces,green_corridors,bike_routes.json")},
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
    });
    axum::Json(body).into_response()
}
