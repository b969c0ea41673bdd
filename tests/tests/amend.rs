//! Re-routes and corrections end to end, on every backend, through the HTTP
//! API with real API tokens: `POST /api/v1/issues/{id}/events` with a
//! department, a category or a location (and a note) moves the issue to
//! other hands or another place, publicly and in the audit log, and every
//! refusal writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_geodata::account::{Actor, AuditFilter, Role};
use qala_geodata::workflow::{Amendment, ChangeParts, IssueChange};
use qala_tests::mvt::{decode, prop_num, tile_of};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, within};
use serde_json::{Value, json};

/// A point in Almaty's Almaly district (potholes go to `roads`, litter to
/// `akimat_almaly`).
const AT: (f64, f64) = (76.9412, 43.2611);
/// A point in another district, a few kilometres south-east.
const ELSEWHERE: (f64, f64) = (76.985, 43.228);
/// Far outside the city.
const OUTSIDE: (f64, f64) = (71.43, 51.13);

async fn post_event(app: &TestApp, id: i64, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/issues/{id}/events")))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The status and error code of a refused change.
async fn refused(app: &TestApp, id: i64, token: Option<&str>, body: &Value) -> (u16, String) {
    let (status, body) = post_event(app, id, token, body).await;
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

async fn get_as(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn report(app: &TestApp, at: (f64, f64), category: &str) -> i64 {
    let (status, created) = app
        .report(&report_body(at.0, at.1, category, "Reported"))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

async fn properties(app: &TestApp, id: i64) -> Value {
    let (status, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(status, 200, "{issue}");
    issue["properties"].clone()
}

/// What a refusal must leave as it was: the issue, its history, the audit log.
async fn snapshot(app: &TestApp, id: i64) -> (Value, usize, usize) {
    (
        app.get(&format!("/api/v1/issues/{id}")).await.1,
        app.store.issue_events(id).await.unwrap().len(),
        app.store
            .audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
    )
}

async fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let body = get_as(app, &format!("/api/v1/audit?action={action}"), admin).await;
    body["entries"].as_array().unwrap().clone()
}

async fn a_reroute_is_public_audited_and_moves_the_scope(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, AT, "pothole").await;
    assert_eq!(properties(&app, id).await["assigned_department"], "roads");
    let roads = app.user_with_token("roads@city.kz", Role::Staff, &["roads"]);
    let roads = roads.await.1;
    let parks = app.user_with_token("parks@city.kz", Role::Staff, &["green_spaces"]);
    let parks = parks.await.1;
    let transport = app.user_with_token("bus@city.kz", Role::Staff, &["transport"]);
    let transport = transport.await.1;
    let resident = app.user_with_token("me@mail.kz", Role::Resident, &[]);
    let resident = resident.await.1;
    let admin = app
        .user_with_token("admin@city.kz", Role::Admin, &[])
        .await
        .1;
    const MARKER: &str = "INTERNAL-REROUTE-7d3a";
    let reroute = json!({"department": "green_spaces", "note": "Tree roots lifted the asphalt",
                         "internal_note": MARKER});

    // Every refusal leaves the issue, its history and the audit log as they were.
    let before = snapshot(&app, id).await;
    let refusals = [
        (None, reroute.clone(), (401, "unauthorized")),
        (Some(&resident), reroute.clone(), (403, "forbidden")),
        // Staff of another department cannot take an issue of roads.
        (Some(&transport), reroute.clone(), (403, "forbidden")),
        (
            Some(&roads),
            json!({"department": "green_spaces"}),
            (422, "note_required"),
        ),
        (
            Some(&roads),
            json!({"department": "ministry_of_magic", "note": "x"}),
            (422, "unknown_department"),
        ),
        (
            Some(&roads),
            json!({"department": "roads", "note": "x"}),
            (422, "nothing_to_change"),
        ),
        (
            Some(&roads),
            json!({"note": "x"}),
            (422, "nothing_to_change"),
        ),
        (
            Some(&roads),
            json!({"department": "green_spaces", "note": "x", "district_id": 3}),
            (400, "unknown_field"),
        ),
    ];
    for (token, body, (status, code)) in refusals {
        let got = refused(&app, id, token.map(String::as_str), &body).await;
        assert_eq!((got.0, got.1.as_str()), (status, code), "{body}");
        assert_eq!(snapshot(&app, id).await, before, "{body} wrote something");
    }

    let (status, event) = post_event(&app, id, Some(&roads), &reroute).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["kind"], "rerouted");
    assert_eq!(
        event["department"],
        json!({"from": "roads", "to": "green_spaces"})
    );
    assert_eq!(
        (&event["from_status"], &event["to_status"]),
        (&json!("open"), &json!("open"))
    );
    assert_eq!(event["note"], "Tree roots lifted the asphalt");
    assert!(event.get("category").is_none() && event.get("moved").is_none());
    assert_eq!(
        event["by"],
        json!({"role": "staff", "department": "roads", "name": null})
    );
    let issue = properties(&app, id).await;
    assert_eq!(issue["assigned_department"], "green_spaces");
    // The queue (from the index) follows at once.
    let (_, queue) = app.get("/api/v1/issues?assigned_to=green_spaces").await;
    assert_eq!(queue["features"][0]["id"], id);
    let (_, queue) = app.get("/api/v1/issues?assigned_to=roads").await;
    assert_eq!(queue["features"], json!([]));

    // Roads can no longer act on it; green spaces can.
    let ack = json!({"status": "acknowledged"});
    assert_eq!(refused(&app, id, Some(&roads), &ack).await.0, 403);
    let (status, event) = post_event(&app, id, Some(&parks), &ack).await;
    assert_eq!(
        (status, &event["by"]["department"]),
        (201, &json!("green_spaces"))
    );

    // The public history shows the re-route, never the internal note or who.
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rerouted", "status_changed"]);
    let public = history.to_string();
    assert!(
        !public.contains(MARKER) && !public.contains("roads@city.kz"),
        "{public}"
    );
    assert!(!public.contains("user"), "{public}");

    // The audit log has before and after, for admins.
    let entries = audit(&app, &admin, "issue.rerouted").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["target"], format!("issue:{id}"));
    assert_eq!(
        entries[0]["before"],
        json!({"assigned_department": "roads"})
    );
    assert_eq!(
        entries[0]["after"],
        json!({"assigned_department": "green_spaces", "note": "Tree roots lifted the asphalt"})
    );
    assert!(!json!(entries).to_string().contains(MARKER));

    // Status and department in one body are one event, two audit entries.
    let (status, event) = post_event(
        &app,
        id,
        Some(&admin),
        &json!({"status": "in_progress", "department": "roads", "note": "Roads crew after all"}),
    )
    .await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["kind"], "status_changed");
    assert_eq!(
        event["department"],
        json!({"from": "green_spaces", "to": "roads"})
    );
    assert_eq!(app.store.issue_events(id).await.unwrap().len(), 3);
    assert_eq!(audit(&app, &admin, "issue.rerouted").await.len(), 2);
    assert_eq!(audit(&app, &admin, "issue.status_changed").await.len(), 2);
    let issue = properties(&app, id).await;
    assert_eq!(
        (&issue["status"], &issue["assigned_department"]),
        (&json!("in_progress"), &json!("roads"))
    );

    // A resident still cannot route a report by posting it.
    let mut smuggled = report_body(AT.0, AT.1, "pothole", "Route me");
    for key in ["department", "assigned_department", "district_id", "status"] {
        smuggled["properties"][key] = json!("green_spaces");
        let (status, body) = app.report(&smuggled).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("unknown_field")),
            "{key}"
        );
        smuggled["properties"].as_object_mut().unwrap().remove(key);
    }
}

/// What the public sees of issue `id` around `at`: in nearby, in the z14
/// tile there, and the issue count of the clustered z10 and z13 tiles there.
#[derive(Debug, PartialEq)]
struct Seen {
    in_nearby: bool,
    in_single_tile: bool,
    cluster_z10: f64,
    cluster_z13: f64,
}

async fn seen(base: &str, client: &reqwest::Client, id: i64, at: (f64, f64)) -> Seen {
    let (_, nearby) = qala_tests::get_json(
        client,
        &format!(
            "{base}/api/v1/issues/nearby?lon={}&lat={}&radius=100",
            at.0, at.1
        ),
    )
    .await;
    let tile = async |z: u8| {
        let (x, y) = tile_of(at.0, at.1, z);
        let bytes = client
            .get(format!("{base}/tiles/issues/{z}/{x}/{y}.mvt"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        decode(&bytes).remove("issues").unwrap_or_default()
    };
    let count = |features: Vec<_>| -> f64 {
        features
            .iter()
            .map(|f| prop_num(f, "point_count").unwrap_or(1.0))
            .sum()
    };
    Seen {
        in_nearby: nearby["features"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["id"] == id)),
        in_single_tile: tile(14).await.iter().any(|f| f.id == Some(id as u64)),
        cluster_z10: count(tile(10).await),
        cluster_z13: count(tile(13).await),
    }
}

/// Issue counts per district id, from `/api/v1/districts`.
async fn district_counts(app: &TestApp) -> Vec<(i64, i64)> {
    let (_, districts) = app.get("/api/v1/districts").await;
    let mut counts: Vec<(i64, i64)> = districts["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = d["properties"]["issue_count"].as_i64().unwrap_or(0);
            (d["id"].as_i64().unwrap(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort_unstable();
    counts
}

async fn district_code(app: &TestApp, district_id: i64) -> String {
    let (_, districts) = app.get("/api/v1/districts").await;
    districts["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == district_id)
        .map(|d| d["properties"]["code"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn a_correction_recomputes_routing_and_moves_the_issue_everywhere(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, AT, "pothole").await;
    // A neighbour that stays put: the counts must not lose or double it.
    report(&app, AT, "pothole").await;
    let roads = app.user_with_token("roads@city.kz", Role::Staff, &["roads"]);
    let roads = roads.await.1;
    let admin = app
        .user_with_token("admin@city.kz", Role::Admin, &[])
        .await
        .1;
    let almaly = properties(&app, id).await["district_id"].as_i64().unwrap();

    // A category correction re-routes by the rules: litter in Almaly goes
    // to its akimat.
    let body = json!({"category": "litter", "note": "Bins, not a hole"});
    let (status, event) = post_event(&app, id, Some(&roads), &body).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["kind"], "corrected");
    assert_eq!(
        event["category"],
        json!({"from": "pothole", "to": "litter"})
    );
    assert_eq!(
        event["department"],
        json!({"from": "roads", "to": "akimat_almaly"})
    );
    let issue = properties(&app, id).await;
    assert_eq!(
        (
            &issue["category"],
            &issue["assigned_department"],
            &issue["district_id"]
        ),
        (&json!("litter"), &json!("akimat_almaly"), &json!(almaly))
    );
    // Roads let it go: no more corrections from them.
    let moved =
        json!({"location": {"lon": ELSEWHERE.0, "lat": ELSEWHERE.1}, "note": "Pin was off"});
    assert_eq!(refused(&app, id, Some(&roads), &moved).await.0, 403);

    // Outside the city: refused on the location, nothing written.
    let before = snapshot(&app, id).await;
    let outside = json!({"location": {"lon": OUTSIDE.0, "lat": OUTSIDE.1}, "note": "x"});
    let (status, body) = post_event(&app, id, Some(&admin), &outside).await;
    assert_eq!(
        (status, &body["error"]["code"], &body["error"]["field"]),
        (422, &json!("outside_city"), &json!("location"))
    );
    assert_eq!(snapshot(&app, id).await, before);

    // A location correction moves the issue in every public output.
    let old_seen = seen(&app.base, &app.client, id, AT).await;
    let new_seen = seen(&app.base, &app.client, id, ELSEWHERE).await;
    assert!(old_seen.in_nearby && old_seen.in_single_tile && !new_seen.in_single_tile);
    assert_eq!(district_counts(&app).await, [(almaly, 2)]);
    let (status, event) = post_event(&app, id, Some(&admin), &moved).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(
        (&event["kind"], &event["moved"]),
        (&json!("corrected"), &json!(true))
    );
    let issue = properties(&app, id).await;
    let district = issue["district_id"].as_i64().unwrap();
    assert_ne!(district, almaly, "ELSEWHERE must be in another district");
    let code = district_code(&app, district).await;
    assert_eq!(issue["assigned_department"], format!("akimat_{code}"));
    assert_eq!(
        event["department"],
        json!({"from": "akimat_almaly", "to": format!("akimat_{code}")})
    );
    let (_, feature) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(
        feature["geometry"]["coordinates"],
        json!([ELSEWHERE.0, ELSEWHERE.1])
    );

    // Gone from where it was, there where it is, counted once.
    let moved_from = |z: u8| tile_of(AT.0, AT.1, z) != tile_of(ELSEWHERE.0, ELSEWHERE.1, z);
    let shift = |z: u8| if moved_from(z) { 1.0 } else { 0.0 };
    assert!(
        moved_from(14) && moved_from(13),
        "the test needs the points in other tiles"
    );
    assert_eq!(
        seen(&app.base, &app.client, id, AT).await,
        Seen {
            in_nearby: false,
            in_single_tile: false,
            cluster_z10: old_seen.cluster_z10 - shift(10),
            cluster_z13: old_seen.cluster_z13 - shift(13),
        }
    );
    assert_eq!(
        seen(&app.base, &app.client, id, ELSEWHERE).await,
        Seen {
            in_nearby: true,
            in_single_tile: true,
            cluster_z10: new_seen.cluster_z10 + shift(10),
            cluster_z13: new_seen.cluster_z13 + shift(13),
        }
    );
    let mut expected = vec![(almaly, 1), (district, 1)];
    expected.sort_unstable();
    assert_eq!(district_counts(&app).await, expected);
    let (_, listed) = app
        .get(&format!("/api/v1/districts/{district}/issues"))
        .await;
    assert_eq!(listed["features"][0]["id"], id);

    // The old position is in the audit log only.
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    assert!(!history.to_string().contains("76.9412"), "{history}");
    let entries = audit(&app, &admin, "issue.corrected").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1]["before"]["location"],
        json!({"lon": AT.0, "lat": AT.1})
    );
    assert_eq!(
        entries[1]["after"]["location"],
        json!({"lon": ELSEWHERE.0, "lat": ELSEWHERE.1})
    );
    assert_eq!(entries[1]["after"]["district_id"], district);
    assert_eq!(entries[0]["before"]["category"], "pothole");

    // A closed issue is not re-routed or corrected.
    for status in ["acknowledged", "in_progress", "resolved", "closed"] {
        let (got, body) = post_event(&app, id, Some(&admin), &json!({"status": status})).await;
        assert_eq!(got, 201, "{body}");
    }
    let before = snapshot(&app, id).await;
    for body in [
        json!({"department": "roads", "note": "x"}),
        json!({"category": "pothole", "note": "x"}),
        json!({"location": {"lon": AT.0, "lat": AT.1}, "note": "x"}),
    ] {
        let got = refused(&app, id, Some(&admin), &body).await;
        assert_eq!(
            (got.0, got.1.as_str()),
            (409, "invalid_transition"),
            "{body}"
        );
    }
    assert_eq!(snapshot(&app, id).await, before);
}

/// A change resolved against an issue that changed before it committed is
/// refused by the store, and writes nothing: the department, district and
/// scope it rests on are gone.
async fn a_change_resting_on_a_stale_read_is_a_conflict(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, AT, "pothole").await;
    let (admin, _) = app.user_with_token("admin@city.kz", Role::Admin, &[]).await;
    let actor = Actor {
        user_id: admin.id,
        role: Role::Admin,
        departments: vec![],
        districts: vec![],
        public_name: None,
    };
    let stale = app.store.issue(id).await.unwrap().unwrap();
    let reroute = |department: &str| {
        IssueChange::from_parts(ChangeParts {
            department: Some(department.into()),
            note: Some("Elsewhere".into()),
            ..ChangeParts::default()
        })
        .unwrap()
    };
    app.state
        .change_status(id, reroute("transport"), actor.clone())
        .await
        .unwrap();
    let before = snapshot(&app, id).await;
    // The refused write goes to the store directly: compare its row too,
    // not only the app's (cached) answer.
    let row_before = app.store.issue(id).await.unwrap();
    let late = Amendment::new(reroute("green_spaces"), &stale, |_| Ok(None), |_, _| None).unwrap();
    let e = app
        .store
        .change_status(id, &late, &actor, chrono::Utc::now())
        .await
        .unwrap_err();
    let e = qala_server::error::ApiError::from(e);
    assert_eq!((e.status.as_u16(), e.code), (409, "conflict"));
    assert_eq!(snapshot(&app, id).await, before);
    assert_eq!(app.store.issue(id).await.unwrap(), row_before);
}

test_on_every_backend!(
    a_reroute_is_public_audited_and_moves_the_scope,
    a_correction_recomputes_routing_and_moves_the_issue_everywhere,
    a_change_resting_on_a_stale_read_is_a_conflict,
);

#[tokio::test]
async fn a_second_server_sees_the_move() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let a = TestApp::demo(&backend, 0).await;
    let id = report(&a, AT, "pothole").await;
    let admin = a.user_with_token("admin@city.kz", Role::Admin, &[]).await.1;
    // Server B on the same database, following its change log.
    let base = a.follower().await;
    let client = reqwest::Client::new();
    let at = |place: (f64, f64)| {
        let (base, client) = (base.clone(), client.clone());
        async move { seen(&base, &client, id, place).await.in_single_tile }
    };
    let limit = Duration::from_secs(5);
    assert!(within(limit, async || at(AT).await).await.is_some());

    let moved = json!({"location": {"lon": ELSEWHERE.0, "lat": ELSEWHERE.1},
                       "category": "litter", "note": "Pin was off"});
    let (status, event) = post_event(&a, id, Some(&admin), &moved).await;
    assert_eq!(status, 201, "{event}");
    assert!(
        within(limit, async || at(ELSEWHERE).await && !at(AT).await)
            .await
            .is_some(),
        "server B never moved the issue"
    );
    let (_, issue) = qala_tests::get_json(&client, &format!("{base}/api/v1/issues/{id}")).await;
    assert_eq!(issue["properties"]["category"], "litter");
    let (_, stats) = qala_tests::get_json(
        &client,
        &format!("{base}/api/v1/stats/issues?group_by=category"),
    )
    .await;
    assert_eq!(stats["groups"], json!([{"category": "litter", "count": 1}]));
    let (_, queue) = qala_tests::get_json(
        &client,
        &format!(
            "{base}/api/v1/issues?assigned_to={}",
            event["department"]["to"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(queue["features"][0]["id"], id);
}
