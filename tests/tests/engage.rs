//! Residents' follow-up end to end, on every backend: "me too" counted
//! once per voter (in the issue, the tiles and the queue's order, carried
//! over to the original of a duplicate, on every server), comments in the
//! public history and out of it once hidden, and the limits on both. The
//! feeds are `tests/engage_feeds.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_geodata::account::Role;
use qala_tests::follow_up::{
    admin, change, comment, get_text, hide_issue, history, moderate_comment, post, report_at, vote,
};
use qala_tests::mvt::{decode, prop_num, tile_of};
use qala_tests::{Backend, TestApp, test_on_every_backend, within};
use serde_json::{Value, json};

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

/// A comment's photos are attached in its transaction: shown on its
/// history entry; a key that names no pending photo writes nothing.
async fn a_comment_carries_its_photos(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let x = report_at(&app, (76.95, 43.25), "Hole with a photo").await;
    let upload: Value = app
        .client
        .post(app.url("/api/v1/photos"))
        .header("content-type", "image/jpeg")
        .body(qala_tests::photos::jpeg(48, 32, 1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = upload["id"].clone();
    // Well formed, pending nowhere: refused by the attach, after the
    // comment's row was written in the same transaction.
    let unknown = qala_geodata::photo::PhotoKey::generate().unwrap();
    let unknown = unknown.expose();
    let (status, refused) = comment(&app, x, &json!({"body": "x", "photos": [unknown]})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("unknown_photo"))
    );
    assert!(history(&app, x).await.is_empty());
    let (status, sent) = comment(&app, x, &json!({"body": "See the photo", "photos": [key]})).await;
    assert_eq!(status, 201, "{sent}");
    let entries = history(&app, x).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["photos"].as_array().map(Vec::len),
        Some(1),
        "{}",
        entries[0]
    );
    // The key was spent: a second comment cannot take the same photo.
    assert_eq!(
        comment(&app, x, &json!({"body": "Again", "photos": [key]}))
            .await
            .0,
        422
    );
}

/// A comment on a followed issue writes its mail to the outbox with it.
async fn a_comment_on_a_followed_issue_queues_a_mail(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let mut body = qala_tests::report_body(76.95, 43.25, "pothole", "Followed hole");
    body["properties"]["reporter_email"] = json!("reporter@example.org");
    let (status, created) = app.report(&body).await;
    assert_eq!(status, 201, "{created}");
    let x = created["id"].as_i64().unwrap();
    let comment_mails = async || {
        let pending = app.store.pending_mail(0, 100).await.unwrap();
        pending
            .into_iter()
            .filter(|m| m.kind == qala_geodata::mail::MailKind::IssueComment)
            .map(|m| (m.recipient, m.data["comment"].as_str().map(str::to_owned)))
            .collect::<Vec<_>>()
    };
    assert!(comment_mails().await.is_empty());
    let (status, _) = comment(&app, x, &json!({"body": "Seen it too"})).await;
    assert_eq!(status, 201);
    assert_eq!(
        comment_mails().await,
        vec![(
            "reporter@example.org".to_owned(),
            Some("Seen it too".to_owned())
        )]
    );
}

/// Votes and comments spend their own allowance per client address.
async fn votes_and_comments_are_rate_limited(backend: Backend) {
    let config = qala_server::ServerConfig {
        rate_limits: qala_server::limits::RateLimits {
            engage_per_address: 3,
            ..qala_tests::unlimited_config().rate_limits
        },
        ..qala_tests::unlimited_config()
    };
    let app = TestApp::with_config(&backend, config).await;
    let x = report_at(&app, (76.95, 43.25), "Limited").await;
    assert_eq!(vote(&app, x, VOTER_A, None).await.0, 200);
    assert_eq!(vote(&app, x, VOTER_B, None).await.0, 200);
    assert_eq!(comment(&app, x, &json!({"body": "One"})).await.0, 201);
    let (status, body) = vote(&app, x, VOTER_C, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(comment(&app, x, &json!({"body": "Two"})).await.0, 429);
    // Nothing was written by the refused ones; reports have their own allowance.
    assert_eq!(
        app.get(&format!("/api/v1/issues/{x}")).await.1["properties"]["votes"],
        2
    );
    assert_eq!(history(&app, x).await.len(), 1);
    report_at(&app, (76.96, 43.26), "Still allowed").await;
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
    votes_and_comments_are_rate_limited,
    a_comment_carries_its_photos,
    a_comment_on_a_followed_issue_queues_a_mail,
);
