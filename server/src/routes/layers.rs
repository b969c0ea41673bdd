//! `/api/v1/layers`: what layers exist, their features by bbox, and whole-layer export.

use axum::body::Body;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use qala_geodata::index::LayerSummary;
use qala_geodata::{Area, IssueFilter, LayerName};
use serde_json::{Value, json};

use super::issues::issue_page;
use super::{GEOJSON, feature_page};
use crate::error::{ApiError, ApiResult};
use crate::export::layer_geojson;
use crate::params::{DEFAULT_LIMIT, Params, with_cursor};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/layers", get(list))
        .route("/api/v1/layers/{layer}/features", get(features))
        .route("/api/v1/layers/{layer}/export.geojson", get(export))
}

fn summary_json(s: &LayerSummary) -> Value {
    json!({
        "name": s.layer.as_str(),
        "geometry_types": s.geometry_types,
        "feature_count": s.count,
        "bbox": s.bbox.map(|b| [b.west, b.south, b.east, b.north]),
    })
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let index = state.index.read();
    let issues = LayerSummary {
        layer: LayerName::Issues,
        count: index.issues.len(),
        bbox: index.issues.bbox(),
        geometry_types: if index.issues.is_empty() {
            vec![]
        } else {
            vec!["Point"]
        },
    };
    let mut layers = vec![summary_json(&issues)];
    layers.extend(
        LayerName::REFERENCE
            .iter()
            .map(|l| summary_json(&index.layer(*l).summary(*l))),
    );
    Json(json!({"layers": layers}))
}

fn layer_param(raw: &str) -> ApiResult<LayerName> {
    LayerName::parse(raw)
        .map_err(|e| ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", e.message))
}

async fn features(
    State(state): State<AppState>,
    Path(layer): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let layer = layer_param(&layer)?;
    let mut params = Params::parse(raw.as_deref())?;
    let bbox = params.bbox()?;
    let limit = params.limit(DEFAULT_LIMIT)?;
    let cursor = params.cursor()?;
    params.finish()?;
    if layer == LayerName::Issues {
        let area = bbox.map_or(Area::Everywhere, Area::BBox);
        return issue_page(
            &state,
            area,
            &IssueFilter::default(),
            super::issues::Page {
                cursor: cursor.map(crate::params::Cursor::Id),
                limit,
                sort: crate::params::Sort::Oldest,
                counts: false,
            },
            uri.path(),
            raw.as_deref(),
        )
        .await;
    }
    let mut page = state
        .index
        .read()
        .layer(layer)
        .page(bbox, cursor, limit + 1);
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last()
            .map(|f| with_cursor(uri.path(), raw.as_deref(), &f.id.to_string()))
    });
    Ok(feature_page(
        page.iter().map(|f| f.to_geojson()).collect(),
        next.flatten(),
    ))
}

async fn export(State(state): State<AppState>, Path(layer): Path<String>) -> ApiResult<Response> {
    let layer = layer_param(&layer)?;
    let chunks = layer_geojson(state.store.as_ref(), layer, state.district_names())
        .await?
        .map(|chunk| {
            chunk.map_err(|e| {
                // Headers are already sent: all that can be done is to end the
                // body early, which leaves invalid JSON rather than a short layer.
                tracing::error!(error = %e, "export failed mid-stream");
                std::io::Error::other("export failed")
            })
        });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"{layer}.geojson\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}
