//! What sits between hyper and the router on one connection: the peer's
//! address for the handlers, the URI length limit, the body-read deadline
//! (a body not received in time is answered `408`), and the in-flight
//! count the socket's idle deadline rests on.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use super::io::{ConnShared, InFlight};
use crate::error::ApiError;

/// The service hyper calls for each request on one connection.
#[derive(Clone)]
pub(super) struct ConnService {
    pub(super) router: Router,
    pub(super) peer: SocketAddr,
    pub(super) shared: Arc<ConnShared>,
    pub(super) body_timeout: Duration,
    pub(super) max_uri_bytes: usize,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<GuardedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.shared.start();
        if uri_len(&request) > self.max_uri_bytes {
            let response = closing(ApiError::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!(
                    "the request URI is longer than {} bytes",
                    self.max_uri_bytes
                ),
            ));
            return Box::pin(std::future::ready(Ok(guarded(response, in_flight))));
        }
        let timed_out = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + self.body_timeout;
        let mut request = request.map(|incoming| {
            Body::new(DeadlineBody {
                inner: incoming,
                deadline,
                timer: None,
                timed_out: Arc::clone(&timed_out),
            })
        });
        // Login throttling counts per client address.
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        Box::pin(async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = if timed_out.load(Ordering::Acquire) {
                // Whatever the handler made of the failed read, the client
                // was too slow: say so, and do not read on from this socket.
                closing(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    "the request body was not received in time",
                ))
            } else {
                response
            };
            Ok(guarded(response, in_flight))
        })
    }
}

/// The length of the request target as the client sent it.
fn uri_len<B>(request: &Request<B>) -> usize {
    request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len())
}

/// An error response that closes the connection after it is sent.
fn closing(error: ApiError) -> axum::response::Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn guarded(response: axum::response::Response, in_flight: InFlight) -> Response<GuardedBody> {
    response.map(|body| GuardedBody {
        inner: body,
        _in_flight: in_flight,
    })
}

/// A response body that keeps its request counted as in flight until hyper
/// is done with it (a streamed body may take hours).
pub(super) struct GuardedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body, failing once its deadline passes (whole-body, not per
/// read: a client trickling a byte at a time is cut as surely as a silent one).
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

/// The error a request body reports when its deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
struct BodyTimeout;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyTimeout.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
