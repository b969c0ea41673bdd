//! Web login through the HTTP API: the session cookie and its flags, CSRF on
//! cookie-authenticated writes, logout and disabling, throttling, and the
//! password and session id kept out of the audit log and the server's log.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;

use qala_geodata::account::{AuditFilter, Role, TokenHash, User};
use qala_tests::{Backend, TestApp, TestDatabase, qala_binary, report_body, test_on_every_backend};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PASSWORD: &str = "correct horse battery staple";

/// A user of `role` for `departments` with [`PASSWORD`].
async fn user_with_password(app: &TestApp, email: &str, role: Role, departments: &[&str]) -> User {
    let (user, _) = app.user_with_token(email, role, departments).await;
    let phc = qala_server::password::hash(PASSWORD.to_owned())
        .await
        .unwrap();
    app.store.set_password(user.id, &phc, None).await.unwrap();
    user
}

/// A logged-in session: the cookie's id and the CSRF token.
struct Session {
    id: String,
    csrf: String,
}

impl Session {
    fn cookie(&self) -> String {
        format!("qala_session={}", self.id)
    }
}

/// POSTs a login: status, Set-Cookie and body.
async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body(json!({"email": email, "password": password}).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cookie, response.json().await.unwrap_or(Value::Null))
}

async fn logged_in(app: &TestApp, email: &str) -> Session {
    let (status, cookie, body) = login(app, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.unwrap();
    let id = cookie
        .strip_prefix("qala_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    Session {
        id,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// GET /api/v1/me with a cookie: status and body.
async fn me(app: &TestApp, cookie: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POSTs `body` to `path` with a cookie and, if given, a CSRF token.
async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login_sets_a_fresh_strict_cookie_that_reads_me_until_logout(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let user = user_with_password(&app, "admin@city.kz", Role::Admin, &[]).await;

    // Unknown email and wrong password: the same 401.
    let (status, cookie, unknown) = login(&app, "nobody@city.kz", PASSWORD).await;
    assert_eq!((status, cookie), (401, None));
    let (status, _, wrong) = login(&app, "admin@city.kz", "wrong password here").await;
    assert_eq!(status, 401);
    assert_eq!(unknown, wrong);
    let (status, _, body) = login(&app, "admin@city.kz", "").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );

    let (status, cookie, body) = login(&app, "Admin@City.kz", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|f| f == flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["user_id"], user.id);

    let first = logged_in(&app, "admin@city.kz").await;
    let second = logged_in(&app, "admin@city.kz").await;
    assert_ne!(first.id, second.id, "a new session id at each login");
    assert_ne!(first.csrf, second.csrf);
    let (status, body) = me(&app, &first.cookie()).await;
    assert_eq!((status, body["user_id"].as_i64()), (200, Some(user.id)));

    // Logout without the CSRF token only clears the cookie.
    let (status, _) = post(&app, "/api/v1/logout", &first.cookie(), None, &json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(me(&app, &first.cookie()).await.0, 200);
    let (status, _) = post(
        &app,
        "/api/v1/logout",
        &first.cookie(),
        Some(&first.csrf),
        &json!({}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(me(&app, &first.cookie()).await.0, 401);
    assert_eq!(
        me(&app, &second.cookie()).await.0,
        200,
        "other sessions live on"
    );
    assert_eq!(me(&app, "qala_session=garbage").await.0, 401);

    // Audited, without the password, the session ids or their hashes.
    let audit = app.store.audit(&AuditFilter::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "session.login").count(), 3);
    assert_eq!(
        actions.iter().filter(|a| **a == "session.logout").count(),
        1
    );
    assert!(actions.contains(&"user.password_set"));
    let text = format!("{audit:?}");
    for secret in [
        PASSWORD.to_owned(),
        first.id.clone(),
        second.id.clone(),
        first.csrf.clone(),
        TokenHash::of(&first.id).as_str().to_owned(),
        "argon2".to_owned(),
    ] {
        assert!(!text.contains(&secret), "{secret} in the audit log");
    }
}

async fn cookie_writes_need_the_csrf_token_bearer_ones_do_not(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (status, report) = app
        .report(&report_body(76.944, 43.262, "pothole", "Deep hole"))
        .await;
    assert_eq!(status, 201, "{report}");
    let id = report["id"].as_i64().unwrap();
    user_with_password(&app, "roads@city.kz", Role::Staff, &["roads"]).await;
    let session = logged_in(&app, "roads@city.kz").await;
    let path = format!("/api/v1/issues/{id}/events");
    let ack = json!({"status": "acknowledged", "note": "Seen"});

    let (status, body) = post(&app, &path, &session.cookie(), None, &ack).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("csrf_failed"))
    );
    let (status, body) = post(&app, &path, &session.cookie(), Some("qala_wrong"), &ack).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("csrf_failed"))
    );
    let (_, history) = app.get(&path).await;
    assert_eq!(
        history["events"],
        json!([]),
        "a refused change wrote nothing"
    );

    let (status, event) = post(&app, &path, &session.cookie(), Some(&session.csrf), &ack).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["to_status"], "acknowledged");

    // The CSRF token of another session does not do.
    let other = logged_in(&app, "roads@city.kz").await;
    let progress = json!({"status": "in_progress"});
    let (status, _) = post(&app, &path, &session.cookie(), Some(&other.csrf), &progress).await;
    assert_eq!(status, 403);

    // A public write without the token runs anonymously.
    let (status, _) = post(
        &app,
        "/api/v1/issues",
        &session.cookie(),
        None,
        &report_body(76.944, 43.262, "pothole", "Another hole"),
    )
    .await;
    assert_eq!(status, 201);
}

async fn disabling_a_user_ends_their_sessions(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let user = user_with_password(&app, "staff@city.kz", Role::Staff, &["roads"]).await;
    let session = logged_in(&app, "staff@city.kz").await;
    assert_eq!(me(&app, &session.cookie()).await.0, 200);
    app.store.set_disabled(user.id, true, None).await.unwrap();
    assert_eq!(me(&app, &session.cookie()).await.0, 401);
    // Re-enabling does not bring the old session back, and the disabled
    // user could not log in meanwhile.
    app.store.set_disabled(user.id, false, None).await.unwrap();
    assert_eq!(me(&app, &session.cookie()).await.0, 401);
    app.store.set_disabled(user.id, true, None).await.unwrap();
    assert_eq!(login(&app, "staff@city.kz", PASSWORD).await.0, 401);
}

async fn repeated_failures_are_throttled_with_retry_after(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    user_with_password(&app, "admin@city.kz", Role::Admin, &[]).await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, "admin@city.kz", "not the password").await.0,
            401
        );
    }
    let response = app
        .client
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body(json!({"email": "admin@city.kz", "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // The client address is locked out too, for other accounts.
    assert_eq!(login(&app, "other@city.kz", PASSWORD).await.0, 429);
}

/// Runs `qala --database URL ARGS…` with `stdin`: status and stderr.
async fn qala(database: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = tokio::process::Command::new(qala_binary())
        .arg("--database")
        .arg(database)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn a_password_from_the_cli_logs_in_and_is_never_logged(backend: Backend) {
    let database = TestDatabase::new(&backend);
    let url = database.url.as_str();
    let (ok, err) = qala(
        url,
        &["user", "add", "admin@city.kz", "--role", "admin"],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let (ok, err) = qala(url, &["user", "password", "admin@city.kz"], "too short\n").await;
    assert!(!ok && err.contains("12 to 1024"), "{err}");
    let (ok, err) = qala(
        url,
        &["user", "password", "admin@city.kz"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert!(!err.contains(PASSWORD));

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
    let response = client
        .post(format!("{base}/api/v1/login"))
        .header("content-type", "application/json")
        .body(json!({"email": "admin@city.kz", "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let id = cookie
        .strip_prefix("qala_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let me = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", format!("qala_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    child.kill().await.unwrap();

    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logged.contains("/api/v1/login"),
        "the requests were not logged"
    );
    for secret in [PASSWORD, &id, TokenHash::of(&id).as_str()] {
        assert!(!logged.contains(secret), "a secret reached the log");
    }
}

test_on_every_backend!(
    login_sets_a_fresh_strict_cookie_that_reads_me_until_logout,
    cookie_writes_need_the_csrf_token_bearer_ones_do_not,
    disabling_a_user_ends_their_sessions,
    repeated_failures_are_throttled_with_retry_after,
    a_password_from_the_cli_logs_in_and_is_never_logged,
);
