//! The HTTP API, one module per resource; [`app`] assembles them.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

pub mod access;
mod account;
mod basemap;
mod districts;
mod engage;
mod etag;
mod feeds;
mod issue_page;
mod issues;
mod layers;
mod live;
mod mail;
mod meta;
mod moderation;
mod path_id;
mod photos;
mod rate_limit;
mod response_stats;
mod search;
mod session;
mod stats;
mod tiles;
pub mod timeout;
mod web;
mod workflow;

pub use workflow::parse_status_change;

/// Media type of GeoJSON (RFC 7946 §12).
pub const GEOJSON: &str = "application/geo+json";

/// The whole HTTP application; `qala serve` and the tests both use it.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(account::router())
        .merge(session::router())
        .merge(issues::router())
        .merge(districts::router())
        .merge(stats::router())
        .merge(response_stats::router())
        .merge(layers::router())
        .merge(live::router())
        .merge(meta::router())
        .merge(tiles::router())
        .merge(basemap::router())
        .merge(web::router())
        .merge(workflow::router())
        .merge(moderation::router())
        .merge(mail::router())
        .merge(photos::router())
        .merge(engage::router())
        .merge(feeds::router())
        .merge(search::router())
        .merge(issue_page::router())
        // Layers run bottom up: a write spends its client address's
        // allowance first, then passes the access policy (deny by default),
        // then spends its account's allowance.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::by_account,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::enforce,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::by_address,
        ))
        // Outside the access check: a session lookup may stall too.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            timeout::enforce,
        ))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
        })
        .with_state(state)
        .layer(TraceLayer::new_for_http())
        // A last line of defence: a panic becomes a 500 in the error shape
        // instead of a dropped connection. Tests assert no input reaches it.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
            .into_response()
        }))
}

/// A GeoJSON document response.
fn geojson(document: impl serde::Serialize) -> Response {
    let mut response = axum::Json(document).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    response
}

/// A FeatureCollection page: `next` links to the following page while more
/// remain; a staff queue adds its `counts`. Fields in alphabetical order,
/// as a `Value` object writes them (see `qala_geodata::issue::public`).
#[derive(serde::Serialize)]
struct FeaturePage<F> {
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Value>,
    features: Vec<F>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A FeatureCollection page, with a `next` link while more remain.
fn feature_page<F: serde::Serialize>(features: Vec<F>, next: Option<String>) -> Response {
    geojson(FeaturePage {
        counts: None,
        features,
        next,
        kind: "FeatureCollection",
    })
}
