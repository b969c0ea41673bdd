//! `GET /issues/{id}`: the public HTML page of an issue
//! ([`crate::pages::issue`]), for sharing and for readers without
//! JavaScript. A hidden or unknown issue is a 404 page (HTML, not the
//! API's JSON), to everyone: staff read hidden issues in the staff view.
//!
//! The language is `?lang=` (kk, ru, en), else `Accept-Language`, else
//! Russian. Other query parameters are ignored rather than refused: shared
//! links come back with `utm_…` and `fbclid` added, and must still open.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use headers::HeaderMapExt;
use qala_geodata::mail::Lang;
use qala_geodata::photo::PhotoKind;
use serde_json::Value;

use crate::error::ApiResult;
use crate::pages;
use crate::public_url::base_url;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/issues/{id}", get(issue_page))
}

/// `?lang=` if it names kk, ru or en, else `Accept-Language`, else `ru`.
fn page_lang(raw: Option<&str>, headers: &HeaderMap) -> Lang {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "lang")
        .and_then(|(_, value)| Lang::parse(&value, "lang").ok())
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::Ru)
}

async fn issue_page(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let lang = page_lang(raw.as_deref(), &headers);
    let path = format!("/issues/{raw_id}");
    // Through the row cache, as the API's by-id answer reads.
    let issue = match super::path_id::canonical(&raw_id) {
        Some(id) => state.issue_rows(&[id]).await?.pop(),
        None => None,
    };
    let Some(issue) = issue.filter(|issue| issue.hidden_at.is_none()) else {
        let page = pages::not_found(lang, &path).into_string();
        return Ok(html_response(StatusCode::NOT_FOUND, page, &headers, lang));
    };
    let base = base_url(
        state.config.public_url.as_deref(),
        &state.config.allowed_hosts,
        &headers,
    )?;
    let events = state.store.issue_events(issue.id).await?;
    let comments = state
        .store
        .issue_comments(issue.id, super::engage::MAX_HISTORY_COMMENTS)
        .await?;
    let photos = state.store.issue_photos(issue.id).await?;
    let mut history = super::engage::history(&events, &comments);
    for entry in &mut history {
        super::workflow::with_photos(entry, &photos);
    }
    let report_photos: Vec<Value> = photos
        .iter()
        .filter(|p| p.event_id.is_none() && p.comment_id.is_none())
        .filter(|p| p.kind.is_none_or(|k| k == PhotoKind::Report))
        .map(|p| p.to_public_json())
        .collect();
    let departments: HashMap<String, String> = state
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| {
            let names = d.names();
            let name = match lang {
                Lang::Kk => &names.kk,
                Lang::Ru => &names.ru,
                Lang::En => &names.en,
            };
            (d.code().to_owned(), name.clone())
        })
        .collect();
    let (district, area) = {
        let index = state.index.read();
        let district = issue.district_id.and_then(|id| {
            let feature = index.layer(qala_geodata::LayerName::Districts).get(id)?;
            qala_geodata::search::display_name(&feature.properties, lang)
        });
        let area = issue.district_id.and_then(|id| index.district_area(id));
        (district, area)
    };
    let view = pages::issue::IssueView {
        issue: &issue,
        lang,
        base: &base,
        district,
        drawing: pages::position::draw(area.as_ref(), issue.location),
        history: &history,
        photos: &report_photos,
        departments: &departments,
        time_zone: state.config.time_zone,
    };
    let page = pages::issue::render(&view).into_string();
    Ok(html_response(StatusCode::OK, page, &headers, lang))
}

/// The page with a content hash as `ETag` (`304` when the client has it)
/// and `Cache-Control: no-cache`: a status change or a hide shows on the
/// next look, and an unchanged page costs a render but no transfer.
fn html_response(status: StatusCode, page: String, headers: &HeaderMap, lang: Lang) -> Response {
    let etag = super::etag::of_bytes("", page.as_bytes());
    let current = status == StatusCode::OK
        && etag
            .as_ref()
            .is_some_and(|etag| super::etag::client_has(headers, etag));
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, Html(page)).into_response()
    };
    let h = response.headers_mut();
    if let Some(etag) = etag {
        h.typed_insert(etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if let Ok(value) = HeaderValue::from_str(lang.as_str()) {
        h.insert(header::CONTENT_LANGUAGE, value);
    }
    response
}
