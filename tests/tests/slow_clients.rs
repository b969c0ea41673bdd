//! Slow, idle and malformed clients over raw TCP: every connection ends,
//! a full server sheds new connections at once and recovers, a stalled
//! request is answered `503` with `Retry-After`, and protocol refusals come
//! in the JSON error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use qala_server::ServerConfig;
use qala_server::listener::ConnectionSettings;
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, within};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to act before it fails: far above
/// the short timeouts configured here, so a pass never rests on timing.
const PATIENCE: Duration = Duration::from_secs(20);

fn short_timeouts() -> ServerConfig {
    ServerConfig {
        connections: ConnectionSettings {
            header_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(300),
            body_timeout: Duration::from_millis(300),
            ..ConnectionSettings::default()
        },
        ..ServerConfig::default()
    }
}

async fn connect(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection (a reset
/// counts as closing), or `None` if it is still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all).await.ok()?;
    Some(received)
}

/// The status and JSON body of one raw HTTP/1.1 response.
fn parse(response: &[u8]) -> (u16, Vec<(String, String)>, Value) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a complete response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Asserts the documented error shape with this status and code.
fn assert_refusal(response: &[u8], status: u16, code: &str) -> Vec<(String, String)> {
    let (got, headers, body) = parse(response);
    assert_eq!(got, status, "{}", String::from_utf8_lossy(response));
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/json"),
        "{headers:?}"
    );
    headers
}

async fn half_a_request_line_is_cut_while_others_are_served(backend: Backend) {
    let app = TestApp::with_config(&backend, short_timeouts()).await;
    let mut slow = connect(app.addr(), b"GET /api/v1/categ").await;
    let (status, _) = app.get("/api/v1/categories").await;
    assert_eq!(status, 200);
    let received = until_closed(&mut slow)
        .await
        .expect("a half request line must not hold a connection");
    // hyper closes on its header timeout without an answer.
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

async fn an_idle_keep_alive_connection_is_closed(backend: Backend) {
    let app = TestApp::with_config(&backend, short_timeouts()).await;
    let mut stream = connect(
        app.addr(),
        b"GET /api/v1/categories HTTP/1.1\r\nHost: qala\r\n\r\n",
    )
    .await;
    let received = until_closed(&mut stream)
        .await
        .expect("an idle keep-alive connection must be closed");
    let (status, headers, _) = parse(&received);
    assert_eq!(status, 200);
    // Kept alive after the answer (not closed because of the request)...
    assert_ne!(header(&headers, "connection"), Some("close"));
    // ...and closed only once idle: the one response is all there was.
    assert_eq!(received.windows(9).filter(|w| w == b"HTTP/1.1 ").count(), 1);
}

async fn connections_beyond_the_cap_are_shed_and_service_resumes(backend: Backend) {
    let mut config = ServerConfig::default();
    config.connections.max_connections = 4;
    let app = TestApp::with_config(&backend, config).await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(connect(app.addr(), b"GET /api/v1/cat").await);
    }
    // Default timeouts (10 s header): these four hold every slot.
    let mut shed = TcpStream::connect(app.addr()).await.unwrap();
    let received = until_closed(&mut shed)
        .await
        .expect("a connection beyond the cap is answered and closed");
    let headers = assert_refusal(&received, 503, "server_busy");
    assert!(header(&headers, "retry-after").is_some(), "{headers:?}");

    drop(slow);
    let served = within(PATIENCE, || async {
        // A fresh client each time: no pooled connection.
        let client = reqwest::Client::new();
        matches!(
            client.get(app.url("/api/v1/categories")).send().await,
            Ok(r) if r.status() == 200
        )
    })
    .await;
    assert!(
        served.is_some(),
        "service must resume when the slow clients go"
    );
}

async fn a_slow_body_is_cut_with_408(backend: Backend) {
    let app = TestApp::with_config(&backend, short_timeouts()).await;
    let mut stream = connect(
        app.addr(),
        b"POST /api/v1/issues HTTP/1.1\r\nHost: qala\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"category\"",
    )
    .await;
    let received = until_closed(&mut stream)
        .await
        .expect("a body that never ends must not hold a connection");
    let headers = assert_refusal(&received, 408, "body_timeout");
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert_eq!(app.stored_issue_count().await, 0);
}

/// Holds the store's write lock until dropped, as a long transaction of
/// another client would.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(app: &TestApp, backend: &Backend) -> Self {
        use sqlx::Connection;
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&app.database.url)
                    .await
                    .unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Sqlite(conn)
            }
            Backend::Postgres(_) => {
                let mut conn = sqlx::PgConnection::connect(&app.database.url)
                    .await
                    .unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query("LOCK TABLE issues IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
            Self::Postgres(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        }
    }
}

async fn a_stalled_request_answers_503_with_retry_after(backend: Backend) {
    let config = ServerConfig {
        request_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(&backend, config).await;
    let lock = WriteLock::take(&app, &backend).await;
    let response = app
        .client
        .post(app.url("/api/v1/issues"))
        .json(&report_body(
            76.9,
            43.25,
            "pothole",
            "deep pothole at the stop",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    // Reads the index answers go on meanwhile.
    assert_eq!(app.get("/api/v1/categories").await.0, 200);
    lock.release().await;
}

async fn protocol_refusals_come_in_the_json_shape(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let long_uri = format!(
        "GET /api/v1/issues?q={} HTTP/1.1\r\nHost: qala\r\n\r\n",
        "a".repeat(9_000)
    );
    let huge_headers = format!(
        "GET /api/v1/categories HTTP/1.1\r\nHost: qala\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    let cases: [(&[u8], u16, &str); 5] = [
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        (
            b"GET /api/v1/categories HTTP/9.9\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            b"POST /api/v1/issues HTTP/1.1\r\nHost: qala\r\nContent-Length: ten\r\n\r\n",
            400,
            "bad_request",
        ),
        (long_uri.as_bytes(), 414, "uri_too_long"),
        (huge_headers.as_bytes(), 431, "headers_too_large"),
    ];
    for (request, status, code) in cases {
        let mut stream = connect(app.addr(), request).await;
        let received = until_closed(&mut stream)
            .await
            .expect("a refused request's connection is closed");
        let headers = assert_refusal(&received, status, code);
        assert_eq!(header(&headers, "connection"), Some("close"), "{code}");
    }
    // The server is unharmed.
    assert_eq!(app.get("/api/v1/categories").await.0, 200);
}

test_on_every_backend!(
    half_a_request_line_is_cut_while_others_are_served,
    an_idle_keep_alive_connection_is_closed,
    connections_beyond_the_cap_are_shed_and_service_resumes,
    a_slow_body_is_cut_with_408,
    a_stalled_request_answers_503_with_retry_after,
    protocol_refusals_come_in_the_json_shape,
);
