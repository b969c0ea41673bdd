//! The layer that spends a write's allowance ([`crate::limits`]) before its
//! handler runs: `429 rate_limited` with `Retry-After` once the client
//! address or the signed-in account has none left. Reads are not limited
//! here.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::limits::WriteKind;
use crate::state::AppState;

/// Runs after [`super::access::enforce`], which has put the [`Caller`] in
/// the request.
pub async fn enforce(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let kind = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(WriteKind::Other, |p| WriteKind::of(p.as_str()));
    let account = request
        .extensions()
        .get::<Caller>()
        .and_then(Caller::actor)
        .map(|actor| actor.user_id);
    if let Err(wait) = state.limits.check(kind, addr, account) {
        return ApiError::too_many("rate_limited", "too many requests", wait).into_response();
    }
    next.run(request).await
}
