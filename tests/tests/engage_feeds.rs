//! The Atom feeds end to end, on every backend: an issue's, a district's
//! and a box's feed hold exactly the public entries (no hidden issue or
//! comment, no internal note, no email), the newest 50, valid Atom as
//! Python's feedparser reads it and as the Rust parser does.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;

use qala_tests::follow_up::{
    admin, change, comment, get_text, hide_issue, history, moderate_comment, report_at,
};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Almaly, Almaty (a demo city district).
const ALMALY: (f64, f64) = (76.9412, 43.2611);
/// Bostandyk, another district.
const BOSTANDYK: (f64, f64) = (76.900, 43.222);

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

/// Python's feedparser (Debian's `python3-feedparser`, which `.ci/run`
/// installs; required where `CI` is set): the feed is well-formed Atom and
/// has the entries we parsed.
async fn feedparser_agrees(xml: &str, parsed: &atom_syndication::Feed) {
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

test_on_every_backend!(
    atom_feeds_hold_exactly_the_public_entries,
    a_feed_keeps_the_newest_fifty_entries,
);
