//! Harness for Qala's end-to-end tests: a real server on a random port with a
//! fresh database, either in this process (through [`qala_server::app`]) or as
//! the real `qala` binary in a child process.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod mvt;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use qala_geodata::Store;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A server running inside the test process on 127.0.0.1:0.
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub state: qala_server::AppState,
    pub client: reqwest::Client,
    pub dir: TempDir,
}

impl TestApp {
    /// A server over an empty database (no districts: every point is in the city).
    pub async fn empty() -> Self {
        Self::start(None).await
    }

    /// A server over the Almaty demo city with `issues` synthetic issues.
    pub async fn demo(issues: usize) -> Self {
        Self::start(Some(issues)).await
    }

    async fn start(demo_issues: Option<usize>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("qala.db").display());
        let store = qala_geodata::connect(&url).await.unwrap();
        if let Some(n) = demo_issues {
            qala_server::demo::load(store.as_ref(), n, 7).await.unwrap();
        }
        let state =
            qala_server::AppState::load(Arc::clone(&store), qala_server::ServerConfig::default())
                .await
                .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = qala_server::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{addr}"),
            store,
            state,
            client: reqwest::Client::new(),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a JSON body to /api/v1/issues.
    pub async fn report(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/api/v1/issues"))
            .header("content-type", "application/geo+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Number of issues in the database (not the index): what was really written.
    pub async fn stored_issue_count(&self) -> usize {
        futures::StreamExt::count(self.store.stream_issues()).await
    }
}

/// A report body for a point.
pub fn report_body(lon: f64, lat: f64, category: &str, description: &str) -> Value {
    serde_json::json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": category, "description": description},
    })
}

/// Follows `next` links from `first` to the end, returning every feature.
pub async fn all_pages(app: &TestApp, first: &str) -> (Vec<Value>, usize) {
    let mut features = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        features.extend(page["features"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    (features, pages)
}

/// The `qala` binary that `cargo test --workspace` builds next to the test binaries
/// (or the one `QALA_BIN` names).
pub fn qala_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("QALA_BIN") {
        return path.into();
    }
    // target/<profile>/deps/<test binary> -> target/<profile>/qala
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("qala");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (which builds it) or set QALA_BIN",
        path.display()
    );
    path
}

/// The real `qala serve` in a child process.
pub struct ServerProcess {
    pub base: String,
    child: Child,
}

impl ServerProcess {
    /// Starts `qala serve` on a free port and waits for the line that says where it listens.
    pub async fn start(database_url: &str) -> Self {
        let mut child = Command::new(qala_binary())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
            ])
            .env("QALA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("qala exited before listening");
            if let Some(addr) = line.strip_prefix("qala listening on ") {
                break addr.trim().to_owned();
            }
        };
        Self { base, child }
    }

    /// SIGKILL: no graceful shutdown, nothing flushed that was not already durable.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// A temporary directory with a database URL inside it.
pub fn temp_database() -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("qala.db").display());
    (dir, url)
}
