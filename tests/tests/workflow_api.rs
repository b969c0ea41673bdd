//! The status workflow through the HTTP API with real API tokens: who may
//! move an issue, the public history it leaves, and the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_geodata::account::Role;
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend};
use serde_json::{Value, json};

/// A token of a user of `role` working for `departments`.
async fn token_for(app: &TestApp, email: &str, role: Role, departments: &[&str]) -> String {
    app.user_with_token(email, role, departments).await.1
}

/// POST a status change as `token` (anonymous for `None`): status and body.
async fn post_event(app: &TestApp, id: i64, token: Option<&str>, body: Value) -> (u16, Value) {
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

async fn staff_move_an_issue_through_the_api_and_the_trail_is_public(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (status, report) = app
        .report(&report_body(76.944, 43.262, "pothole", "Deep hole"))
        .await;
    assert_eq!(status, 201, "{report}");
    let id = report["id"].as_i64().unwrap();
    assert_eq!(report["properties"]["assigned_department"], "roads");

    let roads = token_for(&app, "roads@city.kz", Role::Staff, &["roads"]).await;
    let parks = token_for(&app, "parks@city.kz", Role::Staff, &["green_spaces"]).await;
    let resident = token_for(&app, "resident@city.kz", Role::Resident, &[]).await;
    let admin = token_for(&app, "admin@city.kz", Role::Admin, &[]).await;
    let ack =
        json!({"status": "acknowledged", "note": "Crew booked", "internal_note": "ticket R-17"});

    // Nobody but the right staff moves it, and a refusal writes nothing.
    assert_eq!(post_event(&app, id, None, ack.clone()).await.0, 401);
    assert_eq!(
        post_event(&app, id, Some(&resident), ack.clone()).await.0,
        403
    );
    let (status, body) = post_event(&app, id, Some(&parks), ack.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = post_event(&app, id, Some(&roads), json!({"status": "closed"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let (status, body) = post_event(
        &app,
        id,
        Some(&roads),
        json!({"status": "acknowledged", "by": 1}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_field"))
    );
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    assert_eq!(history["events"], json!([]));

    for (token, body) in [
        (&roads, ack),
        (&roads, json!({"status": "in_progress"})),
        (&admin, json!({"status": "resolved", "note": "Patched"})),
    ] {
        let (status, event) = post_event(&app, id, Some(token), body).await;
        assert_eq!(status, 201, "{event}");
        assert!(event.get("internal_note").is_none(), "{event}");
    }
    let (_, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(issue["properties"]["status"], "resolved");
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    let trail: Vec<(&str, &str, &str, Option<&str>)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from_status"].as_str().unwrap(),
                e["to_status"].as_str().unwrap(),
                e["by"]["role"].as_str().unwrap(),
                e["note"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            ("open", "acknowledged", "staff", Some("Crew booked")),
            ("acknowledged", "in_progress", "staff", None),
            ("in_progress", "resolved", "admin", Some("Patched")),
        ]
    );
    let public = format!("{history}{issue}");
    assert!(!public.contains("R-17") && !public.contains("roads@city.kz"));

    // Every change is in the audit log, which only an admin reads.
    let audit_path = "/api/v1/audit?action=issue.status_changed";
    let response = app
        .client
        .get(app.url(audit_path))
        .bearer_auth(&roads)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let audit: Value = app
        .client
        .get(app.url(audit_path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moves: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["target"], format!("issue:{id}"));
            (
                e["before"]["status"].as_str().unwrap(),
                e["after"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("open", "acknowledged"),
            ("acknowledged", "in_progress"),
            ("in_progress", "resolved")
        ]
    );
    assert!(!audit.to_string().contains("R-17"));
}

test_on_every_backend!(staff_move_an_issue_through_the_api_and_the_trail_is_public);
