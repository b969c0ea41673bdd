//! The web client: `/` (resident map), `/planner`, `/staff` (the staff
//! view: queue, status changes, moderation), and its assets under `/web/`.
//! The pages are public HTML; the data behind them is guarded by the API.
//!
//! The files under `web/` are compiled into the release binary (rust-embed),
//! so `qala` serves the map from anywhere with nothing fetched from a CDN;
//! debug builds read them from disk, so editing the client needs no rebuild.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headers::{ETag, HeaderMapExt};

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
        .route("/", get(page_of("index.html")))
        .route("/planner", get(page_of("planner.html")))
        .route("/staff", get(page_of("staff.html")))
        .route(
            "/web/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                asset(&path, &headers, None)
            }),
        )
}

/// The time-zone line every page carries (web/src/format.js reads it): the
/// city's days for the planner's filter and every date shown.
const TIME_ZONE_META: &str = r#"<meta name="qala-time-zone" content="Asia/Almaty">"#;

/// The handler of a page: the file with the server's `--time-zone`
/// written into its [`TIME_ZONE_META`] line. (Each route above stays
/// written out with its path and `get`: `routes::access` reads them so
/// from the source.)
fn page_of(
    file: &'static str,
) -> impl Fn(State<AppState>, HeaderMap) -> std::future::Ready<Response> + Clone + Send + Sync + 'static
{
    move |State(state): State<AppState>, headers: HeaderMap| {
        std::future::ready(asset(file, &headers, Some(state.config.time_zone)))
    }
}

fn asset(path: &str, headers: &HeaderMap, zone: Option<chrono_tz::Tz>) -> Response {
    let Some(file) = WebAssets::get(path) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no web asset {path}"),
        )
        .into_response();
    };
    let hash: String = file
        .metadata
        .sha256_hash()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    // A page's bytes depend on the zone too (IANA names are ASCII without quotes).
    let tag = match zone {
        Some(zone) => format!("\"{hash}-{}\"", zone.name()),
        None => format!("\"{hash}\""),
    };
    // Hex in quotes always parses; were it not to, the asset is simply sent.
    let etag = tag.parse::<ETag>().ok();
    let current = etag
        .as_ref()
        .is_some_and(|etag| super::etag::client_has(headers, etag));
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = match zone {
            Some(zone) => String::from_utf8_lossy(&file.data)
                .replacen(
                    TIME_ZONE_META,
                    &format!(r#"<meta name="qala-time-zone" content="{}">"#, zone.name()),
                    1,
                )
                .into_response(),
            None => file.data.into_owned().into_response(),
        };
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
        asset("index.html", &headers, Some(chrono_tz::Asia::Almaty))
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

    #[tokio::test]
    async fn every_page_carries_the_time_zone_line_the_server_fills_in() {
        for page in ["index.html", "planner.html", "staff.html"] {
            let file = WebAssets::get(page).unwrap();
            assert!(
                String::from_utf8_lossy(&file.data).contains(TIME_ZONE_META),
                "{page} lacks {TIME_ZONE_META}"
            );
            let response = asset(page, &HeaderMap::new(), Some(chrono_tz::Asia::Aqtobe));
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains(r#"<meta name="qala-time-zone" content="Asia/Aqtobe">"#));
            assert!(!body.contains("Asia/Almaty"), "{page}");
        }
    }
}
