//! The durability harness: the real `qala serve` process under concurrent
//! writers, killed with SIGKILL at random moments, round after round, must
//! keep everything it acknowledged, hold no half-written record, and (on
//! SQLite) keep a sound file; and on a real full disk (a small tmpfs) it
//! refuses writes with `503`, goes on reading, and takes writes again by
//! itself once space returns.
//!
//! The kill moments come from a seeded RNG (the seed is printed; set
//! `QALA_DURABILITY_SEED` to repeat its choices; the exact interleaving of
//! the writers still varies from run to run).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use qala_geodata::account::Role;
use qala_tests::{
    Backend, ServerProcess, TestDatabase, assert_storage_unavailable, report_body, within,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, SqliteConnection};
use tokio::sync::watch;

/// Kill-and-restart rounds per backend (the issue asks for at least 20).
const ROUNDS: usize = 20;
/// Concurrent tasks POSTing reports; one more task changes statuses.
const REPORTERS: usize = 4;
/// How many acknowledgements (reports and status changes) a round waits
/// for before the kill: the kill lands while other writes are in flight.
const ACKS_BEFORE_KILL: std::ops::RangeInclusive<usize> = 5..=40;
/// No round may wait longer than this for its acknowledgements.
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// The status chain the status writer walks each issue along.
const NEXT_STATUS: [(&str, &str); 4] = [
    ("open", "acknowledged"),
    ("acknowledged", "in_progress"),
    ("in_progress", "resolved"),
    ("resolved", "closed"),
];
/// Issue properties a later status change legitimately changes.
const CHANGING: [&str; 4] = ["status", "updated_at", "acknowledged_at", "resolved_at"];

/// An issue the server acknowledged, and what was acknowledged about it since.
struct Tracked {
    /// The body of the `201` that created it (or of the replayed retry
    /// that first confirmed it).
    created: Value,
    /// The acknowledged status events, in order (after a restart: the
    /// issue's whole public history as read back).
    events: Vec<Value>,
    /// The target status of a change that was sent but not acknowledged
    /// (the connection died, or `503`): it may or may not have happened.
    maybe: Option<String>,
}

/// What the writers were told, shared between them and the checks.
#[derive(Default)]
struct Ledger {
    issues: BTreeMap<i64, Tracked>,
    /// Reports sent but not acknowledged: (Idempotency-Key, body).
    maybe_reports: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<Ledger>>;

/// The seed for this run: `QALA_DURABILITY_SEED` or a fresh one, printed.
fn seed() -> u64 {
    let seed = std::env::var("QALA_DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("durability seed: {seed} (QALA_DURABILITY_SEED={seed} repeats the choices)");
    seed
}

/// Status and JSON body of a request; `Err` when no answer came (the
/// server was killed before or while answering).
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Value), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    // A body cut off by the kill is no answer either.
    let bytes = response.bytes().await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn post_report(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/api/v1/issues"))
        .header("content-type", "application/geo+json")
        .header("idempotency-key", key)
        .body(body.to_string())
}

/// POSTs reports until the server stops answering. Every `201` goes into
/// the ledger and counts as an acknowledgement; anything else that is not
/// a refusal of the request is a "maybe".
async fn reporter(
    client: reqwest::Client,
    base: String,
    ledger: Shared,
    acks: watch::Sender<usize>,
    name: String,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for n in 0.. {
        let key = format!("{name}-{n}");
        let body = report_body(
            rng.random_range(76.85..77.05),
            rng.random_range(43.20..43.30),
            ["pothole", "street_light", "litter", "graffiti"][rng.random_range(0..4)],
            &format!(
                "Report {key}: {}",
                "something is broken here. ".repeat(rng.random_range(1..20))
            ),
        );
        match send(post_report(&client, &base, &key, &body)).await {
            Ok((201, created)) => {
                let id = created["id"].as_i64().unwrap();
                let tracked = Tracked {
                    created,
                    events: Vec::new(),
                    maybe: None,
                };
                assert!(ledger.lock().unwrap().issues.insert(id, tracked).is_none());
                acks.send_modify(|n| *n += 1);
            }
            // Refused for want of storage: it may still have committed.
            Ok((503, _)) => ledger.lock().unwrap().maybe_reports.push((key, body)),
            Ok((status, answer)) => panic!("report {key} answered {status}: {answer}"),
            Err(_) => {
                ledger.lock().unwrap().maybe_reports.push((key, body));
                return;
            }
        }
    }
}

/// The status an issue is in by its known history, and the next one in
/// the chain (`None` at the end of it).
fn next_status(tracked: &Tracked) -> Option<&'static str> {
    let current = tracked
        .events
        .last()
        .map_or("open", |e| e["to_status"].as_str().unwrap());
    NEXT_STATUS
        .iter()
        .find(|(from, _)| *from == current)
        .map(|(_, to)| *to)
}

/// Moves acknowledged issues along the status chain as an admin until the
/// server stops answering: each `201` event goes into the ledger.
async fn status_writer(
    client: reqwest::Client,
    base: String,
    token: String,
    ledger: Shared,
    acks: watch::Sender<usize>,
    mut killed: watch::Receiver<bool>,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut new_acks = acks.subscribe();
    loop {
        let pick = {
            let ledger = ledger.lock().unwrap();
            let candidates: Vec<(i64, &'static str)> = ledger
                .issues
                .iter()
                .filter(|(_, t)| t.maybe.is_none())
                .filter_map(|(id, t)| next_status(t).map(|s| (*id, s)))
                .collect();
            (!candidates.is_empty()).then(|| candidates[rng.random_range(0..candidates.len())])
        };
        let Some((id, to)) = pick else {
            // Nothing to move yet: wait for the reporters' next
            // acknowledgement (this task's own sender keeps the channel
            // open, so the kill has to be told apart).
            tokio::select! {
                _ = new_acks.changed() => continue,
                _ = killed.wait_for(|k| *k) => return,
            }
        };
        let request = client
            .post(format!("{base}/api/v1/issues/{id}/events"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({"status": to, "note": format!("to {to}")}).to_string());
        let answer = send(request).await;
        // Outside the lock: a panic holding it would poison it for the
        // other writers and bury this message under theirs.
        if let Ok((status, answer)) = &answer {
            assert!(
                [201, 503].contains(status),
                "issue {id} to {to} answered {status}: {answer}"
            );
        }
        let mut ledger = ledger.lock().unwrap();
        let tracked = ledger.issues.get_mut(&id).unwrap();
        match answer {
            Ok((201, event)) => {
                assert_eq!(event["to_status"], json!(to), "{event}");
                tracked.events.push(event);
                drop(ledger);
                acks.send_modify(|n| *n += 1);
            }
            Ok(_) => tracked.maybe = Some(to.to_owned()),
            Err(_) => {
                tracked.maybe = Some(to.to_owned());
                return;
            }
        }
    }
}

/// A direct connection to the store's database, for what the API cannot show.
enum Db {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Db {
    async fn connect(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Self::Sqlite(SqliteConnection::connect(url).await.unwrap())
        } else {
            Self::Postgres(PgConnection::connect(url).await.unwrap())
        }
    }

    async fn scalar(&mut self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Self::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }

    async fn ids(&mut self) -> Vec<i64> {
        let sql = "SELECT id FROM issues ORDER BY id";
        match self {
            Self::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await.unwrap(),
            Self::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await.unwrap(),
        }
    }

    async fn counts_by_status(&mut self) -> BTreeMap<String, i64> {
        let sql = "SELECT status, count(*) FROM issues GROUP BY status";
        let rows: Vec<(String, i64)> = match self {
            Self::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await.unwrap(),
            Self::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await.unwrap(),
        };
        rows.into_iter().collect()
    }

    /// No half record: every count here must be zero.
    async fn assert_no_half_records(&mut self) {
        let mut checks = vec![
            // A status without the event that set it, or an event whose
            // status the issue does not show.
            (
                "issues whose status is not their last event's",
                "SELECT count(*) FROM issues i WHERE i.status <> coalesce(
                    (SELECT e.to_status FROM issue_events e WHERE e.issue_id = i.id
                     ORDER BY e.id DESC LIMIT 1), 'open')",
            ),
            (
                "events of no issue",
                "SELECT count(*) FROM issue_events e LEFT JOIN issues i ON i.id = e.issue_id WHERE i.id IS NULL",
            ),
            (
                "idempotency keys of no issue",
                "SELECT count(*) FROM idempotency_keys k LEFT JOIN issues i ON i.id = k.issue_id WHERE i.id IS NULL",
            ),
            (
                "issues without their idempotency key (every report here sends one)",
                "SELECT count(*) FROM issues i WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.issue_id = i.id)",
            ),
        ];
        if let Self::Postgres(_) = self {
            // Other replicas learn of writes only through the change log.
            checks.push((
                "issues missing from the change log",
                "SELECT count(*) FROM issues i WHERE NOT EXISTS (SELECT 1 FROM changes c
                    WHERE c.kind = 'issue_created' AND c.entity_id = i.id)",
            ));
            checks.push((
                "status changes missing from the change log",
                "SELECT count(*) FROM issues i WHERE EXISTS (SELECT 1 FROM issue_events e WHERE e.issue_id = i.id)
                    AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.kind = 'issue_updated' AND c.entity_id = i.id)",
            ));
        }
        for (what, sql) in checks {
            assert_eq!(self.scalar(sql).await, 0, "{what}");
        }
        if let Self::Sqlite(c) = self {
            let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(c)
                .await
                .unwrap();
            assert_eq!(integrity, "ok");
        }
    }
}

/// `feature` without the properties a status change moves on.
fn fixed_part(feature: &Value) -> Value {
    let mut feature = feature.clone();
    // Only the answer to the reporter carries their private link.
    if let Some(f) = feature.as_object_mut() {
        f.remove("private_link");
    }
    if let Some(p) = feature["properties"].as_object_mut() {
        for key in CHANGING {
            p.remove(key);
        }
    }
    feature
}

/// After a restart: every acknowledged issue and event must read back as
/// acknowledged; then every report in doubt is retried with its key (as a
/// client should); then the store must hold exactly the issues the ledger
/// knows (no phantom, no half record), and the server's index must count
/// what the store holds.
async fn check_after_restart(
    client: &reqwest::Client,
    base: &str,
    ledger: &Shared,
    url: &str,
) -> Doubts {
    let mut doubts = Doubts::default();
    let expected: Vec<(i64, Value, Vec<Value>, Option<String>)> = ledger
        .lock()
        .unwrap()
        .issues
        .iter()
        .map(|(id, t)| (*id, t.created.clone(), t.events.clone(), t.maybe.clone()))
        .collect();
    let read_back: Vec<(i64, Vec<Value>, Option<bool>)> = futures::stream::iter(expected)
        .map(|(id, created, acked, maybe)| async move {
            let (status, issue) = send(client.get(format!("{base}/api/v1/issues/{id}")))
                .await
                .unwrap();
            assert_eq!(status, 200, "acknowledged issue {id}: {issue}");
            assert_eq!(fixed_part(&issue), fixed_part(&created), "issue {id}");
            let (status, history) = send(client.get(format!("{base}/api/v1/issues/{id}/events")))
                .await
                .unwrap();
            assert_eq!(status, 200, "{history}");
            let events = history["events"].as_array().unwrap().clone();
            assert!(
                events.len() >= acked.len() && events[..acked.len()] == acked[..],
                "issue {id}: acknowledged events {acked:?}, stored {events:?}"
            );
            let committed = match events.len() - acked.len() {
                0 => false,
                1 if maybe.is_some() => {
                    assert_eq!(events[acked.len()]["to_status"].as_str(), maybe.as_deref());
                    true
                }
                _ => panic!("issue {id}: events nobody sent: {events:?} after {acked:?}"),
            };
            let status = events
                .last()
                .map_or("open", |e| e["to_status"].as_str().unwrap());
            assert_eq!(issue["properties"]["status"], json!(status), "issue {id}");
            (id, events, maybe.map(|_| committed))
        })
        .buffer_unordered(8)
        .collect()
        .await;
    {
        let mut locked = ledger.lock().unwrap();
        for (id, events, doubt) in read_back {
            match doubt {
                Some(true) => doubts.events_committed += 1,
                Some(false) => doubts.events_lost += 1,
                None => {}
            }
            let tracked = locked.issues.get_mut(&id).unwrap();
            tracked.events = events;
            tracked.maybe = None;
        }
    }

    // Then the reports in doubt (after the acknowledged ones were checked,
    // lest a lost issue's id, taken again by a retry, hide the loss).
    let retries = std::mem::take(&mut ledger.lock().unwrap().maybe_reports);
    for (key, body) in retries {
        let response = post_report(client, base, &key, &body).send().await.unwrap();
        let status = response.status().as_u16();
        if response.headers().contains_key("idempotent-replayed") {
            doubts.reports_committed += 1;
        } else {
            doubts.reports_lost += 1;
        }
        let created: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "retry of {key}: {created}");
        let id = created["id"].as_i64().unwrap();
        let mut ledger = ledger.lock().unwrap();
        assert!(
            !ledger.issues.contains_key(&id),
            "the retry of {key} answered with issue {id}, acknowledged for another report"
        );
        ledger.issues.insert(
            id,
            Tracked {
                created,
                events: Vec::new(),
                maybe: None,
            },
        );
    }
    let known: Vec<i64> = ledger.lock().unwrap().issues.keys().copied().collect();

    // Every row in the store is an issue the API acknowledged (the maybes
    // were confirmed above), and a whole one. A connection of its own for
    // each check, so that between rounds nothing but the killed server had
    // the files open and the next one recovers them as after a real crash.
    let mut db = Db::connect(url).await;
    assert_eq!(db.ids().await, known, "issues in the store vs acknowledged");
    db.assert_no_half_records().await;
    let (status, stats) = send(client.get(format!("{base}/api/v1/stats/issues?group_by=status")))
        .await
        .unwrap();
    assert_eq!(status, 200, "{stats}");
    let served: BTreeMap<String, i64> = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["status"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    assert_eq!(
        served,
        db.counts_by_status().await,
        "the index counts what the store holds"
    );
    doubts
}

/// Writes in doubt at a kill (no answer, or `503`), by how they turned out.
#[derive(Debug, Default, Clone, Copy)]
struct Doubts {
    /// Reports whose retry found the issue already there.
    reports_committed: usize,
    /// Reports whose retry created the issue.
    reports_lost: usize,
    /// Status changes found in the history after all.
    events_committed: usize,
    /// Status changes that did not happen.
    events_lost: usize,
}

async fn acknowledged_writes_survive_sigkill_at_random_moments(backend: Backend) {
    let started = Instant::now();
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let database = TestDatabase::new(&backend);
    let url = database.url.clone();
    let token = {
        let store = qala_geodata::connect(&url).await.unwrap();
        qala_tests::user_with_token(store.as_ref(), "admin@city.kz", Role::Admin, &[])
            .await
            .1
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ledger: Shared = Arc::default();
    let mut in_doubt = 0;

    for round in 0..ROUNDS {
        let server = ServerProcess::start(&url).await;
        let doubts = check_after_restart(&client, &server.base, &ledger, &url).await;
        if round > 0 {
            println!("round {}'s writes in doubt: {doubts:?}", round - 1);
        }
        in_doubt += doubts.reports_committed + doubts.reports_lost;

        let (acks, mut acked) = watch::channel(0usize);
        let mut writers = Vec::new();
        for w in 0..REPORTERS {
            writers.push(tokio::spawn(reporter(
                client.clone(),
                server.base.clone(),
                Arc::clone(&ledger),
                acks.clone(),
                format!("round{round}-writer{w}"),
                rng.random(),
            )));
        }
        let (kill, killed) = watch::channel(false);
        writers.push(tokio::spawn(status_writer(
            client.clone(),
            server.base.clone(),
            token.clone(),
            Arc::clone(&ledger),
            acks.clone(),
            killed,
            rng.random(),
        )));
        drop(acks);
        let target = rng.random_range(ACKS_BEFORE_KILL);
        // The guard `wait_for` gives holds the channel's lock: dropped at
        // once, or the writers' next acknowledgement would block on it.
        let reached = tokio::time::timeout(ROUND_LIMIT, acked.wait_for(|n| *n >= target))
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(
            reached,
            "round {round}: fewer than {target} acknowledgements in {ROUND_LIMIT:?}"
        );
        server.kill().await;
        kill.send_replace(true);
        for writer in writers {
            writer.await.unwrap();
        }
        let ledger = ledger.lock().unwrap();
        println!(
            "round {round}: killed after {target} acknowledgements; {} issues acknowledged so far, {} reports in doubt",
            ledger.issues.len(),
            ledger.maybe_reports.len()
        );
    }
    let server = ServerProcess::start(&url).await;
    let doubts = check_after_restart(&client, &server.base, &ledger, &url).await;
    println!("round {}'s writes in doubt: {doubts:?}", ROUNDS - 1);
    in_doubt += doubts.reports_committed + doubts.reports_lost;
    server.kill().await;
    // Otherwise the kills all fell between writes and proved little.
    assert!(in_doubt > 0, "no kill landed while a report was in flight");
    let ledger = ledger.lock().unwrap();
    let events: usize = ledger.issues.values().map(|t| t.events.len()).sum();
    println!(
        "{ROUNDS} rounds in {:?}: {} issues and {events} status events, all as acknowledged",
        started.elapsed(),
        ledger.issues.len()
    );
}

qala_tests::test_on_every_backend!(acknowledged_writes_survive_sigkill_at_random_moments);

/// A tmpfs mounted for one test, unmounted when dropped (also when the
/// test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) where mounting is not possible: not root,
    /// or no `mount` in this environment.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match mounted {
            Ok(status) if status.success() => Some(Self { dir }),
            outcome => {
                eprintln!("SKIPPED: cannot mount a tmpfs (needs root): {outcome:?}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a server killed a moment ago may still hold files open.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system under `path` until the kernel refuses more.
fn fill(path: &Path) -> PathBuf {
    use std::io::Write;
    let filler = path.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    // Large chunks first, then single pages, until not one more fits.
    for chunk in [64 * 1024, 4096, 512] {
        let block = vec![0xa5u8; chunk];
        while file.write_all(&block).and_then(|()| file.flush()).is_ok() {}
    }
    let _ = file.sync_all();
    filler
}

/// POSTs a report with a key: status, `Retry-After`, body.
async fn report(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let response = post_report(client, base, key, body).send().await.unwrap();
    let (status, retry_after, mut created) = qala_tests::answer_with_retry_after(response).await;
    // Only the answer to the reporter carries their private link; reads do not.
    if let Some(f) = created.as_object_mut() {
        f.remove("private_link");
    }
    (status, retry_after, created)
}

/// SQLite on a real full disk: the `qala` process on a 4 MB tmpfs that a
/// filler file fills up. (`tests/storage_faults.rs` covers `SQLITE_FULL`
/// and a failing write in process; this is the same through the kernel's
/// `ENOSPC` and the real binary.)
#[tokio::test]
async fn a_full_disk_refuses_writes_with_503_keeps_reading_and_recovers_without_restart() {
    let Some(tmpfs) = Tmpfs::mount("4m") else {
        return;
    };
    let url = format!("sqlite://{}", tmpfs.path().join("qala.db").display());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let server = ServerProcess::start(&url).await;
    let base = server.base.clone();
    let body = |n: usize| {
        report_body(
            76.95,
            43.24,
            "pothole",
            &format!("Pothole {n}: {}", "a deep one by the bus stop. ".repeat(30)),
        )
    };
    let health = async || send(client.get(format!("{base}/healthz"))).await.unwrap();
    assert_eq!(health().await.0, 200);
    let mut acknowledged = Vec::new();
    for n in 0..3 {
        let (status, _, created) = report(&client, &base, &format!("before-{n}"), &body(n)).await;
        assert_eq!(status, 201, "{created}");
        acknowledged.push(created);
    }

    let filler = fill(tmpfs.path());
    // Room already in SQLite's files may take a few more writes; then the
    // disk is full for it too.
    let (key, status, retry_after, refused) = loop {
        let n = acknowledged.len();
        assert!(n < 1000, "writes never failed on a full disk");
        let key = format!("report-{n}");
        let (status, retry_after, created) = report(&client, &base, &key, &body(n)).await;
        if status != 201 {
            break (key, status, retry_after, created);
        }
        acknowledged.push(created);
    };
    println!(
        "the disk full: {} writes still fitted in SQLite's files",
        acknowledged.len() - 3
    );
    assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    for _ in 0..5 {
        let (status, retry_after, refused) =
            report(&client, &base, &key, &body(acknowledged.len())).await;
        assert_storage_unavailable(status, retry_after.as_deref(), &refused);
    }
    assert_eq!(
        health().await,
        (
            503,
            json!({"status": "degraded", "database": "up", "writes": "failing"})
        )
    );
    // Reads go on: each acknowledged issue as it was created, and nearby.
    for created in &acknowledged {
        let (status, issue) = send(client.get(format!("{base}/api/v1/issues/{}", created["id"])))
            .await
            .unwrap();
        assert_eq!((status, &issue), (200, created));
    }
    let (status, nearby) = send(client.get(format!(
        "{base}/api/v1/issues/nearby?lon=76.95&lat=43.24&radius=50&limit=1000"
    )))
    .await
    .unwrap();
    assert_eq!(status, 200, "{nearby}");
    assert_eq!(
        nearby["features"].as_array().unwrap().len(),
        acknowledged.len()
    );

    // Space returns: the refused report, retried, goes through without a
    // restart, health says so, and every pooled connection writes again.
    std::fs::remove_file(&filler).unwrap();
    let n = acknowledged.len();
    let mut retried = None;
    let recovered = within(Duration::from_secs(20), async || {
        let (status, _, created) = report(&client, &base, &key, &body(n)).await;
        let ok = status == 201;
        if ok {
            retried = Some(created);
        }
        ok
    })
    .await;
    assert!(
        recovered.is_some(),
        "writes did not recover once space returned"
    );
    acknowledged.push(retried.unwrap());
    assert_eq!(
        health().await,
        (
            200,
            json!({"status": "ok", "database": "up", "writes": "ok"})
        )
    );
    for i in 0..20 {
        let n = acknowledged.len();
        let (status, _, created) = report(&client, &base, &format!("after-{i}"), &body(n)).await;
        assert_eq!(
            status, 201,
            "write {i} after the disk had room again: {created}"
        );
        acknowledged.push(created);
    }

    server.kill().await;
    let mut db = Db::connect(&url).await;
    db.assert_no_half_records().await;
    let ids: Vec<i64> = acknowledged
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        db.ids().await,
        ids,
        "the store holds what was acknowledged, no more"
    );
    drop(db);
    drop(tmpfs);
}
