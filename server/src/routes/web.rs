//! The web client: `/` (resident map), `/planner`, `/staff` (the staff
//! view: queue, status changes, moderation), and its assets under `/web/`.
//! The pages are public HTML; the data behind them is guarded by the API.
//!
//! The files under `web/` are compiled into the release binary (rust-embed),
//! so `qala` serves the map from anywhere with nothing fetched from a CDN;
//! debug builds read them from disk, so editing the client needs no rebuild.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headers::{ETag, HeaderMapExt, IfNoneMatch};

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
// The server builds these into the style and the glyphs itself
// (crate::basemap); the browser never loads them as files.
#[exclude = "vendor/fonts/*"]
#[exclude = "vendor/basemap/*"]
struct WebAssets;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { asset("index.html", &headers) }))
        .route("/planner", get(|headers: HeaderMap| async move { asset("planner.html", &headers) }))
        .route("/staff", get(|headers: HeaderMap| async move { asset("staff.html", &headers) }))
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
    let tag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // Hex in quotes always parses; were it not to, the asset is simply sent.
    let etag = tag.parse::<ETag>().ok();
    let current = etag.as_ref().is_some_and(|etag| {
        headers
            .typed_get::<IfNoneMatch>()
            .is_some_and(|condition| !condition.precondition_passes(etag))
    });
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
    if let Some(etag) = etag {
        h.typed_insert(etag);
    }
    // Revalidate every time: cheap with the ETag, and a deploy is seen at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(if_none_match: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(v) = if_none_match {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        asset("index.html", &headers)
    }

    #[test]
    fn a_current_copy_is_answered_304_by_any_etag_form() {
        let first = get(None);
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        for current in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".to_owned(),
        ] {
            let again = get(Some(&current));
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{current}");
            assert_eq!(again.headers()[header::ETAG], etag.as_str());
        }
        assert_eq!(get(Some("\"other\"")).status(), StatusCode::OK);
    }
}
