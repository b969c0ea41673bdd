//! The counters each server keeps (issue 15) against a recount of the
//! database: after a random interleaving of reports, status changes,
//! re-routes, category corrections, hides and unhides — sent through two
//! servers on one PostgreSQL database, or one on SQLite — every server's
//! `/api/v1/stats/issues` by district, category and status and its
//! `/api/v1/districts` counts equal a count of the stored visible issues.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use qala_geodata::account::Role;
use qala_tests::{Backend, TestApp, get_json, report_body, test_on_every_backend, within};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// (district id, category, status) → issues.
type Counts = BTreeMap<(Option<i64>, String, String), u64>;

const CATEGORIES: [&str; 4] = ["pothole", "street_light", "litter", "graffiti"];
const STATUSES: [&str; 6] = [
    "acknowledged",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "open",
];
const DEPARTMENTS: [&str; 3] = ["roads", "green_spaces", "utilities"];

/// What the database holds: its visible issues, counted.
async fn recount(app: &TestApp) -> Counts {
    let mut counts = Counts::new();
    let mut issues = app.store.stream_issues();
    while let Some(issue) = issues.next().await {
        let issue = issue.unwrap();
        let key = (
            issue.district_id,
            issue.category.code.to_owned(),
            issue.status.as_str().to_owned(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// What a server's kept counters say, by both endpoints (they must agree
/// with each other too).
async fn counted_by(client: &reqwest::Client, base: &str) -> Counts {
    let url = format!("{base}/api/v1/stats/issues?group_by=district,category,status");
    let (_, stats) = get_json(client, &url).await;
    let mut counts = Counts::new();
    for g in stats["groups"].as_array().unwrap() {
        let key = (
            g["district_id"].as_i64(),
            g["category"].as_str().unwrap().to_owned(),
            g["status"].as_str().unwrap().to_owned(),
        );
        counts.insert(key, g["count"].as_u64().unwrap());
    }
    let (_, districts) = get_json(client, &format!("{base}/api/v1/districts")).await;
    for d in districts["features"].as_array().unwrap() {
        let id = d["id"].as_i64();
        let in_stats: u64 = counts
            .iter()
            .filter(|((district, _, _), _)| *district == id)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            d["properties"]["issue_count"].as_u64(),
            Some(in_stats),
            "district {id:?}: /api/v1/districts and the stats disagree"
        );
    }
    counts
}

async fn counters_equal_a_recount_after_random_writes(backend: Backend) {
    let app = TestApp::demo(&backend, 40).await;
    // Two servers on PostgreSQL (the second follows the change log);
    // SQLite has one.
    let mut servers = vec![app.base.clone()];
    if matches!(backend, Backend::Postgres(_)) {
        servers.push(app.follower().await);
    }
    let admin = app
        .user_with_token("admin@city.kz", Role::Admin, &[])
        .await
        .1;
    let seed: u64 = rand::rng().random();
    eprintln!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let client = reqwest::Client::new();
    // Writes taken, per kind: each kind must have changed something.
    let mut taken = [0_u32; 6];
    let mut ids: Vec<i64> = app
        .store
        .stream_issues()
        .map(|i| i.unwrap().id)
        .collect()
        .await;

    for step in 0..150 {
        let base = &servers[rng.random_range(0..servers.len())];
        let id = ids[rng.random_range(0..ids.len())];
        let kind = rng.random_range(0..6);
        let (path, body) = match kind {
            0 | 1 => {
                let report = report_body(
                    76.90 + rng.random_range(0.0..0.08),
                    43.22 + rng.random_range(0.0..0.05),
                    CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                    &format!("report {step} from the recount test"),
                );
                ("/api/v1/issues".to_owned(), report)
            }
            // Any status: an invalid transition is refused and changes nothing.
            2 => {
                let status = STATUSES[rng.random_range(0..STATUSES.len())];
                (
                    format!("/api/v1/issues/{id}/events"),
                    json!({"status": status, "note": "step"}),
                )
            }
            3 => {
                let department = DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];
                (
                    format!("/api/v1/issues/{id}/events"),
                    json!({"department": department, "note": "re-routed"}),
                )
            }
            4 => {
                let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
                (
                    format!("/api/v1/issues/{id}/events"),
                    json!({"category": category, "note": "corrected"}),
                )
            }
            _ => {
                let action = if rng.random_bool(0.6) {
                    "hide"
                } else {
                    "unhide"
                };
                (
                    format!("/api/v1/issues/{id}/moderation"),
                    json!({"action": action, "reason": "recount test"}),
                )
            }
        };
        let response = client
            .post(format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            taken[kind] += 1;
            let answer: Value = response.json().await.unwrap();
            if kind < 2 {
                ids.push(answer["id"].as_i64().unwrap());
            }
        }
    }
    assert!(
        taken.iter().all(|n| *n > 0),
        "every kind of write went through: {taken:?}"
    );

    let expected = recount(&app).await;
    assert!(
        expected.values().sum::<u64>() > 40,
        "the writes went through"
    );
    for base in &servers {
        // A follower applies the change log a moment later.
        let agreed = within(Duration::from_secs(10), async || {
            counted_by(&client, base).await == expected
        })
        .await;
        if agreed.is_none() {
            assert_eq!(
                counted_by(&client, base).await,
                expected,
                "{base} (seed {seed})"
            );
        }
    }
}

test_on_every_backend!(counters_equal_a_recount_after_random_writes);
