//! `/api/v1/issues`: report, fetch, list, nearby.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qala_geodata::{Area, IssueFilter, IssueStatus, LonLat, NewIssue};
use serde_json::json;

use super::{feature_page, geojson};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::{DEFAULT_LIMIT, Params, with_cursor};
use crate::state::AppState;

/// Largest accepted report body: a description of 4000 Kazakh letters is 8 KB.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest search radius for nearby, in metres.
const MAX_RADIUS_M: f64 = 50_000.0;
/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/issues",
            get(list)
                .post(create)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v1/issues/nearby", get(nearby))
        .route("/api/v1/issues/{id}", get(fetch))
}

/// Parses a path id; anything but a positive integer names no issue.
pub(super) fn path_id(what: &str, raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(what, raw))
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let ok = content_type
            .to_str()
            .map(|ct| {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence == super::GEOJSON
            })
            .unwrap_or(false);
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the report as application/json or application/geo+json",
            ));
        }
    }
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let key = idempotency_key(&headers)?;
    let report = NewIssue::from_json(&body)?;

    let created = state.report_issue(report, key).await?;

    let name = state
        .index
        .read()
        .district_name(created.issue.district_id.unwrap_or(0))
        .map(str::to_owned);
    let location = format!("/api/v1/issues/{}", created.issue.id);
    let mut response = (
        StatusCode::CREATED,
        geojson(created.issue.to_feature(name.as_deref())),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = location.parse() {
        headers.insert(header::LOCATION, value);
    }
    if !created.created {
        headers.insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || ApiError {
        field: Some("Idempotency-Key".into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        )
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id("issue", &id)?;
    let issue = state
        .store
        .issue(id)
        .await?
        .filter(|issue| super::moderation::visible_to(&caller, issue))
        .ok_or_else(|| ApiError::not_found("issue", id))?;
    let name = issue
        .district_id
        .and_then(|d| state.index.read().district_name(d).map(str::to_owned));
    let mut feature = issue.to_feature(name.as_deref());
    // Only moderators, staff and admins get this far with a hidden issue:
    // tell them why the public cannot see it.
    if issue.hidden_at.is_some() {
        feature["properties"]["hidden"] = json!(true);
    }
    Ok(geojson(feature))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let bbox = params.bbox()?;
    let filter = params.issue_filter()?;
    let limit = params.limit(DEFAULT_LIMIT)?;
    let cursor = params.cursor()?;
    let newest_first = params.newest_first()?;
    params.finish()?;
    let area = bbox.map_or(Area::Everywhere, Area::BBox);
    let page = Page {
        cursor,
        limit,
        newest_first,
    };
    issue_page(&state, area, &filter, page, uri.path(), raw.as_deref()).await
}

/// Which page of a listing: after (or, newest first, before) the cursor id.
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub cursor: Option<i64>,
    pub limit: usize,
    pub newest_first: bool,
}

/// One page of issues as a FeatureCollection; shared by every issue listing.
pub(super) async fn issue_page(
    state: &AppState,
    area: Area<'_>,
    filter: &IssueFilter,
    page: Page,
    path: &str,
    raw_query: Option<&str>,
) -> ApiResult<Response> {
    let Page {
        cursor,
        limit,
        newest_first,
    } = page;
    // One more than asked tells whether a next page exists.
    let mut ids = {
        let index = state.index.read();
        if newest_first {
            index.issues.page_newest(area, filter, cursor, limit + 1)
        } else {
            index.issues.page(area, filter, cursor, limit + 1)
        }
    };
    let next = (ids.len() > limit).then(|| {
        ids.truncate(limit);
        ids.last().map(|last| with_cursor(path, raw_query, *last))
    });
    let issues = state.store.issues_by_id(&ids).await?;
    let index = state.index.read();
    let features = issues
        .iter()
        // Hidden since the index was read: gone, like the rest of it.
        .filter(|i| i.hidden_at.is_none())
        .map(|i| i.to_feature(i.district_id.and_then(|d| index.district_name(d))))
        .collect();
    Ok(feature_page(features, next.flatten()))
}

async fn nearby(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let lon = params.required_number("lon")?;
    let lat = params.required_number("lat")?;
    let center = LonLat::new(lon, lat).map_err(|e| ApiError::from(e).with_field("lon,lat"))?;
    let radius = params.number("radius")?.unwrap_or(500.0);
    if !(radius > 0.0 && radius <= MAX_RADIUS_M) {
        return Err(ApiError::bad_parameter(
            "radius",
            format!("radius is in metres, above 0 and at most {MAX_RADIUS_M}"),
        ));
    }
    let filter = params.issue_filter()?;
    let limit = params.limit(50)?;
    params.finish()?;

    let found: Vec<(i64, f64)> = state
        .index
        .read()
        .issues
        .nearby(center, radius, &filter, limit)
        .into_iter()
        .map(|(e, d)| (e.id, d))
        .collect();
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let distances: std::collections::HashMap<i64, f64> = found.into_iter().collect();
    let issues = state.store.issues_by_id(&ids).await?;
    let index = state.index.read();
    let features = issues
        .iter()
        .filter(|issue| issue.hidden_at.is_none())
        .map(|issue| {
            let distance = distances.get(&issue.id).copied().unwrap_or(0.0);
            let mut feature =
                issue.to_feature(issue.district_id.and_then(|d| index.district_name(d)));
            // Centimetres are more than a phone's GPS can tell.
            feature["properties"]["distance_m"] = json!((distance * 100.0).round() / 100.0);
            feature
        })
        .collect();
    Ok(feature_page(features, None))
}

/// Every status, for documentation and the web client.
pub(super) fn statuses() -> Vec<&'static str> {
    IssueStatus::ALL.iter().map(|s| s.as_str()).collect()
}
