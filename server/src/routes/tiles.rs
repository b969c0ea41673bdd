//! `/tiles/…`: Mapbox Vector Tiles, TileJSON 3.0, and a MapLibre style.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qala_geodata::{BBox, LayerName};
use qala_tiles::{Compression, TileId};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;
use crate::tiling::{EncodedTile, TileRequest, Variant, layer_fields, on_cpu_pool, render};

/// Media type of Mapbox Vector Tiles.
const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Tiles change when issues are reported, so caches keep them briefly and
/// revalidate with the ETag.
const CACHE_CONTROL: &str = "public, max-age=60";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tile))
        .route("/tiles/{tilejson}", get(tilejson))
        .route("/style.json", get(style))
}

/// `a,b,c` → layers, each known and named once.
fn parse_layers(raw: &str) -> ApiResult<Vec<LayerName>> {
    let mut layers = Vec::new();
    for name in raw.split(',') {
        let layer = LayerName::parse(name)
            .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not_found", e.message))?;
        if layers.contains(&layer) {
            return Err(ApiError::bad_parameter(
                "layers",
                format!("layer {name} is named twice"),
            ));
        }
        layers.push(layer);
    }
    Ok(layers)
}

fn parse_tile(z: &str, x: &str, y: &str) -> ApiResult<TileId> {
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "tiles are served as {z}/{x}/{y}.mvt",
        )
    })?;
    let number = |name: &str, v: &str| {
        v.parse::<u32>().map_err(|_| {
            ApiError::bad_parameter(
                name,
                format!("{name} must be a non-negative integer, not {v:?}"),
            )
        })
    };
    let (z, x, y) = (number("z", z)?, number("x", x)?, number("y", y)?);
    let z = u8::try_from(z).map_err(|_| ApiError::bad_parameter("z", "zoom must be 0 to 22"))?;
    TileId::new(z, x, y).map_err(|e| ApiError {
        field: Some("z/x/y".into()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_tile", e.to_string())
    })
}

async fn tile(
    State(state): State<AppState>,
    Path((layers, z, x, y)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let layers = parse_layers(&layers)?;
    let tile = parse_tile(&z, &x, &y)?;
    let mut params = Params::parse(raw.as_deref())?;
    let filter = params.issue_filter()?;
    // `v` lets clients bust their own HTTP caches; the server's cache does not need it.
    params.text("v");
    params.finish()?;
    let variant = Variant {
        layers: layers.clone(),
        filter: filter.clone(),
    };

    let coding = preferred_coding(&headers);
    let (encoded, body) = match state.tiles.cache.get(tile, &variant) {
        Some(hit) => {
            let body = hit.made(coding);
            (hit, body)
        }
        None => {
            let render_state = state.clone();
            let request = TileRequest {
                tile,
                layers,
                filter,
            };
            on_cpu_pool(move || {
                let epoch = render_state.tiles.cache.epoch();
                let raw = {
                    let index = render_state.index.read();
                    render(&render_state.tiles, &index, &request)?
                };
                let encoded = Arc::new(EncodedTile::new(raw));
                render_state
                    .tiles
                    .cache
                    .insert(tile, variant, Arc::clone(&encoded), epoch);
                // Compressed here too, while on the pool anyway.
                let body = if encoded.raw.is_empty() {
                    None
                } else {
                    Some(encoded.encoded(coding)?)
                };
                Ok::<_, qala_tiles::TileError>((encoded, body))
            })
            .await
            .map_err(|e| internal(&e))?
            .map_err(|e| internal(&e))?
        }
    };
    if not_modified(&encoded, &headers) {
        return Ok(tile_response(
            &encoded,
            StatusCode::NOT_MODIFIED.into_response(),
        ));
    }
    if encoded.raw.is_empty() {
        return Ok(tile_response(
            &encoded,
            StatusCode::NO_CONTENT.into_response(),
        ));
    }
    let body = match body {
        Some(body) => body,
        None => {
            // Compressing is CPU work too (brotli of a dense tile: ~10 ms).
            let tile = Arc::clone(&encoded);
            on_cpu_pool(move || tile.encoded(coding))
                .await
                .map_err(|e| internal(&e))?
                .map_err(|e| internal(&e))?
        }
    };
    let mut response = Body::from(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    if coding != Compression::None {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.content_encoding()),
        );
    }
    Ok(tile_response(&encoded, response))
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "tile rendering failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal server error",
    )
}

/// The encodings a client accepts, by `Accept-Encoding` (q=0 means no).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
            name.eq_ignore_ascii_case(coding) && !refused
        })
}

/// Whether the client's copy (`If-None-Match`) is current: answer 304.
fn not_modified(tile: &EncodedTile, headers: &HeaderMap) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim() == tile.etag || t.trim() == "*")
        })
}

/// The best encoding the client accepts: brotli (smallest), gzip, or none.
fn preferred_coding(headers: &HeaderMap) -> Compression {
    if accepts(headers, "br") {
        Compression::Brotli
    } else if accepts(headers, "gzip") {
        Compression::Gzip
    } else {
        Compression::None
    }
}

/// Headers every tile answer carries: 304 when the client's copy is
/// current, 204 for an empty tile (nothing to draw; MapLibre treats it as an
/// empty tile), else the bytes in the best encoding the client accepts.
fn tile_response(tile: &EncodedTile, mut response: Response) -> Response {
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&tile.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// Where clients reach this server: the configured public URL, else the request's Host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The union of boxes (ignoring antimeridian-crossing ones for simplicity:
/// TileJSON bounds are a hint for clients).
fn union(boxes: impl Iterator<Item = BBox>) -> Option<BBox> {
    boxes.fold(None, |acc, b| {
        Some(match acc {
            None => b,
            Some(a) => BBox {
                west: a.west.min(b.west),
                south: a.south.min(b.south),
                east: a.east.max(b.east),
                north: a.north.max(b.north),
            },
        })
    })
}

async fn tilejson(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let layers_raw = name.strip_suffix(".json").ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "TileJSON is at /tiles/{layers}.json",
        )
    })?;
    let layers = parse_layers(layers_raw)?;
    let mut params = Params::parse(raw.as_deref())?;
    params.issue_filter()?;
    params.text("v");
    params.finish()?;
    let query = raw
        .as_deref()
        .filter(|q| !q.is_empty())
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let base = base_url(&state, &headers);
    let index = state.index.read();
    let vector_layers: Vec<Value> = layers
        .iter()
        .map(|l| json!({"id": l.as_str(), "fields": layer_fields(&index, *l), "minzoom": 0, "maxzoom": qala_tiles::MAX_ZOOM}))
        .collect();
    let bounds = union(layers.iter().filter_map(|l| match l {
        LayerName::Issues => index.issues.bbox(),
        other => index.layer(*other).summary(*other).bbox,
    }))
    .unwrap_or(BBox {
        west: -180.0,
        south: -85.051_128_78,
        east: 180.0,
        north: 85.051_128_78,
    });
    let center = [
        (bounds.west + bounds.east) / 2.0,
        (bounds.south + bounds.north) / 2.0,
        11.0,
    ];
    let body = json!({
        "tilejson": "3.0.0",
        "name": format!("Qala: {}", layers_raw.replace(',', ", ")),
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{layers_raw}/{{z}}/{{x}}/{{y}}.mvt{query}")],
        "vector_layers": vector_layers,
        "bounds": [bounds.west, bounds.south, bounds.east, bounds.north],
        "center": center,
        "minzoom": 0,
        "maxzoom": qala_tiles::MAX_ZOOM,
        "attribution": "Qala",
    });
    Ok(axum::Json(body).into_response())
}

/// Colours of issue statuses, shared by the style and (later) the web client's legend.
pub const STATUS_COLOURS: [(&str, &str); 7] = [
    ("open", "#d7301f"),
    ("acknowledged", "#fc8d59"),
    ("in_progress", "#e6a700"),
    ("resolved", "#1a9850"),
    ("closed", "#6b6b6b"),
    ("rejected", "#3d3d3d"),
    ("duplicate", "#a6a6a6"),
];

async fn style(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    let mut status_colour = vec![json!("match"), json!(["get", "status"])];
    for (status, colour) in STATUS_COLOURS {
        status_colour.push(json!(status));
        status_colour.push(json!(colour));
    }
    status_colour.push(json!("#d7301f"));
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
             "filter": ["has", "point_count"],
             "paint": {
                "circle-color": "#c0392b", "circle-opacity": 0.75, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
                "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "point_count"]], 1, 6, 10, 14, 40, 28]}},
            {"id": "issue-points", "type": "circle", "source": "qala-issues", "source-layer": "issues",
             "filter": ["!", ["has", "point_count"]],
             "paint": {"circle-color": status_colour, "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 3, 16, 7],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}}
        ]
    });
    axum::Json(body).into_response()
}
