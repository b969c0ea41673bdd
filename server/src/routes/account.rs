//! `/api/v1/me` (who the caller is) and `/api/v1/audit` (the audit log, for
//! admins). Access is checked by the policy layer first; the handlers ask
//! the [`Caller`] again so that they stand on their own.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use qala_geodata::account::{AuditFilter, Role};
use qala_geodata::issue::{format_time, parse_time};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::{DEFAULT_LIMIT, Params, with_cursor};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit))
}

/// The caller's own account: id, role, scopes and the name shown publicly.
async fn me(caller: Caller) -> Response {
    match caller.require(&Role::ALL) {
        Ok(actor) => Json(json!({
            "user_id": actor.user_id,
            "role": actor.role,
            "departments": actor.departments,
            "districts": actor.districts,
            "public_name": actor.public_name,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Audit entries ascending by id, filtered by `action`, `actor` (a user id)
/// and `since`, paged with `limit` and `cursor` like other lists.
async fn audit(
    caller: Caller,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    if let Err(e) = caller.require(&[Role::Admin]) {
        return Ok(e.into_response());
    }
    let mut params = Params::parse(raw.as_deref())?;
    let limit = params.limit(DEFAULT_LIMIT)?;
    let filter = AuditFilter {
        action: params.text("action"),
        actor: params.positive_integer("actor")?,
        since: params
            .text("since")
            .map(|s| parse_time(&s, "since"))
            .transpose()?,
        after_id: params.cursor()?,
        limit: limit + 1,
    };
    params.finish()?;
    let mut entries = state.store.audit(&filter).await?;
    let next = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries
            .last()
            .map(|last| with_cursor(uri.path(), raw.as_deref(), &last.id.to_string()))
    });
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "at": format_time(e.at),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "before": e.before,
                "after": e.after,
            })
        })
        .collect();
    let mut body = json!({ "entries": entries });
    if let Some(Some(next)) = next {
        body["next"] = json!(next);
    }
    Ok(Json(body).into_response())
}
