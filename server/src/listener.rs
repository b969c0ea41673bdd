//! The HTTP listener: accepts TCP connections and serves each with hyper's
//! HTTP/1.1 connection, so that every connection ends: a client that sends
//! nothing, half a head or a trickle of body is cut, and beyond a cap new
//! connections are answered `503` and closed instead of stalling the rest.
//!
//! HTTP/1.1 only: Qala does not terminate TLS, browsers never speak HTTP/2
//! in clear text, and sniffing for the HTTP/2 preface would be a read with
//! no deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

mod io;
mod service;

use io::{ConnIo, ConnShared, Deadlines};
use service::ConnService;

/// File descriptors kept back from the connection cap for the database
/// pool, SQLite's files, logs and the listener itself.
const RESERVED_FDS: u64 = 256;
/// The default cap on connections when the open-file limit allows more:
/// each costs a task and two small buffers, and far fewer suffice for a
/// city (live map streams are capped separately).
const MAX_DEFAULT_CONNECTIONS: u64 = 10_000;
/// Seconds a client shed at the connection cap is asked to wait.
const SHED_RETRY_AFTER: &str = "1";
/// Most connections being shed gracefully at once (see [`shed_capacity`]);
/// beyond, a shed connection is answered and closed at once.
const MAX_SHEDDING: u64 = 1_024;
/// Longest a connection being shed waits for the start of its request.
const SHED_WAIT: Duration = Duration::from_secs(1);
/// Longest a shed connection is drained after its answer: long enough for
/// the rest of a request in flight, short enough that clients that send
/// and never close free their place quickly.
const SHED_DRAIN: Duration = Duration::from_millis(200);
/// Most bytes read from a connection being shed.
const SHED_DRAIN_BYTES: usize = 64 * 1024;
/// The first pause after an accept error such as EMFILE, doubled while the
/// errors go on.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause after an accept error.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How connections are limited (see docs/deploy.md for the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// From the first byte of a request to the end of its head.
    pub header_timeout: Duration,
    /// A connection with no request in flight and nothing of the next one
    /// (also a new connection before its first byte) is closed after this.
    pub idle_timeout: Duration,
    /// From the end of a request's head to the end of its body; a body not
    /// received by then is answered `408` and the connection closed.
    pub body_timeout: Duration,
    /// Connections held at once; beyond, `503` and closed at once.
    pub max_connections: usize,
    /// Longest request target (path and query) answered; beyond, `414`.
    pub max_uri_bytes: usize,
    /// Largest request head (request line and headers); beyond, `431`.
    pub max_head_bytes: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(20),
            max_connections: default_max_connections(1_024),
            max_uri_bytes: 8 * 1024,
            max_head_bytes: 32 * 1024,
        }
    }
}

/// The connection cap for an open-file limit: below it by [`RESERVED_FDS`],
/// at most [`MAX_DEFAULT_CONNECTIONS`], at least 16.
pub fn default_max_connections(open_file_limit: u64) -> usize {
    let cap = open_file_limit
        .saturating_sub(RESERVED_FDS)
        .clamp(16, MAX_DEFAULT_CONNECTIONS);
    usize::try_from(cap).unwrap_or(16)
}

/// How many connections beyond the cap may be shed gracefully at once
/// (each holds a file for up to [`SHED_WAIT`] + [`SHED_DRAIN`]): what the
/// open-file limit leaves beyond the cap and half of [`RESERVED_FDS`], at
/// least 16, at most [`MAX_SHEDDING`].
fn shed_capacity(max_connections: usize) -> usize {
    #[cfg(unix)]
    let open_files = rlimit::Resource::NOFILE
        .get()
        .map_or(1_024, |(soft, _)| soft);
    #[cfg(not(unix))]
    let open_files = 1_024_u64;
    let spare = open_files
        .saturating_sub(u64::try_from(max_connections).unwrap_or(u64::MAX))
        .saturating_sub(RESERVED_FDS / 2);
    usize::try_from(spare.clamp(16, MAX_SHEDDING)).unwrap_or(16)
}

/// Raises this process's soft open-file limit to its hard limit and gives
/// the soft limit now in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(e) => {
                tracing::warn!(error = %e, "could not raise the open-file limit");
                rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (idle connections are closed at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let shedding = Arc::new(Semaphore::new(shed_capacity(settings.max_connections)));
    let graceful = GracefulShutdown::new();
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut failing = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                if failing {
                    tracing::info!("accepting connections again");
                    failing = false;
                }
                backoff = ACCEPT_BACKOFF_MIN;
                accepted
            }
            // The client went before it was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // EMFILE and the like: retrying at once would spin. Logged
                // once per run of failures, not once per attempt.
                if !failing {
                    tracing::error!(error = %e, "accept failed; backing off");
                    failing = true;
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            match Arc::clone(&shedding).try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(async move {
                        shed_gracefully(stream).await;
                        drop(permit);
                    });
                }
                Err(_) => shed_at_once(&stream),
            }
            continue;
        };
        let connection = serve_connection(stream, peer, app.clone(), &settings);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One connection, served with hyper's HTTP/1.1 and the deadlines.
fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    settings: &ConnectionSettings,
) -> hyper::server::conn::http1::Connection<TokioIo<ConnIo<TcpStream>>, ConnService> {
    // Small JSON answers should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let shared = Arc::new(ConnShared::default());
    let deadlines = Deadlines {
        idle: settings.idle_timeout,
        header: settings.header_timeout,
    };
    let io = TokioIo::new(ConnIo::new(stream, Arc::clone(&shared), deadlines));
    let service = ConnService {
        router,
        peer,
        shared,
        body_timeout: settings.body_timeout,
        max_uri_bytes: settings.max_uri_bytes,
    };
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // ConnIo applies the precise idle and header deadlines; hyper's own
        // timer (which starts with the idle wait) is a backstop after both.
        .header_read_timeout(settings.idle_timeout + settings.header_timeout)
        .max_header_size(settings.max_head_bytes)
        .serve_connection(io, service)
}

/// The `503 server_busy` a connection beyond the cap is answered.
fn busy_response() -> Vec<u8> {
    io::refusal_response(
        b"HTTP/1.1 503 Service Unavailable",
        "server_busy",
        "the server holds as many connections as it may; try again shortly",
        &[("retry-after", SHED_RETRY_AFTER)],
    )
}

/// Sheds a connection beyond the cap so that its client reads the `503`:
/// waits for the start of its request (an HTTP client such as hyper's takes
/// an answer that comes before its request for a broken connection), then
/// answers, closes its side and reads on until the client closes (or
/// [`SHED_DRAIN`], [`SHED_DRAIN_BYTES`]): closing a socket with unread
/// bytes in it sends a reset, and a reset can arrive before the answer and
/// destroy it.
async fn shed_gracefully(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    tracing::debug!("connection cap reached; shedding a connection");
    let mut buffer = [0_u8; 4096];
    // A client that sends nothing within the wait is answered all the same.
    let mut read = match timeout(SHED_WAIT, stream.read(&mut buffer)).await {
        Ok(Ok(n)) => n,
        Ok(Err(_)) => return,
        Err(_) => 0,
    };
    if stream.write_all(&busy_response()).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let _ = timeout(SHED_DRAIN, async {
        while read < SHED_DRAIN_BYTES {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    })
    .await;
}

/// Sheds a connection at once, when even the graceful shedding is full:
/// the answer goes into the socket's empty send buffer or not at all.
fn shed_at_once(stream: &TcpStream) {
    tracing::debug!("connection cap and shedding full; closing a connection at once");
    let _ = stream.try_write(&busy_response());
}

/// Errors of one incoming connection, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_stays_below_the_open_file_limit() {
        assert_eq!(default_max_connections(1_024), 768);
        assert_eq!(default_max_connections(100), 16);
        assert_eq!(default_max_connections(1 << 20), 10_000);
    }
}
