//! `/api/v1/issues`: report, fetch, list, nearby.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, OriginalUri, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qala_geodata::issue::{PublicFeature, Scope};
use qala_geodata::mail::{Lang, MailToken, ReportFollowUp};
use qala_geodata::{Area, IssueFilter, IssueStatus, LonLat, NewIssue};
use serde_json::{Value, json};

use super::path_id::{IssueId, PathId};
use super::{feature_page, geojson};
use crate::auth::{AuthError, Caller};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::limits::Who;
use crate::params::{Cursor, DEFAULT_LIMIT, Params, Sort, with_cursor};
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

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
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
    // The reporter's mails are in the report's language, else the
    // browser's, else Russian.
    let lang = report
        .lang()
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::Ru);
    let token = MailToken::generate().map_err(|e| {
        tracing::error!(error = %e, "the OS random source failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    })?;
    let follow_up = ReportFollowUp {
        lang,
        token: token.clone(),
    };
    let with_photos = !report.photos().is_empty();

    let reporters: Vec<Who> = addr
        .map(Who::address)
        .into_iter()
        .chain(caller.actor().map(|actor| Who::Account(actor.user_id)))
        .collect();
    let created = state
        .report_issue(report, key, reporters, Some(follow_up))
        .await?;

    let name = state
        .index
        .read()
        .district_name(created.issue.district_id.unwrap_or(0))
        .map(str::to_owned);
    let location = format!("/api/v1/issues/{}", created.issue.id);
    // The private link is in this answer to the reporter and nowhere else
    // (a foreign member of the Feature, RFC 7946 §6.1).
    let mut feature = created.issue.to_feature(name.as_deref());
    let base = state
        .config
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    feature["private_link"] = json!(crate::mail::templates::private_link(
        base,
        created.issue.id,
        token.expose()
    ));
    // The answer is the issue as `GET` shows it, photos included. The
    // report is committed: a failed read only leaves them out of this
    // answer (and a report without photos needs none).
    if !with_photos {
        feature["properties"]["photos"] = json!([]);
    } else {
        match state.store.issue_photos(created.issue.id).await {
            Ok(photos) => feature["properties"]["photos"] = public_photos(&photos),
            Err(e) => tracing::warn!(error = %e, "reading a new report's photos failed"),
        }
    }
    let mut response = (StatusCode::CREATED, geojson(feature)).into_response();
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
    PathId(id, _): IssueId,
) -> ApiResult<Response> {
    let issue = state
        .issue_rows(&[id])
        .await?
        .pop()
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
    // Only here and in the history: lists and nearby stay lean.
    let photos = match state.store.issue_photos(id).await {
        Ok(photos) => photos,
        // The row came from memory and the database is out of reach: the
        // issue still answers, without photos, whose files could not be
        // served now either (`/media/` asks the database each time).
        Err(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, issue = id, "photos unavailable; answering without them");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    feature["properties"]["photos"] = public_photos(&photos);
    Ok(geojson(feature))
}

/// Photos as the public sees them.
fn public_photos(photos: &[qala_geodata::photo::Photo]) -> Value {
    photos.iter().map(|p| p.to_public_json()).collect()
}

/// `GET /api/v1/issues`: a page of issues in the area and filters given.
/// With `assigned_to` (a department, or `me`: the caller's own scope) it is
/// the staff queue and carries `counts` per status.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let me = params.assigned_to_me();
    let bbox = params.bbox()?;
    let mut filter = params.issue_filter()?;
    let limit = params.limit(DEFAULT_LIMIT)?;
    let sort = params.sort()?;
    let cursor = params.sorted_cursor(sort)?;
    params.finish()?;
    if me {
        match own_scope(&caller) {
            Ok(scope) => filter.scope = Some(scope),
            Err(refusal) => return Ok(*refusal),
        }
    }
    let area = bbox.map_or(Area::Everywhere, Area::BBox);
    let page = Page {
        cursor,
        limit,
        sort,
        counts: me || filter.assigned_to.is_some(),
    };
    issue_page(&state, area, &filter, page, uri.path(), raw.as_deref()).await
}

/// The departments and districts of a signed-in scoped caller (staff,
/// moderator): what `assigned_to=me` lists. Anonymous callers must sign in
/// (401); roles without a scope are told to name a department (400).
fn own_scope(caller: &Caller) -> Result<Scope, Box<Response>> {
    // The same 401 (with its `WWW-Authenticate` challenge) as every route
    // that needs a signed-in caller.
    let actor = caller
        .actor()
        .ok_or_else(|| Box::new(AuthError::SignInRequired.into_response()))?;
    let scope = Scope {
        departments: actor.departments.clone(),
        districts: actor.districts.clone(),
    };
    if !actor.role.is_scoped() || scope.is_empty() {
        return Err(Box::new(
            ApiError::bad_parameter(
                "assigned_to",
                format!(
                    "assigned_to=me lists the issues of the caller's departments and districts, and a {} has none: name a department (assigned_to=CODE)",
                    actor.role
                ),
            )
            .into_response(),
        ));
    }
    Ok(scope)
}

/// Which page of a listing: after the cursor in `sort` order, and whether
/// the answer carries the counts per status (the staff queue's tabs).
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub cursor: Option<Cursor>,
    pub limit: usize,
    pub sort: Sort,
    pub counts: bool,
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
        sort,
        counts,
    } = page;
    let (mut keys, counts) = {
        let index = state.index.read();
        // One more than asked tells whether a next page exists.
        let keys: Vec<Cursor> = match (sort, cursor) {
            (Sort::Votes, cursor) => {
                let after = match cursor {
                    Some(Cursor::Votes(key)) => Some(key),
                    _ => None,
                };
                let keys = index.issues.page_by_votes(area, filter, after, limit + 1);
                keys.into_iter().map(Cursor::Votes).collect()
            }
            (Sort::Oldest | Sort::Newest, cursor) => {
                let cursor = match cursor {
                    Some(Cursor::Id(id)) => Some(id),
                    _ => None,
                };
                let ids = if sort == Sort::Newest {
                    index.issues.page_newest(area, filter, cursor, limit + 1)
                } else {
                    index.issues.page(area, filter, cursor, limit + 1)
                };
                ids.into_iter().map(Cursor::Id).collect()
            }
        };
        // The tabs of a queue: its area and filter with every status.
        let counts = counts.then(|| {
            let by_status = index.issues.count_by_status(area, &filter.any_status());
            let total: u64 = by_status.iter().map(|(_, n)| n).sum();
            let by_status: serde_json::Map<String, Value> = by_status
                .into_iter()
                .map(|(status, n)| (status.as_str().to_owned(), json!(n)))
                .collect();
            json!({"total": total, "by_status": by_status})
        });
        (keys, counts)
    };
    let next = (keys.len() > limit)
        .then(|| {
            keys.truncate(limit);
            keys.last()
                .map(|last| with_cursor(path, raw_query, &last.to_string()))
        })
        .flatten();
    let ids: Vec<i64> = keys
        .iter()
        .map(|key| match key {
            Cursor::Id(id) => *id,
            Cursor::Votes(key) => key.id,
        })
        .collect();
    let issues = state.issue_rows(&ids).await?;
    let index = state.index.read();
    let features: Vec<PublicFeature> = issues
        .iter()
        // Hidden since the index was read: gone, like the rest of it.
        .filter(|i| i.hidden_at.is_none())
        .map(|i| PublicFeature::of(i, i.district_id.and_then(|d| index.district_name(d))))
        .collect();
    Ok(geojson(super::FeaturePage {
        counts,
        features,
        next,
        kind: "FeatureCollection",
    }))
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
    let issues = state.issue_rows(&ids).await?;
    let index = state.index.read();
    let features: Vec<PublicFeature> = issues
        .iter()
        .filter(|issue| issue.hidden_at.is_none())
        .map(|issue| {
            let distance = distances.get(&issue.id).copied().unwrap_or(0.0);
            PublicFeature::of(
                issue,
                issue.district_id.and_then(|d| index.district_name(d)),
            )
            .with_distance(distance)
        })
        .collect();
    Ok(feature_page(features, None))
}

/// Every status, for documentation and the web client.
pub(super) fn statuses() -> Vec<&'static str> {
    IssueStatus::ALL.iter().map(|s| s.as_str()).collect()
}
