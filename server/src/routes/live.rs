//! `GET /api/v1/live`: committed issue changes as Server-Sent Events.
//!
//! Events: `issue` with `{"id", "status", "category", "lon", "lat"}` (or
//! `{"id", "removed": true}` when an issue was hidden), and `resync`
//! (`{}`) when this client fell behind and missed some: it should reload
//! what it shows. A comment line every 15 s keeps proxies from closing an
//! idle stream. At most [`MAX_LIVE_CONNECTIONS`] at once per server; beyond,
//! `503 live_full` with `Retry-After`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::live::{Listener, MAX_LIVE_CONNECTIONS};
use crate::state::AppState;

/// How long a refused client waits before trying again, in seconds.
const RETRY_AFTER_SECONDS: u32 = 30;
/// The interval of keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/live", get(live))
}

async fn live(State(state): State<AppState>) -> Response {
    let Some(listener) = state.live.subscribe() else {
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "live_full",
            format!(
                "this server holds its most live connections ({MAX_LIVE_CONNECTIONS} by default); try again later"
            ),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        return response;
    };
    let mut response = Sse::new(events(listener))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Nginx buffers responses by default, which would hold events back.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The listener's events until the client goes (the stream is dropped, and
/// with it the connection slot) or the server shuts down.
fn events(listener: Listener) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(listener, |mut listener| async move {
        if *listener.closing.borrow() {
            return None;
        }
        let event = tokio::select! {
            received = listener.events.recv() => match received {
                Ok(change) => Event::default().event("issue").data(&*change.data),
                Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                Err(RecvError::Closed) => return None,
            },
            _ = listener.closing.changed() => return None,
        };
        Some((Ok(event), listener))
    })
}
