//! `/api/v1/districts`: the city's districts and the issues inside each.

use axum::Router;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use qala_geodata::{Area, GroupKey, GroupValue, IssueFilter, LayerName};
use serde_json::json;

use super::feature_page;
use super::issues::{Page, issue_page};
use super::path_id::{DistrictId, PathId};
use crate::error::{ApiError, ApiResult};
use crate::params::{DEFAULT_LIMIT, Params};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/districts", get(list))
        .route("/api/v1/districts/{id}/issues", get(issues))
}

/// Every district with its issue count (what a choropleth needs in one request).
async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let filter = params.issue_filter()?;
    params.finish()?;
    let index = state.index.read();
    let counts = index.issues.count_by(&filter, &[GroupKey::District]);
    let features = index
        .layer(LayerName::Districts)
        .all()
        .map(|district| {
            let count = counts
                .get(&vec![GroupValue::District(Some(district.id))])
                .copied()
                .unwrap_or(0);
            let mut feature = district.to_geojson();
            feature["properties"]["issue_count"] = json!(count);
            feature
        })
        .collect();
    Ok(feature_page(features, None))
}

/// Issues inside a district's polygon: an R-tree search on the polygon's
/// envelope refined by an exact point-in-polygon test.
async fn issues(
    State(state): State<AppState>,
    PathId(id, _): DistrictId,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let area = state
        .index
        .read()
        .district_area(id)
        .ok_or_else(|| ApiError::not_found("district", id))?;
    let mut params = Params::parse(raw.as_deref())?;
    let filter: IssueFilter = params.issue_filter()?;
    let limit = params.limit(DEFAULT_LIMIT)?;
    let sort = params.sort()?;
    let cursor = params.sorted_cursor(sort)?;
    params.finish()?;
    let page = Page {
        cursor,
        limit,
        sort,
        counts: filter.assigned_to.is_some(),
    };
    issue_page(
        &state,
        Area::Within(&area),
        &filter,
        page,
        uri.path(),
        raw.as_deref(),
    )
    .await
}
