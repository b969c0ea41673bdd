//! Abuse limits through the HTTP API: write rates per client address and
//! per account (429 + Retry-After, then recovery on the limits' clock, no
//! sleeping), the client address from X-Forwarded-For only behind a trusted
//! proxy, a flood of one report refused while its own retry still replays,
//! forged Host headers kept out of TileJSON and the style, and one
//! spelling per id in paths.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_geodata::account::Role;
use qala_server::ServerConfig;
use qala_server::limits::RateLimits;
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, unlimited_config};
use serde_json::{Value, json};

/// The harness's unlimited settings with these write rates.
fn with_rates(rates: RateLimits) -> ServerConfig {
    ServerConfig {
        rate_limits: rates,
        ..unlimited_config()
    }
}

fn no_rates() -> RateLimits {
    unlimited_config().rate_limits
}

/// POSTs a report with extra headers: status, `Retry-After`, body.
async fn report_with(
    app: &TestApp,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Option<u64>, Value, Option<String>) {
    let mut request = app
        .client
        .post(app.url("/api/v1/issues"))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry,
        response.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

fn nth_report(i: usize) -> Value {
    report_body(
        76.9 + i as f64 * 1e-3,
        43.25,
        "pothole",
        &format!("hole {i}"),
    )
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn reports_are_rate_limited_per_address_then_recover(backend: Backend) {
    let app = TestApp::with_config(
        &backend,
        with_rates(RateLimits {
            reports_per_address: 2,
            ..no_rates()
        }),
    )
    .await;
    for i in 0..2 {
        assert_eq!(report_with(&app, &nth_report(i), &[]).await.0, 201);
    }
    let (status, retry, body, _) = report_with(&app, &nth_report(2), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(error_code(&body), "rate_limited");
    // Two a minute: the next one is allowed 30 seconds after the last.
    assert_eq!(retry, Some(30));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30 seconds")
    );
    assert_eq!(app.stored_issue_count().await, 2);
    // Reads are not limited.
    assert_eq!(app.get("/api/v1/issues").await.0, 200);

    app.state.limits.clock().advance(Duration::from_secs(29));
    assert_eq!(report_with(&app, &nth_report(3), &[]).await.0, 429);
    app.state.limits.clock().advance(Duration::from_secs(1));
    assert_eq!(report_with(&app, &nth_report(4), &[]).await.0, 201);
    assert_eq!(report_with(&app, &nth_report(5), &[]).await.0, 429);
}

async fn an_account_is_limited_apart_from_its_address(backend: Backend) {
    let app = TestApp::with_config(
        &backend,
        with_rates(RateLimits {
            reports_per_account: 1,
            writes_per_account: 1,
            ..no_rates()
        }),
    )
    .await;
    let (_, token) = app
        .user_with_token("planner@city.kz", Role::Planner, &[])
        .await;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    assert_eq!(report_with(&app, &nth_report(0), &auth).await.0, 201);
    let (status, retry, body, _) = report_with(&app, &nth_report(1), &auth).await;
    assert_eq!((status, retry), (429, Some(60)), "{body}");
    // Anonymous residents at the same address are not held back by it.
    assert_eq!(report_with(&app, &nth_report(2), &[]).await.0, 201);
    app.state.limits.clock().advance(Duration::from_secs(60));
    assert_eq!(report_with(&app, &nth_report(3), &auth).await.0, 201);
}

async fn forwarded_for_is_ignored_unless_the_proxy_is_trusted(backend: Backend) {
    let rates = RateLimits {
        reports_per_address: 1,
        ..no_rates()
    };
    // By default the header is anyone's word: both reports are 127.0.0.1's.
    let app = TestApp::with_config(&backend, with_rates(rates)).await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    assert_eq!(
        report_with(&app, &nth_report(0), &from("203.0.113.1"))
            .await
            .0,
        201
    );
    assert_eq!(
        report_with(&app, &nth_report(1), &from("203.0.113.2"))
            .await
            .0,
        429
    );
    drop(app);

    // Behind a trusted proxy (this test's loopback), the right-most
    // address that is not a proxy is the client.
    let app = TestApp::with_config(
        &backend,
        ServerConfig {
            trusted_proxies: "127.0.0.0/8".parse().unwrap(),
            ..with_rates(rates)
        },
    )
    .await;
    assert_eq!(
        report_with(&app, &nth_report(0), &from("203.0.113.1"))
            .await
            .0,
        201
    );
    assert_eq!(
        report_with(&app, &nth_report(1), &from("203.0.113.1"))
            .await
            .0,
        429
    );
    // A client forging an address to the left of its own gains nothing...
    let forged = [("x-forwarded-for", "198.51.100.9, 203.0.113.1")];
    assert_eq!(report_with(&app, &nth_report(2), &forged).await.0, 429);
    // ...and proxies to the right of it are skipped.
    let chained = [("x-forwarded-for", "203.0.113.1, 127.0.0.5")];
    assert_eq!(report_with(&app, &nth_report(3), &chained).await.0, 429);
    assert_eq!(
        report_with(&app, &nth_report(4), &from("203.0.113.2"))
            .await
            .0,
        201
    );

    // The login throttle counts the same address.
    for i in 0..5 {
        let (status, _) = login(&app, &format!("nobody{i}@city.kz"), "203.0.113.7").await;
        assert_eq!(status, 401);
    }
    let (status, body) = login(&app, "someone@city.kz", "203.0.113.7").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(error_code(&body), "too_many_attempts");
    assert_eq!(login(&app, "someone@city.kz", "203.0.113.8").await.0, 401);
}

/// A failed login from `xff` behind the proxy: status and body.
async fn login(app: &TestApp, email: &str, xff: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", xff)
        .body(json!({"email": email, "password": "not the password"}).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_flood_of_one_report_is_refused_but_its_retry_replays(backend: Backend) {
    let app = TestApp::with_config(
        &backend,
        ServerConfig {
            duplicate_window: Duration::from_secs(600),
            ..unlimited_config()
        },
    )
    .await;
    let body = report_body(76.95, 43.25, "pothole", "Deep hole by the bus stop");
    let key = [("idempotency-key", "form-1")];
    let (status, _, first, replayed) = report_with(&app, &body, &key).await;
    assert_eq!((status, replayed), (201, None), "{first}");
    let id = first["id"].as_i64().unwrap();
    // A retry with the same key is answered as the first time.
    let (status, _, again, replayed) = report_with(&app, &body, &key).await;
    assert_eq!(
        (status, replayed.as_deref()),
        (201, Some("true")),
        "{again}"
    );
    assert_eq!(again["id"], first["id"]);
    // Any other copy of it, keyed or not, is refused and told where the first is.
    for i in 0..15 {
        let other_key = format!("flood-{i}");
        let headers = [("idempotency-key", other_key.as_str())];
        let headers: &[(&str, &str)] = if i % 2 == 0 { &headers } else { &[] };
        let (status, _, refused, _) = report_with(&app, &body, headers).await;
        assert_eq!(status, 409, "{refused}");
        assert_eq!(error_code(&refused), "duplicate_report");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("/api/v1/issues/{id}")),
            "{message}"
        );
    }
    // Spacing and case do not make it another report.
    let respaced = report_body(76.95, 43.25, "pothole", "deep hole  by the BUS stop");
    assert_eq!(report_with(&app, &respaced, &[]).await.0, 409);
    assert_eq!(app.stored_issue_count().await, 1);
    // Another report is fine, and so is the same one after the window.
    let other = report_body(76.95, 43.25, "pothole", "Second hole, further on");
    assert_eq!(report_with(&app, &other, &[]).await.0, 201);
    app.state.limits.clock().advance(Duration::from_secs(600));
    assert_eq!(report_with(&app, &body, &[]).await.0, 201);
    assert_eq!(app.stored_issue_count().await, 3);
}

/// GET `path` with a `Host` header: status and body text.
async fn get_with_host(app: &TestApp, path: &str, host: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn a_forged_host_never_reaches_tilejson_or_the_style(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let own = app.base.strip_prefix("http://").unwrap().to_owned();
    for path in [
        "/tiles/issues.json",
        "/style.json",
        "/tiles/districts,issues.json?v=1",
    ] {
        let (status, body) = get_with_host(&app, path, "evil.example").await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(!body.contains("evil"), "{path}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error_code(&error), "invalid_host");
        // The address the server listens on is allowed, and used.
        let (status, body) = get_with_host(&app, path, &own).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.contains(&format!("http://{own}/tiles/")),
            "{path}: {body}"
        );
    }
    drop(app);

    // With a public URL, whatever Host says, the links are the public URL's.
    let app = TestApp::with_config(
        &backend,
        ServerConfig {
            public_url: Some("https://qala.example.kz/".to_owned()),
            ..unlimited_config()
        },
    )
    .await;
    let (status, tilejson) = get_with_host(&app, "/tiles/issues.json", "evil.example").await;
    assert_eq!(status, 200);
    let tilejson: Value = serde_json::from_str(&tilejson).unwrap();
    assert_eq!(
        tilejson["tiles"][0],
        "https://qala.example.kz/tiles/issues/{z}/{x}/{y}.mvt"
    );
    let (status, style) = get_with_host(&app, "/style.json", "evil.example").await;
    assert_eq!(status, 200);
    assert!(!style.contains("evil"));
    let style: Value = serde_json::from_str(&style).unwrap();
    assert_eq!(
        style["sources"]["qala-issues"]["url"],
        "https://qala.example.kz/tiles/issues.json"
    );
}

async fn ids_in_paths_have_one_spelling(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (status, created) = app
        .report(&report_body(76.945, 43.262, "pothole", "Deep hole"))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (_, districts) = app.get("/api/v1/districts").await;
    let district = districts["features"][0]["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v1/issues/{id}")).await.0, 200);
    assert_eq!(app.get(&format!("/api/v1/issues/{id}/events")).await.0, 200);
    assert_eq!(
        app.get(&format!("/api/v1/districts/{district}/issues"))
            .await
            .0,
        200
    );
    let spellings = |n: i64| {
        [
            format!("0{n}"),
            format!("+{n}"),
            format!("%20{n}"),
            format!("{n}%20"),
            format!("{n}.0"),
        ]
    };
    let paths = spellings(id)
        .into_iter()
        .flat_map(|s| {
            [
                format!("/api/v1/issues/{s}"),
                format!("/api/v1/issues/{s}/events"),
            ]
        })
        .chain(spellings(district).map(|s| format!("/api/v1/districts/{s}/issues")));
    for path in paths {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(error_code(&body), "not_found", "{path}");
    }
    // Writes too: a status change to `0{id}` reaches no issue.
    let (_, token) = app.user_with_token("admin@city.kz", Role::Admin, &[]).await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/issues/0{id}/events")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(json!({"status": "acknowledged"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (_, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(issue["properties"]["status"], "open");
}

test_on_every_backend!(
    reports_are_rate_limited_per_address_then_recover,
    an_account_is_limited_apart_from_its_address,
    forwarded_for_is_ignored_unless_the_proxy_is_trusted,
    a_flood_of_one_report_is_refused_but_its_retry_replays,
    a_forged_host_never_reaches_tilejson_or_the_style,
    ids_in_paths_have_one_spelling,
);
