//! Durability: what the API acknowledged survives the process being killed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_tests::{Backend, ServerProcess, TestDatabase, get_json, post_report, report_body};
use serde_json::Value;

async fn acknowledged_issues_survive_a_kill_and_are_found_by_nearby_after_restart(
    backend: Backend,
) {
    let database = TestDatabase::new(&backend);
    let url = database.url.clone();
    let client = reqwest::Client::new();

    let server = ServerProcess::start(&url).await;
    let mut created = Vec::new();
    for i in 0..25 {
        let body = report_body(
            76.94 + f64::from(i) * 1e-4,
            43.25,
            "street_light",
            &format!("dark lamp {i}"),
        );
        let (status, mut feature) = post_report(&client, &server.base, &body).await;
        assert_eq!(status, 201, "{feature}");
        // Only the answer to the reporter carries their private link.
        feature.as_object_mut().unwrap().remove("private_link");
        created.push(feature);
    }
    // SIGKILL right after the last acknowledgement: no graceful shutdown.
    server.kill().await;

    let server = ServerProcess::start(&url).await;
    for feature in &created {
        let (_, fetched) = get_json(
            &client,
            &format!("{}/api/v1/issues/{}", server.base, feature["id"]),
        )
        .await;
        assert_eq!(&fetched, feature);
    }
    let nearby: Value = client
        .get(format!(
            "{}/api/v1/issues/nearby?lon=76.94&lat=43.25&radius=5000&limit=100",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found: Vec<i64> = nearby["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    found.sort_unstable();
    let mut expected: Vec<i64> = created.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    expected.sort_unstable();
    assert_eq!(found, expected);
    server.kill().await;
}

qala_tests::test_on_every_backend!(
    acknowledged_issues_survive_a_kill_and_are_found_by_nearby_after_restart,
);
