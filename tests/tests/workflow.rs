//! The status workflow end to end, on every backend: a change goes through
//! `AppState::change_status` (the HTTP route waits for sign-in), then the
//! public history, the issue JSON, the tiles and the counts are read over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use qala_geodata::account::{Actor, NewUser, Role};
use qala_geodata::workflow::{Amendment, StatusChange};
use qala_geodata::{IssueStatus, Store};
use qala_server::error::ApiError;
use qala_server::state::WriteError;
use qala_tests::mvt::{decode, prop_num, prop_str, tile_of};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, within};
use serde_json::{Value, json};

/// A point in Almaty's Almaly district.
const AT: (f64, f64) = (76.9412, 43.2611);

/// The id of the one user [`demo_app`] creates: actors in these tests act
/// as that user (the audit log's foreign key wants a real one), with the
/// role and scope each test gives them.
const USER_ID: i64 = 1;

/// The demo city without synthetic issues, with one user to act as.
async fn demo_app(backend: &Backend) -> TestApp {
    let app = TestApp::demo(backend, 0).await;
    let user = app
        .store
        .create_user(
            &NewUser::new("staff@city.kz", Role::Admin, vec![], vec![], None, false).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(user.id, USER_ID);
    app
}

fn staff(departments: &[&str], districts: &[i64]) -> Actor {
    Actor {
        user_id: USER_ID,
        role: Role::Staff,
        departments: departments.iter().map(|d| (*d).to_owned()).collect(),
        districts: districts.to_vec(),
        public_name: None,
    }
}

fn change(status: IssueStatus, note: Option<&str>) -> StatusChange {
    StatusChange::new(status, note.map(str::to_owned), None, None).unwrap()
}

/// A status change resolved against the issue as stored now, for calling
/// the store directly (with a time of the test's choosing).
async fn as_read(store: &Arc<dyn Store>, id: i64, status: IssueStatus) -> Amendment {
    let issue = store.issue(id).await.unwrap().unwrap();
    Amendment::new(change(status, None), &issue, |_| Ok(None), |_, _| None).unwrap()
}

async fn report(app: &TestApp, lon: f64, lat: f64, category: &str, what: &str) -> i64 {
    let (status, created) = app.report(&report_body(lon, lat, category, what)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

async fn issue_json(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The status the zoom `z` tile of single points gives issue `id` at `AT`.
async fn tile_status(app: &TestApp, id: i64, z: u8) -> Option<String> {
    let (x, y) = tile_of(AT.0, AT.1, z);
    let bytes = app
        .client
        .get(app.url(&format!("/tiles/issues/{z}/{x}/{y}.mvt")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    decode(&bytes)
        .get("issues")?
        .iter()
        .find(|f| f.id == Some(id as u64))
        .and_then(|f| prop_str(f, "status"))
}

async fn status_counts(app: &TestApp) -> Value {
    let (status, stats) = app.get("/api/v1/stats/issues?group_by=status").await;
    assert_eq!(status, 200);
    let mut counts = serde_json::Map::new();
    for g in stats["groups"].as_array().unwrap() {
        counts.insert(g["status"].as_str().unwrap().to_owned(), g["count"].clone());
    }
    Value::Object(counts)
}

fn api_error(e: WriteError) -> (u16, &'static str) {
    let e = ApiError::from(e);
    (e.status.as_u16(), e.code)
}

async fn a_full_life_cycle_is_recorded_in_public(backend: Backend) {
    let app = demo_app(&backend).await;
    let (status, departments) = app.get("/api/v1/departments").await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = departments["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"roads") && codes.contains(&"akimat_almaly"),
        "{codes:?}"
    );
    assert_eq!(
        departments["departments"][0]["names"]["en"]
            .as_str()
            .map(|n| !n.is_empty()),
        Some(true)
    );

    let id = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let litter = report(&app, AT.0, AT.1, "litter", "Overflowing bins").await;
    assert_eq!(
        issue_json(&app, id).await["properties"]["assigned_department"],
        "roads"
    );
    assert_eq!(
        issue_json(&app, litter).await["properties"]["assigned_department"],
        "akimat_almaly"
    );
    assert_eq!(tile_status(&app, id, 14).await.as_deref(), Some("open"));

    let mut roads = staff(&["roads"], &[]);
    roads.public_name = Some("Aigerim S.".into());
    let steps = [
        (IssueStatus::Acknowledged, Some("On our list")),
        (IssueStatus::InProgress, None),
        (IssueStatus::Resolved, Some("Patched")),
        (IssueStatus::Open, Some("It opened up again")),
        // A reopened issue is open: the table takes it through the line again.
        (IssueStatus::Acknowledged, None),
        (IssueStatus::InProgress, None),
        (IssueStatus::Resolved, Some("Relaid the surface")),
        (IssueStatus::Closed, None),
    ];
    for (status, note) in steps {
        let (issue, event) = app
            .state
            .change_status(id, change(status, note), roads.clone())
            .await
            .unwrap();
        assert_eq!((issue.status, event.to_status), (status, status));
        // The litter report stays open.
        let expected = if status == IssueStatus::Open { 2 } else { 1 };
        assert_eq!(
            status_counts(&app).await[status.as_str()],
            expected,
            "{status:?}"
        );
        assert_eq!(
            tile_status(&app, id, 14).await.as_deref(),
            Some(status.as_str())
        );
    }

    let events = history(&app, id).await;
    let got: Vec<(String, String, Value)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "status_changed");
            assert_eq!(
                e["by"],
                json!({"role": "staff", "department": "roads", "name": "Aigerim S."})
            );
            (
                e["from_status"].as_str().unwrap().to_owned(),
                e["to_status"].as_str().unwrap().to_owned(),
                e["note"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, Value)> = [
        ("open", "acknowledged", json!("On our list")),
        ("acknowledged", "in_progress", Value::Null),
        ("in_progress", "resolved", json!("Patched")),
        ("resolved", "open", json!("It opened up again")),
        ("open", "acknowledged", Value::Null),
        ("acknowledged", "in_progress", Value::Null),
        ("in_progress", "resolved", json!("Relaid the surface")),
        ("resolved", "closed", Value::Null),
    ]
    .into_iter()
    .map(|(a, b, n)| (a.to_owned(), b.to_owned(), n))
    .collect();
    assert_eq!(got, expected);
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let p = &issue_json(&app, id).await["properties"];
    assert_eq!(p["status"], "closed");
    assert_eq!(p["acknowledged_at"].as_str(), Some(times[0]));
    // The first acknowledgement is kept; the last resolution counts.
    assert_eq!(p["resolved_at"].as_str(), Some(times[6]));
    assert_eq!(p["updated_at"].as_str(), Some(times[7]));
    assert_eq!(status_counts(&app).await, json!({"closed": 1, "open": 1}));
    // The cluster pyramid followed too: at z11 both issues are one cluster.
    let (x, y) = tile_of(AT.0, AT.1, 11);
    let bytes = app
        .client
        .get(app.url(&format!("/tiles/issues/11/{x}/{y}.mvt")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let layer = decode(&bytes);
    let cluster = &layer["issues"][0];
    assert_eq!(layer["issues"].len(), 1);
    assert_eq!(
        (
            prop_num(cluster, "point_count"),
            prop_num(cluster, "status_closed"),
            prop_num(cluster, "status_open"),
            prop_num(cluster, "status_resolved")
        ),
        (Some(2.0), Some(1.0), Some(1.0), None)
    );
    let (status, body) = app.get("/api/v1/issues/999999/events").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

/// The issue row (as the API shows it) and its stored events.
async fn snapshot(app: &TestApp, id: i64) -> (Value, usize) {
    (
        issue_json(app, id).await,
        app.store.issue_events(id).await.unwrap().len(),
    )
}

async fn every_invalid_transition_is_refused_with_nothing_written(backend: Backend) {
    let app = demo_app(&backend).await;
    let id = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let other = report(&app, AT.0 + 0.001, AT.1, "pothole", "Another hole").await;
    let admin = Actor {
        role: Role::Admin,
        ..staff(&[], &[])
    };
    let before = snapshot(&app, id).await;
    let refused = [
        (
            change(IssueStatus::Resolved, None),
            (409, "invalid_transition"),
        ),
        (
            change(IssueStatus::Closed, None),
            (409, "invalid_transition"),
        ),
        (change(IssueStatus::Open, None), (409, "invalid_transition")),
        (change(IssueStatus::Rejected, None), (422, "note_required")),
        (
            StatusChange::new(IssueStatus::Duplicate, None, None, Some(id)).unwrap(),
            (422, "invalid_duplicate"),
        ),
        (
            StatusChange::new(IssueStatus::Duplicate, None, None, Some(999_999)).unwrap(),
            (422, "invalid_duplicate"),
        ),
    ];
    for (c, expected) in refused {
        let e = app
            .state
            .change_status(id, c.clone(), admin.clone())
            .await
            .unwrap_err();
        assert_eq!(api_error(e), expected, "{c:?}");
        assert_eq!(snapshot(&app, id).await, before, "{c:?} wrote something");
    }
    // A duplicate of a duplicate is refused.
    app.state
        .change_status(
            other,
            StatusChange::new(IssueStatus::Duplicate, None, None, Some(id)).unwrap(),
            admin.clone(),
        )
        .await
        .unwrap();
    let e = app
        .state
        .change_status(
            id,
            StatusChange::new(IssueStatus::Duplicate, None, None, Some(other)).unwrap(),
            admin.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (422, "invalid_duplicate"));
    // Terminal statuses stay terminal.
    let e = app
        .state
        .change_status(other, change(IssueStatus::Open, None), admin.clone())
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (409, "invalid_transition"));

    // Reopening: within 30 days of resolving, not after (the store takes the time).
    let t0 = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let store: &Arc<dyn Store> = &app.store;
    for s in [
        IssueStatus::Acknowledged,
        IssueStatus::InProgress,
        IssueStatus::Resolved,
    ] {
        store
            .change_status(id, &as_read(store, id, s).await, &admin, t0)
            .await
            .unwrap();
    }
    // Written past the server (straight to the store): on PostgreSQL the
    // change feed brings them to the server's rows a moment later, and the
    // snapshot must not race it. (SQLite has no feed: the server keeps the
    // rows it had, before and after alike.)
    if app.store.change_feed().is_some() {
        let resolved = within(Duration::from_secs(5), async || {
            issue_json(&app, id).await["properties"]["status"] == "resolved"
        })
        .await;
        assert!(
            resolved.is_some(),
            "the server never showed the resolved issue"
        );
    }
    let before = snapshot(&app, id).await;
    let late = t0 + chrono::Duration::days(30) + chrono::Duration::milliseconds(1);
    let reopen = as_read(store, id, IssueStatus::Open).await;
    let e = store
        .change_status(id, &reopen, &admin, late)
        .await
        .unwrap_err();
    assert_eq!(api_error(WriteError::Data(e)), (409, "invalid_transition"));
    assert_eq!(snapshot(&app, id).await, before);
    let in_time = t0 + chrono::Duration::days(30);
    store
        .change_status(id, &reopen, &admin, in_time)
        .await
        .unwrap();

    let e = app
        .state
        .change_status(999_999, change(IssueStatus::Closed, None), admin)
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (404, "not_found"));
}

async fn internal_notes_never_reach_public_output(backend: Backend) {
    const MARKER: &str = "INTERNAL-MARKER-5f1c9e";
    let app = demo_app(&backend).await;
    let id = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let c = StatusChange::new(
        IssueStatus::Acknowledged,
        Some("Seen".into()),
        Some(format!("{MARKER} call the contractor")),
        None,
    )
    .unwrap();
    app.state
        .change_status(id, c, staff(&["roads"], &[]))
        .await
        .unwrap();
    // Stored, for staff...
    let stored = app.store.issue_events(id).await.unwrap();
    assert!(stored[0].internal_note.as_deref().unwrap().contains(MARKER));
    // ...and in no public response.
    for path in [
        format!("/api/v1/issues/{id}"),
        format!("/api/v1/issues/{id}/events"),
        "/api/v1/issues".to_owned(),
        format!("/api/v1/issues/nearby?lon={}&lat={}&radius=100", AT.0, AT.1),
        "/api/v1/departments".to_owned(),
        "/api/v1/stats/issues?group_by=status".to_owned(),
        "/api/v1/layers/issues/export.geojson".to_owned(),
    ] {
        let text = app
            .client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(MARKER), "{path} leaks the internal note");
        assert!(!text.contains("\"user_id\""), "{path} names a user");
    }
}

async fn set_votes(app: &TestApp, backend: &Backend, id: i64, votes: i64) {
    let sql = format!("UPDATE issues SET votes = {votes} WHERE id = {id}");
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
        Backend::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&app.database.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
    }
}

async fn a_duplicate_links_both_and_carries_its_votes(backend: Backend) {
    let app = demo_app(&backend).await;
    let original = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let copy = report(&app, AT.0, AT.1, "pothole", "Same hole").await;
    set_votes(&app, &backend, original, 2).await;
    set_votes(&app, &backend, copy, 3).await;
    let c = StatusChange::new(
        IssueStatus::Duplicate,
        Some("Reported already".into()),
        None,
        Some(original),
    )
    .unwrap();
    let (issue, _) = app
        .state
        .change_status(copy, c, staff(&["roads"], &[]))
        .await
        .unwrap();
    assert_eq!(
        (issue.status, issue.duplicate_of),
        (IssueStatus::Duplicate, Some(original))
    );

    let copy_json = issue_json(&app, copy).await;
    assert_eq!(copy_json["properties"]["duplicate_of"], original);
    assert_eq!(copy_json["properties"]["status"], "duplicate");
    assert_eq!(issue_json(&app, original).await["properties"]["votes"], 5);
    let copy_events = history(&app, copy).await;
    assert_eq!(copy_events.len(), 1);
    assert_eq!(
        (
            copy_events[0]["to_status"].as_str(),
            copy_events[0]["duplicate_of"].as_i64()
        ),
        (Some("duplicate"), Some(original))
    );
    let original_events = history(&app, original).await;
    assert_eq!(original_events.len(), 1);
    assert_eq!(original_events[0]["kind"], "duplicate_merged");
    assert_eq!(original_events[0]["duplicate"], copy);
    assert_eq!(
        issue_json(&app, original).await["properties"]["status"],
        "open"
    );
}

async fn staff_act_only_within_their_scope(backend: Backend) {
    let app = demo_app(&backend).await;
    let id = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let district = issue_json(&app, id).await["properties"]["district_id"]
        .as_i64()
        .unwrap();
    let before = snapshot(&app, id).await;
    let refused = [
        staff(&["utilities"], &[]),
        staff(&["utilities"], &[district + 1]),
        Actor {
            role: Role::Resident,
            ..staff(&["roads"], &[])
        },
        Actor {
            role: Role::Planner,
            ..staff(&[], &[])
        },
        Actor {
            role: Role::Moderator,
            ..staff(&["roads"], &[])
        },
    ];
    for actor in refused {
        let e = app
            .state
            .change_status(id, change(IssueStatus::Acknowledged, None), actor.clone())
            .await
            .unwrap_err();
        assert_eq!(api_error(e), (403, "forbidden"), "{actor:?}");
        assert_eq!(snapshot(&app, id).await, before);
    }
    // The district's staff may, whatever their department.
    let (_, event) = app
        .state
        .change_status(
            id,
            change(IssueStatus::Acknowledged, None),
            staff(&["utilities"], &[district]),
        )
        .await
        .unwrap();
    assert_eq!(event.actor.department.as_deref(), Some("utilities"));
}

async fn the_staff_queue_filters_by_department_and_sorts(backend: Backend) {
    let app = demo_app(&backend).await;
    let first = report(&app, AT.0, AT.1, "pothole", "First hole").await;
    let bins = report(&app, AT.0, AT.1, "litter", "Overflowing bins").await;
    let second = report(&app, AT.0, AT.1, "snow_ice", "Ice on the pavement").await;
    let ids = |page: &Value| -> Vec<i64> {
        page["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let (status, newest) = app
        .get("/api/v1/issues?assigned_to=roads&sort=newest")
        .await;
    assert_eq!(status, 200, "{newest}");
    assert_eq!(ids(&newest), vec![second, first]);
    let (_, oldest) = app
        .get("/api/v1/issues?assigned_to=roads&sort=oldest")
        .await;
    assert_eq!(ids(&oldest), vec![first, second]);
    let (_, akimat) = app.get("/api/v1/issues?assigned_to=akimat_almaly").await;
    assert_eq!(ids(&akimat), vec![bins]);
    // Newest first pages down.
    let (_, page) = app.get("/api/v1/issues?sort=newest&limit=2").await;
    assert_eq!(ids(&page), vec![second, bins]);
    let next = page["next"].as_str().unwrap();
    let next = &next[next.find("/api/").unwrap()..];
    let (_, page) = app.get(next).await;
    assert_eq!(ids(&page), vec![first]);
    for bad in ["sort=random", "assigned_to=Roads!"] {
        let (status, body) = app.get(&format!("/api/v1/issues?{bad}")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_parameter")),
            "{bad}"
        );
    }
}

async fn concurrent_changes_are_checked_against_the_committed_row(backend: Backend) {
    let app = demo_app(&backend).await;
    let id = report(&app, AT.0, AT.1, "pothole", "Deep hole").await;
    let roads = staff(&["roads"], &[]);
    // Two staff acknowledge at once: one wins, the other finds it acknowledged.
    let (a, b) = tokio::join!(
        app.state
            .change_status(id, change(IssueStatus::Acknowledged, None), roads.clone()),
        app.state
            .change_status(id, change(IssueStatus::Acknowledged, None), roads.clone()),
    );
    let mut outcomes: Vec<_> = [a, b]
        .into_iter()
        .map(|r| r.map(|_| ()).map_err(api_error))
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, vec![Ok(()), Err((409, "invalid_transition"))]);
    assert_eq!(history(&app, id).await.len(), 1);
}

async fn departments_are_replaced_whole_and_rules_name_them(backend: Backend) {
    use qala_geodata::workflow::{Department, DepartmentNames, RoutingRule};
    let app = TestApp::empty(&backend).await;
    assert_eq!(
        app.get("/api/v1/departments").await.1,
        json!({"departments": []})
    );
    let names = DepartmentNames {
        kk: "Жолдар".into(),
        ru: "Дороги".into(),
        en: "Roads".into(),
    };
    let roads = Department::new("roads", names).unwrap();
    let rules = [
        RoutingRule::new("pothole", None, "roads").unwrap(),
        RoutingRule::new("*", None, "roads").unwrap(),
    ];
    app.store
        .replace_departments(std::slice::from_ref(&roads), &rules)
        .await
        .unwrap();
    assert_eq!(app.store.departments().await.unwrap(), vec![roads.clone()]);
    assert_eq!(app.store.routing_rules().await.unwrap().len(), 2);
    // A rule naming no department: refused, and what was stored stays.
    let stray = [RoutingRule::new("litter", None, "parks").unwrap()];
    let e = app
        .store
        .replace_departments(std::slice::from_ref(&roads), &stray)
        .await
        .unwrap_err();
    assert_eq!(api_error(WriteError::Data(e)), (422, "unknown_department"));
    assert_eq!(app.store.routing_rules().await.unwrap().len(), 2);
    let (_, body) = app.get("/api/v1/departments").await;
    assert_eq!(
        body["departments"][0],
        json!({"code": "roads", "names": {"kk": "Жолдар", "ru": "Дороги", "en": "Roads"}})
    );
    // Routing reaches new reports once the server takes the new rules.
    app.state
        .routing_replaced(qala_geodata::workflow::Routing::new(&rules));
    let id = report(&app, AT.0, AT.1, "litter", "Bins").await;
    assert_eq!(
        issue_json(&app, id).await["properties"]["assigned_department"],
        "roads"
    );
}

test_on_every_backend!(
    concurrent_changes_are_checked_against_the_committed_row,
    departments_are_replaced_whole_and_rules_name_them,
    the_staff_queue_filters_by_department_and_sorts,
    a_full_life_cycle_is_recorded_in_public,
    every_invalid_transition_is_refused_with_nothing_written,
    internal_notes_never_reach_public_output,
    a_duplicate_links_both_and_carries_its_votes,
    staff_act_only_within_their_scope,
);

#[tokio::test]
async fn a_second_server_sees_the_status_change() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let a = demo_app(&backend).await;
    let id = report(&a, AT.0, AT.1, "pothole", "Deep hole").await;
    // Server B on the same database, following its change log.
    let base = a.follower().await;
    let client = reqwest::Client::new();
    let b_status = async || -> Option<String> {
        let (x, y) = tile_of(AT.0, AT.1, 14);
        let bytes = client
            .get(format!("{base}/tiles/issues/14/{x}/{y}.mvt"))
            .send()
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        decode(&bytes)
            .get("issues")?
            .iter()
            .find(|f| f.id == Some(id as u64))
            .and_then(|f| prop_str(f, "status"))
    };
    assert!(
        within(Duration::from_secs(5), async || b_status().await.as_deref()
            == Some("open"))
        .await
        .is_some()
    );

    a.state
        .change_status(
            id,
            change(IssueStatus::Acknowledged, None),
            staff(&["roads"], &[]),
        )
        .await
        .unwrap();
    assert!(
        within(Duration::from_secs(5), async || b_status().await.as_deref()
            == Some("acknowledged"))
        .await
        .is_some(),
        "server B's tile never showed the status change"
    );
    let (_, stats) = qala_tests::get_json(
        &client,
        &format!("{base}/api/v1/stats/issues?group_by=status"),
    )
    .await;
    assert_eq!(
        stats["groups"],
        json!([{"status": "acknowledged", "count": 1}])
    );
}
