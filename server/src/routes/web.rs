//! The web client: `/` (resident map), `/planner`, and its assets under `/web/`.
//!
//! The files under `web/` are compiled into the release binary (rust-embed),
//! so `qala` serves the map from anywhere with nothing fetched from a CDN;
//! debug builds read them from disk, so editing the client needs no rebuild.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(rust_embed::Embed)]
#[folder = "../web/"]
#[exclude = "node_modules/*"]
#[exclude = "tests/*"]
#[exclude = "package*.json"]
#[exclude = "*.md"]
#[exclude = "scripts/*"]
#[exclude = ".*"]
struct WebAssets;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { asset("index.html", &headers) }))
        .route("/planner", get(|headers: HeaderMap| async move { asset("planner.html", &headers) }))
        .route("/web/{*path}", get(|Path(path): Path<String>, headers: HeaderMap| async move { asset(&path, &headers) }))
}

fn asset(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = WebAssets::get(path) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no web asset {path}"),
        )
        .into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = file.data.into_owned().into_response();
        if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
            response.headers_mut().insert(header::CONTENT_TYPE, mime);
        }
        response
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    // Revalidate every time: cheap with the ETag, and a deploy is seen at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
