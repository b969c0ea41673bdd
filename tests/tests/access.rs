//! Roles and tokens end to end: every route of the access policy against
//! every kind of caller, tokens that no longer work, the audit log over
//! HTTP, and the `qala user` commands with the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;

use chrono::{Duration, Utc};
use qala_geodata::account::{Role, TokenSecret, User};
use qala_server::routes::access::{Access, POLICY};
use qala_tests::mail_access::{MailTokens, mail_call};
use qala_tests::{Backend, TestApp, TestDatabase, qala_binary, report_body};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A user of `role` (scoped roles work for roads) and a fresh token for them.
async fn user_with_token(app: &TestApp, email: &str, role: Role) -> (User, String) {
    let departments: &[&str] = if role.is_scoped() { &["roads"] } else { &[] };
    app.user_with_token(email, role, departments).await
}

/// A request as `token`'s user (anonymous for `None`).
async fn call(
    app: &TestApp,
    method: &reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method == reqwest::Method::POST && path == "/api/v1/login" {
        // The admin of the matrix has this password (a login is public).
        request = request.header("content-type", "application/json").body(
            serde_json::json!({"email": "admin@city.kz", "password": MATRIX_PASSWORD}).to_string(),
        );
    } else if method == reqwest::Method::POST && path.ends_with("/events") {
        request = request
            .header("content-type", "application/json")
            .body(r#"{"status": "acknowledged", "note": "Seen"}"#);
    } else if method == reqwest::Method::POST && path == "/api/v1/photos" {
        request = request
            .header("content-type", "image/jpeg")
            .body(qala_tests::photos::jpeg(16, 16, 0));
    } else if method == reqwest::Method::POST
        && (path.starts_with("/api/v1/photos/") || path.starts_with("/api/v1/comments/"))
    {
        // Moderation of a photo or a comment.
        request = request
            .header("content-type", "application/json")
            .body(r#"{"action": "hide", "reason": "Matrix"}"#);
    } else if method == reqwest::Method::POST && path.ends_with("/votes") {
        request = request
            .header("content-type", "application/json")
            .body(r#"{"voter": "matrix-browser-token-0001"}"#);
    } else if method == reqwest::Method::POST && path.ends_with("/comments") {
        request = request
            .header("content-type", "application/json")
            .body(r#"{"body": "Me too, every morning"}"#);
    } else if method == reqwest::Method::POST && path.ends_with("/moderation") {
        request = request
            .header("content-type", "application/json")
            .body(r#"{"action": "redact", "reason": "Matrix", "description": "A pothole"}"#);
    } else if method == reqwest::Method::POST {
        let body = report_body(76.944, 43.262, "pothole", "A pothole by the fountain");
        request = request
            .header("content-type", "application/geo+json")
            .body(body.to_string());
    }
    request.send().await.unwrap()
}

/// The password of the matrix's admin, for `POST /api/v1/login`.
const MATRIX_PASSWORD: &str = "matrix password 1234";

/// A concrete path for a route pattern, with ids that exist (`issue` is
/// also the comment of a comment route; `photo`: a public photo as its
/// issue lists it).
fn concrete(pattern: &str, issue: i64, district: i64, photo: &Value) -> String {
    let media = photo["url"].as_str().unwrap().trim_start_matches("/media/");
    let path = pattern
        .replace("/media/{file}", &format!("/media/{media}"))
        .replace(
            "/api/v1/photos/{id}",
            &format!("/api/v1/photos/{}", photo["id"]),
        )
        .replace("/api/v1/issues/{id}", &format!("/api/v1/issues/{issue}"))
        .replace("/issues/{id}", &format!("/issues/{issue}"))
        .replace(
            "/api/v1/comments/{id}",
            &format!("/api/v1/comments/{issue}"),
        )
        .replace(
            "/feeds/issues/{file}",
            &format!("/feeds/issues/{issue}.atom"),
        )
        .replace(
            "/feeds/districts/{file}",
            &format!("/feeds/districts/{district}.atom"),
        )
        .replace(
            "/api/v1/districts/{id}",
            &format!("/api/v1/districts/{district}"),
        )
        .replace("{layer}", "districts")
        .replace("{layers}/{z}/{x}/{y}", "issues/0/0/0.mvt")
        .replace("{tilejson}", "issues.json")
        .replace("/basemap/{z}/{x}/{y}", &basemap_tile())
        .replace("{fontstack}/{range}", "DejaVu%20Sans%20Book/0-255.pbf")
        .replace("{*path}", "src/api.js")
        // The mail routes' tokens come from `MailTokens`.
        .replace("{token}", "token");
    assert!(!path.contains('{'), "no concrete path for {pattern}");
    // Routes whose required parameters are not in the path.
    if path == "/api/v1/issues/nearby" {
        return format!("{path}?lon=76.944&lat=43.262");
    }
    if path == "/api/v1/search" {
        return format!("{path}?q=abai");
    }
    if path == "/api/v1/reverse" {
        return format!("{path}?lon=76.944&lat=43.262");
    }
    if path == "/feeds/area.atom" {
        return format!("{path}?bbox=76.9,43.2,77.0,43.3");
    }
    path
}

/// A tile the test basemap stores (the first zoom, over central Almaty).
fn basemap_tile() -> String {
    let z = *qala_tests::basemap::ZOOMS.start();
    let tile = qala_tiles::TileId::containing(76.9555, 43.2405, z).unwrap();
    format!("/basemap/{z}/{}/{}", tile.x(), tile.y())
}

async fn every_route_admits_exactly_the_callers_its_policy_names(backend: Backend) {
    // With a basemap, so its routes answer too.
    let basemap = tempfile::tempdir().unwrap();
    let archive = basemap.path().join("basemap.pmtiles");
    qala_tests::basemap::write_pmtiles(&archive, qala_tests::basemap::Tiles::Vector);
    let config = qala_server::ServerConfig {
        basemap: Some(archive),
        ..qala_tests::unlimited_config()
    };
    let app = TestApp::demo_with_config(&backend, 30, config).await;
    let (_, issues) = app.get("/api/v1/issues?limit=1").await;
    let issue = issues["features"][0]["id"].as_i64().unwrap();
    let (_, districts) = app.get("/api/v1/districts").await;
    let district = districts["features"][0]["id"].as_i64().unwrap();
    let (_, photo) = qala_tests::photos::report_with_photo(&app.client, &app.base, 1).await;

    let mut callers: Vec<(Option<Role>, Option<String>)> = vec![(None, None)];
    for role in Role::ALL {
        let (_, token) = user_with_token(&app, &format!("{role}@city.kz"), role).await;
        callers.push((Some(role), Some(token)));
    }
    let admin = app
        .store
        .user_by_email("admin@city.kz")
        .await
        .unwrap()
        .unwrap();
    let phc = qala_server::password::hash(MATRIX_PASSWORD.to_owned())
        .await
        .unwrap();
    app.store.set_password(admin.id, &phc, None).await.unwrap();
    let mail = MailTokens::of(&app, issue).await;
    for (method, pattern, access) in POLICY {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
        for (role, token) in &callers {
            // A status change moves its issue on, a moderation changes it:
            // each caller gets a fresh pothole (routed to roads, the scoped
            // users' department).
            let path = if method == reqwest::Method::POST && pattern.starts_with("/api/v1/photos/")
            {
                // Hiding a photo twice is refused: a fresh one each time.
                let (fresh, photo) =
                    qala_tests::photos::report_with_photo(&app.client, &app.base, 2).await;
                concrete(pattern, fresh, district, &photo)
            } else if method == reqwest::Method::POST
                && (pattern.ends_with("/events") || pattern.ends_with("/moderation"))
            {
                let (status, report) = app
                    .report(&report_body(76.944, 43.262, "pothole", "Another pothole"))
                    .await;
                assert_eq!(status, 201, "{report}");
                let mut id = report["id"].as_i64().unwrap();
                if pattern.starts_with("/api/v1/comments/") {
                    // A comment moderation hides a fresh comment.
                    let comment: Value = app
                        .client
                        .post(app.url(&format!("/api/v1/issues/{id}/comments")))
                        .header("content-type", "application/json")
                        .body(r#"{"body": "To be hidden"}"#)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    id = comment["id"].as_i64().unwrap();
                }
                concrete(pattern, id, district, &photo)
            } else {
                concrete(pattern, issue, district, &photo)
            };
            let response = if let Some(response) =
                mail_call(&app, &method, pattern, token.as_deref(), &callers, &mail).await
            {
                response
            } else {
                call(&app, &method, &path, token.as_deref()).await
            };
            let status = response.status().as_u16();
            let who = role.map_or("anonymous".to_owned(), |r| r.to_string());
            let admitted = match access {
                Access::Public => true,
                Access::Roles(roles) => role.is_some_and(|r| roles.contains(&r)),
            };
            if admitted {
                assert!(
                    (200..300).contains(&status),
                    "{method} {path} as {who}: {status} {}",
                    response.text().await.unwrap()
                );
            } else if role.is_none() {
                assert_eq!(status, 401, "{method} {path} as {who}");
                assert!(
                    response.headers()["www-authenticate"]
                        .to_str()
                        .unwrap()
                        .starts_with("Bearer"),
                    "{method} {path}"
                );
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized");
            } else {
                assert_eq!(status, 403, "{method} {path} as {who}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "forbidden");
            }
        }
    }
}

async fn tokens_that_no_longer_work_are_refused_everywhere(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let (staff, token) = user_with_token(&app, "staff@city.kz", Role::Staff).await;
    let me = |token: String| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for path in ["/api/v1/me", "/api/v1/categories"] {
                let response = call(app, &reqwest::Method::GET, path, Some(&token)).await;
                statuses.push(response.status().as_u16());
            }
            statuses
        }
    };
    assert_eq!(me(token.clone()).await, [200, 200]);
    let (status, body) = {
        let response = call(&app, &reqwest::Method::GET, "/api/v1/me", Some(&token)).await;
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200);
    assert_eq!(body["user_id"], staff.id);
    assert_eq!(body["role"], "staff");
    assert_eq!(body["departments"], serde_json::json!(["roads"]));

    // Revoked.
    let tokens = app.store.tokens(staff.id).await.unwrap();
    app.store.revoke_token(tokens[0].id, None).await.unwrap();
    assert_eq!(me(token).await, [401, 401]);

    // Expired.
    let expired = TokenSecret::generate().unwrap();
    app.store
        .create_token(
            staff.id,
            &expired.hash(),
            &expired.label(),
            Some(Utc::now() - Duration::minutes(1)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(me(expired.expose().to_owned()).await, [401, 401]);

    // Disabled user.
    let (admin, admin_token) = user_with_token(&app, "admin@city.kz", Role::Admin).await;
    assert_eq!(me(admin_token.clone()).await, [200, 200]);
    app.store.set_disabled(admin.id, true, None).await.unwrap();
    assert_eq!(me(admin_token).await, [401, 401]);

    // Unknown and malformed credentials.
    let unknown = TokenSecret::generate().unwrap();
    assert_eq!(me(unknown.expose().to_owned()).await, [401, 401]);
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer qala_short",
        "Bearer not-a-token",
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/categories"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
        assert!(response.headers().contains_key("www-authenticate"));
    }
    // Anonymous on a public route is fine; on /me it is 401.
    assert_eq!(app.get("/api/v1/categories").await.0, 200);
    assert_eq!(app.get("/api/v1/me").await.0, 401);
}

async fn the_audit_log_is_for_admins_filtered_and_paged(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let (admin, admin_token) = user_with_token(&app, "admin@city.kz", Role::Admin).await;
    let (staff, staff_token) = user_with_token(&app, "staff@city.kz", Role::Staff).await;
    let tokens = app.store.tokens(staff.id).await.unwrap();
    app.store
        .revoke_token(tokens[0].id, Some(admin.id))
        .await
        .unwrap();
    app.store
        .set_role(staff.id, Role::Planner, Some(admin.id))
        .await
        .unwrap();

    let get = |path: &'static str, token: Option<String>| {
        let app = &app;
        async move {
            let response = call(app, &reqwest::Method::GET, path, token.as_deref()).await;
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, all) = get("/api/v1/audit", Some(admin_token.clone())).await;
    assert_eq!(status, 200, "{all}");
    let actions: Vec<&str> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.added",
            "token.issued",
            "user.added",
            "token.issued",
            "token.revoked",
            "user.role_changed"
        ]
    );
    // The token and its hash are nowhere in the log.
    let text = all.to_string();
    for secret in [&admin_token, &staff_token] {
        assert!(!text.contains(secret.as_str()));
        assert!(!text.contains(qala_geodata::account::TokenHash::of(secret).as_str()));
    }

    let (_, revoked) = get(
        "/api/v1/audit?action=token.revoked",
        Some(admin_token.clone()),
    )
    .await;
    assert_eq!(revoked["entries"].as_array().unwrap().len(), 1);
    assert_eq!(revoked["entries"][0]["actor"], admin.id);
    assert_eq!(
        revoked["entries"][0]["target"],
        format!("token:{}", tokens[0].id)
    );
    let by_admin = format!("/api/v1/audit?actor={}", admin.id);
    let response = call(&app, &reqwest::Method::GET, &by_admin, Some(&admin_token)).await;
    let by_admin: Value = response.json().await.unwrap();
    assert_eq!(by_admin["entries"].as_array().unwrap().len(), 2);
    let (_, future) = get(
        "/api/v1/audit?since=2999-01-01T00:00:00Z",
        Some(admin_token.clone()),
    )
    .await;
    assert!(future["entries"].as_array().unwrap().is_empty());

    // Paging: two at a time, following `next`, gives everything once.
    let mut next = Some("/api/v1/audit?limit=2".to_owned());
    let mut paged = Vec::new();
    while let Some(path) = next {
        let response = call(&app, &reqwest::Method::GET, &path, Some(&admin_token)).await;
        let page: Value = response.json().await.unwrap();
        paged.extend(page["entries"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(&paged, all["entries"].as_array().unwrap());

    for bad in [
        "/api/v1/audit?actor=x",
        "/api/v1/audit?since=yesterday",
        "/api/v1/audit?actoin=a",
    ] {
        let response = call(&app, &reqwest::Method::GET, bad, Some(&admin_token)).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    // Only admins (the staff token was revoked; the user is a planner now).
    let (_, planner_token) = user_with_token(&app, "planner@city.kz", Role::Planner).await;
    assert_eq!(get("/api/v1/audit", Some(planner_token)).await.0, 403);
    assert_eq!(get("/api/v1/audit", None).await.0, 401);
}

async fn a_route_missing_from_the_policy_is_refused_to_everyone(backend: Backend) {
    use axum::routing::get;
    let app = TestApp::empty(&backend).await;
    let (_, admin) = user_with_token(&app, "admin@city.kz", Role::Admin).await;
    // A router as `app` builds it, with a route the table lacks and a method
    // the table does not list for a known path.
    let router = axum::Router::new()
        .route("/api/v1/forgotten", get(|| async { "secret" }))
        .route(
            "/healthz",
            get(|| async { "ok" }).delete(|| async { "deleted" }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            app.state.clone(),
            qala_server::routes::access::enforce,
        ))
        .with_state(app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    for token in [None, Some(admin.as_str())] {
        let mut request = app.client.get(format!("{base}/api/v1/forgotten"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{token:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
        let mut request = app.client.delete(format!("{base}/healthz"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), 405, "{token:?}");
    }
    let health = app
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// Runs `qala --database URL ARGS…`: status, stdout, stderr.
async fn qala(database: &str, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(qala_binary())
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn a_token_from_the_cli_works_and_is_never_logged(backend: Backend) {
    let database = TestDatabase::new(&backend);
    let url = database.url.as_str();
    let (ok, _, err) = qala(url, &["user", "add", "Admin@City.kz", "--role", "admin"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = qala(url, &["user", "add", "s@city.kz", "--role", "staff"]).await;
    assert!(!ok && err.contains("departments or districts"), "{err}");
    let (ok, _, err) = qala(
        url,
        &[
            "user",
            "add",
            "s@city.kz",
            "--role",
            "staff",
            "--department",
            "roads",
            "--district",
            "3",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, token, err) = qala(
        url,
        &["user", "token", "admin@city.kz", "--expires-days", "30"],
    )
    .await;
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("qala_"), "{token}");
    assert!(!err.contains(&token), "the token went to stderr too");
    let (ok, list, _) = qala(url, &["user", "list"]).await;
    assert!(ok);
    assert!(list.contains("admin@city.kz\tadmin"), "{list}");
    assert!(list.contains("roads,district 3"), "{list}");
    assert!(!list.contains(&token));

    // The real server, logging everything it can, to a file.
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("qala.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(qala_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
        .env("QALA_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("qala exited");
        if let Some(addr) = line.strip_prefix("qala listening on ") {
            break addr.trim().to_owned();
        }
    };
    let client = reqwest::Client::new();
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    let wrong = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // Revoked from the command line, refused by the running server.
    let (_, list, _) = qala(url, &["user", "list"]).await;
    let id = list
        .lines()
        .find(|l| l.contains("admin@city.kz"))
        .and_then(|l| l.split('#').nth(1))
        .and_then(|t| t.split(' ').next())
        .unwrap()
        .to_owned();
    let (ok, _, err) = qala(url, &["user", "revoke", &id]).await;
    assert!(ok, "{err}");
    let revoked = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    child.kill().await.unwrap();

    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logged.contains("/api/v1/me"),
        "the requests were not logged at all"
    );
    assert!(!logged.contains(&token), "a token reached the log");
    let hash = qala_geodata::account::TokenHash::of(&token);
    assert!(
        !logged.contains(hash.as_str()),
        "a token hash reached the log"
    );
}

qala_tests::test_on_every_backend!(
    every_route_admits_exactly_the_callers_its_policy_names,
    tokens_that_no_longer_work_are_refused_everywhere,
    the_audit_log_is_for_admins_filtered_and_paged,
    a_token_from_the_cli_works_and_is_never_logged,
    a_route_missing_from_the_policy_is_refused_to_everyone,
);
