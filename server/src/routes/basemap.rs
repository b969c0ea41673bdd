//! The basemap over HTTP: `/basemap/{z}/{x}/{y}` (the archive's tiles as
//! stored, no file extension: the Content-Type says what they are),
//! `/basemap.json` (TileJSON) and `/fonts/{fontstack}/{range}.pbf` (the
//! glyphs every text label of the style needs, served with or without a
//! basemap). See [`crate::basemap`].

use std::io::Read;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headers::HeaderMapExt;
use tilejson::{Bounds, VectorLayer, tilejson};

use crate::basemap::glyphs;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;

/// The archive does not change while the server runs, but a restart may
/// bring another: an hour, then revalidation with the ETag.
const TILE_CACHE_CONTROL: &str = "public, max-age=3600";
/// Glyphs change only with a new build.
const GLYPH_CACHE_CONTROL: &str = "public, max-age=86400";
/// The longest font stack name accepted.
const MAX_FONTSTACK: usize = 256;
/// A stored tile larger than this once unzipped is refused (for a client
/// that does not accept gzip): no real tile comes near it.
const MAX_UNZIPPED_TILE: u64 = 64 << 20;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/basemap/{z}/{x}/{y}", get(tile))
        .route("/basemap.json", get(tilejson))
        .route("/fonts/{fontstack}/{range}", get(glyph_range))
}

fn no_basemap() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no basemap is configured (qala serve --basemap FILE)",
    )
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "basemap read failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal server error",
    )
}

async fn tile(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref())?.finish()?;
    let basemap = state.basemap.as_ref().ok_or_else(no_basemap)?;
    let id = super::tiles::tile_id(&z, &x, &y)?;
    let (z, x, y) = (id.z(), id.x(), id.y());
    let info = &basemap.info;
    if z < info.min_zoom || z > info.max_zoom {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "the basemap has zoom levels {} to {}",
                info.min_zoom, info.max_zoom
            ),
        ));
    }
    let cache = |mut response: Response| {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(TILE_CACHE_CONTROL),
        );
        response
    };
    let Some(stored) = basemap.tile(z, x, y).await.map_err(|e| internal(&e))? else {
        // Inside the zoom range but not stored (sea, outside the extract):
        // nothing to draw, which MapLibre takes as an empty tile.
        return Ok(cache(StatusCode::NO_CONTENT.into_response()));
    };
    let etag = super::etag::of_bytes("b", &stored.data);
    if let Some(etag) = &etag
        && super::etag::client_has(&headers, etag)
    {
        let mut response = cache(StatusCode::NOT_MODIFIED.into_response());
        response.headers_mut().typed_insert(etag.clone());
        return Ok(response);
    }
    let gzip_out = stored.gzip && super::tiles::accept_encoding::accepts_gzip(&headers);
    let body = if stored.gzip && !gzip_out {
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&stored.data[..])
            .take(MAX_UNZIPPED_TILE)
            .read_to_end(&mut unzipped)
            .map_err(|e| internal(&e))?;
        bytes::Bytes::from(unzipped)
    } else {
        stored.data
    };
    let mut response = cache(Body::from(body).into_response());
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(info.format.content_type()),
    );
    if gzip_out {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if stored.gzip {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(etag) = etag {
        h.typed_insert(etag);
    }
    Ok(response)
}

async fn tilejson(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref())?.finish()?;
    let basemap = state.basemap.as_ref().ok_or_else(no_basemap)?;
    let base = super::tiles::base_url(&state, &headers)?;
    let info = &basemap.info;
    let mut body = tilejson! {
        tiles: vec![format!("{base}/basemap/{{z}}/{{x}}/{{y}}")],
        minzoom: info.min_zoom,
        maxzoom: info.max_zoom,
        scheme: "xyz".to_owned(),
    };
    body.name = info.name.clone();
    body.attribution = info.attribution.clone();
    if let Some([w, s, e, n]) = info.bounds {
        body.bounds = Some(Bounds::new(w, s, e, n));
    }
    if info.format.is_vector() {
        body.vector_layers = Some(
            info.vector_layers
                .iter()
                .map(|id| VectorLayer::new(id.clone(), Default::default()))
                .collect(),
        );
    }
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

async fn glyph_range(
    State(state): State<AppState>,
    Path((fontstack, range)): Path<(String, String)>,
) -> ApiResult<Response> {
    if fontstack.len() > MAX_FONTSTACK {
        return Err(ApiError::bad_parameter(
            "fontstack",
            format!("a font stack is at most {MAX_FONTSTACK} bytes"),
        ));
    }
    let range = range.strip_suffix(".pbf").ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "glyphs are served as /fonts/{fontstack}/{start}-{end}.pbf",
        )
    })?;
    let start = glyphs::parse_range(range).ok_or_else(|| {
        ApiError::bad_parameter(
            "range",
            "a range is 256 characters from a multiple of 256, such as 0-255 or 1024-1279",
        )
    })?;
    let font = glyphs::font_of(&fontstack);
    let rendered = std::sync::Arc::clone(&state.glyphs);
    let pbf = crate::tiling::on_cpu_pool(move || rendered.range(font, start))
        .await
        .map_err(|e| internal(&e))?
        .map_err(|e| internal(&e))?;
    let mut response = Body::from(pbf).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(GLYPH_CACHE_CONTROL),
    );
    Ok(response)
}
