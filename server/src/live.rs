//! Live updates: every committed issue change, as the public sees it, to
//! whoever listens (`GET /api/v1/live`, Server-Sent Events), so that map
//! colours follow changes without a reload.
//!
//! [`AppState::issue_committed`](crate::state::AppState::issue_committed)
//! publishes here after the index and tiles followed, for this server's
//! own writes and for those the change feed brings from other servers; a
//! client told of a change therefore gets fresh tiles from this server.
//! Events carry only public fields, and a hidden issue only its id.

use std::sync::Arc;

use qala_geodata::Issue;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

/// Live connections one server holds at most; beyond, `503` with
/// `Retry-After`. Each costs an idle task and a socket; 2,000 keeps a server
/// far from its file-descriptor limit while serving the usual resident load
/// (clients fall back to reloading tiles when refused).
pub const MAX_LIVE_CONNECTIONS: usize = 2_000;
/// Events kept for a slow client before it falls behind and is told to
/// resync.
const BUFFER: usize = 1_024;

/// One change, ready to send: the SSE event name and its JSON data,
/// serialized once for every listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// Issue id.
    pub id: i64,
    /// The data line: `{"id", "status", "category", "lon", "lat"}`, or
    /// `{"id", "removed": true}` for a hidden issue.
    pub data: Arc<str>,
}

impl LiveEvent {
    /// The public form of a committed issue.
    pub fn of(issue: &Issue) -> Self {
        let data = if issue.hidden_at.is_some() {
            json!({"id": issue.id, "removed": true})
        } else {
            json!({
                "id": issue.id,
                "status": issue.status.as_str(),
                "category": issue.category.code,
                "lon": issue.location.lon(),
                "lat": issue.location.lat(),
            })
        };
        Self {
            id: issue.id,
            data: data.to_string().into(),
        }
    }
}

/// The broadcast of issue changes and the count of listeners.
#[derive(Debug)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveEvent>,
    connections: Arc<Semaphore>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new(MAX_LIVE_CONNECTIONS)
    }
}

impl LiveHub {
    /// A hub admitting at most `max_connections` listeners at once.
    pub fn new(max_connections: usize) -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
            connections: Arc::new(Semaphore::new(max_connections)),
            closing: watch::Sender::new(false),
        }
    }

    /// Tells every listener of a committed change.
    pub fn publish(&self, issue: &Issue) {
        self.send(LiveEvent::of(issue));
    }

    /// Sends an event to every listener (nobody listening is fine).
    pub fn send(&self, event: LiveEvent) {
        let _ = self.sender.send(event);
    }

    /// A new listener, or `None` when the server holds as many as it may.
    pub fn subscribe(&self) -> Option<Listener> {
        let permit = Arc::clone(&self.connections).try_acquire_owned().ok()?;
        Some(Listener {
            events: self.sender.subscribe(),
            closing: self.closing.subscribe(),
            _permit: permit,
        })
    }

    /// Ends every live stream: a graceful shutdown waits for open
    /// connections, and these would otherwise never close.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One listener: its place in the broadcast, and its connection slot,
/// given back when it is dropped (the client went away).
#[derive(Debug)]
pub struct Listener {
    /// The changes.
    pub events: broadcast::Receiver<LiveEvent>,
    /// Becomes `true` when the server shuts down.
    pub closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}
