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
use headers::{ETag, HeaderMapExt, IfNoneMatch};
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

fn parse_tile(z: &str, x: &str, y: &str) -> ApiResult<(u8, u32, u32)> {
    let number = |name: &str, v: &str| {
        v.parse::<u32>().map_err(|_| {
            ApiError::bad_parameter(
                name,
                format!("{name} must be a non-negative integer, not {v:?}"),
            )
        })
    };
    let (z, x, y) = (number("z", z)?, number("x", x)?, number("y", y)?);
    let z = u8::try_from(z)
        .ok()
        .filter(|z| *z <= qala_tiles::MAX_ZOOM)
        .ok_or_else(|| {
            ApiError::bad_parameter("z", format!("zoom must be 0 to {}", qala_tiles::MAX_ZOOM))
        })?;
    qala_tiles::TileId::new(z, x, y).map_err(|e| ApiError {
        field: Some("z/x/y".into()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_tile", e.to_string())
    })?;
    Ok((z, x, y))
}

/// Whether the client takes gzip (every browser does; `curl` without
/// `--compressed` does not).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

async fn tile(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref())?.finish()?;
    let basemap = state.basemap.as_ref().ok_or_else(no_basemap)?;
    let (z, x, y) = parse_tile(&z, &x, &y)?;
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
    let hash = twox_hash::XxHash3_64::oneshot(&stored.data);
    let etag: Option<ETag> = format!("\"b{hash:016x}\"").parse().ok();
    if let (Some(etag), Some(condition)) = (&etag, headers.typed_get::<IfNoneMatch>())
        && !condition.precondition_passes(etag)
    {
        let mut response = cache(StatusCode::NOT_MODIFIED.into_response());
        response.headers_mut().typed_insert(etag.clone());
        return Ok(response);
    }
    let gzip_out = stored.gzip && accepts_gzip(&headers);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("header"),
            );
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
