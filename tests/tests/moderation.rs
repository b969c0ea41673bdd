//! Moderation end to end, on every backend, through the HTTP API with real
//! API tokens: a hidden issue is gone from every public output and back
//! when unhidden; a redaction changes the public text and leaves the
//! original only in the audit log; only moderators in scope and admins act.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_geodata::account::Role;
use qala_tests::mvt::{decode, prop_num, tile_of};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, within};
use serde_json::{Value, json};

/// A point in Almaty's Almaly district (potholes there go to `roads`).
const AT: (f64, f64) = (76.9412, 43.2611);

/// POST a moderation as `token` (anonymous for `None`): status and body.
async fn moderate(app: &TestApp, id: i64, token: Option<&str>, body: &Value) -> (u16, Value) {
    moderate_raw(app, id, token, body.to_string()).await
}

async fn moderate_raw(app: &TestApp, id: i64, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/issues/{id}/moderation")))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_as(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn report(app: &TestApp, category: &str, what: &str) -> i64 {
    let (status, created) = app.report(&report_body(AT.0, AT.1, category, what)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// Where issue `id` shows in public, and how many issues each public count
/// sees: every output a hidden issue must leave.
#[derive(Debug, PartialEq)]
struct Public {
    in_list: bool,
    in_nearby: bool,
    in_district_list: bool,
    in_export: bool,
    in_tile: bool,
    get_status: u16,
    events_status: u16,
    district_count: i64,
    stats_count: i64,
    response_open: i64,
    cluster_count: f64,
}

fn ids(features: &[Value]) -> Vec<i64> {
    features.iter().map(|f| f["id"].as_i64().unwrap()).collect()
}

async fn public(base: &str, client: &reqwest::Client, id: i64) -> Public {
    let get = async |path: &str| qala_tests::get_json(client, &format!("{base}{path}")).await;
    let (_, list) = get("/api/v1/issues?limit=500").await;
    let (_, nearby) = get(&format!(
        "/api/v1/issues/nearby?lon={}&lat={}&radius=200",
        AT.0, AT.1
    ))
    .await;
    let (_, districts) = get("/api/v1/districts").await;
    let districts = districts["features"].as_array().unwrap().clone();
    let district_count = districts
        .iter()
        .map(|d| d["properties"]["issue_count"].as_i64().unwrap_or(0))
        .sum();
    let mut in_district_list = false;
    for d in &districts {
        let (_, page) = get(&format!(
            "/api/v1/districts/{}/issues?limit=500",
            d["id"].as_i64().unwrap()
        ))
        .await;
        in_district_list |= ids(page["features"].as_array().unwrap()).contains(&id);
    }
    let (_, stats) = get("/api/v1/stats/issues?group_by=status").await;
    let stats_count = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_i64().unwrap())
        .sum();
    let (_, response) = get("/api/v1/stats/response").await;
    let response_open = response["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["open"].as_i64().unwrap())
        .sum();
    let export: Value = client
        .get(format!("{base}/api/v1/layers/issues/export.geojson"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tile = async |z: u8| {
        let (x, y) = tile_of(AT.0, AT.1, z);
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
    let singles = tile(14).await;
    let clusters = tile(10).await;
    Public {
        in_list: ids(list["features"].as_array().unwrap()).contains(&id),
        in_nearby: ids(nearby["features"].as_array().unwrap()).contains(&id),
        in_district_list,
        in_export: ids(export["features"].as_array().unwrap()).contains(&id),
        in_tile: singles.iter().any(|f| f.id == Some(id as u64)),
        get_status: get(&format!("/api/v1/issues/{id}")).await.0,
        events_status: get(&format!("/api/v1/issues/{id}/events")).await.0,
        district_count,
        stats_count,
        response_open,
        cluster_count: clusters
            .iter()
            .map(|f| prop_num(f, "point_count").unwrap_or(1.0))
            .sum(),
    }
}

/// What the public sees with `n` issues of which `id` is one (`shown`) or not.
fn expected(shown: bool, n: i64) -> Public {
    let n = if shown { n } else { n - 1 };
    Public {
        in_list: shown,
        in_nearby: shown,
        in_district_list: shown,
        in_export: shown,
        in_tile: shown,
        get_status: if shown { 200 } else { 404 },
        events_status: if shown { 200 } else { 404 },
        district_count: n,
        stats_count: n,
        response_open: n,
        cluster_count: n as f64,
    }
}

async fn a_hidden_issue_is_gone_from_every_public_output(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, "pothole", "Deep hole, call 8 701 555 1234").await;
    report(&app, "pothole", "Another hole").await;
    let moderator = app
        .user_with_token("mod@city.kz", Role::Moderator, &["roads"])
        .await
        .1;
    let staff = app
        .user_with_token("staff@city.kz", Role::Staff, &["roads"])
        .await
        .1;
    assert_eq!(public(&app.base, &app.client, id).await, expected(true, 2));

    let hide = json!({"action": "hide", "reason": "Personal data"});
    let (status, body) = moderate(&app, id, Some(&moderator), &hide).await;
    assert_eq!((status, &body["hidden"]), (200, &json!(true)), "{body}");
    assert_eq!(public(&app.base, &app.client, id).await, expected(false, 2));
    // Those who moderate or work issues still read it and its history.
    for token in [&moderator, &staff] {
        let (status, issue) = get_as(&app, &format!("/api/v1/issues/{id}"), token).await;
        assert_eq!((status, issue["id"].as_i64()), (200, Some(id)));
        assert_eq!(issue["properties"]["hidden"], true);
        let path = format!("/api/v1/issues/{id}/events");
        assert_eq!(get_as(&app, &path, token).await.0, 200);
    }
    // Hiding twice is a conflict, not a second audit row.
    assert_eq!(
        moderate(&app, id, Some(&moderator), &hide).await.1["error"]["code"],
        "already_hidden"
    );
    // A restart (the index loaded from the store) keeps it hidden.
    let restarted =
        qala_server::AppState::load(app.store.clone(), qala_server::ServerConfig::default())
            .await
            .unwrap();
    assert_eq!(restarted.index.read().issues.len(), 1);
    assert!(restarted.index.read().issues.get(id).is_none());

    let unhide = json!({"action": "unhide", "reason": "Number removed by the reporter"});
    let (status, body) = moderate(&app, id, Some(&moderator), &unhide).await;
    assert_eq!((status, &body["hidden"]), (200, &json!(false)), "{body}");
    assert_eq!(public(&app.base, &app.client, id).await, expected(true, 2));
    assert_eq!(
        moderate(&app, id, Some(&moderator), &unhide).await.1["error"]["code"],
        "not_hidden"
    );
}

async fn a_redaction_leaves_the_original_only_in_the_audit(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, "pothole", "Deep hole, call Aigerim 8 701 555 1234").await;
    let moderator = app
        .user_with_token("mod@city.kz", Role::Moderator, &["roads"])
        .await
        .1;
    let admin = app
        .user_with_token("admin@city.kz", Role::Admin, &[])
        .await
        .1;
    let redact = json!({"action": "redact", "reason": "Phone number", "description": "Deep hole"});
    let (status, body) = moderate(&app, id, Some(&moderator), &redact).await;
    assert_eq!(status, 200, "{body}");
    let (status, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(
        (status, issue["properties"]["description"].as_str()),
        (200, Some("Deep hole"))
    );
    let (_, list) = app.get("/api/v1/issues").await;
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    let export: Value = app
        .client
        .get(app.url("/api/v1/layers/issues/export.geojson"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = format!("{issue}{list}{history}{export}");
    assert!(!public.contains("8 701"), "{public}");
    // Redacting is not hiding: the issue stays public.
    assert_eq!(list["features"].as_array().unwrap().len(), 1);

    let (status, audit) = get_as(&app, "/api/v1/audit?action=issue.redacted", &admin).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["target"], format!("issue:{id}"));
    assert_eq!(
        entries[0]["before"]["description"],
        "Deep hole, call Aigerim 8 701 555 1234"
    );
    assert_eq!(entries[0]["after"]["reason"], "Phone number");
    assert!(!entries[0]["after"].to_string().contains("8 701"));
    // The audit is for admins only.
    let path = "/api/v1/audit?action=issue.redacted";
    assert_eq!(get_as(&app, path, &moderator).await.0, 403);
}

async fn only_moderators_in_scope_and_admins_moderate(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let id = report(&app, "pothole", "Deep hole").await;
    let token = async |email: &str, role: Role, departments: &[&str]| {
        app.user_with_token(email, role, departments).await.1
    };
    let parks = token("parks@city.kz", Role::Moderator, &["green_spaces"]).await;
    let staff = token("staff@city.kz", Role::Staff, &["roads"]).await;
    let resident = token("resident@city.kz", Role::Resident, &[]).await;
    let admin = token("admin@city.kz", Role::Admin, &[]).await;
    let hide = json!({"action": "hide", "reason": "Spam"});

    assert_eq!(moderate(&app, id, None, &hide).await.0, 401);
    for refused in [&resident, &staff] {
        assert_eq!(moderate(&app, id, Some(refused), &hide).await.0, 403);
    }
    let (status, body) = moderate(&app, id, Some(&parks), &hide).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    // Bad bodies: malformed or unknown keys 400, broken rules 422.
    let bad: [(String, u16, &str); 7] = [
        ("not json".into(), 400, "invalid_json"),
        (
            json!({"action": "hide", "reason": "x", "by": 1}).to_string(),
            400,
            "unknown_field",
        ),
        (
            json!({"action": "delete", "reason": "x"}).to_string(),
            400,
            "invalid_action",
        ),
        (json!({"action": "hide"}).to_string(), 400, "invalid_json"),
        (
            json!({"action": "hide", "reason": " "}).to_string(),
            422,
            "invalid_reason",
        ),
        (
            json!({"action": "hide", "reason": "x".repeat(501)}).to_string(),
            422,
            "reason_too_long",
        ),
        (
            json!({"action": "redact", "reason": "x"}).to_string(),
            422,
            "invalid_description",
        ),
    ];
    for (body, status, code) in bad {
        let (got, error) = moderate_raw(&app, id, Some(&admin), body.clone()).await;
        assert_eq!(
            (got, error["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    assert_eq!(moderate(&app, id + 100, Some(&admin), &hide).await.0, 404);
    // Nothing was written by any refusal.
    let (status, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(
        (status, &issue["properties"]["description"]),
        (200, &json!("Deep hole"))
    );
    let (_, audit) = get_as(&app, "/api/v1/audit", &admin).await;
    let moderations = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("issue."))
        .count();
    assert_eq!(moderations, 0, "{audit}");
    // An admin needs no scope.
    assert_eq!(moderate(&app, id, Some(&admin), &hide).await.0, 200);
    assert_eq!(app.get(&format!("/api/v1/issues/{id}")).await.0, 404);
}

test_on_every_backend!(
    a_hidden_issue_is_gone_from_every_public_output,
    a_redaction_leaves_the_original_only_in_the_audit,
    only_moderators_in_scope_and_admins_moderate,
);

#[tokio::test]
async fn a_second_server_follows_a_hide() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let a = TestApp::demo(&backend, 0).await;
    let id = report(&a, "pothole", "Deep hole").await;
    report(&a, "pothole", "Another hole").await;
    let moderator = a
        .user_with_token("mod@city.kz", Role::Moderator, &["roads"])
        .await
        .1;
    // Server B on the same database, following its change log.
    let base = a.follower().await;
    let client = reqwest::Client::new();
    assert!(
        within(Duration::from_secs(5), async || public(&base, &client, id)
            .await
            == expected(true, 2))
        .await
        .is_some()
    );

    let hide = json!({"action": "hide", "reason": "Spam"});
    assert_eq!(moderate(&a, id, Some(&moderator), &hide).await.0, 200);
    assert!(
        within(Duration::from_secs(5), async || public(&base, &client, id)
            .await
            == expected(false, 2))
        .await
        .is_some(),
        "server B still shows the hidden issue"
    );
}
