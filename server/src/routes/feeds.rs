//! Atom feeds at stable URLs: an issue's activity
//! (`/feeds/issues/{id}.atom`: its report, status changes with their
//! public notes, comments), a district's (`/feeds/districts/{id}.atom`) and
//! a box's (`/feeds/area.atom?bbox=w,s,e,n`): new issues and their status
//! changes. `?lang=kk|ru|en` picks the titles' language (Russian by
//! default). A hidden issue is not in the index, so no area feed finds it,
//! and its own feed is a 404; a hidden comment is never read.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;
use qala_geodata::category::Category;
use qala_geodata::{Area, BBox, IssueFilter, IssueIndex};

use super::path_id::canonical;
use crate::error::{ApiError, ApiResult};
use crate::feeds::{self, ATOM, FeedEntry, FeedHead, Lang, MAX_ENTRIES};
use crate::params::Params;
use crate::state::AppState;

/// The widest and tallest box an area feed covers, in degrees (a city).
pub const MAX_AREA_DEGREES: f64 = 1.0;
/// The issues of an area whose history a feed reads at most: the newest
/// ones (an older issue's late status change is left out past this).
const MAX_AREA_ISSUES: usize = 10_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds/issues/{file}", get(issue_feed))
        .route("/feeds/districts/{file}", get(district_feed))
        .route("/feeds/area.atom", get(area_feed))
}

/// The id in `{id}.atom`, canonical, else a 404 of `what`.
fn feed_id(file: &str, what: &str) -> ApiResult<i64> {
    file.strip_suffix(".atom")
        .and_then(canonical)
        .ok_or_else(|| ApiError::not_found(what, format!("{file:?}")))
}

/// `?lang=` (kk, ru, en; Russian without it), then no other parameter
/// than those `more` reads.
fn language<T>(
    raw: Option<&str>,
    more: impl FnOnce(&mut Params) -> ApiResult<T>,
) -> ApiResult<(Lang, T)> {
    let mut params = Params::parse(raw)?;
    let lang = match params.text("lang") {
        None => Lang::Ru,
        Some(code) => Lang::parse(&code)
            .ok_or_else(|| ApiError::bad_parameter("lang", "lang must be kk, ru or en"))?,
    };
    let more = more(&mut params)?;
    params.finish()?;
    Ok((lang, more))
}

fn base_url(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    crate::public_url::base_url(
        state.config.public_url.as_deref(),
        &state.config.allowed_hosts,
        headers,
    )
}

fn atom_response(xml: String) -> Response {
    let mut response = xml.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ATOM));
    // Feed readers poll; a minute of staleness spares the store.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `GET /feeds/issues/{id}.atom`.
async fn issue_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = feed_id(&file, "issue")?;
    let (lang, ()) = language(raw.as_deref(), |_| Ok(()))?;
    let base = base_url(&state, &headers)?;
    let issue = state
        .store
        .issue(id)
        .await?
        .filter(|issue| issue.hidden_at.is_none())
        .ok_or_else(|| ApiError::not_found("issue", id))?;
    let events = state.store.issue_events(id).await?;
    let comments = state.store.issue_comments(id, MAX_ENTRIES).await?;
    let mut entries = vec![feeds::reported(&issue, lang)];
    entries.extend(events.iter().map(|e| feeds::event(e, issue.category, lang)));
    entries.extend(
        comments
            .iter()
            .filter_map(|c| feeds::comment(c, issue.category, lang)),
    );
    let head = FeedHead::new(
        &base,
        &format!("/feeds/issues/{id}.atom"),
        &format!("issues/{id}"),
        format!("Qala #{id}"),
        issue.created_at,
    );
    Ok(atom_response(feeds::document(
        &head,
        &feeds::newest(entries),
        lang,
    )))
}

/// `GET /feeds/districts/{id}.atom`: the district's issues as the
/// district's issue list finds them (in its polygon).
async fn district_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = feed_id(&file, "district")?;
    let (lang, ()) = language(raw.as_deref(), |_| Ok(()))?;
    let base = base_url(&state, &headers)?;
    let (name, issues) = {
        let index = state.index.read();
        let area = index
            .district_area(id)
            .ok_or_else(|| ApiError::not_found("district", id))?;
        let issues = newest_issues(&index.issues, Area::Within(&area));
        (index.district_name(id).map(str::to_owned), issues)
    };
    let head = FeedHead::new(
        &base,
        &format!("/feeds/districts/{id}.atom"),
        &format!("districts/{id}"),
        format!("Qala: {}", name.unwrap_or_else(|| format!("#{id}"))),
        DateTime::UNIX_EPOCH,
    );
    area_document(&state, head, issues, lang).await
}

/// `GET /feeds/area.atom?bbox=w,s,e,n`: at most [`MAX_AREA_DEGREES`] each way.
async fn area_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (lang, bbox) = language(raw.as_deref(), |params| {
        params.bbox()?.ok_or_else(|| {
            ApiError::bad_parameter("bbox", "bbox=west,south,east,north is required")
        })
    })?;
    let width = if bbox.west <= bbox.east {
        bbox.east - bbox.west
    } else {
        bbox.east + 360.0 - bbox.west
    };
    if width > MAX_AREA_DEGREES || bbox.north - bbox.south > MAX_AREA_DEGREES {
        return Err(ApiError::bad_parameter(
            "bbox",
            format!("an area feed covers at most {MAX_AREA_DEGREES}° each way"),
        ));
    }
    let base = base_url(&state, &headers)?;
    let issues = newest_issues(&state.index.read().issues, Area::BBox(bbox));
    let key = bbox_key(bbox);
    let head = FeedHead::new(
        &base,
        &format!("/feeds/area.atom?bbox={key}"),
        &format!("area/{key}"),
        format!("Qala: {key}"),
        DateTime::UNIX_EPOCH,
    );
    area_document(&state, head, issues, lang).await
}

/// The box as written in its feed's id and URL: the numbers as parsed, so
/// one box has one id however its query spelled them.
fn bbox_key(b: BBox) -> String {
    format!("{},{},{},{}", b.west, b.south, b.east, b.north)
}

/// An area's issue as the index holds it: id and category.
type AreaIssue = (i64, &'static Category);

/// The newest [`MAX_AREA_ISSUES`] issues of `area` (ids grow with the
/// time of reporting), newest first: the index's page walk, which stops
/// once it has them instead of collecting a whole district.
fn newest_issues(issues: &IssueIndex, area: Area<'_>) -> Vec<AreaIssue> {
    issues
        .page_newest(area, &IssueFilter::default(), None, MAX_AREA_ISSUES)
        .into_iter()
        .filter_map(|id| issues.get(id).map(|e| (e.id, e.category)))
        .collect()
}

/// An area's feed: its newest reports (their rows read for the
/// description) and the newest events of its issues.
async fn area_document(
    state: &AppState,
    head: FeedHead,
    issues: Vec<AreaIssue>,
    lang: Lang,
) -> ApiResult<Response> {
    let newest: Vec<i64> = issues.iter().take(MAX_ENTRIES).map(|i| i.0).collect();
    let ids: Vec<i64> = issues.iter().map(|i| i.0).collect();
    let categories: HashMap<i64, &'static Category> = issues.iter().copied().collect();
    let rows = state.issue_rows(&newest).await?;
    let events = state.store.recent_events(&ids, MAX_ENTRIES).await?;
    let mut entries: Vec<FeedEntry> = rows
        .iter()
        .filter(|issue| issue.hidden_at.is_none())
        .map(|issue| feeds::reported(issue, lang))
        .collect();
    entries.extend(events.iter().filter_map(|e| {
        categories
            .get(&e.issue_id)
            .map(|category| feeds::event(e, category, lang))
    }));
    Ok(atom_response(feeds::document(
        &head,
        &feeds::newest(entries),
        lang,
    )))
}
