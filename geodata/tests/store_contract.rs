//! The storage contract: one set of tests, each run against every backend.
//!
//! SQLite (in a temporary directory) always runs. PostgreSQL/PostGIS runs when
//! `QALA_TEST_POSTGRES_URL` names a server, e.g.
//!
//! ```text
//! QALA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p qala-geodata
//! ```
//!
//! The URL's user must be allowed to create databases (and the PostGIS
//! extension): each test creates its own `qala_test_<random>` database on that
//! server, so tests run in parallel, and drops it afterwards (also when the
//! test fails).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use geo::{
    Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon,
};
use qala_geodata::error::Error;
use qala_geodata::issue::format_time;
use qala_geodata::store::{
    ChangeKind, ImportMode, IssueRecord, PostgresStore, SqliteStore, Store, connect,
};
use qala_geodata::{
    Feature, Issue, IssueEntry, IssueStatus, LayerName, LonLat, NewFeature, NewIssue,
};
use serde_json::{Map, Value, json};
use sqlx::Connection;

const POSTGRES_URL_VAR: &str = "QALA_TEST_POSTGRES_URL";

/// One backend under test, with what it needs cleaned up afterwards.
struct Backend {
    name: &'static str,
    url: String,
    store: Arc<dyn Store>,
    /// The PostgreSQL store itself, for what only it has (the change log).
    postgres: Option<PostgresStore>,
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Database { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = self {
            // Best effort, and also after a failed assertion: Drop runs while
            // unwinding. A thread of its own, since the test's runtime may be
            // the one that is unwinding.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// A fresh, empty database on the test server; returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> (String, Cleanup) {
    let name = format!("qala_test_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&name);
    (
        url.to_string(),
        Cleanup::Database {
            admin_url: admin_url.to_owned(),
            name,
        },
    )
}

/// Every backend available here, each freshly created and empty.
async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("qala.db").display());
    let sqlite = SqliteStore::open(&url).await.unwrap();
    let mut all = vec![Backend {
        name: "SQLite",
        url,
        store: Arc::new(sqlite),
        postgres: None,
        _cleanup: Cleanup::Dir(dir),
    }];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(admin_url) => {
            let (url, cleanup) = fresh_postgres_database(&admin_url).await;
            let store = PostgresStore::open(&url).await.unwrap();
            all.push(Backend {
                name: "PostgreSQL",
                url,
                store: Arc::new(store.clone()),
                postgres: Some(store),
                _cleanup: cleanup,
            });
        }
        Err(_) => eprintln!("skipping PostgreSQL: {POSTGRES_URL_VAR} not set"),
    }
    all
}

/// Defines each named case as a test that runs it against every backend.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            for backend in backends().await {
                eprintln!("{} on {}", stringify!($case), backend.name);
                cases::$case(&backend).await;
            }
        }
    )*};
}

contract!(
    created_issues_are_read_back_by_id_in_the_order_asked,
    an_idempotent_retry_returns_the_first_issue,
    an_idempotency_key_reused_for_another_report_is_a_conflict,
    concurrent_creates_with_one_key_yield_one_issue,
    a_crowd_of_reports_is_stored_each_once,
    a_bulk_insert_is_all_or_nothing,
    a_bulk_insert_returns_ids_in_input_order,
    imports_append_and_replace,
    every_geometry_type_round_trips,
    the_layer_lists_in_the_schema_take_places_and_nothing_unknown,
    an_empty_geometry_is_rejected_and_nothing_is_written,
    the_database_refuses_invalid_geometry,
    streams_return_everything_in_id_order,
    issue_entries_describe_every_issue,
    times_round_trip_at_millisecond_precision,
    text_the_database_cannot_hold_is_a_validation_error,
    connect_picks_the_backend_from_the_url,
    every_write_appends_to_the_change_log,
);

fn report(i: usize) -> NewIssue {
    let categories = ["pothole", "street_light", "litter"];
    NewIssue::new(
        categories[i % categories.len()],
        &format!("Issue number {i}: яма на дороге"),
        LonLat::new(
            76.75 + (i % 997) as f64 * 0.000_35,
            43.15 + (i % 991) as f64 * 0.000_25,
        )
        .unwrap(),
        i.is_multiple_of(2).then(|| format!("Abay Ave {i}")),
        i.is_multiple_of(3)
            .then(|| format!("resident{i}@example.org")),
    )
    .unwrap()
}

fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn record(i: usize) -> IssueRecord {
    let created = at(1_767_225_600_000 + i as i64 * 60_123);
    IssueRecord::new(
        report(i),
        IssueStatus::ALL[i % IssueStatus::ALL.len()],
        (!i.is_multiple_of(4)).then_some((i % 8) as i64 + 1),
        created,
        created + Duration::milliseconds((i % 5) as i64 * 1_001),
    )
    .unwrap()
}

/// `r` with other times.
fn retimed(r: &IssueRecord, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> IssueRecord {
    IssueRecord::new(
        r.report().clone(),
        r.status(),
        r.district_id(),
        created_at,
        updated_at,
    )
    .unwrap()
}

/// `r` updated before it was created: what only the schema's CHECK refuses
/// once the validation is skipped.
fn updated_before_created(r: &IssueRecord) -> IssueRecord {
    IssueRecord::new_unchecked(
        r.report().clone(),
        r.status(),
        r.district_id(),
        r.created_at(),
        r.created_at() - Duration::milliseconds(1),
    )
}

fn assert_matches_record(issue: &Issue, r: &IssueRecord) {
    assert_eq!(issue.category, r.report().category());
    assert_eq!(issue.description, r.report().description());
    assert_eq!(issue.location, r.report().location());
    assert_eq!(issue.address.as_deref(), r.report().address());
    assert_eq!(issue.status, r.status());
    assert_eq!(issue.district_id, r.district_id());
    assert_eq!(issue.created_at, r.created_at());
    assert_eq!(issue.updated_at, r.updated_at());
    assert_eq!(issue.votes, 0);
    assert_eq!(issue.reporter_email.as_deref(), r.report().reporter_email());
}

async fn all_issues(store: &dyn Store) -> Vec<Issue> {
    store
        .stream_issues()
        .map(|r| r.unwrap())
        .collect::<Vec<_>>()
        .await
}

fn ring(x: f64, y: f64, d: f64) -> LineString<f64> {
    LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
}

fn square(x: f64, y: f64, d: f64) -> Polygon<f64> {
    Polygon::new(ring(x, y, d), vec![])
}

/// A feature as the stores receive it, unchecked: some tests hand the stores
/// what validation would have refused, to test their own defences.
fn feature(geometry: impl Into<Geometry<f64>>, properties: Value) -> NewFeature {
    let Value::Object(properties) = properties else {
        panic!("properties must be an object")
    };
    NewFeature::new_unchecked(geometry.into(), properties)
}

/// Geometry as read back equals geometry as written: bit for bit on
/// PostgreSQL (WKB carries the f64s as they are). The SQLite store keeps
/// GeoJSON text, and serde_json without its `float_roundtrip` feature may
/// parse a coordinate one unit in the last place off, so there the
/// coordinates are compared to within 1e-12 degrees (a tenth of a micrometre).
fn assert_same_geometry(b: &Backend, read: &Geometry<f64>, written: &Geometry<f64>) {
    if b.postgres.is_some() {
        assert_eq!(read, written);
        return;
    }
    use geo::CoordsIter;
    use qala_geodata::geometry::type_name;
    assert_eq!(
        type_name(read),
        type_name(written),
        "{read:?} vs {written:?}"
    );
    let read_coords: Vec<_> = read.coords_iter().collect();
    let written_coords: Vec<_> = written.coords_iter().collect();
    assert_eq!(read_coords.len(), written_coords.len());
    for (r, w) in read_coords.iter().zip(&written_coords) {
        assert!(
            (r.x - w.x).abs() <= 1e-12 && (r.y - w.y).abs() <= 1e-12,
            "{read:?} vs {written:?}"
        );
    }
}

fn assert_same_features(b: &Backend, read: &[Feature], written: &[Feature]) {
    assert_eq!(read.len(), written.len());
    for (r, w) in read.iter().zip(written) {
        assert_eq!(
            (r.id, r.layer, &r.properties),
            (w.id, w.layer, &w.properties)
        );
        assert_same_geometry(b, &r.geometry, &w.geometry);
    }
}

mod cases {
    use super::*;

    pub async fn created_issues_are_read_back_by_id_in_the_order_asked(b: &Backend) {
        let store = &*b.store;
        let records: Vec<IssueRecord> = (0..3).map(record).collect();
        let mut issues = Vec::new();
        for r in &records {
            let created = store.create_issue(r, None).await.unwrap();
            assert!(created.created);
            assert_matches_record(&created.issue, r);
            issues.push(created.issue);
        }
        assert!(issues[0].id < issues[1].id && issues[1].id < issues[2].id);
        // The private contact is stored (and never leaves through public output).
        assert_eq!(
            issues[0].reporter_email.as_deref(),
            Some("resident0@example.org")
        );
        assert!(
            !issues[0]
                .to_feature(None)
                .to_string()
                .contains("resident0@")
        );

        for issue in &issues {
            assert_eq!(store.issue(issue.id).await.unwrap().as_ref(), Some(issue));
        }
        assert_eq!(store.issue(issues[2].id + 1000).await.unwrap(), None);

        let (a, bb, c) = (issues[0].id, issues[1].id, issues[2].id);
        let found = store.issues_by_id(&[c, a, c + 1000, bb, a]).await.unwrap();
        let ids: Vec<i64> = found.iter().map(|i| i.id).collect();
        assert_eq!(ids, [c, a, bb], "in the order asked, missing ids skipped");
        assert!(store.issues_by_id(&[]).await.unwrap().is_empty());
        store.ping().await.unwrap();
    }

    pub async fn an_idempotent_retry_returns_the_first_issue(b: &Backend) {
        let store = &*b.store;
        let first = store.create_issue(&record(1), Some("key-1")).await.unwrap();
        assert!(first.created);
        // The retry comes later: the same report, another "now".
        let first_record = record(1);
        let later = first_record.created_at() + Duration::seconds(5);
        let retry = retimed(&first_record, later, later);
        let again = store.create_issue(&retry, Some("key-1")).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.issue, first.issue);
        // Another key is another issue.
        let other = store.create_issue(&record(1), Some("key-2")).await.unwrap();
        assert!(other.created);
        assert_ne!(other.issue.id, first.issue.id);
        assert_eq!(all_issues(store).await.len(), 2);
    }

    pub async fn an_idempotency_key_reused_for_another_report_is_a_conflict(b: &Backend) {
        let store = &*b.store;
        store.create_issue(&record(1), Some("key")).await.unwrap();
        let e = store
            .create_issue(&record(2), Some("key"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::IdempotencyConflict), "{e:?}");
        assert_eq!(all_issues(store).await.len(), 1);
    }

    pub async fn concurrent_creates_with_one_key_yield_one_issue(b: &Backend) {
        const REQUESTS: usize = 12;
        let barrier = Arc::new(tokio::sync::Barrier::new(REQUESTS));
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|_| {
                let store = Arc::clone(&b.store);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.create_issue(&record(7), Some("same-key")).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap().unwrap());
        }
        assert_eq!(results.iter().filter(|r| r.created).count(), 1);
        assert!(results.iter().all(|r| r.issue == results[0].issue));
        assert_eq!(all_issues(&*b.store).await.len(), 1);
    }

    /// Many reports at once (on SQLite they are committed in groups): each
    /// new key gives one issue, a retry gives the same issue back, a key
    /// reused for another report is refused without taking the reports
    /// committed with it down, and every answer is what the store holds.
    pub async fn a_crowd_of_reports_is_stored_each_once(b: &Backend) {
        const REPORTS: usize = 150;
        let store = &b.store;
        let barrier = Arc::new(tokio::sync::Barrier::new(REPORTS * 2 + 1));
        let send = |i: usize, report: usize| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                (
                    i,
                    store
                        .create_issue(&record(report), Some(&format!("crowd-{i}")))
                        .await,
                )
            })
        };
        // Each report twice under its key (a client's retry), and one key
        // sent with another report as well.
        let mut tasks: Vec<_> = (0..REPORTS)
            .flat_map(|i| [send(i, i), send(i, i)])
            .collect();
        tasks.push(send(REPORTS / 2, REPORTS + 1));
        let mut issues: HashMap<usize, Vec<Issue>> = HashMap::new();
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap() {
                (i, Ok(created)) => issues.entry(i).or_default().push(created.issue),
                (i, Err(Error::IdempotencyConflict)) => {
                    assert_eq!(i, REPORTS / 2);
                    conflicts += 1;
                }
                (i, Err(e)) => panic!("report {i}: {e:?}"),
            }
        }
        // Whichever report under the shared key came first won; the other
        // report was refused (once, or twice if it was the retried one).
        assert_eq!(issues[&(REPORTS / 2)].len() + conflicts, 3);
        let stored = all_issues(&**store).await;
        assert_eq!(stored.len(), REPORTS);
        for (i, answers) in &issues {
            assert!(
                answers.iter().all(|a| a == &answers[0]),
                "report {i}: one issue for one key"
            );
            assert!(
                stored.contains(&answers[0]),
                "report {i}: answered as stored"
            );
        }
    }

    pub async fn a_bulk_insert_is_all_or_nothing(b: &Backend) {
        let store = &*b.store;
        // More than one statement's worth of rows on either backend, with one
        // record that breaks a rule of the schema near the end.
        let mut records: Vec<IssueRecord> = (0..10_050).map(record).collect();
        records[10_040] = updated_before_created(&records[10_040]);
        let e = store.insert_issues(&records).await.unwrap_err();
        assert!(matches!(e, Error::Database(_)), "{e:?}");
        assert!(all_issues(store).await.is_empty(), "nothing was written");
        assert!(store.issue_entries().await.unwrap().is_empty());
        // The store is still usable afterwards.
        store.create_issue(&record(1), None).await.unwrap();
        assert!(store.insert_issues(&[]).await.unwrap().is_empty());
    }

    pub async fn a_bulk_insert_returns_ids_in_input_order(b: &Backend) {
        let store = &*b.store;
        let before = store.create_issue(&record(0), None).await.unwrap().issue.id;
        let records: Vec<IssueRecord> = (0..10_050).map(record).collect();
        let ids = store.insert_issues(&records).await.unwrap();
        assert_eq!(ids.len(), records.len());
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[0] > before);
        for i in [0, 1, 79, 80, 9_999, 10_000, 10_049] {
            let issue = store.issue(ids[i]).await.unwrap().unwrap();
            assert_matches_record(&issue, &records[i]);
        }
    }

    pub async fn imports_append_and_replace(b: &Backend) {
        let store = &*b.store;
        let with_hole = Polygon::new(ring(76.9, 43.2, 0.1), vec![ring(76.93, 43.23, 0.01)]);
        let first = vec![
            feature(
                with_hole,
                json!({"name": "Panfilov Park", "area_m2": 180000, "tags": ["park", "trees"],
                       "names": {"kk": "Панфилов паркі", "ru": "Парк Панфилова"}, "open": true,
                       "note": null, "ratio": 0.1}),
            ),
            feature(
                Point::new(76.944, 43.262),
                json!({"name": "Fountain on the Arbat"}),
            ),
        ];
        let stored = store
            .import_features(LayerName::PublicSpaces, &first, ImportMode::Append)
            .await
            .unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored[0].id < stored[1].id);
        for (s, f) in stored.iter().zip(&first) {
            assert_eq!(s.layer, LayerName::PublicSpaces);
            assert_eq!(&s.geometry, f.geometry());
            assert_eq!(&s.properties, f.properties());
        }
        assert_same_features(
            b,
            &store.features(LayerName::PublicSpaces).await.unwrap(),
            &stored,
        );

        // Another layer, to see that replace touches only its own.
        let districts = store
            .import_features(
                LayerName::Districts,
                &[feature(square(76.9, 43.2, 0.1), json!({"name": "Almaly"}))],
                ImportMode::Append,
            )
            .await
            .unwrap();

        let more = vec![feature(
            MultiPoint::new(vec![Point::new(76.95, 43.25), Point::new(76.96, 43.26)]),
            json!({}),
        )];
        let appended = store
            .import_features(LayerName::PublicSpaces, &more, ImportMode::Append)
            .await
            .unwrap();
        assert!(appended[0].id > districts[0].id);
        let mut expected = stored.clone();
        expected.extend(appended);
        assert_same_features(
            b,
            &store.features(LayerName::PublicSpaces).await.unwrap(),
            &expected,
        );

        let replacement = vec![feature(square(76.8, 43.3, 0.05), json!({"name": "Karasu"}))];
        let replaced = store
            .import_features(LayerName::PublicSpaces, &replacement, ImportMode::Replace)
            .await
            .unwrap();
        assert_same_features(
            b,
            &store.features(LayerName::PublicSpaces).await.unwrap(),
            &replaced,
        );
        assert!(replaced[0].id > expected[2].id, "ids are never reused");
        assert_same_features(
            b,
            &store.features(LayerName::Districts).await.unwrap(),
            &districts,
        );

        // Replacing with nothing empties the layer.
        store
            .import_features(LayerName::PublicSpaces, &[], ImportMode::Replace)
            .await
            .unwrap();
        assert!(
            store
                .features(LayerName::PublicSpaces)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn every_geometry_type_round_trips(b: &Backend) {
        let store = &*b.store;
        let line = LineString::from(vec![
            (76.912_345_678_901, 43.2),
            (76.95, 43.250_000_000_001),
            (77.0, 43.21),
        ]);
        let cases: Vec<(LayerName, Geometry<f64>)> = vec![
            (
                LayerName::Districts,
                Polygon::new(ring(76.9, 43.2, 0.1), vec![ring(76.93, 43.23, 0.01)]).into(),
            ),
            (
                LayerName::Districts,
                MultiPolygon::new(vec![square(76.0, 43.0, 0.1), square(76.5, 43.0, 0.1)]).into(),
            ),
            (LayerName::PublicSpaces, Point::new(76.944, 43.262).into()),
            (
                LayerName::PublicSpaces,
                MultiPoint::new(vec![Point::new(76.9, 43.2), Point::new(77.0, 43.3)]).into(),
            ),
            (
                LayerName::PublicSpaces,
                Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                    square(76.8, 43.1, 0.01).into(),
                    Point::new(76.85, 43.15).into(),
                ])),
            ),
            (LayerName::BikeRoutes, line.clone().into()),
            // `places` takes every type: an address, a street, a landmark.
            (LayerName::Places, Point::new(76.91, 43.2452).into()),
            (LayerName::Places, line.clone().into()),
            (LayerName::Places, square(76.92, 43.24, 0.001).into()),
            (
                LayerName::Places,
                MultiPoint::new(vec![Point::new(76.9, 43.2), Point::new(77.0, 43.3)]).into(),
            ),
            (
                LayerName::Places,
                MultiLineString::new(vec![line.clone(), ring(76.0, 43.0, 0.5)]).into(),
            ),
            (
                LayerName::Places,
                MultiPolygon::new(vec![square(76.0, 43.0, 0.1), square(76.5, 43.0, 0.1)]).into(),
            ),
            (
                LayerName::BikeRoutes,
                MultiLineString::new(vec![line.clone(), ring(76.0, 43.0, 0.5)]).into(),
            ),
            (
                LayerName::GreenCorridors,
                Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                    line.into(),
                    Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                        square(76.7, 43.1, 0.02).into(),
                    ])),
                ])),
            ),
        ];
        for (layer, geometry) in &cases {
            let f = feature(geometry.clone(), json!({"kind": format!("{geometry:?}")}));
            let stored = store
                .import_features(*layer, &[f], ImportMode::Append)
                .await
                .unwrap();
            // What the import returns is what was given; what is read back
            // is compared below.
            assert_eq!(&stored[0].geometry, geometry);
        }
        for layer in LayerName::REFERENCE {
            let read = store.features(layer).await.unwrap();
            let written: Vec<&Geometry<f64>> = cases
                .iter()
                .filter(|(l, _)| *l == layer)
                .map(|(_, g)| g)
                .collect();
            assert_eq!(read.len(), written.len(), "{layer}");
            for (r, w) in read.iter().zip(written) {
                assert_same_geometry(b, &r.geometry, w);
            }
        }
    }

    pub async fn an_empty_geometry_is_rejected_and_nothing_is_written(b: &Backend) {
        let store = &*b.store;
        let features = vec![
            feature(square(76.9, 43.2, 0.1), json!({})),
            feature(MultiPolygon::<f64>::new(vec![]), json!({})),
        ];
        let e = store
            .import_features(LayerName::Districts, &features, ImportMode::Append)
            .await
            .unwrap_err();
        let Error::Invalid(v) = &e else {
            panic!("expected a validation error, got {e:?}")
        };
        assert_eq!(v.code, "invalid_geometry");
        assert!(
            store
                .features(LayerName::Districts)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn the_database_refuses_invalid_geometry(b: &Backend) {
        let Some(pg) = &b.postgres else {
            // Honest about the difference: SQLite keeps GeoJSON text and relies
            // on the validation every caller runs first (parse_geometry).
            eprintln!("skipping on {}: no geometry CHECK in its schema", b.name);
            return;
        };
        let store = &*b.store;
        let bowtie = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (1.0, 0.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        let features = vec![
            feature(square(76.9, 43.2, 0.1), json!({})),
            feature(bowtie, json!({})),
        ];
        let e = pg
            .import_features(LayerName::Districts, &features, ImportMode::Append)
            .await
            .unwrap_err();
        let Error::Invalid(v) = &e else {
            panic!("expected a validation error, got {e:?}")
        };
        assert_eq!(v.code, "invalid_geometry");
        assert!(
            v.message
                .starts_with("feature 1: the geometry is not valid: Self-intersection"),
            "{}",
            v.message
        );

        // A geometry that does not fit the layer.
        let e = store
            .import_features(
                LayerName::Districts,
                &[feature(Point::new(76.9, 43.2), json!({}))],
                ImportMode::Append,
            )
            .await
            .unwrap_err();
        let Error::Invalid(v) = &e else {
            panic!("expected a validation error, got {e:?}")
        };
        assert!(
            v.message.starts_with("feature 0: a POINT does not belong"),
            "{}",
            v.message
        );
        assert!(
            store
                .features(LayerName::Districts)
                .await
                .unwrap()
                .is_empty()
        );

        // And around the store: the CHECK itself.
        let mut conn = sqlx::PgConnection::connect(&b.url).await.unwrap();
        let e = sqlx::query(
            "INSERT INTO features (layer, geometry)
             VALUES ('districts', ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 4326))",
        )
        .execute(&mut conn)
        .await
        .unwrap_err();
        let db = e.as_database_error().unwrap();
        assert!(db.is_check_violation(), "{e}");
        assert_eq!(db.constraint(), Some("features_geometry_valid"));
    }

    pub async fn the_layer_lists_in_the_schema_take_places_and_nothing_unknown(b: &Backend) {
        // Around the store, straight into the table: its CHECK on `layer`
        // (rebuilt on SQLite, replaced on PostgreSQL) knows `places` and
        // still refuses a name that is no layer.
        let (places, unknown) = if b.postgres.is_some() {
            let mut conn = sqlx::PgConnection::connect(&b.url).await.unwrap();
            let insert = |layer: &'static str| {
                format!(
                    "INSERT INTO features (layer, geometry) VALUES ('{layer}', ST_GeomFromText('LINESTRING(76.9 43.2, 76.95 43.25)', 4326))"
                )
            };
            let places = sqlx::query(&insert("places")).execute(&mut conn).await;
            let unknown = sqlx::query(&insert("roads")).execute(&mut conn).await;
            // A street line is still no district (the geometry CHECK).
            let district = sqlx::query(&insert("districts"))
                .execute(&mut conn)
                .await
                .unwrap_err();
            let db = district.as_database_error().unwrap();
            assert_eq!(db.constraint(), Some("features_geometry_fits_layer"));
            (places.map(|_| ()), unknown.map(|_| ()))
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&b.url).await.unwrap();
            let insert = |layer: &'static str| {
                format!(
                    "INSERT INTO features (layer, geometry, min_lon, min_lat, max_lon, max_lat) VALUES ('{layer}', '{{\"type\":\"Point\",\"coordinates\":[76.9,43.2]}}', 76.9, 43.2, 76.9, 43.2)"
                )
            };
            let places = sqlx::query(&insert("places")).execute(&mut conn).await;
            let unknown = sqlx::query(&insert("roads")).execute(&mut conn).await;
            (places.map(|_| ()), unknown.map(|_| ()))
        };
        places.unwrap();
        let e = unknown.unwrap_err();
        assert!(e.as_database_error().unwrap().is_check_violation(), "{e}");
        assert_eq!(b.store.features(LayerName::Places).await.unwrap().len(), 1);
    }

    pub async fn streams_return_everything_in_id_order(b: &Backend) {
        let store = &*b.store;
        let mut ids = store
            .insert_issues(&(0..600).map(record).collect::<Vec<_>>())
            .await
            .unwrap();
        ids.push(
            store
                .create_issue(&record(600), None)
                .await
                .unwrap()
                .issue
                .id,
        );
        let streamed = all_issues(store).await;
        let streamed_ids: Vec<i64> = streamed.iter().map(|i| i.id).collect();
        assert_eq!(streamed_ids, ids);
        assert_eq!(streamed, store.issues_by_id(&ids).await.unwrap());

        for i in 0..300_u32 {
            let (layer, f) = if i.is_multiple_of(2) {
                (
                    LayerName::BikeRoutes,
                    feature(
                        LineString::from(vec![(76.9, 43.2), (76.9 + i as f64 * 0.001, 43.3)]),
                        json!({"i": i}),
                    ),
                )
            } else {
                (
                    LayerName::PublicSpaces,
                    feature(Point::new(76.9, 43.2 + i as f64 * 0.0001), json!({"i": i})),
                )
            };
            store
                .import_features(layer, &[f], ImportMode::Append)
                .await
                .unwrap();
        }
        for layer in [LayerName::BikeRoutes, LayerName::PublicSpaces] {
            let streamed: Vec<_> = store
                .stream_features(layer)
                .map(|f| f.unwrap())
                .collect()
                .await;
            assert_eq!(streamed.len(), 150);
            assert!(streamed.windows(2).all(|w| w[0].id < w[1].id));
            assert!(streamed.iter().all(|f| f.layer == layer));
            assert_eq!(streamed, store.features(layer).await.unwrap());
        }
        assert_eq!(store.stream_features(LayerName::Districts).count().await, 0);
    }

    pub async fn issue_entries_describe_every_issue(b: &Backend) {
        let store = &*b.store;
        store
            .insert_issues(&(0..500).map(record).collect::<Vec<_>>())
            .await
            .unwrap();
        store.create_issue(&record(500), None).await.unwrap();
        let mut entries = store.issue_entries().await.unwrap();
        entries.sort_by_key(|e| e.id);
        let expected: Vec<IssueEntry> = all_issues(store).await.iter().map(Into::into).collect();
        assert_eq!(entries, expected);
    }

    pub async fn times_round_trip_at_millisecond_precision(b: &Backend) {
        let store = &*b.store;
        let times = [
            at(0),
            at(-1),                 // 1969-12-31T23:59:59.999Z
            at(951_782_400_999),    // 2000-02-29T00:00:00.999Z
            at(1_767_225_599_999),  // 2025-12-31T23:59:59.999Z
            at(4_102_444_800_001),  // 2100-01-01T00:00:00.001Z
            at(-2_208_988_800_000), // 1900-01-01
        ];
        for (i, t) in times.into_iter().enumerate() {
            let r = retimed(&record(i), t, t + Duration::milliseconds(1));
            let created = store.create_issue(&r, None).await.unwrap().issue;
            let read = store.issue(created.id).await.unwrap().unwrap();
            assert_eq!(read.created_at, t, "{}", format_time(t));
            assert_eq!(read.updated_at, r.updated_at());
            assert_eq!(format_time(read.created_at), format_time(t));
        }
        // Finer than a millisecond is cut to the millisecond, on every backend.
        let fine = DateTime::from_timestamp(1_767_225_600, 123_456_789).unwrap();
        let r = retimed(&record(9), fine, fine);
        let ids = store.insert_issues(&[r]).await.unwrap();
        let read = store.issue(ids[0]).await.unwrap().unwrap();
        assert_eq!(read.created_at, at(1_767_225_600_123));
    }

    pub async fn text_the_database_cannot_hold_is_a_validation_error(b: &Backend) {
        let store = &*b.store;
        let one = record(1);
        let report = NewIssue::new(
            one.report().category().code,
            "before\0after",
            one.report().location(),
            None,
            None,
        )
        .unwrap();
        let r = IssueRecord::new(
            report,
            one.status(),
            one.district_id(),
            one.created_at(),
            one.updated_at(),
        )
        .unwrap();
        // Either stored exactly, or refused as bad input: never a database error.
        match store.create_issue(&r, None).await {
            Ok(created) => assert_eq!(created.issue.description, "before\0after"),
            Err(Error::Invalid(v)) => assert_eq!(v.code, "invalid_text"),
            Err(e) => panic!("expected Ok or a validation error, got {e:?}"),
        }
        let mut properties = Map::new();
        properties.insert("name".into(), json!("a\0b"));
        let f = NewFeature::new(
            LayerName::PublicSpaces,
            Point::new(76.9, 43.2).into(),
            properties,
        )
        .unwrap();
        match store
            .import_features(LayerName::PublicSpaces, &[f], ImportMode::Append)
            .await
        {
            Ok(stored) => assert_eq!(stored[0].name(), Some("a\0b")),
            Err(Error::Invalid(v)) => assert_eq!(v.code, "invalid_text"),
            Err(e) => panic!("expected Ok or a validation error, got {e:?}"),
        }
    }

    pub async fn connect_picks_the_backend_from_the_url(b: &Backend) {
        let id = b
            .store
            .create_issue(&record(1), None)
            .await
            .unwrap()
            .issue
            .id;
        // Opening again runs the migrations again, which must be a no-op.
        let connected = connect(&b.url).await.unwrap();
        connected.ping().await.unwrap();
        assert_eq!(connected.issue(id).await.unwrap().unwrap().id, id);
        if let Some(rest) = b.url.strip_prefix("postgres://") {
            let connected = connect(&format!("postgresql://{rest}")).await.unwrap();
            assert!(connected.issue(id).await.unwrap().is_some());
        }
        let e = connect("mysql://localhost/qala").await.unwrap_err();
        assert!(matches!(e, Error::UnsupportedDatabase(_)), "{e:?}");
    }

    pub async fn every_write_appends_to_the_change_log(b: &Backend) {
        let Some(pg) = &b.postgres else {
            eprintln!("skipping on {}: one process, no change log", b.name);
            return;
        };
        let mut listener = sqlx::postgres::PgListener::connect(&b.url).await.unwrap();
        listener.listen("qala_changes").await.unwrap();

        let issue = pg.create_issue(&record(1), None).await.unwrap().issue;
        let changes = pg.changes_since(0).await.unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::IssueCreated);
        assert_eq!(changes[0].entity_id, Some(issue.id));
        assert_eq!(changes[0].layer, LayerName::Issues);
        let notification =
            tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
                .await
                .expect("a notification at commit")
                .unwrap();
        assert_eq!(notification.payload(), changes[0].seq.to_string());
        let last = changes[0].seq;

        // A replayed request writes nothing; a failed bulk insert neither.
        pg.create_issue(&record(2), Some("k")).await.unwrap();
        pg.create_issue(&record(2), Some("k")).await.unwrap();
        let bad = updated_before_created(&record(3));
        pg.insert_issues(&[record(4), bad]).await.unwrap_err();
        let ids = pg.insert_issues(&[record(5), record(6)]).await.unwrap();
        let stored = pg
            .import_features(
                LayerName::Districts,
                &[feature(square(76.9, 43.2, 0.1), json!({}))],
                ImportMode::Replace,
            )
            .await
            .unwrap();

        let changes = pg.changes_since(last).await.unwrap();
        let seen: Vec<(ChangeKind, Option<i64>, LayerName)> = changes
            .iter()
            .map(|c| (c.kind, c.entity_id, c.layer))
            .collect();
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(seen[0].0, ChangeKind::IssueCreated);
        assert_eq!(
            &seen[1..],
            &[
                (ChangeKind::IssueCreated, Some(ids[0]), LayerName::Issues),
                (ChangeKind::IssueCreated, Some(ids[1]), LayerName::Issues),
                (ChangeKind::LayerReplaced, None, LayerName::Districts),
                (
                    ChangeKind::FeatureCreated,
                    Some(stored[0].id),
                    LayerName::Districts
                ),
            ]
        );
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(pg.changes_since(changes[4].seq).await.unwrap().is_empty());
    }
}

/// Only PostgreSQL has a server that may lack the database named in the URL.
#[tokio::test]
async fn a_postgres_database_that_does_not_exist_yet_is_created() {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        eprintln!("skipping PostgreSQL: {POSTGRES_URL_VAR} not set");
        return;
    };
    let name = format!("qala_test_{:016x}", rand::random::<u64>());
    let _cleanup = Cleanup::Database {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let store = PostgresStore::open(url.as_str()).await.unwrap();
    store.ping().await.unwrap();
}

/// An in-memory SQLite store (`sqlite::memory:`) gives its entries too: the
/// start-up snapshot reads the same shared in-memory database the pool
/// writes to, not an empty one of its own.
#[tokio::test]
async fn an_in_memory_sqlite_store_reads_back_its_entries() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let ids = store
        .insert_issues(&(0..50).map(record).collect::<Vec<_>>())
        .await
        .unwrap();
    let entries = store.issue_entries().await.unwrap();
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
}

/// A SQLite database made before the `places` layer (migrations up to 0010)
/// keeps its features, their ids and its id counter when the store opens it
/// and rebuilds `features` (0011), and then takes `places`.
#[tokio::test]
async fn an_older_sqlite_database_keeps_its_features_through_the_places_migration() {
    use sqlx::migrate::Migrator;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("qala.db").display());
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut before = Migrator::new(migrations).await.unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version <= 10)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    assert_eq!(before.migrations.len(), 10);
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        before.run_direct(&mut conn).await.unwrap();
        // The pre-0011 CHECK: no `places` yet.
        let geometry = r#"{"type":"LineString","coordinates":[[76.9,43.2],[76.95,43.25]]}"#;
        for (layer, name) in [
            ("districts", "Medeu"),
            ("bike_routes", "Abay Avenue"),
            ("bike_routes", "gone"),
        ] {
            sqlx::query(
                "INSERT INTO features (layer, geometry, properties, min_lon, min_lat, max_lon, max_lat)
                 VALUES (?, ?, ?, 76.9, 43.2, 76.95, 43.25)",
            )
            .bind(layer)
            .bind(geometry)
            .bind(json!({"name": name}).to_string())
            .execute(&mut conn)
            .await
            .unwrap();
        }
        // A feature deleted before the upgrade: its id 3 is never handed out again.
        sqlx::query("DELETE FROM features WHERE id = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        let refused = sqlx::query(
            "INSERT INTO features (layer, geometry, min_lon, min_lat, max_lon, max_lat)
             VALUES ('places', '{}', 0, 0, 0, 0)",
        )
        .execute(&mut conn)
        .await;
        assert!(refused.is_err(), "the old schema already took places");
        conn.close().await.unwrap();
    }

    let store = SqliteStore::open(&url).await.unwrap();
    let names = |features: &[Feature]| -> Vec<(i64, String)> {
        features
            .iter()
            .map(|f| (f.id, f.name().unwrap().to_owned()))
            .collect()
    };
    assert_eq!(
        names(&store.features(LayerName::Districts).await.unwrap()),
        [(1, "Medeu".to_owned())]
    );
    assert_eq!(
        names(&store.features(LayerName::BikeRoutes).await.unwrap()),
        [(2, "Abay Avenue".to_owned())]
    );
    let street = feature(
        LineString::from(vec![(76.90, 43.245), (76.95, 43.246)]),
        json!({"name": "улица Жамбыла", "name:en": "Zhambyl Street"}),
    );
    let stored = store
        .import_features(LayerName::Places, &[street], ImportMode::Append)
        .await
        .unwrap();
    assert_eq!(stored[0].id, 4, "an id was handed out twice");
    assert_eq!(
        names(&store.features(LayerName::Places).await.unwrap()),
        [(4, "улица Жамбыла".to_owned())]
    );
}
