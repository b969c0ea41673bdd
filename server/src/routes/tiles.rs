//! `/tiles/…`: Mapbox Vector Tiles, TileJSON 3.0, and a MapLibre style.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headers::{ETag, HeaderMapExt};
use qala_geodata::{BBox, LayerName};
use qala_tiles::{Compression, TileId};
use tilejson::{Bounds, Center, VectorLayer, tilejson};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;
use crate::tiling::{EncodedTile, TileRequest, Variant, layer_fields, on_cpu_pool, render};

pub(super) mod accept_encoding;
mod style;

/// Media type of Mapbox Vector Tiles.
const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Tiles change when issues are reported, so caches keep them briefly and
/// revalidate with the ETag.
const CACHE_CONTROL: &str = "public, max-age=60";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tile))
        .route("/tiles/{tilejson}", get(tilejson))
        .route("/style.json", get(style::style))
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
    tile_id(z, x, y)
}

/// A tile address from a path's `z`, `x` and `y` (400 with the part at
/// fault): Qala's tiles and the basemap's.
pub(super) fn tile_id(z: &str, x: &str, y: &str) -> ApiResult<TileId> {
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

    let coding = accept_encoding::preferred(&headers);
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
    let etag = etag_of(&encoded);
    if let Some(etag) = &etag
        && super::etag::client_has(&headers, etag)
    {
        return Ok(tile_response(
            Some(etag),
            StatusCode::NOT_MODIFIED.into_response(),
        ));
    }
    if encoded.raw.is_empty() {
        return Ok(tile_response(
            etag.as_ref(),
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
    Ok(tile_response(etag.as_ref(), response))
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "tile rendering failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal server error",
    )
}

/// The tile's validator as a typed header. `EncodedTile` keeps it as text:
/// the cache knows nothing of HTTP.
fn etag_of(tile: &EncodedTile) -> Option<ETag> {
    tile.etag.parse().ok()
}

/// Headers every tile answer carries: 304 when the client's copy is
/// current, 204 for an empty tile (nothing to draw; MapLibre treats it as an
/// empty tile), else the bytes in the best encoding the client accepts.
fn tile_response(etag: Option<&ETag>, mut response: Response) -> Response {
    let h = response.headers_mut();
    if let Some(etag) = etag {
        h.typed_insert(etag.clone());
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// Where clients reach this server ([`crate::public_url`]).
pub(super) fn base_url(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    crate::public_url::base_url(
        state.config.public_url.as_deref(),
        &state.config.allowed_hosts,
        headers,
    )
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
    let base = base_url(&state, &headers)?;
    let index = state.index.read();
    let vector_layers = layers
        .iter()
        .map(|l| {
            let fields = layer_fields(&index, *l)
                .into_iter()
                .map(|(name, kind)| (name, kind.to_owned()))
                .collect();
            VectorLayer {
                minzoom: Some(0),
                maxzoom: Some(qala_tiles::MAX_ZOOM),
                ..VectorLayer::new(l.as_str().to_owned(), fields)
            }
        })
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
    let center = Center::new(
        (bounds.west + bounds.east) / 2.0,
        (bounds.south + bounds.north) / 2.0,
        11,
    );
    let body = tilejson! {
        tiles: vec![format!("{base}/tiles/{layers_raw}/{{z}}/{{x}}/{{y}}.mvt{query}")],
        name: format!("Qala: {}", layers_raw.replace(',', ", ")),
        scheme: "xyz".to_owned(),
        vector_layers: vector_layers,
        bounds: Bounds::new(bounds.west, bounds.south, bounds.east, bounds.north),
        center: center,
        minzoom: 0,
        maxzoom: qala_tiles::MAX_ZOOM,
        attribution: "Qala".to_owned(),
    };
    Ok(axum::Json(body).into_response())
}
