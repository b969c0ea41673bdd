//! Live updates (`GET /api/v1/events/stream`, also `/api/v1/live`:
//! Server-Sent Events) on every backend: reports, status changes and hides
//! reach a listener with public fields only; a listener that reconnects
//! with `Last-Event-ID` gets what it missed; on PostgreSQL a change written
//! through one server reaches the listeners of another; the connections a
//! server holds are capped.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use qala_geodata::account::Role;
use qala_tests::{Backend, TestApp, test_on_every_backend, within};
use serde_json::{Value, json};

/// Far longer than an event takes; only a failure waits this long.
const PATIENCE: Duration = Duration::from_secs(10);
const DESCRIPTION: &str = "LIVE-DESCRIPTION-MARKER by the fountain";
const EMAIL: &str = "live-marker@example.kz";
const INTERNAL: &str = "LIVE-INTERNAL-MARKER";

/// One open live stream, read event by event.
struct Live {
    response: reqwest::Response,
    buffer: String,
    /// Every data line read so far, for the privacy checks.
    seen: String,
    /// The id of the last event read.
    last_id: Option<String>,
    /// Every event read so far: name and data.
    events: Vec<(String, Value)>,
}

impl Live {
    async fn open(client: &reqwest::Client, base: &str) -> Self {
        Self::open_at(client, &format!("{base}/api/v1/live"), None).await
    }

    /// The stream at its current name, resuming after `last_id` if given.
    async fn resume(client: &reqwest::Client, base: &str, last_id: Option<&str>) -> Self {
        Self::open_at(client, &format!("{base}/api/v1/events/stream"), last_id).await
    }

    async fn open_at(client: &reqwest::Client, url: &str, last_id: Option<&str>) -> Self {
        let mut request = client.get(url);
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
            seen: String::new(),
            last_id: None,
            events: Vec::new(),
        }
    }

    /// Reads events until one named `name` whose data satisfies `wanted`.
    async fn wait_for(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        self.last_id = Some(v.trim().to_string());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                self.seen.push_str(&data);
                let value: Value = serde_json::from_str(&data).unwrap();
                self.events.push((event.to_string(), value.clone()));
                if event == name && wanted(&value) {
                    return value;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {name} event in {PATIENCE:?}; read {}", self.seen))
                .unwrap()
                .expect("the live stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn post(app: &TestApp, base: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = app
        .client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {body}");
    body
}

async fn report(app: &TestApp, base: &str) -> i64 {
    let body = json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [76.9412, 43.2611]},
        "properties": {"category": "pothole", "description": DESCRIPTION, "reporter_email": EMAIL},
    });
    post(app, base, "/api/v1/issues", None, body).await["id"]
        .as_i64()
        .unwrap()
}

fn is_issue(id: i64) -> impl Fn(&Value) -> bool {
    move |v| v["id"] == id
}

async fn a_listener_hears_reports_status_changes_and_hides_with_public_fields_only(
    backend: Backend,
) {
    let app = TestApp::demo(&backend, 0).await;
    let (_, staff) = app
        .user_with_token("roads@city.kz", Role::Staff, &["roads"])
        .await;
    let (_, admin) = app.user_with_token("admin@city.kz", Role::Admin, &[]).await;
    let mut live = Live::open(&app.client, &app.base).await;

    let id = report(&app, &app.base).await;
    let reported = live.wait_for("issue", is_issue(id)).await;
    assert_eq!(
        reported,
        json!({"id": id, "kind": "created", "status": "open", "category": "pothole", "lon": 76.9412, "lat": 43.2611})
    );

    let change = json!({"status": "acknowledged", "note": "Seen", "internal_note": INTERNAL});
    let path = format!("/api/v1/issues/{id}/events");
    post(&app, &app.base, &path, Some(&staff), change).await;
    let changed = live
        .wait_for("issue", |v| v["id"] == id && v["status"] == "acknowledged")
        .await;
    assert_eq!(changed["category"], "pothole");
    assert_eq!(changed["kind"], "changed");

    let hide = json!({"action": "hide", "reason": "Live test"});
    let path = format!("/api/v1/issues/{id}/moderation");
    post(&app, &app.base, &path, Some(&admin), hide).await;
    let removed = live.wait_for("issue", |v| v["removed"] == true).await;
    assert_eq!(
        removed,
        json!({"id": id, "kind": "removed", "removed": true})
    );

    for private in [
        DESCRIPTION,
        EMAIL,
        INTERNAL,
        "Live test",
        "user_id",
        "roads@",
    ] {
        assert!(!live.seen.contains(private), "{private} in {}", live.seen);
    }
}

async fn listeners_of_a_second_server_hear_changes_written_on_the_first(backend: Backend) {
    if backend == Backend::Sqlite {
        // One server per SQLite file: there is no second server to tell.
        return;
    }
    let app = TestApp::demo(&backend, 0).await;
    let (_, staff) = app
        .user_with_token("roads@city.kz", Role::Staff, &["roads"])
        .await;
    let follower = app.follower().await;
    let mut live = Live::open(&app.client, &follower).await;

    let written = Instant::now();
    let id = report(&app, &app.base).await;
    live.wait_for("issue", |v| v["id"] == id && v["status"] == "open")
        .await;
    // Reported, not asserted (timings do not belong in tests): the latency
    // docs/benchmarks.md quotes.
    eprintln!(
        "a report on one server reached a listener of another in {:?}",
        written.elapsed()
    );
    let change = json!({"status": "acknowledged", "note": "Seen"});
    let path = format!("/api/v1/issues/{id}/events");
    post(&app, &app.base, &path, Some(&staff), change).await;
    live.wait_for("issue", |v| v["id"] == id && v["status"] == "acknowledged")
        .await;
    // The follower's index had the change before its listeners heard of it.
    let url = format!("{follower}/api/v1/issues?status=acknowledged");
    let (_, listed) = qala_tests::get_json(&app.client, &url).await;
    assert_eq!(listed["features"][0]["id"], id, "{listed}");
}

async fn a_listener_that_reconnects_with_its_last_event_id_gets_what_it_missed(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (_, staff) = app
        .user_with_token("roads@city.kz", Role::Staff, &["roads"])
        .await;
    let mut live = Live::resume(&app.client, &app.base, None).await;
    let first = report(&app, &app.base).await;
    live.wait_for("issue", is_issue(first)).await;
    let last_id = live.last_id.clone().expect("events carry ids");
    drop(live);

    // While it is away: two reports and a status change.
    let second = report(&app, &app.base).await;
    let third = report(&app, &app.base).await;
    let change = json!({"status": "acknowledged", "note": "Seen"});
    let path = format!("/api/v1/issues/{second}/events");
    post(&app, &app.base, &path, Some(&staff), change).await;

    let mut back = Live::resume(&app.client, &app.base, Some(&last_id)).await;
    back.wait_for("issue", |v| v["id"] == second && v["kind"] == "changed")
        .await;
    let missed: Vec<(i64, &str)> = back
        .events
        .iter()
        .map(|(name, v)| {
            assert_eq!(name, "issue", "no resync: nothing was lost");
            (v["id"].as_i64().unwrap(), v["kind"].as_str().unwrap())
        })
        .collect();
    // Once each (on PostgreSQL the change feed brings a server's own
    // writes back, which must not be told twice), in commit order.
    assert_eq!(
        missed,
        [(second, "created"), (third, "created"), (second, "changed")],
        "the first report, already seen, is not sent again"
    );

    // An id this server cannot continue from (an earlier run's, another
    // server's): told to resync rather than silently missing changes.
    let mut stale = Live::resume(&app.client, &app.base, Some("1-1")).await;
    stale.wait_for("resync", |_| true).await;
}

async fn live_connections_are_capped_and_given_back(backend: Backend) {
    let database = qala_tests::TestDatabase::new(&backend);
    let store = qala_geodata::connect(&database.url).await.unwrap();
    let config = qala_server::ServerConfig {
        live_connections: 1,
        ..Default::default()
    };
    let (_state, base) = qala_tests::serve_with(Arc::clone(&store), config).await;
    let client = reqwest::Client::new();
    let first = Live::open(&client, &base).await;
    let refused = client
        .get(format!("{base}/api/v1/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "30");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "live_full");

    // A client that goes gives its slot back.
    drop(first);
    let back = within(PATIENCE, async || {
        let response = client
            .get(format!("{base}/api/v1/live"))
            .send()
            .await
            .unwrap();
        response.status().as_u16() == 200
    })
    .await;
    assert!(back.is_some(), "the slot never came back");
}

test_on_every_backend!(
    a_listener_hears_reports_status_changes_and_hides_with_public_fields_only,
    listeners_of_a_second_server_hear_changes_written_on_the_first,
    a_listener_that_reconnects_with_its_last_event_id_gets_what_it_missed,
    live_connections_are_capped_and_given_back,
);
