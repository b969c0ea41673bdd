//! Harness for Qala's end-to-end tests: a real server on a random port with a
//! fresh database, either in this process (through [`qala_server::app`]) or as
//! the real `qala` binary in a child process.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod basemap;
pub mod follow_up;
pub mod mail_access;
pub mod mvt;
pub mod photos;
pub mod smtp;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use qala_geodata::Store;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which database a test runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

/// The variable naming a PostgreSQL server for tests (any database on it:
/// each test creates its own).
pub const POSTGRES_ENV: &str = "QALA_TEST_POSTGRES_URL";

impl Backend {
    /// PostgreSQL if `QALA_TEST_POSTGRES_URL` is set; otherwise says so and gives `None`.
    pub fn postgres() -> Option<Self> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                eprintln!("skipping PostgreSQL: {POSTGRES_ENV} not set");
                None
            }
        }
    }
}

/// Runs each named `async fn(Backend)` as one test per backend:
/// `on_sqlite::name` always, `on_postgres::name` when PostgreSQL is configured.
#[macro_export]
macro_rules! test_on_every_backend {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await
            })+
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                if let Some(backend) = $crate::Backend::postgres() {
                    super::$name(backend).await
                }
            })+
        }
    };
}

/// A fresh, empty database for one test, removed afterwards.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new(backend: &Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("qala.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres(server) => {
                use rand::Rng;
                let name = format!(
                    "qala_test_{}_{:08x}",
                    std::process::id(),
                    rand::rng().random::<u32>()
                );
                let mut url = url::Url::parse(server).unwrap();
                url.set_path(&name);
                // The store creates the database on first connect.
                Self {
                    url: url.to_string(),
                    _dir: None,
                    postgres: Some((server.clone(), name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            // Best effort: a leftover test database is harmless.
            let _ = std::process::Command::new("psql")
                .args([
                    server.as_str(),
                    "-qc",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A server running inside the test process on 127.0.0.1:0.
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub state: qala_server::AppState,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    /// The photos' directory (unless the config named one), removed afterwards.
    pub media: TempDir,
}

impl TestApp {
    /// A server over an empty database (no districts: every point is in the city).
    pub async fn empty(backend: &Backend) -> Self {
        Self::start(backend, None).await
    }

    /// A server over the Almaty demo city with `issues` synthetic issues.
    pub async fn demo(backend: &Backend, issues: usize) -> Self {
        Self::start(backend, Some(issues)).await
    }

    /// A server over the Almaty demo city with `issues` synthetic issues
    /// and `config`.
    pub async fn demo_with_config(
        backend: &Backend,
        issues: usize,
        config: qala_server::ServerConfig,
    ) -> Self {
        Self::start_with(backend, Some(issues), config).await
    }

    /// A server over an empty database with `config` (limits as given,
    /// where [`TestApp::empty`] turns them off).
    pub async fn with_config(backend: &Backend, config: qala_server::ServerConfig) -> Self {
        Self::start_with(backend, None, config).await
    }

    async fn start(backend: &Backend, demo_issues: Option<usize>) -> Self {
        Self::start_with(backend, demo_issues, unlimited_config()).await
    }

    async fn start_with(
        backend: &Backend,
        demo_issues: Option<usize>,
        config: qala_server::ServerConfig,
    ) -> Self {
        let database = TestDatabase::new(backend);
        let store = qala_geodata::connect(&database.url).await.unwrap();
        if let Some(n) = demo_issues {
            let city = qala_server::city::City::almaty().unwrap();
            qala_server::demo::load(store.as_ref(), &city, n, 7)
                .await
                .unwrap();
        }
        Self::serving(store, database, config).await
    }

    /// A server over a store the test opened itself (through a proxy, or
    /// with settings of its own) on `database`.
    pub async fn over(store: Arc<dyn Store>, database: TestDatabase) -> Self {
        Self::serving(store, database, unlimited_config()).await
    }

    async fn serving(
        store: Arc<dyn Store>,
        database: TestDatabase,
        mut config: qala_server::ServerConfig,
    ) -> Self {
        let media = tempfile::tempdir().unwrap();
        if config.media_dir.is_none() {
            config.media_dir = Some(media.path().to_owned());
        }
        let (state, base) = serve_with(Arc::clone(&store), config).await;
        Self {
            base,
            store,
            state,
            client: reqwest::Client::new(),
            database,
            media,
        }
    }

    /// The base URL of a second server on this app's database, following
    /// its change log as another replica would (sharing its media directory).
    pub async fn follower(&self) -> String {
        let store = qala_geodata::connect(&self.database.url).await.unwrap();
        let config = qala_server::ServerConfig {
            media_dir: self.state.config.media_dir.clone(),
            ..unlimited_config()
        };
        serve_with(store, config).await.1
    }

    /// The address the server listens on, for raw TCP clients.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        get_json(&self.client, &self.url(path)).await
    }

    /// POSTs a JSON body to /api/v1/issues.
    pub async fn report(&self, body: &Value) -> (u16, Value) {
        post_report(&self.client, &self.base, body).await
    }

    /// POSTs a JSON body to `path` with `token` as the bearer: status and
    /// JSON answer (`null` when it is not JSON).
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A user of `role` working for `departments`, added through the store,
    /// and a fresh API token for them (as `qala user add` + `qala user token`).
    pub async fn user_with_token(
        &self,
        email: &str,
        role: qala_geodata::account::Role,
        departments: &[&str],
    ) -> (qala_geodata::account::User, String) {
        user_with_token(self.store.as_ref(), email, role, departments).await
    }

    /// Number of issues in the database (not the index) that are not hidden:
    /// what was really written.
    pub async fn stored_issue_count(&self) -> usize {
        futures::StreamExt::count(self.store.stream_issues()).await
    }
}

/// A user of `role` working for `departments`, added to `store`, and a
/// fresh API token for them (as `qala user add` + `qala user token`).
pub async fn user_with_token(
    store: &dyn Store,
    email: &str,
    role: qala_geodata::account::Role,
    departments: &[&str],
) -> (qala_geodata::account::User, String) {
    use qala_geodata::account::{NewUser, TokenSecret};
    let departments = departments.iter().map(|d| (*d).to_owned()).collect();
    let user = store
        .create_user(
            &NewUser::new(email, role, departments, vec![], None, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    let secret = TokenSecret::generate().unwrap();
    store
        .create_token(user.id, &secret.hash(), &secret.label(), None, None)
        .await
        .unwrap();
    (user, secret.expose().to_owned())
}

/// The server's defaults without the abuse limits (write rates, repeated
/// reports): the functional tests send more writes from one address, faster,
/// than any resident; `tests/abuse.rs` tests the limits with its own.
pub fn unlimited_config() -> qala_server::ServerConfig {
    qala_server::ServerConfig {
        rate_limits: qala_server::limits::RateLimits {
            reports_per_address: 0,
            reports_per_account: 0,
            logins_per_address: 0,
            engage_per_address: 0,
            engage_per_account: 0,
            writes_per_address: 0,
            writes_per_account: 0,
        },
        duplicate_window: std::time::Duration::ZERO,
        ..qala_server::ServerConfig::default()
    }
}

/// The `qala serve` settings that [`unlimited_config`] turns off.
const UNLIMITED_ENV: [&str; 8] = [
    "QALA_REPORTS_PER_ADDRESS",
    "QALA_REPORTS_PER_ACCOUNT",
    "QALA_LOGINS_PER_ADDRESS",
    "QALA_ENGAGE_PER_ADDRESS",
    "QALA_ENGAGE_PER_ACCOUNT",
    "QALA_WRITES_PER_ADDRESS",
    "QALA_WRITES_PER_ACCOUNT",
    "QALA_DUPLICATE_REPORT_MINUTES",
];

/// A server over `store` on 127.0.0.1:0, as `qala serve` runs it: the
/// change log followed where there is one, through the same listener.
pub async fn serve_with(
    store: Arc<dyn Store>,
    config: qala_server::ServerConfig,
) -> (qala_server::AppState, String) {
    let state = qala_server::AppState::load(store, config).await.unwrap();
    if let Some(seq) = state.loaded_after_seq {
        qala_server::sync::spawn(state.clone(), seq);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = qala_server::app(state.clone());
    let connections = state.config.connections;
    tokio::spawn(qala_server::listener::serve(
        listener,
        app,
        connections,
        std::future::pending(),
    ));
    (state, format!("http://{addr}"))
}

/// Polls `condition` every 20 ms until it holds (how long that took) or
/// `limit` passes (`None`).
pub async fn within(
    limit: std::time::Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if condition().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// GET a URL: status and JSON body (`null` when the body is not JSON).
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POST a report to the server at `base`: status and JSON body.
pub async fn post_report(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/issues"))
        .header("content-type", "application/geo+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A report body for a point.
/// The `(layer, name)` of each place in a `/api/v1/search` answer, in its order.
pub fn place_names(body: &Value) -> Vec<(String, String)> {
    body["features"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|f| {
            (
                f["properties"]["layer"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["properties"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

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
    /// What the server wrote on standard error, when started with
    /// [`ServerProcess::start_logged`].
    log: Option<Arc<Mutex<String>>>,
}

impl ServerProcess {
    /// Starts `qala serve` on a free port and waits for the line that says where it listens.
    pub async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// As [`ServerProcess::start`], with more `qala serve` arguments
    /// (e.g. `["--max-connections", "1000"]`).
    pub async fn start_with(database_url: &str, extra_args: &[&str]) -> Self {
        Self::spawn(database_url, extra_args, false).await
    }

    /// As [`ServerProcess::start_with`], logging at `info` into a buffer
    /// ([`ServerProcess::log`]) instead of the test's standard error.
    pub async fn start_logged(database_url: &str, extra_args: &[&str]) -> Self {
        Self::spawn(database_url, extra_args, true).await
    }

    /// Everything the server logged so far (empty unless started logged).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    async fn spawn(database_url: &str, extra_args: &[&str], logged: bool) -> Self {
        let mut child = Command::new(qala_binary())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
            ])
            .args(extra_args)
            .env("QALA_LOG", if logged { "info" } else { "warn" })
            // As in-process servers: the functional tests write faster and
            // more alike than residents do (see `unlimited_config`).
            .envs(UNLIMITED_ENV.iter().map(|name| (name, "0")))
            .stdout(Stdio::piped())
            .stderr(if logged {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let log = child.stderr.take().map(|stderr| {
            let log = Arc::new(Mutex::new(String::new()));
            let into = Arc::clone(&log);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = into.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
            log
        });
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
        Self { base, child, log }
    }

    /// The server's process id (for /proc/PID/status).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// SIGKILL: no graceful shutdown, nothing flushed that was not already durable.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// A TCP forwarder to a database whose connections a test can cut and
/// restore: a real network interruption between one server and PostgreSQL.
pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    /// A proxy in front of the PostgreSQL server of `database_url`, and
    /// that URL through it: cutting the proxy cuts only the connections
    /// made with the returned URL.
    pub async fn in_front_of(database_url: &str) -> (Self, String) {
        let mut url = url::Url::parse(database_url).unwrap();
        let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
            .parse()
            .unwrap();
        let proxy = Self::start(target).await;
        url.set_port(Some(proxy.port)).unwrap();
        (proxy, url.into())
    }

    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (accept_open, accept_connections) = (Arc::clone(&open), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_open.load(Ordering::SeqCst) {
                    continue; // dropped at once: the client sees the connection close
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                accept_connections.lock().unwrap().push(task);
            }
        });
        Self {
            port,
            open,
            connections,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// A write's answer as the storage-fault tests read it: status,
/// `Retry-After`, body (`null` if it is not JSON).
pub async fn answer_with_retry_after(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Asserts a `503 storage_unavailable` in the error shape with a `Retry-After`.
pub fn assert_storage_unavailable(status: u16, retry_after: Option<&str>, body: &Value) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );
    assert!(
        retry_after.is_some_and(|s| s.parse::<u32>().is_ok_and(|s| s > 0)),
        "a 503 says when to retry: {retry_after:?}"
    );
}
