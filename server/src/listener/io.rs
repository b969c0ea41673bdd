//! One connection's socket as hyper sees it: the idle and header-read
//! deadlines, and hyper's own refusals rewritten into the JSON error shape.
//!
//! hyper starts its header-read timer as soon as it waits for a request
//! head, which after a keep-alive response is also the idle wait: it cannot
//! tell "nothing sent yet" from "half a request line sent". This wrapper
//! can, because the connection's service tells it when requests start and
//! end ([`ConnShared`]):
//! - no request in flight and no byte of the next one: the idle deadline
//!   (from the connection's start or the end of the last response);
//! - the first byte of a request arrived: the header deadline, from that
//!   byte until the service is called with the parsed head;
//! - a request in flight (its response may stream for hours: live updates,
//!   exports): no read deadline here; the body has its own.
//!
//! A request hyper cannot parse (malformed request line, bad
//! `Content-Length`, URI over hyper's 65,534 bytes, head over the limit) is
//! answered by hyper itself, before any service is called, with a bare head:
//! status, `content-length: 0`, `date`, and the connection closed. hyper
//! offers no hook for its body, so this wrapper recognises that head on the
//! way out (written while a new request's head was being read and nothing is
//! in flight, starting `HTTP/1.1 4`, with `content-length: 0`) and sends the
//! same status with the JSON error body instead.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What the connection's service tells its socket: requests started and
/// responses finished (the response body dropped).
#[derive(Debug, Default)]
pub(super) struct ConnShared {
    started: AtomicU64,
    finished: AtomicU64,
}

impl ConnShared {
    /// A parsed head reached the service; it ends when the returned guard
    /// (held by the response body) is dropped.
    pub(super) fn start(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    fn counts(&self) -> (u64, u64) {
        // Finished first: a request that starts and ends between the two
        // loads then still reads as started, never as finished-but-not-started.
        let finished = self.finished.load(Ordering::Acquire);
        (self.started.load(Ordering::Acquire), finished)
    }
}

/// One request in flight on a connection, until dropped.
#[derive(Debug)]
pub(super) struct InFlight(Arc<ConnShared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
    }
}

/// Where the connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing of the next request yet, since this instant.
    Idle(Instant),
    /// Part of a request head arrived, its first byte at this instant.
    Head(Instant),
    /// A request is in flight.
    Busy,
}

/// The deadlines [`ConnIo`] applies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadlines {
    pub(super) idle: Duration,
    pub(super) header: Duration,
}

/// A socket with the idle and header deadlines, and hyper's bare refusals
/// rewritten into the JSON error shape.
pub(super) struct ConnIo<T> {
    io: T,
    shared: Arc<ConnShared>,
    deadlines: Deadlines,
    phase: Phase,
    /// Requests finished as of the last look at [`ConnShared`].
    seen_finished: u64,
    timer: Option<Pin<Box<Sleep>>>,
    /// The JSON refusal still to be written, once hyper's head was recognised.
    refusal: Option<(Vec<u8>, usize)>,
}

impl<T> ConnIo<T> {
    pub(super) fn new(io: T, shared: Arc<ConnShared>, deadlines: Deadlines) -> Self {
        Self {
            io,
            shared,
            deadlines,
            phase: Phase::Idle(Instant::now()),
            seen_finished: 0,
            timer: None,
            refusal: None,
        }
    }

    /// Brings the phase up to date with the service's counts.
    fn refresh(&mut self) {
        let (started, finished) = self.shared.counts();
        if started > finished {
            self.phase = Phase::Busy;
        } else if self.phase == Phase::Busy || finished != self.seen_finished {
            self.phase = Phase::Idle(Instant::now());
        }
        self.seen_finished = finished;
    }

    fn deadline(&self) -> Option<(Instant, io::ErrorKind)> {
        match self.phase {
            // Idle ends like a client that hung up: a clean close.
            Phase::Idle(since) => Some((since + self.deadlines.idle, io::ErrorKind::UnexpectedEof)),
            Phase::Head(since) => Some((since + self.deadlines.header, io::ErrorKind::TimedOut)),
            Phase::Busy => None,
        }
    }

    /// Whether the deadline of the current phase has passed (registering
    /// the task to be woken when it does).
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::ErrorKind> {
        let (at, kind) = self.deadline()?;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        timer.as_mut().poll(cx).is_ready().then_some(kind)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ConnIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            // Refused: nothing more is read from this client.
            return Poll::Ready(Ok(()));
        }
        this.refresh();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before
                    && let Phase::Idle(_) = this.phase
                {
                    this.phase = Phase::Head(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.expired(cx) {
                Some(io::ErrorKind::UnexpectedEof) => {
                    tracing::debug!("idle connection closed");
                    Poll::Ready(Ok(()))
                }
                Some(kind) => {
                    tracing::debug!("request head not received in time");
                    Poll::Ready(Err(io::Error::new(
                        kind,
                        "request head not received in time",
                    )))
                }
                None => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> ConnIo<T> {
    /// Writes what is left of the JSON refusal.
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.refusal {
            if *written == bytes.len() {
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ConnIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        if this.refusal.is_none()
            && matches!(this.phase, Phase::Head(_))
            && let Some(replacement) = json_refusal(buf)
        {
            this.refusal = Some((replacement, 0));
        }
        if this.refusal.is_some() {
            // hyper's bare head (and anything after it) is replaced.
            ready!(this.poll_refusal(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The JSON form of one of hyper's own refusals, if `head` is one.
fn json_refusal(head: &[u8]) -> Option<Vec<u8>> {
    let status = head.strip_prefix(b"HTTP/1.1 4")?;
    let lower = head.to_ascii_lowercase();
    if !lower.windows(19).any(|w| w == b"content-length: 0\r\n") {
        return None;
    }
    let (code, message): (&str, &str) = match status.get(..2)? {
        b"14" => ("uri_too_long", "the request URI is too long"),
        b"31" => (
            "headers_too_large",
            "the request's header section is too large",
        ),
        _ => ("bad_request", "the request is not valid HTTP/1.1"),
    };
    let status_line = head.split(|b| *b == b'\r').next()?;
    Some(refusal_response(status_line, code, message, &[]))
}

/// A complete HTTP/1.1 response in the JSON error shape that closes the
/// connection: for refusals written straight to a socket.
pub(super) fn refusal_response(
    status_line: &[u8],
    code: &str,
    message: &str,
    extra_headers: &[(&str, &str)],
) -> Vec<u8> {
    let body =
        serde_json::json!({"error": {"code": code, "message": message, "field": null}}).to_string();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(status_line);
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\nconnection: close\r\n");
    for (name, value) in extra_headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_refusal_becomes_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 03:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(json_refusal(head).unwrap_or_default()).unwrap_or_default();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(out.contains("\"code\":\"headers_too_large\""));
        assert!(out.contains("connection: close\r\n"));
    }

    #[test]
    fn responses_with_bodies_pass_through() {
        let head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 61\r\n\r\n";
        assert_eq!(json_refusal(head), None);
        assert_eq!(
            json_refusal(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
    }
}
