//! Live updates: every committed issue change, as the public sees it, to
//! whoever listens (`GET /api/v1/events/stream`, also at its older name
//! `/api/v1/live`: Server-Sent Events), so that the map and the staff queue
//! follow changes without a reload. Each event has an id; a client that
//! reconnects with `Last-Event-ID` gets what it missed from the last
//! [`REPLAY`] events of this server, or `resync` when it cannot.
//!
//! [`AppState::issue_committed`](crate::state::AppState::issue_committed)
//! publishes here after the index and tiles followed, for this server's
//! own writes and for those the change feed brings from other servers; a
//! client told of a change therefore gets fresh tiles from this server.
//! Events carry only public fields, and a hidden issue only its id.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
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
/// Recent events kept for clients that reconnect with `Last-Event-ID`
/// (about 200 bytes each). A client away for longer is told to resync.
pub const REPLAY: usize = 1_024;

/// What happened to an issue, as a listener sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKind {
    /// The issue appeared: newly reported (or shown again by a moderator).
    Created,
    /// Its status, category, department or location changed.
    Changed,
    /// It was hidden by a moderator.
    Removed,
}

impl LiveKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Changed => "changed",
            Self::Removed => "removed",
        }
    }
}

/// One change, ready to send: its place in this server's sequence and its
/// JSON data, serialized once for every listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// This server's sequence number of the event (from 1).
    pub seq: u64,
    /// The data line: `{"id", "kind", "status", "category", "lon", "lat"}`,
    /// or `{"id", "kind": "removed", "removed": true}` for a hidden issue.
    pub data: Arc<str>,
}

/// The public form of a committed issue.
fn public_data(issue: &Issue, kind: LiveKind) -> String {
    if issue.hidden_at.is_some() {
        json!({"id": issue.id, "kind": LiveKind::Removed.as_str(), "removed": true})
    } else {
        json!({
            "id": issue.id,
            "kind": kind.as_str(),
            "status": issue.status.as_str(),
            "category": issue.category.code,
            "lon": issue.location.lon(),
            "lat": issue.location.lat(),
        })
    }
    .to_string()
}

/// The recent events, for replay, and the next sequence number.
#[derive(Debug)]
struct Journal {
    next: u64,
    recent: VecDeque<LiveEvent>,
}

/// The broadcast of issue changes, the recent ones for replay, and the count
/// of listeners.
#[derive(Debug)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveEvent>,
    journal: Mutex<Journal>,
    /// Tells this server's event ids from another's or an earlier run's
    /// (start time in milliseconds): their numbers mean nothing here.
    epoch: u64,
    connections: Arc<Semaphore>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new(MAX_LIVE_CONNECTIONS)
    }
}

/// Where a (re)connecting client starts.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// From now on (no `Last-Event-ID`).
    Now,
    /// After replaying these events it missed.
    Replay(Vec<LiveEvent>),
    /// Its last event is not one this server can continue from (another
    /// server's, an earlier run's, or older than [`REPLAY`] events): it
    /// must reload what it shows.
    Resync,
}

impl LiveHub {
    /// A hub admitting at most `max_connections` listeners at once.
    pub fn new(max_connections: usize) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            sender: broadcast::channel(BUFFER).0,
            journal: Mutex::new(Journal {
                next: 1,
                recent: VecDeque::with_capacity(REPLAY),
            }),
            epoch,
            connections: Arc::new(Semaphore::new(max_connections)),
            closing: watch::Sender::new(false),
        }
    }

    /// Tells every listener of a committed change.
    pub fn publish(&self, issue: &Issue, kind: LiveKind) {
        self.send(public_data(issue, kind).into());
    }

    /// Numbers an event, keeps it for replay and sends it to every listener
    /// (nobody listening is fine). Under the journal's lock, so that the
    /// broadcast order is the numbering order and a subscriber's replay and
    /// broadcast neither overlap nor leave a gap.
    pub fn send(&self, data: Arc<str>) {
        let mut journal = self.journal.lock();
        let event = LiveEvent {
            seq: journal.next,
            data,
        };
        journal.next += 1;
        if journal.recent.len() == REPLAY {
            journal.recent.pop_front();
        }
        journal.recent.push_back(event.clone());
        let _ = self.sender.send(event);
    }

    /// The SSE id of an event: `<epoch>-<seq>`.
    pub fn event_id(&self, event: &LiveEvent) -> String {
        format!("{}-{}", self.epoch, event.seq)
    }

    /// A new listener that resumes after `last_event_id` (the SSE
    /// `Last-Event-ID` a reconnecting browser sends), or `None` when the
    /// server holds as many as it may.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Option<Listener> {
        let permit = Arc::clone(&self.connections).try_acquire_owned().ok()?;
        let journal = self.journal.lock();
        let events = self.sender.subscribe();
        let resume = match last_event_id {
            None => Resume::Now,
            Some(id) => self.resume_after(&journal, id),
        };
        drop(journal);
        Some(Listener {
            resume,
            events,
            closing: self.closing.subscribe(),
            _permit: permit,
        })
    }

    fn resume_after(&self, journal: &Journal, last_event_id: &str) -> Resume {
        let seq = last_event_id
            .split_once('-')
            .filter(|(epoch, _)| epoch.parse() == Ok(self.epoch))
            .and_then(|(_, seq)| seq.parse::<u64>().ok())
            .filter(|seq| *seq < journal.next);
        let oldest = journal.recent.front().map_or(journal.next, |e| e.seq);
        match seq {
            // Nothing it missed is gone: replay what came after.
            Some(seq) if seq + 1 >= oldest => Resume::Replay(
                journal
                    .recent
                    .iter()
                    .filter(|e| e.seq > seq)
                    .cloned()
                    .collect(),
            ),
            _ => Resume::Resync,
        }
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
    /// What it missed before it connected (or that it must resync).
    pub resume: Resume,
    /// The changes.
    pub events: broadcast::Receiver<LiveEvent>,
    /// Becomes `true` when the server shuts down.
    pub closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}
