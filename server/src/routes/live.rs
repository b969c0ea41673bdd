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
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::live::{Listener, MAX_LIVE_CONNECTIONS};
use crate::state::AppState;

/// How long a refused client waits before trying again, in seconds.
const RETRY_AFTER_SECONDS: u64 = 30;
/// The interval of keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/live", get(live))
}

async fn live(State(state): State<AppState>) -> Response {
    let Some(listener) = state.live.subscribe() else {
        return ApiError::unavailable(
            "live_full",
            format!(
                "this server holds its most live connections ({MAX_LIVE_CONNECTIONS} by default); try again later"
            ),
            RETRY_AFTER_SECONDS,
        )
        .into_response();
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

/// What a listener is told.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    /// An issue changed: its public JSON.
    Issue(std::sync::Arc<str>),
    /// Changes were missed: reload everything.
    Resync,
}

/// The listener's events until the client goes (the stream is dropped, and
/// with it the connection slot) or the server shuts down.
fn events(listener: Listener) -> impl Stream<Item = Result<Event, Infallible>> {
    messages(listener).map(|message| {
        Ok(match message {
            Message::Issue(data) => Event::default().event("issue").data(&*data),
            Message::Resync => Event::default().event("resync").data("{}"),
        })
    })
}

fn messages(listener: Listener) -> impl Stream<Item = Message> {
    futures::stream::unfold(listener, |mut listener| async move {
        if *listener.closing.borrow() {
            return None;
        }
        let message = tokio::select! {
            received = listener.events.recv() => match received {
                Ok(change) => Message::Issue(change.data),
                // The broadcast kept the newest events; the next ones follow.
                Err(RecvError::Lagged(_)) => Message::Resync,
                Err(RecvError::Closed) => return None,
            },
            _ = listener.closing.changed() => return None,
        };
        Some((message, listener))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{LiveEvent, LiveHub};

    fn event(id: i64) -> LiveEvent {
        LiveEvent {
            id,
            data: format!("{{\"id\":{id}}}").into(),
        }
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_to_resync_then_hears_the_rest() {
        let hub = LiveHub::new(1);
        let listener = hub.subscribe().unwrap();
        for id in 0..5_000 {
            hub.send(event(id));
        }
        let mut stream = std::pin::pin!(messages(listener));
        assert_eq!(stream.next().await, Some(Message::Resync));
        assert!(matches!(stream.next().await, Some(Message::Issue(_))));
    }

    #[tokio::test]
    async fn listeners_are_counted_and_a_closing_server_ends_their_streams() {
        let hub = LiveHub::new(1);
        let listener = hub.subscribe().unwrap();
        assert!(hub.subscribe().is_none(), "one listener at most");
        let mut stream = Box::pin(messages(listener));
        hub.send(event(7));
        assert_eq!(
            stream.next().await,
            Some(Message::Issue("{\"id\":7}".into()))
        );
        hub.close();
        assert_eq!(stream.next().await, None);
        drop(stream);
        assert!(hub.subscribe().is_some(), "the slot came back");
    }
}
