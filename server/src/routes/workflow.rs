//! The status workflow over HTTP: the city's departments, an issue's public
//! history, and the parser of a status change body (routed once requests
//! carry a signed-in actor; until then [`crate::AppState::change_status`]
//! is the entry point).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use qala_geodata::workflow::StatusChange;
use serde_json::json;

use super::issues::path_id;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/departments", get(departments))
        .route("/api/v1/issues/{id}/events", get(events))
}

/// `GET /api/v1/departments`: code and names of each (public).
async fn departments(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let departments = state.store.departments().await?;
    Ok(Json(json!({"departments": departments})))
}

/// `GET /api/v1/issues/{id}/events`: the public history, oldest first; 404
/// for an unknown issue.
async fn events(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    use axum::response::IntoResponse;
    let id = path_id("issue", &id)?;
    if state.store.issue(id).await?.is_none() {
        return Err(ApiError::not_found("issue", id));
    }
    let events = state.store.issue_events(id).await?;
    let public: Vec<_> = events.iter().map(|e| e.to_public_json()).collect();
    Ok(Json(json!({"issue_id": id, "events": public})).into_response())
}

/// The body of `POST /api/v1/issues/{id}/events`
/// (`{"status", "note", "internal_note", "duplicate_of"}`, nothing else) as
/// a validated change: malformed JSON or unknown keys are a 400, broken
/// rules a 422, in the one error shape.
pub fn parse_status_change(body: &[u8]) -> ApiResult<StatusChange> {
    Ok(StatusChange::from_json(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_change_body_is_parsed_strictly_into_the_error_shape() {
        let change = parse_status_change(br#"{"status": "acknowledged", "note": "Seen"}"#).unwrap();
        assert_eq!(change.note(), Some("Seen"));
        let status = |body: &[u8]| {
            parse_status_change(body)
                .map(|_| ())
                .map_err(|e| (e.status.as_u16(), e.code))
        };
        assert_eq!(
            status(br#"{"status": "closed", "by": 3}"#),
            Err((400, "unknown_field"))
        );
        assert_eq!(status(b"not json"), Err((400, "invalid_json")));
        assert_eq!(
            status(br#"{"status": "fixed"}"#),
            Err((400, "invalid_status"))
        );
        assert_eq!(
            status(br#"{"status": "duplicate"}"#),
            Err((422, "invalid_duplicate"))
        );
        let long = format!(r#"{{"status": "closed", "note": "{}"}}"#, "a".repeat(2001));
        assert_eq!(status(long.as_bytes()), Err((422, "too_long")));
    }
}
