//! `GET /api/v1/stats/response` on every backend: issues seeded through the
//! store with known report, acknowledge and resolve times, and the exact
//! medians, 90th percentiles and overdue counts read back over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{DateTime, Duration, Utc};
use qala_geodata::account::{Actor, NewUser, Role};
use qala_geodata::workflow::{Amendment, StatusChange};
use qala_geodata::{IssueRecord, IssueStatus, LonLat, NewIssue};
use qala_tests::{Backend, TestApp, test_on_every_backend};
use serde_json::Value;

const EMAIL: &str = "private.reporter@example.kz";

/// One issue to seed: category, district, department, age, and the hours
/// after its report at which it moved to each status.
struct Seed {
    category: &'static str,
    district: i64,
    department: Option<&'static str>,
    created: DateTime<Utc>,
    moves: &'static [(IssueStatus, i64)],
}

async fn seed(app: &TestApp, actor: &Actor, seeds: &[Seed]) {
    let records: Vec<IssueRecord> = seeds
        .iter()
        .map(|s| {
            let report = NewIssue::new(
                s.category,
                "Seeded for response times",
                LonLat::new(76.94, 43.26).unwrap(),
                None,
                Some(EMAIL.to_owned()),
            )
            .unwrap();
            IssueRecord::new(
                report,
                IssueStatus::Open,
                Some(s.district),
                s.created,
                s.created,
            )
            .unwrap()
            .with_department(s.department)
        })
        .collect();
    let ids = app.store.insert_issues(&records).await.unwrap();
    for (id, s) in ids.into_iter().zip(seeds) {
        for (status, hours) in s.moves {
            let change = StatusChange::new(*status, None, None, None).unwrap();
            // Straight to the store, to backdate the change; the amendment
            // rests on the row as it is.
            let issue = app.store.issue(id).await.unwrap().unwrap();
            let change = Amendment::new(change, &issue, |_| Ok(None), |_, _| None).unwrap();
            app.store
                .change_status(id, &change, actor, s.created + Duration::hours(*hours))
                .await
                .unwrap();
        }
    }
}

/// The demo city (districts, departments) with no issues, an admin to act
/// as, and two district ids.
async fn city(backend: &Backend) -> (TestApp, Actor, i64, i64) {
    let app = TestApp::demo(backend, 0).await;
    let user = app
        .store
        .create_user(
            &NewUser::new("admin@city.kz", Role::Admin, vec![], vec![], None, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    let actor = Actor {
        user_id: user.id,
        role: Role::Admin,
        departments: vec![],
        districts: vec![],
        public_name: None,
    };
    let (status, districts) = app.get("/api/v1/districts").await;
    assert_eq!(status, 200, "{districts}");
    let id = |i: usize| districts["features"][i]["id"].as_i64().unwrap();
    (app, actor, id(0), id(1))
}

fn group<'a>(body: &'a Value, key: &Value) -> &'a Value {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| &g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key} in {body}"))
}

/// `[count, median_seconds, p90_seconds]` of a figure.
fn figure(group: &Value, which: &str) -> [Value; 3] {
    let f = &group[which];
    [
        f["count"].clone(),
        f["median_seconds"].clone(),
        f["p90_seconds"].clone(),
    ]
}

fn h(hours: i64) -> Value {
    Value::from(hours * 3600)
}

async fn response_times_are_exact_per_category_district_and_department(backend: Backend) {
    use IssueStatus::{Acknowledged, Closed, InProgress, Resolved};
    let (app, actor, d1, d2) = city(&backend).await;
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let days = |n: i64| now - Duration::days(n);
    let seeds = [
        // street_light (target 3 days)
        Seed {
            category: "street_light",
            district: d1,
            department: Some("roads"),
            created: days(30),
            moves: &[(Acknowledged, 1), (InProgress, 2), (Resolved, 10)],
        },
        Seed {
            category: "street_light",
            district: d1,
            department: Some("roads"),
            created: days(30),
            moves: &[
                (Acknowledged, 3),
                (InProgress, 4),
                (Resolved, 30),
                (Closed, 40),
            ],
        },
        Seed {
            category: "street_light",
            district: d2,
            department: Some("green_spaces"),
            created: days(30),
            moves: &[(Acknowledged, 5)],
        },
        Seed {
            category: "street_light",
            district: d2,
            department: None,
            created: days(1),
            moves: &[],
        },
        // pothole (target 14 days)
        Seed {
            category: "pothole",
            district: d1,
            department: Some("roads"),
            created: days(10),
            moves: &[],
        },
        Seed {
            category: "pothole",
            district: d2,
            department: Some("roads"),
            created: days(20),
            moves: &[],
        },
    ];
    seed(&app, &actor, &seeds).await;

    // The default grouping is by category.
    let (status, body) = app.get("/api/v1/stats/response").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group_by"], "category");
    assert!(body["generated_at"].is_string());
    assert_eq!(body["groups"].as_array().unwrap().len(), 2);
    let lights = group(&body, &"street_light".into());
    assert_eq!(lights["target_days"], 3);
    assert_eq!(lights["names"]["en"], "Street light not working");
    // Acknowledged after 1, 3 and 5 hours; resolved after 10 and 30.
    assert_eq!(figure(lights, "acknowledge"), [3.into(), h(3), h(5)]);
    assert_eq!(lights["acknowledge"]["median_hours"], 3.0);
    assert_eq!(lights["acknowledge"]["p90_hours"], 5.0);
    // Nearest rank: the median of two is the lower one.
    assert_eq!(figure(lights, "resolve"), [2.into(), h(10), h(30)]);
    assert_eq!(
        (&lights["open"], &lights["overdue"]),
        (&2.into(), &1.into())
    );
    let potholes = group(&body, &"pothole".into());
    assert_eq!(
        figure(potholes, "acknowledge"),
        [0.into(), Value::Null, Value::Null]
    );
    assert_eq!(potholes["resolve"]["median_hours"], Value::Null);
    assert_eq!(
        (&potholes["open"], &potholes["overdue"]),
        (&2.into(), &1.into())
    );

    let (status, body) = app.get("/api/v1/stats/response?group_by=district").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group_by"], "district");
    let first = group(&body, &d1.into());
    let name = app.state.index.read().district_name(d1).map(str::to_owned);
    assert_eq!(first["name"], Value::from(name));
    assert_eq!(figure(first, "acknowledge"), [2.into(), h(1), h(3)]);
    assert_eq!(figure(first, "resolve"), [2.into(), h(10), h(30)]);
    assert_eq!((&first["open"], &first["overdue"]), (&1.into(), &0.into()));
    let second = group(&body, &d2.into());
    assert_eq!(figure(second, "acknowledge"), [1.into(), h(5), h(5)]);
    assert_eq!(figure(second, "resolve")[0], 0);
    assert_eq!(
        (&second["open"], &second["overdue"]),
        (&3.into(), &2.into())
    );

    let (status, body) = app.get("/api/v1/stats/response?group_by=department").await;
    assert_eq!(status, 200, "{body}");
    let keys: Vec<&Value> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["key"])
        .collect();
    assert_eq!(
        keys,
        [&Value::Null, &"green_spaces".into(), &"roads".into()]
    );
    let roads = group(&body, &"roads".into());
    assert!(roads["names"]["en"].is_string(), "{roads}");
    assert_eq!(figure(roads, "acknowledge"), [2.into(), h(1), h(3)]);
    assert_eq!((&roads["open"], &roads["overdue"]), (&2.into(), &1.into()));
    let parks = group(&body, &"green_spaces".into());
    assert_eq!((&parks["open"], &parks["overdue"]), (&1.into(), &1.into()));
    let unrouted = group(&body, &Value::Null);
    assert_eq!(unrouted["names"], Value::Null);
    assert_eq!(
        (&unrouted["open"], &unrouted["overdue"]),
        (&1.into(), &0.into())
    );
    // Public figures: nothing of the reporter.
    assert!(!body.to_string().contains(EMAIL));
}

async fn no_issues_no_groups_and_bad_parameters_are_400(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let (status, body) = app.get("/api/v1/stats/response?group_by=district").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["groups"], Value::Array(vec![]));
    // As for every parameter, empty is absent: the default grouping.
    let (status, body) = app.get("/api/v1/stats/response?group_by=").await;
    assert_eq!((status, &body["group_by"]), (200, &"category".into()));
    for bad in [
        "group_by=status",
        "group_by=category,district",
        "group=category",
        "group_by=category&since=2026-01-01T00:00:00Z",
    ] {
        let (status, body) = app.get(&format!("/api/v1/stats/response?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{bad}: {body}");
    }
    let (_, body) = app
        .get("/api/v1/stats/response?group_by=department,category")
        .await;
    assert_eq!(body["error"]["field"], "group_by");
}

async fn the_catalogue_shows_each_target(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let (status, body) = app.get("/api/v1/categories").await;
    assert_eq!(status, 200);
    let target = |code: &str| {
        body["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()["target_days"]
            .clone()
    };
    assert_eq!(target("snow_ice"), 2);
    assert_eq!(target("pothole"), 14);
}

test_on_every_backend!(
    response_times_are_exact_per_category_district_and_department,
    no_issues_no_groups_and_bad_parameters_are_400,
    the_catalogue_shows_each_target,
);
