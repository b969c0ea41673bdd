//! Residents' follow-up over HTTP: "me too" on an issue, comments, and
//! their moderation; and the issue history that shows comments among the
//! status events.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use qala_geodata::engage::{Comment, NewComment, comment_moderation, parse_vote};
use qala_geodata::workflow::IssueEvent;
use serde_json::{Value, json};

use super::path_id::{CommentId, IssueId, PathId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest vote body: a token of 128 four-byte characters and its key.
const MAX_VOTE_BYTES: usize = 1024;
/// Largest comment body: 4,000 Kazakh letters are 8 KB, escaped up to 6
/// bytes each in JSON.
const MAX_COMMENT_BYTES: usize = 32 * 1024;
/// Comments an issue's history shows at most (the newest).
pub(super) const MAX_HISTORY_COMMENTS: usize = 1_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/issues/{id}/votes",
            post(vote).layer(DefaultBodyLimit::max(MAX_VOTE_BYTES)),
        )
        .route(
            "/api/v1/issues/{id}/comments",
            post(comment).layer(DefaultBodyLimit::max(MAX_COMMENT_BYTES)),
        )
        .route(
            "/api/v1/comments/{id}/moderation",
            post(moderate).layer(DefaultBodyLimit::max(MAX_COMMENT_BYTES)),
        )
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })
}

/// `POST /api/v1/issues/{id}/votes` with `{"voter": "<browser token>"}`
/// (ignored for a signed-in caller, whose account votes): `200 {"votes",
/// "voted": true, "counted"}`, `counted` false when this voter had voted.
async fn vote(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): IssueId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body_or_error(body)?;
    let voter = parse_vote(&body, caller.actor().map(|actor| actor.user_id))?;
    let outcome = state.vote(id, voter).await?;
    Ok(Json(json!({
        "votes": outcome.issue.votes,
        "voted": true,
        "counted": outcome.counted,
    }))
    .into_response())
}

/// `POST /api/v1/issues/{id}/comments` with `{"body", "author_name"?}`, by
/// anyone: `201` with the public comment.
async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): IssueId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body_or_error(body)?;
    let comment = NewComment::from_json(&body)?;
    let author = caller.actor().map(|actor| actor.user_id);
    let stored = state.comment(id, comment, author).await?;
    Ok((StatusCode::CREATED, Json(stored.to_public_json())).into_response())
}

/// `POST /api/v1/comments/{id}/moderation` with `{"action": "hide" |
/// "unhide", "reason"}`: `200 {"id", "issue_id", "hidden"}`.
async fn moderate(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): CommentId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let actor = match caller.require(super::moderation::MODERATES) {
        Ok(actor) => actor.clone(),
        Err(e) => return Ok(e.into_response()),
    };
    let body = body_or_error(body)?;
    let moderation = comment_moderation(&body)?;
    let comment = state.moderate_comment(id, moderation, actor).await?;
    Ok(Json(json!({
        "id": comment.id,
        "issue_id": comment.issue_id,
        "hidden": comment.hidden_at.is_some(),
    }))
    .into_response())
}

/// An issue's public history: its events and its visible comments, each
/// in its public form, in time order (an event before a comment of the
/// same millisecond, then by id).
pub(super) fn history(events: &[IssueEvent], comments: &[Comment]) -> Vec<Value> {
    let mut entries: Vec<(chrono::DateTime<chrono::Utc>, u8, i64, Value)> = events
        .iter()
        .map(|e| (e.at, 0, e.id, e.to_public_json()))
        .chain(
            comments
                .iter()
                .filter(|c| c.hidden_at.is_none())
                .map(|c| (c.created_at, 1, c.id, c.to_public_json())),
        )
        .collect();
    entries.sort_by_key(|e| (e.0, e.1, e.2));
    entries.into_iter().map(|(.., entry)| entry).collect()
}
