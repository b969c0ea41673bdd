//! Moderation over HTTP: moderators (within their scope) and admins hide an
//! issue from every public output, make it public again, or replace its
//! public description. Who may still read a hidden issue is decided here too.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use qala_geodata::Issue;
use qala_geodata::account::Role;
use qala_geodata::moderation::Moderation;
use serde_json::json;

use super::path_id::{IssueId, PathId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest moderation body: a new description of 4,000 Kazakh letters is 8 KB.
const MAX_BODY_BYTES: usize = 32 * 1024;

/// Who may moderate (moderators within their scope, checked by
/// [`AppState::moderate`]).
pub(super) const MODERATES: &[Role] = &[Role::Moderator, Role::Admin];

/// Who may still read a hidden issue (its page and history): the people who
/// moderate or work issues. Everyone else gets the 404 of an unknown issue.
const SEES_HIDDEN: &[Role] = &[Role::Moderator, Role::Staff, Role::Admin];

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/issues/{id}/moderation",
        post(moderate).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

/// Whether `caller` may read `issue` (a hidden one only for [`SEES_HIDDEN`]).
pub(super) fn visible_to(caller: &Caller, issue: &Issue) -> bool {
    issue.hidden_at.is_none() || caller.require(SEES_HIDDEN).is_ok()
}

/// `POST /api/v1/issues/{id}/moderation` with
/// `{"action": "hide"|"unhide"|"redact", "reason", "description"}`: `200`
/// with the issue's moderation state.
async fn moderate(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): IssueId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let actor = match caller.require(MODERATES) {
        Ok(actor) => actor.clone(),
        Err(e) => return Ok(e.into_response()),
    };
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let moderation = Moderation::from_json(&body)?;
    let issue = state.moderate(id, moderation, actor).await?;
    Ok(Json(json!({
        "id": issue.id,
        "hidden": issue.hidden_at.is_some(),
        "description": issue.description,
    }))
    .into_response())
}
