//! The per-request timeout: a request whose answer is not ready within
//! [`ServerConfig::request_timeout`](crate::state::ServerConfig) is answered
//! `503 timeout` with `Retry-After`, so a stalled database or an expensive
//! query holds neither the client nor a connection slot for long.
//!
//! The routes whose answer is a stream are exempt: [`STREAMING`]. Their
//! handlers return as soon as the stream starts, so the timeout would not
//! cut the body anyway, but a slow start (an export waiting for the
//! database) must not be mistaken for a stall either: it has the database's
//! own acquire timeout.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Routes (axum path patterns) exempt from the request timeout: live
/// updates and layer exports.
pub const STREAMING: &[&str] = &[
    "/api/v1/events/stream",
    "/api/v1/live",
    "/api/v1/layers/{layer}/export.geojson",
];

/// Seconds a client is asked to wait after a timeout.
const RETRY_AFTER_SECONDS: u64 = 2;

/// The layer: runs the rest of the request under the timeout.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let streaming = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| STREAMING.contains(&path.as_str()));
    if streaming {
        return next.run(request).await;
    }
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis(), "request timed out");
            ApiError::unavailable(
                "timeout",
                "the server could not answer in time; try again shortly",
                RETRY_AFTER_SECONDS,
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exempt_route_exists() {
        for path in STREAMING {
            assert!(
                super::super::access::POLICY
                    .iter()
                    .any(|(_, route, _)| route == path),
                "{path} is not a route"
            );
        }
    }
}
