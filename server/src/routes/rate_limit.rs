//! The layers that spend a write's allowance ([`crate::limits`]) before
//! its handler runs: `429 rate_limited` with `Retry-After` once the client
//! address or the signed-in account has none left. The address is counted
//! before anything else is done for the request (even resolving its
//! token), the account once the access layer knows it. Reads are not
//! limited here.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::limits::WriteKind;
use crate::state::AppState;

/// The kind of write `request` is, or `None` for a read.
fn write_kind(request: &Request) -> Option<WriteKind> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return None;
    }
    Some(
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or(WriteKind::Other, |p| WriteKind::of(p.as_str())),
    )
}

fn too_many(wait: Duration) -> Response {
    ApiError::too_many("rate_limited", "too many requests", wait).into_response()
}

/// Runs before [`super::access::enforce`]: per client address.
pub async fn by_address(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if let (Some(kind), Some(addr)) = (write_kind(&request), addr)
        && let Err(wait) = state.limits.check_address(kind, addr)
    {
        return too_many(wait);
    }
    next.run(request).await
}

/// Runs after [`super::access::enforce`], which has put the [`Caller`] in
/// the request: per signed-in account.
pub async fn by_account(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let account = request
        .extensions()
        .get::<Caller>()
        .and_then(Caller::actor)
        .map(|actor| actor.user_id);
    if let (Some(kind), Some(account)) = (write_kind(&request), account)
        && let Err(wait) = state.limits.check_account(kind, account)
    {
        return too_many(wait);
    }
    next.run(request).await
}
