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

/// 200 while the database answers reads and takes writes; 503 otherwise,
/// with which part fails: `database` (reads; `down` also means writes
/// cannot be tried) and `writes` (a real write probe,
/// [`qala_geodata::Store::check_writes`]: a full disk or a read-only
/// database fails only this). The index keeps serving reads either way.
async fn health(State(state): State<AppState>) -> Response {
    let failing = |database: &str, writes: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "database": database, "writes": writes})),
        )
            .into_response()
    };
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "health check: database down");
        return failing("down", "failing");
    }
    match state.store.check_writes().await {
        Ok(()) => Json(json!({"status": "ok", "database": "up", "writes": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: writes failing");
            failing("up", "failing")
        }
    }
}
