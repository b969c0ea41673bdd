//! `GET /api/v1/events/stream` (and its older name `/api/v1/live`):
//! committed issue changes as Server-Sent Events.
//!
//! Events: `issue` with `{"id", "kind", "status", "category", "lon", "lat"}`
//! (`kind`: `created` or `changed`; `{"id", "kind": "removed", "removed":
//! true}` when an issue was hidden), each with an SSE `id`; and `resync`
//! (`{}`) when this client missed changes it cannot be given (it fell
//! behind, or its `Last-Event-ID` is another server's, an earlier run's or
//! too old): it should reload what it shows. A browser that reconnects
//! sends `Last-Event-ID` by itself and first gets what it missed. A comment
//! line every 15 s keeps proxies from closing an idle stream. At most
//! [`MAX_LIVE_CONNECTIONS`] at once per server; beyond, `503 live_full`
//! with `Retry-After`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::live::{Listener, LiveEvent, MAX_LIVE_CONNECTIONS, Resume};
use crate::state::AppState;

/// How long a refused client waits before trying again, in seconds.
const RETRY_AFTER_SECONDS: u64 = 30;
/// The interval of keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The longest `Last-Event-ID` looked at (ours are under 40 characters).
const MAX_LAST_EVENT_ID: usize = 64;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events/stream", get(live))
        .route("/api/v1/live", get(live))
}

async fn live(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Anything unreadable is a client we cannot continue: it resyncs.
    let last_event_id = headers.get("last-event-id").map(|value| {
        value
            .to_str()
            .ok()
            .filter(|id| id.len() <= MAX_LAST_EVENT_ID)
            .unwrap_or("")
    });
    let Some(listener) = state.live.subscribe(last_event_id) else {
        return ApiError::unavailable(
            "live_full",
            format!(
                "this server holds its most live connections ({MAX_LIVE_CONNECTIONS} by default); try again later"
            ),
            RETRY_AFTER_SECONDS,
        )
        .into_response();
    };
    let hub = std::sync::Arc::clone(&state.live);
    let stream = messages(listener).map(move |message| {
        Ok::<_, Infallible>(match message {
            Message::Issue(event) => Event::default()
                .event("issue")
                .id(hub.event_id(&event))
                .data(&*event.data),
            Message::Resync => Event::default().event("resync").data("{}"),
        })
    });
    let mut response = Sse::new(stream)
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
    /// An issue changed.
    Issue(LiveEvent),
    /// Changes were missed: reload everything.
    Resync,
}

/// The listener's messages (first what it missed, then each change) until
/// the client goes (the stream is dropped, and with it the connection
/// slot) or the server shuts down.
fn messages(mut listener: Listener) -> impl Stream<Item = Message> {
    let missed = match std::mem::replace(&mut listener.resume, Resume::Now) {
        Resume::Now => Vec::new(),
        Resume::Replay(events) => events.into_iter().map(Message::Issue).collect(),
        Resume::Resync => vec![Message::Resync],
    };
    futures::stream::iter(missed).chain(futures::stream::unfold(
        listener,
        |mut listener| async move {
            if *listener.closing.borrow() {
                return None;
            }
            let message = tokio::select! {
                received = listener.events.recv() => match received {
                    Ok(change) => Message::Issue(change),
                    // The broadcast kept the newest events; the next ones follow.
                    Err(RecvError::Lagged(_)) => Message::Resync,
                    Err(RecvError::Closed) => return None,
                },
                _ = listener.closing.changed() => return None,
            };
            Some((message, listener))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveHub;

    fn send(hub: &LiveHub, id: i64) {
        hub.send(format!("{{\"id\":{id}}}").into());
    }

    /// The issue ids of the next `n` messages (`-1` for a resync).
    async fn next_ids(stream: &mut (impl Stream<Item = Message> + Unpin), n: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(match stream.next().await.unwrap() {
                Message::Issue(event) => serde_json::from_str::<serde_json::Value>(&event.data)
                    .unwrap()["id"]
                    .as_i64()
                    .unwrap(),
                Message::Resync => -1,
            });
        }
        ids
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_to_resync_then_hears_the_rest() {
        let hub = LiveHub::new(1);
        let listener = hub.subscribe(None).unwrap();
        for id in 0..5_000 {
            send(&hub, id);
        }
        let mut stream = std::pin::pin!(messages(listener));
        assert_eq!(stream.next().await, Some(Message::Resync));
        assert!(matches!(stream.next().await, Some(Message::Issue(_))));
    }

    #[tokio::test]
    async fn listeners_are_counted_and_a_closing_server_ends_their_streams() {
        let hub = LiveHub::new(1);
        let listener = hub.subscribe(None).unwrap();
        assert!(hub.subscribe(None).is_none(), "one listener at most");
        let mut stream = Box::pin(messages(listener));
        send(&hub, 7);
        assert_eq!(next_ids(&mut stream, 1).await, [7]);
        hub.close();
        assert_eq!(stream.next().await, None);
        drop(stream);
        assert!(hub.subscribe(None).is_some(), "the slot came back");
    }

    #[tokio::test]
    async fn a_reconnecting_listener_gets_what_it_missed_then_the_rest() {
        let hub = LiveHub::new(4);
        let mut first = Box::pin(messages(hub.subscribe(None).unwrap()));
        send(&hub, 1);
        let Some(Message::Issue(seen)) = first.next().await else {
            panic!("no event")
        };
        drop(first);
        send(&hub, 2);
        send(&hub, 3);
        let last = hub.event_id(&seen);
        let mut again = Box::pin(messages(hub.subscribe(Some(&last)).unwrap()));
        send(&hub, 4);
        assert_eq!(
            next_ids(&mut again, 3).await,
            [2, 3, 4],
            "no gap, no repeat"
        );
    }

    #[tokio::test]
    async fn an_id_this_server_cannot_continue_from_means_resync() {
        let hub = LiveHub::new(8);
        for id in 0..(crate::live::REPLAY as i64 + 10) {
            send(&hub, id);
        }
        let epoch = hub.event_id(&LiveEvent {
            seq: 0,
            data: "".into(),
        });
        let epoch = epoch.trim_end_matches("-0");
        for last in [
            format!("{epoch}-1"),      // older than the replay keeps
            format!("{epoch}-999999"), // not yet sent
            "1-5".to_string(),         // another server's or run's
            "garbage".to_string(),
            String::new(),
        ] {
            let mut stream = Box::pin(messages(hub.subscribe(Some(&last)).unwrap()));
            assert_eq!(next_ids(&mut stream, 1).await, [-1], "{last}");
        }
        let newest = format!("{epoch}-{}", crate::live::REPLAY + 10);
        let mut stream = Box::pin(messages(hub.subscribe(Some(&newest)).unwrap()));
        send(&hub, 42);
        assert_eq!(
            next_ids(&mut stream, 1).await,
            [42],
            "up to date: nothing to replay"
        );
    }
}
