//! Every class of bad input is answered with a 4xx in the one error shape,
//! and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_tests::{Backend, TestApp, report_body};
use serde_json::{Value, json};

/// Asserts the error shape and code, and returns the message.
fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) -> String {
    assert_eq!(status, want_status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], want_code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error.as_object().unwrap().contains_key("field"), "{body}");
    error["message"].as_str().unwrap().to_owned()
}

async fn post_raw(app: &TestApp, body: &str, content_type: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/issues"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn bad_reports_are_rejected_and_write_nothing(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let good = report_body(76.944, 43.262, "pothole", "hole");
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut slot = &mut body;
        for key in path {
            slot = &mut slot[*key];
        }
        *slot = value;
        body.to_string()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not JSON", "{\"type\": ".into(), 400, "invalid_json"),
        (
            "1e400",
            good.to_string().replace("76.944", "1e400"),
            400,
            "invalid_json",
        ),
        (
            "NaN literal",
            good.to_string().replace("76.944", "NaN"),
            400,
            "invalid_json",
        ),
        (
            "longitude out of range",
            with(&["geometry", "coordinates"], json!([181.0, 43.2])),
            422,
            "invalid_coordinate",
        ),
        (
            "latitude out of range",
            with(&["geometry", "coordinates"], json!([76.9, -91.0])),
            422,
            "invalid_coordinate",
        ),
        (
            "one-number position",
            with(&["geometry", "coordinates"], json!([76.9])),
            422,
            "invalid_coordinate",
        ),
        (
            "four-number position",
            with(&["geometry", "coordinates"], json!([76.9, 43.2, 1, 2])),
            422,
            "invalid_coordinate",
        ),
        (
            "string coordinate",
            with(&["geometry", "coordinates"], json!(["76.9", 43.2])),
            422,
            "invalid_coordinate",
        ),
        (
            "not a point",
            with(
                &["geometry"],
                json!({"type": "LineString", "coordinates": [[76.9, 43.2], [76.91, 43.21]]}),
            ),
            422,
            "invalid_geometry",
        ),
        (
            "no geometry type",
            with(&["geometry"], json!({"coordinates": [76.9, 43.2]})),
            422,
            "invalid_geometry",
        ),
        (
            "unknown category",
            with(&["properties", "category"], json!("dragons")),
            422,
            "unknown_category",
        ),
        (
            "description too long",
            with(&["properties", "description"], json!("x".repeat(4001))),
            422,
            "description_too_long",
        ),
        (
            "empty description",
            with(&["properties", "description"], json!("")),
            422,
            "invalid_description",
        ),
        (
            "unknown property",
            with(&["properties", "status"], json!("resolved")),
            400,
            "unknown_field",
        ),
        (
            "unknown member",
            with(&["votes"], json!(100)),
            400,
            "unknown_field",
        ),
        (
            "missing properties",
            with(&["properties"], Value::Null),
            400,
            "invalid_json",
        ),
        (
            "bad email",
            with(&["properties", "reporter_email"], json!("not an email")),
            422,
            "invalid_email",
        ),
        (
            "outside the city",
            with(&["geometry", "coordinates"], json!([2.35, 48.85])),
            422,
            "outside_city",
        ),
        (
            "a FeatureCollection",
            with(&["type"], json!("FeatureCollection")),
            400,
            "invalid_json",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got_status, got) = post_raw(&app, &body, "application/json").await;
        assert_eq!(
            (got_status, got["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {got}"
        );
        assert_error(got_status, &got, status, code);
    }
    let (status, body) = post_raw(&app, &good.to_string(), "text/plain").await;
    assert_error(status, &body, 415, "unsupported_media_type");
    let huge = with(&["properties", "description"], json!("x".repeat(100_000)));
    let (status, body) = post_raw(&app, &huge, "application/json").await;
    assert_error(status, &body, 413, "invalid_body");
    assert_eq!(
        app.stored_issue_count().await,
        0,
        "a rejected report was written"
    );
    let (_, stats) = app.get("/api/v1/stats/issues").await;
    assert_eq!(stats["total"], 0, "a rejected report reached the index");
}

async fn bad_idempotency_keys_are_rejected(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let response = app
        .client
        .post(app.url("/api/v1/issues"))
        .header("content-type", "application/json")
        .header("idempotency-key", "x".repeat(300))
        .body(report_body(1.0, 1.0, "other", "x").to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        400,
        "invalid_idempotency_key",
    );
    assert_eq!(app.stored_issue_count().await, 0);
}

async fn bad_query_parameters_are_rejected(backend: Backend) {
    let app = TestApp::demo(&backend, 10).await;
    let cases = [
        "/api/v1/issues/nearby?lon=NaN&lat=43.2",
        "/api/v1/issues/nearby?lon=inf&lat=43.2",
        "/api/v1/issues/nearby?lon=1e400&lat=43.2",
        "/api/v1/issues/nearby?lat=43.2",
        "/api/v1/issues/nearby?lon=76.9&lat=43.2&radius=-5",
        "/api/v1/issues/nearby?lon=76.9&lat=43.2&radius=1e9",
        "/api/v1/issues?bbox=1,2,3",
        "/api/v1/issues?bbox=76.9,43.3,77.0,43.2",
        "/api/v1/issues?bbox=76.9,NaN,77.0,43.3",
        "/api/v1/issues?status=done",
        "/api/v1/issues?category=dragons",
        "/api/v1/issues?since=yesterday",
        "/api/v1/issues?limit=0",
        "/api/v1/issues?limit=-3",
        "/api/v1/issues?cursor=abc",
        "/api/v1/issues?district=north",
        "/api/v1/issues?statsu=open",
        "/api/v1/issues?limit=1&limit=2",
        "/api/v1/stats/issues?group_by=colour",
        "/api/v1/layers/districts/features?bbox=a,b,c,d",
    ];
    for path in cases {
        let (status, body) = app.get(path).await;
        assert_error(
            status,
            &body,
            400,
            body["error"]["code"].as_str().unwrap_or("?"),
        );
        assert!(
            [
                "invalid_parameter",
                "invalid_status",
                "invalid_coordinate",
                "unknown_category"
            ]
            .contains(&body["error"]["code"].as_str().unwrap()),
            "{path}: {body}"
        );
    }
    let (status, body) = app.get("/api/v1/issues/nearby?lon=190&lat=43.2").await;
    assert_error(status, &body, 400, "invalid_coordinate");
}

async fn unknown_things_are_404_in_the_error_shape(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    for path in [
        "/api/v1/issues/999999",
        "/api/v1/issues/abc",
        "/api/v1/issues/-1",
        "/api/v1/districts/999/issues",
        "/api/v1/layers/roads/features",
        "/api/v1/layers/roads/export.geojson",
        "/no/such/page",
    ] {
        let (status, body) = app.get(path).await;
        assert_error(status, &body, 404, "not_found");
    }
    let response = app
        .client
        .delete(app.url("/api/v1/issues"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        405,
        "method_not_allowed",
    );
}

qala_tests::test_on_every_backend!(
    bad_reports_are_rejected_and_write_nothing,
    bad_idempotency_keys_are_rejected,
    bad_query_parameters_are_rejected,
    unknown_things_are_404_in_the_error_shape,
);
