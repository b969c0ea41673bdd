//! The status workflow over HTTP: the city's departments, an issue's public
//! history, and changes by staff (status, re-route, correction).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use qala_geodata::account::Role;
use qala_geodata::workflow::IssueChange;
use serde_json::{Value, json};

use super::path_id::{IssueId, PathId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest change body: two notes of 2,000 Kazakh letters are 8 KB.
const MAX_BODY_BYTES: usize = 32 * 1024;

/// Who may change a status, re-route or correct (scoped staff within their
/// departments or districts, checked by [`AppState::change_status`]).
pub(super) const CHANGES_STATUS: &[Role] = &[Role::Staff, Role::Admin, Role::Integration];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/departments", get(departments))
        .route(
            "/api/v1/issues/{id}/events",
            get(events)
                .post(change_status)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
}

/// `POST /api/v1/issues/{id}/events`: a change by staff (status,
/// department, category, location: any of them, one event); `201` with the
/// public form of the event it wrote.
async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): IssueId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let actor = match caller.require(CHANGES_STATUS) {
        Ok(actor) => actor.clone(),
        Err(e) => return Ok(e.into_response()),
    };
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let change = parse_status_change(&body)?;
    let (_, event) = state.change_status(id, change, actor).await?;
    let mut public = event.to_public_json();
    // The change is committed: a failed read only leaves the photos out
    // of this answer (the history has them).
    match state.store.issue_photos(id).await {
        Ok(photos) => with_photos(&mut public, &photos),
        Err(e) => tracing::warn!(error = %e, "reading a change's photos failed"),
    }
    Ok((StatusCode::CREATED, Json(public)).into_response())
}

/// `GET /api/v1/departments`: code and names of each (public).
async fn departments(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let departments = state.store.departments().await?;
    Ok(Json(json!({"departments": departments})))
}

/// `GET /api/v1/issues/{id}/events`: the public history, oldest first:
/// status events and visible comments (`kind: "comment"`); 404 for an
/// unknown issue (or a hidden one, to the public).
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): IssueId,
) -> ApiResult<Response> {
    let issue = state.store.issue(id).await?;
    // A hidden issue's history is as gone as the issue, to the public.
    if !issue.is_some_and(|issue| super::moderation::visible_to(&caller, &issue)) {
        return Err(ApiError::not_found("issue", id));
    }
    let events = state.store.issue_events(id).await?;
    let comments = state
        .store
        .issue_comments(id, super::engage::MAX_HISTORY_COMMENTS)
        .await?;
    let photos = state.store.issue_photos(id).await?;
    let mut public = super::engage::history(&events, &comments);
    for entry in &mut public {
        with_photos(entry, &photos);
    }
    Ok(Json(json!({"issue_id": id, "events": public})).into_response())
}

/// Puts a history entry's photos on it: a staff update's before and after
/// pictures on its event, a comment's on the comment.
pub(super) fn with_photos(entry: &mut Value, photos: &[qala_geodata::photo::Photo]) {
    let id = entry["id"].as_i64();
    let comment = entry["kind"] == "comment";
    let own: Vec<Value> = photos
        .iter()
        .filter(|p| {
            if comment {
                p.comment_id == id
            } else {
                p.event_id == id
            }
        })
        .map(|p| p.to_public_json())
        .collect();
    if !own.is_empty() {
        entry["photos"] = Value::Array(own);
    }
}

/// The body of `POST /api/v1/issues/{id}/events` (`{"status", "note",
/// "internal_note", "duplicate_of", "department", "category", "location":
/// {"lon", "lat"}}`, nothing else) as a validated change: malformed JSON
/// or unknown keys are a 400, broken rules a 422, in the one error shape.
pub fn parse_status_change(body: &[u8]) -> ApiResult<IssueChange> {
    Ok(IssueChange::from_json(body)?)
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
        assert_eq!(
            status(br#"{"note": "Nothing else"}"#),
            Err((422, "nothing_to_change"))
        );
        assert_eq!(
            status(br#"{"department": "roads"}"#),
            Err((422, "note_required"))
        );
        assert_eq!(
            status(br#"{"department": "Roads!", "note": "x"}"#),
            Err((422, "unknown_department"))
        );
        assert_eq!(
            status(br#"{"category": "ufo", "note": "x"}"#),
            Err((422, "unknown_category"))
        );
        assert_eq!(
            status(br#"{"location": {"lon": 200, "lat": 43}, "note": "x"}"#),
            Err((422, "invalid_coordinate"))
        );
        assert_eq!(
            status(br#"{"location": {"lon": 76.9, "lat": 43.2, "alt": 1}, "note": "x"}"#),
            Err((400, "unknown_field"))
        );
        let both = parse_status_change(
            br#"{"status": "acknowledged", "department": "roads", "category": "litter",
                 "location": {"lon": 76.9, "lat": 43.2}, "note": "Moved"}"#,
        )
        .unwrap();
        assert_eq!(
            (both.department(), both.category().map(|c| c.code)),
            (Some("roads"), Some("litter"))
        );
    }
}
