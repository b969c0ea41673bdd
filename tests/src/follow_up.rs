//! Helpers of the residents' follow-up tests (`tests/engage.rs`,
//! `tests/engage_feeds.rs`): writes through the HTTP API as a resident,
//! staff or a moderator would make them.

use qala_geodata::account::Role;
use serde_json::{Value, json};

use crate::{TestApp, report_body};

/// POSTs `body` to `path` as `token` (anonymous for `None`).
pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Reports a pothole at `at`; its id.
pub async fn report_at(app: &TestApp, at: (f64, f64), what: &str) -> i64 {
    let (status, created) = app.report(&report_body(at.0, at.1, "pothole", what)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// "Me too" on issue `id` with a browser token (and `token`'s account).
pub async fn vote(app: &TestApp, id: i64, voter: &str, token: Option<&str>) -> (u16, Value) {
    post(
        app,
        &format!("/api/v1/issues/{id}/votes"),
        token,
        &json!({"voter": voter}),
    )
    .await
}

/// An anonymous comment on issue `id`.
pub async fn comment(app: &TestApp, id: i64, body: &Value) -> (u16, Value) {
    post(app, &format!("/api/v1/issues/{id}/comments"), None, body).await
}

/// An admin's API token.
pub async fn admin(app: &TestApp) -> String {
    app.user_with_token("admin@example.org", Role::Admin, &[])
        .await
        .1
}

/// A status change by `token`'s user, which must be `201`.
pub async fn change(app: &TestApp, token: &str, id: i64, body: Value) {
    let (status, event) = post(
        app,
        &format!("/api/v1/issues/{id}/events"),
        Some(token),
        &body,
    )
    .await;
    assert_eq!(status, 201, "{event}");
}

/// Hides issue `id` as `token`'s user.
pub async fn hide_issue(app: &TestApp, token: &str, id: i64) {
    let body = json!({"action": "hide", "reason": "test"});
    let (status, _) = post(
        app,
        &format!("/api/v1/issues/{id}/moderation"),
        Some(token),
        &body,
    )
    .await;
    assert_eq!(status, 200);
}

/// Hides or unhides comment `id`: the status.
pub async fn moderate_comment(app: &TestApp, token: Option<&str>, id: i64, action: &str) -> u16 {
    let body = json!({"action": action, "reason": "abusive"});
    post(
        app,
        &format!("/api/v1/comments/{id}/moderation"),
        token,
        &body,
    )
    .await
    .0
}

/// Issue `id`'s public history entries.
pub async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// GET `path`: status, body as text, content type.
pub async fn get_text(app: &TestApp, path: &str) -> (u16, String, Option<String>) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), content_type)
}
