//! The categories catalogue, health, and the web client's entry page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use qala_geodata::category::CATEGORIES;
use serde_json::{Value, json};

use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/categories", get(categories))
        .route(
            "/api/v1/statuses",
            get(|| async { Json(json!({"statuses": super::issues::statuses()})) }),
        )
        .route("/healthz", get(health))
}

async fn categories() -> Json<Value> {
    Json(json!({"categories": CATEGORIES}))
}

/// 200 while the database answers, 503 otherwise (the index keeps serving reads either way).
async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "up"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database down");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "degraded", "database": "down"})),
            )
                .into_response()
        }
    }
}
