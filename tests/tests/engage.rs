//! Residents' follow-up end to end, on every backend: "me too" counted
//! once per voter (in the issue, the tiles and the queue's order, carried
//! over to the original of a duplicate), comments in the public history
//! and out of every public output once hidden, and the Atom feeds holding
//! exactly the public entries (checked with feedparser as well as parsed).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;
use std::time::Duration;

use qala_geodata::account::Role;
use qala_tests::mvt::{decode, prop_num, tile_of};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend, within};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Almaly, Almaty (a demo city district).
const ALMALY: (f64, f64) = (76.9412, 43.2611);
/// Bostandyk, another district.
const BOSTANDYK: (f64, f64) = (76.900, 43.222);

/// POSTs `body` to `path` as `token` (anonymous for `None`).
async fn post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
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

async fn report_at(app: &TestApp, at: (f64, f64), what: &str) -> i64 {
    let (status, created) = app.report(&report_body(at.0, at.1, "pothole", what)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

async fn vote(app: &TestApp, id: i64, voter: &str, token: Option<&str>) -> (u16, Value) {
    post(
        app,
        &format!("/api/v1/issues/{id}/votes"),
        token,
        &json!({"voter": voter}),
    )
    .await
}

async fn comment(app: &TestApp, id: i64, body: &Value) -> (u16, Value) {
    post(app, &format!("/api/v1/issues/{id}/comments"), None, body).await
}

async fn admin(app: &TestApp) -> String {
    app.user_with_token("admin@example.org", Role::Admin, &[])
        .await
        .1
}

async fn change(app: &TestApp, token: &str, id: i64, body: Value) {
    let (status, event) = post(
        app,
        &format!("/api/v1/issues/{id}/events"),
        Some(token),
        &body,
    )
    .await;
    assert_eq!(status, 201, "{event}");
}

async fn hide_issue(app: &TestApp, token: &str, id: i64) {
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

async fn moderate_comment(app: &TestApp, token: Option<&str>, id: i64, action: &str) -> u16 {
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

async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// The votes property of issue `id` in the z14 tile over `at`.
async fn tile_votes(app: &TestApp, at: (f64, f64), id: i64) -> Option<f64> {
    let (x, y) = tile_of(at.0, at.1, 14);
    let bytes = app
        .client
        .get(app.url(&format!("/tiles/issues/14/{x}/{y}.mvt")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let issues = decode(&bytes).remove("issues").unwrap_or_default();
    let feature = issues.iter().find(|f| f.id == Some(id as u64))?;
    prop_num(feature, "votes")
}

fn ids(page: &Value) -> Vec<i64> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

const VOTER_A: &str = "browser-token-a-0123456789";
const VOTER_B: &str = "browser-token-b-0123456789";
const VOTER_C: &str = "browser-token-c-0123456789";

async fn me_too_counts_each_voter_once_everywhere(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let at = (76.95, 43.25);
    let x = report_at(&app, at, "Deep hole").await;
    let y = report_at(&app, (76.9501, 43.2501), "Another hole").await;
    let z = report_at(&app, (76.9502, 43.2502), "Third hole").await;

    let (status, first) = vote(&app, x, VOTER_A, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first, json!({"votes": 1, "voted": true, "counted": true}));
    let (_, again) = vote(&app, x, VOTER_A, None).await;
    assert_eq!(again, json!({"votes": 1, "voted": true, "counted": false}));
    let (_, other) = vote(&app, x, VOTER_B, None).await;
    assert_eq!(other["votes"], 2);
    assert_eq!(vote(&app, y, VOTER_A, None).await.1["votes"], 1);

    // A signed-in resident votes as their account, whatever token is sent.
    let (_, resident) = app
        .user_with_token("resident@example.org", Role::Resident, &[])
        .await;
    let (_, signed) = vote(&app, z, VOTER_C, Some(&resident)).await;
    assert_eq!(
        (signed["votes"].as_i64(), signed["counted"].as_bool()),
        (Some(1), Some(true))
    );
    let (_, signed_again) = vote(&app, z, "yet-another-browser-token", Some(&resident)).await;
    assert_eq!(signed_again["counted"], false);
    assert_eq!(signed_again["votes"], 1);

    // Refused voters change nothing.
    for body in [
        json!({"voter": "short"}),
        json!({}),
        json!({"voter": VOTER_A, "votes": 5}),
    ] {
        let (status, refused) = post(&app, &format!("/api/v1/issues/{x}/votes"), None, &body).await;
        assert!(matches!(status, 400 | 422), "{status} {refused}");
    }
    assert_eq!(vote(&app, 999_999, VOTER_A, None).await.0, 404);

    let (_, issue) = app.get(&format!("/api/v1/issues/{x}")).await;
    assert_eq!(issue["properties"]["votes"], 2, "{issue}");
    assert_eq!(tile_votes(&app, at, x).await, Some(2.0));
    assert_eq!(tile_votes(&app, at, y).await, Some(1.0));
    let (_, by_votes) = app.get("/api/v1/issues?sort=votes").await;
    assert_eq!(ids(&by_votes), vec![x, y, z], "{by_votes}");
    let (_, tilejson) = app.get("/tiles/issues.json").await;
    assert_eq!(tilejson["vector_layers"][0]["fields"]["votes"], "Number");

    // A hidden issue takes no vote and no comment: as if unknown.
    let token = admin(&app).await;
    hide_issue(&app, &token, y).await;
    assert_eq!(vote(&app, y, VOTER_C, None).await.0, 404);
    assert_eq!(comment(&app, y, &json!({"body": "Me too"})).await.0, 404);
}

async fn a_duplicate_carries_its_voters_over_once(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let x = report_at(&app, (76.95, 43.25), "Hole by the school").await;
    let y = report_at(&app, (76.9501, 43.2501), "Hole near the school").await;
    for voter in [VOTER_A, VOTER_B] {
        vote(&app, x, voter, None).await;
    }
    for voter in [VOTER_A, VOTER_C] {
        vote(&app, y, voter, None).await;
    }
    let token = admin(&app).await;
    change(
        &app,
        &token,
        x,
        json!({"status": "duplicate", "duplicate_of": y, "note": "Same hole"}),
    )
    .await;
    // A, B and C: A voted on both and counts once.
    let (_, original) = app.get(&format!("/api/v1/issues/{y}")).await;
    assert_eq!(original["properties"]["votes"], 3, "{original}");
    let (_, again) = vote(&app, y, VOTER_B, None).await;
    assert_eq!(
        (again["votes"].as_i64(), again["counted"].as_bool()),
        (Some(3), Some(false))
    );
    let (_, by_votes) = app.get("/api/v1/issues?sort=votes&status=open").await;
    assert_eq!(ids(&by_votes), vec![y]);
    assert_eq!(by_votes["features"][0]["properties"]["votes"], 3);
    assert_eq!(tile_votes(&app, (76.9501, 43.2501), y).await, Some(3.0));
}

async fn comments_join_the_history_and_hidden_ones_leave_it(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let token = admin(&app).await;
    let x = report_at(&app, (76.95, 43.25), "Broken light").await;
    change(
        &app,
        &token,
        x,
        json!({"status": "acknowledged", "note": "Crew sent", "internal_note": "INTERNAL-ONLY"}),
    )
    .await;
    let (status, first) = comment(
        &app,
        x,
        &json!({"body": "  Still dark tonight ", "author_name": "Aigerim"}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["kind"], "comment");
    assert_eq!(first["body"], "Still dark tonight");
    assert_eq!(first["author_name"], "Aigerim");
    let (_, second) = comment(&app, x, &json!({"body": "SPAM-COMMENT buy now"})).await;
    assert_eq!(second["author_name"], Value::Null);
    change(&app, &token, x, json!({"status": "in_progress"})).await;

    // Refused comments leave nothing behind.
    let long = "ә".repeat(4001);
    for (body, expected) in [
        (json!({"body": long}), 422),
        (json!({"body": "   "}), 422),
        (json!({"body": "x", "author_name": "n".repeat(81)}), 422),
        (json!({"body": "x", "email": "a@example.org"}), 400),
    ] {
        assert_eq!(comment(&app, x, &body).await.0, expected, "{body}");
    }
    assert_eq!(comment(&app, 999_999, &json!({"body": "x"})).await.0, 404);

    let entries = history(&app, x).await;
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["status_changed", "comment", "comment", "status_changed"]
    );
    assert_eq!(entries[1]["id"], first["id"]);
    assert_eq!(entries[1]["created_at"], first["created_at"]);
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("INTERNAL-ONLY") && !text.contains("author_user_id"));

    // Who may hide a comment: moderators in scope and admins.
    let second_id = second["id"].as_i64().unwrap();
    assert_eq!(moderate_comment(&app, None, second_id, "hide").await, 401);
    let (_, outsider) = app
        .user_with_token("mod@example.org", Role::Moderator, &["parks"])
        .await;
    assert_eq!(
        moderate_comment(&app, Some(&outsider), second_id, "hide").await,
        403
    );
    assert_eq!(
        moderate_comment(&app, Some(&token), 999_999, "hide").await,
        404
    );
    let redact = json!({"action": "redact", "reason": "x", "description": "y"});
    let path = format!("/api/v1/comments/{second_id}/moderation");
    assert_eq!(post(&app, &path, Some(&token), &redact).await.0, 400);
    assert_eq!(
        moderate_comment(&app, Some(&token), second_id, "hide").await,
        200
    );
    assert_eq!(
        moderate_comment(&app, Some(&token), second_id, "hide").await,
        409
    );
    let text = serde_json::to_string(&history(&app, x).await).unwrap();
    assert!(!text.contains("SPAM-COMMENT"), "{text}");
    let feed = get_text(&app, &format!("/feeds/issues/{x}.atom")).await.1;
    assert!(
        !feed.contains("SPAM-COMMENT") && feed.contains("Still dark"),
        "{feed}"
    );
    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit?action=comment.hidden"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        audit["entries"][0]["target"],
        format!("comment:{second_id}")
    );

    assert_eq!(
        moderate_comment(&app, Some(&token), second_id, "unhide").await,
        200
    );
    assert_eq!(history(&app, x).await.len(), 4);
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String, Option<String>) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), content_type)
}

/// A feed fetched, checked valid by feedparser, parsed: its entries' ids,
/// newest first.
async fn feed(app: &TestApp, path: &str) -> (atom_syndication::Feed, String) {
    let (status, xml, content_type) = get_text(app, path).await;
    assert_eq!(status, 200, "{path}: {xml}");
    assert_eq!(content_type.as_deref(), Some("application/atom+xml"));
    let parsed: atom_syndication::Feed = xml.parse().unwrap();
    feedparser_agrees(&xml, &parsed).await;
    let times: Vec<_> = parsed.entries().iter().map(|e| *e.updated()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(
        Some(parsed.updated()),
        times.first().or(Some(parsed.updated()))
    );
    (parsed, xml)
}

/// Python's feedparser, installed with pip when missing (required in CI):
/// the feed is well-formed Atom and has the entries we parsed.
async fn feedparser_agrees(xml: &str, parsed: &atom_syndication::Feed) {
    let import = std::process::Command::new("python3")
        .args(["-c", "import feedparser"])
        .status();
    if !import.is_ok_and(|s| s.success()) {
        let _ = std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "feedparser"])
            .status();
    }
    let script = "import sys, json, feedparser\n\
        d = feedparser.parse(sys.stdin.buffer.read())\n\
        print(json.dumps({'bozo': bool(d.bozo), 'version': d.version, 'ids': [e.id for e in d.entries],\n\
        'links': [e.link for e in d.entries]}))";
    let child = tokio::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping feedparser: {e}");
            return;
        }
        Err(e) => panic!("feedparser is required in CI: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .await
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    if !output.status.success() && std::env::var_os("CI").is_none() {
        eprintln!("skipping feedparser: not installed");
        return;
    }
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["bozo"], false, "{report}\n{xml}");
    assert_eq!(report["version"], "atom10");
    let ids: Vec<&str> = parsed.entries().iter().map(|e| e.id()).collect();
    assert_eq!(report["ids"], json!(ids));
    for link in report["links"].as_array().unwrap() {
        assert!(link.as_str().unwrap().contains("/?issue="), "{link}");
    }
}

fn entry_ids(feed: &atom_syndication::Feed) -> Vec<String> {
    let mut ids: Vec<String> = feed.entries().iter().map(|e| e.id().to_owned()).collect();
    ids.sort();
    ids
}

fn tags(mut ids: Vec<String>) -> Vec<String> {
    ids.iter_mut()
        .for_each(|id| *id = format!("tag:qala,2026:{id}"));
    ids.sort();
    ids
}

async fn atom_feeds_hold_exactly_the_public_entries(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let token = admin(&app).await;
    let mut with_email = report_body(ALMALY.0, ALMALY.1, "pothole", "Hole <b>&</b> puddle");
    with_email["properties"]["reporter_email"] = json!("resident-secret@example.org");
    let (_, created) = app.report(&with_email).await;
    let x = created["id"].as_i64().unwrap();
    let y = report_at(&app, (ALMALY.0 + 0.001, ALMALY.1), "Second Almaly hole").await;
    let z = report_at(&app, BOSTANDYK, "Bostandyk hole").await;
    let h = report_at(&app, (ALMALY.0, ALMALY.1 + 0.001), "HIDDEN-ISSUE text").await;
    change(
        &app,
        &token,
        x,
        json!({"status": "acknowledged", "note": "Crew sent", "internal_note": "INTERNAL-ONLY"}),
    )
    .await;
    change(
        &app,
        &token,
        z,
        json!({"status": "acknowledged", "note": "Looking"}),
    )
    .await;
    change(
        &app,
        &token,
        h,
        json!({"status": "acknowledged", "note": "HIDDEN-NOTE"}),
    )
    .await;
    let (_, c1) = comment(
        &app,
        x,
        &json!({"body": "Thanks!", "author_name": "Aigerim"}),
    )
    .await;
    let (_, c2) = comment(&app, x, &json!({"body": "HIDDEN-COMMENT"})).await;
    let c2 = c2["id"].as_i64().unwrap();
    assert_eq!(moderate_comment(&app, Some(&token), c2, "hide").await, 200);
    hide_issue(&app, &token, h).await;
    let events = history(&app, x).await;
    let x_event = events[0]["id"].as_i64().unwrap();
    let z_event = history(&app, z).await[0]["id"].as_i64().unwrap();

    let (issue_feed, xml) = feed(&app, &format!("/feeds/issues/{x}.atom?lang=en")).await;
    assert_eq!(
        entry_ids(&issue_feed),
        tags(vec![
            format!("issue/{x}"),
            format!("issue/{x}/event/{x_event}"),
            format!("issue/{x}/comment/{}", c1["id"]),
        ])
    );
    assert!(xml.contains("Road damage") && xml.contains("Crew sent") && xml.contains("Aigerim"));
    assert!(
        issue_feed
            .entries()
            .iter()
            .any(|e| e.content().and_then(|c| c.value()) == Some("Hole <b>&</b> puddle"))
    );
    assert_eq!(issue_feed.id(), format!("tag:qala,2026:feed/issues/{x}"));

    let almaly = district_of(&app, "almaly").await;
    let (district_feed, _) = feed(&app, &format!("/feeds/districts/{almaly}.atom?lang=kk")).await;
    assert_eq!(
        entry_ids(&district_feed),
        tags(vec![
            format!("issue/{x}"),
            format!("issue/{y}"),
            format!("issue/{x}/event/{x_event}")
        ])
    );
    let (area_feed, _) = feed(&app, "/feeds/area.atom?bbox=76.8,43.1,77.0,43.3").await;
    assert_eq!(
        entry_ids(&area_feed),
        tags(vec![
            format!("issue/{x}"),
            format!("issue/{y}"),
            format!("issue/{z}"),
            format!("issue/{x}/event/{x_event}"),
            format!("issue/{z}/event/{z_event}"),
        ])
    );
    // Titles in the language asked for: Russian by default.
    let (ru, _) = feed(&app, &format!("/feeds/issues/{x}.atom")).await;
    assert!(
        ru.entries()
            .iter()
            .all(|e| e.title().as_str().contains("Яма")),
        "{:?}",
        ru.entries()
    );

    let mut every = String::new();
    for path in [
        format!("/feeds/issues/{x}.atom?lang=en"),
        format!("/feeds/districts/{almaly}.atom"),
        "/feeds/area.atom?bbox=76.8,43.1,77.0,43.3&lang=kk".to_owned(),
    ] {
        every.push_str(&get_text(&app, &path).await.1);
    }
    for secret in [
        "INTERNAL-ONLY",
        "resident-secret",
        "HIDDEN-COMMENT",
        "HIDDEN-ISSUE",
        "HIDDEN-NOTE",
    ] {
        assert!(!every.contains(secret), "{secret} in a feed");
    }

    for (path, expected) in [
        (format!("/feeds/issues/{h}.atom"), 404),
        ("/feeds/issues/999999.atom".to_owned(), 404),
        (format!("/feeds/issues/0{x}.atom"), 404),
        (format!("/feeds/issues/{x}.rss"), 404),
        ("/feeds/districts/999999.atom".to_owned(), 404),
        (format!("/feeds/issues/{x}.atom?lang=de"), 400),
        (format!("/feeds/issues/{x}.atom?limit=5"), 400),
        ("/feeds/area.atom".to_owned(), 400),
        ("/feeds/area.atom?bbox=76,43,77.5,43.3".to_owned(), 400),
    ] {
        assert_eq!(get_text(&app, &path).await.0, expected, "{path}");
    }
}

async fn district_of(app: &TestApp, code: &str) -> i64 {
    let (_, districts) = app.get("/api/v1/districts").await;
    districts["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["properties"]["code"] == code)
        .unwrap_or_else(|| panic!("no district {code}"))["id"]
        .as_i64()
        .unwrap()
}

async fn a_feed_keeps_the_newest_fifty_entries(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let x = report_at(&app, (76.95, 43.25), "Many comments").await;
    let mut ids = Vec::new();
    for i in 0..55 {
        let (status, c) = comment(&app, x, &json!({"body": format!("Comment {i}")})).await;
        assert_eq!(status, 201);
        ids.push(c["id"].as_i64().unwrap());
    }
    let (parsed, _) = feed(&app, &format!("/feeds/issues/{x}.atom")).await;
    assert_eq!(parsed.entries().len(), 50);
    assert_eq!(
        entry_ids(&parsed),
        tags(
            ids[5..]
                .iter()
                .map(|c| format!("issue/{x}/comment/{c}"))
                .collect()
        )
    );
    assert_eq!(parsed.updated(), parsed.entries()[0].updated());
}

/// On PostgreSQL a vote reaches the other servers' index and tiles through
/// the change log.
#[tokio::test]
async fn a_vote_reaches_the_other_servers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let app = TestApp::empty(&backend).await;
    let at = (76.95, 43.25);
    let x = report_at(&app, at, "Hole seen from two servers").await;
    let base = app.follower().await;
    let follower_votes = async || {
        let (_, issue) =
            qala_tests::get_json(&app.client, &format!("{base}/api/v1/issues/{x}")).await;
        let (_, page) =
            qala_tests::get_json(&app.client, &format!("{base}/api/v1/issues?sort=votes")).await;
        (
            issue["properties"]["votes"].as_i64(),
            page["features"][0]["properties"]["votes"].as_i64(),
        )
    };
    assert!(
        within(Duration::from_secs(5), async || follower_votes().await
            == (Some(0), Some(0)))
        .await
        .is_some()
    );
    vote(&app, x, VOTER_A, None).await;
    vote(&app, x, VOTER_B, None).await;
    assert!(
        within(Duration::from_secs(5), async || follower_votes().await
            == (Some(2), Some(2)))
        .await
        .is_some(),
        "{:?}",
        follower_votes().await
    );
}

test_on_every_backend!(
    me_too_counts_each_voter_once_everywhere,
    a_duplicate_carries_its_voters_over_once,
    comments_join_the_history_and_hidden_ones_leave_it,
    atom_feeds_hold_exactly_the_public_entries,
    a_feed_keeps_the_newest_fifty_entries,
);
